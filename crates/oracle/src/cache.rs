//! Where the oracle keeps downloaded packages, unpacked kernels and build products.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use crate::kernel::OracleKernel;

/// Environment variable overriding the cache directory.
pub const CACHE_ENV: &str = "MMLAB_ORACLE_CACHE";

/// The oracle's cache directory layout.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache at `$MMLAB_ORACLE_CACHE`, else `~/.cache/mmlab/oracle`.
    pub fn from_env() -> Result<Cache> {
        if let Some(dir) = std::env::var_os(CACHE_ENV).filter(|d| !d.is_empty()) {
            return Ok(Cache::at(PathBuf::from(dir)));
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .context("neither MMLAB_ORACLE_CACHE nor HOME is set: cannot place the oracle cache")?;
        Ok(Cache::at(PathBuf::from(home).join(".cache/mmlab/oracle")))
    }

    /// A cache rooted at `root`.
    pub fn at(root: PathBuf) -> Cache {
        Cache { root }
    }

    /// The cache's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Downloaded .deb files.
    pub fn debs(&self) -> PathBuf {
        self.root.join("debs")
    }

    /// A private apt configuration's directory (`bullseye`, `backports`).
    pub fn apt_dir(&self, name: &str) -> PathBuf {
        self.root.join("apt").join(name)
    }

    /// Everything belonging to one kernel.
    pub fn kernel_dir(&self, kernel: OracleKernel) -> PathBuf {
        self.root.join("kernels").join(kernel.name())
    }

    /// The unpacked packages of a kernel.
    pub fn kernel_root(&self, kernel: OracleKernel) -> PathBuf {
        self.kernel_dir(kernel).join("root")
    }

    /// The file recording a finished kernel setup.
    pub fn kernel_manifest(&self, kernel: OracleKernel) -> PathBuf {
        self.kernel_dir(kernel).join("kernel.json")
    }

    /// Build products (module, guest binary, initramfs) for a kernel.
    pub fn build_dir(&self, kernel: OracleKernel) -> PathBuf {
        self.kernel_dir(kernel).join("build")
    }
}
