//! `key=value` options and bare flags after a statement's positional arguments.

use super::{number_value, PResult, Parser};
use crate::ast::PAGE_SIZE;
use crate::diag::Diagnostic;
use crate::lexer::TokenKind;
use crate::span::{Span, Spanned};
use crate::suggest::did_you_mean;

/// What a statement accepts: `key=` options and bare flags.
pub(super) struct OptionSpec<'k> {
    /// The statement, for messages (`ttm`, `mmap`, `pin_user_pages`).
    pub statement: &'k str,
    pub keys: &'k [&'k str],
    pub flags: &'k [&'k str],
}

pub(super) struct GivenOption<'a> {
    pub key: Spanned<&'a str>,
    /// `None` for a bare flag.
    pub value: Option<Spanned<&'a str>>,
}

/// The options a statement was given, checked against its [`OptionSpec`].
pub(super) struct Options<'a> {
    pub given: Vec<GivenOption<'a>>,
}

impl<'a> Options<'a> {
    /// The value of `key=`, if given.
    pub fn value(&self, key: &str) -> Option<Spanned<&'a str>> {
        self.given
            .iter()
            .find(|o| o.key.node == key && o.value.is_some())
            .and_then(|o| o.value.clone())
    }

    /// Whether the bare flag was given.
    pub fn flag(&self, flag: &str) -> bool {
        self.given
            .iter()
            .any(|o| o.key.node == flag && o.value.is_none())
    }

    /// The given flags among `choices` (for mutually exclusive words like `shared|private`).
    pub fn flags_among(&self, choices: &[&str]) -> Vec<Spanned<&'a str>> {
        self.given
            .iter()
            .filter(|o| o.value.is_none() && choices.contains(&o.key.node))
            .map(|o| o.key.clone())
            .collect()
    }
}

impl<'a> Parser<'a> {
    /// Reads options to the end of the statement.
    pub(super) fn options(&mut self, spec: &OptionSpec) -> PResult<Options<'a>> {
        let mut given: Vec<GivenOption<'a>> = Vec::new();
        while !self.at_statement_end() {
            if !self.at(TokenKind::Name) {
                return Err(self.unexpected(&expected_options(spec)));
            }
            let token = self.advance();
            let key = Spanned::new(self.text(&token), token.span);
            let value = if self.at(TokenKind::Assign) {
                let assign = self.advance();
                if assign.span.start != key.span.end {
                    return Err(Diagnostic::error(assign.span, "space before `=`")
                        .with_expected(format!("`{}=VALUE` written without spaces", key.node)));
                }
                match self.glued_word() {
                    Some(value) if value.span.start == assign.span.end => Some(value),
                    _ => {
                        return Err(Diagnostic::error(
                            Span::new(key.span.start, assign.span.end),
                            format!("missing value after `{}=`", key.node),
                        )
                        .with_expected(format!("`{}=VALUE` written without spaces", key.node)))
                    }
                }
            } else {
                None
            };
            self.check_option(spec, &key, value.is_some())?;
            if let Some(previous) = given.iter().find(|o| o.key.node == key.node) {
                return Err(
                    Diagnostic::error(key.span, format!("`{}` given twice", key.node))
                        .with_note(previous.key.span, "first given here"),
                );
            }
            given.push(GivenOption { key, value });
        }
        Ok(Options { given })
    }

    fn check_option(&self, spec: &OptionSpec, key: &Spanned<&str>, has_value: bool) -> PResult<()> {
        let is_key = spec.keys.contains(&key.node);
        let is_flag = spec.flags.contains(&key.node);
        match (is_key, is_flag, has_value) {
            (true, _, true) | (_, true, false) => Ok(()),
            (true, false, false) => Err(Diagnostic::error(
                key.span,
                format!("`{}` needs a value", key.node),
            )
            .with_expected(format!("`{}=VALUE`", key.node))),
            (false, true, true) => Err(Diagnostic::error(
                key.span,
                format!("`{}` takes no value", key.node),
            )
            .with_expected(format!("just `{}`", key.node))),
            (false, false, _) => {
                let candidates = spec.keys.iter().chain(spec.flags.iter()).copied();
                Err(Diagnostic::error(
                    key.span,
                    format!("unknown option `{}` for `{}`", key.node, spec.statement),
                )
                .with_expected(expected_options(spec))
                .with_suggestion(did_you_mean(key.node, candidates)))
            }
        }
    }
}

fn expected_options(spec: &OptionSpec) -> String {
    let mut all: Vec<String> = spec.keys.iter().map(|k| format!("`{k}=`")).collect();
    all.extend(spec.flags.iter().map(|f| format!("`{f}`")));
    if all.is_empty() {
        return "end of line".to_string();
    }
    format!("one of {}", all.join(", "))
}

/// Parses a keyword option value such as `place=vram`.
pub(super) fn keyword_value<T>(
    key: &str,
    value: &Spanned<&str>,
    from_keyword: fn(&str) -> Option<T>,
    keywords: &[&'static str],
) -> PResult<T> {
    from_keyword(value.node).ok_or_else(|| {
        let list: Vec<String> = keywords.iter().map(|k| format!("`{k}`")).collect();
        Diagnostic::error(
            value.span,
            format!("bad value `{}` for `{key}=`", value.node),
        )
        .with_expected(format!("one of {}", list.join(", ")))
        .with_suggestion(did_you_mean(value.node, keywords.iter().copied()))
    })
}

/// A number option value (`pages=512`, `size=4097`).
pub(super) fn number_option(value: &Spanned<&str>) -> PResult<u64> {
    number_value(value.node, value.span)
}

/// A size that must be a positive whole number of pages (objects, mmap lengths, offsets).
pub(super) fn page_size_option(key: &str, value: &Spanned<&str>, allow_zero: bool) -> PResult<u64> {
    let size = number_option(value)?;
    if size == 0 && !allow_zero {
        return Err(
            Diagnostic::error(value.span, format!("`{key}=` must not be 0"))
                .with_expected("a size such as `4K` or `2M`"),
        );
    }
    if size % PAGE_SIZE != 0 {
        return Err(Diagnostic::error(
            value.span,
            format!(
                "`{key}={}` is not a multiple of the page size (4K)",
                value.node
            ),
        )
        .with_expected("a whole number of 4K pages"));
    }
    Ok(size)
}

/// A required option; the error points at the whole statement.
pub(super) fn required<'a>(
    options: &Options<'a>,
    key: &str,
    statement: Span,
    statement_name: &str,
    example: &str,
) -> PResult<Spanned<&'a str>> {
    options.value(key).ok_or_else(|| {
        Diagnostic::error(statement, format!("`{statement_name}` needs `{key}=`"))
            .with_expected(format!("`{key}=...`, e.g. `{key}={example}`"))
    })
}
