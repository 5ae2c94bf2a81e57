//! Rules that span statements: names declared once and used with the right kind, registers
//! set before use, conditions that refer to real threads, registers and pages, and a test
//! with at least one thread and one condition.

use std::collections::{BTreeSet, HashMap};

use crate::ast::{Atom, Expr, ExprKind, Name, ObjectKind, OpKind, Reg, SetupKind, Test, PAGE_SIZE};
use crate::diag::Diagnostic;
use crate::span::{Span, Spanned};
use crate::suggest::did_you_mean;

/// Every cross-statement error in a syntactically valid test.
pub(crate) fn check(test: &Test) -> Vec<Diagnostic> {
    let mut checker = Checker {
        test,
        names: HashMap::new(),
        errors: Vec::new(),
    };
    checker.declare();
    checker.setup();
    checker.threads();
    checker.conditions();
    checker.errors
}

/// What a name declares.
#[derive(Clone, Copy)]
enum Declared<'t> {
    Object(&'t ObjectKind),
    Mapping,
}

#[derive(Clone, Copy)]
struct Declaration<'t> {
    what: Declared<'t>,
    span: Span,
    /// Position of the declaring statement in setup.
    index: usize,
}

/// What a reference needs the name to be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Any object: `mmap`, `destroy`, page conditions.
    Object,
    /// An object a driver can move: `evict`.
    EvictableObject,
    /// What a dma-buf can export.
    ExportableObject,
    Mapping,
}

struct Checker<'t> {
    test: &'t Test,
    names: HashMap<&'t str, Declaration<'t>>,
    errors: Vec<Diagnostic>,
}

impl<'t> Checker<'t> {
    fn declare(&mut self) {
        for (index, stmt) in self.test.setup.iter().enumerate() {
            let (name, what) = match &stmt.kind {
                SetupKind::Object(object) => (&object.name, Declared::Object(&object.kind)),
                SetupKind::Mmap(mmap) => (&mmap.name, Declared::Mapping),
                _ => continue,
            };
            if let Some(previous) = self.names.get(name.node.as_str()) {
                self.errors.push(
                    Diagnostic::error(name.span, format!("duplicate name `{}`", name.node))
                        .with_expected("a name not used by another object or mapping")
                        .with_note(previous.span, "first declared here"),
                );
                continue;
            }
            self.names.insert(
                &name.node,
                Declaration {
                    what,
                    span: name.span,
                    index,
                },
            );
        }
    }

    fn setup(&mut self) {
        let mut registers = Registers::default();
        for (index, stmt) in self.test.setup.iter().enumerate() {
            match &stmt.kind {
                SetupKind::Object(object) => {
                    if let ObjectKind::DmaBuf(dmabuf) = &object.kind {
                        self.resolve(&dmabuf.exports, Want::ExportableObject, index);
                    }
                }
                SetupKind::Mmap(mmap) => {
                    self.resolve(&mmap.object, Want::Object, index);
                }
                SetupKind::Thp(_) => {}
                SetupKind::Op(op) => {
                    self.operation(op, index);
                    self.registers(op, &mut registers, "setup");
                }
            }
        }
    }

    fn threads(&mut self) {
        if self.test.threads.is_empty() {
            self.errors.push(
                Diagnostic::error(self.test.name.span, "the test has no threads")
                    .with_expected("at least one thread, `P0 { OPERATIONS }`"),
            );
        }
        let everything = self.test.setup.len();
        for thread in &self.test.threads {
            let mut registers = Registers::default();
            let scope = format!("P{}", thread.index);
            for op in &thread.ops {
                self.operation(&op.kind, everything);
                self.registers(&op.kind, &mut registers, &scope);
            }
        }
    }

    /// Checks the names an operation refers to; `visible` is how many setup statements
    /// are declared by the time it runs.
    fn operation(&mut self, op: &OpKind, visible: usize) {
        match op {
            OpKind::Read { addr, .. }
            | OpKind::Write { addr, .. }
            | OpKind::Touch { addr }
            | OpKind::Gup { addr, .. }
            | OpKind::Syscall { addr, .. } => {
                self.resolve(&addr.mapping, Want::Mapping, visible);
            }
            OpKind::Evict { object, .. } => {
                self.resolve(object, Want::EvictableObject, visible);
            }
            OpKind::Destroy { object } => {
                self.resolve(object, Want::Object, visible);
            }
            OpKind::Munmap { mapping }
            | OpKind::Mprotect { mapping, .. }
            | OpKind::Madvise { mapping, .. } => {
                self.resolve(mapping, Want::Mapping, visible);
            }
            OpKind::DmaWrite { .. } | OpKind::DmaRead { .. } | OpKind::Unpin { .. } => {}
        }
    }

    fn registers(&mut self, op: &OpKind, registers: &mut Registers, scope: &str) {
        if let Some(used) = op.used_register() {
            if !registers.set.contains(&used.node) {
                self.errors.push(
                    Diagnostic::error(
                        used.span,
                        format!("register `{}` is used before it is set in {scope}", used.node),
                    )
                    .with_help(format!(
                        "set it first in {scope}, e.g. `{} = pin_user_pages m0`; each thread has its own registers",
                        used.node
                    )),
                );
            }
        }
        if let Some(defined) = op.defined_register() {
            registers.set.insert(defined.node);
        }
    }

    /// Looks a name up, reporting unknown names, names declared later, and wrong kinds.
    fn resolve(&mut self, name: &Name, want: Want, visible: usize) -> Option<Declaration<'t>> {
        let Some(decl) = self.names.get(name.node.as_str()).copied() else {
            let candidates: Vec<&str> = self
                .names
                .iter()
                .filter(|(_, d)| matches!(d.what, Declared::Mapping) == (want == Want::Mapping))
                .map(|(n, _)| *n)
                .collect();
            let (what, article_what) = if want == Want::Mapping {
                ("mapping", "a mapping")
            } else {
                ("object", "an object")
            };
            let mut candidates_sorted = candidates.clone();
            candidates_sorted.sort_unstable();
            self.errors.push(
                Diagnostic::error(name.span, format!("unknown {what} `{}`", name.node))
                    .with_expected(expected_names(article_what, &candidates_sorted))
                    .with_suggestion(did_you_mean(&name.node, candidates_sorted.iter().copied())),
            );
            return None;
        };
        if decl.index >= visible {
            self.errors.push(
                Diagnostic::error(
                    name.span,
                    format!("`{}` is used before it is declared", name.node),
                )
                .with_note(decl.span, "declared here, later in setup"),
            );
            return None;
        }
        let problem = match (decl.what, want) {
            (Declared::Mapping, Want::Mapping) => None,
            (Declared::Mapping, _) => Some((
                format!("`{}` is a mapping, not an object", name.node),
                match want {
                    Want::EvictableObject => "a `ttm`, `driver` or `dmabuf` object",
                    Want::ExportableObject => "a `ttm` or `driver` object",
                    _ => "an object (`ttm`, `dmabuf`, `driver`, `anon`, `memfd`)",
                }
                .to_string(),
            )),
            (Declared::Object(kind), Want::Mapping) => Some((
                format!(
                    "`{}` is {} object, not a mapping",
                    name.node,
                    article(kind.keyword())
                ),
                format!("a mapping; map it first with `mmap NAME {}`", name.node),
            )),
            (Declared::Object(kind), Want::EvictableObject)
                if matches!(kind, ObjectKind::Anon { .. } | ObjectKind::Memfd { .. }) =>
            {
                Some((
                    format!(
                        "`{}` is {} object, which no driver can evict",
                        name.node,
                        article(kind.keyword())
                    ),
                    "a `ttm`, `driver` or `dmabuf` object".to_string(),
                ))
            }
            (Declared::Object(kind), Want::ExportableObject)
                if !matches!(kind, ObjectKind::Ttm(_) | ObjectKind::Driver(_)) =>
            {
                Some((
                    format!("a dma-buf cannot export {} object", article(kind.keyword())),
                    "a `ttm` or `driver` object".to_string(),
                ))
            }
            (Declared::Object(_), _) => None,
        };
        match problem {
            Some((message, expected)) => {
                self.errors.push(
                    Diagnostic::error(name.span, message)
                        .with_expected(expected)
                        .with_note(decl.span, "declared here"),
                );
                None
            }
            None => Some(decl),
        }
    }

    fn conditions(&mut self) {
        if self.test.conditions.is_empty() {
            self.errors.push(
                Diagnostic::error(self.test.name.span, "the test has no conditions").with_expected(
                    "at least one `exists`, `forbid` or `forall` line after the threads",
                ),
            );
        }
        let set_registers: Vec<BTreeSet<Reg>> = self
            .test
            .threads
            .iter()
            .map(|t| {
                t.ops
                    .iter()
                    .filter_map(|op| op.kind.defined_register())
                    .map(|r| r.node)
                    .collect()
            })
            .collect();
        for condition in &self.test.conditions {
            self.expr(&condition.expr, &set_registers);
        }
    }

    fn expr(&mut self, expr: &Expr, set_registers: &[BTreeSet<Reg>]) {
        match &expr.kind {
            ExprKind::And(left, right) | ExprKind::Or(left, right) => {
                self.expr(left, set_registers);
                self.expr(right, set_registers);
            }
            ExprKind::Not(inner) => self.expr(inner, set_registers),
            ExprKind::Atom(Atom::Reg { thread, reg, .. }) => {
                self.register_atom(thread, reg, set_registers)
            }
            ExprKind::Atom(Atom::Page { object, page, .. }) => {
                let everything = self.test.setup.len();
                if self.resolve(object, Want::Object, everything).is_none() {
                    return;
                }
                if let Some(size) = self.test.object_size(&object.node) {
                    let pages = size.div_ceil(PAGE_SIZE);
                    if *page >= pages {
                        self.errors.push(
                            Diagnostic::error(
                                expr.span,
                                format!("page {page} is past the end of `{}`", object.node),
                            )
                            .with_expected(format!(
                                "a page index below {pages}, the object's page count"
                            )),
                        );
                    }
                }
            }
            ExprKind::Atom(Atom::Event(_)) => {}
        }
    }

    fn register_atom(
        &mut self,
        thread: &Spanned<usize>,
        reg: &Spanned<Reg>,
        set: &[BTreeSet<Reg>],
    ) {
        let Some(registers) = set.get(thread.node) else {
            let threads: Vec<String> = (0..set.len()).map(|i| format!("`P{i}`")).collect();
            self.errors.push(
                Diagnostic::error(
                    thread.span,
                    format!("no thread `P{}` in this test", thread.node),
                )
                .with_expected(if threads.is_empty() {
                    "a thread of the test (it has none)".to_string()
                } else {
                    format!("one of {}", threads.join(", "))
                }),
            );
            return;
        };
        if !registers.contains(&reg.node) {
            let list: Vec<String> = registers.iter().map(|r| format!("`{r}`")).collect();
            self.errors.push(
                Diagnostic::error(
                    reg.span,
                    format!("register `{}` is never set in P{}", reg.node, thread.node),
                )
                .with_expected(if list.is_empty() {
                    format!("a register P{} sets (it sets none)", thread.node)
                } else {
                    format!("a register P{} sets: {}", thread.node, list.join(", "))
                }),
            );
        }
    }
}

#[derive(Default)]
struct Registers {
    set: BTreeSet<Reg>,
}

fn article(word: &str) -> String {
    let vowel = word.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} `{word}`", if vowel { "an" } else { "a" })
}

fn expected_names(what: &str, names: &[&str]) -> String {
    if names.is_empty() {
        return format!("{what} declared in setup (there are none)");
    }
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!("{what} declared in setup: {}", list.join(", "))
}
