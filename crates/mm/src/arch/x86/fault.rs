//! arch/x86/mm/fault.c: a user-space load or store, faulting through handle_mm_fault until
//! the access can complete.

use crate::arch::x86::pgtable::{Entry, Level, PageTableFlags as F, PAGE_SIZE};
use crate::events::Event;
use crate::include::linux::mm_types::{FaultFlags, Pfn, VmFault, VmFlags};
use crate::kernel::{Devices, Kernel};

/// A fatal signal delivered to the accessing thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    Sigbus,
    Sigsegv,
    /// The access would refault forever (the thread never makes progress).
    Hang,
}

/// How often a user access may fault without becoming possible before it counts as a hang.
const MAX_USER_FAULTS: u32 = 4;

impl<D: Devices> Kernel<D> {
    /// The frame a present, permitted translation gives for `addr`.
    fn translate(&self, addr: u64, write: bool) -> Option<Pfn> {
        for level in [Level::Pud, Level::Pmd, Level::Pte] {
            let e: Entry = self.pt.get(level, addr);
            let is_leaf = level == Level::Pte || e.leaf();
            if !e.present() {
                return None;
            }
            if is_leaf {
                if !e.has(F::USER) || (write && !e.write()) {
                    return None;
                }
                return Some(e.pfn().offset((addr & !level.mask()) / PAGE_SIZE));
            }
        }
        None
    }

    /// do_user_addr_fault and retry: returns the frame the access reaches.
    fn user_access(&mut self, addr: u64, write: bool) -> Result<Pfn, Signal> {
        let mut faults = 0;
        loop {
            if let Some(pfn) = self.translate(addr, write) {
                return Ok(pfn);
            }
            if faults >= MAX_USER_FAULTS {
                self.raise(Event::Hang, || {
                    format!("access to {addr:#x} refaults forever")
                });
                return Err(Signal::Hang);
            }
            faults += 1;
            let ret = self.call("do_user_addr_fault", |k| {
                let Some(vi) = k.vma_lookup(addr) else {
                    k.note(|| format!("no vma at {addr:#x}: SIGSEGV"));
                    return VmFault::SIGSEGV;
                };
                let vm = k.vmas[vi].flags;
                let permitted = if write {
                    vm.contains(VmFlags::WRITE)
                } else {
                    vm.intersects(VmFlags::READ | VmFlags::WRITE)
                };
                if !permitted {
                    k.note(|| "access not permitted by the vma: SIGSEGV".into());
                    return VmFault::SIGSEGV;
                }
                let mut flags = FaultFlags::USER | FaultFlags::ALLOW_RETRY | FaultFlags::KILLABLE;
                if write {
                    flags |= FaultFlags::WRITE;
                }
                k.handle_mm_fault(vi, addr, flags)
            });
            if ret.contains(VmFault::SIGSEGV) {
                return Err(Signal::Sigsegv);
            }
            if ret.intersects(VmFault::SIGBUS | VmFault::OOM | VmFault::HWPOISON) {
                return Err(Signal::Sigbus);
            }
        }
    }

    /// A user-space store of `value` to `addr`.
    pub fn user_write(&mut self, addr: u64, value: u8) -> Result<(), Signal> {
        self.call("user store", |k| {
            let pfn = k.user_access(addr, true)?;
            k.mem.update(pfn, 1, |f| f.content = value);
            k.note(|| format!("stored {value} into pfn {pfn}"));
            Ok(())
        })
    }

    /// A user-space load from `addr`.
    pub fn user_read(&mut self, addr: u64) -> Result<u8, Signal> {
        self.call("user load", |k| {
            let pfn = k.user_access(addr, false)?;
            let value = k.mem.content(pfn);
            k.note(|| format!("loaded {value} from pfn {pfn}"));
            Ok(value)
        })
    }
}
