//! Running many guest-script tests on one kernel: as few boots as possible, a fresh boot
//! after a guest kernel crash, and timing per boot.

use anyhow::{Context, Result};
use serde::Serialize;
use std::time::Duration;

use crate::build;
use crate::cache::Cache;
use crate::console;
use crate::kernel::OracleKernel;
use crate::outcome::{Event, GuestOutcome, Status};
use crate::qemu::{self, BootConfig, BootEnd};
use crate::setup::KernelInstall;

/// One test in guest script form: its statements without the `test`/`end` lines.
#[derive(Clone, Debug)]
pub struct GuestTest {
    pub name: String,
    pub body: String,
    /// The guest's watchdog per operation (a call still running then is a `hang`).
    pub timeout_ms: u64,
}

/// Splits a guest script file with `test NAME` ... `end` blocks into tests.
pub fn split_script(text: &str) -> Vec<GuestTest> {
    let mut tests = Vec::new();
    let mut current: Option<GuestTest> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("test ") {
            if let Some(c) = current.take() {
                tests.push(c);
            }
            let name = name
                .split_whitespace()
                .last()
                .unwrap_or("unnamed")
                .to_string();
            current = Some(GuestTest {
                name,
                body: String::new(),
                timeout_ms: 400,
            });
        } else if t == "end" {
            if let Some(c) = current.take() {
                tests.push(c);
            }
        } else if let Some(c) = current.as_mut() {
            if let Some(ms) = t
                .strip_prefix("timeout ")
                .and_then(|m| m.trim().parse().ok())
            {
                c.timeout_ms = ms;
            } else if !t.is_empty() {
                c.body.push_str(t);
                c.body.push('\n');
            }
        }
    }
    if let Some(c) = current.take() {
        tests.push(c);
    }
    tests
}

/// Renders tests as the script the guest reads, numbered from 0.
pub fn render_script(tests: &[GuestTest]) -> String {
    let mut s = String::new();
    for (i, t) in tests.iter().enumerate() {
        let name: String = t
            .name
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect();
        s.push_str(&format!(
            "test {i} {name}\ntimeout {}\n{}end\n",
            t.timeout_ms, t.body
        ));
    }
    s
}

/// Timing of one boot.
#[derive(Clone, Debug, Serialize)]
pub struct BootStats {
    pub seconds: f64,
    /// Kernel uptime when /init started.
    pub init_at: Option<f64>,
    pub tests_finished: usize,
    pub ended_by: String,
}

/// Outcomes for every test, in order, and the boots it took.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub kernel: OracleKernel,
    pub kernel_release: String,
    pub outcomes: Vec<GuestOutcome>,
    pub boots: Vec<BootStats>,
}

/// Runs guest tests on a kernel set up in `cache`.
pub fn run_guest_tests(
    cache: &Cache,
    kernel: OracleKernel,
    tests: &[GuestTest],
    config: &BootConfig,
) -> Result<RunReport> {
    let install = KernelInstall::load(cache, kernel)?;
    let module = build::build_module(cache, &install)?;
    let guest = build::build_guest()?;
    let script = render_script(tests);
    let initrd = build::build_initramfs(cache, &install, &module, &guest, &script)?;
    let image = crate::vmlinux::boot_image(cache, &install);
    let result = boot_until_done(&install, &image, &initrd, tests, config);
    let _ = std::fs::remove_file(&initrd);
    result
}

fn boot_until_done(
    install: &KernelInstall,
    image: &std::path::Path,
    initrd: &std::path::Path,
    tests: &[GuestTest],
    config: &BootConfig,
) -> Result<RunReport> {
    let mut outcomes: Vec<Option<GuestOutcome>> = vec![None; tests.len()];
    let mut boots = Vec::new();
    let mut release = String::new();
    let mut first = 0usize;
    while first < tests.len() {
        // A boot that runs long is a guest that keeps printing while stuck: bound it by the
        // work left rather than only by the configured limit.
        let left = (tests.len() - first) as u64;
        let mut config = config.clone();
        config.boot_timeout = config.boot_timeout.min(
            Duration::from_secs(90)
                + Duration::from_millis(left * (3000 + 4 * tests[first].timeout_ms)),
        );
        let boot = qemu::boot(image, initrd, &format!("mmlab.first={first}"), &config)
            .with_context(|| format!("booting kernel {}", install.kernel))?;
        let parsed = console::parse(&boot.lines);
        if let Some(r) = parsed.boot_log.iter().find_map(|l| l.strip_prefix("boot ")) {
            release = r.split_whitespace().next().unwrap_or("").to_string();
        }
        boots.push(BootStats {
            seconds: boot.elapsed.as_secs_f64(),
            init_at: parsed.init_uptime,
            tests_finished: parsed.finished.len(),
            ended_by: format!("{:?}", boot.end).to_lowercase(),
        });
        let mut last_index = None;
        for o in parsed.finished {
            let i = o.index;
            if i < tests.len() {
                last_index = Some(i);
                outcomes[i] = Some(o);
            }
        }
        if let Some((mut o, kernel_lines)) = parsed.interrupted {
            let i = o.index.min(tests.len().saturating_sub(1));
            let step = step_text(&tests[i], &o.last_step);
            if let Some(event) = wild_struct_page(&kernel_lines) {
                o.events.push(event);
            }
            o.warned_before_crash = warned_before_crash(&kernel_lines);
            if o.warned_before_crash == Some(true) {
                o.events.push(Event {
                    name: "warn".into(),
                    detail: crate::outcome::TAINT_WARN.into(),
                });
            }
            o.status = Status::KernelCrash(format!(
                "during {step}: {}",
                crash_summary(&kernel_lines, &boot.end)
            ));
            outcomes[i] = Some(o);
            first = i + 1;
            continue;
        }
        if parsed.done {
            break;
        }
        let next = last_index.map(|i| i + 1).unwrap_or(first);
        if next == first {
            let tail: Vec<&str> = boot
                .lines
                .iter()
                .rev()
                .take(15)
                .rev()
                .map(String::as_str)
                .collect();
            let why = format!(
                "boot ended ({:?}) before test {first} began; boot log: {:?}; console tail:\n{}",
                boot.end,
                parsed.boot_log,
                tail.join("\n")
            );
            for (i, slot) in outcomes.iter_mut().enumerate().skip(first) {
                let mut o = GuestOutcome::new(i, &tests[i].name);
                o.status = Status::Error(why.clone());
                *slot = Some(o);
            }
            break;
        }
        first = next;
    }
    let outcomes = outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.unwrap_or_else(|| {
                let mut o = GuestOutcome::new(i, &tests[i].name);
                o.status = Status::Error("no result".into());
                o
            })
        })
        .collect();
    Ok(RunReport {
        kernel: install.kernel,
        kernel_release: release,
        outcomes,
        boots,
    })
}

/// x86-64's vmemmap base without KASLR (the guest boots with `nokaslr`) and its size.
const VMEMMAP_START: u64 = 0xffff_ea00_0000_0000;
const VMEMMAP_SIZE: u64 = 1 << 40;
const STRUCT_PAGE_SIZE: u64 = 64;

/// A kernel fault on a struct page address whose memmap does not exist means the kernel
/// derived a struct page for a pfn that has none: the model's `bad_page`.
fn wild_struct_page(kernel_lines: &[String]) -> Option<Event> {
    kernel_lines.iter().find_map(|l| {
        let hex = l.split("unable to handle page fault for address: ").nth(1)?;
        let addr = u64::from_str_radix(hex.trim().trim_start_matches("0x"), 16).ok()?;
        let offset = addr.checked_sub(VMEMMAP_START).filter(|o| *o < VMEMMAP_SIZE)?;
        Some(Event {
            name: "bad_page".into(),
            detail: format!(
                "kernel faulted at {addr:#x}, inside the struct page of pfn {:#x}, which has no memmap",
                offset / STRUCT_PAGE_SIZE
            ),
        })
    })
}

/// Whether a WARN fired before the crash, from the taint flags the oops report prints
/// (`Tainted: G        W  O ...`): the warning itself goes to the log below the console's
/// level, and the guest reads the log only after a test ends. A boot ends after any test
/// that warned, so a W here is this test's. None when no report line carries the flags.
pub(crate) fn warned_before_crash(kernel_lines: &[String]) -> Option<bool> {
    kernel_lines.iter().find_map(|l| {
        let flags = l.split("Tainted: ").nth(1)?;
        let letters: Vec<&str> = flags
            .split_whitespace()
            .take_while(|w| w.len() == 1 && w.chars().all(|c| c.is_ascii_uppercase()))
            .collect();
        (!letters.is_empty()).then(|| letters.contains(&"W"))
    })
}

/// Names the operation a guest `step` number refers to (`step 3: op P0 gup r0 ...`).
fn step_text(test: &GuestTest, step: &str) -> String {
    let op = step
        .parse::<usize>()
        .ok()
        .and_then(|k| test.body.lines().filter(|l| l.starts_with("op ")).nth(k));
    match op {
        Some(op) => format!("step {step} `{op}`"),
        None => format!("step {step}"),
    }
}

/// The kernel lines that say what went wrong (BUG/Oops/panic/RIP), or how the boot ended.
fn crash_summary(kernel_lines: &[String], end: &BootEnd) -> String {
    let keys = [
        "BUG",
        "Oops",
        "panic",
        "RIP:",
        "WARNING",
        "general protection",
        "Kernel panic",
    ];
    let picked: Vec<&str> = kernel_lines
        .iter()
        .filter(|l| keys.iter().any(|k| l.contains(k)))
        .take(6)
        .map(String::as_str)
        .collect();
    if picked.is_empty() {
        let how = match end {
            BootEnd::Exited => "the guest rebooted or powered off",
            BootEnd::Timeout => "the boot timed out",
            BootEnd::Idle => "the guest went silent (wedged)",
        };
        return format!("{how} during the test");
    }
    picked.join(" | ")
}

/// Default watchdog per operation.
pub const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_millis(400);
