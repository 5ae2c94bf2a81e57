//! include/linux.
pub mod mm_types;
