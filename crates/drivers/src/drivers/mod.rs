//! drivers/: laid out like the kernel tree.
pub mod dma_buf;
pub mod generic;
pub mod gpu;
