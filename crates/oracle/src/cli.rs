//! Argument handling for the `mmlab-oracle` binary.

use anyhow::{bail, Context, Result};

use crate::batch::{run_guest_tests, split_script};
use crate::{setup, BootConfig, Cache, OracleKernel, SetupOptions};

const USAGE: &str = "usage:
  mmlab-oracle setup [KERNEL...|all]
  mmlab-oracle run KERNEL|all FILE.litmus... [--schedule 'P0 P1 ...'] [--json]
                   [--test-timeout MS] [--accel tcg|kvm]
  mmlab-oracle run-script KERNEL|all FILE [--json]   (FILE in the guest script format)";

/// Runs the oracle's own command line.
pub fn main(args: Vec<String>) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        bail!("{USAGE}");
    };
    match command.as_str() {
        "setup" => {
            let kernels = parse_kernels(rest)?;
            let cache = Cache::from_env()?;
            let installs = setup(
                &cache,
                &SetupOptions {
                    kernels,
                    install_qemu: true,
                },
                &mut |m| eprintln!("{m}"),
            )?;
            for i in installs {
                println!("{} {} {}", i.kernel, i.abi, i.version);
            }
            Ok(())
        }
        "run" => run_litmus(rest),
        "run-script" => {
            let json = rest.iter().any(|a| a == "--json");
            let pos: Vec<&String> = rest.iter().filter(|a| !a.starts_with("--")).collect();
            let [kernel, file] = pos.as_slice() else {
                bail!("{USAGE}")
            };
            let kernels = parse_kernels(std::slice::from_ref(kernel))?;
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
            let tests = split_script(&text);
            let cache = Cache::from_env()?;
            for k in kernels {
                let report = run_guest_tests(&cache, k, &tests, &BootConfig::default())?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print_report(&report);
                }
            }
            Ok(())
        }
        other => bail!("unknown command `{other}`\n{USAGE}"),
    }
}

fn print_report(r: &crate::RunReport) {
    println!("== kernel {} ({})", r.kernel, r.kernel_release);
    print_boots(&r.boots);
    for o in &r.outcomes {
        let regs: Vec<String> = o
            .registers
            .iter()
            .map(|(k, v)| match v {
                crate::RegValue::Number(n) => format!("{k}={n}"),
                crate::RegValue::Signal(s) => format!("{k}={s}"),
            })
            .collect();
        let events: Vec<String> = o
            .events
            .iter()
            .map(|e| format!("{} {}", e.name, e.detail))
            .collect();
        println!(
            "{:>3} {:<40} {:?} [{}] {{{}}}",
            o.index,
            o.name,
            o.status,
            regs.join(" "),
            events.join("; ")
        );
        for (obj, vals) in &o.values {
            if !vals.is_empty() {
                println!("      {obj}: {vals:?}");
            }
        }
        for p in &o.pages {
            let s: Vec<String> = p.state.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("      page {}[{}] {}", p.owner, p.index, s.join(" "));
        }
        for n in &o.notes {
            println!("      note {n}");
        }
    }
}

fn parse_kernels(args: &[String]) -> Result<Vec<OracleKernel>> {
    if args.is_empty() || args.iter().any(|a| a == "all") {
        return Ok(OracleKernel::ALL.to_vec());
    }
    args.iter().map(|a| a.parse()).collect()
}

/// The schedule a litmus file asks for in a `# oracle-schedule: P0 P1 ...` comment.
pub fn schedule_comment(source: &str) -> Option<&str> {
    source
        .lines()
        .find_map(|l| l.trim().strip_prefix("# oracle-schedule:"))
        .map(str::trim)
}

fn run_litmus(args: &[String]) -> Result<()> {
    let mut json = false;
    let mut options = crate::RunOptions::default();
    let mut schedule_arg: Option<String> = None;
    let mut pos = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--schedule" => {
                schedule_arg = Some(it.next().context("--schedule needs a value")?.clone())
            }
            "--test-timeout" => {
                let v = it.next().context("--test-timeout needs milliseconds")?;
                options.test_timeout_ms = v
                    .parse()
                    .with_context(|| format!("bad --test-timeout `{v}`"))?;
            }
            "--accel" => {
                options.boot.accel = it.next().context("--accel needs tcg or kvm")?.clone()
            }
            _ => pos.push(a.clone()),
        }
    }
    let Some((kernel, files)) = pos.split_first() else {
        bail!("{USAGE}")
    };
    if files.is_empty() {
        bail!("{USAGE}");
    }
    let kernels = parse_kernels(std::slice::from_ref(kernel))?;
    let mut tests = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
        let test = match mmlab_litmus::parse_and_render(file, &source) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("skipping {file}: it does not parse:\n{e}");
                continue;
            }
        };
        let schedule = match schedule_arg.as_deref().or(schedule_comment(&source)) {
            Some(s) => crate::Schedule::parse(s).with_context(|| format!("schedule for {file}"))?,
            None => crate::Schedule::sequential(&test),
        };
        tests.push((test, schedule));
    }
    let cache = Cache::from_env()?;
    for k in kernels {
        let started = std::time::Instant::now();
        let summary = crate::run_with(&cache, &tests, k, &options)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
            continue;
        }
        let release = summary
            .outcomes
            .iter()
            .map(|o| o.kernel_release.as_str())
            .find(|r| !r.is_empty())
            .unwrap_or("");
        println!(
            "== kernel {k} ({release}): {:.1}s",
            started.elapsed().as_secs_f64()
        );
        print_boots(&summary.boots);
        for o in &summary.outcomes {
            let ms = o
                .result
                .as_ref()
                .map(|r| r.elapsed_us as f64 / 1000.0)
                .unwrap_or(0.0);
            println!(
                "-- {} [{}]: {:?} ({ms:.0} ms)",
                o.test, o.schedule, o.status
            );
            if let Some(r) = &o.result {
                let regs: Vec<String> = r
                    .registers
                    .iter()
                    .map(|(k, v)| match v {
                        crate::RegValue::Number(n) => format!("{k}={n}"),
                        crate::RegValue::Signal(s) => format!("{k}={s}"),
                    })
                    .collect();
                println!("   registers: {}", regs.join(" "));
                for (thread, signal) in &r.signals {
                    println!("   {thread} ended by {signal}");
                }
                for note in &r.notes {
                    println!("   note {note}");
                }
                for e in &r.events {
                    println!("   event {} {}", e.name, e.detail);
                }
                for p in &r.pages {
                    let s: Vec<String> = p.state.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    println!("   page {}[{}] {}", p.owner, p.index, s.join(" "));
                }
            }
            for c in &o.conditions {
                let verdict = match c.holds {
                    Some(true) => "Ok",
                    Some(false) => "No",
                    None => "unknown",
                };
                println!("   {} {}: {verdict}", c.quantifier, c.condition);
            }
        }
    }
    Ok(())
}

/// One line per boot: how long it took, when /init ran, how many tests, what ended it.
fn print_boots(boots: &[crate::batch::BootStats]) {
    for b in boots {
        println!(
            "   boot {:.1}s, /init at {}s, {} tests, ended by {}",
            b.seconds,
            b.init_at.map(|t| format!("{t:.1}")).unwrap_or("?".into()),
            b.tests_finished,
            b.ended_by
        );
    }
}
