//! Runs one test in a forked child with a watchdog, and prints its result block.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::exec;
use crate::kmsg::Kmsg;
use crate::out;
use crate::script::Test;

pub const THP: &str = "/sys/kernel/mm/transparent_hugepage/enabled";
/// How long a killed child gets to exit before it is declared wedged.
const REAP_GRACE: Duration = Duration::from_secs(3);
/// How often the runner wakes to charge the watchdog while an operation runs.
const WATCHDOG_TICK: Duration = Duration::from_millis(20);
/// The most one wakeup may charge. Under TCG the guest's clock follows the host's, so a qemu
/// descheduled on a loaded host sees its clock jump: CI once saw a 400 ms watchdog fire
/// during a one-page gup-fast that crashes the kernel a moment later, and report `hang`.
/// A jump charges only this much; a call that really hangs still lets the runner wake every
/// tick, so it is caught after the configured time.
const WATCHDOG_MAX_CHARGE: Duration = Duration::from_millis(60);

/// Set when a test may have left the kernel damaged (refcount errors, kernel BUG/WARN, a
/// crashed or wedged child, a device write through pages that may be free): later tests then
/// need a fresh boot.
static TAINTED: AtomicBool = AtomicBool::new(false);

/// A write through pages no longer their object's may have gone to pages back in the
/// allocator, which later tests then get with that data in them (seen: a fresh anonymous
/// page reading 1 four tests later in the same boot).
const TAINTING_EVENTS: [&str; 6] = [
    "@mmlab event refcount_error",
    "@mmlab event bug",
    "@mmlab event warn",
    "@mmlab event lost_write",
    "@mmlab event use_after_free",
    "@mmlab event page_reuse",
];

/// Runs `test` and prints `begin`, the child's lines, kernel-log events and `end`. Returns
/// whether the kernel may be damaged now.
pub fn run_test(test: &Test, kmsg: &mut Kmsg) -> bool {
    TAINTED.store(false, Ordering::SeqCst);
    out::line(&format!("begin {} {}", test.index, test.name));
    let started = Instant::now();
    if let Some(e) = &test.error {
        out::line(&format!("error {e}"));
        out::line(&format!("end {} error 0 step=-", test.index));
        return false;
    }
    if let Some(mode) = &test.thp {
        let _ = std::fs::write(THP, mode);
    }
    kmsg.drain(|_| {});
    let (status, last_step) = fork_and_watch(test);
    let mut at_exit = false;
    kmsg.drain(|msg| {
        if msg.contains(crate::kmsg::EXIT_MARK) {
            at_exit = true;
        } else if let Some(line) = kernel_event(msg, at_exit) {
            out::line(&line);
        }
    });
    // THP back to `always` first: the zero-page check reads the huge zero page only then.
    let _ = std::fs::write(THP, "always");
    if !zero_pages_clean() {
        TAINTED.store(true, Ordering::SeqCst);
        out::line("event zero_page_written a device wrote into the shared zero page");
    }
    out::line(&format!(
        "end {} {status} {} step={last_step}",
        test.index,
        started.elapsed().as_micros()
    ));
    TAINTED.load(Ordering::SeqCst) || status.starts_with("crash") || status == "wedged"
}

/// Whether the shared zero pages still read as zeros. A device write through a pin of one
/// (taken by a read-only GUP of untouched anonymous memory) would show in every later read of
/// untouched memory in this boot (seen: a fresh memfd page reading 1 six tests later).
fn zero_pages_clean() -> bool {
    const HUGE: usize = 2 << 20;
    let read_first = |len: usize, huge: bool| -> u64 {
        // SAFETY: a private anonymous mapping of our own, read once and unmapped.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return 0;
            }
            let base = p as usize;
            let at = if huge {
                (base + HUGE - 1) & !(HUGE - 1)
            } else {
                base
            };
            let v = std::ptr::read_volatile(at as *const u64);
            libc::munmap(p, len);
            v
        }
    };
    // A 4K mapping faults in the zero page; a 2M-aligned page of a larger one, with THP
    // always, the huge zero page.
    read_first(4096, false) == 0 && read_first(2 * HUGE, true) == 0
}

/// The line a kernel log message is reported as, if it matters: a WARN or a BUG (event
/// `warn` or `bug`, `warn_at_exit` or `bug_at_exit` after the test's steps, which no condition
/// reads), or the driver's taint notice. Each such message taints the boot.
fn kernel_event(msg: &str, at_exit: bool) -> Option<String> {
    let short: String = msg.chars().take(200).collect();
    let suffix = if at_exit { "_at_exit" } else { "" };
    let line = if msg.contains("mmlab: taint:") {
        // The test driver found state a later test of this boot would inherit.
        format!("driver {short}")
    } else if msg.contains("WARNING:") {
        format!("event warn{suffix} {short}")
    } else if [
        "BUG:",
        "kernel BUG",
        "Oops",
        "Bad page",
        "bad pte",
        "Bad rss",
    ]
    .iter()
    .any(|m| msg.contains(m))
    {
        format!("event bug{suffix} {short}")
    } else {
        return None;
    };
    TAINTED.store(true, Ordering::SeqCst);
    Some(line)
}

fn fork_and_watch(test: &Test) -> (String, String) {
    let mut fds = [0i32; 2];
    // SAFETY: creating a pipe and forking; the child only runs the executor and _exits.
    let pid = unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) < 0 {
            return (format!("error pipe {}", out::neg_errno()), "-".into());
        }
        libc::fork()
    };
    if pid < 0 {
        return (format!("error fork {}", out::neg_errno()), "-".into());
    }
    if pid == 0 {
        // SAFETY: in the child: route stdout to the pipe, run, exit without unwinding.
        unsafe {
            libc::close(fds[0]);
            libc::dup2(fds[1], 1);
            libc::close(fds[1]);
            let code = exec::run(test);
            libc::_exit(code);
        }
    }
    // SAFETY: parent closes its copy of the write end.
    unsafe { libc::close(fds[1]) };
    // The watchdog is per operation: every step line from the child restarts it.
    let mut watchdog = Watchdog::new(Duration::from_millis(test.timeout_ms));
    let mut buf = Vec::new();
    let mut last_step = String::from("-");
    let mut hang = false;
    let mut killed_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        watchdog.tick(now);
        if !hang && watchdog.expired() {
            hang = true;
            // SAFETY: killing our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed_at = Some(now);
        }
        let wait = match killed_at {
            Some(t) if now >= t + REAP_GRACE => break,
            Some(t) => t + REAP_GRACE - now,
            None => watchdog.left().min(WATCHDOG_TICK),
        };
        let wait_ms = wait.as_millis().max(1) as i32;
        let mut pfd = libc::pollfd {
            fd: fds[0],
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polling and reading our pipe.
        let n = unsafe { libc::poll(&mut pfd, 1, wait_ms) };
        if n <= 0 {
            continue;
        }
        let mut chunk = [0u8; 4096];
        // SAFETY: reading into a local buffer.
        let r = unsafe { libc::read(fds[0], chunk.as_mut_ptr().cast(), chunk.len()) };
        if r <= 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..r as usize]);
        let before = last_step.clone();
        forward_complete_lines(&mut buf, &mut last_step);
        if last_step != before && !hang {
            watchdog.restart(Instant::now());
        }
    }
    // SAFETY: closing our read end.
    unsafe { libc::close(fds[0]) };
    let status = reap(pid, hang);
    buf.push(b'\n');
    forward_complete_lines(&mut buf, &mut last_step);
    if hang {
        out::line(&format!("event hang step={last_step}"));
    }
    (status, last_step)
}

fn reap(pid: i32, hang: bool) -> String {
    let until = Instant::now() + REAP_GRACE;
    loop {
        let mut st = 0;
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r == pid {
            if hang {
                return "hang".into();
            }
            if libc::WIFSIGNALED(st) {
                return format!("crash:{}", crate::access::signal_name(libc::WTERMSIG(st)));
            }
            return match libc::WEXITSTATUS(st) {
                exec::EXIT_OK => "ok".into(),
                exec::EXIT_UNSUPPORTED => "unsupported".into(),
                _ => "error".into(),
            };
        }
        if r < 0 || Instant::now() >= until {
            return "wedged".into();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Prints the child's complete lines as they arrive (so a kernel crash mid-test still shows
/// how far the test got) and keeps the rest in `buf`.
fn forward_complete_lines(buf: &mut Vec<u8>, last_step: &mut String) {
    let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
        return;
    };
    let complete: Vec<u8> = buf.drain(..=end).collect();
    for line in String::from_utf8_lossy(&complete).lines() {
        if let Some(step) = line.strip_prefix("@mmlab step ") {
            // already on the console (the child writes step lines there itself)
            *last_step = step.to_string();
            continue;
        }
        if TAINTING_EVENTS.iter().any(|e| line.starts_with(e)) {
            TAINTED.store(true, Ordering::SeqCst);
        }
        if line.starts_with("@mmlab ") {
            out::raw(line.as_bytes());
            out::raw(b"\n");
        }
    }
}

/// Time charged to the running operation, counted in wakeups of at most
/// `WATCHDOG_MAX_CHARGE` each so that a stall of the whole guest is not blamed on the call.
struct Watchdog {
    budget: Duration,
    spent: Duration,
    last: Instant,
}

impl Watchdog {
    fn new(budget: Duration) -> Self {
        Watchdog {
            budget,
            spent: Duration::ZERO,
            last: Instant::now(),
        }
    }

    fn tick(&mut self, now: Instant) {
        let since = now.saturating_duration_since(self.last);
        self.spent += since.min(WATCHDOG_MAX_CHARGE);
        self.last = now;
    }

    fn restart(&mut self, now: Instant) {
        self.spent = Duration::ZERO;
        self.last = now;
    }

    fn expired(&self) -> bool {
        self.spent >= self.budget
    }

    fn left(&self) -> Duration {
        self.budget.saturating_sub(self.spent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_messages_after_the_steps_are_named_at_exit() {
        let bad = "BUG: Bad page state in process init  pfn:07901";
        assert_eq!(
            kernel_event(bad, false).as_deref(),
            Some(&*format!("event bug {bad}"))
        );
        assert_eq!(
            kernel_event(bad, true).as_deref(),
            Some(&*format!("event bug_at_exit {bad}"))
        );
        let warn = "WARNING: CPU: 0 PID: 68 at mm/gup.c:1785 is_valid_gup_flags+0x1f/0x40";
        assert!(kernel_event(warn, true).is_some_and(|l| l.starts_with("event warn_at_exit ")));
        assert_eq!(kernel_event("random: crng init done", false), None);
    }

    #[test]
    fn a_stall_of_the_guest_charges_little() {
        let start = Instant::now();
        let mut w = Watchdog::new(Duration::from_millis(400));
        w.restart(start);
        w.tick(start + Duration::from_millis(900));
        assert!(!w.expired(), "one late wakeup is a stall, not a hang");
        assert_eq!(w.left(), Duration::from_millis(340));
    }

    #[test]
    fn regular_wakeups_expire_after_the_budget() {
        let start = Instant::now();
        let mut w = Watchdog::new(Duration::from_millis(400));
        w.restart(start);
        for i in 1..=19 {
            w.tick(start + WATCHDOG_TICK * i);
        }
        assert!(!w.expired());
        w.tick(start + WATCHDOG_TICK * 20);
        assert!(w.expired());
        w.restart(start + WATCHDOG_TICK * 21);
        assert!(!w.expired(), "a new step restarts the watchdog");
    }
}
