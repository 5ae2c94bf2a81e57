//! `Shared<T>`: a copy-on-write part of the state with a cached hash. Cloning a state copies
//! pointers, not the parts an operation did not touch, and hashing a state (which the
//! explorer does for every successor) reads one cached number per untouched part. Equality
//! and hashing mean exactly what they mean for `T`: the cache is only an acceleration.
//!
//! A [`PartTable`] stores equal parts once (hash-consing): states kept by a search share every
//! part they have in common, however each was reached, and comparing two such states is a
//! pointer comparison per part.

use serde::{Serialize, Serializer};
use std::collections::hash_map::{Entry, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

struct Inner<T> {
    value: T,
    /// The value's hash once computed, else [`UNKNOWN`]. Racing computations store the same
    /// number, so a plain atomic is enough.
    hash: AtomicU64,
    /// The [`PartTable`] holding this very allocation as its part for the value, if any
    /// (0: none), so that sharing an already shared part costs one load.
    table: AtomicU32,
}

/// A copy is a new allocation: no table holds it.
impl<T: Clone> Clone for Inner<T> {
    fn clone(&self) -> Self {
        Inner {
            value: self.value.clone(),
            hash: AtomicU64::new(self.hash.load(Ordering::Relaxed)),
            table: AtomicU32::new(NO_TABLE),
        }
    }
}

const NO_TABLE: u32 = 0;
const UNKNOWN: u64 = 0;

/// A copy-on-write, hash-caching wrapper.
pub struct Shared<T>(Arc<Inner<T>>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Shared(Arc::new(Inner {
            value,
            hash: AtomicU64::new(UNKNOWN),
            table: AtomicU32::new(NO_TABLE),
        }))
    }
}

impl<T> Shared<T> {
    /// The hash, if it was computed already.
    fn known_hash(&self) -> Option<u64> {
        Some(self.0.hash.load(Ordering::Relaxed)).filter(|&h| h != UNKNOWN)
    }
}

impl<T: Hash> Shared<T> {
    fn cached_hash(&self) -> u64 {
        if let Some(known) = self.known_hash() {
            return known;
        }
        // A fixed seed: the same value hashes the same in every run and on every worker. A
        // hash of 0 is moved to 1, which keeps equal values' hashes equal.
        let hash = foldhash::quality::FixedState::with_seed(SEED)
            .hash_one(&self.0.value)
            .max(1);
        self.0.hash.store(hash, Ordering::Relaxed);
        hash
    }
}

const SEED: u64 = 0x6d6d_6c61_625f_7368; // "mmlab_sh"

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.value
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        let inner = Arc::make_mut(&mut self.0);
        *inner.hash.get_mut() = UNKNOWN;
        *inner.table.get_mut() = NO_TABLE;
        &mut inner.value
    }
}

impl<T: Hash> Hash for Shared<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.cached_hash());
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        if Arc::ptr_eq(&self.0, &other.0) {
            return true;
        }
        // Equal values hash equally: differing hashes, once both are known, settle it.
        if let (Some(a), Some(b)) = (self.known_hash(), other.known_hash()) {
            if a != b {
                return false;
            }
        }
        self.0.value == other.0.value
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T: Default> Default for Shared<T> {
    fn default() -> Self {
        Shared::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.value.fmt(f)
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.value.serialize(s)
    }
}

/// Lock shards of a [`PartTable`], so that two workers rarely wait for each other.
const PART_SHARDS: usize = 16;

type PartMap<T> = HashMap<u64, Shared<T>, foldhash::fast::FixedState>;

/// One stored part per distinct value of `T` (by hash; see [`Shared::share_in`]). Parts stay
/// alive as long as the table.
pub struct PartTable<T> {
    id: u32,
    shards: Box<[Mutex<PartMap<T>>]>,
}

impl<T> Default for PartTable<T> {
    fn default() -> Self {
        static NEXT_ID: AtomicU32 = AtomicU32::new(1);
        PartTable {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed).max(1),
            shards: (0..PART_SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl<T> PartTable<T> {
    /// Distinct parts stored.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok().map(|m| m.len()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Hash + Eq> Shared<T> {
    /// Replaces this part by `table`'s part of equal value, or makes it that part. Values are
    /// compared whole, so the state means exactly what it meant; a value whose hash another
    /// value already holds in the table (a 64-bit collision) simply stays unshared.
    pub fn share_in(&mut self, table: &PartTable<T>) {
        if self.0.table.load(Ordering::Relaxed) == table.id {
            return;
        }
        let hash = self.cached_hash();
        let Ok(mut parts) = table.shards[hash as usize % PART_SHARDS].lock() else {
            return; // poisoned by a panic elsewhere: leave the part unshared
        };
        match parts.entry(hash) {
            Entry::Occupied(stored) => {
                let stored = stored.get();
                if Arc::ptr_eq(&stored.0, &self.0) || stored.0.value == self.0.value {
                    *self = stored.clone();
                }
            }
            Entry::Vacant(slot) => {
                self.0.table.store(table.id, Ordering::Relaxed);
                slot.insert(self.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_copy_and_forget_the_cached_hash() {
        let a = Shared::new(vec![1, 2, 3]);
        let mut b = a.clone();
        assert_eq!(a, b);
        b.push(4);
        assert_ne!(a, b);
        assert_eq!(*a, vec![1, 2, 3]);
        let mut c = Shared::new(vec![1, 2, 3, 4]);
        assert_eq!(b, c);
        let hash = |s: &Shared<Vec<i32>>| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            s.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&b), hash(&c));
        c.pop();
        assert_eq!(hash(&a), hash(&c));
        assert_eq!(a, c);
    }

    #[test]
    fn a_table_keeps_one_part_per_value() {
        let table = PartTable::default();
        let mut a = Shared::new(vec![1, 2]);
        let mut b = Shared::new(vec![1, 2]);
        let mut c = Shared::new(vec![3]);
        assert!(!Arc::ptr_eq(&a.0, &b.0));
        for part in [&mut a, &mut b, &mut c] {
            part.share_in(&table);
        }
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert!(!Arc::ptr_eq(&a.0, &c.0));
        assert_eq!(table.len(), 2);
        // A write copies the part; the copy is no longer the table's.
        b.push(3);
        assert_eq!(*a, vec![1, 2]);
        b.pop();
        assert!(!Arc::ptr_eq(&a.0, &b.0));
        b.share_in(&table);
        assert!(Arc::ptr_eq(&a.0, &b.0));
        // Another table does not take the first one's parts as its own.
        let other = PartTable::default();
        a.share_in(&other);
        assert_eq!(other.len(), 1);
    }
}
