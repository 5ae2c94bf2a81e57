//! x86-64 page-table entries: the hardware and software bits the mm code tests
//! (arch/x86/include/asm/pgtable_types.h, pgtable.h).
//!
//! One entry type serves every level, as on x86 where PTE, PMD and PUD share the bit layout;
//! a leaf at PMD/PUD level has PSE set.

use crate::include::linux::mm_types::Pfn;
use bitflags::bitflags;
use serde::Serialize;
use std::fmt;

bitflags! {
    /// The bits of an x86-64 page-table entry that the model uses.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
    pub struct PageTableFlags: u64 {
        const PRESENT = 1 << 0;
        const RW = 1 << 1;
        const USER = 1 << 2;
        const ACCESSED = 1 << 5;
        const DIRTY = 1 << 6;
        /// Page size: a leaf at PMD or PUD level.
        const PSE = 1 << 7;
        /// _PAGE_SPECIAL (software bit 1): no struct page to refcount behind this entry.
        const SPECIAL = 1 << 9;
        /// _PAGE_DEVMAP (software bit 4): ZONE_DEVICE memory; gone in 6.17.
        const DEVMAP = 1 << 58;
    }
}

const PFN_SHIFT: u32 = 12;
const PFN_MASK: u64 = ((1 << 52) - 1) & !((1 << PFN_SHIFT) - 1);

/// A present or empty page-table entry at any level.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Entry(u64);

impl Entry {
    /// pte_none / pmd_none / pud_none.
    pub const NONE: Entry = Entry(0);

    /// pfn_pte / pfn_pmd: an entry mapping `pfn` with `flags`.
    pub fn new(pfn: Pfn, flags: PageTableFlags) -> Self {
        Entry(((pfn.0 << PFN_SHIFT) & PFN_MASK) | flags.bits())
    }

    pub fn is_none(self) -> bool {
        self.0 == 0
    }

    pub fn pfn(self) -> Pfn {
        Pfn((self.0 & PFN_MASK) >> PFN_SHIFT)
    }

    pub fn flags(self) -> PageTableFlags {
        PageTableFlags::from_bits_truncate(self.0)
    }

    pub fn has(self, flag: PageTableFlags) -> bool {
        self.flags().contains(flag)
    }

    pub fn present(self) -> bool {
        self.has(PageTableFlags::PRESENT)
    }

    pub fn write(self) -> bool {
        self.has(PageTableFlags::RW)
    }

    /// pte/pmd/pud_access_permitted: the hardware would let user space make this access. A
    /// PROT_NONE entry, which mprotect leaves without the user bit here (x86 clears its
    /// present bit and sets PROTNONE), is not accessible at all.
    pub fn access_permitted(self, write: bool) -> bool {
        self.present() && self.has(PageTableFlags::USER) && (!write || self.write())
    }

    pub fn special(self) -> bool {
        self.has(PageTableFlags::SPECIAL)
    }

    pub fn devmap(self) -> bool {
        self.has(PageTableFlags::DEVMAP)
    }

    /// pmd_leaf / pud_leaf: a present huge entry.
    pub fn leaf(self) -> bool {
        self.present() && self.has(PageTableFlags::PSE)
    }

    /// pmd_trans_huge before 7.2: PSE set and the devmap bit clear, so devmap huge entries are
    /// not "trans huge".
    pub fn trans_huge(self) -> bool {
        self.leaf() && !self.devmap()
    }

    pub fn with(self, flag: PageTableFlags) -> Self {
        Entry(self.0 | flag.bits())
    }

    pub fn without(self, flag: PageTableFlags) -> Self {
        Entry(self.0 & !flag.bits())
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return write!(f, "none");
        }
        write!(f, "pfn {:#x}", self.pfn().0)?;
        let names = [
            (PageTableFlags::PRESENT, "present"),
            (PageTableFlags::RW, "write"),
            (PageTableFlags::DIRTY, "dirty"),
            (PageTableFlags::ACCESSED, "young"),
            (PageTableFlags::PSE, "huge"),
            (PageTableFlags::SPECIAL, "special"),
            (PageTableFlags::DEVMAP, "devmap"),
        ];
        for (flag, name) in names {
            if self.has(flag) {
                write!(f, " {name}")?;
            }
        }
        Ok(())
    }
}

/// The level of a page-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Level {
    Pte,
    Pmd,
    Pud,
}

impl Level {
    /// Number of 4K pages an entry at this level maps.
    pub fn pages(self) -> u64 {
        match self {
            Level::Pte => 1,
            Level::Pmd => 512,
            Level::Pud => 512 * 512,
        }
    }

    pub fn size(self) -> u64 {
        self.pages() * PAGE_SIZE
    }

    pub fn mask(self) -> u64 {
        !(self.size() - 1)
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Pte => "pte",
            Level::Pmd => "pmd",
            Level::Pud => "pud",
        }
    }
}

pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
pub const PMD_SIZE: u64 = 512 * PAGE_SIZE;
pub const PUD_SIZE: u64 = 512 * PMD_SIZE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trips_pfn_and_flags() {
        let e = Entry::new(
            Pfn(0x12345),
            PageTableFlags::PRESENT | PageTableFlags::PSE | PageTableFlags::DEVMAP,
        );
        assert_eq!(e.pfn(), Pfn(0x12345));
        assert!(e.leaf() && e.devmap() && !e.trans_huge() && !e.special());
        assert_eq!(e.to_string(), "pfn 0x12345 present huge devmap");
    }
}
