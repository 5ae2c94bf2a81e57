//! Fine-grained interleaving: the races the kernel's synchronization prevents are absent on a
//! correct kernel and found when a test-only switch drops that synchronization; splitting
//! operations into steps changes no verdict of the examples.

use mmlab_explore::{explore, explore_modular, Config, Exploration};
use mmlab_machine::check::check;
use mmlab_machine::{Machine, State, Verdict};
use mmlab_mm::version::InjectedBugs;
use mmlab_mm::KernelConfig;
use std::path::Path;

fn load(name: &str) -> mmlab_litmus::Test {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let source = std::fs::read_to_string(&path).expect("example exists");
    mmlab_litmus::parse(&source).expect("example parses")
}

fn verdicts(test: &mmlab_litmus::Test, cfg: KernelConfig, fine: bool) -> Vec<Verdict> {
    let machine = Machine::new(test, cfg).expect("setup").with_fine(fine);
    check(&machine, &Config::default())
        .expect("explores")
        .verdicts()
}

fn kernel(test: &mmlab_litmus::Test, injected: InjectedBugs) -> KernelConfig {
    let raw = test
        .kernel
        .as_ref()
        .map(|k| k.node.raw.clone())
        .unwrap_or("6.12".into());
    let mut cfg = KernelConfig::parse(&raw).expect("kernel");
    cfg.injected = injected;
    cfg
}

const CORRECT: InjectedBugs = InjectedBugs {
    skip_gup_fast_recheck: false,
    skip_tlb_flush_wait: false,
};
const NO_WAIT: InjectedBugs = InjectedBugs {
    skip_gup_fast_recheck: false,
    skip_tlb_flush_wait: true,
};
const NO_WAIT_NO_RECHECK: InjectedBugs = InjectedBugs {
    skip_gup_fast_recheck: true,
    skip_tlb_flush_wait: true,
};

#[test]
fn page_table_freed_under_walker_only_without_the_flush_wait() {
    let t = load("fine-gup-fast-vs-munmap.litmus");
    assert_eq!(verdicts(&t, kernel(&t, CORRECT), true), [Verdict::Ok]);
    assert_eq!(verdicts(&t, kernel(&t, NO_WAIT), true), [Verdict::No]);
    // Coarse operations cannot show a race inside them.
    assert_eq!(verdicts(&t, kernel(&t, NO_WAIT), false), [Verdict::Ok]);
}

#[test]
fn reused_page_kept_only_without_the_recheck() {
    let t = load("fine-gup-fast-recheck.litmus");
    assert_eq!(verdicts(&t, kernel(&t, CORRECT), true), [Verdict::Ok]);
    assert_eq!(verdicts(&t, kernel(&t, NO_WAIT), true), [Verdict::Ok]);
    assert_eq!(
        verdicts(&t, kernel(&t, NO_WAIT_NO_RECHECK), true),
        [Verdict::No]
    );
}

#[test]
fn fine_steps_change_no_verdict_of_the_examples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("examples")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".litmus"))
        .collect();
    names.sort();
    for name in names {
        let t = load(&name);
        for cfg in [
            kernel(&t, CORRECT),
            KernelConfig::parse("5.11").expect("5.11"),
        ] {
            assert_eq!(
                verdicts(&t, cfg, false),
                verdicts(&t, cfg, true),
                "{name} at {cfg}"
            );
        }
    }
}

/// Steps that leave the kernel as it was commute, so partial-order reduction skips some
/// transitions of a benchmark scenario, and still reaches every state and final state.
#[test]
fn reduction_skips_transitions_of_kernel_preserving_steps() {
    let test = mmlab_litmus::parse(&mmlab_machine::family::scenario(3, 4)).expect("parses");
    for fine in [false, true] {
        let m = Machine::new(&test, KernelConfig::parse("5.11").expect("kernel"))
            .expect("setup")
            .with_fine(fine);
        let full = check(&m, &Config::default()).expect("explores");
        let reduced = check(&m, &Config::default().reduction(true)).expect("explores");
        assert_eq!(
            reduced.distinct_states, full.distinct_states,
            "fine: {fine}"
        );
        // Execution counts are of the executions explored, so only the finals are compared.
        let finals = |r: &mmlab_machine::check::CheckResult| -> Vec<_> {
            r.finals
                .iter()
                .map(|f| (f.registers.clone(), f.events.clone()))
                .collect()
        };
        assert_eq!(finals(&reduced), finals(&full), "fine: {fine}");
        assert!(
            reduced.transitions < full.transitions,
            "fine: {fine}: {} of {} transitions",
            reduced.transitions,
            full.transitions
        );
    }
}

#[test]
fn reduction_and_search_order_change_no_verdict() {
    let t = load("ttm-huge-pmd-gup-fast.litmus");
    let cfg = kernel(&t, CORRECT);
    let m = Machine::new(&t, cfg).expect("setup").with_fine(true);
    let base = check(&m, &Config::default()).expect("bfs");
    for config in [
        Config::default().depth_first(),
        Config::default().reduction(true),
        Config::default().workers(2),
    ] {
        let other = check(&m, &config).expect("explores");
        let a: Vec<_> = base
            .conditions
            .iter()
            .map(|c| (c.verdict, c.witness.clone()))
            .collect();
        let b: Vec<_> = other
            .conditions
            .iter()
            .map(|c| (c.verdict, c.witness.clone()))
            .collect();
        assert_eq!(a, b, "{config:?}");
        assert_eq!(base.finals, other.finals, "{config:?}");
    }
}

/// `check` explores interned states; exploring the full states directly must find the same
/// graph and the same terminal states, counts and witnesses.
fn assert_interning_changes_nothing(m: &Machine, path: &Path) {
    let direct = explore(m, &Config::default()).expect("explores");
    let interned = explore_modular(m, &Config::default())
        .expect("explores")
        .exploration
        .map_states(|(kernel, threads)| State { kernel, threads });
    let ends = |x: Exploration<State>| -> Vec<_> {
        x.terminals
            .into_iter()
            .map(|t| (t.state, t.executions, t.witness))
            .collect()
    };
    assert_eq!(
        (direct.distinct_states, direct.transitions),
        (interned.distinct_states, interned.transitions),
        "{}",
        path.display()
    );
    assert_eq!(ends(direct), ends(interned), "{}", path.display());
}

/// Every example and conformance test, at its own kernel: the search options (reduction,
/// depth-first, two workers) and fine-grained steps give the same verdicts.
#[test]
fn search_options_change_no_verdict_anywhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["examples", "tests/litmus", "tests/oracle"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "litmus")),
            );
        }
    }
    files.sort();
    assert!(files.len() > 50, "{} files", files.len());
    for path in files {
        let source = std::fs::read_to_string(&path).expect("readable");
        let test = mmlab_litmus::parse(&source).expect("parses");
        let cfg = kernel(&test, CORRECT);
        let Ok(m) = Machine::new(&test, cfg) else {
            continue;
        };
        let verdicts_with = |m: &Machine, config: &Config| -> Vec<Verdict> {
            check(m, config).expect("explores").verdicts()
        };
        let base = verdicts_with(&m, &Config::default());
        for (what, config) in [
            ("reduction", Config::default().reduction(true)),
            ("depth-first", Config::default().depth_first()),
            ("two workers", Config::default().workers(2)),
        ] {
            assert_eq!(
                verdicts_with(&m, &config),
                base,
                "{} with {what}",
                path.display()
            );
        }
        let fine = m.clone().with_fine(true);
        for machine in [&m, &fine] {
            assert_interning_changes_nothing(machine, &path);
        }
        assert_eq!(
            verdicts_with(&fine, &Config::default()),
            base,
            "{}: fine-grained steps on a correct kernel",
            path.display()
        );
        assert_eq!(
            verdicts_with(&fine, &Config::default().reduction(true)),
            base,
            "{} fine, with reduction",
            path.display()
        );
    }
}
