//! The mm litmus test file format: reads a `.litmus` file into a typed [`Test`], reporting
//! every mistake as a [`Diagnostic`] that points at the spot, and prints a test back in
//! canonical form. Nothing here runs a test.
//!
//! ```
//! let source = "mm-litmus t\nsetup {\n  anon a size=4K\n  mmap m0 a\n}\nP0 {\n  write m0 1\n}\nexists a[0] == 1\n";
//! let test = mmlab_litmus::parse(source).unwrap();
//! assert_eq!(test.threads.len(), 1);
//! assert_eq!(mmlab_litmus::parse(&mmlab_litmus::format(&test)).unwrap().threads.len(), 1);
//! ```

pub mod ast;
mod check;
pub mod diag;
pub mod errno;
mod format;
mod keyword;
pub mod lexer;
pub mod number;
mod parser;
pub mod span;
pub mod suggest;

pub use ast::*;
pub use diag::Diagnostic;
pub use errno::Errno;
pub use format::{format, format_expr, format_op, format_setup};
pub use span::{LineCol, Span, Spanned};

/// Parses and checks a litmus test. On failure, returns every error found, in file order.
pub fn parse(source: &str) -> Result<Test, Vec<Diagnostic>> {
    let (tokens, mut errors) = lexer::lex(source);
    let (test, parse_errors) = parser::parse_tokens(source, tokens);
    errors.extend(parse_errors);
    // Cross-statement checks on a test with syntax errors would mostly report the fallout
    // of those (a name whose declaration line was bad), so they wait for a clean parse.
    if errors.is_empty() {
        errors = check::check(&test);
    }
    if errors.is_empty() {
        Ok(test)
    } else {
        diag::sort(&mut errors);
        Err(errors)
    }
}

/// Parses a test and renders all errors as text, for command-line tools.
pub fn parse_and_render(filename: &str, source: &str) -> Result<Test, String> {
    parse(source).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.render(filename, source))
            .collect::<Vec<_>>()
            .join("")
    })
}
