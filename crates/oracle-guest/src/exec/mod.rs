//! Executes one test's operations in order, in the forked child, printing results as it goes.
//!
//! `objects` creates objects and mappings, `pages` takes and uses pages (GUP, syscalls, device
//! access), `report` scans for freed or reused pages and prints the final state.

mod objects;
mod pages;
mod report;

use std::collections::{BTreeMap, HashSet};
use std::ffi::CString;

use crate::access::{self, signal_name};
use crate::out::{self, neg_errno};
use crate::script::{Addr, Op, OpKind, Test};
use crate::uapi;

const PAGE: u64 = 4096;
const HUGE: u64 = 2 << 20;

/// Why a test stopped early.
pub enum Stop {
    /// The operation cannot be performed on a real kernel / in this guest.
    Unsupported(String),
    /// The script or the guest failed.
    Error(String),
}

/// Child exit codes understood by the runner.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 2;
pub const EXIT_UNSUPPORTED: i32 = 3;

enum ObjBacking {
    Driver { fd: i32, npages: u64 },
    Dmabuf { fd: i32, exporter: String },
    Anon,
    Memfd { fd: i32 },
}

struct Object {
    backing: ObjBacking,
    size: u64,
    /// Evictions so far (each gives the object new backing).
    generation: u64,
}

struct Mapping {
    addr: u64,
    size: u64,
    object: String,
    offset: u64,
    /// The mmap succeeded and no munmap has removed it since.
    mapped: bool,
}

/// Where a run of held pages came from: the object page the first one belonged to when
/// taken.
#[derive(Clone)]
struct Owner {
    object: String,
    first_page: u64,
    /// How many times the backing object had been evicted when the pages were taken.
    generation: u64,
}

/// Where each held page came from, as runs: (index of the run's first held page, its owner).
/// A range can run past the end of the mapping it starts in (gup-fast walks page tables, not
/// vmas), into the next mapping or into none (`None`).
#[derive(Clone, Default)]
struct Owners(Vec<(u64, Option<Owner>)>);

impl Owners {
    /// The object and object page held page `i` belonged to when taken, with the object's
    /// generation then.
    fn page(&self, i: u64) -> Option<(&str, u64, u64)> {
        let (start, owner) = self.0.iter().rev().find(|(start, _)| *start <= i)?;
        let o = owner.as_ref()?;
        Some((&o.object, o.first_page + (i - start), o.generation))
    }
}

enum Hold {
    Slot {
        slot: u32,
        pages: u64,
        owners: Owners,
    },
    Pipe {
        rd: i32,
        wr: i32,
        owners: Owners,
    },
    Uring {
        fd: i32,
    },
    /// Set by a syscall that, in a real kernel, released the pages it took before returning
    /// (O_DIRECT, process_vm_readv/writev): the model's register still holds them, but here
    /// there is nothing for a device to access.
    Released {
        call: &'static str,
    },
}

struct Exec {
    ctl: i32,
    ram: Option<i32>,
    objects: BTreeMap<String, Object>,
    maps: BTreeMap<String, Mapping>,
    holds: BTreeMap<String, Hold>,
    dead: HashSet<String>,
    next_slot: u32,
    /// Registers already reported for use_after_free.
    freed_reported: HashSet<String>,
    /// Registers already reported for page_reuse.
    reuse_reported: HashSet<String>,
}

impl Exec {
    /// Nothing made yet, driving the module through `ctl`.
    fn new(ctl: i32) -> Self {
        Exec {
            ctl,
            ram: None,
            objects: BTreeMap::new(),
            maps: BTreeMap::new(),
            holds: BTreeMap::new(),
            dead: HashSet::new(),
            next_slot: 0,
            freed_reported: HashSet::new(),
            reuse_reported: HashSet::new(),
        }
    }
}

/// Runs a test in this (child) process; returns the exit code.
pub fn run(test: &Test) -> i32 {
    let ctl = open("/dev/mmlab", libc::O_RDWR);
    if ctl < 0 {
        out::line(&format!("error cannot open /dev/mmlab: {}", neg_errno()));
        return EXIT_ERROR;
    }
    let mut ex = Exec::new(ctl);
    let mut code = EXIT_OK;
    for (step, op) in test.ops.iter().enumerate() {
        out::step(&step.to_string());
        if ex.dead.contains("S") {
            // A fatal signal in setup ends the test there, as in the model: no thread runs.
            break;
        }
        if ex.dead.contains(&op.thread) {
            continue;
        }
        let result = ex.op(op);
        if matches!(
            op.kind,
            OpKind::Evict { .. }
                | OpKind::Destroy { .. }
                | OpKind::Unpin { .. }
                | OpKind::Munmap { .. }
        ) {
            ex.scan_for_freed_pages();
        }
        if matches!(
            op.kind,
            OpKind::Evict { .. } | OpKind::Object { .. } | OpKind::Destroy { .. }
        ) {
            ex.scan_for_reused_pages();
        }
        match result {
            Ok(()) => {}
            Err(Stop::Unsupported(why)) => {
                out::line(&format!("unsupported step={step} {why}"));
                code = EXIT_UNSUPPORTED;
                break;
            }
            Err(Stop::Error(why)) => {
                out::line(&format!("error step={step} {why}"));
                code = EXIT_ERROR;
                break;
            }
        }
    }
    out::step("final");
    ex.scan_for_freed_pages();
    ex.scan_for_reused_pages();
    ex.report();
    out::step("release");
    crate::kmsg::mark_exit();
    let held: Vec<String> = ex.holds.keys().cloned().collect();
    for k in held {
        ex.release_at_exit(&k);
    }
    code
}

fn open(path: &str, flags: i32) -> i32 {
    let Ok(c) = CString::new(path) else { return -1 };
    // SAFETY: valid C string.
    unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) }
}

fn key(thread: &str, reg: &str) -> String {
    format!("{thread}:{reg}")
}

fn set_reg(thread: &str, reg: &str, value: &str) {
    out::line(&format!("reg {thread} {reg} {value}"));
}

impl Exec {
    fn op(&mut self, op: &Op) -> Result<(), Stop> {
        let th = op.thread.as_str();
        match &op.kind {
            OpKind::Object { name, kind, size } => self.create(name, kind, *size),
            OpKind::Map {
                name,
                object,
                size,
                offset,
                shared,
                prot,
                at,
            } => self.map(name, object, *size, *offset, *shared, *prot, *at),
            OpKind::Read { addr, dst } => {
                let a = self.addr(addr)?;
                match access::load(a) {
                    Ok(v) => {
                        if let Some(d) = dst {
                            set_reg(th, d, &v.to_string());
                        }
                    }
                    Err(sig) => self.killed(th, dst.as_deref(), sig),
                }
                Ok(())
            }
            OpKind::Touch { addr } => {
                let a = self.addr(addr)?;
                if let Err(sig) = access::load(a) {
                    self.killed(th, None, sig);
                }
                Ok(())
            }
            OpKind::Write { addr, value } => {
                let a = self.addr(addr)?;
                if let Err(sig) = access::store(a, *value) {
                    self.killed(th, None, sig);
                }
                Ok(())
            }
            OpKind::Gup {
                dst,
                call,
                addr,
                pages,
                flags,
            } => self.gup(th, dst, *call, addr, *pages, *flags),
            OpKind::Sys {
                dst,
                call,
                addr,
                size,
            } => self.sys(th, dst, *call, addr, *size),
            OpKind::DmaWrite { reg, value } => self.dma_write(th, reg, *value),
            OpKind::DmaRead { reg, dst } => self.dma_read(th, reg, dst.as_deref()),
            OpKind::Unpin { reg } => {
                self.release(&key(th, reg));
                Ok(())
            }
            OpKind::Evict { object, to } => {
                let r = self.driver_ioctl(object, uapi::IOC_EVICT, *to, "evict");
                if let Some(o) = self.objects.get_mut(object) {
                    o.generation += 1;
                }
                r
            }
            OpKind::Destroy { object } => {
                self.driver_ioctl(object, uapi::IOC_DESTROY, 0, "destroy")
            }
            OpKind::Munmap { map } => {
                let m = self.mapping(map)?;
                // SAFETY: unmapping a range this process mapped.
                let r = unsafe { libc::munmap(m.addr as *mut _, m.size as usize) };
                if r == 0 {
                    if let Some(m) = self.maps.get_mut(map) {
                        m.mapped = false;
                    }
                }
                self.op_result("munmap", r)
            }
            OpKind::Mprotect { map, prot } => {
                let m = self.mapping(map)?;
                // SAFETY: as above.
                let r = unsafe { libc::mprotect(m.addr as *mut _, m.size as usize, *prot) };
                self.op_result("mprotect", r)
            }
            OpKind::Thp { mode } => {
                if std::fs::write(crate::runner::THP, mode).is_err() {
                    out::line(&format!("opfail thp {mode}"));
                }
                Ok(())
            }
            OpKind::MadviseDontneed { map } => {
                let m = self.mapping(map)?;
                // SAFETY: as above.
                let r = unsafe {
                    libc::madvise(m.addr as *mut _, m.size as usize, libc::MADV_DONTNEED)
                };
                self.op_result("madvise", r)
            }
        }
    }

    fn op_result(&self, what: &str, r: i32) -> Result<(), Stop> {
        if r < 0 {
            out::line(&format!("opfail {what} {}", neg_errno()));
        }
        Ok(())
    }

    fn killed(&mut self, thread: &str, dst: Option<&str>, sig: i32) {
        let name = signal_name(sig);
        if let Some(d) = dst {
            set_reg(thread, d, &name);
        }
        out::line(&format!("signal {thread} {name}"));
        self.dead.insert(thread.to_string());
    }

    fn mapping(&self, name: &str) -> Result<&Mapping, Stop> {
        self.maps
            .get(name)
            .ok_or_else(|| Stop::Error(format!("no mapping {name}")))
    }

    fn addr(&self, a: &Addr) -> Result<u64, Stop> {
        Ok(self.mapping(&a.map)?.addr + a.offset)
    }

    /// The owners of `pages` pages taken from `a` on: the mapping `a` names, then, past its
    /// end, whichever mapping holds each address (the model follows each page's frame, which
    /// is the same for the shared mappings of objects that a test makes).
    fn owners(&self, a: &Addr, pages: u64) -> Owners {
        let Some(named) = self.maps.get(&a.map) else {
            return Owners::default();
        };
        let start = named.addr.saturating_add(a.offset);
        let mut runs = Vec::new();
        let mut i = 0;
        while i < pages {
            let addr = start.saturating_add(i.saturating_mul(PAGE));
            let inside = |m: &Mapping| m.addr <= addr && addr < m.addr.saturating_add(m.size);
            let m = if i == 0 {
                Some(named)
            } else {
                self.maps.values().find(|m| m.mapped && inside(m))
            };
            let Some(m) = m else {
                runs.push((i, None));
                i += 1;
                continue;
            };
            let backing = self.resolve(&m.object);
            runs.push((
                i,
                Some(Owner {
                    object: m.object.clone(),
                    first_page: m.offset.saturating_add(addr - m.addr) / PAGE,
                    generation: self.objects.get(backing).map_or(0, |o| o.generation),
                }),
            ));
            // The rest of this mapping (at least this page, even for an address the named
            // mapping no longer covers).
            let left = m.addr.saturating_add(m.size).saturating_sub(addr);
            i = i.saturating_add(left.div_ceil(PAGE).max(1));
        }
        Owners(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(addr: u64, size: u64, offset: u64) -> Mapping {
        Mapping {
            addr,
            size,
            object: "o0".into(),
            offset,
            mapped: true,
        }
    }

    #[test]
    fn held_pages_past_the_first_mapping_belong_to_the_next() {
        let base = 0x7e00_0000_0000;
        let mut ex = Exec::new(-1);
        ex.maps.insert("m0".into(), mapping(base, 4 * PAGE, 0));
        ex.maps
            .insert("p0".into(), mapping(base - PAGE, PAGE, PAGE));
        let at = |map: &str, offset| Addr {
            map: map.into(),
            offset,
        };
        let owners = ex.owners(&at("p0", 0), 3);
        let pages: Vec<_> = (0..3).map(|i| owners.page(i).map(|p| p.1)).collect();
        assert_eq!(pages, [Some(1), Some(0), Some(1)]);
        // Past every mapping: no owner, and no lost write to report there.
        let owners = ex.owners(&at("m0", 3 * PAGE), 2);
        assert_eq!(owners.page(0).map(|p| p.1), Some(3));
        assert!(owners.page(1).is_none());
    }
}
