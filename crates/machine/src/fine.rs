//! Fine-grained interleaving (`--fine`): operations that the kernel itself lets race are
//! split into the steps other threads can run between. gup-fast walks entry by entry with
//! interrupts disabled (read, grab, recheck); zaps (eviction, munmap, MADV_DONTNEED) clear
//! the entries, then flush the TLB — which waits for interrupt-disabled walkers — then free
//! what they zapped. A fault on an object whose reservation lock an eviction holds waits for
//! it (the thread is blocked). Everything else stays one step.

use crate::exec::Op;
use crate::state::{RegValue, ThreadState};
use mmlab_drivers::drivers::gpu::drm::ttm::ttm_bo::Placement;
use mmlab_drivers::{fops, Model};
use mmlab_mm::include::linux::mm_types::ObjId;
use mmlab_mm::mm::gup::fast::{GupFastWalk, WalkPhase};
use mmlab_mm::mm::gup::{GupCall, Holder};

/// What a zap does once the TLB is flushed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AfterFlush {
    /// Finish an eviction: release zapped pages, copy, release the old backing, unlock.
    Evict {
        object: ObjId,
        to: Option<Placement>,
    },
    /// munmap: release zapped pages and the unlinked page tables.
    FreeTables,
    /// MADV_DONTNEED: release zapped pages.
    Release,
}

/// An operation that has taken some of its steps.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InFlight {
    GupFast {
        call: GupCall,
        dest: u8,
        walk: GupFastWalk,
    },
    /// Entries cleared; the TLB flush (and then `then`) is next.
    Zapped { then: AfterFlush, flushed: bool },
}

/// The object whose reservation lock the operation's faults would need.
fn fault_object(k: &Model, op: &Op) -> Option<ObjId> {
    let addr = match *op {
        Op::Read { addr, .. } | Op::Write { addr, .. } | Op::Touch { addr } => addr,
        Op::Gup { addr, .. } | Op::Syscall { addr, .. } => addr,
        Op::Evict { object, .. } | Op::Destroy { object } => {
            return Some(fops::fault_lock_target(k, object))
        }
        _ => return None,
    };
    let vi = k.vma_lookup(addr)?;
    Some(fops::fault_lock_target(k, k.vmas[vi].object))
}

/// What a thread's next step may have to wait for, as far as the thread alone tells.
pub enum Wait<'a> {
    /// It never waits.
    Nothing,
    /// Its TLB flush waits until no walker has interrupts disabled.
    TlbFlush,
    /// It can fault, so it waits while another thread holds the object's reservation lock.
    ReservationLock(&'a Op),
}

/// What `t`'s next step (`next_op`, when it starts a new operation) may wait for.
pub fn may_wait_for<'a>(t: &ThreadState, next_op: Option<&'a Op>) -> Wait<'a> {
    match (&t.inflight, next_op) {
        (Some(InFlight::Zapped { flushed: false, .. }), _) => Wait::TlbFlush,
        (Some(InFlight::Zapped { .. }), _) | (_, None) => Wait::Nothing,
        // The lockless steps never wait; the slow path afterwards faults.
        (Some(InFlight::GupFast { walk, .. }), Some(op)) if walk.phase == WalkPhase::Done => {
            Wait::ReservationLock(op)
        }
        (Some(InFlight::GupFast { .. }), Some(_)) => Wait::Nothing,
        (None, Some(Op::Gup { call, .. })) if call.is_fast() => Wait::Nothing,
        (None, Some(op)) => Wait::ReservationLock(op),
    }
}

/// What deciding whether a thread waits asks of the kernel most: kept beside each stored
/// kernel's id by the explorer, so that most such questions do not read the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelSummary {
    /// Some reservation lock is held (by an eviction between its steps).
    pub resv_locked: bool,
    /// A TLB flush could complete now.
    pub tlb_flush_can_complete: bool,
}

impl KernelSummary {
    pub fn of(k: &Model) -> Self {
        KernelSummary {
            resv_locked: !k.resv_locked.is_empty(),
            tlb_flush_can_complete: k.tlb_flush_can_complete(),
        }
    }
}

/// Whether what `t` may wait for ([`may_wait_for`]) keeps it waiting on the kernel
/// summarized by `summary`, which `k` gives when the summary does not decide: for the flush,
/// until no walker has interrupts disabled; for a fault-capable step, until no other thread
/// holds the object's lock.
pub fn waits<'k>(
    summary: KernelSummary,
    k: impl FnOnce() -> Option<&'k Model>,
    t: &ThreadState,
    wait: Wait<'_>,
) -> bool {
    match wait {
        Wait::Nothing => false,
        Wait::TlbFlush => !summary.tlb_flush_can_complete,
        // Most states hold no reservation lock; finding the op's object costs a vma lookup.
        Wait::ReservationLock(op) => {
            summary.resv_locked && k().is_some_and(|k| locked_by_other(k, t, op))
        }
    }
}

fn locked_by_other(k: &Model, t: &ThreadState, op: &Op) -> bool {
    let Some(obj) = fault_object(k, op) else {
        return false;
    };
    k.resv_locked.contains(&obj) && t.holds_lock != Some(obj)
}

/// Takes one fine-grained step of thread `thread`; returns whether its operation completed.
pub fn step(k: &mut Model, t: &mut ThreadState, thread: u8, op: &Op) -> bool {
    match t.inflight.take() {
        Some(InFlight::GupFast {
            call,
            dest,
            mut walk,
        }) => {
            if walk.phase != WalkPhase::Done {
                k.gup_fast_step(&mut walk);
                t.inflight = Some(InFlight::GupFast { call, dest, walk });
                return false;
            }
            let r = k.call(call.name(), |k| {
                k.gup_fast_complete(call, walk, Holder { thread, reg: dest })
            });
            if let Some(slot) = t.regs.get_mut(dest as usize) {
                *slot = Some(RegValue::Num(r.ret));
            }
            if r.hang {
                t.killed = Some(crate::state::SignalName::Sigkill);
            }
            true
        }
        Some(InFlight::Zapped {
            then,
            flushed: false,
        }) => {
            k.tlb_flush_mmu();
            t.inflight = Some(InFlight::Zapped {
                then,
                flushed: true,
            });
            false
        }
        Some(InFlight::Zapped {
            then,
            flushed: true,
        }) => {
            match then {
                AfterFlush::Evict { object, to } => {
                    fops::evict_finish(k, object, to);
                    t.holds_lock = None;
                }
                AfterFlush::FreeTables => k.tlb_free_gathered(),
                AfterFlush::Release => k.tlb_free_gathered(),
            }
            true
        }
        None => start(k, t, thread, op),
    }
}

/// The first step of an operation; true if that was all of it.
fn start(k: &mut Model, t: &mut ThreadState, thread: u8, op: &Op) -> bool {
    match *op {
        Op::Gup {
            dest,
            call,
            addr,
            pages,
            flags,
        } if call.is_fast() => {
            let walk = k.call(call.name(), |k| k.gup_fast_entry(call, addr, pages, flags));
            match walk {
                Ok(walk) => {
                    t.inflight = Some(InFlight::GupFast { call, dest, walk });
                    false
                }
                Err(r) => {
                    if let Some(slot) = t.regs.get_mut(dest as usize) {
                        *slot = Some(RegValue::Num(r.ret));
                    }
                    true
                }
            }
        }
        Op::Evict { object, to } => {
            fops::evict_begin(k, object, to);
            t.holds_lock = Some(fops::fault_lock_target(k, object));
            t.inflight = Some(InFlight::Zapped {
                then: AfterFlush::Evict { object, to },
                flushed: false,
            });
            false
        }
        Op::Munmap { addr } => match k.vmas.iter().position(|v| v.start == addr) {
            Some(vi) => {
                k.call("do_munmap", |k| k.munmap_zap(vi));
                t.inflight = Some(InFlight::Zapped {
                    then: AfterFlush::FreeTables,
                    flushed: false,
                });
                false
            }
            None => true,
        },
        Op::MadviseDontneed { addr } => match k.vmas.iter().position(|v| v.start == addr) {
            Some(vi) if !k.vmas[vi].flags.contains(mmlab_mm::VmFlags::PFNMAP) => {
                let vma = k.vmas[vi].clone();
                k.call("madvise_dontneed_free", |k| {
                    k.unmap_page_range(vi, vma.start, vma.end)
                });
                t.inflight = Some(InFlight::Zapped {
                    then: AfterFlush::Release,
                    flushed: false,
                });
                false
            }
            _ => true,
        },
        _ => {
            crate::exec::run_op(k, t, thread, op);
            true
        }
    }
}
