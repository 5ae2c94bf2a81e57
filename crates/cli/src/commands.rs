//! The subcommands: load files, set up machines, call the explorer, hand results to the
//! renderers. Exit status: 0 every condition holds, 1 some does not, 2 bad input.

use crate::render;
use crate::Format;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mmlab_explore::Config;
use mmlab_litmus as litmus;
use mmlab_machine::check::check;
use mmlab_machine::{replay, Machine, Verdict};
use mmlab_mm::KernelConfig;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args)]
pub struct RunArgs {
    files: Vec<PathBuf>,
    /// Kernel release (`6.1`, `debian-6.12`), or `all` for one run per change point.
    #[arg(long)]
    kernel: Option<String>,
    /// One execution: thread ids in order, e.g. `P0,P1,P0`.
    #[arg(long)]
    schedule: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Depth-first search instead of breadth-first.
    #[arg(long)]
    dfs: bool,
    /// Worker threads (1 or more).
    #[arg(long, default_value_t = 1, value_parser = parse_workers)]
    workers: usize,
    /// Partial-order reduction (sleep sets).
    #[arg(long)]
    por: bool,
    /// Stop after this many distinct states (the result is then incomplete).
    #[arg(long)]
    max_states: Option<u64>,
    /// Stop after this many seconds (the result is then incomplete).
    #[arg(long, value_parser = parse_seconds)]
    timeout: Option<Duration>,
    /// Also interleave inside operations where the kernel races (gup-fast walk steps, zap,
    /// TLB flush, free).
    #[arg(long)]
    fine: bool,
    /// Run a deliberately broken kernel, to see what its synchronization prevents:
    /// `skip-recheck` (gup-fast keeps pages whose entry changed) or `skip-flush-wait`
    /// (TLB flushes and page-table frees do not wait for gup-fast walkers).
    #[arg(long, value_enum)]
    inject_bug: Vec<InjectedBug>,
}

/// A synchronization the model can drop for testing.
#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum InjectedBug {
    SkipRecheck,
    SkipFlushWait,
}

fn inject(mut cfg: KernelConfig, bugs: &[InjectedBug]) -> KernelConfig {
    for b in bugs {
        match b {
            InjectedBug::SkipRecheck => cfg.injected.skip_gup_fast_recheck = true,
            InjectedBug::SkipFlushWait => cfg.injected.skip_tlb_flush_wait = true,
        }
    }
    cfg
}

#[derive(Args)]
pub struct ExplainArgs {
    file: PathBuf,
    #[arg(long)]
    kernel: Option<String>,
    /// The schedule to explain (default: each thread in turn, to completion).
    #[arg(long)]
    schedule: Option<String>,
    /// Steps inside operations, as `mmlab run --fine`.
    #[arg(long)]
    fine: bool,
    #[arg(long, value_enum)]
    inject_bug: Vec<InjectedBug>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// A loaded test, or the exit status 2 after printing why not.
fn load(path: &Path) -> Result<litmus::Test, u8> {
    let name = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("{name}: cannot read: {e}");
        2u8
    })?;
    litmus::parse_and_render(&name, &source).map_err(|diagnostics| {
        eprint!("{diagnostics}");
        2u8
    })
}

/// The schedule a file names in a `# oracle-schedule:` comment, as `mmlab oracle run` reads
/// it.
fn file_schedule(path: &Path) -> Option<Result<mmlab_oracle::Schedule, String>> {
    let source = std::fs::read_to_string(path).ok()?;
    let words = mmlab_oracle::cli::schedule_comment(&source)?;
    Some(mmlab_oracle::Schedule::parse(words).map_err(|e| e.to_string()))
}

/// The kernels to run at: `--kernel`, else the file's `kernel` line, else the newest.
fn kernels_for(test: &litmus::Test, flag: Option<&str>) -> Result<Vec<KernelConfig>, String> {
    match flag {
        Some("all") => Ok(KernelConfig::each_change_point()),
        Some(k) => KernelConfig::parse(k).map(|k| vec![k]),
        None => match &test.kernel {
            Some(k) => KernelConfig::parse(&k.node.raw).map(|k| vec![k]),
            None => Ok(vec![KernelConfig::mainline(mmlab_mm::Release::NEWEST)]),
        },
    }
}

/// Parses `P0,P1,P0` (or `0,1,0`).
pub fn parse_schedule(text: &str, threads: usize) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|t| {
            let t = t.trim();
            let n = t.strip_prefix('P').unwrap_or(t);
            match n.parse::<usize>() {
                Ok(i) if i < threads => Ok(i),
                _ => Err(format!(
                    "bad schedule entry `{t}`: expected P0..P{}",
                    threads.saturating_sub(1)
                )),
            }
        })
        .collect()
}

fn progress_config(mut config: Config) -> (Config, Option<ProgressBar>) {
    if !std::io::stderr().is_terminal() {
        return (config, None);
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let b = bar.clone();
    config = config.on_progress(move |p| {
        b.set_message(format!(
            "{} states, depth {}, {:.1}s",
            p.distinct_states,
            p.depth,
            p.elapsed.as_secs_f64()
        ));
        b.tick();
    });
    (config, Some(bar))
}

pub fn run(args: RunArgs) -> u8 {
    if args.files.is_empty() {
        eprintln!("mmlab run: no test files given");
        return 2;
    }
    let mut status = 0u8;
    let mut reports = Vec::new();
    for path in &args.files {
        let test = match load(path) {
            Ok(t) => t,
            Err(code) => return code,
        };
        let configs = match kernels_for(&test, args.kernel.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return 2;
            }
        };
        let schedule = match &args.schedule {
            Some(s) => match parse_schedule(s, test.threads.len()) {
                Ok(s) => Some(s),
                Err(e) => {
                    eprintln!("--schedule: {e}");
                    return 2;
                }
            },
            None => None,
        };
        let mut runs = Vec::new();
        let mut setup_failures = Vec::new();
        let several = configs.len() > 1;
        for cfg in configs {
            let cfg = inject(cfg, &args.inject_bug);
            let machine = match Machine::new(&test, cfg) {
                Ok(m) => m.with_fine(args.fine),
                // Across kernels, a step the kernel refuses at some releases is part of the
                // answer; at one kernel (or at every one) the test cannot run.
                Err(e) if several && e.failed_mmap.is_some() => {
                    setup_failures.push(render::SetupFailure {
                        cfg,
                        error: e.to_string(),
                    });
                    continue;
                }
                Err(e) => {
                    eprintln!("{}: setup at {cfg}: {e}", path.display());
                    return 2;
                }
            };
            let result = match &schedule {
                Some(s) => render::single_run(&machine, s),
                None => {
                    let mut config = Config::default().workers(args.workers).reduction(args.por);
                    if args.dfs {
                        config = config.depth_first();
                    }
                    if let Some(n) = args.max_states {
                        config = config.max_states(n);
                    }
                    if let Some(t) = args.timeout {
                        config = config.timeout(t);
                    }
                    let (config, bar) = progress_config(config);
                    let r = check(&machine, &config);
                    if let Some(b) = bar {
                        b.finish_and_clear();
                    }
                    match r {
                        Ok(r) => r,
                        Err(e) => {
                            eprintln!("{}: {e}", path.display());
                            return 2;
                        }
                    }
                }
            };
            if result.conditions.iter().any(|c| c.verdict == Verdict::No) {
                status = 1;
            }
            runs.push(render::Run { machine, result });
        }
        if runs.is_empty() {
            if let Some(f) = setup_failures.first() {
                eprintln!(
                    "{}: setup fails at every kernel; at {}: {}",
                    path.display(),
                    f.cfg,
                    f.error
                );
            }
            return 2;
        }
        reports.push(render::FileReport {
            path: path.display().to_string(),
            runs,
            setup_failures,
        });
    }
    let all = args.kernel.as_deref() == Some("all");
    match args.format {
        Format::Text => print!("{}", render::text::report(&reports, all)),
        Format::Json => println!("{}", render::json::report(&reports)),
    }
    status
}

pub fn explain(args: ExplainArgs) -> u8 {
    let test = match load(&args.file) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let cfg = match kernels_for(&test, args.kernel.as_deref()) {
        Ok(c) if c.len() == 1 => c[0],
        Ok(_) => {
            eprintln!("mmlab explain: choose one kernel");
            return 2;
        }
        Err(e) => {
            eprintln!("{}: {e}", args.file.display());
            return 2;
        }
    };
    let cfg = inject(cfg, &args.inject_bug);
    let machine = match Machine::new(&test, cfg) {
        Ok(m) => m.with_fine(args.fine),
        Err(e) => {
            eprintln!("{}: setup: {e}", args.file.display());
            return 2;
        }
    };
    let schedule = match &args.schedule {
        Some(s) => match parse_schedule(s, test.threads.len()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("--schedule: {e}");
                return 2;
            }
        },
        None => render::sequential_schedule(&machine),
    };
    let (steps, state) = replay(&machine, &schedule);
    match args.format {
        Format::Text => print!("{}", render::text::explain(&machine, &steps, &state)),
        Format::Json => println!("{}", render::json::explain(&machine, &steps, &state)),
    }
    0
}

pub fn kernels(format: Format) -> u8 {
    match format {
        Format::Text => print!("{}", render::text::kernels()),
        Format::Json => println!("{}", render::json::kernels()),
    }
    0
}

pub fn fmt(files: &[PathBuf], write: bool) -> u8 {
    for path in files {
        let test = match load(path) {
            Ok(t) => t,
            Err(code) => return code,
        };
        let text = litmus::format(&test);
        if write {
            if let Err(e) = std::fs::write(path, &text) {
                eprintln!("{}: cannot write: {e}", path.display());
                return 2;
            }
        } else {
            print!("{text}");
        }
    }
    0
}

#[derive(Args)]
pub struct DiffArgs {
    files: Vec<PathBuf>,
    /// Real kernels: `5.10`, `6.1`, `6.12` (or `debian-` names), or `all`.
    #[arg(long, default_value = "all")]
    kernel: String,
    /// One schedule for every file (default: the file's `# oracle-schedule:` comment, else each thread in turn).
    #[arg(long)]
    schedule: Option<String>,
    /// A known-differences file: `FILE KERNEL KEY: reason` per line.
    #[arg(long)]
    known: Option<PathBuf>,
}

fn oracle_kernels(text: &str) -> Result<Vec<mmlab_oracle::OracleKernel>, String> {
    if text == "all" {
        return Ok(mmlab_oracle::OracleKernel::ALL.to_vec());
    }
    text.split(',')
        .map(|k| {
            let k = k.trim().trim_start_matches("debian-");
            let (a, b) = k
                .split_once('.')
                .ok_or_else(|| format!("bad kernel `{k}`"))?;
            let (a, b) = (
                a.parse().map_err(|_| format!("bad kernel `{k}`"))?,
                b.parse().map_err(|_| format!("bad kernel `{k}`"))?,
            );
            mmlab_oracle::OracleKernel::from_version(a, b)
                .ok_or_else(|| format!("no oracle kernel `{k}` (have 5.10, 6.1, 6.12)"))
        })
        .collect()
}

pub fn diff(args: DiffArgs) -> u8 {
    let kernels = match oracle_kernels(&args.kernel) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("--kernel: {e}");
            return 2;
        }
    };
    let known = match &args.known {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| crate::diff::Known::parse(&t))
        {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return 2;
            }
        },
        None => None,
    };
    let mut tests = Vec::new();
    for path in &args.files {
        let test = match load(path) {
            Ok(t) => t,
            Err(code) => return code,
        };
        let schedule = match &args.schedule {
            Some(s) => match mmlab_oracle::Schedule::parse(s) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("--schedule: {e}");
                    return 2;
                }
            },
            None => match file_schedule(path) {
                Some(Ok(s)) => s,
                Some(Err(e)) => {
                    eprintln!("{}: oracle-schedule: {e}", path.display());
                    return 2;
                }
                None => mmlab_oracle::Schedule::sequential(&test),
            },
        };
        tests.push((path.display().to_string(), test, schedule));
    }
    let mut comparisons = Vec::new();
    for kernel in &kernels {
        let batch: Vec<_> = tests
            .iter()
            .map(|(_, t, s)| (t.clone(), s.clone()))
            .collect();
        let started = std::time::Instant::now();
        let outcomes = match mmlab_oracle::run(&batch, *kernel) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("mmlab diff: kernel {}: {e:#}", kernel.name());
                return 2;
            }
        };
        eprintln!(
            "mmlab diff: {} tests on {} in {:.1} s",
            batch.len(),
            kernel.name(),
            started.elapsed().as_secs_f64()
        );
        for ((file, test, schedule), outcome) in tests.iter().zip(&outcomes) {
            // An oracle error on one test is a disagreement to report, not a reason to drop
            // the rest of the run.
            let comparison =
                crate::diff::compare(file, test, schedule, outcome).unwrap_or_else(|e| {
                    crate::diff::Comparison {
                        file: file.clone(),
                        kernel: *kernel,
                        skipped: None,
                        differences: vec![crate::diff::Difference {
                            key: "error".into(),
                            detail: e,
                            understood: None,
                        }],
                    }
                });
            comparisons.push(comparison);
        }
    }
    let (text, unexplained) = crate::diff::report(&comparisons, known.as_ref(), &kernels);
    print!("{text}");
    u8::from(unexplained)
}

/// `--workers`: a thread count of at least one.
fn parse_workers(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("expected 1 or more worker threads".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("expected a thread count: {e}")),
    }
}

/// `--timeout`: seconds, a finite number from 0 up (fractions allowed).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|e| format!("expected seconds, such as 30 or 0.5: {e}"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("expected a finite number of seconds from 0 up, not {text}"))
}

#[cfg(test)]
mod argument_tests {
    use super::*;

    #[test]
    fn timeouts_are_finite_seconds_from_zero_up() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        for bad in ["-1", "nan", "inf", "1e308", "soon", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn workers_are_one_or_more() {
        assert_eq!(parse_workers("2"), Ok(2));
        for bad in ["0", "-1", "two"] {
            assert!(parse_workers(bad).is_err(), "{bad}");
        }
    }
}
