//! The bugs the model reports (the litmus spec's events), raised where they happen.

use bitflags::bitflags;
use serde::Serialize;

bitflags! {
    /// Which events happened in an execution (part of the state).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
    pub struct EventSet: u16 {
        const LOST_WRITE = 1 << 0;
        const STALE_READ = 1 << 1;
        const BAD_PAGE = 1 << 2;
        const USE_AFTER_FREE = 1 << 3;
        const PAGE_REUSE = 1 << 4;
        const REFCOUNT_ERROR = 1 << 5;
        const HANG = 1 << 6;
        const BUG = 1 << 7;
        const WARN = 1 << 8;
        const LEAK = 1 << 9;
    }
}

/// One kind of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Event {
    LostWrite,
    StaleRead,
    BadPage,
    UseAfterFree,
    PageReuse,
    RefcountError,
    Hang,
    Bug,
    Warn,
    Leak,
}

impl Event {
    pub const ALL: [Event; 10] = [
        Event::LostWrite,
        Event::StaleRead,
        Event::BadPage,
        Event::UseAfterFree,
        Event::PageReuse,
        Event::RefcountError,
        Event::Hang,
        Event::Bug,
        Event::Warn,
        Event::Leak,
    ];

    /// The name used in litmus files.
    pub fn name(self) -> &'static str {
        match self {
            Event::LostWrite => "lost_write",
            Event::StaleRead => "stale_read",
            Event::BadPage => "bad_page",
            Event::UseAfterFree => "use_after_free",
            Event::PageReuse => "page_reuse",
            Event::RefcountError => "refcount_error",
            Event::Hang => "hang",
            Event::Bug => "bug",
            Event::Warn => "warn",
            Event::Leak => "leak",
        }
    }

    pub fn from_name(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.name() == name)
    }

    pub fn bit(self) -> EventSet {
        EventSet::from_bits_truncate(1 << (self as u16))
    }
}

impl EventSet {
    pub fn events(self) -> impl Iterator<Item = Event> {
        Event::ALL
            .into_iter()
            .filter(move |e| self.contains(e.bit()))
    }
}

/// Where an event was raised: the kernel function and what it saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    pub event: Event,
    pub function: &'static str,
    pub detail: String,
}
