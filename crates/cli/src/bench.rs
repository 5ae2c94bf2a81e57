//! `mmlab bench`: exploration speed on the seed race and a family of growing scenarios, with
//! and without fine-grained steps, on one and two cores, measured side by side in one run.

use mmlab_explore::modular::Interned;
use mmlab_explore::{explore, Config};
use mmlab_machine::check::check;
use mmlab_machine::Machine;
use mmlab_mm::KernelConfig;
use std::fmt::Write;
use std::time::{Duration, Instant};

const SEED: &str = include_str!("../../../examples/ttm-huge-pmd-gup-fast.litmus");

struct Row {
    name: String,
    fine: bool,
    states: u64,
    transitions: u64,
    ms: [f64; 2],
    bytes_per_state: f64,
    complete: bool,
    kernels: usize,
    steps_run: u64,
    /// Distinct states per second exploring whole states (no interning), one core.
    whole_rate: f64,
    /// Distinct states per second of the search alone (every step remembered), one core.
    search_rate: f64,
}

/// One exploration, timed from the start of the search to the end of `check` (the interned
/// tables are freed by then), from empty part tables ([`measure`]).
struct Measured {
    states: u64,
    transitions: u64,
    ms: f64,
    bytes_per_state: f64,
    complete: bool,
    kernels: usize,
    steps_run: u64,
}

fn machine(source: &str, fine: bool) -> Option<Machine> {
    let test = mmlab_litmus::parse(source).ok()?;
    let cfg = KernelConfig::parse("5.11").ok()?;
    Some(Machine::new(&test, cfg).ok()?.with_fine(fine))
}

fn config(workers: usize, limit: u64, timeout: f64) -> Config {
    Config::default()
        .workers(workers)
        .max_states(limit)
        .timeout(Duration::from_secs_f64(timeout))
}

/// The baseline: the explorer on whole states (the machine as a plain `Model`, every
/// transition cloning the state and running the model), one core. Distinct states per second.
fn measure_whole(source: &str, fine: bool, limit: u64, timeout: f64) -> Option<f64> {
    let machine = machine(source, fine)?;
    let start = Instant::now();
    let x = explore(&machine, &config(1, limit, timeout)).ok()?;
    Some(x.distinct_states as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

/// The search alone: the exploration run a second time on the same interned view, so that
/// every step is remembered and the model runs none; one core. Distinct states per second of
/// that second run (what the explorer costs, apart from the model's steps).
fn measure_search(source: &str, fine: bool, limit: u64, timeout: f64) -> Option<f64> {
    let machine = machine(source, fine)?;
    let view = Interned::new(&machine);
    let config = config(1, limit, timeout);
    explore(&view, &config).ok()?;
    let start = Instant::now();
    let x = explore(&view, &config).ok()?;
    Some(x.distinct_states as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

/// The higher of two rates of the same exploration.
fn best_rate(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Every search starts from empty part tables, as the first search of a process does: parts
/// stored by the searches before it would spare it work (0–10% on the largest members), and
/// the configurations run one after the other.
fn measure(source: &str, fine: bool, workers: usize, limit: u64, timeout: f64) -> Option<Measured> {
    let machine = machine(source, fine)?;
    let config = config(workers, limit, timeout);
    mmlab_mm::shared::forget_stored_parts();
    let start = Instant::now();
    let r = check(&machine, &config).ok()?;
    Some(Measured {
        states: r.distinct_states,
        transitions: r.transitions,
        ms: start.elapsed().as_secs_f64() * 1000.0,
        bytes_per_state: r.bytes_per_state,
        complete: r.complete,
        kernels: r.model_cache.shared_parts,
        steps_run: r.model_cache.steps_run,
    })
}

/// The quicker of two measurements of the same exploration.
fn faster(a: Option<Measured>, b: Option<Measured>) -> Option<Measured> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.ms < a.ms { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// A scenario named on the command line: the seed race, or a family member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    Seed,
    Family { threads: usize, ops: usize },
}

/// Parses `seed` or `THREADSxOPS` (`4x8`).
pub fn parse_member(s: &str) -> Result<Member, String> {
    if s == "seed" {
        return Ok(Member::Seed);
    }
    let sizes = s
        .split_once('x')
        .and_then(|(t, n)| Some((t.parse().ok()?, n.parse().ok()?)));
    match sizes {
        Some((threads, ops))
            if (1..=mmlab_machine::family::MAX_THREADS).contains(&threads) && ops >= 1 =>
        {
            Ok(Member::Family { threads, ops })
        }
        _ => Err(format!(
            "expected `seed` or THREADSxOPS with 1 to {} threads and at least one op (`4x8`)",
            mmlab_machine::family::MAX_THREADS
        )),
    }
}

/// Runs the benchmark and returns its table: every scenario, or only the `members` named.
pub fn run(quick: bool, members: &[Member]) -> String {
    let wanted = |m: Member| members.is_empty() || members.contains(&m);
    let mut scenarios = Vec::new();
    if wanted(Member::Seed) {
        scenarios.push(("seed race".to_string(), SEED.to_string()));
    }
    let sizes: &[(usize, usize)] = if quick {
        &[(2, 2), (2, 4), (3, 3)]
    } else {
        &[
            (2, 2),
            (2, 4),
            (2, 8),
            (3, 3),
            (3, 4),
            (3, 8),
            (4, 2),
            (4, 3),
            (4, 6),
            (4, 8),
        ]
    };
    let sizes = if members.is_empty() {
        sizes.to_vec()
    } else {
        members
            .iter()
            .filter_map(|m| match *m {
                Member::Family { threads, ops } => Some((threads, ops)),
                Member::Seed => None,
            })
            .collect()
    };
    for (t, n) in sizes {
        scenarios.push((
            format!("{t} threads x {n} ops"),
            mmlab_machine::family::scenario(t, n),
        ));
    }
    let limit = if quick { 100_000 } else { 2_000_000 };
    let timeout = if quick { 5.0 } else { 60.0 };
    let mut rows = Vec::new();
    for (name, source) in &scenarios {
        for fine in [false, true] {
            let mut one = measure(source, fine, 1, limit, timeout);
            let mut two = measure(source, fine, 2, limit, timeout);
            // Whole states are slow: a shorter limit still gives their rate.
            let mut whole = measure_whole(source, fine, limit / 4, timeout / 4.0);
            let mut search = measure_search(source, fine, limit, timeout);
            // Short runs are noisy and the first of a series pays for warming up: best of
            // three, the configurations alternating. Long runs are repeated once, one and
            // two workers alternating: the first search to need more memory than the
            // process holds pays for the kernel zeroing the pages it touches (a fifth of a
            // two-million-state search on these virtual machines, when the host backs them
            // lazily), and the allocator keeps them, so the one-core run of the largest
            // member was the only one to pay.
            let short = one.as_ref().is_some_and(|m| m.ms < 500.0);
            for _ in 0..if short { 2 } else { 1 } {
                one = faster(one, measure(source, fine, 1, limit, timeout));
                two = faster(two, measure(source, fine, 2, limit, timeout));
                if short {
                    whole = best_rate(whole, measure_whole(source, fine, limit / 4, timeout / 4.0));
                    search = best_rate(search, measure_search(source, fine, limit, timeout));
                }
            }
            if let (Some(a), Some(b), Some(whole_rate), Some(search_rate)) =
                (one, two, whole, search)
            {
                rows.push(Row {
                    name: name.clone(),
                    fine,
                    states: a.states,
                    transitions: a.transitions,
                    ms: [a.ms, b.ms],
                    bytes_per_state: a.bytes_per_state,
                    complete: a.complete && b.complete,
                    kernels: a.kernels,
                    steps_run: a.steps_run,
                    whole_rate,
                    search_rate,
                });
            }
        }
    }
    let mut out = String::from(
        "scenario              fine  distinct   transitions  1 core ms  states/s(1)  2 cores ms  states/s(2)  speedup  bytes/state  kernels  steps run  whole st/s  gain  search st/s\n",
    );
    for r in rows {
        let rate = |ms: f64| {
            if ms > 0.0 {
                r.states as f64 / (ms / 1000.0)
            } else {
                0.0
            }
        };
        let _ = writeln!(
            out,
            "{:<21} {:<5} {:>9}{} {:>12} {:>10.1} {:>12.0} {:>11.1} {:>12.0} {:>8.2} {:>12.1} {:>8} {:>9.0}% {:>11.0} {:>5.1}x {:>12.0}",
            r.name,
            if r.fine { "yes" } else { "no" },
            r.states,
            if r.complete { " " } else { "+" },
            r.transitions,
            r.ms[0],
            rate(r.ms[0]),
            r.ms[1],
            rate(r.ms[1]),
            if r.ms[1] > 0.0 {
                r.ms[0] / r.ms[1]
            } else {
                0.0
            },
            r.bytes_per_state,
            r.kernels,
            100.0 * r.steps_run as f64 / r.transitions.max(1) as f64,
            r.whole_rate,
            if r.whole_rate > 0.0 {
                rate(r.ms[0]) / r.whole_rate
            } else {
                0.0
            },
            r.search_rate,
        );
    }
    out.push_str("(+: stopped at the state or time limit; rates are over the states explored;\n kernels: distinct kernel states stored by the interned view; steps run: transitions\n computed by the model rather than remembered; whole st/s: the same search on whole states,\n without interning or remembered steps, one core; gain: states/s(1) over it;\n search st/s: the search alone, run again on the same interned view so that every step is\n remembered and the model runs none, one core)\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_search_on_one_view_runs_no_model_step() {
        // The premise of the `search st/s` column.
        for fine in [false, true] {
            let machine = machine(SEED, fine).expect("seed race sets up");
            let view = Interned::new(&machine);
            let first = explore(&view, &Config::default()).expect("explores");
            let steps_run = view.stats().steps_run;
            let second = explore(&view, &Config::default()).expect("explores");
            assert!(steps_run > 0);
            assert_eq!(view.stats().steps_run, steps_run);
            assert_eq!(
                (second.distinct_states, second.transitions),
                (first.distinct_states, first.transitions)
            );
        }
    }

    #[test]
    fn members_name_the_seed_or_a_family_size() {
        assert_eq!(parse_member("seed"), Ok(Member::Seed));
        assert_eq!(
            parse_member("4x8"),
            Ok(Member::Family { threads: 4, ops: 8 })
        );
        for bad in ["", "4", "x8", "0x3", "4x0", "99x2", "4x8x1", "seeds"] {
            assert!(parse_member(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn family_scenarios_parse_and_set_up() {
        for (t, n) in [(2, 2), (3, 5), (4, 8)] {
            let src = mmlab_machine::family::scenario(t, n);
            let test = mmlab_litmus::parse(&src).unwrap_or_else(|d| panic!("{src}\n{d:?}"));
            let cfg = mmlab_mm::KernelConfig::parse("5.11").expect("5.11");
            assert!(mmlab_machine::Machine::new(&test, cfg).is_ok());
        }
    }
}
