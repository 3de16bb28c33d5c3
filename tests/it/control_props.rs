//! Properties of the deb822 control parser the repository trusts with hostile packages
//! (`deb822::parse_paragraph` and `render_paragraph`): random and mutated inputs never
//! panic, and nothing accepted can carry a stanza break or a forbidden character into a
//! `Packages` index; accepted paragraphs survive a round trip.

use proptest::prelude::*;
use proptest::test_runner::Config;
use py2deb::debian::deb822::{forbidden_char, parse_paragraph, render_paragraph};

fn config(cases: u32) -> Config {
    Config {
        cases: crate::support::prop_cases(cases),
        failure_persistence: None,
        // Bound the time spent even when shrinking a failure.
        max_shrink_iters: 2000,
        timeout: 10_000,
        ..Config::default()
    }
}

const VALID: &str =
    "Package: aa\nVersion: 1.0-1\nArchitecture: all\nMaintainer: T <t@example.invalid>\n\
                     Depends: python3 (>= 3.11)\nDescription: short\n long line\n .\n another\n";

/// What an accepted paragraph must never contain, checked on the parsed fields and on
/// the text written back into an index.
fn assert_safe(fields: &[(String, String)]) -> Result<(), TestCaseError> {
    let out = render_paragraph(fields);
    prop_assert!(!out.contains("\n\n"), "stanza break in {out:?}");
    prop_assert!(!out.contains('\r'), "CR in {out:?}");
    prop_assert!(
        !out.chars()
            .any(|c| forbidden_char(c) && c != '\n' && c != '\t'),
        "forbidden character in {out:?}"
    );
    for line in out.lines() {
        prop_assert!(!line.trim().is_empty(), "blank line in {out:?}");
        if !line.starts_with([' ', '\t']) {
            let name = line.split(':').next().unwrap();
            prop_assert!(
                line.contains(':') && !name.is_empty(),
                "line {line:?} in {out:?}"
            );
            prop_assert!(name.chars().all(|c| c.is_ascii_graphic()), "name {name:?}");
        }
    }
    let names: Vec<String> = fields.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    prop_assert_eq!(unique.len(), names.len(), "duplicate field in {:?}", out);
    // Writing back and parsing again gives the same fields.
    let again = parse_paragraph(out.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("{e}: {out:?}")))?;
    prop_assert_eq!(&again, &fields.to_vec());
    Ok(())
}

/// Bytes that matter to the parser, weighted towards the dangerous ones.
fn interesting() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\n".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\r".to_vec()),
        Just(b":".to_vec()),
        Just(b"\n \n".to_vec()),
        Just(b"\n\t\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n\n".to_vec()),
        Just(b"\nPackage: evil\n".to_vec()),
        Just(b"\nFilename: x\n".to_vec()),
        Just("\u{85}".as_bytes().to_vec()),
        Just("\u{2028}".as_bytes().to_vec()),
        Just("\u{2029}".as_bytes().to_vec()),
        Just("\u{202e}".as_bytes().to_vec()),
        Just("\u{2067}".as_bytes().to_vec()),
        Just(b"\x00".to_vec()),
        Just(b"\xff".to_vec()),
        Just(b"\xc2".to_vec()),
        Just(b"#".to_vec()),
        Just(b"-".to_vec()),
        any::<u8>().prop_map(|b| vec![b]),
        "[a-zA-Z0-9 .:-]{1,8}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(config(800))]

    #[test]
    fn random_bytes_never_panic_and_accepted_is_safe(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(fields) = parse_paragraph(&bytes) {
            assert_safe(&fields)?;
        }
    }

    #[test]
    fn random_pieces_never_panic_and_accepted_is_safe(pieces in proptest::collection::vec(interesting(), 0..40)) {
        let bytes: Vec<u8> = pieces.concat();
        if let Ok(fields) = parse_paragraph(&bytes) {
            assert_safe(&fields)?;
        }
    }

    #[test]
    fn mutated_paragraphs_never_panic_and_accepted_is_safe(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), interesting(), 0u8..3), 1..6)
    ) {
        let mut bytes = VALID.as_bytes().to_vec();
        for (at, piece, kind) in edits {
            let i = at.index(bytes.len() + 1);
            match kind {
                0 => { bytes.splice(i..i, piece); }
                1 => { let end = (i + piece.len()).min(bytes.len()); bytes.splice(i..end, piece); }
                _ => { let end = (i + 1).min(bytes.len()); bytes.drain(i..end); }
            }
        }
        if let Ok(fields) = parse_paragraph(&bytes) {
            assert_safe(&fields)?;
        }
    }

    #[test]
    fn valid_paragraphs_round_trip(
        fields in proptest::collection::btree_map(
            "[A-Z][A-Za-z0-9-]{0,12}",
            ("[ -~&&[^ ]]([ -~]{0,30}[!-~])?", proptest::collection::vec("[!-~]([ -~]{0,20})", 0..4)),
            1..8,
        )
    ) {
        let mut seen = std::collections::BTreeSet::new();
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .filter(|(k, _)| seen.insert(k.to_ascii_lowercase()))
            .map(|(k, (first, cont))| {
                let mut v = first;
                for c in cont {
                    v.push_str("\n ");
                    v.push_str(c.trim_end());
                }
                (k, v)
            })
            .collect();
        let text = render_paragraph(&fields);
        let parsed = parse_paragraph(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}: {text:?}")))?;
        prop_assert_eq!(&parsed, &fields);
        assert_safe(&parsed)?;
    }
}

#[test]
fn the_valid_paragraph_is_accepted() {
    let f = parse_paragraph(VALID.as_bytes()).unwrap();
    assert_eq!(f.len(), 6);
    assert_eq!(render_paragraph(&f), VALID);
}
