//! Memory objects: what owns which frames (a TTM buffer object's pages or VRAM range, an
//! anonymous region, a shmem file). Not a kernel structure as such; it stands for the
//! driver's or file's own bookkeeping (ttm_tt::pages, bo->resource, the page cache) so the
//! model can tell whether a frame still belongs to the object a GUP caller took it from.

use crate::include::linux::mm_types::Pfn;
use serde::Serialize;

/// A run of consecutive object pages backed by consecutive frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Extent {
    pub index: u64,
    pub pfn: Pfn,
    pub count: u64,
}

/// Which frames back an object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Backing {
    pub pages: u64,
    pub extents: Vec<Extent>,
    pub destroyed: bool,
    /// A shmem (memfd) file: its pages are page cache with a mapping.
    pub shmem: bool,
    /// Pages with no frame read as zeros: anonymous memory and shmem files get their pages on
    /// first touch (the zero page, or a zeroed page), and a page dropped by
    /// MADV_DONTNEED or never touched holds 0. A driver's pages have no such default.
    pub zero_fill: bool,
}

impl Backing {
    pub fn new(pages: u64) -> Self {
        Backing {
            pages,
            extents: Vec::new(),
            destroyed: false,
            shmem: false,
            zero_fill: false,
        }
    }

    /// An anonymous region or a shmem file of `pages` pages (see [`Backing::zero_fill`]).
    pub fn zero_filled(pages: u64, shmem: bool) -> Self {
        Backing {
            shmem,
            zero_fill: true,
            ..Backing::new(pages)
        }
    }

    /// The frame backing page `index`, if any.
    pub fn pfn_of(&self, index: u64) -> Option<Pfn> {
        self.extents
            .iter()
            .find(|e| e.index <= index && index < e.index + e.count)
            .map(|e| e.pfn.offset(index - e.index))
    }

    /// Whether pages `index..index + count` are all backed, by frames consecutive from
    /// `pfn` on: the same answer as asking [`Backing::pfn_of`] page by page.
    pub fn backed_contiguously(&self, index: u64, pfn: Pfn, count: u64) -> bool {
        self.not_backed_by(index, pfn, count).is_empty()
    }

    /// The runs of pages in `index..index + count`, ascending, that [`Backing::pfn_of`] does
    /// not answer with the frame `pfn` + (page − `index`): (first page, pages). Worked out
    /// one extent at a time rather than page by page.
    pub fn not_backed_by(&self, index: u64, pfn: Pfn, count: u64) -> Vec<(u64, u64)> {
        let end = index.saturating_add(count);
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let mut at = index;
        while at < end {
            let (stop, extent) = self.run_at(at, end);
            let backed =
                extent.is_some_and(|e| e.pfn.offset(at - e.index) == pfn.offset(at - index));
            if !backed {
                match runs.last_mut() {
                    Some((first, n)) if *first + *n == at => *n += stop - at,
                    _ => runs.push((at, stop - at)),
                }
            }
            at = stop;
        }
        runs
    }

    /// From page `at` on, the pages (up to `end`) that [`Backing::pfn_of`] answers from one
    /// extent, or from none: where they stop, and the extent. `pfn_of` takes the first extent
    /// holding a page, so an earlier extent starting later cuts the run short.
    fn run_at(&self, at: u64, end: u64) -> (u64, Option<&Extent>) {
        let starts_after = |extents: &[Extent], limit: u64| {
            extents
                .iter()
                .map(|e| e.index)
                .filter(|&start| start > at)
                .fold(limit, u64::min)
        };
        match self
            .extents
            .iter()
            .position(|e| e.index <= at && at < e.index + e.count)
        {
            Some(i) => {
                let e = &self.extents[i];
                let stop = starts_after(&self.extents[..i], e.index + e.count).min(end);
                (stop, Some(e))
            }
            None => (starts_after(&self.extents, end), None),
        }
    }

    /// The object page a frame backs, if it backs one.
    pub fn index_of(&self, pfn: Pfn) -> Option<u64> {
        self.extents
            .iter()
            .find(|e| e.pfn <= pfn && pfn.0 < e.pfn.0 + e.count)
            .map(|e| e.index + (pfn.0 - e.pfn.0))
    }

    /// Records that `count` pages from `index` are backed from `pfn` on, merging with a
    /// neighbouring extent when both are contiguous.
    pub fn add(&mut self, index: u64, pfn: Pfn, count: u64) {
        if let Some(last) = self.extents.last_mut() {
            if last.index + last.count == index && last.pfn.0 + last.count == pfn.0 {
                last.count += count;
                return;
            }
        }
        self.extents.push(Extent { index, pfn, count });
        self.extents.sort_by_key(|e| e.index);
    }

    /// Forgets the frame of page `index` (an anonymous page was zapped).
    pub fn remove(&mut self, index: u64) {
        let mut kept = Vec::new();
        for e in self.extents.drain(..) {
            if e.index <= index && index < e.index + e.count {
                let before = index - e.index;
                if before > 0 {
                    kept.push(Extent { count: before, ..e });
                }
                let after = e.count - before - 1;
                if after > 0 {
                    kept.push(Extent {
                        index: index + 1,
                        pfn: e.pfn.offset(before + 1),
                        count: after,
                    });
                }
            } else {
                kept.push(e);
            }
        }
        self.extents = kept;
    }

    /// The frames backing pages `index..index+count`, as (first page, first frame, count)
    /// pieces.
    pub fn pieces(&self, index: u64, count: u64) -> Vec<(u64, Pfn, u64)> {
        let end = index + count;
        self.extents
            .iter()
            .filter(|e| e.index < end && index < e.index + e.count)
            .map(|e| {
                let s = e.index.max(index);
                let t = (e.index + e.count).min(end);
                (s, e.pfn.offset(s - e.index), t - s)
            })
            .collect()
    }

    /// Forgets every frame (the object moved or was destroyed).
    pub fn clear(&mut self) -> Vec<Extent> {
        std::mem::take(&mut self.extents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The extent walk answers exactly what a page-by-page look-up answers, also where
        /// consecutive frames are split over extents (added out of order) or a gap breaks them.
        #[test]
        fn contiguity_by_extents_is_contiguity_by_pages(
            chunks in proptest::collection::vec((1u64..6, any::<bool>(), any::<bool>()), 1..8),
            reverse in any::<bool>(),
            index in 0u64..40,
            count in 1u64..24,
            off_by_one in any::<bool>(),
        ) {
            let mut extents = Vec::new();
            let (mut at, mut base) = (0, 100);
            for (len, jump, hole) in chunks {
                base += if jump { 7 } else { 0 };
                if !hole {
                    extents.push((at, Pfn(base + at), len));
                }
                at += len;
            }
            if reverse {
                extents.reverse();
            }
            let mut b = Backing::new(at);
            for (index, pfn, count) in extents {
                b.add(index, pfn, count);
            }
            let first = b.pfn_of(index).unwrap_or(Pfn(100)).offset(off_by_one as u64);
            let by_pages = (0..count).all(|i| b.pfn_of(index + i) == Some(first.offset(i)));
            prop_assert_eq!(b.backed_contiguously(index, first, count), by_pages);
        }

        /// The runs not backed as asked are exactly the pages a page-by-page look-up finds
        /// backed otherwise, also with overlapping extents (the first one holding a page wins).
        #[test]
        fn runs_not_backed_are_the_pages_backed_otherwise(
            extents in proptest::collection::vec((0u64..24, 90u64..130, 1u64..8), 0..5),
            index in 0u64..32,
            count in 1u64..24,
            shift in 0u64..3,
        ) {
            let b = Backing {
                pages: 32,
                extents: extents
                    .into_iter()
                    .map(|(index, pfn, count)| Extent { index, pfn: Pfn(pfn), count })
                    .collect(),
                destroyed: false,
                shmem: false,
                zero_fill: false,
            };
            let first = b.pfn_of(index).unwrap_or(Pfn(100)).offset(shift);
            let by_pages: Vec<u64> = (index..index + count)
                .filter(|&i| b.pfn_of(i) != Some(first.offset(i - index)))
                .collect();
            let by_runs: Vec<u64> = b
                .not_backed_by(index, first, count)
                .into_iter()
                .flat_map(|(start, n)| start..start + n)
                .collect();
            prop_assert_eq!(by_runs, by_pages);
        }
    }
}
