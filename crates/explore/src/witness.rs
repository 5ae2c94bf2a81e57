//! Minimal witness executions: the order they are minimised in, and the candidates the
//! depth-first search's topological pass keeps per state (whose executions reaching a state
//! may differ in length). The breadth-first search keeps its candidates as ranks instead
//! (`bfs::ranks`) and reads its reported executions back into [`Witness`]es at the end.
//!
//! "Minimal" orders executions by (steps, context switches, initial state, thread sequence
//! lexicographically), so the witness is unique and the same whatever the worker count.
//! The number of switches of an extension depends on the last thread of the prefix, so a state
//! keeps one best candidate per last thread (only those that could still win: same length and
//! at most one switch worse than the best) rather than a single best prefix.

pub(crate) use crate::trace::Trace;
use smallvec::SmallVec;
use std::cmp::Ordering;

/// Largest thread count the explorer supports (thread ids are stored in one byte).
pub const MAX_THREADS: usize = 256;

/// One execution: which initial state it starts from and the threads that step, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct Witness {
    pub init: u32,
    pub switches: u32,
    pub trace: Trace,
}

impl Witness {
    pub fn start(init: u32) -> Self {
        Witness {
            init,
            switches: 0,
            trace: Trace::default(),
        }
    }
}

impl Witness {
    /// `self < other` for two executions of the same length: the order without comparing
    /// lengths again.
    #[inline]
    fn same_length_before(&self, other: &Witness) -> bool {
        (self.switches, self.init)
            .cmp(&(other.switches, other.init))
            .then_with(|| self.trace.cmp(&other.trace))
            .is_lt()
    }
}

impl Ord for Witness {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.trace.len(), self.switches, self.init, &self.trace).cmp(&(
            other.trace.len(),
            other.switches,
            other.init,
            &other.trace,
        ))
    }
}

impl PartialOrd for Witness {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The candidate minimal executions reaching one state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Candidates {
    items: SmallVec<[Witness; 2]>,
}

impl Candidates {
    pub fn one(w: Witness) -> Self {
        let mut c = Candidates::default();
        c.items.push(w);
        c
    }

    /// Adds an execution reaching this state, keeping only those that can still be minimal.
    /// (All kept candidates have the same length, the shortest offered.)
    #[inline]
    pub fn offer(&mut self, w: Witness) {
        let Some(first) = self.items.first() else {
            self.items.push(w);
            return;
        };
        match w.trace.len().cmp(&first.trace.len()) {
            Ordering::Greater => return,
            Ordering::Less => {
                self.items.clear();
                self.items.push(w);
                return;
            }
            Ordering::Equal => {}
        }
        let last = w.trace.last();
        let mut min = u32::MAX;
        let mut same = None;
        for (i, c) in self.items.iter().enumerate() {
            min = min.min(c.switches);
            if c.trace.last() == last {
                same = Some(i);
            }
        }
        // An extension adds at most one switch, so a candidate more than one switch worse than
        // the best can never win.
        if w.switches > min.saturating_add(1) {
            return;
        }
        let switches = w.switches;
        match same {
            Some(i) => match self.items.get_mut(i) {
                Some(kept) if w.same_length_before(kept) => *kept = w,
                _ => return,
            },
            None => self.items.push(w),
        }
        if switches < min {
            self.items.retain(|c| c.switches <= switches + 1);
        }
    }

    /// The minimal execution reaching this state.
    pub fn best(&self) -> Option<&Witness> {
        self.items.iter().min()
    }

    /// The minimal execution reaching the successor by `thread`, among those through this state.
    #[inline]
    pub fn extend_best(&self, thread: u8) -> Witness {
        let mut best: Option<(&Witness, u32)> = None;
        for w in &self.items {
            let switches = w.switches + w.trace.last().is_some_and(|l| l != thread) as u32;
            let better = match best {
                None => true,
                Some((b, bs)) => match (switches, w.init).cmp(&(bs, b.init)) {
                    Ordering::Less => true,
                    Ordering::Greater => false,
                    Ordering::Equal => w.trace < b.trace,
                },
            };
            if better {
                best = Some((w, switches));
            }
        }
        match best {
            Some((w, switches)) => Witness {
                init: w.init,
                switches,
                trace: w.trace.extended(thread),
            },
            None => Witness::default(),
        }
    }
}

/// Context switches in a thread sequence.
pub(crate) fn count_switches(trace: &[u8]) -> u32 {
    trace.windows(2).filter(|w| w[0] != w[1]).count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[u8]) -> Trace {
        v.iter().copied().collect()
    }

    fn w(trace: &[u8]) -> Witness {
        Witness {
            init: 0,
            switches: count_switches(trace),
            trace: trace.iter().copied().collect(),
        }
    }

    #[test]
    fn order_is_steps_then_switches_then_lex() {
        assert!(w(&[1, 1]) < w(&[0, 1, 0]));
        assert!(w(&[1, 1, 0]) < w(&[0, 1, 0]));
        assert!(w(&[0, 0, 1]) < w(&[1, 1, 0]));
    }

    #[test]
    fn keeps_candidate_that_wins_after_extension() {
        // Two ways into a state: [0,1] (1 switch, ends in 1) and [1,0] (1 switch, ends in 0).
        let mut c = Candidates::one(w(&[1, 0]));
        c.offer(w(&[0, 1]));
        assert_eq!(c.best().unwrap().trace, t(&[0, 1]));
        // Extending by 0: [1,0,0] has 1 switch and beats [0,1,0] with 2.
        assert_eq!(c.extend_best(0).trace, t(&[1, 0, 0]));
        assert_eq!(c.extend_best(1).trace, t(&[0, 1, 1]));
    }

    proptest::proptest! {
        /// Whatever is offered, the candidates answer as if every execution offered were
        /// kept: the minimal one, and the minimal extension by each thread.
        #[test]
        fn candidates_answer_as_if_all_were_kept(
            offered in proptest::collection::vec(
                (0u32..2, proptest::collection::vec(0u8..3, 2..5)),
                1..12,
            )
        ) {
            let all: Vec<Witness> = offered
                .iter()
                .map(|(init, steps)| Witness { init: *init, ..w(steps) })
                .collect();
            let mut c = Candidates::one(all[0].clone());
            for x in &all[1..] {
                c.offer(x.clone());
            }
            proptest::prop_assert_eq!(c.best(), all.iter().min());
            for thread in 0..3u8 {
                let extended = all.iter().map(|x| Witness {
                    init: x.init,
                    switches: count_switches(&x.trace.iter().chain([thread]).collect::<Vec<_>>()),
                    trace: x.trace.extended(thread),
                });
                proptest::prop_assert_eq!(Some(c.extend_best(thread)), extended.min());
            }
        }
    }

    #[test]
    fn shorter_executions_replace_longer() {
        let mut c = Candidates::one(w(&[0, 1, 0]));
        c.offer(w(&[1, 1]));
        assert_eq!(c.best().unwrap().trace, t(&[1, 1]));
        c.offer(w(&[0, 0, 0]));
        assert_eq!(c.best().unwrap().trace, t(&[1, 1]));
    }
}
