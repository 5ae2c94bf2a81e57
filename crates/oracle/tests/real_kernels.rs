//! Runs the note's headline results on the real kernels. Needs `mmlab-oracle setup`, qemu
//! and a few minutes, so it is ignored by default:
//! `cargo test -p mmlab-oracle --test real_kernels -- --ignored`.
//! Kernels that are not set up are skipped with a message.

use mmlab_oracle::{
    run_with, Cache, KernelInstall, OracleKernel, OracleOutcome, RegValue, RunOptions, Schedule,
};

fn suite_file(name: &str) -> (mmlab_litmus::Test, Schedule) {
    let path = format!(
        "{}/../../tests/oracle/{name}.litmus",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let test = mmlab_litmus::parse_and_render(&path, &source).unwrap_or_else(|e| panic!("{e}"));
    let schedule = match mmlab_oracle::cli::schedule_comment(&source) {
        Some(s) => Schedule::parse(s).expect("schedule comment"),
        None => Schedule::sequential(&test),
    };
    (test, schedule)
}

fn reg(o: &OracleOutcome, key: &str) -> Option<i64> {
    match o.result.as_ref()?.registers.get(key)? {
        RegValue::Number(n) => Some(*n),
        RegValue::Signal(_) => None,
    }
}

fn event(o: &OracleOutcome, name: &str) -> bool {
    o.result.as_ref().is_some_and(|r| r.has_event(name))
}

fn run(kernel: OracleKernel, names: &[&str]) -> Option<Vec<OracleOutcome>> {
    let cache = Cache::from_env().ok()?;
    if KernelInstall::load(&cache, kernel).is_err() {
        eprintln!("kernel {kernel} is not set up: skipped");
        return None;
    }
    let tests: Vec<_> = names.iter().map(|n| suite_file(n)).collect();
    Some(
        run_with(&cache, &tests, kernel, &RunOptions::default())
            .expect("oracle run")
            .outcomes,
    )
}

#[test]
#[ignore]
fn v5_10_ttm_huge_pmd_is_pinned_and_freed_under_the_pin() {
    let Some(o) = run(
        OracleKernel::V5_10,
        &["ttm-huge-pmd-pin-fast-evict", "ttm-huge-pmd-devmap-fix"],
    ) else {
        return;
    };
    assert_eq!(reg(&o[0], "P0:r0"), Some(512));
    assert!(event(&o[0], "lost_write") && event(&o[0], "use_after_free"));
    assert_eq!(reg(&o[1], "P0:r0"), Some(0));
    assert_eq!(reg(&o[1], "P0:r1"), Some(-14));
}

#[test]
#[ignore]
fn dax_like_pfnmap_pmd_is_open_on_6_1_and_closed_on_6_12() {
    if let Some(o) = run(OracleKernel::V6_1, &["dax-pfnmap-pmd-vmsplice-evict"]) {
        assert_eq!(reg(&o[0], "P0:r0"), Some(4096));
        assert!(event(&o[0], "stale_read"));
    }
    if let Some(o) = run(OracleKernel::V6_12, &["dax-pfnmap-pmd-vmsplice-evict"]) {
        assert_eq!(reg(&o[0], "P0:r0"), Some(-14));
        assert!(!event(&o[0], "stale_read"));
    }
}
