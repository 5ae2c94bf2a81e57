//! Error reports and their rendering as `FILE:LINE:COL: error: MESSAGE`, the source line,
//! and a caret line under the offending token, the way compilers print them (so editors
//! can jump to the spot).

use serde::Serialize;

use crate::span::{LineCol, Span};

/// One error in a litmus file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// What is wrong, in one line.
    pub message: String,
    /// The offending text (a whole token or statement).
    pub span: Span,
    /// What would have been accepted at this spot.
    pub expected: Option<String>,
    /// A suggestion, such as "did you mean `write`?".
    pub help: Option<String>,
    /// Extra context pointing elsewhere (e.g. where a name was declared).
    pub note: Option<Note>,
}

/// A remark about another place in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    pub message: String,
    pub span: Span,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span,
            expected: None,
            help: None,
            note: None,
        }
    }

    pub fn with_expected(mut self, expected: impl Into<String>) -> Diagnostic {
        self.expected = Some(expected.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds `help: did you mean `X`?` when a suggestion exists.
    pub fn with_suggestion(self, suggestion: Option<&str>) -> Diagnostic {
        match suggestion {
            Some(s) => self.with_help(format!("did you mean `{s}`?")),
            None => self,
        }
    }

    pub fn with_note(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.note = Some(Note {
            message: message.into(),
            span,
        });
        self
    }

    /// Where the error starts, 1-based.
    pub fn line_col(&self, source: &str) -> LineCol {
        self.span.line_col(source)
    }

    /// Renders the report:
    ///
    /// ```text
    /// t.litmus:7:3: error: unknown operation `wirte`
    ///    7 |   wirte m0 1
    ///      |   ^^^^^
    ///      = help: did you mean `write`?
    /// ```
    pub fn render(&self, filename: &str, source: &str) -> String {
        let at = self.line_col(source);
        let mut out = format!(
            "{filename}:{}:{}: error: {}\n",
            at.line, at.col, self.message
        );
        let gutter = at.line.to_string().len().max(4);
        out.push_str(&excerpt(source, self.span, gutter));
        if let Some(expected) = &self.expected {
            out.push_str(&format!("{:gutter$} = expected: {expected}\n", ""));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("{:gutter$} = help: {help}\n", ""));
        }
        if let Some(note) = &self.note {
            let at = note.span.line_col(source);
            out.push_str(&format!(
                "{filename}:{}:{}: note: {}\n",
                at.line, at.col, note.message
            ));
            out.push_str(&excerpt(source, note.span, gutter));
        }
        out
    }
}

/// The line `span` starts on, and a caret line under the span (to the end of that line).
fn excerpt(source: &str, span: Span, gutter: usize) -> String {
    let at = span.line_col(source);
    let line = source.lines().nth(at.line - 1).unwrap_or("");
    let line = line.strip_suffix('\r').unwrap_or(line);
    let before: String = line
        .chars()
        .take(at.col - 1)
        // Keep tabs so the carets line up under tab-indented text.
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let start = span.start.min(source.len());
    let covered = source
        .get(start..span.end.max(start).min(source.len()))
        .unwrap_or("");
    let rest_of_line = line.chars().count().saturating_sub(at.col - 1);
    let width = covered
        .split('\n')
        .next()
        .unwrap_or("")
        .chars()
        .count()
        .min(rest_of_line)
        .max(1);
    format!(
        "{:>gutter$} | {line}\n{:gutter$} | {before}{}\n",
        at.line,
        "",
        "^".repeat(width)
    )
}

/// Sorts diagnostics by position and drops exact duplicates.
pub(crate) fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    diagnostics.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_carets() {
        let src = "mm-litmus t\nP0 {\n  wirte m0 1\n}\n";
        let start = src.find("wirte").unwrap();
        let diag = Diagnostic::error(Span::new(start, start + 5), "unknown operation `wirte`")
            .with_suggestion(Some("write"));
        assert_eq!(
            diag.render("t.litmus", src),
            "t.litmus:3:3: error: unknown operation `wirte`\n\
             \x20  3 |   wirte m0 1\n\
             \x20    |   ^^^^^\n\
             \x20    = help: did you mean `write`?\n"
        );
    }

    #[test]
    fn renders_at_end_of_file_and_with_tabs() {
        let src = "a\n\tb";
        let diag = Diagnostic::error(Span::new(4, 4), "x");
        assert_eq!(
            diag.render("f", src),
            "f:2:3: error: x\n   2 | \tb\n     | \t ^\n"
        );
        let diag = Diagnostic::error(Span::new(99, 120), "x");
        assert!(diag.render("f", src).starts_with("f:2:3: error: x\n"));
    }
}
