//! Setup statements: object declarations, `mmap`, `thp`, and operations.

use super::options::{keyword_value, page_size_option, required, OptionSpec};
use super::{PResult, Parser};
use crate::ast::{
    Caching, DmaBuf, Driver, HugeLevel, InsertMethod, MemoryKind, Mmap, Object, ObjectKind,
    PfnFlags, Placement, Prot, SetupKind, SetupStmt, Sharing, ThpMode, Ttm, VmFlag, VmFlagSet,
};
use crate::diag::Diagnostic;
use crate::lexer::TokenKind;
use crate::span::{Span, Spanned};
use crate::suggest::did_you_mean;

/// Statements only setup accepts.
pub(super) const SETUP_KEYWORDS: &[&str] =
    &["ttm", "dmabuf", "driver", "anon", "memfd", "mmap", "thp"];

impl Parser<'_> {
    pub(super) fn setup_statement(&mut self) -> PResult<SetupStmt> {
        let start = self.peek().span;
        let keyword = self.peek_text();
        let kind = match keyword {
            "ttm" | "dmabuf" | "driver" | "anon" | "memfd" => {
                self.advance();
                SetupKind::Object(self.object(keyword, start)?)
            }
            "mmap" => {
                self.advance();
                SetupKind::Mmap(self.mmap()?)
            }
            "thp" => {
                self.advance();
                let Some(word) = self.glued_word() else {
                    return Err(self.unexpected("`always`, `madvise` or `never`"));
                };
                SetupKind::Thp(
                    keyword_value("thp", &word, ThpMode::from_keyword, &ThpMode::keywords())
                        .map_err(|d| Diagnostic {
                            message: format!("bad `thp` setting `{}`", word.node),
                            ..d
                        })?,
                )
            }
            _ => {
                let op = self.operation_in(true)?;
                return Ok(SetupStmt {
                    kind: SetupKind::Op(op.kind),
                    span: op.span,
                });
            }
        };
        Ok(SetupStmt {
            kind,
            span: start.to(self.last_span()),
        })
    }

    /// The span of the last consumed token.
    pub(super) fn last_span(&self) -> Span {
        self.tokens[self.pos.saturating_sub(1)].span
    }

    fn object(&mut self, keyword: &str, start: Span) -> PResult<Object> {
        let name = self.name(&format!("the {keyword}'s name"))?;
        let kind = match keyword {
            "ttm" => ObjectKind::Ttm(self.ttm(start)?),
            "dmabuf" => ObjectKind::DmaBuf(self.dmabuf()?),
            "driver" => ObjectKind::Driver(self.driver(start)?),
            // "anon" | "memfd", the remaining object keywords.
            _ => {
                let options = self.options(&OptionSpec {
                    statement: keyword,
                    keys: &["size"],
                    flags: &[],
                })?;
                let span = start.to(self.last_span());
                let size = page_size_option(
                    "size",
                    &required(&options, "size", span, keyword, "2M")?,
                    false,
                )?;
                if keyword == "anon" {
                    ObjectKind::Anon { size }
                } else {
                    ObjectKind::Memfd { size }
                }
            }
        };
        Ok(Object { name, kind })
    }

    fn ttm(&mut self, start: Span) -> PResult<Ttm> {
        let options = self.options(&OptionSpec {
            statement: "ttm",
            keys: &["size", "place", "caching", "huge", "pfn"],
            flags: &[],
        })?;
        let span = start.to(self.last_span());
        let size = page_size_option(
            "size",
            &required(&options, "size", span, "ttm", "2M")?,
            false,
        )?;
        let place = keyword_value(
            "place",
            &required(&options, "place", span, "ttm", "system")?,
            Placement::from_keyword,
            &Placement::keywords(),
        )?;
        let caching = match options.value("caching") {
            Some(v) => keyword_value("caching", &v, Caching::from_keyword, &Caching::keywords())?,
            None => Caching::Cached,
        };
        let huge = match options.value("huge") {
            Some(v) => keyword_value("huge", &v, HugeLevel::from_keyword, &HugeLevel::keywords())?,
            None => HugeLevel::None,
        };
        // TTM only ever passed PFN_DEV, with or without the proposed PFN_MAP.
        let ttm_pfn = |text: &str| match PfnFlags::from_keyword(text) {
            Some(flags @ (PfnFlags::Dev | PfnFlags::DevMap)) => Some(flags),
            _ => None,
        };
        let pfn = match options.value("pfn") {
            Some(v) => keyword_value("pfn", &v, ttm_pfn, &["dev", "dev+map"])?,
            None => PfnFlags::Dev,
        };
        Ok(Ttm {
            size,
            place,
            caching,
            huge,
            pfn,
        })
    }

    fn dmabuf(&mut self) -> PResult<DmaBuf> {
        if self.peek_text() != "exports" {
            let diag = self.unexpected("`exports OBJECT`");
            return Err(if self.at(TokenKind::Name) {
                diag.with_suggestion(did_you_mean(self.peek_text(), ["exports"]))
            } else {
                diag
            });
        }
        self.advance();
        let exports = self.name("the exported object's name")?;
        let options = self.options(&OptionSpec {
            statement: "dmabuf",
            keys: &[],
            flags: &["require_pfnmap"],
        })?;
        Ok(DmaBuf {
            exports,
            require_pfnmap: options.flag("require_pfnmap"),
        })
    }

    fn driver(&mut self, start: Span) -> PResult<Driver> {
        let options = self.options(&OptionSpec {
            statement: "driver",
            keys: &["size", "insert", "vm", "pfn", "memory"],
            flags: &["dax"],
        })?;
        let span = start.to(self.last_span());
        let size = page_size_option(
            "size",
            &required(&options, "size", span, "driver", "2M")?,
            false,
        )?;
        let insert = keyword_value(
            "insert",
            &required(&options, "insert", span, "driver", "pfn")?,
            InsertMethod::from_keyword,
            &InsertMethod::keywords(),
        )?;
        let vm = match options.value("vm") {
            Some(v) => Some(vm_flags(&v)?),
            None => None,
        };
        let pfn = match options.value("pfn") {
            Some(v) => keyword_value("pfn", &v, PfnFlags::from_keyword, &PfnFlags::keywords())?,
            None => PfnFlags::Dev,
        };
        let memory = match options.value("memory") {
            Some(v) => keyword_value(
                "memory",
                &v,
                MemoryKind::from_keyword,
                &MemoryKind::keywords(),
            )?,
            None => MemoryKind::Ram,
        };
        Ok(Driver {
            size,
            insert,
            vm,
            pfn,
            memory,
            dax: options.flag("dax"),
        })
    }

    fn mmap(&mut self) -> PResult<Mmap> {
        let name = self.name("the mapping's name")?;
        let object = self.name("the object to map")?;
        let options = self.options(&OptionSpec {
            statement: "mmap",
            keys: &["size", "offset", "at"],
            flags: &["shared", "private", "r", "rw", "none"],
        })?;
        let size = match options.value("size") {
            Some(v) => Some(page_size_option("size", &v, false)?),
            None => None,
        };
        let offset = match options.value("offset") {
            Some(v) => Some(page_size_option("offset", &v, true)?),
            None => None,
        };
        let at = match options.value("at") {
            Some(v) => Some(page_size_option("at", &v, true)?),
            None => None,
        };
        let sharing = match one_of(&options.flags_among(&["shared", "private"]))? {
            Some(word) => Sharing::from_keyword(word).unwrap_or(Sharing::Shared),
            None => Sharing::Shared,
        };
        let prot = match one_of(&options.flags_among(&["r", "rw", "none"]))? {
            Some(word) => Prot::from_keyword(word).unwrap_or(Prot::Rw),
            None => Prot::Rw,
        };
        Ok(Mmap {
            name,
            object,
            size,
            offset,
            sharing,
            prot,
            at,
        })
    }
}

/// At most one of a set of mutually exclusive flags.
fn one_of<'a>(given: &[Spanned<&'a str>]) -> PResult<Option<&'a str>> {
    match given {
        [] => Ok(None),
        [one] => Ok(Some(one.node)),
        [first, second, ..] => Err(Diagnostic::error(
            second.span,
            format!("`{}` conflicts with `{}`", second.node, first.node),
        )
        .with_note(first.span, "given here")),
    }
}

/// `pfnmap+io+dontexpand`.
fn vm_flags(value: &Spanned<&str>) -> PResult<VmFlagSet> {
    let mut set = VmFlagSet::empty();
    let mut offset = value.span.start;
    for part in value.node.split('+') {
        let span = Span::new(offset, offset + part.len());
        offset += part.len() + 1;
        let flag = keyword_value(
            "vm",
            &Spanned::new(part, span),
            VmFlag::from_keyword,
            &VmFlag::keywords(),
        )
        .map_err(|d| Diagnostic {
            message: format!("unknown vma flag `{part}` in `vm=`"),
            ..d
        })?;
        if set.contains(flag) {
            return Err(Diagnostic::error(
                span,
                format!("vma flag `{part}` given twice"),
            ));
        }
        set.insert(flag);
    }
    Ok(set)
}
