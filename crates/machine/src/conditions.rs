//! Conditions over a final state, and verdicts over all executions.

use crate::build::Machine;
use crate::state::{RegValue, SignalName, State};
use mmlab_litmus as ast;
use mmlab_mm::Event;

/// The verdict on one condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    Ok,
    No,
}

fn event(e: ast::Event) -> Event {
    match e {
        ast::Event::LostWrite => Event::LostWrite,
        ast::Event::StaleRead => Event::StaleRead,
        ast::Event::BadPage => Event::BadPage,
        ast::Event::UseAfterFree => Event::UseAfterFree,
        ast::Event::PageReuse => Event::PageReuse,
        ast::Event::RefcountError => Event::RefcountError,
        ast::Event::Hang => Event::Hang,
        ast::Event::Bug => Event::Bug,
        ast::Event::Warn => Event::Warn,
        ast::Event::Leak => Event::Leak,
    }
}

fn signal(s: ast::Signal) -> SignalName {
    match s {
        ast::Signal::Sigbus => SignalName::Sigbus,
        ast::Signal::Sigsegv => SignalName::Sigsegv,
    }
}

fn atom(m: &Machine, s: &State, a: &ast::Atom) -> bool {
    match a {
        ast::Atom::Event(e) => s.kernel.events.contains(event(*e).bit()),
        ast::Atom::Page {
            object,
            page,
            op,
            value,
        } => {
            let Some(obj) = m.objects.get(&object.node) else {
                return false;
            };
            match s.kernel.object_content(*obj, *page) {
                Some(v) => op.holds(v as u64, *value),
                None => false,
            }
        }
        ast::Atom::Reg {
            thread,
            reg,
            op,
            value,
        } => {
            let Some(t) = s.threads.get(thread.node) else {
                return false;
            };
            // A register no operation set holds 0, as in herd7 (and on the real kernel).
            let held = t
                .regs
                .get(reg.node.0 as usize)
                .copied()
                .flatten()
                .or(Some(RegValue::Num(0)));
            match value {
                ast::RegValue::Signal(sig) => {
                    let want = signal(*sig);
                    let got = match held {
                        Some(RegValue::Signal(g)) => Some(g),
                        _ => t.killed,
                    };
                    match op {
                        ast::CmpOp::Eq => got == Some(want),
                        ast::CmpOp::Ne => got != Some(want),
                        _ => false,
                    }
                }
                ast::RegValue::Number(n) => match held {
                    Some(RegValue::Num(v)) => op.holds(v, *n),
                    _ => false,
                },
                ast::RegValue::Errno(e) => match held {
                    Some(RegValue::Num(v)) => op.holds(v, e.value()),
                    _ => false,
                },
            }
        }
    }
}

/// Whether the final state `s` satisfies the expression.
pub fn evaluate(m: &Machine, s: &State, e: &ast::Expr) -> bool {
    match &e.kind {
        ast::ExprKind::And(a, b) => evaluate(m, s, a) && evaluate(m, s, b),
        ast::ExprKind::Or(a, b) => evaluate(m, s, a) || evaluate(m, s, b),
        ast::ExprKind::Not(a) => !evaluate(m, s, a),
        ast::ExprKind::Atom(a) => atom(m, s, a),
    }
}
