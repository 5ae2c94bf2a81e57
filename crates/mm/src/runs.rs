//! Run-length storage for per-pfn state: consecutive frames in the same state share one entry,
//! so a 2 MiB buffer whose 512 pages look alike costs one run, and a state stays cheap to clone
//! and hash. Adjacent equal runs are always merged, so equal contents have equal
//! representations (needed for hashing states).

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Runs<T> {
    len: u64,
    /// Run starts (ascending, first is 0) with the value of every index up to the next start.
    runs: Vec<(u64, T)>,
}

impl<T: Clone + Eq> Runs<T> {
    /// `len` indices, all `value`.
    pub fn new(len: u64, value: T) -> Self {
        Runs {
            len,
            runs: vec![(0, value)],
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn run_index(&self, at: u64) -> usize {
        self.runs
            .partition_point(|(start, _)| *start <= at)
            .saturating_sub(1)
    }

    /// The value at `at` (the last value for indices past the end).
    pub fn get(&self, at: u64) -> &T {
        &self.runs[self.run_index(at)].1
    }

    /// Splits so that a run starts at `at`, returning that run's position.
    fn split_at(&mut self, at: u64) -> usize {
        let i = self.run_index(at);
        if self.runs[i].0 == at {
            return i;
        }
        let value = self.runs[i].1.clone();
        self.runs.insert(i + 1, (at, value));
        i + 1
    }

    /// Applies `f` to every index in `start..start+count` (clamped to the length).
    pub fn update(&mut self, start: u64, count: u64, mut f: impl FnMut(&mut T)) {
        let end = start.saturating_add(count).min(self.len);
        if start >= end {
            return;
        }
        let i = self.run_index(start);
        let run_end = self.runs.get(i + 1).map_or(self.len, |r| r.0);
        if end <= run_end {
            self.update_within(i, start, end, run_end, f);
            return;
        }
        let first = self.split_at(start);
        let last = if end < self.len {
            self.split_at(end)
        } else {
            self.runs.len()
        };
        for run in &mut self.runs[first..last] {
            f(&mut run.1);
        }
        self.merge_around(first.saturating_sub(1), last + 1);
    }

    /// [`Runs::update`] of `start..end`, which lies inside run `i` (ending at `run_end`): the
    /// common case of a page or a block updated inside a larger run. The new value is
    /// computed once; the run is split with one insertion rather than two, and not at all
    /// when the value does not change.
    fn update_within(
        &mut self,
        i: usize,
        start: u64,
        end: u64,
        run_end: u64,
        f: impl FnOnce(&mut T),
    ) {
        let (run_start, old) = self.runs[i].clone();
        let mut new = old.clone();
        f(&mut new);
        if new == old {
            return;
        }
        match (start > run_start, end < run_end) {
            (false, false) => {
                self.runs[i].1 = new;
                self.merge_around(i, i + 2);
            }
            (true, false) => {
                self.runs.insert(i + 1, (start, new));
                self.merge_around(i + 2, i + 3);
            }
            (false, true) => {
                self.runs[i].1 = new;
                self.runs.insert(i + 1, (end, old));
                self.merge_around(i, i + 1);
            }
            // Between two pieces of the old value: nothing to merge.
            (true, true) => {
                self.runs.splice(i + 1..i + 1, [(start, new), (end, old)]);
            }
        }
    }

    /// Sets every index in `start..start+count` to `value`.
    pub fn set(&mut self, start: u64, count: u64, value: T) {
        self.update(start, count, |v| *v = value.clone());
    }

    fn merge_around(&mut self, from: usize, to: usize) {
        let to = to.min(self.runs.len());
        let mut i = from.max(1);
        let mut end = to;
        while i < end && i < self.runs.len() {
            if self.runs[i].1 == self.runs[i - 1].1 {
                self.runs.remove(i);
                end -= 1;
            } else {
                i += 1;
            }
        }
    }

    /// The runs overlapping `start..start+count`, clipped: (first index, count, value).
    pub fn ranges(&self, start: u64, count: u64) -> impl Iterator<Item = (u64, u64, &T)> + '_ {
        let end = start.saturating_add(count).min(self.len);
        let first = self.run_index(start);
        self.runs[first..]
            .iter()
            .enumerate()
            .map(move |(k, (run_start, value))| {
                let next = self
                    .runs
                    .get(first + k + 1)
                    .map(|r| r.0)
                    .unwrap_or(self.len);
                let s = (*run_start).max(start);
                let e = next.min(end);
                (s, e.saturating_sub(s), value)
            })
            .take_while(move |(s, _, _)| *s < end)
            .filter(|(_, n, _)| *n > 0)
    }

    /// The first index where a block of `count` indices, aligned to `align`, all satisfy
    /// `pred` (one pass over the runs).
    pub fn find_block(&self, count: u64, align: u64, pred: impl Fn(&T) -> bool) -> Option<u64> {
        let align = align.max(1);
        let mut i = 0;
        while i < self.runs.len() {
            if !pred(&self.runs[i].1) {
                i += 1;
                continue;
            }
            // A stretch of consecutive runs that all satisfy the predicate.
            let begin = self.runs[i].0;
            let mut j = i + 1;
            while j < self.runs.len() && pred(&self.runs[j].1) {
                j += 1;
            }
            let end = self.runs.get(j).map(|r| r.0).unwrap_or(self.len);
            let aligned = begin.div_ceil(align) * align;
            if aligned + count <= end {
                return Some(aligned);
            }
            i = j;
        }
        None
    }

    /// Number of runs (a measure of fragmentation, for tests and benchmarks).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn updates_split_and_merge() {
        let mut r = Runs::new(1024, 0u8);
        r.set(10, 5, 1);
        assert_eq!(r.run_count(), 3);
        assert_eq!(*r.get(9), 0);
        assert_eq!(*r.get(10), 1);
        assert_eq!(*r.get(14), 1);
        assert_eq!(*r.get(15), 0);
        r.set(10, 5, 0);
        assert_eq!(r.run_count(), 1);
        assert_eq!(r, Runs::new(1024, 0));
    }

    #[test]
    fn find_block_respects_alignment() {
        let mut r = Runs::new(4096, true);
        r.set(3, 1, false);
        assert_eq!(r.find_block(512, 512, |free| *free), Some(512));
        assert_eq!(r.find_block(1, 1, |free| *free), Some(0));
        assert_eq!(r.find_block(8192, 1, |free| *free), None);
    }

    proptest! {
        #[test]
        fn matches_a_dense_array(ops in prop::collection::vec((0u64..64, 0u64..20, 0u8..3), 0..40)) {
            let mut runs = Runs::new(64, 0u8);
            let mut dense = [0u8; 64];
            for (start, count, value) in ops {
                runs.set(start, count, value);
                for i in start..(start + count).min(64) {
                    dense[i as usize] = value;
                }
            }
            for (i, v) in dense.iter().enumerate() {
                prop_assert_eq!(runs.get(i as u64), v);
            }
            let mut canonical = Runs::new(64, 0u8);
            for (i, v) in dense.iter().enumerate() {
                canonical.set(i as u64, 1, *v);
            }
            prop_assert_eq!(runs, canonical);
        }
    }
}
