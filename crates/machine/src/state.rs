//! The state the explorer walks: the kernel value plus each thread's program counter and
//! registers.

use mmlab_drivers::Model;
use mmlab_mm::Signal;
use serde::Serialize;
use std::fmt;

/// What a register holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RegValue {
    /// A count, a value, or a negative errno.
    Num(i64),
    /// The operation that set it ended the thread with this signal.
    Signal(SignalName),
}

/// A fatal signal that ended a thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum SignalName {
    Sigbus,
    Sigsegv,
    /// Killed by the watchdog after an endless retry (reported as the `hang` event).
    Sigkill,
}

impl From<Signal> for SignalName {
    fn from(s: Signal) -> Self {
        match s {
            Signal::Sigbus => SignalName::Sigbus,
            Signal::Sigsegv => SignalName::Sigsegv,
            Signal::Hang => SignalName::Sigkill,
        }
    }
}

impl fmt::Display for SignalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignalName::Sigbus => "SIGBUS",
            SignalName::Sigsegv => "SIGSEGV",
            SignalName::Sigkill => "SIGKILL",
        })
    }
}

impl fmt::Display for RegValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegValue::Num(n) if *n < 0 => match errno_name(-*n) {
                Some(name) => write!(f, "-{name}"),
                None => write!(f, "{n}"),
            },
            RegValue::Num(n) => write!(f, "{n}"),
            RegValue::Signal(s) => write!(f, "{s}"),
        }
    }
}

fn errno_name(value: i64) -> Option<&'static str> {
    let number = i32::try_from(value).ok()?;
    mmlab_litmus::errno::Errno::from_number(number).map(|e| e.name)
}

/// One thread's progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ThreadState {
    /// Index of the next operation.
    pub pc: u16,
    pub regs: [Option<RegValue>; 10],
    /// The thread was ended by a fatal signal.
    pub killed: Option<SignalName>,
    /// Under fine-grained interleaving: the operation in progress.
    pub inflight: Option<crate::fine::InFlight>,
    /// The object reservation lock this thread holds (during an eviction).
    pub holds_lock: Option<mmlab_mm::ObjId>,
    /// Under fine-grained interleaving: steps taken. An operation's step count depends on
    /// what it meets (a walk that stops early), so without it one state could be reached by
    /// executions of different lengths, and exact execution counts would need a second pass.
    pub steps: u16,
}

/// The whole state of one execution.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub kernel: Model,
    pub threads: Vec<ThreadState>,
}
