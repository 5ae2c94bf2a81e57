//! Architecture code: x86-64 only.
pub mod x86;
