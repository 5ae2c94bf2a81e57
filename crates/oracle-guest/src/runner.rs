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
    kmsg.drain(report_kernel_line);
    if !zero_pages_clean() {
        TAINTED.store(true, Ordering::SeqCst);
        out::line("event zero_page_written a device wrote into the shared zero page");
    }
    let _ = std::fs::write(THP, "always");
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

fn report_kernel_line(msg: &str) {
    let short: String = msg.chars().take(200).collect();
    if msg.contains("WARNING:") {
        TAINTED.store(true, Ordering::SeqCst);
        out::line(&format!("event warn {short}"));
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
        TAINTED.store(true, Ordering::SeqCst);
        out::line(&format!("event bug {short}"));
    }
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
    // The watchdog is per operation: every step line from the child moves the deadline.
    let budget = Duration::from_millis(test.timeout_ms);
    let mut deadline = Instant::now() + budget;
    let mut buf = Vec::new();
    let mut last_step = String::from("-");
    let mut hang = false;
    let mut killed_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if !hang && now >= deadline {
            hang = true;
            // SAFETY: killing our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed_at = Some(now);
        }
        let limit = match killed_at {
            Some(t) => t + REAP_GRACE,
            None => deadline,
        };
        if killed_at.is_some() && now >= limit {
            break;
        }
        let wait_ms = limit.saturating_duration_since(now).as_millis().max(1) as i32;
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
            deadline = Instant::now() + budget;
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
