/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmlab oracle test driver: what its files share.
 *
 * One job: give the guest runner a character device (/dev/mmlab) whose mappings are any
 * mapping a driver can make (the litmus `driver`, `ttm` and `dmabuf` objects), plus ioctls
 * that take pages with get_user_pages()/pin_user_pages() and act on them like a device would.
 * Each open file is one object (after MMLAB_IOC_CREATE) with its own inode and
 * address_space, so unmap_mapping_range() and S_DAX only touch that object.
 * Each open file also has MMLAB_SLOTS slots of held pages, released on close.
 *
 *   mmlab_main.c    the device, object lifetime (create, evict, destroy), ioctl dispatch
 *   mmlab_memory.c  backing memory: RAM blocks, the TTM-like pool, device memory pools
 *   mmlab_fault.c   mmap and the fault handlers (every insert method)
 *   mmlab_pages.c   held pages: GUP calls, device access, page state
 *   mmlab_dmabuf.c  dma-buf export
 */
#ifndef MMLAB_INTERNAL_H
#define MMLAB_INTERNAL_H

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/pfn_t.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/uaccess.h>
#include <linux/pseudo_fs.h>
#include <linux/mount.h>
#include <linux/highmem.h>
#include <linux/mutex.h>
#include <linux/version.h>
#include <linux/sched/mm.h>
#include <linux/pci.h>
#include <linux/io.h>
#include <linux/memremap.h>
#include <linux/bitmap.h>
#include <linux/dma-buf.h>
#include "mmlab_uapi.h"

#define MMLAB_MAX_GUP_PAGES 4096
#define MMLAB_FS_MAGIC 0x6d6d6c62

struct mmlab_slot {
	struct page **pages;
	long nr;
	bool pinned;
};

struct mmlab_block {
	u32 caching;            /* RAM blocks of TTM-like objects: the pool they return to */
	struct page *page;      /* RAM blocks */
	unsigned long pfn;      /* first pfn (all blocks) */
	unsigned int order;
	u32 memory;             /* enum mmlab_memory */
};

/*
 * Device memory: the BAR of a qemu ivshmem-plain device (RAM on the host, no struct pages
 * in the guest). Its first half is the iomem pool; its second half is registered with
 * memremap_pages(MEMORY_DEVICE_GENERIC) and is the devmem pool (ZONE_DEVICE pages with a
 * dev_pagemap). Absent device: memory=iomem|devmem are unsupported.
 */
struct mmlab_pool {
	bool ready;
	unsigned long base_pfn;
	unsigned long npages;
	void *vaddr;             /* kernel mapping of the pool */
	unsigned long *bitmap;   /* one bit per 4K page in use */
};

struct mmlab_obj {
	struct mutex lock;
	bool created;
	bool destroyed;
	struct mmlab_create cfg;
	unsigned long npages;
	struct page **pages;          /* current backing, one entry per 4K page (NULL: no struct page) */
	unsigned long *pfns;          /* current backing's pfns */
	u32 memory;                   /* the current backing's kind */
	struct mmlab_block *blocks;
	unsigned long nblocks;
	unsigned int order;
	struct inode *inode;          /* own inode: own address_space, own S_DAX */
	struct file *file;            /* the open file that is this object */
	struct mmlab_slot slots[MMLAB_SLOTS];
};

/* A PUD's order: 1G blocks, which only the device pools can give. */
#define MMLAB_PUD_ORDER (PUD_SHIFT - PAGE_SHIFT)

/*
 * The order of the blocks backing `obj` in `memory`: the object's own, except that RAM gives
 * a PUD object order-9 compound blocks (the page allocator has no 1G blocks), as the model's
 * generic driver does.
 */
static inline unsigned int mmlab_block_order(const struct mmlab_obj *obj, u32 memory)
{
	if (memory == MMLAB_MEMORY_RAM && obj->order > HPAGE_PMD_ORDER)
		return HPAGE_PMD_ORDER;
	return obj->order;
}

/* Device memory pools, indexed by enum mmlab_memory ([RAM] unused). */
extern struct mmlab_pool mmlab_pools[3];

/* mmlab_memory.c */
int mmlab_alloc_backing(struct mmlab_obj *obj, u32 memory, unsigned long **pfns,
			struct page ***pages, struct mmlab_block **blocks);
void mmlab_free_backing(struct mmlab_obj *obj);
void *mmlab_backing_vaddr(u32 memory, unsigned long pfn);
u64 mmlab_page_value(struct page *page);
void mmlab_set_page_value(struct page *page, u64 value);
void mmlab_memory_init(void);
void mmlab_memory_exit(void);
void mmlab_check_device_pool(void);

/* mmlab_fault.c */
int mmlab_mmap(struct file *file, struct vm_area_struct *vma);

/* mmlab_pages.c */
long mmlab_release_slot(struct mmlab_slot *slot);
long mmlab_gup(struct mmlab_obj *obj, struct mmlab_gup __user *uarg);
long mmlab_dma(struct mmlab_obj *obj, struct mmlab_dma __user *uarg);
long mmlab_page_state(struct mmlab_obj *obj, struct mmlab_page_state __user *uarg);
long mmlab_scan_slot(struct mmlab_slot *slot);

/* mmlab_dmabuf.c */
long mmlab_export(struct mmlab_obj *obj);

#endif
