//! Criterion benches: distinct states per second on a family of toy models (2–4 threads,
//! 2–8 steps each), 1 vs 2 workers, side by side with stateright's breadth-first checker on
//! the same model; prints bytes per state and the ratio against stateright.
//!
//! `cargo bench -p mmlab-explore --bench explore` (add `-- --quick` for a short run).

mod stateright_model;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mmlab_explore::toy::Program;
use mmlab_explore::{explore, Config};
use std::time::{Duration, Instant};

fn family() -> Vec<(&'static str, Program)> {
    vec![
        ("counter-2x8", Program::counter(2, 4)),
        ("mixed-3x6", Program::mixed(3, 6, 3)),
        ("counter-3x8", Program::counter(3, 4)),
        ("mixed-4x6", Program::mixed(4, 6, 3)),
        ("counter-4x6", Program::counter(4, 3)),
    ]
}

fn bench_family(c: &mut Criterion) {
    for (name, program) in family() {
        let reference = explore(&program, &Config::default()).expect("explorable");
        let states = reference.distinct_states;
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_millis(500));
        group.throughput(Throughput::Elements(states));
        for workers in [1, 2] {
            group.bench_with_input(BenchmarkId::new("mmlab", workers), &workers, |b, &w| {
                b.iter(|| explore(&program, &Config::default().workers(w)).expect("explorable"))
            });
        }
        group.bench_function(BenchmarkId::new("stateright", 1), |b| {
            b.iter(|| stateright_model::stateright_unique_states(&program))
        });
        group.finish();

        // Side by side in the same run, for the ratio criterion does not print.
        let time = |f: &dyn Fn()| {
            (0..3)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed()
                })
                .min()
                .unwrap_or_default()
        };
        let ours = time(&|| {
            explore(&program, &Config::default()).expect("explorable");
        });
        let theirs = time(&|| {
            stateright_model::stateright_unique_states(&program);
        });
        println!(
            "{name}: {states} states, {:.1} bytes/state, mmlab {:.0} states/s, stateright {:.0} \
             states/s, ratio {:.2}x",
            reference.bytes_per_state,
            states as f64 / ours.as_secs_f64(),
            states as f64 / theirs.as_secs_f64(),
            theirs.as_secs_f64() / ours.as_secs_f64(),
        );
    }
}

criterion_group!(benches, bench_family);
criterion_main!(benches);
