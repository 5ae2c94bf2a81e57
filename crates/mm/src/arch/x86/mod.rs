//! x86-64.
pub mod fault;
pub mod pgtable;
