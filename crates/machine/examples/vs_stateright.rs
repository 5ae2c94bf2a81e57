//! The same model — a litmus test on the mm model — explored by mmlab's explorer and by the
//! stateright crate's breadth-first checker, side by side in one run. Only this benchmark
//! knows stateright.
//!
//! `cargo run --release -p mmlab-machine --example vs_stateright [-- --fine]`

use mmlab_explore::{explore, Config, Model as _};
use mmlab_machine::{family, Machine, State};
use mmlab_mm::KernelConfig;
use stateright::{Checker, Model, Property};
use std::time::Instant;

/// A machine seen through stateright's `Model`: an action is a thread id.
struct Stateright(Machine);

impl Model for Stateright {
    type State = State;
    type Action = usize;

    fn init_states(&self) -> Vec<State> {
        self.0.init_states()
    }

    fn actions(&self, state: &State, actions: &mut Vec<usize>) {
        actions.extend((0..self.0.threads()).filter(|&t| self.0.enabled(state, t)));
    }

    fn next_state(&self, state: &State, thread: usize) -> Option<State> {
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

fn main() {
    let fine = std::env::args().any(|a| a == "--fine");
    println!("scenario         fine  states   mmlab states/s  stateright states/s  ratio");
    for (threads, ops) in [(2, 4), (2, 8), (3, 3), (3, 4), (4, 2), (4, 3)] {
        let m = machine(&family::scenario(threads, ops), fine);
        let mut ours = (0u64, f64::MAX);
        let mut theirs = (0usize, f64::MAX);
        for _ in 0..3 {
            let t = Instant::now();
            let x = explore(&m, &Config::default()).expect("explores");
            ours = (x.distinct_states, ours.1.min(t.elapsed().as_secs_f64()));
            let t = Instant::now();
            let n = Stateright(m.clone())
                .checker()
                .threads(1)
                .spawn_bfs()
                .join()
                .unique_state_count();
            theirs = (n, theirs.1.min(t.elapsed().as_secs_f64()));
        }
        let a = ours.0 as f64 / ours.1;
        let b = theirs.0 as f64 / theirs.1;
        println!(
            "{threads} x {ops} ops      {:<5} {:>7}  {:>14.0}  {:>19.0}  {:>5.2}x{}",
            if fine { "yes" } else { "no" },
            ours.0,
            a,
            b,
            a / b,
            if ours.0 as usize == theirs.0 {
                ""
            } else {
                "  (state counts differ!)"
            }
        );
    }
}
