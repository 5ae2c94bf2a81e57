//! drivers/gpu/drm.
pub mod ttm;
