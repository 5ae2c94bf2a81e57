//! drivers/gpu/drm/ttm/ttm_pool.c: system pages for buffer objects. Blocks are allocated
//! without __GFP_COMP (non-compound), as large as the remaining size allows. Cached pages go
//! straight back to the page allocator; write-combined and uncached ones are cleared and kept
//! in the pool's lists for the next allocation.

use crate::{Drivers, Model};
use mmlab_mm::include::linux::mm_types::{ObjId, Pfn};
use mmlab_mm::mm::object::Extent;
use mmlab_mm::mm::page_alloc::Owner;

/// The largest order the pool allocates (MAX_ORDER - 1 on x86-64).
const MAX_POOL_ORDER: u8 = 10;

/// ttm_pool_alloc: backs `pages` pages of object `obj`, preferring the pool's kept blocks
/// when `pooled` caching is used. Returns false when memory ran out.
pub fn ttm_pool_alloc(k: &mut Model, obj: ObjId, pages: u64, pooled: bool) -> bool {
    k.call("ttm_pool_alloc", |k| {
        let mut index = 0;
        while index < pages {
            let remaining = pages - index;
            let order = (63 - remaining.leading_zeros() as u8).min(MAX_POOL_ORDER);
            let reused = if pooled {
                take_pooled(&mut k.devices, order)
            } else {
                None
            };
            let pfn = match reused {
                Some(pfn) => {
                    k.note(|| format!("reuse pooled order-{order} block at pfn {pfn}"));
                    k.mem
                        .update(pfn, 1u64 << order, |f| f.owner = Owner::Object(obj));
                    k.check_new_owner(pfn, 1u64 << order);
                    pfn
                }
                None => match k.alloc_pages(order, false, Owner::Object(obj)) {
                    Some(pfn) => pfn,
                    None => return false,
                },
            };
            if let Some(b) = k.object_mut(obj) {
                b.add(index, pfn, 1u64 << order);
            }
            index += 1u64 << order;
        }
        true
    })
}

fn take_pooled(d: &mut Drivers, order: u8) -> Option<Pfn> {
    let i = d.ttm_pool.iter().position(|(_, o)| *o == order)?;
    Some(d.ttm_pool.remove(i).0)
}

/// ttm_pool_free: gives the blocks of `extents` back: to the page allocator with
/// __free_pages, or, for pooled caching, cleared into the pool's lists.
pub fn ttm_pool_free(k: &mut Model, extents: &[Extent], pooled: bool) {
    k.call("ttm_pool_free", |k| {
        for e in extents {
            let mut at = 0;
            while at < e.count {
                let order = (63 - (e.count - at).leading_zeros() as u8).min(MAX_POOL_ORDER);
                let pfn = e.pfn.offset(at);
                if pooled {
                    k.note(|| format!("clear and keep order-{order} block at pfn {pfn}"));
                    k.mem.update(pfn, 1u64 << order, |f| {
                        f.content = 0;
                        f.owner = Owner::Pool;
                    });
                    k.devices.ttm_pool.push((pfn, order));
                } else {
                    k.__free_pages(pfn, order);
                }
                at += 1u64 << order;
            }
        }
    })
}
