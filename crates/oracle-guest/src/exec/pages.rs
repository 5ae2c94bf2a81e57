//! Taking pages (GUP calls, syscalls) and using them like a device (dma_write/dma_read).

use super::{key, open, set_reg, Exec, Hold, ObjBacking, Owners, Stop, PAGE};
use crate::out::{self, neg_errno};
use crate::script::{Addr, SysCall};
use crate::uapi;

impl Exec {
    pub(super) fn gup(
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
        if taken > 0 {
            // Entries the call counted but never stored show now, so that a register that
            // is only unpinned is known to hold them (a device read changes nothing).
            let d = self.dma(slot, false, 0)?;
            if d.missing > 0 {
                out::line(&format!("event missing_pages {th}:{dst} {}", d.missing));
            }
        }
        self.holds.insert(
            k,
            Hold::Slot {
                slot,
                pages: taken,
                owners: self.owners(a, taken),
            },
        );
        Ok(())
    }

    pub(super) fn ram_fd(&mut self) -> Result<i32, Stop> {
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
        // Every test starts from a zeroed device, as the model's does: an earlier test of
        // this boot may have written it.
        const BLKGETSIZE64: u64 = 0x8008_1272;
        const BLKZEROOUT: u64 = 0x127f;
        let mut size = 0u64;
        // SAFETY: both ioctls read or write a u64 (pair) we own.
        let zeroed = unsafe {
            libc::ioctl(fd, BLKGETSIZE64 as _, &mut size) == 0
                && libc::ioctl(fd, BLKZEROOUT as _, &[0u64, size]) == 0
        };
        if !zeroed {
            return Err(Stop::Error(format!("zeroing /dev/ram0: {}", neg_errno())));
        }
        self.ram = Some(fd);
        Ok(fd)
    }

    pub(super) fn sys(
        &mut self,
        th: &str,
        dst: &str,
        call: SysCall,
        a: &Addr,
        size: u64,
    ) -> Result<(), Stop> {
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
                    let released = Hold::Released { call: call.name() };
                    self.holds.insert(k.clone(), released);
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
                    let released = Hold::Released { call: call.name() };
                    self.holds.insert(k.clone(), released);
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
                        // A pipe's device read sees its first page only.
                        owners: self.owners(a, 1),
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

    pub(super) fn dma_write(&mut self, th: &str, reg: &str, value: u64) -> Result<(), Stop> {
        match self.holds.get(&key(th, reg)) {
            None => Ok(()),
            Some(Hold::Slot {
                slot,
                pages,
                owners,
            }) => {
                let (slot, pages, owners) = (*slot, *pages, owners.clone());
                let d = self.dma(slot, true, value)?;
                if d.missing > 0 {
                    out::line(&format!("event missing_pages {th}:{reg} {}", d.missing));
                }
                let lost: Vec<(&str, u64)> = (0..pages)
                    .filter_map(|i| owners.page(i))
                    .filter(|&(object, index, _)| {
                        self.object_value(object, index).is_some_and(|v| v != value)
                    })
                    .map(|(object, index, _)| (object, index))
                    .collect();
                if let Some((object, index)) = lost.first() {
                    out::line(&format!(
                        "event lost_write {th}:{reg} {object}[{index}] pages={}",
                        lost.len()
                    ));
                }
                Ok(())
            }
            Some(Hold::Pipe { .. }) => Err(Stop::Unsupported(
                "dma_write through a vmsplice pipe".into(),
            )),
            Some(Hold::Uring { .. }) => Err(Stop::Unsupported(
                "dma_write through io_uring registered buffers".into(),
            )),
            Some(Hold::Released { call }) => Err(Stop::Unsupported(format!(
                "dma_write through pages {call} released when it returned"
            ))),
        }
    }

    pub(super) fn dma(&self, slot: u32, write: bool, value: u64) -> Result<uapi::Dma, Stop> {
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

    pub(super) fn dma_read(&mut self, th: &str, reg: &str, dst: Option<&str>) -> Result<(), Stop> {
        let (value, owners) = match self.holds.get(&key(th, reg)) {
            None => return Ok(()),
            Some(Hold::Slot {
                slot,
                pages,
                owners,
            }) => {
                if *pages == 0 {
                    return Ok(());
                }
                let owners = owners.clone();
                let d = self.dma(*slot, false, 0)?;
                if d.pages == 0 {
                    return Ok(());
                }
                (d.value, owners)
            }
            Some(Hold::Pipe { rd, owners, .. }) => match pipe_read(*rd) {
                Some(v) => (v, owners.clone()),
                None => return Ok(()),
            },
            Some(Hold::Uring { .. }) => {
                return Err(Stop::Unsupported(
                    "dma_read through io_uring registered buffers".into(),
                ))
            }
            Some(Hold::Released { call }) => {
                return Err(Stop::Unsupported(format!(
                    "dma_read through pages {call} released when it returned"
                )))
            }
        };
        if let Some(d) = dst {
            set_reg(th, d, &value.to_string());
        }
        if let Some((object, index, _)) = owners.page(0) {
            if let Some(current) = self.object_value(object, index) {
                if current != value {
                    out::line(&format!(
                        "event stale_read {th}:{reg} {object}[{index}] read={value} object={current}"
                    ));
                }
            }
        }
        Ok(())
    }

    pub(super) fn release(&mut self, k: &str) {
        self.release_reporting(k, "refcount_error");
    }

    /// Releases what the register `k` holds once the test is over. The model releases only
    /// at `unpin`, so a negative count found now gets an event of its own, which no condition
    /// reads. The guest names it here: the host cannot tell from the order of console lines,
    /// because this process's `step` lines reach the console directly and may overtake an
    /// event of the step before, which the runner relays.
    pub(super) fn release_at_exit(&mut self, k: &str) {
        self.release_reporting(k, "refcount_error_at_exit");
    }

    /// Releases what `k` holds; `negative_event` names the event for pages left with a
    /// negative refcount.
    fn release_reporting(&mut self, k: &str, negative_event: &str) {
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
                        out::line(&format!("event {negative_event} {k}: {negative} released pages left with a negative refcount"));
                    }
                    // keep the slot number reserved for this register
                    self.holds.insert(
                        k.to_string(),
                        Hold::Slot {
                            slot,
                            pages: 0,
                            owners: Owners::default(),
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
                Hold::Released { .. } => {}
            }
        }
    }

    pub(super) fn driver_ioctl(
        &self,
        object: &str,
        cmd: u64,
        arg: u64,
        what: &str,
    ) -> Result<(), Stop> {
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
