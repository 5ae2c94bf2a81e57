//! Reading new kernel log records from /dev/kmsg between tests, and marking in the log where
//! a test's own steps end.

/// Logged by the test process before it releases what its registers still hold: kernel
/// messages after it come from that release or the process's exit, which the model does not
/// run (the runner names their events `…_at_exit`).
pub const EXIT_MARK: &str = "mmlab: test steps done, releasing";

/// Writes [`EXIT_MARK`] into the kernel log. The log is one ordered record stream, so the
/// runner, which reads it only after the test, still knows which messages came after.
pub fn mark_exit() {
    let line = format!("{EXIT_MARK}\n");
    // SAFETY: plain open/write/close of /dev/kmsg.
    unsafe {
        let fd = libc::open(c"/dev/kmsg".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, line.as_ptr().cast(), line.len());
            libc::close(fd);
        }
    }
}

/// A non-blocking reader positioned at the end of the kernel log.
pub struct Kmsg {
    fd: i32,
}

impl Kmsg {
    /// Opens /dev/kmsg and skips what is already there.
    pub fn open() -> Kmsg {
        // SAFETY: plain open/lseek.
        let fd = unsafe {
            let fd = libc::open(
                c"/dev/kmsg".as_ptr(),
                libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            );
            if fd >= 0 {
                libc::lseek(fd, 0, libc::SEEK_END);
            }
            fd
        };
        Kmsg { fd }
    }

    /// Calls `each` with the message text of every record logged since the last call.
    pub fn drain(&mut self, mut each: impl FnMut(&str)) {
        if self.fd < 0 {
            return;
        }
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: one record per read into a local buffer.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EPIPE) {
                    continue; // records were overwritten; go on with the next
                }
                return;
            }
            if n == 0 {
                return;
            }
            let rec = String::from_utf8_lossy(&buf[..n as usize]);
            let msg = rec.split_once(';').map(|(_, m)| m).unwrap_or(&rec);
            each(msg.lines().next().unwrap_or(""));
        }
    }
}
