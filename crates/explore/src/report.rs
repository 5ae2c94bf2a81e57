//! What an exploration found: terminal states with counts and minimal witnesses, plus
//! statistics (throughput, visited-set memory, fingerprint collision estimates).

use crate::witness::Witness;
use std::fmt;
use std::time::Duration;

/// One execution of the model: the initial state it starts from and the threads that step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Execution {
    /// Index into [`crate::Model::init_states`].
    pub init: usize,
    /// Thread ids, one per step.
    pub threads: Vec<usize>,
}

impl Execution {
    /// Number of steps.
    pub fn steps(&self) -> usize {
        self.threads.len()
    }

    /// Context switches: thread changes between consecutive steps.
    pub fn switches(&self) -> usize {
        self.threads.windows(2).filter(|w| w[0] != w[1]).count()
    }

    /// The threads as the model names them ([`crate::Model::thread_label`]).
    pub fn labels<M: crate::Model>(&self, model: &M) -> Vec<String> {
        self.threads
            .iter()
            .map(|&t| model.thread_label(t))
            .collect()
    }

    /// The order witnesses are minimised in: steps, then switches, then start, then threads.
    pub fn minimality_key(&self) -> (usize, usize, usize, &[usize]) {
        (self.steps(), self.switches(), self.init, &self.threads)
    }
}

impl From<&Witness> for Execution {
    fn from(w: &Witness) -> Self {
        Execution {
            init: w.init as usize,
            threads: w.trace.iter().map(|t| t as usize).collect(),
        }
    }
}

impl fmt::Display for Execution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.init != 0 {
            write!(f, "init#{}: ", self.init)?;
        }
        let parts: Vec<String> = self.threads.iter().map(|t| format!("T{t}")).collect();
        write!(f, "[{}]", parts.join(" "))
    }
}

/// A reachable state where no thread is enabled.
#[derive(Debug, Clone)]
pub struct Terminal<S> {
    pub state: S,
    /// Executions (paths from an initial state) ending here. Exact when
    /// [`Exploration::executions_exact`]; under partial-order reduction it counts the
    /// representative executions explored; saturates at `u128::MAX`.
    pub executions: u128,
    /// The minimal execution reaching this state (fewest steps, then fewest context switches,
    /// then lexicographically smallest). Under partial-order reduction it has the fewest
    /// steps, but is minimal only among the representative executions explored.
    pub witness: Execution,
}

/// Why a search stopped before covering the whole state space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    MaxStates,
    Timeout,
}

/// Counts reported to the progress callback (about every 100 ms) while a search runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub transitions: u64,
    pub distinct_states: u64,
    /// Current breadth-first layer or depth-first stack depth.
    pub depth: usize,
    pub elapsed: Duration,
}

/// The result of [`crate::explore`].
#[derive(Debug, Clone)]
pub struct Exploration<S> {
    /// Terminal states, each once, sorted by their witness (minimal first).
    pub terminals: Vec<Terminal<S>>,
    /// Model steps taken (edges of the state graph explored).
    pub transitions: u64,
    /// Distinct states (by fingerprint) reached, initial states included.
    pub distinct_states: u64,
    /// Largest number of steps of the shortest execution to any reached state.
    pub max_depth: usize,
    pub elapsed: Duration,
    pub states_per_sec: f64,
    /// Bytes held by the visited set at the end.
    pub visited_bytes: usize,
    pub bytes_per_state: f64,
    /// Birthday-bound probability that two distinct states shared a fingerprint (n²/2⁶⁵).
    pub collision_probability: f64,
    /// TLC's "calculated (optimistic)" estimate: distinct × (generated − distinct) / 2⁶⁴.
    pub collision_probability_tlc: f64,
    /// False when a limit stopped the search: then terminals and counts are partial.
    pub complete: bool,
    pub stopped_by: Option<StopReason>,
    /// An execution that comes back to a state it already visited, if the state graph has a
    /// cycle. Then some terminals may be reachable by infinitely many executions and their
    /// `executions` are lower bounds.
    pub cycle: Option<Execution>,
    /// Whether terminal `executions` are exact counts of all executions (complete search, no
    /// cycle, no partial-order reduction).
    pub executions_exact: bool,
    /// Whether partial-order reduction was applied.
    pub reduced: bool,
}

impl<S> Exploration<S> {
    /// The terminal state with the minimal execution among those satisfying `pred`, e.g. the
    /// shortest way to reach a forbidden outcome.
    pub fn minimal_terminal(&self, mut pred: impl FnMut(&S) -> bool) -> Option<&Terminal<S>> {
        // Terminals are sorted by witness, so the first match is minimal.
        self.terminals.iter().find(|t| pred(&t.state))
    }

    /// The same exploration with each terminal state converted by `f` (e.g. from a compact
    /// representation the search used back to the model's full state).
    pub fn map_states<T>(self, mut f: impl FnMut(S) -> T) -> Exploration<T> {
        self.filter_map_states(|s| Some(f(s)))
    }

    /// Like [`Exploration::map_states`], dropping the terminals `f` maps to `None`.
    pub fn filter_map_states<T>(self, mut f: impl FnMut(S) -> Option<T>) -> Exploration<T> {
        Exploration {
            terminals: self
                .terminals
                .into_iter()
                .filter_map(|t| {
                    Some(Terminal {
                        state: f(t.state)?,
                        executions: t.executions,
                        witness: t.witness,
                    })
                })
                .collect(),
            transitions: self.transitions,
            distinct_states: self.distinct_states,
            max_depth: self.max_depth,
            elapsed: self.elapsed,
            states_per_sec: self.states_per_sec,
            visited_bytes: self.visited_bytes,
            bytes_per_state: self.bytes_per_state,
            collision_probability: self.collision_probability,
            collision_probability_tlc: self.collision_probability_tlc,
            complete: self.complete,
            stopped_by: self.stopped_by,
            cycle: self.cycle,
            executions_exact: self.executions_exact,
            reduced: self.reduced,
        }
    }

    /// Sum of the executions of all terminals.
    pub fn total_executions(&self) -> u128 {
        self.terminals
            .iter()
            .fold(0u128, |a, t| a.saturating_add(t.executions))
    }
}

impl<S> fmt::Display for Exploration<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} distinct states, {} transitions, depth {}, {} terminal states, {:.3}s ({:.0} states/s), \
             {:.1} bytes/state, collision p≈{:.1e}{}",
            self.distinct_states,
            self.transitions,
            self.max_depth,
            self.terminals.len(),
            self.elapsed.as_secs_f64(),
            self.states_per_sec,
            self.bytes_per_state,
            self.collision_probability,
            match self.stopped_by {
                None => "",
                Some(StopReason::MaxStates) => " (INCOMPLETE: state limit)",
                Some(StopReason::Timeout) => " (INCOMPLETE: timeout)",
            }
        )
    }
}
