//! Replaying one schedule with tracing on, to explain it step by step.

use crate::build::Machine;
use crate::state::State;
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
        let Some(t) = s.threads.get(thread) else {
            return false;
        };
        let ops = &self.threads[thread];
        if t.killed.is_some() || (t.pc as usize) >= ops.len() {
            return false;
        }
        !self.fine || !crate::fine::blocked(&s.kernel, t, ops.get(t.pc as usize))
    }

    fn step(&self, s: &State, thread: usize) -> State {
        let mut next = s.clone();
        let pc = next.threads[thread].pc as usize;
        if let Some(op) = self.threads[thread].get(pc) {
            let mut t = std::mem::take(&mut next.threads[thread]);
            let done = if self.fine {
                t.steps = t.steps.saturating_add(1);
                crate::fine::step(&mut next.kernel, &mut t, thread as u8, op)
            } else {
                crate::exec::run_op(&mut next.kernel, &mut t, thread as u8, op);
                true
            };
            if next.kernel.take_oops() {
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
            next.threads[thread] = t;
        }
        if (0..self.threads.len()).all(|i| !self.enabled(&next, i)) {
            let stuck = next
                .threads
                .iter()
                .enumerate()
                .any(|(i, t)| t.killed.is_none() && (t.pc as usize) < self.threads[i].len());
            if stuck {
                // A thread waits on a lock no one will release (its holder oopsed).
                next.kernel.raise(mmlab_mm::Event::Hang, || {
                    "a thread waits forever for a reservation lock".into()
                });
            }
            next.kernel.check_leaks();
        }
        next
    }
}
