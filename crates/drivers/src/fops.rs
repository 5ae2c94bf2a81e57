//! mmap(2), eviction and destruction of any object: dispatch to the driver that owns it, or
//! to the core mm for anonymous memory and memfds.

use crate::drivers::gpu::drm::ttm::ttm_bo::{
    ttm_bo_destroy, ttm_bo_move_begin, ttm_bo_move_finish, Placement,
};
use crate::{DeviceObject, Model};
use mmlab_mm::include::errno::Errno;
use mmlab_mm::include::linux::mm_types::{MappingId, ObjId, VmOps, VmaBacking};
use mmlab_mm::mm::mmap::{MmapRequest, Prot};

/// What an mmap call asks for.
#[derive(Clone, Copy, Debug)]
pub struct MmapArgs {
    pub addr: Option<u64>,
    pub pages: u64,
    pub pgoff: u64,
    pub shared: bool,
    pub prot: Prot,
}

/// The object an mmap really maps (a dma-buf maps its exporter).
fn target(k: &Model, obj: ObjId) -> ObjId {
    match k.devices.get(obj) {
        Some(DeviceObject::DmaBuf(d)) => d.exporter,
        _ => obj,
    }
}

/// Largest huge size the object could use, for the address alignment mmap picks.
fn alignment(k: &Model, obj: ObjId) -> u64 {
    use mmlab_mm::arch::x86::pgtable::{PMD_SIZE, PUD_SIZE};
    let pages = k.object(obj).map(|b| b.pages).unwrap_or(0) * 4096;
    if pages >= PUD_SIZE {
        PUD_SIZE
    } else if pages >= PMD_SIZE {
        PMD_SIZE
    } else {
        4096
    }
}

/// mmap(2) of an object. Returns the vma index.
pub fn mmap(k: &mut Model, obj: ObjId, args: MmapArgs) -> Result<usize, Errno> {
    let real = target(k, obj);
    let backing = match k.devices.get(real) {
        Some(_) => VmaBacking::Device,
        None if k.object(real).is_some_and(|b| b.shmem) => VmaBacking::Shmem,
        None => VmaBacking::Anon,
    };
    let addr = args
        .addr
        .unwrap_or_else(|| k.get_unmapped_area(args.pages, alignment(k, real)));
    let mapping = match backing {
        VmaBacking::Anon => None,
        _ => Some(MappingId(real.0)),
    };
    let ops = VmOps {
        // shmem_vm_ops: shmem_fault, and filemap_map_pages for fault-around.
        fault: backing == VmaBacking::Shmem,
        map_pages: backing == VmaBacking::Shmem,
        ..VmOps::default()
    };
    let request = MmapRequest {
        addr,
        pages: args.pages,
        pgoff: args.pgoff,
        shared: args.shared,
        prot: args.prot,
        backing,
        mapping,
        object: real,
        ops,
    };
    k.mmap_region(request, |k, vi| match k.devices.get(obj).cloned() {
        Some(DeviceObject::DmaBuf(d)) => d.dma_buf_mmap(k, vi, |k, vi| driver_mmap(k, real, vi)),
        _ => driver_mmap(k, real, vi),
    })
}

fn driver_mmap(k: &mut Model, obj: ObjId, vi: usize) -> Result<(), Errno> {
    match k.devices.get(obj).cloned() {
        Some(DeviceObject::Ttm(bo)) => bo.ttm_bo_mmap(k, vi),
        Some(DeviceObject::Generic(dev)) => dev.mmap(k, obj, vi),
        _ => Ok(()),
    }
}

/// The driver moves the object (a TTM eviction or a generic driver's move), atomically.
pub fn evict(k: &mut Model, obj: ObjId, to: Option<Placement>) {
    evict_begin(k, obj, to);
    k.tlb_flush_mmu();
    evict_finish(k, obj, to);
}

/// The steps of an eviction where other threads can run in between: the zap (under the
/// object's reservation lock), the TLB flush (which waits for IRQ-disabled walkers), and the
/// release and copy.
pub fn evict_begin(k: &mut Model, obj: ObjId, to: Option<Placement>) {
    let real = target(k, obj);
    match k.devices.get(real).cloned() {
        Some(DeviceObject::Ttm(_)) => ttm_bo_move_begin(k, real),
        Some(DeviceObject::Generic(dev)) => dev.evict_begin(k, real, to),
        _ => {}
    }
}

/// See [`evict_begin`].
pub fn evict_finish(k: &mut Model, obj: ObjId, to: Option<Placement>) {
    let real = target(k, obj);
    match k.devices.get(real).cloned() {
        Some(DeviceObject::Ttm(_)) => ttm_bo_move_finish(k, real, to),
        Some(DeviceObject::Generic(dev)) => dev.evict_finish(k, real, to),
        _ => {}
    }
}

/// The object whose reservation lock a fault at this vma's object needs.
pub fn fault_lock_target(k: &Model, obj: ObjId) -> ObjId {
    target(k, obj)
}

/// The object is freed.
pub fn destroy(k: &mut Model, obj: ObjId) {
    let real = target(k, obj);
    match k.devices.get(real).cloned() {
        Some(DeviceObject::Ttm(_)) => ttm_bo_destroy(k, real),
        Some(DeviceObject::Generic(dev)) => dev.destroy(k, real),
        _ => {}
    }
}
