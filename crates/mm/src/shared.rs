//! `Shared<T>`: a copy-on-write part of the state with a cached hash. Cloning a state copies
//! pointers, not the parts an operation did not touch, and hashing a state (which the
//! explorer does for every successor) reads one cached number per untouched part. Equality
//! and hashing mean exactly what they mean for `T`: the cache is only an acceleration.

use serde::{Serialize, Serializer};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

#[derive(Clone)]
struct Inner<T> {
    value: T,
    hash: OnceLock<u64>,
}

/// A copy-on-write, hash-caching wrapper.
pub struct Shared<T>(Arc<Inner<T>>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Shared(Arc::new(Inner {
            value,
            hash: OnceLock::new(),
        }))
    }
}

impl<T: Hash> Shared<T> {
    fn cached_hash(&self) -> u64 {
        // A fixed seed: the same value hashes the same in every run and on every worker.
        *self
            .0
            .hash
            .get_or_init(|| foldhash::quality::FixedState::with_seed(SEED).hash_one(&self.0.value))
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
        inner.hash = OnceLock::new();
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
        if let (Some(a), Some(b)) = (self.0.hash.get(), other.0.hash.get()) {
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
}
