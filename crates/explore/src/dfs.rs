//! Depth-first search, plus a topological pass that makes counts exact on any acyclic graph.
//!
//! Pass 1 walks the state graph depth-first from the initial states, storing for each
//! fingerprint its in-degree (edges into it) and whether it is on the current path; an edge back
//! to a state on the path is a cycle, reported with the path that closes it.
//!
//! Pass 2 is Kahn's algorithm: it re-generates states from the initial ones, and a state is
//! expanded only once all of its in-edges have been followed. At that moment its execution
//! count (sum over predecessors) and its minimal witness are final, and the predecessor that
//! delivered the last edge holds the full state in hand, so states waiting for predecessors
//! need only their count and witness candidates, never their full value. States on or behind a
//! cycle never become ready; their terminals keep the pass-1 path as witness.

use crate::bfs::FoundTerminal;
use crate::config::Budget;
use crate::fingerprint::{fingerprint, Fingerprint, FingerprintMap};
use crate::visited::FpTable;
use crate::witness::{count_switches, Candidates, Witness};
use crate::Model;

const ON_PATH: u32 = 1;
const DONE: u32 = 2;

#[derive(Debug, Clone, Copy, Default)]
struct Node {
    /// Edges into this state not yet followed (pass 2 counts down).
    indegree: u32,
    flags: u32,
}

struct Frame<S> {
    state: S,
    fp: Fingerprint,
    next_thread: usize,
    any_enabled: bool,
}

/// What a search found, before it becomes the public report (breadth-first searches convert
/// theirs with [`crate::bfs::BfsRun::searched`]).
pub(crate) struct Searched<S> {
    pub terminals: Vec<FoundTerminal<S>>,
    pub transitions: u64,
    pub distinct: u64,
    pub max_depth: usize,
    pub visited_bytes: usize,
    /// The first cycle found: initial state and the threads leading back onto the path.
    pub cycle: Option<Witness>,
    /// Whether pass 2 reached every state (no cycle, not stopped).
    pub counts_exact: bool,
}

fn path_witness(init: u32, via: &[u8], extra: Option<u8>) -> Witness {
    let threads: Vec<u8> = via.iter().copied().chain(extra).collect();
    Witness {
        init,
        switches: count_switches(&threads),
        trace: threads.into_iter().collect(),
    }
}

/// Transitions between two checks of the clock (and progress reports).
const CHECK_EVERY: u32 = 4096;

pub(crate) fn run<M: Model>(model: &M, budget: &mut Budget<'_>) -> Searched<M::State> {
    let threads = model.threads();
    let inits = model.init_states();
    let mut table: FpTable<Node> = FpTable::new();
    let mut terminals: Vec<FoundTerminal<M::State>> = Vec::new();
    let mut cycle = None;
    let mut transitions = 0u64;
    let mut stack: Vec<Frame<M::State>> = Vec::new();
    // Threads taken to reach stack[1..], so the path is at hand for witnesses.
    let mut via: Vec<u8> = Vec::new();
    let mut since_check = 0u32;
    let mut deepest = 0usize;
    // The state limit is compared on every step, so that a search stops exactly at it; the
    // clock and progress are checked only every CHECK_EVERY transitions.
    let max_states = budget.max_states();

    'inits: for (i, init) in inits.iter().enumerate() {
        let fp = fingerprint(init);
        let (new, node) = table.insert(fp);
        if !new {
            continue;
        }
        node.flags = ON_PATH;
        stack.push(Frame {
            state: init.clone(),
            fp,
            next_thread: 0,
            any_enabled: false,
        });
        loop {
            let at_limit = max_states.is_some_and(|m| table.len() as u64 >= m);
            if at_limit || since_check >= CHECK_EVERY {
                since_check = 0;
                if !budget.check(table.len() as u64, transitions, stack.len()) {
                    break 'inits;
                }
            }
            let Some(top) = stack.last_mut() else {
                break;
            };
            let t = (top.next_thread..threads).find(|&t| model.enabled(&top.state, t));
            let Some(t) = t else {
                if !top.any_enabled {
                    terminals.push(FoundTerminal {
                        fp: top.fp,
                        state: top.state.clone(),
                        count: 0,
                        witness: path_witness(i as u32, &via, None),
                    });
                }
                if let Some(node) = stack.pop().and_then(|top| table.get_mut(top.fp)) {
                    node.flags = DONE;
                }
                via.pop();
                continue;
            };
            top.next_thread = t + 1;
            top.any_enabled = true;
            let next = model.step(&top.state, t);
            transitions += 1;
            let fp = fingerprint(&next);
            let (new, node) = table.insert(fp);
            node.indegree = node.indegree.saturating_add(1);
            if new {
                node.flags = ON_PATH;
                stack.push(Frame {
                    state: next,
                    fp,
                    next_thread: 0,
                    any_enabled: false,
                });
                via.push(t as u8);
                deepest = deepest.max(via.len());
            } else if node.flags == ON_PATH && cycle.is_none() {
                cycle = Some(path_witness(i as u32, &via, Some(t as u8)));
            }
            since_check += 1;
        }
    }
    let stopped = budget.stopped.is_some();
    let mut run = Searched {
        terminals,
        transitions,
        distinct: table.len() as u64,
        // Longest depth-first path, until pass 2 replaces it by the breadth-first notion.
        max_depth: deepest,
        visited_bytes: table.bytes(),
        cycle,
        counts_exact: false,
    };
    if !stopped {
        count_topologically(model, &inits, &mut table, &mut run, budget);
    }
    run
}

/// Pass 2: execution counts and minimal witnesses in topological order.
fn count_topologically<M: Model>(
    model: &M,
    inits: &[M::State],
    table: &mut FpTable<Node>,
    run: &mut Searched<M::State>,
    budget: &mut Budget<'_>,
) {
    struct Pending {
        count: u128,
        candidates: Candidates,
    }
    let threads = model.threads();
    let mut pending: FingerprintMap<Pending> = FingerprintMap::default();
    let mut ready: Vec<(M::State, Fingerprint)> = Vec::new();
    let mut done: FingerprintMap<(u128, Witness)> = FingerprintMap::default();
    let mut expanded = 0u64;

    for (i, init) in inits.iter().enumerate() {
        let fp = fingerprint(init);
        let w = Witness::start(i as u32);
        match pending.get_mut(&fp) {
            Some(p) => {
                p.count = p.count.saturating_add(1);
                p.candidates.offer(w);
            }
            None => {
                pending.insert(
                    fp,
                    Pending {
                        count: 1,
                        candidates: Candidates::one(w),
                    },
                );
                if table.get(fp).is_some_and(|n| n.indegree == 0) {
                    ready.push((init.clone(), fp));
                }
            }
        }
    }
    let mut since_check = 0u32;
    run.max_depth = 0;
    while let Some((state, fp)) = ready.pop() {
        let Some(p) = pending.remove(&fp) else {
            continue;
        };
        expanded += 1;
        let best = p.candidates.best().cloned().unwrap_or_default();
        run.max_depth = run.max_depth.max(best.trace.len());
        let mut any_enabled = false;
        for t in 0..threads {
            if !model.enabled(&state, t) {
                continue;
            }
            any_enabled = true;
            let next = model.step(&state, t);
            let nfp = fingerprint(&next);
            let w = p.candidates.extend_best(t as u8);
            match pending.get_mut(&nfp) {
                Some(q) => {
                    q.count = q.count.saturating_add(p.count);
                    q.candidates.offer(w);
                }
                None => {
                    pending.insert(
                        nfp,
                        Pending {
                            count: p.count,
                            candidates: Candidates::one(w),
                        },
                    );
                }
            }
            // A fingerprint missing from pass 1 means the model is not deterministic; leave it.
            if let Some(node) = table.get_mut(nfp) {
                node.indegree = node.indegree.saturating_sub(1);
                if node.indegree == 0 {
                    ready.push((next, nfp));
                }
            }
        }
        if !any_enabled {
            done.insert(fp, (p.count, best));
        }
        since_check += 1;
        if since_check >= 4096 {
            since_check = 0;
            if !budget.check(run.distinct, run.transitions, run.max_depth) {
                return;
            }
        }
    }
    run.counts_exact = expanded == run.distinct && run.cycle.is_none();
    for t in run.terminals.iter_mut() {
        if let Some((count, witness)) = done.remove(&t.fp) {
            t.count = count;
            t.witness = witness;
        } else if let Some(p) = pending.get(&t.fp) {
            // Behind a cycle: count only the acyclic executions seen so far (a lower bound).
            t.count = p.count;
        }
    }
}
