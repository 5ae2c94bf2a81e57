//! Booting a kernel under qemu and collecting its serial console output.

use anyhow::{Context, Result};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How to boot.
#[derive(Clone, Debug)]
pub struct BootConfig {
    /// `tcg` (default; works everywhere) or `kvm`.
    pub accel: String,
    pub memory_mb: u32,
    /// Whole-boot limit.
    pub boot_timeout: Duration,
    /// Limit on silence on the console (a wedged guest).
    pub idle_timeout: Duration,
}

impl Default for BootConfig {
    fn default() -> Self {
        BootConfig {
            accel: "tcg".into(),
            memory_mb: 512,
            boot_timeout: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a boot ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootEnd {
    /// qemu exited (guest powered off, or rebooted after a panic).
    Exited,
    /// The whole-boot limit passed.
    Timeout,
    /// The console stayed silent too long.
    Idle,
}

/// A boot's console lines and how it ended.
pub struct Boot {
    pub lines: Vec<String>,
    pub end: BootEnd,
    pub elapsed: Duration,
}

/// Boots `kernel` with `initrd` and extra command-line words; returns the console output.
pub fn boot(
    kernel: &Path,
    initrd: &Path,
    extra_cmdline: &str,
    config: &BootConfig,
) -> Result<Boot> {
    let cmdline = format!(
        "console=ttyS0 quiet loglevel=3 panic=-1 oops=panic softlockup_panic=1 mitigations=off nokaslr norandmaps \
         transparent_hugepage=always rdinit=/init {extra_cmdline}"
    );
    let started = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args([
            "-accel",
            &config.accel,
            "-m",
            &config.memory_mb.to_string(),
            "-smp",
            "1",
        ])
        .args(["-nographic", "-no-reboot"])
        // Device memory for memory=iomem|devmem: an ivshmem BAR the guest has no struct pages for.
        .args(["-object", "memory-backend-ram,id=mmlabdev,size=4G"])
        .args(["-device", "ivshmem-plain,memdev=mmlabdev"])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(&cmdline)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start qemu-system-x86_64 (run `mmlab oracle setup`)")?;
    let stdout = child.stdout.take().context("qemu stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n') {
            let Ok(bytes) = line else { break };
            let text = String::from_utf8_lossy(&bytes)
                .trim_end_matches('\r')
                .to_string();
            if tx.send(text).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let end = loop {
        let left = config.boot_timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            break BootEnd::Timeout;
        }
        match rx.recv_timeout(left.min(config.idle_timeout)) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break BootEnd::Exited,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if started.elapsed() >= config.boot_timeout {
                    break BootEnd::Timeout;
                }
                break BootEnd::Idle;
            }
        }
    };
    if end != BootEnd::Exited {
        let _ = child.kill();
    }
    let status = child.wait().context("waiting for qemu")?;
    let _ = reader.join();
    if end == BootEnd::Exited && !status.success() && lines.is_empty() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        anyhow::bail!("qemu failed ({status}): {err}");
    }
    Ok(Boot {
        lines,
        end,
        elapsed: started.elapsed(),
    })
}
