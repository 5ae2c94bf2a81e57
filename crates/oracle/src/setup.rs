//! `mmlab oracle setup`: fetch and unpack Debian's kernels and headers, install qemu.
//!
//! Packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x` into the cache;
//! nothing is installed except qemu. Debian 11's 5.10 comes through a private apt configuration.
//! Every step is skipped when its result is already in the cache.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::apt::Apt;
use crate::cache::Cache;
use crate::cmd;
use crate::kernel::{version_key, OracleKernel};

/// What setup produced for one kernel (stored as `kernel.json` in the cache).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KernelInstall {
    pub kernel: OracleKernel,
    /// ABI name, e.g. `6.1.0-56`.
    pub abi: String,
    /// Debian package version, e.g. `6.1.192-2`.
    pub version: String,
    /// The bzImage.
    pub vmlinuz: PathBuf,
    /// The kbuild directory modules are built against (`.../linux-headers-ABI-amd64`).
    pub headers: PathBuf,
    /// `/lib/modules/ABI-amd64` inside the unpacked image package.
    pub modules: PathBuf,
}

impl KernelInstall {
    /// Reads the manifest of an already set up kernel.
    pub fn load(cache: &Cache, kernel: OracleKernel) -> Result<KernelInstall> {
        let path = cache.kernel_manifest(kernel);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "kernel {kernel} is not set up (no {}): run `mmlab oracle setup`",
                path.display()
            )
        })?;
        let install: KernelInstall =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if !install.vmlinuz.exists() || !install.headers.exists() {
            bail!("kernel {kernel}'s unpacked files are missing: run `mmlab oracle setup` again");
        }
        Ok(install)
    }
}

/// What to set up.
#[derive(Clone, Debug)]
pub struct SetupOptions {
    pub kernels: Vec<OracleKernel>,
    /// Install qemu-system-x86 when `qemu-system-x86_64` is missing.
    pub install_qemu: bool,
}

impl Default for SetupOptions {
    fn default() -> Self {
        SetupOptions {
            kernels: OracleKernel::ALL.to_vec(),
            install_qemu: true,
        }
    }
}

/// Sets up kernels and qemu; returns one install per kernel. Idempotent.
pub fn setup(
    cache: &Cache,
    options: &SetupOptions,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<KernelInstall>> {
    let mut installs = Vec::new();
    let mut system_apt: Option<Apt> = None;
    let mut bullseye_apt: Option<Apt> = None;
    for &kernel in &options.kernels {
        if let Ok(done) = KernelInstall::load(cache, kernel) {
            log(&format!("kernel {kernel}: {} already set up", done.abi));
            installs.push(done);
            continue;
        }
        require_root_and_apt()?;
        let apt = if kernel.needs_bullseye() {
            if bullseye_apt.is_none() {
                log("updating the private bullseye apt lists");
                let apt = Apt::private(
                    &cache.apt_dir("bullseye"),
                    &[("bullseye", false), ("bullseye-security", true)],
                )?;
                apt.update()?;
                bullseye_apt = Some(apt);
            }
            bullseye_apt.as_ref()
        } else {
            if system_apt.is_none() {
                log("updating the system's apt lists");
                let apt = Apt::system();
                apt.update()?;
                system_apt = Some(apt);
            }
            system_apt.as_ref()
        };
        let apt = apt.context("apt configuration missing")?;
        installs.push(setup_kernel(cache, apt, kernel, log)?);
    }
    if options.install_qemu {
        ensure_qemu(cache, log)?;
    }
    Ok(installs)
}

fn require_root_and_apt() -> Result<()> {
    if !cmd::have_program("apt-get") || !cmd::have_program("dpkg-deb") {
        bail!("oracle setup needs apt-get and dpkg-deb (a Debian system)");
    }
    let status = fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    if euid != "0" {
        bail!(
            "oracle setup must run as root (it runs apt-get update/install); current euid {euid}"
        );
    }
    Ok(())
}

struct Resolved {
    abi: String,
    version: String,
    packages: Vec<String>,
}

fn resolve(apt: &Apt, kernel: OracleKernel) -> Result<Resolved> {
    let mut images: Vec<(Vec<u64>, String, String)> = apt
        .package_names(kernel.image_prefix())?
        .into_iter()
        .filter_map(|p| {
            kernel
                .abi_of_image(&p)
                .map(|abi| (version_key(&abi), abi, p))
        })
        .collect();
    images.sort();
    for (_, abi, image) in images.into_iter().rev() {
        let Some(version) = apt.candidate(&image)? else {
            continue;
        };
        let mut packages = vec![
            image,
            format!("linux-headers-{abi}-amd64"),
            format!("linux-headers-{abi}-common"),
        ];
        let mut kbuild = None;
        for name in kernel.kbuild_candidates(&abi) {
            if apt.candidate(&name)?.as_deref() == Some(version.as_str()) {
                kbuild = Some(name);
                break;
            }
        }
        let kbuild = kbuild
            .with_context(|| format!("no linux-kbuild package at version {version} for {abi}"))?;
        packages.push(kbuild);
        return Ok(Resolved {
            abi,
            version,
            packages,
        });
    }
    bail!(
        "no installable {}*-amd64-unsigned package found for kernel {kernel}",
        kernel.image_prefix()
    )
}

fn setup_kernel(
    cache: &Cache,
    apt: &Apt,
    kernel: OracleKernel,
    log: &mut dyn FnMut(&str),
) -> Result<KernelInstall> {
    let resolved = resolve(apt, kernel)?;
    log(&format!(
        "kernel {kernel}: {} ({})",
        resolved.abi, resolved.version
    ));
    let root = cache.kernel_root(kernel);
    if root.exists() {
        fs::remove_dir_all(&root).with_context(|| format!("removing stale {}", root.display()))?;
    }
    fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    for package in &resolved.packages {
        log(&format!("  fetching {package}"));
        let deb = apt.download(package, &resolved.version, &cache.debs())?;
        cmd::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))
            .with_context(|| format!("unpacking {}", deb.display()))?;
    }
    let abi = &resolved.abi;
    let vmlinuz = root.join(format!("boot/vmlinuz-{abi}-amd64"));
    let headers = root.join(format!("usr/src/linux-headers-{abi}-amd64"));
    let modules = root.join(format!("lib/modules/{abi}-amd64"));
    for p in [&vmlinuz, &headers, &modules] {
        if !p.exists() {
            bail!("unpacked kernel {kernel} lacks {}", p.display());
        }
    }
    relocate_headers(&root, &headers)?;
    let install = KernelInstall {
        kernel,
        abi: abi.clone(),
        version: resolved.version,
        vmlinuz,
        headers,
        modules,
    };
    let manifest = cache.kernel_manifest(kernel);
    fs::write(&manifest, serde_json::to_string_pretty(&install)?)
        .with_context(|| format!("writing {}", manifest.display()))?;
    Ok(install)
}

/// Rewrites absolute `/usr/src/` and `/usr/lib/linux-kbuild` references in the headers'
/// top-level files and fixes absolute symlinks, so the tree works where it was unpacked.
fn relocate_headers(root: &Path, headers: &Path) -> Result<()> {
    let prefix = root.to_string_lossy().into_owned();
    for entry in fs::read_dir(headers).with_context(|| format!("reading {}", headers.display()))? {
        let path = entry?.path();
        let meta = fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path)?;
            if target.is_absolute() {
                let new_target = PathBuf::from(format!("{prefix}{}", target.display()));
                fs::remove_file(&path)?;
                std::os::unix::fs::symlink(&new_target, &path)
                    .with_context(|| format!("relinking {}", path.display()))?;
            }
            continue;
        }
        if !meta.is_file() || meta.len() > 1 << 20 {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let fixed = rewrite_paths(&text, &prefix);
        if fixed != text {
            fs::write(&path, fixed).with_context(|| format!("rewriting {}", path.display()))?;
        }
    }
    Ok(())
}

fn rewrite_paths(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let needles = ["/usr/src/", "/usr/lib/linux-kbuild"];
    loop {
        let next = needles
            .iter()
            .filter_map(|n| rest.find(n).map(|i| (i, *n)))
            .min_by_key(|(i, _)| *i);
        let Some((i, needle)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i]);
        let already = out.ends_with(prefix);
        if !already {
            out.push_str(prefix);
        }
        out.push_str(needle);
        rest = &rest[i + needle.len()..];
    }
}

fn ensure_qemu(cache: &Cache, log: &mut dyn FnMut(&str)) -> Result<()> {
    if cmd::have_program("qemu-system-x86_64") {
        return Ok(());
    }
    require_root_and_apt()?;
    let installed =
        cmd::run(Command::new("dpkg-query").args(["-W", "-f=${Version}", "qemu-utils"]))
            .unwrap_or_default();
    if installed.contains("bpo12") {
        // bookworm's qemu-system-x86 would conflict with the installed backports qemu-utils:
        // install from bookworm-backports through a private sources list.
        log("installing qemu-system-x86 from bookworm-backports (matching the installed qemu-utils)");
        let apt = Apt::private(
            &cache.apt_dir("backports"),
            &[
                ("bookworm", false),
                ("bookworm-updates", false),
                ("bookworm-security", true),
                ("bookworm-backports", false),
            ],
        )?;
        apt.update()?;
        apt.install(&["qemu-system-x86"], Some("bookworm-backports"))?;
    } else {
        log("installing qemu-system-x86");
        let apt = Apt::system();
        apt.update()?;
        apt.install(&["qemu-system-x86"], None)?;
    }
    if !cmd::have_program("qemu-system-x86_64") {
        bail!("qemu-system-x86 was installed but qemu-system-x86_64 is not on PATH");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rewrite_paths;

    #[test]
    fn rewrites_once() {
        let t = "include /usr/src/linux-headers-6.1.0-56-common/Makefile\n";
        let once = rewrite_paths(t, "/c/root");
        assert_eq!(
            once,
            "include /c/root/usr/src/linux-headers-6.1.0-56-common/Makefile\n"
        );
        assert_eq!(rewrite_paths(&once, "/c/root"), once);
    }
}
