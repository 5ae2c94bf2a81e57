//! Models made of one shared part and one local part per thread, where a thread's step reads
//! and writes only the shared part and its own local part ([`Modular`]). Concurrent programs
//! are like this: threads talk only through shared memory (for mmlab, the kernel).
//!
//! The explorer uses the structure in two ways ([`explore_modular`]):
//! - **Interning.** Every shared part and every local part is stored once and named by an id;
//!   a state is a few ids ([`Packed`]), copied, hashed and compared in nanoseconds whatever
//!   the size of the parts.
//! - **Remembered steps.** A step depends only on (shared id, the thread's local id, thread),
//!   so interleavings that differ only in where the other threads stand ask for a step already
//!   taken; it is looked up instead of run.
//! - **Summaries.** Beside the shared part's id, a state keeps the few facts about it that
//!   deciding which threads can step needs most ([`Modular::Summary`]), so that at scale a
//!   state's stored shared part (a cache miss) is seldom read just to ask that.
//!
//! Both are exact: interning compares whole values (hashes only find candidates), so two states
//! get the same ids exactly when they are equal, and a remembered step is the step. The price is
//! memory: every distinct part reached is kept until the search ends ([`ModularStats`]).

mod locals;

use crate::fingerprint::Fingerprint;
use crate::{explore, skipped, Config, Exploration, ExploreError, Model};
use locals::Locals;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A model whose threads share one part of the state and own the rest.
pub trait Modular: Sync {
    type Shared: Clone + Hash + Eq + Send + Sync + Debug;
    type Local: Clone + Hash + Eq + Send + Sync + Debug;
    /// Whatever the model keeps to let the shared parts it hands out share their own
    /// sub-parts (`()` if nothing); the explorer makes one per search.
    type Parts: Default + Sync;

    /// Initial states: the shared part and one local part per thread.
    fn init_states(&self) -> Vec<(Self::Shared, Vec<Self::Local>)>;

    fn threads(&self) -> usize;

    /// The few facts about a shared part that [`Modular::enabled`] reads most (`()` if
    /// none): the explorer keeps them beside the part's id in every state, so that deciding
    /// which threads can step seldom reads the part itself.
    type Summary: Copy + Eq + Send + Sync + Debug;

    /// The summary of `shared` (a function of its value).
    fn summary(&self, shared: &Self::Shared) -> Self::Summary;

    /// Whether `thread`, in local state `local`, can step. `summary` is the shared part's
    /// summary and `shared` gives the part; a model should ask for it only when neither the
    /// local part nor the summary decides: at scale, reading a stored shared part is a cache
    /// miss.
    fn enabled<'s>(
        &self,
        summary: Self::Summary,
        shared: impl FnOnce() -> Option<&'s Self::Shared>,
        local: &Self::Local,
        thread: usize,
    ) -> bool
    where
        Self::Shared: 's;

    /// `thread`'s next step (only called when enabled). Must read nothing but its arguments.
    fn step(&self, shared: &mut Self::Shared, local: &mut Self::Local, thread: usize);

    /// Called on every new shared part before the explorer stores it: the model may replace
    /// sub-parts by equal ones kept in `parts` (hash-consing), so that the stored parts share
    /// memory. It must leave the value equal to what it was.
    fn share_parts(&self, _parts: &Self::Parts, _shared: &mut Self::Shared) {}

    /// Applied to a state in which no thread is enabled, before it counts as terminal (what
    /// the system does once everything stopped). The default does nothing.
    fn settle(&self, _shared: &mut Self::Shared, _locals: &[&Self::Local]) {}

    fn thread_label(&self, thread: usize) -> String {
        format!("T{thread}")
    }
}

/// Lock shards of the tables: two workers rarely want the same one. As many as the search's
/// shards, so that a search shard's states find their steps in one step-table shard
/// ([`Model::locality`]).
const SHARDS: usize = crate::visited::SHARDS;

type Hasher = foldhash::fast::FixedState;

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    Hasher::with_seed(0x6d6d_6c61_625f_6964).hash_one(value)
}

/// One lock shard, alone on its cache lines: two workers locking neighbouring shards would
/// otherwise pass one line back and forth.
#[repr(align(128))]
#[derive(Default)]
struct Shard<K, V>(Mutex<HashMap<K, V, Hasher>>);

type Sharded<K, V> = Box<[Shard<K, V>]>;

fn sharded<K, V>() -> Sharded<K, V> {
    (0..SHARDS).map(|_| Shard(Mutex::default())).collect()
}

fn shard<K, V>(table: &Sharded<K, V>, hash: u64) -> &Mutex<HashMap<K, V, Hasher>> {
    &table[hash as usize % SHARDS].0
}

/// A stored part's id. 32 bits keep states and remembered steps small (they are copied and
/// buffered on every transition); a search would run out of memory long before it stored
/// four billion parts, and if one did, [`Arena::intern`] says so rather than wrap.
type Id = u32;

/// What [`Arena::intern`] returns once every id is taken: no stored part has it, so states
/// holding it have no successors, and [`explore_modular`] reports the search as failed.
const NO_ID: Id = Id::MAX;

/// Values stored once each, addressed by id. Reading is lock-free; interning locks one shard.
struct Arena<T> {
    items: boxcar::Vec<T>,
    /// Hash of a value → ids of the stored values with that hash.
    index: Sharded<u64, SmallVec<[Id; 1]>>,
    /// Set when a value could not be given an id.
    full: AtomicBool,
}

impl<T: Hash + Eq> Arena<T> {
    fn new() -> Self {
        Arena {
            items: boxcar::Vec::new(),
            index: sharded(),
            full: AtomicBool::new(false),
        }
    }

    fn get(&self, id: Id) -> Option<&T> {
        if id == NO_ID {
            return None;
        }
        self.items.get(id as usize)
    }

    /// The id of the stored value equal to `value`, storing it if it is new.
    fn intern(&self, value: T) -> Id {
        self.intern_with(value, |_| {})
    }

    /// [`Arena::intern`], calling `prepare` on a value about to be stored (it must leave the
    /// value equal to what it was).
    fn intern_with(&self, mut value: T, prepare: impl FnOnce(&mut T)) -> Id {
        let hash = hash_of(&value);
        // Holding the shard's lock while pushing keeps ids canonical: a racing intern of an
        // equal value has the same hash, so it waits here and then finds this one.
        let Ok(mut shard) = shard(&self.index, hash).lock() else {
            // Only a panic elsewhere poisons a lock. A fresh id is still a correct state,
            // merely not shared with its equals.
            return self.id_of(self.items.push(value));
        };
        let ids = shard.entry(hash).or_default();
        if let Some(&id) = ids.iter().find(|&&id| self.get(id) == Some(&value)) {
            return id;
        }
        prepare(&mut value);
        let id = self.id_of(self.items.push(value));
        if id != NO_ID {
            ids.push(id);
        }
        id
    }

    /// The id for the value stored at `index`, or [`NO_ID`] (noting it) if ids ran out.
    fn id_of(&self, index: usize) -> Id {
        match Id::try_from(index) {
            Ok(id) if id != NO_ID => id,
            _ => {
                self.full.store(true, Ordering::Relaxed);
                NO_ID
            }
        }
    }

    fn len(&self) -> usize {
        self.items.count()
    }
}

/// A state by ids: the shared part's (with its summary), then each thread's local part's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed<Summary> {
    shared: Id,
    summary: Summary,
    locals: Locals,
}

/// The ids folded into one word first (a multiply and a rotate per id), which the hasher then
/// finishes: a successor's fingerprint is computed on every transition, and hashing the ids as
/// a byte slice cost about a hundred instructions. (The summary is a function of the shared
/// part, so it need not be hashed.)
impl<Summary> Hash for Packed<Summary> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut h = u64::from(self.shared).wrapping_mul(K);
        for &id in self.locals.iter() {
            h = (h ^ u64::from(id)).wrapping_mul(K).rotate_left(29);
        }
        state.write_u64(h);
    }
}

/// Which step: from which shared and local part, by which thread.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct StepKey {
    shared: Id,
    local: Id,
    thread: usize,
}

/// The parts a step leads to: the shared part's id and summary, the local part's id.
#[derive(Clone, Copy)]
struct StepIds<Summary> {
    shared: Id,
    summary: Summary,
    local: Id,
    /// The stepping thread can step again from there (then the successor is not stopped,
    /// whatever the other threads do: a state's successors need not ask them).
    again: bool,
}

/// What the interned tables held at the end of a search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModularStats {
    /// Distinct shared parts stored.
    pub shared_parts: usize,
    /// Distinct local parts stored.
    pub local_parts: usize,
    /// Distinct steps, each run by the model once (two workers racing for the same new step
    /// may both run it); every other transition was looked up.
    pub steps_run: u64,
}

/// A [`Modular`] model seen as a plain [`Model`] over [`Packed`] states.
pub struct Interned<'m, M: Modular> {
    model: &'m M,
    parts: M::Parts,
    shared: Arena<M::Shared>,
    locals: Arena<M::Local>,
    steps: Sharded<StepKey, StepIds<M::Summary>>,
}

impl<'m, M: Modular> Interned<'m, M> {
    pub fn new(model: &'m M) -> Self {
        Interned {
            model,
            parts: M::Parts::default(),
            shared: Arena::new(),
            locals: Arena::new(),
            steps: sharded(),
        }
    }

    /// The parts behind `p` (`None` only for a state from another view).
    pub fn resolve(&self, p: &Packed<M::Summary>) -> Option<(M::Shared, Vec<M::Local>)> {
        let shared = self.shared.get(p.shared)?.clone();
        let locals = p
            .locals
            .iter()
            .map(|&id| self.locals.get(id).cloned())
            .collect::<Option<Vec<_>>>()?;
        Some((shared, locals))
    }

    pub fn stats(&self) -> ModularStats {
        ModularStats {
            shared_parts: self.shared.len(),
            local_parts: self.locals.len(),
            // Counted at the end rather than per step: a shared counter would be a cache line
            // the workers pass back and forth on every transition.
            steps_run: self
                .steps
                .iter()
                .filter_map(|s| s.0.lock().ok().map(|m| m.len() as u64))
                .sum(),
        }
    }

    /// The step table's shard for steps from shared part `shared`: all of a state's steps
    /// are in one shard, so [`Model::successors`] looks them up under one lock.
    fn step_shard(&self, shared: Id) -> &Mutex<HashMap<StepKey, StepIds<M::Summary>, Hasher>> {
        shard(&self.steps, u64::from(shared))
    }

    /// The shared and local ids after the step `key`.
    fn step_ids(&self, key: StepKey) -> Option<StepIds<M::Summary>> {
        let known = self.step_shard(key.shared).lock().ok()?.get(&key).copied();
        match known {
            Some(ids) => Some(ids),
            None => self.run_step(key),
        }
    }

    /// Runs the step `key` in the model and remembers its outcome.
    fn run_step(&self, key: StepKey) -> Option<StepIds<M::Summary>> {
        let before = self.shared.get(key.shared)?;
        let mut shared = before.clone();
        let mut local = self.locals.get(key.local)?.clone();
        self.model.step(&mut shared, &mut local, key.thread);
        // Many steps leave the shared part as it was (a read, a walk step). Comparing with
        // the part it came from is cheap when its sub-parts are shared (pointer
        // comparisons) and spares hashing and looking up the whole value.
        let (shared, summary) = if shared == *before {
            (key.shared, self.model.summary(before))
        } else {
            self.intern_shared(shared)
        };
        let local = self.locals.intern(local);
        let ids = StepIds {
            shared,
            summary,
            local,
            again: self.local_enabled(shared, summary, local, key.thread),
        };
        self.step_shard(key.shared).lock().ok()?.insert(key, ids);
        Some(ids)
    }

    /// The state after `thread` of `p` stepped to the parts `ids`, settled if that stopped
    /// every thread.
    fn successor(
        &self,
        p: &Packed<M::Summary>,
        thread: usize,
        ids: StepIds<M::Summary>,
    ) -> Packed<M::Summary> {
        let mut next = p.clone();
        next.shared = ids.shared;
        next.summary = ids.summary;
        if let Some(l) = next.locals.get_mut(thread) {
            *l = ids.local;
        }
        let stopped = !ids.again
            && next
                .locals
                .iter()
                .enumerate()
                .all(|(t, &l)| !self.local_enabled(ids.shared, ids.summary, l, t));
        if stopped {
            let Some(s) = self.shared.get(ids.shared) else {
                return next;
            };
            let mut settled = s.clone();
            let locals: Vec<&M::Local> = next
                .locals
                .iter()
                .filter_map(|&id| self.locals.get(id))
                .collect();
            self.model.settle(&mut settled, &locals);
            (next.shared, next.summary) = self.intern_shared(settled);
        }
        next
    }

    /// Interns a shared part, whose sub-parts the model shares once it is known to be new
    /// (most interned values are found stored already).
    fn intern_shared(&self, shared: M::Shared) -> (Id, M::Summary) {
        let summary = self.model.summary(&shared);
        let id = self
            .shared
            .intern_with(shared, |s| self.model.share_parts(&self.parts, s));
        (id, summary)
    }

    /// Whether `thread`, with local part `local`, can step on the shared part `shared`.
    fn local_enabled(&self, shared: Id, summary: M::Summary, local: Id, thread: usize) -> bool {
        self.locals.get(local).is_some_and(|l| {
            self.model
                .enabled(summary, || self.shared.get(shared), l, thread)
        })
    }
}

impl<M: Modular> Model for Interned<'_, M> {
    type State = Packed<M::Summary>;

    fn init_states(&self) -> Vec<Packed<M::Summary>> {
        self.model
            .init_states()
            .into_iter()
            .map(|(shared, locals)| {
                let (shared, summary) = self.intern_shared(shared);
                Packed {
                    shared,
                    summary,
                    locals: locals.into_iter().map(|l| self.locals.intern(l)).collect(),
                }
            })
            .collect()
    }

    fn threads(&self) -> usize {
        self.model.threads()
    }

    fn enabled(&self, p: &Packed<M::Summary>, thread: usize) -> bool {
        p.locals
            .get(thread)
            .is_some_and(|&local| self.local_enabled(p.shared, p.summary, local, thread))
    }

    fn step(&self, p: &Packed<M::Summary>, thread: usize) -> Packed<M::Summary> {
        let Some(&local) = p.locals.get(thread) else {
            return p.clone();
        };
        let key = StepKey {
            shared: p.shared,
            local,
            thread,
        };
        match self.step_ids(key) {
            Some(ids) => self.successor(p, thread, ids),
            None => p.clone(),
        }
    }

    /// Looks up all of the state's remembered steps under one lock, then runs the others.
    ///
    /// Steps that leave the shared part as it was are named pairwise independent: each reads
    /// and writes only the shared part and its own thread's part, so two of them commute, and
    /// neither changes what decides whether the other is enabled.
    fn successors(
        &self,
        p: &Packed<M::Summary>,
        skip: u64,
        each: &mut dyn FnMut(usize, Packed<M::Summary>, u64),
    ) -> bool {
        let mut any_enabled = false;
        // Skipped threads' steps are looked up too (never run), for the independent set.
        // Each enabled thread's step, whether to take it, and where it leads once known.
        type Pending<S> = (StepKey, bool, Option<StepIds<S>>);
        let mut steps: SmallVec<[Pending<M::Summary>; 8]> = SmallVec::new();
        for (thread, &local) in p.locals.iter().enumerate() {
            let enabled = self.local_enabled(p.shared, p.summary, local, thread);
            any_enabled |= enabled;
            if enabled {
                let key = StepKey {
                    shared: p.shared,
                    local,
                    thread,
                };
                steps.push((key, !skipped(skip, thread), None));
            }
        }
        if !steps.is_empty() {
            let Ok(table) = self.step_shard(p.shared).lock() else {
                return false;
            };
            for (key, _, known) in steps.iter_mut() {
                *known = table.get(key).copied();
            }
        }
        let mut commuting = 0u64;
        for (key, take, known) in steps.iter_mut() {
            if *take && known.is_none() {
                *known = self.run_step(*key);
            }
            if key.thread < 64 && known.is_some_and(|ids| ids.shared == key.shared) {
                commuting |= 1 << key.thread;
            }
        }
        for &(key, take, known) in &steps {
            if let (true, Some(ids)) = (take, known) {
                each(key.thread, self.successor(p, key.thread, ids), commuting);
            }
        }
        any_enabled
    }

    /// A state's shard is its shared part's step-table shard: a search expands one shard's
    /// states together, and all their remembered steps are then in one step-table shard,
    /// which stays in cache (at scale, a step look-up elsewhere is a cache miss).
    fn locality(&self, p: &Packed<M::Summary>, _fp: Fingerprint) -> u64 {
        u64::from(p.shared)
    }

    fn thread_label(&self, thread: usize) -> String {
        self.model.thread_label(thread)
    }
}

/// The result of [`explore_modular`]: the exploration over whole states, and the tables' sizes.
pub struct ModularExploration<M: Modular> {
    pub exploration: Exploration<(M::Shared, Vec<M::Local>)>,
    pub stats: ModularStats,
}

/// Explores a [`Modular`] model with interned parts and remembered steps. Terminal states are
/// returned whole. Everything else is as [`explore`] says.
pub fn explore_modular<M: Modular>(
    model: &M,
    config: &Config,
) -> Result<ModularExploration<M>, ExploreError> {
    let view = Interned::new(model);
    let x = explore(&view, config)?;
    let stats = view.stats();
    if view.shared.full.load(Ordering::Relaxed) || view.locals.full.load(Ordering::Relaxed) {
        return Err(ExploreError::TooManyParts { max: NO_ID as u64 });
    }
    // Every state the view hands out resolves; a terminal that did not would be dropped.
    let exploration = x.filter_map_states(|p| view.resolve(&p));
    Ok(ModularExploration { exploration, stats })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads do `tmp = x; x = tmp + 1` `rounds` times: a lost-update race.
    struct Race {
        threads: usize,
        rounds: u8,
        /// Threads below this one start finished.
        first_active: usize,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Local {
        pc: u8,
        tmp: u8,
    }

    impl Modular for Race {
        type Shared = u8;
        type Local = Local;
        type Parts = ();
        fn init_states(&self) -> Vec<(u8, Vec<Local>)> {
            let local = |t| Local {
                pc: if t < self.first_active {
                    2 * self.rounds
                } else {
                    0
                },
                tmp: 0,
            };
            vec![(0, (0..self.threads).map(local).collect())]
        }
        fn threads(&self) -> usize {
            self.threads
        }
        type Summary = ();
        fn summary(&self, _: &u8) {}
        fn enabled<'s>(
            &self,
            _: (),
            _: impl FnOnce() -> Option<&'s u8>,
            l: &Local,
            _: usize,
        ) -> bool {
            l.pc < 2 * self.rounds
        }
        fn step(&self, x: &mut u8, l: &mut Local, _: usize) {
            if l.pc.is_multiple_of(2) {
                l.tmp = *x;
            } else {
                *x = l.tmp + 1;
            }
            l.pc += 1;
        }
        fn settle(&self, x: &mut u8, _: &[&Local]) {
            *x += 100;
        }
    }

    /// The same model over whole states, as a plain [`Model`].
    struct Whole(Race);

    impl Model for Whole {
        type State = (u8, Vec<Local>);
        fn init_states(&self) -> Vec<Self::State> {
            Modular::init_states(&self.0)
        }
        fn threads(&self) -> usize {
            self.0.threads
        }
        fn enabled(&self, s: &Self::State, t: usize) -> bool {
            Modular::enabled(&self.0, (), || Some(&s.0), &s.1[t], t)
        }
        fn step(&self, s: &Self::State, t: usize) -> Self::State {
            let mut n = s.clone();
            Modular::step(&self.0, &mut n.0, &mut n.1[t], t);
            if (0..self.0.threads).all(|i| !Model::enabled(self, &n, i)) {
                let locals: Vec<&Local> = n.1.iter().collect();
                let mut x = n.0;
                self.0.settle(&mut x, &locals);
                n.0 = x;
            }
            n
        }
    }

    #[test]
    fn same_graph_terminals_counts_and_witnesses_as_whole_states() {
        // The last case has many threads, most of them finished from the start.
        for (threads, rounds, first_active) in [(2, 1, 0), (3, 2, 0), (4, 2, 0), (67, 1, 63)] {
            let race = || Race {
                threads,
                rounds,
                first_active,
            };
            let modular = explore_modular(&race(), &Config::default()).expect("explores");
            let whole = explore(&Whole(race()), &Config::default()).expect("explores");
            let x = &modular.exploration;
            assert_eq!(
                (x.distinct_states, x.transitions),
                (whole.distinct_states, whole.transitions)
            );
            let ends = |e: &Exploration<(u8, Vec<Local>)>| -> Vec<_> {
                e.terminals
                    .iter()
                    .map(|t| (t.state.clone(), t.executions, t.witness.clone()))
                    .collect()
            };
            assert_eq!(ends(x), ends(&whole));
            // Every terminal was settled.
            assert!(x.terminals.iter().all(|t| t.state.0 >= 100));
            // Some transitions were looked up rather than run.
            let s = modular.stats;
            assert!(s.steps_run > 0 && s.steps_run < x.transitions, "{s:?}");
        }
    }

    #[test]
    fn steps_keeping_the_shared_part_are_reduced_as_independent() {
        // Reading x (`tmp = x`) keeps the shared part: two threads' reads commute.
        let race = Race {
            threads: 3,
            rounds: 2,
            first_active: 0,
        };
        let full = explore_modular(&race, &Config::default()).expect("explores");
        for workers in [1, 2] {
            let config = Config::default().reduction(true).workers(workers);
            let reduced = explore_modular(&race, &config).expect("explores");
            let (f, r) = (&full.exploration, &reduced.exploration);
            assert_eq!(r.distinct_states, f.distinct_states);
            // The same terminal states; their order (by witness) may differ.
            let states = |e: &Exploration<(u8, Vec<Local>)>| -> std::collections::HashSet<_> {
                e.terminals.iter().map(|t| t.state.clone()).collect()
            };
            assert_eq!(states(r), states(f));
            assert!(
                r.transitions < f.transitions,
                "{} of {}",
                r.transitions,
                f.transitions
            );
            assert!(r.reduced && !r.executions_exact);
        }
    }

    #[test]
    fn an_arena_out_of_ids_says_so() {
        let arena: Arena<u8> = Arena::new();
        assert_eq!(arena.id_of(5), 5);
        assert!(!arena.full.load(Ordering::Relaxed));
        assert_eq!(arena.id_of(NO_ID as usize), NO_ID);
        assert!(arena.full.load(Ordering::Relaxed));
        assert_eq!(arena.get(NO_ID), None);
    }

    #[test]
    fn equal_values_get_one_id() {
        let arena = Arena::new();
        let a = arena.intern(vec![1, 2]);
        let b = arena.intern(vec![1, 3]);
        assert_ne!(a, b);
        assert_eq!(arena.intern(vec![1, 2]), a);
        assert_eq!(arena.len(), 2);
    }

    #[test]
    fn two_workers_give_the_same_results() {
        let race = Race {
            threads: 4,
            rounds: 2,
            first_active: 0,
        };
        let key = |workers| {
            let x = explore_modular(&race, &Config::default().workers(workers))
                .expect("explores")
                .exploration;
            let ends: Vec<_> = x
                .terminals
                .iter()
                .map(|t| (t.state.clone(), t.executions, t.witness.clone()))
                .collect();
            (x.distinct_states, x.transitions, ends)
        };
        assert_eq!(key(1), key(2));
    }
}
