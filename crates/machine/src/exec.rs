//! Thread operations: compiled from the AST with names resolved, and run as kernel calls.

use crate::build::{BuildError, Mapping};
use crate::state::{RegValue, SignalName, ThreadState};
use mmlab_drivers::drivers::gpu::drm::ttm::ttm_bo::Placement;
use mmlab_drivers::fops;
use mmlab_drivers::Model;
use mmlab_litmus as ast;
use mmlab_mm::arch::x86::pgtable::PAGE_SIZE;
use mmlab_mm::include::linux::mm_types::ObjId;
use mmlab_mm::mm::gup::{FollFlags, GupCall, Holder};
use mmlab_mm::mm::mmap::Prot;
use mmlab_mm::{Errno, Signal};
use std::collections::HashMap;

/// A syscall that takes user pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syscall {
    ODirectRead,
    ODirectWrite,
    Vmsplice,
    ProcessVmReadv,
    ProcessVmWritev,
    IoUringRegister,
}

/// An operation with its names resolved to addresses and objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Read {
        addr: u64,
        dest: Option<u8>,
    },
    Write {
        addr: u64,
        value: u8,
    },
    Touch {
        addr: u64,
    },
    Gup {
        dest: u8,
        call: GupCall,
        addr: u64,
        pages: u64,
        flags: FollFlags,
    },
    Syscall {
        dest: u8,
        call: Syscall,
        addr: u64,
        pages: u64,
    },
    DmaWrite {
        reg: u8,
        value: u8,
    },
    DmaRead {
        reg: u8,
        dest: Option<u8>,
    },
    Unpin {
        reg: u8,
    },
    Evict {
        object: ObjId,
        to: Option<Placement>,
    },
    Destroy {
        object: ObjId,
    },
    Munmap {
        addr: u64,
    },
    Mprotect {
        addr: u64,
        prot: Prot,
    },
    MadviseDontneed {
        addr: u64,
    },
}

impl Op {
    /// The register the operation sets, if any.
    pub fn dest(&self) -> Option<u8> {
        match *self {
            Op::Read { dest, .. } | Op::DmaRead { dest, .. } => dest,
            Op::Gup { dest, .. } | Op::Syscall { dest, .. } => Some(dest),
            _ => None,
        }
    }
}

fn resolve_addr(a: &ast::Addr, mappings: &HashMap<String, Mapping>) -> Result<u64, BuildError> {
    mappings
        .get(&a.mapping.node)
        .map(|m| m.addr.saturating_add(a.offset))
        .ok_or_else(|| crate::build::err(format!("unknown mapping {}", a.mapping.node)))
}

fn resolve_object(n: &ast::Name, objects: &HashMap<String, ObjId>) -> Result<ObjId, BuildError> {
    objects
        .get(&n.node)
        .copied()
        .ok_or_else(|| crate::build::err(format!("unknown object {}", n.node)))
}

fn mapping_addr(n: &ast::Name, mappings: &HashMap<String, Mapping>) -> Result<u64, BuildError> {
    mappings
        .get(&n.node)
        .map(|m| m.addr)
        .ok_or_else(|| crate::build::err(format!("unknown mapping {}", n.node)))
}

/// Values are small: a page holds one byte-sized value (the parser refuses larger ones, so
/// the saturation never happens for a parsed test).
fn value(v: u64) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

/// The kernel's GUP entry point a test names.
pub(crate) fn gup_call(call: ast::GupCall) -> GupCall {
    match call {
        ast::GupCall::GetUserPages => GupCall::GetUserPages,
        ast::GupCall::GetUserPagesFast => GupCall::GetUserPagesFast,
        ast::GupCall::GetUserPagesFastOnly => GupCall::GetUserPagesFastOnly,
        ast::GupCall::PinUserPages => GupCall::PinUserPages,
        ast::GupCall::PinUserPagesFast => GupCall::PinUserPagesFast,
        ast::GupCall::PinUserPagesFastOnly => GupCall::PinUserPagesFastOnly,
    }
}

/// Resolves an operation's names.
pub fn compile_op(
    op: &ast::OpKind,
    objects: &HashMap<String, ObjId>,
    mappings: &HashMap<String, Mapping>,
) -> Result<Op, BuildError> {
    use ast::OpKind as K;
    Ok(match op {
        K::Read { addr, dest } => Op::Read {
            addr: resolve_addr(addr, mappings)?,
            dest: dest.as_ref().map(|r| r.node.0),
        },
        K::Write { addr, value: v } => Op::Write {
            addr: resolve_addr(addr, mappings)?,
            value: value(*v),
        },
        K::Touch { addr } => Op::Touch {
            addr: resolve_addr(addr, mappings)?,
        },
        K::Gup {
            dest,
            call,
            addr,
            pages,
            write,
            longterm,
            force,
        } => {
            let mut flags = FollFlags::empty();
            if *write {
                flags |= FollFlags::WRITE;
            }
            if *longterm {
                flags |= FollFlags::LONGTERM;
            }
            if *force {
                flags |= FollFlags::FORCE;
            }
            Op::Gup {
                dest: dest.node.0,
                call: gup_call(*call),
                addr: resolve_addr(addr, mappings)?,
                pages: *pages,
                flags,
            }
        }
        K::Syscall {
            dest,
            call,
            addr,
            size,
        } => Op::Syscall {
            dest: dest.node.0,
            call: match call {
                ast::Syscall::ODirectRead => Syscall::ODirectRead,
                ast::Syscall::ODirectWrite => Syscall::ODirectWrite,
                ast::Syscall::Vmsplice => Syscall::Vmsplice,
                ast::Syscall::ProcessVmReadv => Syscall::ProcessVmReadv,
                ast::Syscall::ProcessVmWritev => Syscall::ProcessVmWritev,
                ast::Syscall::IoUringRegister => Syscall::IoUringRegister,
            },
            addr: resolve_addr(addr, mappings)?,
            pages: size.div_ceil(PAGE_SIZE).max(1),
        },
        K::DmaWrite { reg, value: v } => Op::DmaWrite {
            reg: reg.node.0,
            value: value(*v),
        },
        K::DmaRead { reg, dest } => Op::DmaRead {
            reg: reg.node.0,
            dest: dest.as_ref().map(|r| r.node.0),
        },
        K::Unpin { reg } => Op::Unpin { reg: reg.node.0 },
        K::Evict { object, to } => Op::Evict {
            object: resolve_object(object, objects)?,
            to: to.map(|p| match p {
                ast::Placement::System => Placement::System,
                ast::Placement::Vram => Placement::Vram,
            }),
        },
        K::Destroy { object } => Op::Destroy {
            object: resolve_object(object, objects)?,
        },
        K::Munmap { mapping } => Op::Munmap {
            addr: mapping_addr(mapping, mappings)?,
        },
        K::Mprotect { mapping, prot } => Op::Mprotect {
            addr: mapping_addr(mapping, mappings)?,
            prot: match prot {
                ast::Prot::None => Prot::None,
                ast::Prot::R => Prot::Read,
                ast::Prot::Rw => Prot::ReadWrite,
            },
        },
        K::Madvise { mapping, .. } => Op::MadviseDontneed {
            addr: mapping_addr(mapping, mappings)?,
        },
    })
}

fn set(t: &mut ThreadState, reg: u8, v: RegValue) {
    if let Some(slot) = t.regs.get_mut(reg as usize) {
        *slot = Some(v);
    }
}

fn kill(t: &mut ThreadState, dest: Option<u8>, s: Signal) {
    let sig = SignalName::from(s);
    t.killed = Some(sig);
    if let Some(d) = dest {
        set(t, d, RegValue::Signal(sig));
    }
}

/// Runs one operation of thread `thread` (whose state is `t`) on the kernel.
pub fn run_op(k: &mut Model, t: &mut ThreadState, thread: u8, op: &Op) {
    let holder = |reg: u8| Holder { thread, reg };
    match *op {
        Op::Read { addr, dest } => match k.user_read(addr) {
            Ok(v) => {
                if let Some(d) = dest {
                    set(t, d, RegValue::Num(v as i64));
                }
            }
            Err(s) => kill(t, dest, s),
        },
        Op::Touch { addr } => {
            if let Err(s) = k.user_read(addr) {
                kill(t, None, s);
            }
        }
        Op::Write { addr, value } => {
            if let Err(s) = k.user_write(addr, value) {
                kill(t, None, s);
            }
        }
        Op::Gup {
            dest,
            call,
            addr,
            pages,
            flags,
        } => {
            let r = k.gup(call, addr, pages, flags, holder(dest));
            set(t, dest, RegValue::Num(r.ret));
            if r.hang {
                t.killed = Some(SignalName::Sigkill);
            }
        }
        Op::Syscall {
            dest,
            call,
            addr,
            pages,
        } => {
            let h = holder(dest);
            let ret = match call {
                Syscall::ODirectRead => k.o_direct(addr, pages, true, h),
                Syscall::ODirectWrite => k.o_direct(addr, pages, false, h),
                Syscall::Vmsplice => k.vmsplice(addr, pages, h),
                Syscall::ProcessVmReadv => k.process_vm_rw(addr, pages, false, h),
                Syscall::ProcessVmWritev => k.process_vm_rw(addr, pages, true, h),
                Syscall::IoUringRegister => k.io_uring_register(addr, pages, h),
            };
            set(t, dest, RegValue::Num(ret));
            if ret == Errno::EINTR.ret() && k.events.contains(mmlab_mm::EventSet::HANG) {
                t.killed = Some(SignalName::Sigkill);
            }
        }
        Op::DmaWrite { reg, value } => k.dma_write(holder(reg), value),
        Op::DmaRead { reg, dest } => {
            let v = k.dma_read(holder(reg));
            if let (Some(d), Some(v)) = (dest, v) {
                set(t, d, RegValue::Num(v as i64));
            }
        }
        Op::Unpin { reg } => k.release(holder(reg)),
        Op::Evict { object, to } => fops::evict(k, object, to),
        Op::Destroy { object } => fops::destroy(k, object),
        Op::Munmap { addr } => {
            if let Some(vi) = k.vmas.iter().position(|v| v.start == addr) {
                k.munmap(vi);
            }
        }
        Op::Mprotect { addr, prot } => {
            if let Some(vi) = k.vmas.iter().position(|v| v.start == addr) {
                let _ = k.mprotect(vi, prot);
            }
        }
        Op::MadviseDontneed { addr } => {
            if let Some(vi) = k.vmas.iter().position(|v| v.start == addr) {
                let _ = k.madvise_dontneed(vi);
            }
        }
    }
}
