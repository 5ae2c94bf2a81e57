//! Thread operations (also allowed in setup).

use super::options::{keyword_value, number_option, required, OptionSpec};
use super::setup::SETUP_KEYWORDS;
use super::{PResult, Parser};
use crate::ast::{Addr, Advice, GupCall, OpKind, Operation, Placement, Prot, Reg, Syscall};
use crate::diag::Diagnostic;
use crate::lexer::TokenKind;
use crate::span::Spanned;
use crate::suggest::did_you_mean;

/// Operations written `KEYWORD ...` (GUP calls and syscalls are written `rN = CALL ...`).
const PLAIN_OPERATIONS: &[&str] = &[
    "read",
    "write",
    "touch",
    "dma_write",
    "dma_read",
    "unpin",
    "evict",
    "destroy",
    "munmap",
    "mprotect",
    "madvise",
];

pub(super) fn is_operation_keyword(word: &str) -> bool {
    PLAIN_OPERATIONS.contains(&word)
        || GupCall::from_keyword(word).is_some()
        || Syscall::from_keyword(word).is_some()
}

/// Every call that is written `rN = CALL`.
fn calls() -> impl Iterator<Item = &'static str> {
    GupCall::ALL
        .iter()
        .map(|c| c.keyword())
        .chain(Syscall::ALL.iter().map(|c| c.keyword()))
}

/// If `text` is `rN`, N (which may be out of range).
fn register_number(text: &str) -> Option<u64> {
    let digits = text.strip_prefix('r')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

impl Parser<'_> {
    /// A thread operation.
    pub(super) fn operation(&mut self) -> PResult<Operation> {
        self.operation_in(false)
    }

    pub(super) fn operation_in(&mut self, in_setup: bool) -> PResult<Operation> {
        let start = self.peek().span;
        if !self.at(TokenKind::Name) {
            return Err(self.unexpected("an operation"));
        }
        if self.nth(1).kind == TokenKind::Assign && register_number(self.peek_text()).is_some() {
            let kind = self.call()?;
            return Ok(Operation {
                kind,
                span: start.to(self.last_span()),
            });
        }
        let keyword = self.peek_text();
        if !PLAIN_OPERATIONS.contains(&keyword) {
            return Err(self.unknown_operation(in_setup));
        }
        self.advance();
        let kind = match keyword {
            "read" => {
                let addr = self.addr()?;
                let dest = self.arrow_register()?;
                OpKind::Read { addr, dest }
            }
            "write" => {
                let addr = self.addr()?;
                let value = self.page_value()?;
                OpKind::Write { addr, value }
            }
            "touch" => OpKind::Touch { addr: self.addr()? },
            "dma_write" => {
                let reg = self.register()?;
                let value = self.page_value()?;
                OpKind::DmaWrite { reg, value }
            }
            "dma_read" => {
                let reg = self.register()?;
                let dest = self.arrow_register()?;
                OpKind::DmaRead { reg, dest }
            }
            "unpin" => OpKind::Unpin {
                reg: self.register()?,
            },
            "evict" => {
                let object = self.name("the object to evict")?;
                let options = self.options(&OptionSpec {
                    statement: "evict",
                    keys: &["to"],
                    flags: &[],
                })?;
                let to = match options.value("to") {
                    Some(v) => Some(keyword_value(
                        "to",
                        &v,
                        Placement::from_keyword,
                        &Placement::keywords(),
                    )?),
                    None => None,
                };
                OpKind::Evict { object, to }
            }
            "destroy" => OpKind::Destroy {
                object: self.name("the object to destroy")?,
            },
            "munmap" => OpKind::Munmap {
                mapping: self.name("the mapping to unmap")?,
            },
            "mprotect" => {
                let mapping = self.name("the mapping")?;
                let prot =
                    self.keyword_argument("mprotect", Prot::from_keyword, &Prot::keywords())?;
                OpKind::Mprotect { mapping, prot }
            }
            // The last of PLAIN_OPERATIONS: "madvise".
            _ => {
                let mapping = self.name("the mapping")?;
                let advice =
                    self.keyword_argument("madvise", Advice::from_keyword, &Advice::keywords())?;
                OpKind::Madvise { mapping, advice }
            }
        };
        Ok(Operation {
            kind,
            span: start.to(self.last_span()),
        })
    }

    fn unknown_operation(&self, in_setup: bool) -> Diagnostic {
        let token = self.peek();
        let word = self.text(token);
        if calls().any(|c| c == word) {
            return Diagnostic::error(token.span, format!("`{word}` needs a result register"))
                .with_expected(format!("`rN = {word} ...`, e.g. `r0 = {word} m0`"));
        }
        if !in_setup && SETUP_KEYWORDS.contains(&word) {
            return Diagnostic::error(token.span, format!("`{word}` can only appear in setup"))
                .with_expected("an operation; declare objects and mappings in `setup { ... }`");
        }
        let mut candidates: Vec<&str> = PLAIN_OPERATIONS.to_vec();
        candidates.extend(calls());
        if in_setup {
            candidates.extend(SETUP_KEYWORDS);
        }
        let what = if in_setup {
            "setup statement or operation"
        } else {
            "operation"
        };
        Diagnostic::error(token.span, format!("unknown {what} `{word}`"))
            .with_expected(if in_setup {
                "an object (`ttm`, `dmabuf`, `driver`, `anon`, `memfd`), `mmap`, `thp`, or an operation"
            } else {
                "an operation such as `read`, `write`, `touch`, `rN = pin_user_pages ...`, `dma_write`, `unpin`, `evict`"
            })
            .with_suggestion(did_you_mean(word, candidates))
    }

    /// `rN = GUP ADDR [pages=N] [write] [longterm] [force]` or `rN = SYSCALL ADDR size=SIZE`.
    fn call(&mut self) -> PResult<OpKind> {
        let start = self.peek().span;
        let dest = self.register()?;
        self.expect(TokenKind::Assign, "`=`")?;
        let word = self.peek_text();
        if !self.at(TokenKind::Name) || !calls().any(|c| c == word) {
            let diag = Diagnostic::error(
                self.peek().span,
                format!("unknown call `{}`", self.peek_text()),
            )
            .with_expected("a GUP call (`get_user_pages`, `pin_user_pages_fast`, ...) or a syscall (`o_direct_read`, `vmsplice`, ...)");
            return Err(if self.at(TokenKind::Name) {
                diag.with_suggestion(did_you_mean(word, calls()))
            } else {
                self.unexpected("a GUP call or syscall, e.g. `pin_user_pages`")
            });
        }
        self.advance();
        let addr = self.addr()?;
        if let Some(call) = GupCall::from_keyword(word) {
            let options = self.options(&OptionSpec {
                statement: word,
                keys: &["pages"],
                flags: &["write", "longterm", "force"],
            })?;
            let pages = match options.value("pages") {
                Some(v) => number_option(&v)?,
                None => 1,
            };
            return Ok(OpKind::Gup {
                dest,
                call,
                addr,
                pages,
                write: options.flag("write"),
                longterm: options.flag("longterm"),
                force: options.flag("force"),
            });
        }
        let call = Syscall::from_keyword(word).unwrap_or(Syscall::ODirectRead);
        let options = self.options(&OptionSpec {
            statement: word,
            keys: &["size"],
            flags: &[],
        })?;
        let span = start.to(self.last_span());
        let size = number_option(&required(&options, "size", span, word, "4K")?)?;
        Ok(OpKind::Syscall {
            dest,
            call,
            addr,
            size,
        })
    }

    /// `r0` ... `r9`.
    pub(super) fn register(&mut self) -> PResult<Spanned<crate::ast::Reg>> {
        let token = self.peek().clone();
        let text = self.text(&token);
        match register_number(text) {
            Some(n) if n < u64::from(Reg::COUNT) => {
                self.advance();
                Ok(Spanned::new(Reg(n as u8), token.span))
            }
            Some(_) => Err(
                Diagnostic::error(token.span, format!("no register `{text}`"))
                    .with_expected("a register `r0` ... `r9`"),
            ),
            None => Err(self.unexpected("a register `r0` ... `r9`")),
        }
    }

    /// An optional `-> rN`.
    fn arrow_register(&mut self) -> PResult<Option<Spanned<Reg>>> {
        if self.eat(TokenKind::Arrow).is_some() {
            Ok(Some(self.register()?))
        } else {
            Ok(None)
        }
    }

    /// `MAPPING` or `MAPPING+OFFSET`.
    pub(super) fn addr(&mut self) -> PResult<Addr> {
        let mapping = self.name("an address `MAPPING` or `MAPPING+OFFSET`")?;
        let mut span = mapping.span;
        let mut offset = 0;
        if self.eat(TokenKind::Plus).is_some() {
            let number = self.number("an offset such as `4K` after `+`")?;
            offset = number.node;
            span = span.to(number.span);
        } else if self.at(TokenKind::Minus) && self.peek().span.start == mapping.span.end {
            return Err(
                Diagnostic::error(self.peek().span, "addresses cannot go below a mapping")
                    .with_expected("`MAPPING+OFFSET`"),
            );
        }
        Ok(Addr {
            mapping,
            offset,
            span,
        })
    }

    /// A bare keyword argument such as `mprotect m0 rw`.
    fn keyword_argument<T>(
        &mut self,
        statement: &str,
        from_keyword: fn(&str) -> Option<T>,
        keywords: &[&'static str],
    ) -> PResult<T> {
        let list: Vec<String> = keywords.iter().map(|k| format!("`{k}`")).collect();
        let Some(word) = self.glued_word() else {
            return Err(self.unexpected(&list.join(" or ")));
        };
        from_keyword(word.node).ok_or_else(|| {
            Diagnostic::error(
                word.span,
                format!("bad argument `{}` for `{statement}`", word.node),
            )
            .with_expected(format!("one of {}", list.join(", ")))
            .with_suggestion(did_you_mean(word.node, keywords.iter().copied()))
        })
    }
}
