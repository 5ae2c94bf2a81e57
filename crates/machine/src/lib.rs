//! A litmus test made executable: the setup run on the model, each thread's operations as
//! kernel calls, registers, and the conditions evaluated on final states. [`Machine`]
//! implements the explorer's `Model`, so the explorer can run every interleaving; a single
//! schedule can be replayed with tracing to explain it.

mod build;
pub mod check;
mod conditions;
mod exec;
pub mod family;
pub mod fine;
mod modular;
mod not_modelled;
mod replay;
mod state;

pub use build::{BuildError, Machine, SetupStop};
pub use conditions::{evaluate, Verdict};
pub use replay::{replay, ReplayStep};
pub use state::{RegValue, State, ThreadState};
