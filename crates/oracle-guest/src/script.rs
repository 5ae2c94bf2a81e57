//! The guest script format: the host's translation of litmus tests, one statement a line.
//!
//! ```text
//! test INDEX NAME
//! timeout MS
//! thp always|madvise|never
//! op THREAD OPERATION ARGS...
//! end
//! ```
//! See docs/oracle.md for the operations. Parsing is strict; an error fails one test only.

use crate::uapi;

/// One test: its operations run in the given (global) order in one process.
#[derive(Debug, Default)]
pub struct Test {
    pub index: usize,
    pub name: String,
    pub timeout_ms: u64,
    pub thp: Option<String>,
    pub ops: Vec<Op>,
    /// A statement that did not parse: the test is reported as an error.
    pub error: Option<String>,
}

/// An address: a mapping name and a byte offset into it.
#[derive(Debug, Clone)]
pub struct Addr {
    pub map: String,
    pub offset: u64,
}

#[derive(Debug, Clone)]
pub struct Op {
    pub thread: String,
    pub kind: OpKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysCall {
    ODirectRead,
    ODirectWrite,
    Vmsplice,
    ProcessVmReadv,
    ProcessVmWritev,
    IoUringRegister,
}

impl SysCall {
    const ALL: [SysCall; 6] = [
        SysCall::ODirectRead,
        SysCall::ODirectWrite,
        SysCall::Vmsplice,
        SysCall::ProcessVmReadv,
        SysCall::ProcessVmWritev,
        SysCall::IoUringRegister,
    ];

    /// The word a script names it by.
    pub fn name(self) -> &'static str {
        match self {
            SysCall::ODirectRead => "o_direct_read",
            SysCall::ODirectWrite => "o_direct_write",
            SysCall::Vmsplice => "vmsplice",
            SysCall::ProcessVmReadv => "process_vm_readv",
            SysCall::ProcessVmWritev => "process_vm_writev",
            SysCall::IoUringRegister => "io_uring_register",
        }
    }
}

#[derive(Debug, Clone)]
pub enum ObjKind {
    Driver(uapi::Create),
    /// A dma-buf exported by another (driver) object.
    Dmabuf {
        exporter: String,
    },
    Anon,
    Memfd,
}

#[derive(Debug, Clone)]
pub enum OpKind {
    Object {
        name: String,
        kind: ObjKind,
        size: u64,
    },
    Map {
        name: String,
        object: String,
        size: u64,
        offset: u64,
        shared: bool,
        prot: i32,
        at: Option<u64>,
    },
    Read {
        addr: Addr,
        dst: Option<String>,
    },
    Write {
        addr: Addr,
        value: u64,
    },
    Touch {
        addr: Addr,
    },
    Gup {
        dst: String,
        call: u32,
        addr: Addr,
        pages: u32,
        flags: u32,
    },
    Sys {
        dst: String,
        call: SysCall,
        addr: Addr,
        size: u64,
    },
    DmaWrite {
        reg: String,
        value: u64,
    },
    DmaRead {
        reg: String,
        dst: Option<String>,
    },
    Unpin {
        reg: String,
    },
    /// to: 0 system RAM, 1 vram (iomem), 2 the kind it is in now.
    Evict {
        object: String,
        to: u64,
    },
    Destroy {
        object: String,
    },
    Munmap {
        map: String,
    },
    Mprotect {
        map: String,
        prot: i32,
    },
    MadviseDontneed {
        map: String,
    },
    /// Writes the transparent hugepage setting.
    Thp {
        mode: String,
    },
}

/// Parses a whole script into tests.
pub fn parse(text: &str) -> Vec<Test> {
    let mut tests = Vec::new();
    let mut current: Option<Test> = None;
    for (lineno, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[0] {
            "test" => {
                if let Some(t) = current.take() {
                    tests.push(t);
                }
                let index = words
                    .get(1)
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(tests.len());
                let name = words.get(2).unwrap_or(&"unnamed").to_string();
                current = Some(Test {
                    index,
                    name,
                    timeout_ms: 400,
                    ..Test::default()
                });
            }
            "end" => {
                if let Some(t) = current.take() {
                    tests.push(t);
                }
            }
            _ => {
                let Some(t) = current.as_mut() else { continue };
                if t.error.is_some() {
                    continue;
                }
                if let Err(e) = statement(t, &words) {
                    t.error = Some(format!("script line {}: {e}: `{line}`", lineno + 1));
                }
            }
        }
    }
    if let Some(t) = current.take() {
        tests.push(t);
    }
    tests
}

fn statement(t: &mut Test, w: &[&str]) -> Result<(), String> {
    match w[0] {
        "timeout" => t.timeout_ms = num(arg(w, 1)?)?,
        "thp" => t.thp = Some(arg(w, 1)?.to_string()),
        "op" => {
            let thread = arg(w, 1)?.to_string();
            let kind = op(&w[2..])?;
            t.ops.push(Op { thread, kind });
        }
        other => return Err(format!("unknown statement `{other}`")),
    }
    Ok(())
}

fn arg<'a>(w: &[&'a str], i: usize) -> Result<&'a str, String> {
    w.get(i)
        .copied()
        .ok_or_else(|| format!("missing argument {i}"))
}

fn num(s: &str) -> Result<u64, String> {
    let r = if let Some(hex) = s.strip_prefix("0x") {
        u64::from_str_radix(hex, 16)
    } else {
        s.parse()
    };
    r.map_err(|_| format!("bad number `{s}`"))
}

fn opt_reg(w: &[&str], i: usize) -> Option<String> {
    w.get(i).filter(|r| **r != "-").map(|r| r.to_string())
}

fn addr(s: &str) -> Result<Addr, String> {
    let (map, off) = match s.split_once('+') {
        Some((m, o)) => (m, num(o)?),
        None => (s, 0),
    };
    Ok(Addr {
        map: map.to_string(),
        offset: off,
    })
}

fn prot(s: &str) -> Result<i32, String> {
    match s {
        "r" => Ok(libc::PROT_READ),
        "rw" => Ok(libc::PROT_READ | libc::PROT_WRITE),
        "none" => Ok(libc::PROT_NONE),
        other => Err(format!("bad protection `{other}`")),
    }
}

/// `key=value` options after the positional words.
fn kv<'a>(w: &[&'a str], key: &str) -> Option<&'a str> {
    w.iter()
        .find_map(|x| x.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn op(w: &[&str]) -> Result<OpKind, String> {
    let name = arg(w, 0)?;
    Ok(match name {
        "object" => object(w)?,
        "map" => OpKind::Map {
            name: arg(w, 1)?.into(),
            object: arg(w, 2)?.into(),
            size: num(kv(w, "size").ok_or("map needs size=")?)?,
            offset: num(kv(w, "offset").unwrap_or("0"))?,
            shared: !w.contains(&"private"),
            prot: prot(kv(w, "prot").unwrap_or("rw"))?,
            at: kv(w, "at").map(num).transpose()?,
        },
        "read" => OpKind::Read {
            addr: addr(arg(w, 1)?)?,
            dst: opt_reg(w, 2),
        },
        "write" => OpKind::Write {
            addr: addr(arg(w, 1)?)?,
            value: num(arg(w, 2)?)?,
        },
        "touch" => OpKind::Touch {
            addr: addr(arg(w, 1)?)?,
        },
        "gup" => {
            let call_name = arg(w, 2)?;
            let call = uapi::GUP_CALLS
                .iter()
                .position(|c| *c == call_name)
                .ok_or_else(|| format!("unknown GUP call `{call_name}`"))?
                as u32;
            let mut flags = 0;
            for f in arg(w, 5)?.split(',').filter(|f| *f != "-") {
                flags |= match f {
                    "write" => uapi::GUP_WRITE,
                    "longterm" => uapi::GUP_LONGTERM,
                    "force" => uapi::GUP_FORCE,
                    other => return Err(format!("unknown GUP flag `{other}`")),
                };
            }
            OpKind::Gup {
                dst: arg(w, 1)?.into(),
                call,
                addr: addr(arg(w, 3)?)?,
                pages: num(arg(w, 4)?)? as u32,
                flags,
            }
        }
        "sys" => {
            let word = arg(w, 2)?;
            let Some(&call) = SysCall::ALL.iter().find(|c| c.name() == word) else {
                return Err(format!("unknown syscall `{word}`"));
            };
            OpKind::Sys {
                dst: arg(w, 1)?.into(),
                call,
                addr: addr(arg(w, 3)?)?,
                size: num(arg(w, 4)?)?,
            }
        }
        "dma_write" => OpKind::DmaWrite {
            reg: arg(w, 1)?.into(),
            value: num(arg(w, 2)?)?,
        },
        "dma_read" => OpKind::DmaRead {
            reg: arg(w, 1)?.into(),
            dst: opt_reg(w, 2),
        },
        "unpin" => OpKind::Unpin {
            reg: arg(w, 1)?.into(),
        },
        "evict" => OpKind::Evict {
            object: arg(w, 1)?.into(),
            to: match w.get(2).copied().unwrap_or("same") {
                "system" => 0,
                "vram" => 1,
                "same" => 2,
                // The other of RAM and device memory (a TTM BO's eviction without a target).
                "other" => 3,
                other => return Err(format!("unknown eviction target `{other}`")),
            },
        },
        "destroy" => OpKind::Destroy {
            object: arg(w, 1)?.into(),
        },
        "munmap" => OpKind::Munmap {
            map: arg(w, 1)?.into(),
        },
        "mprotect" => OpKind::Mprotect {
            map: arg(w, 1)?.into(),
            prot: prot(arg(w, 2)?)?,
        },
        "madvise_dontneed" => OpKind::MadviseDontneed {
            map: arg(w, 1)?.into(),
        },
        "thp" => OpKind::Thp {
            mode: arg(w, 1)?.into(),
        },
        other => return Err(format!("unknown operation `{other}`")),
    })
}

fn object(w: &[&str]) -> Result<OpKind, String> {
    let name = arg(w, 1)?.to_string();
    let size = num(kv(w, "size").ok_or("object needs size=")?)?;
    let kind = match arg(w, 2)? {
        "anon" => ObjKind::Anon,
        "dmabuf" => ObjKind::Dmabuf {
            exporter: kv(w, "exports").ok_or("dmabuf needs exports=")?.to_string(),
        },
        "memfd" => ObjKind::Memfd,
        "driver" => {
            let insert = match kv(w, "insert").unwrap_or("page") {
                "pfn" => uapi::INSERT_PFN,
                "mixed" => uapi::INSERT_MIXED,
                "page" => uapi::INSERT_PAGE,
                "fault_page" => uapi::INSERT_FAULT_PAGE,
                "remap" => uapi::INSERT_REMAP,
                "pmd" => uapi::INSERT_PMD,
                "pud" => uapi::INSERT_PUD,
                other => return Err(format!("unknown insert `{other}`")),
            };
            let mut vm_flags = 0;
            for f in kv(w, "vm").unwrap_or("-").split('+').filter(|f| *f != "-") {
                vm_flags |= match f {
                    "pfnmap" => uapi::VM_PFNMAP,
                    "mixedmap" => uapi::VM_MIXEDMAP,
                    "io" => uapi::VM_IO,
                    "dontexpand" => uapi::VM_DONTEXPAND,
                    "dontdump" => uapi::VM_DONTDUMP,
                    "hugepage" => uapi::VM_HUGEPAGE,
                    "reject_cow" => uapi::VM_REJECT_COW,
                    other => return Err(format!("unknown vm flag `{other}`")),
                };
            }
            let pfn_flags = match kv(w, "pfn").unwrap_or("dev") {
                "none" => uapi::PFN_NONE,
                "dev" => uapi::PFN_DEV,
                "dev+map" => uapi::PFN_DEV_MAP,
                "special" => uapi::PFN_SPECIAL,
                other => return Err(format!("unknown pfn flags `{other}`")),
            };
            let memory = match kv(w, "memory").unwrap_or("ram") {
                "ram" => uapi::MEMORY_RAM,
                "iomem" => uapi::MEMORY_IOMEM,
                "devmem" => uapi::MEMORY_DEVMEM,
                other => return Err(format!("unknown memory `{other}`")),
            };
            ObjKind::Driver(uapi::Create {
                size,
                insert,
                vm_flags,
                pfn_flags,
                memory,
                dax: u32::from(kv(w, "dax") == Some("1")),
                ttm: u32::from(kv(w, "ttm") == Some("1")),
                caching: match kv(w, "caching").unwrap_or("cached") {
                    "cached" => 0,
                    "wc" => 1,
                    "uc" => 2,
                    other => return Err(format!("unknown caching `{other}`")),
                },
                reserved: 0,
            })
        }
        other => return Err(format!("unknown object kind `{other}`")),
    };
    Ok(OpKind::Object { name, kind, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_objects_maps_and_operations() {
        let tests = parse(
            "test 3 t\ntimeout 150\n\
             op S object bo0 driver size=2097152 insert=pmd vm=mixedmap+io pfn=dev+map memory=iomem ttm=1 caching=wc\n\
             op S map m0 bo0 size=2097152 offset=0 shared prot=rw\n\
             op P0 gup r0 pin_user_pages_fast m0+4096 512 write,longterm\n\
             op P1 evict bo0 vram\n\
             end\n",
        );
        assert_eq!(tests.len(), 1);
        let t = &tests[0];
        assert_eq!((t.index, t.timeout_ms), (3, 150));
        assert!(t.error.is_none(), "{:?}", t.error);
        let OpKind::Object {
            kind: ObjKind::Driver(c),
            ..
        } = &t.ops[0].kind
        else {
            panic!("not a driver object");
        };
        assert_eq!(c.insert, uapi::INSERT_PMD);
        assert_eq!(c.vm_flags, uapi::VM_MIXEDMAP | uapi::VM_IO);
        assert_eq!(
            (c.pfn_flags, c.memory, c.ttm, c.caching),
            (uapi::PFN_DEV_MAP, uapi::MEMORY_IOMEM, 1, 1)
        );
        let OpKind::Gup {
            call,
            addr,
            pages,
            flags,
            ..
        } = &t.ops[2].kind
        else {
            panic!("not a gup");
        };
        assert_eq!(uapi::GUP_CALLS[*call as usize], "pin_user_pages_fast");
        assert_eq!(
            (addr.offset, *pages, *flags),
            (4096, 512, uapi::GUP_WRITE | uapi::GUP_LONGTERM)
        );
        assert!(matches!(t.ops[3].kind, OpKind::Evict { to: 1, .. }));
    }

    #[test]
    fn a_bad_statement_fails_only_its_test() {
        let tests = parse("test 0 a\nop P0 frobnicate m0\nend\ntest 1 b\nop P0 touch m0\nend\n");
        assert!(tests[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("unknown operation"));
        assert!(tests[1].error.is_none());
    }
}
