//! mmlab-oracle: runs mm litmus tests on stock Debian kernels under qemu.
//!
//! Its one job is to be the model's *real-kernel oracle*: fetch the kernels ([`setup`]), build a
//! test driver module against them, boot them under qemu with a guest runner as /init, execute
//! translated litmus tests and parse what the guest printed into outcomes.

mod apt;
pub mod cache;
pub mod cli;
mod cmd;
pub mod kernel;
pub mod setup;

pub use cache::Cache;
pub use kernel::OracleKernel;
pub use setup::{setup, KernelInstall, SetupOptions};
