//! Searches over a model: every interleaving of its threads' steps, breadth-first (shortest
//! counterexamples) or depth-first, with a fingerprint visited set. The model only exposes
//! states and transitions (the [`Model`] trait); this crate knows nothing about memory management.

use std::fmt::Debug;
use std::hash::Hash;

/// A transition system explored by this crate.
///
/// Steps belong to threads; a thread offers at most one enabled step at a time (its next
/// operation, or the next step inside an operation under fine-grained interleaving), so an
/// execution is a sequence of thread ids.
pub trait Model: Sync {
    /// The whole system state. Must be deterministic: equal states have equal successors.
    type State: Clone + Hash + Eq + Send + Sync + Debug;

    /// Initial states (normally one).
    fn init_states(&self) -> Vec<Self::State>;

    /// Number of threads.
    fn threads(&self) -> usize;

    /// Whether `thread` can take a step in `state`.
    fn enabled(&self, state: &Self::State, thread: usize) -> bool;

    /// The state after `thread` takes its next step. Only called when `enabled`.
    fn step(&self, state: &Self::State, thread: usize) -> Self::State;

    /// Whether the steps that `a` and `b` would take next in `state` commute and neither
    /// disables the other (used by partial-order reduction). `false` is always safe.
    fn independent(&self, _state: &Self::State, _a: usize, _b: usize) -> bool {
        false
    }
}
