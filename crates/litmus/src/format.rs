//! Prints a [`Test`] in canonical form: the file order of the format, one space between
//! words, two-space indentation, defaults left out, sizes with the largest exact suffix,
//! addresses in hex. Comments are not kept (the tree has none).

use std::fmt::Write;

use crate::ast::{
    Addr, Atom, Caching, Expr, ExprKind, HugeLevel, MemoryKind, Mmap, Object, ObjectKind, OpKind,
    PfnFlags, RegValue, SetupKind, Test,
};
use crate::lexer::{lex, TokenKind};
use crate::number::{format_address, format_size};

const INDENT: &str = "  ";

/// The canonical text of `test`. For any test `parse` returned, parsing the result gives
/// the same test again (spans aside).
pub fn format(test: &Test) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "mm-litmus {}", word_or_string(&test.name.node));
    if let Some(kernel) = &test.kernel {
        let _ = writeln!(out, "kernel {}", kernel.node.raw);
    }
    for doc in &test.docs {
        let _ = writeln!(out, "doc {}", quote(&doc.node));
    }
    if !test.setup.is_empty() {
        out.push_str("\nsetup {\n");
        for stmt in &test.setup {
            let _ = writeln!(out, "{INDENT}{}", format_setup(&stmt.kind));
        }
        out.push_str("}\n");
    }
    for thread in &test.threads {
        let _ = writeln!(out, "\nP{} {{", thread.index);
        for op in &thread.ops {
            let _ = writeln!(out, "{INDENT}{}", format_op(&op.kind));
        }
        out.push_str("}\n");
    }
    if !test.conditions.is_empty() {
        out.push('\n');
    }
    for condition in &test.conditions {
        let _ = writeln!(
            out,
            "{} {}",
            condition.quantifier,
            format_expr(&condition.expr)
        );
    }
    out
}

/// One setup statement, as it would be written in the file.
pub fn format_setup(kind: &SetupKind) -> String {
    match kind {
        SetupKind::Object(object) => format_object(object),
        SetupKind::Mmap(mmap) => format_mmap(mmap),
        SetupKind::Thp(mode) => format!("thp {mode}"),
        SetupKind::Op(op) => format_op(op),
    }
}

fn format_object(object: &Object) -> String {
    let name = &object.name.node;
    match &object.kind {
        ObjectKind::Ttm(ttm) => {
            let mut line = format!(
                "ttm {name} size={} place={}",
                format_size(ttm.size),
                ttm.place
            );
            if ttm.caching != Caching::Cached {
                let _ = write!(line, " caching={}", ttm.caching);
            }
            if ttm.huge != HugeLevel::None {
                let _ = write!(line, " huge={}", ttm.huge);
            }
            if ttm.pfn != PfnFlags::Dev {
                let _ = write!(line, " pfn={}", ttm.pfn);
            }
            line
        }
        ObjectKind::DmaBuf(dmabuf) => {
            let mut line = format!("dmabuf {name} exports {}", dmabuf.exports.node);
            if dmabuf.require_pfnmap {
                line.push_str(" require_pfnmap");
            }
            line
        }
        ObjectKind::Driver(driver) => {
            let mut line = format!(
                "driver {name} size={} insert={}",
                format_size(driver.size),
                driver.insert
            );
            if let Some(vm) = driver.vm {
                let flags: Vec<&str> = vm.iter().map(|f| f.keyword()).collect();
                let _ = write!(line, " vm={}", flags.join("+"));
            }
            if driver.pfn != PfnFlags::Dev {
                let _ = write!(line, " pfn={}", driver.pfn);
            }
            if driver.memory != MemoryKind::Ram {
                let _ = write!(line, " memory={}", driver.memory);
            }
            if driver.dax {
                line.push_str(" dax");
            }
            line
        }
        ObjectKind::Anon { size } => format!("anon {name} size={}", format_size(*size)),
        ObjectKind::Memfd { size } => format!("memfd {name} size={}", format_size(*size)),
    }
}

fn format_mmap(mmap: &Mmap) -> String {
    let mut line = format!("mmap {} {}", mmap.name.node, mmap.object.node);
    if let Some(size) = mmap.size {
        let _ = write!(line, " size={}", format_size(size));
    }
    if let Some(offset) = mmap.offset {
        let _ = write!(line, " offset={}", format_size(offset));
    }
    // Sharing and protection are always printed: they are what a reader looks for first.
    let _ = write!(line, " {} {}", mmap.sharing, mmap.prot);
    if let Some(at) = mmap.at {
        let _ = write!(line, " at={}", format_address(at));
    }
    line
}

fn format_addr(addr: &Addr) -> String {
    if addr.offset == 0 {
        addr.mapping.node.clone()
    } else {
        format!("{}+{}", addr.mapping.node, format_size(addr.offset))
    }
}

/// One operation in canonical form (used in traces).
pub fn format_op(op: &OpKind) -> String {
    match op {
        OpKind::Read { addr, dest } => match dest {
            Some(dest) => format!("read {} -> {}", format_addr(addr), dest.node),
            None => format!("read {}", format_addr(addr)),
        },
        OpKind::Write { addr, value } => format!("write {} {value}", format_addr(addr)),
        OpKind::Touch { addr } => format!("touch {}", format_addr(addr)),
        OpKind::Gup {
            dest,
            call,
            addr,
            pages,
            write,
            longterm,
            force,
        } => {
            let mut line = format!("{} = {call} {}", dest.node, format_addr(addr));
            if *pages != 1 {
                let _ = write!(line, " pages={pages}");
            }
            for (flag, on) in [("write", write), ("longterm", longterm), ("force", force)] {
                if *on {
                    let _ = write!(line, " {flag}");
                }
            }
            line
        }
        OpKind::Syscall {
            dest,
            call,
            addr,
            size,
        } => format!(
            "{} = {call} {} size={}",
            dest.node,
            format_addr(addr),
            format_size(*size)
        ),
        OpKind::DmaWrite { reg, value } => format!("dma_write {} {value}", reg.node),
        OpKind::DmaRead { reg, dest } => match dest {
            Some(dest) => format!("dma_read {} -> {}", reg.node, dest.node),
            None => format!("dma_read {}", reg.node),
        },
        OpKind::Unpin { reg } => format!("unpin {}", reg.node),
        OpKind::Evict { object, to } => match to {
            Some(to) => format!("evict {} to={to}", object.node),
            None => format!("evict {}", object.node),
        },
        OpKind::Destroy { object } => format!("destroy {}", object.node),
        OpKind::Munmap { mapping } => format!("munmap {}", mapping.node),
        OpKind::Mprotect { mapping, prot } => format!("mprotect {} {prot}", mapping.node),
        OpKind::Madvise { mapping, advice } => format!("madvise {} {advice}", mapping.node),
    }
}

/// Binding strength: `||` < `&&` < `!` and atoms.
fn precedence(expr: &Expr) -> u8 {
    match expr.kind {
        ExprKind::Or(..) => 1,
        ExprKind::And(..) => 2,
        ExprKind::Not(_) | ExprKind::Atom(_) => 3,
    }
}

/// Prints `expr`, parenthesized if it binds looser than `needed`.
fn format_operand(expr: &Expr, needed: u8) -> String {
    let text = format_expr(expr);
    if precedence(expr) < needed {
        format!("({text})")
    } else {
        text
    }
}

/// A condition expression in canonical form.
pub fn format_expr(expr: &Expr) -> String {
    match &expr.kind {
        // Both operators group to the left, so a right operand of the same kind needs
        // parentheses to come back as the same tree.
        ExprKind::Or(left, right) => {
            format!(
                "{} || {}",
                format_operand(left, 1),
                format_operand(right, 2)
            )
        }
        ExprKind::And(left, right) => {
            format!(
                "{} && {}",
                format_operand(left, 2),
                format_operand(right, 3)
            )
        }
        ExprKind::Not(inner) => format!("!{}", format_operand(inner, 3)),
        ExprKind::Atom(Atom::Reg {
            thread,
            reg,
            op,
            value,
        }) => {
            let value = match value {
                RegValue::Number(n) => n.to_string(),
                RegValue::Errno(errno) => errno.to_string(),
                RegValue::Signal(signal) => signal.to_string(),
            };
            format!("P{}:{} {op} {value}", thread.node, reg.node)
        }
        ExprKind::Atom(Atom::Page {
            object,
            page,
            op,
            value,
        }) => format!("{}[{page}] {op} {value}", object.node),
        ExprKind::Atom(Atom::Event(event)) => event.to_string(),
    }
}

/// A test name as a bare word when it reads back as the same word, else as a string.
fn word_or_string(name: &str) -> String {
    if is_bare_word(name) {
        name.to_string()
    } else {
        quote(name)
    }
}

/// Whether `text` lexes as one glued word (`ttm-huge-pmd`, `gup_2`).
fn is_bare_word(text: &str) -> bool {
    let (tokens, errors) = lex(text);
    if !errors.is_empty() || text.is_empty() {
        return false;
    }
    let mut end = 0;
    for token in tokens.iter().filter(|t| t.kind != TokenKind::Eof) {
        if !token.kind.glues() || token.span.start != end {
            return false;
        }
        end = token.span.end;
    }
    end == text.len()
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_words() {
        assert!(is_bare_word("ttm-huge-pmd-gup-fast"));
        assert!(is_bare_word("a_1"));
        assert!(is_bare_word("6.1-x"));
        assert!(!is_bare_word("two words"));
        assert!(!is_bare_word("a#b"));
        assert!(!is_bare_word(""));
        assert!(!is_bare_word("a=b"));
        assert_eq!(quote(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
    }
}
