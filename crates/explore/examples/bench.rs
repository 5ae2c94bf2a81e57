//! Prints throughput and memory of the explorer on a family of toy models (2–4 threads, 2–8
//! steps each), 1 vs 2 workers, and the ratio against stateright's breadth-first checker
//! (1 thread) on the same models, all in the same run.
//!
//! `cargo run -p mmlab-explore --release --example bench [-- quick]`
//!
//! Each figure is the best of several runs, interleaved between the two checkers so that both
//! see the same machine load.

#[path = "../benches/stateright_model.rs"]
mod stateright_model;

use mmlab_explore::toy::Program;
use mmlab_explore::{explore, Config};
use std::time::{Duration, Instant};

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let runs = if quick { 1 } else { 5 };
    let family: Vec<(&str, Program)> = vec![
        ("counter 2x8", Program::counter(2, 4)),
        ("counter 3x4", Program::counter(3, 2)),
        ("mixed 4x4", Program::mixed(4, 4, 3)),
        ("mixed 3x8", Program::mixed(3, 8, 3)),
        ("counter 3x6", Program::counter(3, 3)),
        ("counter 4x4", Program::counter(4, 2)),
        ("mixed 4x6", Program::mixed(4, 6, 3)),
        ("counter 3x8", Program::counter(3, 4)),
        ("mixed 4x8", Program::mixed(4, 8, 3)),
        ("counter 4x6", Program::counter(4, 3)),
    ];
    println!(
        "{:<12} {:>7} {:>9} {:>13} {:>13} {:>7} {:>7} {:>13} {:>7}",
        "model",
        "threads",
        "states",
        "distinct/s 1",
        "distinct/s 2",
        "speedup",
        "B/state",
        "stateright/s",
        "ratio"
    );
    for (name, program) in family {
        let (mut one, mut two, mut theirs) = (Duration::MAX, Duration::MAX, Duration::MAX);
        let mut result = None;
        for _ in 0..runs {
            let (t, r) = timed(|| explore(&program, &Config::default()).expect("explorable"));
            one = one.min(t);
            let (t, r2) =
                timed(|| explore(&program, &Config::default().workers(2)).expect("explorable"));
            two = two.min(t);
            let (t, sr) = timed(|| stateright_model::stateright_unique_states(&program));
            theirs = theirs.min(t);
            assert_eq!(r.distinct_states, r2.distinct_states);
            assert_eq!(
                r.distinct_states as usize, sr,
                "same state space as stateright"
            );
            result = Some(r);
        }
        let Some(r) = result else { continue };
        let rate = |t: Duration| r.distinct_states as f64 / t.as_secs_f64();
        println!(
            "{:<12} {:>7} {:>9} {:>13.0} {:>13.0} {:>6.2}x {:>7.1} {:>13.0} {:>6.2}x",
            name,
            program.ops().len(),
            r.distinct_states,
            rate(one),
            rate(two),
            one.as_secs_f64() / two.as_secs_f64(),
            r.bytes_per_state,
            rate(theirs),
            theirs.as_secs_f64() / one.as_secs_f64(),
        );
    }
}
