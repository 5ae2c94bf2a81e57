//! Property test: on random small programs (random threads of reads, writes and local steps
//! over a few shared variables) every search mode agrees with brute-force enumeration, and
//! partial-order reduction keeps the terminal states.

mod common;

use common::{enumerate, states, summary};
use mmlab_explore::toy::{Op, Program};
use mmlab_explore::{explore, Config};
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3).prop_map(Op::Read),
        (0u8..3, 0u8..3).prop_map(|(v, a)| Op::Write(v, a)),
        (0u8..2).prop_map(Op::Local),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    prop::collection::vec(prop::collection::vec(op(), 0..5), 1..4).prop_map(Program::new)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn all_modes_agree(p in program()) {
        let oracle = enumerate(&p);
        let base = explore(&p, &Config::default()).unwrap();
        prop_assert!(base.complete && base.executions_exact);
        prop_assert_eq!(base.terminals.len(), oracle.len());
        for t in &base.terminals {
            let (count, witness) = &oracle[&t.state];
            prop_assert_eq!(t.executions, *count);
            prop_assert_eq!(&t.witness, witness);
        }
        for config in [
            Config::default().workers(2),
            Config::default().depth_first(),
        ] {
            let r = explore(&p, &config).unwrap();
            prop_assert_eq!(summary(&r), summary(&base));
            prop_assert_eq!(r.distinct_states, base.distinct_states);
            prop_assert_eq!(r.transitions, base.transitions);
            prop_assert_eq!(r.max_depth, base.max_depth);
        }
        let reduced = explore(&p, &Config::default().reduction(true)).unwrap();
        prop_assert_eq!(states(&reduced), states(&base));
        prop_assert_eq!(reduced.distinct_states, base.distinct_states);
        prop_assert!(reduced.transitions <= base.transitions);
        // Reduced results are deterministic too: same with two workers.
        let reduced2 = explore(&p, &Config::default().reduction(true).workers(2)).unwrap();
        prop_assert_eq!(summary(&reduced2), summary(&reduced));
        prop_assert_eq!(reduced2.transitions, reduced.transitions);
    }
}
