//! drivers/dma-buf.
#[allow(clippy::module_inception)] // mirrors drivers/dma-buf/dma-buf.c
pub mod dma_buf;
