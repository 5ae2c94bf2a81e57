//! mm/memory.c: which entries have a struct page behind them, the insertion API drivers use,
//! the fault path, and zapping.

use crate::arch::x86::pgtable::{Entry, Level, PageTableFlags as F, PAGE_SIZE};
use crate::events::Event;
use crate::include::errno::Errno;
use crate::include::linux::mm_types::{
    is_cow_mapping, FaultFlags, FaultInfo, MappingId, Pfn, VmFault, VmFlags, Vma,
};
use crate::include::pfn_t::{PfnFlags, PfnT};
use crate::kernel::{Devices, Kernel};
use crate::mm::page_alloc::{Owner, PhysMem, ZERO_PFN};
use crate::version::ChangePoint;

/// is_zero_pfn.
pub fn is_zero_pfn(pfn: Pfn) -> bool {
    pfn == ZERO_PFN
}

/// vma_wants_writenotify: a shared writable mapping whose driver wants to hear about the
/// first write to each page keeps its entries read-only.
pub fn vma_wants_writenotify(vma: &Vma) -> bool {
    vma.flags.contains(VmFlags::WRITE | VmFlags::SHARED)
        && (vma.ops.page_mkwrite || vma.ops.pfn_mkwrite)
}

/// vma->vm_page_prot: the entry bits a new mapping gets. Private writable mappings start
/// read-only so the first write copies (COW). A PROT_NONE vma gets PAGE_NONE entries, which
/// user space cannot use: here, entries without the user bit (x86 clears the present bit and
/// sets PROTNONE instead; the kernel still treats them as present).
pub fn vm_page_prot(vma: &Vma) -> F {
    let mut prot = F::PRESENT | F::ACCESSED;
    if vma.flags.intersects(VmFlags::READ | VmFlags::WRITE) {
        prot |= F::USER;
    }
    if vma.flags.contains(VmFlags::WRITE | VmFlags::SHARED) && !vma_wants_writenotify(vma) {
        prot |= F::RW;
    }
    prot
}

/// fault_around_bytes (64K, the default at every modelled release) in pages.
const FAULT_AROUND_PAGES: u64 = 16;
/// Entries of a page table.
const PTRS_PER_TABLE: u64 = 512;

/// maybe_mkwrite: the write bit only if the vma is writable.
pub fn maybe_mkwrite(entry: Entry, vma: &Vma) -> Entry {
    if vma.flags.contains(VmFlags::WRITE) {
        entry.with(F::RW)
    } else {
        entry
    }
}

impl<D: Devices> Kernel<D> {
    /// vm_normal_page: the struct page behind a PTE, or None for entries that must not be
    /// treated as ordinary memory (special, zero page, devmap, PFN mappings).
    pub fn vm_normal_page(&mut self, vma: &Vma, pte: Entry) -> Option<Pfn> {
        self.call("vm_normal_page", |k| {
            let pfn = pte.pfn();
            if pte.special() {
                if vma.flags.intersects(VmFlags::PFNMAP | VmFlags::MIXEDMAP) {
                    k.note(|| "special pte in a PFNMAP/MIXEDMAP vma: no page".into());
                    return None;
                }
                if is_zero_pfn(pfn) {
                    k.note(|| "zero page: no page".into());
                    return None;
                }
                if !k.has(ChangePoint::RemoveDevmap) && pte.devmap() {
                    k.note(|| "devmap pte: no page".into());
                    return None;
                }
                k.print_bad_pte(pfn);
                return None;
            }
            if pfn > PhysMem::highest_memmap_pfn() {
                k.print_bad_pte(pfn);
                return None;
            }
            k.note(|| format!("normal pte: page at pfn {pfn}"));
            Some(pfn)
        })
    }

    /// print_bad_pte / print_bad_page_map: the kernel logs "BUG: Bad page map" and taints; it
    /// does not stop. Reported as a warning.
    pub fn print_bad_pte(&mut self, pfn: Pfn) {
        self.raise(Event::Warn, || format!("bad page map: pfn {pfn}"));
    }

    /// vm_insert_page: map a driver-allocated page with a refcounted, normal PTE.
    pub fn vm_insert_page(&mut self, vi: usize, addr: u64, pfn: Pfn) -> Result<(), Errno> {
        self.call("vm_insert_page", |k| {
            let vma = k.vmas[vi].clone();
            if !vma.contains(addr) {
                return Err(Errno::EFAULT);
            }
            let page = k.mem.page(pfn);
            if !PhysMem::pfn_valid(pfn) || page.refcount == 0 {
                k.note(|| format!("pfn {pfn} has no referenced page: -EINVAL"));
                return Err(Errno::EINVAL);
            }
            if !vma.flags.contains(VmFlags::MIXEDMAP) {
                // Called from mmap with the mmap lock held for write, as drivers must.
                if vma.flags.contains(VmFlags::PFNMAP) {
                    k.bug("vm_insert_page on a VM_PFNMAP vma");
                    return Err(Errno::EINVAL);
                }
                k.vmas[vi].flags |= VmFlags::MIXEDMAP;
                k.note(|| "sets VM_MIXEDMAP".into());
            }
            k.insert_page(vi, addr, pfn)
        })
    }

    /// insert_page: validate, then install a normal PTE taking a reference and a mapcount.
    pub fn insert_page(&mut self, vi: usize, addr: u64, pfn: Pfn) -> Result<(), Errno> {
        self.call("insert_page", |k| {
            let page = k.mem.page(pfn);
            if page.anon {
                return Err(Errno::EINVAL);
            }
            if is_zero_pfn(pfn) && !k.has(ChangePoint::HugePfnmap) {
                // Before 6.12 the zero page was inserted like any other page.
            }
            if !k.pt.pte_alloc(addr) {
                return Err(Errno::ENOMEM);
            }
            if !k.pt.get(Level::Pte, addr).is_none() {
                return Err(Errno::EBUSY);
            }
            k.get_page(pfn);
            k.mem.update_page(pfn, |p| p.mapcount += 1);
            let vma = &k.vmas[vi];
            let entry = Entry::new(pfn, vm_page_prot(vma));
            k.note(|| format!("normal pte {entry} at {addr:#x}"));
            k.pt.set(Level::Pte, addr, entry);
            Ok(())
        })
    }

    /// vmf_insert_pfn_prot / vmf_insert_pfn: a special PTE for a pfn in a PFNMAP or MIXEDMAP
    /// vma; no struct page is touched.
    pub fn vmf_insert_pfn(&mut self, vi: usize, addr: u64, pfn: Pfn) -> VmFault {
        self.call("vmf_insert_pfn_prot", |k| {
            let vma = k.vmas[vi].clone();
            let pfnmap = vma.flags.contains(VmFlags::PFNMAP);
            let mixed = vma.flags.contains(VmFlags::MIXEDMAP);
            if !pfnmap && !mixed {
                k.bug("vmf_insert_pfn: vma is neither VM_PFNMAP nor VM_MIXEDMAP");
                return VmFault::SIGBUS;
            }
            if pfnmap && mixed {
                k.bug("vmf_insert_pfn: vma is both VM_PFNMAP and VM_MIXEDMAP");
                return VmFault::SIGBUS;
            }
            if pfnmap && is_cow_mapping(vma.flags) {
                k.bug("vmf_insert_pfn: VM_PFNMAP on a COW mapping");
                return VmFault::SIGBUS;
            }
            if mixed && PhysMem::pfn_valid(pfn) {
                k.bug("vmf_insert_pfn: VM_MIXEDMAP with a pfn that has a struct page");
                return VmFault::SIGBUS;
            }
            if !vma.contains(addr) {
                return VmFault::SIGBUS;
            }
            k.insert_pfn(vi, addr, PfnT::new(pfn, PfnFlags::DEV), false)
        })
    }

    /// vm_mixed_ok: whether vmf_insert_mixed may map this pfn in this vma.
    pub fn vm_mixed_ok(&self, vma: &Vma, pfn: PfnT, mkwrite: bool) -> bool {
        if self.has(ChangePoint::UnifiedVmNormalPage) {
            return vma.flags.contains(VmFlags::MIXEDMAP) || is_zero_pfn(pfn.pfn);
        }
        if self.has(ChangePoint::HugePfnmap)
            && is_zero_pfn(pfn.pfn)
            && (mkwrite || !vm_mixed_zeropage_allowed(vma))
        {
            return false;
        }
        if vma.flags.contains(VmFlags::MIXEDMAP) {
            return true;
        }
        // pfn_t (and with it the devmap and special pfn flags) is gone from 6.17.
        let pfn_t_allows = !self.has(ChangePoint::RemoveDevmap) && (pfn.devmap() || pfn.special());
        pfn_t_allows || is_zero_pfn(pfn.pfn)
    }

    /// vmf_insert_mixed / vmf_insert_mixed_prot / vmf_insert_mixed_mkwrite. On x86 (with
    /// pte special) this always goes through insert_pfn: even a pfn with a struct page gets a
    /// special PTE and no reference.
    pub fn vmf_insert_mixed(&mut self, vi: usize, addr: u64, pfn: PfnT, mkwrite: bool) -> VmFault {
        let name = if mkwrite {
            "vmf_insert_mixed_mkwrite"
        } else if self.has(ChangePoint::RemoveInsertProt) {
            "vmf_insert_mixed"
        } else {
            "vmf_insert_mixed_prot"
        };
        self.call(name, |k| {
            let vma = k.vmas[vi].clone();
            if !k.vm_mixed_ok(&vma, pfn, mkwrite) {
                if k.has(ChangePoint::HugePfnmap) {
                    k.note(|| "vm_mixed_ok is false: SIGBUS".into());
                } else {
                    k.bug("vmf_insert_mixed: vm_mixed_ok is false");
                }
                return VmFault::SIGBUS;
            }
            if !vma.contains(addr) {
                return VmFault::SIGBUS;
            }
            k.insert_pfn(vi, addr, pfn, mkwrite)
        })
    }

    /// insert_pfn: install a special (or devmap) PTE; an existing entry is only upgraded for
    /// a write to the same pfn.
    pub fn insert_pfn(&mut self, vi: usize, addr: u64, pfn: PfnT, mkwrite: bool) -> VmFault {
        self.call("insert_pfn", |k| {
            let vma = k.vmas[vi].clone();
            if !k.pt.pte_alloc(addr) {
                return VmFault::OOM;
            }
            let old = k.pt.get(Level::Pte, addr);
            if !old.is_none() {
                if mkwrite {
                    if old.pfn() != pfn.pfn {
                        if !is_zero_pfn(old.pfn()) {
                            k.warn("insert_pfn: a different pfn is already mapped");
                        }
                    } else {
                        let entry = maybe_mkwrite(old.with(F::ACCESSED | F::DIRTY), &vma);
                        k.pt.set(Level::Pte, addr, entry);
                    }
                }
                k.note(|| format!("pte already present ({old}): left as is"));
                return VmFault::NOPAGE;
            }
            let mut entry = Entry::new(pfn.pfn, vm_page_prot(&vma));
            if !k.has(ChangePoint::RemoveDevmap) && pfn.devmap() {
                // pte_mkdevmap sets both the devmap and the special bit on x86.
                entry = entry.with(F::DEVMAP | F::SPECIAL);
            } else {
                entry = entry.with(F::SPECIAL);
            }
            if mkwrite {
                entry = maybe_mkwrite(entry.with(F::ACCESSED | F::DIRTY), &vma);
            }
            k.note(|| format!("pte {entry} at {addr:#x}"));
            k.pt.set(Level::Pte, addr, entry);
            VmFault::NOPAGE
        })
    }

    /// remap_pfn_range: map `pages` pfns from `pfn` at `addr` with special PTEs at mmap time,
    /// marking the vma VM_IO|VM_PFNMAP|VM_DONTEXPAND|VM_DONTDUMP.
    pub fn remap_pfn_range(
        &mut self,
        vi: usize,
        addr: u64,
        pfn: Pfn,
        pages: u64,
    ) -> Result<(), Errno> {
        self.call("remap_pfn_range", |k| {
            let vma = k.vmas[vi].clone();
            let end = addr + pages * PAGE_SIZE;
            if is_cow_mapping(vma.flags) {
                if addr != vma.start || end != vma.end {
                    k.note(|| "COW mapping must be remapped whole: -EINVAL".into());
                    return Err(Errno::EINVAL);
                }
                k.vmas[vi].pgoff = pfn.0;
            }
            k.vmas[vi].flags |=
                VmFlags::IO | VmFlags::PFNMAP | VmFlags::DONTEXPAND | VmFlags::DONTDUMP;
            let vma = k.vmas[vi].clone();
            for i in 0..pages {
                let at = addr + i * PAGE_SIZE;
                if !k.pt.pte_alloc(at) {
                    return Err(Errno::ENOMEM);
                }
                if !k.pt.get(Level::Pte, at).is_none() {
                    k.bug("remap_pfn_range: pte not empty");
                    return Err(Errno::EBUSY);
                }
                let entry = Entry::new(pfn.offset(i), vm_page_prot(&vma)).with(F::SPECIAL);
                k.pt.set(Level::Pte, at, entry);
            }
            k.note(|| format!("{pages} special ptes from pfn {pfn}"));
            Ok(())
        })
    }

    /// The THP gate of the fault path: whether ->huge_fault (or an anonymous THP) may be tried
    /// at PMD/PUD level for this vma.
    pub fn thp_fault_allowed(&mut self, vma: &Vma) -> bool {
        use crate::kernel::ThpMode;
        let sysfs_allows = match self.thp {
            ThpMode::Always => true,
            ThpMode::Madvise => vma.flags.contains(VmFlags::HUGEPAGE),
            ThpMode::Never => false,
        };
        if vma.flags.contains(VmFlags::NOHUGEPAGE) {
            return false;
        }
        if self.has(ChangePoint::HugePfnmap) {
            // thp_vma_allowable_orders (6.12): DAX always in the fault path; PFNMAP vmas with a
            // ->huge_fault bypass the tunables; other file vmas need them and ->huge_fault.
            let allowed = vma.is_dax()
                || (vma.flags.contains(VmFlags::PFNMAP) && vma.ops.huge_fault)
                || (!vma.is_anonymous() && sysfs_allows && vma.ops.huge_fault);
            self.note(|| format!("thp_vma_allowable_orders: {allowed}"));
            return allowed;
        }
        if self.has(ChangePoint::HugepageVmaCheck) {
            // hugepage_vma_check (6.0/6.1): DAX first, then no special vma at all, and no
            // non-anonymous vma outside DAX and file THP.
            let allowed = vma.is_dax();
            self.note(|| {
                if allowed {
                    "hugepage_vma_check: DAX vma: huge fault allowed".into()
                } else if vma.flags.intersects(VmFlags::SPECIAL) {
                    "hugepage_vma_check: VM_NO_KHUGEPAGED vma: no huge fault".into()
                } else {
                    "hugepage_vma_check: non-anonymous, non-DAX vma: no huge fault".into()
                }
            });
            return allowed;
        }
        // __transparent_hugepage_enabled (5.11): special vmas are not excluded.
        let allowed = sysfs_allows || vma.is_dax();
        self.note(|| format!("__transparent_hugepage_enabled: {allowed}"));
        allowed
    }

    /// handle_mm_fault / __handle_mm_fault: resolve a fault at `addr`, trying PUD, then PMD,
    /// then PTE level.
    pub fn handle_mm_fault(&mut self, vi: usize, addr: u64, flags: FaultFlags) -> VmFault {
        self.call("handle_mm_fault", |k| {
            let vma = k.vmas[vi].clone();
            let vmf = FaultInfo {
                address: addr & !(PAGE_SIZE - 1),
                flags,
                pgoff: vma.page_index(addr & !(PAGE_SIZE - 1)),
                vma: vi,
            };
            let write = vmf.write();
            let huge_ok = !vma.is_anonymous() && vma.ops.huge_fault && k.thp_fault_allowed(&vma);

            let pud = k.pt.get(Level::Pud, addr);
            if pud.is_none() && huge_ok {
                let ret = k.call("create_huge_pud", |k| D::huge_fault(k, &vmf, Level::Pud));
                if !ret.contains(VmFault::FALLBACK) {
                    return ret;
                }
            } else if pud.leaf() {
                if write && !pud.write() {
                    let ret = k.wp_huge(&vmf, Level::Pud);
                    if !ret.contains(VmFault::FALLBACK) {
                        return ret;
                    }
                } else {
                    k.huge_set_accessed(Level::Pud, addr, write);
                    return VmFault::empty();
                }
            }
            if !k.pt.pmd_alloc(addr) {
                return VmFault::empty();
            }
            let pmd = k.pt.get(Level::Pmd, addr);
            if pmd.is_none() && huge_ok {
                let ret = k.call("create_huge_pmd", |k| D::huge_fault(k, &vmf, Level::Pmd));
                if !ret.contains(VmFault::FALLBACK) {
                    return ret;
                }
            } else if pmd.leaf() {
                if write && !pmd.write() {
                    let ret = k.wp_huge(&vmf, Level::Pmd);
                    if !ret.contains(VmFault::FALLBACK) {
                        return ret;
                    }
                } else {
                    k.huge_set_accessed(Level::Pmd, addr, write);
                    return VmFault::empty();
                }
            }
            k.handle_pte_fault(&vmf)
        })
    }

    /// wp_huge_pmd / wp_huge_pud: a write to a read-only huge entry of a file vma goes to
    /// ->huge_fault (6.12: shared vmas only); on fallback the entry is split.
    fn wp_huge(&mut self, vmf: &FaultInfo, level: Level) -> VmFault {
        let name = if level == Level::Pmd {
            "wp_huge_pmd"
        } else {
            "wp_huge_pud"
        };
        self.call(name, |k| {
            let vma = k.vmas[vmf.vma].clone();
            let shared_only = k.has(ChangePoint::HugePfnmap);
            let call = vma.ops.huge_fault && (!shared_only || vma.flags.contains(VmFlags::SHARED));
            if call {
                let ret = D::huge_fault(k, vmf, level);
                if !ret.contains(VmFault::FALLBACK) {
                    return ret;
                }
            }
            k.split_huge(vmf.vma, level, vmf.address);
            VmFault::FALLBACK
        })
    }

    fn huge_set_accessed(&mut self, level: Level, addr: u64, write: bool) {
        let mut entry = self.pt.get(level, addr).with(F::ACCESSED);
        if write {
            entry = entry.with(F::DIRTY);
        }
        self.pt.set(level, addr, entry);
    }

    /// handle_pte_fault.
    fn handle_pte_fault(&mut self, vmf: &FaultInfo) -> VmFault {
        self.call("handle_pte_fault", |k| {
            let addr = vmf.address;
            if !k.pt.pte_alloc(addr) {
                k.note(|| "a huge entry appeared: retry".into());
                return VmFault::empty();
            }
            let pte = k.pt.get(Level::Pte, addr);
            let vma = k.vmas[vmf.vma].clone();
            if pte.is_none() {
                return if vma.is_anonymous() {
                    k.do_anonymous_page(vmf)
                } else {
                    k.do_fault(vmf)
                };
            }
            if vmf.write() && !pte.write() {
                return k.do_wp_page(vmf, pte);
            }
            let mut entry = pte.with(F::ACCESSED);
            if vmf.write() {
                entry = entry.with(F::DIRTY);
            }
            k.pt.set(Level::Pte, addr, entry);
            VmFault::empty()
        })
    }

    /// do_anonymous_page: the zero page for a read, a new zeroed page for a write.
    fn do_anonymous_page(&mut self, vmf: &FaultInfo) -> VmFault {
        self.call("do_anonymous_page", |k| {
            let vma = k.vmas[vmf.vma].clone();
            if !vmf.write() {
                let entry = Entry::new(ZERO_PFN, vm_page_prot(&vma) - F::RW).with(F::SPECIAL);
                k.note(|| "read fault: map the zero page".into());
                k.pt.set(Level::Pte, vmf.address, entry);
                return VmFault::empty();
            }
            let Some(pfn) = k.alloc_pages(0, false, Owner::Object(vma.object)) else {
                return VmFault::OOM;
            };
            k.mem.update(pfn, 1, |f| {
                f.content = 0;
                f.page.anon = true;
                f.page.has_mapping = true;
                f.page.mapcount = 1;
            });
            if let Some(obj) = k.object_mut(vma.object) {
                obj.add(vmf.pgoff, pfn, 1);
            }
            // Dirty only where it is writable: a FOLL_FORCE write into a read-only vma gets
            // a clean, read-only page here.
            let mut entry = Entry::new(pfn, vm_page_prot(&vma)).with(F::ACCESSED);
            if vma.flags.contains(VmFlags::WRITE) {
                entry = entry.with(F::DIRTY | F::RW);
            }
            k.pt.set(Level::Pte, vmf.address, entry);
            VmFault::empty()
        })
    }

    /// do_fault: read, COW or shared fault of a file vma through its ->fault.
    fn do_fault(&mut self, vmf: &FaultInfo) -> VmFault {
        self.call("do_fault", |k| {
            let vma = k.vmas[vmf.vma].clone();
            if !vma.ops.fault {
                k.note(|| "no ->fault: SIGBUS".into());
                return VmFault::SIGBUS;
            }
            // do_read_fault: a vma whose file has ->map_pages (shmem's filemap_map_pages)
            // first maps what the page cache already holds around the address.
            if !vmf.write() && vma.ops.map_pages {
                let ret = k.do_fault_around(vmf);
                if !ret.is_empty() {
                    return ret;
                }
            }
            let (ret, page) = k.call("__do_fault", |k| D::fault(k, vmf));
            if ret.intersects(VmFault::ERROR | VmFault::NOPAGE | VmFault::RETRY) {
                return ret;
            }
            let Some(page) = page else {
                return ret;
            };
            if vmf.write() && !vma.flags.contains(VmFlags::SHARED) {
                // do_cow_fault: the write goes to a private copy.
                let content = k.mem.content(page);
                let ret = k.map_anon_copy(vmf, content);
                k.put_page(page);
                return ret;
            }
            if vmf.write() && vma.ops.page_mkwrite {
                let r = D::page_mkwrite(k, vmf);
                if r.is_error() {
                    k.put_page(page);
                    return r;
                }
            }
            k.finish_fault(vmf, page)
        })
    }

    /// do_fault_around: the window of fault_around_bytes (64K, 16 pages) aligned around the
    /// address, cut to the vma and to the fault's page table, handed to ->map_pages.
    fn do_fault_around(&mut self, vmf: &FaultInfo) -> VmFault {
        self.call("do_fault_around", |k| {
            let vma = k.vmas[vmf.vma].clone();
            let window = FAULT_AROUND_PAGES * PAGE_SIZE;
            let address = (vmf.address & !(window - 1)).max(vma.start);
            let table_index = |a: u64| (a / PAGE_SIZE) % PTRS_PER_TABLE;
            let off = ((vmf.address - address) / PAGE_SIZE) % PTRS_PER_TABLE;
            let Some(start_pgoff) = vmf.pgoff.checked_sub(off) else {
                return VmFault::empty();
            };
            let table_end = start_pgoff.saturating_add(PTRS_PER_TABLE - 1 - table_index(address));
            let vma_end = vma
                .pgoff
                .saturating_add((vma.end - vma.start) / PAGE_SIZE)
                .saturating_sub(1);
            let end_pgoff = table_end
                .min(vma_end)
                .min(start_pgoff.saturating_add(FAULT_AROUND_PAGES - 1));
            k.filemap_map_pages(vmf, address, start_pgoff, end_pgoff)
        })
    }

    /// finish_fault / do_set_pte: map the page ->fault returned, keeping its reference.
    fn finish_fault(&mut self, vmf: &FaultInfo, page: Pfn) -> VmFault {
        self.call("finish_fault", |k| {
            let vma = k.vmas[vmf.vma].clone();
            if !k.pt.get(Level::Pte, vmf.address).is_none() {
                k.put_page(page);
                return VmFault::NOPAGE;
            }
            k.mem.update_page(page, |p| p.mapcount += 1);
            let mut entry = Entry::new(page, vm_page_prot(&vma));
            if vmf.write() {
                entry = maybe_mkwrite(entry.with(F::DIRTY), &vma);
            }
            k.note(|| format!("pte {entry}"));
            k.pt.set(Level::Pte, vmf.address, entry);
            VmFault::empty()
        })
    }

    /// Maps a new anonymous page holding `content` at the fault address (the end of
    /// wp_page_copy and do_cow_fault).
    fn map_anon_copy(&mut self, vmf: &FaultInfo, content: u8) -> VmFault {
        let vma = self.vmas[vmf.vma].clone();
        let owner = if vma.is_anonymous() {
            Owner::Object(vma.object)
        } else {
            Owner::Anon
        };
        let Some(new) = self.alloc_pages(0, false, owner) else {
            return VmFault::OOM;
        };
        self.mem.update(new, 1, |f| {
            f.content = content;
            f.page.anon = true;
            f.page.has_mapping = true;
            f.page.mapcount = 1;
        });
        if vma.is_anonymous() {
            if let Some(obj) = self.object_mut(vma.object) {
                obj.remove(vmf.pgoff);
                obj.add(vmf.pgoff, new, 1);
            }
        }
        let entry = maybe_mkwrite(
            Entry::new(new, vm_page_prot(&vma)).with(F::DIRTY | F::ACCESSED),
            &vma,
        );
        self.note(|| format!("private copy: pte {entry}"));
        self.pt.set(Level::Pte, vmf.address, entry);
        VmFault::empty()
    }

    /// do_wp_page: a write to a present, read-only PTE.
    fn do_wp_page(&mut self, vmf: &FaultInfo, pte: Entry) -> VmFault {
        self.call("do_wp_page", |k| {
            let vma = k.vmas[vmf.vma].clone();
            let shared_writable = vma.flags.contains(VmFlags::WRITE | VmFlags::SHARED);
            let page = k.vm_normal_page(&vma, pte);
            match page {
                None if shared_writable => k.wp_pfn_shared(vmf, pte),
                None => k.wp_page_copy(vmf, pte, None),
                Some(p) if shared_writable => {
                    if vma.ops.page_mkwrite {
                        let r = D::page_mkwrite(k, vmf);
                        if r.is_error() {
                            return r;
                        }
                    }
                    let _ = p;
                    k.make_pte_writable(vmf, pte)
                }
                Some(p) => {
                    if k.wp_can_reuse_anon_page(p) {
                        // wp_page_reuse reports VM_FAULT_WRITE (what 5.11's GUP turns into
                        // FOLL_COW for a forced write to a read-only vma).
                        k.make_pte_writable(vmf, pte) | VmFault::WRITE
                    } else {
                        k.wp_page_copy(vmf, pte, Some(p))
                    }
                }
            }
        })
    }

    /// Whether a write fault reuses the anonymous page `pfn` instead of copying it: from
    /// PG_anon_exclusive, when it is exclusive (every anonymous page the model maps: there
    /// is no fork, KSM or swap); before, only when nothing else holds a reference (5.9's
    /// "mm: do_wp_page() simplification"), so a pinned page is copied away.
    fn wp_can_reuse_anon_page(&mut self, pfn: Pfn) -> bool {
        let page = self.mem.page(pfn);
        if !page.anon {
            return false;
        }
        if self.has(ChangePoint::AnonExclusive) {
            self.note(|| "PageAnonExclusive: reuse".into());
            return true;
        }
        let reuse = page.refcount == 1;
        if reuse {
            self.note(|| "anonymous page with page_count 1: reuse".into());
        } else {
            let count = page.refcount;
            self.note(|| format!("anonymous page with page_count {count}: copy"));
        }
        reuse
    }

    /// wp_pfn_shared: a write to a special PTE in a shared mapping; ->pfn_mkwrite decides.
    fn wp_pfn_shared(&mut self, vmf: &FaultInfo, pte: Entry) -> VmFault {
        self.call("wp_pfn_shared", |k| {
            let vma = k.vmas[vmf.vma].clone();
            if vma.ops.pfn_mkwrite {
                let mut mk = *vmf;
                mk.flags |= FaultFlags::MKWRITE;
                let ret = D::pfn_mkwrite(k, &mk);
                if ret.intersects(VmFault::ERROR | VmFault::NOPAGE) {
                    return ret;
                }
            }
            k.make_pte_writable(vmf, pte)
        })
    }

    fn make_pte_writable(&mut self, vmf: &FaultInfo, pte: Entry) -> VmFault {
        let vma = self.vmas[vmf.vma].clone();
        let entry = maybe_mkwrite(pte.with(F::ACCESSED | F::DIRTY), &vma);
        self.pt.set(Level::Pte, vmf.address, entry);
        VmFault::empty()
    }

    /// wp_page_copy: break COW into a new anonymous page.
    fn wp_page_copy(&mut self, vmf: &FaultInfo, pte: Entry, old: Option<Pfn>) -> VmFault {
        self.call("wp_page_copy", |k| {
            let content = if is_zero_pfn(pte.pfn()) {
                0
            } else {
                k.mem.content(pte.pfn())
            };
            let ret = k.map_anon_copy(vmf, content);
            if let Some(old) = old {
                k.mapcount_sub(old, 1);
                k.put_page(old);
            }
            if ret.is_error() {
                ret
            } else {
                ret | VmFault::WRITE
            }
        })
    }

    /// zap_pte_range for `start..end` of vma `vi`: clear each PTE; a normal page loses its
    /// mapcount and the mapping's reference (freed if that was the last).
    pub fn zap_pte_range(&mut self, vi: usize, start: u64, end: u64) {
        self.call("zap_pte_range", |k| {
            let vma = k.vmas[vi].clone();
            for (addr, pte) in k.pt.ptes(start, end) {
                let page = k.vm_normal_page(&vma, pte);
                k.pt.set(Level::Pte, addr, Entry::NONE);
                let Some(pfn) = page else {
                    continue;
                };
                k.mapcount_sub(pfn, 1);
                if vma.is_anonymous() {
                    if let Some(obj) = k.object_mut(vma.object) {
                        obj.remove(vma.page_index(addr));
                    }
                }
                k.tlb_remove_page(pfn);
            }
        })
    }

    /// tlb_remove_page: the page's mapping reference is dropped only after the TLB flush.
    pub fn tlb_remove_page(&mut self, pfn: Pfn) {
        self.tlb_gather.push(pfn);
    }

    /// tlb_flush_mmu_tlbonly: the TLB shootdown. Its IPIs cannot complete while a gup-fast
    /// walker has interrupts disabled, so callers only flush when no walker is in flight.
    pub fn tlb_flush_mmu(&mut self) {
        self.call("tlb_flush_mmu", |k| {
            let walkers = k.irqs_off_walkers;
            if walkers > 0 {
                k.note(|| format!("{walkers} gup-fast walker(s) with IRQs off: flush does not wait (injected bug)"));
            }
        })
    }

    /// Whether a TLB flush can complete now: it waits for walkers with interrupts disabled.
    pub fn tlb_flush_can_complete(&self) -> bool {
        self.irqs_off_walkers == 0 || self.cfg.injected.skip_tlb_flush_wait
    }

    /// tlb_batch_pages_flush and tlb_table_flush: after the flush, release the gathered
    /// pages and page tables.
    pub fn tlb_free_gathered(&mut self) {
        self.tlb_tables.clear();
        let pages = std::mem::take(&mut self.tlb_gather);
        if pages.is_empty() {
            return;
        }
        self.call("tlb_batch_pages_flush", |k| {
            for pfn in pages {
                k.put_page(pfn);
            }
        })
    }

    /// tlb_finish_mmu: flush, then release the gathered pages.
    pub fn tlb_finish_mmu(&mut self) {
        self.tlb_flush_mmu();
        self.tlb_free_gathered();
    }

    /// unmap_page_range / zap_page_range over `start..end` of vma `vi`: huge entries first
    /// (partial ones are split, which clears them for file vmas), then PTEs.
    pub fn unmap_page_range(&mut self, vi: usize, start: u64, end: u64) {
        self.call("unmap_page_range", |k| {
            for level in [Level::Pud, Level::Pmd] {
                for (addr, _) in k.pt.leaves(level, start, end) {
                    if addr >= start && addr + level.size() <= end {
                        k.zap_huge(vi, level, addr);
                    } else {
                        k.split_huge(vi, level, addr);
                    }
                }
            }
            k.zap_pte_range(vi, start, end);
        })
    }

    /// unmap_mapping_range: zap `pages` pages from file page `first` in every vma of the
    /// address space (even_cows: private COW copies go too), then flush and free.
    pub fn unmap_mapping_range(&mut self, mapping: MappingId, first: u64, pages: u64) {
        self.unmap_mapping_range_zap(mapping, first, pages);
        self.tlb_finish_mmu();
    }

    /// The clearing part of unmap_mapping_range: entries cleared, pages gathered for the flush.
    pub fn unmap_mapping_range_zap(&mut self, mapping: MappingId, first: u64, pages: u64) {
        self.call("unmap_mapping_range", |k| {
            let last = first + pages;
            for vi in 0..k.vmas.len() {
                let vma = k.vmas[vi].clone();
                if vma.mapping != Some(mapping) {
                    continue;
                }
                let vstart = vma.pgoff.max(first);
                let vend = (vma.pgoff + vma.pages()).min(last);
                if vstart >= vend {
                    continue;
                }
                let start = vma.start + (vstart - vma.pgoff) * PAGE_SIZE;
                let end = vma.start + (vend - vma.pgoff) * PAGE_SIZE;
                k.note(|| format!("zap {start:#x}..{end:#x}"));
                k.unmap_page_range(vi, start, end);
            }
        })
    }

    /// vm_normal_page_pmd: the struct page behind a huge PMD (the zap and madvise paths use it;
    /// GUP's huge paths do not).
    pub fn vm_normal_page_pmd(&mut self, vma: &Vma, addr: u64, pmd: Entry) -> Option<Pfn> {
        self.call("vm_normal_page_pmd", |k| {
            let pfn = pmd.pfn();
            let special_bit =
                k.has(ChangePoint::HugePfnmap) || k.has(ChangePoint::UnifiedVmNormalPage);
            if special_bit && pmd.special() {
                k.note(|| "special pmd: no page".into());
                return None;
            }
            if vma.flags.intersects(VmFlags::PFNMAP | VmFlags::MIXEDMAP) {
                if vma.flags.contains(VmFlags::MIXEDMAP) {
                    if !PhysMem::pfn_valid(pfn) {
                        return None;
                    }
                    k.note(|| "MIXEDMAP and pfn_valid: page returned even if devmap".into());
                    return Some(pfn);
                }
                let off = (addr - vma.start) / PAGE_SIZE;
                if pfn.0 == vma.pgoff + off || !is_cow_mapping(vma.flags) {
                    return None;
                }
            }
            if !k.has(ChangePoint::RemoveDevmap) && pmd.devmap() {
                return None;
            }
            if pfn > PhysMem::highest_memmap_pfn() {
                return None;
            }
            Some(pfn)
        })
    }
}

/// vm_mixed_zeropage_allowed (6.12): the shared zero page may only go into mappings where it
/// can never be written through.
pub fn vm_mixed_zeropage_allowed(vma: &Vma) -> bool {
    is_cow_mapping(vma.flags)
        || !vma.flags.intersects(VmFlags::WRITE | VmFlags::MAYWRITE)
        || (vma.ops.pfn_mkwrite && (vma.is_dax() || vma.flags.contains(VmFlags::IO)))
}
