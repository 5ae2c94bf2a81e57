//! process_vm_readv / process_vm_writev (mm/process_vm_access.c): the remote process's pages
//! are pinned through the slow path (pin_user_pages_remote).

use crate::arch::x86::pgtable::PAGE_SIZE;
use crate::include::errno::Errno;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{FollFlags, Holder, Slot};

impl<D: Devices> Kernel<D> {
    /// process_vm_rw_pages on `pages` pages at `addr` of this mm (`write`: process_vm_writev,
    /// which writes into them). Returns bytes or -errno; the pins stay held by `holder`.
    ///
    /// process_vm_rw_single_vec turns every pin_user_pages_remote result `<= 0` into -EFAULT
    /// (the same test from the get_user_pages_remote days through 6.1, 6.12 and 7.x), so a
    /// -EEXIST from GUP never reaches user space. A call that hangs is ended by the fatal
    /// signal and never returns; its -EINTR is kept so the thread is seen to die.
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
            if r.ret > 0
                && r.pages
                    .slots
                    .iter()
                    .any(|s| matches!(s, Slot::Garbage { .. }))
            {
                // process_vm_rw_single_vec copies through every pages[] entry
                // (process_vm_rw_pages) and then unpins them all: one that GUP counted without
                // filling it (5.11's swallowed -EEXIST) is an uninitialised pointer. Debian's
                // 5.10 oopses in unpin_user_pages, inside the syscall.
                k.call("process_vm_rw_single_vec", |k| {
                    k.bug("pages[] entry GUP never filled used (wild pointer)")
                });
            }
            if write {
                // process_vm_rw_pages copies the caller's buffer into the pages; the oracle's
                // buffer (the only caller there is) holds zeros.
                for slot in &r.pages.slots {
                    if let Slot::Pages { first, count, .. } = *slot {
                        k.mem.update(first, count, |f| f.content = 0);
                    }
                }
            }
            k.hold(holder, true, r.pages.clone());
            if r.hang {
                r.ret
            } else if r.ret <= 0 {
                if r.ret < 0 {
                    k.note(|| format!("pin_user_pages_remote returned {}: -EFAULT", r.ret));
                }
                Errno::EFAULT.ret()
            } else {
                r.ret * PAGE_SIZE as i64
            }
        })
    }
}
