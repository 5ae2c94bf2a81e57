//! Minimal witnesses in a breadth-first search, carried as ranks rather than thread sequences.
//!
//! Executions of one length are ordered by (context switches, initial state, thread
//! sequence); see [`crate::witness`]. The last two only break ties, and they order every
//! execution of a layer the same way whichever state it reaches. So once a layer is complete,
//! the candidate executions its states keep are numbered in (initial state, thread sequence)
//! order, their *rank*, and an execution one step longer is ordered by (the rank of the
//! execution it extends, its last thread). A candidate is three small integers, compared in a
//! few instructions and copied along with every successor, instead of a thread sequence that
//! grows with the depth.
//!
//! Each layer keeps the set of its candidates' (rank extended, thread) pairs as a bitmap with
//! running counts ([`LayerRanks`]): a pair's rank is the number of pairs below it, and the
//! thread sequence of the few executions reported is read back from rank to rank. The bitmap
//! takes `threads` bits (plus half as many for the counts) per candidate of the layer before.

use crate::trace::Trace;
use crate::witness::Witness;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU64, Ordering};

/// A candidate execution reaching a state of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Link {
    pub switches: u32,
    /// While the layer is being built: the rank of the execution this one extends (in the
    /// first layer: the initial state's index). Once the layer is ranked: this execution's own
    /// rank in its layer.
    pub rank: u32,
    /// The thread of the last step (none in the first layer).
    pub last: Option<u8>,
}

impl Link {
    /// The execution of no steps from initial state `init`.
    pub fn start(init: u32) -> Self {
        Link {
            switches: 0,
            rank: init,
            last: None,
        }
    }

    /// Where this (not yet ranked) execution falls in its layer's order of (initial state,
    /// thread sequence): one number per (execution extended, last thread).
    fn key(&self, threads: u64) -> u64 {
        match self.last {
            None => u64::from(self.rank),
            Some(t) => u64::from(self.rank) * threads + u64::from(t),
        }
    }

    /// `self` before `other`, both unranked executions of one layer.
    fn before(&self, other: &Link) -> bool {
        (self.switches, self.rank, self.last) < (other.switches, other.rank, other.last)
    }
}

/// The candidate minimal executions reaching one state: one per last thread, among those that
/// can still be minimal once extended (at most one switch worse than the best).
#[derive(Debug, Clone, Default)]
pub(super) struct Candidates {
    items: SmallVec<[Link; 2]>,
}

impl Candidates {
    pub fn one(link: Link) -> Self {
        let mut c = Candidates::default();
        c.items.push(link);
        c
    }

    /// Adds an execution reaching this state (all offered to one state have its depth).
    #[inline]
    pub fn offer(&mut self, link: Link) {
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
                Some(kept) if link.before(kept) => *kept = link,
                _ => return,
            },
            None => self.items.push(link),
        }
        if link.switches < min {
            self.items.retain(|c| c.switches <= link.switches + 1);
        }
    }

    /// The minimal execution reaching this state (its layer ranked).
    pub fn best(&self) -> Option<Link> {
        self.items
            .iter()
            .min_by_key(|c| (c.switches, c.rank))
            .copied()
    }

    /// The minimal execution reaching the successor by `thread`, among those through this
    /// state (its layer ranked): the extension is unranked, so it names the rank it extends.
    #[inline]
    pub fn extend_best(&self, thread: u8) -> Link {
        let extended = |c: &Link| Link {
            switches: c.switches + u32::from(c.last.is_some_and(|l| l != thread)),
            rank: c.rank,
            last: Some(thread),
        };
        self.items
            .iter()
            .map(extended)
            .min_by_key(|c| (c.switches, c.rank))
            .unwrap_or(Link {
                switches: 0,
                rank: 0,
                last: Some(thread),
            })
    }

    fn iter(&self) -> impl Iterator<Item = &Link> {
        self.items.iter()
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Link> {
        self.items.iter_mut()
    }
}

/// The ranks of one complete layer's candidates: a bitmap over their keys ([`Link::key`]).
pub(super) struct LayerRanks {
    bits: Vec<AtomicU64>,
    /// Keys set in the words before each word.
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

    /// Marks the candidates of some of the layer's states (callable from several threads).
    pub fn mark<'a>(&self, candidates: impl Iterator<Item = &'a Candidates>) {
        for link in candidates.flat_map(Candidates::iter) {
            let key = link.key(self.threads);
            if let Some(word) = self.bits.get((key / 64) as usize) {
                word.fetch_or(1 << (key % 64), Ordering::Relaxed);
            }
        }
    }

    /// The layer's number of candidates (once counted).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Counts the marks, once all are made.
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

    /// Replaces each candidate's key by its rank (after [`LayerRanks::count`]).
    pub fn rank<'a>(&self, candidates: impl Iterator<Item = &'a mut Candidates>) {
        for link in candidates.flat_map(Candidates::iter_mut) {
            let key = link.key(self.threads);
            link.rank = self.rank_of(key);
        }
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
        // The last word with fewer marks before it than `rank + 1`.
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

    /// Ranks the given layer of executions (initial state, threads) the way a search does,
    /// from the ranks of their one-step-shorter prefixes, and reads every one back.
    fn rank_layers(executions: &[(u32, Vec<u8>)], threads: usize) -> Vec<LayerRanks> {
        let depth = executions.first().map_or(0, |e| e.1.len());
        let mut layers: Vec<LayerRanks> = Vec::new();
        let mut ranked: Vec<((u32, Vec<u8>), u32)> = Vec::new();
        for d in 0..=depth {
            let mut prefixes: Vec<(u32, Vec<u8>)> = executions
                .iter()
                .map(|(i, t)| (*i, t[..d].to_vec()))
                .collect();
            prefixes.sort();
            prefixes.dedup();
            let links: Vec<Candidates> = prefixes
                .iter()
                .map(|(init, t)| {
                    Candidates::one(match t.split_last() {
                        None => Link::start(*init),
                        Some((&last, before)) => Link {
                            switches: count_switches(t),
                            rank: ranked
                                .iter()
                                .find(|(p, _)| p.0 == *init && p.1 == before)
                                .map_or(u32::MAX, |(_, r)| *r),
                            last: Some(last),
                        },
                    })
                })
                .collect();
            let mut layer = match layers.last() {
                Some(l) => LayerRanks::new(l.total(), false, threads),
                None => LayerRanks::new(8, true, threads),
            };
            layer.mark(links.iter());
            layer.count();
            let mut links = links;
            layer.rank(links.iter_mut());
            ranked = prefixes
                .into_iter()
                .zip(links.iter().map(|c| c.best().map_or(u32::MAX, |l| l.rank)))
                .collect();
            layers.push(layer);
        }
        // Ranks number the layer in (initial state, threads) order.
        let ranks: Vec<u32> = ranked.iter().map(|(_, r)| *r).collect();
        assert_eq!(ranks, (0..ranks.len() as u32).collect::<Vec<_>>());
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
            let executions: Vec<(u32, Vec<u8>)> = seeds
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
        /// offered were kept: the minimal one, and the minimal extension by each thread.
        #[test]
        fn candidates_answer_as_if_all_were_kept(
            offered in proptest::collection::vec((0u32..2, proptest::collection::vec(0u8..3, 3)), 1..12),
        ) {
            // The order executions of one layer are ranked in: initial state, then threads.
            let mut layer = offered.clone();
            layer.sort();
            layer.dedup();
            let rank_of = |e: &(u32, Vec<u8>)| layer.iter().position(|x| x == e).unwrap_or(0) as u32;
            // Offered unranked (naming their prefix's rank: here the prefix order is the
            // layer's with the last step ignored, made up for the test as the prefix itself).
            let prefixes: Vec<(u32, Vec<u8>)> = {
                let mut p: Vec<_> = offered.iter().map(|(i, t)| (*i, t[..2].to_vec())).collect();
                p.sort();
                p.dedup();
                p
            };
            let prefix_rank = |i: u32, t: &[u8]| {
                prefixes.iter().position(|p| p.0 == i && p.1 == t).unwrap_or(0) as u32
            };
            let unranked = |(i, t): &(u32, Vec<u8>)| Link {
                switches: count_switches(t),
                rank: prefix_rank(*i, &t[..2]),
                last: t.last().copied(),
            };
            let mut c = Candidates::one(unranked(&offered[0]));
            for e in &offered[1..] {
                c.offer(unranked(e));
            }
            // Ranked as the search would: an execution's rank is its place in the layer.
            let kept: Vec<Link> = c.items.iter().copied().collect();
            for link in c.iter_mut() {
                let e = offered
                    .iter()
                    .find(|e| unranked(e) == *link)
                    .cloned()
                    .unwrap_or_default();
                link.rank = rank_of(&e);
            }
            prop_assert_eq!(kept.len(), c.items.len());
            let key = |e: &(u32, Vec<u8>)| (count_switches(&e.1), e.0, e.1.clone());
            let best = offered.iter().min_by_key(|e| key(e)).cloned().unwrap_or_default();
            prop_assert_eq!(c.best().map(|l| l.rank), Some(rank_of(&best)));
            for thread in 0..3u8 {
                let extended = |e: &(u32, Vec<u8>)| {
                    let mut t = e.1.clone();
                    t.push(thread);
                    (count_switches(&t), e.0, t)
                };
                let best = offered.iter().min_by_key(|e| extended(e)).cloned().unwrap_or_default();
                let link = c.extend_best(thread);
                prop_assert_eq!((link.switches, link.rank), (extended(&best).0, rank_of(&best)));
            }
        }
    }

    #[test]
    fn a_rank_past_the_layer_reads_back_as_no_key() {
        let mut layer = LayerRanks::new(3, true, 2);
        layer.mark([Candidates::one(Link::start(1))].iter());
        layer.count();
        assert_eq!(layer.key_of(0), Some(1));
        assert_eq!(layer.key_of(1), None);
        assert_eq!(layer.rank_of(1000), u32::MAX);
    }
}
