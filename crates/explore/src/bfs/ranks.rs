//! Minimal witnesses in a breadth-first search, carried as ranks rather than thread sequences.
//!
//! Executions of one length are ordered by (context switches, initial state, thread
//! sequence); see [`crate::witness`]. The last two only break ties, and they order every
//! execution of a layer the same way whichever state it reaches. So the candidate executions
//! a complete layer keeps are numbered in (initial state, thread sequence) order, their
//! *rank*, and an execution one step longer is ordered by its *key*: (the rank of the
//! execution it extends, its last thread). A candidate is three small integers, compared in a
//! few instructions and copied along with every successor, instead of a thread sequence that
//! grows with the depth.
//!
//! Each layer keeps the set of its candidates' keys as a bitmap with running counts
//! ([`LayerRanks`]), kept up to date as candidates come and go while the layer is built (a key
//! names one execution, so it belongs to one candidate of one state). A key's rank is the
//! number of keys below it, computed when the layer is expanded, and the thread sequences of
//! the few executions reported are read back from rank to rank. The bitmap takes `threads`
//! bits (plus half as many for the counts) per candidate of the layer before.

use crate::trace::Trace;
use crate::witness::Witness;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU64, Ordering};

/// A candidate execution reaching a state of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Link {
    pub switches: u32,
    /// The rank of the execution this one extends in the layer before (in the first layer:
    /// the initial state's index).
    pub from: u32,
    /// The thread of the last step (none in the first layer).
    pub last: Option<u8>,
}

impl Link {
    /// The execution of no steps from initial state `init`.
    pub fn start(init: u32) -> Self {
        Link {
            switches: 0,
            from: init,
            last: None,
        }
    }

    /// Where this execution falls in its layer's order of (initial state, thread sequence):
    /// one number per (execution extended, last thread).
    fn key(&self, threads: u64) -> u64 {
        match self.last {
            None => u64::from(self.from),
            Some(t) => u64::from(self.from) * threads + u64::from(t),
        }
    }
}

/// The candidate minimal executions reaching one state: one per last thread, among those that
/// can still be minimal once extended (at most one switch worse than the best).
#[derive(Debug, Clone, Default)]
pub(super) struct Candidates {
    items: SmallVec<[Link; 2]>,
}

impl Candidates {
    /// The first execution found reaching a state of the layer `marks` is being built for.
    pub fn one(link: Link, marks: &LayerRanks) -> Self {
        marks.set(link);
        let mut c = Candidates::default();
        c.items.push(link);
        c
    }

    /// Adds an execution reaching this state (all offered to one state have its depth).
    #[inline]
    pub fn offer(&mut self, link: Link, marks: &LayerRanks) {
        let mut min = u32::MAX;
        let mut same = None;
        for (i, c) in self.items.iter().enumerate() {
            min = min.min(c.switches);
            if c.last == link.last {
                same = Some(i);
            }
        }
        // An extension adds at most one switch, so a candidate more than one switch worse than
        // the best can never win.
        if link.switches > min.saturating_add(1) {
            return;
        }
        match same {
            Some(i) => match self.items.get_mut(i) {
                // Same last thread: the order is (switches, rank extended).
                Some(kept) if (link.switches, link.from) < (kept.switches, kept.from) => {
                    marks.clear(*kept);
                    *kept = link;
                }
                _ => return,
            },
            None => self.items.push(link),
        }
        marks.set(link);
        if link.switches < min {
            self.items.retain(|c| {
                let keep = c.switches <= link.switches + 1;
                if !keep {
                    marks.clear(*c);
                }
                keep
            });
        }
    }

    /// The minimal execution reaching this state, as (switches, rank) in `ranks`, its
    /// layer's ranks.
    pub fn best(&self, ranks: &LayerRanks) -> Option<(u32, u32)> {
        let key = |c: &Link| (c.switches, c.key(ranks.threads));
        let best = self.items.iter().min_by_key(|c| key(c))?;
        Some((best.switches, ranks.rank_of(best.key(ranks.threads))))
    }

    /// The minimal execution reaching the successor by `thread`, among those through this
    /// state (`ranks` is its layer's ranks).
    #[inline]
    pub fn extend_best(&self, thread: u8, ranks: &LayerRanks) -> Link {
        let extended = |c: &Link| {
            let switches = c.switches + u32::from(c.last.is_some_and(|l| l != thread));
            (switches, c.key(ranks.threads))
        };
        let (switches, key) = self.items.iter().map(extended).min().unwrap_or((0, 0));
        Link {
            switches,
            from: ranks.rank_of(key),
            last: Some(thread),
        }
    }
}

/// The keys of one layer's candidates ([`Link::key`]), as a bitmap with running counts.
pub(super) struct LayerRanks {
    bits: Vec<AtomicU64>,
    /// Keys set in the words before each word (once counted).
    before: Vec<u32>,
    /// Keys set in all (once counted).
    total: u64,
    threads: u64,
}

impl LayerRanks {
    /// Room for the keys of a layer whose previous layer had `previous` candidates (for the
    /// first layer: the number of initial states).
    pub fn new(previous: u64, first: bool, threads: usize) -> Self {
        let threads = threads.max(1) as u64;
        let space = if first {
            previous
        } else {
            previous.saturating_mul(threads)
        };
        LayerRanks {
            bits: (0..space.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            before: Vec::new(),
            total: 0,
            threads,
        }
    }

    /// The number of candidates in the layer (once counted).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Notes a candidate (shards are merged in parallel, hence the atomics).
    fn set(&self, link: Link) {
        let key = link.key(self.threads);
        if let Some(word) = self.bits.get((key / 64) as usize) {
            word.fetch_or(1 << (key % 64), Ordering::Relaxed);
        }
    }

    /// Notes that a candidate was dropped.
    fn clear(&self, link: Link) {
        let key = link.key(self.threads);
        if let Some(word) = self.bits.get((key / 64) as usize) {
            word.fetch_and(!(1 << (key % 64)), Ordering::Relaxed);
        }
    }

    /// Counts the candidates, once the layer is complete.
    pub fn count(&mut self) {
        let mut total = 0u64;
        self.before = self
            .bits
            .iter_mut()
            .map(|w| {
                let here = total;
                total += u64::from(w.get_mut().count_ones());
                u32::try_from(here).unwrap_or(u32::MAX)
            })
            .collect();
        self.total = total;
    }

    fn rank_of(&self, key: u64) -> u32 {
        let word = (key / 64) as usize;
        let (Some(bits), Some(&before)) = (self.bits.get(word), self.before.get(word)) else {
            return u32::MAX;
        };
        let below = bits.load(Ordering::Relaxed) & ((1u64 << (key % 64)) - 1);
        before.saturating_add(below.count_ones())
    }

    /// The key of the candidate of rank `rank`.
    fn key_of(&self, rank: u32) -> Option<u64> {
        // The last word with fewer keys before it than `rank + 1`.
        let word = self.before.partition_point(|&b| b <= rank).checked_sub(1)?;
        let mut bits = self.bits.get(word)?.load(Ordering::Relaxed);
        for _ in 0..rank - self.before[word] {
            bits &= bits.wrapping_sub(1);
        }
        (bits != 0).then(|| word as u64 * 64 + u64::from(bits.trailing_zeros()))
    }
}

/// The execution of rank `rank` in layer `layers.len() - 1`, with `switches` context switches.
pub(super) fn execution(layers: &[LayerRanks], rank: u32, switches: u32) -> Witness {
    let mut steps = Vec::with_capacity(layers.len().saturating_sub(1));
    let mut rank = rank;
    for (depth, layer) in layers.iter().enumerate().rev() {
        let key = layer.key_of(rank).unwrap_or(0);
        if depth == 0 {
            rank = u32::try_from(key).unwrap_or(u32::MAX);
        } else {
            steps.push((key % layer.threads) as u8);
            rank = u32::try_from(key / layer.threads).unwrap_or(u32::MAX);
        }
    }
    steps.reverse();
    Witness {
        init: rank,
        switches,
        trace: steps.into_iter().collect::<Trace>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::witness::count_switches;
    use proptest::prelude::*;

    type Execution = (u32, Vec<u8>);

    /// Builds the layers of the given executions (all of one length) the way a search does:
    /// each layer's candidates name the rank of their prefix in the layer before.
    fn rank_layers(executions: &[Execution], threads: usize) -> Vec<LayerRanks> {
        let depth = executions.first().map_or(0, |e| e.1.len());
        let mut layers: Vec<LayerRanks> = Vec::new();
        let mut previous: Vec<Execution> = Vec::new();
        for d in 0..=depth {
            let mut prefixes: Vec<Execution> = executions
                .iter()
                .map(|(i, t)| (*i, t[..d].to_vec()))
                .collect();
            prefixes.sort();
            prefixes.dedup();
            let mut layer = match layers.last() {
                Some(l) => LayerRanks::new(l.total(), false, threads),
                None => LayerRanks::new(8, true, threads),
            };
            let candidates: Vec<Candidates> = prefixes
                .iter()
                .map(|(init, t)| {
                    let link = match t.split_last() {
                        None => Link::start(*init),
                        Some((&last, before)) => Link {
                            switches: count_switches(t),
                            from: previous
                                .iter()
                                .position(|p| p.0 == *init && p.1 == before)
                                .map_or(u32::MAX, |r| r as u32),
                            last: Some(last),
                        },
                    };
                    Candidates::one(link, &layer)
                })
                .collect();
            layer.count();
            // Ranks number the layer in (initial state, threads) order.
            let ranks: Vec<u32> = candidates
                .iter()
                .filter_map(|c| c.best(&layer).map(|b| b.1))
                .collect();
            assert_eq!(ranks, (0..prefixes.len() as u32).collect::<Vec<_>>());
            layers.push(layer);
            previous = prefixes;
        }
        layers
    }

    proptest! {
        /// Every execution of a layer is read back from its rank.
        #[test]
        fn ranks_read_back_as_their_executions(
            threads in 1usize..5,
            depth in 0usize..6,
            seeds in proptest::collection::vec((0u32..8, any::<u64>()), 1..20),
        ) {
            let executions: Vec<Execution> = seeds
                .iter()
                .map(|(init, bits)| {
                    let steps = (0..depth).map(|i| ((bits >> (3 * i)) % threads as u64) as u8);
                    (*init, steps.collect())
                })
                .collect();
            let layers = rank_layers(&executions, threads);
            let mut sorted = executions.clone();
            sorted.sort();
            sorted.dedup();
            for (rank, (init, steps)) in sorted.iter().enumerate() {
                let w = execution(&layers, rank as u32, count_switches(steps));
                prop_assert_eq!(w.init, *init);
                prop_assert_eq!(w.trace.iter().collect::<Vec<_>>(), steps.clone());
            }
        }

        /// Whatever is offered to one state, its candidates answer as if every execution
        /// offered were kept: the minimal one, and the minimal extension by each thread; and
        /// the layer's keys are exactly those of the candidates kept.
        #[test]
        fn candidates_answer_as_if_all_were_kept(
            offered in proptest::collection::vec(
                (0u32..2, proptest::collection::vec(0u8..3, 3)),
                1..12,
            ),
        ) {
            const THREADS: usize = 3;
            // The layer before, in rank order: the offered executions' prefixes.
            let mut prefixes: Vec<Execution> =
                offered.iter().map(|(i, t)| (*i, t[..2].to_vec())).collect();
            prefixes.sort();
            prefixes.dedup();
            let link = |(i, t): &Execution| Link {
                switches: count_switches(t),
                from: prefixes
                    .iter()
                    .position(|p| p.0 == *i && p.1 == t[..2])
                    .unwrap_or(0) as u32,
                last: t.last().copied(),
            };
            let mut marks = LayerRanks::new(prefixes.len() as u64, false, THREADS);
            let mut c = Candidates::one(link(&offered[0]), &marks);
            for e in &offered[1..] {
                c.offer(link(e), &marks);
            }
            marks.count();
            prop_assert_eq!(marks.total(), c.items.len() as u64);
            let rank = |e: &Execution| marks.rank_of(link(e).key(THREADS as u64));
            let order = |e: &Execution| (count_switches(&e.1), e.0, e.1.clone());
            let best = offered.iter().min_by_key(|e| order(e)).cloned().unwrap_or_default();
            prop_assert_eq!(c.best(&marks), Some((count_switches(&best.1), rank(&best))));
            for thread in 0..THREADS as u8 {
                let extended = |e: &Execution| {
                    let mut t = e.1.clone();
                    t.push(thread);
                    (count_switches(&t), e.0, t)
                };
                let best = offered.iter().min_by_key(|e| extended(e)).cloned().unwrap_or_default();
                let l = c.extend_best(thread, &marks);
                prop_assert_eq!((l.switches, l.from), (extended(&best).0, rank(&best)));
            }
        }
    }

    #[test]
    fn a_rank_past_the_layer_reads_back_as_no_key() {
        let mut layer = LayerRanks::new(3, true, 2);
        Candidates::one(Link::start(1), &layer);
        layer.count();
        assert_eq!(layer.key_of(0), Some(1));
        assert_eq!(layer.key_of(1), None);
        assert_eq!(layer.rank_of(1000), u32::MAX);
    }
}
