//! mm/: the core memory-management code the model covers.
pub mod filemap;
pub mod gup;
pub mod huge_memory;
pub mod memory;
pub mod memremap;
pub mod mmap;
pub mod mprotect;
pub mod object;
pub mod page_alloc;
pub mod pgtable;
pub mod process_vm_access;
pub mod shmem;
