//! Evaluating a litmus test's conditions on the one execution a real kernel ran.
//!
//! Three-valued: an atom the guest cannot observe (`use_after_free`, `page_reuse`,
//! `bad_page`, `leak`) is unknown, and so is anything it decides.

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
                expr(&c.expr, outcome)
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

fn expr(e: &lit::Expr, o: &GuestOutcome) -> Option<bool> {
    match &e.kind {
        ExprKind::And(a, b) => match (expr(a, o), expr(b, o)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        ExprKind::Or(a, b) => match (expr(a, o), expr(b, o)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        ExprKind::Not(a) => expr(a, o).map(|v| !v),
        ExprKind::Atom(a) => atom(a, o),
    }
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
    Some(
        o.has_event(name)
            || (name == "bug" && crashed)
            || (name == "hang" && o.status == Status::Hang),
    )
}

fn atom(a: &Atom, o: &GuestOutcome) -> Option<bool> {
    match a {
        Atom::Event(ev) => event_happened(ev.keyword(), o),
        Atom::Page {
            object,
            page,
            op,
            value,
        } => {
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
