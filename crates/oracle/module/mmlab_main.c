// SPDX-License-Identifier: GPL-2.0
/* The mmlab oracle test driver's device: objects, their lifetime, ioctl dispatch. See mmlab_internal.h. */
#include "mmlab_internal.h"

#define MMLAB_FS_MAGIC 0x6d6d6c62

static struct vfsmount *mmlab_mnt;
static int mmlab_mnt_count;
/* Objects open: when the last one of a test goes, the device pool is checked. */
static atomic_t mmlab_open_objs = ATOMIC_INIT(0);

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
	if (cfg.insert > MMLAB_INSERT_PUD)
		return -EINVAL;
	if (cfg.insert == MMLAB_INSERT_PUD && cfg.memory == MMLAB_MEMORY_RAM)
		return -EOPNOTSUPP; /* a 1G block of RAM: not in a 512M guest */
	obj->order = cfg.insert == MMLAB_INSERT_PUD ? MMLAB_PUD_ORDER :
		     cfg.insert == MMLAB_INSERT_PMD ? HPAGE_PMD_ORDER : 0;
	block_bytes = PAGE_SIZE << obj->order;
	if (!cfg.size || cfg.size % block_bytes ||
	    cfg.size > (cfg.insert == MMLAB_INSERT_PUD ? (1UL << 30) : (64UL << 20)))
		return -EINVAL;
	obj->cfg = cfg;
	obj->npages = cfg.size >> PAGE_SHIFT;
	/* room for the most blocks any backing takes (RAM caps the order, mmlab_block_order) */
	obj->nblocks = obj->npages >> mmlab_block_order(obj, MMLAB_MEMORY_RAM);
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
	/* 3: the other of RAM and device memory, as the model moves a TTM BO given no target. */
	if (to == 3)
		memory = obj->memory == MMLAB_MEMORY_RAM ? MMLAB_MEMORY_IOMEM : MMLAB_MEMORY_RAM;
	else
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
	atomic_inc(&mmlab_open_objs);
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
	if (atomic_dec_and_test(&mmlab_open_objs))
		mmlab_check_device_pool();
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

static int __init mmlab_init(void)
{
	mmlab_memory_init();
	return misc_register(&mmlab_misc);
}

static void __exit mmlab_exit(void)
{
	misc_deregister(&mmlab_misc);
	mmlab_memory_exit();
}

module_init(mmlab_init);
module_exit(mmlab_exit);

MODULE_LICENSE("GPL");
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 16, 0)
MODULE_IMPORT_NS(DMA_BUF);
#endif
MODULE_DESCRIPTION("mmlab oracle test driver: driver mappings of device memory and GUP");
