//! Evaluating a litmus test's conditions on the one execution a real kernel ran.
//!
//! Three-valued: an atom the guest cannot observe (`use_after_free`, `page_reuse`,
//! `bad_page`, `leak`; an anonymous object's contents; a device access event through pages
//! it cannot check, see `event_in`) is unknown, and so is anything it decides.

use mmlab_litmus as lit;
use mmlab_litmus::{Atom, CmpOp, ExprKind, Quantifier};
use serde::Serialize;

use crate::outcome::{GuestOutcome, RegValue, Status};

/// Events the guest observes directly.
pub const OBSERVABLE_EVENTS: [&str; 6] = [
    "lost_write",
    "stale_read",
    "hang",
    "warn",
    "bug",
    "refcount_error",
];

/// One condition's result on the observed execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConditionOutcome {
    /// `exists`, `forbid`, `forall`.
    pub quantifier: String,
    /// The condition, re-rendered.
    pub condition: String,
    /// The expression's value on this execution; None when it depends on something unobservable.
    pub value: Option<bool>,
    /// Whether this execution is consistent with the condition: an `exists` is witnessed, a
    /// `forbid` not violated, a `forall` not violated. None when unknown.
    pub holds: Option<bool>,
}

/// Evaluates every condition of `test` on `outcome`.
pub fn evaluate(test: &lit::Test, outcome: &GuestOutcome) -> Vec<ConditionOutcome> {
    test.conditions
        .iter()
        .map(|c| {
            let value = if usable(outcome) {
                expr(test, &c.expr, outcome)
            } else {
                None
            };
            let holds = value.map(|v| match c.quantifier {
                Quantifier::Exists | Quantifier::Forall => v,
                Quantifier::Forbid => !v,
            });
            ConditionOutcome {
                quantifier: c.quantifier.keyword().to_string(),
                condition: render(&c.expr),
                value,
                holds,
            }
        })
        .collect()
}

fn usable(o: &GuestOutcome) -> bool {
    matches!(o.status, Status::Ok | Status::Hang | Status::KernelCrash(_))
}

fn expr(test: &lit::Test, e: &lit::Expr, o: &GuestOutcome) -> Option<bool> {
    match &e.kind {
        ExprKind::And(a, b) => match (expr(test, a, o), expr(test, b, o)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        ExprKind::Or(a, b) => match (expr(test, a, o), expr(test, b, o)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        ExprKind::Not(a) => expr(test, a, o).map(|v| !v),
        ExprKind::Atom(a) => atom(test, a, o),
    }
}

/// The registers (`P0:r1`) that take pages the guest cannot check a device access against,
/// and whether a setup operation does: the guest compares with the current contents of the
/// object the pages were taken from, which it cannot read for anonymous memory, and which
/// are not what a private mapping's pages hold once a write copied them (the copies are
/// anonymous). `lost_write` and `stale_read` through those registers are not observed.
fn uncheckable_takers(test: &lit::Test) -> (Vec<String>, bool) {
    let in_setup = test.setup.iter().any(|s| match &s.kind {
        lit::SetupKind::Op(op) => uncheckable_dest(test, op).is_some(),
        _ => false,
    });
    let registers = test
        .threads
        .iter()
        .flat_map(|t| {
            t.ops
                .iter()
                .filter_map(|op| uncheckable_dest(test, &op.kind))
                .map(move |dest| format!("P{}:{dest}", t.index))
        })
        .collect();
    (registers, in_setup)
}

/// The register a GUP call or syscall on a private or anonymous mapping sets.
fn uncheckable_dest<'t>(test: &lit::Test, op: &'t lit::OpKind) -> Option<&'t lit::Reg> {
    let (addr, dest) = match op {
        lit::OpKind::Gup { addr, dest, .. } | lit::OpKind::Syscall { addr, dest, .. } => {
            (addr, dest)
        }
        _ => return None,
    };
    let private = test.mapping(&addr.mapping.node).is_some_and(|m| {
        m.sharing == lit::Sharing::Private
            || test
                .object(&m.object.node)
                .is_some_and(|obj| matches!(obj.kind, lit::ObjectKind::Anon { .. }))
    });
    private.then_some(&dest.node)
}

/// The register an event line names first (`P0:r1 bo0[0] pages=1`).
fn through(e: &crate::outcome::Event) -> &str {
    e.detail.split_whitespace().next().unwrap_or("")
}

/// Whether the named event happened in the observed execution of `test` (None: not
/// observable). A device access event counts only through registers whose pages the guest
/// can check.
///
/// A register whose GUP call counted pages it never stored (`missing_pages`: 5.10's FOLL_PIN
/// on special PTEs) holds garbage pointers, which the model's device dereferences (`bug`)
/// and the guest's driver skips: a device access through it observes neither `bug` nor what
/// the pages would have held.
fn event_in(test: &lit::Test, name: &str, o: &GuestOutcome) -> Option<bool> {
    let missing: Vec<&str> = o
        .events
        .iter()
        .filter(|e| e.name == "missing_pages")
        .map(through)
        .collect();
    if name == "bug" && !missing.is_empty() && event_happened(name, o) == Some(false) {
        return None;
    }
    if !matches!(name, "lost_write" | "stale_read") {
        return event_happened(name, o);
    }
    let (mut uncheckable, in_setup) = uncheckable_takers(test);
    uncheckable.extend(missing.iter().map(|r| r.to_string()));
    let checked = o
        .events
        .iter()
        .any(|e| e.name == name && !uncheckable.iter().any(|r| r == through(e)));
    if checked {
        return Some(true);
    }
    if !uncheckable.is_empty() || in_setup {
        return None;
    }
    event_happened(name, o)
}

/// Whether the named event happened in the observed execution (None: not observable).
pub fn event_happened(name: &str, o: &GuestOutcome) -> Option<bool> {
    if o.has_event(name) {
        return Some(true); // e.g. bad_page, recognised from a kernel crash
    }
    if !OBSERVABLE_EVENTS.contains(&name) {
        return None;
    }
    let crashed = matches!(o.status, Status::KernelCrash(_));
    if crashed && name == "warn" {
        // The guest reads warnings from the log after a test; a crash ends the test first.
        return o.warned_before_crash;
    }
    Some(
        o.has_event(name)
            || (name == "bug" && crashed)
            || (name == "hang" && o.status == Status::Hang),
    )
}

fn atom(test: &lit::Test, a: &Atom, o: &GuestOutcome) -> Option<bool> {
    match a {
        Atom::Event(ev) => event_in(test, ev.keyword(), o),
        Atom::Page {
            object,
            page,
            op,
            value,
        } => {
            // The guest cannot read an anonymous region's pages as an object (it has no file
            // or driver behind it): unknown, not the 0 an unlisted page means elsewhere.
            let anon = test
                .object(&object.node)
                .is_some_and(|obj| matches!(obj.kind, lit::ObjectKind::Anon { .. }));
            if anon {
                return None;
            }
            let absent = o.absent.get(&object.node).is_some_and(|a| a.contains(page));
            if absent {
                return Some(false);
            }
            let v = o
                .values
                .get(&object.node)
                .map(|pages| pages.get(page).copied().unwrap_or(0))?;
            Some(op.holds(v, *value))
        }
        Atom::Reg {
            thread,
            reg,
            op,
            value,
        } => {
            let key = format!("P{}:{}", thread.node, reg.node);
            let have = o
                .registers
                .get(&key)
                .cloned()
                .unwrap_or(RegValue::Number(0));
            Some(compare(&have, *op, value))
        }
    }
}

fn compare(have: &RegValue, op: CmpOp, want: &lit::RegValue) -> bool {
    match (have, want) {
        (RegValue::Number(n), lit::RegValue::Number(m)) => op.holds(*n, *m),
        (RegValue::Number(n), lit::RegValue::Errno(e)) => op.holds(*n, e.value()),
        (RegValue::Signal(s), lit::RegValue::Signal(w)) => match op {
            CmpOp::Eq => s == w.keyword(),
            CmpOp::Ne => s != w.keyword(),
            _ => false,
        },
        (RegValue::Signal(_), _) | (RegValue::Number(_), lit::RegValue::Signal(_)) => {
            op == CmpOp::Ne
        }
    }
}

/// Renders an expression in litmus syntax (fully parenthesized where it matters).
pub fn render(e: &lit::Expr) -> String {
    match &e.kind {
        ExprKind::And(a, b) => format!("({} && {})", render(a), render(b)),
        ExprKind::Or(a, b) => format!("({} || {})", render(a), render(b)),
        ExprKind::Not(a) => format!("!{}", render(a)),
        ExprKind::Atom(Atom::Event(ev)) => ev.keyword().to_string(),
        ExprKind::Atom(Atom::Page {
            object,
            page,
            op,
            value,
        }) => {
            format!("{}[{page}] {} {value}", object.node, op.keyword())
        }
        ExprKind::Atom(Atom::Reg {
            thread,
            reg,
            op,
            value,
        }) => {
            let v = match value {
                lit::RegValue::Number(n) => n.to_string(),
                lit::RegValue::Errno(e) => e.to_string(),
                lit::RegValue::Signal(s) => s.keyword().to_string(),
            };
            format!("P{}:{} {} {v}", thread.node, reg.node, op.keyword())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn values(source: &str, outcome: &GuestOutcome) -> Vec<Option<bool>> {
        let test = lit::parse(source).expect("parses");
        evaluate(&test, outcome).iter().map(|c| c.value).collect()
    }

    #[test]
    fn anonymous_contents_are_unknown_and_unlisted_pages_hold_zero() {
        let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  memfd f0 size=4K\n  \
                   mmap m0 a0 private rw\n  mmap m1 f0 shared rw\n}\nP0 {\n  write m0 1\n}\n\
                   exists a0[0] == 0\nexists f0[0] == 0\n";
        let mut o = GuestOutcome::new(0, "t");
        o.values.insert("a0".into(), BTreeMap::new());
        o.values.insert("f0".into(), BTreeMap::new());
        assert_eq!(values(src, &o), [None, Some(true)]);
    }

    /// A crash ends the test before the guest reads the log, so a WARN is known only from
    /// the oops report's taint flags.
    #[test]
    fn a_warning_before_a_crash_is_known_only_from_the_taint_flags() {
        let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  mmap m0 a0 rw\n}\n\
                   P0 {\n  r0 = get_user_pages_fast m0 pages=1 longterm\n}\n\
                   exists warn\nexists bug\n";
        let mut o = GuestOutcome::new(0, "t");
        o.status = Status::KernelCrash("kernel BUG".into());
        assert_eq!(values(src, &o), [None, Some(true)]);
        o.warned_before_crash = Some(false);
        assert_eq!(values(src, &o), [Some(false), Some(true)]);
        o.warned_before_crash = Some(true);
        assert_eq!(values(src, &o), [Some(true), Some(true)]);
        let lines = |l: &str| vec!["RIP: 0010:x".to_string(), l.to_string()];
        use crate::batch::warned_before_crash as warned;
        let with_w = "CPU: 0 PID: 9 Comm: init Tainted: G        W  O       6.1.0-56-amd64 #1";
        let without = "CPU: 0 PID: 9 Comm: init Tainted: G           O       6.1.0-56-amd64 #1";
        assert_eq!(warned(&lines(with_w)), Some(true));
        assert_eq!(warned(&lines(without)), Some(false));
        assert_eq!(warned(&lines("Kernel panic - not syncing")), None);
    }

    #[test]
    fn an_absent_page_has_no_value() {
        let src =
            "mm-litmus t\nsetup {\n  driver d0 size=4K insert=page\n  mmap m0 d0 shared rw\n}\n\
                   P0 {\n  destroy d0\n}\nexists d0[0] == 0\nexists d0[0] != 0\n";
        let mut o = GuestOutcome::new(0, "t");
        o.values.insert("d0".into(), BTreeMap::new());
        assert_eq!(values(src, &o), [Some(true), Some(false)]);
        o.absent.insert("d0".into(), vec![0]);
        assert_eq!(values(src, &o), [Some(false), Some(false)]);
    }

    #[test]
    fn device_access_events_are_unknown_for_anonymous_and_private_pages() {
        let driver =
            "mm-litmus t\nsetup {\n  driver d0 size=4K insert=page\n  mmap m0 d0 shared rw\n}\n\
                      P0 {\n  r0 = pin_user_pages m0 pages=1 write\n  dma_write r0 1\n}\n\
                      exists lost_write\nexists stale_read\nexists warn\n";
        let anon = driver.replace("driver d0 size=4K insert=page", "anon d0 size=4K");
        let private = driver.replace("mmap m0 d0 shared rw", "mmap m0 d0 private rw");
        let o = GuestOutcome::new(0, "t");
        assert_eq!(values(driver, &o), [Some(false), Some(false), Some(false)]);
        assert_eq!(values(&anon, &o), [None, None, Some(false)]);
        assert_eq!(values(&private, &o), [None, None, Some(false)]);
        let mut seen = o.clone();
        seen.events.push(crate::outcome::Event {
            name: "lost_write".into(),
            detail: "P0:r0 d0[0] pages=1".into(),
        });
        assert_eq!(
            values(driver, &seen),
            [Some(true), Some(false), Some(false)]
        );
        // Reported through a private mapping's pages: the guest compared with the object,
        // which those pages are not.
        assert_eq!(values(&private, &seen), [None, None, Some(false)]);
        // Through pages GUP counted but never stored, which the guest's device skipped.
        let mut missing = seen.clone();
        missing.events.push(crate::outcome::Event {
            name: "missing_pages".into(),
            detail: "P0:r0 1".into(),
        });
        let with_bug = format!("{driver}exists bug\n");
        assert_eq!(values(&with_bug, &missing), [None, None, Some(false), None]);
    }
}
