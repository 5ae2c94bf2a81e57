//! mm/mmap.c, mm/madvise.c: creating and removing vmas, and MADV_DONTNEED (mprotect is in
//! [`crate::mm::mprotect`]).

use crate::arch::x86::pgtable::{PAGE_SIZE, PUD_SIZE};
use crate::include::errno::Errno;
use crate::include::linux::mm_types::{MappingId, ObjId, VmFlags, VmOps, Vma, VmaBacking};
use crate::kernel::{Devices, Kernel};

/// The protection asked of mmap or mprotect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prot {
    None,
    Read,
    ReadWrite,
}

impl Prot {
    pub(crate) fn flags(self) -> VmFlags {
        match self {
            Prot::None => VmFlags::empty(),
            Prot::Read => VmFlags::READ,
            Prot::ReadWrite => VmFlags::READ | VmFlags::WRITE,
        }
    }
}

/// What mmap(2) is asked to map.
#[derive(Clone, Copy, Debug)]
pub struct MmapRequest {
    pub addr: u64,
    pub pages: u64,
    pub pgoff: u64,
    pub shared: bool,
    pub prot: Prot,
    pub backing: VmaBacking,
    pub mapping: Option<MappingId>,
    pub object: ObjId,
    pub ops: VmOps,
}

impl<D: Devices> Kernel<D> {
    /// A free, `align`-aligned address range of `pages` pages (get_unmapped_area with the
    /// THP alignment drivers ask for).
    pub fn get_unmapped_area(&self, pages: u64, align: u64) -> u64 {
        let align = align.max(PAGE_SIZE);
        let mut addr = 0x7f00_0000_0000u64.div_ceil(PUD_SIZE) * PUD_SIZE;
        loop {
            let end = addr.saturating_add(pages.saturating_mul(PAGE_SIZE));
            match self.vmas.iter().find(|v| v.start < end && addr < v.end) {
                Some(v) => addr = v.end.div_ceil(align) * align,
                None => return addr,
            }
        }
    }

    /// do_mmap / mmap_region: creates the vma and hands it to the file's `->mmap`
    /// (`call_mmap`), which may set its flags and map pages, or refuse it; a refused vma is
    /// removed again and the error returned. Returns the new vma's index.
    pub fn mmap_region(
        &mut self,
        req: MmapRequest,
        file_mmap: impl FnOnce(&mut Self, usize) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        self.call("mmap_region", |k| {
            let end = req
                .pages
                .checked_mul(PAGE_SIZE)
                .and_then(|len| req.addr.checked_add(len))
                .filter(|end| *end <= crate::mm::gup::fast::TASK_SIZE_MAX && req.pages > 0);
            let Some(end) = end else {
                k.note(|| "the range does not fit the user address space: -ENOMEM".into());
                return Err(Errno::ENOMEM);
            };
            if k.vmas.iter().any(|v| v.start < end && req.addr < v.end) {
                return Err(Errno::EINVAL);
            }
            let mut flags =
                req.prot.flags() | VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC;
            if req.shared {
                flags |= VmFlags::SHARED | VmFlags::MAYSHARE;
            }
            let vma = Vma {
                start: req.addr,
                end,
                flags,
                pgoff: req.pgoff,
                backing: req.backing,
                mapping: req.mapping,
                ops: req.ops,
                object: req.object,
                dax: false,
            };
            let at = k.vmas.partition_point(|v| v.start < req.addr);
            k.vmas.insert(at, vma);
            k.note(|| format!("vma {:#x}..{end:#x} {flags:?}", req.addr));
            if let Err(e) = file_mmap(k, at) {
                k.note(|| format!("->mmap refused the vma: {e:?}"));
                k.vmas.remove(at);
                return Err(e);
            }
            Ok(at)
        })
    }

    /// munmap of the whole vma `vi`.
    pub fn munmap(&mut self, vi: usize) {
        self.call("do_munmap", |k| {
            k.munmap_zap(vi);
            k.tlb_finish_mmu();
        })
    }

    /// unmap_region up to the flush: the vma goes, its entries are cleared and their pages
    /// gathered, and its page tables unlinked (free_pgtables); the tables and pages are freed
    /// by tlb_finish_mmu once the flush has waited for walkers with interrupts disabled.
    pub fn munmap_zap(&mut self, vi: usize) {
        let vma = self.vmas[vi].clone();
        self.unmap_page_range(vi, vma.start, vma.end);
        self.vmas.remove(vi);
        self.call("free_pgtables", |k| {
            let vmas = k.vmas.clone();
            let unlinked = k.pt.free_tables(vma.start, vma.end, |lo, hi| {
                vmas.iter().any(|v| v.start < hi && lo < v.end)
            });
            k.note(|| {
                format!(
                    "{} page tables unlinked, freed after the flush",
                    unlinked.len()
                )
            });
            k.tlb_tables.extend(unlinked);
        });
    }

    /// madvise(MADV_DONTNEED) over the whole vma `vi`.
    pub fn madvise_dontneed(&mut self, vi: usize) -> Result<(), Errno> {
        self.call("madvise_dontneed_free", |k| {
            let vma = k.vmas[vi].clone();
            if vma.flags.contains(VmFlags::PFNMAP) {
                k.note(|| "VM_PFNMAP vma: -EINVAL".into());
                return Err(Errno::EINVAL);
            }
            k.unmap_page_range(vi, vma.start, vma.end);
            k.tlb_finish_mmu();
            Ok(())
        })
    }
}
