//! Every sample under tests/data parses, and formats back to a test equal to it.

mod common;

use std::fs;
use std::path::PathBuf;

use mmlab_litmus::{format, parse, parse_and_render};

fn samples() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("tests/data exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "litmus"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).expect("readable sample");
            (p, text)
        })
        .collect()
}

#[test]
fn samples_parse_and_round_trip() {
    let samples = samples();
    assert!(samples.len() >= 4, "expected several samples");
    for (path, source) in samples {
        let name = path.display().to_string();
        let test = match parse_and_render(&name, &source) {
            Ok(test) => test,
            Err(report) => panic!("{report}"),
        };
        let formatted = format(&test);
        let reparsed = parse(&formatted).unwrap_or_else(|e| panic!("{name}: {e:?}\n{formatted}"));
        common::assert_same_modulo_spans(&test, &reparsed);
        assert_eq!(format(&reparsed), formatted, "{name}: format is not stable");
    }
}

#[test]
fn spec_example_is_already_canonical() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let source = fs::read_to_string(dir.join("spec-example.litmus")).unwrap();
    let test = parse(&source).unwrap();
    assert_eq!(format(&test), source);
}
