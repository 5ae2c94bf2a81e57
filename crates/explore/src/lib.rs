//! Searches over a model: every interleaving of its threads' steps, breadth-first (shortest
//! counterexamples) or depth-first, with a fingerprint visited set. The model only exposes
//! states and transitions (the [`Model`] trait); this crate knows nothing about memory management.
//!
//! The one entry point is [`explore`], which returns an [`Exploration`]: every terminal state
//! (no thread enabled) with the number of executions reaching it and a minimal witness
//! execution (fewest steps, then fewest context switches, then lexicographically smallest),
//! plus throughput, memory and fingerprint-collision statistics.
//!
//! How results are computed (details in each module):
//! - **Visited set** ([`visited`]): 64-bit fingerprints ([`fingerprint`]) in an open-addressing
//!   table, 10–15 bytes per distinct state. States are assumed equal when their fingerprints
//!   are; the report gives the probability that this merged two distinct states.
//! - **Breadth-first** (default, `bfs`): layer by layer. If every execution reaching a state has
//!   the same length (each step advances a thread), all predecessors of a state are in the
//!   previous layer, so execution counts and minimal witnesses are complete when the state is
//!   expanded; only the frontier keeps full states. Parallel with `workers > 1`: shards of the
//!   visited set are merged independently and merging is commutative, so results are
//!   identical for any worker count.
//! - **Depth-first** (`dfs`): a depth-first pass records in-degrees and detects cycles; a
//!   topological pass then computes exact counts and witnesses on any acyclic graph. When a
//!   breadth-first search meets a state at two depths (or a cycle), it uses this to recount.
//! - **Partial-order reduction** (`por`, `Config::reduction`): sleep sets from
//!   [`Model::independent`] and the independent threads [`Model::successors`] names (a
//!   modular model names the steps that keep the shared part). Every state is still visited,
//!   so terminal states are exact; fewer transitions are taken, execution counts become
//!   counts of the representative executions explored ([`Exploration::executions_exact`] is
//!   then false), and a witness is minimal among those executions only.
//! - **Modular models** ([`modular`], [`explore_modular`]): when the state is one shared part
//!   plus one local part per thread and a step touches only the shared part and its thread's,
//!   parts are interned (a state becomes a few ids) and steps are remembered by id, exactly.
//! - **Limits** ([`Config`]): state limit, timeout and a progress callback; a stopped search
//!   returns what it found with `complete: false`.
//!
//! Measuring: `cargo run -p mmlab-explore --release --example bench` prints distinct states per
//! second on 1 and 2 workers, bytes per state and the ratio against the `stateright` crate on
//! a family of [`toy`] models; `cargo bench -p mmlab-explore` runs the same as criterion benches;
//! the `profile` example explores one model for profilers.
//!
//! ```
//! use mmlab_explore::{explore, Config, Model};
//!
//! /// Two threads each do `tmp = x; x = tmp + 1` (a lost-update race).
//! struct Race;
//! #[derive(Clone, Hash, PartialEq, Eq, Debug)]
//! struct St { x: u8, pc: [u8; 2], tmp: [u8; 2] }
//!
//! impl Model for Race {
//!     type State = St;
//!     fn init_states(&self) -> Vec<St> { vec![St { x: 0, pc: [0; 2], tmp: [0; 2] }] }
//!     fn threads(&self) -> usize { 2 }
//!     fn enabled(&self, s: &St, t: usize) -> bool { s.pc[t] < 2 }
//!     fn step(&self, s: &St, t: usize) -> St {
//!         let mut n = s.clone();
//!         if s.pc[t] == 0 { n.tmp[t] = s.x } else { n.x = s.tmp[t] + 1 }
//!         n.pc[t] += 1;
//!         n
//!     }
//! }
//!
//! let result = explore(&Race, &Config::default().workers(2)).unwrap();
//! assert!(result.complete);
//! // x == 1 (lost update), or x == 2 with either thread's `tmp` holding 1.
//! assert_eq!(result.terminals.len(), 3);
//! assert_eq!(result.total_executions(), 6);
//! let lost = result.minimal_terminal(|s| s.x == 1).unwrap();
//! assert_eq!(lost.witness.threads, vec![0, 1, 1, 0]); // fewest context switches
//! ```

mod bfs;
mod config;
mod dfs;
pub mod fingerprint;
pub mod modular;
mod por;
mod report;
pub mod toy;
mod trace;
pub mod visited;
mod witness;

pub use config::{Config, ProgressFn, Search};
pub use modular::{explore_modular, Modular, ModularExploration, ModularStats};
pub use report::{Execution, Exploration, Progress, StopReason, Terminal};
pub use witness::MAX_THREADS;

use dfs::Searched;
use fingerprint::{birthday_collision_probability, tlc_collision_probability, Fingerprint};
use std::collections::HashMap;
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

    /// Calls `each` with every thread enabled in `state` that `skip` does not contain (thread
    /// `t` is bit `t`; threads from 64 up are never skipped) and the state after its step, in
    /// increasing thread order. Returns whether any thread is enabled, skipped or not.
    ///
    /// `each` also gets a set of threads (bit `t` for thread `t`) whose steps from `state` are
    /// pairwise independent, as [`Model::independent`] means it: partial-order reduction
    /// treats any two of them as independent without asking. The set may be empty.
    ///
    /// The default asks [`Model::enabled`] and [`Model::step`] thread by thread and names no
    /// independent threads; a model that can produce a state's successors together more
    /// cheaply overrides it.
    fn successors(
        &self,
        state: &Self::State,
        skip: u64,
        each: &mut dyn FnMut(usize, Self::State, u64),
    ) -> bool {
        let mut any_enabled = false;
        for t in 0..self.threads() {
            if !self.enabled(state, t) {
                continue;
            }
            any_enabled = true;
            if !skipped(skip, t) {
                each(t, self.step(state, t), 0);
            }
        }
        any_enabled
    }

    /// Whether the steps that `a` and `b` would take next in `state` commute and neither
    /// disables the other (used by partial-order reduction). `false` is always safe.
    fn independent(&self, _state: &Self::State, _a: usize, _b: usize) -> bool {
        false
    }

    /// Which shard of the breadth-first search `state` (whose fingerprint is `fp`) belongs
    /// to, as any function of the state: its low bits pick the shard. States of one shard
    /// are expanded together, so a model whose steps consult tables keyed by part of the
    /// state can name that part here and keep its look-ups in cache. Results do not depend
    /// on it (only speed and memory do); the default spreads states by fingerprint.
    fn locality(&self, _state: &Self::State, fp: Fingerprint) -> u64 {
        fp
    }

    /// A short human-readable name for `thread`, used when printing executions.
    fn thread_label(&self, thread: usize) -> String {
        format!("T{thread}")
    }
}

/// Whether `thread` is in the set `skip` of [`Model::successors`].
#[inline]
pub fn skipped(skip: u64, thread: usize) -> bool {
    thread < 64 && skip & (1 << thread) != 0
}

/// Why a model cannot be explored at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExploreError {
    /// Thread ids are stored in one byte per step.
    TooManyThreads { threads: usize, max: usize },
    /// A modular search stored more distinct parts than its ids can name.
    TooManyParts { max: u64 },
}

impl std::fmt::Display for ExploreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExploreError::TooManyThreads { threads, max } => {
                write!(
                    f,
                    "model has {threads} threads; the explorer supports at most {max}"
                )
            }
            ExploreError::TooManyParts { max } => {
                write!(
                    f,
                    "the search stored more than {max} distinct parts of one kind"
                )
            }
        }
    }
}

impl std::error::Error for ExploreError {}

/// Explores every execution of `model` as `config` says.
///
/// Breadth-first search counts executions in one pass when all executions reaching a state have
/// the same length (the normal case: every step advances a thread). If it meets a state again at
/// a different depth (or a cycle), it runs the depth-first search's topological pass to get
/// exact counts, exact terminal states and a cycle witness; the statistics then describe that
/// pass. Results of complete searches are identical for every worker count; where a limit
/// stops the search depends on it.
pub fn explore<M: Model>(
    model: &M,
    config: &Config,
) -> Result<Exploration<M::State>, ExploreError> {
    let threads = model.threads();
    if threads > MAX_THREADS {
        return Err(ExploreError::TooManyThreads {
            threads,
            max: MAX_THREADS,
        });
    }
    let mut budget = config::Budget::new(config);
    let result = match config.search {
        Search::BreadthFirst => {
            let reduce = config.reduction && threads <= por::MAX_REDUCED_THREADS;
            let run = bfs::run(model, config.workers, reduce, &mut budget);
            if run.nonuniform && budget.stopped.is_none() {
                let mut dag = dfs::run(model, &mut budget);
                if budget.stopped.is_some() && !reduce {
                    // The recount ran out of budget, but the breadth-first search itself was
                    // complete and unreduced: its terminal set and witnesses are exact, only
                    // its counts are not.
                    budget.stopped = None;
                    return Ok(finish(&budget, run.searched(false), false));
                }
                if !dag.counts_exact {
                    // Breadth-first witnesses are minimal even when counts are not; prefer them
                    // where the topological pass could not finish.
                    let bfs_witnesses: HashMap<Fingerprint, witness::Witness> = run
                        .terminals
                        .into_iter()
                        .map(|t| (t.fp, t.witness))
                        .collect();
                    for t in dag.terminals.iter_mut() {
                        if let Some(w) = bfs_witnesses.get(&t.fp) {
                            t.witness = w.clone();
                        }
                    }
                }
                dag.max_depth = dag.max_depth.max(run.max_depth);
                dag.visited_bytes = dag.visited_bytes.max(run.visited_bytes);
                finish(&budget, dag, false)
            } else {
                let exact = !reduce && !run.nonuniform;
                finish(&budget, run.searched(exact), reduce)
            }
        }
        Search::DepthFirst => {
            let dag = dfs::run(model, &mut budget);
            finish(&budget, dag, false)
        }
    };
    Ok(result)
}

fn finish<S>(budget: &config::Budget<'_>, found: Searched<S>, reduced: bool) -> Exploration<S> {
    let Searched {
        terminals,
        transitions,
        distinct,
        max_depth,
        visited_bytes,
        cycle,
        counts_exact,
    } = found;
    let elapsed = budget.start.elapsed();
    let mut terminals: Vec<(witness::Witness, Terminal<S>)> = terminals
        .into_iter()
        .map(|t| {
            let witness = Execution::from(&t.witness);
            (
                t.witness,
                Terminal {
                    state: t.state,
                    executions: t.count,
                    witness,
                },
            )
        })
        .collect();
    terminals.sort_by(|a, b| a.0.cmp(&b.0));
    let complete = budget.stopped.is_none();
    Exploration {
        terminals: terminals.into_iter().map(|(_, t)| t).collect(),
        transitions,
        distinct_states: distinct,
        max_depth,
        elapsed,
        states_per_sec: distinct as f64 / elapsed.as_secs_f64().max(1e-9),
        visited_bytes,
        bytes_per_state: visited_bytes as f64 / distinct.max(1) as f64,
        collision_probability: birthday_collision_probability(distinct),
        collision_probability_tlc: tlc_collision_probability(distinct, transitions),
        complete,
        stopped_by: budget.stopped,
        cycle: cycle.as_ref().map(Execution::from),
        executions_exact: counts_exact && complete,
        reduced,
    }
}
