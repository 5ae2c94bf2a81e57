//! `Shared<T>`: a copy-on-write part of the state with a cached hash. Cloning a state copies
//! pointers, not the parts an operation did not touch, and hashing a state (which the
//! explorer does for every successor) reads one cached number per untouched part. Equality
//! and hashing mean exactly what they mean for `T`: the cache is only an acceleration.
//!
//! A [`PartTable`] stores equal parts once (hash-consing): states kept by a search share every
//! part they have in common, however each was reached, and comparing two such states is a
//! pointer comparison per part.
//!
//! A part the table stores is never freed (it lives as long as the process), so a state
//! holding it holds a plain reference: cloning and dropping such a state touches no reference
//! count. Explorers clone stored states on every step they run, on every core, and the
//! counts of parts that every state shares were cache lines the cores took from each other
//! on each clone and drop. The tables are per part type and process-wide
//! ([`PartTable::global`]), so a part is stored once however many searches meet it; what
//! they keep is the distinct parts of the states that searches stored.

use serde::{Serialize, Serializer};
use std::any::{Any, TypeId};
use std::collections::hash_map::{Entry, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

struct Inner<T> {
    value: T,
    /// The value's hash once computed, else [`UNKNOWN`]. Racing computations store the same
    /// number, so a plain atomic is enough.
    hash: AtomicU64,
}

impl<T: Clone> Clone for Inner<T> {
    fn clone(&self) -> Self {
        Inner {
            value: self.value.clone(),
            hash: AtomicU64::new(self.hash.load(Ordering::Relaxed)),
        }
    }
}

const UNKNOWN: u64 = 0;

/// A copy-on-write, hash-caching wrapper.
pub struct Shared<T: 'static>(Part<T>);

enum Part<T: 'static> {
    /// A part of this state (and of its clones), freed with the last of them.
    Own(Arc<Inner<T>>),
    /// A part stored in a [`PartTable`], which never frees it.
    Stored(&'static Inner<T>),
}

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Shared(Part::Own(Arc::new(Inner {
            value,
            hash: AtomicU64::new(UNKNOWN),
        })))
    }

    fn inner(&self) -> &Inner<T> {
        match &self.0 {
            Part::Own(arc) => arc,
            Part::Stored(stored) => stored,
        }
    }

    /// The hash, if it was computed already.
    fn known_hash(&self) -> Option<u64> {
        Some(self.inner().hash.load(Ordering::Relaxed)).filter(|&h| h != UNKNOWN)
    }

    /// Whether `self` and `other` are the same allocation (then they are equal).
    fn same_part(&self, other: &Self) -> bool {
        std::ptr::eq(self.inner(), other.inner())
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
            .hash_one(&self.inner().value)
            .max(1);
        self.inner().hash.store(hash, Ordering::Relaxed);
        hash
    }
}

const SEED: u64 = 0x6d6d_6c61_625f_7368; // "mmlab_sh"

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(match &self.0 {
            Part::Own(arc) => Part::Own(Arc::clone(arc)),
            Part::Stored(stored) => Part::Stored(stored),
        })
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        // As `Cow::to_mut`: a stored part is never written, so the state first gets its own
        // copy of it.
        let arc = match self.0 {
            Part::Stored(stored) => {
                self.0 = Part::Own(Arc::new(Inner::clone(stored)));
                match self.0 {
                    Part::Own(ref mut arc) => arc,
                    Part::Stored(_) => unreachable!("the part was replaced by a copy above"),
                }
            }
            Part::Own(ref mut arc) => arc,
        };
        let inner = Arc::make_mut(arc);
        *inner.hash.get_mut() = UNKNOWN;
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
        if self.same_part(other) {
            return true;
        }
        // Equal values hash equally: differing hashes, once both are known, settle it.
        if let (Some(a), Some(b)) = (self.known_hash(), other.known_hash()) {
            if a != b {
                return false;
            }
        }
        self.inner().value == other.inner().value
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
        self.inner().value.fmt(f)
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.inner().value.serialize(s)
    }
}

/// Lock shards of a [`PartTable`], so that two workers rarely wait for each other (with 16,
/// two workers sharing new kernels' parts waited on each other often enough to show: coarse
/// 4x6 on two workers took 5% longer).
const PART_SHARDS: usize = 256;

type PartMap<T> = HashMap<u64, &'static Inner<T>, foldhash::fast::FixedState>;

/// One lock shard, alone on its cache lines: two workers locking neighbouring shards would
/// otherwise pass one line back and forth.
#[repr(align(128))]
struct PartShard<T: 'static>(Mutex<PartMap<T>>);

/// One stored part per distinct value of `T` (by hash; see [`Shared::share_in`]). Stored
/// parts are never freed.
pub struct PartTable<T: 'static> {
    shards: Box<[PartShard<T>]>,
}

impl<T> Default for PartTable<T> {
    fn default() -> Self {
        PartTable {
            shards: (0..PART_SHARDS)
                .map(|_| PartShard(Mutex::default()))
                .collect(),
        }
    }
}

/// What the registry of process-wide tables needs of each.
trait Global: Send + Sync {
    fn as_any(&self) -> &(dyn Any + Send + Sync);
    fn forget(&self);
}

impl<T: Send + Sync> Global for PartTable<T> {
    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        self
    }

    fn forget(&self) {
        PartTable::forget(self)
    }
}

type Globals = HashMap<TypeId, &'static dyn Global>;

/// The process-wide tables, one per part type.
fn globals() -> std::sync::MutexGuard<'static, Globals> {
    static TABLES: OnceLock<Mutex<Globals>> = OnceLock::new();
    match TABLES.get_or_init(Mutex::default).lock() {
        Ok(tables) => tables,
        // Only a panic elsewhere poisons the lock; the map itself is still whole.
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Makes every process-wide table ([`PartTable::global`]) forget the parts it stored, so that
/// the next search stores its parts as the first search of a process would: `mmlab bench`
/// times each search from there, rather than let it find parts that earlier searches stored.
/// What was handed out stays valid (stored parts are never freed), at the price of keeping
/// their memory after no table knows them.
pub fn forget_stored_parts() {
    for table in globals().values() {
        table.forget();
    }
}

impl<T: Send + Sync> PartTable<T> {
    /// The process's table of parts of type `T`, made on first use.
    pub fn global() -> &'static PartTable<T> {
        let table = *globals()
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::leak(Box::new(PartTable::<T>::default())));
        match table.as_any().downcast_ref::<PartTable<T>>() {
            Some(table) => table,
            // Entries are keyed by their own type, so this is not reached; a fresh table
            // would still be correct, merely not shared.
            None => Box::leak(Box::default()),
        }
    }
}

impl<T> PartTable<T> {
    /// Distinct parts stored.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.0.lock().ok().map(|m| m.len()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every stored part (see [`forget_stored_parts`]); the parts themselves live on.
    pub fn forget(&self) {
        for shard in self.shards.iter() {
            if let Ok(mut parts) = shard.0.lock() {
                parts.clear();
            }
        }
    }
}

impl<T: Hash + Eq + Clone> Shared<T> {
    /// Replaces this part by `table`'s part of equal value, or stores it there. Values are
    /// compared whole, so the state means exactly what it meant; a value whose hash another
    /// value already holds in the table (a 64-bit collision) simply stays unshared.
    pub fn share_in(&mut self, table: &PartTable<T>) {
        let Part::Own(own) = &self.0 else {
            return; // stored already
        };
        let hash = self.cached_hash();
        let Ok(mut parts) = table.shards[hash as usize % PART_SHARDS].0.lock() else {
            return; // poisoned by a panic elsewhere: leave the part unshared
        };
        let stored = match parts.entry(hash) {
            Entry::Occupied(stored) if stored.get().value == own.value => *stored.get(),
            Entry::Occupied(_) => return,
            Entry::Vacant(slot) => *slot.insert(Box::leak(Box::new(Inner::clone(own)))),
        };
        self.0 = Part::Stored(stored);
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
        assert!(!a.same_part(&b));
        for part in [&mut a, &mut b, &mut c] {
            part.share_in(&table);
        }
        assert!(a.same_part(&b));
        assert!(!a.same_part(&c));
        assert_eq!(table.len(), 2);
        // A write copies the part; the copy is no longer the table's.
        b.push(3);
        assert_eq!(*a, vec![1, 2]);
        b.pop();
        assert!(!a.same_part(&b));
        assert_eq!(a, b);
        b.share_in(&table);
        assert!(a.same_part(&b));
    }

    #[test]
    fn stored_parts_outlive_their_table_and_copies_are_independent() {
        let mut a = Shared::new(vec![7u8; 3]);
        {
            let table = PartTable::default();
            a.share_in(&table);
        }
        let b = a.clone();
        assert!(a.same_part(&b));
        drop(b);
        let mut c = a.clone();
        c[0] = 8;
        assert_eq!(*a, vec![7, 7, 7]);
        assert_eq!(*c, vec![8, 7, 7]);
    }

    /// Taken by the tests that use the process-wide tables: one of them makes them forget.
    static GLOBAL_TABLES: Mutex<()> = Mutex::new(());

    #[test]
    fn a_forgotten_part_lives_on_and_is_stored_anew() {
        let _only = GLOBAL_TABLES.lock();
        let table: &PartTable<Vec<i64>> = PartTable::global();
        let mut a = Shared::new(vec![5i64, 6]);
        a.share_in(table);
        assert_eq!(table.len(), 1);
        forget_stored_parts();
        assert!(table.is_empty());
        assert_eq!(*a, vec![5, 6]);
        let mut b = Shared::new(vec![5i64, 6]);
        b.share_in(table);
        assert!(!a.same_part(&b));
        assert_eq!(a, b);
        let mut c = Shared::new(vec![5i64, 6]);
        c.share_in(table);
        assert!(b.same_part(&c));
    }

    #[test]
    fn the_global_table_is_one_per_type() {
        let _only = GLOBAL_TABLES.lock();
        let x: &PartTable<Vec<u16>> = PartTable::global();
        let y: &PartTable<Vec<u16>> = PartTable::global();
        assert!(std::ptr::eq(x, y));
        let mut a = Shared::new(vec![1u16, 9, 9, 1]);
        let mut b = Shared::new(vec![1u16, 9, 9, 1]);
        a.share_in(x);
        b.share_in(y);
        assert!(a.same_part(&b));
        let other: &PartTable<Vec<u32>> = PartTable::global();
        assert!(!std::ptr::eq(
            x as *const _ as *const u8,
            other as *const _ as *const u8
        ));
    }
}
