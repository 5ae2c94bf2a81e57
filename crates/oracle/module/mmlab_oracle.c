// SPDX-License-Identifier: GPL-2.0
/*
 * mmlab oracle test driver.
 *
 * One job: give the guest runner a character device (/dev/mmlab) whose mappings are any
 * mapping a driver can make (the litmus `driver` and `ttm` objects), plus ioctls that take
 * pages with get_user_pages()/pin_user_pages() and act on them like a device would.
 * Each open file is one object (after MMLAB_IOC_CREATE) with its own inode and
 * address_space, so unmap_mapping_range() and S_DAX only touch that object.
 * Each open file also has MMLAB_SLOTS slots of held pages, released on close.
 */
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

/*
 * The TTM-like page pool for write-combined / uncached objects: freed blocks are cleared
 * (a write into memory that may still be pinned) and kept for the next allocation of the
 * same caching and order, as the TTM pool does. [caching][order != 0].
 */
static struct list_head mmlab_ttm_pool[3][2] = {
	{ LIST_HEAD_INIT(mmlab_ttm_pool[0][0]), LIST_HEAD_INIT(mmlab_ttm_pool[0][1]) },
	{ LIST_HEAD_INIT(mmlab_ttm_pool[1][0]), LIST_HEAD_INIT(mmlab_ttm_pool[1][1]) },
	{ LIST_HEAD_INIT(mmlab_ttm_pool[2][0]), LIST_HEAD_INIT(mmlab_ttm_pool[2][1]) },
};

static struct mmlab_pool mmlab_pools[3]; /* indexed by enum mmlab_memory; [RAM] unused */
static DEFINE_MUTEX(mmlab_pool_lock);
static struct pci_dev *mmlab_pdev;
static struct dev_pagemap mmlab_pgmap;
static bool mmlab_pgmap_live;

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

static struct vfsmount *mmlab_mnt;
static int mmlab_mnt_count;

static int mmlab_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, MMLAB_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type mmlab_fs_type = {
	.name = "mmlab_oracle_fs",
	.owner = THIS_MODULE,
	.init_fs_context = mmlab_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

static void mmlab_set_vm_flags(struct vm_area_struct *vma, unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static pfn_t mmlab_pfn_t(struct mmlab_obj *obj, unsigned long pfn)
{
	u64 flags = 0;

	switch (obj->cfg.pfn_flags) {
	case MMLAB_PFN_DEV:
		flags = PFN_DEV;
		break;
	case MMLAB_PFN_DEV_MAP:
		flags = PFN_DEV | PFN_MAP;
		break;
	case MMLAB_PFN_SPECIAL:
		flags = PFN_SPECIAL;
		break;
	default:
		break;
	}
	return __pfn_to_pfn_t(pfn, flags);
}

/* ---- backing store ---- */

static long mmlab_pool_alloc(struct mmlab_pool *pool, unsigned int order)
{
	unsigned long n = 1UL << order, idx;

	if (!pool->ready)
		return -EOPNOTSUPP;
	mutex_lock(&mmlab_pool_lock);
	idx = bitmap_find_next_zero_area(pool->bitmap, pool->npages, 0, n, n - 1);
	if (idx >= pool->npages) {
		mutex_unlock(&mmlab_pool_lock);
		return -ENOMEM;
	}
	bitmap_set(pool->bitmap, idx, n);
	mutex_unlock(&mmlab_pool_lock);
	return idx;
}

static void mmlab_pool_free(struct mmlab_pool *pool, unsigned long pfn, unsigned int order)
{
	mutex_lock(&mmlab_pool_lock);
	bitmap_clear(pool->bitmap, pfn - pool->base_pfn, 1UL << order);
	mutex_unlock(&mmlab_pool_lock);
}

static void mmlab_ttm_pool_give(struct page *page, unsigned int order, u32 caching)
{
	unsigned long i;

	for (i = 0; i < (1UL << order); i++)
		clear_highpage(page + i);
	mutex_lock(&mmlab_pool_lock);
	list_add(&page->lru, &mmlab_ttm_pool[caching][order != 0]);
	mutex_unlock(&mmlab_pool_lock);
}

static struct page *mmlab_ttm_pool_take(unsigned int order, u32 caching)
{
	struct list_head *list = &mmlab_ttm_pool[caching][order != 0];
	struct page *page = NULL;

	mutex_lock(&mmlab_pool_lock);
	if (!list_empty(list)) {
		page = list_first_entry(list, struct page, lru);
		list_del(&page->lru);
	}
	mutex_unlock(&mmlab_pool_lock);
	return page;
}

static void mmlab_free_blocks(struct mmlab_block *blocks, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		if (blocks[i].memory == MMLAB_MEMORY_RAM) {
			if (blocks[i].page && blocks[i].caching)
				mmlab_ttm_pool_give(blocks[i].page, blocks[i].order, blocks[i].caching);
			else if (blocks[i].page)
				__free_pages(blocks[i].page, blocks[i].order);
		} else if (blocks[i].pfn) {
			mmlab_pool_free(&mmlab_pools[blocks[i].memory], blocks[i].pfn,
					blocks[i].order);
		}
	}
	kvfree(blocks);
}

/* Kernel address of a backing page. */
static void *mmlab_backing_vaddr(u32 memory, unsigned long pfn)
{
	struct mmlab_pool *pool = &mmlab_pools[memory];

	if (memory == MMLAB_MEMORY_RAM)
		return page_address(pfn_to_page(pfn));
	return pool->vaddr + ((pfn - pool->base_pfn) << PAGE_SHIFT);
}

/* Allocates obj->nblocks blocks of obj->order from `memory`; fills pfns[] and pages[]. */
static struct mmlab_block *mmlab_alloc_blocks(struct mmlab_obj *obj, u32 memory,
					      unsigned long *pfns, struct page **pages)
{
	struct mmlab_block *blocks;
	gfp_t gfp = GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN;
	unsigned long i, j;

	if (obj->order && !obj->cfg.ttm)
		gfp |= __GFP_COMP;
	blocks = kvcalloc(obj->nblocks, sizeof(*blocks), GFP_KERNEL);
	if (!blocks)
		return NULL;
	for (i = 0; i < obj->nblocks; i++) {
		unsigned long pfn;

		if (memory == MMLAB_MEMORY_RAM) {
			u32 caching = obj->cfg.ttm ? obj->cfg.caching : 0;
			struct page *page = caching ? mmlab_ttm_pool_take(obj->order, caching) : NULL;

			if (!page)
				page = alloc_pages(gfp, obj->order);
			if (!page)
				goto fail;
			blocks[i].page = page;
			blocks[i].caching = caching;
			pfn = page_to_pfn(page);
		} else {
			struct mmlab_pool *pool = &mmlab_pools[memory];
			long idx = mmlab_pool_alloc(pool, obj->order);

			if (idx < 0)
				goto fail;
			pfn = pool->base_pfn + idx;
			memset(pool->vaddr + (idx << PAGE_SHIFT), 0, PAGE_SIZE << obj->order);
		}
		blocks[i].pfn = pfn;
		blocks[i].order = obj->order;
		blocks[i].memory = memory;
		for (j = 0; j < (1UL << obj->order); j++) {
			pfns[(i << obj->order) + j] = pfn + j;
			pages[(i << obj->order) + j] =
				memory == MMLAB_MEMORY_IOMEM ? NULL : pfn_to_page(pfn + j);
		}
	}
	return blocks;
fail:
	mmlab_free_blocks(blocks, i);
	return NULL;
}

/* Allocates pfns[], pages[] and blocks for `memory` into the out parameters. */
static int mmlab_alloc_backing(struct mmlab_obj *obj, u32 memory, unsigned long **pfns,
			       struct page ***pages, struct mmlab_block **blocks)
{
	if (memory != MMLAB_MEMORY_RAM && !mmlab_pools[memory].ready)
		return -EOPNOTSUPP;
	*pfns = kvcalloc(obj->npages, sizeof(**pfns), GFP_KERNEL);
	*pages = kvcalloc(obj->npages, sizeof(**pages), GFP_KERNEL);
	*blocks = (*pfns && *pages) ? mmlab_alloc_blocks(obj, memory, *pfns, *pages) : NULL;
	if (!*blocks) {
		kvfree(*pfns);
		kvfree(*pages);
		return -ENOMEM;
	}
	return 0;
}

static void mmlab_free_backing(struct mmlab_obj *obj)
{
	mmlab_free_blocks(obj->blocks, obj->nblocks);
	kvfree(obj->pages);
	kvfree(obj->pfns);
	obj->blocks = NULL;
	obj->pages = NULL;
	obj->pfns = NULL;
}

static u64 mmlab_page_value(struct page *page)
{
	u64 *p = kmap(page);
	u64 v = READ_ONCE(*p);

	kunmap(page);
	return v;
}

static void mmlab_set_page_value(struct page *page, u64 value)
{
	u64 *p = kmap(page);

	WRITE_ONCE(*p, value);
	kunmap(page);
}

static long mmlab_create(struct mmlab_obj *obj, struct mmlab_create __user *uarg)
{
	struct mmlab_create cfg;
	unsigned long block_bytes;
	int err;

	if (copy_from_user(&cfg, uarg, sizeof(cfg)))
		return -EFAULT;
	if (obj->created)
		return -EBUSY;
	if (cfg.memory > MMLAB_MEMORY_DEVMEM || cfg.caching > 2)
		return -EINVAL;
	if (cfg.memory != MMLAB_MEMORY_RAM && !mmlab_pools[cfg.memory].ready)
		return -EOPNOTSUPP; /* no device memory in this guest */
	if (cfg.memory == MMLAB_MEMORY_IOMEM &&
	    (cfg.insert == MMLAB_INSERT_PAGE || cfg.insert == MMLAB_INSERT_FAULT_PAGE))
		return -EOPNOTSUPP; /* needs struct pages */
	if (cfg.insert > MMLAB_INSERT_PMD)
		return -EOPNOTSUPP; /* PUD needs 1G blocks: not in a 512M guest */
	obj->order = cfg.insert == MMLAB_INSERT_PMD ? HPAGE_PMD_ORDER : 0;
	block_bytes = PAGE_SIZE << obj->order;
	if (!cfg.size || cfg.size % block_bytes || cfg.size > (64UL << 20))
		return -EINVAL;
	obj->cfg = cfg;
	obj->npages = cfg.size >> PAGE_SHIFT;
	obj->nblocks = cfg.size / block_bytes;
	err = mmlab_alloc_backing(obj, cfg.memory, &obj->pfns, &obj->pages, &obj->blocks);
	if (err)
		return err;
	obj->memory = cfg.memory;
	if (cfg.dax)
		obj->inode->i_flags |= S_DAX;
	obj->created = true;
	return 0;
}

static void mmlab_unmap_all(struct mmlab_obj *obj)
{
	unmap_mapping_range(obj->inode->i_mapping, 0, obj->npages << PAGE_SHIFT, 1);
}

/*
 * The driver moves the object: unmap, copy to new backing, free the old backing.
 * to: 0 = RAM (system), 1 = iomem (vram), 2 = the kind it is in now.
 */
static long mmlab_evict(struct mmlab_obj *obj, unsigned long to)
{
	unsigned long *new_pfns;
	struct page **new_pages;
	struct mmlab_block *new_blocks;
	unsigned long i;
	u32 memory;
	int err;

	mutex_lock(&obj->lock);
	if (!obj->created || obj->destroyed) {
		mutex_unlock(&obj->lock);
		return -EINVAL;
	}
	memory = to == 0 ? MMLAB_MEMORY_RAM : to == 1 ? MMLAB_MEMORY_IOMEM : obj->memory;
	if (memory == MMLAB_MEMORY_IOMEM &&
	    (obj->cfg.insert == MMLAB_INSERT_PAGE || obj->cfg.insert == MMLAB_INSERT_FAULT_PAGE)) {
		mutex_unlock(&obj->lock);
		return -EOPNOTSUPP;
	}
	err = mmlab_alloc_backing(obj, memory, &new_pfns, &new_pages, &new_blocks);
	if (err) {
		mutex_unlock(&obj->lock);
		return err;
	}
	mmlab_unmap_all(obj);
	for (i = 0; i < obj->npages; i++)
		memcpy(mmlab_backing_vaddr(memory, new_pfns[i]),
		       mmlab_backing_vaddr(obj->memory, obj->pfns[i]), PAGE_SIZE);
	mmlab_free_backing(obj);
	obj->pfns = new_pfns;
	obj->pages = new_pages;
	obj->blocks = new_blocks;
	obj->memory = memory;
	mutex_unlock(&obj->lock);
	return 0;
}

static long mmlab_destroy(struct mmlab_obj *obj)
{
	mutex_lock(&obj->lock);
	if (!obj->created || obj->destroyed) {
		mutex_unlock(&obj->lock);
		return -EINVAL;
	}
	mmlab_unmap_all(obj);
	mmlab_free_backing(obj);
	obj->destroyed = true;
	mutex_unlock(&obj->lock);
	return 0;
}

/* ---- faults ---- */

/* Refuses calls whose kernel BUG_ON preconditions are met: a BUG in a fault handler
 * leaves mmap_lock held and wedges the guest. Logged for the guest runner to report. */
static bool mmlab_would_bug(const char *what, bool cond)
{
	if (cond)
		pr_warn("mmlab: unsupported: %s would BUG_ON\n", what);
	return cond;
}

static vm_fault_t mmlab_insert_pte(struct mmlab_obj *obj, struct vm_fault *vmf, unsigned long idx)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long pfn = obj->pfns[idx];
	struct page *page = obj->pages[idx];
	unsigned long f = vma->vm_flags;
	bool cow = (f & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
	int err;

	switch (obj->cfg.insert) {
	case MMLAB_INSERT_PFN:
	case MMLAB_INSERT_REMAP:
	pfn_insert:
		if (mmlab_would_bug("vmf_insert_pfn", !(f & (VM_PFNMAP | VM_MIXEDMAP)) ||
				    (f & VM_PFNMAP && f & VM_MIXEDMAP) || (f & VM_PFNMAP && cow) ||
				    (f & VM_MIXEDMAP && pfn_valid(pfn))))
			return VM_FAULT_SIGBUS;
		return vmf_insert_pfn(vma, vmf->address, pfn);
	case MMLAB_INSERT_PMD:
		if (!(f & VM_MIXEDMAP))
			goto pfn_insert;
		fallthrough;
	case MMLAB_INSERT_MIXED: {
		pfn_t p = obj->cfg.ttm ? __pfn_to_pfn_t(pfn, PFN_DEV) : mmlab_pfn_t(obj, pfn);
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
		if (mmlab_would_bug("vmf_insert_mixed",
				    !(f & VM_MIXEDMAP) && !pfn_t_devmap(p) && !pfn_t_special(p)))
			return VM_FAULT_SIGBUS;
#endif
		return vmf_insert_mixed(vma, vmf->address, p);
	}
	case MMLAB_INSERT_PAGE:
		if (!page)
			return VM_FAULT_SIGBUS;
		if (mmlab_would_bug("vm_insert_page", f & VM_PFNMAP))
			return VM_FAULT_SIGBUS;
		err = vm_insert_page(vma, vmf->address, page);
		if (err == -ENOMEM)
			return VM_FAULT_OOM;
		if (err && err != -EBUSY)
			return VM_FAULT_SIGBUS;
		return VM_FAULT_NOPAGE;
	case MMLAB_INSERT_FAULT_PAGE:
		if (!page)
			return VM_FAULT_SIGBUS;
		get_page(page);
		vmf->page = page;
		return 0;
	}
	return VM_FAULT_SIGBUS;
}

static vm_fault_t mmlab_fault(struct vm_fault *vmf)
{
	struct mmlab_obj *obj = vmf->vma->vm_private_data;
	vm_fault_t ret;

	mutex_lock(&obj->lock);
	if (obj->destroyed || vmf->pgoff >= obj->npages)
		ret = VM_FAULT_SIGBUS;
	else
		ret = mmlab_insert_pte(obj, vmf, vmf->pgoff);
	mutex_unlock(&obj->lock);
	return ret;
}

static vm_fault_t mmlab_insert_pmd(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mmlab_obj *obj = vma->vm_private_data;
	unsigned long addr = vmf->address & PMD_MASK;
	unsigned long f = vma->vm_flags;
	bool cow = (f & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	unsigned long idx;
	vm_fault_t ret = VM_FAULT_FALLBACK;
	pfn_t p;

	if (obj->cfg.insert != MMLAB_INSERT_PMD)
		return VM_FAULT_FALLBACK;
	if (addr < vma->vm_start || addr + PMD_SIZE > vma->vm_end)
		return VM_FAULT_FALLBACK;
	idx = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	mutex_lock(&obj->lock);
	if (obj->destroyed || idx + HPAGE_PMD_NR > obj->npages || idx % HPAGE_PMD_NR)
		goto out;
	p = mmlab_pfn_t(obj, obj->pfns[idx]);
	if (mmlab_would_bug("vmf_insert_pfn_pmd",
			    (!(f & (VM_PFNMAP | VM_MIXEDMAP)) && !pfn_t_devmap(p)) ||
			    (f & VM_PFNMAP && f & VM_MIXEDMAP) || (f & VM_PFNMAP && cow))) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	ret = vmf_insert_pfn_pmd(vmf, p, write);
#else
	ret = vmf_insert_pfn_pmd_prot(vmf, p, vma->vm_page_prot, write);
#endif
out:
	mutex_unlock(&obj->lock);
	return ret;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
static vm_fault_t mmlab_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	if (order != PMD_ORDER)
		return VM_FAULT_FALLBACK;
	return mmlab_insert_pmd(vmf);
}
#else
static vm_fault_t mmlab_huge_fault(struct vm_fault *vmf, enum page_entry_size pe_size)
{
	if (pe_size != PE_SIZE_PMD)
		return VM_FAULT_FALLBACK;
	return mmlab_insert_pmd(vmf);
}
#endif

static const struct vm_operations_struct mmlab_vm_ops = {
	.fault = mmlab_fault,
	.huge_fault = mmlab_huge_fault,
};

static int mmlab_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mmlab_obj *obj = file->private_data;
	unsigned long flags = 0, i, n = vma_pages(vma);
	u32 vf = obj->cfg.vm_flags;
	int err = 0;

	if (!obj->created || obj->destroyed)
		return -EINVAL;
	if (vf & MMLAB_VM_REJECT_COW &&
	    (vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE)
		return -EINVAL;
	if (vf & MMLAB_VM_PFNMAP)
		flags |= VM_PFNMAP;
	if (vf & MMLAB_VM_MIXEDMAP)
		flags |= VM_MIXEDMAP;
	if (vf & MMLAB_VM_IO)
		flags |= VM_IO;
	if (vf & MMLAB_VM_DONTEXPAND)
		flags |= VM_DONTEXPAND;
	if (vf & MMLAB_VM_DONTDUMP)
		flags |= VM_DONTDUMP;
	if (vf & MMLAB_VM_HUGEPAGE)
		flags |= VM_HUGEPAGE;
	mmlab_set_vm_flags(vma, flags);
	vma->vm_ops = &mmlab_vm_ops;
	vma->vm_private_data = obj;

	mutex_lock(&obj->lock);
	for (i = 0; i < n && !err && vma->vm_pgoff + i < obj->npages; i++) {
		unsigned long addr = vma->vm_start + (i << PAGE_SHIFT);
		struct page *page = obj->pages[vma->vm_pgoff + i];

		if (obj->cfg.insert == MMLAB_INSERT_REMAP)
			err = remap_pfn_range(vma, addr, obj->pfns[vma->vm_pgoff + i], PAGE_SIZE,
					      vma->vm_page_prot);
		else if (obj->cfg.insert == MMLAB_INSERT_PAGE && page)
			err = vm_insert_page(vma, addr, page);
		else
			break;
	}
	mutex_unlock(&obj->lock);
	return err;
}

/* ---- dma-buf export ---- */

static struct sg_table *mmlab_dmabuf_map(struct dma_buf_attachment *attach,
					 enum dma_data_direction dir)
{
	return ERR_PTR(-EOPNOTSUPP); /* no importers in the oracle */
}

static void mmlab_dmabuf_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
			       enum dma_data_direction dir)
{
}

static void mmlab_dmabuf_release(struct dma_buf *dmabuf)
{
	fput(dmabuf->priv);
}

/* dma_buf_mmap_internal() calls this; like drm_gem_prime_mmap(), the vma is moved to the
 * exporter's file, so the exporter's unmap_mapping_range() reaches it. */
static int mmlab_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct file *file = dmabuf->priv;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
	vma_set_file(vma, file);
#else
	get_file(file);
	fput(vma->vm_file);
	vma->vm_file = file;
#endif
	return mmlab_mmap(file, vma);
}

static const struct dma_buf_ops mmlab_dmabuf_ops = {
	.map_dma_buf = mmlab_dmabuf_map,
	.unmap_dma_buf = mmlab_dmabuf_unmap,
	.release = mmlab_dmabuf_release,
	.mmap = mmlab_dmabuf_mmap,
};

static long mmlab_export(struct mmlab_obj *obj)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *dmabuf;
	int fd;

	if (!obj->created || obj->destroyed)
		return -EINVAL;
	info.ops = &mmlab_dmabuf_ops;
	info.size = obj->npages << PAGE_SHIFT;
	info.flags = O_RDWR;
	info.priv = get_file(obj->file);
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		fput(obj->file);
		return PTR_ERR(dmabuf);
	}
	fd = dma_buf_fd(dmabuf, O_CLOEXEC);
	if (fd < 0)
		dma_buf_put(dmabuf);
	return fd;
}

/* ---- held pages ---- */

/* Releases a slot; returns how many pages were left with a negative refcount. */
static long mmlab_release_slot(struct mmlab_slot *slot)
{
	long i, negative = 0;

	for (i = 0; i < slot->nr; i++) {
		struct page *page = slot->pages[i];

		if (!page)
			continue; /* counted by GUP but never stored (5.10 FOLL_PIN on special PTEs) */
		if (slot->pinned)
			unpin_user_page(page);
		else
			put_page(page);
		if (page_ref_count(page) < 0)
			negative++;
	}
	kvfree(slot->pages);
	slot->pages = NULL;
	slot->nr = 0;
	return negative;
}

static long mmlab_gup(struct mmlab_obj *obj, struct mmlab_gup __user *uarg)
{
	struct mmlab_gup g;
	struct mmlab_slot *slot;
	struct page **pages;
	unsigned int flags = 0;
	long ret;

	if (copy_from_user(&g, uarg, sizeof(g)))
		return -EFAULT;
	if (g.slot >= MMLAB_SLOTS || !g.nr_pages || g.nr_pages > MMLAB_MAX_GUP_PAGES)
		return -EINVAL;
	slot = &obj->slots[g.slot];
	mmlab_release_slot(slot);
	pages = kvcalloc(g.nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	if (g.flags & MMLAB_GUP_WRITE)
		flags |= FOLL_WRITE;
	if (g.flags & MMLAB_GUP_LONGTERM)
		flags |= FOLL_LONGTERM;
	if (g.flags & MMLAB_GUP_FORCE)
		flags |= FOLL_FORCE;

	switch (g.call) {
	case MMLAB_GET_USER_PAGES:
	case MMLAB_PIN_USER_PAGES:
		mmap_read_lock(current->mm);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
		if (g.call == MMLAB_GET_USER_PAGES)
			ret = get_user_pages(g.addr, g.nr_pages, flags, pages);
		else
			ret = pin_user_pages(g.addr, g.nr_pages, flags, pages);
#else
		if (g.call == MMLAB_GET_USER_PAGES)
			ret = get_user_pages(g.addr, g.nr_pages, flags, pages, NULL);
		else
			ret = pin_user_pages(g.addr, g.nr_pages, flags, pages, NULL);
#endif
		mmap_read_unlock(current->mm);
		break;
	case MMLAB_GET_USER_PAGES_FAST:
		ret = get_user_pages_fast(g.addr, g.nr_pages, flags, pages);
		break;
	case MMLAB_GET_USER_PAGES_FAST_ONLY:
		ret = get_user_pages_fast_only(g.addr, g.nr_pages, flags, pages);
		break;
	case MMLAB_PIN_USER_PAGES_FAST:
		ret = pin_user_pages_fast(g.addr, g.nr_pages, flags, pages);
		break;
	case MMLAB_PIN_USER_PAGES_FAST_ONLY:
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
		ret = -ENOSYS; /* no longer exported */
#else
		ret = pin_user_pages_fast_only(g.addr, g.nr_pages, flags, pages);
#endif
		break;
	default:
		ret = -EINVAL;
	}
	slot->pages = pages;
	slot->nr = ret > 0 ? ret : 0;
	slot->pinned = g.call >= MMLAB_PIN_USER_PAGES;
	g.result = ret;
	if (copy_to_user(uarg, &g, sizeof(g)))
		return -EFAULT;
	return 0;
}

static long mmlab_dma(struct mmlab_obj *obj, struct mmlab_dma __user *uarg)
{
	struct mmlab_dma d;
	struct mmlab_slot *slot;
	long i;
	bool first = true;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	if (d.slot >= MMLAB_SLOTS)
		return -EINVAL;
	slot = &obj->slots[d.slot];
	d.pages = 0;
	d.missing = 0;
	for (i = 0; i < slot->nr; i++) {
		struct page *page = slot->pages[i];

		if (!page) {
			d.missing++;
			continue;
		}
		if (d.write) {
			mmlab_set_page_value(page, d.value);
		} else {
			u64 v = mmlab_page_value(page);

			if (first)
				d.value = v;
		}
		first = false;
		d.pages++;
	}
	if (copy_to_user(uarg, &d, sizeof(d)))
		return -EFAULT;
	return 0;
}

static bool mmlab_maybe_pinned(struct page *page)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	return folio_maybe_dma_pinned(page_folio(page));
#else
	return page_maybe_dma_pinned(page);
#endif
}

static int mmlab_pincount(struct page *page)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0)
	struct folio *folio = page_folio(page);

	return folio_test_large(folio) ? atomic_read(&folio->_pincount) : -1;
#else
	return hpage_pincount_available(page) ? compound_pincount(page) : -1;
#endif
}

static long mmlab_page_state(struct mmlab_obj *obj, struct mmlab_page_state __user *uarg)
{
	struct mmlab_page_state s;
	struct page *page = NULL;
	unsigned long pfn = 0;
	u32 memory = MMLAB_MEMORY_RAM;

	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	mutex_lock(&obj->lock);
	if (s.slot == MMLAB_SLOT_OBJECT) {
		if (obj->created && !obj->destroyed && s.index < obj->npages) {
			page = obj->pages[s.index];
			pfn = obj->pfns[s.index];
			memory = obj->memory;
		}
	} else if (s.slot < MMLAB_SLOTS) {
		if (s.index < obj->slots[s.slot].nr)
			page = obj->slots[s.slot].pages[s.index];
		pfn = page ? page_to_pfn(page) : 0;
	}
	s.present = page ? 1 : pfn ? 2 : 0;
	s.pfn = pfn;
	s.refcount = page ? page_count(page) : 0;
	s.mapcount = page ? atomic_read(&page->_mapcount) + 1 : 0;
	s.pinned = page ? mmlab_maybe_pinned(page) : 0;
	s.pincount = page ? mmlab_pincount(page) : -1;
	s.reserved = 0;
	if (page)
		s.value = mmlab_page_value(page);
	else if (pfn)
		s.value = READ_ONCE(*(u64 *)mmlab_backing_vaddr(memory, pfn));
	else
		s.value = 0;
	mutex_unlock(&obj->lock);
	if (copy_to_user(uarg, &s, sizeof(s)))
		return -EFAULT;
	return 0;
}

/* Counts held pages that are back in the page allocator: a use after free. */
static long mmlab_scan_slot(struct mmlab_slot *slot)
{
	long i, freed = 0;

	for (i = 0; i < slot->nr; i++)
		if (slot->pages[i] && PageBuddy(slot->pages[i]))
			freed++;
	return freed;
}

static long mmlab_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mmlab_obj *obj = file->private_data;
	void __user *uarg = (void __user *)arg;
	u32 slot;

	switch (cmd) {
	case MMLAB_IOC_CREATE:
		return mmlab_create(obj, uarg);
	case MMLAB_IOC_GUP:
		return mmlab_gup(obj, uarg);
	case MMLAB_IOC_DMA:
		return mmlab_dma(obj, uarg);
	case MMLAB_IOC_RELEASE:
		if (get_user(slot, (u32 __user *)uarg))
			return -EFAULT;
		if (slot >= MMLAB_SLOTS)
			return -EINVAL;
		return mmlab_release_slot(&obj->slots[slot]);
	case MMLAB_IOC_EVICT:
		return mmlab_evict(obj, arg);
	case MMLAB_IOC_DESTROY:
		return mmlab_destroy(obj);
	case MMLAB_IOC_PAGE_STATE:
		return mmlab_page_state(obj, uarg);
	case MMLAB_IOC_EXPORT:
		return mmlab_export(obj);
	case MMLAB_IOC_SCAN:
		if (get_user(slot, (u32 __user *)uarg))
			return -EFAULT;
		if (slot >= MMLAB_SLOTS)
			return -EINVAL;
		return mmlab_scan_slot(&obj->slots[slot]);
	}
	return -ENOTTY;
}

static int mmlab_open(struct inode *inode, struct file *file)
{
	struct mmlab_obj *obj;
	int err;

	obj = kzalloc(sizeof(*obj), GFP_KERNEL);
	if (!obj)
		return -ENOMEM;
	mutex_init(&obj->lock);
	err = simple_pin_fs(&mmlab_fs_type, &mmlab_mnt, &mmlab_mnt_count);
	if (err) {
		kfree(obj);
		return err;
	}
	obj->inode = alloc_anon_inode(mmlab_mnt->mnt_sb);
	if (IS_ERR(obj->inode)) {
		err = PTR_ERR(obj->inode);
		simple_release_fs(&mmlab_mnt, &mmlab_mnt_count);
		kfree(obj);
		return err;
	}
	file->f_mapping = obj->inode->i_mapping;
	file->private_data = obj;
	obj->file = file;
	return 0;
}

static int mmlab_release(struct inode *inode, struct file *file)
{
	struct mmlab_obj *obj = file->private_data;
	int i;

	for (i = 0; i < MMLAB_SLOTS; i++)
		mmlab_release_slot(&obj->slots[i]);
	if (obj->created && !obj->destroyed)
		mmlab_free_backing(obj);
	obj->inode->i_flags &= ~S_DAX;
	iput(obj->inode);
	simple_release_fs(&mmlab_mnt, &mmlab_mnt_count);
	kfree(obj);
	return 0;
}

static const struct file_operations mmlab_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_open,
	.release = mmlab_release,
	.mmap = mmlab_mmap,
	.unlocked_ioctl = mmlab_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice mmlab_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mmlab",
	.fops = &mmlab_fops,
	.mode = 0666,
};

/* Finds the ivshmem-plain device and sets up the iomem and devmem pools on its BAR 2. */
static void mmlab_setup_device_memory(void)
{
	resource_size_t start, len, half;
	struct mmlab_pool *io = &mmlab_pools[MMLAB_MEMORY_IOMEM];
	struct mmlab_pool *dev = &mmlab_pools[MMLAB_MEMORY_DEVMEM];
	void *vaddr;

	mmlab_pdev = pci_get_device(0x1af4, 0x1110, NULL);
	if (!mmlab_pdev) {
		pr_info("mmlab: no ivshmem device: memory=iomem|devmem unsupported\n");
		return;
	}
	if (pci_enable_device_mem(mmlab_pdev)) {
		pr_warn("mmlab: cannot enable the ivshmem device\n");
		return;
	}
	start = pci_resource_start(mmlab_pdev, 2);
	len = pci_resource_len(mmlab_pdev, 2);
	half = len / 2;
	if (!start || half < (4UL << 20) || start % (2UL << 20)) {
		pr_warn("mmlab: unusable ivshmem BAR %pa+%pa\n", &start, &len);
		return;
	}
	pr_info("mmlab: ivshmem BAR %pa+%pa pfn_valid=%d\n", &start, &len,
		pfn_valid(PHYS_PFN(start)));

	vaddr = memremap(start, half, MEMREMAP_WB);
	io->bitmap = bitmap_zalloc(half >> PAGE_SHIFT, GFP_KERNEL);
	if (vaddr && io->bitmap && !pfn_valid(PHYS_PFN(start))) {
		io->vaddr = vaddr;
		io->base_pfn = PHYS_PFN(start);
		io->npages = half >> PAGE_SHIFT;
		io->ready = true;
	} else {
		pr_warn("mmlab: iomem pool unavailable\n");
	}

	mmlab_pgmap.type = MEMORY_DEVICE_GENERIC;
	mmlab_pgmap.range.start = start + half;
	mmlab_pgmap.range.end = start + len - 1;
	mmlab_pgmap.nr_range = 1;
	vaddr = memremap_pages(&mmlab_pgmap, dev_to_node(&mmlab_pdev->dev));
	dev->bitmap = bitmap_zalloc(half >> PAGE_SHIFT, GFP_KERNEL);
	if (!IS_ERR_OR_NULL(vaddr) && dev->bitmap) {
		mmlab_pgmap_live = true;
		dev->vaddr = vaddr;
		dev->base_pfn = PHYS_PFN(start + half);
		dev->npages = half >> PAGE_SHIFT;
		dev->ready = true;
	} else {
		pr_warn("mmlab: devmem pool unavailable (%d)\n", PTR_ERR_OR_ZERO(vaddr));
	}
}

static int __init mmlab_init(void)
{
	mmlab_setup_device_memory();
	return misc_register(&mmlab_misc);
}

static void __exit mmlab_exit(void)
{
	int c, o;

	for (c = 0; c < 3; c++)
		for (o = 0; o < 2; o++) {
			struct page *page, *next;

			list_for_each_entry_safe(page, next, &mmlab_ttm_pool[c][o], lru) {
				list_del(&page->lru);
				__free_pages(page, o ? HPAGE_PMD_ORDER : 0);
			}
		}
	misc_deregister(&mmlab_misc);
	if (mmlab_pgmap_live)
		memunmap_pages(&mmlab_pgmap);
	if (mmlab_pools[MMLAB_MEMORY_IOMEM].vaddr)
		memunmap(mmlab_pools[MMLAB_MEMORY_IOMEM].vaddr);
	bitmap_free(mmlab_pools[MMLAB_MEMORY_IOMEM].bitmap);
	bitmap_free(mmlab_pools[MMLAB_MEMORY_DEVMEM].bitmap);
	pci_dev_put(mmlab_pdev);
}

module_init(mmlab_init);
module_exit(mmlab_exit);

MODULE_LICENSE("GPL");
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 16, 0)
MODULE_IMPORT_NS(DMA_BUF);
#endif
MODULE_DESCRIPTION("mmlab oracle test driver: driver mappings of device memory and GUP");
