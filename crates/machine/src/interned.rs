//! The machine as the explorer sees it: a state is the id of its kernel and one id per
//! thread state, and every kernel and thread state is interned (equal values get one id).
//!
//! Why: a thread's step reads and writes only the kernel and that thread's own state, never
//! the other threads. Interleavings that differ only in where the other threads stand ask for
//! the same step again and again; with ids, the step is looked up in a table instead of run.
//! In the benchmark family, 3 to 8 of every 10 transitions are such repeats. And a state of
//! a few ids is copied, hashed and compared in a few nanoseconds, where a full state would
//! mean cloning and hashing a kernel.
//!
//! It is a cache, not an approximation: ids are canonical (interning compares whole values,
//! not hashes), so two states have the same ids exactly when their kernels and thread states
//! are equal, and a remembered step is exactly the step. The explorer's own fingerprints are
//! taken over the ids. The price is memory: every distinct kernel and thread state reached
//! is kept until the view is dropped ([`Interned::memory`] reports it).
//!
//! Ids depend on the order in which values were first met, which differs between runs with
//! several workers; nothing the explorer reports depends on ids (terminal states are
//! resolved back to full [`State`]s, witnesses are ordered by their thread sequences).

use crate::build::Machine;
use crate::state::{State, ThreadState};
use mmlab_drivers::Model as Kernel;
use mmlab_explore::Model;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Lock shards of the tables (two workers rarely meet on one).
const SHARDS: usize = 64;

type Hasher = foldhash::fast::FixedState;

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    Hasher::with_seed(0x6d6d_6c61_625f_6964).hash_one(value)
}

/// One lock-sharded table.
type Sharded<K, V> = Box<[Mutex<HashMap<K, V, Hasher>>]>;

/// Values stored once each, addressed by id. Reading is lock-free; interning locks one shard.
struct Arena<T> {
    items: boxcar::Vec<T>,
    /// Hash of a value → ids of the stored values with that hash.
    index: Sharded<u64, SmallVec<[usize; 1]>>,
}

impl<T: Hash + Eq> Arena<T> {
    fn new() -> Self {
        Arena {
            items: boxcar::Vec::new(),
            index: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn get(&self, id: usize) -> Option<&T> {
        self.items.get(id)
    }

    /// The id of the stored value equal to `value`, storing it if it is new.
    fn intern(&self, value: T) -> usize {
        let hash = hash_of(&value);
        // Holding the shard's lock while pushing keeps ids canonical: a racing intern of an
        // equal value has the same hash, so it waits here and then finds this one.
        let Ok(mut shard) = self.index[hash as usize % SHARDS].lock() else {
            // Only a panic elsewhere poisons the lock. A fresh id is still a correct state,
            // merely not shared with its equals.
            return self.items.push(value);
        };
        let ids = shard.entry(hash).or_default();
        if let Some(&id) = ids.iter().find(|&&id| self.items.get(id) == Some(&value)) {
            return id;
        }
        let id = self.items.push(value);
        ids.push(id);
        id
    }

    fn len(&self) -> usize {
        self.items.count()
    }
}

/// A state of the machine by ids: its kernel, then each thread's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Packed {
    kernel: usize,
    threads: SmallVec<[usize; 4]>,
}

/// Which step: from which kernel and thread state, by which thread.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct StepKey {
    kernel: usize,
    tstate: usize,
    thread: usize,
}

/// Table sizes, for reporting the memory the view holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct InternedStats {
    /// Distinct kernels stored.
    pub kernels: usize,
    /// Distinct thread states stored.
    pub thread_states: usize,
    /// Steps computed (each once).
    pub steps_run: u64,
    /// Steps answered from the table.
    pub steps_remembered: u64,
}

/// The explorer's view of one machine. States it hands out belong to it.
pub struct Interned<'m> {
    machine: &'m Machine,
    kernels: Arena<Kernel>,
    tstates: Arena<ThreadState>,
    steps: Sharded<StepKey, (usize, usize)>,
    run: AtomicU64,
    remembered: AtomicU64,
}

impl<'m> Interned<'m> {
    pub fn new(machine: &'m Machine) -> Self {
        Interned {
            machine,
            kernels: Arena::new(),
            tstates: Arena::new(),
            steps: (0..SHARDS).map(|_| Mutex::default()).collect(),
            run: AtomicU64::new(0),
            remembered: AtomicU64::new(0),
        }
    }

    /// The full state behind `p` (`None` only for a state from another view).
    pub fn resolve(&self, p: &Packed) -> Option<State> {
        let kernel = self.kernels.get(p.kernel)?.clone();
        let threads = p
            .threads
            .iter()
            .map(|&id| self.tstates.get(id).cloned())
            .collect::<Option<Vec<_>>>()?;
        Some(State { kernel, threads })
    }

    pub fn stats(&self) -> InternedStats {
        InternedStats {
            kernels: self.kernels.len(),
            thread_states: self.tstates.len(),
            steps_run: self.run.load(Ordering::Relaxed),
            steps_remembered: self.remembered.load(Ordering::Relaxed),
        }
    }

    /// The kernel and thread state after `thread` steps from (`kernel`, `tstate`).
    fn step_ids(&self, key: StepKey) -> Option<(usize, usize)> {
        let shard = &self.steps[hash_of(&key) as usize % SHARDS];
        if let Some(&known) = shard.lock().ok()?.get(&key) {
            self.remembered.fetch_add(1, Ordering::Relaxed);
            return Some(known);
        }
        self.run.fetch_add(1, Ordering::Relaxed);
        let mut kernel = self.kernels.get(key.kernel)?.clone();
        let mut t = self.tstates.get(key.tstate)?.clone();
        self.machine.step_thread(&mut kernel, &mut t, key.thread);
        let ids = (self.kernels.intern(kernel), self.tstates.intern(t));
        shard.lock().ok()?.insert(key, ids);
        Some(ids)
    }

    fn enabled_ids(&self, kernel: &Kernel, p: &Packed, thread: usize) -> bool {
        let Some(t) = p.threads.get(thread).and_then(|&id| self.tstates.get(id)) else {
            return false;
        };
        self.machine.thread_enabled(kernel, t, thread)
    }
}

impl Model for Interned<'_> {
    type State = Packed;

    fn init_states(&self) -> Vec<Packed> {
        let init = &self.machine.init;
        vec![Packed {
            kernel: self.kernels.intern(init.kernel.clone()),
            threads: init
                .threads
                .iter()
                .map(|t| self.tstates.intern(t.clone()))
                .collect(),
        }]
    }

    fn threads(&self) -> usize {
        self.machine.threads.len()
    }

    fn enabled(&self, p: &Packed, thread: usize) -> bool {
        self.kernels
            .get(p.kernel)
            .is_some_and(|k| self.enabled_ids(k, p, thread))
    }

    fn step(&self, p: &Packed, thread: usize) -> Packed {
        let mut next = p.clone();
        let Some(&tstate) = p.threads.get(thread) else {
            return next;
        };
        let key = StepKey {
            kernel: p.kernel,
            tstate,
            thread,
        };
        let Some((kernel, tstate)) = self.step_ids(key) else {
            return next;
        };
        next.kernel = kernel;
        next.threads[thread] = tstate;
        let Some(k) = self.kernels.get(kernel) else {
            return next;
        };
        if (0..next.threads.len()).all(|i| !self.enabled_ids(k, &next, i)) {
            let mut settled = k.clone();
            let threads = next.threads.iter().filter_map(|&id| self.tstates.get(id));
            self.machine.settle_terminal(&mut settled, threads);
            next.kernel = self.kernels.intern(settled);
        }
        next
    }

    fn thread_label(&self, thread: usize) -> String {
        self.machine.thread_label(thread)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmlab_explore::{explore, Config};
    use mmlab_mm::KernelConfig;

    fn machine(source: &str) -> Machine {
        let test = mmlab_litmus::parse(source).expect("parses");
        Machine::new(&test, KernelConfig::parse("5.11").expect("5.11")).expect("sets up")
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
    fn same_terminals_as_the_full_states() {
        let m = machine(&crate::family::scenario(3, 4));
        let view = Interned::new(&m);
        let full = explore(&m, &Config::default()).expect("explores");
        let packed = explore(&view, &Config::default())
            .expect("explores")
            .map_states(|p| view.resolve(&p).expect("own state"));
        assert_eq!(full.distinct_states, packed.distinct_states);
        assert_eq!(full.transitions, packed.transitions);
        let key = |x: &mmlab_explore::Exploration<State>| {
            x.terminals
                .iter()
                .map(|t| (t.state.clone(), t.executions, t.witness.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&full), key(&packed));
        let stats = view.stats();
        assert!(stats.steps_remembered > 0, "{stats:?}");
        assert_eq!(stats.steps_run + stats.steps_remembered, packed.transitions);
    }
}
