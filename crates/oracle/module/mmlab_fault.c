// SPDX-License-Identifier: GPL-2.0
/* mmap and the fault handlers: every litmus `insert=` method. */
#include "mmlab_internal.h"

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

/* ---- faults ---- */

static vm_fault_t mmlab_insert_pte(struct mmlab_obj *obj, struct vm_fault *vmf, unsigned long idx)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long pfn = obj->pfns[idx];
	struct page *page = obj->pages[idx];
	unsigned long f = vma->vm_flags;
	int err;

	switch (obj->cfg.insert) {
	case MMLAB_INSERT_PFN:
	case MMLAB_INSERT_REMAP:
	pfn_insert:
		/* Whatever BUG_ON the kernel has here fires: the guest panics (oops=panic) and
		 * the host reports the crash, so the model's BUG conditions meet the kernel's. */
		return vmf_insert_pfn(vma, vmf->address, pfn);
	case MMLAB_INSERT_PMD:
	case MMLAB_INSERT_PUD:
		if (!(f & VM_MIXEDMAP))
			goto pfn_insert;
		fallthrough;
	case MMLAB_INSERT_MIXED: {
		pfn_t p = obj->cfg.ttm ? __pfn_to_pfn_t(pfn, PFN_DEV) : mmlab_pfn_t(obj, pfn);

		return vmf_insert_mixed(vma, vmf->address, p);
	}
	case MMLAB_INSERT_PAGE:
		if (!page)
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

/* Inserts a PMD (order HPAGE_PMD_ORDER) or a PUD (MMLAB_PUD_ORDER) for an object of that size. */
static vm_fault_t mmlab_insert_huge(struct vm_fault *vmf, unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mmlab_obj *obj = vma->vm_private_data;
	unsigned long nr = 1UL << order, size = PAGE_SIZE << order;
	unsigned long addr = vmf->address & ~(size - 1);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	bool pud = order == MMLAB_PUD_ORDER;
	u32 level_insert = pud ? MMLAB_INSERT_PUD : MMLAB_INSERT_PMD;
	unsigned long idx;
	vm_fault_t ret = VM_FAULT_FALLBACK;
	pfn_t p;

	/* An object takes faults of its own size; a TTM BO that wants PUDs takes PMDs too. */
	if (obj->cfg.insert != level_insert &&
	    !(obj->cfg.ttm && obj->cfg.insert == MMLAB_INSERT_PUD))
		return VM_FAULT_FALLBACK;
	if (obj->cfg.ttm) {
		/*
		 * vmw_bo_vm_huge_fault + ttm_bo_vm_insert_huge (5.10): writes to a COW mapping
		 * stay on PTEs; the block is the faulting page's index rounded down to the huge
		 * size, whatever the vma's own alignment; its pfn must be aligned to that size;
		 * the insert checks only that the entry's start lies inside the vma, and any
		 * failure falls back.
		 */
		if (write && (vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE)
			return VM_FAULT_FALLBACK;
		idx = vmf->pgoff & ~(nr - 1);
	} else {
		if (addr < vma->vm_start || addr + size > vma->vm_end)
			return VM_FAULT_FALLBACK;
		idx = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	}
	mutex_lock(&obj->lock);
	if (obj->destroyed || idx + nr > obj->npages || idx % nr)
		goto out;
	/* The pfn must be aligned to the huge size: vmwgfx checks it; the generic driver's
	 * blocks always are. */
	if (obj->pfns[idx] % nr)
		goto out;
	p = mmlab_pfn_t(obj, obj->pfns[idx]);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	ret = pud ? vmf_insert_pfn_pud(vmf, p, write) : vmf_insert_pfn_pmd(vmf, p, write);
#else
	ret = pud ? vmf_insert_pfn_pud_prot(vmf, p, vma->vm_page_prot, write) :
		    vmf_insert_pfn_pmd_prot(vmf, p, vma->vm_page_prot, write);
#endif
	if (obj->cfg.ttm && ret != VM_FAULT_NOPAGE)
		ret = VM_FAULT_FALLBACK;
out:
	mutex_unlock(&obj->lock);
	return ret;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
static vm_fault_t mmlab_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	if (order != PMD_ORDER && order != MMLAB_PUD_ORDER)
		return VM_FAULT_FALLBACK;
	return mmlab_insert_huge(vmf, order);
}
#else
static vm_fault_t mmlab_huge_fault(struct vm_fault *vmf, enum page_entry_size pe_size)
{
	if (pe_size == PE_SIZE_PMD)
		return mmlab_insert_huge(vmf, HPAGE_PMD_ORDER);
	if (pe_size == PE_SIZE_PUD)
		return mmlab_insert_huge(vmf, MMLAB_PUD_ORDER);
	return VM_FAULT_FALLBACK;
}
#endif

static const struct vm_operations_struct mmlab_vm_ops = {
	.fault = mmlab_fault,
	.huge_fault = mmlab_huge_fault,
};

int mmlab_mmap(struct file *file, struct vm_area_struct *vma)
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
