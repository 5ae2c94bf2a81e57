//! Scans for held pages that were freed or reused, and the final state report.

use std::collections::BTreeMap;

use super::{Exec, Hold, ObjBacking, PAGE};
use crate::out;
use crate::uapi;

impl Exec {
    /// The current value of an object's page, if the object is alive and readable.
    pub(super) fn object_value(&self, object: &str, page: u64) -> Option<u64> {
        let obj = self.objects.get(object)?;
        match obj.backing {
            ObjBacking::Driver { fd, npages } => {
                if page >= npages {
                    return None;
                }
                let s = page_state(fd, uapi::SLOT_OBJECT, page as u32)?;
                (s.present != 0).then_some(s.value)
            }
            ObjBacking::Memfd { fd } => {
                let mut v = 0u64;
                // SAFETY: reading 8 bytes into v.
                let r = unsafe {
                    libc::pread(fd, (&mut v as *mut u64).cast(), 8, (page * PAGE) as i64)
                };
                (r == 8).then_some(v)
            }
            ObjBacking::Dmabuf { ref exporter, .. } => self.object_value(exporter, page),
            ObjBacking::Anon => None,
        }
    }

    /// Reports registers holding pages that are free in the page allocator (`use_after_free`).
    pub(super) fn scan_for_freed_pages(&mut self) {
        let mut found = Vec::new();
        for (k, hold) in &self.holds {
            if let Hold::Slot { slot, pages, .. } = hold {
                if *pages == 0 || self.freed_reported.contains(k) {
                    continue;
                }
                let s = *slot;
                // SAFETY: the driver reads a u32 slot number.
                let n = unsafe { libc::ioctl(self.ctl, uapi::IOC_SCAN as _, &s) };
                if n > 0 {
                    found.push((k.clone(), n));
                }
            }
        }
        for (k, n) in found {
            out::line(&format!(
                "event use_after_free {k}: {n} held pages are free in the page allocator"
            ));
            self.freed_reported.insert(k);
        }
    }

    /// The object that really backs `name` (a dma-buf's exporter).
    pub(super) fn resolve<'a>(&'a self, name: &'a str) -> &'a str {
        match self.objects.get(name).map(|o| &o.backing) {
            Some(ObjBacking::Dmabuf { exporter, .. }) => exporter,
            _ => name,
        }
    }

    /// Reports registers holding a page that now backs another object, or another page of
    /// the object it was taken from (`page_reuse`).
    pub(super) fn scan_for_reused_pages(&mut self) {
        let mut backing: BTreeMap<u64, (String, u64)> = BTreeMap::new();
        for (name, obj) in &self.objects {
            if let ObjBacking::Driver { fd, npages } = obj.backing {
                for i in 0..npages {
                    if let Some(s) = page_state(fd, uapi::SLOT_OBJECT, i as u32) {
                        if s.present != 0 {
                            backing.insert(s.pfn, (name.clone(), i));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        for (k, hold) in &self.holds {
            let Hold::Slot {
                slot,
                pages,
                owners,
            } = hold
            else {
                continue;
            };
            if self.reuse_reported.contains(k) {
                continue;
            }
            for i in 0..*pages {
                let Some(s) = page_state(self.ctl, *slot, i as u32) else {
                    continue;
                };
                let Some((obj, idx)) = backing.get(&s.pfn).filter(|_| s.present == 1) else {
                    continue;
                };
                let same = owners.page(i).is_some_and(|(object, index, generation)| {
                    let now = self.objects.get(obj.as_str()).map_or(0, |x| x.generation);
                    self.resolve(object) == obj && index == *idx && generation == now
                });
                if !same {
                    found.push(format!(
                        "event page_reuse {k}: held page {i} (pfn {:#x}) now backs {obj}[{idx}]",
                        s.pfn
                    ));
                    break;
                }
            }
        }
        for line in found {
            if let Some(k) = line.split_whitespace().nth(2) {
                self.reuse_reported
                    .insert(k.trim_end_matches(':').to_string());
            }
            out::line(&line);
        }
    }

    /// Final state: object contents and page states, held pages' states.
    pub(super) fn report(&self) {
        for (name, obj) in &self.objects {
            let npages = obj.size / PAGE;
            let mut values = String::new();
            // A driver's page it no longer has (destroyed) has no value; the guest cannot read
            // anonymous memory as an object, which the host knows from the test.
            let mut absent = String::new();
            let driver = matches!(
                obj.backing,
                ObjBacking::Driver { .. } | ObjBacking::Dmabuf { .. }
            );
            for i in 0..npages {
                match self.object_value(name, i) {
                    Some(0) => {}
                    Some(v) => values.push_str(&format!(" {i}:{v}")),
                    None if driver => absent.push_str(&format!(" {i}")),
                    None => {}
                }
            }
            out::line(&format!("values {name}{values}"));
            if !absent.is_empty() {
                out::line(&format!("absent {name}{absent}"));
            }
            if let ObjBacking::Driver { fd, .. } = obj.backing {
                for i in 0..npages.min(2) {
                    if let Some(s) = page_state(fd, uapi::SLOT_OBJECT, i as u32) {
                        out::line(&format!("objpage {name} {i} {}", describe(&s)));
                    }
                }
            }
        }
        for (k, hold) in &self.holds {
            if let Hold::Slot { slot, pages, .. } = hold {
                let (th, reg) = k.split_once(':').unwrap_or((k, ""));
                for i in 0..(*pages).min(2) {
                    if let Some(s) = page_state(self.ctl, *slot, i as u32) {
                        out::line(&format!("held {th} {reg} {i} {}", describe(&s)));
                    }
                }
            }
        }
    }
}

fn describe(s: &uapi::PageState) -> String {
    format!(
        "present={} pfn={:#x} value={} ref={} map={} pinned={} pincount={}",
        s.present, s.pfn, s.value, s.refcount, s.mapcount, s.pinned, s.pincount
    )
}

pub(super) fn page_state(fd: i32, slot: u32, index: u32) -> Option<uapi::PageState> {
    let mut s = uapi::PageState {
        slot,
        index,
        ..Default::default()
    };
    // SAFETY: the driver reads and writes a struct of this layout.
    let r = unsafe { libc::ioctl(fd, uapi::IOC_PAGE_STATE as _, &mut s) };
    (r == 0).then_some(s)
}
