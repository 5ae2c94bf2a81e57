//! The mm's page tables: PUD, PMD and PTE levels (PGD/P4D are always present here). Table
//! allocation (pmd_alloc / pte_alloc) and entry access, as mm/pgtable-generic.c and the
//! pXd_offset helpers provide.

use crate::arch::x86::pgtable::{Entry, Level, PageTableFlags};
use crate::include::linux::mm_types::Pfn;
use crate::shared::{PartTable, Shared};
use serde::Serialize;
use std::collections::BTreeMap;

/// Page tables keyed by the index of each entry in the address space at its level.
/// A PUD or PMD "table" entry is present without PSE.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct PageTables {
    /// Identifies the next page-table page allocated (kept in the table entry's pfn field), so
    /// a walker can tell a freed-and-reallocated table from the one it read.
    next_table: u64,
    pud: Shared<BTreeMap<u64, Entry>>,
    pmd: Shared<BTreeMap<u64, Entry>>,
    pte: Shared<BTreeMap<u64, Entry>>,
}

fn table_entry(id: u64) -> Entry {
    Entry::new(
        Pfn(id),
        PageTableFlags::PRESENT | PageTableFlags::RW | PageTableFlags::USER,
    )
}

impl PageTables {
    /// Shares each level's entries with equal ones in `table`.
    pub fn share_in(&mut self, table: &PartTable<BTreeMap<u64, Entry>>) {
        for level in [&mut self.pud, &mut self.pmd, &mut self.pte] {
            level.share_in(table);
        }
    }

    fn map(&self, level: Level) -> &BTreeMap<u64, Entry> {
        match level {
            Level::Pud => &self.pud,
            Level::Pmd => &self.pmd,
            Level::Pte => &self.pte,
        }
    }

    fn map_mut(&mut self, level: Level) -> &mut BTreeMap<u64, Entry> {
        match level {
            Level::Pud => &mut self.pud,
            Level::Pmd => &mut self.pmd,
            Level::Pte => &mut self.pte,
        }
    }

    fn key(level: Level, addr: u64) -> u64 {
        addr / level.size()
    }

    /// The entry at `level` for `addr`, as a walker reads it (none if the upper level has no
    /// table there).
    pub fn get(&self, level: Level, addr: u64) -> Entry {
        match level {
            Level::Pud => {}
            Level::Pmd => {
                let pud = self.get(Level::Pud, addr);
                if pud.is_none() || pud.leaf() {
                    return Entry::NONE;
                }
            }
            Level::Pte => {
                let pmd = self.get(Level::Pmd, addr);
                if pmd.is_none() || pmd.leaf() {
                    return Entry::NONE;
                }
            }
        }
        self.map(level)
            .get(&PageTables::key(level, addr))
            .copied()
            .unwrap_or(Entry::NONE)
    }

    /// Sets the entry at `level` (set_pte_at / set_pmd_at / set_pud_at). The caller has made
    /// sure the upper tables exist.
    pub fn set(&mut self, level: Level, addr: u64, entry: Entry) {
        let key = PageTables::key(level, addr);
        if entry.is_none() {
            self.map_mut(level).remove(&key);
        } else {
            self.map_mut(level).insert(key, entry);
        }
    }

    /// pud_alloc + pmd_alloc: makes sure a PMD table exists for `addr`; false if a huge PUD
    /// leaf is in the way.
    pub fn pmd_alloc(&mut self, addr: u64) -> bool {
        let pud = self.get(Level::Pud, addr);
        if pud.leaf() {
            return false;
        }
        if pud.is_none() {
            self.next_table += 1;
            self.set(Level::Pud, addr, table_entry(self.next_table));
        }
        true
    }

    /// pte_alloc: makes sure a PTE table exists for `addr`; false if a huge entry is in the way.
    pub fn pte_alloc(&mut self, addr: u64) -> bool {
        if !self.pmd_alloc(addr) {
            return false;
        }
        let pmd = self.get(Level::Pmd, addr);
        if pmd.leaf() {
            return false;
        }
        if pmd.is_none() {
            self.next_table += 1;
            self.set(Level::Pmd, addr, table_entry(self.next_table));
        }
        true
    }

    /// The present PTEs in `start..end`: (address, entry).
    pub fn ptes(&self, start: u64, end: u64) -> Vec<(u64, Entry)> {
        self.leaf_entries(Level::Pte, start, end).collect()
    }

    /// The huge (leaf) entries at `level` in `start..end`: (address, entry).
    pub fn leaves(&self, level: Level, start: u64, end: u64) -> Vec<(u64, Entry)> {
        self.leaf_entries(level, start, end).collect()
    }

    /// The leaf entries a walker reaches at `level` in `start..end`, in address order: PTEs
    /// under a present PMD table, PMD and PUD entries that map (not tables).
    pub fn leaf_entries(
        &self,
        level: Level,
        start: u64,
        end: u64,
    ) -> impl Iterator<Item = (u64, Entry)> + '_ {
        let size = level.size();
        self.map(level)
            .range(PageTables::key(level, start)..PageTables::key(level, end.saturating_sub(1)) + 1)
            .map(move |(k, e)| (k * size, *e))
            .filter(move |&(addr, e)| self.reached(level, addr, e))
    }

    /// The first leaf entry at `level`, in address order, that a walker reaches and that
    /// `wanted` accepts. (`wanted` is asked first: whether a PTE is reached costs a walk.)
    pub fn find_leaf(&self, level: Level, wanted: impl Fn(Entry) -> bool) -> Option<(u64, Entry)> {
        let size = level.size();
        self.map(level)
            .iter()
            .map(|(k, e)| (k * size, *e))
            .filter(|&(_, e)| wanted(e))
            .find(|&(addr, e)| self.reached(level, addr, e))
    }

    /// Whether the entry stored for `addr` at `level` is a leaf a walker reaches: a PTE under
    /// a present PMD table, a PMD or PUD entry that maps (not a table).
    fn reached(&self, level: Level, addr: u64, e: Entry) -> bool {
        match level {
            Level::Pte => self.get(Level::Pte, addr) == e,
            Level::Pmd | Level::Pud => e.leaf(),
        }
    }

    /// Frees the page tables under `start..end` whose whole span no vma uses any more
    /// (free_pgtables after munmap: the floor and ceiling are the neighbouring vmas).
    /// Returns the ids of the tables unlinked (freed once the TLB flush is done).
    pub fn free_tables(
        &mut self,
        start: u64,
        end: u64,
        in_use: impl Fn(u64, u64) -> bool,
    ) -> Vec<u64> {
        let mut unlinked = Vec::new();
        for level in [Level::Pmd, Level::Pud] {
            let size = level.size();
            let mut key = start / size;
            while key * size < end {
                let (lo, hi) = (key * size, (key + 1) * size);
                if !in_use(lo, hi) {
                    let entry = self.get(level, lo);
                    if entry.present() && !entry.leaf() {
                        let below = if level == Level::Pmd {
                            Level::Pte
                        } else {
                            Level::Pmd
                        };
                        let (b0, b1) = (lo / below.size(), hi / below.size());
                        let keys: Vec<u64> =
                            self.map(below).range(b0..b1).map(|(k, _)| *k).collect();
                        for k in keys {
                            if let Some(e) = self.map_mut(below).remove(&k) {
                                if below != Level::Pte && !e.leaf() {
                                    unlinked.push(e.pfn().0);
                                }
                            }
                        }
                        self.map_mut(level).remove(&key);
                        unlinked.push(entry.pfn().0);
                    }
                }
                key += 1;
            }
        }
        unlinked
    }
}
