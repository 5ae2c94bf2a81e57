// SPDX-License-Identifier: GPL-2.0
/* Backing memory: RAM blocks, the TTM-like page pool, device memory pools. */
#include "mmlab_internal.h"

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

struct mmlab_pool mmlab_pools[3];
static DEFINE_MUTEX(mmlab_pool_lock);
static struct pci_dev *mmlab_pdev;
static struct dev_pagemap mmlab_pgmap;
static bool mmlab_pgmap_live;

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
void *mmlab_backing_vaddr(u32 memory, unsigned long pfn)
{
	struct mmlab_pool *pool = &mmlab_pools[memory];

	if (memory == MMLAB_MEMORY_RAM)
		return page_address(pfn_to_page(pfn));
	return pool->vaddr + ((pfn - pool->base_pfn) << PAGE_SHIFT);
}

/*
 * Allocates the blocks of `obj` in `memory` (mmlab_block_order); fills pfns[] and pages[].
 * The array has obj->nblocks entries; those a backing of larger blocks leaves unused stay
 * zero, which mmlab_free_blocks skips.
 */
static struct mmlab_block *mmlab_alloc_blocks(struct mmlab_obj *obj, u32 memory,
					      unsigned long *pfns, struct page **pages)
{
	struct mmlab_block *blocks;
	gfp_t gfp = GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN;
	unsigned int order = mmlab_block_order(obj, memory);
	unsigned long i, j, nblocks = obj->npages >> order;

	if (order && !obj->cfg.ttm)
		gfp |= __GFP_COMP;
	blocks = kvcalloc(obj->nblocks, sizeof(*blocks), GFP_KERNEL);
	if (!blocks)
		return NULL;
	for (i = 0; i < nblocks; i++) {
		unsigned long pfn;

		if (memory == MMLAB_MEMORY_RAM) {
			u32 caching = obj->cfg.ttm ? obj->cfg.caching : 0;
			struct page *page = caching ? mmlab_ttm_pool_take(order, caching) : NULL;

			if (!page)
				page = alloc_pages(gfp, order);
			if (!page)
				goto fail;
			blocks[i].page = page;
			blocks[i].caching = caching;
			pfn = page_to_pfn(page);
		} else {
			struct mmlab_pool *pool = &mmlab_pools[memory];
			long idx = mmlab_pool_alloc(pool, order);

			if (idx < 0)
				goto fail;
			pfn = pool->base_pfn + idx;
			memset(pool->vaddr + (idx << PAGE_SHIFT), 0, PAGE_SIZE << order);
		}
		blocks[i].pfn = pfn;
		blocks[i].order = order;
		blocks[i].memory = memory;
		for (j = 0; j < (1UL << order); j++) {
			pfns[(i << order) + j] = pfn + j;
			pages[(i << order) + j] =
				memory == MMLAB_MEMORY_IOMEM ? NULL : pfn_to_page(pfn + j);
		}
	}
	return blocks;
fail:
	mmlab_free_blocks(blocks, i);
	return NULL;
}

/* Allocates pfns[], pages[] and blocks for `memory` into the out parameters. */
int mmlab_alloc_backing(struct mmlab_obj *obj, u32 memory, unsigned long **pfns,
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

void mmlab_free_backing(struct mmlab_obj *obj)
{
	mmlab_free_blocks(obj->blocks, obj->nblocks);
	kvfree(obj->pages);
	kvfree(obj->pfns);
	obj->blocks = NULL;
	obj->pages = NULL;
	obj->pfns = NULL;
}

/*
 * Called when the last object of a test is released: every free page of the devmem pool
 * should be back at the refcount memremap_pages gave it (1). A test that left one
 * otherwise (a GUP over a huge PMD of order-0 ZONE_DEVICE pages takes its references on the
 * first page only, and the release of the others drops them to 0) would hand it to the
 * next test of the boot, whose GUP then fails on it: the "mmlab: taint" line makes the
 * guest boot afresh instead.
 */
void mmlab_check_device_pool(void)
{
	struct mmlab_pool *pool = &mmlab_pools[MMLAB_MEMORY_DEVMEM];
	unsigned long idx, bad = 0, first = 0;
	int first_ref = 0;

	if (!pool->ready)
		return;
	mutex_lock(&mmlab_pool_lock);
	for (idx = 0; idx < pool->npages; idx++) {
		int ref;

		if (test_bit(idx, pool->bitmap))
			continue;
		ref = page_ref_count(pfn_to_page(pool->base_pfn + idx));
		if (ref == 1)
			continue;
		if (!bad++) {
			first = pool->base_pfn + idx;
			first_ref = ref;
		}
	}
	mutex_unlock(&mmlab_pool_lock);
	if (bad)
		pr_warn("mmlab: taint: %lu free devmem pages without refcount 1 (pfn %#lx: %d)\n",
			bad, first, first_ref);
}

u64 mmlab_page_value(struct page *page)
{
	u64 *p = kmap(page);
	u64 v = READ_ONCE(*p);

	kunmap(page);
	return v;
}

void mmlab_set_page_value(struct page *page, u64 value)
{
	u64 *p = kmap(page);

	WRITE_ONCE(*p, value);
	kunmap(page);
}

/* Finds the ivshmem-plain device and sets up the iomem and devmem pools on its BAR 2. */
void mmlab_memory_init(void)
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

void mmlab_memory_exit(void)
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
	if (mmlab_pgmap_live)
		memunmap_pages(&mmlab_pgmap);
	if (mmlab_pools[MMLAB_MEMORY_IOMEM].vaddr)
		memunmap(mmlab_pools[MMLAB_MEMORY_IOMEM].vaddr);
	bitmap_free(mmlab_pools[MMLAB_MEMORY_IOMEM].bitmap);
	bitmap_free(mmlab_pools[MMLAB_MEMORY_DEVMEM].bitmap);
	pci_dev_put(mmlab_pdev);
}
