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

    /// Where the model puts a mapping made without `at=` (get_unmapped_area): the lowest
    /// address from 0x7f0000000000 up, aligned to 1G, 2M or 4K as the object is at least that
    /// large, that no mapping of this test covers. The kernel's own choice (top-down, near
    /// the stack) would give a range past the end of a mapping other neighbours than in the
    /// model. The boot disables address-space randomisation (`norandmaps`), so nothing of
    /// the guest's own lives there.
    fn model_address(&self, size: u64, object_size: u64) -> u64 {
        let align = if object_size >= 1 << 30 {
            1 << 30
        } else if object_size >= HUGE {
            HUGE
        } else {
            PAGE
        };
        let mut addr: u64 = 0x7f00_0000_0000;
        loop {
            let end = addr.saturating_add(size);
            let overlap = self
                .maps
                .values()
                .filter(|m| m.mapped && m.addr < end && addr < m.addr + m.size)
                .map(|m| m.addr + m.size)
                .next();
            match overlap {
                Some(end) => addr = end.div_ceil(align) * align,
                None => return addr,
            }
        }
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
        let object_size = obj.size;
        let addr = at.unwrap_or_else(|| self.model_address(size, object_size));
        // SAFETY: a fixed address that no mapping of this test covers (the model's choice,
        // or the test's); MAP_FIXED_NOREPLACE never clobbers whatever else is there.
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
        let mapped = got != libc::MAP_FAILED;
        if !mapped {
            out::line(&format!("mapfail {name} {}", neg_errno()));
        }
        self.maps.insert(
            name.to_string(),
            Mapping {
                addr,
                size,
                object: object.to_string(),
                offset,
                mapped,
            },
        );
        Ok(())
    }
}
