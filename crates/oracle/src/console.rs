//! Parsing the guest's `@mmlab ...` console lines into per-test outcomes.

use std::collections::BTreeMap;

use crate::outcome::{Event, GuestOutcome, PageReport, RegValue, Status};

/// What one boot printed, test by test.
#[derive(Debug, Default)]
pub struct ParsedBoot {
    /// Tests that printed `end`.
    pub finished: Vec<GuestOutcome>,
    /// A test that printed `begin` but no `end` (the kernel died under it), with the
    /// kernel lines printed after its begin.
    pub interrupted: Option<(GuestOutcome, Vec<String>)>,
    /// `done` was printed: the script ran to its end.
    pub done: bool,
    /// Seconds since kernel start when /init began (`boot ... uptime=`).
    pub init_uptime: Option<f64>,
    /// Lines from /init before the first test (module load results).
    pub boot_log: Vec<String>,
}

/// Parses console lines.
pub fn parse(lines: &[String]) -> ParsedBoot {
    let mut boot = ParsedBoot::default();
    let mut current: Option<GuestOutcome> = None;
    let mut kernel_lines: Vec<String> = Vec::new();
    // The test process and the runner both write to the console; a line of one can land in
    // the middle of a line of the other, so every `@mmlab ` starts a new line.
    let split: Vec<String> = lines.iter().flat_map(|l| split_markers(l)).collect();
    for raw in &split {
        let Some(pos) = raw.find("@mmlab ") else {
            if current.is_some() && !raw.trim().is_empty() {
                kernel_lines.push(raw.trim().to_string());
            }
            continue;
        };
        let line = &raw[pos + "@mmlab ".len()..];
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "begin" => {
                let (idx, name) = rest.split_once(' ').unwrap_or((rest, ""));
                current = Some(GuestOutcome::new(idx.parse().unwrap_or(usize::MAX), name));
                kernel_lines.clear();
            }
            "end" => {
                if let Some(mut t) = current.take() {
                    finish(&mut t, rest);
                    boot.finished.push(t);
                }
            }
            "done" => boot.done = true,
            "boot" => {
                boot.init_uptime = rest
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("uptime="))
                    .and_then(|u| u.parse().ok());
                boot.boot_log.push(line.to_string());
            }
            _ => match current.as_mut() {
                Some(t) => record(t, word, rest),
                None => boot.boot_log.push(line.to_string()),
            },
        }
    }
    if let Some(t) = current {
        boot.interrupted = Some((t, kernel_lines));
    }
    boot
}

fn split_markers(line: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = line;
    while let Some(pos) = rest[1.min(rest.len())..].find("@mmlab ").map(|p| p + 1) {
        parts.push(rest[..pos].to_string());
        rest = &rest[pos..];
    }
    parts.push(rest.to_string());
    parts
}

fn finish(t: &mut GuestOutcome, rest: &str) {
    let mut words = rest.split_whitespace();
    let _index = words.next();
    let status = words.next().unwrap_or("error");
    t.elapsed_us = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
    if let Some(step) = words.next().and_then(|w| w.strip_prefix("step=")) {
        t.last_step = step.to_string();
    }
    // A status set while parsing (unsupported/error with a reason) takes precedence.
    if t.status != Status::Ok {
        return;
    }
    t.status = match status {
        "ok" => Status::Ok,
        "hang" => Status::Hang,
        "wedged" => Status::Wedged,
        "unsupported" => Status::Unsupported("unsupported operation".into()),
        s if s.starts_with("crash:") => Status::Crash(s["crash:".len()..].to_string()),
        other => Status::Error(format!("guest reported `{other}`")),
    };
}

fn record(t: &mut GuestOutcome, word: &str, rest: &str) {
    match word {
        "step" => t.last_step = rest.trim().to_string(),
        "reg" => {
            let mut w = rest.split_whitespace();
            if let (Some(th), Some(reg), Some(v)) = (w.next(), w.next(), w.next()) {
                let value = v
                    .parse()
                    .map(RegValue::Number)
                    .unwrap_or_else(|_| RegValue::Signal(v.to_string()));
                t.registers.insert(format!("{th}:{reg}"), value);
            }
        }
        "signal" => {
            let mut w = rest.split_whitespace();
            if let (Some(th), Some(sig)) = (w.next(), w.next()) {
                t.signals.insert(th.to_string(), sig.to_string());
            }
        }
        "event" => {
            // (A negative count found when the guest releases what registers still hold
            // after the test comes as `refcount_error_at_exit`: the guest names it, as the
            // order of console lines cannot tell.)
            let (name, detail) = rest.split_once(' ').unwrap_or((rest, ""));
            t.events.push(Event {
                name: name.to_string(),
                detail: detail.to_string(),
            });
        }
        "values" => {
            let mut w = rest.split_whitespace();
            let Some(obj) = w.next() else { return };
            let map: BTreeMap<u64, u64> = w
                .filter_map(|p| p.split_once(':'))
                .filter_map(|(i, v)| Some((i.parse().ok()?, v.parse().ok()?)))
                .collect();
            t.values.insert(obj.to_string(), map);
        }
        "absent" => {
            let mut w = rest.split_whitespace();
            let Some(obj) = w.next() else { return };
            let pages = w.filter_map(|i| i.parse().ok()).collect();
            t.absent.insert(obj.to_string(), pages);
        }
        "objpage" | "held" => {
            let mut w = rest.split_whitespace();
            let owner = if word == "held" {
                let th = w.next().unwrap_or("?");
                format!("{th}:{}", w.next().unwrap_or("?"))
            } else {
                w.next().unwrap_or("?").to_string()
            };
            let index = w.next().and_then(|i| i.parse().ok()).unwrap_or(0);
            let state = w
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            t.pages.push(PageReport {
                owner,
                index,
                state,
            });
        }
        "unsupported" => {
            if !matches!(t.status, Status::Unsupported(_)) {
                t.status = Status::Unsupported(rest.to_string());
            }
        }
        "error" => t.status = Status::Error(rest.to_string()),
        "opfail" | "mapfail" => t.notes.push(format!("{word} {rest}")),
        _ => t.notes.push(format!("{word} {rest}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_block_and_an_interrupted_test() {
        let lines: Vec<String> = [
            "noise",
            "@mmlab boot 6.1.0-56-amd64 uptime=2.50",
            "@mmlab begin 0 t0",
            "@mmlab reg P0 r0 512",
            "@mmlab reg P0 r1 SIGBUS",
            "@mmlab event lost_write P0:r0 bo0[0] pages=1",
            "@mmlab values bo0 0:2 7:1",
            "@mmlab absent d0 0 1",
            "@mmlab objpage bo0 0 present=1 ref=3",
            "@mmlab event stale_read x@mmlab step 7",
            "@mmlab step release",
            "@mmlab event refcount_error P0:r0: 3 released pages left with a negative refcount",
            "@mmlab event refcount_error_at_exit P0:r1: 1 released pages left with a negative refcount",
            "@mmlab end 0 ok 1234 step=final",
            "@mmlab begin 1 t1",
            "[ 3.0] BUG: kernel NULL pointer dereference",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let b = parse(&lines);
        assert_eq!(b.init_uptime, Some(2.5));
        assert_eq!(b.finished.len(), 1);
        let t = &b.finished[0];
        assert_eq!(t.registers["P0:r0"], RegValue::Number(512));
        assert_eq!(t.registers["P0:r1"], RegValue::Signal("SIGBUS".into()));
        assert!(t.has_event("lost_write"));
        // An event relayed after the next step's line still counts (the two reach the
        // console by different paths); the guest names the release at exit itself.
        assert!(t.has_event("refcount_error") && t.has_event("refcount_error_at_exit"));
        assert_eq!(t.events[1].detail, "x");
        assert_eq!(t.last_step, "final");
        assert_eq!(t.values["bo0"][&7], 1);
        assert_eq!(t.absent["d0"], [0, 1]);
        assert_eq!(t.pages[0].state["ref"], "3");
        let (i, k) = b.interrupted.as_ref().unwrap();
        assert_eq!(i.index, 1);
        assert!(k[0].contains("BUG"));
    }
}
