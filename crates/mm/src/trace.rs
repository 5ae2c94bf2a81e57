//! What an operation went through: the kernel functions entered and the decision taken at each
//! branch. Recording is off while exploring (it is not part of the state) and on when an
//! execution is replayed to explain it.

use crate::events::EventRecord;
use serde::Serialize;
use std::hash::{Hash, Hasher};

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TraceLine {
    /// A kernel function was entered, at a call depth.
    Enter { depth: u16, function: &'static str },
    /// A decision or observation inside the current function.
    Note {
        depth: u16,
        function: &'static str,
        text: String,
    },
    /// An event was raised.
    Event { depth: u16, record: EventRecord },
}

/// The trace recorder. Equal and hash-neutral whatever it holds, so states that differ only
/// in their history are the same state. Off, it is one null pointer: every kernel value
/// carries one, and the explorer copies kernels on every step it runs.
#[derive(Clone, Debug, Default)]
pub struct Tracer(Option<Box<Recording>>);

/// What an enabled [`Tracer`] keeps.
#[derive(Clone, Debug, Default)]
struct Recording {
    /// The kernel functions entered and not yet left, innermost last.
    stack: Vec<&'static str>,
    lines: Vec<TraceLine>,
}

impl PartialEq for Tracer {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Tracer {}
impl Hash for Tracer {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

impl Tracer {
    pub fn enable(&mut self) {
        if self.0.is_none() {
            self.0 = Some(Box::default());
        }
    }

    /// Stops recording and drops what was recorded.
    pub fn disable(&mut self) {
        self.0 = None;
    }

    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    pub fn enter(&mut self, function: &'static str) {
        // The call stack only names functions in trace lines: untraced runs (the
        // explorer's) skip it.
        if let Some(r) = &mut self.0 {
            let depth = r.depth();
            r.lines.push(TraceLine::Enter { depth, function });
            r.stack.push(function);
        }
    }

    pub fn exit(&mut self) {
        if let Some(r) = &mut self.0 {
            r.stack.pop();
        }
    }

    /// The innermost function entered (only known while recording).
    pub fn current(&self) -> &'static str {
        self.0.as_ref().map_or(USER, |r| r.current())
    }

    pub fn note(&mut self, text: impl FnOnce() -> String) {
        if let Some(r) = &mut self.0 {
            let (depth, function) = (r.depth(), r.current());
            r.lines.push(TraceLine::Note {
                depth,
                function,
                text: text(),
            });
        }
    }

    pub fn event(&mut self, record: impl FnOnce() -> EventRecord) {
        if let Some(r) = &mut self.0 {
            let depth = r.depth();
            r.lines.push(TraceLine::Event {
                depth,
                record: record(),
            });
        }
    }

    /// Takes the lines recorded so far.
    pub fn take(&mut self) -> Vec<TraceLine> {
        self.0
            .as_mut()
            .map(|r| std::mem::take(&mut r.lines))
            .unwrap_or_default()
    }
}

/// What [`Tracer::current`] names outside any kernel function.
const USER: &str = "(user)";

impl Recording {
    fn depth(&self) -> u16 {
        self.stack.len().min(u16::MAX as usize) as u16
    }

    fn current(&self) -> &'static str {
        self.stack.last().copied().unwrap_or(USER)
    }
}
