//! Turning a parsed test into a machine: run the setup on a fresh kernel at the selected
//! release, resolve names to objects and addresses, compile the threads' operations.

use crate::exec::{compile_op, run_op, Op};
use crate::not_modelled::AnonThp;
use crate::state::{State, ThreadState};
use mmlab_drivers::drivers::dma_buf::dma_buf::DmaBuf;
use mmlab_drivers::drivers::generic::{GenericDevice, Insert, Memory};
use mmlab_drivers::drivers::gpu::drm::ttm::ttm_bo::{ttm_bo_create, Caching, Placement, TtmBo};
use mmlab_drivers::fops::{self, MmapArgs};
use mmlab_drivers::{DeviceObject, Model};
use mmlab_litmus as ast;
use mmlab_mm::include::linux::mm_types::{MappingId, ObjId, VmFlags};
use mmlab_mm::include::pfn_t::PfnFlags;
use mmlab_mm::mm::mmap::Prot;
use mmlab_mm::mm::object::Backing;
use mmlab_mm::{Errno, KernelConfig, Level, ThpMode};
use std::collections::HashMap;
use std::fmt;

/// A test the machine cannot set up (a setup step failed on the model).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    pub message: String,
    /// When the failed step was an mmap: the mapping's name and the errno it returned, so
    /// that a run on a real kernel can be compared with it.
    pub failed_mmap: Option<(String, Errno)>,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

pub(crate) fn err(message: impl Into<String>) -> BuildError {
    BuildError {
        message: message.into(),
        failed_mmap: None,
    }
}

/// A mapping made in setup: where it is and how many pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub addr: u64,
    pub pages: u64,
}

/// A test ready to run on the model at one kernel.
#[derive(Clone, Debug)]
pub struct Machine {
    pub test: ast::Test,
    pub cfg: KernelConfig,
    pub objects: HashMap<String, ObjId>,
    pub mappings: HashMap<String, Mapping>,
    pub threads: Vec<Vec<Op>>,
    /// The operation texts, for traces.
    pub op_texts: Vec<Vec<String>>,
    pub init: State,
    /// Interleave inside operations where the kernel races (see [`crate::fine`]).
    pub fine: bool,
    /// The setup statement that killed the setup's task: no thread runs (see
    /// [`Machine::new`]).
    pub setup_stop: Option<SetupStop>,
    /// What the test asks of Linux that the model does not model ([`crate::not_modelled`]).
    pub not_modelled: Vec<String>,
}

/// The setup statement that ended the test before any thread ran: why, and its trace.
#[derive(Clone, Debug)]
pub struct SetupStop {
    pub statement: String,
    pub reason: String,
    pub trace: Vec<mmlab_mm::trace::TraceLine>,
}

impl Machine {
    /// The same machine with fine-grained interleaving on or off.
    pub fn with_fine(mut self, fine: bool) -> Machine {
        self.fine = fine;
        self
    }

    /// Sets the test up at `cfg` (the file's `kernel` line is the caller's business).
    pub fn new(test: &ast::Test, cfg: KernelConfig) -> Result<Machine, BuildError> {
        let mut kernel: Model = Model::new(cfg);
        let mut objects = HashMap::new();
        let mut mappings = HashMap::new();
        let mut setup_thread = ThreadState::default();
        // A setup step that kills the task setting the test up (a BUG, which oopses it with
        // the mmap lock held, or a fatal signal) ends the test there: the final state has
        // setup's events, and no thread runs.
        let mut setup_stop = None;
        let mut anon_thp = AnonThp::default();
        kernel.trace.enable();
        for stmt in &test.setup {
            kernel.trace.take();
            let result = match &stmt.kind {
                ast::SetupKind::Object(o) => create_object(&mut kernel, o, &objects).map(|id| {
                    objects.insert(o.name.node.clone(), id);
                }),
                ast::SetupKind::Mmap(m) => {
                    let anon = test
                        .object(&m.object.node)
                        .is_some_and(|o| matches!(o.kind, ast::ObjectKind::Anon { .. }));
                    mmap(&mut kernel, m, &objects, anon).map(|(addr, pages)| {
                        let mapping = Mapping { addr, pages };
                        if anon {
                            anon_thp.mapped(&m.name.node, mapping);
                        }
                        mappings.insert(m.name.node.clone(), mapping);
                    })
                }
                ast::SetupKind::Thp(mode) => {
                    kernel.thp = match mode {
                        ast::ThpMode::Always => ThpMode::Always,
                        ast::ThpMode::Madvise => ThpMode::Madvise,
                        ast::ThpMode::Never => ThpMode::Never,
                    };
                    Ok(())
                }
                ast::SetupKind::Op(op) => compile_op(op, &objects, &mappings).map(|op| {
                    // Setup operations act as a thread of their own, numbered after the
                    // test's threads, so what they hold never collides with a thread's.
                    let holder_thread = test.threads.len() as u8;
                    run_op(&mut kernel, &mut setup_thread, holder_thread, &op);
                    anon_thp.operation_ran(kernel.thp);
                }),
            };
            let oopsed = kernel.take_oops();
            if let Err(e) = result {
                if !oopsed {
                    return Err(e);
                }
            }
            let reason = if oopsed {
                Some("a kernel BUG oopsed the task".to_string())
            } else {
                setup_thread.killed.map(|s| format!("{s} killed the task"))
            };
            if let Some(reason) = reason {
                setup_stop = Some(SetupStop {
                    statement: ast::format_setup(&stmt.kind),
                    reason,
                    trace: kernel.trace.take(),
                });
                break;
            }
        }
        kernel.trace.disable();
        let mut threads = Vec::new();
        let mut op_texts = Vec::new();
        for t in &test.threads {
            let mut ops = Vec::new();
            let mut texts = Vec::new();
            for op in t.ops.iter().filter(|_| setup_stop.is_none()) {
                ops.push(compile_op(&op.kind, &objects, &mappings)?);
                texts.push(ast::format_op(&op.kind));
            }
            threads.push(ops);
            op_texts.push(texts);
        }
        let mut not_modelled = anon_thp.notes(kernel.thp);
        not_modelled.extend(crate::not_modelled::zero_page_gup_fast(test));
        not_modelled.extend(crate::not_modelled::removed_gup_calls(test, &cfg));
        let init = State {
            kernel,
            threads: vec![ThreadState::default(); test.threads.len()],
        };
        Ok(Machine {
            test: test.clone(),
            cfg,
            objects,
            mappings,
            threads,
            op_texts,
            init,
            fine: false,
            setup_stop,
            not_modelled,
        })
    }
}

fn pfn_flags(p: ast::PfnFlags) -> PfnFlags {
    match p {
        ast::PfnFlags::None => PfnFlags::empty(),
        ast::PfnFlags::Dev => PfnFlags::DEV,
        ast::PfnFlags::DevMap => PfnFlags::DEV | PfnFlags::MAP,
        ast::PfnFlags::Special => PfnFlags::SPECIAL,
    }
}

fn vm_flags(set: ast::VmFlagSet) -> VmFlags {
    let mut flags = VmFlags::empty();
    for f in set.iter() {
        flags |= match f {
            ast::VmFlag::Pfnmap => VmFlags::PFNMAP,
            ast::VmFlag::Mixedmap => VmFlags::MIXEDMAP,
            ast::VmFlag::Io => VmFlags::IO,
            ast::VmFlag::Dontexpand => VmFlags::DONTEXPAND,
            ast::VmFlag::Dontdump => VmFlags::DONTDUMP,
            ast::VmFlag::Hugepage => VmFlags::HUGEPAGE,
        };
    }
    flags
}

fn pages_of(size: u64) -> u64 {
    size.div_ceil(4096)
}

fn create_object(
    k: &mut Model,
    o: &ast::Object,
    objects: &HashMap<String, ObjId>,
) -> Result<ObjId, BuildError> {
    let name = &o.name.node;
    let created = match &o.kind {
        ast::ObjectKind::Ttm(t) => ttm_bo_create(
            k,
            TtmBo {
                pages: pages_of(t.size),
                place: match t.place {
                    ast::Placement::System => Placement::System,
                    ast::Placement::Vram => Placement::Vram,
                },
                caching: match t.caching {
                    ast::Caching::Cached => Caching::Cached,
                    ast::Caching::Wc => Caching::WriteCombined,
                    ast::Caching::Uc => Caching::Uncached,
                },
                huge: match t.huge {
                    ast::HugeLevel::None => None,
                    ast::HugeLevel::Pmd => Some(Level::Pmd),
                    ast::HugeLevel::Pud => Some(Level::Pud),
                },
                huge_pfn: pfn_flags(t.pfn),
                mapping: MappingId(0),
            },
        ),
        ast::ObjectKind::Driver(d) => GenericDevice::create(
            k,
            GenericDevice {
                pages: pages_of(d.size),
                insert: match d.insert {
                    ast::InsertMethod::Pfn => Insert::Pfn,
                    ast::InsertMethod::Mixed => Insert::Mixed,
                    ast::InsertMethod::Page => Insert::Page,
                    ast::InsertMethod::FaultPage => Insert::FaultPage,
                    ast::InsertMethod::Remap => Insert::Remap,
                    ast::InsertMethod::Pmd => Insert::Pmd,
                    ast::InsertMethod::Pud => Insert::Pud,
                },
                vm: d.vm.map(vm_flags),
                pfn: pfn_flags(d.pfn),
                memory: match d.memory {
                    ast::MemoryKind::Ram => Memory::Ram,
                    ast::MemoryKind::Iomem => Memory::Iomem,
                    ast::MemoryKind::Devmem => Memory::Devmem,
                },
                dax: d.dax,
                mapping: MappingId(0),
            },
        ),
        ast::ObjectKind::DmaBuf(d) => {
            let exporter = *objects.get(&d.exports.node).ok_or_else(|| {
                err(format!(
                    "dmabuf {name}: unknown exporter {}",
                    d.exports.node
                ))
            })?;
            let size = k.object(exporter).map(|b| b.pages).unwrap_or(0);
            let id = k.new_object(Backing::new(size));
            k.devices.objects.push((
                id,
                DeviceObject::DmaBuf(DmaBuf {
                    exporter,
                    require_pfnmap: d.require_pfnmap,
                }),
            ));
            Some(id)
        }
        ast::ObjectKind::Anon { size } => {
            Some(k.new_object(Backing::zero_filled(pages_of(*size), false)))
        }
        ast::ObjectKind::Memfd { size } => {
            Some(k.new_object(Backing::zero_filled(pages_of(*size), true)))
        }
    };
    created.ok_or_else(|| err(format!("{name}: out of memory in the model")))
}

/// mmap(2) of an object. An `anon` object is private anonymous memory whatever the sharing
/// word says (a shared anonymous mapping is a shmem file in Linux: that is `memfd`), as the
/// real-kernel oracle maps it.
fn mmap(
    k: &mut Model,
    m: &ast::Mmap,
    objects: &HashMap<String, ObjId>,
    anon: bool,
) -> Result<(u64, u64), BuildError> {
    let obj = *objects.get(&m.object.node).ok_or_else(|| {
        err(format!(
            "mmap {}: unknown object {}",
            m.name.node, m.object.node
        ))
    })?;
    let object_pages = k.object(obj).map(|b| b.pages).unwrap_or(0);
    let pgoff = m.offset.map(pages_of).unwrap_or(0);
    let pages = m
        .size
        .map(pages_of)
        .unwrap_or(object_pages.saturating_sub(pgoff));
    let args = MmapArgs {
        addr: m.at,
        pages,
        pgoff,
        shared: !anon && matches!(m.sharing, ast::Sharing::Shared),
        prot: match m.prot {
            ast::Prot::None => Prot::None,
            ast::Prot::R => Prot::Read,
            ast::Prot::Rw => Prot::ReadWrite,
        },
    };
    let vi = fops::mmap(k, obj, args).map_err(|e| BuildError {
        message: format!("mmap {} failed with {e}", m.name.node),
        failed_mmap: Some((m.name.node.clone(), e)),
    })?;
    Ok((k.vmas[vi].start, pages))
}
