//! What a test asks of Linux that the model does not model, said next to its results rather
//! than only in docs/model.md, so that a reader does not take the model's answer for the
//! kernel's there.

use crate::build::Mapping;
use mmlab_litmus as ast;
use mmlab_mm::arch::x86::pgtable::{PAGE_SIZE, PMD_SIZE};
use mmlab_mm::mm::gup::GupCall;
use mmlab_mm::{ChangePoint, KernelConfig, ThpMode};

/// The anonymous mappings of a setup, watched for transparent huge pages.
#[derive(Default)]
pub(crate) struct AnonThp {
    /// Each anonymous mapping with a 2M-aligned range, and whether a setup operation ran
    /// while THP was `always` after it was made (and may have faulted it in huge).
    watched: Vec<(String, bool)>,
}

impl AnonThp {
    /// Notes an anonymous mapping made by setup.
    pub fn mapped(&mut self, name: &str, m: Mapping) {
        let aligned = m.addr.div_ceil(PMD_SIZE).saturating_mul(PMD_SIZE);
        let end = m.addr.saturating_add(m.pages.saturating_mul(PAGE_SIZE));
        if aligned.saturating_add(PMD_SIZE) <= end {
            self.watched.push((name.to_string(), false));
        }
    }

    /// Called after a setup operation ran under THP setting `thp`.
    pub fn operation_ran(&mut self, thp: ThpMode) {
        if thp == ThpMode::Always {
            for (_, seen) in &mut self.watched {
                *seen = true;
            }
        }
    }

    /// One note per mapping Linux would fault in with transparent huge pages: with THP
    /// `always`, do_anonymous_page's caller takes do_huge_pmd_anonymous_page for an aligned
    /// 2M range inside an anonymous vma. (`madvise` would need MADV_HUGEPAGE, which a test
    /// cannot ask for on anonymous memory.)
    ///
    /// `thp` is the setting setup left, which the threads run under (they cannot change it).
    pub fn notes(&self, thp: ThpMode) -> Vec<String> {
        self.watched
            .iter()
            .filter(|(_, seen)| *seen || thp == ThpMode::Always)
            .map(|(name, _)| {
                format!(
                    "{name}: anonymous memory with an aligned 2M range while THP is `always`: Linux \
                     faults it in as a transparent huge page (a read: the huge zero page); the \
                     model maps 4K pages (anonymous THP is not modelled, docs/model.md)"
                )
            })
            .collect()
    }
}

/// A note for each gup-fast call of zero pages: its PTE loop runs on from the start until an
/// entry stops it, and where every entry to the end of a page table is usable, Linux reads
/// on past the table page, whatever memory follows it, as PTEs. The model stops at the end
/// of the table (mm/gup/fast.rs).
pub(crate) fn zero_page_gup_fast(test: &ast::Test) -> Vec<String> {
    every_op(test)
        .filter(|(_, op)| {
            matches!(op, ast::OpKind::Gup { call, pages: 0, .. }
                if crate::exec::gup_call(*call).is_fast())
        })
        .map(|(thread, op)| {
            format!(
                "{thread}: `{}`: a gup-fast of zero pages takes pages until an entry stops it; \
                 if every PTE to the end of a page table is usable, Linux reads on past the \
                 table page, where the model stops",
                ast::format_op(op)
            )
        })
        .collect()
}

/// A note for each call of a GUP entry point the selected release no longer has. A driver
/// could not call it; the model runs the walk it made, so that one test can be read across
/// releases.
pub(crate) fn removed_gup_calls(test: &ast::Test, cfg: &KernelConfig) -> Vec<String> {
    if !cfg.has(ChangePoint::RemovePinUserPagesFastOnly) {
        return Vec::new();
    }
    let change = ChangePoint::RemovePinUserPagesFastOnly;
    every_op(test)
        .filter(|(_, op)| {
            matches!(op, ast::OpKind::Gup { call, .. }
                if crate::exec::gup_call(*call) == GupCall::PinUserPagesFastOnly)
        })
        .map(|(thread, op)| {
            format!(
                "{thread}: `{}`: pin_user_pages_fast_only does not exist from {} (\"{}\"); the \
                 model runs the gup-fast walk it made (FOLL_PIN | FOLL_FAST_ONLY, no slow path)",
                ast::format_op(op),
                change.release(),
                change.subject()
            )
        })
        .collect()
}

/// Every operation of the test, setup's first, with the thread that runs it (`setup`,
/// `P0`…).
fn every_op(test: &ast::Test) -> impl Iterator<Item = (String, &ast::OpKind)> {
    let setup = test.setup.iter().filter_map(|s| match &s.kind {
        ast::SetupKind::Op(op) => Some(("setup".to_string(), op)),
        _ => None,
    });
    let threads = test.threads.iter().flat_map(|t| {
        t.ops
            .iter()
            .map(move |op| (format!("P{}", t.index), &op.kind))
    });
    setup.chain(threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Notes for a mapping, setup operations run under `ops`, and the final setting.
    fn notes(addr: u64, pages: u64, ops: &[ThpMode], last: ThpMode) -> usize {
        let mut a = AnonThp::default();
        a.mapped("m0", Mapping { addr, pages });
        for &m in ops {
            a.operation_ran(m);
        }
        a.notes(last).len()
    }

    #[test]
    fn only_gup_fast_calls_of_zero_pages_are_noted() {
        let test = ast::parse(
            "mm-litmus t\nsetup {\n  anon a0 size=8K\n  mmap m0 a0 private rw\n  \
             r0 = get_user_pages_fast_only m0 pages=0\n}\nP0 {\n  \
             r0 = pin_user_pages m0 pages=0\n  r1 = pin_user_pages_fast m0 pages=1\n  \
             r2 = pin_user_pages_fast m0 pages=0 write\n}\nexists P0:r2 == 0\n",
        )
        .expect("parses");
        let notes = zero_page_gup_fast(&test);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("setup: `r0 = get_user_pages_fast_only m0 pages=0`"));
        assert!(notes[1].starts_with("P0: `r2 = pin_user_pages_fast m0 pages=0 write`"));
    }

    #[test]
    fn an_aligned_2m_range_under_thp_always_is_noted() {
        assert_eq!(notes(0x7f00_0000_0000, 512, &[], ThpMode::Always), 1);
        assert_eq!(notes(0x7f00_0000_1000, 1024, &[], ThpMode::Always), 1);
    }

    #[test]
    fn no_aligned_range_or_no_thp_is_not() {
        assert_eq!(notes(0x7f00_0000_1000, 512, &[], ThpMode::Always), 0);
        assert_eq!(notes(0x7f00_0000_0000, 511, &[], ThpMode::Always), 0);
        assert_eq!(notes(0x7f00_0000_0000, 512, &[], ThpMode::Never), 0);
        assert_eq!(notes(0x7f00_0000_0000, 512, &[], ThpMode::Madvise), 0);
    }

    #[test]
    fn a_setup_operation_under_thp_always_is_noted_whatever_follows() {
        let ops = [ThpMode::Always];
        assert_eq!(notes(0x7f00_0000_0000, 512, &ops, ThpMode::Never), 1);
        assert_eq!(
            notes(0x7f00_0000_0000, 512, &[ThpMode::Never], ThpMode::Never),
            0
        );
    }
}
