//! Fuzzing the spec parser and validator with proptest: whatever the input, they never panic,
//! and a refusal always names the file. Failing cases proptest finds are kept in
//! tests/fuzz_spec.proptest-regressions and replayed first on every run.

use std::path::PathBuf;

use cruddur_infra::spec::{SpecDocument, SpecError};
use proptest::prelude::*;

fn shipped_path() -> PathBuf {
    // Inside the repo, so that relative policy and source paths resolve as for the real spec.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("infra.yaml")
}

fn shipped() -> String {
    std::fs::read_to_string(shipped_path()).unwrap()
}

/// Parses and resolves every env; checks that errors name the file.
fn check(text: &str) {
    let path = shipped_path();
    match SpecDocument::parse(&path, text) {
        Ok(doc) => {
            for env in doc.env_names() {
                if let Err(SpecError::Invalid { problems }) = doc.resolve(&env) {
                    assert!(!problems.is_empty());
                    for p in problems {
                        assert!(!p.message.is_empty());
                        assert!(p.to_string().contains(".yaml") || p.to_string().contains(".json"), "{p}");
                    }
                }
            }
        }
        Err(SpecError::Invalid { problems }) => {
            assert!(problems.iter().all(|p| p.to_string().starts_with(&path.display().to_string())));
        }
        Err(_) => {}
    }
}

const TOKENS: &[&str] = &[
    ":",
    "-",
    " ",
    "\n",
    "\n  ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "${",
    "${tables.",
    "}",
    "0",
    "-1",
    "99999999999",
    "true",
    "null",
    "*a",
    "&a ",
    "!!str ",
    "'",
    "\"",
    "#",
    "\t",
    "é",
    "\u{0}",
    "tables:",
    "capacity:",
    "<<: *a",
    "? ",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(parts in proptest::collection::vec(proptest::sample::select(TOKENS), 0..80)) {
        check(&parts.concat());
    }

    #[test]
    fn mutations_of_the_shipped_spec_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..40, proptest::sample::select(TOKENS)), 1..6)
    ) {
        let mut text = shipped();
        for (at, cut, insert) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) { i -= 1; }
            let mut j = (i + cut).min(text.len());
            while !text.is_char_boundary(j) { j -= 1; }
            text.replace_range(i..j, insert);
        }
        check(&text);
    }
}
