//! Property tests of the cached indexes' in-place search: whatever names a release has, a
//! mapped index finds exactly what was put in it, and damaged bytes never panic a lookup.

use proptest::prelude::*;
use py2deb::debian::archive::contents::{PathIndex, PathIndexBuilder};
use py2deb::debian::archive::lines::Bytes;
use py2deb::debian::archive::Archive;
use std::collections::BTreeMap;

/// Program names of every length, sharing prefixes often (`a`, `ab`, `ab-c`).
fn program() -> impl Strategy<Value = String> {
    "[a-c][a-c0-9.+-]{0,12}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_mapped_path_index_finds_exactly_its_files(
        present in proptest::collection::btree_map(program(), 0u8..5, 0..120),
        absent in proptest::collection::vec(program(), 0..40),
    ) {
        let mut b = PathIndexBuilder::new();
        for (name, pkg) in &present {
            b.add(&format!("usr/bin/{name}"), &format!("admin/pkg{pkg}"));
        }
        let built = b.finish("k");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paths.txt");
        std::fs::write(&path, built.as_bytes()).unwrap();
        let index = PathIndex::load(&path, "k").expect("a written index loads");
        prop_assert_eq!(index.len(), built.len());
        for (name, pkg) in &present {
            let want = format!("pkg{pkg}");
            prop_assert_eq!(index.file(&format!("usr/bin/{name}")), vec![want.as_str()]);
        }
        for name in absent.iter().filter(|n| !present.contains_key(*n)) {
            prop_assert!(index.file(&format!("usr/bin/{name}")).is_empty(), "{name}");
        }
    }

    #[test]
    fn an_archive_finds_every_version_of_every_name(
        packages in proptest::collection::btree_map(
            "[a-d][a-d0-9.+-]{0,10}",
            proptest::collection::btree_set(1u16..500, 1..4),
            0..80,
        ),
        absent in proptest::collection::vec("[a-d][a-d0-9.+-]{0,10}", 0..30),
    ) {
        let mut text = String::new();
        for (name, versions) in &packages {
            for v in versions {
                text.push_str(&format!("Package: {name}\nVersion: {v}\nArchitecture: all\n\n"));
            }
        }
        let a = Archive::from_packages_text(&text);
        prop_assert_eq!(a.len(), packages.len());
        let model: BTreeMap<&str, Vec<String>> = packages
            .iter()
            .map(|(n, vs)| (n.as_str(), vs.iter().map(u16::to_string).collect()))
            .collect();
        for (name, versions) in &model {
            let got: Vec<&str> = a.versions(name).iter().map(|v| v.version.as_str()).collect();
            let want: Vec<&str> = versions.iter().map(String::as_str).collect();
            prop_assert_eq!(got, want, "{}", name);
            let newest = versions.iter().max_by_key(|v| v.parse::<u16>().unwrap()).unwrap();
            prop_assert_eq!(&a.newest(name).unwrap().version, newest);
        }
        for name in absent.iter().filter(|n| !model.contains_key(n.as_str())) {
            prop_assert!(!a.contains(name) && a.versions(name).is_empty(), "{name}");
        }
        prop_assert_eq!(a.newest_of_each().count(), packages.len());
    }

    #[test]
    fn damaged_path_indexes_are_refused_or_answer_without_panicking(
        cut in 0usize..400,
        flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..6),
    ) {
        let mut b = PathIndexBuilder::new();
        for name in ["a", "ab", "b", "black", "c++", "tldr"] {
            b.add(&format!("usr/bin/{name}"), "admin/p");
        }
        let mut bytes = b.finish("k").as_bytes().to_vec();
        for (at, byte) in flips {
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
        }
        bytes.truncate(bytes.len().min(cut.max(1) * 4));
        if let Ok(index) = PathIndex::from_bytes(Bytes::from(bytes)) {
            for name in ["a", "ab", "b", "black", "c++", "tldr", "zzz", ""] {
                let _ = index.file(&format!("usr/bin/{name}"));
                let _ = index.dir("usr/bin");
                let _ = index.soname(name);
            }
        }
    }
}
