//! Prints throughput and memory of the explorer on a family of toy models, 1 vs 2 workers, and
//! the ratio against stateright's breadth-first checker (1 thread) on the same models.
//!
//! `cargo run -p mmlab-explore --release --example bench [-- quick]`

#[path = "../benches/stateright_model.rs"]
mod stateright_model;

use mmlab_explore::toy::Program;
use mmlab_explore::{explore, Config, Exploration};
use std::time::{Duration, Instant};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        let took = start.elapsed();
        if best.as_ref().is_none_or(|(b, _)| took < *b) {
            best = Some((took, out));
        }
    }
    best.expect("at least one run")
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let runs = if quick { 1 } else { 3 };
    let family: Vec<(&str, Program)> = vec![
        ("counter 2x4", Program::counter(2, 4)),
        ("mixed 2x8", Program::mixed(2, 8, 2)),
        ("mixed 3x6", Program::mixed(3, 6, 3)),
        ("counter 3x4", Program::counter(3, 4)),
        ("mixed 3x8", Program::mixed(3, 8, 3)),
        ("mixed 4x6", Program::mixed(4, 6, 3)),
        ("counter 4x3", Program::counter(4, 3)),
    ];
    println!(
        "{:<12} {:>7} {:>10} {:>12} {:>12} {:>7} {:>8} {:>10} {:>8}",
        "model",
        "threads",
        "states",
        "distinct/s 1",
        "distinct/s 2",
        "speedup",
        "B/state",
        "stateright",
        "ratio"
    );
    for (name, program) in family {
        let explore_with = |workers| -> Exploration<_> {
            explore(&program, &Config::default().workers(workers)).expect("explorable")
        };
        let (t1, r1) = best_of(runs, || explore_with(1));
        let (t2, r2) = best_of(runs, || explore_with(2));
        let (ts, sr_states) = best_of(runs, || {
            stateright_model::stateright_unique_states(&program)
        });
        assert_eq!(r1.distinct_states, r2.distinct_states);
        assert_eq!(
            r1.distinct_states as usize, sr_states,
            "same state space as stateright"
        );
        let rate = |t: Duration| r1.distinct_states as f64 / t.as_secs_f64();
        println!(
            "{:<12} {:>7} {:>10} {:>12.0} {:>12.0} {:>6.2}x {:>8.1} {:>9.0}/s {:>7.2}x",
            name,
            program.ops().len(),
            r1.distinct_states,
            rate(t1),
            rate(t2),
            t1.as_secs_f64() / t2.as_secs_f64(),
            r1.bytes_per_state,
            rate(ts),
            ts.as_secs_f64() / t1.as_secs_f64(),
        );
    }
}
