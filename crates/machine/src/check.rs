//! Running a test over every interleaving and judging its conditions: the distinct final
//! states with their execution counts, and for each condition its verdict with the minimal
//! execution that shows it (fewest steps, then fewest context switches).

use crate::build::Machine;
use crate::conditions::{evaluate, Verdict};
use crate::state::State;
use mmlab_explore::{explore_modular, Config, Exploration, ModularStats};
use mmlab_litmus as ast;
use mmlab_mm::Event;
use serde::Serialize;
use std::collections::hash_map::{Entry, HashMap};

/// One distinct final outcome: the registers and events (kernel states that agree on them
/// are merged, as herd7 shows final register values).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FinalState {
    /// `P0:r0=512`, … for every register set, and `P1:SIGBUS` for killed threads.
    pub registers: Vec<String>,
    pub events: Vec<&'static str>,
    pub executions: u128,
}

/// The verdict on one condition.
#[derive(Clone, Debug, Serialize)]
pub struct ConditionResult {
    pub text: String,
    pub verdict: Verdict,
    /// For a satisfied `exists`, or a failed `forbid`/`forall`: the minimal execution.
    pub witness: Option<Vec<usize>>,
}

/// Everything a run found.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub finals: Vec<FinalState>,
    pub conditions: Vec<ConditionResult>,
    pub complete: bool,
    pub distinct_states: u64,
    pub transitions: u64,
    pub max_depth: usize,
    pub elapsed_ms: f64,
    pub states_per_sec: f64,
    pub bytes_per_state: f64,
    pub collision_probability: f64,
    /// What the explorer's interned tables stored and how many steps it ran (benchmarks
    /// read it; with several workers it varies from run to run, so it is not output).
    #[serde(skip)]
    pub model_cache: ModularStats,
}

impl CheckResult {
    /// Each condition's verdict, in the file's order.
    pub fn verdicts(&self) -> Vec<Verdict> {
        self.conditions.iter().map(|c| c.verdict).collect()
    }
}

/// The registers and events of a final state, as shown to users.
pub fn summarize(s: &State) -> (Vec<String>, Vec<&'static str>) {
    let mut regs = Vec::new();
    for (i, t) in s.threads.iter().enumerate() {
        for (r, v) in t.regs.iter().enumerate() {
            if let Some(v) = v {
                regs.push(format!("P{i}:r{r}={v}"));
            }
        }
        if let Some(sig) = t.killed {
            regs.push(format!("P{i}:{sig}"));
        }
    }
    let events = s.kernel.events.events().map(Event::name).collect();
    (regs, events)
}

fn quantifier(q: ast::Quantifier) -> &'static str {
    match q {
        ast::Quantifier::Exists => "exists",
        ast::Quantifier::Forbid => "forbid",
        ast::Quantifier::Forall => "forall",
    }
}

/// Judges the conditions over an exploration's terminal states.
pub fn judge(m: &Machine, x: &Exploration<State>) -> Vec<ConditionResult> {
    m.test
        .conditions
        .iter()
        .map(|c| {
            let text = format!("{} {}", quantifier(c.quantifier), ast::format_expr(&c.expr));
            let (verdict, witness) = match c.quantifier {
                ast::Quantifier::Exists => match x.minimal_terminal(|s| evaluate(m, s, &c.expr)) {
                    Some(t) => (Verdict::Ok, Some(t.witness.threads.clone())),
                    None => (Verdict::No, None),
                },
                ast::Quantifier::Forbid => match x.minimal_terminal(|s| evaluate(m, s, &c.expr)) {
                    Some(t) => (Verdict::No, Some(t.witness.threads.clone())),
                    None => (Verdict::Ok, None),
                },
                ast::Quantifier::Forall => match x.minimal_terminal(|s| !evaluate(m, s, &c.expr)) {
                    Some(t) => (Verdict::No, Some(t.witness.threads.clone())),
                    None => (Verdict::Ok, None),
                },
            };
            ConditionResult {
                text,
                verdict,
                witness,
            }
        })
        .collect()
}

/// Explores every interleaving and judges the test.
pub fn check(m: &Machine, config: &Config) -> Result<CheckResult, String> {
    let run = explore_modular(m, config).map_err(|e| e.to_string())?;
    let x = run
        .exploration
        .map_states(|(kernel, threads)| State { kernel, threads });
    // Terminal states that show the same registers, signals and events are one final state,
    // formatted once (a search may end in many states that differ only inside the kernel).
    let mut finals: Vec<FinalState> = Vec::new();
    let mut final_of: HashMap<_, usize> = HashMap::new();
    for t in &x.terminals {
        let regs: Vec<_> = t.state.threads.iter().map(|t| (t.regs, t.killed)).collect();
        let i = match final_of.entry((regs, t.state.kernel.events)) {
            Entry::Occupied(known) => *known.get(),
            Entry::Vacant(slot) => {
                let (registers, events) = summarize(&t.state);
                let same = finals
                    .iter()
                    .position(|f| f.registers == registers && f.events == events);
                *slot.insert(same.unwrap_or_else(|| {
                    finals.push(FinalState {
                        registers,
                        events,
                        executions: 0,
                    });
                    finals.len() - 1
                }))
            }
        };
        if let Some(f) = finals.get_mut(i) {
            f.executions = f.executions.saturating_add(t.executions);
        }
    }
    finals.sort_by(|a, b| (&a.registers, &a.events).cmp(&(&b.registers, &b.events)));
    Ok(CheckResult {
        conditions: judge(m, &x),
        finals,
        complete: x.complete,
        distinct_states: x.distinct_states,
        transitions: x.transitions,
        max_depth: x.max_depth,
        elapsed_ms: x.elapsed.as_secs_f64() * 1000.0,
        states_per_sec: x.states_per_sec,
        bytes_per_state: x.bytes_per_state,
        collision_probability: x.collision_probability,
        model_cache: run.stats,
    })
}
