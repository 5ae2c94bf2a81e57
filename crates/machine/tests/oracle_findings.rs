//! Behaviours first seen to differ from the real kernels when random tests ran on both
//! (`mmlab diff`), each checked here on the model: what page PAGE of an object holds at the
//! end (`OBJ[PAGE]` conditions, stale reads), how the generic driver moves and releases
//! objects, how `anon` memory is mapped, the data syscalls move, and gup-fast on PROT_NONE
//! entries. Pages of anonymous memory and shmem files that have no frame read as zeros, as
//! they do from user space; a driver object's pages exist only while it has them.

use mmlab_explore::Config;
use mmlab_machine::check::check;
use mmlab_machine::{replay, Machine, Verdict};
use mmlab_mm::mm::page_alloc::{PhysMem, Region};
use mmlab_mm::KernelConfig;

const O: Verdict = Verdict::Ok;
const N: Verdict = Verdict::No;

fn machine(source: &str, kernel: &str) -> Machine {
    let test = mmlab_litmus::parse(source).expect("parses");
    let cfg = KernelConfig::parse(kernel).expect("kernel");
    Machine::new(&test, cfg).expect("builds")
}

fn verdicts(source: &str, kernel: &str) -> Vec<Verdict> {
    check(&machine(source, kernel), &Config::default())
        .expect("explores")
        .verdicts()
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

/// The oracle's module refuses to move or destroy an object it already destroyed: nothing is
/// allocated or mapped again.
#[test]
fn a_destroyed_object_is_not_moved() {
    for object in [
        "driver d0 size=4K insert=fault_page",
        "ttm d0 size=4K place=system",
    ] {
        let src = format!(
            "mm-litmus t\nsetup {{\n  {object}\n  mmap m0 d0 shared rw\n}}\n\
             P0 {{\n  destroy d0\n  evict d0 to=system\n  destroy d0\n  read m0 -> r0\n}}\n\
             forall P0:r0 == SIGBUS\nexists d0[0] == 0\n"
        );
        assert_eq!(verdicts(&src, "6.1"), [O, N], "{object}");
    }
}

/// Where page 0 of `d0` is after running `ops` in turn: RAM, device memory, ...
fn region_after(object: &str, ops: &str) -> Option<Region> {
    let src = format!("mm-litmus t\nsetup {{\n  {object}\n  mmap m0 d0 shared rw\n}}\nP0 {{\n{ops}}}\nforbid bug\n");
    let m = machine(&src, "6.1");
    let steps = vec![0; m.threads[0].len()];
    let (_, end) = replay(&m, &steps);
    end.kernel
        .object_pfn(m.objects["d0"], 0)
        .and_then(PhysMem::region)
}

/// `to=vram` takes a generic driver's object to device memory without struct pages, and
/// `to=system` to RAM; a mode that needs struct pages refuses device memory and keeps its
/// pages (and mappings).
#[test]
fn generic_driver_moves_to_the_memory_asked() {
    let pfn = "driver d0 size=4K insert=pfn";
    assert_eq!(region_after(pfn, "  evict d0\n"), Some(Region::Ram));
    assert_eq!(
        region_after(pfn, "  evict d0 to=vram\n"),
        Some(Region::IoMemory)
    );
    assert_eq!(
        region_after(pfn, "  evict d0 to=vram\n  evict d0\n"),
        Some(Region::IoMemory)
    );
    assert_eq!(
        region_after(pfn, "  evict d0 to=vram\n  evict d0 to=system\n"),
        Some(Region::Ram)
    );
    let iomem = "driver d0 size=4K insert=pfn memory=iomem";
    assert_eq!(
        region_after(iomem, "  evict d0 to=system\n"),
        Some(Region::Ram)
    );
    let pages = "mm-litmus t\nsetup {\n  driver d0 size=4K insert=page\n  mmap m0 d0 shared rw\n}\n\
                 P0 {\n  write m0 3\n  r0 = get_user_pages m0 pages=1\n  evict d0 to=vram\n  dma_write r0 7\n}\n\
                 exists lost_write\nforall d0[0] == 7\n";
    assert_eq!(verdicts(pages, "6.1"), [N, O]);
    let moved = pages.replace("to=vram", "to=system");
    assert_eq!(verdicts(&moved, "6.1"), [O, N]);
}

/// A shared mapping of anonymous memory is private anonymous memory (a shared one would be a
/// shmem file, which is `memfd`): a forced write into it after mprotect is allowed, as for
/// any COW mapping, where a shared file mapping refuses it.
#[test]
fn anon_memory_is_private_whatever_the_sharing_word() {
    let src = |object: &str, sharing: &str| {
        format!(
            "mm-litmus t\nsetup {{\n  {object} o0 size=4K\n  mmap m0 o0 {sharing} rw\n}}\n\
             P0 {{\n  touch m0\n  mprotect m0 r\n  r0 = get_user_pages m0 pages=1 write force\n}}\n\
             forall P0:r0 == 1\n"
        )
    };
    for kernel in ["5.11", "6.1", "6.12"] {
        assert_eq!(verdicts(&src("anon", "shared"), kernel), [O], "{kernel}");
        assert_eq!(verdicts(&src("anon", "private"), kernel), [O], "{kernel}");
        assert_eq!(verdicts(&src("memfd", "private"), kernel), [O], "{kernel}");
        assert_eq!(verdicts(&src("memfd", "shared"), kernel), [N], "{kernel}");
    }
}

/// O_DIRECT moves data between the pages it takes and a block device (page i to block i,
/// from a zeroed device); process_vm_writev writes the caller's buffer, zeros.
#[test]
fn syscalls_move_their_data() {
    let src = "mm-litmus t\nsetup {\n  memfd f0 size=8K\n  memfd f1 size=8K\n  \
               mmap m0 f0 shared rw\n  mmap m1 f1 shared rw\n}\n\
               P0 {\n  write m0 4\n  write m0+4K 5\n  r0 = o_direct_write m0 size=8K\n  \
               r1 = o_direct_read m1+4K size=4K\n  write m0 6\n  r2 = process_vm_writev m0+4K size=4K\n}\n\
               forall f1[1] == 4\nforall f1[0] == 0\nforall f0[0] == 6\nforall f0[1] == 0\n";
    for kernel in ["5.11", "6.1", "6.12"] {
        assert_eq!(verdicts(src, kernel), [O, O, O, O], "{kernel}");
    }
    // A device never written reads as zeros, over whatever the pages held.
    let fresh = "mm-litmus t\nsetup {\n  memfd f0 size=4K\n  mmap m0 f0 shared rw\n}\n\
                 P0 {\n  write m0 3\n  r0 = o_direct_read m0 size=4K\n  r1 = process_vm_readv m0 size=4K\n}\n\
                 forall f0[0] == 0\n";
    assert_eq!(verdicts(fresh, "6.1"), [O]);
}

/// gup-fast takes nothing through an entry mprotect made PROT_NONE (pte_access_permitted),
/// where it took the page before.
#[test]
fn gup_fast_refuses_prot_none_entries() {
    let src = "mm-litmus t\nsetup {\n  memfd f0 size=4K\n  mmap m0 f0 shared rw\n}\n\
               P0 {\n  touch m0\n  mprotect m0 none\n  r0 = pin_user_pages_fast_only m0 pages=1\n  \
               r1 = get_user_pages_fast_only m0 pages=1\n}\nforall P0:r0 == 0 && P0:r1 == 0\n";
    for kernel in ["5.11", "6.1", "6.12"] {
        assert_eq!(verdicts(src, kernel), [O], "{kernel}");
        let readable = src.replace("mprotect m0 none", "mprotect m0 r");
        assert_eq!(verdicts(&readable, kernel), [N], "{kernel}");
    }
}

/// A memfd page allocated at fault time holds zeros, though its frame may be one a driver
/// just freed with data in it.
#[test]
fn new_shmem_pages_are_cleared() {
    let src =
        "mm-litmus t\nsetup {\n  memfd o0 size=8K\n  driver o1 size=16K insert=fault_page\n  \
               mmap m0 o0 private r\n  mmap m1 o1 shared rw\n}\n\
               P0 {\n  evict o1\n  write m1 8\n  evict o1\n  r0 = o_direct_write m0 size=4K\n}\n\
               forall o0[0] == 0\n";
    assert_eq!(verdicts(src, "6.1"), [O]);
}

/// A driver that calls vm_insert_page at mmap time on a vma it made VM_PFNMAP hits the
/// BUG_ON in vm_insert_page: the real kernels oops inside mmap(2). The test ends in setup,
/// with `bug`, and no thread runs; without VM_PFNMAP the same driver maps its page.
#[test]
fn a_bug_in_setup_ends_the_test() {
    let src = "mm-litmus t\nsetup {\n  driver d0 size=4K insert=page vm=pfnmap\n  mmap m0 d0 shared rw\n}\n\
               P0 {\n  read m0 -> r0\n}\n\
               forall bug\nexists P0:r0 == 0\nexists P0:r0 == SIGSEGV\n";
    for kernel in ["5.11", "6.1", "6.12"] {
        let m = machine(src, kernel);
        let stop = m.setup_stop.as_ref().expect("setup oopsed");
        assert_eq!(stop.statement, "mmap m0 d0 shared rw");
        assert!(stop.reason.contains("BUG"), "{}", stop.reason);
        // Unset registers read 0: the thread never ran, so it was not killed either.
        assert_eq!(verdicts(src, kernel), [O, O, N], "{kernel}");
    }
    let plain = src.replace(" vm=pfnmap", "");
    assert!(machine(&plain, "6.1").setup_stop.is_none());
    assert_eq!(verdicts(&plain, "6.1"), [N, O, N]);
}

/// A PROT_NONE mapping that the driver fills at mmap time (remap_pfn_range) gets PAGE_NONE
/// entries, which user space cannot load through: SIGSEGV. mprotect back to read gives the
/// entries the user bit again, and the load completes without a fault.
#[test]
fn prot_none_entries_refuse_user_access() {
    let src =
        "mm-litmus t\nsetup {\n  driver d0 size=4K insert=remap\n  mmap m0 d0 shared none\n}\n\
               P0 {\n  read m0 -> r0\n}\n\
               forall P0:r0 == SIGSEGV\n";
    for kernel in ["5.11", "6.1", "6.12"] {
        assert_eq!(verdicts(src, kernel), [O], "{kernel}");
    }
    let reopened = src.replace("P0 {\n", "P0 {\n  mprotect m0 r\n");
    assert_eq!(verdicts(&reopened, "6.1"), [N]);
    let shut =
        "mm-litmus t\nsetup {\n  driver d0 size=4K insert=remap\n  mmap m0 d0 shared rw\n}\n\
                P0 {\n  mprotect m0 none\n  mprotect m0 rw\n  write m0 4\n  read m0 -> r0\n}\n\
                forall P0:r0 == 4\n";
    assert_eq!(verdicts(shut, "6.1"), [O]);
}

/// A fatal signal in setup (a store into a read-only mapping) ends the test there, as the
/// oracle's guest does: the mapping after it is never made and no thread runs.
#[test]
fn a_fatal_signal_in_setup_ends_the_test() {
    let src = "mm-litmus t\nsetup {\n  memfd f0 size=4K\n  mmap m0 f0 shared r\n  write m0 6\n  mmap m1 f0 shared rw\n}\n\
               P0 {\n  write m1 2\n}\n\
               forall f0[0] == 0\n";
    let m = machine(src, "6.1");
    let stop = m.setup_stop.as_ref().expect("setup ended");
    assert_eq!(stop.statement, "write m0 6");
    assert!(stop.reason.contains("SIGSEGV"), "{}", stop.reason);
    assert!(!m.mappings.contains_key("m1"));
    assert_eq!(verdicts(src, "6.1"), [O]);
    let writable = src.replace("shared r\n", "shared rw\n");
    assert_eq!(verdicts(&writable, "6.1"), [N]);
}

/// gup-fast on a huge PMD of device memory without a memmap takes pmd_page(), a struct page
/// that does not exist: the real kernels oops in that task ("BUG: unable to handle page
/// fault" in the vmemmap). The model reports `bad_page` and the thread dies (SIGSEGV);
/// the same test on system memory pins all 512 pages.
#[test]
fn a_wild_struct_page_oopses_the_task() {
    let src = "mm-litmus t\nsetup {\n  ttm bo size=2M place=vram huge=pmd\n  mmap m0 bo shared rw\n}\n\
               P0 {\n  touch m0\n  r0 = get_user_pages_fast m0 pages=512\n  r1 = get_user_pages_fast m0 pages=1\n}\n\
               forall bad_page\nforall P0:r0 == SIGSEGV && P0:r1 == 0\n";
    assert_eq!(verdicts(src, "5.11"), [O, O]);
    let system = src.replace("place=vram", "place=system");
    assert_eq!(verdicts(&system, "5.11"), [N, N]);
}

/// The verdicts of a conformance file of tests/oracle (which CI also runs on the real
/// kernels) at `kernel`.
fn oracle_file_verdicts(name: &str, kernel: &str) -> Vec<Verdict> {
    let path = format!(
        "{}/../../tests/oracle/{name}.litmus",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).expect("conformance file");
    verdicts(&source, kernel)
}

/// Seen in a random test: `mprotect m0 rw` on a private mapping that already was rw made
/// its COW-broken pages read-only, so gup-fast-only refused to write-pin them (model 0,
/// kernel 1 on 5.10 and 6.1). mprotect_fixup returns early when the flags do not change.
#[test]
fn mprotect_to_the_same_protection_changes_nothing() {
    for kernel in ["5.11", "6.1", "6.12"] {
        assert_eq!(
            oracle_file_verdicts("mprotect-same-flags", kernel),
            [O],
            "{kernel}"
        );
    }
}

#[test]
fn mprotect_maps_dirty_exclusive_anonymous_pages_writable_from_6_0() {
    for (kernel, v) in [
        ("5.11", N),
        ("5.19", N),
        ("6.0", O),
        ("6.1", O),
        ("6.12", O),
    ] {
        assert_eq!(
            oracle_file_verdicts("mprotect-anon-writable", kernel),
            [v],
            "{kernel}"
        );
    }
}

/// The FOLL_FORCE write fault leaves a clean PTE from 6.1 (no more FOLL_COW round through
/// do_wp_page, which dirtied it); 6.1's mprotect wants a dirty one, 6.2's does not.
#[test]
fn clean_exclusive_anonymous_pages_become_writable_from_6_2() {
    for (kernel, v) in [("5.11", N), ("6.0", O), ("6.1", N), ("6.2", O), ("6.12", O)] {
        assert_eq!(
            oracle_file_verdicts("mprotect-clean-anon", kernel),
            [v],
            "{kernel}"
        );
    }
}

/// Before PG_anon_exclusive a write fault on a pinned anonymous page copied it (page_count
/// above 1), so a second FOLL_FORCE pin held another page than the first.
#[test]
fn a_write_fault_reuses_a_pinned_exclusive_anonymous_page_from_5_19() {
    for (kernel, v) in [("5.11", N), ("5.18", N), ("5.19", O), ("6.12", O)] {
        assert_eq!(
            oracle_file_verdicts("force-pin-twice", kernel),
            [v],
            "{kernel}"
        );
    }
}

/// Seen in a random test: a gup-fast of zero pages took 2 on every kernel, the model 0.
/// gup-fast's end is then its start, and its PTE loop (a do-while) runs on until an entry
/// stops it; when it took pages, the slow path goes on with the wrapped-around remainder
/// until a gap in the address space. The slow entry points return 0.
#[test]
fn a_gup_fast_of_zero_pages_runs_on_until_an_entry_stops_it() {
    for kernel in ["5.11", "6.1", "6.12", "7.2"] {
        assert_eq!(
            oracle_file_verdicts("gup-zero-pages", kernel),
            [O, O, O, O, O],
            "{kernel}"
        );
        // Over huge entries, nothing is taken and nothing is left behind.
        assert_eq!(
            oracle_file_verdicts("gup-zero-pages-huge", kernel),
            [O, O],
            "{kernel}"
        );
    }
}

/// Seen in a random test: a store through a 4K mapping at page 2 of a huge-faulting TTM BO
/// landed on page 0 in the model, on page 2 in the oracle. The oracle's TTM look-alike had
/// the generic driver's vma-range checks; vmwgfx's huge fault has none (it rounds the
/// faulting page down and only the PMD's start must lie in the vma). With the look-alike
/// fixed, the real 5.10 agrees with the model: page 0.
#[test]
fn vmwgfx_huge_fault_maps_the_rounded_down_block_into_a_small_vma() {
    for (kernel, v) in [("5.11", [O, N]), ("5.16", [N, O]), ("6.1", [N, O])] {
        assert_eq!(
            oracle_file_verdicts("ttm-huge-pmd-small-vma", kernel),
            v,
            "{kernel}"
        );
    }
}

/// A 1G device pool block in the oracle's guest (stop 18) let the real kernels check PUDs:
/// devmap PUDs over ZONE_DEVICE memory, PFN_DEV-only PUDs, PUDs over iomem, vmwgfx's PUD over
/// VRAM. Every file agreed with the model on 5.10, 6.1 and 6.12 as it stood.
#[test]
fn huge_puds_over_device_memory() {
    for kernel in ["5.11", "6.1", "6.12"] {
        assert_eq!(
            oracle_file_verdicts("devmem-devmap-pud-gup", kernel),
            [O, O, O],
            "{kernel}"
        );
        assert_eq!(
            oracle_file_verdicts("devmem-devmap-pud-longterm-evict", kernel),
            [O, O, O, O],
            "{kernel}"
        );
        assert_eq!(
            oracle_file_verdicts("devmem-devmap-pud-mprotect-dontneed", kernel),
            [O, O, O, O],
            "{kernel}"
        );
    }
    // PFN_DEV alone: gup-fast takes an ordinary huge PUD until 6.12 makes it special; from
    // 5.18 the last put of a ZONE_DEVICE page warns (no ->page_free).
    for (kernel, v) in [
        ("5.11", [O, N, O, O, O]),
        ("6.1", [O, N, O, O, N]),
        ("6.12", [N, O, O, O, O]),
    ] {
        assert_eq!(
            oracle_file_verdicts("devmem-pud-pfn-dev-gup", kernel),
            v,
            "{kernel}"
        );
    }
    // Over iomem, before 6.0 gup-fast reaches pud_page() of a pfn with no memmap.
    for (kernel, v) in [("5.11", [N, N, O]), ("6.1", [O, O, O]), ("6.12", [O, O, O])] {
        assert_eq!(
            oracle_file_verdicts("iomem-pud-gup-munmap", kernel),
            v,
            "{kernel}"
        );
    }
    for (kernel, v) in [("5.11", [N, N]), ("6.1", [O, O])] {
        assert_eq!(
            oracle_file_verdicts("ttm-vram-huge-pud-gup-fast", kernel),
            v,
            "{kernel}"
        );
    }
}

/// Seen in a random test (seed 18182): the real 5.10 oopsed in __split_huge_pmd when an
/// eviction zapped part of vmwgfx's huge PMD over VRAM, and the model saw nothing. Until
/// 5.18 the split read the flags of pmd_page() (SplitHugePmdNoPageFlags).
#[test]
fn splitting_a_vram_huge_pmd_reads_a_wild_struct_page() {
    for (kernel, v) in [("5.11", [N, N]), ("5.16", [O, O]), ("6.1", [O, O])] {
        assert_eq!(
            oracle_file_verdicts("ttm-vram-huge-pmd-split", kernel),
            v,
            "{kernel}"
        );
    }
}

/// Found while the oracle learned PUDs: vmwgfx's VRAM manager (vmw_thp_get_node) places a BO
/// of 1G or more on a 1G boundary (the model placed it on 2M), and ttm_bo_vm_insert_huge
/// checks the pfn's alignment in VRAM too. A 1G BO placed after a small one still gets a
/// PUD, and the PUD maps the BO's own pages.
#[test]
fn vram_bos_of_1g_are_placed_for_puds() {
    let src = "mm-litmus t
kernel 5.11
setup {
  ttm small size=4K place=vram
  ttm big size=1G place=vram huge=pud
  mmap m0 big shared rw
}
P0 {
  write m0+4K 7
}
forbid bad_page
";
    let m = machine(src, "5.11");
    let (steps, end) = replay(&m, &[0]);
    let pfn = end
        .kernel
        .object_pfn(mmlab_mm::ObjId(1), 0)
        .expect("the BO has VRAM");
    assert_eq!(pfn.0 % (1 << 18), 0, "1G-aligned: {pfn:?}");
    let trace = format!("{:?}", steps[0].trace);
    assert!(trace.contains("vmf_insert_pfn_pud_prot"), "{trace}");
}

/// Seen in random test 20127: a GUP range running past the end of its 4K vma into the
/// object's other mapping. Both pages are the object's (gup-fast walks page tables; the slow
/// path looks each address's vma up), so a device write through them reaches it. The
/// oracle's guest had assumed the held pages continue the first vma's object pages and
/// reported a lost write; it now follows each page's mapping. From 6.9 gup-fast-only takes
/// nothing here (driver pages have no `->mapping`), so the second write never happens.
#[test]
fn a_gup_range_crossing_into_another_vma_holds_that_vmas_pages() {
    for (kernel, last_write) in [("5.11", O), ("6.1", O), ("6.6", O), ("6.9", N), ("6.12", N)] {
        assert_eq!(
            oracle_file_verdicts("gup-fast-across-vmas", kernel),
            [O, N, O, last_write],
            "{kernel}"
        );
    }
}

/// Seen in random test 23069 on 6.12: io_uring registered a buffer in a private VM_PFNMAP
/// mapping whose page a write had copied (anonymous), where the model said -EFAULT. 6.12's
/// io_pin_pages uses pin_user_pages_fast, which never looks at the vma; 5.10 and 6.1 use
/// pin_user_pages (`IoUringPinFast`).
#[test]
fn io_uring_registers_a_cow_page_of_a_pfnmap_mapping_from_6_10() {
    for (kernel, registered) in [
        ("5.11", N),
        ("6.1", N),
        ("6.9", N),
        ("6.10", O),
        ("6.12", O),
    ] {
        assert_eq!(
            oracle_file_verdicts("iouring-pfnmap-cow", kernel),
            [registered, O, O],
            "{kernel}"
        );
    }
}

/// Seen in random test 24177: a read fault in a memfd mapping maps the page cache pages
/// around it (do_fault_around), so a later gup-fast-only found the next page where the
/// model, which mapped only the faulting page, took none.
#[test]
fn a_memfd_read_fault_maps_the_cached_pages_around_it() {
    for kernel in ["5.11", "6.1", "6.12", "7.2"] {
        assert_eq!(
            oracle_file_verdicts("memfd-fault-around", kernel),
            [O, O, O, O],
            "{kernel}"
        );
    }
}
