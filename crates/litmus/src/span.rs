//! Source positions: byte ranges into the test's text, and their line/column.

use serde::Serialize;

/// A half-open byte range `start..end` into the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The 1-based line and column (in characters) where this span starts.
    pub fn line_col(self, source: &str) -> LineCol {
        LineCol::of(source, self.start)
    }

    /// The text this span covers, or "" when it does not fit `source`.
    pub fn text(self, source: &str) -> &str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

/// A 1-based line and column; the column counts characters, not bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

impl LineCol {
    /// Position of byte `offset` in `source` (clamped to the text, rounded down to a char start).
    pub fn of(source: &str, offset: usize) -> LineCol {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        LineCol {
            line: before.matches('\n').count() + 1,
            col: before[line_start..].chars().count() + 1,
        }
    }
}

/// A value together with where it was written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Spanned<T> {
        Spanned { node, span }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.node
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let src = "ab\nçd ef\n";
        assert_eq!(LineCol::of(src, 0), LineCol { line: 1, col: 1 });
        assert_eq!(LineCol::of(src, 3), LineCol { line: 2, col: 1 });
        // 'ç' is two bytes; 'e' is byte 7, character 4 of line 2.
        assert_eq!(LineCol::of(src, 7), LineCol { line: 2, col: 4 });
        // Inside a multi-byte character: rounded down.
        assert_eq!(LineCol::of(src, 4), LineCol { line: 2, col: 1 });
        assert_eq!(LineCol::of(src, 999), LineCol { line: 3, col: 1 });
    }
}
