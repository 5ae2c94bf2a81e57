//! mm/huge_memory.c: huge PFN insertion, the GUP-slow followers of huge entries, zapping and
//! splitting huge entries of file vmas.

use crate::arch::x86::pgtable::{Entry, Level, PageTableFlags as F, PAGE_SIZE};
use crate::include::errno::Errno;
use crate::include::linux::mm_types::{is_cow_mapping, FaultInfo, VmFault, VmFlags, Vma};
use crate::include::pfn_t::PfnT;
use crate::kernel::{Devices, Kernel};
use crate::mm::gup::{FollFlags, Followed};
use crate::mm::memory::{maybe_mkwrite, vm_page_prot};
use crate::mm::page_alloc::PhysMem;
use crate::version::ChangePoint;

/// The kernel function for a PMD or a PUD entry (the model shares one body for both).
fn by_level(level: Level, pmd: &'static str, pud: &'static str) -> &'static str {
    if level == Level::Pud {
        pud
    } else {
        pmd
    }
}

impl<D: Devices> Kernel<D> {
    /// vma_is_special_huge: a vma whose huge entries are not THPs (DAX, or a file PFNMAP /
    /// MIXEDMAP mapping); 7.2 excludes DAX and no longer needs a file.
    pub fn vma_is_special_huge(&self, vma: &Vma) -> bool {
        let pfn_or_mixed = vma.flags.intersects(VmFlags::PFNMAP | VmFlags::MIXEDMAP);
        if self.has(ChangePoint::UnifiedVmNormalPage) {
            return !vma.is_dax() && pfn_or_mixed;
        }
        vma.is_dax() || (vma.mapping.is_some() && pfn_or_mixed)
    }

    /// vmf_insert_pfn_pmd(_prot) / vmf_insert_pfn_pud(_prot): a huge leaf for `pfn` at the
    /// fault address rounded down to the entry size. No struct page is referenced.
    pub fn vmf_insert_pfn_huge(
        &mut self,
        vmf: &FaultInfo,
        level: Level,
        pfn: PfnT,
        write: bool,
    ) -> VmFault {
        let name = match (level, self.has(ChangePoint::RemoveInsertProt)) {
            (Level::Pud, false) => "vmf_insert_pfn_pud_prot",
            (Level::Pud, true) => "vmf_insert_pfn_pud",
            (_, false) => "vmf_insert_pfn_pmd_prot",
            (_, true) => "vmf_insert_pfn_pmd",
        };
        self.call(name, |k| {
            let vma = k.vmas[vmf.vma].clone();
            let addr = vmf.address & level.mask();
            let devmap = !k.has(ChangePoint::RemoveDevmap) && pfn.devmap();
            let pfnmap = vma.flags.contains(VmFlags::PFNMAP);
            let mixed = vma.flags.contains(VmFlags::MIXEDMAP);
            if !pfnmap && !mixed && !devmap {
                k.bug("huge pfn insert into a vma that is neither PFNMAP nor MIXEDMAP");
                return VmFault::SIGBUS;
            }
            if pfnmap && mixed {
                k.bug("huge pfn insert: vma is both VM_PFNMAP and VM_MIXEDMAP");
                return VmFault::SIGBUS;
            }
            if pfnmap && is_cow_mapping(vma.flags) {
                k.bug("huge pfn insert: VM_PFNMAP on a COW mapping");
                return VmFault::SIGBUS;
            }
            if addr < vma.start || addr >= vma.end {
                return VmFault::SIGBUS;
            }
            k.insert_pfn_huge(&vma, level, addr, pfn, write);
            VmFault::NOPAGE
        })
    }

    /// insert_pfn_pmd / insert_pfn_pud.
    fn insert_pfn_huge(&mut self, vma: &Vma, level: Level, addr: u64, pfn: PfnT, write: bool) {
        let name = by_level(level, "insert_pfn_pmd", "insert_pfn_pud");
        self.call(name, |k| {
            if level == Level::Pmd && !k.pt.pmd_alloc(addr) {
                return;
            }
            let old = k.pt.get(level, addr);
            if !old.is_none() {
                if write {
                    if old.pfn() != pfn.pfn {
                        k.warn("insert_pfn_pmd/pud: a different pfn is already mapped");
                    } else {
                        let entry = maybe_mkwrite(old.with(F::ACCESSED | F::DIRTY), vma);
                        k.pt.set(level, addr, entry);
                    }
                }
                return;
            }
            let mut entry = Entry::new(pfn.pfn, vm_page_prot(vma)).with(F::PSE);
            if k.has(ChangePoint::UnifiedVmNormalPage) || k.has(ChangePoint::RemoveDevmap) {
                entry = entry.with(F::SPECIAL);
            } else if pfn.devmap() {
                entry = entry.with(F::DEVMAP);
            } else if k.has(ChangePoint::HugePfnmap) {
                entry = entry.with(F::SPECIAL);
            }
            if write {
                entry = maybe_mkwrite(entry.with(F::ACCESSED | F::DIRTY), vma);
            }
            k.note(|| format!("{} {entry} at {addr:#x}", level.name()));
            k.pt.set(level, addr, entry);
        })
    }

    /// zap_huge_pmd / zap_huge_pud.
    pub fn zap_huge(&mut self, vi: usize, level: Level, addr: u64) {
        let name = by_level(level, "zap_huge_pmd", "zap_huge_pud");
        self.call(name, |k| {
            let vma = k.vmas[vi].clone();
            let entry = k.pt.get(level, addr);
            k.pt.set(level, addr, Entry::NONE);
            if k.vma_is_special_huge(&vma) {
                k.note(|| format!("special huge vma: {entry} cleared, no page touched"));
                return;
            }
            if level == Level::Pud {
                k.bug("zap_huge_pud on a vma that is not special-huge");
                return;
            }
            if k.has(ChangePoint::UnifiedVmNormalPage)
                && k.vm_normal_page_pmd(&vma, addr, entry).is_none()
            {
                return;
            }
            k.put_huge_mapping(entry);
        })
    }

    /// The rmap and reference a THP-style huge mapping gives back: pmd_page(), mapcount and
    /// a put. On a pfn with no memmap, pmd_page() is a wild pointer.
    fn put_huge_mapping(&mut self, entry: Entry) {
        let pfn = entry.pfn();
        if !PhysMem::pfn_valid(pfn) {
            self.wild_struct_page(|| format!("pmd_page() on pfn {pfn}, which has no struct page"));
            return;
        }
        let head = self.compound_head(pfn);
        // An entry inserted without an rmap (a pfn insert) takes none back: refcount_error.
        self.mapcount_sub(head, 1);
        self.tlb_remove_page(head);
    }

    /// __split_huge_pmd / __split_huge_pud of a file vma: the entry is cleared (the range
    /// refaults at the smaller size); a special-huge vma touches no page.
    pub fn split_huge(&mut self, vi: usize, level: Level, addr: u64) {
        let name = by_level(level, "__split_huge_pmd", "__split_huge_pud");
        self.call(name, |k| {
            let addr = addr & level.mask();
            let entry = k.pt.get(level, addr);
            if !entry.leaf() {
                return;
            }
            // A trans-huge PMD (huge, not devmap) had its page's flags read first, whatever
            // the vma: with no memmap behind the pfn, that is a wild pointer and an oops.
            let trans_huge = level == Level::Pmd && entry.trans_huge();
            if trans_huge
                && !k.has(ChangePoint::SplitHugePmdNoPageFlags)
                && !PhysMem::pfn_valid(entry.pfn())
            {
                let pfn = entry.pfn();
                k.wild_struct_page(|| {
                    format!("PageAnon(pmd_page()) on pfn {pfn}, which has no struct page")
                });
                return;
            }
            let vma = k.vmas[vi].clone();
            k.pt.set(level, addr, Entry::NONE);
            if k.vma_is_special_huge(&vma) || vma.is_anonymous() {
                k.note(|| "entry cleared; the range refaults".into());
                return;
            }
            k.put_huge_mapping(entry);
        })
    }

    /// follow_devmap_pmd / follow_devmap_pud (5.11–6.12): a devmap huge entry is followed
    /// through its dev_pagemap.
    pub fn follow_devmap(
        &mut self,
        level: Level,
        addr: u64,
        entry: Entry,
        flags: FollFlags,
    ) -> Followed {
        let name = by_level(level, "follow_devmap_pmd", "follow_devmap_pud");
        self.call(name, |k| {
            if flags.contains(FollFlags::GET | FollFlags::PIN) {
                k.warn("follow_devmap: both FOLL_GET and FOLL_PIN");
                return Followed::NoPage;
            }
            if flags.contains(FollFlags::WRITE) && !entry.write() {
                return Followed::NoPage;
            }
            if !entry.present() || !entry.devmap() {
                return Followed::NoPage;
            }
            if !flags.intersects(FollFlags::GET | FollFlags::PIN) {
                return Followed::Err(Errno::EEXIST);
            }
            let pfn = entry.pfn().offset((addr & !level.mask()) / PAGE_SIZE);
            if k.get_dev_pagemap(pfn).is_none() {
                k.note(|| "no dev_pagemap: -EFAULT".into());
                return Followed::Err(Errno::EFAULT);
            }
            if !k.try_grab_page(pfn, flags) {
                return Followed::Err(Errno::ENOMEM);
            }
            Followed::Page(pfn)
        })
    }

    /// follow_trans_huge_pmd (5.11, 6.1) / follow_huge_pmd and follow_huge_pud (6.12+):
    /// the subpage of a huge entry, taken from pmd_page() with no special or pfn_valid check,
    /// its reference on pmd_page().
    pub fn follow_trans_huge(
        &mut self,
        vi: usize,
        level: Level,
        addr: u64,
        entry: Entry,
        flags: FollFlags,
    ) -> Followed {
        let name = match (level, self.has(ChangePoint::HugePfnmap)) {
            (Level::Pud, _) => "follow_huge_pud",
            (_, true) => "follow_huge_pmd",
            _ => "follow_trans_huge_pmd",
        };
        self.call(name, |k| {
            let vma = k.vmas[vi].clone();
            if flags.contains(FollFlags::WRITE) && !entry.write() {
                let force_ok = flags.contains(FollFlags::FORCE)
                    && !vma.flags.contains(VmFlags::WRITE)
                    && !k.has(ChangePoint::RemoveFollCow)
                    && flags.contains(FollFlags::COW)
                    && entry.has(F::DIRTY);
                if !force_ok {
                    k.note(|| "write to a read-only huge entry: fault first".into());
                    return Followed::NoPage;
                }
            }
            let pfn = entry.pfn().offset((addr & !level.mask()) / PAGE_SIZE);
            if !PhysMem::pfn_valid(entry.pfn()) {
                k.wild_struct_page(|| {
                    format!("pmd_page() of pfn {} which has no struct page", entry.pfn())
                });
                return Followed::Err(Errno::EFAULT);
            }
            if !flags.intersects(FollFlags::GET | FollFlags::PIN) {
                return Followed::Page(pfn);
            }
            // The reference goes on pmd_page()/pud_page() (its folio), taken before the
            // subpage offset is added: for order-0 pages under the entry (device memory, a
            // TTM pool block) every subpage's reference lands on the first page. (The real
            // 5.10 showed it: 512 follows left refcount 513 on page 0 and 1 on page 1.)
            if !k.try_grab_page(entry.pfn(), flags) {
                return Followed::Err(Errno::ENOMEM);
            }
            k.note(|| format!("subpage pfn {pfn} of huge entry {entry}"));
            Followed::Huge(pfn, level)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;
    use crate::include::linux::mm_types::{MappingId, ObjId, VmOps, VmaBacking};
    use crate::kernel::NoDevices;
    use crate::mm::page_alloc::IOMEM_START;
    use crate::version::{KernelConfig, Release};

    const ADDR: u64 = 0x7f00_0000_0000;

    /// Splits a trans-huge PMD (huge, neither devmap nor special) over iomem, as zapping
    /// part of it does, in a special-huge device vma at `release`.
    fn split_iomem_pmd(release: Release) -> Kernel<NoDevices> {
        let mut k = Kernel::<NoDevices>::new(KernelConfig::mainline(release));
        k.vmas.push(Vma {
            start: ADDR,
            end: ADDR + Level::Pmd.size(),
            flags: VmFlags::READ | VmFlags::WRITE | VmFlags::SHARED | VmFlags::MIXEDMAP,
            pgoff: 0,
            backing: VmaBacking::Device,
            mapping: Some(MappingId(0)),
            ops: VmOps::default(),
            object: ObjId(0),
            dax: false,
        });
        let entry = Entry::new(IOMEM_START, F::PRESENT | F::PSE | F::RW);
        assert!(k.pt.pmd_alloc(ADDR));
        k.pt.set(Level::Pmd, ADDR, entry);
        k.split_huge(0, Level::Pmd, ADDR + PAGE_SIZE);
        k
    }

    fn bad_page(k: &Kernel<NoDevices>) -> bool {
        k.events.events().any(|e| e == Event::BadPage)
    }

    #[test]
    fn splitting_a_pmd_over_iomem_reads_a_wild_struct_page_until_5_18() {
        let at = ChangePoint::SplitHugePmdNoPageFlags.release();
        let before = split_iomem_pmd(Release::new(5, 17));
        assert!(bad_page(&before) && before.oopsed);
        assert!(
            before.pt.get(Level::Pmd, ADDR).leaf(),
            "the oops came first"
        );
        let after = split_iomem_pmd(at);
        assert!(!bad_page(&after) && !after.oopsed);
        assert!(
            after.pt.get(Level::Pmd, ADDR).is_none(),
            "cleared; it refaults"
        );
        // A devmap PMD was never trans-huge: no page was looked at.
        let mut devmap = Kernel::<NoDevices>::new(KernelConfig::mainline(Release::new(5, 17)));
        devmap.vmas.push(after.vmas[0].clone());
        let entry = Entry::new(IOMEM_START, F::PRESENT | F::PSE | F::DEVMAP);
        assert!(devmap.pt.pmd_alloc(ADDR));
        devmap.pt.set(Level::Pmd, ADDR, entry);
        devmap.split_huge(0, Level::Pmd, ADDR);
        assert!(!bad_page(&devmap));
    }
}
