//! apt invocations: the system's configuration, or a private one with its own sources and state.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd;

/// How apt is invoked: with the system's sources, or with a private sources list and private
/// lists/cache directories (the system's sources are never modified).
#[derive(Clone, Debug)]
pub struct Apt {
    options: Vec<String>,
    label: String,
}

const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const MIRROR: &str = "http://deb.debian.org/debian";
const SECURITY_MIRROR: &str = "http://deb.debian.org/debian-security";

impl Apt {
    /// apt as the system configures it.
    pub fn system() -> Apt {
        Apt {
            options: Vec::new(),
            label: "system".into(),
        }
    }

    /// A private configuration in `dir` whose sources are `suites` (`(suite, is_security)`).
    pub fn private(dir: &Path, suites: &[(&str, bool)]) -> Result<Apt> {
        let parts = dir.join("sources.list.d");
        let lists = dir.join("lists");
        let cache = dir.join("cache");
        for d in [
            &parts,
            &lists.join("partial"),
            &cache.join("archives/partial"),
        ] {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        let mut sources = String::new();
        for (suite, security) in suites {
            let mirror = if *security { SECURITY_MIRROR } else { MIRROR };
            sources.push_str(&format!(
                "deb [signed-by={KEYRING}] {mirror} {suite} main\n"
            ));
        }
        let list = dir.join("sources.list");
        fs::write(&list, sources).with_context(|| format!("writing {}", list.display()))?;
        let options = vec![
            format!("Dir::Etc::SourceList={}", list.display()),
            format!("Dir::Etc::SourceParts={}", parts.display()),
            format!("Dir::State::Lists={}", lists.display()),
            format!("Dir::Cache={}", cache.display()),
        ];
        Ok(Apt {
            options,
            label: format!("private apt in {}", dir.display()),
        })
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        for o in &self.options {
            c.arg("-o").arg(o);
        }
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c
    }

    /// `apt-get update`, failing clearly when the mirrors cannot be reached.
    pub fn update(&self) -> Result<()> {
        let out = self
            .command("apt-get")
            .arg("update")
            .output()
            .context("cannot run apt-get (is this a Debian system with apt?)")?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let offline = [
            "Could not resolve",
            "Failed to fetch",
            "Temporary failure",
            "Unable to connect",
        ];
        if offline.iter().any(|m| stderr.contains(m)) {
            bail!(
                "apt-get update ({}) could not reach the Debian mirrors (offline?):\n{stderr}",
                self.label
            );
        }
        if !out.status.success() {
            bail!(
                "apt-get update ({}) failed ({}):\n{stderr}",
                self.label,
                out.status
            );
        }
        Ok(())
    }

    /// Package names starting with `prefix` known to this configuration's lists.
    pub fn package_names(&self, prefix: &str) -> Result<Vec<String>> {
        let out = cmd::run(self.command("apt-cache").arg("pkgnames").arg(prefix))?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// The candidate version apt would download for `package`, if any.
    pub fn candidate(&self, package: &str) -> Result<Option<String>> {
        let out = cmd::run(self.command("apt-cache").arg("policy").arg(package))?;
        Ok(out
            .lines()
            .find_map(|l| l.trim().strip_prefix("Candidate:"))
            .map(str::trim)
            .filter(|v| *v != "(none)")
            .map(str::to_string))
    }

    /// Downloads `package=version` into `dir` unless a matching .deb is already there.
    pub fn download(&self, package: &str, version: &str, dir: &Path) -> Result<PathBuf> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        if let Some(found) = find_deb(dir, package, version)? {
            return Ok(found);
        }
        cmd::run(
            self.command("apt-get")
                .arg("download")
                .arg(format!("{package}={version}"))
                .current_dir(dir),
        )
        .with_context(|| format!("downloading {package} {version} ({})", self.label))?;
        find_deb(dir, package, version)?.with_context(|| {
            format!(
                "apt-get download left no .deb for {package} {version} in {}",
                dir.display()
            )
        })
    }

    /// `apt-get install -y [-t release] packages`.
    pub fn install(&self, packages: &[&str], target_release: Option<&str>) -> Result<()> {
        let mut c = self.command("apt-get");
        c.args(["install", "-y", "--no-install-recommends"]);
        if let Some(t) = target_release {
            c.arg("-t").arg(t);
        }
        c.args(packages);
        cmd::run(&mut c).with_context(|| format!("installing {packages:?} ({})", self.label))?;
        Ok(())
    }
}

fn find_deb(dir: &Path, package: &str, version: &str) -> Result<Option<PathBuf>> {
    let encoded = version.replace(':', "%3a");
    let want = format!("{package}_{encoded}_");
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&want) && name.ends_with(".deb") {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}
