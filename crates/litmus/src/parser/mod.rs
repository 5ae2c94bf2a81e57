//! Turns tokens into a [`Test`]. Syntax errors and bad option values are reported here;
//! cross-statement rules (names, registers, threads) are in [`crate::check`].
//!
//! The parser works a line at a time: when a statement is wrong it reports the first
//! problem, skips to the end of that line and goes on, so one run reports every bad line.

// Errors are the cold path and files are small: a by-value Diagnostic keeps the code plain.
#![allow(clippy::result_large_err)]

mod conditions;
mod ops;
mod options;
mod setup;

use crate::ast::{KernelFlavor, KernelVersion, Name, Test, Thread};
use crate::diag::Diagnostic;
use crate::lexer::{Token, TokenKind};
use crate::number::{parse_number, NumberError};
use crate::span::{Span, Spanned};
use crate::suggest::did_you_mean;

type PResult<T> = Result<T, Diagnostic>;

/// Statements allowed at the top level, for suggestions.
const TOP_LEVEL: &[&str] = &[
    "mm-litmus",
    "kernel",
    "doc",
    "setup",
    "P0",
    "exists",
    "forbid",
    "forall",
];

/// Parses the tokens of `source`. Returns the test as far as it could be read, and every
/// error found; the test is only meaningful when there are none.
pub(crate) fn parse_tokens(source: &str, tokens: Vec<Token>) -> (Test, Vec<Diagnostic>) {
    let mut parser = Parser {
        source,
        tokens,
        pos: 0,
        errors: Vec::new(),
        block_cut_short: false,
    };
    let test = parser.test();
    (test, parser.errors)
}

/// Where in the file we are: statements must come in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Start,
    Preamble,
    Setup,
    Threads,
    Conditions,
}

impl Phase {
    fn describe(self) -> &'static str {
        match self {
            Phase::Start => "the `mm-litmus` line",
            Phase::Preamble => "`kernel` and `doc`",
            Phase::Setup => "the setup block",
            Phase::Threads => "the threads",
            Phase::Conditions => "the conditions",
        }
    }
}

pub(crate) struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    errors: Vec<Diagnostic>,
    /// Set when a block stopped at the next top-level statement because its `}` is missing:
    /// that statement is then still to be read, not junk after the block.
    block_cut_short: bool,
}

/// If `text` is a thread name `Pn`, its n.
pub(crate) fn thread_index(text: &str) -> Option<usize> {
    let digits = text.strip_prefix('P')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl<'a> Parser<'a> {
    // ----- token access -----

    fn peek(&self) -> &Token {
        // The lexer always ends with Eof, and `advance` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_kind(&self) -> TokenKind {
        self.peek().kind
    }

    fn nth(&self, n: usize) -> &Token {
        &self.tokens[(self.pos + n).min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::Eof {
            self.pos += 1;
        }
        token
    }

    fn text(&self, token: &Token) -> &'a str {
        token.span.text(self.source)
    }

    fn peek_text(&self) -> &'a str {
        self.text(self.peek())
    }

    fn at(&self, kind: TokenKind) -> bool {
        self.peek_kind() == kind
    }

    fn eat(&mut self, kind: TokenKind) -> Option<Token> {
        if self.at(kind) {
            Some(self.advance())
        } else {
            None
        }
    }

    /// End of the current statement: a newline, the end of file, or a block's `}`.
    fn at_statement_end(&self) -> bool {
        matches!(
            self.peek_kind(),
            TokenKind::Newline | TokenKind::Eof | TokenKind::RBrace
        )
    }

    fn skip_newlines(&mut self) {
        while self.eat(TokenKind::Newline).is_some() {}
    }

    /// Skips the rest of a bad statement.
    fn recover(&mut self) {
        while !self.at_statement_end() {
            self.advance();
        }
    }

    /// Skips a bad top-level statement, and the block it opens if its line ends in `{`
    /// (so a misspelt `setpu {` does not also report its `}` as unmatched).
    fn recover_top_level(&mut self) {
        let mut opens_block = false;
        while !matches!(self.peek_kind(), TokenKind::Newline | TokenKind::Eof) {
            opens_block = self.advance().kind == TokenKind::LBrace;
        }
        if !opens_block {
            return;
        }
        let mut depth = 1usize;
        while depth > 0 && !self.at(TokenKind::Eof) {
            match self.advance().kind {
                TokenKind::LBrace => depth += 1,
                TokenKind::RBrace => depth -= 1,
                _ => {}
            }
        }
    }

    /// A description of the next token for "found ..." messages.
    fn found(&self) -> String {
        let token = self.peek();
        match token.kind {
            TokenKind::Newline | TokenKind::Eof => token.kind.describe().to_string(),
            _ => format!("`{}`", self.text(token)),
        }
    }

    /// An error at the next token: "expected X, found Y".
    fn unexpected(&self, expected: &str) -> Diagnostic {
        Diagnostic::error(
            self.peek().span,
            format!("expected {expected}, found {}", self.found()),
        )
    }

    fn expect(&mut self, kind: TokenKind, expected: &str) -> PResult<Token> {
        self.eat(kind).ok_or_else(|| self.unexpected(expected))
    }

    /// Requires the statement to be over.
    fn expect_statement_end(&mut self) -> PResult<()> {
        if self.at_statement_end() {
            Ok(())
        } else {
            Err(Diagnostic::error(
                self.peek().span,
                format!("unexpected {} after the statement", self.found()),
            )
            .with_expected("end of line (one statement per line)"))
        }
    }

    /// Tokens written without spaces between them, as one word (`mm-litmus`, `dev+map`).
    fn glued_word(&mut self) -> Option<Spanned<&'a str>> {
        let first = self.peek().clone();
        if !first.kind.glues() {
            return None;
        }
        let mut end = first.span.end;
        self.advance();
        while self.peek().kind.glues() && self.peek().span.start == end {
            end = self.advance().span.end;
        }
        let span = Span::new(first.span.start, end);
        Some(Spanned::new(span.text(self.source), span))
    }

    /// The glued word at the next token (or "" and the token's span), without consuming it.
    fn peek_word_spanned(&mut self) -> Spanned<&'a str> {
        let save = self.pos;
        let span = self.peek().span;
        let word = self.glued_word().unwrap_or(Spanned::new("", span));
        self.pos = save;
        word
    }

    fn peek_word(&mut self) -> &'a str {
        self.peek_word_spanned().node
    }

    /// A plain name (object, mapping).
    fn name(&mut self, what: &str) -> PResult<Name> {
        let token = self.expect(TokenKind::Name, what)?;
        Ok(Spanned::new(self.text(&token).to_string(), token.span))
    }

    /// A number token (`42`, `0x1000`, `4K`), valued.
    fn number(&mut self, what: &str) -> PResult<Spanned<u64>> {
        match self.peek_kind() {
            TokenKind::Number | TokenKind::Version => {
                let token = self.advance();
                let value = number_value(self.text(&token), token.span)?;
                Ok(Spanned::new(value, token.span))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// The value a `write` or `dma_write` stores: one a page can hold.
    fn page_value(&mut self) -> PResult<u64> {
        let value = self.number("the value to write")?;
        if value.node > crate::ast::MAX_PAGE_VALUE {
            return Err(Diagnostic::error(
                value.span,
                format!(
                    "expected a value from 0 to {}, found {}",
                    crate::ast::MAX_PAGE_VALUE,
                    value.node
                ),
            )
            .with_help("a page holds one small value (a byte) in this model"));
        }
        Ok(value.node)
    }

    // ----- the file -----

    fn test(&mut self) -> Test {
        let mut test = Test {
            name: Spanned::new(String::new(), Span::default()),
            kernel: None,
            docs: Vec::new(),
            setup: Vec::new(),
            threads: Vec::new(),
            conditions: Vec::new(),
        };
        let mut phase = Phase::Start;
        let mut setup_span: Option<Span> = None;
        loop {
            self.skip_newlines();
            if self.at(TokenKind::Eof) {
                break;
            }
            let Spanned {
                node: word,
                span: start,
            } = self.peek_word_spanned();
            let statement_phase = match word {
                "mm-litmus" => Phase::Start,
                "kernel" | "doc" => Phase::Preamble,
                "setup" => Phase::Setup,
                "exists" | "forbid" | "forall" => Phase::Conditions,
                w if thread_index(w).is_some() => Phase::Threads,
                _ => phase.max(Phase::Preamble),
            };
            if phase == Phase::Start && statement_phase != Phase::Start {
                self.errors.push(
                    Diagnostic::error(start, "missing `mm-litmus` header")
                        .with_expected("`mm-litmus NAME` as the first statement"),
                );
                phase = Phase::Preamble;
            }
            let result = if statement_phase < phase && word != "doc" {
                Err(Diagnostic::error(
                    start,
                    format!(
                        "`{word}` must come before {}",
                        if statement_phase == Phase::Start {
                            "everything else".to_string()
                        } else {
                            phase.describe().to_string()
                        }
                    ),
                )
                .with_expected(
                    "the order: `mm-litmus`, `kernel`/`doc`, `setup`, threads, conditions",
                ))
            } else {
                phase = phase.max(statement_phase).max(Phase::Preamble);
                self.top_level_statement(&mut test, &mut setup_span)
            };
            let result = result.and_then(|()| {
                if std::mem::take(&mut self.block_cut_short) {
                    Ok(())
                } else {
                    self.expect_statement_end()
                }
            });
            if let Err(diag) = result {
                self.errors.push(diag);
                self.recover_top_level();
            }
        }
        if phase == Phase::Start {
            self.errors.push(
                Diagnostic::error(Span::new(0, 0), "missing `mm-litmus` header")
                    .with_expected("`mm-litmus NAME` as the first statement (the file has none)"),
            );
        }
        test
    }

    fn top_level_statement(
        &mut self,
        test: &mut Test,
        setup_span: &mut Option<Span>,
    ) -> PResult<()> {
        let start = self.peek().span;
        let Some(word) = self.glued_word() else {
            let diag = match self.peek_kind() {
                TokenKind::RBrace => Diagnostic::error(start, "unmatched `}`")
                    .with_expected("a statement; this `}` closes no block"),
                _ => self.unexpected("a statement"),
            };
            return Err(diag);
        };
        match word.node {
            // A second `mm-litmus` line is refused by the phase order in `test`.
            "mm-litmus" => test.name = self.test_name()?,
            "kernel" => {
                let version = self.kernel_version()?;
                if let Some(previous) = &test.kernel {
                    return Err(Diagnostic::error(
                        word.span.to(version.span),
                        "duplicate `kernel` line",
                    )
                    .with_note(previous.span, "the kernel was already given here"));
                }
                test.kernel = Some(version);
            }
            "doc" => {
                let token = self.expect(TokenKind::Str, "a string, `doc \"TEXT\"`")?;
                test.docs.push(Spanned::new(token.string, token.span));
            }
            "setup" => {
                if let Some(previous) = setup_span {
                    return Err(
                        Diagnostic::error(word.span, "duplicate setup block").with_note(
                            *previous,
                            "the setup block is here; put all setup statements in it",
                        ),
                    );
                }
                *setup_span = Some(word.span);
                test.setup = self.block(word.span, "setup", Parser::setup_statement);
            }
            "exists" | "forbid" | "forall" => test.conditions.push(self.condition(word)?),
            w => {
                if let Some(index) = thread_index(w) {
                    let expected = test.threads.len();
                    if index != expected {
                        self.errors.push(
                            Diagnostic::error(word.span, format!("thread `{w}` out of order"))
                                .with_expected(format!(
                                    "`P{expected}`: threads are numbered P0, P1, ... in order"
                                )),
                        );
                    }
                    let ops = self.block(word.span, w, Parser::operation);
                    let end = self.last_span();
                    test.threads.push(Thread {
                        index,
                        name_span: word.span,
                        ops,
                        span: word.span.to(end),
                    });
                } else {
                    return Err(self.unknown_top_level(word));
                }
            }
        }
        Ok(())
    }

    fn unknown_top_level(&self, word: Spanned<&str>) -> Diagnostic {
        if setup::SETUP_KEYWORDS.contains(&word.node) || ops::is_operation_keyword(word.node) {
            return Diagnostic::error(word.span, format!("`{}` outside a block", word.node))
                .with_expected(if setup::SETUP_KEYWORDS.contains(&word.node) {
                    "setup statements inside `setup { ... }`"
                } else {
                    "operations inside a thread `P0 { ... }` or `setup { ... }`"
                });
        }
        Diagnostic::error(word.span, format!("unknown statement `{}`", word.node))
            .with_expected("`mm-litmus`, `kernel`, `doc`, `setup`, a thread `P0`, `exists`, `forbid` or `forall`")
            .with_suggestion(did_you_mean(word.node, TOP_LEVEL.iter().copied()))
    }

    fn test_name(&mut self) -> PResult<Name> {
        if let Some(token) = self.eat(TokenKind::Str) {
            return Ok(Spanned::new(token.string, token.span));
        }
        match self.glued_word() {
            Some(word) => Ok(Spanned::new(word.node.to_string(), word.span)),
            None => Err(self
                .unexpected("the test's name")
                .with_help("write `mm-litmus NAME`, NAME a word like `ttm-huge-gup` or a string")),
        }
    }

    fn kernel_version(&mut self) -> PResult<Spanned<KernelVersion>> {
        let Some(word) = self.glued_word() else {
            return Err(self.unexpected("a kernel version such as `6.12`"));
        };
        parse_kernel_version(word.node)
            .map(|version| Spanned::new(version, word.span))
            .ok_or_else(|| {
                Diagnostic::error(word.span, format!("bad kernel version `{}`", word.node))
                    .with_expected("a release such as `5.11` or `6.12`, or `debian-6.1`")
            })
    }

    /// `{ STATEMENTS }` after a block header; reports and recovers from a missing brace.
    fn block<T>(
        &mut self,
        header: Span,
        header_text: &str,
        mut statement: impl FnMut(&mut Self) -> PResult<T>,
    ) -> Vec<T> {
        let mut items = Vec::new();
        let open = match self.eat(TokenKind::LBrace) {
            Some(open) => open.span,
            None => {
                let mut diag = self.unexpected(&format!("`{{` after `{header_text}`"));
                if self.at(TokenKind::Newline) {
                    let save = self.pos;
                    self.skip_newlines();
                    if self.at(TokenKind::LBrace) {
                        diag = Diagnostic::error(
                            self.peek().span,
                            format!("`{{` must be on the same line as `{header_text}`"),
                        );
                        self.advance();
                    } else {
                        self.pos = save;
                        diag = diag.with_help(format!("write `{header_text} {{`"));
                    }
                }
                self.errors.push(diag);
                header
            }
        };
        loop {
            self.skip_newlines();
            match self.peek_kind() {
                TokenKind::RBrace => {
                    self.advance();
                    return items;
                }
                TokenKind::Eof => {
                    self.errors.push(
                        Diagnostic::error(open, format!("unclosed `{{` of `{header_text}`"))
                            .with_expected("a `}` to close it before the end of the file"),
                    );
                    return items;
                }
                _ => {}
            }
            if self.starts_top_level_statement() {
                let word = self.peek_word_spanned();
                self.errors.push(
                    Diagnostic::error(word.span, format!("missing `}}` before `{}`", word.node))
                        .with_expected(format!("`}}` to close the block of `{header_text}`"))
                        .with_note(open, "the block opens here"),
                );
                self.block_cut_short = true;
                return items;
            }
            match statement(self).and_then(|item| {
                self.expect_statement_end()?;
                Ok(item)
            }) {
                Ok(item) => items.push(item),
                Err(diag) => {
                    self.errors.push(diag);
                    self.recover();
                }
            }
        }
    }

    /// Whether the next line starts something only valid outside blocks (so a `}` is missing).
    fn starts_top_level_statement(&mut self) -> bool {
        let save = self.pos;
        let word = self.peek_word();
        let result = match word {
            "mm-litmus" | "kernel" | "doc" | "setup" | "exists" | "forbid" | "forall" => true,
            w if thread_index(w).is_some() => {
                self.glued_word();
                self.at(TokenKind::LBrace)
            }
            _ => false,
        };
        self.pos = save;
        result
    }
}

/// Values a number token, reporting bad ones at `span`.
pub(crate) fn number_value(text: &str, span: Span) -> PResult<u64> {
    parse_number(text).map_err(|err| match err {
        NumberError::Malformed => {
            let diag = Diagnostic::error(span, format!("bad number `{text}`")).with_expected(
                "a decimal or `0x` hex number, optionally with a size suffix `K`, `M` or `G`",
            );
            let last = text.chars().last().unwrap_or(' ');
            if matches!(last, 'k' | 'm' | 'g') {
                diag.with_help(format!(
                    "size suffixes are upper case: `{}{}`",
                    &text[..text.len() - 1],
                    last.to_ascii_uppercase()
                ))
            } else {
                diag
            }
        }
        NumberError::TooLarge => Diagnostic::error(span, format!("number `{text}` is too large"))
            .with_expected("a number below 2^64"),
    })
}

/// `5.11`, `6.1.3`, `debian-6.1`.
pub(crate) fn parse_kernel_version(text: &str) -> Option<KernelVersion> {
    let (flavor, release) = match text.strip_prefix("debian-") {
        Some(rest) => (KernelFlavor::Debian, rest),
        None => (KernelFlavor::Upstream, text),
    };
    let parts: Vec<&str> = release.split('.').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let mut numbers = Vec::new();
    for part in &parts {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        numbers.push(part.parse::<u32>().ok()?);
    }
    Some(KernelVersion {
        raw: text.to_string(),
        flavor,
        major: numbers[0],
        minor: numbers[1],
        patch: numbers.get(2).copied(),
    })
}
