//! io_uring/: buffer registration.
pub mod rsrc;
