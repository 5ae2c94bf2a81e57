//! mm/gup.c, fast path: the lockless page-table walk of get_user_pages_fast and
//! pin_user_pages_fast (gup_pgd_range down to gup_pte_range / gup_huge_pmd / gup_huge_pud, and
//! the devmap device path), then the slow path for whatever it could not take.
//!
//! The walk is a small state machine ([`GupFastWalk`]) so that the explorer can interleave
//! the points where the real walk races with zaps: reading an entry with IRQs off, the
//! speculative grab of its page, and the recheck that the entry did not change. Run
//! back to back, the steps are the atomic walk. A PTE table is handled as one chunk: its
//! entries are read together, grabbed together and rechecked in order.

use super::{FollFlags, GupResult, PageList, Slot, Taken};
use crate::arch::x86::pgtable::{Entry, Level, PAGE_SIZE};
use crate::events::Event;
use crate::include::errno::Errno;
use crate::include::linux::mm_types::Pfn;
use crate::kernel::{Devices, Kernel};
use crate::mm::page_alloc::{PageKind, PhysMem};
use crate::version::ChangePoint;

/// TASK_SIZE_MAX on x86-64 with 4-level paging: the end of the user address space.
pub const TASK_SIZE_MAX: u64 = (1 << 47) - PAGE_SIZE;

/// What the walk read and has not finished with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Chunk {
    /// A huge leaf at `level`, read at `addr`; the walk covers `addr..end` with it.
    Huge {
        level: Level,
        addr: u64,
        end: u64,
        entry: Entry,
        taken: PageList,
    },
    /// PTEs read from one table, from `addr` on, with who owned each page when read; `last`
    /// when the walk stops after them.
    Ptes {
        addr: u64,
        entries: Vec<Entry>,
        taken: Vec<Taken>,
        last: bool,
    },
}

/// Where the walk is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WalkPhase {
    /// Read the PUD and PMD entries at the next address.
    Read,
    /// A PMD pointing at a PTE table was read; read the table's entries next.
    ReadPtes { pmd: Entry, end: u64 },
    /// Entries read; take references on their pages.
    Grab(Chunk),
    /// References taken (`grabbed` of the chunk's entries); check the entries did not change.
    Recheck { chunk: Chunk, grabbed: usize },
    /// The lockless part is over (IRQs back on).
    Done,
}

/// A gup-fast call in progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GupFastWalk {
    pub start: u64,
    pub nr_pages: u64,
    pub flags: FollFlags,
    /// The next address to read.
    pub addr: u64,
    pub end: u64,
    pub pages: PageList,
    pub phase: WalkPhase,
}

impl GupFastWalk {
    /// Whether this is a walk of zero pages, at its start: its one read happens here.
    fn at_zero_length_start(&self) -> bool {
        self.nr_pages == 0 && self.addr == self.start
    }

    /// Whether the walk has reached its end (a walk of zero pages reads once at its start).
    fn finished(&self) -> bool {
        self.addr >= self.end && !self.at_zero_length_start()
    }
}

impl Chunk {
    /// The walk's function that reads this chunk's entries and calls the one that takes it.
    fn caller(&self) -> &'static str {
        match self {
            Chunk::Huge {
                level: Level::Pud, ..
            } => "gup_pud_range",
            _ => "gup_pmd_range",
        }
    }
}

impl<D: Devices> Kernel<D> {
    fn gup_fast_name(&self) -> &'static str {
        if self.has(ChangePoint::HugePfnmap) {
            "gup_fast_fallback"
        } else {
            "internal_get_user_pages_fast"
        }
    }

    /// The checks before the walk, then local_irq_save: the walk starts.
    pub fn gup_fast_begin(
        &mut self,
        start: u64,
        nr_pages: u64,
        flags: FollFlags,
    ) -> Result<GupFastWalk, GupResult> {
        let name = self.gup_fast_name();
        self.call(name, |k| {
            let allowed = FollFlags::WRITE
                | FollFlags::LONGTERM
                | FollFlags::FORCE
                | FollFlags::PIN
                | FollFlags::GET
                | FollFlags::FAST_ONLY;
            if !(flags - allowed).is_empty() {
                k.warn("gup-fast: unsupported FOLL flags");
                return Err(GupResult::err(Errno::EINVAL));
            }
            if flags.contains(FollFlags::PIN) {
                k.has_pinned = true;
            }
            let start = start & !(PAGE_SIZE - 1);
            let end = nr_pages
                .checked_mul(PAGE_SIZE)
                .and_then(|len| start.checked_add(len));
            let Some(end) = end.filter(|end| *end > start || nr_pages == 0) else {
                // 5.11/6.1 return 0 when start + len wraps; 6.12 says -EOVERFLOW.
                k.note(|| "start + nr_pages * PAGE_SIZE overflows".into());
                return Err(if k.has(ChangePoint::GupFastEoverflow) {
                    GupResult::err(Errno::EOVERFLOW)
                } else {
                    GupResult {
                        ret: 0,
                        pages: PageList::default(),
                        hang: false,
                    }
                });
            };
            if end > TASK_SIZE_MAX {
                k.note(|| "range beyond the user address space: access_ok fails".into());
                return Err(GupResult::err(Errno::EFAULT));
            }
            k.irqs_off_walkers += 1;
            k.note(|| "local_irq_save: walk the page tables without the mmap lock".into());
            if nr_pages == 0 {
                k.note(|| {
                    "nr_pages is 0: the walk's end is its start, so the do-while loops below \
                     run on until an entry stops them"
                        .into()
                });
            }
            Ok(GupFastWalk {
                start,
                nr_pages,
                flags,
                addr: start,
                end,
                pages: PageList::default(),
                phase: WalkPhase::Read,
            })
        })
    }

    /// One step of the lockless walk.
    pub fn gup_fast_step(&mut self, walk: &mut GupFastWalk) {
        let phase = std::mem::replace(&mut walk.phase, WalkPhase::Done);
        // Each step runs inside the walk's function for its level, as the kernel calls
        // gup_huge_pmd and gup_pte_range from gup_pmd_range, gup_huge_pud from gup_pud_range.
        let next = match phase {
            WalkPhase::Read if walk.finished() => WalkPhase::Done,
            WalkPhase::Read => self.call("gup_pmd_range", |k| k.gup_fast_read(walk)),
            WalkPhase::ReadPtes { pmd, end } => self.call("gup_pmd_range", |k| {
                k.call("gup_pte_range", |k| k.gup_fast_read_ptes(walk, pmd, end))
            }),
            WalkPhase::Grab(chunk) => self.call(chunk.caller(), |k| k.gup_fast_grab(walk, chunk)),
            WalkPhase::Recheck { chunk, grabbed } => {
                self.call(chunk.caller(), |k| k.gup_fast_recheck(walk, chunk, grabbed))
            }
            WalkPhase::Done => WalkPhase::Done,
        };
        if next == WalkPhase::Done {
            self.irqs_off_walkers = self.irqs_off_walkers.saturating_sub(1);
            self.note(|| "local_irq_restore".into());
        }
        walk.phase = next;
    }

    /// After the walk: return what it took, or go to the slow path for the rest.
    pub fn gup_fast_finish(&mut self, walk: GupFastWalk) -> GupResult {
        let name = self.gup_fast_name();
        self.call(name, |k| {
            let mut pages = walk.pages;
            let nr_pinned = pages.len();
            let nr_pages = walk.nr_pages;
            k.note(|| format!("gup-fast took {nr_pinned} of {nr_pages} pages"));
            if nr_pinned == nr_pages || walk.flags.contains(FollFlags::FAST_ONLY) {
                return GupResult {
                    ret: nr_pinned as i64,
                    pages,
                    hang: false,
                };
            }
            let slow_flags = walk.flags - FollFlags::FAST_ONLY;
            // With nr_pages 0 and pages taken, the unsigned subtraction wraps: the slow path
            // goes on until something stops it, past the end of the caller's pages[].
            let rest = k.call("__gup_longterm_unlocked", |k| {
                k.gup_slow(
                    walk.start + nr_pinned * PAGE_SIZE,
                    nr_pages.wrapping_sub(nr_pinned),
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

    /// gup_pud_range / gup_pmd_range: read the entries at the next address.
    ///
    /// Every level's loop is a do-while that stops when the address reaches the end. A walk
    /// of zero pages (end = start) therefore visits each level once at `start`: a huge leaf
    /// there covers no pages, while gup_pte_range's loop runs on past `start` until an entry
    /// fails ([`Kernel::gup_fast_read_ptes`]). Only called while the walk has not finished
    /// ([`Kernel::gup_fast_step`]).
    fn gup_fast_read(&mut self, walk: &mut GupFastWalk) -> WalkPhase {
        let addr = walk.addr;
        let zero_length_start = walk.at_zero_length_start();
        let pud = self.pt.get(Level::Pud, addr);
        let pud_end = ((addr & Level::Pud.mask()) + Level::Pud.size()).min(walk.end);
        if pud.is_none() {
            self.note(|| format!("pud none at {addr:#x}: stop"));
            return WalkPhase::Done;
        }
        let huge_pud = if self.has(ChangePoint::HugePfnmap) {
            pud.leaf()
        } else {
            pud.leaf() || (!self.has(ChangePoint::RemoveDevmap) && pud.devmap())
        };
        if huge_pud {
            return self.read_huge(Level::Pud, addr, pud_end, pud);
        }
        let pmd = self.pt.get(Level::Pmd, addr);
        let pmd_end = ((addr & Level::Pmd.mask()) + Level::Pmd.size()).min(walk.end);
        if !pmd.present() {
            self.note(|| format!("pmd none at {addr:#x}: stop"));
            return WalkPhase::Done;
        }
        if pmd.leaf() {
            return self.read_huge(Level::Pmd, addr, pmd_end, pmd);
        }
        let table_end = (addr & Level::Pmd.mask()) + Level::Pmd.size();
        WalkPhase::ReadPtes {
            pmd,
            end: if zero_length_start {
                table_end
            } else {
                pmd_end
            },
        }
    }

    fn read_huge(&mut self, level: Level, addr: u64, end: u64, entry: Entry) -> WalkPhase {
        let first = entry.pfn().offset((addr & !level.mask()) / PAGE_SIZE);
        let taken = self.taken_range(first, (end - addr) / PAGE_SIZE);
        WalkPhase::Grab(Chunk::Huge {
            level,
            addr,
            end,
            entry,
            taken,
        })
    }

    /// gup_pte_range, reading: the PTEs of one table up to the first one the walk must stop
    /// at.
    fn gup_fast_read_ptes(&mut self, walk: &mut GupFastWalk, pmd: Entry, end: u64) -> WalkPhase {
        let addr = walk.addr;
        if self.pt.get(Level::Pmd, addr) != pmd {
            if self.tlb_tables.contains(&pmd.pfn().0) {
                // Unlinked but not yet freed (the flush waits for us): its entries were
                // cleared before it was unlinked.
                self.note(|| {
                    "the PTE table was unlinked under us; its entries are clear: stop".into()
                });
            } else {
                self.raise(Event::UseAfterFree, || {
                    format!("gup-fast read PTEs at {addr:#x} from a page table that was freed")
                });
            }
            return WalkPhase::Done;
        }
        let flags = walk.flags;
        let mut entries = Vec::new();
        let mut taken = Vec::new();
        let mut last = false;
        let mut at = addr;
        while at < end {
            let pte = self.pt.get(Level::Pte, at);
            if !self.gup_fast_pte_usable(pte, at, flags) {
                last = true;
                break;
            }
            taken.push(self.taken_from(pte.pfn()));
            entries.push(pte);
            at += PAGE_SIZE;
        }
        if entries.is_empty() {
            return WalkPhase::Done;
        }
        if walk.nr_pages == 0 && !last {
            // Not modelled: the real loop reads on past the table, whatever follows it in
            // memory, as PTEs.
            self.note(|| {
                "every PTE to the table's end is usable: the real walk reads on past the \
                 table page (not modelled: stop at its end)"
                    .into()
            });
        }
        WalkPhase::Grab(Chunk::Ptes {
            addr,
            entries,
            taken,
            last,
        })
    }

    /// The per-PTE checks of gup_pte_range before the grab.
    fn gup_fast_pte_usable(&mut self, pte: Entry, at: u64, flags: FollFlags) -> bool {
        if !pte.present() {
            self.note(|| format!("pte none at {at:#x}: stop"));
            return false;
        }
        if !pte.access_permitted(flags.contains(FollFlags::WRITE)) {
            self.note(|| "pte_access_permitted: no (not writable, or PROT_NONE): stop".into());
            return false;
        }
        if !self.has(ChangePoint::RemoveDevmap) && pte.devmap() {
            if flags.contains(FollFlags::LONGTERM) {
                self.note(|| "devmap pte and FOLL_LONGTERM: stop".into());
                return false;
            }
            if self.get_dev_pagemap(pte.pfn()).is_none() {
                self.note(|| "undo_dev_pagemap: stop".into());
                return false;
            }
        } else if pte.special() {
            self.note(|| format!("special pte ({pte}): stop"));
            return false;
        }
        let pfn = pte.pfn();
        if !PhysMem::pfn_valid(pfn) {
            self.wild_struct_page(|| format!("pte_page() of pfn {pfn} with no memmap"));
            return false;
        }
        true
    }

    /// The speculative grabs of a chunk.
    fn gup_fast_grab(&mut self, walk: &mut GupFastWalk, chunk: Chunk) -> WalkPhase {
        let flags = walk.flags;
        match &chunk {
            Chunk::Huge {
                level,
                addr,
                end,
                entry,
                ..
            } => {
                let name = if *level == Level::Pmd {
                    "gup_huge_pmd"
                } else {
                    "gup_huge_pud"
                };
                let ok = self.call(name, |k| {
                    k.gup_huge_grab(*level, *entry, *addr, *end, flags)
                });
                if ok {
                    WalkPhase::Recheck { chunk, grabbed: 1 }
                } else {
                    WalkPhase::Done
                }
            }
            Chunk::Ptes { entries, .. } => {
                let grabbed = self.call("gup_pte_range", |k| {
                    let mut grabbed = 0;
                    for pte in entries {
                        let head = k.compound_head(pte.pfn());
                        if !k.try_grab_folio(head, 1, flags) {
                            break;
                        }
                        if !k.gup_fast_folio_allowed(head, flags) {
                            k.gup_put_folio(head, 1, flags);
                            break;
                        }
                        grabbed += 1;
                    }
                    grabbed
                });
                if grabbed == 0 {
                    WalkPhase::Done
                } else {
                    WalkPhase::Recheck { chunk, grabbed }
                }
            }
        }
    }

    /// gup_huge_pmd / gup_huge_pud, up to the grab: devmap entries take the device path; from
    /// 6.12 special ones stop the walk; anything else is treated as a THP, with all subpages'
    /// references taken on pmd_page()'s head.
    fn gup_huge_grab(
        &mut self,
        level: Level,
        entry: Entry,
        addr: u64,
        end: u64,
        flags: FollFlags,
    ) -> bool {
        if !entry.access_permitted(flags.contains(FollFlags::WRITE)) {
            self.note(|| "access not permitted (not writable, or PROT_NONE): stop".into());
            return false;
        }
        if self.has(ChangePoint::HugePfnmap) && entry.special() {
            self.note(|| format!("special {} ({entry}): stop", level.name()));
            return false;
        }
        let first = entry.pfn().offset((addr & !level.mask()) / PAGE_SIZE);
        let refs = (end - addr) / PAGE_SIZE;
        if !self.has(ChangePoint::RemoveDevmap) && entry.devmap() {
            if flags.contains(FollFlags::LONGTERM) {
                self.note(|| "devmap huge entry and FOLL_LONGTERM: stop".into());
                return false;
            }
            return self.gup_device_huge(first, refs, flags);
        }
        self.note(|| {
            format!("{entry}: neither special nor devmap: {refs} references on pmd_page()")
        });
        if !PhysMem::pfn_valid(entry.pfn()) {
            self.wild_struct_page(|| {
                format!("pmd_page() of pfn {} which has no struct page", entry.pfn())
            });
            return false;
        }
        let head = self.compound_head(entry.pfn());
        if !self.try_grab_folio(head, refs as i32, flags) {
            return false;
        }
        if !self.gup_fast_folio_allowed(head, flags) {
            self.gup_put_folio(head, refs as i32, flags);
            return false;
        }
        true
    }

    /// __gup_device_huge: each subpage needs a live dev_pagemap; a failure undoes what this
    /// entry took. Its loop is a do-while too: for a walk of zero pages (`count` 0) it runs on
    /// from `first`, past the entry, until a pfn has no dev_pagemap or cannot be grabbed, and
    /// then undoes everything.
    fn gup_device_huge(&mut self, first: Pfn, count: u64, flags: FollFlags) -> bool {
        let count = if count == 0 { u64::MAX } else { count };
        self.call("__gup_device_huge", |k| {
            for i in 0..count {
                let pfn = first.offset(i);
                let ok = k.get_dev_pagemap(pfn).is_some() && k.try_grab_page(pfn, flags);
                if !ok {
                    k.call("undo_dev_pagemap", |k| {
                        k.note(|| format!("undo {i} pages"));
                        for j in 0..i {
                            k.gup_put_page(first.offset(j), flags);
                        }
                    });
                    return false;
                }
            }
            true
        })
    }

    fn gup_put_page(&mut self, pfn: Pfn, flags: FollFlags) {
        if flags.contains(FollFlags::PIN) {
            self.unpin_user_page(pfn);
        } else {
            self.put_page(pfn);
        }
    }

    /// Undoes the grab of one chunk entry (a huge entry's refs, or one PTE's page).
    fn gup_fast_undo(&mut self, chunk: &Chunk, index: usize, flags: FollFlags) {
        match chunk {
            Chunk::Huge {
                level,
                addr,
                end,
                entry,
                ..
            } => {
                let refs = (end - addr) / PAGE_SIZE;
                let first = entry.pfn().offset((addr & !level.mask()) / PAGE_SIZE);
                if !self.has(ChangePoint::RemoveDevmap) && entry.devmap() {
                    for j in 0..refs {
                        self.gup_put_page(first.offset(j), flags);
                    }
                } else {
                    let head = self.compound_head(entry.pfn());
                    self.gup_put_folio(head, refs as i32, flags);
                }
            }
            Chunk::Ptes { entries, .. } => {
                if let Some(pte) = entries.get(index) {
                    let head = self.compound_head(pte.pfn());
                    self.gup_put_folio(head, 1, flags);
                }
            }
        }
    }

    /// The recheck after the grab: an entry that changed since it was read is undone and the
    /// walk stops; the pages of unchanged entries are kept.
    fn gup_fast_recheck(
        &mut self,
        walk: &mut GupFastWalk,
        chunk: Chunk,
        grabbed: usize,
    ) -> WalkPhase {
        let flags = walk.flags;
        let skip = self.cfg.injected.skip_gup_fast_recheck;
        let (level, addr) = match &chunk {
            Chunk::Huge { level, addr, .. } => (*level, *addr),
            Chunk::Ptes { addr, .. } => (Level::Pte, *addr),
        };
        let name = match level {
            Level::Pmd => "gup_huge_pmd",
            Level::Pud => "gup_huge_pud",
            Level::Pte => "gup_pte_range",
        };
        self.call(name, |k| match &chunk {
            Chunk::Huge {
                level,
                addr,
                end,
                entry,
                taken,
            } => {
                if !skip && k.pt.get(*level, *addr) != *entry {
                    k.note(|| "entry changed under us: undo and stop".into());
                    k.gup_fast_undo(&chunk, 0, flags);
                    return WalkPhase::Done;
                }
                k.keep_pages(walk, taken);
                if walk.nr_pages == 0 {
                    // The zero-length walk's one visit of this level: its loop ends here.
                    return WalkPhase::Done;
                }
                walk.addr = *end;
                WalkPhase::Read
            }
            Chunk::Ptes {
                entries,
                taken,
                last,
                ..
            } => {
                for i in 0..grabbed {
                    let at = addr + i as u64 * PAGE_SIZE;
                    if !skip && k.pt.get(Level::Pte, at) != entries[i] {
                        k.note(|| format!("pte at {at:#x} changed under us: undo and stop"));
                        for j in i..grabbed {
                            k.gup_fast_undo(&chunk, j, flags);
                        }
                        return WalkPhase::Done;
                    }
                    k.keep_page(walk, entries[i].pfn(), taken[i]);
                }
                walk.addr = addr + grabbed as u64 * PAGE_SIZE;
                if *last || grabbed < entries.len() {
                    WalkPhase::Done
                } else {
                    WalkPhase::Read
                }
            }
        })
    }

    /// Records the pages the walk keeps. A page whose owner changed since its entry was read
    /// was freed and reused under the walker: the reference now pins someone else's page.
    fn keep_pages(&mut self, walk: &mut GupFastWalk, taken: &PageList) {
        for slot in &taken.slots {
            if let Slot::Pages { first, count, from } = *slot {
                let reused = self
                    .mem
                    .frame_runs(first, count)
                    .any(|(_, _, f)| f.owner != from.owner);
                if reused {
                    self.raise(Event::PageReuse, || {
                        format!("gup-fast kept pfn {first}..+{count}, freed and reused after its entry was read")
                    });
                }
            }
        }
        walk.pages.extend(taken);
    }

    fn keep_page(&mut self, walk: &mut GupFastWalk, pfn: Pfn, from: Taken) {
        let mut one = PageList::default();
        one.push(pfn, from);
        self.keep_pages(walk, &one);
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
                self.pincount_sub(head, refs);
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
    pub(crate) fn gup_fast_folio_allowed(&mut self, head: Pfn, flags: FollFlags) -> bool {
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
