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
/// in their history are the same state.
#[derive(Clone, Debug, Default)]
pub struct Tracer {
    enabled: bool,
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
        self.enabled = true;
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn depth(&self) -> u16 {
        self.stack.len().min(u16::MAX as usize) as u16
    }

    pub fn enter(&mut self, function: &'static str) {
        if self.enabled {
            self.lines.push(TraceLine::Enter {
                depth: self.depth(),
                function,
            });
            // The call stack only names functions in trace lines: untraced runs (the
            // explorer's) skip it.
            self.stack.push(function);
        }
    }

    pub fn exit(&mut self) {
        if self.enabled {
            self.stack.pop();
        }
    }

    /// The innermost function entered.
    pub fn current(&self) -> &'static str {
        self.stack.last().copied().unwrap_or("(user)")
    }

    pub fn note(&mut self, text: impl FnOnce() -> String) {
        if self.enabled {
            self.lines.push(TraceLine::Note {
                depth: self.depth(),
                function: self.current(),
                text: text(),
            });
        }
    }

    pub fn event(&mut self, record: impl FnOnce() -> EventRecord) {
        if self.enabled {
            self.lines.push(TraceLine::Event {
                depth: self.depth(),
                record: record(),
            });
        }
    }

    /// Takes the lines recorded so far.
    pub fn take(&mut self) -> Vec<TraceLine> {
        std::mem::take(&mut self.lines)
    }
}
