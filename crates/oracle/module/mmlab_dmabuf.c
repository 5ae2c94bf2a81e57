// SPDX-License-Identifier: GPL-2.0
/* dma-buf export of an object: mmap goes through dma_buf_mmap() to the object. */
#include "mmlab_internal.h"

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

long mmlab_export(struct mmlab_obj *obj)
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
