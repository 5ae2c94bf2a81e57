//! The allocator: mimalloc, called through its plain entry points and told to keep the
//! memory it frees.
//!
//! Exploration allocates and frees many small values on every core (kernel parts copied on
//! write, successor buffers); mimalloc does that faster than the system allocator. A search
//! also frees large buffers once per layer (the layer just expanded, successor buffers) and
//! allocates them again for the next one. By default mimalloc hands freed memory back to the
//! kernel after a second, so a long search faulted it in again and the kernel zeroed it: 0.2–0.35 s
//! of system time in a 2-second search (fine 4x8 to a million states). Kept, the search runs
//! 20% faster there; the price is that a process's resident memory does not shrink after its
//! largest search, which for this command-line tool ends soon after.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

#[global_allocator]
static ALLOCATOR: Mimalloc = Mimalloc;

/// Every block mimalloc hands out is aligned to a word: block sizes are whole words and
/// pages start at 16 bytes or more.
const WORD_ALIGNED: usize = std::mem::size_of::<usize>();

/// mimalloc through its plain entry points wherever word alignment is enough, which is
/// almost every Rust allocation. (The `mimalloc` crate's allocator calls the aligned ones for
/// every allocation, and those take a slow path for blocks over 1 KiB whatever their
/// alignment: 3.9% of the instructions of `mmlab run` on coarse 3x8, where kernels' parts
/// of a few KiB are copied on every step the model runs.)
struct Mimalloc;

/// A block of `layout` from `plain` (size only) when word alignment is enough, else from
/// `aligned` (size and alignment).
#[inline]
unsafe fn allocate(
    layout: Layout,
    plain: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    // SAFETY: mimalloc's allocation calls take any size and a power-of-two alignment, which
    // a `Layout` always has.
    unsafe {
        if layout.align() <= WORD_ALIGNED {
            plain(layout.size()) as *mut u8
        } else {
            aligned(layout.size(), layout.align()) as *mut u8
        }
    }
}

// SAFETY: each method passes the layout's size to the matching mimalloc call, and asks for
// the layout's alignment explicitly whenever it is above what every block has.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        allocate(layout, mi::mi_malloc, mi::mi_malloc_aligned)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        allocate(layout, mi::mi_zalloc, mi::mi_zalloc_aligned)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr as *mut c_void);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD_ALIGNED {
            mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

/// mimalloc's index of its `purge_delay` option in `mi_option_e` (mimalloc 3, which
/// libmimalloc-sys builds by default but names no constant for). -1 means never purge.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Makes mimalloc keep freed memory for reuse instead of returning it to the kernel. Call
/// before any other thread starts (mimalloc's option setter is not thread-safe).
pub fn keep_freed_memory() {
    // SAFETY: a plain C call with an option index and a value; main calls it before any
    // other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_alignment_asked_for() {
        for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
            for size in [1, 7, 8, 24, 40, 1000, 1025, 3000, 70_000, 3 << 20] {
                let layout = Layout::from_size_align(size, align).expect("valid layout");
                // SAFETY: a non-zero size; each block is freed with its layout.
                unsafe {
                    let p = ALLOCATOR.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xa5, size);
                    let q = ALLOCATOR.realloc(p, layout, size * 2);
                    assert_eq!(q as usize % align, 0, "realloc: size {size} align {align}");
                    assert_eq!(*q.add(size - 1), 0xa5);
                    ALLOCATOR.dealloc(q, Layout::from_size_align(size * 2, align).expect("valid"));
                    let z = ALLOCATOR.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    ALLOCATOR.dealloc(z, layout);
                }
            }
        }
    }

    #[test]
    fn the_option_index_is_the_purge_delay() {
        // SAFETY: reads of an option, and one write from this test only.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // purge_delay's default in mimalloc 3 is 1000 ms (options.c): the index names it.
        assert_eq!(get(), 1000);
        keep_freed_memory();
        assert_eq!(get(), -1);
    }
}
