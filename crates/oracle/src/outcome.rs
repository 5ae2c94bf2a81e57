//! What one test did on a real kernel, parsed from the guest's console lines.

use serde::Serialize;
use std::collections::BTreeMap;

/// How a test ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Status {
    /// Every operation ran.
    Ok,
    /// The watchdog killed the test: some call did not return (`hang`).
    Hang,
    /// The test process died of a signal outside a guarded access.
    Crash(String),
    /// The guest kernel oopsed or panicked during the test (first kernel lines attached).
    KernelCrash(String),
    /// The killed test process never exited.
    Wedged,
    /// An operation or option a real kernel (or this guest) cannot perform.
    Unsupported(String),
    /// The oracle itself failed (translation, script, boot).
    Error(String),
}

/// A register's final value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RegValue {
    Number(i64),
    /// `SIGBUS`, `SIGSEGV`: the access that was to set the register got this signal.
    Signal(String),
}

/// An event observed by the guest (`lost_write`, `stale_read`, `hang`, `warn`, `bug`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub name: String,
    pub detail: String,
}

/// The detail of a `warn` event read from a kernel crash report's taint flags (W) rather than
/// from a WARNING line in the log: some WARN fired before the oops was reported, maybe in the
/// crashing step itself.
pub const TAINT_WARN: &str = "the crash report's taint flags include W";

/// A struct page's state as the driver read it at the end of the test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PageReport {
    /// `OBJ` for object pages, `P0:r0` for pages held by a register.
    pub owner: String,
    pub index: u64,
    /// `present=1 pfn=0x.. value=.. ref=.. map=.. pinned=..` as printed by the guest.
    pub state: BTreeMap<String, String>,
}

/// The outcome of one test on one kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GuestOutcome {
    pub index: usize,
    pub name: String,
    pub status: Status,
    /// `P0:r0` → value.
    pub registers: BTreeMap<String, RegValue>,
    /// Threads ended by a fatal signal: `P0` → `SIGBUS`.
    pub signals: BTreeMap<String, String>,
    pub events: Vec<Event>,
    /// Final object contents: object → page → value (pages not listed hold 0, unless they
    /// are in `absent`).
    pub values: BTreeMap<String, BTreeMap<u64, u64>>,
    /// Pages a driver object no longer has at the end (it was destroyed): no value at all.
    pub absent: BTreeMap<String, Vec<u64>>,
    pub pages: Vec<PageReport>,
    /// Operations that failed in a way the litmus result cannot express (`munmap -22`).
    pub notes: Vec<String>,
    /// The step (operation index) the test was at when it ended.
    pub last_step: String,
    /// After a kernel crash: whether a WARN had fired in the test, read from the oops
    /// report's taint flags (None: no report line carried them, or no crash).
    pub warned_before_crash: Option<bool>,
    pub elapsed_us: u64,
}

impl GuestOutcome {
    /// The outcome of test `index` before anything was observed.
    pub fn new(index: usize, name: &str) -> GuestOutcome {
        GuestOutcome {
            index,
            name: name.to_string(),
            status: Status::Ok,
            registers: BTreeMap::new(),
            signals: BTreeMap::new(),
            events: Vec::new(),
            values: BTreeMap::new(),
            absent: BTreeMap::new(),
            pages: Vec::new(),
            notes: Vec::new(),
            last_step: "-".into(),
            warned_before_crash: None,
            elapsed_us: 0,
        }
    }

    /// Whether the named event was observed.
    pub fn has_event(&self, name: &str) -> bool {
        self.events.iter().any(|e| e.name == name)
    }
}
