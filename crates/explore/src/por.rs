//! Partial-order reduction with sleep sets (Godefroid).
//!
//! A state is expanded with a sleep set Z of threads whose step need not be taken there: an
//! equivalent execution taking it was already explored from an ancestor. Threads are explored
//! in increasing id; the successor by `t` sleeps on every thread of Z ∪ {threads explored
//! before t} whose step is independent of `t`'s.
//!
//! Sleep sets alone never prune states, only transitions (every reachable state is still
//! visited), so terminal states are exact. With state caching, a state reached along several
//! paths must be expanded with the *intersection* of their sleep sets; breadth-first layers
//! deliver all paths of the same length before a state is expanded, which makes that exact
//! whenever all executions to a state have the same length (otherwise the explorer falls back
//! to an unreduced exact pass, see `lib.rs`).

use crate::Model;

/// Largest thread count for which reduction is applied (sleep sets are 64-bit masks).
pub(crate) const MAX_REDUCED_THREADS: usize = 64;

/// Sleep set of the successor reached when `thread` steps from `state`, whose own sleep set
/// plus the threads explored before `thread` is `asleep`. `commuting` is a set of threads the
/// model named pairwise independent in `state` ([`Model::successors`]).
#[inline]
pub(crate) fn successor_sleep<M: Model>(
    model: &M,
    state: &M::State,
    asleep: u64,
    thread: usize,
    commuting: u64,
) -> u64 {
    let bit = 1u64 << thread;
    // Threads named independent of `thread` together with it stay asleep without asking.
    let known = if commuting & bit != 0 {
        asleep & commuting & !bit
    } else {
        0
    };
    let mut rest = asleep & !known & !bit;
    let mut out = known;
    while rest != 0 {
        let other = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        if model.independent(state, other, thread) {
            out |= 1 << other;
        }
    }
    out
}
