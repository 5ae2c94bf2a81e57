//! The drivers of the model: TTM buffer objects (with the vmwgfx-style huge_fault of
//! 5.11–5.15), dma-buf exports, and a generic test driver that can set up any mapping a
//! driver could make. Each implements its vm_operations against the core mm of `mmlab-mm`;
//! [`Drivers`] is the device state the kernel value carries and dispatches callbacks by
//! the vma's object.

pub mod drivers;

use drivers::dma_buf::dma_buf::DmaBuf;
use drivers::generic::GenericDevice;
use drivers::gpu::drm::ttm::ttm_bo::TtmBo;
use mmlab_mm::arch::x86::pgtable::Level;
use mmlab_mm::include::linux::mm_types::{FaultInfo, ObjId, Pfn, VmFault};
use mmlab_mm::mm::page_alloc::IOMEM_START;
use mmlab_mm::{Devices, Kernel};

/// One device object.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum DeviceObject {
    Ttm(TtmBo),
    Generic(GenericDevice),
    DmaBuf(DmaBuf),
}

/// The device state of the model.
#[derive(Clone, Debug, Hash, PartialEq, Eq, Default)]
pub struct Drivers {
    /// Device objects by the ObjId the kernel gave them.
    pub objects: Vec<(ObjId, DeviceObject)>,
    /// Next free page of the VRAM BAR (a bump allocator: VRAM is never reused here).
    pub vram_next: u64,
    /// The TTM pool's free lists: blocks (first pfn, order) kept for reuse.
    pub ttm_pool: Vec<(Pfn, u8)>,
}

impl Drivers {
    pub fn get(&self, id: ObjId) -> Option<&DeviceObject> {
        self.objects.iter().find(|(o, _)| *o == id).map(|(_, d)| d)
    }

    pub fn get_mut(&mut self, id: ObjId) -> Option<&mut DeviceObject> {
        self.objects
            .iter_mut()
            .find(|(o, _)| *o == id)
            .map(|(_, d)| d)
    }

    /// Reserves `pages` pages of VRAM aligned to `align` pages.
    pub fn alloc_vram(&mut self, pages: u64, align: u64) -> Pfn {
        let start = self.vram_next.div_ceil(align.max(1)) * align.max(1);
        self.vram_next = start + pages;
        Pfn(IOMEM_START.0 + start)
    }
}

/// The kernel with these drivers.
pub type Model = Kernel<Drivers>;

impl Devices for Drivers {
    fn fault(k: &mut Kernel<Self>, vmf: &FaultInfo) -> (VmFault, Option<Pfn>) {
        let obj = k.vmas[vmf.vma].object;
        match k.devices.get(obj).cloned() {
            Some(DeviceObject::Ttm(bo)) => (bo.ttm_bo_vm_fault(k, obj, vmf), None),
            Some(DeviceObject::Generic(dev)) => dev.fault(k, obj, vmf),
            Some(DeviceObject::DmaBuf(_)) => (VmFault::SIGBUS, None),
            None => mmlab_mm::mm::shmem::shmem_fault(k, vmf),
        }
    }

    fn huge_fault(k: &mut Kernel<Self>, vmf: &FaultInfo, level: Level) -> VmFault {
        let obj = k.vmas[vmf.vma].object;
        match k.devices.get(obj).cloned() {
            Some(DeviceObject::Ttm(bo)) => bo.vmw_bo_vm_huge_fault(k, obj, vmf, level),
            Some(DeviceObject::Generic(dev)) => dev.huge_fault(k, obj, vmf, level),
            Some(DeviceObject::DmaBuf(_)) | None => VmFault::FALLBACK,
        }
    }
}

/// The file operations the litmus statements use: mmap, evict and destroy of any object.
pub mod fops;
