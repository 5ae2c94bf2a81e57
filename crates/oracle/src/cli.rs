//! Argument handling for the `mmlab-oracle` binary.

use anyhow::{bail, Result};

use crate::{setup, Cache, OracleKernel, SetupOptions};

/// Runs the oracle's own command line.
pub fn main(args: Vec<String>) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        bail!("usage: mmlab-oracle setup [KERNEL...]");
    };
    match command.as_str() {
        "setup" => {
            let kernels = parse_kernels(rest)?;
            let cache = Cache::from_env()?;
            let installs = setup(
                &cache,
                &SetupOptions {
                    kernels,
                    install_qemu: true,
                },
                &mut |m| eprintln!("{m}"),
            )?;
            for i in installs {
                println!("{} {} {}", i.kernel, i.abi, i.version);
            }
            Ok(())
        }
        other => bail!("unknown command `{other}`"),
    }
}

fn parse_kernels(args: &[String]) -> Result<Vec<OracleKernel>> {
    if args.is_empty() || args.iter().any(|a| a == "all") {
        return Ok(OracleKernel::ALL.to_vec());
    }
    args.iter().map(|a| a.parse()).collect()
}
