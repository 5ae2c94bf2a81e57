//! `OBJ[PAGE]` conditions and stale reads: what page PAGE of an object holds at the end.
//! Pages of anonymous memory and shmem files that have no frame read as zeros, as they do
//! from user space; a driver object's pages exist only while it has them.

use mmlab_explore::Config;
use mmlab_machine::check::check;
use mmlab_machine::{Machine, Verdict};
use mmlab_mm::KernelConfig;

const O: Verdict = Verdict::Ok;
const N: Verdict = Verdict::No;

fn verdicts(source: &str, kernel: &str) -> Vec<Verdict> {
    let test = mmlab_litmus::parse(source).expect("parses");
    let cfg = KernelConfig::parse(kernel).expect("kernel");
    let machine = Machine::new(&test, cfg).expect("builds");
    check(&machine, &Config::default())
        .expect("explores")
        .conditions
        .iter()
        .map(|c| c.verdict)
        .collect()
}

#[test]
fn untouched_shmem_pages_hold_zero() {
    let src = "mm-litmus t\nsetup {\n  memfd f0 size=8K\n  mmap m0 f0 shared rw\n}\n\
               P0 {\n  write m0+4K 3\n}\n\
               forall f0[0] == 0\nforall f0[1] == 3\nexists f0[0] != 0\n";
    for kernel in ["5.11", "6.1", "6.12"] {
        assert_eq!(verdicts(src, kernel), [O, O, N], "{kernel}");
    }
}

#[test]
fn dropped_anonymous_pages_hold_zero() {
    let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  mmap m0 a0 private rw\n}\n\
               P0 {\n  write m0 5\n  madvise m0 dontneed\n}\n\
               forall a0[0] == 0\n";
    assert_eq!(verdicts(src, "6.1"), [O]);
    let kept = src.replace("  madvise m0 dontneed\n", "");
    assert_eq!(verdicts(&kept, "6.1"), [N]);
}

#[test]
fn a_destroyed_driver_object_has_no_contents() {
    let src = "mm-litmus t\nsetup {\n  driver d0 size=4K insert=page\n  mmap m0 d0 shared rw\n}\n\
               P0 {\n  destroy d0\n}\n\
               exists d0[0] == 0\nexists d0[0] != 0\n";
    assert_eq!(verdicts(src, "6.1"), [N, N]);
}

/// A page pinned, then dropped from the process by MADV_DONTNEED: a device read through the
/// pin is stale only where the page holds something other than the zeros the process now
/// reads there.
#[test]
fn stale_read_after_dontneed_depends_on_the_value() {
    let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  mmap m0 a0 private rw\n}\n\
               P0 {\n  write m0 5\n  r0 = pin_user_pages m0 pages=1 write\n  madvise m0 dontneed\n  dma_read r0 -> r1\n}\n\
               exists stale_read\nforall P0:r1 == 5\n";
    assert_eq!(verdicts(src, "6.1"), [O, O]);
    let zeros = src.replace("  write m0 5\n", "");
    let zeros = zeros.replace("P0:r1 == 5", "P0:r1 == 0");
    assert_eq!(verdicts(&zeros, "6.1"), [N, O]);
}
