//! Output formats, kept apart from the model and the explorer: text like herd7's, and a
//! versioned JSON document.

mod fold;
pub mod json;
pub mod text;

use mmlab_explore::Model;
use mmlab_machine::check::{summarize, CheckResult, ConditionResult, FinalState};
use mmlab_machine::{evaluate, replay, Machine, Verdict};

/// One test run at one kernel.
pub struct Run {
    pub machine: Machine,
    pub result: CheckResult,
}

/// Every run of one file.
pub struct FileReport {
    pub path: String,
    pub runs: Vec<Run>,
    /// Kernels at which a setup step failed with an errno (`--kernel all` only), in order.
    pub setup_failures: Vec<SetupFailure>,
}

/// A kernel at which the test could not be set up: a TTM object refuses a private mapping
/// from 5.14, for instance.
pub struct SetupFailure {
    pub cfg: mmlab_mm::KernelConfig,
    pub error: String,
}

/// Each thread in turn, to completion: the default schedule of `explain`.
pub fn sequential_schedule(m: &Machine) -> Vec<usize> {
    (0..m.threads())
        .flat_map(|t| std::iter::repeat_n(t, m.threads[t].len()))
        .collect()
}

/// The result of one given schedule, in the shape of a full run.
pub fn single_run(m: &Machine, schedule: &[usize]) -> CheckResult {
    let (_, state) = replay(m, schedule);
    let (registers, events) = summarize(&state);
    let conditions = m
        .test
        .conditions
        .iter()
        .map(|c| {
            let holds = evaluate(m, &state, &c.expr);
            let verdict = match (c.quantifier, holds) {
                (mmlab_litmus::Quantifier::Exists, true)
                | (mmlab_litmus::Quantifier::Forall, true)
                | (mmlab_litmus::Quantifier::Forbid, false) => Verdict::Ok,
                _ => Verdict::No,
            };
            let shows = matches!(
                (c.quantifier, holds),
                (mmlab_litmus::Quantifier::Exists, true)
                    | (mmlab_litmus::Quantifier::Forbid, true)
                    | (mmlab_litmus::Quantifier::Forall, false)
            );
            ConditionResult {
                text: format!(
                    "{} {}",
                    c.quantifier.keyword(),
                    mmlab_litmus::format_expr(&c.expr)
                ),
                verdict,
                witness: shows.then(|| schedule.to_vec()),
            }
        })
        .collect();
    CheckResult {
        finals: vec![FinalState {
            registers,
            events,
            executions: 1,
        }],
        conditions,
        complete: true,
        distinct_states: schedule.len() as u64 + 1,
        transitions: schedule.len() as u64,
        max_depth: schedule.len(),
        elapsed_ms: 0.0,
        states_per_sec: 0.0,
        bytes_per_state: 0.0,
        collision_probability: 0.0,
        model_cache: Default::default(),
    }
}
