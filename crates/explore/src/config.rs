//! Search options and the budget (state limit, timeout, progress reports) that enforces them.

use crate::report::{Progress, StopReason};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Order in which states are expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Search {
    /// Layer by layer: shortest executions first, parallel over each layer, supports
    /// partial-order reduction. Frontier memory is one layer of full states.
    #[default]
    BreadthFirst,
    /// Depth-first with a topological second pass for counts and witnesses: frontier memory is
    /// one path (plus states waiting for predecessors), visited entries are 16 bytes instead of
    /// 8. Single-threaded; ignores `reduction`.
    DepthFirst,
}

/// Called about every 100 ms while a search runs.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How to explore. `Config::default()` is a complete breadth-first search on one core.
#[derive(Clone, Default)]
pub struct Config {
    pub search: Search,
    /// Worker threads for breadth-first search; 0 and 1 both mean the calling thread only.
    pub workers: usize,
    /// Partial-order reduction with sleep sets (uses [`crate::Model::independent`]). Keeps the
    /// set of terminal states exact; execution counts become counts of representatives.
    pub reduction: bool,
    /// Stop after this many distinct states (checked between batches, so it may overshoot a
    /// little).
    pub max_states: Option<u64>,
    pub timeout: Option<Duration>,
    pub progress: Option<ProgressFn>,
}

impl Config {
    pub fn search(mut self, search: Search) -> Self {
        self.search = search;
        self
    }
    pub fn depth_first(self) -> Self {
        self.search(Search::DepthFirst)
    }
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }
    pub fn reduction(mut self, on: bool) -> Self {
        self.reduction = on;
        self
    }
    pub fn max_states(mut self, n: u64) -> Self {
        self.max_states = Some(n);
        self
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("search", &self.search)
            .field("workers", &self.workers)
            .field("reduction", &self.reduction)
            .field("max_states", &self.max_states)
            .field("timeout", &self.timeout)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Enforces the limits of a [`Config`] from the thread driving the search.
pub(crate) struct Budget<'a> {
    config: &'a Config,
    pub start: Instant,
    last_progress: Instant,
    pub stopped: Option<StopReason>,
}

impl<'a> Budget<'a> {
    pub fn new(config: &'a Config) -> Self {
        let now = Instant::now();
        Budget {
            config,
            start: now,
            last_progress: now,
            stopped: None,
        }
    }

    pub fn max_states(&self) -> Option<u64> {
        self.config.max_states
    }

    /// Records that the state limit stopped a search that still had work (`unfinished`).
    pub fn stop_if_unfinished(&mut self, unfinished: bool) {
        if unfinished && self.stopped.is_none() {
            self.stopped = Some(StopReason::MaxStates);
        }
    }

    /// Whether the search may go on; reports progress when due.
    pub fn check(&mut self, distinct: u64, transitions: u64, depth: usize) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        let now = Instant::now();
        if let Some(max) = self.config.max_states {
            if distinct >= max {
                self.stopped = Some(StopReason::MaxStates);
            }
        }
        if let Some(t) = self.config.timeout {
            if now.duration_since(self.start) >= t {
                self.stopped = Some(StopReason::Timeout);
            }
        }
        if let Some(progress) = &self.config.progress {
            if now.duration_since(self.last_progress) >= PROGRESS_EVERY {
                self.last_progress = now;
                progress(&Progress {
                    transitions,
                    distinct_states: distinct,
                    depth,
                    elapsed: now.duration_since(self.start),
                });
            }
        }
        self.stopped.is_none()
    }
}
