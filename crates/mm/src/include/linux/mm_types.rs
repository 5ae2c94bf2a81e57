//! struct page, struct vm_area_struct and their flags (include/linux/mm_types.h, mm.h).

use crate::arch::x86::pgtable::PAGE_SIZE;
use bitflags::bitflags;
use serde::Serialize;
use std::fmt;

/// A page frame number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Pfn(pub u64);

impl Pfn {
    pub fn offset(self, n: u64) -> Pfn {
        Pfn(self.0 + n)
    }
}

impl fmt::Debug for Pfn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pfn {:#x}", self.0)
    }
}

impl fmt::Display for Pfn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// Identifies a memory object (buffer object, anonymous region, shmem file) that owns frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjId(pub u16);

/// Identifies a file's address_space (the target of unmap_mapping_range).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MappingId(pub u16);

bitflags! {
    /// vm_area_struct::vm_flags.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
    pub struct VmFlags: u32 {
        const READ = 1 << 0;
        const WRITE = 1 << 1;
        const EXEC = 1 << 2;
        const SHARED = 1 << 3;
        const MAYREAD = 1 << 4;
        const MAYWRITE = 1 << 5;
        const MAYEXEC = 1 << 6;
        const MAYSHARE = 1 << 7;
        const PFNMAP = 1 << 10;
        const IO = 1 << 14;
        const DONTCOPY = 1 << 17;
        const DONTEXPAND = 1 << 18;
        const MIXEDMAP = 1 << 28;
        const HUGEPAGE = 1 << 29;
        const NOHUGEPAGE = 1 << 30;
        const DONTDUMP = 1 << 26;
    }
}

impl VmFlags {
    /// VM_SPECIAL: mappings the core mm must not merge, expand or treat as ordinary memory.
    pub const SPECIAL: VmFlags = VmFlags::IO
        .union(VmFlags::DONTEXPAND)
        .union(VmFlags::PFNMAP)
        .union(VmFlags::MIXEDMAP);
}

/// Which callbacks a vma's vm_operations_struct provides; the calls themselves go to the
/// device model through [`crate::Devices`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
pub struct VmOps {
    pub fault: bool,
    /// `->map_pages`: maps page cache pages around a read fault (fault-around).
    pub map_pages: bool,
    pub huge_fault: bool,
    pub pfn_mkwrite: bool,
    pub page_mkwrite: bool,
}

/// What backs a vma.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum VmaBacking {
    /// Anonymous memory (vma_is_anonymous).
    Anon,
    /// A shmem/memfd file.
    Shmem,
    /// A device file handled by a driver.
    Device,
}

/// struct vm_area_struct, the fields the modelled paths read.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub flags: VmFlags,
    /// vm_pgoff, in pages.
    pub pgoff: u64,
    pub backing: VmaBacking,
    /// vm_file->f_mapping, for unmap_mapping_range.
    pub mapping: Option<MappingId>,
    pub ops: VmOps,
    /// vm_private_data: the object whose callbacks handle this vma.
    pub object: ObjId,
    /// The file's inode has S_DAX (vma_is_dax).
    pub dax: bool,
}

impl Vma {
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    pub fn pages(&self) -> u64 {
        (self.end - self.start) / PAGE_SIZE
    }

    /// vma_is_anonymous.
    pub fn is_anonymous(&self) -> bool {
        self.backing == VmaBacking::Anon
    }

    /// vma_is_dax.
    pub fn is_dax(&self) -> bool {
        self.dax
    }

    /// The file page index that `addr` maps (linear_page_index).
    pub fn page_index(&self, addr: u64) -> u64 {
        ((addr - self.start) / PAGE_SIZE) + self.pgoff
    }
}

/// is_cow_mapping: private and may become writable.
pub fn is_cow_mapping(flags: VmFlags) -> bool {
    flags & (VmFlags::SHARED | VmFlags::MAYWRITE) == VmFlags::MAYWRITE
}

bitflags! {
    /// vm_fault::flags (FAULT_FLAG_*).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
    pub struct FaultFlags: u16 {
        const WRITE = 1 << 0;
        const MKWRITE = 1 << 1;
        const ALLOW_RETRY = 1 << 2;
        const KILLABLE = 1 << 4;
        const TRIED = 1 << 5;
        const USER = 1 << 6;
        const REMOTE = 1 << 7;
        const UNSHARE = 1 << 10;
    }
}

bitflags! {
    /// vm_fault_t (VM_FAULT_*).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
    pub struct VmFault: u16 {
        const OOM = 1 << 0;
        const SIGBUS = 1 << 1;
        const MAJOR = 1 << 2;
        const WRITE = 1 << 3;
        const HWPOISON = 1 << 4;
        const SIGSEGV = 1 << 6;
        const NOPAGE = 1 << 8;
        const LOCKED = 1 << 9;
        const RETRY = 1 << 10;
        const FALLBACK = 1 << 11;
        const DONE_COW = 1 << 12;
    }
}

impl VmFault {
    /// VM_FAULT_ERROR.
    pub const ERROR: VmFault = VmFault::OOM
        .union(VmFault::SIGBUS)
        .union(VmFault::SIGSEGV)
        .union(VmFault::HWPOISON);

    pub fn is_error(self) -> bool {
        self.intersects(VmFault::ERROR)
    }
}

/// struct vm_fault: the fault being handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    /// The faulting address (page aligned for PTE faults).
    pub address: u64,
    pub flags: FaultFlags,
    /// The file page index of `address`.
    pub pgoff: u64,
    /// The vma's index in the mm.
    pub vma: usize,
}

impl FaultInfo {
    pub fn write(&self) -> bool {
        self.flags.contains(FaultFlags::WRITE)
    }
}
