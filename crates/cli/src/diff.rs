//! `mmlab oracle` and `mmlab diff`: run tests on real Debian kernels, and list every place
//! where the model, run at the matching release on the same schedule, disagrees.

use mmlab_litmus as litmus;
use mmlab_machine::check::summarize;
use mmlab_machine::{evaluate, replay, Machine, RegValue};
use mmlab_mm::KernelConfig;
use mmlab_oracle::{OracleKernel, OracleOutcome, Schedule, Status};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The model's configuration for a Debian kernel the oracle boots.
pub fn model_kernel(k: OracleKernel) -> KernelConfig {
    let (major, minor) = k.version();
    KernelConfig::parse(&format!("debian-{major}.{minor}"))
        .unwrap_or_else(|_| KernelConfig::debian(mmlab_mm::Release::new(major as u8, minor as u8)))
}

/// One disagreement: a short key (for the known-differences file) and what differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub key: String,
    pub detail: String,
    /// Why this difference is expected whatever the test (see [`WILD_POINTER`]); such a
    /// difference needs no entry in the known-differences file.
    pub understood: Option<&'static str>,
}

/// The built-in explanation of a kernel crash on a wild struct page pointer. The model
/// raises `bad_page` where the kernel derives a struct page for a pfn without memmap; the real
/// kernel then dereferences it, oopses, and its log says "BUG: unable to handle page fault",
/// which the oracle reports as `bug`, though no BUG_ON fired.
pub const WILD_POINTER: &str =
    "an oops on a wild struct page pointer is logged as BUG; the model raises bad_page only";

/// The built-in explanation of a `warn` known only from a crash report's taint flags, in a
/// test whose crashing step the model ends with `bug`. The WARN may have fired inside that
/// step on the way to the oops; 5.10's process_vm_readv/writev through an unfilled pages[]
/// entry does so or not depending on the garbage it finds there (docs/oracle.md), which no
/// model can know.
pub const TAINT_WARN_IN_OOPS: &str =
    "the W taint may come from the crashing step's own oops path, where the model raises bug";

/// What the comparison of one test on one kernel found.
pub struct Comparison {
    pub file: String,
    pub kernel: OracleKernel,
    /// Why the kernel could not run it (the model alone answers).
    pub skipped: Option<String>,
    pub differences: Vec<Difference>,
}

fn model_reg(v: &RegValue) -> String {
    v.to_string()
}

/// Compares the model's execution of `schedule` with what the kernel did.
pub fn compare(
    file: &str,
    test: &litmus::Test,
    schedule: &Schedule,
    outcome: &OracleOutcome,
) -> Result<Comparison, String> {
    let kernel = outcome.kernel;
    let mut cmp = Comparison {
        file: file.to_string(),
        kernel,
        skipped: None,
        differences: Vec::new(),
    };
    match &outcome.status {
        Status::Unsupported(why) => {
            cmp.skipped = Some(why.clone());
            return Ok(cmp);
        }
        Status::Error(why) => {
            return Err(format!("{file} on {}: oracle error: {why}", kernel.name()))
        }
        _ => {}
    }
    let machine = match Machine::new(test, model_kernel(kernel)) {
        Ok(m) => m,
        Err(e) => {
            let Some((mapping, errno)) = &e.failed_mmap else {
                return Err(format!("{file}: {e}"));
            };
            compare_failed_mmap(&mut cmp, mapping, *errno, outcome);
            return Ok(cmp);
        }
    };
    // The model mapped everything; a kernel that refused a mapping went on without it, so
    // nothing after it compares.
    if let Some(note) = kernel_mapfail(outcome) {
        cmp.differences.push(Difference {
            key: "setup".into(),
            detail: format!("the model mapped everything; the kernel: {note}"),
            understood: None,
        });
        return Ok(cmp);
    }
    let (_, state) = replay(&machine, steps_run(test, schedule, outcome));
    let events = state.kernel.events;
    let mut differ = |key: String, detail: String| {
        cmp.differences.push(Difference {
            key,
            detail,
            understood: None,
        })
    };

    // How the run ended.
    let model_hang = events.contains(mmlab_mm::EventSet::HANG);
    let kernel_hang = matches!(outcome.status, Status::Hang | Status::Wedged);
    if model_hang != kernel_hang {
        differ(
            "hang".into(),
            format!("model hang: {model_hang}, kernel hang: {kernel_hang}"),
        );
    }
    let crashed = matches!(outcome.status, Status::KernelCrash(_) | Status::Crash(_));
    let model_fatal = events.intersects(
        mmlab_mm::EventSet::BUG | mmlab_mm::EventSet::BAD_PAGE | mmlab_mm::EventSet::USE_AFTER_FREE,
    );
    if crashed && !model_fatal {
        let what = match &outcome.status {
            Status::KernelCrash(s) | Status::Crash(s) => s.lines().next().unwrap_or("").to_string(),
            _ => String::new(),
        };
        differ(
            "crash".into(),
            format!(
                "the kernel crashed ({what}); the model saw no bug, bad_page or use_after_free"
            ),
        );
    }

    // Registers the kernel reported.
    if let Some(guest) = &outcome.result {
        for (t, thread) in state.threads.iter().enumerate() {
            for (r, v) in thread.regs.iter().enumerate() {
                let name = format!("P{t}:r{r}");
                let (Some(v), Some(kv)) = (v, guest.registers.get(&name)) else {
                    continue;
                };
                let kernel_text = match kv {
                    mmlab_oracle::RegValue::Number(n) => RegValue::Num(*n).to_string(),
                    mmlab_oracle::RegValue::Signal(s) => s.clone(),
                };
                if model_reg(v) != kernel_text {
                    differ(
                        name,
                        format!("model {}, kernel {kernel_text}", model_reg(v)),
                    );
                }
            }
        }
    }

    // Conditions, where the kernel run can tell.
    let wild_pointer_oops = crashed
        && events.contains(mmlab_mm::EventSet::BAD_PAGE)
        && !events.contains(mmlab_mm::EventSet::BUG)
        && outcome
            .result
            .as_ref()
            .is_some_and(|g| g.has_event("bad_page"));
    let warn_from_taint_only = crashed
        && events.contains(mmlab_mm::EventSet::BUG)
        && !events.contains(mmlab_mm::EventSet::WARN)
        && outcome.result.as_ref().is_some_and(|g| {
            g.has_event("warn")
                && g.events
                    .iter()
                    .all(|e| e.name != "warn" || e.detail == mmlab_oracle::outcome::TAINT_WARN)
        });
    let with_events = |extra: mmlab_mm::EventSet| {
        let mut s = state.clone();
        s.kernel.events.insert(extra);
        s
    };
    let explanations = [
        (wild_pointer_oops, mmlab_mm::EventSet::BUG, WILD_POINTER),
        (
            warn_from_taint_only,
            mmlab_mm::EventSet::WARN,
            TAINT_WARN_IN_OOPS,
        ),
    ]
    .into_iter()
    .filter(|(applies, _, _)| *applies)
    .map(|(_, extra, why)| (with_events(extra), why))
    .collect::<Vec<_>>();
    for (i, (c, k)) in test.conditions.iter().zip(&outcome.conditions).enumerate() {
        let Some(kernel_value) = k.value else {
            continue;
        };
        let model_value = evaluate(&machine, &state, &c.expr);
        if model_value != kernel_value {
            let understood = explanations
                .iter()
                .find(|(s, _)| evaluate(&machine, s, &c.expr) == kernel_value)
                .map(|&(_, why)| why);
            cmp.differences.push(Difference {
                key: format!("c{}", i + 1),
                detail: format!(
                    "`{}` is {model_value} in the model, {kernel_value} on the kernel",
                    litmus::format_expr(&c.expr)
                ),
                understood,
            });
        }
    }
    let _ = summarize;
    Ok(cmp)
}

/// The steps of `schedule` the kernel ran: a kernel crash ends the test at the step it
/// happened in (`last_step` counts the guest script's `op` lines, setup's included), so what
/// the model does in later steps has nothing on the kernel to compare with.
fn steps_run<'s>(
    test: &litmus::Test,
    schedule: &'s Schedule,
    outcome: &OracleOutcome,
) -> &'s [usize] {
    let all = &schedule.steps[..];
    let crash_step = match (&outcome.status, &outcome.result) {
        (Status::KernelCrash(_), Some(guest)) => guest.last_step.parse::<usize>().ok(),
        _ => None,
    };
    let Some(crash_step) = crash_step else {
        return all;
    };
    // Every setup statement is one `op S ...` line of the script (translate.rs).
    let ran = crash_step
        .checked_sub(test.setup.len())
        .map_or(0, |i| i + 1);
    &all[..ran.min(all.len())]
}

/// The model could not set the test up because an mmap failed: the kernel agrees when its
/// guest noted the same mapping failing with the same errno (it goes on without the mapping,
/// where the model stops, so nothing else is compared).
fn compare_failed_mmap(
    cmp: &mut Comparison,
    mapping: &str,
    errno: mmlab_mm::Errno,
    outcome: &OracleOutcome,
) {
    let want = format!("mapfail {mapping} {}", errno.ret());
    let kernel_failed = kernel_mapfail(outcome);
    if kernel_failed.map(String::as_str) == Some(want.as_str()) {
        cmp.skipped = Some(format!(
            "mmap {mapping} fails with {errno} on both; the model stops there"
        ));
        return;
    }
    cmp.differences.push(Difference {
        key: "setup".into(),
        detail: format!(
            "the model's mmap {mapping} failed with {errno}; the kernel: {}",
            kernel_failed.map_or("mapped it", String::as_str)
        ),
        understood: None,
    });
}

/// The guest's note of a setup mmap the kernel refused (`mapfail MAP -ERRNO`), if any.
fn kernel_mapfail(outcome: &OracleOutcome) -> Option<&String> {
    outcome
        .result
        .as_ref()
        .and_then(|g| g.notes.iter().find(|n| n.starts_with("mapfail ")))
}

/// The known-differences file: `FILE KERNEL KEY: reason` per line (`#` comments).
pub struct Known {
    entries: Vec<(String, String, String, String)>,
}

impl Known {
    pub fn parse(text: &str) -> Result<Known, String> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // Keys such as `P0:r0` hold a colon; the reason follows a colon and a space.
            let line = if line.ends_with(':') {
                format!("{line} ")
            } else {
                line.to_string()
            };
            let (head, reason) = line.split_once(": ").ok_or_else(|| {
                format!(
                    "known differences line {}: expected `FILE KERNEL KEY: reason`",
                    n + 1
                )
            })?;
            let parts: Vec<&str> = head.split_whitespace().collect();
            let [file, kernel, key] = parts.as_slice() else {
                return Err(format!(
                    "known differences line {}: expected `FILE KERNEL KEY: reason`",
                    n + 1
                ));
            };
            if reason.trim().is_empty() {
                return Err(format!(
                    "known differences line {}: a reason is required",
                    n + 1
                ));
            }
            entries.push((
                file.to_string(),
                kernel.to_string(),
                key.to_string(),
                reason.trim().to_string(),
            ));
        }
        Ok(Known { entries })
    }

    fn find(&self, file: &str, kernel: &str, key: &str) -> Option<usize> {
        let stem = std::path::Path::new(file)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.entries
            .iter()
            .position(|(f, k, d, _)| (f == file || *f == stem) && k == kernel && d == key)
    }
}

/// Renders comparisons; returns the text and whether anything is unexplained.
pub fn report(
    comparisons: &[Comparison],
    known: Option<&Known>,
    checked_kernels: &[OracleKernel],
) -> (String, bool) {
    let mut out = String::new();
    let mut unexplained = false;
    let mut used = BTreeSet::new();
    let (mut agree, mut skipped, mut explained) = (0, 0, 0);
    for c in comparisons {
        let k = c.kernel.name();
        if let Some(why) = &c.skipped {
            skipped += 1;
            let _ = writeln!(out, "{:<48} {k:<5} model only: {why}", c.file);
            continue;
        }
        if c.differences.is_empty() {
            agree += 1;
            continue;
        }
        for d in &c.differences {
            if let Some(reason) = d.understood {
                explained += 1;
                let _ = writeln!(
                    out,
                    "{:<48} {k:<5} {:<6} known: {} ({reason})",
                    c.file, d.key, d.detail
                );
                continue;
            }
            match known.and_then(|kn| kn.find(&c.file, k, &d.key)) {
                Some(i) => {
                    explained += 1;
                    used.insert(i);
                    let reason = known.map(|kn| kn.entries[i].3.clone()).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "{:<48} {k:<5} {:<6} known: {} ({reason})",
                        c.file, d.key, d.detail
                    );
                }
                None => {
                    unexplained = true;
                    let _ = writeln!(
                        out,
                        "{:<48} {k:<5} {:<6} DIFFERS: {}",
                        c.file, d.key, d.detail
                    );
                }
            }
        }
    }
    if let Some(kn) = known {
        for (i, (f, k, d, _)) in kn.entries.iter().enumerate() {
            if !std::path::Path::new(f).exists() {
                unexplained = true;
                let _ = writeln!(out, "{f:<48} {k:<5} {d:<6} STALE: listed as a known difference, but there is no such file");
                continue;
            }
            let checked = checked_kernels.iter().any(|ck| ck.name() == k)
                && comparisons.iter().any(|c| c.file.ends_with(f.as_str()));
            if checked && !used.contains(&i) {
                unexplained = true;
                let _ = writeln!(out, "{f:<48} {k:<5} {d:<6} STALE: listed as a known difference but the model and the kernel agree");
            }
        }
    }
    let _ = writeln!(
        out,
        "{agree} agree, {explained} known differences, {skipped} model-only, {}",
        if unexplained {
            "UNEXPLAINED disagreements"
        } else {
            "no unexplained disagreement"
        }
    );
    (out, unexplained)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comparison(file: &str, key: &str) -> Comparison {
        Comparison {
            file: file.into(),
            kernel: OracleKernel::V6_1,
            skipped: None,
            differences: vec![Difference {
                key: key.into(),
                detail: "model 1, kernel 2".into(),
                understood: None,
            }],
        }
    }

    #[test]
    fn known_differences_need_a_reason() {
        assert!(Known::parse("a.litmus 6.1 c1:   \n").is_err());
        assert!(Known::parse("a.litmus 6.1: why\n").is_err());
        assert!(Known::parse("# comment\n\na.litmus 6.1 c1: why\n").is_ok());
    }

    #[test]
    fn unexplained_differences_fail_and_listed_ones_pass() {
        let file = format!(
            "{}/../../examples/pin-vs-evict.litmus",
            env!("CARGO_MANIFEST_DIR")
        );
        let cmps = [comparison(&file, "P0:r0")];
        let (text, bad) = report(&cmps, None, &[OracleKernel::V6_1]);
        assert!(bad && text.contains("DIFFERS"), "{text}");
        let known = Known::parse(&format!("{file} 6.1 P0:r0: understood\n")).expect("parses");
        let (text, bad) = report(&cmps, Some(&known), &[OracleKernel::V6_1]);
        assert!(!bad, "{text}");
    }

    /// A TTM object refuses a private mapping (-EINVAL): the model cannot set the test up,
    /// and the comparison holds when the kernel's mmap failed the same way.
    #[test]
    fn a_failed_setup_mmap_is_compared_with_the_kernels() {
        let src =
            "mm-litmus t\nsetup {\n  ttm bo size=4K place=system\n  mmap m0 bo private rw\n}\n\
                   P0 {\n  read m0 -> r0\n}\nexists bug\n";
        let test = litmus::parse(src).expect("parses");
        let outcome = |notes: &[&str]| {
            let mut guest = mmlab_oracle::GuestOutcome::new(0, "t");
            guest.notes = notes.iter().map(|n| n.to_string()).collect();
            OracleOutcome {
                test: "t".into(),
                kernel: OracleKernel::V6_1,
                kernel_release: "6.1".into(),
                schedule: Schedule::sequential(&test),
                status: Status::Ok,
                result: Some(guest),
                conditions: Vec::new(),
            }
        };
        let schedule = Schedule::sequential(&test);
        let same = compare("t", &test, &schedule, &outcome(&["mapfail m0 -22"])).expect("runs");
        assert!(same.differences.is_empty() && same.skipped.is_some());
        for notes in [&[][..], &["mapfail m0 -1"]] {
            let differs = compare("t", &test, &schedule, &outcome(notes)).expect("runs");
            assert_eq!(differs.differences.len(), 1, "{notes:?}");
            assert_eq!(differs.differences[0].key, "setup");
        }
        // The other way round: a mapping the model makes and the kernel refuses (random
        // seed 22052, before the oracle refused large private mappings) is one setup
        // difference, not the conditions the kernel could not reach.
        let shared = litmus::parse(&src.replace("private rw", "shared rw")).expect("parses");
        let refused =
            compare("t", &shared, &schedule, &outcome(&["mapfail m0 -12"])).expect("runs");
        let keys: Vec<&str> = refused.differences.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["setup"]);
        assert!(refused.differences[0].detail.contains("mapfail m0 -12"));
        let mapped = compare("t", &shared, &schedule, &outcome(&[])).expect("runs");
        assert!(mapped.differences.is_empty());
    }

    /// A kernel crash ends the test: what the model does after the crashing step (here a
    /// WARN in the next operation) is not compared.
    #[test]
    fn steps_after_a_kernel_crash_are_not_compared() {
        let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  mmap m0 a0 private rw\n}\n\
                   P0 {\n  write m0 1\n  r0 = get_user_pages m0 longterm\n}\nexists warn\n";
        let test = litmus::parse(src).expect("parses");
        let schedule = Schedule::sequential(&test);
        let crashed_at = |step: &str| {
            let mut guest = mmlab_oracle::GuestOutcome::new(0, "t");
            guest.last_step = step.into();
            OracleOutcome {
                test: "t".into(),
                kernel: OracleKernel::V6_1,
                kernel_release: "6.1".into(),
                schedule: schedule.clone(),
                status: Status::KernelCrash("during the write".into()),
                result: Some(guest),
                conditions: Vec::new(),
            }
        };
        // Script op lines: 0 object, 1 map, 2 write, 3 get_user_pages.
        let ran = |step: &str| steps_run(&test, &schedule, &crashed_at(step)).len();
        assert_eq!(ran("2"), 1);
        assert_eq!(ran("3"), 2);
        assert_eq!(ran("1"), 0, "a crash in setup: no thread step ran");
        assert_eq!(ran("final"), 2, "no step number: every step is compared");
    }

    /// 5.10's outcome of `test` when the kernel crashed in script step `last_step` with the
    /// events `events` (name, detail) observed.
    fn crashed_on_5_10(
        test: &litmus::Test,
        last_step: &str,
        events: &[(&str, &str)],
    ) -> OracleOutcome {
        let mut guest = mmlab_oracle::GuestOutcome::new(0, "t");
        guest.last_step = last_step.into();
        guest.events = events
            .iter()
            .map(|&(name, detail)| mmlab_oracle::outcome::Event {
                name: name.into(),
                detail: detail.into(),
            })
            .collect();
        OracleOutcome {
            test: "t".into(),
            kernel: OracleKernel::V5_10,
            kernel_release: "5.10".into(),
            schedule: Schedule::sequential(test),
            status: Status::KernelCrash("oops".into()),
            conditions: mmlab_oracle::eval::evaluate(test, &guest),
            result: Some(guest),
        }
    }

    /// The kernel oopsed on the struct page of a pfn without memmap in the step where the model
    /// raised `bad_page`: the `bug` the kernel's log gives is explained without a
    /// known-differences entry. Without the oracle's `bad_page` (some other crash), it is not.
    #[test]
    fn a_wild_pointer_oops_explains_its_bug() {
        let file = format!(
            "{}/../../tests/oracle/iomem-mixed-pmd-gup.litmus",
            env!("CARGO_MANIFEST_DIR")
        );
        let test = std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|src| litmus::parse(&src).map_err(|e| format!("{e:?}")))
            .expect("reads and parses");
        let schedule = Schedule::sequential(&test);
        // Script steps: object, map, write, then the GUP (3).
        let crash = |events: &[(&str, &str)]| crashed_on_5_10(&test, "3", events);
        let keys = |c: &Comparison| {
            c.differences
                .iter()
                .map(|d| (d.key.clone(), d.understood.is_some()))
                .collect::<Vec<_>>()
        };
        let wild = compare(
            &file,
            &test,
            &schedule,
            &crash(&[("bad_page", ""), ("bug", "")]),
        )
        .expect("runs");
        assert_eq!(keys(&wild), [("c2".to_string(), true)]);
        let (text, bad) = report(&[wild], None, &[OracleKernel::V5_10]);
        assert!(!bad && text.contains(WILD_POINTER), "{text}");
        let other = compare(&file, &test, &schedule, &crash(&[("bug", "")])).expect("runs");
        assert!(
            keys(&other).contains(&("c2".to_string(), false)),
            "{:?}",
            keys(&other)
        );
    }

    /// 5.10's process_vm_readv through an unfilled pages[] entry: the kernel oopses in the
    /// call, and its report's taint flags say a WARN fired; no WARNING line came before. The
    /// model raises `bug` there and no `warn`: the `warn` condition's difference is explained.
    /// A WARNING seen in an earlier step is not.
    #[test]
    fn a_warn_known_only_from_the_oops_taint_is_explained() {
        let src = "mm-litmus t\nsetup {\n  driver d0 size=4K insert=mixed memory=ram pfn=dev\n  \
                   mmap m0 d0 shared rw\n}\nP0 {\n  write m0 1\n  \
                   r0 = process_vm_readv m0 size=4K\n}\nexists warn\n";
        let test = litmus::parse(src).expect("parses");
        let schedule = Schedule::sequential(&test);
        // Script steps: object, map, write, then process_vm_readv (3).
        let crash = |warn_detail: &str| crashed_on_5_10(&test, "3", &[("warn", warn_detail)]);
        let understood = |detail: &str| {
            let c = compare("t", &test, &schedule, &crash(detail)).expect("runs");
            assert_eq!(c.differences.len(), 1, "{detail}");
            c.differences[0].understood
        };
        assert_eq!(
            understood(mmlab_oracle::outcome::TAINT_WARN),
            Some(TAINT_WARN_IN_OOPS)
        );
        assert_eq!(understood("WARNING: CPU: 0 PID: 1 at mm/gup.c"), None);
    }

    #[test]
    fn stale_entries_fail() {
        let known = Known::parse("no/such/file.litmus 6.1 c1: gone\n").expect("parses");
        let (text, bad) = report(&[], Some(&known), &[OracleKernel::V6_1]);
        assert!(bad && text.contains("STALE"), "{text}");
    }
}
