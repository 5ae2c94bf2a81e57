//! The fact sheet and the real-kernel oracle as tests: every row of section 14 of
//! kernel-facts.md and every cell of the two results tables of real-kernel-oracle.md is a
//! litmus file under tests/litmus/ (its `doc` lines name the row or cell). This table says,
//! for each file and each release the sources list (plus both sides of the change points
//! involved), the verdict each condition must get from the model, in the file's order.
//!
//! Release "5.10" of the oracle notes is run as 5.11 (the oldest modelled release; nothing
//! the tests touch changed in between); the Debian kernels as `debian-6.1` / `debian-6.12`.
//! Scenarios the model or the format cannot express are listed in docs/coverage.md.

use mmlab_machine::Verdict;
use mmlab_mm::KernelConfig;
use std::path::{Path, PathBuf};

const O: Verdict = Verdict::Ok;
const N: Verdict = Verdict::No;

fn litmus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/litmus")
}

/// Runs `file` at each kernel and compares every condition's verdict; reports all
/// mismatches of the file at once.
fn check_file(file: &str, expected: &[(&str, &[Verdict])]) {
    let path = litmus_dir().join(file);
    let source =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let test = mmlab_litmus::parse(&source).unwrap_or_else(|diags| {
        let text: Vec<String> = diags.iter().map(|d| d.render(file, &source)).collect();
        panic!("{file} does not parse:\n{}", text.join("\n"))
    });
    let mut failures = Vec::new();
    for (kernel, want) in expected {
        let cfg = KernelConfig::parse(kernel).unwrap_or_else(|e| panic!("{kernel}: {e}"));
        let machine = mmlab_machine::Machine::new(&test, cfg)
            .unwrap_or_else(|e| panic!("{file} at {kernel}: machine: {e:?}"));
        let result = mmlab_machine::check::check(&machine, &mmlab_explore::Config::default())
            .unwrap_or_else(|e| panic!("{file} at {kernel}: check: {e}"));
        assert!(
            result.complete,
            "{file} at {kernel}: exploration incomplete"
        );
        assert_eq!(
            result.conditions.len(),
            want.len(),
            "{file} at {kernel}: the table lists {} verdicts for {} conditions",
            want.len(),
            result.conditions.len()
        );
        for (i, (got, want)) in result.conditions.iter().zip(want.iter()).enumerate() {
            if got.verdict != *want {
                failures.push(format!(
                    "  {kernel}: c{} `{}`: expected {want:?}, model says {:?}",
                    i + 1,
                    got.text,
                    got.verdict
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{file} disagrees with its facts:\n{}",
        failures.join("\n")
    );
}

/// One test per litmus file: `name => "file" { "kernel": [verdicts], ... }`.
macro_rules! facts {
    ($( $name:ident => $file:literal { $( $kernel:literal : [ $($v:expr),* $(,)? ] ),* $(,)? } )*) => {
        /// Every file the table covers.
        const FILES: &[&str] = &[ $( $file, )* ];
        $(
            #[test]
            fn $name() {
                check_file($file, &[ $( ($kernel, &[ $($v),* ]) ),* ]);
            }
        )*
    };
}

facts! {
    // ---- kernel-facts.md section 14 ----

    // Row 1: TTM system PTEs: -EFAULT, fast and slow, GET and PIN. 5.14 flips the vma from
    // MIXEDMAP|IO to PFNMAP|IO (f91142c62161): same outcome on both sides.
    row01_ttm_system_pte => "row01-ttm-system-pte.litmus" {
        "5.11": [O, O, O, O, O],
        "5.14": [O, O, O, O, O],
        "6.1": [O, O, O, O, O],
        "6.12": [O, O, O, O, O],
        "7.2": [O, O, O, O, O],
    }
    // Row 2: TTM VRAM PTEs: -EFAULT.
    row02_ttm_vram_pte => "row02-ttm-vram-pte.litmus" {
        "5.11": [O, O, O, O, O],
        "5.14": [O, O, O, O, O],
        "6.1": [O, O, O, O, O],
        "6.12": [O, O, O, O, O],
        "7.2": [O, O, O, O, O],
    }
    // Row 3: TTM huge PMD: gup-fast GET/PIN take 512 pages until 0d979509539e (5.16), and the
    // release is unbalanced (refcount_error); afterwards -EFAULT.
    row03_ttm_huge_pmd_fast => "row03-ttm-huge-pmd-fast.litmus" {
        "5.11": [O, O, N, N],
        "5.14": [O, O, N, N],
        "5.16": [N, N, O, O],
        "6.1": [N, N, O, O],
        "7.2": [N, N, O, O],
    }
    // Row 4: TTM VRAM huge PMD: pmd_page() on a pfn without memmap until 5.16.
    row04_ttm_vram_huge_pmd => "row04-ttm-vram-huge-pmd.litmus" {
        "5.11": [N, O],
        "5.14": [N, O],
        "5.16": [O, O],
        "6.1": [O, O],
        "7.2": [O, O],
    }
    // Row 5: the devmap proposal: gup-fast backs off, slow path -EFAULT; fast_only 0.
    row05_ttm_huge_pmd_devmap_fix => "row05-ttm-huge-pmd-devmap-fix.litmus" {
        "5.11": [O, O, O, O],
        "5.14": [O, O, O, O],
        "5.16": [O, O, O, O],
        "6.1": [O, O, O, O],
        "7.2": [O, O, O, O],
    }
    // Row 5b: non-IO vma, devmap PMD without pgmap, slow GET/PIN: -EFAULT while devmap
    // exists; at 7.2 (no devmap) the special PMD over RAM is taken.
    row05b_devmap_pmd_no_pgmap_slow => "row05b-devmap-pmd-no-pgmap-slow.litmus" {
        "5.11": [O, O],
        "6.1": [O, O],
        "6.12": [O, O],
        "6.17": [N, N],
        "7.2": [N, N],
    }
    // Row 6: remap_pfn_range: -EFAULT everywhere.
    row06_remap_pfn_range => "row06-remap-pfn-range.litmus" {
        "5.11": [O, O, O, O],
        "6.1": [O, O, O, O],
        "6.12": [O, O, O, O],
        "7.2": [O, O, O, O],
    }
    // Row 7: vm_insert_page pages are pinned, fast or slow, also LONGTERM; 6.9's secretmem
    // check sends gup-fast to the slow path, which pins them.
    row07_insert_page_pin => "row07-insert-page-pin.litmus" {
        "5.11": [O, O, O, O, O],
        "6.1": [O, O, O, O, O],
        "6.5": [O, O, O, O, O],
        "6.9": [O, O, O, O, O],
        "6.12": [O, O, O, O, O],
        "7.2": [O, O, O, O, O],
    }
    // Row 8: special PTE in a MIXEDMAP vma, slow: 5.11 GET -EFAULT, PIN counts an unfilled
    // pages[] entry (1); from the -EEXIST cleanup (5.18) both -EEXIST.
    row08_mixed_pte_slow => "row08-mixed-pte-slow.litmus" {
        "5.11": [O, N, O, N],
        "5.16": [O, N, O, N],
        "5.18": [N, O, N, O],
        "6.1": [N, O, N, O],
        "6.12": [N, O, N, O],
        "7.2": [N, O, N, O],
    }
    // Row 8b: the same through gup-fast.
    row08b_mixed_pte_fast => "row08b-mixed-pte-fast.litmus" {
        "5.11": [O, N, O, N],
        "5.16": [O, N, O, N],
        "5.18": [N, O, N, O],
        "6.1": [N, O, N, O],
        "6.12": [N, O, N, O],
        "7.2": [N, O, N, O],
    }
    // Row 9: DAX devmap PMD with a pgmap: the device path pins 512 subpages (7.2's folio
    // inserts are not modelled: docs/coverage.md).
    row09_dax_devmap_pmd_pin => "row09-dax-devmap-pmd-pin.litmus" {
        "5.11": [O, O],
        "6.1": [O, O],
        "6.12": [O, O],
    }
    // Row 10: devmap PTE without a pgmap: the slow path retries forever until 6.17 removes
    // devmap; then the PTE is special and the answer is -EEXIST. GET and PIN.
    row10_mixed_devmap_pte_hang_get => "row10-mixed-devmap-pte-hang-get.litmus" {
        "5.11": [N, N],
        "6.1": [N, N],
        "6.12": [N, N],
        "6.17": [O, O],
        "7.2": [O, O],
    }
    row10_mixed_devmap_pte_hang_pin => "row10-mixed-devmap-pte-hang-pin.litmus" {
        "5.11": [N, N],
        "6.1": [N, N],
        "6.12": [N, N],
        "6.17": [O, O],
        "7.2": [O, O],
    }
    // Row 11: huge PFNMAP over a BAR: 6.12+ special PMD, -EFAULT; 6.0/6.1 no huge fault in
    // special vmas (PTEs), -EFAULT; 5.11-5.18 an unmarked PMD: gup-fast's wild pmd_page().
    row11_vfio_huge_pfnmap => "row11-vfio-huge-pfnmap.litmus" {
        "5.11": [N, O],
        "5.18": [N, O],
        "6.0": [O, O],
        "6.1": [O, O],
        "6.9": [O, O],
        "6.12": [O, O],
        "7.2": [O, O],
    }
    // Row 11, drm-shmem style huge PFNMAP over RAM: 5.11-5.18 gup-fast takes it; -EFAULT after.
    row11b_shmem_huge_pfnmap => "row11b-shmem-huge-pfnmap.litmus" {
        "5.11": [N, O],
        "5.18": [N, O],
        "6.0": [O, N],
        "6.1": [O, N],
        "6.12": [O, N],
        "7.2": [O, N],
    }
    // Row 11, PUD: as the PMD case.
    row11c_vfio_huge_pud => "row11c-vfio-huge-pud.litmus" {
        "5.11": [N, O],
        "6.1": [O, O],
        "6.12": [O, O],
        "7.2": [O, O],
    }
    // Row 12: MIXEDMAP huge special PMD without memmap: the slow path's pmd_page() at 6.12 and
    // 7.2; 6.0-6.9 no huge fault, special PTE, -EEXIST; 5.11 an unmarked PMD, same wild page.
    row12_mixed_huge_special_slow => "row12-mixed-huge-special-slow.litmus" {
        "5.11": [N, O],
        "6.1": [O, O],
        "6.9": [O, O],
        "6.12": [N, O],
        "7.2": [N, O],
    }
    // Row 13: pinning the zero page: 1 page, balanced (no-op pin from the backport / 6.5).
    row13_zero_page_pin => "row13-zero-page-pin.litmus" {
        "5.11": [O, O],
        "6.1": [O, O],
        "debian-6.1": [O, O],
        "6.5": [O, O],
        "6.12": [O, O],
        "7.2": [O, O],
    }
    // Row 16: TTM eviction clears special entries without touching page references.
    row16_ttm_evict => "row16-ttm-evict.litmus" {
        "5.11": [O, O],
        "5.14": [O, O],
        "6.1": [O, O],
        "6.12": [O, O],
        "7.2": [O, O],
    }
    // Row 16 with the huge PMD of 5.11-5.15.
    row16b_ttm_evict_huge => "row16b-ttm-evict-huge.litmus" {
        "5.11": [O, O],
        "5.14": [O, O],
        "5.16": [O, O],
        "6.1": [O, O],
        "7.2": [O, O],
    }

    // ---- kernel-facts.md, section 15 (addenda) ----

    // gup-fast refuses NULL-mapping small folios from the secretmem fix (~6.9): a VM_IO
    // vm_insert_page mapping is taken at 6.1 and refused (-EFAULT) at 6.12.
    s15_secretmem_gup_fast => "s15-secretmem-gup-fast.litmus" {
        "5.11": [O, N],
        "6.1": [O, N],
        "6.5": [O, N],
        "6.9": [N, O],
        "6.12": [N, O],
        "7.2": [N, O],
    }
    // 5.11 TTM pool, WC caching: the evicted block is cleared and reused while pinned.
    s15_ttm_pool_wc_clear => "s15-ttm-pool-wc-clear.litmus" {
        "5.11": [O, O, N, N],
        "5.14": [O, O, N, N],
        "5.16": [N, N, O, O],
    }

    // ---- real-kernel-oracle.md, the 6.1.192 / 6.12.117 table ----
    // Columns: O_DIRECT (pread and pwrite), process_vm_readv/writev, vmsplice, io_uring.
    // Besides the two Debian kernels, the mainline releases on both sides of the change that
    // makes a cell differ: 6.3/6.5 (io_uring leaves the file-backed check to GUP), 6.9/6.12
    // (huge pfnmap), 5.16/5.18 (-EEXIST cleanup).

    oracle_pfnmap_pte => "oracle-pfnmap-pte.litmus" {
        "debian-6.1": [O, O, O, O],
        "debian-6.12": [O, O, O, O],
    }
    oracle_remap_pfn_range => "oracle-remap-pfn-range.litmus" {
        "debian-6.1": [O, O, O, O],
        "debian-6.12": [O, O, O, O],
    }
    // EEXIST, EFAULT, EEXIST, EEXIST.
    oracle_mixed_pte => "oracle-mixed-pte.litmus" {
        "debian-6.1": [O, O, O, O],
        "debian-6.12": [O, O, O, O],
        "5.16": [N, N, N, N],
        "5.18": [O, O, O, O],
    }
    // HANG in every column (one file per column: a hang ends the test on a real kernel).
    oracle_mixed_devmap_pte_odirect => "oracle-mixed-devmap-pte-odirect.litmus" {
        "debian-6.1": [N],
        "debian-6.12": [N],
    }
    oracle_mixed_devmap_pte_pvm => "oracle-mixed-devmap-pte-pvm.litmus" {
        "debian-6.1": [N],
        "debian-6.12": [N],
    }
    oracle_mixed_devmap_pte_vmsplice => "oracle-mixed-devmap-pte-vmsplice.litmus" {
        "debian-6.1": [N],
        "debian-6.12": [N],
    }
    oracle_mixed_devmap_pte_iouring => "oracle-mixed-devmap-pte-iouring.litmus" {
        "debian-6.1": [N],
        "debian-6.12": [N],
    }
    // ok, ok, ok, EOPNOTSUPP -> ok.
    oracle_insert_page => "oracle-insert-page.litmus" {
        "debian-6.1": [O, O, O, O, N],
        "debian-6.12": [O, O, O, N, O],
        "6.3": [O, O, O, O, N],
        "6.5": [O, O, O, N, O],
    }
    oracle_fault_page => "oracle-fault-page.litmus" {
        "debian-6.1": [O, O, O, O, N],
        "debian-6.12": [O, O, O, N, O],
        "6.3": [O, O, O, O, N],
        "6.5": [O, O, O, N, O],
    }
    oracle_vmalloc_range => "oracle-vmalloc-range.litmus" {
        "debian-6.1": [O, O, O, O, N],
        "debian-6.12": [O, O, O, N, O],
        "6.3": [O, O, O, O, N],
        "6.5": [O, O, O, N, O],
    }
    // vmsplice: "old page held after evict".
    // (vm_insert_page: the write after the eviction faults the moved page back in.)
    oracle_insert_page_vmsplice_evict => "oracle-insert-page-vmsplice-evict.litmus" {
        "debian-6.1": [O, N],
        "debian-6.12": [O, N],
    }
    oracle_fault_page_vmsplice_evict => "oracle-fault-page-vmsplice-evict.litmus" {
        "debian-6.1": [O, N],
        "debian-6.12": [O, N],
    }
    // EFAULT everywhere (6.1 falls back to PTEs, 6.12 special PMD).
    oracle_pmd_pfnmap => "oracle-pmd-pfnmap.litmus" {
        "debian-6.1": [O, O, O, O],
        "debian-6.12": [O, O, O, O],
    }
    // ok -> EFAULT, EFAULT, ok -> EFAULT, EFAULT.
    oracle_pmd_pfnmap_dax => "oracle-pmd-pfnmap-dax.litmus" {
        "debian-6.1": [O, N, O, O, N, O],
        "debian-6.12": [N, O, O, N, O, O],
        "6.9": [O, N, O, O, N, O],
        "6.12": [N, O, O, N, O, O],
        "7.2": [N, O, O, N, O, O],
    }
    oracle_pmd_pfnmap_dax_vmsplice_evict => "oracle-pmd-pfnmap-dax-vmsplice-evict.litmus" {
        "debian-6.1": [O, N, N],
        "debian-6.12": [N, O, O],
        "6.9": [O, N, N],
        "6.12": [N, O, O],
        "7.2": [N, O, O],
    }
    // EEXIST -> ok, EFAULT -> ok, EEXIST -> ok, EEXIST -> ok.
    oracle_pmd_mixed => "oracle-pmd-mixed.litmus" {
        "debian-6.1": [O, N, O, N, O, N, O, N],
        "debian-6.12": [N, O, N, O, N, O, N, O],
        "6.9": [O, N, O, N, O, N, O, N],
        "6.12": [N, O, N, O, N, O, N, O],
        "7.2": [N, O, N, O, N, O, N, O],
    }
    // ok, ok, ok, EOPNOTSUPP -> ok.
    oracle_pmd_mixed_dax => "oracle-pmd-mixed-dax.litmus" {
        "debian-6.1": [O, O, O, O, N],
        "debian-6.12": [O, O, O, N, O],
        "6.3": [O, O, O, O, N],
        "6.5": [O, O, O, N, O],
    }
    // "PMD, any vma, PFN_DEV|PFN_MAP": EFAULT ...
    oracle_pmd_devmap_pfnmap => "oracle-pmd-devmap-pfnmap.litmus" {
        "debian-6.1": [O, O, O, O],
        "debian-6.12": [O, O, O, O],
    }
    oracle_pmd_devmap_pfnmap_dax => "oracle-pmd-devmap-pfnmap-dax.litmus" {
        "debian-6.1": [O, O, O, O],
        "debian-6.12": [O, O, O, O],
    }
    oracle_pmd_devmap_mixed_dax => "oracle-pmd-devmap-mixed-dax.litmus" {
        "debian-6.1": [O, O, O, O],
        "debian-6.12": [O, O, O, O],
    }
    // ... "(6.1 non-DAX mixed: HANG)", one file per column.
    oracle_pmd_devmap_mixed_odirect => "oracle-pmd-devmap-mixed-odirect.litmus" {
        "debian-6.1": [N, N],
        "debian-6.12": [O, O],
        "6.9": [N, N],
        "6.12": [O, O],
    }
    oracle_pmd_devmap_mixed_pvm => "oracle-pmd-devmap-mixed-pvm.litmus" {
        "debian-6.1": [N, N],
        "debian-6.12": [O, O],
        "6.9": [N, N],
        "6.12": [O, O],
    }
    oracle_pmd_devmap_mixed_vmsplice => "oracle-pmd-devmap-mixed-vmsplice.litmus" {
        "debian-6.1": [N, N],
        "debian-6.12": [O, O],
        "6.9": [N, N],
        "6.12": [O, O],
    }
    oracle_pmd_devmap_mixed_iouring => "oracle-pmd-devmap-mixed-iouring.litmus" {
        "debian-6.1": [N, N],
        "debian-6.12": [O, O],
        "6.9": [N, N],
        "6.12": [O, O],
    }

    // ---- real-kernel-oracle.md, the 5.10.262 table (run as 5.11) ----
    // Columns: O_DIRECT, vmsplice, pin_user_pages_fast_only, pin_user_pages_fast LONGTERM,
    // process_vm_*, io_uring. Also the other side of the change that ends each row: 5.16 (TTM
    // huge removed) and 5.18/6.0 (hugepage_vma_check: no huge faults in special vmas).

    oracle510_pmd_pfnmap_compound => "oracle510-pmd-pfnmap-compound.litmus" {
        "5.11": [O, O, O, O, O, O],
        "5.18": [O, O, O, O, O, O],
        "6.0": [N, N, N, N, O, O],
    }
    oracle510_pmd_mixedmap_compound => "oracle510-pmd-mixedmap-compound.litmus" {
        "5.11": [O, O, O, O, O, O],
        "5.18": [O, O, O, O, O, O],
        "6.0": [N, N, N, N, N, N],
    }
    oracle510_pmd_compound_vmsplice_evict => "oracle510-pmd-compound-vmsplice-evict.litmus" {
        "5.11": [O, O, N],
        "5.18": [O, O, N],
        "6.0": [N, N, O],
    }
    // TTM look-alike: MIXEDMAP|IO at 5.11, PFNMAP|IO at 5.14.
    oracle510_ttm_pmd => "oracle510-ttm-pmd.litmus" {
        "5.11": [O, O, O, O, O, O],
        "5.14": [O, O, O, O, O, O],
        "5.16": [N, N, N, N, O, O],
    }
    oracle510_ttm_pmd_devmap_fix => "oracle510-ttm-pmd-devmap-fix.litmus" {
        "5.11": [O, O, O, O, O, O],
        "5.14": [O, O, O, O, O, O],
        "5.16": [O, O, O, O, O, O],
    }
    // The notes: pages 1..511 freed under the pin, reused, negative counts, page 0 leaked.
    oracle510_ttm_pmd_freed_under_pin => "oracle510-ttm-pmd-freed-under-pin.litmus" {
        "5.11": [O, N, N, N, N, N],
        "5.14": [O, N, N, N, N, N],
        "5.16": [N, O, O, O, O, O],
    }
    // The notes: FOLL_PIN on a vmf_insert_mixed special PTE oopses on 5.10; -EFAULT later.
    oracle510_mixed_pte_pin_remote => "oracle510-mixed-pte-pin-remote.litmus" {
        "5.11": [N, N],
        "5.16": [N, N],
        "5.18": [O, O],
        "debian-6.1": [O, O],
        "debian-6.12": [O, O],
    }
}

/// Every litmus file under tests/litmus is in the table, and each names its source.
#[test]
fn every_file_is_in_the_table_and_cites_its_source() {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(litmus_dir()).expect("tests/litmus exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("litmus") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !FILES.contains(&name) {
            missing.push(name.to_string());
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(
            text.lines().any(|l| l.starts_with("doc \"")
                && (l.contains("kernel-facts.md") || l.contains("real-kernel-oracle.md"))),
            "{name}: no doc line cites kernel-facts.md or real-kernel-oracle.md"
        );
    }
    assert!(
        missing.is_empty(),
        "litmus files without facts: {missing:?}"
    );
}
