//! What each construct parses to, and the message for each kind of mistake.

use mmlab_litmus::*;

/// A test with `setup` and `thread` bodies inserted, and a trivial condition.
fn with(setup: &str, thread: &str) -> String {
    format!("mm-litmus t\nsetup {{\n{setup}\n}}\nP0 {{\n{thread}\n}}\nexists bug\n")
}

fn ok(source: &str) -> Test {
    match parse_and_render("t.litmus", source) {
        Ok(test) => test,
        Err(report) => panic!("{report}\n--- source:\n{source}"),
    }
}

/// The first error's message.
fn first_error(source: &str) -> String {
    match parse(source) {
        Ok(_) => panic!("expected an error for:\n{source}"),
        Err(errors) => errors[0].message.clone(),
    }
}

fn setup_kinds(source: &str) -> Vec<SetupKind> {
    ok(source).setup.into_iter().map(|s| s.kind).collect()
}

fn object(source: &str, name: &str) -> ObjectKind {
    ok(source).object(name).expect("declared").kind.clone()
}

fn thread_ops(source: &str) -> Vec<OpKind> {
    ok(source).threads[0]
        .ops
        .iter()
        .map(|o| o.kind.clone())
        .collect()
}

fn condition_text(condition: &str) -> Expr {
    let source = format!(
        "mm-litmus t\nsetup {{\n  anon a size=8K\n  mmap m0 a\n}}\nP0 {{\n  r0 = get_user_pages m0\n}}\nP1 {{\n  read m0 -> r2\n}}\nexists {condition}\n"
    );
    ok(&source).conditions.remove(0).expr
}

// ----- header -----

#[test]
fn header_kernel_and_docs() {
    let test = ok("# leading comment\n\nmm-litmus ttm-huge-pmd # trailing\nkernel 5.11\ndoc \"one\"\ndoc \"two \\\"q\\\" \\\\\"\nP0 {\n}\nforbid bug\n");
    assert_eq!(test.name.node, "ttm-huge-pmd");
    let kernel = test.kernel.unwrap().node;
    assert_eq!((kernel.major, kernel.minor, kernel.patch), (5, 11, None));
    assert_eq!(kernel.flavor, KernelFlavor::Upstream);
    assert_eq!(kernel.raw, "5.11");
    let docs: Vec<_> = test.docs.iter().map(|d| d.node.as_str()).collect();
    assert_eq!(docs, ["one", "two \"q\" \\"]);
    assert!(test.setup.is_empty());
}

#[test]
fn string_name_and_kernel_flavors() {
    let test = ok("mm-litmus \"a name with spaces\"\nkernel debian-6.1\nP0 {\n}\nforbid bug\n");
    assert_eq!(test.name.node, "a name with spaces");
    let kernel = test.kernel.unwrap().node;
    assert_eq!(kernel.flavor, KernelFlavor::Debian);
    assert_eq!((kernel.major, kernel.minor), (6, 1));
    let test = ok("mm-litmus t\nkernel 6.12.3\nP0 {\n}\nforbid bug\n");
    assert_eq!(test.kernel.unwrap().node.patch, Some(3));
    let test = ok("mm-litmus t\nkernel 7.2\nP0 {\n}\nforbid bug\n");
    assert_eq!(test.kernel.unwrap().node.major, 7);
}

#[test]
fn kernel_line_spans_whole_version() {
    let source = "mm-litmus t\nkernel debian-6.1\nP0 {\n}\nforbid bug\n";
    let kernel = ok(source).kernel.unwrap();
    assert_eq!(kernel.span.text(source), "debian-6.1");
    assert_eq!(kernel.span.line_col(source), LineCol { line: 2, col: 8 });
}

// ----- objects -----

#[test]
fn ttm_defaults_and_options() {
    let ObjectKind::Ttm(ttm) = object(&with("  ttm bo size=2M place=system", ""), "bo") else {
        panic!()
    };
    assert_eq!(
        ttm,
        Ttm {
            size: 2 << 20,
            place: Placement::System,
            caching: Caching::Cached,
            huge: HugeLevel::None,
            pfn: PfnFlags::Dev
        }
    );
    let ObjectKind::Ttm(ttm) = object(
        &with(
            "  ttm bo pfn=dev+map huge=pud caching=uc place=vram size=0x200000",
            "",
        ),
        "bo",
    ) else {
        panic!()
    };
    assert_eq!(
        ttm,
        Ttm {
            size: 2 << 20,
            place: Placement::Vram,
            caching: Caching::Uc,
            huge: HugeLevel::Pud,
            pfn: PfnFlags::DevMap
        }
    );
    let ObjectKind::Ttm(ttm) = object(
        &with("  ttm bo size=4K place=system caching=wc huge=pmd", ""),
        "bo",
    ) else {
        panic!()
    };
    assert_eq!((ttm.caching, ttm.huge), (Caching::Wc, HugeLevel::Pmd));
}

#[test]
fn driver_defaults_and_options() {
    let ObjectKind::Driver(driver) = object(&with("  driver d size=8K insert=pfn", ""), "d") else {
        panic!()
    };
    assert_eq!(
        driver,
        Driver {
            size: 8192,
            insert: InsertMethod::Pfn,
            vm: None,
            pfn: PfnFlags::Dev,
            memory: MemoryKind::Ram,
            dax: false
        }
    );
    let ObjectKind::Driver(driver) = object(
        &with(
            "  driver d size=2M insert=fault_page vm=hugepage+pfnmap+mixedmap+io+dontexpand+dontdump pfn=special memory=iomem dax",
            "",
        ),
        "d",
    ) else {
        panic!()
    };
    assert_eq!(driver.insert, InsertMethod::FaultPage);
    assert_eq!(driver.vm.unwrap().iter().collect::<Vec<_>>(), VmFlag::ALL);
    assert_eq!(
        (driver.pfn, driver.memory, driver.dax),
        (PfnFlags::Special, MemoryKind::Iomem, true)
    );
    for (word, method) in [
        ("mixed", InsertMethod::Mixed),
        ("page", InsertMethod::Page),
        ("remap", InsertMethod::Remap),
        ("pmd", InsertMethod::Pmd),
        ("pud", InsertMethod::Pud),
    ] {
        let source = with(
            &format!("  driver d size=4K insert={word} pfn=none memory=devmem"),
            "",
        );
        let ObjectKind::Driver(driver) = object(&source, "d") else {
            panic!()
        };
        assert_eq!(driver.insert, method);
        assert_eq!(
            (driver.pfn, driver.memory),
            (PfnFlags::None, MemoryKind::Devmem)
        );
    }
}

#[test]
fn dmabuf_anon_memfd() {
    let source = with(
        "  ttm bo size=4K place=vram\n  dmabuf buf exports bo require_pfnmap\n  driver d size=4K insert=page\n  dmabuf b2 exports d\n  anon a size=12K\n  memfd f size=1M",
        "",
    );
    let ObjectKind::DmaBuf(buf) = object(&source, "buf") else {
        panic!()
    };
    assert_eq!(
        (buf.exports.node.as_str(), buf.require_pfnmap),
        ("bo", true)
    );
    let ObjectKind::DmaBuf(b2) = object(&source, "b2") else {
        panic!()
    };
    assert!(!b2.require_pfnmap);
    assert_eq!(object(&source, "a"), ObjectKind::Anon { size: 12288 });
    assert_eq!(object(&source, "f"), ObjectKind::Memfd { size: 1 << 20 });
    let test = ok(&source);
    assert_eq!(test.object_size("buf"), Some(4096));
    assert_eq!(test.object_size("b2"), Some(4096));
}

#[test]
fn mmap_defaults_and_options() {
    let source = with(
        "  anon a size=16K\n  mmap m0 a\n  mmap m1 a private r size=8K offset=4K at=0x7f0000000000\n  mmap m2 a none shared offset=0",
        "",
    );
    let test = ok(&source);
    let m0 = test.mapping("m0").unwrap();
    assert_eq!(
        (m0.size, m0.offset, m0.sharing, m0.prot, m0.at),
        (None, None, Sharing::Shared, Prot::Rw, None)
    );
    let m1 = test.mapping("m1").unwrap();
    assert_eq!(
        (m1.size, m1.offset, m1.sharing, m1.prot, m1.at),
        (
            Some(8192),
            Some(4096),
            Sharing::Private,
            Prot::R,
            Some(0x7f00_0000_0000)
        )
    );
    let m2 = test.mapping("m2").unwrap();
    assert_eq!((m2.prot, m2.offset), (Prot::None, Some(0)));
    assert_eq!(m2.object.node, "a");
}

#[test]
fn thp_and_setup_operations() {
    let kinds = setup_kinds(&with(
        "  thp never\n  anon a size=4K\n  mmap m0 a\n  thp madvise\n  r0 = pin_user_pages m0\n  dma_write r0 3\n  thp always",
        "",
    ));
    assert_eq!(kinds[0], SetupKind::Thp(ThpMode::Never));
    assert_eq!(kinds[3], SetupKind::Thp(ThpMode::Madvise));
    assert!(matches!(
        kinds[4],
        SetupKind::Op(OpKind::Gup {
            call: GupCall::PinUserPages,
            ..
        })
    ));
    assert!(matches!(
        kinds[5],
        SetupKind::Op(OpKind::DmaWrite { value: 3, .. })
    ));
    assert_eq!(kinds[6], SetupKind::Thp(ThpMode::Always));
}

// ----- operations -----

const MAPPED: &str = "  ttm bo size=2M place=system\n  mmap m0 bo";

#[test]
fn memory_access_operations() {
    let ops = thread_ops(&with(
        MAPPED,
        "  read m0\n  read m0+4K -> r3\n  write m0+0x10 7\n  touch m0+2M",
    ));
    let OpKind::Read { addr, dest: None } = &ops[0] else {
        panic!()
    };
    assert_eq!((addr.mapping.node.as_str(), addr.offset), ("m0", 0));
    let OpKind::Read {
        addr,
        dest: Some(dest),
    } = &ops[1]
    else {
        panic!()
    };
    assert_eq!((addr.offset, dest.node), (4096, Reg(3)));
    let OpKind::Write { addr, value } = &ops[2] else {
        panic!()
    };
    assert_eq!((addr.offset, *value), (16, 7));
    let OpKind::Touch { addr } = &ops[3] else {
        panic!()
    };
    assert_eq!(addr.offset, 2 << 20);
}

#[test]
fn gup_calls() {
    for call in GupCall::ALL {
        let ops = thread_ops(&with(MAPPED, &format!("  r9 = {call} m0+4K")));
        assert_eq!(
            ops[0],
            OpKind::Gup {
                dest: Spanned::new(Reg(9), Span::new(0, 0)),
                call: *call,
                addr: Addr {
                    mapping: Spanned::new("m0".into(), Span::new(0, 0)),
                    offset: 4096,
                    span: Span::new(0, 0)
                },
                pages: 1,
                write: false,
                longterm: false,
                force: false
            }
            .with_spans_of(&ops[0])
        );
    }
    let ops = thread_ops(&with(
        MAPPED,
        "  r0 = pin_user_pages_fast m0 force longterm pages=512 write",
    ));
    let OpKind::Gup {
        pages,
        write,
        longterm,
        force,
        ..
    } = ops[0]
    else {
        panic!()
    };
    assert_eq!((pages, write, longterm, force), (512, true, true, true));
}

/// Copies spans from `other` so a hand-written tree compares equal on content alone.
trait WithSpans {
    fn with_spans_of(self, other: &Self) -> Self;
}

impl WithSpans for OpKind {
    fn with_spans_of(self, other: &OpKind) -> OpKind {
        match (self, other) {
            (
                OpKind::Gup {
                    call,
                    addr,
                    pages,
                    write,
                    longterm,
                    force,
                    dest,
                },
                OpKind::Gup {
                    dest: d2, addr: a2, ..
                },
            ) => OpKind::Gup {
                dest: Spanned::new(dest.node, d2.span),
                call,
                addr: Addr {
                    mapping: Spanned::new(addr.mapping.node, a2.mapping.span),
                    offset: addr.offset,
                    span: a2.span,
                },
                pages,
                write,
                longterm,
                force,
            },
            (this, _) => this,
        }
    }
}

#[test]
fn syscalls() {
    for call in Syscall::ALL {
        let ops = thread_ops(&with(MAPPED, &format!("  r1 = {call} m0 size=8K")));
        let OpKind::Syscall {
            dest,
            call: parsed,
            size,
            ..
        } = &ops[0]
        else {
            panic!()
        };
        assert_eq!((dest.node, *parsed, *size), (Reg(1), *call, 8192));
    }
}

#[test]
fn device_and_object_operations() {
    let ops = thread_ops(&with(
        MAPPED,
        "  r0 = get_user_pages m0\n  dma_write r0 5\n  dma_read r0\n  dma_read r0 -> r1\n  unpin r0\n  evict bo\n  evict bo to=vram\n  evict bo to=system\n  destroy bo\n  munmap m0\n  mprotect m0 r\n  mprotect m0 rw\n  mprotect m0 none\n  madvise m0 dontneed",
    ));
    assert!(matches!(&ops[1], OpKind::DmaWrite { reg, value: 5 } if reg.node == Reg(0)));
    assert!(matches!(&ops[2], OpKind::DmaRead { dest: None, .. }));
    assert!(matches!(&ops[3], OpKind::DmaRead { dest: Some(d), .. } if d.node == Reg(1)));
    assert!(matches!(&ops[4], OpKind::Unpin { reg } if reg.node == Reg(0)));
    assert!(matches!(&ops[5], OpKind::Evict { to: None, .. }));
    assert!(matches!(
        &ops[6],
        OpKind::Evict {
            to: Some(Placement::Vram),
            ..
        }
    ));
    assert!(matches!(
        &ops[7],
        OpKind::Evict {
            to: Some(Placement::System),
            ..
        }
    ));
    assert!(matches!(&ops[8], OpKind::Destroy { object } if object.node == "bo"));
    assert!(matches!(&ops[9], OpKind::Munmap { mapping } if mapping.node == "m0"));
    assert!(matches!(&ops[10], OpKind::Mprotect { prot: Prot::R, .. }));
    assert!(matches!(&ops[11], OpKind::Mprotect { prot: Prot::Rw, .. }));
    assert!(matches!(
        &ops[12],
        OpKind::Mprotect {
            prot: Prot::None,
            ..
        }
    ));
    assert!(matches!(
        &ops[13],
        OpKind::Madvise {
            advice: Advice::DontNeed,
            ..
        }
    ));
}

#[test]
fn one_line_blocks_and_spans() {
    let source = "mm-litmus t\nsetup { anon a size=4K }\nP0 { touch m0 }\nexists bug\n";
    // `m0` is unknown: the one-line block parsed, and the check points at the name.
    let errors = parse(source).unwrap_err();
    assert_eq!(errors[0].message, "unknown mapping `m0`");
    assert_eq!(errors[0].span.text(source), "m0");
    let source =
        "mm-litmus t\nsetup { anon a size=4K\n  mmap m0 a }\nP0 { touch m0 }\nP1 {}\nexists bug\n";
    let test = ok(source);
    assert_eq!(test.threads.len(), 2);
    assert_eq!(test.threads[0].ops[0].span.text(source), "touch m0");
    assert_eq!(test.threads[0].span.text(source), "P0 { touch m0 }");
    assert_eq!(test.setup[1].span.text(source), "mmap m0 a");
}

// ----- conditions -----

fn atom(expr: &Expr) -> &Atom {
    match &expr.kind {
        ExprKind::Atom(atom) => atom,
        other => panic!("not an atom: {other:?}"),
    }
}

#[test]
fn register_atoms() {
    let cases: [(&str, CmpOp, RegValue); 8] = [
        ("P0:r0 == 512", CmpOp::Eq, RegValue::Number(512)),
        ("P0:r0 != 0x10", CmpOp::Ne, RegValue::Number(16)),
        ("P0:r0 < 0", CmpOp::Lt, RegValue::Number(0)),
        (
            "P0:r0 <= -9223372036854775808",
            CmpOp::Le,
            RegValue::Number(i64::MIN),
        ),
        ("P0:r0 > 2K", CmpOp::Gt, RegValue::Number(2048)),
        (
            "P0:r0 >= -EFAULT",
            CmpOp::Ge,
            RegValue::Errno(Errno::from_name("EFAULT").unwrap()),
        ),
        (
            "P1:r2 == SIGBUS",
            CmpOp::Eq,
            RegValue::Signal(Signal::Sigbus),
        ),
        (
            "P1:r2 != SIGSEGV",
            CmpOp::Ne,
            RegValue::Signal(Signal::Sigsegv),
        ),
    ];
    for (text, expected_op, expected_value) in cases {
        let expr = condition_text(text);
        let Atom::Reg {
            thread,
            reg,
            op,
            value,
        } = atom(&expr)
        else {
            panic!("{text}")
        };
        assert!(
            thread.node <= 1 && (reg.node == Reg(0) || reg.node == Reg(2)),
            "{text}"
        );
        assert_eq!((*op, *value), (expected_op, expected_value), "{text}");
    }
    let expr = condition_text("P0:r0 == -EOPNOTSUPP");
    let Atom::Reg {
        value: RegValue::Errno(errno),
        ..
    } = atom(&expr)
    else {
        panic!()
    };
    assert_eq!(errno.value(), -95);
}

#[test]
fn page_and_event_atoms() {
    let expr = condition_text("a[1] == 7");
    assert!(
        matches!(atom(&expr), Atom::Page { object, page: 1, op: CmpOp::Eq, value: 7 } if object.node == "a")
    );
    for event in Event::ALL {
        let expr = condition_text(event.keyword());
        assert_eq!(atom(&expr), &Atom::Event(*event));
    }
}

#[test]
fn precedence_and_grouping() {
    fn shape(expr: &Expr) -> String {
        match &expr.kind {
            ExprKind::And(l, r) => format!("and({},{})", shape(l), shape(r)),
            ExprKind::Or(l, r) => format!("or({},{})", shape(l), shape(r)),
            ExprKind::Not(e) => format!("not({})", shape(e)),
            ExprKind::Atom(Atom::Event(e)) => e.keyword().to_string(),
            ExprKind::Atom(_) => "atom".to_string(),
        }
    }
    let cases = [
        ("bug || warn && leak", "or(bug,and(warn,leak))"),
        ("bug && warn || leak", "or(and(bug,warn),leak)"),
        ("bug && warn && leak", "and(and(bug,warn),leak)"),
        ("bug && (warn && leak)", "and(bug,and(warn,leak))"),
        (
            "!bug && !(warn || leak)",
            "and(not(bug),not(or(warn,leak)))",
        ),
        ("!!bug", "not(not(bug))"),
        ("((bug))", "bug"),
        ("P0:r0 == 1 || a[0] != 2", "or(atom,atom)"),
    ];
    for (text, expected) in cases {
        assert_eq!(shape(&condition_text(text)), expected, "{text}");
    }
}

#[test]
fn quantifiers() {
    let test = ok("mm-litmus t\nP0 {\n}\nexists bug\nforbid warn\nforall !leak\n");
    let q: Vec<_> = test.conditions.iter().map(|c| c.quantifier).collect();
    assert_eq!(
        q,
        [Quantifier::Exists, Quantifier::Forbid, Quantifier::Forall]
    );
}

// ----- errors -----

#[test]
fn error_messages() {
    let cases: &[(&str, &str)] = &[
        (&with("  ttm bo size=2M place=system size=4K", ""), "`size` given twice"),
        (&with("  ttm bo size=2M", ""), "`ttm` needs `place=`"),
        (&with("  ttm bo place=vram", ""), "`ttm` needs `size=`"),
        (&with("  ttm bo size=2M place=vram pfn=special", ""), "bad value `special` for `pfn=`"),
        (&with("  ttm bo size=2M place = vram", ""), "space before `=`"),
        (&with("  ttm bo size=2M place= vram", ""), "missing value after `place=`"),
        (&with("  ttm bo size=0 place=vram", ""), "`size=` must not be 0"),
        (&with("  ttm bo size=100 place=vram", ""), "`size=100` is not a multiple of the page size (4K)"),
        (&with("  ttm bo size=99999999999999999999 place=vram", ""), "number `99999999999999999999` is too large"),
        (&with("  driver d size=4K insert=pfn dax=1", ""), "`dax` takes no value"),
        (&with("  driver d size=4K insert", ""), "`insert` needs a value"),
        (&with("  driver d size=4K insert=pfn vm=pfnmap+bogus", ""), "unknown vma flag `bogus` in `vm=`"),
        (&with("  driver d size=4K insert=pfn vm=io+io", ""), "vma flag `io` given twice"),
        (&with("  ttm bo size=4K place=vram\n  dmabuf b bo", ""), "expected `exports OBJECT`, found `bo`"),
        (&with("  anon a size=4K\n  mmap m a shared private", ""), "`private` conflicts with `shared`"),
        (&with("  anon a size=4K\n  mmap m a offset=1", ""), "`offset=1` is not a multiple of the page size (4K)"),
        (&with("  thp sometimes", ""), "bad `thp` setting `sometimes`"),
        (&with(MAPPED, "  mmap m1 bo"), "`mmap` can only appear in setup"),
        (&with(MAPPED, "  pin_user_pages m0"), "`pin_user_pages` needs a result register"),
        (&with(MAPPED, "  r0 = o_direct_read m0"), "`o_direct_read` needs `size=`"),
        (&with(MAPPED, "  r10 = get_user_pages m0"), "no register `r10`"),
        (&with(MAPPED, "  read m0 -> x"), "expected a register `r0` ... `r9`, found `x`"),
        (&with(MAPPED, "  write m0-4K 1"), "addresses cannot go below a mapping"),
        (&with(MAPPED, "  write m0 -1"), "expected the value to write, found `-`"),
        (&with(MAPPED, "  write m0 256"), "expected a value from 0 to 255, found 256"),
        (&with(MAPPED, "  r0 = get_user_pages m0\n  dma_write r0 1000"), "expected a value from 0 to 255, found 1000"),
        (&with(MAPPED, "  mprotect m0 rwx"), "bad argument `rwx` for `mprotect`"),
        (&with(MAPPED, "  madvise m0 willneed"), "bad argument `willneed` for `madvise`"),
        (&with(MAPPED, "  r0 = get_user_pages m0 pages=1 pages=2"), "`pages` given twice"),
        (&with(MAPPED, "  r0 = get_user_pages m0 wirte"), "unknown option `wirte` for `get_user_pages`"),
        (&with(MAPPED, "  evict bo to=disk"), "bad value `disk` for `to=`"),
        (&with(MAPPED, "  touch m0 m0"), "unexpected `m0` after the statement"),
        (&with(MAPPED, "  touch m0 @"), "unexpected character `@`"),
        ("mm-litmus t\nP0 {\n}\nexists P0:r0 = 1\n", "`=` is not a comparison"),
        ("mm-litmus t\nP0 {\n}\nexists P0:r0 == EFAULT\n", "expected a number, an errno such as `-EFAULT`, `SIGBUS` or `SIGSEGV`, found `EFAULT`"),
        ("mm-litmus t\nP0 {\n}\nexists P0:r0 < SIGBUS\n", "`SIGBUS` can only be compared with `==` or `!=`"),
        ("mm-litmus t\nP0 {\n}\nexists (bug\n", "expected `)`, found end of line"),
        ("mm-litmus t\nP0 {\n}\nexists bug &&\n", "expected a condition: `P0:r0 == 1`, `OBJ[0] == 1`, an event such as `lost_write`, `!` or `(`, found end of line"),
        ("mm-litmus t\nP0 {\n}\nexists x:r0 == 1\n", "`x` is not a thread"),
        ("mm-litmus t\nP0 {\n}\nexists bug warn\n", "unexpected `warn` after the statement"),
        ("mm-litmus t\nP0 {\n}\nexists\n", "expected a condition: `P0:r0 == 1`, `OBJ[0] == 1`, an event such as `lost_write`, `!` or `(`, found end of line"),
        (&format!("mm-litmus t\nP0 {{\n}}\nexists {}bug{}\n", "(".repeat(100), ")".repeat(100)), "condition nested too deeply"),
        (&format!("mm-litmus t\nP0 {{\n}}\nexists {}bug\n", "!".repeat(100)), "condition nested too deeply"),
        ("mm-litmus t\nP1 {\n}\nexists bug\n", "thread `P1` out of order"),
        ("mm-litmus t\nP0 {\n}\nP0 {\n}\nexists bug\n", "thread `P0` out of order"),
        ("mm-litmus t\nsetup {\n}\nsetup {\n}\nP0 {\n}\nexists bug\n", "duplicate setup block"),
        ("mm-litmus t\nkernel 6.1\nkernel 6.2\nP0 {\n}\nexists bug\n", "duplicate `kernel` line"),
        ("mm-litmus t\nkernel 6\nP0 {\n}\nexists bug\n", "bad kernel version `6`"),
        ("mm-litmus t\nkernel ubuntu-6.1\nP0 {\n}\nexists bug\n", "bad kernel version `ubuntu-6.1`"),
        ("mm-litmus t\nP0 {\n}\nkernel 6.1\nexists bug\n", "`kernel` must come before the threads"),
        ("mm-litmus t\nP0 {\n}\nexists bug\nP1 {\n}\n", "`P1` must come before the conditions"),
        ("mm-litmus t\nP0 {\n}\nexists bug\nmm-litmus u\n", "`mm-litmus` must come before everything else"),
        ("mm-litmus\nP0 {\n}\nexists bug\n", "expected the test's name, found end of line"),
        ("mm-litmus t\ndoc abc\nP0 {\n}\nexists bug\n", "expected a string, `doc \"TEXT\"`, found `abc`"),
        ("mm-litmus t\nP0 {\n}\nexists bug\n}\n", "unmatched `}`"),
        ("mm-litmus t\nwrite m0 1\n", "`write` outside a block"),
        ("mm-litmus t\nP0 {\n} junk\nexists bug\n", "unexpected `junk` after the statement"),
    ];
    for (source, expected) in cases {
        assert_eq!(&first_error(source), expected, "for:\n{source}");
    }
}

#[test]
fn check_messages() {
    let cases: &[(&str, &str)] = &[
        (
            &with("  mmap m0 a\n  anon a size=4K", ""),
            "`a` is used before it is declared",
        ),
        (
            &with("  anon a size=4K\n  mmap a a", ""),
            "duplicate name `a`",
        ),
        (
            &with("  anon a size=4K\n  dmabuf d exports a", ""),
            "a dma-buf cannot export an `anon` object",
        ),
        (
            &with(
                "  ttm b size=4K place=vram\n  dmabuf d exports b\n  dmabuf e exports d",
                "",
            ),
            "a dma-buf cannot export a `dmabuf` object",
        ),
        (
            &with("  memfd f size=4K", "  evict f"),
            "`f` is a `memfd` object, which no driver can evict",
        ),
        (
            &with(MAPPED, "  destroy m0"),
            "`m0` is a mapping, not an object",
        ),
        (
            &with(MAPPED, "  touch bo"),
            "`bo` is a `ttm` object, not a mapping",
        ),
        (
            &with(MAPPED, "  unpin r0"),
            "register `r0` is used before it is set in P0",
        ),
        (
            &with(MAPPED, "  dma_read r0 -> r0"),
            "register `r0` is used before it is set in P0",
        ),
        (
            &with(&format!("{MAPPED}\n  r0 = get_user_pages m0"), "  unpin r0"),
            "register `r0` is used before it is set in P0",
        ),
        (
            &with(MAPPED, "  read m0 -> r0").replace("exists bug", "exists P0:r1 == 0"),
            "register `r1` is never set in P0",
        ),
        (
            &with(MAPPED, "").replace("exists bug", "exists P0:r0 == 0"),
            "register `r0` is never set in P0",
        ),
        (
            &with(MAPPED, "").replace("exists bug", "exists P5:r0 == 0"),
            "no thread `P5` in this test",
        ),
        (
            &with(MAPPED, "").replace("exists bug", "exists bo[512] == 0"),
            "page 512 is past the end of `bo`",
        ),
        (
            &with(MAPPED, "").replace("exists bug", "exists bo2[0] == 0"),
            "unknown object `bo2`",
        ),
        ("mm-litmus t\n", "the test has no threads"),
        ("mm-litmus t\nP0 {\n}\n", "the test has no conditions"),
    ];
    for (source, expected) in cases {
        assert_eq!(&first_error(source), expected, "for:\n{source}");
    }
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let source = with(
        "  ttm bo size=2M place=sytem\n  anon a size=3",
        "  wirte m0 1\n  touch m0 junk",
    );
    let errors = parse(&source).unwrap_err();
    let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "bad value `sytem` for `place=`",
            "`size=3` is not a multiple of the page size (4K)",
            "unknown operation `wirte`",
            "unexpected `junk` after the statement",
        ]
    );
}

#[test]
fn json_shape() {
    let test = ok(&with(MAPPED, "  r0 = pin_user_pages_fast m0 pages=2 write"));
    let json = serde_json::to_value(&test).unwrap();
    assert_eq!(json["name"]["node"], "t");
    assert_eq!(
        json["setup"][0]["kind"]["object"]["kind"]["ttm"]["place"],
        "system"
    );
    let gup = &json["threads"][0]["ops"][0]["kind"]["gup"];
    assert_eq!(gup["call"], "pin_user_pages_fast");
    assert_eq!(gup["dest"]["node"], 0);
    assert_eq!(gup["pages"], 2);
    assert_eq!(
        json["conditions"][0]["expr"]["kind"]["atom"]["event"],
        "bug"
    );
    let driver = ok(&with("  driver d size=4K insert=pfn vm=io+pfnmap", ""));
    let json = serde_json::to_value(&driver).unwrap();
    assert_eq!(
        json["setup"][0]["kind"]["object"]["kind"]["driver"]["vm"],
        serde_json::json!(["pfnmap", "io"])
    );
}

#[test]
fn crlf_line_endings_and_tabs() {
    let source = include_str!("data/spec-example.litmus")
        .replace('\n', "\r\n")
        .replace("  ", "\t");
    let test = ok(&source);
    assert_eq!(format(&test), include_str!("data/spec-example.litmus"));
    let errors =
        parse_and_render("t.litmus", "mm-litmus t\r\nP0 {\r\n\twirte m0\r\n}\r\n").unwrap_err();
    assert!(
        errors.starts_with(
            "t.litmus:3:2: error: unknown operation `wirte`\n   3 | \twirte m0\n     | \t^^^^^\n"
        ),
        "{errors}"
    );
}
