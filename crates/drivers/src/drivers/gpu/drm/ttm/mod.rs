//! drivers/gpu/drm/ttm: buffer objects, their page pool and their mmap/fault handling.
pub mod ttm_bo;
pub mod ttm_bo_vm;
pub mod ttm_pool;
