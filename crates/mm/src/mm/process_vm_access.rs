//! process_vm_readv / process_vm_writev (mm/process_vm_access.c): the remote process's pages
//! are pinned through the slow path (pin_user_pages_remote).

use crate::arch::x86::pgtable::PAGE_SIZE;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{FollFlags, Holder};

impl<D: Devices> Kernel<D> {
    /// process_vm_rw_pages on `pages` pages at `addr` of this mm (`write`: process_vm_writev,
    /// which writes into them). Returns bytes or -errno; the pins stay held by `holder`.
    pub fn process_vm_rw(&mut self, addr: u64, pages: u64, write: bool, holder: Holder) -> i64 {
        let name = if write {
            "process_vm_writev"
        } else {
            "process_vm_readv"
        };
        self.call(name, |k| {
            let mut flags = FollFlags::PIN | FollFlags::REMOTE;
            if write {
                flags |= FollFlags::WRITE;
            }
            let r = k.call("pin_user_pages_remote", |k| k.gup_slow(addr, pages, flags));
            k.hold(holder, true, r.pages.clone());
            if r.ret < 0 {
                r.ret
            } else {
                r.ret * PAGE_SIZE as i64
            }
        })
    }
}
