//! Explores one toy model, for profilers:
//! `profile [threads] [steps] [workers] [dfs] [por] [mixed] [x20]`.

use mmlab_explore::toy::Program;
use mmlab_explore::{explore, Config};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let program = if args.iter().any(|a| a == "mixed") {
        Program::mixed(arg(1, 4), arg(2, 3), 3)
    } else {
        Program::counter(arg(1, 4), arg(2, 3))
    };
    let repeat = if args.iter().any(|a| a == "x20") {
        20
    } else {
        1
    };
    for _ in 1..repeat {
        let _ = explore(&program, &Config::default().workers(arg(3, 1)));
    }
    let mut config = Config::default().workers(arg(3, 1));
    if args.iter().any(|a| a == "dfs") {
        config = config.depth_first();
    }
    if args.iter().any(|a| a == "por") {
        config = config.reduction(true);
    }
    match explore(&program, &config) {
        Ok(r) => println!("{r}"),
        Err(e) => eprintln!("{e}"),
    }
}
