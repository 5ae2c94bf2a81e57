//! Physical memory: page frames, their struct pages, and the buddy allocator's visible
//! behaviour (mm/page_alloc.c, the refcount side of mm/swap.c).
//!
//! Physical address space (pfns), fixed so that traces are stable:
//! - `0x100..0x1000`: the kernel image; the shared zero page lives here.
//! - `0x1000..0x201000`: RAM (8 GiB), handed out by [`Kernel::alloc_pages`].
//! - `0x400000..0x500000`: ZONE_DEVICE memory with a memmap; usable through a dev_pagemap.
//! - `0x4000000..0x4100000`: a PCI BAR (VRAM): no struct page.
//!
//! The allocator hands out the lowest free, naturally aligned block; the real buddy allocator
//! prefers recently freed pages, so reuse happens there at least as readily as here.

use crate::arch::x86::pgtable::Level;
use crate::events::Event;
use crate::include::linux::mm_types::{ObjId, Pfn};
use crate::kernel::{Devices, Kernel};
use crate::runs::Runs;
use crate::shared::{PartTable, Shared};
use crate::version::ChangePoint;
use serde::Serialize;
use std::hash::{Hash, Hasher};

pub const KERNEL_START: Pfn = Pfn(0x100);
pub const ZERO_PFN: Pfn = Pfn(0x800);
pub const RAM_START: Pfn = Pfn(0x1000);
pub const RAM_PAGES: u64 = 0x200000;
pub const DEVMEM_START: Pfn = Pfn(0x400000);
pub const DEVMEM_PAGES: u64 = 0x100000;
pub const IOMEM_START: Pfn = Pfn(0x4000000);
pub const IOMEM_PAGES: u64 = 0x100000;

/// GUP_PIN_COUNTING_BIAS.
pub const GUP_PIN_COUNTING_BIAS: i32 = 1 << 10;

/// What kind of struct page a frame has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum PageKind {
    /// In the allocator's free lists.
    Free,
    /// PageReserved (the kernel image, the zero page).
    Reserved,
    /// An allocated page that is not part of a compound page (including the pages of a
    /// non-compound high-order block, as the TTM pool allocates).
    Normal,
    /// Head of a compound page of this order.
    Head(u8),
    /// Tail page of the compound page whose head is at this pfn.
    Tail(Pfn),
    /// A ZONE_DEVICE page.
    ZoneDevice,
}

/// struct page: the fields GUP and the zap paths touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct StructPage {
    pub refcount: i32,
    /// Number of page-table mappings (the kernel stores this minus one).
    pub mapcount: i32,
    /// compound_pincount / folio _pincount (head pages only).
    pub pincount: i32,
    pub kind: PageKind,
    /// PageAnon.
    pub anon: bool,
    /// page->mapping is set (page-cache or anon pages; driver pages have none).
    pub has_mapping: bool,
}

impl StructPage {
    const FREE: StructPage = StructPage {
        refcount: 0,
        mapcount: 0,
        pincount: 0,
        kind: PageKind::Free,
        anon: false,
        has_mapping: false,
    };
}

/// Who a frame belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Owner {
    /// In the page allocator.
    Free,
    /// The kernel (image, zero page).
    Kernel,
    /// Backs a memory object.
    Object(ObjId),
    /// Sits in a driver pool's free list, waiting to be reused.
    Pool,
    /// Device memory not assigned to any object.
    Device,
    /// Given up by its owner (__free_pages) while references remained: whoever drops the
    /// last one frees it.
    Orphan,
    /// A process's anonymous page not tracked as part of an object (a COW copy).
    Anon,
}

/// One page frame: its content value, its owner and its struct page (meaningful only where a
/// memmap exists).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Frame {
    pub content: u8,
    pub owner: Owner,
    pub page: StructPage,
}

/// Every field, packed into two words plus the owner's and the kind's payload when they have
/// one (an injective encoding): states are fingerprinted through this, and hashing field by
/// field was a tenth of the search's instructions.
impl Hash for Frame {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Destructured, so that a new field cannot be left out.
        let Frame {
            content,
            owner,
            page,
        } = self;
        let StructPage {
            refcount,
            mapcount,
            pincount,
            kind,
            anon,
            has_mapping,
        } = page;
        let (owner, object) = match *owner {
            Owner::Free => (0u64, None),
            Owner::Kernel => (1, None),
            Owner::Object(id) => (2, Some(u64::from(id.0))),
            Owner::Pool => (3, None),
            Owner::Device => (4, None),
            Owner::Orphan => (5, None),
            Owner::Anon => (6, None),
        };
        let (kind, payload) = match *kind {
            PageKind::Free => (0u64, None),
            PageKind::Reserved => (1, None),
            PageKind::Normal => (2, None),
            PageKind::Head(order) => (3, Some(u64::from(order))),
            PageKind::Tail(head) => (4, Some(head.0)),
            PageKind::ZoneDevice => (5, None),
        };
        let counts = u64::from(*refcount as u32) | u64::from(*mapcount as u32) << 32;
        let rest = u64::from(*pincount as u32)
            | u64::from(*content) << 32
            | owner << 40
            | kind << 44
            | u64::from(*anon) << 48
            | u64::from(*has_mapping) << 49;
        state.write_u64(counts);
        state.write_u64(rest);
        for word in [object, payload].into_iter().flatten() {
            state.write_u64(word);
        }
    }
}

/// Which part of the physical address space a pfn is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    Kernel,
    Ram,
    DeviceMemory,
    IoMemory,
}

/// All page frames.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhysMem {
    kernel: Shared<Runs<Frame>>,
    ram: Shared<Runs<Frame>>,
    devmem: Shared<Runs<Frame>>,
    iomem: Shared<Runs<Frame>>,
}

impl PhysMem {
    /// Shares each memory range's frames with equal ones in `table`.
    pub fn share_in(&mut self, table: &PartTable<Runs<Frame>>) {
        for runs in [
            &mut self.kernel,
            &mut self.ram,
            &mut self.devmem,
            &mut self.iomem,
        ] {
            runs.share_in(table);
        }
    }

    /// Memory as it is after boot: RAM free, the zero page reserved.
    pub fn boot() -> Self {
        let reserved = Frame {
            content: 0,
            owner: Owner::Kernel,
            page: StructPage {
                refcount: 1,
                kind: PageKind::Reserved,
                ..StructPage::FREE
            },
        };
        let free = Frame {
            content: 0,
            owner: Owner::Free,
            page: StructPage::FREE,
        };
        let device = Frame {
            content: 0,
            owner: Owner::Device,
            page: StructPage {
                refcount: 1,
                kind: PageKind::ZoneDevice,
                ..StructPage::FREE
            },
        };
        let iomem = Frame {
            content: 0,
            owner: Owner::Device,
            page: StructPage::FREE,
        };
        PhysMem {
            kernel: Shared::new(Runs::new(RAM_START.0 - KERNEL_START.0, reserved)),
            ram: Shared::new(Runs::new(RAM_PAGES, free)),
            devmem: Shared::new(Runs::new(DEVMEM_PAGES, device)),
            iomem: Shared::new(Runs::new(IOMEM_PAGES, iomem)),
        }
    }

    pub fn region(pfn: Pfn) -> Option<Region> {
        let p = pfn.0;
        if (KERNEL_START.0..RAM_START.0).contains(&p) {
            Some(Region::Kernel)
        } else if (RAM_START.0..RAM_START.0 + RAM_PAGES).contains(&p) {
            Some(Region::Ram)
        } else if (DEVMEM_START.0..DEVMEM_START.0 + DEVMEM_PAGES).contains(&p) {
            Some(Region::DeviceMemory)
        } else if (IOMEM_START.0..IOMEM_START.0 + IOMEM_PAGES).contains(&p) {
            Some(Region::IoMemory)
        } else {
            None
        }
    }

    fn runs(&self, pfn: Pfn) -> Option<(&Runs<Frame>, u64)> {
        Some(match PhysMem::region(pfn)? {
            Region::Kernel => (&self.kernel, pfn.0 - KERNEL_START.0),
            Region::Ram => (&self.ram, pfn.0 - RAM_START.0),
            Region::DeviceMemory => (&self.devmem, pfn.0 - DEVMEM_START.0),
            Region::IoMemory => (&self.iomem, pfn.0 - IOMEM_START.0),
        })
    }

    fn runs_mut(&mut self, pfn: Pfn) -> Option<(&mut Runs<Frame>, u64)> {
        Some(match PhysMem::region(pfn)? {
            Region::Kernel => (&mut self.kernel, pfn.0 - KERNEL_START.0),
            Region::Ram => (&mut self.ram, pfn.0 - RAM_START.0),
            Region::DeviceMemory => (&mut self.devmem, pfn.0 - DEVMEM_START.0),
            Region::IoMemory => (&mut self.iomem, pfn.0 - IOMEM_START.0),
        })
    }

    /// pfn_valid: a memmap (struct pages) covers this pfn.
    pub fn pfn_valid(pfn: Pfn) -> bool {
        matches!(
            PhysMem::region(pfn),
            Some(Region::Kernel | Region::Ram | Region::DeviceMemory)
        )
    }

    /// highest_memmap_pfn: the last pfn the boot memmap initialisation covered. ZONE_DEVICE
    /// memmaps are set up later by memremap_pages, which does not raise it.
    pub fn highest_memmap_pfn() -> Pfn {
        Pfn(RAM_START.0 + RAM_PAGES - 1)
    }

    /// The frame at `pfn`; frames outside every region read as empty device memory.
    pub fn frame(&self, pfn: Pfn) -> Frame {
        match self.runs(pfn) {
            Some((runs, off)) => *runs.get(off),
            None => Frame {
                content: 0,
                owner: Owner::Device,
                page: StructPage::FREE,
            },
        }
    }

    pub fn page(&self, pfn: Pfn) -> StructPage {
        self.frame(pfn).page
    }

    pub fn content(&self, pfn: Pfn) -> u8 {
        self.frame(pfn).content
    }

    /// Applies `f` to the frames `pfn..pfn+count` (one region at a time).
    pub fn update(&mut self, pfn: Pfn, count: u64, mut f: impl FnMut(&mut Frame)) {
        let mut at = pfn;
        let end = pfn.0 + count;
        while at.0 < end {
            let Some((runs, off)) = self.runs_mut(at) else {
                return;
            };
            let n = (end - at.0).min(runs.len() - off);
            runs.update(off, n, &mut f);
            at = at.offset(n);
        }
    }

    pub fn update_page(&mut self, pfn: Pfn, mut f: impl FnMut(&mut StructPage)) {
        self.update(pfn, 1, |frame| f(&mut frame.page));
    }

    /// The frames `pfn..pfn+count` as runs of equal frames: (first pfn, count, frame).
    pub fn frames(&self, pfn: Pfn, count: u64) -> Vec<(Pfn, u64, Frame)> {
        self.frame_runs(pfn, count).collect()
    }

    /// [`PhysMem::frames`] without collecting them (for checks that stop at the first match).
    pub fn frame_runs(&self, pfn: Pfn, count: u64) -> impl Iterator<Item = (Pfn, u64, Frame)> + '_ {
        let end = pfn.0.saturating_add(count);
        // The part of `at..end` inside one region's runs: (runs, offset, length, base).
        let segment = move |at: Pfn| {
            if at.0 >= end {
                return None;
            }
            let (runs, off) = self.runs(at)?;
            let n = (end - at.0).min(runs.len() - off);
            (n > 0).then_some((runs, off, n, at.0 - off))
        };
        std::iter::successors(segment(pfn), move |&(_, off, n, base)| {
            segment(Pfn(base + off + n))
        })
        .flat_map(|(runs, off, n, base)| {
            runs.ranges(off, n)
                .map(move |(s, c, frame)| (Pfn(base + s), c, *frame))
        })
    }

    /// Copies the contents of `count` frames from `src` to `dst` (a memcpy by a driver).
    pub fn copy_contents(&mut self, src: Pfn, dst: Pfn, count: u64) {
        for (pfn, n, frame) in self.frames(src, count) {
            let at = dst.offset(pfn.0 - src.0);
            self.update(at, n, |f| f.content = frame.content);
        }
    }

    /// Lowest free RAM block of 2^order pages, naturally aligned.
    fn find_free_block(&self, order: u8) -> Option<Pfn> {
        let pages = 1u64 << order;
        self.ram
            .find_block(pages, pages, |f| f.owner == Owner::Free)
            .map(|off| Pfn(RAM_START.0 + off))
    }

    /// Number of frame runs (a measure of how much state the memory holds).
    pub fn run_count(&self) -> usize {
        self.kernel.run_count()
            + self.ram.run_count()
            + self.devmem.run_count()
            + self.iomem.run_count()
    }
}

impl<D: Devices> Kernel<D> {
    /// alloc_pages(gfp, order), with or without __GFP_COMP, handing the block to `owner`.
    /// A non-compound block has a reference only on its first page.
    pub fn alloc_pages(&mut self, order: u8, compound: bool, owner: Owner) -> Option<Pfn> {
        self.call("alloc_pages", |k| {
            let Some(pfn) = k.mem.find_free_block(order) else {
                k.note(|| format!("no free block of order {order}"));
                return None;
            };
            let pages = 1u64 << order;
            k.note(|| {
                format!(
                    "order-{order} {} block at pfn {pfn}",
                    if compound { "compound" } else { "non-compound" }
                )
            });
            let compound = compound && order > 0;
            // The first page holds the caller's reference (and heads a compound block); the
            // others are its tails, or plain pages of a non-compound block.
            let head = StructPage {
                refcount: 1,
                kind: if compound {
                    PageKind::Head(order)
                } else {
                    PageKind::Normal
                },
                ..StructPage::FREE
            };
            let rest = StructPage {
                kind: if compound {
                    PageKind::Tail(pfn)
                } else {
                    PageKind::Normal
                },
                ..StructPage::FREE
            };
            k.mem.update(pfn, 1, |f| {
                f.owner = owner;
                f.page = head;
            });
            k.mem.update(pfn.offset(1), pages - 1, |f| {
                f.owner = owner;
                f.page = rest;
            });
            k.check_new_owner(pfn, pages);
            Some(pfn)
        })
    }

    /// A page still held by a GUP caller is being given to a new owner.
    pub fn check_new_owner(&mut self, pfn: Pfn, pages: u64) {
        if let Some(holder) = self.held_in(pfn, pages) {
            self.raise(Event::PageReuse, || {
                format!("pfn {pfn}..+{pages} handed to a new owner while {holder} holds it")
            });
        }
    }

    /// compound_head.
    pub fn compound_head(&self, pfn: Pfn) -> Pfn {
        match self.mem.page(pfn).kind {
            PageKind::Tail(head) => head,
            _ => pfn,
        }
    }

    /// compound_order of a head page.
    pub fn compound_order(&self, pfn: Pfn) -> u8 {
        match self.mem.page(pfn).kind {
            PageKind::Head(order) => order,
            _ => 0,
        }
    }

    /// Adds `refs` to the page's refcount (page_ref_add), reporting a count that goes negative.
    pub fn page_ref_add(&mut self, pfn: Pfn, refs: i32) {
        let mut after = 0;
        self.mem.update_page(pfn, |p| {
            p.refcount += refs;
            after = p.refcount;
        });
        if after < 0 {
            self.raise(Event::RefcountError, || {
                format!("pfn {pfn} refcount went to {after}")
            });
        }
    }

    /// Drops `n` from a page's mapcount (page_remove_rmap), reporting a release that matches
    /// no acquire.
    pub fn mapcount_sub(&mut self, pfn: Pfn, n: i32) {
        let mut after = 0;
        self.mem.update_page(pfn, |p| {
            p.mapcount -= n;
            after = p.mapcount;
        });
        if after < 0 {
            self.raise(Event::RefcountError, || {
                format!("pfn {pfn}: mapcount went to {after}")
            });
        }
    }

    /// Drops `n` from a head page's pin count, reporting a release that matches no acquire.
    pub fn pincount_sub(&mut self, pfn: Pfn, n: i32) {
        let mut after = 0;
        self.mem.update_page(pfn, |p| {
            p.pincount -= n;
            after = p.pincount;
        });
        if after < 0 {
            self.raise(Event::RefcountError, || {
                format!("pfn {pfn}: pincount went to {after}")
            });
        }
    }

    /// get_page.
    pub fn get_page(&mut self, pfn: Pfn) {
        let head = self.compound_head(pfn);
        self.page_ref_add(head, 1);
    }

    /// put_page: drop a reference on the (head) page, freeing it when the count reaches zero.
    pub fn put_page(&mut self, pfn: Pfn) {
        self.call("put_page", |k| {
            let head = k.compound_head(pfn);
            k.put_page_refs(head, 1);
        })
    }

    /// Drops `refs` references on a head page (page_ref_sub_and_test + __put_page).
    pub fn put_page_refs(&mut self, head: Pfn, refs: i32) {
        let before = self.mem.page(head).refcount;
        self.page_ref_add(head, -refs);
        let page = self.mem.page(head);
        if before > 0 && page.refcount == 0 {
            match page.kind {
                PageKind::Head(order) => self.free_the_page(head, order),
                PageKind::Normal => self.free_the_page(head, 0),
                PageKind::ZoneDevice => self.free_zone_device_page(head),
                // The zero page is never freed.
                _ => {}
            }
        }
    }

    /// free_zone_device_page: a ZONE_DEVICE page's last reference went. The page goes back
    /// to its driver through the dev_pagemap's ->page_free, which the model's maps (like the
    /// oracle driver's MEMORY_DEVICE_GENERIC one) do not have: the kernel warns and leaves
    /// the page at refcount zero. Before ZoneDeviceFreePage nothing but the pgmap reference
    /// was dropped.
    fn free_zone_device_page(&mut self, pfn: Pfn) {
        if !self.has(ChangePoint::ZoneDeviceFreePage) {
            self.note(|| format!("ZONE_DEVICE pfn {pfn} at refcount 0: put_dev_pagemap only"));
            return;
        }
        self.call("free_zone_device_page", |k| {
            k.warn(&format!(
                "ZONE_DEVICE pfn {pfn} freed: its dev_pagemap has no ->page_free"
            ));
        });
    }

    /// __free_pages: drop the caller's reference on the first page; if others remain on a
    /// non-compound block, the rest of the block is freed anyway (the "free the rest" rule).
    pub fn __free_pages(&mut self, pfn: Pfn, order: u8) {
        self.call("__free_pages", |k| {
            let page = k.mem.page(pfn);
            k.page_ref_add(pfn, -1);
            if page.refcount == 1 {
                k.free_the_page(pfn, order);
            } else {
                k.mem.update(pfn, 1, |f| f.owner = Owner::Orphan);
            }
            if page.refcount != 1 && order == 0 {
                k.note(|| {
                    format!(
                        "pfn {pfn} still has {} references: it stays, given up by its owner",
                        page.refcount - 1
                    )
                });
            }
            if page.refcount != 1 && order > 0 && !matches!(page.kind, PageKind::Head(_)) {
                k.note(|| {
                    format!(
                        "pfn {pfn} still has {} references: freeing pages 1..{} of the block",
                        page.refcount - 1,
                        (1u64 << order) - 1
                    )
                });
                let mut o = order;
                while o > 0 {
                    o -= 1;
                    k.free_the_page(pfn.offset(1 << o), o);
                }
            }
        })
    }

    /// A present page-table leaf that maps a frame of `pfn..pfn+pages`: its level and address.
    pub fn leaf_mapping(&self, pfn: Pfn, pages: u64) -> Option<(Level, u64)> {
        let end = pfn.0 + pages;
        [Level::Pte, Level::Pmd, Level::Pud]
            .into_iter()
            .find_map(|level| {
                self.pt
                    .find_leaf(level, |e| {
                        e.present() && e.pfn().0 < end && pfn.0 < e.pfn().0 + level.pages()
                    })
                    .map(|(addr, _)| (level, addr))
            })
    }

    /// free_the_page: the block goes back to the allocator. Anything still using it — a GUP
    /// reference or a mapping — is a use-after-free.
    pub fn free_the_page(&mut self, pfn: Pfn, order: u8) {
        let pages = 1u64 << order;
        self.note(|| format!("pfn {pfn}..+{pages} back to the page allocator"));
        if let Some(holder) = self.held_in(pfn, pages) {
            self.raise(Event::UseAfterFree, || {
                format!("pfn {pfn}..+{pages} freed while {holder} still holds it")
            });
        }
        let mapped = self
            .mem
            .frame_runs(pfn, pages)
            .any(|(_, _, f)| f.page.mapcount > 0);
        if mapped {
            self.raise(Event::UseAfterFree, || {
                format!("pfn {pfn}..+{pages} freed while still mapped")
            });
        } else if let Some((level, addr)) = self.leaf_mapping(pfn, pages) {
            // A special entry (remap_pfn_range, vmf_insert_pfn of RAM) keeps no mapcount or
            // reference, but user space still reaches the frame through it.
            self.raise(Event::UseAfterFree, || {
                format!(
                    "pfn {pfn}..+{pages} freed while the {} at {addr:#x} still maps it",
                    level.name()
                )
            });
        }
        self.mem.update(pfn, pages, |f| {
            f.owner = Owner::Free;
            f.page = StructPage {
                refcount: f.page.refcount.min(0),
                ..StructPage::FREE
            };
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::NoDevices;
    use crate::version::{KernelConfig, Release};

    fn kernel() -> Kernel<NoDevices> {
        Kernel::new(KernelConfig::mainline(Release::new(5, 11)))
    }

    #[test]
    fn frames_differing_in_any_field_hash_differently() {
        use std::hash::BuildHasher;
        let base = Frame {
            content: 1,
            owner: Owner::Object(ObjId(3)),
            page: StructPage {
                refcount: 2,
                mapcount: 1,
                pincount: 0,
                kind: PageKind::Head(9),
                anon: false,
                has_mapping: false,
            },
        };
        let mut frames = vec![base];
        let mut vary = |f: &dyn Fn(&mut Frame)| {
            let mut v = base;
            f(&mut v);
            frames.push(v);
        };
        vary(&|f| f.content = 2);
        vary(&|f| f.owner = Owner::Object(ObjId(4)));
        vary(&|f| f.owner = Owner::Pool);
        vary(&|f| f.page.refcount = -1);
        vary(&|f| f.page.mapcount = 2);
        vary(&|f| f.page.pincount = 1);
        vary(&|f| f.page.kind = PageKind::Head(0));
        vary(&|f| f.page.kind = PageKind::Tail(Pfn(9)));
        vary(&|f| f.page.anon = true);
        vary(&|f| f.page.has_mapping = true);
        let hasher = std::collections::hash_map::RandomState::new();
        let mut hashes: Vec<u64> = frames.iter().map(|f| hasher.hash_one(f)).collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), frames.len());
        assert_eq!(hasher.hash_one(base), hasher.hash_one(frames[0]));
    }

    #[test]
    fn non_compound_block_has_one_reference() {
        let mut k = kernel();
        let pfn = k.alloc_pages(9, false, Owner::Pool).unwrap();
        assert_eq!(pfn.0 % 512, 0);
        assert_eq!(k.mem.page(pfn).refcount, 1);
        assert_eq!(k.mem.page(pfn.offset(1)).refcount, 0);
        assert_eq!(k.compound_head(pfn.offset(5)), pfn.offset(5));
    }

    #[test]
    fn compound_block_tails_point_at_head() {
        let mut k = kernel();
        let pfn = k.alloc_pages(9, true, Owner::Pool).unwrap();
        assert_eq!(k.compound_head(pfn.offset(300)), pfn);
        assert_eq!(k.compound_order(pfn), 9);
    }

    #[test]
    fn free_pages_with_extra_reference_frees_the_rest() {
        let mut k = kernel();
        let pfn = k.alloc_pages(9, false, Owner::Pool).unwrap();
        k.get_page(pfn);
        k.__free_pages(pfn, 9);
        assert_eq!(k.mem.frame(pfn).owner, Owner::Orphan);
        assert_eq!(k.mem.frame(pfn.offset(1)).owner, Owner::Free);
        assert_eq!(k.mem.frame(pfn.offset(511)).owner, Owner::Free);
        // The next allocation reuses the freed tail pages.
        let again = k.alloc_pages(0, false, Owner::Pool).unwrap();
        assert_eq!(again, pfn.offset(1));
    }

    #[test]
    fn last_put_frees_the_block() {
        let mut k = kernel();
        let pfn = k.alloc_pages(0, false, Owner::Pool).unwrap();
        k.put_page(pfn);
        assert_eq!(k.mem.frame(pfn).owner, Owner::Free);
        k.put_page(pfn);
        assert!(k.events.contains(crate::events::EventSet::REFCOUNT_ERROR));
    }

    #[test]
    fn regions_have_memmaps_where_expected() {
        assert!(PhysMem::pfn_valid(ZERO_PFN));
        assert!(PhysMem::pfn_valid(DEVMEM_START));
        assert!(!PhysMem::pfn_valid(IOMEM_START));
        assert!(DEVMEM_START > PhysMem::highest_memmap_pfn());
    }
}
