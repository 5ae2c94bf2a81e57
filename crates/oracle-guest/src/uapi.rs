//! The test driver's ioctl interface (mirrors crates/oracle/module/mmlab_uapi.h).

pub const INSERT_PFN: u32 = 0;
pub const INSERT_MIXED: u32 = 1;
pub const INSERT_PAGE: u32 = 2;
pub const INSERT_FAULT_PAGE: u32 = 3;
pub const INSERT_REMAP: u32 = 4;
pub const INSERT_PMD: u32 = 5;
pub const INSERT_PUD: u32 = 6;

pub const VM_PFNMAP: u32 = 1 << 0;
pub const VM_MIXEDMAP: u32 = 1 << 1;
pub const VM_IO: u32 = 1 << 2;
pub const VM_DONTEXPAND: u32 = 1 << 3;
pub const VM_DONTDUMP: u32 = 1 << 4;
pub const VM_HUGEPAGE: u32 = 1 << 5;
/// Not a vma flag: the driver's mmap refuses COW mappings (TTM since 5.14).
pub const VM_REJECT_COW: u32 = 1 << 6;

pub const PFN_NONE: u32 = 0;
pub const PFN_DEV: u32 = 1;
pub const PFN_DEV_MAP: u32 = 2;
pub const PFN_SPECIAL: u32 = 3;

pub const MEMORY_RAM: u32 = 0;
pub const MEMORY_IOMEM: u32 = 1;
pub const MEMORY_DEVMEM: u32 = 2;

pub const GUP_WRITE: u32 = 1 << 0;
pub const GUP_LONGTERM: u32 = 1 << 1;
pub const GUP_FORCE: u32 = 1 << 2;

pub const SLOTS: usize = 16;
pub const SLOT_OBJECT: u32 = 0xffff_ffff;

#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct Create {
    pub size: u64,
    pub insert: u32,
    pub vm_flags: u32,
    pub pfn_flags: u32,
    pub memory: u32,
    pub dax: u32,
    pub ttm: u32,
    /// TTM pool caching: 0 cached, 1 wc, 2 uc (pages kept in the driver's pool for reuse).
    pub caching: u32,
    pub reserved: u32,
}

#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct Gup {
    pub addr: u64,
    pub nr_pages: u32,
    pub call: u32,
    pub flags: u32,
    pub slot: u32,
    pub result: i64,
}

#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct Dma {
    pub slot: u32,
    pub write: u32,
    pub value: u64,
    pub pages: u32,
    pub missing: u32,
}

#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct PageState {
    pub slot: u32,
    pub index: u32,
    pub pfn: u64,
    pub refcount: i32,
    pub mapcount: i32,
    pub pinned: u32,
    pub present: u32,
    pub value: u64,
    /// The large folio's pincount; -1 for small pages (pins counted in refcount).
    pub pincount: i32,
    pub reserved: u32,
}

const MAGIC: u64 = b'M' as u64;

const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | (MAGIC << 8) | nr
}
const WRITE: u64 = 1;
const READ: u64 = 2;

pub const IOC_CREATE: u64 = ioc(WRITE, 1, std::mem::size_of::<Create>());
pub const IOC_GUP: u64 = ioc(READ | WRITE, 2, std::mem::size_of::<Gup>());
pub const IOC_DMA: u64 = ioc(READ | WRITE, 3, std::mem::size_of::<Dma>());
pub const IOC_RELEASE: u64 = ioc(WRITE, 4, 4);
pub const IOC_EVICT: u64 = ioc(0, 5, 0);
pub const IOC_DESTROY: u64 = ioc(0, 6, 0);
pub const IOC_PAGE_STATE: u64 = ioc(READ | WRITE, 7, std::mem::size_of::<PageState>());
/// Exports the object as a dma-buf; returns its fd.
pub const IOC_EXPORT: u64 = ioc(0, 9, 0);
/// Returns how many pages held in a slot are free in the page allocator.
pub const IOC_SCAN: u64 = ioc(WRITE, 8, 4);

/// GUP call names of the litmus spec, in the driver's numbering.
pub const GUP_CALLS: [&str; 6] = [
    "get_user_pages",
    "get_user_pages_fast",
    "get_user_pages_fast_only",
    "pin_user_pages",
    "pin_user_pages_fast",
    "pin_user_pages_fast_only",
];
