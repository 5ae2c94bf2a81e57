//! drivers/gpu/drm/ttm/ttm_bo.c: buffer objects, their placement, and moves between system
//! memory and VRAM.

use super::ttm_pool::{ttm_pool_alloc, ttm_pool_free};
use crate::{DeviceObject, Model};
use mmlab_mm::include::linux::mm_types::{MappingId, ObjId};
use mmlab_mm::include::pfn_t::PfnFlags;
use mmlab_mm::mm::object::{Backing, Extent};
use mmlab_mm::mm::page_alloc::Owner;
use mmlab_mm::Level;

/// Where a buffer object's backing lives.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Placement {
    System,
    Vram,
}

/// Page caching of system pages.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Caching {
    Cached,
    WriteCombined,
    Uncached,
}

/// A TTM buffer object.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct TtmBo {
    pub pages: u64,
    pub place: Placement,
    pub caching: Caching,
    /// The huge entry size a vmwgfx-style ->huge_fault inserts, if any.
    pub huge: Option<Level>,
    /// The pfn_t flags of the huge insert (PFN_DEV as TTM did; PFN_DEV|PFN_MAP proposed).
    pub huge_pfn: PfnFlags,
    /// The DRM device's address space (drm_vma_node): what eviction unmaps.
    pub mapping: MappingId,
}

impl TtmBo {
    fn pooled(&self) -> bool {
        self.caching != Caching::Cached
    }
}

/// Creates a buffer object and populates its backing. Returns None without memory.
pub fn ttm_bo_create(k: &mut Model, bo: TtmBo) -> Option<ObjId> {
    k.call("ttm_bo_init", |k| {
        let obj = k.new_object(Backing::new(bo.pages));
        let bo = TtmBo {
            mapping: MappingId(obj.0),
            ..bo
        };
        if !populate(k, obj, &bo, bo.place) {
            return None;
        }
        k.devices.objects.push((obj, DeviceObject::Ttm(bo)));
        Some(obj)
    })
}

fn populate(k: &mut Model, obj: ObjId, bo: &TtmBo, place: Placement) -> bool {
    match place {
        Placement::System => ttm_pool_alloc(k, obj, bo.pages, bo.pooled()),
        Placement::Vram => {
            // vmwgfx's VRAM range manager (vmw_thp_get_node) places a BO of at least 1G on a
            // 1G boundary, else one of at least 2M on a 2M boundary, so that huge entries can
            // map it. (Its fallback to any free range never runs: the model's VRAM does not
            // fill up.)
            let align = [Level::Pud, Level::Pmd]
                .into_iter()
                .map(Level::pages)
                .find(|&size| bo.pages >= size)
                .unwrap_or(1);
            let pfn = k.devices.alloc_vram(bo.pages, align);
            k.mem
                .update(pfn, bo.pages, |f| f.owner = Owner::Object(obj));
            if let Some(b) = k.object_mut(obj) {
                b.add(0, pfn, bo.pages);
            }
            k.note(|| format!("VRAM at pfn {pfn}"));
            true
        }
    }
}

fn release_backing(k: &mut Model, bo: &TtmBo, extents: &[Extent]) {
    match bo.place {
        Placement::System => ttm_pool_free(k, extents, bo.pooled()),
        Placement::Vram => {
            for e in extents {
                k.mem.update(e.pfn, e.count, |f| f.owner = Owner::Device);
            }
        }
    }
}

/// ttm_bo_unmap_virtual: drm_vma_node_unmap → unmap_mapping_range over the whole object.
pub fn ttm_bo_unmap_virtual(k: &mut Model, bo: &TtmBo) {
    k.call("ttm_bo_unmap_virtual", |k| {
        k.unmap_mapping_range(bo.mapping, 0, bo.pages);
    })
}

/// The first part of a move (ttm_bo_handle_move_mem): take the reservation lock, which the
/// fault handler also takes, and clear every CPU mapping of the object. The TLB flush and the
/// release of the zapped pages follow.
pub fn ttm_bo_move_begin(k: &mut Model, obj: ObjId) {
    k.call("ttm_bo_handle_move_mem", |k| {
        let Some(DeviceObject::Ttm(bo)) = k.devices.get(obj).cloned() else {
            return;
        };
        if released(k, obj) {
            return;
        }
        k.note(|| "dma_resv_lock".into());
        k.resv_locked.push(obj);
        k.call("ttm_bo_unmap_virtual", |k| {
            k.unmap_mapping_range_zap(bo.mapping, 0, bo.pages)
        });
    })
}

/// A released BO is not moved: nothing refers to it any more (the oracle's module refuses
/// the move with -EINVAL).
fn released(k: &mut Model, obj: ObjId) -> bool {
    let gone = k.object_gone(obj);
    if gone {
        k.note(|| "the BO was released: nothing to move".into());
    }
    gone
}

/// The rest of the move after the TLB flush: release the zapped pages, copy into new
/// backing at `to` (default: the other placement), release the old backing, unlock.
pub fn ttm_bo_move_finish(k: &mut Model, obj: ObjId, to: Option<Placement>) {
    k.call("ttm_bo_handle_move_mem", |k| {
        k.tlb_free_gathered();
        let Some(DeviceObject::Ttm(bo)) = k.devices.get(obj).cloned() else {
            return;
        };
        if released(k, obj) {
            // Released while this move waited for the flush: only the lock is left to drop.
            k.resv_locked.retain(|o| *o != obj);
            return;
        }
        let to = to.unwrap_or(match bo.place {
            Placement::System => Placement::Vram,
            Placement::Vram => Placement::System,
        });
        let old_extents = match k.object_mut(obj) {
            Some(b) => b.clear(),
            None => return,
        };
        if populate(k, obj, &bo, to) {
            k.call("ttm_bo_move_memcpy", |k| copy_extents(k, obj, &old_extents));
            release_backing(k, &bo, &old_extents);
            if let Some(DeviceObject::Ttm(b)) = k.devices.get_mut(obj) {
                b.place = to;
            }
        }
        k.resv_locked.retain(|o| *o != obj);
        k.note(|| "dma_resv_unlock".into());
    })
}

/// ttm_bo_put → release: unmap, free the backing.
pub fn ttm_bo_destroy(k: &mut Model, obj: ObjId) {
    k.call("ttm_bo_release", |k| {
        let Some(DeviceObject::Ttm(bo)) = k.devices.get(obj).cloned() else {
            return;
        };
        if k.object_gone(obj) {
            return;
        }
        ttm_bo_unmap_virtual(k, &bo);
        let extents = match k.object_mut(obj) {
            Some(b) => {
                b.destroyed = true;
                b.clear()
            }
            None => return,
        };
        release_backing(k, &bo, &extents);
    })
}

/// Copies the contents of the old backing into the object's new backing, page index by page
/// index.
pub fn copy_extents(k: &mut Model, obj: ObjId, old: &[Extent]) {
    for e in old {
        let pieces = k
            .object(obj)
            .map(|b| b.pieces(e.index, e.count))
            .unwrap_or_default();
        for (index, dst, count) in pieces {
            k.mem
                .copy_contents(e.pfn.offset(index - e.index), dst, count);
        }
    }
}
