//! drivers/dma-buf/dma-buf.c: mmap of a dma-buf is forwarded to the exporter; the proposed
//! (never merged) "Require VM_PFNMAP vma for mmap" check warns afterwards when the exporter
//! left the vma without VM_PFNMAP.

use crate::Model;
use mmlab_mm::include::errno::Errno;
use mmlab_mm::include::linux::mm_types::{ObjId, VmFlags};

/// A dma-buf exported from an object.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct DmaBuf {
    pub exporter: ObjId,
    pub require_pfnmap: bool,
}

impl DmaBuf {
    /// dma_buf_mmap_internal: the exporter's mmap on the vma, then (with the proposed patch)
    /// WARN_ON(!(vm_flags & VM_PFNMAP)). The exporter's result is returned unchanged.
    pub fn dma_buf_mmap(
        &self,
        k: &mut Model,
        vi: usize,
        exporter_mmap: impl FnOnce(&mut Model, usize) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        k.call("dma_buf_mmap_internal", |k| {
            let ret = exporter_mmap(k, vi);
            if self.require_pfnmap && ret.is_ok() && !k.vmas[vi].flags.contains(VmFlags::PFNMAP) {
                k.warn("dma_buf_mmap: exporter's vma lacks VM_PFNMAP");
            }
            ret
        })
    }
}
