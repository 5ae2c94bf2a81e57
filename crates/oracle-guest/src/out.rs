//! Result lines: every line the guest prints for the host starts with `@mmlab `.

/// Writes one line to fd 1 with a single write(2), so lines never interleave.
pub fn line(text: &str) {
    let mut s = String::with_capacity(text.len() + 8);
    s.push_str("@mmlab ");
    s.push_str(text);
    s.push('\n');
    raw(s.as_bytes());
}

/// Writes bytes to fd 1, retrying short writes.
pub fn raw(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writing from a valid buffer.
        let n = unsafe { libc::write(1, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// The errno's result value as the spec writes it (`-14`), the host maps names.
pub fn neg_errno() -> i64 {
    -(std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO) as i64)
}

/// Marks the start of operation `step`: on the pipe for the runner (hang reports) and straight
/// on the console (fd 2), so a kernel crash during the operation is attributed to it.
pub fn step(step: &str) {
    let text = format!("@mmlab step {step}\n");
    raw(text.as_bytes());
    // SAFETY: writing from a valid buffer to the inherited console.
    unsafe { libc::write(2, text.as_ptr().cast(), text.len()) };
}
