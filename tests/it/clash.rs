//! File clashes settled before writing, against a fixture target whose `Contents` ships
//! clashing paths: the same project, an unrelated package, the system's own files, and two
//! packages of one build.

use py2deb::debian::archive::contents::PathIndexBuilder;
use py2deb::debian::archive::Archive;
use py2deb::report::Recorder;
use py2deb::resolve::clash::{relations, settle, Candidate, OnClash, Relation};
use py2deb::resolve::mapping::{DistMap, MapOrigin};
use py2deb::resolve::TargetIndex;

const PACKAGES: &str = "Package: tldr\nVersion: 0.6.4-1\nArchitecture: amd64\n\n\
Package: black\nVersion: 23.1.0-1\nArchitecture: all\n\n\
Package: python3-black-extras\nVersion: 23.1.0-1\nArchitecture: all\n\n\
Package: libpython3.11-minimal\nVersion: 3.11.2-6\nArchitecture: amd64\n\n\
Package: glom\nVersion: 1.0-1\nArchitecture: all\n\n\
Package: pepotron-data\nVersion: 1.0-1\nArchitecture: all\n\n";

const CONTENTS: &str = "\
usr/bin/tldr                                                haskell/tldr
usr/share/man/man1/tldr.1.gz                                haskell/tldr
usr/bin/black                                               python/black
usr/lib/python3/dist-packages/black/__init__.py             python/black
usr/lib/python3/dist-packages/black-23.1.0.dist-info/METADATA python/black
usr/lib/python3/dist-packages/blackd/__init__.py            python/python3-black-extras
usr/lib/python3/dist-packages/black-23.1.0.dist-info/RECORD python/python3-black-extras
usr/lib/python3.11/os.py                                    python/libpython3.11-minimal
usr/lib/python3.11/lib-dynload/_x.so                        python/libpython3.11-minimal
usr/share/glom/data.txt                                     gnome/glom
usr/share/applications/org.gnome.Glom.desktop               gnome/glom
usr/lib/pepotron/data.bin                                   misc/pepotron-data
";

fn target_index(with_paths: bool) -> TargetIndex {
    let mut dists = DistMap::empty();
    let mut builder = PathIndexBuilder::new();
    dists
        .add_contents_with(CONTENTS.as_bytes(), Some(&mut builder))
        .unwrap();
    dists.origin = MapOrigin::Contents;
    if with_paths {
        dists.paths = Some(builder.finish("fixture"));
    }
    TargetIndex {
        archive: Archive::from_packages_text(PACKAGES),
        dists,
    }
}

fn one<'a>(package: &'a str, project: &'a str, paths: &[&'a str]) -> Candidate<'a> {
    Candidate {
        package,
        project,
        paths: paths.to_vec(),
        replaces: Vec::new(),
    }
}

#[test]
fn clash_with_a_package_already_replaced_by_the_naming_rules_is_settled() {
    // A private build beside the distribution's split program package carries
    // `Replaces` on it from the naming rules: dpkg lets it take the file over, and the
    // distribution's package stays installed, so nothing is to be removed or refused.
    let idx = target_index(true);
    let rec = Recorder::default();
    let mut c = one("black-py", "black", &["usr/bin/black"]);
    let err = settle(
        std::slice::from_ref(&c),
        &idx,
        "bookworm",
        OnClash::Error,
        &rec,
    );
    assert!(err.is_err() || !err.as_ref().unwrap()[0].is_empty());
    c.replaces = vec!["black".into()];
    let out = settle(&[c], &idx, "bookworm", OnClash::Error, &rec).unwrap();
    assert!(out[0].is_empty(), "{:?}", out[0]);
}

#[test]
fn clash_unrelated_program_is_an_error_by_default() {
    let idx = target_index(true);
    let rec = Recorder::default();
    let c = [one(
        "python3-tldr",
        "tldr",
        &["usr/bin/tldr", "usr/lib/python3/dist-packages/tldr.py"],
    )];
    let err = settle(&c, &idx, "bookworm", OnClash::Error, &rec)
        .unwrap_err()
        .to_string();
    assert!(err.contains("/usr/bin/tldr"), "{err}");
    assert!(
        err.contains("python3-tldr") && err.contains("bookworm's tldr"),
        "{err}"
    );
    assert!(err.contains("--on-clash conflicts"), "{err}");
}

#[test]
fn clash_unrelated_program_with_conflicts_removes_it_loudly() {
    let idx = target_index(true);
    let rec = Recorder::default();
    let c = [one(
        "python3-tldr",
        "tldr",
        &["usr/bin/tldr", "usr/share/man/man1/tldr.1.gz"],
    )];
    let out = settle(&c, &idx, "bookworm", OnClash::Conflicts, &rec).unwrap();
    assert_eq!(out[0].len(), 1, "one removal per package: {:?}", out[0]);
    assert_eq!(out[0][0].package, "tldr");
    assert_eq!(out[0][0].relation, Relation::Conflicts);
    let f = relations(&out[0]);
    assert_eq!(f.conflicts.to_string(), "tldr");
    assert_eq!(f.replaces.to_string(), "tldr");
    assert!(f.breaks.is_empty() && f.provides.is_empty());
    let warnings = rec.warnings.lock().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("installing it removes tldr")),
        "{warnings:?}"
    );
}

#[test]
fn clash_private_tree_of_unrelated_package() {
    // An application's private copies in /usr/share/glom clash with GNOME's glom data.
    let idx = target_index(true);
    let rec = Recorder::default();
    let c = [one("glom", "glom", &["usr/share/glom/attrs/__init__.py"])];
    let out = settle(&c, &idx, "bookworm", OnClash::Error, &rec);
    // Same package name: our glom is an upgrade of the target's, nothing to settle.
    assert!(out.unwrap()[0].is_empty());
    let c = [one(
        "python3-glom",
        "glom",
        &["usr/share/python3-glom/x.py", "usr/share/glom/x.py"],
    )];
    // Only a tree named after the package is private; usr/share/glom is not ours.
    assert!(settle(&c, &idx, "bookworm", OnClash::Error, &rec).unwrap()[0].is_empty());
    // An application's private tree that another package already uses is a clash.
    let c = [one(
        "pepotron",
        "pepotron",
        &["usr/lib/pepotron/rapidfuzz/__init__.py"],
    )];
    let err = settle(&c, &idx, "bookworm", OnClash::Error, &rec)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pepotron-data"), "{err}");
}

#[test]
fn clash_same_project_taken_over_needs_nothing() {
    // takeover gave the package the target's name: an upgrade, not a clash.
    let idx = target_index(true);
    let rec = Recorder::default();
    let c = [one(
        "black",
        "black",
        &[
            "usr/bin/black",
            "usr/lib/python3/dist-packages/black/__init__.py",
        ],
    )];
    let out = settle(&c, &idx, "bookworm", OnClash::Error, &rec).unwrap();
    assert!(out[0].is_empty(), "{:?}", out[0]);
}

#[test]
fn clash_same_project_split_differently_is_superseded() {
    // The distribution ships part of black in python3-black-extras (its dist-info says
    // black): the converted package breaks and replaces it whatever --on-clash says.
    let idx = target_index(true);
    let rec = Recorder::default();
    let c = [one(
        "black",
        "Black",
        &[
            "usr/bin/black",
            "usr/lib/python3/dist-packages/blackd/__init__.py",
        ],
    )];
    let out = settle(&c, &idx, "bookworm", OnClash::Error, &rec).unwrap();
    assert_eq!(out[0].len(), 1, "{:?}", out[0]);
    assert_eq!(out[0][0].package, "python3-black-extras");
    assert_eq!(out[0][0].relation, Relation::Supersedes);
    let f = relations(&out[0]);
    assert!(f.conflicts.is_empty());
    assert_eq!(f.breaks.to_string(), "python3-black-extras");
    assert_eq!(f.replaces.to_string(), "python3-black-extras");
    assert_eq!(f.provides.to_string(), "python3-black-extras");
}

#[test]
fn clash_same_project_programs_package_without_metadata_is_superseded() {
    // bookworm ships mypy's modules as python3-mypy and its programs as mypy, which has
    // no dist-info but depends on python3-mypy: the converted python3-mypy supersedes it.
    let mut idx = target_index(true);
    idx.archive = Archive::from_packages_text(
        "Package: mypy\nVersion: 1.0.1-1\nArchitecture: all\nDepends: python3-mypy (= 1.0.1-1)\n\n\
         Package: python3-mypy\nVersion: 1.0.1-1\nArchitecture: amd64\n\n\
         Package: dmypy-other\nVersion: 1.0\nArchitecture: all\n\n",
    );
    let mut b = PathIndexBuilder::new();
    b.add("usr/bin/dmypy", "python/mypy");
    b.add("usr/bin/stubgen", "misc/dmypy-other");
    idx.dists.paths = Some(b.finish("k"));
    let rec = Recorder::default();
    let c = [one("python3-mypy", "mypy", &["usr/bin/dmypy"])];
    let out = settle(&c, &idx, "bookworm", OnClash::Error, &rec).unwrap();
    assert_eq!(out[0][0].package, "mypy");
    assert_eq!(out[0][0].relation, Relation::Supersedes);
    // A package that neither is named after the project nor depends on it is unrelated.
    let c = [one("python3-mypy", "mypy", &["usr/bin/stubgen"])];
    assert!(settle(&c, &idx, "bookworm", OnClash::Error, &rec).is_err());
}

#[test]
fn clash_split_package_of_the_same_source_kept_by_what_stays_is_shared() {
    // bookworm's sphinx source builds python3-sphinx (modules, programs) and
    // sphinx-common (man pages, templates). A private sphinx beside python3-sphinx may take
    // the man page over (`Replaces`), but python3-sphinx needs sphinx-common: not removed.
    let mut idx = target_index(true);
    idx.archive = Archive::from_packages_text(
        "Package: python3-sphinx\nSource: sphinx\nVersion: 5.3.0-4\nArchitecture: all\n\
         Depends: sphinx-common (= 5.3.0-4)\n\n\
         Package: sphinx-common\nSource: sphinx\nVersion: 5.3.0-4\nArchitecture: all\n\n\
         Package: cmark\nVersion: 0.30-1\nArchitecture: amd64\n\n",
    );
    let mut b = PathIndexBuilder::new();
    b.add("usr/share/man/man1/sphinx-apidoc.1.gz", "doc/sphinx-common");
    b.add("usr/share/man/man1/cmark.1.gz", "text/cmark");
    idx.dists.paths = Some(b.finish("k"));
    let rec = Recorder::default();
    let mut c = one(
        "sphinx-py",
        "sphinx",
        &["usr/share/man/man1/sphinx-apidoc.1.gz"],
    );
    // Without the relation to python3-sphinx it is just another package's file.
    assert!(settle(
        std::slice::from_ref(&c),
        &idx,
        "bookworm",
        OnClash::Error,
        &rec
    )
    .is_err());
    c.replaces = vec!["python3-sphinx".into()];
    let out = settle(
        std::slice::from_ref(&c),
        &idx,
        "bookworm",
        OnClash::Error,
        &rec,
    )
    .unwrap();
    assert_eq!(out[0].len(), 1, "{:?}", out[0]);
    assert_eq!(out[0][0].package, "sphinx-common");
    assert_eq!(out[0][0].relation, Relation::Shares);
    let f = relations(&out[0]);
    assert_eq!(f.replaces.to_string(), "sphinx-common");
    assert!(f.breaks.is_empty() && f.conflicts.is_empty() && f.provides.is_empty());
    // The same source says nothing about a file of an unrelated source.
    let c = Candidate {
        paths: vec!["usr/share/man/man1/cmark.1.gz"],
        ..c
    };
    assert!(settle(&[c], &idx, "bookworm", OnClash::Error, &rec).is_err());
}

#[test]
fn clash_split_package_of_a_replaced_library_is_superseded() {
    // The build replaces python3-docutils (its own name): docutils-common, of the same
    // source, is needed only by the package being replaced, so it is superseded.
    let mut idx = target_index(true);
    idx.archive = Archive::from_packages_text(
        "Package: python3-docutils\nSource: python-docutils\nVersion: 0.19+dfsg-6\n\
         Architecture: all\nDepends: docutils-common (= 0.19+dfsg-6)\n\n\
         Package: docutils-common\nSource: python-docutils (0.19+dfsg-6)\n\
         Version: 0.19+dfsg-6+b1\nArchitecture: all\n\n",
    );
    let mut b = PathIndexBuilder::new();
    b.add("usr/share/man/man1/docutils.1.gz", "text/docutils-common");
    idx.dists.paths = Some(b.finish("k"));
    let rec = Recorder::default();
    let c = [one(
        "python3-docutils",
        "docutils",
        &["usr/share/man/man1/docutils.1.gz"],
    )];
    let out = settle(&c, &idx, "bookworm", OnClash::Error, &rec).unwrap();
    assert_eq!(out[0][0].package, "docutils-common");
    assert_eq!(out[0][0].relation, Relation::Supersedes);
    assert_eq!(relations(&out[0]).breaks.to_string(), "docutils-common");
}

#[test]
fn clash_data_file_in_a_shared_directory_is_found() {
    // A wheel's `.data/data/share/applications/…` lands where the target's glom keeps its
    // desktop entry: the same refusal as for a program, before anything is written.
    let idx = target_index(true);
    let rec = Recorder::default();
    let c = [one(
        "python3-glomtool",
        "glomtool",
        &["usr/share/applications/org.gnome.Glom.desktop"],
    )];
    let e = settle(&c, &idx, "bookworm", OnClash::Error, &rec)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/usr/share/applications/org.gnome.Glom.desktop") && e.contains("glom"),
        "{e}"
    );
    // Another file of the same directory is no clash.
    let c = [one(
        "python3-glomtool",
        "glomtool",
        &["usr/share/applications/glomtool.desktop"],
    )];
    assert!(settle(&c, &idx, "bookworm", OnClash::Error, &rec).unwrap()[0].is_empty());
}

#[test]
fn clash_system_paths_are_refused() {
    let idx = target_index(true);
    let rec = Recorder::default();
    for path in [
        "usr/bin/python3",
        "usr/lib/python3.11/os.py",
        "usr/lib/python3.11/site-packages/evil.pth",
        "etc/profile.d/evil.sh",
    ] {
        let c = [one("python3-evil", "evil", &[path])];
        for mode in [OnClash::Error, OnClash::Conflicts] {
            let err = settle(&c, &idx, "bookworm", mode, &rec)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("/{path}")), "{err}");
            assert!(err.contains("python3-evil"), "{err}");
        }
    }
}

#[test]
fn clash_between_packages_of_one_build() {
    let idx = target_index(true);
    let rec = Recorder::default();
    let c = [
        one(
            "python3-a",
            "a",
            &["usr/bin/tool", "usr/share/doc/python3-a/copyright"],
        ),
        one(
            "python3-b",
            "b",
            &["usr/bin/tool", "usr/share/doc/python3-b/copyright"],
        ),
    ];
    let err = settle(&c, &idx, "bookworm", OnClash::Conflicts, &rec)
        .unwrap_err()
        .to_string();
    assert!(err.contains("python3-a and python3-b"), "{err}");
    assert!(err.contains("/usr/bin/tool"), "{err}");
}

#[test]
fn clash_checks_against_a_snapshot_are_reported_as_skipped() {
    let idx = target_index(false);
    let rec = Recorder::default();
    let c = [one("python3-tldr", "tldr", &["usr/bin/tldr"])];
    let out = settle(&c, &idx, "bookworm", OnClash::Error, &rec).unwrap();
    assert!(out[0].is_empty());
    let warnings = rec.warnings.lock().unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("not checked")),
        "a skipped check must be reported: {warnings:?}"
    );
}
