//! Prints one scenario of the benchmark family as a litmus file, so that a single member can
//! be run, profiled or counted on its own:
//! `cargo run -q --release -p mmlab-machine --example family -- 4 6 > f4x6.litmus`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or(0))
        .collect();
    match args[..] {
        [threads, ops] if (1..=8).contains(&threads) && ops > 0 => {
            print!("{}", mmlab_machine::family::scenario(threads, ops));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: family THREADS OPS   (1-8 threads, 1 or more operations each)");
            ExitCode::from(2)
        }
    }
}
