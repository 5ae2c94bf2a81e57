//! Kernel headers: types and inline helpers (include/).
pub mod errno;
pub mod linux;
pub mod pfn_t;
