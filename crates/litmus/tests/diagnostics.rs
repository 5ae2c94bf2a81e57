//! One test per class of bad input: the exact report a user sees.

use mmlab_litmus::parse_and_render;

/// The rendered errors for `source`, as if read from `t.litmus`.
fn report(source: &str) -> String {
    match parse_and_render("t.litmus", source) {
        Ok(test) => panic!("expected errors, parsed {test:?}"),
        Err(report) => report,
    }
}

/// The setup most cases share.
const SETUP: &str = "mm-litmus t\nsetup {\n  ttm bo0 size=2M place=system\n  mmap m0 bo0\n}\n";

#[test]
fn bad_number() {
    assert_eq!(
        report(&format!("{SETUP}P0 {{\n  write m0+4Q 1\n}}\nexists bug\n")),
        concat!(
        "t.litmus:7:12: error: bad number `4Q`\n",
        "   7 |   write m0+4Q 1\n",
        "     |            ^^\n",
        "     = expected: a decimal or `0x` hex number, optionally with a size suffix `K`, `M` or `G`\n",
    )
    );
}

#[test]
fn bad_option_value() {
    assert_eq!(
        report("mm-litmus t\nsetup {\n  ttm bo0 size=2M place=sytem\n}\n"),
        concat!(
            "t.litmus:3:25: error: bad value `sytem` for `place=`\n",
            "   3 |   ttm bo0 size=2M place=sytem\n",
            "     |                         ^^^^^\n",
            "     = expected: one of `system`, `vram`\n",
            "     = help: did you mean `system`?\n",
        )
    );
}

#[test]
fn condition_register_never_set() {
    assert_eq!(
        report(&format!(
            "{SETUP}P0 {{\n  r0 = pin_user_pages m0\n}}\nexists P0:r1 == 1\n"
        )),
        concat!(
            "t.litmus:9:11: error: register `r1` is never set in P0\n",
            "   9 | exists P0:r1 == 1\n",
            "     |           ^^\n",
            "     = expected: a register P0 sets: `r0`\n",
        )
    );
}

#[test]
fn condition_unknown_thread() {
    assert_eq!(
        report(&format!(
            "{SETUP}P0 {{\n  r0 = pin_user_pages m0\n}}\nexists P1:r0 == 1\n"
        )),
        concat!(
            "t.litmus:9:8: error: no thread `P1` in this test\n",
            "   9 | exists P1:r0 == 1\n",
            "     |        ^^\n",
            "     = expected: one of `P0`\n",
        )
    );
}

#[test]
fn dmabuf_exports_anon() {
    assert_eq!(
        report("mm-litmus t\nsetup {\n  anon a size=4K\n  dmabuf d exports a\n}\nP0 {\n}\nexists bug\n"),
        concat!(
        "t.litmus:4:20: error: a dma-buf cannot export an `anon` object\n",
        "   4 |   dmabuf d exports a\n",
        "     |                    ^\n",
        "     = expected: a `ttm` or `driver` object\n",
        "t.litmus:3:8: note: declared here\n",
        "   3 |   anon a size=4K\n",
        "     |        ^\n",
    )
    );
}

#[test]
fn duplicate_name() {
    assert_eq!(
        report(
            "mm-litmus t\nsetup {\n  anon a size=4K\n  anon a size=4K\n}\nP0 {\n}\nexists bug\n"
        ),
        concat!(
            "t.litmus:4:8: error: duplicate name `a`\n",
            "   4 |   anon a size=4K\n",
            "     |        ^\n",
            "     = expected: a name not used by another object or mapping\n",
            "t.litmus:3:8: note: first declared here\n",
            "   3 |   anon a size=4K\n",
            "     |        ^\n",
        )
    );
}

#[test]
fn missing_close_brace() {
    assert_eq!(
        report(&format!("{SETUP}P0 {{\n  touch m0\nexists bug\n")),
        concat!(
            "t.litmus:8:1: error: missing `}` before `exists`\n",
            "   8 | exists bug\n",
            "     | ^^^^^^\n",
            "     = expected: `}` to close the block of `P0`\n",
            "t.litmus:6:4: note: the block opens here\n",
            "   6 | P0 {\n",
            "     |    ^\n",
        )
    );
}

#[test]
fn missing_header() {
    assert_eq!(
        report("setup {\n}\n"),
        concat!(
            "t.litmus:1:1: error: missing `mm-litmus` header\n",
            "   1 | setup {\n",
            "     | ^^^^^\n",
            "     = expected: `mm-litmus NAME` as the first statement\n",
        )
    );
}

#[test]
fn missing_open_brace() {
    assert_eq!(
        report(&format!("{SETUP}P0\n  touch m0\n}}\nexists bug\n")),
        concat!(
            "t.litmus:6:3: error: expected `{` after `P0`, found end of line\n",
            "   6 | P0\n",
            "     |   ^\n",
            "     = help: write `P0 {`\n",
        )
    );
}

#[test]
fn no_conditions() {
    assert_eq!(
        report(&format!("{SETUP}P0 {{\n  touch m0\n}}\n")),
        concat!(
            "t.litmus:1:11: error: the test has no conditions\n",
            "   1 | mm-litmus t\n",
            "     |           ^\n",
            "     = expected: at least one `exists`, `forbid` or `forall` line after the threads\n",
        )
    );
}

#[test]
fn no_threads() {
    assert_eq!(
        report(&format!("{SETUP}exists bug\n")),
        concat!(
            "t.litmus:1:11: error: the test has no threads\n",
            "   1 | mm-litmus t\n",
            "     |           ^\n",
            "     = expected: at least one thread, `P0 { OPERATIONS }`\n",
        )
    );
}

#[test]
fn register_before_set() {
    assert_eq!(
        report(&format!("{SETUP}P0 {{\n  dma_write r0 1\n  r0 = pin_user_pages m0\n}}\nexists bug\n")),
        concat!(
        "t.litmus:7:13: error: register `r0` is used before it is set in P0\n",
        "   7 |   dma_write r0 1\n",
        "     |             ^^\n",
        "     = help: set it first in P0, e.g. `r0 = pin_user_pages m0`; each thread has its own registers\n",
    )
    );
}

#[test]
fn unclosed_at_eof() {
    assert_eq!(
        report(&format!("{SETUP}P0 {{\n  touch m0\n")),
        concat!(
            "t.litmus:6:4: error: unclosed `{` of `P0`\n",
            "   6 | P0 {\n",
            "     |    ^\n",
            "     = expected: a `}` to close it before the end of the file\n",
        )
    );
}

#[test]
fn unknown_errno() {
    assert_eq!(
        report(&format!(
            "{SETUP}P0 {{\n  touch m0\n}}\nexists P0:r0 == -EFALT\n"
        )),
        concat!(
            "t.litmus:9:17: error: unknown errno `-EFALT`\n",
            "   9 | exists P0:r0 == -EFALT\n",
            "     |                 ^^^^^^\n",
            "     = expected: an errno Linux defines, such as `-EFAULT`\n",
            "     = help: did you mean `-EFAULT`?\n",
        )
    );
}

#[test]
fn unknown_event() {
    assert_eq!(
        report(&format!("{SETUP}P0 {{\n  touch m0\n}}\nforbid lost_wirte\n")),
        concat!(
        "t.litmus:9:8: error: unknown event `lost_wirte`\n",
        "   9 | forbid lost_wirte\n",
        "     |        ^^^^^^^^^^\n",
        "     = expected: one of `lost_write`, `stale_read`, `bad_page`, `use_after_free`, `page_reuse`, `refcount_error`, `hang`, `bug`, `warn`, `leak`, or `P0:r0 == VALUE`, `OBJ[PAGE] == VALUE`\n",
        "     = help: did you mean `lost_write`?\n",
    )
    );
}

#[test]
fn unknown_name() {
    assert_eq!(
        report(&format!("{SETUP}P0 {{\n  touch m1\n}}\nexists bug\n")),
        concat!(
            "t.litmus:7:9: error: unknown mapping `m1`\n",
            "   7 |   touch m1\n",
            "     |         ^^\n",
            "     = expected: a mapping declared in setup: `m0`\n",
            "     = help: did you mean `m0`?\n",
        )
    );
}

#[test]
fn unknown_operation() {
    assert_eq!(
        report(&format!("{SETUP}P0 {{\n  wirte m0 1\n}}\nexists bug\n")),
        concat!(
        "t.litmus:7:3: error: unknown operation `wirte`\n",
        "   7 |   wirte m0 1\n",
        "     |   ^^^^^\n",
        "     = expected: an operation such as `read`, `write`, `touch`, `rN = pin_user_pages ...`, `dma_write`, `unpin`, `evict`\n",
        "     = help: did you mean `write`?\n",
    )
    );
}

#[test]
fn unknown_option() {
    assert_eq!(
        report("mm-litmus t\nsetup {\n  ttm bo0 size=2M place=system colour=red\n}\n"),
        concat!(
            "t.litmus:3:32: error: unknown option `colour` for `ttm`\n",
            "   3 |   ttm bo0 size=2M place=system colour=red\n",
            "     |                                ^^^^^^\n",
            "     = expected: one of `size=`, `place=`, `caching=`, `huge=`, `pfn=`\n",
        )
    );
}

#[test]
fn unknown_statement() {
    assert_eq!(
        report("mm-litmus t\nsetpu {\n}\n"),
        concat!(
        "t.litmus:2:1: error: unknown statement `setpu`\n",
        "   2 | setpu {\n",
        "     | ^^^^^\n",
        "     = expected: `mm-litmus`, `kernel`, `doc`, `setup`, a thread `P0`, `exists`, `forbid` or `forall`\n",
        "     = help: did you mean `setup`?\n",
    )
    );
}

#[test]
fn unterminated_string() {
    assert_eq!(
        report("mm-litmus t\ndoc \"abc\n"),
        concat!(
            "t.litmus:2:5: error: unterminated string\n",
            "   2 | doc \"abc\n",
            "     |     ^^^^\n",
            "     = expected: a closing `\"` on the same line\n",
        )
    );
}

#[test]
fn wrong_kind() {
    assert_eq!(
        report(&format!("{SETUP}P0 {{\n  evict m0\n}}\nexists bug\n")),
        concat!(
            "t.litmus:7:9: error: `m0` is a mapping, not an object\n",
            "   7 |   evict m0\n",
            "     |         ^^\n",
            "     = expected: a `ttm`, `driver` or `dmabuf` object\n",
            "t.litmus:4:8: note: declared here\n",
            "   4 |   mmap m0 bo0\n",
            "     |        ^^\n",
        )
    );
}
