//! mmlab-oracle-guest: PID 1 of the oracle's initramfs.
//!
//! One job: run the guest script (/script) against the test driver, one forked child per
//! test with a watchdog, and print parseable `@mmlab ...` result lines on the console.
//! Built statically (`-C target-feature=+crt-static`); it has no other dependencies.

mod access;
mod boot;
mod exec;
mod kmsg;
mod out;
mod runner;
mod script;
mod uapi;

fn main() {
    let pid1 = std::process::id() == 1;
    if pid1 {
        boot::init();
    }
    let path = std::env::args().nth(1).unwrap_or_else(|| "/script".into());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            out::line(&format!("fatal cannot read {path}: {e}"));
            finish(pid1);
        }
    };
    let first = boot::first_test();
    let mut kmsg = kmsg::Kmsg::open();
    let tests = script::parse(&text);
    let mut remaining = tests.iter().filter(|t| t.index >= first).peekable();
    while let Some(test) = remaining.next() {
        let tainted = runner::run_test(test, &mut kmsg);
        if tainted && remaining.peek().is_some() {
            // The host boots a fresh kernel for the rest.
            out::line(&format!("tainted {}", test.index));
            finish(pid1);
        }
    }
    out::line("done");
    finish(pid1);
}

fn finish(pid1: bool) -> ! {
    if pid1 {
        boot::power_off();
    }
    std::process::exit(0);
}
