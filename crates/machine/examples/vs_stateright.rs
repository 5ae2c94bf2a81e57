//! The same model — a litmus test on the mm model — explored by mmlab's explorer and by the
//! stateright crate's breadth-first checker, side by side in one run, one thread each. Only
//! this benchmark knows stateright.
//!
//! Two comparisons per scenario:
//! - **whole states**: stateright explores the machine through its generic `Model` interface
//!   (every transition clones the state and runs the model); mmlab explores it as `mmlab run`
//!   does, through the `Modular` interface (interned parts, remembered steps).
//! - **interned view**: both explore the same interned view (`mmlab_explore::modular::Interned`),
//!   so the model costs the same on both sides and the ratio compares the searches alone.
//!
//! `cargo run --release -p mmlab-machine --example vs_stateright [-- --fine]`

use mmlab_explore::modular::Interned;
use mmlab_explore::{explore, explore_modular, Config};
use mmlab_machine::{family, Machine};
use mmlab_mm::KernelConfig;
use stateright::{Checker, Model, Property};
use std::time::Instant;

/// The allocator `mmlab` itself uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A model of ours seen through stateright's `Model`: an action is a thread id.
struct Stateright<M>(M);

impl<M: mmlab_explore::Model + Send + Sync + 'static> Model for Stateright<M> {
    type State = M::State;
    type Action = usize;

    fn init_states(&self) -> Vec<M::State> {
        self.0.init_states()
    }

    fn actions(&self, state: &M::State, actions: &mut Vec<usize>) {
        actions.extend((0..self.0.threads()).filter(|&t| self.0.enabled(state, t)));
    }

    fn next_state(&self, state: &M::State, thread: usize) -> Option<M::State> {
        Some(self.0.step(state, thread))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        // stateright stops as soon as no property awaits a discovery.
        vec![Property::always("explored", |_, _| true)]
    }
}

fn machine(source: &str, fine: bool) -> Machine {
    let test = mmlab_litmus::parse(source).expect("family scenario parses");
    Machine::new(&test, KernelConfig::parse("5.11").expect("5.11"))
        .expect("setup")
        .with_fine(fine)
}

/// Best of three: (distinct states, seconds). Each run starts from empty part tables, as the
/// first search of a process does (parts stored by earlier runs would spare it work).
fn best_of_three(mut run: impl FnMut() -> u64) -> (u64, f64) {
    let mut best = (0, f64::MAX);
    for _ in 0..3 {
        mmlab_mm::shared::forget_stored_parts();
        let t = Instant::now();
        let n = run();
        best = (n, best.1.min(t.elapsed().as_secs_f64()));
    }
    best
}

fn stateright_count<M: mmlab_explore::Model + Send + Sync + 'static>(model: M) -> u64 {
    Stateright(model)
        .checker()
        .threads(1)
        .spawn_bfs()
        .join()
        .unique_state_count() as u64
}

fn main() {
    let fine = std::env::args().any(|a| a == "--fine");
    println!(
        "scenario     fine   states  mmlab/s   stateright/s  ratio  | interned view: mmlab/s  stateright/s  ratio"
    );
    for (threads, ops) in [(2, 8), (3, 4), (4, 3), (3, 8), (4, 6)] {
        // Stateright wants a 'static model; the machine lives to the end of the run anyway.
        let m: &'static Machine =
            Box::leak(Box::new(machine(&family::scenario(threads, ops), fine)));
        // Every run starts from empty tables, created and freed inside the timing.
        let ours = best_of_three(|| {
            explore_modular(m, &Config::default())
                .expect("explores")
                .exploration
                .distinct_states
        });
        let whole = best_of_three(|| stateright_count(m.clone()));
        let ours_view = best_of_three(|| {
            explore(&Interned::new(m), &Config::default())
                .expect("explores")
                .distinct_states
        });
        let theirs_view = best_of_three(|| stateright_count(Interned::new(m)));
        let rate = |(n, s): (u64, f64)| n as f64 / s;
        let same = [whole.0, ours_view.0, theirs_view.0]
            .iter()
            .all(|&n| n == ours.0);
        println!(
            "{threads} x {ops} ops    {:<5} {:>7} {:>9.0} {:>13.0} {:>6.2}x | {:>22.0} {:>13.0} {:>6.2}x{}",
            if fine { "yes" } else { "no" },
            ours.0,
            rate(ours),
            rate(whole),
            rate(ours) / rate(whole),
            rate(ours_view),
            rate(theirs_view),
            rate(ours_view) / rate(theirs_view),
            if same { "" } else { "  (state counts differ!)" }
        );
    }
}
