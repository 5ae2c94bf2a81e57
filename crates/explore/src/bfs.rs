//! Breadth-first search by layers, on one core or several.
//!
//! Layer d holds the full states first reached after d steps. Expanding a layer produces
//! successors, which are routed by fingerprint to one of [`SHARDS`] shards; each shard owns its
//! part of the visited set and of the next layer, so shards merge in parallel without locks.
//! Merging is commutative (counts add, sleep sets intersect, witnesses take the minimum), so the
//! result does not depend on the worker count or on scheduling.
//!
//! Counting executions: when every execution to a state has the same length (true when each
//! step advances a thread's program counter), all of a state's predecessors are in the layer
//! just before it, so its count (sum over predecessors) is complete before it is expanded.
//! A successor that is already in the visited set from an earlier layer breaks that property
//! (or reveals a cycle); it is flagged as `nonuniform` and the caller recounts exactly.

use crate::config::Budget;
use crate::fingerprint::{fingerprint, Fingerprint};
use crate::por::successor_sleep;
use crate::visited::{shard_of, FingerprintSet, FpTable, SHARDS};
use crate::witness::{Candidates, Witness};
use crate::Model;
use rayon::prelude::*;

/// Entries expanded by one task.
const CHUNK: usize = 512;
/// Chunks per worker between two merges (and limit checks).
const CHUNKS_PER_BATCH: usize = 8;

struct Entry<S> {
    fp: Fingerprint,
    state: S,
    count: u128,
    sleep: u64,
    candidates: Candidates,
}

struct Successor<S> {
    fp: Fingerprint,
    state: S,
    count: u128,
    sleep: u64,
    witness: Witness,
}

/// A terminal state as found by a search, before conversion to the public report.
pub(crate) struct FoundTerminal<S> {
    pub fp: Fingerprint,
    pub state: S,
    pub count: u128,
    pub witness: Witness,
}

struct ChunkOut<S> {
    buckets: Vec<Vec<Successor<S>>>,
    terminals: Vec<FoundTerminal<S>>,
    transitions: u64,
}

struct Shard<S> {
    visited: FingerprintSet,
    /// Fingerprint → index in `next`, for the layer being built.
    index: FpTable<u32>,
    next: Vec<Entry<S>>,
    nonuniform: bool,
}

impl<S> Shard<S> {
    fn new() -> Self {
        Shard {
            visited: FingerprintSet::new(),
            index: FpTable::new(),
            next: Vec::new(),
            nonuniform: false,
        }
    }

    fn merge(&mut self, incoming: Vec<Vec<Successor<S>>>) {
        for bucket in incoming {
            for s in bucket {
                if let Some(i) = self.index.get(s.fp) {
                    let e = &mut self.next[i as usize];
                    e.count = e.count.saturating_add(s.count);
                    e.sleep &= s.sleep;
                    e.candidates.offer(s.witness);
                } else if self.visited.insert(s.fp).0 {
                    *self.index.insert(s.fp).1 = self.next.len() as u32;
                    self.next.push(Entry {
                        fp: s.fp,
                        state: s.state,
                        count: s.count,
                        sleep: s.sleep,
                        candidates: Candidates::one(s.witness),
                    });
                } else {
                    // Seen in an earlier layer: a longer path to a known state (or a cycle).
                    self.nonuniform = true;
                }
            }
        }
    }
}

/// Outcome of a breadth-first search.
pub(crate) struct BfsRun<S> {
    pub terminals: Vec<FoundTerminal<S>>,
    pub transitions: u64,
    pub distinct: u64,
    pub max_depth: usize,
    pub visited_bytes: usize,
    pub nonuniform: bool,
}

fn expand_chunk<M: Model>(
    model: &M,
    chunk: &[Entry<M::State>],
    reduce: bool,
) -> ChunkOut<M::State> {
    let threads = model.threads();
    let mut out = ChunkOut {
        buckets: (0..SHARDS).map(|_| Vec::new()).collect(),
        terminals: Vec::new(),
        transitions: 0,
    };
    for e in chunk {
        let mut any_enabled = false;
        let mut explored = 0u64;
        for t in 0..threads {
            if !model.enabled(&e.state, t) {
                continue;
            }
            any_enabled = true;
            if reduce && e.sleep & (1 << t) != 0 {
                continue;
            }
            let next = model.step(&e.state, t);
            out.transitions += 1;
            let fp = fingerprint(&next);
            let sleep = if reduce {
                let s = successor_sleep(model, &e.state, e.sleep | explored, t);
                explored |= 1 << t;
                s
            } else {
                0
            };
            out.buckets[shard_of(fp)].push(Successor {
                fp,
                state: next,
                count: e.count,
                sleep,
                witness: e.candidates.extend_best(t as u8),
            });
        }
        if !any_enabled {
            out.terminals.push(FoundTerminal {
                fp: e.fp,
                state: e.state.clone(),
                count: e.count,
                witness: e.candidates.best().cloned().unwrap_or_default(),
            });
        }
    }
    out
}

/// Regroups per-chunk buckets into per-shard lists, keeping chunk order (determinism).
fn by_shard<S>(outs: &mut [ChunkOut<S>]) -> Vec<Vec<Vec<Successor<S>>>> {
    let mut per_shard: Vec<Vec<Vec<Successor<S>>>> = (0..SHARDS)
        .map(|_| Vec::with_capacity(outs.len()))
        .collect();
    for out in outs.iter_mut() {
        for (shard, bucket) in out.buckets.drain(..).enumerate() {
            if !bucket.is_empty() {
                per_shard[shard].push(bucket);
            }
        }
    }
    per_shard
}

pub(crate) fn run<M: Model>(
    model: &M,
    workers: usize,
    reduce: bool,
    budget: &mut Budget<'_>,
) -> BfsRun<M::State> {
    let pool = if workers > 1 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .ok()
    } else {
        None
    };
    let mut shards: Vec<Shard<M::State>> = (0..SHARDS).map(|_| Shard::new()).collect();
    let mut run = BfsRun {
        terminals: Vec::new(),
        transitions: 0,
        distinct: 0,
        max_depth: 0,
        visited_bytes: 0,
        nonuniform: false,
    };

    let mut init_buckets: Vec<Vec<Successor<M::State>>> = (0..SHARDS).map(|_| Vec::new()).collect();
    for (i, state) in model.init_states().into_iter().enumerate() {
        let fp = fingerprint(&state);
        init_buckets[shard_of(fp)].push(Successor {
            fp,
            state,
            count: 1,
            sleep: 0,
            witness: Witness::start(i as u32),
        });
    }
    for (shard, bucket) in shards.iter_mut().zip(init_buckets) {
        shard.merge(vec![bucket]);
    }

    let mut depth = 0usize;
    let batch = CHUNK * CHUNKS_PER_BATCH * workers.max(1);
    'layers: loop {
        let mut layer = Vec::new();
        for shard in shards.iter_mut() {
            layer.append(&mut shard.next);
            shard.index.clear();
        }
        run.distinct = shards.iter().map(|s| s.visited.len() as u64).sum();
        if layer.is_empty() {
            break;
        }
        run.max_depth = depth;
        for part in layer.chunks(batch) {
            let mut outs: Vec<ChunkOut<M::State>> = match &pool {
                Some(pool) => pool.install(|| {
                    part.par_chunks(CHUNK)
                        .map(|c| expand_chunk(model, c, reduce))
                        .collect()
                }),
                None => part
                    .chunks(CHUNK)
                    .map(|c| expand_chunk(model, c, reduce))
                    .collect(),
            };
            for out in outs.iter_mut() {
                run.transitions += out.transitions;
                run.terminals.append(&mut out.terminals);
            }
            let per_shard = by_shard(&mut outs);
            match &pool {
                Some(pool) => pool.install(|| {
                    shards
                        .par_iter_mut()
                        .zip(per_shard)
                        .for_each(|(shard, incoming)| shard.merge(incoming))
                }),
                None => shards
                    .iter_mut()
                    .zip(per_shard)
                    .for_each(|(shard, incoming)| shard.merge(incoming)),
            }
            run.distinct = shards.iter().map(|s| s.visited.len() as u64).sum();
            if !budget.check(run.distinct, run.transitions, depth) {
                break 'layers;
            }
        }
        depth += 1;
    }
    run.nonuniform = shards.iter().any(|s| s.nonuniform);
    run.visited_bytes = shards.iter().map(|s| s.visited.bytes()).sum();
    run
}
