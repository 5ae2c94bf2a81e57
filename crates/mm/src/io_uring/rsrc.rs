//! io_uring buffer registration (io_uring/rsrc.c; fs/io_uring.c before 6.0): a long-term
//! write pin of the whole buffer.

use crate::include::errno::Errno;
use crate::include::linux::mm_types::VmaBacking;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{FollFlags, GupCall, Holder};
use crate::version::ChangePoint;

impl<D: Devices> Kernel<D> {
    /// IORING_REGISTER_BUFFERS of one buffer: io_pin_pages with FOLL_WRITE|FOLL_LONGTERM,
    /// through pin_user_pages under the mmap lock, from 6.10 through pin_user_pages_fast.
    /// Until 6.5 the vmas are checked afterwards and file-backed ones other than shmem are
    /// refused with -EOPNOTSUPP (the pins are dropped); from 6.5 GUP decides. Returns 0 or
    /// -errno; the registered buffer (`holder`) keeps the pins.
    pub fn io_uring_register(&mut self, addr: u64, pages: u64, holder: Holder) -> i64 {
        self.call("io_sqe_buffer_register", |k| {
            let call = if k.has(ChangePoint::IoUringPinFast) {
                GupCall::PinUserPagesFast
            } else {
                GupCall::PinUserPages
            };
            let r = k.gup(
                call,
                addr,
                pages,
                FollFlags::WRITE | FollFlags::LONGTERM,
                holder,
            );
            let error = if r.ret < 0 {
                Some(r.ret)
            } else if (r.ret as u64) != pages {
                Some(Errno::EFAULT.ret())
            } else if !k.has(ChangePoint::LongtermFileBackedCheck) && k.file_backed_in(addr, pages)
            {
                k.note(|| "file-backed, non-shmem vma: -EOPNOTSUPP".into());
                Some(Errno::EOPNOTSUPP.ret())
            } else {
                None
            };
            match error {
                Some(e) => {
                    k.release(holder);
                    e
                }
                None => 0,
            }
        })
    }

    fn file_backed_in(&self, addr: u64, pages: u64) -> bool {
        let end = addr.saturating_add(pages.saturating_mul(crate::arch::x86::pgtable::PAGE_SIZE));
        self.vmas
            .iter()
            .filter(|v| v.start < end && addr < v.end)
            .any(|v| v.backing == VmaBacking::Device)
    }
}
