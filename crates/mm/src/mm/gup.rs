//! mm/gup.c, slow path: get_user_pages and pin_user_pages walking the page tables under the
//! mmap lock, faulting pages in, and the references they take. The lockless fast path is in
//! [`fast`].

pub mod fast;

use crate::arch::x86::pgtable::{Entry, Level, PAGE_SIZE};
use crate::events::Event;
use crate::include::errno::Errno;
use crate::include::linux::mm_types::{is_cow_mapping, FaultFlags, Pfn, VmFault, VmFlags, Vma};
use crate::kernel::{Devices, Kernel};
use crate::mm::memory::is_zero_pfn;
use crate::mm::page_alloc::{Owner, PageKind, GUP_PIN_COUNTING_BIAS};
use crate::version::ChangePoint;
use bitflags::bitflags;
use serde::Serialize;
use std::fmt;

bitflags! {
    /// FOLL_* flags.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
    pub struct FollFlags: u32 {
        const WRITE = 1 << 0;
        const TOUCH = 1 << 1;
        const GET = 1 << 2;
        const DUMP = 1 << 3;
        const FORCE = 1 << 4;
        const NOWAIT = 1 << 5;
        const COW = 1 << 6;
        const REMOTE = 1 << 7;
        const LONGTERM = 1 << 8;
        const PIN = 1 << 9;
        const FAST_ONLY = 1 << 10;
    }
}

/// Who holds GUP references: a register of a thread (also for syscalls that keep pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Holder {
    pub thread: u8,
    pub reg: u8,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}:r{}", self.thread, self.reg)
    }
}

/// Who owned a page when GUP took it: the owner, and for an object the page's index in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Taken {
    pub owner: Owner,
    pub index: u64,
}

/// A run of consecutive pages returned in pages[], with who owned them when taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Slot {
    Pages {
        first: Pfn,
        count: u64,
        from: Taken,
    },
    /// pages[i] left unwritten (5.11's FOLL_PIN -EEXIST path): a garbage pointer.
    Garbage {
        count: u64,
    },
}

impl Slot {
    pub fn count(&self) -> u64 {
        match *self {
            Slot::Pages { count, .. } | Slot::Garbage { count } => count,
        }
    }
}

/// pages[]: the page pointers a GUP call filled in, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct PageList {
    pub slots: Vec<Slot>,
}

impl PageList {
    pub fn len(&self) -> u64 {
        self.slots.iter().map(Slot::count).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `count` consecutive pages from `pfn`, taken from consecutive pages of `from`.
    pub fn push_range(&mut self, pfn: Pfn, count: u64, from: Taken) {
        if count == 0 {
            return;
        }
        if let Some(Slot::Pages {
            first,
            count: c,
            from: f,
        }) = self.slots.last_mut()
        {
            if f.owner == from.owner && f.index + *c == from.index && first.0 + *c == pfn.0 {
                *c += count;
                return;
            }
        }
        self.slots.push(Slot::Pages {
            first: pfn,
            count,
            from,
        });
    }

    /// Appends another list.
    pub fn extend(&mut self, other: &PageList) {
        for slot in &other.slots {
            match *slot {
                Slot::Pages { first, count, from } => self.push_range(first, count, from),
                Slot::Garbage { count } => {
                    for _ in 0..count {
                        self.push_garbage();
                    }
                }
            }
        }
    }

    pub fn push(&mut self, pfn: Pfn, from: Taken) {
        if let Some(Slot::Pages {
            first,
            count,
            from: f,
        }) = self.slots.last_mut()
        {
            if f.owner == from.owner && f.index + *count == from.index && first.0 + *count == pfn.0
            {
                *count += 1;
                return;
            }
        }
        self.slots.push(Slot::Pages {
            first: pfn,
            count: 1,
            from,
        });
    }

    pub fn push_garbage(&mut self) {
        if let Some(Slot::Garbage { count }) = self.slots.last_mut() {
            *count += 1;
            return;
        }
        self.slots.push(Slot::Garbage { count: 1 });
    }

    /// Every page pointer in order (None for garbage), with where it was taken from.
    pub fn pages(&self) -> impl Iterator<Item = Option<(Pfn, Taken)>> + '_ {
        self.slots.iter().flat_map(|s| {
            let (first, count, from) = match *s {
                Slot::Pages { first, count, from } => (Some(first), count, from),
                Slot::Garbage { count } => (
                    None,
                    count,
                    Taken {
                        owner: Owner::Free,
                        index: 0,
                    },
                ),
            };
            (0..count).map(move |i| {
                first.map(|f| {
                    (
                        f.offset(i),
                        Taken {
                            owner: from.owner,
                            index: from.index + i,
                        },
                    )
                })
            })
        })
    }

    /// Drops the pages from index `keep` on (an undo of the last ones taken).
    pub fn truncate(&mut self, keep: u64) {
        let mut out = PageList::default();
        for (i, p) in self.pages().enumerate() {
            if i as u64 >= keep {
                break;
            }
            match p {
                Some((pfn, from)) => out.push(pfn, from),
                None => out.push_garbage(),
            }
        }
        *self = out;
    }
}

/// References held by a caller after a GUP call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Hold {
    pub holder: Holder,
    /// Taken with FOLL_PIN (released by unpin_user_pages) rather than FOLL_GET (put_page).
    pub pinned: bool,
    pub pages: PageList,
}

/// What following one address gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Followed {
    Page(Pfn),
    /// A subpage of a huge entry at this level, its reference taken (follow_huge_pmd/pud
    /// set ctx.page_mask: see [`ChangePoint::GupThpAccelerate`]).
    Huge(Pfn, Level),
    /// NULL: no page there yet; fault and retry.
    NoPage,
    Err(Errno),
}

/// The six GUP entry points of the litmus format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum GupCall {
    GetUserPages,
    GetUserPagesFast,
    GetUserPagesFastOnly,
    PinUserPages,
    PinUserPagesFast,
    PinUserPagesFastOnly,
}

impl GupCall {
    pub fn name(self) -> &'static str {
        match self {
            GupCall::GetUserPages => "get_user_pages",
            GupCall::GetUserPagesFast => "get_user_pages_fast",
            GupCall::GetUserPagesFastOnly => "get_user_pages_fast_only",
            GupCall::PinUserPages => "pin_user_pages",
            GupCall::PinUserPagesFast => "pin_user_pages_fast",
            GupCall::PinUserPagesFastOnly => "pin_user_pages_fast_only",
        }
    }

    pub fn pins(self) -> bool {
        matches!(
            self,
            GupCall::PinUserPages | GupCall::PinUserPagesFast | GupCall::PinUserPagesFastOnly
        )
    }
}

/// The outcome of a GUP call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GupResult {
    /// Pages taken, or a negative errno.
    pub ret: i64,
    pub pages: PageList,
    /// The call would retry forever (until a fatal signal).
    pub hang: bool,
}

impl GupResult {
    pub(crate) fn err(e: Errno) -> Self {
        GupResult {
            ret: e.ret(),
            pages: PageList::default(),
            hang: false,
        }
    }
}

/// How often the slow path may fault the same address without progress before the model
/// calls it an endless retry.
const MAX_FAULT_RETRIES: u32 = 3;

impl<D: Devices> Kernel<D> {
    /// Whether the page's (compound) head keeps a separate pin count: compound pages of
    /// order > 1 here (5.11's hpage_pincount_available; later kernels count any large folio,
    /// which differs only for order-1 pages, which the model never allocates).
    fn pincount_available(&self, head: Pfn) -> bool {
        matches!(self.mem.page(head).kind, PageKind::Head(order) if order > 1)
    }

    fn pin_is_noop(&self, head: Pfn) -> bool {
        is_zero_pfn(head) && self.has(ChangePoint::DontPinZeroPage)
    }

    /// try_grab_page (slow path, page table lock held): one reference or one pin.
    pub fn try_grab_page(&mut self, pfn: Pfn, flags: FollFlags) -> bool {
        self.call("try_grab_page", |k| {
            let head = k.compound_head(pfn);
            if flags.contains(FollFlags::PIN) && k.pin_is_noop(head) {
                k.note(|| "zero page: pin is a no-op".into());
                return true;
            }
            if k.mem.page(head).refcount <= 0 {
                k.warn("try_grab_page: refcount <= 0");
                return false;
            }
            k.grab(head, 1, flags);
            true
        })
    }

    /// The accounting of a grab of `refs` subpages of `head`.
    fn grab(&mut self, head: Pfn, refs: i32, flags: FollFlags) {
        if flags.contains(FollFlags::GET) {
            self.page_ref_add(head, refs);
            self.note(|| format!("FOLL_GET: +{refs} on pfn {head}"));
        } else if flags.contains(FollFlags::PIN) {
            if self.pincount_available(head) {
                self.page_ref_add(head, refs);
                self.mem.update_page(head, |p| p.pincount += refs);
                self.note(|| format!("FOLL_PIN: +{refs} refs and pincount on head pfn {head}"));
            } else {
                self.page_ref_add(head, refs * GUP_PIN_COUNTING_BIAS);
                self.note(|| format!("FOLL_PIN: +{refs}x{GUP_PIN_COUNTING_BIAS} on pfn {head}",));
            }
        }
    }

    /// unpin_user_page / put_compound_head(head, 1, FOLL_PIN).
    pub fn unpin_user_page(&mut self, pfn: Pfn) {
        self.call("unpin_user_page", |k| {
            let head = k.compound_head(pfn);
            if k.pin_is_noop(head) {
                return;
            }
            let refs = if k.pincount_available(head) {
                k.pincount_sub(head, 1);
                1
            } else {
                GUP_PIN_COUNTING_BIAS
            };
            k.put_page_refs(head, refs);
        })
    }

    /// Releases everything `holder` holds: unpin_user_pages or put_page on each page pointer.
    pub fn release(&mut self, holder: Holder) {
        let Some(i) = self.holds.iter().position(|h| h.holder == holder) else {
            return;
        };
        let hold = self.holds.remove(i);
        let name = if hold.pinned {
            "unpin_user_pages"
        } else {
            "put_page"
        };
        self.call(name, |k| {
            for slot in &hold.pages.slots {
                match *slot {
                    Slot::Pages { first, count, .. } => k.put_user_range(first, count, hold.pinned),
                    Slot::Garbage { count } => {
                        k.bug(&format!(
                            "release of {count} pages[] entries GUP never filled (wild pointers)"
                        ));
                    }
                }
            }
        })
    }

    /// unpin_user_page / put_page on each of `count` consecutive pages, in order. Pages whose
    /// effect is the same (one compound head, or a run of identical separate pages) are done
    /// together when no count reaches zero on the way, which gives the same result as one at
    /// a time.
    fn put_user_range(&mut self, first: Pfn, count: u64, pinned: bool) {
        let unit = |k: &Self, head: Pfn| -> (i32, bool) {
            if pinned && k.pin_is_noop(head) {
                (0, false)
            } else if pinned && k.pincount_available(head) {
                (1, true)
            } else if pinned {
                (GUP_PIN_COUNTING_BIAS, false)
            } else {
                (1, false)
            }
        };
        for (pfn, n, frame) in self.mem.frames(first, count) {
            let compound_tail = matches!(frame.page.kind, PageKind::Tail(_));
            let head = self.compound_head(pfn);
            let (refs, pincount) = unit(self, head);
            if refs == 0 {
                continue;
            }
            let before = self.mem.page(head).refcount;
            if compound_tail {
                // All n pages share one head.
                let total = refs * n as i32;
                if before - total > 0 {
                    if pincount {
                        self.pincount_sub(head, n as i32);
                    }
                    self.page_ref_add(head, -total);
                    continue;
                }
            } else if n > 1 && (before - refs > 0 || before <= 0) {
                // n separate pages in the same state: none is freed by this.
                if pincount {
                    self.mem.update(pfn, n, |f| f.page.pincount -= 1);
                }
                let mut negative = false;
                self.mem.update(pfn, n, |f| {
                    f.page.refcount -= refs;
                    negative |= f.page.refcount < 0;
                });
                if negative {
                    self.raise(Event::RefcountError, || {
                        format!("pfn {pfn}..+{n}: refcounts went below zero")
                    });
                }
                continue;
            }
            for i in 0..n {
                if pinned {
                    self.unpin_user_page(pfn.offset(i));
                } else {
                    self.put_page(pfn.offset(i));
                }
            }
        }
    }

    /// The pages `first..first+count` as a page list recording who owns each now (one slot
    /// per run of frames with one owner and consecutive object indices).
    pub fn taken_range(&self, first: Pfn, count: u64) -> PageList {
        let mut list = PageList::default();
        for (pfn, n, frame) in self.mem.frames(first, count) {
            let mut at = 0;
            while at < n {
                let p = pfn.offset(at);
                let from = self.taken_from(p);
                // Within one extent of the owning object, indices follow the frames.
                let span = match frame.owner {
                    Owner::Object(o) => self
                        .object(o)
                        .and_then(|b| {
                            b.extents
                                .iter()
                                .find(|e| e.pfn <= p && p.0 < e.pfn.0 + e.count)
                                .map(|e| e.pfn.0 + e.count - p.0)
                        })
                        .unwrap_or(1),
                    _ => n - at,
                }
                .min(n - at);
                list.push_range(p, span, from);
                at += span;
            }
        }
        list
    }

    /// Who owns `pfn` now, and which page of its object it is.
    pub fn taken_from(&self, pfn: Pfn) -> Taken {
        let owner = self.mem.frame(pfn).owner;
        let index = match owner {
            Owner::Object(o) => self.object(o).and_then(|b| b.index_of(pfn)).unwrap_or(0),
            _ => 0,
        };
        Taken { owner, index }
    }

    /// The holder of any page in `pfn..pfn+pages`, if one is held.
    pub fn held_in(&self, pfn: Pfn, pages: u64) -> Option<Holder> {
        self.holds.iter().find_map(|h| {
            h.pages
                .slots
                .iter()
                .any(|s| match *s {
                    Slot::Pages { first, count, .. } => {
                        first.0 < pfn.0 + pages && pfn.0 < first.0 + count
                    }
                    Slot::Garbage { .. } => false,
                })
                .then_some(h.holder)
        })
    }

    /// Adds pages taken by a call to what `holder` holds.
    pub fn hold(&mut self, holder: Holder, pinned: bool, pages: PageList) {
        if pages.is_empty() {
            return;
        }
        if let Some(h) = self.holds.iter_mut().find(|h| h.holder == holder) {
            h.pages.slots.extend(pages.slots);
            return;
        }
        // Holders are kept sorted: which one took references first is not kernel state (each
        // holder keeps its own), so states that differ only in that order are one state.
        let at = self.holds.partition_point(|h| h.holder < holder);
        self.holds.insert(
            at,
            Hold {
                holder,
                pinned,
                pages,
            },
        );
    }

    /// check_vma_flags: may GUP with these flags use this vma at all?
    pub fn check_vma_flags(&mut self, vma: &Vma, flags: FollFlags) -> Result<(), Errno> {
        self.call("check_vma_flags", |k| {
            let vm = vma.flags;
            if vm.intersects(VmFlags::IO | VmFlags::PFNMAP) {
                k.note(|| "VM_IO or VM_PFNMAP: -EFAULT".into());
                return Err(Errno::EFAULT);
            }
            let write = flags.contains(FollFlags::WRITE);
            if k.has(ChangePoint::LongtermFileBackedCheck)
                && write
                && flags.contains(FollFlags::LONGTERM)
                && !vma.is_anonymous()
                && vma_needs_dirty_tracking(vma)
            {
                k.note(|| "long-term write pin of a dirty-tracked file mapping: -EFAULT".into());
                return Err(Errno::EFAULT);
            }
            if write {
                if !vm.contains(VmFlags::WRITE) {
                    if !flags.contains(FollFlags::FORCE) {
                        k.note(|| "write to a read-only vma without FOLL_FORCE: -EFAULT".into());
                        return Err(Errno::EFAULT);
                    }
                    if !is_cow_mapping(vm) {
                        return Err(Errno::EFAULT);
                    }
                }
            } else if !vm.contains(VmFlags::READ)
                && (!flags.contains(FollFlags::FORCE) || !vm.contains(VmFlags::MAYREAD))
            {
                return Err(Errno::EFAULT);
            }
            Ok(())
        })
    }

    /// follow_page_mask and the per-level followers it calls.
    pub fn follow_page_mask(&mut self, vi: usize, addr: u64, flags: FollFlags) -> Followed {
        self.call("follow_page_mask", |k| {
            let devmap_era = !k.has(ChangePoint::RemoveDevmap);
            let new_huge_follow = k.has(ChangePoint::HugePfnmap);
            let pud = k.pt.get(Level::Pud, addr);
            if pud.is_none() {
                return Followed::NoPage;
            }
            if new_huge_follow && pud.leaf() {
                return k.follow_huge_leaf(vi, Level::Pud, addr, pud, flags, devmap_era);
            }
            if pud.leaf() {
                if devmap_era && pud.devmap() {
                    match k.follow_devmap(Level::Pud, addr, pud, flags) {
                        Followed::NoPage => {}
                        other => return other,
                    }
                }
                // pud_bad: a huge entry is not a table: no_page_table.
                k.note(|| "huge pud is not a table (pud_bad): no page".into());
                return Followed::NoPage;
            }
            let pmd = k.pt.get(Level::Pmd, addr);
            if pmd.is_none() {
                return Followed::NoPage;
            }
            if pmd.leaf() {
                if new_huge_follow {
                    return k.follow_huge_leaf(vi, Level::Pmd, addr, pmd, flags, devmap_era);
                }
                if devmap_era && pmd.devmap() {
                    match k.follow_devmap(Level::Pmd, addr, pmd, flags) {
                        Followed::NoPage => {}
                        other => return other,
                    }
                }
                if pmd.trans_huge() {
                    return k.follow_trans_huge(vi, Level::Pmd, addr, pmd, flags);
                }
                // A devmap pmd that follow_devmap_pmd refused falls through to
                // follow_page_pte, where pmd_bad sends it to no_page_table.
                k.note(|| "huge pmd is not a table (pmd_bad): no page".into());
                return Followed::NoPage;
            }
            k.follow_page_pte(vi, addr, flags)
        })
    }

    /// 6.12's handling of a huge leaf in follow_pmd_mask / follow_pud_mask: devmap entries
    /// through follow_devmap (NULL means no page), the rest through follow_huge_pmd/pud.
    fn follow_huge_leaf(
        &mut self,
        vi: usize,
        level: Level,
        addr: u64,
        entry: Entry,
        flags: FollFlags,
        devmap_era: bool,
    ) -> Followed {
        if devmap_era && entry.devmap() {
            return self.follow_devmap(level, addr, entry, flags);
        }
        self.follow_trans_huge(vi, level, addr, entry, flags)
    }

    /// follow_page_pte.
    pub fn follow_page_pte(&mut self, vi: usize, addr: u64, flags: FollFlags) -> Followed {
        self.call("follow_page_pte", |k| {
            if flags.contains(FollFlags::GET | FollFlags::PIN) {
                k.warn("follow_page_pte: both FOLL_GET and FOLL_PIN");
                return Followed::Err(Errno::EINVAL);
            }
            let vma = k.vmas[vi].clone();
            let pte = k.pt.get(Level::Pte, addr);
            if !pte.present() {
                return Followed::NoPage;
            }
            let write = flags.contains(FollFlags::WRITE);
            if write && !pte.write() && !k.can_follow_write_pte(&vma, pte, flags) {
                k.note(|| "write to a read-only pte: fault first".into());
                return Followed::NoPage;
            }
            let mut page = k.vm_normal_page(&vma, pte);
            if page.is_none()
                && !k.has(ChangePoint::RemoveDevmap)
                && pte.devmap()
                && flags.intersects(FollFlags::GET | FollFlags::PIN)
            {
                if k.get_dev_pagemap(pte.pfn()).is_some() {
                    page = Some(pte.pfn());
                } else {
                    k.note(|| "devmap pte without a dev_pagemap: no page (fault and retry)".into());
                    return Followed::NoPage;
                }
            } else if page.is_none() {
                if is_zero_pfn(pte.pfn()) {
                    page = Some(pte.pfn());
                } else {
                    return k.follow_pfn_pte(flags);
                }
            }
            let pfn = page.unwrap_or(pte.pfn());
            if flags.intersects(FollFlags::GET | FollFlags::PIN) && !k.try_grab_page(pfn, flags) {
                return Followed::Err(Errno::ENOMEM);
            }
            Followed::Page(pfn)
        })
    }

    /// can_follow_write_pte: a FOLL_FORCE write through a read-only PTE (5.11: after a COW
    /// break, FOLL_COW and a dirty PTE; 6.1: an exclusive anonymous page in a private vma,
    /// pinned or not).
    fn can_follow_write_pte(&mut self, vma: &Vma, pte: Entry, flags: FollFlags) -> bool {
        if !flags.contains(FollFlags::FORCE) {
            return false;
        }
        if !self.has(ChangePoint::RemoveFollCow) {
            let ok = flags.contains(FollFlags::COW)
                && pte.has(crate::arch::x86::pgtable::PageTableFlags::DIRTY);
            self.note(|| format!("can_follow_write_pte: FOLL_COW and a dirty pte: {ok}"));
            return ok;
        }
        if vma.flags.contains(VmFlags::SHARED)
            || !vma.flags.contains(VmFlags::MAYWRITE)
            || vma.flags.contains(VmFlags::WRITE)
        {
            return false;
        }
        // PageAnonExclusive: without fork, KSM or swap, every anonymous page is exclusive.
        let ok = !pte.special() && self.mem.page(pte.pfn()).anon;
        self.note(|| format!("can_follow_write_pte: exclusive anonymous page: {ok}"));
        ok
    }

    /// follow_pfn_pte: a PTE with no struct page. 5.11 refuses FOLL_GET with -EFAULT and
    /// answers -EEXIST otherwise; from the -EEXIST cleanup every caller gets -EEXIST.
    fn follow_pfn_pte(&mut self, flags: FollFlags) -> Followed {
        self.call("follow_pfn_pte", |k| {
            if !k.has(ChangePoint::GupEexistCleanup) && flags.contains(FollFlags::GET) {
                k.note(|| "FOLL_GET on a pte without a page: -EFAULT".into());
                return Followed::Err(Errno::EFAULT);
            }
            k.note(|| "pte without a page: -EEXIST".into());
            Followed::Err(Errno::EEXIST)
        })
    }

    /// faultin_page: fault in the page GUP wants, translating the result to an errno.
    fn faultin_page(&mut self, vi: usize, addr: u64, flags: FollFlags) -> Result<VmFault, Errno> {
        self.call("faultin_page", |k| {
            let mut fault_flags = FaultFlags::ALLOW_RETRY | FaultFlags::KILLABLE;
            if flags.contains(FollFlags::WRITE) {
                fault_flags |= FaultFlags::WRITE;
            }
            if flags.contains(FollFlags::REMOTE) {
                fault_flags |= FaultFlags::REMOTE;
            }
            let ret = k.handle_mm_fault(vi, addr, fault_flags);
            if ret.contains(VmFault::OOM) {
                return Err(Errno::ENOMEM);
            }
            if ret.intersects(VmFault::SIGBUS | VmFault::SIGSEGV | VmFault::HWPOISON) {
                k.note(|| format!("fault returned {ret:?}: -EFAULT"));
                return Err(Errno::EFAULT);
            }
            if ret.contains(VmFault::RETRY) {
                return Err(Errno::EBUSY);
            }
            Ok(ret)
        })
    }

    /// __get_user_pages: follow each page, faulting in what is missing.
    pub fn __get_user_pages(&mut self, start: u64, nr_pages: u64, flags: FollFlags) -> GupResult {
        self.call("__get_user_pages", |k| {
            let want_pages = flags.intersects(FollFlags::GET | FollFlags::PIN);
            let mut pages = PageList::default();
            let mut done = 0u64;
            let mut ret: Option<Errno> = None;
            let mut vma_index: Option<usize> = None;
            let mut hang = false;
            let mut foll = flags;
            while done < nr_pages {
                let Some(addr) = done
                    .checked_mul(PAGE_SIZE)
                    .and_then(|off| start.checked_add(off))
                else {
                    ret = Some(Errno::EFAULT);
                    break;
                };
                let vi = match vma_index {
                    Some(vi) if k.vmas[vi].contains(addr) => vi,
                    _ => {
                        let Some(vi) = k.vma_lookup(addr) else {
                            k.note(|| format!("no vma at {addr:#x}: -EFAULT"));
                            ret = Some(Errno::EFAULT);
                            break;
                        };
                        let vma = k.vmas[vi].clone();
                        if let Err(e) = k.check_vma_flags(&vma, foll) {
                            ret = Some(e);
                            break;
                        }
                        vma_index = Some(vi);
                        vi
                    }
                };
                let mut retries = 0;
                let outcome = loop {
                    match k.follow_page_mask(vi, addr, foll) {
                        Followed::NoPage => {
                            if retries >= MAX_FAULT_RETRIES {
                                hang = true;
                                break Err(Errno::EINTR);
                            }
                            retries += 1;
                            match k.faultin_page(vi, addr, foll) {
                                Ok(r) => {
                                    if !k.has(ChangePoint::RemoveFollCow)
                                        && r.contains(VmFault::WRITE)
                                        && !k.vmas[vi].flags.contains(VmFlags::WRITE)
                                    {
                                        foll |= FollFlags::COW;
                                    }
                                }
                                Err(e) => break Err(e),
                            }
                        }
                        other => break Ok(other),
                    }
                };
                match outcome {
                    Err(e) => {
                        ret = Some(e);
                        break;
                    }
                    Ok(Followed::Page(pfn)) => {
                        if want_pages {
                            let from = k.taken_from(pfn);
                            pages.push(pfn, from);
                        }
                    }
                    Ok(Followed::Huge(pfn, level)) => {
                        if want_pages {
                            let from = k.taken_from(pfn);
                            pages.push(pfn, from);
                            let rest_of_entry = level.pages() - (addr & !level.mask()) / PAGE_SIZE;
                            let more = rest_of_entry.min(nr_pages - done) - 1;
                            if more > 0 && k.has(ChangePoint::GupThpAccelerate) {
                                k.gup_rest_of_huge_entry(pfn, more, foll, &mut pages);
                                done += more;
                            }
                        }
                    }
                    Ok(Followed::Err(Errno::EEXIST)) => {
                        if k.has(ChangePoint::GupEexistCleanup) {
                            if want_pages {
                                ret = Some(Errno::EEXIST);
                                break;
                            }
                        } else if want_pages {
                            k.note(|| "-EEXIST: page counted but pages[i] left unset".into());
                            pages.push_garbage();
                        }
                    }
                    Ok(Followed::Err(e)) => {
                        ret = Some(e);
                        break;
                    }
                    Ok(Followed::NoPage) => {
                        // The retry loop only ends with a page or an error.
                        ret = Some(Errno::EFAULT);
                        break;
                    }
                }
                done += 1;
            }
            if hang {
                k.raise(Event::Hang, || {
                    "the page never becomes followable: GUP retries until a fatal signal".into()
                });
            }
            let ret = match (done, ret) {
                (0, Some(e)) => e.ret(),
                _ => done as i64,
            };
            GupResult { ret, pages, hang }
        })
    }

    /// The pages after `first` under the same huge entry, in one go (GupThpAccelerate):
    /// `more` references taken on the folio of `first`, and its next subpages stored. For
    /// order-0 pages under the entry (device memory), that folio is `first` alone, and the
    /// later release of each subpage leaves the counts unbalanced.
    fn gup_rest_of_huge_entry(
        &mut self,
        first: Pfn,
        more: u64,
        flags: FollFlags,
        pages: &mut PageList,
    ) {
        let head = self.compound_head(first);
        self.note(|| {
            format!("page_mask: {more} more subpages, their references on the folio of pfn {head}")
        });
        self.grab(head, more as i32, flags);
        for j in 1..=more {
            let pfn = first.offset(j);
            let from = self.taken_from(pfn);
            pages.push(pfn, from);
        }
    }

    /// __get_user_pages_locked / __gup_longterm_locked: the slow path with its flag
    /// adjustments. Long-term pins would migrate movable and CMA pages first; the model has
    /// none, so they pass unchanged.
    pub fn gup_slow(&mut self, start: u64, nr_pages: u64, flags: FollFlags) -> GupResult {
        self.call("__gup_longterm_locked", |k| {
            if flags.contains(FollFlags::PIN) {
                k.has_pinned = true;
            }
            k.__get_user_pages(start, nr_pages, flags | FollFlags::TOUCH)
        })
    }

    /// is_valid_gup_flags (is_valid_gup_args from 6.3): the entry points that take references
    /// refuse FOLL_LONGTERM, which only a pin may ask for, with a WARN_ON_ONCE and -EINVAL
    /// before touching anything. get_user_pages_fast_only checks nothing before 6.3.
    /// (kernel-facts.md dates this to 6.1 from the slow path's own WARN; the real 5.10 kernel
    /// already refuses get_user_pages and get_user_pages_fast calls, which
    /// "mm/gup: don't permit users to call get_user_pages with FOLL_LONGTERM" made so.)
    pub fn is_valid_gup_flags(&mut self, flags: FollFlags) -> bool {
        let checked =
            !flags.contains(FollFlags::FAST_ONLY) || self.has(ChangePoint::GupArgsChecked);
        let refused =
            checked && flags.contains(FollFlags::LONGTERM) && !flags.contains(FollFlags::PIN);
        if refused {
            self.warn("FOLL_LONGTERM without FOLL_PIN");
        }
        !refused
    }

    /// A gup-fast entry point up to its lockless walk: the argument check, then the walk's
    /// setup (the fine-grained interleaving starts its steps from here too).
    pub fn gup_fast_entry(
        &mut self,
        call: GupCall,
        start: u64,
        nr_pages: u64,
        user_flags: FollFlags,
    ) -> Result<fast::GupFastWalk, GupResult> {
        let flags = call.foll_flags(user_flags);
        if !self.is_valid_gup_flags(flags) {
            return Err(GupResult::err(Errno::EINVAL));
        }
        self.gup_fast_begin(start, nr_pages, flags)
    }

    /// One of the six GUP entry points; the references taken are held by `holder`.
    pub fn gup(
        &mut self,
        call: GupCall,
        start: u64,
        nr_pages: u64,
        user_flags: FollFlags,
        holder: Holder,
    ) -> GupResult {
        self.call(call.name(), |k| {
            let flags = call.foll_flags(user_flags);
            if !call.is_fast() {
                if !k.is_valid_gup_flags(flags) {
                    return GupResult::err(Errno::EINVAL);
                }
                let result = k.gup_slow(start, nr_pages, flags);
                k.hold(holder, call.pins(), result.pages.clone());
                return result;
            }
            let mut walk = match k.gup_fast_entry(call, start, nr_pages, user_flags) {
                Ok(walk) => walk,
                Err(result) => return result,
            };
            k.call("lockless_pages_from_mm", |k| {
                while walk.phase != fast::WalkPhase::Done {
                    k.gup_fast_step(&mut walk);
                }
            });
            k.gup_fast_complete(call, walk, holder)
        })
    }

    /// The end of a gup-fast entry point: the slow path for the rest (not for the _fast_only
    /// variants, which never return an error), and the references handed to `holder`.
    pub fn gup_fast_complete(
        &mut self,
        call: GupCall,
        walk: fast::GupFastWalk,
        holder: Holder,
    ) -> GupResult {
        let mut result = self.gup_fast_finish(walk);
        if call.fast_only() {
            result.ret = result.ret.max(0);
        }
        self.hold(holder, call.pins(), result.pages.clone());
        result
    }
}

impl GupCall {
    /// Whether the call starts with the lockless walk.
    pub fn is_fast(self) -> bool {
        !matches!(self, GupCall::GetUserPages | GupCall::PinUserPages)
    }

    pub fn fast_only(self) -> bool {
        matches!(
            self,
            GupCall::GetUserPagesFastOnly | GupCall::PinUserPagesFastOnly
        )
    }

    /// The FOLL flags the entry point adds to the caller's.
    pub fn foll_flags(self, user: FollFlags) -> FollFlags {
        let mut flags = user
            | if self.pins() {
                FollFlags::PIN
            } else {
                FollFlags::GET
            };
        if self.fast_only() {
            flags |= FollFlags::FAST_ONLY;
        }
        flags
    }
}

/// vma_needs_dirty_tracking: a shared writable file mapping whose writes the filesystem
/// must see (page_mkwrite/pfn_mkwrite). Driver and shmem mappings without them do not.
pub fn vma_needs_dirty_tracking(vma: &Vma) -> bool {
    vma.flags.contains(VmFlags::SHARED | VmFlags::WRITE)
        && (vma.ops.page_mkwrite || vma.ops.pfn_mkwrite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::NoDevices;
    use crate::version::{KernelConfig, Release};

    #[test]
    fn holders_taking_references_in_either_order_leave_one_state() {
        let kernel = || Kernel::<NoDevices>::new(KernelConfig::mainline(Release::new(5, 11)));
        let pages = |pfn: u64| {
            let mut list = PageList::default();
            let from = Taken {
                owner: Owner::Kernel,
                index: 0,
            };
            list.push_range(Pfn(pfn), 1, from);
            list
        };
        let (a, b) = (Holder { thread: 0, reg: 0 }, Holder { thread: 1, reg: 0 });
        let mut ab = kernel();
        ab.hold(a, true, pages(0x1000));
        ab.hold(b, false, pages(0x2000));
        let mut ba = kernel();
        ba.hold(b, false, pages(0x2000));
        ba.hold(a, true, pages(0x1000));
        assert_eq!(ab, ba);
        // The holders still hold what they took.
        assert_eq!(ab.held_in(Pfn(0x2000), 1), Some(b));
        assert_eq!(ab.held_in(Pfn(0x1000), 1), Some(a));
    }
}
