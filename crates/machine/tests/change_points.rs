//! Every change point tested on both sides: the release before it and the release that has
//! it give the outcomes the change is about.

use mmlab_explore::Config;
use mmlab_machine::check::check;
use mmlab_machine::{replay, Machine, Verdict};
use mmlab_mm::mm::page_alloc::{DEVMEM_START, ZERO_PFN};
use mmlab_mm::{ChangePoint, KernelConfig};

const OK: Verdict = Verdict::Ok;
const NO: Verdict = Verdict::No;

fn machine(source: &str, kernel: &str) -> Machine {
    let test = mmlab_litmus::parse(source).unwrap_or_else(|d| panic!("{d:?}"));
    Machine::new(&test, KernelConfig::parse(kernel).expect("kernel")).expect("setup")
}

fn verdicts(source: &str, kernel: &str) -> Vec<Verdict> {
    check(&machine(source, kernel), &Config::default())
        .expect("explores")
        .verdicts()
}

/// The trace of running each thread in turn.
fn trace_text(source: &str, kernel: &str) -> String {
    let m = machine(source, kernel);
    let schedule: Vec<usize> = (0..m.threads.len())
        .flat_map(|t| std::iter::repeat_n(t, m.threads[t].len()))
        .collect();
    let (steps, _) = replay(&m, &schedule);
    format!("{:?}", steps.iter().map(|s| &s.trace).collect::<Vec<_>>())
}

/// The releases on both sides of a change point.
fn sides(cp: ChangePoint) -> (String, String) {
    let all = KernelConfig::each_change_point();
    let at = cp.release();
    let before = all
        .iter()
        .map(|k| k.release)
        .filter(|r| *r < at)
        .max()
        .expect("an earlier release");
    (before.to_string(), at.to_string())
}

fn both_sides(cp: ChangePoint, source: &str, before: &[Verdict], after: &[Verdict]) {
    let (b, a) = sides(cp);
    assert_eq!(verdicts(source, &b), before, "{cp:?} before, at {b}");
    assert_eq!(verdicts(source, &a), after, "{cp:?} at {a}");
}

#[test]
fn ttm_nuke_mixedmap() {
    let src = "mm-litmus t\nsetup {\n  ttm bo0 size=4K place=system\n  dmabuf b0 exports bo0 require_pfnmap\n  mmap m0 b0 shared rw\n}\nP0 {\n  touch m0\n}\nforbid warn\n";
    both_sides(ChangePoint::TtmNukeMixedmap, src, &[NO], &[OK]);
}

#[test]
fn ttm_remove_huge() {
    let src = "mm-litmus t\nsetup {\n  ttm bo0 size=2M place=vram huge=pmd\n  mmap m0 bo0 shared rw\n}\nP0 {\n  touch m0\n  r0 = get_user_pages_fast m0 pages=1\n}\nforbid bad_page\n";
    both_sides(ChangePoint::TtmRemoveHuge, src, &[NO], &[OK]);
}

#[test]
fn gup_eexist_cleanup() {
    let get = "mm-litmus t\nsetup {\n  driver d0 size=4K insert=mixed pfn=none\n  mmap m0 d0 shared rw\n}\nP0 {\n  touch m0\n  r0 = get_user_pages m0\n}\nexists P0:r0 == -EFAULT\nexists P0:r0 == -EEXIST\n";
    both_sides(ChangePoint::GupEexistCleanup, get, &[OK, NO], &[NO, OK]);
    // FOLL_PIN used to count a page it never returned; releasing it is a wild pointer.
    let pin = "mm-litmus t\nsetup {\n  driver d0 size=4K insert=mixed pfn=none\n  mmap m0 d0 shared rw\n}\nP0 {\n  touch m0\n  r0 = pin_user_pages m0\n  unpin r0\n}\nexists P0:r0 == 1\nforbid bug\n";
    both_sides(ChangePoint::GupEexistCleanup, pin, &[OK, NO], &[NO, OK]);
}

#[test]
fn hugepage_vma_check() {
    let src = "mm-litmus t\nsetup {\n  driver d0 size=2M insert=pmd vm=pfnmap pfn=dev\n  mmap m0 d0 shared rw\n  touch m0\n}\nP0 {\n  r0 = get_user_pages_fast m0 pages=512\n}\nexists P0:r0 == 512\n";
    both_sides(ChangePoint::HugepageVmaCheck, src, &[OK], &[NO]);
}

#[test]
fn remove_foll_cow() {
    let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  mmap m0 a0 private r\n}\nP0 {\n  r0 = get_user_pages m0 write force\n}\nforall P0:r0 == 1\n";
    both_sides(ChangePoint::RemoveFollCow, src, &[OK], &[OK]);
    let (b, a) = sides(ChangePoint::RemoveFollCow);
    assert!(trace_text(src, &b).contains("FOLL_COW and a dirty pte: true"));
    assert!(trace_text(src, &a).contains("exclusive anonymous page: true"));
}

/// A reference-taking GUP call with FOLL_LONGTERM: get_user_pages and get_user_pages_fast
/// refuse it at every release (the real 5.10 kernel did); get_user_pages_fast_only only
/// from 6.3.
#[test]
fn gup_args_checked() {
    let src = |call: &str| {
        format!("mm-litmus t\nsetup {{\n  anon a0 size=4K\n  mmap m0 a0 private rw\n  write m0 1\n}}\nP0 {{\n  r0 = {call} m0 longterm\n}}\nexists P0:r0 == 1\nexists P0:r0 == -EINVAL\nforbid warn\n")
    };
    both_sides(
        ChangePoint::GupArgsChecked,
        &src("get_user_pages_fast_only"),
        &[OK, NO, OK],
        &[NO, OK, NO],
    );
    for call in ["get_user_pages", "get_user_pages_fast"] {
        both_sides(
            ChangePoint::GupArgsChecked,
            &src(call),
            &[NO, OK, NO],
            &[NO, OK, NO],
        );
    }
    both_sides(
        ChangePoint::GupArgsChecked,
        &src("pin_user_pages_fast"),
        &[OK, NO, OK],
        &[OK, NO, OK],
    );
}

#[test]
fn remove_insert_prot() {
    let src = "mm-litmus t\nsetup {\n  driver d0 size=2M insert=pmd vm=pfnmap dax\n  mmap m0 d0 shared rw\n}\nP0 {\n  touch m0\n}\nforbid bug\n";
    let (b, a) = sides(ChangePoint::RemoveInsertProt);
    assert!(trace_text(src, &b).contains("\"vmf_insert_pfn_pmd_prot\""));
    assert!(trace_text(src, &a).contains("\"vmf_insert_pfn_pmd\""));
    assert!(!trace_text(src, &a).contains("vmf_insert_pfn_pmd_prot"));
}

fn zero_page_refs_after_pin(kernel: &str) -> i32 {
    let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  mmap m0 a0 private rw\n}\nP0 {\n  touch m0\n  r0 = pin_user_pages m0\n}\nexists P0:r0 == 1\n";
    let m = machine(src, kernel);
    let before = m.init.kernel.mem.page(ZERO_PFN).refcount;
    let (_, end) = replay(&m, &[0, 0]);
    end.kernel.mem.page(ZERO_PFN).refcount - before
}

#[test]
fn dont_pin_zero_page() {
    let (b, a) = sides(ChangePoint::DontPinZeroPage);
    assert_eq!(zero_page_refs_after_pin(&b), 1024);
    assert_eq!(zero_page_refs_after_pin(&a), 0);
    // Debian's 6.1.y carries the backport; mainline 6.1 does not.
    assert_eq!(zero_page_refs_after_pin("6.1"), 1024);
    assert_eq!(zero_page_refs_after_pin("debian-6.1"), 0);
}

#[test]
fn longterm_file_backed_check() {
    let src = "mm-litmus t\nsetup {\n  driver d0 size=4K insert=page\n  mmap m0 d0 shared rw\n}\nP0 {\n  r0 = io_uring_register m0 size=4K\n}\nexists P0:r0 == -EOPNOTSUPP\nexists P0:r0 == 0\n";
    both_sides(
        ChangePoint::LongtermFileBackedCheck,
        src,
        &[OK, NO],
        &[NO, OK],
    );
}

fn direct_io_pins(kernel: &str) -> bool {
    let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  mmap m0 a0 private rw\n  write m0 1\n}\nP0 {\n  r0 = o_direct_read m0 size=4K\n}\nexists P0:r0 == 4096\n";
    let m = machine(src, kernel);
    let (_, end) = replay(&m, &[0]);
    end.kernel.holds.first().expect("held").pinned
}

#[test]
fn direct_io_pins_pages() {
    let (b, a) = sides(ChangePoint::DirectIoPins);
    assert!(!direct_io_pins(&b));
    assert!(direct_io_pins(&a));
}

#[test]
fn secretmem_gup_fast() {
    let src = "mm-litmus t\nsetup {\n  driver d0 size=4K insert=page vm=io+mixedmap\n  mmap m0 d0 shared rw\n}\nP0 {\n  r0 = get_user_pages_fast m0\n}\nexists P0:r0 == 1\nexists P0:r0 == -EFAULT\n";
    both_sides(ChangePoint::SecretmemGupFast, src, &[OK, NO], &[NO, OK]);
}

#[test]
fn gup_fast_eoverflow() {
    let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  mmap m0 a0 private rw\n}\nP0 {\n  r0 = get_user_pages_fast m0 pages=18446744073709551615\n}\nexists P0:r0 == 0\nexists P0:r0 == -EOVERFLOW\n";
    both_sides(ChangePoint::GupFastEoverflow, src, &[OK, NO], &[NO, OK]);
}

#[test]
fn huge_pfnmap() {
    let src = "mm-litmus t\nsetup {\n  driver d0 size=2M insert=pmd vm=pfnmap pfn=dev dax\n  mmap m0 d0 shared rw\n  touch m0\n}\nP0 {\n  r0 = get_user_pages_fast m0 pages=512\n}\nexists P0:r0 == 512\nexists P0:r0 == -EFAULT\n";
    both_sides(ChangePoint::HugePfnmap, src, &[OK, NO], &[NO, OK]);
}

#[test]
fn remove_devmap() {
    let src = "mm-litmus t\nsetup {\n  driver d0 size=4K insert=mixed vm=mixedmap pfn=dev+map\n  mmap m0 d0 shared rw\n  touch m0\n}\nP0 {\n  r0 = get_user_pages m0\n}\nexists hang\nexists P0:r0 == -EEXIST\n";
    both_sides(ChangePoint::RemoveDevmap, src, &[OK, NO], &[NO, OK]);
}

#[test]
fn unified_vm_normal_page() {
    let src = "mm-litmus t\nsetup {\n  driver d0 size=2M insert=pmd vm=pfnmap dax\n  mmap m0 d0 shared rw\n}\nP0 {\n  touch m0\n}\nforbid bug\n";
    let (b, a) = sides(ChangePoint::UnifiedVmNormalPage);
    let special_huge = |k: &str| {
        let m = machine(src, k);
        let vma = m.init.kernel.vmas[0].clone();
        m.init.kernel.vma_is_special_huge(&vma)
    };
    assert!(special_huge(&b), "DAX vmas are special-huge before {a}");
    assert!(
        !special_huge(&a),
        "{a} excludes DAX from vma_is_special_huge"
    );
    // Either way the eviction's zap touches no page: the entry is special at both releases.
    let evict = src
        .replace("P0 {\n  touch m0\n}", "P0 {\n  touch m0\n  evict d0\n}")
        .replace("forbid bug", "forbid bug || refcount_error || bad_page");
    assert_eq!(verdicts(&evict, &b), [OK]);
    assert_eq!(verdicts(&evict, &a), [OK]);
}

/// A conformance file of tests/oracle, which CI also runs on the real kernels.
fn oracle_file(name: &str) -> String {
    let path = format!(
        "{}/../../tests/oracle/{name}.litmus",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("conformance file")
}

#[test]
fn anon_exclusive() {
    let src = oracle_file("force-pin-twice");
    both_sides(ChangePoint::AnonExclusive, &src, &[NO], &[OK]);
    let (b, a) = sides(ChangePoint::AnonExclusive);
    assert!(trace_text(&src, &b).contains("page_count 1025: copy"));
    assert!(trace_text(&src, &a).contains("PageAnonExclusive: reuse"));
}

#[test]
fn mprotect_try_writable() {
    let src = oracle_file("mprotect-anon-writable");
    both_sides(ChangePoint::MprotectTryWritable, &src, &[NO], &[OK]);
}

#[test]
fn mprotect_clean_anon_writable() {
    let src = oracle_file("mprotect-clean-anon");
    both_sides(ChangePoint::MprotectCleanAnonWritable, &src, &[NO], &[OK]);
}

#[test]
fn zone_device_free_page() {
    let src = oracle_file("devmem-dax-gup-fast-unpin");
    both_sides(ChangePoint::ZoneDeviceFreePage, &src, &[NO], &[OK]);
}

/// The refcounts of the first two pages of a huge PMD of order-0 device pages after a GUP of
/// pages 1 and 2 (the real 5.10: 3 and 1; the real 6.12: 2 and 2).
fn refs_after_mid_entry_gup(kernel: &str) -> (i32, i32) {
    let src = "mm-litmus t
setup {
  driver d0 size=2M insert=pmd memory=devmem vm=mixedmap dax
  mmap m0 d0 shared rw
}
P0 {
  r0 = get_user_pages m0+4K pages=2
}
exists P0:r0 == 2
";
    let m = machine(src, kernel);
    let (_, end) = replay(&m, &[0]);
    // The driver's first device pages are the start of the ZONE_DEVICE range.
    let refs = |i: u64| end.kernel.mem.page(DEVMEM_START.offset(i)).refcount;
    (refs(0), refs(1))
}

#[test]
fn gup_thp_accelerate() {
    let (b, a) = sides(ChangePoint::GupThpAccelerate);
    assert_eq!(
        refs_after_mid_entry_gup(&b),
        (3, 1),
        "every follow grabs pmd_page()"
    );
    assert_eq!(
        refs_after_mid_entry_gup(&a),
        (2, 2),
        "the rest go to the subpage's folio"
    );
}

/// Splitting vmwgfx's huge PMD over VRAM (a 4K vma at offset 4K; the eviction zaps 4K of
/// it) read a wild struct page before 5.18; the real 5.10 oopses there. From 5.16 no driver
/// of the model makes a trans-huge PMD over memory without a memmap that anything splits,
/// so the far side is checked on the kernel function itself (mm::huge_memory's unit test).
#[test]
fn split_huge_pmd_no_page_flags() {
    let src = include_str!("../../../tests/oracle/ttm-vram-huge-pmd-split.litmus");
    assert_eq!(
        verdicts(src, "5.11"),
        [NO, NO],
        "bad_page, and the store is lost"
    );
    assert_eq!(verdicts(src, "5.14"), [NO, NO]);
}

/// pin_user_pages_fast_only is gone: the model still runs its walk, and says so.
#[test]
fn remove_pin_user_pages_fast_only() {
    let src = "mm-litmus t\nsetup {\n  anon a0 size=4K\n  mmap m0 a0 private rw\n  write m0 1\n}\nP0 {\n  r0 = pin_user_pages_fast_only m0\n}\nforall P0:r0 == 1\n";
    both_sides(ChangePoint::RemovePinUserPagesFastOnly, src, &[OK], &[OK]);
    let (b, a) = sides(ChangePoint::RemovePinUserPagesFastOnly);
    let removed = |kernel: &str| {
        machine(src, kernel)
            .not_modelled
            .iter()
            .any(|n| n.contains("pin_user_pages_fast_only does not exist"))
    };
    assert!(!removed(&b), "still there at {b}");
    assert!(removed(&a), "gone at {a}");
    let other = src.replace("pin_user_pages_fast_only", "get_user_pages_fast_only");
    assert!(machine(&other, &a).not_modelled.is_empty());
}

/// io_uring registers buffers through gup-fast from 6.10, which pins an anonymous COW page
/// of a private VM_PFNMAP mapping that the slow path's vma check refused.
#[test]
fn io_uring_pin_fast() {
    let src = include_str!("../../../tests/oracle/iouring-pfnmap-cow.litmus");
    both_sides(
        ChangePoint::IoUringPinFast,
        src,
        &[NO, OK, OK],
        &[OK, OK, OK],
    );
    let (b, a) = sides(ChangePoint::IoUringPinFast);
    assert!(trace_text(src, &b).contains("pin_user_pages\""));
    assert!(trace_text(src, &a).contains("pin_user_pages_fast"));
}

#[test]
fn every_change_point_has_a_test() {
    let tested = [
        ChangePoint::TtmNukeMixedmap,
        ChangePoint::TtmRemoveHuge,
        ChangePoint::GupEexistCleanup,
        ChangePoint::ZoneDeviceFreePage,
        ChangePoint::SplitHugePmdNoPageFlags,
        ChangePoint::AnonExclusive,
        ChangePoint::HugepageVmaCheck,
        ChangePoint::MprotectTryWritable,
        ChangePoint::RemoveFollCow,
        ChangePoint::MprotectCleanAnonWritable,
        ChangePoint::RemoveInsertProt,
        ChangePoint::GupArgsChecked,
        ChangePoint::RemovePinUserPagesFastOnly,
        ChangePoint::DontPinZeroPage,
        ChangePoint::LongtermFileBackedCheck,
        ChangePoint::DirectIoPins,
        ChangePoint::GupThpAccelerate,
        ChangePoint::SecretmemGupFast,
        ChangePoint::IoUringPinFast,
        ChangePoint::GupFastEoverflow,
        ChangePoint::HugePfnmap,
        ChangePoint::RemoveDevmap,
        ChangePoint::UnifiedVmNormalPage,
    ];
    for cp in ChangePoint::ALL {
        assert!(tested.contains(cp), "{cp:?} has no test");
    }
}
