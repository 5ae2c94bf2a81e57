//! Extracting the uncompressed ELF `vmlinux` from a bzImage, so qemu can boot it through its
//! PVH entry and skip the in-guest decompressor (0.7-2.7 s per boot under TCG).

use anyhow::{bail, Context, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cache::Cache;
use crate::setup::KernelInstall;

/// Environment variable: set to 1 to boot the bzImage instead.
pub const BZIMAGE_ENV: &str = "MMLAB_ORACLE_BZIMAGE";

/// (magic, decompressor command) for the payload formats Debian kernels use.
const FORMATS: [(&[u8], &[&str]); 3] = [
    (b"\xfd7zXZ\x00", &["xz", "-dc", "--single-stream"]),
    (b"\x28\xb5\x2f\xfd", &["zstd", "-dcq"]),
    (b"\x1f\x8b\x08", &["gzip", "-dc"]),
];

/// The image to boot: the extracted vmlinux when possible (cached), else the bzImage.
pub fn boot_image(cache: &Cache, install: &KernelInstall) -> PathBuf {
    if std::env::var(BZIMAGE_ENV).is_ok_and(|v| v == "1") {
        return install.vmlinuz.clone();
    }
    let out = cache.kernel_dir(install.kernel).join("vmlinux");
    if out.exists() {
        return out;
    }
    match extract(&install.vmlinuz, &out) {
        Ok(()) => out,
        Err(_) => install.vmlinuz.clone(),
    }
}

fn extract(bzimage: &Path, out: &Path) -> Result<()> {
    let image = fs::read(bzimage).with_context(|| format!("reading {}", bzimage.display()))?;
    for (magic, command) in FORMATS {
        let Some(at) = image.windows(magic.len()).position(|w| w == magic) else {
            continue;
        };
        let elf = decompress(command, &image[at..])?;
        if elf.len() < 4 || &elf[..4] != b"\x7fELF" {
            continue;
        }
        let tmp = out.with_extension("tmp");
        fs::write(&tmp, &elf).with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, out).with_context(|| format!("renaming to {}", out.display()))?;
        return Ok(());
    }
    bail!("no known compressed payload in {}", bzimage.display())
}

fn decompress(command: &[&str], data: &[u8]) -> Result<Vec<u8>> {
    let mut child = Command::new(command[0])
        .args(&command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", command[0]))?;
    let mut stdin = child.stdin.take().context("decompressor stdin")?;
    let input = data.to_vec();
    let writer = std::thread::spawn(move || {
        // Trailing data after the stream makes some decompressors stop reading early.
        let _ = stdin.write_all(&input);
    });
    let output = child
        .wait_with_output()
        .context("running the decompressor")?;
    let _ = writer.join();
    Ok(output.stdout)
}
