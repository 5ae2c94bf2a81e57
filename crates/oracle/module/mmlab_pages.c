// SPDX-License-Identifier: GPL-2.0
/* Held pages: GUP calls into slots, device access through them, page state readout. */
#include "mmlab_internal.h"

/*
 * pages[] entries for a GUP of zero pages: more than the devmem pool has (half of the 4G
 * ivshmem BAR: 524288), which a device path can run through, and more than the guest's RAM.
 */
#define MMLAB_ZERO_GUP_ROOM (1UL << 20)

/* ---- held pages ---- */

/* Releases a slot; returns how many pages were left with a negative refcount. */
long mmlab_release_slot(struct mmlab_slot *slot)
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

long mmlab_gup(struct mmlab_obj *obj, struct mmlab_gup __user *uarg)
{
	struct mmlab_gup g;
	struct mmlab_slot *slot;
	struct page **pages;
	unsigned int flags = 0;
	unsigned long nr_array;
	long ret;

	if (copy_from_user(&g, uarg, sizeof(g)))
		return -EFAULT;
	if (g.slot >= MMLAB_SLOTS || g.nr_pages > MMLAB_MAX_GUP_PAGES)
		return -EINVAL;
	slot = &obj->slots[g.slot];
	mmlab_release_slot(slot);
	/*
	 * A GUP of zero pages is the kernel's to answer, but gup-fast then runs on past its
	 * start (its loops are do-whiles that stop when the address reaches the end), storing
	 * pages as it goes: the device path over the whole devmem pool, the slow path to the end
	 * of the mappings. Room for all of them keeps the overrun off the slab.
	 */
	nr_array = g.nr_pages ? g.nr_pages : MMLAB_ZERO_GUP_ROOM;
	pages = kvcalloc(nr_array, sizeof(*pages), GFP_KERNEL);
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
	if (ret > (long)nr_array)
		pr_err("mmlab: taint: a GUP of %u pages returned %ld, past its pages[] array\n",
		       g.nr_pages, ret);
	slot->pages = pages;
	slot->nr = ret > 0 ? min_t(long, ret, nr_array) : 0;
	slot->pinned = g.call >= MMLAB_PIN_USER_PAGES;
	g.result = ret;
	if (copy_to_user(uarg, &g, sizeof(g)))
		return -EFAULT;
	return 0;
}

long mmlab_dma(struct mmlab_obj *obj, struct mmlab_dma __user *uarg)
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

long mmlab_page_state(struct mmlab_obj *obj, struct mmlab_page_state __user *uarg)
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
long mmlab_scan_slot(struct mmlab_slot *slot)
{
	long i, freed = 0;

	for (i = 0; i < slot->nr; i++)
		if (slot->pages[i] && PageBuddy(slot->pages[i]))
			freed++;
	return freed;
}
