//! Breadth-first, depth-first and parallel searches agree with each other and with brute-force
//! enumeration; witnesses are minimal; limits stop cleanly; cycles are reported.

mod common;

use common::{enumerate, states, summary};
use mmlab_explore::toy::{Op, Program, ProgramState, Shortcut, Wheel};
use mmlab_explore::{explore, Config, Model, StopReason};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn all_modes() -> Vec<(&'static str, Config)> {
    vec![
        ("bfs", Config::default()),
        ("bfs-2", Config::default().workers(2)),
        ("bfs-3", Config::default().workers(3)),
        ("dfs", Config::default().depth_first()),
    ]
}

fn check_against_oracle<M: Model>(model: &M) {
    let oracle = enumerate(model);
    for (name, config) in all_modes() {
        let r = explore(model, &config).unwrap();
        assert!(r.complete, "{name}");
        assert!(r.executions_exact, "{name}");
        assert!(r.cycle.is_none(), "{name}");
        assert_eq!(r.terminals.len(), oracle.len(), "{name}");
        for t in &r.terminals {
            let (count, witness) = oracle.get(&t.state).expect("terminal known to oracle");
            assert_eq!(t.executions, *count, "{name} {:?}", t.state);
            assert_eq!(&t.witness, witness, "{name} {:?}", t.state);
            // The witness really reaches the state.
            let mut s = model.init_states()[t.witness.init].clone();
            for &th in &t.witness.threads {
                assert!(model.enabled(&s, th));
                s = model.step(&s, th);
            }
            assert_eq!(s, t.state);
        }
    }
}

#[test]
fn lost_update_counter() {
    let m = Program::counter(2, 1);
    let r = explore(&m, &Config::default()).unwrap();
    let xs: Vec<u8> = r.terminals.iter().map(|t| t.state.mem[0]).collect();
    // x == 1 (lost update), or x == 2 with either thread's register holding 1.
    assert_eq!(xs.len(), 3);
    assert!(xs.contains(&1) && xs.contains(&2));
    assert_eq!(r.total_executions(), 6); // 4!/(2!2!)
    let lost = r
        .minimal_terminal(|s: &ProgramState| s.mem[0] == 1)
        .unwrap();
    assert_eq!(lost.witness.threads, vec![0, 1, 1, 0]); // 2 switches, not 3
    assert_eq!(lost.executions, 4);
    let ok = r
        .minimal_terminal(|s: &ProgramState| s.mem[0] == 2)
        .unwrap();
    assert_eq!(ok.witness.threads, vec![0, 0, 1, 1]);
    assert_eq!(r.max_depth, 4);
    assert!(r.bytes_per_state > 0.0 && r.collision_probability < 1e-15);
}

#[test]
fn modes_agree_with_enumeration() {
    check_against_oracle(&Program::counter(2, 2));
    check_against_oracle(&Program::counter(3, 1));
    check_against_oracle(&Program::mixed(3, 3, 2));
    check_against_oracle(&Program::independent(2, 3));
    check_against_oracle(&Shortcut);
}

#[test]
fn modes_agree_on_larger_model() {
    let m = Program::mixed(3, 5, 2);
    let base = explore(&m, &Config::default()).unwrap();
    assert!(base.distinct_states > 100);
    for (name, config) in all_modes() {
        let r = explore(&m, &config).unwrap();
        assert_eq!(summary(&r), summary(&base), "{name}");
        assert_eq!(r.distinct_states, base.distinct_states, "{name}");
        assert_eq!(r.transitions, base.transitions, "{name}");
        assert_eq!(r.max_depth, base.max_depth, "{name}");
    }
}

#[test]
fn nonuniform_depths_are_counted_exactly() {
    let r = explore(&Shortcut, &Config::default()).unwrap();
    assert!(r.executions_exact);
    assert_eq!(
        r.total_executions(),
        enumerate(&Shortcut).values().map(|v| v.0).sum()
    );
}

#[test]
fn cycle_is_reported_not_hung() {
    for (name, config) in all_modes() {
        let r = explore(&Wheel { size: 3 }, &config).unwrap();
        assert!(r.complete, "{name}");
        let cycle = r.cycle.clone().expect("cycle found");
        assert!(!r.executions_exact, "{name}");
        assert_eq!(r.terminals.len(), 3, "{name}");
        // The cycle witness revisits a state.
        let m = Wheel { size: 3 };
        let mut seen = vec![m.init_states()[0]];
        let mut s = seen[0];
        for &t in &cycle.threads {
            s = m.step(&s, t);
            seen.push(s);
        }
        let last = *seen.last().unwrap();
        assert!(seen[..seen.len() - 1].contains(&last), "{name}");
        // Minimal witnesses: stop immediately, or turn then stop.
        assert_eq!(r.terminals[0].witness.threads, vec![1], "{name}");
        assert_eq!(r.terminals[1].witness.threads, vec![0, 1], "{name}");
        assert_eq!(r.terminals[2].witness.threads, vec![0, 0, 1], "{name}");
    }
}

#[test]
fn state_limit_stops_cleanly() {
    let m = Program::mixed(4, 6, 3);
    let full = explore(&m, &Config::default()).unwrap();
    for (name, config) in all_modes() {
        let r = explore(&m, &config.clone().max_states(1000)).unwrap();
        assert!(!r.complete, "{name}");
        assert_eq!(r.stopped_by, Some(StopReason::MaxStates), "{name}");
        assert!(!r.executions_exact, "{name}");
        // Stops near the limit: within one batch of successors of it.
        assert!(r.distinct_states > 100, "{name}");
        assert!(r.distinct_states < full.distinct_states / 2, "{name}");
        // A limit the search never reaches leaves it complete.
        let generous = full.transitions + 10;
        let r = explore(&m, &config.clone().max_states(generous)).unwrap();
        assert!(r.complete, "{name}");
        assert_eq!(r.distinct_states, full.distinct_states, "{name}");
    }
}

#[test]
fn depth_first_search_stops_exactly_at_the_state_limit() {
    let m = Program::mixed(4, 6, 3);
    for limit in [1, 5, 1000] {
        let r = explore(&m, &Config::default().depth_first().max_states(limit)).unwrap();
        assert!(!r.complete, "{limit}");
        assert_eq!(r.distinct_states, limit);
    }
}

#[test]
fn timeout_stops_cleanly_and_progress_is_reported() {
    let m = Program::mixed(4, 8, 3);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let config = Config::default()
        .timeout(Duration::from_millis(250))
        .on_progress(move |p| {
            assert!(p.distinct_states > 0);
            c.fetch_add(1, Ordering::Relaxed);
        });
    let r = explore(&m, &config).unwrap();
    assert!(!r.complete);
    assert_eq!(r.stopped_by, Some(StopReason::Timeout));
    assert!(r.elapsed < Duration::from_secs(2));
    assert!(calls.load(Ordering::Relaxed) >= 1);
}

#[test]
fn reduction_keeps_terminal_states() {
    let models = [
        Program::counter(2, 2),
        Program::counter(3, 2),
        Program::mixed(3, 4, 2),
        Program::mixed(4, 3, 3),
        Program::independent(3, 3),
        Program::new(vec![
            vec![Op::Read(0), Op::Write(1, 1)],
            vec![Op::Read(1), Op::Write(0, 1)],
        ]),
    ];
    for m in &models {
        let full = explore(m, &Config::default()).unwrap();
        for workers in [1, 2] {
            let reduced = explore(m, &Config::default().reduction(true).workers(workers)).unwrap();
            assert!(reduced.reduced);
            assert!(!reduced.executions_exact);
            assert_eq!(states(&reduced), states(&full));
            assert_eq!(reduced.distinct_states, full.distinct_states);
            assert!(reduced.transitions <= full.transitions);
            // Steps of the minimal witness are preserved (all states are still reached at
            // their breadth-first depth).
            for (a, b) in reduced.terminals.iter().zip(&full.terminals) {
                assert_eq!(a.witness.steps(), b.witness.steps());
            }
        }
    }
}

#[test]
fn reduction_on_nonuniform_and_cyclic_models_stays_exact() {
    let full = explore(&Shortcut, &Config::default()).unwrap();
    let reduced = explore(&Shortcut, &Config::default().reduction(true)).unwrap();
    assert_eq!(summary(&reduced), summary(&full));
    let full = explore(&Wheel { size: 4 }, &Config::default()).unwrap();
    let reduced = explore(&Wheel { size: 4 }, &Config::default().reduction(true)).unwrap();
    assert_eq!(states(&reduced), states(&full));
    assert!(reduced.cycle.is_some());
}

#[test]
fn reduction_prunes_independent_threads() {
    let m = Program::independent(3, 4);
    let full = explore(&m, &Config::default()).unwrap();
    let reduced = explore(&m, &Config::default().reduction(true)).unwrap();
    assert_eq!(full.distinct_states, 125);
    assert_eq!(reduced.distinct_states, 125);
    // One transition into each non-initial state.
    assert_eq!(reduced.transitions, 124);
    assert_eq!(reduced.total_executions(), 1);
}

#[test]
fn no_threads_and_no_states() {
    let r = explore(&Program::new(vec![]), &Config::default()).unwrap();
    assert_eq!(r.terminals.len(), 1);
    assert_eq!(r.terminals[0].executions, 1);
    assert!(r.terminals[0].witness.threads.is_empty());

    struct Empty;
    impl Model for Empty {
        type State = u8;
        fn init_states(&self) -> Vec<u8> {
            vec![]
        }
        fn threads(&self) -> usize {
            1
        }
        fn enabled(&self, _: &u8, _: usize) -> bool {
            true
        }
        fn step(&self, s: &u8, _: usize) -> u8 {
            *s
        }
    }
    for (_, config) in all_modes() {
        let r = explore(&Empty, &config).unwrap();
        assert!(r.terminals.is_empty() && r.complete && r.distinct_states == 0);
    }
}

#[test]
fn several_initial_states() {
    struct TwoStarts;
    impl Model for TwoStarts {
        type State = (u8, u8);
        fn init_states(&self) -> Vec<(u8, u8)> {
            vec![(5, 0), (0, 0), (5, 0)]
        }
        fn threads(&self) -> usize {
            2
        }
        fn enabled(&self, s: &(u8, u8), t: usize) -> bool {
            s.1 & (1 << t) == 0
        }
        fn step(&self, s: &(u8, u8), t: usize) -> (u8, u8) {
            (s.0.wrapping_add(t as u8 + 1), s.1 | (1 << t))
        }
    }
    check_against_oracle(&TwoStarts);
}

#[test]
fn too_many_threads_is_an_error() {
    struct Wide;
    impl Model for Wide {
        type State = u8;
        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }
        fn threads(&self) -> usize {
            1000
        }
        fn enabled(&self, _: &u8, _: usize) -> bool {
            false
        }
        fn step(&self, s: &u8, _: usize) -> u8 {
            *s
        }
    }
    assert!(explore(&Wide, &Config::default()).is_err());
}

#[test]
fn long_executions_and_high_thread_ids() {
    // 41 steps (beyond the packed trace length) and thread ids 16 and 17 (beyond packed ids).
    check_against_oracle(&Program::new(vec![
        vec![Op::Local(1); 40],
        vec![Op::Read(0)],
    ]));

    struct HighIds;
    impl Model for HighIds {
        type State = [u8; 2];
        fn init_states(&self) -> Vec<[u8; 2]> {
            vec![[0, 0]]
        }
        fn threads(&self) -> usize {
            18
        }
        fn enabled(&self, s: &[u8; 2], t: usize) -> bool {
            t >= 16 && s[t - 16] < 3
        }
        fn step(&self, s: &[u8; 2], t: usize) -> [u8; 2] {
            let mut n = *s;
            n[t - 16] += 1;
            n
        }
    }
    check_against_oracle(&HighIds);
    let r = explore(&HighIds, &Config::default()).unwrap();
    assert_eq!(r.terminals[0].witness.threads, vec![16, 16, 16, 17, 17, 17]);
}
