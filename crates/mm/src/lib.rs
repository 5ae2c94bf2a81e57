//! The model: an executable, version-aware model of the Linux memory-management paths that
//! decide what happens when user space maps device memory and the kernel takes references
//! on it with get_user_pages (GUP).
//!
//! The state is one value, [`Kernel`]: physical memory with struct pages, one mm (vmas and
//! page tables), the memory objects, the references GUP callers hold, device state, and the
//! events seen. Operations are methods named after the kernel functions they model, in
//! modules laid out like the kernel tree (`mm::memory::vm_normal_page`, `mm::gup`, …).
//! Behaviour differences between releases are [`version::ChangePoint`]s.
//!
//! Not modelled: architectures other than x86-64, swap and migration, anonymous THP, hugetlb,
//! NUMA balancing, userfaultfd, memory cgroups, page-cache writeback; see docs/model.md.

pub mod arch;
pub mod device_access;
pub mod events;
pub mod fs;
pub mod include;
pub mod io_uring;
pub mod kernel;
pub mod mm;
pub mod runs;
pub mod shared;
pub mod trace;
pub mod version;

pub use arch::x86::fault::Signal;
pub use arch::x86::pgtable::{Entry, Level, PageTableFlags};
pub use events::{Event, EventSet};
pub use include::errno::Errno;
pub use include::linux::mm_types::{ObjId, Pfn, VmFlags, Vma};
pub use kernel::{Devices, Kernel, KernelParts, NoDevices, ThpMode};
pub use version::{ChangePoint, KernelConfig, Release};
