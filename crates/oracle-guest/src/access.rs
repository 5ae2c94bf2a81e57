//! CPU loads and stores that survive SIGBUS/SIGSEGV: the signal becomes the access's result.
//!
//! The access instructions live in assembly with known addresses; the signal handler, seeing
//! the fault at one of them, puts the signal number in RAX and resumes at the return.

use std::sync::atomic::{AtomicBool, Ordering};

core::arch::global_asm!(
    r#"
    .text
    .globl mmlab_guarded_load
mmlab_guarded_load:
    xor %eax, %eax
    .globl mmlab_load_insn
mmlab_load_insn:
    mov (%rdi), %rdx
    mov %rdx, (%rsi)
    .globl mmlab_access_resume
mmlab_access_resume:
    ret
    .globl mmlab_guarded_store
mmlab_guarded_store:
    xor %eax, %eax
    .globl mmlab_store_insn
mmlab_store_insn:
    mov %rsi, (%rdi)
    ret
"#,
    options(att_syntax)
);

extern "C" {
    fn mmlab_guarded_load(addr: *const u64, out: *mut u64) -> u32;
    fn mmlab_guarded_store(addr: *mut u64, value: u64) -> u32;
    static mmlab_load_insn: u8;
    static mmlab_store_insn: u8;
    static mmlab_access_resume: u8;
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_fault(sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid ucontext_t for SA_SIGINFO handlers.
    unsafe {
        let uc = &mut *(ctx as *mut libc::ucontext_t);
        let rip = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize;
        let load = &mmlab_load_insn as *const u8 as usize;
        let store = &mmlab_store_insn as *const u8 as usize;
        if rip == load || rip == store {
            uc.uc_mcontext.gregs[libc::REG_RAX as usize] = sig as i64;
            uc.uc_mcontext.gregs[libc::REG_RIP as usize] = &mmlab_access_resume as *const u8 as i64;
        } else {
            // Not ours: die of it (the runner reports a crash).
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

fn install() {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    // SAFETY: installing a plain SA_SIGINFO handler.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_fault as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGSEGV, &sa, std::ptr::null_mut());
    }
}

/// Result of one access: a value, or the signal that ended it.
pub type Access = Result<u64, i32>;

/// Loads the u64 at `addr`.
pub fn load(addr: u64) -> Access {
    install();
    let mut out = 0u64;
    // SAFETY: faults are caught by the handler and turned into the return value.
    let sig = unsafe { mmlab_guarded_load(addr as *const u64, &mut out) };
    if sig == 0 {
        Ok(out)
    } else {
        Err(sig as i32)
    }
}

/// Stores `value` at `addr`.
pub fn store(addr: u64, value: u64) -> Access {
    install();
    // SAFETY: as for load.
    let sig = unsafe { mmlab_guarded_store(addr as *mut u64, value) };
    if sig == 0 {
        Ok(0)
    } else {
        Err(sig as i32)
    }
}

/// The spec's name of a fatal signal.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGABRT => "SIGABRT".into(),
        other => format!("SIG{other}"),
    }
}
