//! A device reading or writing memory through the struct pages a driver took with GUP (what
//! the driver's scatterlist DMA does), and the end-of-execution leak check. Neither is one
//! kernel function; they are where the bugs GUP users fear become visible.

use crate::events::Event;
use crate::include::linux::mm_types::Pfn;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{Holder, Taken};
use crate::mm::page_alloc::{Owner, PageKind, RAM_PAGES, RAM_START};

/// What a device access found, per kind: how many pages, and the first.
#[derive(Default)]
struct DmaFindings {
    garbage: u64,
    freed: (u64, Option<Pfn>),
    lost: (u64, Option<Pfn>),
    stale: (u64, Option<Pfn>),
}

impl<D: Devices> Kernel<D> {
    fn held_pages(&self, holder: Holder) -> Vec<Option<(Pfn, Taken)>> {
        self.holds
            .iter()
            .find(|h| h.holder == holder)
            .map(|h| h.pages.pages().collect())
            .unwrap_or_default()
    }

    /// Whether `holder` holds any page pointer.
    pub fn holds_pages(&self, holder: Holder) -> bool {
        self.holds.iter().any(|h| h.holder == holder)
    }

    /// The device writes `value` to every page `holder` holds.
    pub fn dma_write(&mut self, holder: Holder, value: u8) {
        self.call("device DMA write", |k| {
            let mut seen = DmaFindings::default();
            for page in k.held_pages(holder) {
                let Some((pfn, from)) = page else {
                    seen.garbage += 1;
                    continue;
                };
                k.check_device_access(pfn, from, None, &mut seen);
                k.mem.update(pfn, 1, |f| f.content = value);
            }
            k.report_dma(holder, "write", &seen);
        })
    }

    /// The device reads every page `holder` holds; the value of the first page is returned.
    pub fn dma_read(&mut self, holder: Holder) -> Option<u8> {
        self.call("device DMA read", |k| {
            let mut first = None;
            let mut seen = DmaFindings::default();
            for page in k.held_pages(holder) {
                let Some((pfn, from)) = page else {
                    seen.garbage += 1;
                    continue;
                };
                let value = k.mem.content(pfn);
                k.check_device_access(pfn, from, Some(value), &mut seen);
                first.get_or_insert(value);
            }
            k.report_dma(holder, "read", &seen);
            first
        })
    }

    /// Notes what a device access through a held page means now: the frame was freed, or the
    /// object it was taken from no longer lives there (a write is lost; a read is stale if the
    /// object holds something else).
    fn check_device_access(&self, pfn: Pfn, from: Taken, read: Option<u8>, seen: &mut DmaFindings) {
        if self.mem.frame(pfn).owner == Owner::Free {
            seen.freed.0 += 1;
            seen.freed.1.get_or_insert(pfn);
        }
        let Owner::Object(obj) = from.owner else {
            return;
        };
        if self.object_pfn(obj, from.index) == Some(pfn) {
            return;
        }
        match read {
            None => {
                seen.lost.0 += 1;
                seen.lost.1.get_or_insert(pfn);
            }
            Some(value) => {
                if self.object_content(obj, from.index) != Some(value) {
                    seen.stale.0 += 1;
                    seen.stale.1.get_or_insert(pfn);
                }
            }
        }
    }

    /// Raises each kind of finding once per device access, with how many pages it hit.
    fn report_dma(&mut self, holder: Holder, what: &str, seen: &DmaFindings) {
        if seen.garbage > 0 {
            let n = seen.garbage;
            self.raise(Event::Bug, || {
                format!(
                    "device {what} through {n} pages[] entries GUP never filled (wild pointers)"
                )
            });
        }
        let cases = [
            (Event::UseAfterFree, seen.freed, "which are free"),
            (
                Event::LostWrite,
                seen.lost,
                "no longer part of the object they were taken from",
            ),
            (
                Event::StaleRead,
                seen.stale,
                "whose object now holds other data",
            ),
        ];
        for (event, (n, first), why) in cases {
            if let Some(first) = first {
                self.raise(event, || {
                    format!("device {what} through {holder} to {n} pages from pfn {first}, {why}")
                });
            }
        }
    }
    /// leak: at the end, a page its owner gave up that still has references nobody holds.
    pub fn check_leaks(&mut self) {
        let mut leaked = Vec::new();
        for (pfn, count, frame) in self.mem.frames(RAM_START, RAM_PAGES) {
            if frame.owner != Owner::Orphan || frame.page.refcount <= 0 {
                continue;
            }
            if matches!(frame.page.kind, PageKind::Tail(_)) {
                continue;
            }
            if self.held_in(pfn, count).is_none() && frame.page.mapcount <= 0 {
                leaked.push((pfn, frame.page.refcount));
            }
        }
        for (pfn, refs) in leaked {
            self.raise(Event::Leak, || {
                format!("pfn {pfn} was given up by its owner but keeps {refs} references")
            });
        }
    }
}
