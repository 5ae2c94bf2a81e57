//! Folding repetition in a trace for reading: a GUP of 512 PTEs goes through the same dozen
//! kernel functions for every page, and printed whole it is thousands of lines that differ
//! only in their addresses. JSON traces keep every line.

/// Longest repeating block looked for, in lines.
const MAX_BLOCK: usize = 48;

/// A line as compared for repetition: hexadecimal numbers (pfns, addresses) count as equal.
fn shape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at + 2]);
        rest = rest[at + 2..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
        out.push('#');
    }
    out.push_str(rest);
    out
}

/// The block length and number of repetitions (at least 3) of the longest run of repeated
/// blocks starting at `at`, if any.
fn repeat_at(shapes: &[String], at: usize) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for len in 1..=MAX_BLOCK.min((shapes.len() - at) / 3) {
        let block = &shapes[at..at + len];
        let mut reps = 1;
        while shapes
            .get(at + reps * len..at + (reps + 1) * len)
            .is_some_and(|next| next == block)
        {
            reps += 1;
        }
        let covers = |(l, r): (usize, usize)| l * r;
        if reps >= 3 && best.is_none_or(|b| len * reps > covers(b)) {
            best = Some((len, reps));
        }
    }
    best
}

/// `lines` with every run of three or more repeated blocks shown as its first block, one line
/// saying how many were left out (indented as the block's first line), and its last block.
pub fn fold_repeats(lines: Vec<String>) -> Vec<String> {
    let shapes: Vec<String> = lines.iter().map(|l| shape(l)).collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut at = 0;
    while at < lines.len() {
        match repeat_at(&shapes, at) {
            Some((len, reps)) => {
                out.extend_from_slice(&lines[at..at + len]);
                let lines_word = if len == 1 { "line" } else { "lines" };
                let first = &lines[at];
                let indent = &first[..first.len() - first.trim_start().len()];
                out.push(format!(
                    "{indent}… {} more times the {len} {lines_word} above, at other addresses …",
                    reps - 2
                ));
                let last = at + (reps - 1) * len;
                out.extend_from_slice(&lines[last..last + len]);
                at += len * reps;
            }
            None => {
                out.push(lines[at].clone());
                at += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn blocks_differing_in_addresses_fold() {
        let mut input = lines(&["enter"]);
        for pfn in 0..5 {
            input.push("  fault".into());
            input.push(format!("    · page at pfn {:#x}", 0x1000 + pfn));
        }
        input.push("done".into());
        let out = fold_repeats(input);
        assert_eq!(
            out,
            lines(&[
                "enter",
                "  fault",
                "    · page at pfn 0x1000",
                "  … 3 more times the 2 lines above, at other addresses …",
                "  fault",
                "    · page at pfn 0x1004",
                "done",
            ])
        );
    }

    #[test]
    fn two_repeats_or_other_text_stay() {
        let input = lines(&["a 0x1", "a 0x2", "b", "c 1", "c 2", "c 3"]);
        assert_eq!(fold_repeats(input.clone()), input);
    }
}
