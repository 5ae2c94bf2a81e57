//! Creating objects (driver, dma-buf, anon, memfd) and mapping them.

use std::ffi::CString;

use super::{open, Exec, Mapping, ObjBacking, Object, Stop, HUGE, PAGE};
use crate::out::{self, neg_errno};
use crate::script::ObjKind;
use crate::uapi;

impl Exec {
    pub(super) fn create(&mut self, name: &str, kind: &ObjKind, size: u64) -> Result<(), Stop> {
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
    pub(super) fn map(
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
}
