//! The state the explorer walks: the kernel value plus each thread's program counter and
//! registers.

use mmlab_drivers::Model;
use mmlab_mm::Signal;
use serde::Serialize;
use std::fmt;
use std::hash::{Hash, Hasher};

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

/// Registers per thread (`r0`–`r9`).
pub const REGISTERS: usize = 10;

// The hash packs three bits per register below the program counter (bit 32).
const _: () = assert!(3 * REGISTERS <= 32);

/// One thread's progress.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ThreadState {
    /// Index of the next operation.
    pub pc: u16,
    pub regs: [Option<RegValue>; REGISTERS],
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

/// The registers' kinds packed three bits each into one word with the counters, then the
/// numbers (an injective encoding): thread states are hashed on every step the model runs,
/// and ten optional registers hashed field by field cost hundreds of instructions.
impl Hash for ThreadState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Destructured, so that a new field cannot be left out.
        let ThreadState {
            pc,
            regs,
            killed,
            inflight,
            holds_lock,
            steps,
        } = self;
        let mut kinds = u64::from(*pc) << 32 | u64::from(*steps) << 48;
        for (i, reg) in regs.iter().enumerate() {
            let kind = match reg {
                None => 0,
                Some(RegValue::Num(_)) => 1,
                Some(RegValue::Signal(SignalName::Sigbus)) => 2,
                Some(RegValue::Signal(SignalName::Sigsegv)) => 3,
                Some(RegValue::Signal(SignalName::Sigkill)) => 4,
            };
            kinds |= kind << (3 * i);
        }
        state.write_u64(kinds);
        for reg in regs {
            if let Some(RegValue::Num(n)) = reg {
                state.write_i64(*n);
            }
        }
        killed.hash(state);
        inflight.hash(state);
        holds_lock.hash(state);
    }
}

/// The whole state of one execution.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub kernel: Model,
    pub threads: Vec<ThreadState>,
}
