//! mm/mprotect.c: changing the protection of a vma and of the entries it maps.

use crate::arch::x86::pgtable::{Entry, Level, PageTableFlags as F};
use crate::include::errno::Errno;
use crate::include::linux::mm_types::{VmFlags, Vma};
use crate::kernel::{Devices, Kernel};
use crate::mm::memory::{vm_page_prot, vma_wants_writenotify};
use crate::mm::mmap::Prot;
use crate::version::ChangePoint;

impl<D: Devices> Kernel<D> {
    /// mprotect over the whole vma `vi` (mprotect_fixup): nothing to do when the flags do
    /// not change; otherwise new vm_flags, then change_protection.
    pub fn mprotect(&mut self, vi: usize, prot: Prot) -> Result<(), Errno> {
        self.call("mprotect_fixup", |k| {
            let vma = k.vmas[vi].clone();
            let wanted = prot.flags();
            if wanted.contains(VmFlags::WRITE) && !vma.flags.contains(VmFlags::MAYWRITE) {
                return Err(Errno::EACCES);
            }
            let flags = (vma.flags - (VmFlags::READ | VmFlags::WRITE)) | wanted;
            if flags == vma.flags {
                k.note(|| "vm_flags unchanged: nothing to do".into());
                return Ok(());
            }
            k.vmas[vi].flags = flags;
            let vma = k.vmas[vi].clone();
            // Private writable vmas must keep COW, so their entries stay read-only unless
            // change_pte_range can tell that the write fault would reuse the page anyway
            // (from MprotectTryWritable). Shared ones get the write bit from vm_page_prot,
            // unless they need writenotify faults; then a dirty PTE may be writable (5.11
            // calls that dirty_accountable).
            let try_change_writable = if vma.flags.contains(VmFlags::SHARED) {
                vma_wants_writenotify(&vma)
            } else {
                k.has(ChangePoint::MprotectTryWritable) && vma.flags.contains(VmFlags::WRITE)
            };
            k.change_protection(&vma, try_change_writable);
            Ok(())
        })
    }

    /// change_protection: every present entry gets the new vm_page_prot's user and write
    /// bits (pte_modify / pmd_modify keep the frame and the special, devmap and dirty bits);
    /// with MM_CP_TRY_CHANGE_WRITABLE a PTE is then made writable where
    /// [`Kernel::can_change_pte_writable`] allows.
    fn change_protection(&mut self, vma: &Vma, try_change_writable: bool) {
        self.call("change_protection", |k| {
            let modified = F::RW | F::USER;
            let new_bits = vm_page_prot(vma) & modified;
            for level in [Level::Pud, Level::Pmd, Level::Pte] {
                for (addr, entry) in k.pt.leaves(level, vma.start, vma.end) {
                    let mut entry = entry.without(modified).with(new_bits);
                    // Huge entries of private vmas map device or file memory here, never
                    // anonymous pages (anonymous THP is not modelled), so
                    // can_change_pmd_writable would refuse them.
                    if level == Level::Pte
                        && try_change_writable
                        && !entry.write()
                        && k.can_change_pte_writable(vma, entry)
                    {
                        entry = entry.with(F::RW);
                    }
                    k.pt.set(level, addr, entry);
                }
            }
        })
    }

    /// can_change_pte_writable: whether a write fault would simply map this PTE writable.
    /// For a private vma, an exclusive anonymous page (every anonymous page here), dirty
    /// until "mm/mprotect: allow clean exclusive anon pages to be writable"; for a shared
    /// one, a dirty PTE. Never a PROT_NONE entry.
    fn can_change_pte_writable(&mut self, vma: &Vma, pte: Entry) -> bool {
        if !pte.has(F::USER) {
            return false;
        }
        let dirty = pte.has(F::DIRTY);
        if vma.flags.contains(VmFlags::SHARED) {
            return dirty;
        }
        if !dirty && !self.has(ChangePoint::MprotectCleanAnonWritable) {
            return false;
        }
        let anon = self
            .vm_normal_page(vma, pte)
            .is_some_and(|pfn| self.mem.page(pfn).anon);
        if anon {
            self.note(|| {
                format!(
                    "exclusive anonymous page at pfn {:#x}: writable",
                    pte.pfn().0
                )
            });
        }
        anon
    }
}
