//! 64-bit state fingerprints: the only thing the visited set remembers about a state.

use std::hash::{BuildHasher, Hash};

/// Fixed seed so that fingerprints, and therefore every result that depends on iteration
/// order inside hash tables, are the same from run to run and across worker counts.
const SEED: u64 = 0x6d6d_6c61_625f_6670; // "mmlab_fp"

/// A state's fingerprint. Never zero: zero marks an empty slot in the visited tables.
pub type Fingerprint = u64;

/// Hashes `state` (through its `Hash` impl) into a well-mixed, non-zero 64-bit fingerprint.
///
/// foldhash's quality variant finishes with a full avalanche, so every bit is usable both for
/// shard selection (low bits) and slot selection (high bits).
#[inline]
pub fn fingerprint<S: Hash + ?Sized>(state: &S) -> Fingerprint {
    let fp = foldhash::quality::FixedState::with_seed(SEED).hash_one(state);
    if fp == 0 {
        1
    } else {
        fp
    }
}

/// Hasher for maps keyed by fingerprint: the key is already a good hash, so it passes through.
#[derive(Default, Clone, Copy)]
pub struct FingerprintHasher(u64);

impl std::hash::Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }

    fn write_u64(&mut self, fp: u64) {
        self.0 = fp;
    }
}

/// `HashMap` keyed by fingerprint.
pub type FingerprintMap<V> =
    std::collections::HashMap<Fingerprint, V, std::hash::BuildHasherDefault<FingerprintHasher>>;

/// Probability that at least two of `distinct` states share a fingerprint, assuming uniform
/// 64-bit fingerprints (birthday bound n(n-1)/2^65, the usual "optimistic" estimate).
pub fn birthday_collision_probability(distinct: u64) -> f64 {
    let n = distinct as f64;
    (n * (n - 1.0).max(0.0) / 2f64.powi(65)).min(1.0)
}

/// TLC's "calculated (optimistic)" estimate: every generated successor that hit an existing
/// fingerprint (generated - distinct of them) could have been a different state that collided
/// with one of the `distinct` stored fingerprints.
pub fn tlc_collision_probability(distinct: u64, generated: u64) -> f64 {
    let n = distinct as f64;
    let dup = generated.saturating_sub(distinct) as f64;
    (n * dup / 2f64.powi(64)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_equal_fingerprints() {
        assert_eq!(fingerprint(&(1u32, 2u8)), fingerprint(&(1u32, 2u8)));
        assert_ne!(fingerprint(&(1u32, 2u8)), fingerprint(&(2u32, 1u8)));
    }

    #[test]
    fn collision_estimates_grow_with_states() {
        assert_eq!(birthday_collision_probability(0), 0.0);
        let small = birthday_collision_probability(1_000);
        let big = birthday_collision_probability(1_000_000);
        assert!(small < big && big < 1e-7);
        assert!(tlc_collision_probability(1_000, 500) == 0.0);
        assert!(tlc_collision_probability(1_000, 3_000) > 0.0);
    }
}
