//! Shared helpers for the integration tests: a brute-force oracle and result normalisation.

use mmlab_explore::{Execution, Exploration, Model};
use std::collections::HashMap;

/// Terminal state → (executions, minimal witness), by enumerating every execution one by one.
/// Only for small acyclic models.
pub fn enumerate<M: Model>(model: &M) -> HashMap<M::State, (u128, Execution)> {
    fn go<M: Model>(
        model: &M,
        state: &M::State,
        exec: &mut Execution,
        out: &mut HashMap<M::State, (u128, Execution)>,
    ) {
        let mut any = false;
        for t in 0..model.threads() {
            if model.enabled(state, t) {
                any = true;
                let next = model.step(state, t);
                exec.threads.push(t);
                go(model, &next, exec, out);
                exec.threads.pop();
            }
        }
        if !any {
            let e = out
                .entry(state.clone())
                .or_insert_with(|| (0, exec.clone()));
            e.0 += 1;
            if exec.minimality_key() < e.1.minimality_key() {
                e.1 = exec.clone();
            }
        }
    }
    let mut out = HashMap::new();
    for (i, s) in model.init_states().iter().enumerate() {
        let mut exec = Execution {
            init: i,
            threads: vec![],
        };
        go(model, s, &mut exec, &mut out);
    }
    out
}

/// The outcome as a comparable value: (state, executions, witness) sorted.
pub fn summary<S: Clone + std::fmt::Debug>(e: &Exploration<S>) -> Vec<(String, u128, Execution)> {
    let mut v: Vec<_> = e
        .terminals
        .iter()
        .map(|t| (format!("{:?}", t.state), t.executions, t.witness.clone()))
        .collect();
    v.sort();
    v
}

/// Terminal states only (what partial-order reduction must preserve).
pub fn states<S: std::fmt::Debug>(e: &Exploration<S>) -> Vec<String> {
    let mut v: Vec<_> = e
        .terminals
        .iter()
        .map(|t| format!("{:?}", t.state))
        .collect();
    v.sort();
    v
}
