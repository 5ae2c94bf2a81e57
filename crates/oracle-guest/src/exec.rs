//! Executes one test's operations in order, in the forked child, printing results as it goes.

use std::collections::{BTreeMap, HashSet};
use std::ffi::CString;

use crate::access::{self, signal_name};
use crate::out::{self, neg_errno};
use crate::script::{Addr, ObjKind, Op, OpKind, SysCall, Test};
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
}

/// Where held pages came from: the object page the first one belonged to when taken.
#[derive(Clone)]
struct Owner {
    object: String,
    first_page: u64,
    /// How many times the backing object had been evicted when the pages were taken.
    generation: u64,
}

enum Hold {
    Slot {
        slot: u32,
        pages: u64,
        owner: Option<Owner>,
    },
    Pipe {
        rd: i32,
        wr: i32,
        owner: Option<Owner>,
    },
    Uring {
        fd: i32,
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

/// Runs a test in this (child) process; returns the exit code.
pub fn run(test: &Test) -> i32 {
    let ctl = open("/dev/mmlab", libc::O_RDWR);
    if ctl < 0 {
        out::line(&format!("error cannot open /dev/mmlab: {}", neg_errno()));
        return EXIT_ERROR;
    }
    let mut ex = Exec {
        ctl,
        ram: None,
        objects: BTreeMap::new(),
        maps: BTreeMap::new(),
        holds: BTreeMap::new(),
        dead: HashSet::new(),
        next_slot: 0,
        freed_reported: HashSet::new(),
        reuse_reported: HashSet::new(),
    };
    let mut code = EXIT_OK;
    for (step, op) in test.ops.iter().enumerate() {
        out::step(&step.to_string());
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
    let held: Vec<String> = ex.holds.keys().cloned().collect();
    for k in held {
        ex.release(&k);
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

    fn create(&mut self, name: &str, kind: &ObjKind, size: u64) -> Result<(), Stop> {
        let backing = match kind {
            ObjKind::Anon => ObjBacking::Anon,
            ObjKind::Dmabuf { exporter } => {
                let Some(ObjBacking::Driver { fd, .. }) =
                    self.objects.get(exporter).map(|o| &o.backing)
                else {
                    return Err(Stop::Unsupported(format!(
                        "dmabuf {name}: exporter {exporter} is not a driver object"
                    )));
                };
                // SAFETY: the driver's export ioctl takes no argument.
                let dfd = unsafe { libc::ioctl(*fd, uapi::IOC_EXPORT as _, 0) };
                if dfd < 0 {
                    return Err(Stop::Error(format!(
                        "exporting {exporter}: {}",
                        neg_errno()
                    )));
                }
                ObjBacking::Dmabuf {
                    fd: dfd,
                    exporter: exporter.clone(),
                }
            }
            ObjKind::Memfd => {
                let cname = CString::new("mmlab").map_err(|e| Stop::Error(e.to_string()))?;
                // SAFETY: valid C string; fd checked below.
                let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
                // SAFETY: fd is ours.
                if fd < 0 || unsafe { libc::ftruncate(fd, size as i64) } < 0 {
                    return Err(Stop::Error(format!("memfd {name}: {}", neg_errno())));
                }
                ObjBacking::Memfd { fd }
            }
            ObjKind::Driver(cfg) => {
                let fd = open("/dev/mmlab", libc::O_RDWR);
                if fd < 0 {
                    return Err(Stop::Error(format!("open /dev/mmlab: {}", neg_errno())));
                }
                let mut c = *cfg;
                c.size = size;
                // SAFETY: the driver reads a struct of this layout.
                let r = unsafe { libc::ioctl(fd, uapi::IOC_CREATE as _, &mut c) };
                if r < 0 {
                    let e = neg_errno();
                    if e == -(libc::EOPNOTSUPP as i64) {
                        return Err(Stop::Unsupported(format!(
                            "object {name}: this guest's driver cannot provide memory={} insert={} (no such memory or too large)",
                            c.memory, c.insert
                        )));
                    }
                    return Err(Stop::Error(format!("creating object {name}: {e}")));
                }
                ObjBacking::Driver {
                    fd,
                    npages: size / PAGE,
                }
            }
        };
        self.objects.insert(
            name.to_string(),
            Object {
                backing,
                size,
                generation: 0,
            },
        );
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn map(
        &mut self,
        name: &str,
        object: &str,
        size: u64,
        offset: u64,
        shared: bool,
        prot: i32,
        at: Option<u64>,
    ) -> Result<(), Stop> {
        let obj = self
            .objects
            .get(object)
            .ok_or_else(|| Stop::Error(format!("map {name}: no object {object}")))?;
        let (fd, mut flags) = match obj.backing {
            ObjBacking::Driver { fd, .. }
            | ObjBacking::Memfd { fd }
            | ObjBacking::Dmabuf { fd, .. } => (fd, 0),
            ObjBacking::Anon => (-1, libc::MAP_ANONYMOUS),
        };
        flags |= if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        if let Some(addr) = at {
            // SAFETY: the test asked for a fixed address; MAP_FIXED_NOREPLACE never clobbers.
            let got = unsafe {
                libc::mmap(
                    addr as *mut _,
                    size as usize,
                    prot,
                    flags | libc::MAP_FIXED_NOREPLACE,
                    fd,
                    offset as i64,
                )
            };
            if got == libc::MAP_FAILED {
                out::line(&format!("mapfail {name} {}", neg_errno()));
            }
            self.maps.insert(
                name.to_string(),
                Mapping {
                    addr,
                    size,
                    object: object.to_string(),
                    offset,
                },
            );
            return Ok(());
        }
        // Reserve, align to 2M, map over the reservation; unmatched slack stays PROT_NONE-free.
        let span = size + HUGE;
        // SAFETY: anonymous reservation.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                span as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Stop::Error(format!(
                "map {name}: reservation failed {}",
                neg_errno()
            )));
        }
        let base = base as u64;
        let aligned = (base + HUGE - 1) & !(HUGE - 1);
        // SAFETY: MAP_FIXED inside our own reservation.
        let got = unsafe {
            libc::mmap(
                aligned as *mut _,
                size as usize,
                prot,
                flags | libc::MAP_FIXED,
                fd,
                offset as i64,
            )
        };
        if got == libc::MAP_FAILED {
            out::line(&format!("mapfail {name} {}", neg_errno()));
        }
        // SAFETY: trimming our reservation outside the mapping.
        unsafe {
            if aligned > base {
                libc::munmap(base as *mut _, (aligned - base) as usize);
            }
            let end = aligned + size;
            if base + span > end {
                libc::munmap(end as *mut _, (base + span - end) as usize);
            }
        }
        self.maps.insert(
            name.to_string(),
            Mapping {
                addr: aligned,
                size,
                object: object.to_string(),
                offset,
            },
        );
        Ok(())
    }

    fn mapping(&self, name: &str) -> Result<&Mapping, Stop> {
        self.maps
            .get(name)
            .ok_or_else(|| Stop::Error(format!("no mapping {name}")))
    }

    fn addr(&self, a: &Addr) -> Result<u64, Stop> {
        Ok(self.mapping(&a.map)?.addr + a.offset)
    }

    fn owner(&self, a: &Addr) -> Option<Owner> {
        let m = self.maps.get(&a.map)?;
        let backing = self.resolve(&m.object);
        Some(Owner {
            object: m.object.clone(),
            first_page: (m.offset + a.offset) / PAGE,
            generation: self.objects.get(backing).map_or(0, |o| o.generation),
        })
    }

    fn gup(
        &mut self,
        th: &str,
        dst: &str,
        call: u32,
        a: &Addr,
        pages: u32,
        flags: u32,
    ) -> Result<(), Stop> {
        let k = key(th, dst);
        let slot = match self.holds.get(&k) {
            Some(Hold::Slot { slot, .. }) => *slot,
            _ => {
                self.release(&k);
                if self.next_slot as usize >= uapi::SLOTS {
                    return Err(Stop::Unsupported(
                        "more than 16 registers holding pages".into(),
                    ));
                }
                self.next_slot += 1;
                self.next_slot - 1
            }
        };
        let mut g = uapi::Gup {
            addr: self.addr(a)?,
            nr_pages: pages,
            call,
            flags,
            slot,
            result: 0,
        };
        // SAFETY: the driver reads and writes a struct of this layout.
        let r = unsafe { libc::ioctl(self.ctl, uapi::IOC_GUP as _, &mut g) };
        if r < 0 {
            return Err(Stop::Error(format!("GUP ioctl failed: {}", neg_errno())));
        }
        if g.result == -(libc::ENOSYS as i64) {
            return Err(Stop::Unsupported(format!(
                "{} is not exported by this kernel",
                uapi::GUP_CALLS[call as usize]
            )));
        }
        set_reg(th, dst, &g.result.to_string());
        let taken = g.result.max(0) as u64;
        self.holds.insert(
            k,
            Hold::Slot {
                slot,
                pages: taken,
                owner: self.owner(a),
            },
        );
        Ok(())
    }

    fn ram_fd(&mut self) -> Result<i32, Stop> {
        if let Some(fd) = self.ram {
            return Ok(fd);
        }
        let fd = open("/dev/ram0", libc::O_RDWR | libc::O_DIRECT);
        if fd < 0 {
            return Err(Stop::Unsupported(format!(
                "no O_DIRECT block device (/dev/ram0: {})",
                neg_errno()
            )));
        }
        self.ram = Some(fd);
        Ok(fd)
    }

    fn sys(&mut self, th: &str, dst: &str, call: SysCall, a: &Addr, size: u64) -> Result<(), Stop> {
        let addr = self.addr(a)?;
        let k = key(th, dst);
        self.release(&k);
        let iov = libc::iovec {
            iov_base: addr as *mut _,
            iov_len: size as usize,
        };
        let ret: i64 = match call {
            SysCall::ODirectRead | SysCall::ODirectWrite => {
                let fd = self.ram_fd()?;
                // SAFETY: the kernel validates the user range.
                let r = unsafe {
                    if call == SysCall::ODirectRead {
                        libc::pread(fd, addr as *mut _, size as usize, 0)
                    } else {
                        libc::pwrite(fd, addr as *const _, size as usize, 0)
                    }
                };
                if r < 0 {
                    neg_errno()
                } else {
                    r as i64
                }
            }
            SysCall::ProcessVmReadv | SysCall::ProcessVmWritev => {
                let mut buf = vec![0u8; size as usize];
                let local = libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: buf.len(),
                };
                // SAFETY: valid iovecs; the remote one is checked by the kernel.
                let r = unsafe {
                    if call == SysCall::ProcessVmReadv {
                        libc::process_vm_readv(libc::getpid(), &local, 1, &iov, 1, 0)
                    } else {
                        libc::process_vm_writev(libc::getpid(), &local, 1, &iov, 1, 0)
                    }
                };
                if r < 0 {
                    neg_errno()
                } else {
                    r as i64
                }
            }
            SysCall::Vmsplice => {
                let mut fds = [0i32; 2];
                // SAFETY: plain pipe creation and configuration.
                unsafe {
                    if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) < 0 {
                        return Err(Stop::Error(format!("pipe: {}", neg_errno())));
                    }
                    libc::fcntl(fds[1], libc::F_SETPIPE_SZ, size.max(PAGE) as i32);
                }
                // SAFETY: the kernel checks the range.
                let r = unsafe { libc::vmsplice(fds[1], &iov, 1, libc::SPLICE_F_NONBLOCK) };
                let ret = if r < 0 { neg_errno() } else { r as i64 };
                self.holds.insert(
                    k,
                    Hold::Pipe {
                        rd: fds[0],
                        wr: fds[1],
                        owner: self.owner(a),
                    },
                );
                ret
            }
            SysCall::IoUringRegister => {
                let mut params = [0u8; 120];
                // SAFETY: io_uring_setup writes at most sizeof(struct io_uring_params) = 120 bytes.
                let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 4, params.as_mut_ptr()) };
                if fd < 0 {
                    return Err(Stop::Unsupported(format!(
                        "io_uring_setup: {}",
                        neg_errno()
                    )));
                }
                // SAFETY: registering one iovec; 0 = IORING_REGISTER_BUFFERS.
                let r = unsafe { libc::syscall(libc::SYS_io_uring_register, fd, 0, &iov, 1) };
                let ret = if r < 0 { neg_errno() } else { r };
                self.holds.insert(k, Hold::Uring { fd: fd as i32 });
                ret
            }
        };
        set_reg(th, dst, &ret.to_string());
        Ok(())
    }

    /// The current value of an object's page, if the object is alive and readable.
    fn object_value(&self, object: &str, page: u64) -> Option<u64> {
        let obj = self.objects.get(object)?;
        match obj.backing {
            ObjBacking::Driver { fd, npages } => {
                if page >= npages {
                    return None;
                }
                let s = page_state(fd, uapi::SLOT_OBJECT, page as u32)?;
                (s.present != 0).then_some(s.value)
            }
            ObjBacking::Memfd { fd } => {
                let mut v = 0u64;
                // SAFETY: reading 8 bytes into v.
                let r = unsafe {
                    libc::pread(fd, (&mut v as *mut u64).cast(), 8, (page * PAGE) as i64)
                };
                (r == 8).then_some(v)
            }
            ObjBacking::Dmabuf { ref exporter, .. } => self.object_value(exporter, page),
            ObjBacking::Anon => None,
        }
    }

    fn dma_write(&mut self, th: &str, reg: &str, value: u64) -> Result<(), Stop> {
        match self.holds.get(&key(th, reg)) {
            None => Ok(()),
            Some(Hold::Slot { slot, pages, owner }) => {
                let (slot, pages, owner) = (*slot, *pages, owner.clone());
                let d = self.dma(slot, true, value)?;
                if d.missing > 0 {
                    out::line(&format!("event missing_pages {th}:{reg} {}", d.missing));
                }
                if let Some(o) = owner {
                    let lost: Vec<u64> = (0..pages)
                        .filter(|i| {
                            self.object_value(&o.object, o.first_page + i)
                                .is_some_and(|v| v != value)
                        })
                        .collect();
                    if let Some(first) = lost.first() {
                        out::line(&format!(
                            "event lost_write {th}:{reg} {}[{}] pages={}",
                            o.object,
                            o.first_page + first,
                            lost.len()
                        ));
                    }
                }
                Ok(())
            }
            Some(Hold::Pipe { .. }) => Err(Stop::Unsupported(
                "dma_write through a vmsplice pipe".into(),
            )),
            Some(Hold::Uring { .. }) => Err(Stop::Unsupported(
                "dma_write through io_uring registered buffers".into(),
            )),
        }
    }

    fn dma(&self, slot: u32, write: bool, value: u64) -> Result<uapi::Dma, Stop> {
        let mut d = uapi::Dma {
            slot,
            write: u32::from(write),
            value,
            pages: 0,
            missing: 0,
        };
        // SAFETY: the driver reads and writes a struct of this layout.
        let r = unsafe { libc::ioctl(self.ctl, uapi::IOC_DMA as _, &mut d) };
        if r < 0 {
            return Err(Stop::Error(format!("DMA ioctl: {}", neg_errno())));
        }
        Ok(d)
    }

    fn dma_read(&mut self, th: &str, reg: &str, dst: Option<&str>) -> Result<(), Stop> {
        let (value, owner) = match self.holds.get(&key(th, reg)) {
            None => return Ok(()),
            Some(Hold::Slot { slot, pages, owner }) => {
                if *pages == 0 {
                    return Ok(());
                }
                let owner = owner.clone();
                let d = self.dma(*slot, false, 0)?;
                if d.pages == 0 {
                    return Ok(());
                }
                (d.value, owner)
            }
            Some(Hold::Pipe { rd, owner, .. }) => match pipe_read(*rd) {
                Some(v) => (v, owner.clone()),
                None => return Ok(()),
            },
            Some(Hold::Uring { .. }) => {
                return Err(Stop::Unsupported(
                    "dma_read through io_uring registered buffers".into(),
                ))
            }
        };
        if let Some(d) = dst {
            set_reg(th, d, &value.to_string());
        }
        if let Some(o) = owner {
            if let Some(current) = self.object_value(&o.object, o.first_page) {
                if current != value {
                    out::line(&format!(
                        "event stale_read {th}:{reg} {}[{}] read={value} object={current}",
                        o.object, o.first_page
                    ));
                }
            }
        }
        Ok(())
    }

    fn release(&mut self, k: &str) {
        let Some(hold) = self.holds.remove(k) else {
            return;
        };
        // SAFETY: releasing resources this process owns.
        unsafe {
            match hold {
                Hold::Slot { slot, .. } => {
                    let s = slot;
                    let negative = libc::ioctl(self.ctl, uapi::IOC_RELEASE as _, &s);
                    if negative > 0 {
                        out::line(&format!("event refcount_error {k}: {negative} released pages left with a negative refcount"));
                    }
                    // keep the slot number reserved for this register
                    self.holds.insert(
                        k.to_string(),
                        Hold::Slot {
                            slot,
                            pages: 0,
                            owner: None,
                        },
                    );
                }
                Hold::Pipe { rd, wr, .. } => {
                    libc::close(rd);
                    libc::close(wr);
                }
                Hold::Uring { fd } => {
                    libc::close(fd);
                }
            }
        }
    }

    fn driver_ioctl(&self, object: &str, cmd: u64, arg: u64, what: &str) -> Result<(), Stop> {
        let obj = self
            .objects
            .get(object)
            .ok_or_else(|| Stop::Error(format!("no object {object}")))?;
        let ObjBacking::Driver { fd, .. } = obj.backing else {
            return Err(Stop::Unsupported(format!("{what} of a non-driver object")));
        };
        // SAFETY: the driver's ioctl takes a plain integer argument.
        let r = unsafe { libc::ioctl(fd, cmd as _, arg as libc::c_ulong) };
        if r < 0 {
            let e = neg_errno();
            if e == -(libc::EOPNOTSUPP as i64) {
                return Err(Stop::Unsupported(format!(
                    "{what} {object}: no such memory in this guest, or it needs struct pages"
                )));
            }
            out::line(&format!("opfail {what} {e}"));
        }
        Ok(())
    }

    /// Reports registers holding pages that are free in the page allocator (`use_after_free`).
    fn scan_for_freed_pages(&mut self) {
        let mut found = Vec::new();
        for (k, hold) in &self.holds {
            if let Hold::Slot { slot, pages, .. } = hold {
                if *pages == 0 || self.freed_reported.contains(k) {
                    continue;
                }
                let s = *slot;
                // SAFETY: the driver reads a u32 slot number.
                let n = unsafe { libc::ioctl(self.ctl, uapi::IOC_SCAN as _, &s) };
                if n > 0 {
                    found.push((k.clone(), n));
                }
            }
        }
        for (k, n) in found {
            out::line(&format!(
                "event use_after_free {k}: {n} held pages are free in the page allocator"
            ));
            self.freed_reported.insert(k);
        }
    }

    /// The object that really backs `name` (a dma-buf's exporter).
    fn resolve<'a>(&'a self, name: &'a str) -> &'a str {
        match self.objects.get(name).map(|o| &o.backing) {
            Some(ObjBacking::Dmabuf { exporter, .. }) => exporter,
            _ => name,
        }
    }

    /// Reports registers holding a page that now backs another object, or another page of
    /// the object it was taken from (`page_reuse`).
    fn scan_for_reused_pages(&mut self) {
        let mut backing: BTreeMap<u64, (String, u64)> = BTreeMap::new();
        for (name, obj) in &self.objects {
            if let ObjBacking::Driver { fd, npages } = obj.backing {
                for i in 0..npages {
                    if let Some(s) = page_state(fd, uapi::SLOT_OBJECT, i as u32) {
                        if s.present != 0 {
                            backing.insert(s.pfn, (name.clone(), i));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        for (k, hold) in &self.holds {
            let Hold::Slot { slot, pages, owner } = hold else {
                continue;
            };
            if self.reuse_reported.contains(k) {
                continue;
            }
            for i in 0..*pages {
                let Some(s) = page_state(self.ctl, *slot, i as u32) else {
                    continue;
                };
                let Some((obj, idx)) = backing.get(&s.pfn).filter(|_| s.present == 1) else {
                    continue;
                };
                let same = owner.as_ref().is_some_and(|o| {
                    let now = self.objects.get(obj.as_str()).map_or(0, |x| x.generation);
                    self.resolve(&o.object) == obj
                        && o.first_page + i == *idx
                        && o.generation == now
                });
                if !same {
                    found.push(format!(
                        "event page_reuse {k}: held page {i} (pfn {:#x}) now backs {obj}[{idx}]",
                        s.pfn
                    ));
                    break;
                }
            }
        }
        for line in found {
            if let Some(k) = line.split_whitespace().nth(2) {
                self.reuse_reported
                    .insert(k.trim_end_matches(':').to_string());
            }
            out::line(&line);
        }
    }

    /// Final state: object contents and page states, held pages' states.
    fn report(&self) {
        for (name, obj) in &self.objects {
            let npages = obj.size / PAGE;
            let mut values = String::new();
            for i in 0..npages {
                match self.object_value(name, i) {
                    Some(0) => {}
                    Some(v) => values.push_str(&format!(" {i}:{v}")),
                    None => {}
                }
            }
            out::line(&format!("values {name}{values}"));
            if let ObjBacking::Driver { fd, .. } = obj.backing {
                for i in 0..npages.min(2) {
                    if let Some(s) = page_state(fd, uapi::SLOT_OBJECT, i as u32) {
                        out::line(&format!("objpage {name} {i} {}", describe(&s)));
                    }
                }
            }
        }
        for (k, hold) in &self.holds {
            if let Hold::Slot { slot, pages, .. } = hold {
                let (th, reg) = k.split_once(':').unwrap_or((k, ""));
                for i in 0..(*pages).min(2) {
                    if let Some(s) = page_state(self.ctl, *slot, i as u32) {
                        out::line(&format!("held {th} {reg} {i} {}", describe(&s)));
                    }
                }
            }
        }
    }
}

fn describe(s: &uapi::PageState) -> String {
    format!(
        "present={} pfn={:#x} value={} ref={} map={} pinned={} pincount={}",
        s.present, s.pfn, s.value, s.refcount, s.mapcount, s.pinned, s.pincount
    )
}

fn page_state(fd: i32, slot: u32, index: u32) -> Option<uapi::PageState> {
    let mut s = uapi::PageState {
        slot,
        index,
        ..Default::default()
    };
    // SAFETY: the driver reads and writes a struct of this layout.
    let r = unsafe { libc::ioctl(fd, uapi::IOC_PAGE_STATE as _, &mut s) };
    (r == 0).then_some(s)
}

/// The device read of a vmsplice register: reads the pipe's first buffer (consuming it) and
/// returns its first u64. (tee(2) would not consume, but it takes a new page reference, which
/// itself warns on the non-compound tail pages of a TTM-like block.)
fn pipe_read(rd: i32) -> Option<u64> {
    let mut buf = vec![0u8; PAGE as usize];
    // SAFETY: non-blocking read into a local buffer.
    let r = unsafe {
        let flags = libc::fcntl(rd, libc::F_GETFL);
        libc::fcntl(rd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        libc::read(rd, buf.as_mut_ptr().cast(), buf.len())
    };
    if r < 8 {
        return None;
    }
    let mut v = [0u8; 8];
    v.copy_from_slice(&buf[..8]);
    Some(u64::from_le_bytes(v))
}
