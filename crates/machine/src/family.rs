//! A family of growing scenarios for benchmarks: 2–4 threads racing pins, device writes,
//! evictions and CPU accesses on a TTM huge PMD (5.11) and a driver's refcounted pages.

use std::fmt::Write;

/// The most threads a member may have: the registers each thread uses (`r{thread}`, and
/// `r5`..`r9` for reads) stay apart up to here, and larger members do not finish anyway.
pub const MAX_THREADS: usize = 5;

/// One thread's operations, cycling through races on a TTM huge PMD and a driver's pages.
fn thread_ops(thread: usize, ops: usize) -> Vec<String> {
    let r = thread; // each thread uses its own register
    let cycle = [
        format!("r{r} = pin_user_pages_fast m0 pages=512 write"),
        format!("dma_write r{r} {}", thread + 2),
        "evict bo0".to_string(),
        format!("write m1+{}K {}", 4 * (thread % 4), thread + 1),
        format!("unpin r{r}"),
        "touch m0".to_string(),
        "evict d0".to_string(),
        format!("read m1 -> r{}", 5 + thread % 5),
    ];
    (0..ops).map(|i| cycle[i % cycle.len()].clone()).collect()
}

/// A scenario of the family: `threads` threads of `ops` operations.
pub fn scenario(threads: usize, ops: usize) -> String {
    let mut s = format!(
        "mm-litmus family-{threads}x{ops}\nkernel 5.11\nsetup {{\n  ttm bo0 size=2M place=system huge=pmd\n  driver d0 size=16K insert=page\n  mmap m0 bo0 shared rw\n  mmap m1 d0 shared rw\n}}\n"
    );
    for t in 0..threads {
        let _ = writeln!(s, "P{t} {{");
        for op in thread_ops(t, ops) {
            let _ = writeln!(s, "  {op}");
        }
        let _ = writeln!(s, "}}");
    }
    s.push_str("forbid lost_write\n");
    s
}
