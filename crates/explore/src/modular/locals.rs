//! The local-part ids of a packed state: a state is copied on every transition, so up to
//! [`INLINE`] ids (every thread count the seed family uses) live inside it and are copied as
//! one plain value; more threads than that put them on the heap.

use super::Id;
use std::ops::{Deref, DerefMut};

/// Ids kept inline: five fit in the space of a boxed slice and its tag.
const INLINE: usize = 5;

/// One id per thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Locals {
    /// Unused slots stay zero, so that derived equality compares the ids alone.
    Inline {
        len: u8,
        ids: [Id; INLINE],
    },
    Heap(Box<[Id]>),
}

impl Deref for Locals {
    type Target = [Id];

    #[inline]
    fn deref(&self) -> &[Id] {
        match self {
            // `len` never exceeds the inline slots (see `from_iter`).
            Locals::Inline { len, ids } => ids.get(..*len as usize).unwrap_or(&[]),
            Locals::Heap(ids) => ids,
        }
    }
}

impl DerefMut for Locals {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Id] {
        match self {
            Locals::Inline { len, ids } => {
                let len = *len as usize;
                match ids.get_mut(..len) {
                    Some(live) => live,
                    None => &mut [],
                }
            }
            Locals::Heap(ids) => ids,
        }
    }
}

impl FromIterator<Id> for Locals {
    fn from_iter<I: IntoIterator<Item = Id>>(iter: I) -> Self {
        let all: Vec<Id> = iter.into_iter().collect();
        if all.len() <= INLINE {
            let mut ids = [0; INLINE];
            ids[..all.len()].copy_from_slice(&all);
            Locals::Inline {
                len: all.len() as u8,
                ids,
            }
        } else {
            Locals::Heap(all.into_boxed_slice())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_hold_the_same_ids() {
        for n in 0..9u32 {
            let ids: Vec<Id> = (10..10 + n).collect();
            let mut locals: Locals = ids.iter().copied().collect();
            assert_eq!(&locals[..], &ids[..]);
            assert_eq!(
                matches!(locals, Locals::Inline { .. }),
                n as usize <= INLINE
            );
            if let Some(first) = locals.first_mut() {
                *first = 7;
            }
            let copy = locals.clone();
            assert_eq!(copy, locals);
            assert_eq!(copy.first().copied(), (n > 0).then_some(7));
            assert_eq!(copy.len(), n as usize);
        }
    }

    #[test]
    fn equal_ids_are_equal_states() {
        let a: Locals = [1, 2, 3].into_iter().collect();
        let mut b: Locals = [1, 2, 4].into_iter().collect();
        assert_ne!(a, b);
        b[2] = 3;
        assert_eq!(a, b);
    }
}
