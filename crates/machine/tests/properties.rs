//! Property tests of the litmus machine on the kernel model.
//!
//! Random *valid* litmus tests are built as text (every object kind with random options,
//! random mappings including private and read-only ones, `thp` lines, setup operations, and
//! one to three threads of one to four operations of every kind, registers used only after
//! they are set), parsed with `mmlab_litmus::parse`, set up at every change-point release plus
//! the two Debian kernels, and explored over all interleavings (up to a state limit), of
//! whole operations and again with fine-grained interleaving inside gup-fast walks and zaps.
//!
//! Properties:
//! - nothing panics: not the setup, the exploration, the conditions' evaluation, nor a replay
//!   of a random schedule with tracing on;
//! - every terminal state (and every state a replay passes through) satisfies invariants that
//!   hold of the real kernel unless the model reported the bug as its event (see
//!   [`invariants`]).
//!
//! The random choices come from a vector of numbers that a `Chooser` consumes, with choice 0
//! always the simplest option; proptest shrinks the vector, so failures shrink to small tests.
//! A failure prints the litmus text and the kernel. Case counts default to a quick run; set
//! `PROPTEST_CASES` for a longer one.

use mmlab_drivers::Model as Kernel;
use mmlab_explore::{explore, Config, Model};
use mmlab_machine::check::{judge, summarize};
use mmlab_machine::{replay, Machine, State};
use mmlab_mm::arch::x86::pgtable::Level;
use mmlab_mm::mm::gup::Slot;
use mmlab_mm::mm::page_alloc::{
    Owner, PageKind, PhysMem, DEVMEM_PAGES, DEVMEM_START, KERNEL_START, RAM_PAGES, RAM_START,
};
use mmlab_mm::{EventSet, KernelConfig, Pfn, Release};
use proptest::prelude::*;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};

fn cases(quick: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(quick);
    ProptestConfig {
        cases,
        failure_persistence: None,
        // Each case explores a test at 14 kernels, twice; shrinking a failure need not take
        // forever (PROPTEST_MAX_SHRINK_ITERS overrides).
        max_shrink_iters: std::env::var("PROPTEST_MAX_SHRINK_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
        ..ProptestConfig::default()
    }
}

/// Every change point's release, plus Debian's 6.1 and 6.12.
fn kernels() -> Vec<KernelConfig> {
    let mut all = KernelConfig::each_change_point();
    all.push(KernelConfig::debian(Release::new(6, 1)));
    all.push(KernelConfig::debian(Release::new(6, 12)));
    all
}

// ---------------------------------------------------------------------------------------------
// Random choices

/// Consumes random numbers; once they run out every choice is 0 (the simplest option).
struct Chooser<'a> {
    data: &'a [u32],
    at: usize,
}

impl<'a> Chooser<'a> {
    fn new(data: &'a [u32]) -> Self {
        Chooser { data, at: 0 }
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        let v = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        if n == 0 {
            0
        } else {
            v as usize % n
        }
    }

    fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[self.below(options.len())]
    }

    /// True with probability about 1/n (choice 0 is false).
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == n - 1
    }

    /// `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Random valid litmus tests, as text

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ttm,
    Driver,
    Anon,
    Memfd,
    DmaBuf,
}

struct Obj {
    name: String,
    kind: Kind,
    pages: u64,
}

/// What the generator knows while it writes a block.
struct Ctx {
    objects: Vec<Obj>,
    mappings: Vec<String>,
}

/// Object sizes: small ones most of the time, huge-page sizes often, a PUD rarely.
const SIZES: &[&str] = &[
    "4K", "8K", "2M", "16K", "4M", "64K", "2M", "12K", "4100K", "8K", "2M", "1G",
];

fn size_pages(s: &str) -> u64 {
    let (n, unit) = s.split_at(s.len() - 1);
    let n: u64 = n.parse().unwrap();
    match unit {
        "K" => n / 4,
        "M" => n * 256,
        "G" => n * 256 * 1024,
        _ => unreachable!(),
    }
}

fn gen_object(c: &mut Chooser, ctx: &Ctx, name: &str) -> (String, Obj) {
    let exportable: Vec<&Obj> = ctx
        .objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::Ttm | Kind::Driver))
        .collect();
    let mut kind = c.pick(&[
        Kind::Ttm,
        Kind::Driver,
        Kind::Anon,
        Kind::Memfd,
        Kind::DmaBuf,
    ]);
    if kind == Kind::DmaBuf && exportable.is_empty() {
        kind = Kind::Ttm;
    }
    let size = c.pick(SIZES);
    let mut pages = size_pages(size);
    let line = match kind {
        Kind::Ttm => {
            let mut l = format!("ttm {name} size={size}");
            l += c.pick(&[" place=system", " place=vram"]);
            l += c.pick(&["", " caching=cached", " caching=wc", " caching=uc"]);
            l += c.pick(&["", " huge=pmd", " huge=none", " huge=pud"]);
            l += c.pick(&["", " pfn=dev", " pfn=dev+map"]);
            l
        }
        Kind::Driver => {
            let mut l = format!("driver {name} size={size}");
            l += c.pick(&[
                " insert=pfn",
                " insert=page",
                " insert=mixed",
                " insert=pmd",
                " insert=fault_page",
                " insert=remap",
                " insert=pud",
            ]);
            if c.below(3) > 0 {
                let flags = [
                    "pfnmap",
                    "mixedmap",
                    "io",
                    "dontexpand",
                    "dontdump",
                    "hugepage",
                ];
                let mut set: Vec<&str> = flags.iter().copied().filter(|_| c.one_in(3)).collect();
                if set.is_empty() {
                    set.push(c.pick(&flags));
                }
                l += &format!(" vm={}", set.join("+"));
            }
            l += c.pick(&["", " pfn=dev", " pfn=none", " pfn=dev+map", " pfn=special"]);
            l += c.pick(&["", " memory=ram", " memory=iomem", " memory=devmem"]);
            if c.one_in(4) {
                l += " dax";
            }
            // A 1G object of 4K pages (alloc, copy and free page by page on every eviction)
            // takes many seconds per exploration in a debug build: only huge inserts, which
            // allocate order-9 blocks, get 1G.
            if size == "1G" && !l.contains("insert=pmd") && !l.contains("insert=pud") {
                l = l.replacen("size=1G", "size=4M", 1);
                pages = size_pages("4M");
            }
            l
        }
        Kind::Anon => format!("anon {name} size={size}"),
        Kind::Memfd => format!("memfd {name} size={size}"),
        Kind::DmaBuf => {
            let from = exportable[c.below(exportable.len())];
            pages = from.pages;
            let mut l = format!("dmabuf {name} exports {}", from.name);
            if c.one_in(2) {
                l += " require_pfnmap";
            }
            l
        }
    };
    (
        line,
        Obj {
            name: name.to_string(),
            kind,
            pages,
        },
    )
}

fn gen_mmap(c: &mut Chooser, ctx: &Ctx, name: &str) -> String {
    let obj = &ctx.objects[c.below(ctx.objects.len())];
    let mut l = format!("mmap {name} {}", obj.name);
    l += c.pick(&["", "", " size=4K", " size=8K", " size=2M", " size=4M"]);
    l += c.pick(&["", "", "", " offset=4K", " offset=2M"]);
    // Private TTM mappings fail to set up from 5.14: keep them rarer there.
    let private = if obj.kind == Kind::Ttm {
        c.one_in(5)
    } else {
        c.one_in(3)
    };
    l += if private {
        " private"
    } else {
        c.pick(&["", " shared"])
    };
    l += c.pick(&["", " rw", "", " r", " none"]);
    if c.one_in(8) {
        l += c.pick(&[" at=0x10000000", " at=0x10200000", " at=0x40000000"]);
    }
    l
}

fn gen_addr(c: &mut Chooser, ctx: &Ctx) -> String {
    let m = &ctx.mappings[c.below(ctx.mappings.len())];
    let off = c.pick(&[
        "",
        "",
        "+4K",
        "+8K",
        "+0x10",
        "+2M",
        "+0x1ff000",
        "+4M",
        "+1G",
    ]);
    format!("{m}{off}")
}

fn gen_reg(c: &mut Chooser) -> u8 {
    // Mostly a few registers, so that later operations reuse them.
    if c.one_in(8) {
        c.below(10) as u8
    } else {
        c.below(3) as u8
    }
}

/// One operation valid at this point of a block whose set registers are `regs`.
fn gen_op(c: &mut Chooser, ctx: &Ctx, regs: &mut Vec<u8>) -> String {
    loop {
        let op = match c.below(15) {
            0 => format!(
                "write {} {}",
                gen_addr(c, ctx),
                c.pick(&[1, 2, 7, 254, 255])
            ),
            1 => {
                let a = gen_addr(c, ctx);
                if c.one_in(2) {
                    let r = gen_reg(c);
                    regs.push(r);
                    format!("read {a} -> r{r}")
                } else {
                    format!("read {a}")
                }
            }
            2 => format!("touch {}", gen_addr(c, ctx)),
            3..=5 => {
                let call = c.pick(&[
                    "pin_user_pages_fast",
                    "get_user_pages",
                    "pin_user_pages",
                    "get_user_pages_fast",
                    "get_user_pages_fast_only",
                    "pin_user_pages_fast_only",
                ]);
                let a = gen_addr(c, ctx);
                let mut l = format!("{call} {a}");
                l += c.pick(&[
                    "",
                    " pages=2",
                    " pages=512",
                    " pages=16",
                    " pages=513",
                    " pages=1",
                ]);
                if c.one_in(2) {
                    l += " write";
                }
                if c.one_in(4) {
                    l += " longterm";
                }
                if c.one_in(5) {
                    l += " force";
                }
                let r = gen_reg(c);
                regs.push(r);
                format!("r{r} = {l}")
            }
            6 => {
                let call = c.pick(&[
                    "o_direct_read",
                    "o_direct_write",
                    "vmsplice",
                    "process_vm_readv",
                    "process_vm_writev",
                    "io_uring_register",
                ]);
                let a = gen_addr(c, ctx);
                let size = c.pick(&["4K", "8K", "2M", "64K", "1"]);
                let r = gen_reg(c);
                regs.push(r);
                format!("r{r} = {call} {a} size={size}")
            }
            7 | 8 if !regs.is_empty() => {
                let r = regs[c.below(regs.len())];
                if c.one_in(2) {
                    format!("dma_write r{r} {}", c.pick(&[9, 3, 0]))
                } else if c.one_in(2) {
                    let d = gen_reg(c);
                    regs.push(d);
                    format!("dma_read r{r} -> r{d}")
                } else {
                    format!("dma_read r{r}")
                }
            }
            9 if !regs.is_empty() => format!("unpin r{}", regs[c.below(regs.len())]),
            10 | 11 => {
                let movable: Vec<&Obj> = ctx
                    .objects
                    .iter()
                    .filter(|o| matches!(o.kind, Kind::Ttm | Kind::Driver | Kind::DmaBuf))
                    .collect();
                if movable.is_empty() {
                    continue;
                }
                let o = movable[c.below(movable.len())];
                format!(
                    "evict {}{}",
                    o.name,
                    c.pick(&["", " to=vram", " to=system"])
                )
            }
            12 => format!("destroy {}", ctx.objects[c.below(ctx.objects.len())].name),
            13 => {
                let m = &ctx.mappings[c.below(ctx.mappings.len())];
                match c.below(3) {
                    0 => format!("munmap {m}"),
                    1 => format!("mprotect {m} {}", c.pick(&["r", "rw", "none"])),
                    _ => format!("madvise {m} dontneed"),
                }
            }
            _ => continue,
        };
        return op;
    }
}

/// A condition over the threads' registers, pages of objects and events.
fn gen_expr(c: &mut Chooser, ctx: &Ctx, thread_regs: &[Vec<u8>], depth: u32) -> String {
    let choice = if depth >= 2 { c.below(3) } else { c.below(6) };
    match choice {
        0 => c
            .pick(&[
                "lost_write",
                "use_after_free",
                "refcount_error",
                "stale_read",
                "bad_page",
                "page_reuse",
                "hang",
                "bug",
                "warn",
                "leak",
            ])
            .to_string(),
        1 => {
            let with_regs: Vec<(usize, &Vec<u8>)> = thread_regs
                .iter()
                .enumerate()
                .filter(|(_, r)| !r.is_empty())
                .collect();
            if with_regs.is_empty() {
                return "bug".into();
            }
            let (t, regs) = with_regs[c.below(with_regs.len())];
            let r = regs[c.below(regs.len())];
            let op = c.pick(&["==", "!=", "<", "<=", ">", ">="]);
            let value = if op == "==" || op == "!=" {
                c.pick(&["0", "512", "1", "-EFAULT", "SIGBUS", "SIGSEGV", "-14", "2"])
            } else {
                c.pick(&["0", "512", "1", "-1"])
            };
            format!("P{t}:r{r} {op} {value}")
        }
        2 => {
            let o = &ctx.objects[c.below(ctx.objects.len())];
            let page = c.below(o.pages.min(1024) as usize);
            let op = c.pick(&["==", "!=", "<", ">="]);
            format!("{}[{page}] {op} {}", o.name, c.pick(&[0, 1, 2, 9]))
        }
        3 => format!("!{}", gen_atomish(c, ctx, thread_regs, depth)),
        4 => format!(
            "{} && {}",
            gen_atomish(c, ctx, thread_regs, depth),
            gen_atomish(c, ctx, thread_regs, depth)
        ),
        _ => format!(
            "{} || {}",
            gen_expr(c, ctx, thread_regs, depth + 1),
            gen_expr(c, ctx, thread_regs, depth + 1)
        ),
    }
}

/// An operand of `!` or `&&`, parenthesized.
fn gen_atomish(c: &mut Chooser, ctx: &Ctx, thread_regs: &[Vec<u8>], depth: u32) -> String {
    format!("({})", gen_expr(c, ctx, thread_regs, depth + 1))
}

/// A random valid litmus test.
fn gen_test(data: &[u32]) -> String {
    let mut c = Chooser::new(data);
    let mut ctx = Ctx {
        objects: Vec::new(),
        mappings: Vec::new(),
    };
    let mut text = String::from("mm-litmus random\n\nsetup {\n");
    let mut setup_regs: Vec<u8> = Vec::new();
    let statements = c.range(2, 9);
    for _ in 0..statements {
        let line = match c.below(8) {
            0..=2 => {
                if ctx.objects.len() >= 4 {
                    continue;
                }
                let name = format!("o{}", ctx.objects.len());
                let (line, obj) = gen_object(&mut c, &ctx, &name);
                ctx.objects.push(obj);
                line
            }
            3 | 4 if !ctx.objects.is_empty() && ctx.mappings.len() < 4 => {
                let name = format!("m{}", ctx.mappings.len());
                let line = gen_mmap(&mut c, &ctx, &name);
                ctx.mappings.push(name);
                line
            }
            5 => format!("thp {}", c.pick(&["always", "never", "madvise"])),
            6 | 7 if !ctx.mappings.is_empty() => gen_op(&mut c, &ctx, &mut setup_regs),
            _ => continue,
        };
        writeln!(text, "  {line}").unwrap();
    }
    // At least one object and one mapping.
    if ctx.objects.is_empty() {
        let (line, obj) = gen_object(&mut c, &ctx, "o0");
        ctx.objects.push(obj);
        writeln!(text, "  {line}").unwrap();
    }
    if ctx.mappings.is_empty() {
        let name = format!("m{}", ctx.mappings.len());
        let line = gen_mmap(&mut c, &ctx, &name);
        ctx.mappings.push(name);
        writeln!(text, "  {line}").unwrap();
    }
    text += "}\n";
    let threads = c.range(1, 3);
    let mut thread_regs = Vec::new();
    for t in 0..threads {
        writeln!(text, "\nP{t} {{").unwrap();
        let mut regs = Vec::new();
        for _ in 0..c.range(1, 4) {
            writeln!(text, "  {}", gen_op(&mut c, &ctx, &mut regs)).unwrap();
        }
        text += "}\n";
        thread_regs.push(regs);
    }
    text += "\n";
    for _ in 0..c.range(1, 3) {
        let q = c.pick(&["forbid", "exists", "forall"]);
        writeln!(text, "{q} {}", gen_expr(&mut c, &ctx, &thread_regs, 0)).unwrap();
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Invariants

/// Some event among `any` was raised.
fn raised(k: &Kernel, any: EventSet) -> bool {
    k.events.intersects(any)
}

/// Invariants of a model state that hold of the real kernel unless the bug that breaks them
/// is reported as its event. Returns the first violation.
fn invariants(s: &State) -> Result<(), String> {
    let k = &s.kernel;
    let uaf = EventSet::USE_AFTER_FREE;
    let refs = EventSet::REFCOUNT_ERROR;

    // struct pages: counts never negative, free pages hold nothing.
    let regions = [
        (KERNEL_START, RAM_START.0 - KERNEL_START.0),
        (RAM_START, RAM_PAGES),
        (DEVMEM_START, DEVMEM_PAGES),
    ];
    for (start, count) in regions {
        for (pfn, n, f) in k.mem.frames(start, count) {
            let p = f.page;
            if p.refcount < 0 && !raised(k, refs) {
                return Err(format!(
                    "pfn {pfn}..+{n}: refcount {} without refcount_error",
                    p.refcount
                ));
            }
            if p.pincount < 0 && !raised(k, refs) {
                return Err(format!(
                    "pfn {pfn}..+{n}: pincount {} without refcount_error",
                    p.pincount
                ));
            }
            if p.mapcount < 0 && !raised(k, refs | uaf) {
                return Err(format!(
                    "pfn {pfn}..+{n}: mapcount {} without refcount_error or use_after_free",
                    p.mapcount
                ));
            }
            if f.owner == Owner::Free {
                if p.refcount > 0 && !raised(k, refs | uaf) {
                    return Err(format!(
                        "free pfn {pfn}..+{n} has refcount {} (no event)",
                        p.refcount
                    ));
                }
                if p.kind != PageKind::Free {
                    return Err(format!("free pfn {pfn}..+{n} has page kind {:?}", p.kind));
                }
            }
        }
    }

    // Page tables: no present entry maps a freed frame.
    let mut leaves: Vec<(Level, u64, mmlab_mm::Entry)> = Vec::new();
    for level in [Level::Pud, Level::Pmd] {
        for (addr, e) in k.pt.leaves(level, 0, u64::MAX) {
            leaves.push((level, addr, e));
        }
    }
    for (addr, e) in k.pt.ptes(0, u64::MAX) {
        leaves.push((Level::Pte, addr, e));
    }
    for (level, addr, e) in leaves {
        if !e.present() {
            continue;
        }
        if k.vma_lookup(addr).is_none() {
            return Err(format!(
                "{} {e} at {addr:#x} outside every vma",
                level.name()
            ));
        }
        for (pfn, n, f) in k.mem.frames(e.pfn(), level.pages()) {
            if f.owner == Owner::Free && !raised(k, uaf) {
                return Err(format!(
                    "{} {e} at {addr:#x} maps free pfn {pfn}..+{n} without use_after_free",
                    level.name()
                ));
            }
        }
    }

    // Holds: one per holder, never empty, and what they hold is not free.
    for (i, h) in k.holds.iter().enumerate() {
        if h.pages.is_empty() {
            return Err(format!("hold of {} is empty", h.holder));
        }
        if k.holds[..i].iter().any(|o| o.holder == h.holder) {
            return Err(format!("two holds for {}", h.holder));
        }
        if h.holder.thread as usize > s.threads.len() || h.holder.reg > 9 {
            return Err(format!("hold by an unknown holder {}", h.holder));
        }
        for slot in &h.pages.slots {
            let Slot::Pages { first, count, .. } = *slot else {
                continue;
            };
            if !PhysMem::pfn_valid(first) || !PhysMem::pfn_valid(Pfn(first.0 + count - 1)) {
                if !raised(k, EventSet::BAD_PAGE) {
                    return Err(format!(
                        "{} holds pfn {first}..+{count}, which has no struct page",
                        h.holder
                    ));
                }
                continue;
            }
            for (pfn, n, f) in k.mem.frames(first, count) {
                if f.owner == Owner::Free && !raised(k, uaf) {
                    return Err(format!(
                        "{} holds free pfn {pfn}..+{n} without use_after_free",
                        h.holder
                    ));
                }
            }
        }
    }

    // Objects: the frames an object's extents name belong to it.
    for (i, b) in k.objects.iter().enumerate() {
        for e in &b.extents {
            for (pfn, n, f) in k.mem.frames(e.pfn, e.count) {
                if f.owner != Owner::Object(mmlab_mm::ObjId(i as u16)) {
                    return Err(format!(
                        "object {i} extent names pfn {pfn}..+{n}, owned by {:?}",
                        f.owner
                    ));
                }
            }
        }
    }

    // A thread killed for an endless retry raised `hang`.
    for (t, th) in s.threads.iter().enumerate() {
        if th.killed.is_some_and(|s| s.to_string() == "SIGKILL") && !raised(k, EventSet::HANG) {
            return Err(format!("P{t} was killed (SIGKILL) without a hang event"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Running

/// The outcome of one test at one kernel.
enum Outcome {
    /// Machine::new refused the test (a setup step failed on the model).
    NotBuilt,
    Explored {
        complete: bool,
        states: u64,
    },
}

fn run_at(test: &mmlab_litmus::Test, cfg: KernelConfig) -> Result<Outcome, String> {
    let m = match Machine::new(test, cfg) {
        Ok(m) => m,
        Err(e) => {
            if std::env::var("SHOW_SETUP_ERRORS").is_ok() {
                println!("setup error at {cfg}: {e}");
            }
            return Ok(Outcome::NotBuilt);
        }
    };
    invariants(&m.init).map_err(|e| format!("after setup: {e}"))?;
    let mut complete = true;
    let mut states = 0;
    // Whole operations, then fine-grained interleaving inside the racing ones.
    for m in [m.clone(), m.with_fine(true)] {
        let mode = if m.fine { "fine" } else { "coarse" };
        let x = explore(&m, &Config::default().max_states(20_000)).map_err(|e| e.to_string())?;
        for t in &x.terminals {
            invariants(&t.state)
                .map_err(|e| format!("{mode}: terminal state of execution {}: {e}", t.witness))?;
            let _ = summarize(&t.state);
        }
        let _ = judge(&m, &x);
        complete &= x.complete;
        states += x.distinct_states;
    }
    Ok(Outcome::Explored { complete, states })
}

/// Runs `f`, turning a panic into an error message.
fn no_panic<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panic: {msg}"))
        }
    }
}

/// `run_at` on a thread of its own, failing if it takes longer than `PROPTEST_CASE_SECONDS`
/// (default 120): a model step that never returns is a defect too. (The thread is left
/// behind.)
fn within_time_limit(test: &mmlab_litmus::Test, cfg: KernelConfig) -> Result<Outcome, String> {
    let limit = std::env::var("PROPTEST_CASE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let (tx, rx) = std::sync::mpsc::channel();
    let test = test.clone();
    std::thread::spawn(move || {
        let _ = tx.send(no_panic(|| run_at(&test, cfg)));
    });
    rx.recv_timeout(std::time::Duration::from_secs(limit))
        .unwrap_or_else(|_| Err(format!("no result after {limit} s")))
}

fn parse(text: &str) -> Option<mmlab_litmus::Test> {
    mmlab_litmus::parse(text).ok()
}

proptest! {
    #![proptest_config(cases(24))]

    /// Random tests at every kernel: no panic, invariants on every terminal state.
    #[test]
    fn random_tests_explore_cleanly(data in prop::collection::vec(any::<u32>(), 0..300)) {
        let text = gen_test(&data);
        let test = parse(&text);
        prop_assume!(test.is_some());
        let test = test.unwrap();
        for cfg in kernels() {
            let r = within_time_limit(&test, cfg);
            prop_assert!(r.is_ok(), "at {cfg}: {}\n--- test ---\n{text}", r.err().unwrap());
        }
    }

    /// Machine::new and a replay of a random schedule (thread ids, some out of range) never
    /// panic; invariants hold after every step, and the replay ends where stepping does.
    #[test]
    fn random_schedules_replay_cleanly(
        data in prop::collection::vec(any::<u32>(), 0..300),
        kernel in any::<prop::sample::Index>(),
        fine in any::<bool>(),
        schedule in prop::collection::vec(0usize..4, 0..24),
    ) {
        let text = gen_test(&data);
        let test = parse(&text);
        prop_assume!(test.is_some());
        let test = test.unwrap();
        let all = kernels();
        let cfg = all[kernel.index(all.len())];
        let r = no_panic(|| {
            let Ok(m) = Machine::new(&test, cfg) else {
                return Ok(());
            };
            let m = m.with_fine(fine);
            let mut s = m.init.clone();
            for &t in &schedule {
                if !m.enabled(&s, t) {
                    continue;
                }
                s = m.step(&s, t);
                invariants(&s).map_err(|e| format!("after schedule {schedule:?}: {e}"))?;
            }
            let (steps, end) = replay(&m, &schedule);
            if end != s {
                return Err("replay ended in a different state than stepping".into());
            }
            for step in &steps {
                let _ = format!("{:?}", step.trace);
            }
            Ok(())
        });
        prop_assert!(r.is_ok(), "at {cfg} (fine: {fine}): {}\n--- test ---\n{text}", r.err().unwrap());
    }
}

/// The generator's output parses (it is meant to produce only valid tests), and a fixed
/// sample of tests shows how often setups fail and explorations hit the state limit.
#[test]
fn generated_tests_parse() {
    let mut rng = proptest::test_runner::TestRng::deterministic_rng(
        proptest::test_runner::RngAlgorithm::ChaCha,
    );
    let mut failures = Vec::new();
    for _ in 0..500 {
        let data: Vec<u32> = (0..300).map(|_| rng.next_u32()).collect();
        let text = gen_test(&data);
        if let Err(errors) = mmlab_litmus::parse(&text) {
            let rendered: Vec<String> = errors.iter().map(|e| e.render("t", &text)).collect();
            failures.push(format!("{text}\n{}", rendered.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 500 rejected; first:\n{}",
        failures.len(),
        failures[0]
    );
}

const STATS_TESTS: usize = 40;

/// Not a property: how the generated tests fare (run with `--ignored --nocapture`).
#[test]
#[ignore]
fn generated_test_statistics() {
    let mut rng = proptest::test_runner::TestRng::deterministic_rng(
        proptest::test_runner::RngAlgorithm::ChaCha,
    );
    let (mut built, mut not_built, mut incomplete, mut states) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..STATS_TESTS {
        let data: Vec<u32> = (0..300).map(|_| rng.next_u32()).collect();
        let text = gen_test(&data);
        let test = mmlab_litmus::parse(&text).unwrap();
        for cfg in kernels() {
            let t0 = std::time::Instant::now();
            if std::env::var("SHOW_SETUP_ERRORS").is_ok() {
                println!("running at {cfg}:\n{text}");
            }
            let r = run_at(&test, cfg);
            let ms = t0.elapsed().as_millis();
            if ms > 500 {
                println!("{ms} ms at {cfg}:\n{text}");
            }
            match r {
                Ok(Outcome::NotBuilt) => not_built += 1,
                Ok(Outcome::Explored {
                    complete,
                    states: n,
                }) => {
                    built += 1;
                    states += n;
                    if !complete {
                        incomplete += 1;
                    }
                }
                Err(e) => panic!("at {cfg}: {e}\n{text}"),
            }
        }
    }
    println!(
        "built {built}, setup failed {not_built}, incomplete {incomplete}, mean states {}",
        states / built.max(1)
    );
}

// ---------------------------------------------------------------------------------------------
// Regressions: defects these properties found, as fixed tests

/// Runs `text` at `kernel` over every interleaving; the verdicts of its conditions in order
/// and the events of all terminal states.
fn verdicts(text: &str, kernel: &str) -> (Vec<mmlab_machine::Verdict>, Vec<&'static str>) {
    let test = mmlab_litmus::parse(text).expect("parses");
    let m = Machine::new(&test, KernelConfig::parse(kernel).unwrap()).expect("sets up");
    let r = mmlab_machine::check::check(&m, &Config::default()).expect("explores");
    let mut events: Vec<&'static str> = r.finals.iter().flat_map(|f| f.events.clone()).collect();
    events.sort();
    events.dedup();
    (r.verdicts(), events)
}

/// The generic driver's remap and page modes map only the pages of the vma that lie inside
/// the object, page by page, as the oracle's module does: a longer vma used to get special
/// PTEs for the free RAM after the object.
#[test]
fn remap_maps_only_the_object() {
    let text = "mm-litmus remap-past-end
setup {
  driver o0 size=64K insert=remap vm=pfnmap
  mmap m0 o0 size=2M
}
P0 {
  read m0+60K -> r0
  read m0+64K -> r1
}
exists P0:r0 == 0 && P0:r1 == SIGBUS
forbid use_after_free
";
    for kernel in ["5.11", "6.12"] {
        let test = mmlab_litmus::parse(text).unwrap();
        let m = Machine::new(&test, KernelConfig::parse(kernel).unwrap()).unwrap();
        assert_eq!(m.init.kernel.pt.ptes(0, u64::MAX).len(), 16, "at {kernel}");
        invariants(&m.init).unwrap();
        let (v, _) = verdicts(text, kernel);
        assert_eq!(v, [mmlab_machine::Verdict::Ok; 2], "at {kernel}");
    }
}

/// A private (COW) remap_pfn_range mapping gets vm_pgoff = pfn, so the driver's
/// unmap_mapping_range over the object's file offsets misses it, and the eviction frees pages
/// a special PTE still maps (as on a real kernel). free_the_page reported only pages with a
/// mapcount; it now also reports a frame that a present page-table entry maps.
#[test]
fn freeing_a_frame_a_special_pte_maps_is_use_after_free() {
    let text = "mm-litmus private-remap-evict
setup {
  driver o0 size=4K insert=remap
  mmap m0 o0 private
}
P0 {
  evict o0
  read m0 -> r0
}
forbid use_after_free
";
    for kernel in ["5.11", "6.1", "7.2"] {
        let (v, events) = verdicts(text, kernel);
        assert_eq!(v, [mmlab_machine::Verdict::No], "at {kernel}");
        assert!(
            events.contains(&"use_after_free"),
            "at {kernel}: {events:?}"
        );
    }
}

/// The generic driver's ->huge_fault inserts a huge entry only where it lies inside the vma
/// and the object page at its start is size-aligned, as the oracle's module does (the core
/// fault path leaves those checks to the handler). It used to round the fault's file offset
/// down instead: a 4K vma got a 2M PMD, and a vma at offset 4K mapped object page 0 at its
/// start.
#[test]
fn huge_fault_stays_inside_the_vma() {
    let text = "mm-litmus huge-fault-bounds
setup {
  driver o0 size=4M insert=pmd
  mmap m0 o0 size=4K
  mmap m1 o0 size=2M offset=4K
  touch m0
  write m1 5
}
P0 {
  read m1 -> r0
}
forall P0:r0 == 5 && o0[1] == 5 && o0[0] == 0
";
    for kernel in ["5.11", "6.12", "7.2"] {
        let test = mmlab_litmus::parse(text).unwrap();
        let m = Machine::new(&test, KernelConfig::parse(kernel).unwrap()).unwrap();
        let k = &m.init.kernel;
        assert!(
            k.pt.leaves(Level::Pmd, 0, u64::MAX).is_empty(),
            "at {kernel}: a PMD"
        );
        assert_eq!(k.pt.ptes(0, u64::MAX).len(), 2, "at {kernel}");
        let (v, _) = verdicts(text, kernel);
        assert_eq!(v, [mmlab_machine::Verdict::Ok], "at {kernel}");
    }
}

/// 7.2 no longer treats DAX vmas as special-huge, so splitting a huge PMD that a driver
/// inserted with vmf_insert_pfn_pmd (no rmap, no reference) removes an rmap that was never
/// added, as the real kernel would; the model now reports that as refcount_error (it left the
/// mapcount at -1 silently).
#[test]
fn removing_a_huge_rmap_never_added_is_a_refcount_error() {
    let text = "mm-litmus dax-pfn-pmd-cow
setup {
  driver o0 size=2M insert=pmd vm=mixedmap memory=devmem dax
  mmap m0 o0 private
  touch m0
}
P0 {
  write m0 1
}
forbid refcount_error
";
    let (v, _) = verdicts(text, "7.2");
    assert_eq!(v, [mmlab_machine::Verdict::No]);
    let (v, _) = verdicts(text, "6.12");
    assert_eq!(v, [mmlab_machine::Verdict::Ok]);
}

/// The generic driver frees its RAM block by block as it allocated it. An object of 1025
/// pages is two compound order-9 blocks and one order-0 page, and their extents merge when
/// contiguous; freeing by the extent's length freed the last page as an order-9 block,
/// taking 511 pages of the object's new memory with it.
#[test]
fn eviction_frees_the_blocks_it_allocated() {
    let text = "mm-litmus evict-mixed-orders
setup {
  driver o0 size=4100K insert=pmd
  mmap m0 o0
}
P0 {
  evict o0
}
forbid use_after_free || page_reuse || refcount_error
";
    for kernel in ["5.11", "7.2"] {
        let test = mmlab_litmus::parse(text).unwrap();
        let m = Machine::new(&test, KernelConfig::parse(kernel).unwrap()).unwrap();
        let end = m.step(&m.init, 0);
        invariants(&end).unwrap_or_else(|e| panic!("at {kernel}: {e}"));
        let (v, _) = verdicts(text, kernel);
        assert_eq!(v, [mmlab_machine::Verdict::Ok], "at {kernel}");
    }
}
