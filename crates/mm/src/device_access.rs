//! A device reading or writing memory through the struct pages a driver took with GUP (what
//! the driver's scatterlist DMA does), and the end-of-execution leak check. Neither is one
//! kernel function; they are where the bugs GUP users fear become visible.

use crate::events::Event;
use crate::include::linux::mm_types::Pfn;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{Holder, Slot, Taken};
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
    fn held_slots(&self, holder: Holder) -> Vec<Slot> {
        self.holds
            .iter()
            .find(|h| h.holder == holder)
            .map(|h| h.pages.slots.clone())
            .unwrap_or_default()
    }

    /// The device writes `value` to every page `holder` holds.
    pub fn dma_write(&mut self, holder: Holder, value: u8) {
        self.call("device DMA write", |k| {
            let mut seen = DmaFindings::default();
            for slot in k.held_slots(holder) {
                match slot {
                    Slot::Garbage { count } => seen.garbage += count,
                    Slot::Pages { first, count, from } => {
                        k.check_device_access(first, count, from, false, &mut seen);
                        k.mem.update(first, count, |f| f.content = value);
                    }
                }
            }
            k.report_dma(holder, "write", &seen);
        })
    }

    /// The device reads every page `holder` holds; the value of the first page is returned.
    pub fn dma_read(&mut self, holder: Holder) -> Option<u8> {
        self.call("device DMA read", |k| {
            let mut first_value = None;
            let mut seen = DmaFindings::default();
            for slot in k.held_slots(holder) {
                match slot {
                    Slot::Garbage { count } => seen.garbage += count,
                    Slot::Pages { first, count, from } => {
                        k.check_device_access(first, count, from, true, &mut seen);
                        first_value.get_or_insert(k.mem.content(first));
                    }
                }
            }
            k.report_dma(holder, "read", &seen);
            first_value
        })
    }

    /// Notes what a device access through held pages means now: frames that were freed, or
    /// pages no longer part of the object they were taken from (a write is lost; a read is
    /// stale where the object now holds something else).
    fn check_device_access(
        &self,
        first: Pfn,
        count: u64,
        from: Taken,
        read: bool,
        seen: &mut DmaFindings,
    ) {
        for (pfn, n, frame) in self.mem.frames(first, count) {
            if frame.owner == Owner::Free {
                seen.freed.0 += n;
                seen.freed.1.get_or_insert(pfn);
            }
        }
        let Owner::Object(obj) = from.owner else {
            return;
        };
        // The pages whose object page is no longer this frame (all of them if the object is
        // gone), found extent by extent.
        let moved = match self.object(obj) {
            Some(b) => b.not_backed_by(from.index, first, count),
            None => vec![(from.index, count)],
        };
        for (start, n) in moved {
            let pfn_at = |index: u64| first.offset(index - from.index);
            if !read {
                seen.lost.0 += n;
                seen.lost.1.get_or_insert(pfn_at(start));
                continue;
            }
            for index in start..start + n {
                let pfn = pfn_at(index);
                if self.object_content(obj, index) != Some(self.mem.content(pfn)) {
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
