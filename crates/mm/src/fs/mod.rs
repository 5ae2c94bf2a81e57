//! fs/: the syscalls that take user pages for I/O.
pub mod direct_io;
pub mod splice;
