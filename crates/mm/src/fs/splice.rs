//! vmsplice(2) of user memory into a pipe (fs/splice.c): the pipe keeps references to the
//! user pages themselves.

use crate::arch::x86::pgtable::PAGE_SIZE;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{FollFlags, GupCall, Holder};

/// PIPE_DEF_BUFFERS: one vmsplice call fills at most this many pipe buffers.
const PIPE_DEF_BUFFERS: u64 = 16;

impl<D: Devices> Kernel<D> {
    /// vmsplice_to_pipe → iter_to_pipe → iov_iter_get_pages: get_user_pages_fast without
    /// FOLL_WRITE. Returns bytes or -errno; the pipe (`holder`) keeps the pages.
    pub fn vmsplice(&mut self, addr: u64, pages: u64, holder: Holder) -> i64 {
        self.call("vmsplice", |k| {
            let n = pages.min(PIPE_DEF_BUFFERS);
            let r = k.gup(
                GupCall::GetUserPagesFast,
                addr,
                n,
                FollFlags::empty(),
                holder,
            );
            if r.ret < 0 {
                r.ret
            } else {
                r.ret * PAGE_SIZE as i64
            }
        })
    }
}
