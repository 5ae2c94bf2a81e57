//! PID 1 duties: filesystems, THP, modules, and powering off.

use std::ffi::CString;

use crate::out;

fn mount(source: &str, target: &str, fstype: &str) {
    let _ = std::fs::create_dir_all(target);
    let (Ok(s), Ok(t), Ok(f)) = (
        CString::new(source),
        CString::new(target),
        CString::new(fstype),
    ) else {
        return;
    };
    // SAFETY: valid C strings.
    let r = unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), 0, std::ptr::null()) };
    if r < 0 {
        out::line(&format!("bootlog mount {target}: {}", out::neg_errno()));
    }
}

/// Loads a module file with parameters; returns 0 or -errno.
pub fn insmod(path: &str, params: &str) -> i64 {
    let Ok(file) = std::fs::File::open(path) else {
        return -(libc::ENOENT as i64);
    };
    let Ok(p) = CString::new(params) else {
        return -(libc::EINVAL as i64);
    };
    use std::os::fd::AsRawFd;
    // SAFETY: finit_module on an open file with a valid parameter string.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), p.as_ptr(), 0) };
    if r < 0 {
        out::neg_errno()
    } else {
        0
    }
}

/// Mounts /proc, /sys, /dev; THP always; loads the test driver and brd.
pub fn init() {
    mount("proc", "/proc", "proc");
    mount("sysfs", "/sys", "sysfs");
    mount("devtmpfs", "/dev", "devtmpfs");
    let _ = std::fs::write("/sys/kernel/mm/transparent_hugepage/enabled", "always");
    let _ = std::fs::write("/proc/sys/fs/pipe-max-size", "4194304");
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let uptime = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
    out::line(&format!(
        "boot {} uptime={}",
        release.trim(),
        uptime.split_whitespace().next().unwrap_or("?")
    ));
    let r = insmod("/mmlab_oracle.ko", "");
    out::line(&format!("insmod mmlab_oracle {r}"));
    if std::path::Path::new("/brd.ko").exists() {
        let r = insmod("/brd.ko", "rd_nr=1 rd_size=8192");
        out::line(&format!("insmod brd {r}"));
    }
}

/// The first test index to run (`mmlab.first=N` on the kernel command line).
pub fn first_test() -> usize {
    std::fs::read_to_string("/proc/cmdline")
        .unwrap_or_default()
        .split_whitespace()
        .find_map(|w| w.strip_prefix("mmlab.first="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Syncs and powers off (qemu exits).
pub fn power_off() -> ! {
    // SAFETY: we are PID 1 at the end of the run.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
        libc::_exit(0);
    }
}
