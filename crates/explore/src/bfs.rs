//! Breadth-first search by layers, on one core or several.
//!
//! Layer d holds the full states first reached after d steps. Expanding a layer produces
//! successors, routed to one of [`SHARDS`] shards by their [`Model::locality`] (by default
//! their fingerprint), and a shard's states are expanded together. When the layer is done, each
//! shard folds its successors together (counts add, sleep sets intersect, witnesses take the
//! minimum) and checks them against its part of the visited set; shards are independent, so
//! they merge in parallel without locks. Folding is commutative and ties are broken by
//! expansion order, so the result does not depend on the worker count or on scheduling.
//!
//! Why merge per shard in bulk rather than as successors come: a shard's visited set, layer
//! index and new entries are 1/64 of the whole, so they stay in cache while the shard merges,
//! instead of costing a cache miss each per successor. Successors wait in buffers until
//! [`MERGE_EVERY`] of them have accumulated (or the layer ends), which bounds that memory.
//!
//! Witnesses travel as ranks ([`ranks`]): a state's candidates are a few integers that name
//! their place in the order of the layer before, and each layer keeps a bitmap from which the
//! reported executions are read back at the end.
//!
//! Counting executions: when every execution to a state has the same length (true when each
//! step advances a thread's program counter), all of a state's predecessors are in the layer
//! just before it, so its count (sum over predecessors) is complete before it is expanded.
//! A successor already in the visited set from an earlier layer breaks that property (or
//! reveals a cycle); it is flagged as `nonuniform` and the caller recounts exactly.

use crate::config::Budget;
use crate::dfs::Searched;
use crate::fingerprint::{fingerprint, Fingerprint};
use crate::por::successor_sleep;
use crate::visited::{shard_of, FingerprintSet, FpTable, SHARDS};
use crate::witness::Witness;
use crate::Model;
use ranks::{Candidates, LayerRanks, Link};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

mod ranks;

/// Layer buffers at most this large are kept however small the layer.
const MIN_KEPT: usize = 1024;
/// Entries expanded by one task.
const CHUNK: usize = 2048;
/// Smallest chunk when a narrow layer is cut up so that every worker gets a share.
const MIN_CHUNK: usize = 16;
/// Successors buffered before they are merged (bounds the memory of a wide layer).
/// (Small in unit tests, so that they exercise merges in the middle of a layer.)
const MERGE_EVERY: u64 = if cfg!(test) { 64 } else { 1 << 16 };
/// Layers narrower than this are expanded and merged by one thread.
const PARALLEL_LAYER: usize = 16 * MIN_CHUNK;
/// Chunks per worker between two limit checks.
const CHUNKS_PER_BATCH: usize = 4;

/// A state of the layer being built or expanded. (Its fingerprint is not kept: entries are
/// written and read once per state, and their size is what the search's memory traffic is
/// made of, while the fingerprint is needed again only for terminal states.)
struct Entry<S> {
    count: u128,
    sleep: u64,
    candidates: Candidates,
    state: S,
}

struct Successor<S> {
    fp: Fingerprint,
    count: u128,
    sleep: u64,
    witness: Link,
    state: S,
}

/// A terminal state met while expanding layer `depth`, its witness still a rank there.
struct RankedTerminal<S> {
    fp: Fingerprint,
    state: S,
    count: u128,
    depth: usize,
    switches: u32,
    /// The witness's rank in layer `depth`.
    rank: u32,
}

/// A terminal state as found by a search, before conversion to the public report.
pub(crate) struct FoundTerminal<S> {
    pub fp: Fingerprint,
    pub state: S,
    pub count: u128,
    pub witness: Witness,
}

struct ChunkOut<S> {
    /// One buffer per shard.
    buckets: Vec<Vec<Successor<S>>>,
    terminals: Vec<RankedTerminal<S>>,
    transitions: u64,
}

struct Shard<S> {
    visited: FingerprintSet,
    /// Fingerprint → index in `next` while merging.
    index: FpTable<u32>,
    /// Successors of the layer being expanded, one buffer per expanded chunk, in chunk order.
    incoming: Vec<Vec<Successor<S>>>,
    /// Emptied successor buffers, handed back to expansion to save allocations.
    spare: Vec<Vec<Successor<S>>>,
    /// This shard's part of the layer to expand next.
    next: Vec<Entry<S>>,
    nonuniform: bool,
}

impl<S> Shard<S> {
    fn new() -> Self {
        Shard {
            visited: FingerprintSet::new(),
            index: FpTable::new(),
            incoming: Vec::new(),
            spare: Vec::new(),
            next: Vec::new(),
            nonuniform: false,
        }
    }

    /// Starts building the next layer; `expected` guesses its size in this shard.
    fn begin_layer(&mut self, expected: usize) {
        self.index.clear_for(expected);
        if !layer_buffer_kept(self.next.capacity(), expected) {
            self.next = Vec::new();
        }
        make_room(&mut self.next, expected);
    }

    /// Ends a layer in this shard, once merged and ranked: drops the expanded entries
    /// (`layer`) and makes the states found the next layer to expand.
    fn end_layer(&mut self, layer: &mut Vec<Entry<S>>) {
        // A small search reaches a few of the 64 shards per layer, and passing over the
        // others cost 3-8% of its instructions; so a shard where ending the layer would
        // change nothing (no state expanded or found, no buffer to shrink) is left alone.
        let idle = layer.is_empty()
            && self.next.is_empty()
            && layer_buffer_kept(layer.capacity().max(self.next.capacity()), 0)
            && self.index.is_clear_for(0);
        if idle {
            return;
        }
        layer.clear();
        std::mem::swap(layer, &mut self.next);
        // Layers of these models grow by a small factor, when they grow.
        self.begin_layer(layer.len() * 2);
    }

    /// Folds the buffered successors into `next` (new states only), marking them visited.
    fn merge(&mut self, marks: &LayerRanks) {
        if self.incoming.is_empty() {
            return;
        }
        let mut incoming = std::mem::take(&mut self.incoming);
        for mut bucket in incoming.drain(..) {
            for s in bucket.drain(..) {
                if let Some(i) = self.index.get(s.fp) {
                    let e = &mut self.next[i as usize];
                    e.count = e.count.saturating_add(s.count);
                    e.sleep &= s.sleep;
                    e.candidates.offer(s.witness, marks);
                } else if self.visited.insert(s.fp).0 {
                    *self.index.insert(s.fp).1 = self.next.len() as u32;
                    self.next.push(Entry {
                        count: s.count,
                        sleep: s.sleep,
                        candidates: Candidates::one(s.witness, marks),
                        state: s.state,
                    });
                } else {
                    // Seen in an earlier layer: a longer path to a known state (or a cycle).
                    self.nonuniform = true;
                }
            }
            self.spare.push(bucket);
        }
        self.incoming = incoming;
    }
}

/// The pool of `workers` threads, started once per process and kept: starting threads costs
/// about a millisecond, more than many small searches (`--kernel all` runs several).
fn worker_pool(workers: usize) -> Option<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS.get_or_init(Default::default).lock().ok()?;
    if let Some(pool) = pools.get(&workers) {
        return Some(Arc::clone(pool));
    }
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .ok()?,
    );
    pools.insert(workers, Arc::clone(&pool));
    Some(pool)
}

/// Distinct states found so far (merged into the shards' visited sets).
fn distinct<S>(shards: &[Shard<S>]) -> u64 {
    shards.iter().map(|s| s.visited.len() as u64).sum()
}

/// Runs `f` on every item (one per shard), in parallel when there is a pool.
fn for_each_shard<T: Send>(
    items: &mut [T],
    pool: Option<&rayon::ThreadPool>,
    f: impl Fn(&mut T) + Send + Sync,
) {
    match pool {
        Some(pool) => pool.install(|| items.par_iter_mut().for_each(f)),
        None => items.iter_mut().for_each(f),
    }
}

/// Merges every shard's waiting successors, in parallel when there is a pool.
fn merge_all<S: Send + Sync>(
    shards: &mut [Shard<S>],
    marks: &LayerRanks,
    pool: Option<&rayon::ThreadPool>,
) {
    for_each_shard(shards, pool, |s| s.merge(marks));
}

/// Ends the layer in every shard: merges the waiting successors, ranks the new layer's
/// candidate witnesses ([`ranks`]) and swaps layers ([`Shard::end_layer`]), in parallel when
/// there is a pool: dropping a wide layer and clearing the shards' indexes are passes over
/// memory as large as the layer, which the search's thread did alone between layers (a tenth
/// of the time of a two-worker search of fine 4x8).
fn end_layer_all<S: Send + Sync>(
    shards: &mut [Shard<S>],
    layers: &mut [Vec<Entry<S>>],
    ranked: &mut RankedLayers,
    pool: Option<&rayon::ThreadPool>,
) {
    merge_all(shards, &ranked.building, pool);
    ranked.end_layer();
    let mut pairs: Vec<_> = shards.iter_mut().zip(layers.iter_mut()).collect();
    for_each_shard(&mut pairs, pool, |(shard, layer)| shard.end_layer(layer));
}

/// Whether a shard keeps its layer buffer of `capacity` entries for a layer of about
/// `expected` states. A shard's share of a layer varies from layer to layer when states are
/// placed by their [`Model::locality`]: a buffer kept at its largest size would hold memory
/// that the shards growing now need.
fn layer_buffer_kept(capacity: usize, expected: usize) -> bool {
    capacity <= 4 * expected.max(MIN_KEPT)
}

/// Empties `v` and gives it room for `n` items. A too-small buffer is replaced rather than
/// grown: `realloc` would copy its whole old capacity, although nothing in it is live.
fn make_room<T>(v: &mut Vec<T>, n: usize) {
    v.clear();
    if v.capacity() < n {
        *v = Vec::with_capacity(n);
    }
}

/// The ranks of every complete layer's witnesses, and the keys of the layer being built.
struct RankedLayers {
    layers: Vec<LayerRanks>,
    building: LayerRanks,
    threads: usize,
}

impl RankedLayers {
    fn new(initial_states: usize, threads: usize) -> Self {
        RankedLayers {
            layers: Vec::new(),
            building: LayerRanks::new(initial_states as u64, true, threads),
            threads,
        }
    }

    /// Counts the layer built and starts the next.
    fn end_layer(&mut self) {
        self.building.count();
        let next = LayerRanks::new(self.building.total(), false, self.threads);
        self.layers
            .push(std::mem::replace(&mut self.building, next));
    }

    /// The ranks of the layer being expanded.
    fn expanding(&self) -> &LayerRanks {
        self.layers.last().unwrap_or(&self.building)
    }

    /// A terminal with its witness read back as an execution.
    fn found<S>(&self, t: RankedTerminal<S>) -> FoundTerminal<S> {
        let layers = self.layers.get(..=t.depth).unwrap_or(&self.layers);
        FoundTerminal {
            fp: t.fp,
            state: t.state,
            count: t.count,
            witness: ranks::execution(layers, t.rank, t.switches),
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

/// Entries per chunk: [`CHUNK`], or with several workers less, so that a narrow layer still
/// gives each worker several chunks (states of real models take microseconds each, so even
/// small chunks are worth a task).
fn chunk_size(layer: usize, workers: usize) -> usize {
    if workers <= 1 {
        CHUNK
    } else {
        // Rounded up: rounding down left a last chunk of a few entries, and a batch of its own.
        layer
            .div_ceil(workers * CHUNKS_PER_BATCH)
            .clamp(MIN_CHUNK, CHUNK)
    }
}

impl<S> BfsRun<S> {
    /// The run as a search result; a breadth-first search finds no cycles.
    pub(crate) fn searched(self, counts_exact: bool) -> Searched<S> {
        Searched {
            terminals: self.terminals,
            transitions: self.transitions,
            distinct: self.distinct,
            max_depth: self.max_depth,
            visited_bytes: self.visited_bytes,
            cycle: None,
            counts_exact,
        }
    }
}

/// Part of a layer expanded by one task: slices of shards' layers, with their shards.
type Chunk<'a, S> = Vec<(usize, &'a [Entry<S>])>;

/// Cuts the shards' layers into chunks of about `chunk` entries (a chunk may span shards, so
/// small layers make few chunks and few successor buffers).
fn split_into_chunks<S>(layers: &[Vec<Entry<S>>], chunk: usize) -> Vec<Chunk<'_, S>> {
    let mut chunks = Vec::new();
    let mut current: Chunk<'_, S> = Vec::new();
    let mut size = 0;
    for (shard, layer) in layers.iter().enumerate() {
        let mut rest = &layer[..];
        while !rest.is_empty() {
            let take = rest.len().min(chunk - size);
            let (head, tail) = rest.split_at(take);
            current.push((shard, head));
            size += take;
            rest = tail;
            if size == chunk {
                chunks.push(std::mem::take(&mut current));
                size = 0;
            }
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// A buffer for the successors a chunk sends to one shard: a large spare for the chunk's own
/// shards, which get most of them when the model's [`Model::locality`] keeps successors near
/// their states, the shard's own spare otherwise.
fn successor_buffer<S>(
    shard: &mut Shard<S>,
    large: &mut Vec<Vec<Successor<S>>>,
    home: bool,
) -> Vec<Successor<S>> {
    let spare = if home { large.pop() } else { None };
    spare.or_else(|| shard.spare.pop()).unwrap_or_default()
}

/// Moves the shards' spare buffers that grew past `capacity` into `large`, for the chunks'
/// own shards: left with their shards, they would wait there, idle, until the search came
/// back to that shard, and every shard would end up holding its own.
fn gather_large<S>(shards: &mut [Shard<S>], large: &mut Vec<Vec<Successor<S>>>, capacity: usize) {
    for shard in shards.iter_mut() {
        let mut i = 0;
        while i < shard.spare.len() {
            if shard.spare[i].capacity() > capacity {
                large.push(shard.spare.swap_remove(i));
            } else {
                i += 1;
            }
        }
    }
}

fn expand_chunk<M: Model>(
    model: &M,
    chunk: &[(usize, &[Entry<M::State>])],
    depth: usize,
    ranks: &LayerRanks,
    reduce: bool,
    mut buckets: Vec<Vec<Successor<M::State>>>,
) -> ChunkOut<M::State> {
    let threads = model.threads();
    // Room for every successor of the chunk's own shards' states staying in their shard;
    // other buffers keep the room they had (they adapt to how many successors leave).
    let mut room = vec![0; buckets.len()];
    for &(shard, part) in chunk {
        if let Some(r) = room.get_mut(shard) {
            *r += part.len() * threads;
        }
    }
    for (b, n) in buckets.iter_mut().zip(room) {
        make_room(b, n);
    }
    let mut out = ChunkOut {
        buckets,
        terminals: Vec::new(),
        transitions: 0,
    };
    for e in chunk.iter().flat_map(|c| c.1.iter()) {
        let mut explored = 0u64;
        let skip = if reduce { e.sleep } else { 0 };
        let any_enabled = model.successors(&e.state, skip, &mut |t, next, commuting| {
            out.transitions += 1;
            let fp = fingerprint(&next);
            let sleep = if reduce {
                let s = successor_sleep(model, &e.state, e.sleep | explored, t, commuting);
                explored |= 1 << t;
                s
            } else {
                0
            };
            out.buckets[shard_of(model.locality(&next, fp))].push(Successor {
                fp,
                state: next,
                count: e.count,
                sleep,
                witness: e.candidates.extend_best(t as u8, ranks),
            });
        });
        if !any_enabled {
            let (switches, rank) = e.candidates.best(ranks).unwrap_or_default();
            out.terminals.push(RankedTerminal {
                fp: fingerprint(&e.state),
                state: e.state.clone(),
                count: e.count,
                depth,
                switches,
                rank,
            });
        }
    }
    out
}

pub(crate) fn run<M: Model>(
    model: &M,
    workers: usize,
    reduce: bool,
    budget: &mut Budget<'_>,
) -> BfsRun<M::State> {
    let mut search = LayerSearch::new(model, workers, reduce, budget);
    // Narrow layers are expanded on this thread. From the first layer wide enough to share,
    // the search moves into the workers' pool (started then, once per process; a small search
    // starts no threads): its layers are then handed to a worker that is already running,
    // instead of being injected into the pool from outside twice per layer (expand, merge),
    // which wakes a sleeping worker each time.
    while let Some(width) = search.begin_layer() {
        if search.wide(width) {
            if let Some(pool) = worker_pool(workers) {
                pool.install(|| {
                    let mut width = width;
                    while search.expand_layer(width, Some(&pool)) {
                        match search.begin_layer() {
                            Some(w) => width = w,
                            None => break,
                        }
                    }
                });
                break;
            }
        }
        if !search.expand_layer(width, None) {
            break;
        }
    }
    search.finish()
}

/// The state of a breadth-first search between layers.
struct LayerSearch<'a, 'b, M: Model> {
    model: &'a M,
    workers: usize,
    reduce: bool,
    budget: &'a mut Budget<'b>,
    shards: Vec<Shard<M::State>>,
    /// Each shard's layer being expanded; it swaps buffers with `Shard::next`.
    layers: Vec<Vec<Entry<M::State>>>,
    ranked: RankedLayers,
    /// Emptied successor buffers that grew large (see [`gather_large`]).
    large_buffers: Vec<Vec<Successor<M::State>>>,
    /// Terminal states found, their witnesses not yet read back.
    found: Vec<RankedTerminal<M::State>>,
    depth: usize,
    run: BfsRun<M::State>,
}

impl<'a, 'b, M: Model> LayerSearch<'a, 'b, M> {
    fn new(model: &'a M, workers: usize, reduce: bool, budget: &'a mut Budget<'b>) -> Self {
        let mut shards: Vec<Shard<M::State>> = (0..SHARDS).map(|_| Shard::new()).collect();
        let init_states = model.init_states();
        let mut ranked = RankedLayers::new(init_states.len(), model.threads());
        for (i, state) in init_states.into_iter().enumerate() {
            let fp = fingerprint(&state);
            shards[shard_of(model.locality(&state, fp))]
                .incoming
                .push(vec![Successor {
                    fp,
                    state,
                    count: 1,
                    sleep: 0,
                    witness: Link::start(i as u32),
                }]);
        }
        let mut layers: Vec<Vec<Entry<M::State>>> = (0..SHARDS).map(|_| Vec::new()).collect();
        end_layer_all(&mut shards, &mut layers, &mut ranked, None);
        LayerSearch {
            model,
            workers,
            reduce,
            budget,
            shards,
            layers,
            ranked,
            large_buffers: Vec::new(),
            found: Vec::new(),
            depth: 0,
            run: BfsRun {
                terminals: Vec::new(),
                transitions: 0,
                distinct: 0,
                max_depth: 0,
                visited_bytes: 0,
                nonuniform: false,
            },
        }
    }

    /// Only layers wide enough to share go to the workers: handing out work and waiting for
    /// it costs tens of microseconds per layer, more than a narrow layer's work.
    fn wide(&self, width: usize) -> bool {
        self.workers > 1 && width >= PARALLEL_LAYER
    }

    /// The width of the layer to expand, or `None` if it is empty.
    fn begin_layer(&mut self) -> Option<usize> {
        self.run.distinct = distinct(&self.shards);
        let width = self.layers.iter().map(Vec::len).sum();
        (width > 0).then(|| {
            self.run.max_depth = self.depth;
            width
        })
    }

    /// Expands the layer and merges its successors (with `pool`'s workers if it is wide).
    /// Returns whether the search goes on (no limit stopped it).
    fn expand_layer(&mut self, width: usize, pool: Option<&rayon::ThreadPool>) -> bool {
        let (model, reduce, depth) = (self.model, self.reduce, self.depth);
        let ranked = &self.ranked;
        let layer_pool = pool.filter(|_| self.wide(width));
        let sharing = if layer_pool.is_some() {
            self.workers
        } else {
            1
        };
        let chunks_per_batch = CHUNKS_PER_BATCH * self.workers.max(1);
        let max_states = self.budget.max_states();
        let chunks = split_into_chunks(&self.layers, chunk_size(width, sharing));
        let shards = &mut self.shards;
        let run = &mut self.run;
        let found = &mut self.found;
        let mut buffered = 0u64;
        let mut stop = false;
        let batches = chunks.chunks(chunks_per_batch).count();
        let mut unexpanded = false;
        let large = &mut self.large_buffers;
        let threads = model.threads();
        for (b, batch) in chunks.chunks(chunks_per_batch).enumerate() {
            gather_large(shards, large, 2 * CHUNK * threads / SHARDS);
            let buffers: Vec<Vec<Vec<Successor<M::State>>>> = batch
                .iter()
                .map(|chunk| {
                    let home = |k: usize| chunk.iter().any(|&(shard, _)| shard == k);
                    shards
                        .iter_mut()
                        .enumerate()
                        .map(|(k, s)| successor_buffer(s, large, home(k)))
                        .collect()
                })
                .collect();
            let expand = |(chunk, buckets): (&Chunk<'_, M::State>, _)| {
                expand_chunk(model, chunk, depth, ranked.expanding(), reduce, buckets)
            };
            let outs: Vec<ChunkOut<M::State>> = match layer_pool {
                Some(pool) => pool.install(|| batch.par_iter().zip(buffers).map(expand).collect()),
                None => batch.iter().zip(buffers).map(expand).collect(),
            };
            for mut out in outs {
                run.transitions += out.transitions;
                found.append(&mut out.terminals);
                for (shard, bucket) in shards.iter_mut().zip(out.buckets) {
                    buffered += bucket.len() as u64;
                    if bucket.is_empty() {
                        shard.spare.push(bucket);
                    } else {
                        shard.incoming.push(bucket);
                    }
                }
            }
            // Merging as soon as enough successors wait bounds the memory they take; the
            // shards' tables persist across merges of the same layer.
            if buffered >= MERGE_EVERY {
                merge_all(shards, &ranked.building, layer_pool);
                buffered = 0;
                run.distinct = distinct(shards);
            }
            // Unmerged successors bound the new distinct states from above, so stopping on
            // them never overshoots the state limit by more than one batch.
            let bound = run.distinct + buffered;
            if max_states.is_some_and(|m| bound >= m)
                || !self.budget.check(run.distinct, run.transitions, self.depth)
            {
                stop = true;
                unexpanded = b + 1 < batches;
                break;
            }
        }
        drop(chunks);
        end_layer_all(
            &mut self.shards,
            &mut self.layers,
            &mut self.ranked,
            layer_pool,
        );
        self.depth += 1;
        if stop {
            self.run.distinct = distinct(&self.shards);
            self.budget
                .check(self.run.distinct, self.run.transitions, self.depth);
            let unfinished = unexpanded || self.layers.iter().any(|l| !l.is_empty());
            self.budget.stop_if_unfinished(unfinished);
        }
        !stop
    }

    fn finish(mut self) -> BfsRun<M::State> {
        let ranked = &self.ranked;
        self.run.terminals = self.found.drain(..).map(|t| ranked.found(t)).collect();
        self.run.nonuniform = self.shards.iter().any(|s| s.nonuniform);
        self.run.visited_bytes = self.shards.iter().map(|s| s.visited.bytes()).sum();
        self.run
    }
}

#[cfg(test)]
mod tests {
    use crate::toy::{Program, ProgramState};
    use crate::{explore, Config, Execution};

    /// Everything a complete search reports that must not depend on how it was run.
    fn outcome(model: &Program, c: Config) -> (u64, u64, Vec<(ProgramState, u128, Execution)>) {
        let r = explore(model, &c).expect("explorable");
        assert!(r.complete && r.executions_exact);
        let t = r
            .terminals
            .iter()
            .map(|t| (t.state, t.executions, t.witness.clone()))
            .collect();
        (r.distinct_states, r.transitions, t)
    }

    #[test]
    fn merges_within_a_layer_give_the_same_results() {
        let model = Program::mixed(3, 5, 2);
        let key = |c: Config| outcome(&model, c);
        let reference = key(Config::default().depth_first());
        assert!(reference.0 > 1000);
        assert_eq!(key(Config::default()), reference);
        assert_eq!(key(Config::default().workers(2)), reference);
    }

    #[test]
    fn layers_shared_by_two_workers_give_the_same_results() {
        let model = Program::counter(3, 3);
        let key = |c: Config| outcome(&model, c);
        let one = key(Config::default());
        // Wide enough that some layers are expanded and merged by both workers.
        assert!(one.0 as usize > 16 * super::PARALLEL_LAYER, "{}", one.0);
        assert_eq!(key(Config::default().workers(2)), one);
    }
}
