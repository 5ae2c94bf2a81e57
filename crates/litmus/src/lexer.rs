//! Splits source text into tokens. Newlines are tokens: the format has one statement a line.
//!
//! Numbers are kept as raw text (`0x1000`, `2M`, `5.11`) and valued by the parser, so a bad
//! number is reported where it is used, with the whole token underlined.

use crate::diag::Diagnostic;
use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `[A-Za-z_][A-Za-z0-9_]*`.
    Name,
    /// A digit followed by letters, digits and `_` (`42`, `0x1f`, `4K`, or a bad `12q`).
    Number,
    /// Digits with dots, `5.11`, `6.1.3`.
    Version,
    /// `"..."`, escapes resolved; the value is in [`Token::string`].
    Str,
    /// `-EFAULT`: a minus sign directly followed by a name.
    Errno,
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `=`
    Assign,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    Plus,
    Minus,
    /// `->`
    Arrow,
    Colon,
    Newline,
    Eof,
}

impl TokenKind {
    /// How a message names this kind of token.
    pub fn describe(self) -> &'static str {
        match self {
            TokenKind::Name => "a name",
            TokenKind::Number => "a number",
            TokenKind::Version => "a version number",
            TokenKind::Str => "a string",
            TokenKind::Errno => "an errno",
            TokenKind::LBrace => "`{`",
            TokenKind::RBrace => "`}`",
            TokenKind::LParen => "`(`",
            TokenKind::RParen => "`)`",
            TokenKind::LBracket => "`[`",
            TokenKind::RBracket => "`]`",
            TokenKind::Assign => "`=`",
            TokenKind::EqEq => "`==`",
            TokenKind::NotEq => "`!=`",
            TokenKind::Lt => "`<`",
            TokenKind::Le => "`<=`",
            TokenKind::Gt => "`>`",
            TokenKind::Ge => "`>=`",
            TokenKind::AndAnd => "`&&`",
            TokenKind::OrOr => "`||`",
            TokenKind::Bang => "`!`",
            TokenKind::Plus => "`+`",
            TokenKind::Minus => "`-`",
            TokenKind::Arrow => "`->`",
            TokenKind::Colon => "`:`",
            TokenKind::Newline => "end of line",
            TokenKind::Eof => "end of file",
        }
    }

    /// Kinds that glue into one word when written without spaces between them
    /// (`mm-litmus`, `dev+map`, `debian-6.1`, `pfnmap+io`).
    pub fn glues(self) -> bool {
        matches!(
            self,
            TokenKind::Name
                | TokenKind::Number
                | TokenKind::Version
                | TokenKind::Errno
                | TokenKind::Plus
                | TokenKind::Minus
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
    /// The unescaped value of a [`TokenKind::Str`]; empty otherwise.
    pub string: String,
}

/// Tokenizes `source`. Always ends with an `Eof` token; bad characters are reported and skipped.
pub fn lex(source: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lexer = Lexer {
        source,
        pos: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lexer.run();
    (lexer.tokens, lexer.errors)
}

struct Lexer<'a> {
    source: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<Diagnostic>,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.source[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        let mut chars = self.source[self.pos..].chars();
        chars.next();
        chars.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat_while(&mut self, pred: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(start, self.pos),
            string: String::new(),
        });
    }

    fn run(&mut self) {
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                '\n' => {
                    self.bump();
                    self.push(TokenKind::Newline, start);
                }
                c if c.is_whitespace() => {
                    self.bump();
                }
                '#' => self.eat_while(|c| c != '\n'),
                '"' => self.string(),
                c if is_name_start(c) => {
                    self.eat_while(is_name_char);
                    self.push(TokenKind::Name, start);
                }
                c if c.is_ascii_digit() => self.number(),
                '-' => {
                    self.bump();
                    match self.peek() {
                        Some('>') => {
                            self.bump();
                            self.push(TokenKind::Arrow, start);
                        }
                        Some(c) if is_name_start(c) => {
                            self.eat_while(is_name_char);
                            self.push(TokenKind::Errno, start);
                        }
                        _ => self.push(TokenKind::Minus, start),
                    }
                }
                _ => self.punct(c, start),
            }
        }
        let end = self.source.len();
        self.tokens.push(Token {
            kind: TokenKind::Eof,
            span: Span::new(end, end),
            string: String::new(),
        });
    }

    fn number(&mut self) {
        let start = self.pos;
        self.eat_while(is_name_char);
        let mut kind = TokenKind::Number;
        // `5.11`: a dot followed by a digit continues the token as a version.
        while self.peek() == Some('.') && self.peek_second().is_some_and(|c| c.is_ascii_digit()) {
            kind = TokenKind::Version;
            self.bump();
            self.eat_while(is_name_char);
        }
        self.push(kind, start);
    }

    fn string(&mut self) {
        let start = self.pos;
        self.bump();
        let mut value = String::new();
        loop {
            match self.peek() {
                None | Some('\n') => {
                    self.errors.push(
                        Diagnostic::error(Span::new(start, self.pos), "unterminated string")
                            .with_expected("a closing `\"` on the same line"),
                    );
                    break;
                }
                Some('"') => {
                    self.bump();
                    break;
                }
                Some('\\') => {
                    let escape_start = self.pos;
                    self.bump();
                    match self.peek() {
                        Some(c @ ('"' | '\\')) => {
                            self.bump();
                            value.push(c);
                        }
                        Some(c) if c != '\n' => {
                            self.bump();
                            self.errors.push(
                                Diagnostic::error(
                                    Span::new(escape_start, self.pos),
                                    format!("unknown escape `\\{c}` in string"),
                                )
                                .with_expected("`\\\"` or `\\\\`, the only escapes"),
                            );
                        }
                        _ => {}
                    }
                }
                Some(c) => {
                    self.bump();
                    value.push(c);
                }
            }
        }
        self.tokens.push(Token {
            kind: TokenKind::Str,
            span: Span::new(start, self.pos),
            string: value,
        });
    }

    fn punct(&mut self, c: char, start: usize) {
        self.bump();
        let next = self.peek();
        let (kind, two) = match (c, next) {
            ('{', _) => (TokenKind::LBrace, false),
            ('}', _) => (TokenKind::RBrace, false),
            ('(', _) => (TokenKind::LParen, false),
            (')', _) => (TokenKind::RParen, false),
            ('[', _) => (TokenKind::LBracket, false),
            (']', _) => (TokenKind::RBracket, false),
            ('+', _) => (TokenKind::Plus, false),
            (':', _) => (TokenKind::Colon, false),
            ('=', Some('=')) => (TokenKind::EqEq, true),
            ('=', _) => (TokenKind::Assign, false),
            ('!', Some('=')) => (TokenKind::NotEq, true),
            ('!', _) => (TokenKind::Bang, false),
            ('<', Some('=')) => (TokenKind::Le, true),
            ('<', _) => (TokenKind::Lt, false),
            ('>', Some('=')) => (TokenKind::Ge, true),
            ('>', _) => (TokenKind::Gt, false),
            ('&', Some('&')) => (TokenKind::AndAnd, true),
            ('|', Some('|')) => (TokenKind::OrOr, true),
            _ => {
                let mut diag = Diagnostic::error(
                    Span::new(start, self.pos),
                    format!("unexpected character `{}`", c.escape_debug()),
                );
                diag = match c {
                    '&' => diag.with_help("`&&` is \"and\""),
                    '|' => diag.with_help("`||` is \"or\""),
                    '/' | ';' => diag.with_help("comments start with `#`"),
                    _ => diag,
                };
                self.errors.push(diag);
                return;
            }
        };
        if two {
            self.bump();
        }
        self.push(kind, start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        let (tokens, errors) = lex(src);
        assert!(errors.is_empty(), "{errors:?}");
        tokens.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("r0 = pin_user_pages_fast m0+4K pages=512 # c\n"),
            vec![Name, Assign, Name, Name, Plus, Number, Name, Assign, Number, Newline, Eof]
        );
        assert_eq!(
            kinds("P0:r0 == -EFAULT && !(x[0x10] >= 3) || y != 1 <= < > ->"),
            vec![
                Name, Colon, Name, EqEq, Errno, AndAnd, Bang, LParen, Name, LBracket, Number,
                RBracket, Ge, Number, RParen, OrOr, Name, NotEq, Number, Le, Lt, Gt, Arrow, Eof
            ]
        );
        assert_eq!(
            kinds("kernel 5.11 6.1.3"),
            vec![Name, Version, Version, Eof]
        );
        assert_eq!(kinds("mm-litmus -3"), vec![Name, Errno, Minus, Number, Eof]);
    }

    #[test]
    fn strings_and_escapes() {
        let (tokens, errors) = lex(r#"doc "a \"b\" \\ c""#);
        assert!(errors.is_empty());
        assert_eq!(tokens[1].string, r#"a "b" \ c"#);
        let (_, errors) = lex("doc \"abc\n");
        assert_eq!(errors[0].message, "unterminated string");
        let (_, errors) = lex(r#"doc "a\n""#);
        assert_eq!(errors[0].message, "unknown escape `\\n` in string");
    }

    #[test]
    fn bad_characters_are_reported_and_skipped() {
        let (tokens, errors) = lex("a @ é b");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[1].span, Span::new(4, 6));
        assert_eq!(tokens.len(), 3);
    }
}
