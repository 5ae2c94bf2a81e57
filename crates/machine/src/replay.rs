//! Replaying one schedule with tracing on, to explain it step by step.

use crate::build::Machine;
use crate::state::{State, ThreadState};
use mmlab_drivers::Model as Kernel;
use mmlab_explore::Model;
use mmlab_mm::trace::TraceLine;

/// One step of a replayed execution.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ReplayStep {
    pub thread: usize,
    /// The operation's text, e.g. `r0 = pin_user_pages_fast m0 pages=512 write`.
    pub op: String,
    pub trace: Vec<TraceLine>,
}

/// Runs `schedule` (thread ids) from the initial state with tracing; steps of threads that
/// cannot move are skipped. Returns the steps and the final state.
pub fn replay(m: &Machine, schedule: &[usize]) -> (Vec<ReplayStep>, State) {
    let mut state = m.init.clone();
    state.kernel.trace.enable();
    let mut steps = Vec::new();
    for &thread in schedule {
        if !m.enabled(&state, thread) {
            continue;
        }
        let pc = state.threads[thread].pc as usize;
        let mut op = m.op_texts[thread].get(pc).cloned().unwrap_or_default();
        state = m.step(&state, thread);
        if state.threads[thread].pc as usize == pc {
            op.push_str("  (in progress)");
        }
        steps.push(ReplayStep {
            thread,
            op,
            trace: state.kernel.trace.take(),
        });
    }
    (steps, state)
}

impl Model for Machine {
    type State = State;

    fn init_states(&self) -> Vec<State> {
        vec![self.init.clone()]
    }

    fn threads(&self) -> usize {
        self.threads.len()
    }

    fn enabled(&self, s: &State, thread: usize) -> bool {
        s.threads
            .get(thread)
            .is_some_and(|t| self.thread_enabled(&s.kernel, t, thread))
    }

    fn step(&self, s: &State, thread: usize) -> State {
        let mut next = s.clone();
        if let Some(t) = next.threads.get_mut(thread) {
            self.step_thread(&mut next.kernel, t, thread);
        }
        if (0..self.threads.len()).all(|i| !self.enabled(&next, i)) {
            self.settle_terminal(&mut next.kernel, next.threads.iter());
        }
        next
    }
}

/// A step as functions of the parts it reads (see [`crate::modular`]).
impl Machine {
    /// Whether `thread` (in state `t`) can take a step on `kernel`.
    pub(crate) fn thread_enabled(&self, kernel: &Kernel, t: &ThreadState, thread: usize) -> bool {
        let summary = crate::fine::KernelSummary::of(kernel);
        self.enabled_given(summary, || Some(kernel), t, thread)
    }

    /// [`Machine::thread_enabled`] on the kernel summarized by `summary`, which `kernel`
    /// gives when the summary and the thread state do not decide.
    pub(crate) fn enabled_given<'k>(
        &self,
        summary: crate::fine::KernelSummary,
        kernel: impl FnOnce() -> Option<&'k Kernel>,
        t: &ThreadState,
        thread: usize,
    ) -> bool {
        self.next_wait(t, thread)
            .is_some_and(|wait| !crate::fine::waits(summary, kernel, t, wait))
    }

    /// What `thread`'s next step may wait for, judged from its state alone (`Nothing` outside
    /// `--fine`); `None` when it has no next step (finished or killed).
    pub(crate) fn next_wait(
        &self,
        t: &ThreadState,
        thread: usize,
    ) -> Option<crate::fine::Wait<'_>> {
        let next = self
            .threads
            .get(thread)
            .and_then(|ops| ops.get(t.pc as usize));
        if t.killed.is_some() || next.is_none() {
            return None;
        }
        Some(if self.fine {
            crate::fine::may_wait_for(t, next)
        } else {
            crate::fine::Wait::Nothing
        })
    }

    /// `thread`'s next step. It reads and writes only the kernel and this thread's state.
    pub(crate) fn step_thread(&self, kernel: &mut Kernel, t: &mut ThreadState, thread: usize) {
        let Some(op) = self
            .threads
            .get(thread)
            .and_then(|ops| ops.get(t.pc as usize))
        else {
            return;
        };
        let done = if self.fine {
            t.steps = t.steps.saturating_add(1);
            crate::fine::step(kernel, t, thread as u8, op)
        } else {
            crate::exec::run_op(kernel, t, thread as u8, op);
            true
        };
        if kernel.take_oops() {
            // The kernel oopsed in this task: it dies (a SIGSEGV-like kill).
            // The operation never returns: its result is the signal.
            let sig = crate::state::SignalName::Sigsegv;
            t.killed = Some(sig);
            t.inflight = None;
            if let Some(slot) = op.dest().and_then(|d| t.regs.get_mut(d as usize)) {
                *slot = Some(crate::state::RegValue::Signal(sig));
            }
        }
        if done {
            t.pc += 1;
        }
    }

    /// What the kernel notices once no thread can move: a thread stuck on a lock, leaks.
    pub(crate) fn settle_terminal<'a>(
        &self,
        kernel: &mut Kernel,
        threads: impl Iterator<Item = &'a ThreadState>,
    ) {
        let stuck = threads.enumerate().any(|(i, t)| {
            let ops = self.threads.get(i).map_or(0, Vec::len);
            t.killed.is_none() && (t.pc as usize) < ops
        });
        if stuck {
            // A thread waits on a lock no one will release (its holder oopsed).
            kernel.raise(mmlab_mm::Event::Hang, || {
                "a thread waits forever for a reservation lock".into()
            });
        }
        kernel.check_leaks();
    }
}
