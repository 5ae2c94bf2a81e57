//! drivers/gpu/drm/ttm/ttm_bo_vm.c: mmap and fault handling of buffer objects, with the
//! huge-entry insertion of 5.11–5.15 (ttm_bo_vm_insert_huge, used by vmwgfx's huge_fault).

use super::ttm_bo::{Placement, TtmBo};
use crate::Model;
use mmlab_mm::arch::x86::pgtable::Level;
use mmlab_mm::include::errno::Errno;
use mmlab_mm::include::linux::mm_types::{
    is_cow_mapping, FaultInfo, ObjId, VmFault, VmFlags, VmOps,
};
use mmlab_mm::include::pfn_t::{PfnFlags, PfnT};
use mmlab_mm::version::ChangePoint;

/// TTM_BO_VM_NUM_PREFAULT.
const TTM_BO_VM_NUM_PREFAULT: u64 = 16;

impl TtmBo {
    /// The vm_operations a BO mapping gets: TTM's fault, and a huge_fault where the driver
    /// had one and the kernel still had ttm_bo_vm_insert_huge.
    pub fn vm_ops(&self, k: &Model) -> VmOps {
        VmOps {
            fault: true,
            map_pages: false,
            huge_fault: self.huge.is_some() && !k.has(ChangePoint::TtmRemoveHuge),
            pfn_mkwrite: false,
            page_mkwrite: false,
        }
    }

    /// ttm_bo_mmap_obj: the vma flags of a BO mapping.
    pub fn ttm_bo_mmap(&self, k: &mut Model, vi: usize) -> Result<(), Errno> {
        k.call("ttm_bo_mmap_obj", |k| {
            let flags = k.vmas[vi].flags;
            if k.has(ChangePoint::TtmNukeMixedmap) {
                if is_cow_mapping(flags) {
                    k.note(|| "COW mapping of a BO: -EINVAL".into());
                    return Err(Errno::EINVAL);
                }
                k.vmas[vi].flags |=
                    VmFlags::PFNMAP | VmFlags::IO | VmFlags::DONTEXPAND | VmFlags::DONTDUMP;
            } else {
                k.vmas[vi].flags |=
                    VmFlags::MIXEDMAP | VmFlags::IO | VmFlags::DONTEXPAND | VmFlags::DONTDUMP;
            }
            let ops = self.vm_ops(k);
            k.vmas[vi].ops = ops;
            let f = k.vmas[vi].flags;
            k.note(|| format!("vm_flags {f:?}"));
            Ok(())
        })
    }

    /// ttm_bo_vm_fault → ttm_bo_vm_fault_reserved: insert PTEs for the faulting page and up
    /// to 15 more after it.
    pub fn ttm_bo_vm_fault(&self, k: &mut Model, obj: ObjId, vmf: &FaultInfo) -> VmFault {
        k.call("ttm_bo_vm_fault", |k| {
            let vma = k.vmas[vmf.vma].clone();
            if vmf.pgoff >= self.pages {
                return VmFault::SIGBUS;
            }
            let mut ret = VmFault::NOPAGE;
            let mut addr = vmf.address;
            let mut index = vmf.pgoff;
            for i in 0..TTM_BO_VM_NUM_PREFAULT {
                let Some(pfn) = k.object_pfn(obj, index) else {
                    return VmFault::SIGBUS;
                };
                ret = if vma.flags.contains(VmFlags::MIXEDMAP) {
                    k.vmf_insert_mixed(vmf.vma, addr, PfnT::new(pfn, PfnFlags::DEV), false)
                } else {
                    k.vmf_insert_pfn(vmf.vma, addr, pfn)
                };
                if ret.is_error() {
                    if i == 0 {
                        return VmFault::NOPAGE;
                    }
                    break;
                }
                index += 1;
                addr += mmlab_mm::arch::x86::pgtable::PAGE_SIZE;
                if index >= self.pages || addr >= vma.end {
                    break;
                }
            }
            ret
        })
    }

    /// vmw_bo_vm_huge_fault → ttm_bo_vm_insert_huge (5.11–5.15): a huge entry over a
    /// size-aligned, contiguous part of the BO, with pfn_t PFN_DEV (or the `huge_pfn` flags).
    pub fn vmw_bo_vm_huge_fault(
        &self,
        k: &mut Model,
        obj: ObjId,
        vmf: &FaultInfo,
        level: Level,
    ) -> VmFault {
        k.call("vmw_bo_vm_huge_fault", |k| {
            let vma = k.vmas[vmf.vma].clone();
            if Some(level) != self.huge && !(self.huge == Some(Level::Pud) && level == Level::Pmd) {
                return VmFault::FALLBACK;
            }
            if vmf.write() && is_cow_mapping(vma.flags) {
                return VmFault::FALLBACK;
            }
            k.call("ttm_bo_vm_insert_huge", |k| {
                let size = level.pages();
                let first = vmf.pgoff & !(size - 1);
                if first + size > self.pages {
                    k.note(|| "huge entry would pass the end of the BO: fallback".into());
                    return VmFault::FALLBACK;
                }
                let Some(pfn) = k.object_pfn(obj, first) else {
                    return VmFault::FALLBACK;
                };
                // The pfn must be aligned to the huge size, in VRAM as in system memory.
                if pfn.0 % size != 0 {
                    k.note(|| format!("pfn {pfn} not aligned to the huge size: fallback"));
                    return VmFault::FALLBACK;
                }
                if self.place == Placement::System {
                    let contiguous = k
                        .object(obj)
                        .is_some_and(|b| b.backed_contiguously(first, pfn, size));
                    if !contiguous {
                        k.note(|| "pages not contiguous: fallback".into());
                        return VmFault::FALLBACK;
                    }
                }
                let pfnt = PfnT::new(pfn, self.huge_pfn);
                let ret = k.vmf_insert_pfn_huge(vmf, level, pfnt, vmf.write());
                if ret != VmFault::NOPAGE {
                    return VmFault::FALLBACK;
                }
                ret
            })
        })
    }
}
