//! The litmus entry point: run parsed tests, each in one schedule, on one real kernel.

use anyhow::Result;
use mmlab_litmus as lit;
use serde::Serialize;

use crate::batch::{run_guest_tests, BootStats, GuestTest};
use crate::cache::Cache;
use crate::eval::{evaluate, ConditionOutcome};
use crate::kernel::OracleKernel;
use crate::outcome::{GuestOutcome, Status};
use crate::qemu::BootConfig;
use crate::schedule::Schedule;
use crate::translate::translate;

/// What a real kernel did with one litmus test in one schedule.
#[derive(Clone, Debug, Serialize)]
pub struct OracleOutcome {
    pub test: String,
    pub kernel: OracleKernel,
    /// `uname -r` of the booted kernel, e.g. `6.1.0-56-amd64`.
    pub kernel_release: String,
    pub schedule: Schedule,
    /// Ok / Hang / Crash / KernelCrash / Wedged / Unsupported(reason) / Error(reason).
    pub status: Status,
    /// Registers, events, object contents, page states (None when the test never ran).
    pub result: Option<GuestOutcome>,
    pub conditions: Vec<ConditionOutcome>,
}

/// Knobs for a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub boot: BootConfig,
    /// The guest's watchdog per operation: a call still running then is a `hang`.
    pub test_timeout_ms: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            boot: BootConfig::default(),
            test_timeout_ms: 400,
        }
    }
}

/// Outcomes plus how the boots went.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub outcomes: Vec<OracleOutcome>,
    pub boots: Vec<BootStats>,
}

/// Runs tests on `kernel` with default options and the cache from the environment.
pub fn run(tests: &[(lit::Test, Schedule)], kernel: OracleKernel) -> Result<Vec<OracleOutcome>> {
    Ok(run_with(&Cache::from_env()?, tests, kernel, &RunOptions::default())?.outcomes)
}

/// Runs tests on `kernel`: translates each, batches the runnable ones into as few boots as
/// possible, evaluates conditions on what each did.
pub fn run_with(
    cache: &Cache,
    tests: &[(lit::Test, Schedule)],
    kernel: OracleKernel,
    options: &RunOptions,
) -> Result<RunSummary> {
    let mut outcomes: Vec<OracleOutcome> = Vec::with_capacity(tests.len());
    let mut runnable: Vec<GuestTest> = Vec::new();
    let mut slots: Vec<usize> = Vec::new();
    for (i, (test, schedule)) in tests.iter().enumerate() {
        let status = match translate(test, schedule, kernel, options.test_timeout_ms) {
            Ok(g) => {
                runnable.push(g);
                slots.push(i);
                Status::Ok
            }
            Err(u) => Status::Unsupported(u.0),
        };
        outcomes.push(OracleOutcome {
            test: test.name.node.clone(),
            kernel,
            kernel_release: String::new(),
            schedule: schedule.clone(),
            status,
            result: None,
            conditions: Vec::new(),
        });
    }
    let mut boots = Vec::new();
    if !runnable.is_empty() {
        let report = run_guest_tests(cache, kernel, &runnable, &options.boot)?;
        boots = report.boots;
        for (guest, &i) in report.outcomes.into_iter().zip(&slots) {
            let out = &mut outcomes[i];
            out.kernel_release = report.kernel_release.clone();
            out.status = guest.status.clone();
            out.conditions = evaluate(&tests[i].0, &guest);
            out.result = Some(guest);
        }
    }
    Ok(RunSummary { outcomes, boots })
}
