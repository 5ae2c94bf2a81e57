//! The stock Debian kernels the oracle can boot, and how their packages are named.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Debian kernel series the oracle knows how to fetch, build modules for, and boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OracleKernel {
    /// Debian 11 (bullseye) 5.10, fetched through a private apt configuration.
    V5_10,
    /// Debian 12 (bookworm) 6.1.
    V6_1,
    /// Debian 12 (bookworm-security) 6.12.
    V6_12,
}

impl OracleKernel {
    /// All supported kernels, oldest first.
    pub const ALL: [OracleKernel; 3] =
        [OracleKernel::V5_10, OracleKernel::V6_1, OracleKernel::V6_12];

    /// Short name used in cache paths and on the command line: `5.10`, `6.1`, `6.12`.
    pub fn name(self) -> &'static str {
        match self {
            OracleKernel::V5_10 => "5.10",
            OracleKernel::V6_1 => "6.1",
            OracleKernel::V6_12 => "6.12",
        }
    }

    /// The upstream release this kernel is based on, as (major, minor): the litmus
    /// `kernel X.Y` to run the model at when comparing with this kernel.
    pub fn version(self) -> (u32, u32) {
        match self {
            OracleKernel::V5_10 => (5, 10),
            OracleKernel::V6_1 => (6, 1),
            OracleKernel::V6_12 => (6, 12),
        }
    }

    /// The oracle kernel for an upstream release, if the oracle has one.
    pub fn from_version(major: u32, minor: u32) -> Option<OracleKernel> {
        OracleKernel::ALL
            .into_iter()
            .find(|k| k.version() == (major, minor))
    }

    /// Whether this kernel comes from Debian 11 and so needs the private bullseye apt setup.
    pub fn needs_bullseye(self) -> bool {
        self == OracleKernel::V5_10
    }

    /// The prefix `apt-cache pkgnames` is asked about to find the image packages.
    pub(crate) fn image_prefix(self) -> &'static str {
        match self {
            OracleKernel::V5_10 => "linux-image-5.10.0-",
            OracleKernel::V6_1 => "linux-image-6.1.0-",
            OracleKernel::V6_12 => "linux-image-6.12.",
        }
    }

    /// Extracts the ABI name (`6.1.0-56`, `6.12.117+deb12`) from an unsigned amd64 image
    /// package name, or None when the name is some other flavour.
    pub(crate) fn abi_of_image(self, package: &str) -> Option<String> {
        let abi = package
            .strip_prefix("linux-image-")?
            .strip_suffix("-amd64-unsigned")?;
        if abi.contains("cloud") || abi.contains("rt") || abi.ends_with("-dbg") {
            return None;
        }
        let ok = match self {
            OracleKernel::V5_10 | OracleKernel::V6_1 => {
                let rest = abi.strip_prefix(&self.image_prefix()["linux-image-".len()..])?;
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())
            }
            OracleKernel::V6_12 => {
                let rest = abi.strip_prefix("6.12.")?.strip_suffix("+deb12")?;
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())
            }
        };
        ok.then(|| abi.to_string())
    }

    /// Candidate kbuild package names for an ABI, most specific first.
    pub(crate) fn kbuild_candidates(self, abi: &str) -> Vec<String> {
        vec![
            format!("linux-kbuild-{abi}"),
            format!("linux-kbuild-{}", self.name()),
        ]
    }
}

impl fmt::Display for OracleKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OracleKernel {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        OracleKernel::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                anyhow::anyhow!("unknown oracle kernel `{s}` (supported: 5.10, 6.1, 6.12)")
            })
    }
}

/// Splits a version or ABI string into numbers for ordering (`6.12.117+deb12` → [6,12,117,12]).
pub(crate) fn version_key(s: &str) -> Vec<u64> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_names() {
        assert_eq!(
            OracleKernel::V6_1.abi_of_image("linux-image-6.1.0-56-amd64-unsigned"),
            Some("6.1.0-56".into())
        );
        assert_eq!(
            OracleKernel::V6_1.abi_of_image("linux-image-6.1.0-56-cloud-amd64-unsigned"),
            None
        );
        assert_eq!(
            OracleKernel::V6_12.abi_of_image("linux-image-6.12.117+deb12-amd64-unsigned"),
            Some("6.12.117+deb12".into())
        );
        assert_eq!(
            OracleKernel::V6_1.abi_of_image("linux-image-6.12.117+deb12-amd64-unsigned"),
            None
        );
    }
}
