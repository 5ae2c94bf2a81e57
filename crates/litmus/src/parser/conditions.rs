//! `exists` / `forbid` / `forall` lines and their expressions.
//!
//! Precedence, loosest first: `||`, `&&`, `!`; both binary operators group to the left.

use super::{thread_index, PResult, Parser};
use crate::ast::{Atom, CmpOp, Condition, Event, Expr, ExprKind, Quantifier, RegValue, Signal};
use crate::diag::Diagnostic;
use crate::errno::Errno;
use crate::lexer::TokenKind;
use crate::span::{Span, Spanned};
use crate::suggest::did_you_mean;

/// Deeper nesting is refused, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

const EXPECTED_ATOM: &str =
    "a condition: `P0:r0 == 1`, `OBJ[0] == 1`, an event such as `lost_write`, `!` or `(`";

impl Parser<'_> {
    pub(super) fn condition(&mut self, quantifier: Spanned<&str>) -> PResult<Condition> {
        let kind = Quantifier::from_keyword(quantifier.node).unwrap_or(Quantifier::Exists);
        let expr = self.or_expr(0)?;
        Ok(Condition {
            quantifier: kind,
            span: quantifier.span.to(expr.span),
            expr,
        })
    }

    fn or_expr(&mut self, depth: usize) -> PResult<Expr> {
        let mut left = self.and_expr(depth)?;
        while self.eat(TokenKind::OrOr).is_some() {
            let right = self.and_expr(depth)?;
            left = binary(left, right, ExprKind::Or);
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize) -> PResult<Expr> {
        let mut left = self.unary_expr(depth)?;
        while self.eat(TokenKind::AndAnd).is_some() {
            let right = self.unary_expr(depth)?;
            left = binary(left, right, ExprKind::And);
        }
        Ok(left)
    }

    fn unary_expr(&mut self, depth: usize) -> PResult<Expr> {
        if depth > MAX_DEPTH {
            return Err(
                Diagnostic::error(self.peek().span, "condition nested too deeply")
                    .with_expected(format!("at most {MAX_DEPTH} levels of `!` and `(`")),
            );
        }
        if let Some(bang) = self.eat(TokenKind::Bang) {
            let inner = self.unary_expr(depth + 1)?;
            return Ok(Expr {
                span: bang.span.to(inner.span),
                kind: ExprKind::Not(Box::new(inner)),
            });
        }
        if let Some(open) = self.eat(TokenKind::LParen) {
            let inner = self.or_expr(depth + 1)?;
            if !self.at(TokenKind::RParen) {
                return Err(self
                    .unexpected("`)`")
                    .with_note(open.span, "to close this `(`"));
            }
            self.advance();
            return Ok(inner);
        }
        self.atom()
    }

    fn atom(&mut self) -> PResult<Expr> {
        if !self.at(TokenKind::Name) {
            return Err(self.unexpected(EXPECTED_ATOM));
        }
        let token = self.advance();
        let word = self.text(&token);
        let atom = match self.peek_kind() {
            TokenKind::Colon => self.register_atom(word, token.span)?,
            TokenKind::LBracket => self.page_atom(word, token.span)?,
            _ => match Event::from_keyword(word) {
                Some(event) => Atom::Event(event),
                None => {
                    return Err(
                        Diagnostic::error(token.span, format!("unknown event `{word}`"))
                            .with_expected(format!(
                                "one of {}, or `P0:r0 == VALUE`, `OBJ[PAGE] == VALUE`",
                                Event::keywords()
                                    .iter()
                                    .map(|e| format!("`{e}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                            .with_suggestion(did_you_mean(word, Event::keywords())),
                    )
                }
            },
        };
        Ok(Expr {
            kind: ExprKind::Atom(atom),
            span: token.span.to(self.last_span()),
        })
    }

    /// `Pn:rN OP VALUE`, after `Pn`.
    fn register_atom(&mut self, thread: &str, thread_span: Span) -> PResult<Atom> {
        let Some(index) = thread_index(thread) else {
            return Err(
                Diagnostic::error(thread_span, format!("`{thread}` is not a thread"))
                    .with_expected("a thread name `P0`, `P1`, ... before `:`"),
            );
        };
        self.advance(); // the colon
        let reg = self.register()?;
        let op = self.comparison()?;
        let value = self.register_value()?;
        if let (RegValue::Signal(signal), CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) =
            (&value, op)
        {
            return Err(Diagnostic::error(
                self.last_span(),
                format!("`{signal}` can only be compared with `==` or `!=`"),
            ));
        }
        Ok(Atom::Reg {
            thread: Spanned::new(index, thread_span),
            reg,
            op,
            value,
        })
    }

    /// `OBJ[PAGE] OP VALUE`, after `OBJ`.
    fn page_atom(&mut self, object: &str, object_span: Span) -> PResult<Atom> {
        self.advance(); // the bracket
        let page = self.number("a page index")?.node;
        self.expect(TokenKind::RBracket, "`]`")?;
        let op = self.comparison()?;
        let value = self.number("a page value (a number)")?.node;
        Ok(Atom::Page {
            object: Spanned::new(object.to_string(), object_span),
            page,
            op,
            value,
        })
    }

    fn comparison(&mut self) -> PResult<CmpOp> {
        let op = match self.peek_kind() {
            TokenKind::EqEq => CmpOp::Eq,
            TokenKind::NotEq => CmpOp::Ne,
            TokenKind::Lt => CmpOp::Lt,
            TokenKind::Le => CmpOp::Le,
            TokenKind::Gt => CmpOp::Gt,
            TokenKind::Ge => CmpOp::Ge,
            TokenKind::Assign => {
                return Err(
                    Diagnostic::error(self.peek().span, "`=` is not a comparison")
                        .with_help("did you mean `==`?"),
                )
            }
            _ => return Err(self.unexpected("a comparison `==`, `!=`, `<`, `<=`, `>` or `>=`")),
        };
        self.advance();
        Ok(op)
    }

    /// A number (possibly negative), an errno, or a signal.
    fn register_value(&mut self) -> PResult<RegValue> {
        const EXPECTED: &str = "a number, an errno such as `-EFAULT`, `SIGBUS` or `SIGSEGV`";
        match self.peek_kind() {
            TokenKind::Number | TokenKind::Version => {
                let number = self.number(EXPECTED)?;
                let value = i64::try_from(number.node).map_err(|_| {
                    Diagnostic::error(number.span, "number too large for a register")
                        .with_expected("a number below 2^63")
                })?;
                Ok(RegValue::Number(value))
            }
            TokenKind::Minus => {
                let minus = self.advance();
                let number = self.number(EXPECTED)?;
                if number.span.start != minus.span.end {
                    return Err(Diagnostic::error(minus.span, "space after `-`")
                        .with_expected("a negative number written `-N`"));
                }
                // Through i128 so that -2^63 itself fits.
                let value = i64::try_from(-i128::from(number.node))
                    .ok()
                    .ok_or_else(|| {
                        Diagnostic::error(
                            minus.span.to(number.span),
                            "number too large for a register",
                        )
                    })?;
                Ok(RegValue::Number(value))
            }
            TokenKind::Errno => {
                let token = self.advance();
                let name = &self.text(&token)[1..];
                Errno::from_name(name).map(RegValue::Errno).ok_or_else(|| {
                    Diagnostic::error(token.span, format!("unknown errno `-{name}`"))
                        .with_expected("an errno Linux defines, such as `-EFAULT`")
                        .with_suggestion(
                            did_you_mean(name, Errno::names())
                                .map(|s| format!("-{s}"))
                                .as_deref(),
                        )
                })
            }
            TokenKind::Name => {
                let token = self.advance();
                let word = self.text(&token);
                if let Some(signal) = Signal::from_keyword(word) {
                    return Ok(RegValue::Signal(signal));
                }
                let mut diag =
                    Diagnostic::error(token.span, format!("expected {EXPECTED}, found `{word}`"));
                if let Some(errno) = Errno::from_name(word) {
                    diag = diag.with_help(format!("errnos are negative: `-{}`", errno.name));
                } else {
                    diag = diag.with_suggestion(did_you_mean(word, Signal::keywords()));
                }
                Err(diag)
            }
            _ => Err(self.unexpected(EXPECTED)),
        }
    }
}

fn binary(left: Expr, right: Expr, make: fn(Box<Expr>, Box<Expr>) -> ExprKind) -> Expr {
    Expr {
        span: left.span.to(right.span),
        kind: make(Box::new(left), Box::new(right)),
    }
}
