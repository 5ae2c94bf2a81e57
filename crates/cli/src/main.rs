//! `mmlab`: run mm litmus tests on the model of Linux memory management, explain an
//! execution, list the kernel change points, format tests.

mod allocator;
mod bench;
mod commands;
mod diff;
mod render;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mmlab",
    version,
    about = "Model-check Linux driver mappings and GUP, release by release"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output format.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run litmus tests over every interleaving (or one schedule).
    Run(commands::RunArgs),
    /// Run one execution and show every kernel function and decision.
    Explain(commands::ExplainArgs),
    /// List the kernel change points the model knows.
    Kernels {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Measure exploration speed on the seed race and a family of growing scenarios.
    Bench {
        /// A short run (small scenarios, low limits).
        #[arg(long)]
        quick: bool,
        /// Only these scenarios: `seed`, or `THREADSxOPS` of the family (`4x8`); repeatable.
        /// One member alone is what a profiler wants.
        #[arg(long, value_parser = bench::parse_member)]
        member: Vec<bench::Member>,
    },
    /// Run tests on real Debian kernels under qemu (`mmlab oracle setup`, `mmlab oracle run
    /// KERNEL FILE...`); see docs/oracle.md.
    Oracle {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run tests on real kernels and on the model at the matching release, same schedule,
    /// and list every disagreement.
    Diff(commands::DiffArgs),
    /// Print tests in canonical form.
    Fmt {
        files: Vec<PathBuf>,
        /// Rewrite the files instead of printing.
        #[arg(long)]
        write: bool,
    },
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let code = match cli.command {
        Command::Run(args) => commands::run(args),
        Command::Explain(args) => commands::explain(args),
        Command::Kernels { format } => commands::kernels(format),
        Command::Fmt { files, write } => commands::fmt(&files, write),
        Command::Oracle { args } => match mmlab_oracle::cli::main(args) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("mmlab oracle: {e:#}");
                2
            }
        },
        Command::Diff(args) => commands::diff(args),
        Command::Bench { quick, member } => {
            print!("{}", bench::run(quick, &member));
            0
        }
    };
    ExitCode::from(code)
}
