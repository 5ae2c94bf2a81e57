/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmlab oracle test driver: the ioctl interface shared with the guest runner
 * (crates/oracle-guest/src/uapi.rs mirrors it; keep both in sync).
 */
#ifndef MMLAB_UAPI_H
#define MMLAB_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

enum mmlab_insert {
	MMLAB_INSERT_PFN = 0,        /* ->fault: vmf_insert_pfn */
	MMLAB_INSERT_MIXED = 1,      /* ->fault: vmf_insert_mixed */
	MMLAB_INSERT_PAGE = 2,       /* mmap: vm_insert_page; ->fault re-inserts */
	MMLAB_INSERT_FAULT_PAGE = 3, /* ->fault returns a refcounted page */
	MMLAB_INSERT_REMAP = 4,      /* mmap: remap_pfn_range */
	MMLAB_INSERT_PMD = 5,        /* ->huge_fault: vmf_insert_pfn_pmd(_prot), PTE fallback */
	MMLAB_INSERT_PUD = 6,        /* ->huge_fault: vmf_insert_pfn_pud(_prot) over 1G device memory, PMD/PTE fallback */
};

/* vma flags the driver sets at mmap */
#define MMLAB_VM_PFNMAP     (1u << 0)
#define MMLAB_VM_MIXEDMAP   (1u << 1)
#define MMLAB_VM_IO         (1u << 2)
#define MMLAB_VM_DONTEXPAND (1u << 3)
#define MMLAB_VM_DONTDUMP   (1u << 4)
#define MMLAB_VM_HUGEPAGE   (1u << 5)
/* not a vma flag: mmap refuses COW (private writable) mappings with -EINVAL, as TTM does since 5.14 */
#define MMLAB_VM_REJECT_COW (1u << 6)

enum mmlab_pfn_flags {
	MMLAB_PFN_NONE = 0,
	MMLAB_PFN_DEV = 1,
	MMLAB_PFN_DEV_MAP = 2,
	MMLAB_PFN_SPECIAL = 3,
};

enum mmlab_memory {
	MMLAB_MEMORY_RAM = 0,
	MMLAB_MEMORY_IOMEM = 1,
	MMLAB_MEMORY_DEVMEM = 2,
};

/* MMLAB_IOC_CREATE: turns this open file into one driver object */
struct mmlab_create {
	__u64 size;        /* bytes, multiple of 4K (2M for huge kinds) */
	__u32 insert;      /* enum mmlab_insert */
	__u32 vm_flags;    /* MMLAB_VM_* */
	__u32 pfn_flags;   /* enum mmlab_pfn_flags, used by PTE mixed and huge inserts */
	__u32 memory;      /* enum mmlab_memory */
	__u32 dax;         /* nonzero: S_DAX on the object's inode (vma_is_dax) */
	__u32 ttm;         /* nonzero: TTM-like: order-9 blocks without __GFP_COMP, PTEs always PFN_DEV */
	__u32 caching;     /* TTM pool: 0 cached (free to the page allocator), 1 wc, 2 uc (cleared,
	                      kept in the driver's pool and handed to the next allocation) */
	__u32 reserved;
};

enum mmlab_gup_call {
	MMLAB_GET_USER_PAGES = 0,
	MMLAB_GET_USER_PAGES_FAST = 1,
	MMLAB_GET_USER_PAGES_FAST_ONLY = 2,
	MMLAB_PIN_USER_PAGES = 3,
	MMLAB_PIN_USER_PAGES_FAST = 4,
	MMLAB_PIN_USER_PAGES_FAST_ONLY = 5,
};

#define MMLAB_GUP_WRITE    (1u << 0)
#define MMLAB_GUP_LONGTERM (1u << 1)
#define MMLAB_GUP_FORCE    (1u << 2)

#define MMLAB_SLOTS 16

/* MMLAB_IOC_GUP: take pages at a user address into a slot; returns the call's result */
struct mmlab_gup {
	__u64 addr;
	__u32 nr_pages;
	__u32 call;        /* enum mmlab_gup_call */
	__u32 flags;       /* MMLAB_GUP_* */
	__u32 slot;
	__s64 result;      /* out: pages taken or -errno */
};

/* MMLAB_IOC_DMA: device write (write=1) or read of one value per held page */
struct mmlab_dma {
	__u32 slot;
	__u32 write;
	__u64 value;       /* in for write; out: value of the first page for read */
	__u32 pages;       /* out: pages accessed */
	__u32 missing;     /* out: entries the GUP call counted but left NULL */
};

/* MMLAB_IOC_PAGE_STATE: one page of a slot (slot < MMLAB_SLOTS) or of this object (slot = ~0) */
struct mmlab_page_state {
	__u32 slot;
	__u32 index;
	__u64 pfn;         /* out, 0 when there is no page */
	__s32 refcount;    /* out: page_count */
	__s32 mapcount;    /* out: raw _mapcount + 1 of this page */
	__u32 pinned;      /* out: page_maybe_dma_pinned */
	__u32 present;     /* out: 1 when a page is there */
	__u64 value;       /* out: first 8 bytes of the page */
	__s32 pincount;    /* out: the large folio's pincount; -1 for small pages (pins are in refcount, bias 1024) */
	__u32 reserved;
};

#define MMLAB_SLOT_OBJECT 0xffffffffu

#define MMLAB_IOC_MAGIC 'M'
#define MMLAB_IOC_CREATE     _IOW(MMLAB_IOC_MAGIC, 1, struct mmlab_create)
#define MMLAB_IOC_GUP        _IOWR(MMLAB_IOC_MAGIC, 2, struct mmlab_gup)
#define MMLAB_IOC_DMA        _IOWR(MMLAB_IOC_MAGIC, 3, struct mmlab_dma)
/* returns how many released pages were left with a negative refcount */
#define MMLAB_IOC_RELEASE    _IOW(MMLAB_IOC_MAGIC, 4, __u32)
#define MMLAB_IOC_EVICT      _IO(MMLAB_IOC_MAGIC, 5)
#define MMLAB_IOC_DESTROY    _IO(MMLAB_IOC_MAGIC, 6)
#define MMLAB_IOC_PAGE_STATE _IOWR(MMLAB_IOC_MAGIC, 7, struct mmlab_page_state)
/* exports this object as a dma-buf; returns the dma-buf's fd (mmap goes through dma_buf_mmap) */
#define MMLAB_IOC_EXPORT     _IO(MMLAB_IOC_MAGIC, 9)
/* returns how many pages held in a slot are free in the page allocator (PageBuddy) */
#define MMLAB_IOC_SCAN       _IOW(MMLAB_IOC_MAGIC, 8, __u32)

#endif
