//! pfn_t (include/linux/pfn_t.h): a pfn with flags saying whether a struct page backs it.
//! The type and its flags were removed in 6.17 together with devmap.

use crate::include::linux::mm_types::Pfn;
use bitflags::bitflags;
use serde::Serialize;

bitflags! {
    /// The flag bits of a pfn_t (kept in the top bits of the u64 in the kernel).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
    pub struct PfnFlags: u8 {
        /// PFN_DEV: not covered by the system memmap by default.
        const DEV = 1 << 0;
        /// PFN_MAP: a driver established a memmap for it (ZONE_DEVICE).
        const MAP = 1 << 1;
        /// PFN_SPECIAL: may be mapped but must not be GUP'd (FS_DAX_LIMITED).
        const SPECIAL = 1 << 2;
    }
}

/// A pfn with its pfn_t flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PfnT {
    pub pfn: Pfn,
    pub flags: PfnFlags,
}

impl PfnT {
    pub fn new(pfn: Pfn, flags: PfnFlags) -> Self {
        PfnT { pfn, flags }
    }

    /// pfn_t_devmap: both PFN_DEV and PFN_MAP (x86 has ARCH_HAS_PTE_DEVMAP).
    pub fn devmap(self) -> bool {
        self.flags.contains(PfnFlags::DEV | PfnFlags::MAP)
    }

    /// pfn_t_special.
    pub fn special(self) -> bool {
        self.flags.contains(PfnFlags::SPECIAL)
    }

    /// pfn_t_has_page: PFN_MAP set or PFN_DEV clear.
    pub fn has_page(self) -> bool {
        self.flags.contains(PfnFlags::MAP) || !self.flags.contains(PfnFlags::DEV)
    }
}
