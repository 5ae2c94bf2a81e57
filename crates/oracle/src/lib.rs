//! mmlab-oracle: runs mm litmus tests on stock Debian kernels under qemu.
//!
//! Its one job is to be the model's *real-kernel oracle*: fetch the kernels ([`setup`]), build
//! a test driver module against them, boot them under qemu with a guest runner as /init,
//! execute tests in the guest script format ([`batch`]) and parse what the guest printed into
//! outcomes ([`outcome`]). See docs/oracle.md.

mod apt;
pub mod batch;
mod build;
pub mod cache;
pub mod cli;
mod cmd;
mod console;
mod cpio;
pub mod eval;
pub mod kernel;
pub mod outcome;
pub mod qemu;
pub mod run;
pub mod schedule;
pub mod setup;
pub mod translate;
mod vmlinux;

pub use batch::{run_guest_tests, GuestTest, RunReport};
pub use cache::Cache;
pub use kernel::OracleKernel;
pub use outcome::{GuestOutcome, RegValue, Status};
pub use qemu::BootConfig;
pub use run::{run, run_with, OracleOutcome, RunOptions, RunSummary};
pub use schedule::Schedule;
pub use setup::{setup, KernelInstall, SetupOptions};
