//! The allocator: mimalloc, told to keep the memory it frees.
//!
//! Exploration allocates and frees many small values on every core (kernel parts copied on
//! write, successor buffers); mimalloc does that faster than the system allocator. A search
//! also frees large buffers once per layer (the layer just expanded, successor buffers) and
//! allocates them again for the next one. By default mimalloc hands freed memory back to the
//! kernel after a second, so a long search faulted it in again and the kernel zeroed it: 0.2–0.35 s
//! of system time in a 2-second search (fine 4x8 to a million states). Kept, the search runs
//! 20% faster there; the price is that a process's resident memory does not shrink after its
//! largest search, which for this command-line tool ends soon after.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    fn the_option_index_is_the_purge_delay() {
        // SAFETY: reads of an option, and one write from this test only.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // purge_delay's default in mimalloc 3 is 1000 ms (options.c): the index names it.
        assert_eq!(get(), 1000);
        keep_freed_memory();
        assert_eq!(get(), -1);
    }
}
