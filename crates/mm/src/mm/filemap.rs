//! mm/filemap.c: mapping page cache pages around a read fault.

use crate::arch::x86::pgtable::{Entry, Level, PAGE_SIZE};
use crate::include::linux::mm_types::{FaultInfo, VmFault};
use crate::kernel::{Devices, Kernel};
use crate::mm::memory::vm_page_prot;

impl<D: Devices> Kernel<D> {
    /// filemap_map_pages: maps every page of the file's page cache with index
    /// `start_pgoff..=end_pgoff` whose PTE is empty, as do_set_pte does for a read fault
    /// (a reference and a mapcount each, the vma's protection, not dirty), starting at
    /// `address` for `start_pgoff`. Pages not in the cache are left to the fault. Returns
    /// NOPAGE when the faulting address itself got its page.
    pub(crate) fn filemap_map_pages(
        &mut self,
        vmf: &FaultInfo,
        address: u64,
        start_pgoff: u64,
        end_pgoff: u64,
    ) -> VmFault {
        self.call("filemap_map_pages", |k| {
            let vma = k.vmas[vmf.vma].clone();
            let mut ret = VmFault::empty();
            let mut mapped = 0;
            for pgoff in start_pgoff..=end_pgoff {
                let addr = address + (pgoff - start_pgoff) * PAGE_SIZE;
                let Some(pfn) = k.object(vma.object).and_then(|b| b.pfn_of(pgoff)) else {
                    continue;
                };
                if !k.pt.get(Level::Pte, addr).is_none() {
                    continue;
                }
                k.get_page(pfn);
                k.mem.update_page(pfn, |p| p.mapcount += 1);
                k.pt.set(Level::Pte, addr, Entry::new(pfn, vm_page_prot(&vma)));
                mapped += 1;
                if addr == vmf.address {
                    ret = VmFault::NOPAGE;
                }
            }
            k.note(|| format!("{mapped} page cache pages mapped"));
            ret
        })
    }
}
