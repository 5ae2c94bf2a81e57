//! mm/gup.c, fast path: the lockless page-table walk of get_user_pages_fast and
//! pin_user_pages_fast (gup_pgd_range down to gup_pte_range / gup_huge_pmd / gup_huge_pud, and
//! the devmap device path), then the slow path for whatever it could not take.

use super::{FollFlags, GupResult, PageList};
use crate::arch::x86::pgtable::{Entry, Level, PAGE_SIZE};
use crate::events::Event;
use crate::include::errno::Errno;
use crate::include::linux::mm_types::Pfn;
use crate::kernel::{Devices, Kernel};
use crate::mm::page_alloc::{PageKind, PhysMem};
use crate::version::ChangePoint;

/// Why the lockless walk stopped early.
type Stop = ();

impl<D: Devices> Kernel<D> {
    /// internal_get_user_pages_fast (5.11, 6.1) / gup_fast_fallback (6.12+).
    pub fn internal_get_user_pages_fast(
        &mut self,
        start: u64,
        nr_pages: u64,
        flags: FollFlags,
    ) -> GupResult {
        let name = if self.has(ChangePoint::HugePfnmap) {
            "gup_fast_fallback"
        } else {
            "internal_get_user_pages_fast"
        };
        self.call(name, |k| {
            let allowed = FollFlags::WRITE
                | FollFlags::LONGTERM
                | FollFlags::FORCE
                | FollFlags::PIN
                | FollFlags::GET
                | FollFlags::FAST_ONLY;
            if !(flags - allowed).is_empty() {
                k.warn("gup-fast: unsupported FOLL flags");
                return GupResult::err(Errno::EINVAL);
            }
            if flags.contains(FollFlags::PIN) {
                k.has_pinned = true;
            }
            let start = start & !(PAGE_SIZE - 1);
            let mut pages = PageList::default();
            k.call("lockless_pages_from_mm", |k| {
                k.note(|| "local_irq_save: walk without the mmap lock".into());
                k.gup_pgd_range(start, start + nr_pages * PAGE_SIZE, flags, &mut pages);
            });
            let nr_pinned = pages.len();
            k.note(|| format!("gup-fast took {nr_pinned} of {nr_pages} pages"));
            if nr_pinned == nr_pages || flags.contains(FollFlags::FAST_ONLY) {
                return GupResult {
                    ret: nr_pinned as i64,
                    pages,
                    hang: false,
                };
            }
            let slow_flags = flags - FollFlags::FAST_ONLY;
            let rest = k.call("__gup_longterm_unlocked", |k| {
                k.gup_slow(
                    start + nr_pinned * PAGE_SIZE,
                    nr_pages - nr_pinned,
                    slow_flags,
                )
            });
            pages.slots.extend(rest.pages.slots);
            let ret = if rest.ret < 0 {
                if nr_pinned > 0 {
                    nr_pinned as i64
                } else {
                    rest.ret
                }
            } else {
                rest.ret + nr_pinned as i64
            };
            GupResult {
                ret,
                pages,
                hang: rest.hang,
            }
        })
    }

    /// gup_pgd_range → gup_pud_range → gup_pmd_range: walk `start..end`, dispatching huge
    /// leaves and PTE tables; any refusal ends the whole walk, keeping what was taken.
    fn gup_pgd_range(&mut self, start: u64, end: u64, flags: FollFlags, pages: &mut PageList) {
        let mut addr = start;
        while addr < end {
            let pud = self.pt.get(Level::Pud, addr);
            let pud_end = ((addr & Level::Pud.mask()) + Level::Pud.size()).min(end);
            if pud.is_none() {
                self.note(|| format!("pud none at {addr:#x}: stop"));
                return;
            }
            let huge_pud = if self.has(ChangePoint::HugePfnmap) {
                pud.leaf()
            } else {
                pud.leaf() || (!self.has(ChangePoint::RemoveDevmap) && pud.devmap())
            };
            let walked = if huge_pud {
                self.gup_huge(Level::Pud, pud, addr, pud_end, flags, pages)
            } else {
                self.gup_pmd_range(addr, pud_end, flags, pages)
            };
            if walked.is_err() {
                return;
            }
            addr = pud_end;
        }
    }

    fn gup_pmd_range(
        &mut self,
        start: u64,
        end: u64,
        flags: FollFlags,
        pages: &mut PageList,
    ) -> Result<(), Stop> {
        let mut addr = start;
        while addr < end {
            let pmd = self.pt.get(Level::Pmd, addr);
            let pmd_end = ((addr & Level::Pmd.mask()) + Level::Pmd.size()).min(end);
            if !pmd.present() {
                self.note(|| format!("pmd none at {addr:#x}: stop"));
                return Err(());
            }
            if pmd.leaf() {
                self.gup_huge(Level::Pmd, pmd, addr, pmd_end, flags, pages)?;
            } else {
                self.gup_pte_range(addr, pmd_end, flags, pages)?;
            }
            addr = pmd_end;
        }
        Ok(())
    }

    /// gup_pte_range (gup_fast_pte_range).
    fn gup_pte_range(
        &mut self,
        start: u64,
        end: u64,
        flags: FollFlags,
        pages: &mut PageList,
    ) -> Result<(), Stop> {
        self.call("gup_pte_range", |k| {
            let nr_start = pages.len();
            let mut addr = start;
            while addr < end {
                let pte = k.pt.get(Level::Pte, addr);
                if !pte.present() {
                    k.note(|| format!("pte none at {addr:#x}: stop"));
                    return Err(());
                }
                if flags.contains(FollFlags::WRITE) && !pte.write() {
                    k.note(|| "pte not writable: stop".into());
                    return Err(());
                }
                if !k.has(ChangePoint::RemoveDevmap) && pte.devmap() {
                    if flags.contains(FollFlags::LONGTERM) {
                        k.note(|| "devmap pte and FOLL_LONGTERM: stop".into());
                        return Err(());
                    }
                    if k.get_dev_pagemap(pte.pfn()).is_none() {
                        k.undo_dev_pagemap(pages, nr_start, flags);
                        return Err(());
                    }
                } else if pte.special() {
                    k.note(|| format!("special pte ({pte}): stop"));
                    return Err(());
                }
                let pfn = pte.pfn();
                if !PhysMem::pfn_valid(pfn) {
                    k.raise(Event::BadPage, || {
                        format!("pte_page() of pfn {pfn} with no memmap")
                    });
                    return Err(());
                }
                let head = k.compound_head(pfn);
                if !k.try_grab_folio(head, 1, flags) {
                    return Err(());
                }
                if !k.gup_fast_folio_allowed(head, flags) {
                    k.gup_put_folio(head, 1, flags);
                    return Err(());
                }
                if k.pt.get(Level::Pte, addr) != pte {
                    k.note(|| "pte changed under us: undo and stop".into());
                    k.gup_put_folio(head, 1, flags);
                    return Err(());
                }
                let from = k.taken_from(pfn);
                pages.push(pfn, from);
                addr += PAGE_SIZE;
            }
            Ok(())
        })
    }

    /// gup_huge_pmd / gup_huge_pud: a huge leaf. Devmap entries go through the device path;
    /// from 6.12 special ones stop the walk; anything else is treated as a THP: one grab of
    /// all subpages' references on pmd_page()'s head.
    fn gup_huge(
        &mut self,
        level: Level,
        entry: Entry,
        addr: u64,
        end: u64,
        flags: FollFlags,
        pages: &mut PageList,
    ) -> Result<(), Stop> {
        let name = if level == Level::Pmd {
            "gup_huge_pmd"
        } else {
            "gup_huge_pud"
        };
        self.call(name, |k| {
            if flags.contains(FollFlags::WRITE) && !entry.write() {
                k.note(|| "huge entry not writable: stop".into());
                return Err(());
            }
            if k.has(ChangePoint::HugePfnmap) && entry.special() {
                k.note(|| format!("special {} ({entry}): stop", level.name()));
                return Err(());
            }
            let first = entry.pfn().offset((addr & !level.mask()) / PAGE_SIZE);
            let refs = (end - addr) / PAGE_SIZE;
            if !k.has(ChangePoint::RemoveDevmap) && entry.devmap() {
                if flags.contains(FollFlags::LONGTERM) {
                    k.note(|| "devmap huge entry and FOLL_LONGTERM: stop".into());
                    return Err(());
                }
                return k.gup_device_huge(level, entry, addr, first, refs, flags, pages);
            }
            k.note(|| {
                format!("{entry}: neither special nor devmap: {refs} references on pmd_page()")
            });
            if !PhysMem::pfn_valid(entry.pfn()) {
                k.raise(Event::BadPage, || {
                    format!("pmd_page() of pfn {} which has no struct page", entry.pfn())
                });
                return Err(());
            }
            let head = k.compound_head(entry.pfn());
            if !k.try_grab_folio(head, refs as i32, flags) {
                return Err(());
            }
            if !k.gup_fast_folio_allowed(head, flags) {
                k.gup_put_folio(head, refs as i32, flags);
                return Err(());
            }
            if k.pt.get(level, addr) != entry {
                k.note(|| "entry changed under us: undo and stop".into());
                k.gup_put_folio(head, refs as i32, flags);
                return Err(());
            }
            for i in 0..refs {
                let pfn = first.offset(i);
                let from = k.taken_from(pfn);
                pages.push(pfn, from);
            }
            Ok(())
        })
    }

    /// __gup_device_huge_pmd / _pud: each subpage needs a live dev_pagemap; any failure undoes
    /// what this entry took.
    #[allow(clippy::too_many_arguments)]
    fn gup_device_huge(
        &mut self,
        level: Level,
        entry: Entry,
        addr: u64,
        first: Pfn,
        count: u64,
        flags: FollFlags,
        pages: &mut PageList,
    ) -> Result<(), Stop> {
        self.call("__gup_device_huge", |k| {
            let nr_start = pages.len();
            for i in 0..count {
                let pfn = first.offset(i);
                if k.get_dev_pagemap(pfn).is_none() {
                    k.undo_dev_pagemap(pages, nr_start, flags);
                    return Err(());
                }
                if !k.try_grab_page(pfn, flags) {
                    k.undo_dev_pagemap(pages, nr_start, flags);
                    return Err(());
                }
                let from = k.taken_from(pfn);
                pages.push(pfn, from);
            }
            if k.pt.get(level, addr) != entry {
                k.undo_dev_pagemap(pages, nr_start, flags);
                return Err(());
            }
            Ok(())
        })
    }

    /// undo_dev_pagemap: release the pages taken since `nr_start`.
    fn undo_dev_pagemap(&mut self, pages: &mut PageList, nr_start: u64, flags: FollFlags) {
        self.call("undo_dev_pagemap", |k| {
            let taken: Vec<Pfn> = pages
                .pages()
                .skip(nr_start as usize)
                .flatten()
                .map(|(pfn, _)| pfn)
                .collect();
            k.note(|| format!("undo {} pages", taken.len()));
            for pfn in taken {
                if flags.contains(FollFlags::PIN) {
                    k.unpin_user_page(pfn);
                } else {
                    k.put_page(pfn);
                }
            }
            pages.truncate(nr_start);
        })
    }

    /// try_grab_compound_head (5.11) / try_grab_folio (6.x): a speculative grab of `refs`
    /// references that fails on a freed (zero refcount) head.
    pub fn try_grab_folio(&mut self, head: Pfn, refs: i32, flags: FollFlags) -> bool {
        let name = if self.has(ChangePoint::RemoveFollCow) {
            "try_grab_folio"
        } else {
            "try_grab_compound_head"
        };
        self.call(name, |k| {
            if flags.contains(FollFlags::PIN) && k.pin_is_noop(head) {
                k.note(|| "zero page: pin is a no-op".into());
                return true;
            }
            let count = k.mem.page(head).refcount;
            if count < 0 {
                k.warn("try_grab: negative refcount");
                return false;
            }
            if count == 0 {
                k.note(|| format!("pfn {head} has refcount 0 (freed): speculative grab fails"));
                return false;
            }
            k.grab(head, refs, flags);
            true
        })
    }

    /// gup_put_folio / put_compound_head: undo a grab of `refs` references.
    fn gup_put_folio(&mut self, head: Pfn, refs: i32, flags: FollFlags) {
        if flags.contains(FollFlags::PIN) {
            if self.pin_is_noop(head) {
                return;
            }
            if self.pincount_available(head) {
                self.mem.update_page(head, |p| p.pincount -= refs);
                self.put_page_refs(head, refs);
            } else {
                self.put_page_refs(head, refs * crate::mm::page_alloc::GUP_PIN_COUNTING_BIAS);
            }
        } else {
            self.put_page_refs(head, refs);
        }
    }

    /// folio_fast_pin_allowed (6.5) / gup_fast_folio_allowed (6.12): may gup-fast keep this
    /// folio? Long-term write pins of file pages are refused, and from the secretmem fix every
    /// small folio with no ->mapping (driver pages) is refused too.
    fn gup_fast_folio_allowed(&mut self, head: Pfn, flags: FollFlags) -> bool {
        let reject_file_backed = self.has(ChangePoint::LongtermFileBackedCheck)
            && flags.contains(FollFlags::PIN | FollFlags::LONGTERM | FollFlags::WRITE);
        let page = self.mem.page(head);
        let large = matches!(page.kind, PageKind::Head(_));
        let check_secretmem = self.has(ChangePoint::SecretmemGupFast) && !large;
        if !reject_file_backed && !check_secretmem {
            return true;
        }
        self.call("gup_fast_folio_allowed", |k| {
            if !page.has_mapping {
                k.note(|| format!("pfn {head}: folio->mapping is NULL: refuse"));
                return false;
            }
            if page.anon || !reject_file_backed {
                return true;
            }
            let shmem = matches!(k.mem.frame(head).owner, crate::mm::page_alloc::Owner::Object(o)
                if k.object(o).is_some_and(|b| b.shmem));
            if !shmem {
                k.note(|| "long-term write pin of a file folio: refuse".into());
            }
            shmem
        })
    }
}
