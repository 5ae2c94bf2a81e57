//! The generic test driver: a character device whose mmap can be set up the way any driver
//! could (the litmus `driver` object; the oracle's test module implements the same modes).

use crate::drivers::gpu::drm::ttm::ttm_bo::Placement;
use crate::Model;
use mmlab_mm::arch::x86::pgtable::{Level, PAGE_SIZE};
use mmlab_mm::include::errno::Errno;
use mmlab_mm::include::linux::mm_types::{
    FaultInfo, MappingId, ObjId, Pfn, VmFault, VmFlags, VmOps,
};
use mmlab_mm::include::pfn_t::{PfnFlags, PfnT};
use mmlab_mm::mm::object::{Backing, Extent};
use mmlab_mm::mm::page_alloc::{Owner, PageKind, PhysMem, Region, DEVMEM_START};

/// How the driver populates its mappings.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Insert {
    /// ->fault calls vmf_insert_pfn.
    Pfn,
    /// ->fault calls vmf_insert_mixed with the pfn_t flags.
    Mixed,
    /// vm_insert_page of every page at mmap time; ->fault re-inserts after an eviction.
    Page,
    /// ->fault returns a referenced page for the core to map.
    FaultPage,
    /// remap_pfn_range at mmap time; ->fault uses vmf_insert_pfn after an eviction.
    Remap,
    /// ->huge_fault calls vmf_insert_pfn_pmd.
    Pmd,
    /// ->huge_fault calls vmf_insert_pfn_pud.
    Pud,
}

/// What backs the device's memory.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Memory {
    /// alloc_pages: struct pages.
    Ram,
    /// A BAR: no struct page.
    Iomem,
    /// ZONE_DEVICE pages with a registered dev_pagemap.
    Devmem,
}

/// A generic device object.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct GenericDevice {
    pub pages: u64,
    pub insert: Insert,
    /// vma flags set at mmap; None: what the insert method needs.
    pub vm: Option<VmFlags>,
    pub pfn: PfnFlags,
    pub memory: Memory,
    pub dax: bool,
    pub mapping: MappingId,
}

impl GenericDevice {
    fn huge_order(&self) -> u8 {
        match self.insert {
            Insert::Pmd | Insert::Pud => 9,
            _ => 0,
        }
    }

    /// Where device memory for the object starts: on a boundary of its huge size (a PUD
    /// driver's 1G), else of 2M, as a driver that maps it with huge entries must place it
    /// (the oracle's module takes 1G blocks from its pools).
    fn device_alignment(&self) -> u64 {
        match self.insert {
            Insert::Pud => Level::Pud.pages(),
            _ => Level::Pmd.pages(),
        }
    }

    /// Allocates the device memory; huge-inserting drivers use order-9 compound pages.
    pub fn create(k: &mut Model, dev: GenericDevice) -> Option<ObjId> {
        k.call("generic_driver_probe", |k| {
            let obj = k.new_object(Backing::new(dev.pages));
            let dev = GenericDevice {
                mapping: MappingId(obj.0),
                ..dev
            };
            if !dev.populate(k, obj, dev.memory) {
                return None;
            }
            k.devices
                .objects
                .push((obj, crate::DeviceObject::Generic(dev)));
            Some(obj)
        })
    }

    fn populate(&self, k: &mut Model, obj: ObjId, memory: Memory) -> bool {
        match memory {
            Memory::Ram => {
                let order = self.huge_order();
                let block = 1u64 << order;
                let mut index = 0;
                while index < self.pages {
                    let (order, n) = if self.pages - index >= block {
                        (order, block)
                    } else {
                        (0, 1)
                    };
                    let Some(pfn) = k.alloc_pages(order, order > 0, Owner::Object(obj)) else {
                        return false;
                    };
                    if let Some(b) = k.object_mut(obj) {
                        b.add(index, pfn, n);
                    }
                    index += n;
                }
            }
            Memory::Iomem => {
                let pfn = k.devices.alloc_vram(self.pages, self.device_alignment());
                k.mem
                    .update(pfn, self.pages, |f| f.owner = Owner::Object(obj));
                if let Some(b) = k.object_mut(obj) {
                    b.add(0, pfn, self.pages);
                }
            }
            Memory::Devmem => {
                let align = self.device_alignment();
                let end = k
                    .pgmaps
                    .iter()
                    .map(|m| m.start.0 + m.pages)
                    .max()
                    .unwrap_or(DEVMEM_START.0);
                let pfn = Pfn(end.div_ceil(align) * align);
                k.memremap_pages(pfn, self.pages);
                k.mem
                    .update(pfn, self.pages, |f| f.owner = Owner::Object(obj));
                if let Some(b) = k.object_mut(obj) {
                    b.add(0, pfn, self.pages);
                }
            }
        }
        true
    }

    /// The vma flags the driver sets: the explicit `vm=` set, else what its insert method
    /// needs.
    fn vm_flags(&self) -> VmFlags {
        self.vm.unwrap_or(match self.insert {
            Insert::Pfn | Insert::Pmd | Insert::Pud => VmFlags::PFNMAP,
            Insert::Mixed => VmFlags::MIXEDMAP,
            Insert::Page | Insert::FaultPage | Insert::Remap => VmFlags::empty(),
        })
    }

    /// The driver's ->mmap.
    pub fn mmap(&self, k: &mut Model, obj: ObjId, vi: usize) -> Result<(), Errno> {
        k.call("generic_driver_mmap", |k| {
            k.vmas[vi].flags |= self.vm_flags();
            k.vmas[vi].dax = self.dax;
            // Every mode has a ->fault, as the oracle's module does (mmlab_vm_ops.fault for
            // every insert mode): what vm_insert_page / remap_pfn_range mapped at mmap time is
            // gone after an eviction's unmap_mapping_range, and the next access faults it
            // back in from the object's new memory.
            k.vmas[vi].ops = VmOps {
                fault: true,
                map_pages: false,
                huge_fault: matches!(self.insert, Insert::Pmd | Insert::Pud),
                pfn_mkwrite: false,
                page_mkwrite: false,
            };
            let vma = k.vmas[vi].clone();
            if !matches!(self.insert, Insert::Page | Insert::Remap) {
                return Ok(());
            }
            // As the oracle's module (mmlab_mmap) does: page by page, and only the pages of
            // the vma that lie inside the object (a longer vma faults beyond); a page
            // without a struct page ends vm_insert_page's loop without an error.
            for i in 0..vma.pages() {
                let Some(pfn) = k.object_pfn(obj, vma.pgoff + i) else {
                    break;
                };
                let addr = vma.start + i * PAGE_SIZE;
                if self.insert == Insert::Remap {
                    k.remap_pfn_range(vi, addr, pfn, 1)?;
                } else if PhysMem::pfn_valid(pfn) {
                    k.vm_insert_page(vi, addr, pfn)?;
                } else {
                    break;
                }
            }
            Ok(())
        })
    }

    /// The driver's ->fault.
    pub fn fault(&self, k: &mut Model, obj: ObjId, vmf: &FaultInfo) -> (VmFault, Option<Pfn>) {
        k.call("generic_driver_fault", |k| {
            let Some(pfn) = k.object_pfn(obj, vmf.pgoff) else {
                return (VmFault::SIGBUS, None);
            };
            let vma = k.vmas[vmf.vma].clone();
            match self.insert {
                Insert::FaultPage => {
                    k.get_page(pfn);
                    (VmFault::empty(), Some(pfn))
                }
                Insert::Page => {
                    // mmlab_insert_pte: vm_insert_page; -ENOMEM → OOM, -EBUSY (the pte is
                    // already there) → NOPAGE, any other error → SIGBUS.
                    let ret = match k.vm_insert_page(vmf.vma, vmf.address, pfn) {
                        Ok(()) | Err(Errno::EBUSY) => VmFault::NOPAGE,
                        Err(Errno::ENOMEM) => VmFault::OOM,
                        Err(_) => VmFault::SIGBUS,
                    };
                    (ret, None)
                }
                Insert::Mixed => (
                    k.vmf_insert_mixed(vmf.vma, vmf.address, PfnT::new(pfn, self.pfn), false),
                    None,
                ),
                Insert::Pmd | Insert::Pud if vma.flags.contains(VmFlags::MIXEDMAP) => (
                    k.vmf_insert_mixed(vmf.vma, vmf.address, PfnT::new(pfn, self.pfn), false),
                    None,
                ),
                _ => (k.vmf_insert_pfn(vmf.vma, vmf.address, pfn), None),
            }
        })
    }

    /// The driver's ->huge_fault: a huge entry when the level is the driver's, the part of
    /// the object is in range, aligned and contiguous.
    pub fn huge_fault(&self, k: &mut Model, obj: ObjId, vmf: &FaultInfo, level: Level) -> VmFault {
        k.call("generic_driver_huge_fault", |k| {
            let wanted = if self.insert == Insert::Pud {
                Level::Pud
            } else {
                Level::Pmd
            };
            if level != wanted {
                return VmFault::FALLBACK;
            }
            // As the oracle's module (mmlab_insert_pmd): the huge entry must lie inside the
            // vma, and the object page at its start must be size-aligned; the core's fault
            // path leaves these checks to ->huge_fault.
            let size = level.pages();
            let vma = k.vmas[vmf.vma].clone();
            let haddr = vmf.address & level.mask();
            if haddr < vma.start || haddr + level.size() > vma.end {
                k.note(|| "huge entry would leave the vma: fallback".into());
                return VmFault::FALLBACK;
            }
            let first = vma.pgoff + (haddr - vma.start) / PAGE_SIZE;
            if !first.is_multiple_of(size) || first + size > self.pages {
                return VmFault::FALLBACK;
            }
            let Some(pfn) = k.object_pfn(obj, first) else {
                return VmFault::FALLBACK;
            };
            let contiguous = k.object(obj).is_some_and(|b| {
                b.extents
                    .iter()
                    .any(|e: &Extent| e.index <= first && first + size <= e.index + e.count)
            });
            if pfn.0 % size != 0 || !contiguous {
                k.note(|| "not aligned or not contiguous: fallback".into());
                return VmFault::FALLBACK;
            }
            k.vmf_insert_pfn_huge(vmf, level, PfnT::new(pfn, self.pfn), vmf.write())
        })
    }

    /// Where a move takes the object: `to=system` is RAM, `to=vram` device memory without
    /// struct pages, no `to` memory of the kind it has now. `None` when the driver refuses the
    /// move (as the oracle's module does, before touching anything): the object was destroyed
    /// (-EINVAL), or its mode needs struct pages and the target has none (-EOPNOTSUPP).
    fn move_target(&self, k: &Model, obj: ObjId, to: Option<Placement>) -> Option<Memory> {
        if k.object_gone(obj) {
            return None;
        }
        let memory = match to {
            Some(Placement::System) => Memory::Ram,
            Some(Placement::Vram) => Memory::Iomem,
            None => k.object_pfn(obj, 0).map_or(self.memory, memory_of),
        };
        let needs_pages = matches!(self.insert, Insert::Page | Insert::FaultPage);
        (!(needs_pages && memory == Memory::Iomem)).then_some(memory)
    }

    /// The first part of a move: lock the object against faults and clear its mappings.
    pub fn evict_begin(&self, k: &mut Model, obj: ObjId, to: Option<Placement>) {
        k.call("generic_driver_evict", |k| {
            if self.move_target(k, obj, to).is_none() {
                k.note(|| "the driver refuses the move: nothing changes".into());
                return;
            }
            k.resv_locked.push(obj);
            k.unmap_mapping_range_zap(self.mapping, 0, self.pages);
        })
    }

    /// The rest of the move after the TLB flush: copy to the new memory, free the old, unlock.
    pub fn evict_finish(&self, k: &mut Model, obj: ObjId, to: Option<Placement>) {
        k.call("generic_driver_evict", |k| {
            k.tlb_free_gathered();
            let target = self.move_target(k, obj, to);
            if let Some(memory) = target {
                if let Some(extents) = k.object_mut(obj).map(|b| b.clear()) {
                    if self.populate(k, obj, memory) {
                        crate::drivers::gpu::drm::ttm::ttm_bo::copy_extents(k, obj, &extents);
                        self.free(k, &extents);
                    }
                }
            }
            k.resv_locked.retain(|o| *o != obj);
        })
    }

    /// The object is released: unmap and free its memory (once: the driver refuses to
    /// destroy it again).
    pub fn destroy(&self, k: &mut Model, obj: ObjId) {
        k.call("generic_driver_release", |k| {
            if k.object_gone(obj) {
                return;
            }
            k.unmap_mapping_range(self.mapping, 0, self.pages);
            let extents = match k.object_mut(obj) {
                Some(b) => {
                    b.destroyed = true;
                    b.clear()
                }
                None => return,
            };
            self.free(k, &extents);
        })
    }

    /// Frees the old backing, each extent as the kind of memory it is.
    fn free(&self, k: &mut Model, extents: &[Extent]) {
        for e in extents {
            match memory_of(e.pfn) {
                Memory::Ram => {
                    // Block by block as allocated: an extent can merge the compound order-9
                    // blocks with the order-0 pages after them, so the order is read from
                    // each block's first page rather than from the extent's length.
                    let mut at = 0;
                    while at < e.count {
                        let pfn = e.pfn.offset(at);
                        let order = match k.mem.page(pfn).kind {
                            PageKind::Head(order) => order,
                            _ => 0,
                        };
                        k.__free_pages(pfn, order);
                        at += 1u64 << order;
                    }
                }
                Memory::Iomem | Memory::Devmem => {
                    k.mem.update(e.pfn, e.count, |f| f.owner = Owner::Device);
                }
            }
        }
    }
}

/// The kind of memory a frame is.
fn memory_of(pfn: Pfn) -> Memory {
    match PhysMem::region(pfn) {
        Some(Region::IoMemory) => Memory::Iomem,
        Some(Region::DeviceMemory) => Memory::Devmem,
        _ => Memory::Ram,
    }
}
