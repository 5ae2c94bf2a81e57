//! Text output, shaped like herd7's: final states with counts, a verdict per condition, and
//! the minimal witness or counterexample as numbered steps with their kernel call paths.

use super::fold::fold_repeats;
use super::{FileReport, Run};
use mmlab_machine::{replay, Machine, ReplayStep, State, Verdict};
use mmlab_mm::trace::TraceLine;
use mmlab_mm::ChangePoint;
use std::fmt::Write;

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "Ok",
        Verdict::No => "No",
    }
}

/// The trace of one step, one line per function entered, decision or event; repeated
/// identical lines are folded into one with a count, and repeated blocks ([`fold_repeats`])
/// into their first and last.
pub fn trace_lines(trace: &[TraceLine], indent: &str) -> String {
    let mut lines: Vec<(String, usize)> = Vec::new();
    for t in trace {
        let line = match t {
            TraceLine::Enter { depth, function } => {
                format!("{indent}{}{function}", "  ".repeat(*depth as usize))
            }
            TraceLine::Note { depth, text, .. } => {
                format!("{indent}{}· {text}", "  ".repeat(*depth as usize))
            }
            TraceLine::Event { depth, record } => format!(
                "{indent}{}!! {} in {}: {}",
                "  ".repeat(*depth as usize),
                record.event.name(),
                record.function,
                record.detail
            ),
        };
        match lines.last_mut() {
            Some((last, n)) if *last == line => *n += 1,
            _ => lines.push((line, 1)),
        }
    }
    let counted = lines
        .into_iter()
        .map(|(line, n)| {
            if n > 1 {
                format!("{line}  (x{n})")
            } else {
                line
            }
        })
        .collect();
    let mut out = String::new();
    for line in fold_repeats(counted) {
        let _ = writeln!(out, "{line}");
    }
    out
}

fn steps(out: &mut String, steps: &[ReplayStep], with_trace: bool) {
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(out, "  {:>2}. P{}: {}", i + 1, s.thread, s.op);
        if with_trace {
            out.push_str(&trace_lines(&s.trace, "        "));
        }
    }
}

fn switches(schedule: &[usize]) -> usize {
    schedule.windows(2).filter(|w| w[0] != w[1]).count()
}

fn run(out: &mut String, path: &str, r: &Run) {
    let m = &r.machine;
    let res = &r.result;
    let _ = writeln!(
        out,
        "Test {} ({path}) at kernel {}",
        m.test.name.node, m.cfg
    );
    for note in &m.not_modelled {
        let _ = writeln!(out, "Not modelled: {note}");
    }
    if let Some(stop) = &m.setup_stop {
        let _ = writeln!(
            out,
            "Setup ended at `{}` ({}): no thread runs",
            stop.statement, stop.reason
        );
        out.push_str(&trace_lines(&stop.trace, "        "));
    }
    let _ = writeln!(out, "States {}", res.finals.len());
    for f in &res.finals {
        let mut line = f.registers.join("; ");
        if !f.events.is_empty() {
            if !line.is_empty() {
                line.push_str("; ");
            }
            let _ = write!(line, "events: {}", f.events.join(" "));
        }
        let _ = writeln!(out, "{:>6} :> {}", f.executions, line);
    }
    for c in &res.conditions {
        let _ = writeln!(out, "{:<3} {}", verdict(c.verdict), c.text);
        if let Some(w) = &c.witness {
            let kind = if c.text.starts_with("exists") {
                "witness"
            } else {
                "counterexample"
            };
            let (replayed, _) = replay(m, w);
            let _ = writeln!(
                out,
                "  {kind}: {} steps, {} context switches",
                replayed.len(),
                switches(w)
            );
            steps(out, &replayed, true);
        }
    }
    if !res.complete {
        let _ = writeln!(
            out,
            "INCOMPLETE: a limit stopped the search; verdicts cover the states explored"
        );
    }
    let _ = writeln!(
        out,
        "Explored {} distinct states, {} transitions, depth {}, {:.1} ms\n",
        res.distinct_states, res.transitions, res.max_depth, res.elapsed_ms
    );
}

/// The changes that landed in exactly this release, for the `--kernel all` table.
fn changes_at(release: mmlab_mm::Release) -> String {
    let ids: Vec<&str> = ChangePoint::ALL
        .iter()
        .filter(|c| c.release() == release)
        .map(|c| c.id())
        .collect();
    if ids.is_empty() {
        "(oldest modelled)".into()
    } else {
        ids.join(", ")
    }
}

fn table(out: &mut String, report: &FileReport) {
    let Some(first) = report.runs.first() else {
        return;
    };
    // Runs and setup failures, by release.
    enum Row<'a> {
        Ran(&'a Run),
        SetupFailed(&'a super::SetupFailure),
    }
    let mut rows: Vec<(mmlab_mm::Release, Row)> = report
        .runs
        .iter()
        .map(|r| (r.machine.cfg.release, Row::Ran(r)))
        .chain(
            report
                .setup_failures
                .iter()
                .map(|f| (f.cfg.release, Row::SetupFailed(f))),
        )
        .collect();
    rows.sort_by_key(|row| row.0);
    let _ = writeln!(
        out,
        "Test {} ({}) at every change point",
        first.machine.test.name.node, report.path
    );
    for (i, c) in first.result.conditions.iter().enumerate() {
        let _ = writeln!(out, "  c{}: {}", i + 1, c.text);
    }
    let mut header = format!("  {:<8}", "kernel");
    for i in 0..first.result.conditions.len() {
        let _ = write!(header, " c{:<3}", i + 1);
    }
    let _ = writeln!(out, "{header} states  changes");
    let mut previous: Option<Vec<Verdict>> = None;
    for (_, row) in rows {
        let r = match row {
            Row::Ran(r) => r,
            Row::SetupFailed(failure) => {
                let _ = writeln!(
                    out,
                    "  {:<8} setup fails: {}  {}",
                    failure.cfg.to_string(),
                    failure.error,
                    changes_at(failure.cfg.release)
                );
                previous = None;
                continue;
            }
        };
        let verdicts = r.result.verdicts();
        let mut line = format!("  {:<8}", r.machine.cfg.to_string());
        for v in &verdicts {
            let _ = write!(line, " {:<4}", verdict(*v));
        }
        let changed = previous.as_ref().is_some_and(|p| p != &verdicts);
        let _ = writeln!(
            out,
            "{line} {:<7} {}{}",
            r.result.finals.len(),
            changes_at(r.machine.cfg.release),
            if changed { "  <- outcome changed" } else { "" }
        );
        previous = Some(verdicts);
    }
    // The notes of every release, each once, with the releases it concerns.
    let mut notes: Vec<(&str, Vec<String>)> = Vec::new();
    for r in &report.runs {
        for note in &r.machine.not_modelled {
            let release = r.machine.cfg.to_string();
            match notes.iter_mut().find(|(n, _)| *n == note.as_str()) {
                Some((_, releases)) => releases.push(release),
                None => notes.push((note, vec![release])),
            }
        }
    }
    for (note, releases) in notes {
        let _ = writeln!(out, "  Not modelled ({}): {note}", releases.join(", "));
    }
    out.push('\n');
}

/// The report of `mmlab run`.
pub fn report(reports: &[FileReport], all_kernels: bool) -> String {
    let mut out = String::new();
    for r in reports {
        if all_kernels {
            table(&mut out, r);
        } else {
            for run_ in &r.runs {
                run(&mut out, &r.path, run_);
            }
        }
    }
    out
}

/// A page-table and refcount picture of the test's mappings and objects.
fn state_picture(m: &Machine, s: &State) -> String {
    let mut out = String::new();
    let mut mappings: Vec<_> = m.mappings.iter().collect();
    mappings.sort_by_key(|(n, _)| (*n).clone());
    for (name, map) in mappings {
        let _ = writeln!(out, "    mapping {name} at {:#x}:", map.addr);
        let vma = s.kernel.vmas.iter().find(|v| v.start == map.addr);
        match vma {
            Some(v) => {
                let _ = writeln!(out, "      vma {:?}", v.flags);
            }
            None => {
                let _ = writeln!(out, "      (unmapped)");
            }
        }
        for level in [
            mmlab_mm::Level::Pud,
            mmlab_mm::Level::Pmd,
            mmlab_mm::Level::Pte,
        ] {
            let leaves = s
                .kernel
                .pt
                .leaves(level, map.addr, map.addr + map.pages * 4096);
            if let Some((addr, e)) = leaves.first() {
                let more = if leaves.len() > 1 {
                    format!(" (+{} more)", leaves.len() - 1)
                } else {
                    String::new()
                };
                let _ = writeln!(out, "      {} {addr:#x}: {e}{more}", level.name());
            }
        }
    }
    let mut objects: Vec<_> = m.objects.iter().collect();
    objects.sort_by_key(|(_, id)| **id);
    for (name, id) in objects {
        if let Some(pfn) = s.kernel.object_pfn(*id, 0) {
            let page = s.kernel.mem.page(pfn);
            let _ = writeln!(
                out,
                "    {name}[0]: pfn {pfn} value {} refcount {} mapcount {} pincount {}",
                s.kernel.mem.content(pfn),
                page.refcount,
                page.mapcount,
                page.pincount
            );
        }
    }
    for h in s.kernel.holds.iter() {
        let _ = writeln!(
            out,
            "    {} holds {} page pointers ({})",
            h.holder,
            h.pages.len(),
            if h.pinned { "FOLL_PIN" } else { "FOLL_GET" }
        );
    }
    out
}

/// The report of `mmlab explain`.
pub fn explain(m: &Machine, steps_: &[ReplayStep], last: &State) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Test {} at kernel {}", m.test.name.node, m.cfg);
    let _ = writeln!(out, "  before:");
    out.push_str(&state_picture(m, &m.init));
    let schedule: Vec<usize> = steps_.iter().map(|s| s.thread).collect();
    let mut state = m.init.clone();
    for (i, s) in steps_.iter().enumerate() {
        let _ = writeln!(out, "\n  {:>2}. P{}: {}", i + 1, s.thread, s.op);
        out.push_str(&trace_lines(&s.trace, "        "));
        let (_, after) = replay(m, &schedule[..=i]);
        state = after;
        let _ = writeln!(out, "      after:");
        for line in state_picture(m, &state).lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = state;
    let (registers, events) = mmlab_machine::check::summarize(last);
    let _ = writeln!(out, "\n  final: {}", registers.join("; "));
    let _ = writeln!(
        out,
        "  events: {}",
        if events.is_empty() {
            "none".into()
        } else {
            events.join(" ")
        }
    );
    out
}

/// The report of `mmlab kernels`.
pub fn kernels() -> String {
    let mut out = String::from("release  change point              commit        subject\n");
    for c in ChangePoint::ALL {
        let certainty = match c.certainty() {
            mmlab_mm::version::Certainty::Source => "",
            mmlab_mm::version::Certainty::Inferred => " [release inferred]",
        };
        let _ = writeln!(
            out,
            "{:<8} {:<25} {:<13} {}{certainty}",
            c.release().to_string(),
            c.id(),
            c.commit().unwrap_or("-"),
            c.subject()
        );
    }
    out
}
