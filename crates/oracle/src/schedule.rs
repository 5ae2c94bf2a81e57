//! A schedule: one global order of the threads' operations.
//!
//! All threads of a litmus test share one address space; on a real kernel the oracle runs
//! them sequentially, in this order, in one process.

use anyhow::{bail, Result};
use mmlab_litmus::Test;
use serde::{Deserialize, Serialize};

/// `steps[k]` is the thread whose next operation runs at step k.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub steps: Vec<usize>,
}

impl Schedule {
    /// P0's operations, then P1's, and so on.
    pub fn sequential(test: &Test) -> Schedule {
        let steps = test
            .threads
            .iter()
            .flat_map(|t| std::iter::repeat(t.index).take(t.ops.len()))
            .collect();
        Schedule { steps }
    }

    /// Parses `P0 P0 P1 P0` or `0,0,1,0`.
    pub fn parse(text: &str) -> Result<Schedule> {
        let mut steps = Vec::new();
        for word in text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
        {
            let n = word.strip_prefix('P').unwrap_or(word);
            match n.parse() {
                Ok(i) => steps.push(i),
                Err(_) => bail!("bad schedule step `{word}` (expected P0, P1, ... or 0, 1, ...)"),
            }
        }
        Ok(Schedule { steps })
    }

    /// Checks that the schedule runs every operation of every thread exactly once.
    pub fn check(&self, test: &Test) -> Result<()> {
        let mut counts = vec![0usize; test.threads.len()];
        for &s in &self.steps {
            let Some(c) = counts.get_mut(s) else {
                bail!(
                    "schedule names P{s}, but the test has {} threads",
                    test.threads.len()
                );
            };
            *c += 1;
        }
        for (t, c) in test.threads.iter().zip(&counts) {
            if *c != t.ops.len() {
                bail!(
                    "schedule runs P{} {c} times, but it has {} operations",
                    t.index,
                    t.ops.len()
                );
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words: Vec<String> = self.steps.iter().map(|s| format!("P{s}")).collect();
        f.write_str(&words.join(" "))
    }
}
