//! Small models used by the tests, benchmarks and examples of this crate (and handy for
//! anyone checking the explorer): threads running straight-line programs of reads and writes
//! over a few shared byte variables, and a model with a cycle.

use crate::Model;

/// Most threads a [`Program`] can have.
pub const PROGRAM_MAX_THREADS: usize = 8;
/// Most shared variables a [`Program`] can have.
pub const PROGRAM_MAX_VARS: usize = 4;

/// One step of a thread of a [`Program`]; each thread has one register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// reg = var
    Read(u8),
    /// var = reg + add
    Write(u8, u8),
    /// reg += add (touches no shared variable)
    Local(u8),
}

impl Op {
    fn var(self) -> Option<u8> {
        match self {
            Op::Read(v) | Op::Write(v, _) => Some(v),
            Op::Local(_) => None,
        }
    }
}

/// Threads running straight-line programs over shared variables. Out-of-range thread counts or
/// variable ids are clamped rather than rejected, so any value is a valid model.
#[derive(Debug, Clone)]
pub struct Program {
    threads: Vec<Vec<Op>>,
}

/// State of a [`Program`]: program counters, registers and shared memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgramState {
    pub pc: [u8; PROGRAM_MAX_THREADS],
    pub reg: [u8; PROGRAM_MAX_THREADS],
    pub mem: [u8; PROGRAM_MAX_VARS],
}

impl Program {
    pub fn new(threads: Vec<Vec<Op>>) -> Self {
        let threads = threads
            .into_iter()
            .take(PROGRAM_MAX_THREADS)
            .map(|ops| ops.into_iter().take(u8::MAX as usize).collect())
            .collect();
        Program { threads }
    }

    /// `threads` threads each incrementing the same variable `increments` times, non-atomically
    /// (read, then write value + 1): the classic lost update.
    pub fn counter(threads: usize, increments: usize) -> Self {
        let ops = (0..increments)
            .flat_map(|_| [Op::Read(0), Op::Write(0, 1)])
            .collect::<Vec<_>>();
        Program::new(vec![ops; threads])
    }

    /// `threads` threads of `steps` operations each over `vars` variables; a fixed mix of reads,
    /// writes and local steps, the benchmark family.
    pub fn mixed(threads: usize, steps: usize, vars: usize) -> Self {
        let vars = vars.clamp(1, PROGRAM_MAX_VARS) as u8;
        let prog = (0..threads)
            .map(|t| {
                (0..steps)
                    .map(|i| {
                        let v = ((t + i) as u8) % vars;
                        match (t + 2 * i) % 3 {
                            0 => Op::Read(v),
                            1 => Op::Write(v, (t + 1) as u8),
                            _ => Op::Local(1),
                        }
                    })
                    .collect()
            })
            .collect();
        Program::new(prog)
    }

    /// `threads` threads that share nothing, `steps` local steps each: partial-order reduction
    /// should explore one transition per state.
    pub fn independent(threads: usize, steps: usize) -> Self {
        Program::new(vec![vec![Op::Local(1); steps]; threads])
    }

    pub fn ops(&self) -> &[Vec<Op>] {
        &self.threads
    }

    fn next_op(&self, s: &ProgramState, thread: usize) -> Option<Op> {
        let ops = self.threads.get(thread)?;
        ops.get(*s.pc.get(thread)? as usize).copied()
    }
}

fn var_index(v: u8) -> usize {
    v as usize % PROGRAM_MAX_VARS
}

impl Model for Program {
    type State = ProgramState;

    fn init_states(&self) -> Vec<ProgramState> {
        vec![ProgramState {
            pc: [0; PROGRAM_MAX_THREADS],
            reg: [0; PROGRAM_MAX_THREADS],
            mem: [0; PROGRAM_MAX_VARS],
        }]
    }

    fn threads(&self) -> usize {
        self.threads.len()
    }

    fn enabled(&self, s: &ProgramState, thread: usize) -> bool {
        self.next_op(s, thread).is_some()
    }

    fn step(&self, s: &ProgramState, thread: usize) -> ProgramState {
        let mut n = *s;
        let Some(op) = self.next_op(s, thread) else {
            return n;
        };
        match op {
            Op::Read(v) => n.reg[thread] = s.mem[var_index(v)],
            Op::Write(v, add) => n.mem[var_index(v)] = s.reg[thread].wrapping_add(add),
            Op::Local(add) => n.reg[thread] = s.reg[thread].wrapping_add(add),
        }
        n.pc[thread] += 1;
        n
    }

    fn independent(&self, s: &ProgramState, a: usize, b: usize) -> bool {
        let (Some(x), Some(y)) = (self.next_op(s, a), self.next_op(s, b)) else {
            return false;
        };
        match (x.var(), y.var()) {
            (Some(u), Some(v)) if var_index(u) == var_index(v) => {
                matches!((x, y), (Op::Read(_), Op::Read(_)))
            }
            _ => true,
        }
    }
}

/// A model with a cycle: thread 0 turns a wheel of `size` positions until thread 1 sets
/// `stop`. Every position is a terminal state, each reachable by infinitely many executions.
#[derive(Debug, Clone)]
pub struct Wheel {
    pub size: u8,
}

/// State of [`Wheel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WheelState {
    pub position: u8,
    pub stop: bool,
}

impl Model for Wheel {
    type State = WheelState;

    fn init_states(&self) -> Vec<WheelState> {
        vec![WheelState {
            position: 0,
            stop: false,
        }]
    }

    fn threads(&self) -> usize {
        2
    }

    fn enabled(&self, s: &WheelState, _thread: usize) -> bool {
        !s.stop
    }

    fn step(&self, s: &WheelState, thread: usize) -> WheelState {
        let mut n = *s;
        if thread == 0 {
            n.position = (s.position + 1) % self.size.max(1);
        } else {
            n.stop = true;
        }
        n
    }
}

/// An acyclic model where executions reaching the same state can have different lengths:
/// thread 0 takes a shortcut (skipping one of its steps) if thread 1 has already run.
#[derive(Debug, Clone)]
pub struct Shortcut;

/// State of [`Shortcut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortcutState {
    pub pc: [u8; 2],
}

impl Model for Shortcut {
    type State = ShortcutState;

    fn init_states(&self) -> Vec<ShortcutState> {
        vec![ShortcutState { pc: [0, 0] }]
    }

    fn threads(&self) -> usize {
        2
    }

    fn enabled(&self, s: &ShortcutState, thread: usize) -> bool {
        s.pc[thread] < [4, 2][thread]
    }

    fn step(&self, s: &ShortcutState, thread: usize) -> ShortcutState {
        let mut n = *s;
        n.pc[thread] += if thread == 0 && s.pc[0] == 1 && s.pc[1] >= 1 {
            2
        } else {
            1
        };
        n
    }
}
