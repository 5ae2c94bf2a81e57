//! O_DIRECT reads and writes (fs/direct-io.c, fs/iomap/direct-io.c, block/bio.c): the user
//! buffer's pages are taken for the block device's DMA, which moves the data between them
//! and the device's blocks.

use crate::arch::x86::pgtable::PAGE_SIZE;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{FollFlags, GupCall, Holder, PageList, Slot};
use crate::version::ChangePoint;

impl<D: Devices> Kernel<D> {
    /// An O_DIRECT read (`read_into_memory`: the device writes the user buffer) or write of
    /// `pages` pages at `addr`. Returns bytes or -errno; the pages stay held by `holder` (the
    /// I/O in flight).
    pub fn o_direct(
        &mut self,
        addr: u64,
        pages: u64,
        read_into_memory: bool,
        holder: Holder,
    ) -> i64 {
        let name = if read_into_memory {
            "o_direct_read"
        } else {
            "o_direct_write"
        };
        self.call(name, |k| {
            // bio_iov_iter_get_pages: iov_iter_get_pages (FOLL_GET) until block I/O moved to
            // iov_iter_extract_pages, which pins user pages.
            let call = if k.has(ChangePoint::DirectIoPins) {
                GupCall::PinUserPagesFast
            } else {
                GupCall::GetUserPagesFast
            };
            let flags = if read_into_memory {
                FollFlags::WRITE
            } else {
                FollFlags::empty()
            };
            let r = k.gup(call, addr, pages, flags, holder);
            k.dio_transfer(&r.pages, read_into_memory);
            if r.ret < 0 {
                r.ret
            } else {
                r.ret * PAGE_SIZE as i64
            }
        })
    }

    /// The device's side of a completed request: block i (from offset 0, as the oracle's
    /// requests are) is copied to or from the i-th page taken. A pages[] entry GUP never
    /// filled is skipped here (its block is not transferred).
    fn dio_transfer(&mut self, pages: &PageList, read_into_memory: bool) {
        let mut block = 0usize;
        for slot in &pages.slots {
            if let Slot::Pages { first, count, .. } = *slot {
                for i in 0..count {
                    let pfn = first.offset(i);
                    let at = block + i as usize;
                    if read_into_memory {
                        let value = self.block_device.get(at).copied().unwrap_or(0);
                        self.mem.update(pfn, 1, |f| f.content = value);
                    } else {
                        let value = self.mem.content(pfn);
                        if self.block_device.len() <= at {
                            self.block_device.resize(at + 1, 0);
                        }
                        self.block_device[at] = value;
                    }
                }
            }
            block += slot.count() as usize;
        }
        while self.block_device.last() == Some(&0) {
            self.block_device.pop();
        }
    }
}
