//! drivers/gpu.
pub mod drm;
