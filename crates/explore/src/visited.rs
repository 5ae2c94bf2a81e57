//! The visited set: a compact open-addressing table keyed by fingerprint.
//!
//! Memory is the constraint (tens of millions of states), so a slot is just the 8-byte
//! fingerprint (plus an optional small payload stored in a parallel array, so a payload-free
//! set pays nothing for it). Slots are chosen by "fast range" (the high bits of fp × capacity),
//! which works for any capacity; that lets the table grow by 1.5× instead of 2× and keeps the
//! load between ~0.53 and 0.8, i.e. 10–15 bytes per stored fingerprint.

use crate::fingerprint::Fingerprint;

const EMPTY: Fingerprint = 0;
/// Load factor that triggers growth: linear probing stays short up to about here.
const MAX_LOAD_NUM: usize = 4;
const MAX_LOAD_DEN: usize = 5;
const MIN_CAPACITY: usize = 16;

/// Fingerprint → `V` table. `V = ()` gives a plain set.
#[derive(Debug, Clone)]
pub struct FpTable<V: Copy + Default> {
    keys: Vec<Fingerprint>,
    values: Vec<V>,
    len: usize,
}

/// A plain fingerprint set.
pub type FingerprintSet = FpTable<()>;

impl<V: Copy + Default> Default for FpTable<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: Copy + Default> FpTable<V> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A table that holds `expected` entries without growing.
    pub fn with_capacity(expected: usize) -> Self {
        let cap = Self::capacity_for(expected);
        FpTable {
            keys: vec![EMPTY; cap],
            values: vec![V::default(); cap],
            len: 0,
        }
    }

    fn capacity_for(expected: usize) -> usize {
        (expected.saturating_mul(MAX_LOAD_DEN) / MAX_LOAD_NUM + 1).max(MIN_CAPACITY)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots allocated (each holds one entry at most).
    pub fn capacity(&self) -> usize {
        self.keys.len()
    }

    /// Forgets every entry, keeping the allocation.
    pub fn clear(&mut self) {
        self.keys.fill(EMPTY);
        self.len = 0;
    }

    /// Forgets every entry and makes room for `expected` entries (shrinking a much larger
    /// table, so clearing stays proportional to the expected use).
    pub fn clear_for(&mut self, expected: usize) {
        if self.sized_for(expected) {
            self.clear();
        } else {
            *self = Self::with_capacity(expected);
        }
    }

    /// Whether [`FpTable::clear_for`] would leave the table as it is.
    pub fn is_clear_for(&self, expected: usize) -> bool {
        // No entry is ever removed but by clearing, so an empty table's slots are all free.
        self.is_empty() && self.sized_for(expected)
    }

    /// Whether the table is large enough for `expected` entries and not much larger.
    fn sized_for(&self, expected: usize) -> bool {
        let wanted = Self::capacity_for(expected);
        (wanted..=4 * wanted).contains(&self.keys.len())
    }

    /// Heap bytes held by the table.
    pub fn bytes(&self) -> usize {
        self.keys.capacity() * std::mem::size_of::<Fingerprint>()
            + self.values.capacity() * std::mem::size_of::<V>()
    }

    #[inline]
    fn home(&self, fp: Fingerprint) -> usize {
        ((fp as u128 * self.keys.len() as u128) >> 64) as usize
    }

    /// Slot holding `fp`, or the empty slot where it would go.
    #[inline]
    fn probe(&self, fp: Fingerprint) -> usize {
        debug_assert_ne!(fp, EMPTY);
        let cap = self.keys.len();
        let mut i = self.home(fp);
        loop {
            // SAFETY-free indexing: i < cap always holds (home < cap, wrap below).
            let k = self.keys[i];
            if k == fp || k == EMPTY {
                return i;
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
    }

    pub fn contains(&self, fp: Fingerprint) -> bool {
        self.keys[self.probe(fp)] == fp
    }

    /// The value stored for `fp`, if present.
    pub fn get(&self, fp: Fingerprint) -> Option<V> {
        let i = self.probe(fp);
        (self.keys[i] == fp).then(|| self.values[i])
    }

    /// Mutable access to the value stored for `fp`, if present.
    pub fn get_mut(&mut self, fp: Fingerprint) -> Option<&mut V> {
        let i = self.probe(fp);
        if self.keys[i] == fp {
            Some(&mut self.values[i])
        } else {
            None
        }
    }

    /// Inserts `fp` (with `V::default()`) if absent. Returns whether it was new and the value.
    #[inline]
    pub fn insert(&mut self, fp: Fingerprint) -> (bool, &mut V) {
        if (self.len + 1) * MAX_LOAD_DEN > self.keys.len() * MAX_LOAD_NUM {
            self.grow();
        }
        let i = self.probe(fp);
        let new = self.keys[i] == EMPTY;
        if new {
            self.keys[i] = fp;
            self.len += 1;
        }
        (new, &mut self.values[i])
    }

    fn grow(&mut self) {
        let new_cap = (self.keys.len() + self.keys.len() / 2).max(MIN_CAPACITY);
        let old_keys = std::mem::replace(&mut self.keys, vec![EMPTY; new_cap]);
        let old_values = std::mem::replace(&mut self.values, vec![V::default(); new_cap]);
        // Old slots are in fingerprint order (fast range), so these probes sweep the new table
        // mostly front to back.
        for (k, v) in old_keys.into_iter().zip(old_values) {
            if k != EMPTY {
                let i = self.probe(k);
                self.keys[i] = k;
                self.values[i] = v;
            }
        }
    }
}

/// Number of independent shards of the visited set. A state's shard is picked by the low
/// bits of its [`crate::Model::locality`] key (by default its fingerprint), so parallel
/// workers can each own whole shards during the merge phase without locking.
pub const SHARDS: usize = 64;

/// The shard of a state whose locality key is `key`.
#[inline]
pub fn shard_of(key: u64) -> usize {
    (key as usize) & (SHARDS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::fingerprint;

    #[test]
    fn insert_contains_grow() {
        let mut t = FingerprintSet::new();
        for i in 0..10_000u64 {
            assert!(t.insert(fingerprint(&i)).0);
        }
        for i in 0..10_000u64 {
            assert!(!t.insert(fingerprint(&i)).0);
            assert!(t.contains(fingerprint(&i)));
        }
        assert!(!t.contains(fingerprint(&20_000u64)));
        assert_eq!(t.len(), 10_000);
        let per = t.bytes() as f64 / t.len() as f64;
        assert!(per <= 16.0, "{per} bytes per fingerprint");
    }

    #[test]
    fn clear_for_changes_nothing_exactly_when_is_clear_for_says_so() {
        for filled in [0usize, 1, 30] {
            for grown_for in [0usize, 10, 100, 1000] {
                for expected in [0usize, 5, 50, 500, 5000] {
                    let mut t = FpTable::<u32>::with_capacity(grown_for);
                    for i in 0..filled as u64 {
                        t.insert(fingerprint(&i));
                    }
                    let before = (t.capacity(), t.len());
                    let clear = t.is_clear_for(expected);
                    t.clear_for(expected);
                    assert!(t.is_empty());
                    assert_eq!(
                        clear,
                        before == (t.capacity(), 0),
                        "{filled} entries, sized for {grown_for}, cleared for {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn wrap_around_clusters_survive_growth() {
        // Fingerprints crowding the top of the range overflow the last slots and wrap.
        let mut t = FingerprintSet::new();
        let fps: Vec<u64> = (1..5000u64)
            .map(|i| u64::MAX - i * 7)
            .chain((1..200u64).map(|i| i * 13))
            .collect();
        for &f in &fps {
            assert!(t.insert(f).0);
        }
        for &f in &fps {
            assert!(t.contains(f), "{f}");
        }
        assert_eq!(t.len(), fps.len());
    }

    #[test]
    fn payload_survives_growth() {
        let mut t: FpTable<u32> = FpTable::new();
        for i in 1..1000u64 {
            *t.insert(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).1 = i as u32;
        }
        for i in 1..1000u64 {
            assert_eq!(t.get(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)), Some(i as u32));
        }
        assert_eq!(t.get(12345), None);
    }
}
