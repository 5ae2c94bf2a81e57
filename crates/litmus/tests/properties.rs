//! Property tests: no input makes the parser panic, and formatting round-trips.
//!
//! Case counts default to a quick run; set `PROPTEST_CASES` for a long fuzz run.

mod common;

use std::fs;
use std::path::PathBuf;

use mmlab_litmus::*;
use proptest::prelude::*;

fn cases(quick: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(quick);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Parses and renders every error: must not panic, and spans must lie inside the text.
fn parse_never_panics(source: &str) {
    if let Err(errors) = parse(source) {
        assert!(!errors.is_empty());
        for error in &errors {
            assert!(error.span.start <= error.span.end && error.span.end <= source.len());
            let text = error.render("f.litmus", source);
            assert!(text.starts_with("f.litmus:"), "{text}");
        }
    }
}

fn samples() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut paths: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect()
}

/// Pieces of litmus syntax, so random sequences get past the lexer and deep into the parser.
const PIECES: &[&str] = &[
    "mm-litmus",
    "kernel",
    "doc",
    "setup",
    "P0",
    "P1",
    "P9",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\n",
    " ",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "!",
    "+",
    "-",
    "->",
    ":",
    "#",
    "\"",
    "\\",
    "5.11",
    "debian-6.1",
    "0",
    "1",
    "4K",
    "2M",
    "0x1000",
    "99999999999999999999",
    "12q",
    "ttm",
    "dmabuf",
    "exports",
    "driver",
    "anon",
    "memfd",
    "mmap",
    "thp",
    "size=",
    "place=",
    "vram",
    "system",
    "huge=",
    "pmd",
    "pfn=",
    "dev+map",
    "insert=",
    "vm=",
    "pfnmap+io",
    "dax",
    "shared",
    "private",
    "rw",
    "r",
    "none",
    "at=",
    "offset=",
    "read",
    "write",
    "touch",
    "r0",
    "r1",
    "r10",
    "pin_user_pages",
    "get_user_pages_fast",
    "o_direct_read",
    "pages=",
    "longterm",
    "dma_write",
    "dma_read",
    "unpin",
    "evict",
    "to=",
    "destroy",
    "munmap",
    "mprotect",
    "madvise",
    "dontneed",
    "exists",
    "forbid",
    "forall",
    "P0:r0",
    "-EFAULT",
    "-EBOGUS",
    "SIGBUS",
    "bo0",
    "m0",
    "m0+4K",
    "bo0[0]",
    "lost_write",
    "bug",
    "é",
    "\t",
    "\r\n",
    "@",
];

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parse_never_panics(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_token_soup_never_panics(pieces in prop::collection::vec(0..PIECES.len(), 0..120)) {
        let source: String = pieces.iter().map(|&i| PIECES[i]).collect::<Vec<_>>().join(" ");
        parse_never_panics(&source);
        let glued: String = pieces.iter().map(|&i| PIECES[i]).collect();
        parse_never_panics(&glued);
    }

    #[test]
    fn mutated_samples_never_panic(
        sample in any::<prop::sample::Index>(),
        edits in prop::collection::vec((0u8..5, any::<prop::sample::Index>(), 0..PIECES.len(), 0usize..40), 1..8),
    ) {
        let samples = samples();
        let mut text = samples[sample.index(samples.len())].clone().into_bytes();
        for (kind, at, piece, len) in edits {
            let at = at.index(text.len() + 1);
            match kind {
                // Delete a run of bytes (may split a UTF-8 character).
                0 => { let end = (at + len).min(text.len()); text.drain(at..end); }
                // Insert a syntax piece.
                1 => { text.splice(at..at, PIECES[piece].bytes()); }
                // Duplicate a run.
                2 => { let end = (at + len).min(text.len()); let copy = text[at..end].to_vec(); text.splice(at..at, copy); }
                // Flip a byte.
                3 => { if at < text.len() { text[at] ^= 1 << (len % 8); } }
                // Truncate.
                _ => text.truncate(at),
            }
        }
        parse_never_panics(&String::from_utf8_lossy(&text));
    }

    #[test]
    fn format_round_trips(raw in raw_test()) {
        let test = build(&raw);
        let text = format(&test);
        if std::env::var_os("SHOW_GENERATED").is_some() { eprintln!("{text}"); }
        let parsed = match parse(&text) {
            Ok(parsed) => parsed,
            Err(errors) => {
                let report: String = errors.iter().map(|e| e.render("gen.litmus", &text)).collect();
                panic!("generated test does not parse:\n{report}\n{text}");
            }
        };
        prop_assert_eq!(common::without_spans(&parsed), common::without_spans(&test), "{}", text);
        prop_assert_eq!(format(&parsed), text);
    }
}

// ----- a generator of valid tests -----
//
// Random numbers are drawn first and then turned into a valid test by `build`, which
// resolves every reference against what is declared (indices modulo the choices), so every
// draw is a valid test and shrinking stays valid too.

#[derive(Clone, Debug)]
struct RawTest {
    name: String,
    kernel: Option<(u32, u32, Option<u32>, bool)>,
    docs: Vec<String>,
    objects: Vec<(u8, String, [u64; 6])>,
    mappings: Vec<(String, [u64; 6])>,
    thp: Option<u8>,
    setup_ops: Vec<RawOp>,
    threads: Vec<Vec<RawOp>>,
    conditions: Vec<(u8, RawExpr)>,
}

type RawOp = (u8, [u64; 4]);

#[derive(Clone, Debug)]
enum RawExpr {
    Atom(u8, [u64; 4]),
    Not(Box<RawExpr>),
    And(Box<RawExpr>, Box<RawExpr>),
    Or(Box<RawExpr>, Box<RawExpr>),
}

fn raw_expr() -> impl Strategy<Value = RawExpr> {
    let leaf = (any::<u8>(), any::<[u64; 4]>()).prop_map(|(k, s)| RawExpr::Atom(k, s));
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| RawExpr::Not(Box::new(e))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| RawExpr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| RawExpr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn raw_op() -> impl Strategy<Value = RawOp> {
    (any::<u8>(), any::<[u64; 4]>())
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,5}"
}

fn raw_test() -> impl Strategy<Value = RawTest> {
    (
        (
            prop_oneof!["[ -~]{0,16}", "[a-z][a-z0-9_-]{0,12}"],
            proptest::option::of((
                0u32..10,
                0u32..30,
                proptest::option::of(0u32..200),
                any::<bool>(),
            )),
            prop::collection::vec("[^\n]{0,20}", 0..3),
        ),
        prop::collection::vec((any::<u8>(), name(), any::<[u64; 6]>()), 1..5),
        prop::collection::vec((name(), any::<[u64; 6]>()), 1..4),
        proptest::option::of(any::<u8>()),
        prop::collection::vec(raw_op(), 0..4),
        prop::collection::vec(prop::collection::vec(raw_op(), 0..7), 1..4),
        prop::collection::vec((any::<u8>(), raw_expr()), 1..4),
    )
        .prop_map(
            |((name, kernel, docs), objects, mappings, thp, setup_ops, threads, conditions)| {
                RawTest {
                    name,
                    kernel,
                    docs,
                    objects,
                    mappings,
                    thp,
                    setup_ops,
                    threads,
                    conditions,
                }
            },
        )
}

fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

fn pick<T: Copy>(all: &[T], seed: u64) -> T {
    all[(seed % all.len() as u64) as usize]
}

/// A size of 1 to 1024 pages, sometimes a whole number of megabytes.
fn size(seed: u64) -> u64 {
    let pages = seed % 1024 + 1;
    if seed & (1 << 20) != 0 {
        (pages % 8 + 1) << 21
    } else {
        pages * PAGE_SIZE
    }
}

/// Names and kinds declared so far, and registers set, while building.
struct Scope {
    objects: Vec<(String, ObjectKind)>,
    mappings: Vec<String>,
}

fn build(raw: &RawTest) -> Test {
    let mut setup = Vec::new();
    let mut scope = Scope {
        objects: Vec::new(),
        mappings: Vec::new(),
    };
    for (i, (kind, base, s)) in raw.objects.iter().enumerate() {
        // Objects end in `o<i>`, mappings in `m<i>`: the last letter before the index tells
        // them apart whatever the random base is (`__m` + `0` once collided with `_` + `_m0`).
        let name = format!("{base}o{i}");
        let exportable: Vec<&String> = scope
            .objects
            .iter()
            .filter(|(_, k)| matches!(k, ObjectKind::Ttm(_) | ObjectKind::Driver(_)))
            .map(|(n, _)| n)
            .collect();
        let object = match kind % 5 {
            0 => ObjectKind::Ttm(Ttm {
                size: size(s[0]),
                place: pick(Placement::ALL, s[1]),
                caching: pick(Caching::ALL, s[2]),
                huge: pick(HugeLevel::ALL, s[3]),
                pfn: pick(&[PfnFlags::Dev, PfnFlags::DevMap], s[4]),
            }),
            1 if !exportable.is_empty() => ObjectKind::DmaBuf(DmaBuf {
                exports: sp(exportable[(s[0] % exportable.len() as u64) as usize].clone()),
                require_pfnmap: s[1] % 2 == 0,
            }),
            2 => ObjectKind::Driver(Driver {
                size: size(s[0]),
                insert: pick(InsertMethod::ALL, s[1]),
                vm: if s[2] % 3 == 0 {
                    None
                } else {
                    // A non-empty subset of the flags.
                    Some(
                        VmFlag::ALL
                            .iter()
                            .enumerate()
                            .filter(|(b, _)| (s[3] | 1 << (s[3] % 6)) & (1 << b) != 0)
                            .map(|(_, f)| *f)
                            .collect(),
                    )
                },
                pfn: pick(PfnFlags::ALL, s[4]),
                memory: pick(MemoryKind::ALL, s[5]),
                dax: s[5] & 8 != 0,
            }),
            3 => ObjectKind::Memfd { size: size(s[0]) },
            _ => ObjectKind::Anon { size: size(s[0]) },
        };
        setup.push(SetupKind::Object(Object {
            name: sp(name.clone()),
            kind: object.clone(),
        }));
        scope.objects.push((name, object));
    }
    for (i, (base, s)) in raw.mappings.iter().enumerate() {
        let name = format!("{base}_m{i}");
        let object = scope.objects[(s[0] % scope.objects.len() as u64) as usize]
            .0
            .clone();
        setup.push(SetupKind::Mmap(Mmap {
            name: sp(name.clone()),
            object: sp(object),
            size: (s[1] % 3 == 0).then(|| size(s[1])),
            offset: (s[2] % 3 == 0).then(|| (s[2] % 16) * PAGE_SIZE),
            sharing: pick(Sharing::ALL, s[3]),
            prot: pick(Prot::ALL, s[4]),
            at: (s[5] % 3 == 0).then(|| s[5] & !(PAGE_SIZE - 1)),
        }));
        scope.mappings.push(name);
    }
    if let Some(mode) = raw.thp {
        setup.push(SetupKind::Thp(pick(ThpMode::ALL, u64::from(mode))));
    }
    let mut registers = Vec::new();
    for op in &raw.setup_ops {
        setup.push(SetupKind::Op(build_op(op, &scope, &mut registers)));
    }
    let mut set_per_thread = Vec::new();
    let threads = raw
        .threads
        .iter()
        .enumerate()
        .map(|(index, ops)| {
            let mut registers = Vec::new();
            let ops = ops
                .iter()
                .map(|op| Operation {
                    kind: build_op(op, &scope, &mut registers),
                    span: Span::default(),
                })
                .collect();
            set_per_thread.push(registers);
            Thread {
                index,
                name_span: Span::default(),
                ops,
                span: Span::default(),
            }
        })
        .collect();
    let test_so_far = Test {
        name: sp(raw.name.clone()),
        kernel: raw.kernel.map(|(major, minor, patch, debian)| {
            let mut raw = format!("{major}.{minor}");
            if let Some(patch) = patch {
                raw.push_str(&format!(".{patch}"));
            }
            if debian {
                raw = format!("debian-{raw}");
            }
            sp(KernelVersion {
                raw,
                flavor: if debian {
                    KernelFlavor::Debian
                } else {
                    KernelFlavor::Upstream
                },
                major,
                minor,
                patch,
            })
        }),
        docs: raw.docs.iter().cloned().map(sp).collect(),
        setup: setup
            .into_iter()
            .map(|kind| SetupStmt {
                kind,
                span: Span::default(),
            })
            .collect(),
        threads,
        conditions: Vec::new(),
    };
    let conditions = raw
        .conditions
        .iter()
        .map(|(q, expr)| Condition {
            quantifier: pick(Quantifier::ALL, u64::from(*q)),
            expr: build_expr(expr, &test_so_far, &set_per_thread),
            span: Span::default(),
        })
        .collect();
    Test {
        conditions,
        ..test_so_far
    }
}

fn build_op(&(kind, s): &RawOp, scope: &Scope, registers: &mut Vec<Reg>) -> OpKind {
    let addr = Addr {
        mapping: sp(scope.mappings[(s[0] % scope.mappings.len() as u64) as usize].clone()),
        offset: if s[1] % 2 == 0 {
            0
        } else {
            s[1] >> (s[1] % 64)
        },
        span: Span::default(),
    };
    let new_reg = Reg((s[2] % 10) as u8);
    let used_reg =
        (!registers.is_empty()).then(|| registers[(s[3] % registers.len() as u64) as usize]);
    let object = &scope.objects[(s[3] % scope.objects.len() as u64) as usize].0;
    let evictable: Vec<&String> = scope
        .objects
        .iter()
        .filter(|(_, k)| !matches!(k, ObjectKind::Anon { .. } | ObjectKind::Memfd { .. }))
        .map(|(n, _)| n)
        .collect();
    let mapping = addr.mapping.clone();
    let op = match kind % 14 {
        0 => OpKind::Read {
            addr,
            dest: (s[3] % 2 == 0).then(|| sp(new_reg)),
        },
        1 => OpKind::Write {
            addr,
            value: s[3] % (MAX_PAGE_VALUE + 1),
        },
        2 => OpKind::Gup {
            dest: sp(new_reg),
            call: pick(GupCall::ALL, s[3]),
            addr,
            pages: s[3] >> (s[3] % 64),
            write: s[3] & 1 != 0,
            longterm: s[3] & 2 != 0,
            force: s[3] & 4 != 0,
        },
        3 => OpKind::Syscall {
            dest: sp(new_reg),
            call: pick(Syscall::ALL, s[3]),
            addr,
            size: s[3] >> (s[3] % 64),
        },
        4 if used_reg.is_some() => OpKind::DmaWrite {
            reg: sp(used_reg.unwrap()),
            value: s[1] % (MAX_PAGE_VALUE + 1),
        },
        5 if used_reg.is_some() => OpKind::DmaRead {
            reg: sp(used_reg.unwrap()),
            dest: (s[1] % 2 == 0).then(|| sp(new_reg)),
        },
        6 if used_reg.is_some() => OpKind::Unpin {
            reg: sp(used_reg.unwrap()),
        },
        7 if !evictable.is_empty() => OpKind::Evict {
            object: sp(evictable[(s[3] % evictable.len() as u64) as usize].clone()),
            to: [None, Some(Placement::System), Some(Placement::Vram)][(s[1] % 3) as usize],
        },
        8 => OpKind::Destroy {
            object: sp(object.clone()),
        },
        9 => OpKind::Munmap { mapping },
        10 => OpKind::Mprotect {
            mapping,
            prot: pick(Prot::ALL, s[3]),
        },
        11 => OpKind::Madvise {
            mapping,
            advice: Advice::DontNeed,
        },
        _ => OpKind::Touch { addr },
    };
    if let Some(reg) = op.defined_register() {
        registers.push(reg.node);
    }
    op
}

fn build_expr(raw: &RawExpr, test: &Test, set: &[Vec<Reg>]) -> Expr {
    let kind = match raw {
        RawExpr::Not(e) => ExprKind::Not(Box::new(build_expr(e, test, set))),
        RawExpr::And(a, b) => ExprKind::And(
            Box::new(build_expr(a, test, set)),
            Box::new(build_expr(b, test, set)),
        ),
        RawExpr::Or(a, b) => ExprKind::Or(
            Box::new(build_expr(a, test, set)),
            Box::new(build_expr(b, test, set)),
        ),
        RawExpr::Atom(kind, s) => ExprKind::Atom(build_atom(*kind, s, test, set)),
    };
    Expr {
        kind,
        span: Span::default(),
    }
}

fn build_atom(kind: u8, s: &[u64; 4], test: &Test, set: &[Vec<Reg>]) -> Atom {
    let with_regs: Vec<usize> = (0..set.len()).filter(|&t| !set[t].is_empty()).collect();
    match kind % 3 {
        0 if !with_regs.is_empty() => {
            let thread = with_regs[(s[0] % with_regs.len() as u64) as usize];
            let reg = set[thread][(s[1] % set[thread].len() as u64) as usize];
            let errnos: Vec<&str> = Errno::names().collect();
            let (value, op) = match s[2] % 3 {
                0 => (RegValue::Number(s[3] as i64), pick(CmpOp::ALL, s[2] / 3)),
                1 => (
                    RegValue::Errno(Errno::from_name(pick(&errnos, s[3])).unwrap()),
                    pick(CmpOp::ALL, s[2] / 3),
                ),
                _ => (
                    RegValue::Signal(pick(Signal::ALL, s[3])),
                    pick(&[CmpOp::Eq, CmpOp::Ne], s[2] / 3),
                ),
            };
            Atom::Reg {
                thread: sp(thread),
                reg: sp(reg),
                op,
                value,
            }
        }
        1 => {
            let objects: Vec<&Object> = test
                .setup
                .iter()
                .filter_map(|st| match &st.kind {
                    SetupKind::Object(o) => Some(o),
                    _ => None,
                })
                .collect();
            let object = objects[(s[0] % objects.len() as u64) as usize];
            let pages = test.object_size(&object.name.node).unwrap() / PAGE_SIZE;
            Atom::Page {
                object: object.name.clone(),
                page: s[1] % pages,
                op: pick(CmpOp::ALL, s[2]),
                value: s[3],
            }
        }
        _ => Atom::Event(pick(Event::ALL, s[0])),
    }
}
