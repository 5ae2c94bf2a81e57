//! mm/shmem.c: the page cache of a memfd, filled on fault.

use crate::include::linux::mm_types::{FaultInfo, Pfn, VmFault};
use crate::kernel::{Devices, Kernel};
use crate::mm::page_alloc::Owner;

/// shmem_fault: the file page at the fault's offset, allocated on first use, returned with a
/// reference for the mapping.
pub fn shmem_fault<D: Devices>(k: &mut Kernel<D>, vmf: &FaultInfo) -> (VmFault, Option<Pfn>) {
    k.call("shmem_fault", |k| {
        let obj = k.vmas[vmf.vma].object;
        let Some(backing) = k.object(obj) else {
            return (VmFault::SIGBUS, None);
        };
        if vmf.pgoff >= backing.pages {
            return (VmFault::SIGBUS, None);
        }
        let pfn = match backing.pfn_of(vmf.pgoff) {
            Some(pfn) => pfn,
            None => {
                let Some(pfn) = k.alloc_pages(0, false, Owner::Object(obj)) else {
                    return (VmFault::OOM, None);
                };
                // A new page cache page is cleared before anyone maps it (shmem_get_folio
                // zeroes a folio that is not uptodate): the frame may hold a freed page's data.
                k.mem.update(pfn, 1, |f| {
                    f.content = 0;
                    f.page.has_mapping = true;
                });
                if let Some(b) = k.object_mut(obj) {
                    b.add(vmf.pgoff, pfn, 1);
                }
                pfn
            }
        };
        k.get_page(pfn);
        (VmFault::empty(), Some(pfn))
    })
}
