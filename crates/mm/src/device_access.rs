//! A device reading or writing memory through the struct pages a driver took with GUP (what
//! the driver's scatterlist DMA does), and the end-of-execution leak check. Neither is one
//! kernel function; they are where the bugs GUP users fear become visible.

use crate::events::Event;
use crate::include::linux::mm_types::Pfn;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{Holder, Taken};
use crate::mm::page_alloc::{Owner, PageKind, RAM_PAGES, RAM_START};

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
            for page in k.held_pages(holder) {
                let Some((pfn, from)) = page else {
                    k.bug("DMA through a pages[] entry GUP never filled");
                    continue;
                };
                k.check_device_access(pfn, from, holder, None);
                k.mem.update(pfn, 1, |f| f.content = value);
            }
        })
    }

    /// The device reads every page `holder` holds; the value of the first page is returned.
    pub fn dma_read(&mut self, holder: Holder) -> Option<u8> {
        self.call("device DMA read", |k| {
            let mut first = None;
            for page in k.held_pages(holder) {
                let Some((pfn, from)) = page else {
                    k.bug("DMA through a pages[] entry GUP never filled");
                    continue;
                };
                let value = k.mem.content(pfn);
                k.check_device_access(pfn, from, holder, Some(value));
                first.get_or_insert(value);
            }
            first
        })
    }

    /// Reports what a device access through a held page means now: the frame was freed, or
    /// the object it was taken from no longer lives there (a write is lost; a read is stale if
    /// the object holds something else).
    fn check_device_access(&mut self, pfn: Pfn, from: Taken, holder: Holder, read: Option<u8>) {
        let now = self.mem.frame(pfn).owner;
        if now == Owner::Free {
            self.raise(Event::UseAfterFree, || {
                format!("device access through {holder} to pfn {pfn}, which is free")
            });
        }
        let Owner::Object(obj) = from.owner else {
            return;
        };
        if self.object_pfn(obj, from.index) == Some(pfn) {
            return;
        }
        match read {
            None => self.raise(Event::LostWrite, || {
                format!(
                    "device write through {holder} to pfn {pfn}: page {} of object {} is no longer there",
                    from.index, obj.0
                )
            }),
            Some(value) => {
                let current = self.object_content(obj, from.index);
                if current != Some(value) {
                    self.raise(Event::StaleRead, || {
                        format!(
                            "device read through {holder} of pfn {pfn} returned {value}; page {} of object {} holds {current:?}",
                            from.index, obj.0
                        )
                    });
                }
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
