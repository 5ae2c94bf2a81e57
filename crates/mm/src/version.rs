//! Kernel releases and the named change points between them.
//!
//! A [`KernelConfig`] selects every change point up to its release (plus the stable backports a
//! distribution kernel carries); the model asks `cfg.has(ChangePoint::X)` at each place where
//! Linux changed behaviour, so both sides of every change stay in one function.

use serde::Serialize;
use std::fmt;

/// A mainline release `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Release {
    pub major: u8,
    pub minor: u8,
}

impl Release {
    pub const fn new(major: u8, minor: u8) -> Self {
        Release { major, minor }
    }

    /// The oldest release the model covers.
    pub const OLDEST: Release = Release::new(5, 11);
    /// The newest release the model covers.
    pub const NEWEST: Release = Release::new(7, 2);
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// How sure the model is of where a change landed (the fact sheet's certainty tags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Certainty {
    /// Read in the tagged source of that release (or both neighbours).
    Source,
    /// Dated from mailing-list context or inferred; the release may be off by one or two.
    Inferred,
}

macro_rules! change_points {
    ($( $(#[$doc:meta])* $name:ident = ($maj:literal, $min:literal, $cert:ident, $commit:literal, $subject:literal); )*) => {
        /// A behaviour change of Linux that the model knows, in release order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        pub enum ChangePoint { $( $(#[$doc])* $name, )* }

        impl ChangePoint {
            /// Every change point, oldest first.
            pub const ALL: &'static [ChangePoint] = &[ $( ChangePoint::$name, )* ];

            /// The first mainline release that has the change.
            pub fn release(self) -> Release {
                match self { $( ChangePoint::$name => Release::new($maj, $min), )* }
            }

            /// How sure the release is.
            pub fn certainty(self) -> Certainty {
                match self { $( ChangePoint::$name => Certainty::$cert, )* }
            }

            /// The commit id, when known.
            pub fn commit(self) -> Option<&'static str> {
                match self { $( ChangePoint::$name => { let c: &str = $commit; if c.is_empty() { None } else { Some(c) } } )* }
            }

            /// The commit subject (or series title) that introduced the change.
            pub fn subject(self) -> &'static str {
                match self { $( ChangePoint::$name => $subject, )* }
            }

            /// A short identifier used on the command line and in JSON.
            pub fn id(self) -> &'static str {
                match self { $( ChangePoint::$name => stringify!($name), )* }
            }
        }
    };
}

change_points! {
    /// TTM BO mappings become VM_PFNMAP|VM_IO (no VM_MIXEDMAP), COW mappings refused, always
    /// vmf_insert_pfn_prot.
    TtmNukeMixedmap = (5, 14, Source, "f91142c62161", "drm/ttm: nuke VM_MIXEDMAP on BO mappings v3");
    /// TTM loses ttm_bo_vm_insert_huge: no huge PMD/PUD entries for BOs any more.
    TtmRemoveHuge = (5, 16, Source, "0d979509539e", "drm/ttm: remove ttm_bo_vm_insert_huge()");
    /// follow_pfn_pte returns -EEXIST for every caller; __get_user_pages stops on -EEXIST when
    /// the caller wants pages instead of counting a page it did not return.
    GupEexistCleanup = (5, 18, Inferred, "", "mm/gup: follow_pfn_pte(): -EEXIST cleanup; mm: fix invalid page pointer returned with FOLL_PIN gups");
    /// A ZONE_DEVICE page whose refcount drops to zero goes to free_zone_device_page, which
    /// warns and gives up when its dev_pagemap has no ->page_free (a MEMORY_DEVICE_GENERIC
    /// map such as the model's and the oracle driver's); before, __put_page only dropped the
    /// pgmap reference. The commit is in 5.17-rc4-75 (describe output), so 5.18.
    ZoneDeviceFreePage = (5, 18, Inferred, "27674ef6c73f", "mm: remove the extra ZONE_DEVICE struct page refcount; mm: generalize the pgmap based page_free infrastructure");
    /// __split_huge_pmd stops looking at the page behind a trans-huge PMD. Before, it took
    /// pmd_page() and read its flags (PageAnon, to lock an anonymous page; then PageMlocked),
    /// so splitting a huge PMD over a pfn with no memmap (VRAM) dereferenced a wild struct
    /// page: the real 5.10 oopses there. Gone in 6.1's source; both patches were merged for
    /// 5.18 (the first is in the series "mm: COW fixes part 1", the second in the munlock
    /// rework), which is recalled, not verified against a 5.17 or 5.18 tree.
    SplitHugePmdNoPageFlags = (5, 18, Inferred, "", "mm/huge_memory: remove stale locking logic from __split_huge_pmd(); mm/munlock: delete page_mlock() and all its works");
    /// PG_anon_exclusive: a write fault reuses an exclusive anonymous page whatever its
    /// refcount (before, only a page_count of 1 was reused, so a write fault copied a pinned
    /// page away from its mapping). Without fork, KSM or swap every anonymous page the model
    /// maps is exclusive.
    AnonExclusive = (5, 19, Inferred, "6c287605fd56", "mm: remember exclusively mapped anonymous pages with PG_anon_exclusive");
    /// mprotect (MM_CP_TRY_CHANGE_WRITABLE) maps the dirty exclusive anonymous pages of a
    /// private writable vma writable at once instead of leaving them to a write fault. In
    /// Debian 6.1's source.
    MprotectTryWritable = (6, 0, Inferred, "64fe24a3e05e", "mm/mprotect: try avoiding write faults for exclusive anonymous pages when changing protection");
    /// The fault path's THP gate becomes hugepage_vma_check: no ->huge_fault for special
    /// (VM_NO_KHUGEPAGED) vmas, nor for non-DAX file vmas without file THP.
    HugepageVmaCheck = (6, 0, Inferred, "", "mm: thp: kill __transhuge_page_enabled() (subject recalled, not verified)");
    /// FOLL_COW is gone; FOLL_FORCE writes need an exclusive anon page (can_follow_write_pte),
    /// and GUP can ask for an unshare fault (-EMLINK).
    RemoveFollCow = (6, 1, Inferred, "5535be309971", "mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW (subject recalled, not verified)");
    /// mprotect also maps clean exclusive anonymous pages writable: can_change_pte_writable
    /// checks the dirty bit only for shared vmas. Absent from 6.1's source, present in
    /// 6.12's; in the mm tree of November 2022.
    MprotectCleanAnonWritable = (6, 2, Inferred, "", "mm/mprotect: allow clean exclusive anon pages to be writable (subject recalled, not verified)");
    /// vmf_insert_mixed_prot and vmf_insert_pfn_{pmd,pud}_prot are removed; the huge inserts
    /// take a write flag and use the vma's page protection.
    RemoveInsertProt = (6, 3, Inferred, "7b806d229ef1", "mm: remove vmf_insert_pfn_xxx_prot() for huge page-table entries");
    /// The GUP entry points check their arguments in one place (is_valid_gup_args), and
    /// get_user_pages_fast_only now refuses FOLL_LONGTERM too (WARN, -EINVAL). Absent from
    /// 6.1's source, present in 6.12's; the commit is in 6.3's GUP series.
    GupArgsChecked = (6, 3, Inferred, "d64e2dbc33a1", "mm/gup: simplify the external interface functions and consolidate invariants");
    /// pin_user_pages_fast_only is removed (it had no callers left). It is in Debian 6.1's
    /// source and absent from 6.12's; recalled as the first patch of the series that brought
    /// GupArgsChecked. The model still runs the gup-fast walk it made (FOLL_PIN with
    /// FOLL_FAST_ONLY) and says that the function does not exist.
    RemovePinUserPagesFastOnly = (6, 3, Inferred, "", "mm/gup: remove pin_user_pages_fast_only() (subject recalled, not verified)");
    /// Block direct I/O takes user pages with iov_iter_extract_pages, pinning them (FOLL_PIN)
    /// instead of taking references.
    DirectIoPins = (6, 5, Inferred, "", "block: convert bio_iov_iter_get_pages to use iov_iter_extract_pages (subject recalled, not verified)");
    /// Pinning the shared zero page takes no reference and unpinning it releases none
    /// (Debian's 6.1.y carries the backport).
    DontPinZeroPage = (6, 5, Inferred, "", "mm: Don't pin ZERO_PAGE in pin_user_pages()");
    /// GUP-fast refuses FOLL_LONGTERM|FOLL_WRITE pins of file-backed folios that need dirty
    /// tracking (folio_fast_pin_allowed); io_uring leaves the file-backed check to GUP.
    LongtermFileBackedCheck = (6, 5, Inferred, "", "mm/gup: disallow FOLL_LONGTERM GUP-fast writing to file-backed mappings; io_uring: rsrc: delegate VMA file-backed check to GUP (subject recalled, not verified)");
    /// The slow path fills pages[] for the rest of a huge PMD in one go (ctx.page_mask is
    /// honoured with pages != NULL): it takes all of those references on the folio of the
    /// first subpage followed, where it used to follow every page. On a huge entry over
    /// order-0 pages (device memory) they all land on that one page. Authored June 2023;
    /// fixes of it are tagged for stable 6.6+.
    GupThpAccelerate = (6, 6, Inferred, "57edfcfd3419", "mm/gup: accelerate thp gup even for \"pages != NULL\"");
    /// GUP-fast reads folio->mapping of every small folio and refuses those with none
    /// (secretmem check), so vm_insert_page'd driver pages go to the slow path.
    SecretmemGupFast = (6, 9, Inferred, "", "mm/secretmem: fix GUP-fast succeeding on secretmem folios");
    /// io_uring's buffer registration pins with pin_user_pages_fast (io_pin_pages, shared
    /// with the provided-buffer rings) instead of pin_user_pages under the mmap lock, so
    /// gup-fast takes what it can without looking at vmas: an anonymous COW page in a
    /// private VM_PFNMAP mapping is pinned where the slow path refused the vma. Debian 6.1's
    /// io_uring/rsrc.c has pin_user_pages, 6.12's io_uring/memmap.c pin_user_pages_fast; the
    /// release is recalled, not read.
    IoUringPinFast = (6, 10, Inferred, "", "io_uring: unify io_pin_pages() (subject recalled, not verified)");
    /// gup-fast reports a range whose end wraps around with -EOVERFLOW instead of returning 0.
    /// Seen in 6.12's source (gup_fast_fallback), absent from 6.1's; commit not identified.
    GupFastEoverflow = (6, 12, Inferred, "", "(commit not identified: gup_fast_fallback returns -EOVERFLOW on a wrapping range)");
    /// Huge PFNMAP entries: pmd/pud special bits, vm_normal_page_pmd checks them, GUP-fast
    /// backs off from special huge entries, ->huge_fault allowed again for special vmas,
    /// vmf_insert_mixed reports a bad vma with SIGBUS instead of BUG.
    HugePfnmap = (6, 12, Source, "", "mm: introduce ARCH_SUPPORTS_HUGE_PFNMAP and special bits to pmd/pud; mm/gup: detect huge pfnmap entries in gup-fast; mm: allow THP orders for PFNMAPs");
    /// The devmap page-table bit and pfn_t are removed; GUP no longer calls get_dev_pagemap.
    RemoveDevmap = (6, 17, Inferred, "", "mm: Remove pXX_devmap page table bit and pfn_t type");
    /// vm_normal_page, _pmd and the new _pud share one helper keyed on the special bit of each
    /// level; huge PFN inserts are always special; vma_is_special_huge excludes DAX.
    UnifiedVmNormalPage = (7, 2, Inferred, "", "mm/memory: factor out common code from vm_normal_page_*(); introduce vm_normal_page_pud() (subject recalled, not verified)");
}

/// Stable backports a distribution kernel carries ahead of its mainline release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Backports {
    /// "mm: Don't pin ZERO_PAGE in pin_user_pages()" (Debian 6.1.y).
    pub dont_pin_zero_page: bool,
}

/// Deliberate breakage for testing the explorer: a kernel without the synchronization the
/// real one relies on, so that races the real kernel prevents become visible. Never set by
/// a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub struct InjectedBugs {
    /// gup-fast keeps what it grabbed without checking that the entry is unchanged.
    pub skip_gup_fast_recheck: bool,
    /// TLB flushes (and the page-table frees behind them) do not wait for walkers that run
    /// with interrupts disabled.
    pub skip_tlb_flush_wait: bool,
}

/// The kernel the model behaves as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct KernelConfig {
    pub release: Release,
    pub backports: Backports,
    /// A distribution kernel (`debian-6.1`), named so in output.
    pub debian: bool,
    pub injected: InjectedBugs,
}

impl KernelConfig {
    /// Mainline `release`.
    pub fn mainline(release: Release) -> Self {
        KernelConfig {
            release,
            backports: Backports::default(),
            debian: false,
            injected: InjectedBugs::default(),
        }
    }

    /// Debian's kernel of that release line, with the backports the oracle kernels showed.
    pub fn debian(release: Release) -> Self {
        let mut cfg = KernelConfig::mainline(release);
        cfg.debian = true;
        cfg.backports.dont_pin_zero_page = release >= Release::new(6, 1);
        cfg
    }

    /// Whether this kernel has the change.
    pub fn has(&self, change: ChangePoint) -> bool {
        if self.release >= change.release() {
            return true;
        }
        match change {
            ChangePoint::DontPinZeroPage => self.backports.dont_pin_zero_page,
            _ => false,
        }
    }

    /// Parses `5.11`, `6.12`, `debian-6.1`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (debian, number) = match text.strip_prefix("debian-") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (major, minor) = number
            .split_once('.')
            .ok_or_else(|| format!("expected a release like 6.1, found `{text}`"))?;
        let major: u8 = major
            .parse()
            .map_err(|_| format!("bad major number in `{text}`"))?;
        // Debian versions may carry a patch level (`6.1.192`): the model keys on major.minor.
        let minor = minor.split('.').next().unwrap_or(minor);
        let minor: u8 = minor
            .parse()
            .map_err(|_| format!("bad minor number in `{text}`"))?;
        let release = Release::new(major, minor);
        if release < Release::new(5, 10) || release > Release::NEWEST {
            return Err(format!(
                "release {release} is outside the modelled range {}..{}",
                Release::OLDEST,
                Release::NEWEST
            ));
        }
        Ok(if debian {
            KernelConfig::debian(release)
        } else {
            KernelConfig::mainline(release)
        })
    }

    /// One kernel per change point (the oldest release, then each change's release): running a
    /// test on each shows which change altered its outcome.
    pub fn each_change_point() -> Vec<KernelConfig> {
        let mut releases = vec![Release::OLDEST];
        for cp in ChangePoint::ALL {
            if !releases.contains(&cp.release()) {
                releases.push(cp.release());
            }
        }
        releases.into_iter().map(KernelConfig::mainline).collect()
    }
}

impl fmt::Display for KernelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.debian {
            write!(f, "debian-{}", self.release)?;
        } else {
            write!(f, "{}", self.release)?;
        }
        if self.injected != InjectedBugs::default() {
            write!(f, "+injected-bugs")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_points_are_in_release_order() {
        let releases: Vec<_> = ChangePoint::ALL.iter().map(|c| c.release()).collect();
        let mut sorted = releases.clone();
        sorted.sort();
        assert_eq!(releases, sorted);
    }

    #[test]
    fn a_release_selects_changes_up_to_it() {
        let k = KernelConfig::parse("6.1").unwrap();
        assert!(k.has(ChangePoint::TtmRemoveHuge));
        assert!(k.has(ChangePoint::RemoveFollCow));
        assert!(!k.has(ChangePoint::HugePfnmap));
        assert!(!k.has(ChangePoint::DontPinZeroPage));
    }

    #[test]
    fn debian_61_carries_the_zero_page_backport() {
        let k = KernelConfig::parse("debian-6.1").unwrap();
        assert!(k.has(ChangePoint::DontPinZeroPage));
        assert!(!k.has(ChangePoint::LongtermFileBackedCheck));
    }

    #[test]
    fn bad_versions_are_errors() {
        assert!(KernelConfig::parse("4.19").is_err());
        assert!(KernelConfig::parse("six").is_err());
        assert!(KernelConfig::parse("9.0").is_err());
        assert_eq!(
            KernelConfig::parse("debian-6.12.117").unwrap().release,
            Release::new(6, 12)
        );
    }
}
