//! dev_pagemap registration and lookup (mm/memremap.c).

use crate::include::linux::mm_types::Pfn;
use crate::kernel::{Devices, Kernel};
use serde::Serialize;

/// A registered dev_pagemap covering `start..start+pages`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PgMap {
    pub start: Pfn,
    pub pages: u64,
}

impl<D: Devices> Kernel<D> {
    /// memremap_pages: registers a dev_pagemap for a ZONE_DEVICE range.
    pub fn memremap_pages(&mut self, start: Pfn, pages: u64) {
        self.pgmaps.push(PgMap { start, pages });
    }

    /// get_dev_pagemap: the live dev_pagemap covering `pfn`, or None when no pgmap is
    /// registered for it (the case a driver relies on when it sets PFN_DEV|PFN_MAP without one).
    pub fn get_dev_pagemap(&mut self, pfn: Pfn) -> Option<PgMap> {
        self.call("get_dev_pagemap", |k| {
            let found = k
                .pgmaps
                .iter()
                .copied()
                .find(|m| m.start <= pfn && pfn.0 < m.start.0 + m.pages);
            k.note(|| match found {
                Some(m) => format!("pfn {pfn} is in the pgmap at {}", m.start),
                None => format!("no dev_pagemap registered for pfn {pfn}: NULL"),
            });
            found
        })
    }
}
