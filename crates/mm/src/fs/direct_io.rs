//! O_DIRECT reads and writes (fs/direct-io.c, fs/iomap/direct-io.c, block/bio.c): the user
//! buffer's pages are taken for the block device's DMA.

use crate::arch::x86::pgtable::PAGE_SIZE;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{FollFlags, GupCall, Holder};
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
            if r.ret < 0 {
                r.ret
            } else {
                r.ret * PAGE_SIZE as i64
            }
        })
    }
}
