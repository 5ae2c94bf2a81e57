//! Checks a litmus file: prints its errors (exit 2) or its canonical form (exit 0).
//!
//! `cargo run -p mmlab-litmus --example litmus_fmt -- FILE`

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: litmus_fmt FILE");
        return ExitCode::from(2);
    };
    let source = match std::fs::read_to_string(&path) {
        Ok(source) => source,
        Err(err) => {
            eprintln!("{path}: {err}");
            return ExitCode::from(2);
        }
    };
    match mmlab_litmus::parse_and_render(&path, &source) {
        Ok(test) => {
            print!("{}", mmlab_litmus::format(&test));
            ExitCode::SUCCESS
        }
        Err(report) => {
            eprint!("{report}");
            ExitCode::from(2)
        }
    }
}
