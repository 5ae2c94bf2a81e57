//! Translating a parsed litmus test and a schedule into a guest script test.
//!
//! Everything a real kernel (or this guest) cannot do is refused with a reason, never
//! approximated silently; approximations that keep the kernel's behaviour are listed in
//! docs/oracle.md.

use mmlab_litmus as lit;
use mmlab_litmus::{
    HugeLevel, InsertMethod, MemoryKind, ObjectKind, OpKind, PfnFlags, Placement, VmFlag,
};

use crate::batch::GuestTest;
use crate::kernel::OracleKernel;
use crate::schedule::Schedule;

const HUGE_PMD: u64 = 2 << 20;
const HUGE_PUD: u64 = 1 << 30;
/// The largest object the module makes of 4K or 2M blocks (a PUD object is one 1G block).
const SMALL_BLOCKS_MAX: u64 = 64 << 20;

/// The largest private mapping the guest makes. A writable private mapping is charged
/// against the commit limit (`VM_ACCOUNT`; mprotect to writable charges too), and with the
/// default heuristic `__vm_enough_memory` refuses one larger than the guest's RAM and swap
/// (512 MB, none). The model's machine has 8 GB, so it maps them.
const PRIVATE_MAPPING_MAX: u64 = 256 << 20;

/// Why a test cannot run on a real kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// Translates `test` run in `schedule` order for `kernel`.
pub fn translate(
    test: &lit::Test,
    schedule: &Schedule,
    kernel: OracleKernel,
    timeout_ms: u64,
) -> Result<GuestTest, Unsupported> {
    schedule
        .check(test)
        .map_err(|e| Unsupported(format!("bad schedule: {e}")))?;
    let mut body = String::new();
    for stmt in &test.setup {
        match &stmt.kind {
            lit::SetupKind::Object(o) => body.push_str(&object(test, o, kernel)?),
            lit::SetupKind::Mmap(m) => body.push_str(&mmap(test, m)?),
            lit::SetupKind::Thp(mode) => body.push_str(&format!("op S thp {}\n", mode.keyword())),
            lit::SetupKind::Op(op) => body.push_str(&operation(test, "S", op)?),
        }
    }
    let mut next = vec![0usize; test.threads.len()];
    for &t in &schedule.steps {
        let op = &test.threads[t].ops[next[t]];
        next[t] += 1;
        body.push_str(&operation(test, &format!("P{t}"), &op.kind)?);
    }
    Ok(GuestTest {
        name: test.name.node.clone(),
        body,
        timeout_ms: step_timeout(test, timeout_ms),
    })
}

/// Steps that clear, copy or scan a 1G object take seconds under TCG (creating one clears
/// it; the guest reads every page's value after the test): such a test's watchdog waits
/// [`HUGE_OBJECT_TIMEOUT_MS`] per step, so that only a real hang trips it.
fn step_timeout(test: &lit::Test, timeout_ms: u64) -> u64 {
    let huge = test.setup.iter().any(|stmt| match &stmt.kind {
        lit::SetupKind::Object(o) => o.kind.own_size().is_some_and(|size| size >= HUGE_PUD),
        _ => false,
    });
    if huge {
        timeout_ms.max(HUGE_OBJECT_TIMEOUT_MS)
    } else {
        timeout_ms
    }
}

/// A step's watchdog in tests with an object of 1G or more: several times the slowest such
/// step seen (about 4 s), and well below the host's limit on a silent console (30 s,
/// `BootConfig::idle_timeout`), which would otherwise take a GUP that retries forever for a
/// wedged guest.
pub const HUGE_OBJECT_TIMEOUT_MS: u64 = 15_000;

fn unsupported<T>(why: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported(why.into()))
}

fn vm_words(flags: &[&str]) -> String {
    if flags.is_empty() {
        "-".into()
    } else {
        flags.join("+")
    }
}

fn object(test: &lit::Test, o: &lit::Object, kernel: OracleKernel) -> Result<String, Unsupported> {
    let name = &o.name.node;
    match &o.kind {
        ObjectKind::Anon { size } => Ok(format!("op S object {name} anon size={size}\n")),
        ObjectKind::Memfd { size } => Ok(format!("op S object {name} memfd size={size}\n")),
        ObjectKind::DmaBuf(d) => {
            if d.require_pfnmap {
                return unsupported(format!(
                    "dmabuf {name} require_pfnmap: the proposed VM_PFNMAP check was never merged; no real kernel has it"
                ));
            }
            let exporter = &d.exports.node;
            let size = test.object_size(exporter).unwrap_or(0);
            Ok(format!(
                "op S object {name} dmabuf exports={exporter} size={size}\n"
            ))
        }
        ObjectKind::Ttm(t) => ttm(name, t, kernel),
        ObjectKind::Driver(d) => driver(name, d),
    }
}

/// A TTM-like object as TTM maps buffer objects at the selected kernel.
fn ttm(name: &str, t: &lit::Ttm, kernel: OracleKernel) -> Result<String, Unsupported> {
    // VRAM is the guest's iomem pool (an ivshmem BAR without struct pages).
    let memory = match t.place {
        Placement::System => "ram",
        Placement::Vram => "iomem",
    };
    let caching = t.caching.keyword();
    let pfn = pfn_word(t.pfn);
    match kernel {
        // 5.10: ttm_bo_mmap's VM_MIXEDMAP|VM_IO|DONTEXPAND|DONTDUMP, vmf_insert_mixed(PFN_DEV)
        // PTEs; vmwgfx-style huge PMDs over non-compound order-9 pool blocks.
        OracleKernel::V5_10 => {
            if t.huge != HugeLevel::Pud && t.size > SMALL_BLOCKS_MAX {
                return unsupported(format!("ttm {name}: an object of 4K or 2M blocks above 64M"));
            }
            let insert = match t.huge {
                HugeLevel::None => "mixed",
                HugeLevel::Pmd => {
                    if t.size % HUGE_PMD != 0 {
                        return unsupported(format!("ttm {name} huge=pmd: size must be a multiple of 2M"));
                    }
                    "pmd"
                }
                // The iomem pool has 1G blocks; RAM has none (a 512M guest).
                HugeLevel::Pud if t.place == Placement::System => {
                    return unsupported(format!("ttm {name} place=system huge=pud: a 1G block of RAM does not fit a 512M guest"))
                }
                HugeLevel::Pud => {
                    if t.size != HUGE_PUD {
                        return unsupported(format!("ttm {name} huge=pud: the guest's VRAM takes one 1G object, size=1G"));
                    }
                    "pud"
                }
            };
            Ok(format!(
                "op S object {name} driver size={} insert={insert} vm=mixedmap+io+dontexpand+dontdump pfn={pfn} memory={memory} ttm=1 caching={caching}\n",
                t.size
            ))
        }
        // The module's objects of 4K blocks stop at 64M.
        OracleKernel::V6_1 | OracleKernel::V6_12 if t.size > SMALL_BLOCKS_MAX => unsupported(
            format!("ttm {name}: an object of 4K blocks above 64M (TTM maps PTEs at this kernel)"),
        ),
        // Since 5.14/5.16: VM_PFNMAP|VM_IO|DONTEXPAND|DONTDUMP, COW refused, vmf_insert_pfn PTEs,
        // and no huge insertion code left (huge= changes nothing at these kernels).
        OracleKernel::V6_1 | OracleKernel::V6_12 => Ok(format!(
            "op S object {name} driver size={} insert=pfn vm=pfnmap+io+dontexpand+dontdump+reject_cow pfn={pfn} memory={memory} ttm=1 caching={caching}\n",
            t.size
        )),
    }
}

fn pfn_word(p: PfnFlags) -> &'static str {
    p.keyword()
}

fn driver(name: &str, d: &lit::Driver) -> Result<String, Unsupported> {
    if d.memory == MemoryKind::Iomem
        && matches!(d.insert, InsertMethod::Page | InsertMethod::FaultPage)
    {
        return unsupported(format!(
            "driver {name} memory=iomem insert={}: needs struct pages",
            d.insert.keyword()
        ));
    }
    let insert = d.insert.keyword();
    match d.insert {
        InsertMethod::Pud if d.memory == MemoryKind::Ram => {
            return unsupported(format!(
                "driver {name} insert=pud: a 1G block of RAM does not fit a 512M guest"
            ))
        }
        InsertMethod::Pud if d.size != HUGE_PUD => {
            return unsupported(format!(
                "driver {name} insert=pud: the guest's device pools take one 1G object, size=1G"
            ))
        }
        _ if d.insert != InsertMethod::Pud && d.size > SMALL_BLOCKS_MAX => {
            return unsupported(format!(
                "driver {name}: an object of 4K or 2M blocks above 64M"
            ))
        }
        InsertMethod::Pmd if d.size % HUGE_PMD != 0 => {
            return unsupported(format!(
                "driver {name} insert=pmd: size must be a multiple of 2M"
            ))
        }
        _ => {}
    }
    let vm = match d.vm {
        Some(set) => vm_words(&set.iter().map(|f| f.keyword()).collect::<Vec<_>>()),
        None => vm_words(default_vm(d.insert)),
    };
    Ok(format!(
        "op S object {name} driver size={} insert={insert} vm={vm} pfn={} memory={} dax={}\n",
        d.size,
        pfn_word(d.pfn),
        d.memory.keyword(),
        u8::from(d.dax)
    ))
}

/// The vma flags a driver sets when the test gives no `vm=`: what its insert method needs.
pub fn default_vm(insert: InsertMethod) -> &'static [&'static str] {
    match insert {
        InsertMethod::Pfn | InsertMethod::Pmd | InsertMethod::Pud => &["pfnmap"],
        InsertMethod::Mixed => &["mixedmap"],
        // vm_insert_page sets VM_MIXEDMAP itself, remap_pfn_range sets VM_PFNMAP|VM_IO|...
        InsertMethod::Page | InsertMethod::FaultPage | InsertMethod::Remap => &[],
    }
}

fn mmap(test: &lit::Test, m: &lit::Mmap) -> Result<String, Unsupported> {
    let object = &m.object.node;
    let Some(obj) = test.object(object) else {
        return unsupported(format!("mmap {}: unknown object {object}", m.name.node));
    };
    let offset = m.offset.unwrap_or(0);
    let object_size = test.object_size(object).unwrap_or(0);
    let size = m
        .size
        .unwrap_or(object_size.saturating_sub(offset).max(lit::PAGE_SIZE));
    // Anonymous memory is private anonymous memory whatever the sharing word says.
    let private = m.sharing == lit::Sharing::Private || matches!(obj.kind, ObjectKind::Anon { .. });
    if private && size > PRIVATE_MAPPING_MAX {
        return unsupported(format!(
            "mmap {}: a private mapping of {} MB is charged against the guest's RAM ({} MB) when \
             it is or becomes writable, which the kernel's overcommit heuristic refuses \
             (-ENOMEM); the model's machine has 8 GB",
            m.name.node,
            size >> 20,
            crate::qemu::BootConfig::default().memory_mb
        ));
    }
    let mut line = format!(
        "op S map {} {object} size={size} offset={offset} {} prot={}",
        m.name.node,
        if private { "private" } else { "shared" },
        m.prot.keyword()
    );
    if let Some(at) = m.at {
        line.push_str(&format!(" at={at}"));
    }
    line.push('\n');
    Ok(line)
}

fn addr(a: &lit::Addr) -> String {
    format!("{}+{}", a.mapping.node, a.offset)
}

fn operation(test: &lit::Test, thread: &str, op: &OpKind) -> Result<String, Unsupported> {
    let body = match op {
        OpKind::Read { addr: a, dest } => format!(
            "read {} {}",
            addr(a),
            dest.as_ref()
                .map(|r| r.node.to_string())
                .unwrap_or("-".into())
        ),
        OpKind::Write { addr: a, value } => format!("write {} {value}", addr(a)),
        OpKind::Touch { addr: a } => format!("touch {}", addr(a)),
        OpKind::Gup {
            dest,
            call,
            addr: a,
            pages,
            write,
            longterm,
            force,
        } => {
            let mut flags = Vec::new();
            if *write {
                flags.push("write");
            }
            if *longterm {
                flags.push("longterm");
            }
            if *force {
                flags.push("force");
            }
            if *pages > 4096 {
                return unsupported(format!(
                    "{} pages={pages}: the test driver takes at most 4096",
                    call.keyword()
                ));
            }
            format!(
                "gup {} {} {} {pages} {}",
                dest.node,
                call.keyword(),
                addr(a),
                if flags.is_empty() {
                    "-".into()
                } else {
                    flags.join(",")
                }
            )
        }
        OpKind::Syscall {
            dest,
            call,
            addr: a,
            size,
        } => {
            format!("sys {} {} {} {size}", dest.node, call.keyword(), addr(a))
        }
        OpKind::DmaWrite { reg, value } => format!("dma_write {} {value}", reg.node),
        OpKind::DmaRead { reg, dest } => format!(
            "dma_read {} {}",
            reg.node,
            dest.as_ref()
                .map(|r| r.node.to_string())
                .unwrap_or("-".into())
        ),
        OpKind::Unpin { reg } => format!("unpin {}", reg.node),
        OpKind::Evict { object, to } => {
            // Without a target the model moves a TTM BO to its other placement, and a
            // driver's object to memory of the kind it has.
            let ttm = test
                .object(&object.node)
                .is_some_and(|o| matches!(o.kind, ObjectKind::Ttm(_)));
            let huge = test
                .object_size(&object.node)
                .is_some_and(|size| size >= HUGE_PUD);
            if huge && (*to == Some(Placement::System) || (ttm && to.is_none())) {
                return unsupported(format!(
                    "evict {} to system memory: 1G of RAM does not fit a 512M guest",
                    object.node
                ));
            }
            let target = match to {
                Some(Placement::System) => "system",
                Some(Placement::Vram) => "vram",
                None if ttm => "other",
                None => "same",
            };
            format!("evict {} {target}", object.node)
        }
        OpKind::Destroy { object } => format!("destroy {}", object.node),
        OpKind::Munmap { mapping } => format!("munmap {}", mapping.node),
        OpKind::Mprotect { mapping, prot } => {
            format!("mprotect {} {}", mapping.node, prot.keyword())
        }
        OpKind::Madvise { mapping, .. } => format!("madvise_dontneed {}", mapping.node),
    };
    Ok(format!("op {thread} {body}\n"))
}

/// A driver's vm flag words, for documentation and tests.
pub fn vm_flag_word(f: VmFlag) -> &'static str {
    f.keyword()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTM: &str = "mm-litmus ttm-huge\nkernel 5.11\nsetup {\n  ttm bo0 size=2M place=system huge=pmd\n  mmap m0 bo0 shared rw\n}\nP0 {\n  write m0 1\n  r0 = pin_user_pages_fast m0 pages=512 write\n  dma_write r0 2\n}\nP1 {\n  evict bo0 to=system\n}\nexists P0:r0 == 512\nforbid lost_write\n";

    #[test]
    fn ttm_on_5_10_is_a_non_compound_pmd() {
        let test = mmlab_litmus::parse(TTM).unwrap();
        let s = Schedule::parse("P0 P0 P1 P0").unwrap();
        let g = translate(&test, &s, OracleKernel::V5_10, 400).unwrap();
        assert!(g
            .body
            .contains("insert=pmd vm=mixedmap+io+dontexpand+dontdump pfn=dev memory=ram ttm=1"));
        let lines: Vec<&str> = g.body.lines().collect();
        assert_eq!(lines[2], "op P0 write m0+0 1");
        assert_eq!(lines[3], "op P0 gup r0 pin_user_pages_fast m0+0 512 write");
        assert_eq!(lines[4], "op P1 evict bo0 system");
        let g = translate(&test, &s, OracleKernel::V6_1, 400).unwrap();
        assert!(g.body.contains("insert=pfn vm=pfnmap+io"));
    }

    #[test]
    fn vram_is_iomem_and_wc_is_pooled() {
        let src = TTM.replace("place=system", "place=vram");
        let test = mmlab_litmus::parse(&src).unwrap();
        let g = translate(
            &test,
            &Schedule::sequential(&test),
            OracleKernel::V5_10,
            400,
        )
        .unwrap();
        assert!(g.body.contains("memory=iomem ttm=1 caching=cached"));
        let src = TTM.replace("place=system", "place=system caching=wc");
        let test = mmlab_litmus::parse(&src).unwrap();
        let g = translate(&test, &Schedule::sequential(&test), OracleKernel::V6_1, 400).unwrap();
        assert!(g.body.contains("ttm=1 caching=wc"));
    }

    /// Without a target, a TTM BO goes to its other placement (as the model moves it) and a
    /// driver's object stays in memory of its kind.
    #[test]
    fn an_eviction_without_target() {
        let ttm = TTM.replace("evict bo0 to=system", "evict bo0");
        let driver = ttm.replace(
            "ttm bo0 size=2M place=system huge=pmd",
            "driver bo0 size=2M insert=pfn",
        );
        for (src, word) in [(ttm, "other"), (driver, "same")] {
            let test = mmlab_litmus::parse(&src).unwrap();
            let g =
                translate(&test, &Schedule::sequential(&test), OracleKernel::V6_1, 400).unwrap();
            assert!(
                g.body.contains(&format!("op P1 evict bo0 {word}\n")),
                "{}",
                g.body
            );
        }
    }

    /// 1G objects: PUDs over the device pools run, with a long step watchdog; RAM of that
    /// size (an object or an eviction's target) and 1G objects of small blocks do not.
    #[test]
    fn objects_of_1g() {
        let pud = TTM
            .replace(
                "ttm bo0 size=2M place=system huge=pmd",
                "driver bo0 size=1G insert=pud memory=devmem pfn=dev+map dax",
            )
            .replace("evict bo0 to=system", "evict bo0 to=vram");
        let run = |src: &str, kernel| {
            let test = mmlab_litmus::parse(src).unwrap();
            translate(&test, &Schedule::sequential(&test), kernel, 400)
        };
        let g = run(&pud, OracleKernel::V6_12).unwrap();
        assert!(g.body.contains("insert=pud"), "{}", g.body);
        assert_eq!(g.timeout_ms, HUGE_OBJECT_TIMEOUT_MS);
        assert_eq!(run(TTM, OracleKernel::V6_12).unwrap().timeout_ms, 400);
        let to_ram = pud.replace("evict bo0 to=vram", "evict bo0 to=system");
        assert!(run(&to_ram, OracleKernel::V6_12).is_err());
        assert!(run(
            &pud.replace("memory=devmem", "memory=ram"),
            OracleKernel::V6_1
        )
        .is_err());
        let vram_bo = TTM
            .replace(
                "size=2M place=system huge=pmd",
                "size=1G place=vram huge=pud",
            )
            .replace("evict bo0 to=system", "evict bo0 to=vram");
        assert!(run(&vram_bo, OracleKernel::V5_10)
            .unwrap()
            .body
            .contains("insert=pud"));
        assert!(
            run(&vram_bo, OracleKernel::V6_1).is_err(),
            "4K blocks above 64M"
        );
        assert!(run(&vram_bo.replace("to=vram", ""), OracleKernel::V5_10).is_err());
        // A private mapping of it would be charged against the guest's 512 MB (random seed
        // 22052: mmap -ENOMEM on every kernel, where the model mapped it).
        let private = pud.replace(" shared rw", " private rw");
        assert_ne!(private, pud);
        let refused = run(&private, OracleKernel::V6_1).unwrap_err();
        assert!(
            refused.0.contains("private mapping of 1024 MB"),
            "{refused:?}"
        );
    }
}
