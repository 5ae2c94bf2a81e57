//! The thread sequence of a witness execution.
//!
//! The depth-first search's topological pass extends witnesses once per edge and compares
//! them at every state, and every reported execution is one, so the common case
//! (threads 0–15, up to 64 steps) is packed four bits per step into four words, most significant
//! first: extending is a shift and an or, and lexicographic comparison is integer comparison.
//! Longer executions, or thread ids from 16 up, are kept as a byte slice on the heap.

use std::cmp::Ordering;

const PACKED_STEPS: usize = 64;
const WORDS: usize = PACKED_STEPS / 16;
const PACKED_THREADS: u8 = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Trace {
    /// `last` repeats the last thread (it fits in padding), sparing a shift on a hot path.
    Packed {
        len: u8,
        last: u8,
        bits: [u64; WORDS],
    },
    Heap(Box<[u8]>),
}

impl Default for Trace {
    fn default() -> Self {
        Trace::Packed {
            len: 0,
            last: 0,
            bits: [0; WORDS],
        }
    }
}

impl Trace {
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Trace::Packed { len, .. } => *len as usize,
            Trace::Heap(v) => v.len(),
        }
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<u8> {
        match self {
            Trace::Packed { len, bits, .. } => {
                (i < *len as usize).then(|| ((bits[i / 16] >> (60 - 4 * (i % 16))) & 0xf) as u8)
            }
            Trace::Heap(v) => v.get(i).copied(),
        }
    }

    #[inline]
    pub fn last(&self) -> Option<u8> {
        match self {
            Trace::Packed { len: 0, .. } => None,
            Trace::Packed { last, .. } => Some(*last),
            Trace::Heap(v) => v.last().copied(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// This trace followed by one step of `thread`.
    #[inline]
    pub fn extended(&self, thread: u8) -> Trace {
        match self {
            Trace::Packed { len, bits, .. }
                if (*len as usize) < PACKED_STEPS && thread < PACKED_THREADS =>
            {
                let i = *len as usize;
                let mut bits = *bits;
                bits[i / 16] |= (thread as u64) << (60 - 4 * (i % 16));
                Trace::Packed {
                    len: *len + 1,
                    last: thread,
                    bits,
                }
            }
            _ => {
                let mut v = Vec::with_capacity(self.len() + 1);
                match self {
                    Trace::Heap(steps) => v.extend_from_slice(steps),
                    Trace::Packed { .. } => v.extend(self.iter()),
                }
                v.push(thread);
                Trace::Heap(v.into_boxed_slice())
            }
        }
    }
}

impl FromIterator<u8> for Trace {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        iter.into_iter()
            .fold(Trace::default(), |t, x| t.extended(x))
    }
}

impl Ord for Trace {
    /// Lexicographic, like slices.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // Zero padding after the end makes (bits, len) order equal to lexicographic order:
            // a prefix compares equal on bits and loses on length.
            (
                Trace::Packed {
                    len: a, bits: x, ..
                },
                Trace::Packed {
                    len: b, bits: y, ..
                },
            ) => (x, a).cmp(&(y, b)),
            _ => self.iter().cmp(other.iter()),
        }
    }
}

impl PartialOrd for Trace {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[u8]) -> Trace {
        v.iter().copied().collect()
    }

    #[test]
    fn packed_and_heap_agree_with_slices() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![1],
            vec![0, 1],
            vec![15, 3],
            vec![16],
            vec![200, 1],
            (0..40).map(|i| (i % 3) as u8).collect(),
            (0..40).map(|i| (i % 4) as u8).collect(),
            (0..32).map(|i| (i % 4) as u8).collect(),
            (0..64).map(|i| (i % 5) as u8).collect(),
            (0..65).map(|i| (i % 5) as u8).collect(),
            (0..70).map(|i| (i % 2) as u8).collect(),
        ];
        for a in &cases {
            let ta = t(a);
            assert_eq!(ta.len(), a.len());
            assert_eq!(ta.iter().collect::<Vec<_>>(), *a);
            assert_eq!(ta.last(), a.last().copied());
            for b in &cases {
                assert_eq!(ta.cmp(&t(b)), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }
}
