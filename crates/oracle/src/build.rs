//! Building what a boot needs: the test module per kernel, the static guest binary, the initramfs.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::Cache;
use crate::cmd;
use crate::cpio::CpioWriter;
use crate::setup::KernelInstall;

const MODULE_SOURCES: [(&str, &str); 8] = [
    ("mmlab_main.c", include_str!("../module/mmlab_main.c")),
    ("mmlab_memory.c", include_str!("../module/mmlab_memory.c")),
    ("mmlab_fault.c", include_str!("../module/mmlab_fault.c")),
    ("mmlab_pages.c", include_str!("../module/mmlab_pages.c")),
    ("mmlab_dmabuf.c", include_str!("../module/mmlab_dmabuf.c")),
    (
        "mmlab_internal.h",
        include_str!("../module/mmlab_internal.h"),
    ),
    ("mmlab_uapi.h", include_str!("../module/mmlab_uapi.h")),
    ("Makefile", include_str!("../module/Makefile")),
];

/// Environment variable naming a prebuilt guest binary (skips the cargo build).
pub const GUEST_ENV: &str = "MMLAB_ORACLE_GUEST";

/// Distinguishes initramfs files of concurrent runs in one process.
static INITRAMFS_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Serializes module builds within this process (they share a build directory per kernel).
static MODULE_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Builds the test module against a kernel's headers (skipped when the sources are unchanged).
pub fn build_module(cache: &Cache, install: &KernelInstall) -> Result<PathBuf> {
    let _guard = MODULE_BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let dir = cache.build_dir(install.kernel).join("module");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let ko = dir.join("mmlab_oracle.ko");
    let mut changed = !ko.exists();
    for (name, text) in MODULE_SOURCES {
        let path = dir.join(name);
        if fs::read_to_string(&path).ok().as_deref() != Some(text) {
            fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            changed = true;
        }
    }
    // Sources of an older layout would be compiled too (or clash with the module's name).
    for entry in fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let source = name.ends_with(".c") || name.ends_with(".h");
        if source && !MODULE_SOURCES.iter().any(|(n, _)| *n == name) {
            fs::remove_file(entry.path()).with_context(|| format!("removing stale {name}"))?;
            changed = true;
        }
    }
    if changed {
        let compiler = if cmd::have_program("gcc-12") {
            "gcc-12"
        } else {
            "gcc"
        };
        cmd::run(
            Command::new("make")
                .arg("-C")
                .arg(&install.headers)
                .arg(format!("M={}", dir.display()))
                .arg(format!("CC={compiler}"))
                .arg("CONFIG_DEBUG_INFO_BTF_MODULES=")
                .arg("modules"),
        )
        .with_context(|| format!("building the test module for kernel {}", install.kernel))?;
    }
    if !ko.exists() {
        bail!(
            "module build for {} produced no {}",
            install.kernel,
            ko.display()
        );
    }
    Ok(ko)
}

/// The workspace root (this crate lives in crates/oracle).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds (or finds) the static guest runner binary.
pub fn build_guest() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(GUEST_ENV).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if !p.exists() {
            bail!("{GUEST_ENV}={} does not exist", p.display());
        }
        return Ok(p);
    }
    let root = workspace_root();
    let target = "x86_64-unknown-linux-gnu";
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target_dir.join(target).join("release/mmlab-oracle-guest");
    if is_fresh(&bin, &root.join("crates/oracle-guest")) {
        return Ok(bin);
    }
    cmd::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "-q",
                "-p",
                "mmlab-oracle-guest",
                "--target",
                target,
            ])
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .current_dir(&root),
    )
    .context("building the guest runner (mmlab-oracle-guest)")?;
    if !bin.exists() {
        bail!("guest build produced no {}", bin.display());
    }
    Ok(bin)
}

/// Whether `bin` is newer than every file of the guest crate (skips a cargo invocation,
/// which may wait for the workspace's build lock).
fn is_fresh(bin: &Path, crate_dir: &Path) -> bool {
    fn newest(dir: &Path) -> Option<std::time::SystemTime> {
        let mut best = None;
        for entry in fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            let t = if path.is_dir() {
                newest(&path)
            } else {
                entry.metadata().ok()?.modified().ok()
            };
            if t > best {
                best = t;
            }
        }
        best
    }
    let Ok(built) = fs::metadata(bin).and_then(|m| m.modified()) else {
        return false;
    };
    newest(crate_dir).is_some_and(|src| src <= built)
}

/// Reads a module file, decompressing `.ko.xz`.
fn read_module(path: &Path) -> Result<Vec<u8>> {
    if path.extension().is_some_and(|e| e == "xz") {
        let out = cmd::output(Command::new("xz").arg("-dc").arg(path))
            .with_context(|| format!("decompressing {}", path.display()))?;
        return Ok(out.stdout);
    }
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The brd (RAM disk) module of a kernel, if the image ships it.
fn find_brd(install: &KernelInstall) -> Option<PathBuf> {
    let dir = install.modules.join("kernel/drivers/block");
    ["brd.ko", "brd.ko.xz"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists())
}

/// Writes an initramfs with the guest as /init, the modules, and `script`; returns its path.
pub fn build_initramfs(
    cache: &Cache,
    install: &KernelInstall,
    module: &Path,
    guest: &Path,
    script: &str,
) -> Result<PathBuf> {
    let mut w = CpioWriter::new();
    for d in ["dev", "proc", "sys", "tmp"] {
        w.dir(d);
    }
    w.char_dev("dev/console", 5, 1);
    w.file(
        "init",
        0o755,
        &fs::read(guest).with_context(|| format!("reading {}", guest.display()))?,
    );
    w.file("mmlab_oracle.ko", 0o644, &read_module(module)?);
    if let Some(brd) = find_brd(install) {
        w.file("brd.ko", 0o644, &read_module(&brd)?);
    }
    w.file("script", 0o644, script.as_bytes());
    let path = cache.build_dir(install.kernel).join(format!(
        "initramfs-{}-{}.cpio",
        std::process::id(),
        INITRAMFS_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    fs::write(&path, w.finish()).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
