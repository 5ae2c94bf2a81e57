//! Extreme numbers in otherwise valid tests: the model answers as the kernel would (overflow
//! and range checks) and never panics, with or without overflow checks.

use mmlab_explore::Config;
use mmlab_machine::check::check;
use mmlab_machine::Machine;
use mmlab_mm::KernelConfig;

fn run(source: &str, kernel: &str) -> Result<Vec<String>, String> {
    let test = mmlab_litmus::parse(source).map_err(|d| format!("{d:?}"))?;
    let m = Machine::new(&test, KernelConfig::parse(kernel).expect("kernel"))
        .map_err(|e| e.to_string())?;
    let r = check(&m.with_fine(true), &Config::default().max_states(10_000))
        .map_err(|e| e.to_string())?;
    Ok(r.finals.iter().flat_map(|f| f.registers.clone()).collect())
}

const HUGE: &str = "mm-litmus huge\nsetup {\n  anon a0 size=8K\n  mmap m0 a0 private rw\n}\nP0 {\n  r0 = get_user_pages_fast m0 pages=18446744073709551615\n  r1 = pin_user_pages m0+4K pages=9999999999999\n  r2 = o_direct_read m0 size=0x7fffffffffffffff\n  r3 = vmsplice m0 size=0xfffffffffffff000\n  write m0+4K 255\n}\nexists P0:r0 == 0\n";

#[test]
fn wrapping_ranges_are_refused_as_the_kernel_does() {
    let regs = run(HUGE, "6.12").expect("runs");
    assert!(regs.contains(&"P0:r0=-EOVERFLOW".to_string()), "{regs:?}");
    assert!(regs.contains(&"P0:r1=1".to_string()), "{regs:?}");
    assert!(regs.contains(&"P0:r2=-EFAULT".to_string()), "{regs:?}");
    let regs = run(HUGE, "5.11").expect("runs");
    assert!(regs.contains(&"P0:r0=0".to_string()), "{regs:?}");
}

#[test]
fn huge_objects_and_addresses_fail_setup_cleanly() {
    for setup in [
        "anon a0 size=0x7ffffffffffff000\n  mmap m0 a0 shared rw",
        "ttm bo0 size=64G place=system\n  mmap m0 bo0 shared rw",
        "driver d0 size=16G insert=pfn\n  mmap m0 d0 shared rw",
        "anon a0 size=4K\n  mmap m0 a0 shared rw at=0xfffffffffffff000",
    ] {
        let src =
            format!("mm-litmus big\nsetup {{\n  {setup}\n}}\nP0 {{\n  touch m0\n}}\nforbid bug\n");
        // Either the setup is refused or the test runs; nothing panics.
        let _ = run(&src, "6.1");
    }
}
