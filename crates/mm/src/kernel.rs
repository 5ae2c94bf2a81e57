//! The whole modelled system as one value: physical memory, one mm (vmas and page tables),
//! the memory objects, GUP references held by callers, device state, and the events seen.

use crate::arch::x86::pgtable::{Entry, Level};
use crate::events::{Event, EventRecord, EventSet};
use crate::include::linux::mm_types::{FaultInfo, ObjId, Pfn, VmFault, Vma};
use crate::mm::gup::Hold;
use crate::mm::memremap::PgMap;
use crate::mm::object::Backing;
use crate::mm::page_alloc::{Frame, PhysMem};
use crate::mm::pgtable::PageTables;
use crate::runs::Runs;
use crate::shared::{PartTable, Shared};
use crate::trace::Tracer;
use crate::version::{ChangePoint, KernelConfig};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

/// The transparent hugepage setting (/sys/kernel/mm/transparent_hugepage/enabled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ThpMode {
    Always,
    Madvise,
    Never,
}

/// The device side of the model: driver state and the vm_operations callbacks the core mm
/// calls. Implemented by the drivers crate; the mm code never looks inside.
pub trait Devices: Clone + Debug + Hash + Eq + Default + Send + Sync + 'static {
    /// vm_ops->fault for the vma at `vmf.vma`: the result, and the referenced page when the
    /// handler returns one for the core to map (vmf->page).
    fn fault(k: &mut Kernel<Self>, vmf: &FaultInfo) -> (VmFault, Option<Pfn>);

    /// vm_ops->huge_fault at `level` (PMD or PUD).
    fn huge_fault(k: &mut Kernel<Self>, vmf: &FaultInfo, level: Level) -> VmFault;

    /// vm_ops->pfn_mkwrite; only called when the vma's ops declare it.
    fn pfn_mkwrite(_k: &mut Kernel<Self>, _vmf: &FaultInfo) -> VmFault {
        VmFault::empty()
    }

    /// vm_ops->page_mkwrite; only called when the vma's ops declare it.
    fn page_mkwrite(_k: &mut Kernel<Self>, _vmf: &FaultInfo) -> VmFault {
        VmFault::empty()
    }
}

/// A device model with no devices (for tests of the core mm alone).
#[derive(Clone, Debug, Hash, PartialEq, Eq, Default)]
pub struct NoDevices;

impl Devices for NoDevices {
    fn fault(_: &mut Kernel<Self>, _: &FaultInfo) -> (VmFault, Option<Pfn>) {
        (VmFault::SIGBUS, None)
    }
    fn huge_fault(_: &mut Kernel<Self>, _: &FaultInfo, _: Level) -> VmFault {
        VmFault::FALLBACK
    }
}

/// The modelled kernel.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Kernel<D: 'static> {
    pub cfg: KernelConfig,
    pub thp: ThpMode,
    pub mem: PhysMem,
    /// The one mm's vmas, sorted by address.
    pub vmas: Shared<Vec<Vma>>,
    pub pt: PageTables,
    /// Memory objects, indexed by ObjId.
    pub objects: Shared<Vec<Backing>>,
    /// GUP references held by callers (registers, pipes, io_uring buffers), sorted by holder.
    pub holds: Shared<Vec<Hold>>,
    /// Registered dev_pagemaps.
    pub pgmaps: Shared<Vec<PgMap>>,
    /// MMF_HAS_PINNED.
    pub has_pinned: bool,
    /// gup-fast walkers running with interrupts disabled (a TLB flush waits for them).
    pub irqs_off_walkers: u8,
    /// The mmu_gather: pages zapped but not yet released, waiting for the TLB flush.
    pub tlb_gather: Vec<Pfn>,
    /// Page tables unlinked and waiting for the TLB flush before they are freed (by id).
    pub tlb_tables: Vec<u64>,
    /// Objects whose reservation lock (dma_resv) a driver holds for a move.
    pub resv_locked: Vec<ObjId>,
    pub events: EventSet,
    /// The block device O_DIRECT requests go to (a RAM disk, as on the real-kernel oracle):
    /// block i's value, from offset 0; blocks past the end hold 0 (kept without trailing
    /// zeros, so that equal contents are equal values).
    pub block_device: Vec<u8>,
    /// A BUG fired in the current operation: the kernel oopsed and the calling task dies.
    /// The caller of the operation takes it (and clears it) when the operation returns.
    pub oopsed: bool,
    pub devices: Shared<D>,
    pub trace: Tracer,
}

/// The tables that store each distinct part of the kernels kept by searches once
/// ([`Kernel::share_parts`]): the process's ([`PartTable::global`]).
pub struct KernelParts<D: 'static> {
    frames: &'static PartTable<Runs<Frame>>,
    vmas: &'static PartTable<Vec<Vma>>,
    page_tables: &'static PartTable<BTreeMap<u64, Entry>>,
    objects: &'static PartTable<Vec<Backing>>,
    holds: &'static PartTable<Vec<Hold>>,
    pgmaps: &'static PartTable<Vec<PgMap>>,
    devices: &'static PartTable<D>,
}

impl<D: Devices> Default for KernelParts<D> {
    fn default() -> Self {
        KernelParts {
            frames: PartTable::global(),
            vmas: PartTable::global(),
            page_tables: PartTable::global(),
            objects: PartTable::global(),
            holds: PartTable::global(),
            pgmaps: PartTable::global(),
            devices: PartTable::global(),
        }
    }
}

impl<D: Devices> Kernel<D> {
    /// Makes every part of this kernel the part of equal value in `parts`. The kernel stays
    /// equal to what it was; kernels sharing their parts take less memory and compare by
    /// pointers.
    pub fn share_parts(&mut self, parts: &KernelParts<D>) {
        self.mem.share_in(parts.frames);
        self.vmas.share_in(parts.vmas);
        self.pt.share_in(parts.page_tables);
        self.objects.share_in(parts.objects);
        self.holds.share_in(parts.holds);
        self.pgmaps.share_in(parts.pgmaps);
        self.devices.share_in(parts.devices);
    }

    pub fn new(cfg: KernelConfig) -> Self {
        Kernel {
            cfg,
            thp: ThpMode::Always,
            mem: PhysMem::boot(),
            vmas: Shared::default(),
            pt: PageTables::default(),
            objects: Shared::default(),
            holds: Shared::default(),
            pgmaps: Shared::default(),
            has_pinned: false,
            irqs_off_walkers: 0,
            tlb_gather: Vec::new(),
            tlb_tables: Vec::new(),
            resv_locked: Vec::new(),
            events: EventSet::empty(),
            block_device: Vec::new(),
            oopsed: false,
            devices: Shared::default(),
            trace: Tracer::default(),
        }
    }

    /// Whether the selected kernel has the change.
    pub fn has(&self, change: ChangePoint) -> bool {
        self.cfg.has(change)
    }

    /// Records that `event` happened in the current function.
    pub fn raise(&mut self, event: Event, detail: impl FnOnce() -> String) {
        self.events |= event.bit();
        let function = self.trace.current();
        self.trace.event(|| EventRecord {
            event,
            function,
            detail: detail(),
        });
    }

    /// A WARN_ON that fired.
    pub fn warn(&mut self, what: &str) {
        let what = what.to_string();
        self.raise(Event::Warn, || what);
    }

    /// A BUG_ON that fired. The kernel would oops; the model reports it and the caller
    /// returns an error instead of continuing.
    pub fn bug(&mut self, what: &str) {
        let what = what.to_string();
        self.raise(Event::Bug, || what);
        self.oopsed = true;
    }

    /// The kernel took a struct page for a pfn that has none (pfn_to_page on device memory
    /// without a memmap) and touched it. The pointer lands in the unpopulated part of the
    /// vmemmap, so the access faults and the kernel oopses in this task, as the real kernels
    /// under the oracle do ("BUG: unable to handle page fault"); no BUG_ON fired, so the
    /// event is `bad_page`, not `bug`. The caller returns without using the page.
    pub fn wild_struct_page(&mut self, what: impl FnOnce() -> String) {
        self.raise(Event::BadPage, what);
        self.oopsed = true;
    }

    /// Whether the last operation oopsed (and forgets it).
    pub fn take_oops(&mut self) -> bool {
        std::mem::take(&mut self.oopsed)
    }

    /// Runs `body` as the kernel function `name` (for the trace).
    pub fn call<R>(&mut self, name: &'static str, body: impl FnOnce(&mut Self) -> R) -> R {
        self.trace.enter(name);
        let result = body(self);
        self.trace.exit();
        result
    }

    pub fn note(&mut self, text: impl FnOnce() -> String) {
        self.trace.note(text);
    }

    /// The index of the vma containing `addr` (vma_lookup).
    pub fn vma_lookup(&self, addr: u64) -> Option<usize> {
        self.vmas.iter().position(|v| v.contains(addr))
    }

    /// Registers a new memory object and returns its id.
    pub fn new_object(&mut self, backing: Backing) -> ObjId {
        self.objects.push(backing);
        ObjId((self.objects.len() - 1) as u16)
    }

    pub fn object(&self, id: ObjId) -> Option<&Backing> {
        self.objects.get(id.0 as usize)
    }

    pub fn object_mut(&mut self, id: ObjId) -> Option<&mut Backing> {
        self.objects.get_mut(id.0 as usize)
    }

    /// The frame that currently backs page `index` of an object.
    pub fn object_pfn(&self, id: ObjId, index: u64) -> Option<Pfn> {
        self.object(id)?.pfn_of(index)
    }

    /// Whether object `id` is gone: never created, or destroyed (drivers refuse to move or
    /// release it again).
    pub fn object_gone(&self, id: ObjId) -> bool {
        self.object(id).is_none_or(|b| b.destroyed)
    }

    /// The value held in page `index` of an object (what a CPU read of it returns): a frame's
    /// content, 0 for a page of anonymous memory or shmem that has no frame, `None` for a
    /// page the object does not have (past its end, destroyed, a driver's evicted range).
    pub fn object_content(&self, id: ObjId, index: u64) -> Option<u8> {
        let object = self.object(id)?;
        match object.pfn_of(index) {
            Some(pfn) => Some(self.mem.content(pfn)),
            None => (object.zero_fill && !object.destroyed && index < object.pages).then_some(0),
        }
    }
}
