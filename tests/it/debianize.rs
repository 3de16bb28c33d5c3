//! `py2deb debianize`: the generated `debian/` files for small sdists made here, one per
//! build backend (setuptools, hatchling, flit_core, poetry-core), against a fixture
//! bookworm archive; the written source package (orig byte for byte, tree, `.dsc`); and
//! the sdists it must refuse.

use py2deb::debian::archive::Archive;
use py2deb::debian::target::Target;
use py2deb::inspect::wheel::Limits;
use py2deb::packaging::debianize::{self, Options, Packaging};
use py2deb::packaging::{read_sdist, Suite, Upstream};
use py2deb::report::Recorder;
use py2deb::resolve::mapping::{DistMap, MapOrigin};
use std::path::{Path, PathBuf};

/// 2023-11-14 22:13:20 UTC.
pub const DATE: i64 = 1_700_000_000;

const PACKAGES: &str = "\
Package: python3-setuptools
Version: 66.1.1-1
Architecture: all

Package: python3-wheel
Version: 0.38.4-2
Architecture: all

Package: python3-hatchling
Version: 1.12.2-1
Architecture: all

Package: flit
Version: 3.8.0-1
Architecture: all

Package: python3-poetry-core
Version: 1.4.0-4
Architecture: all

Package: python3-pytest
Version: 7.2.1-2
Architecture: all

Package: python3-requests
Version: 2.28.1+dfsg-1
Architecture: all

Package: python3-colorama
Version: 0.4.6-2
Architecture: all

Package: python3-oldlib
Version: 1.0-1
Architecture: all
";

const DISTS: &str = "\
setuptools\tpython3-setuptools\t66.1.1
wheel\tpython3-wheel\t0.38.4
hatchling\tpython3-hatchling\t1.12.2
flit-core\tflit\t3.8.0
poetry-core\tpython3-poetry-core\t1.4.0
pytest\tpython3-pytest\t7.2.1
requests\tpython3-requests\t2.28.1
colorama\tpython3-colorama\t0.4.6
oldlib\tpython3-oldlib\t1.0
";

/// A bookworm with the backends, pytest, requests and an old `oldlib`.
pub fn fixture_suite(name: &str, packages: &str, dists: &str) -> Suite {
    Suite {
        target: Target::named(name, "amd64").unwrap(),
        archive: Archive::from_packages_text(packages),
        dists: DistMap::parse_tsv(dists, MapOrigin::Snapshot).unwrap(),
    }
}

pub fn bookworm() -> Suite {
    fixture_suite("bookworm", PACKAGES, DISTS)
}

/// Write `<dir>/<top>.tar.gz` with `files` under `<top>/`, modes as given.
pub fn sdist(dir: &Path, top: &str, files: &[(&str, &str, u32)]) -> PathBuf {
    let path = dir.join(format!("{top}.tar.gz"));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    for (name, text, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(1_600_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, format!("{top}/{name}"), text.as_bytes())
            .unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
    path
}

pub const MIT: &str = "MIT License

Copyright (c) 2021-2023 Jane Upstream

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software, to deal in the Software without restriction.

THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.
";

/// PKG-INFO of a small project.
pub fn pkg_info(name: &str, version: &str, extra: &str) -> String {
    format!(
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: A tiny library for greeting people.\n\
         Author-email: Jane Upstream <jane@upstream.example>\nLicense-Expression: MIT\n\
         Project-URL: Source, https://github.com/example/{name}\n\
         Project-URL: Issues, https://github.com/example/{name}/issues\n\
         Requires-Python: >=3.8\n{extra}Description-Content-Type: text/markdown\n\n\
         # {name}\n\nGreets people politely, in many languages, from Python code.\n"
    )
}

/// A project sdist built by `backend` (setuptools, hatchling, flit_core, poetry-core).
pub fn project(dir: &Path, backend: &str) -> (PathBuf, String) {
    let (name, module) = match backend {
        "setuptools" => ("greet-st", "greet_st"),
        "hatchling" => ("greet-hatch", "greet_hatch"),
        "flit_core" => ("greet_flit", "greet_flit"),
        _ => ("greet-poetry", "greet_poetry"),
    };
    let build = match backend {
        "setuptools" => {
            "requires = [\"setuptools>=61\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\""
        }
        "hatchling" => "requires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"",
        "flit_core" => {
            "requires = [\"flit_core >=3.2,<4\"]\nbuild-backend = \"flit_core.buildapi\""
        }
        _ => "requires = [\"poetry-core>=1.0.0\"]\nbuild-backend = \"poetry.core.masonry.api\"",
    };
    let pyproject = format!(
        "[build-system]\n{build}\n\n[project]\nname = \"{name}\"\nversion = \"1.2.0\"\nclassifiers = [\n    \"Programming Language :: Python :: 3.14\",\n]\ndependencies = [\"requests>=2.20\"]\n\n[project.scripts]\n{name} = \"{module}:main\"\n"
    );
    let extra =
        "Requires-Dist: requests>=2.20\nRequires-Dist: colorama; sys_platform == \"win32\"\n\
                 Provides-Extra: test\nRequires-Dist: pytest>=7; extra == \"test\"\n";
    let top = format!("{}-1.2.0", name.replace('-', "_"));
    let info = pkg_info(name, "1.2.0", extra);
    let init = "def main():\n    print('hello')\n";
    let test = "from urllib.request import urlopen\n\ndef test_main():\n    assert urlopen(\"https://example.org\")\n";
    let mod_path = format!("{module}/__init__.py");
    let files: Vec<(&str, &str, u32)> = vec![
        ("PKG-INFO", info.as_str(), 0o644),
        ("pyproject.toml", pyproject.as_str(), 0o644),
        ("LICENSE", MIT, 0o644),
        (mod_path.as_str(), init, 0o644),
        ("tests/test_main.py", test, 0o644),
    ];
    (sdist(dir, &top, &files), format!("{top}.tar.gz"))
}

pub fn read(path: &Path, filename: &str, into: &Path) -> Upstream {
    let sha = py2deb::index::fetch::sha256_file(path).unwrap();
    read_sdist(path, filename, &sha, false, into, &Limits::default()).unwrap()
}

fn options() -> Options {
    Options {
        packager: "Jane Doe <jane@example.org>".into(),
        team: true,
        itp_bug: Some(1_234_567),
        date: DATE,
        package: None,
    }
}

fn generate(backend: &str) -> (tempfile::TempDir, Upstream, Packaging) {
    let tmp = tempfile::tempdir().unwrap();
    let (path, filename) = project(tmp.path(), backend);
    let unpack = tmp.path().join("unpack");
    std::fs::create_dir(&unpack).unwrap();
    let up = read(&path, &filename, &unpack);
    let pkg = debianize::generate(&up, &bookworm(), &options()).unwrap();
    (tmp, up, pkg)
}

fn control_for(source: &str, binary: &str, backend_dep: &str) -> String {
    format!(
        "Source: {source}
Section: python
Priority: optional
Maintainer: Debian Python Team <team+python@tracker.debian.org>
Uploaders:
 Jane Doe <jane@example.org>,
Build-Depends:
 debhelper-compat (= 13),
 dh-sequence-python3,
 pybuild-plugin-pyproject,
 python3-all,
{backend_dep} python3-pytest <!nocheck>,
 python3-requests (>= 2.20) <!nocheck>,
Standards-Version: 4.6.2
Rules-Requires-Root: no
Testsuite: autopkgtest-pkg-pybuild
Homepage: https://github.com/example/{}
Vcs-Browser: https://salsa.debian.org/python-team/packages/{source}
Vcs-Git: https://salsa.debian.org/python-team/packages/{source}.git

Package: {binary}
Architecture: all
Depends:
 ${{misc:Depends}},
 ${{python3:Depends}},
Description: Tiny library for greeting people
 Greets people politely, in many languages, from Python code.
",
        source.strip_prefix("python-").unwrap()
    )
}

#[test]
fn debianize_setuptools_snapshot() {
    let (_tmp, _up, pkg) = generate("setuptools");
    assert_eq!(pkg.source, "python-greet-st");
    assert_eq!(pkg.binary, "python3-greet-st");
    assert_eq!(
        pkg.files["debian/control"],
        control_for(
            "python-greet-st",
            "python3-greet-st",
            " python3-setuptools (>= 61),\n python3-wheel,\n"
        )
    );
    // Only hatchling gets the classifier patch.
    assert!(!pkg.files.contains_key("debian/patches/series"));
    assert_eq!(
        pkg.files["debian/changelog"],
        "python-greet-st (1.2.0-1) unstable; urgency=medium\n\n  * Initial release. (Closes: #1234567)\n\n -- Jane Doe <jane@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n"
    );
    assert_eq!(
        pkg.files["debian/rules"],
        "#!/usr/bin/make -f\n\n# FIXME: buildds run the tests without network (unshare -n). These modules look\n# like they reach it: tests/test_main.py.\n# Deselect what needs it, e.g.\n# export PYBUILD_TEST_ARGS = -k 'not test_that_downloads'\n\n%:\n\tdh $@ --buildsystem=pybuild\n"
    );
    assert_eq!(
        pkg.files["debian/copyright"],
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: greet-st
Upstream-Contact: Jane Upstream <jane@upstream.example>
Source: https://github.com/example/greet-st

Files: *
Copyright: 2021-2023 Jane Upstream
License: Expat

Files: debian/*
Copyright: 2023 Jane Doe <jane@example.org>
License: Expat

License: Expat
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software, to deal in the Software without restriction.
 .
 THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.
"
    );
    assert_eq!(
        pkg.files["debian/watch"],
        "version=4\nopts=\"uversionmangle=s/(\\d)[_\\.\\-\\+]?((RC|rc|pre|dev|beta|alpha|b|a)\\d*)$/$1~$2/\" \\\nhttps://pypi.debian.net/greet-st/greet[-_.]st-(.+)\\.(?:zip|tgz|tbz|txz|(?:tar\\.(?:gz|bz2|xz)))\n"
    );
    assert_eq!(
        pkg.files["debian/upstream/metadata"],
        "---\nBug-Database: https://github.com/example/greet-st/issues\nBug-Submit: https://github.com/example/greet-st/issues/new\nRepository: https://github.com/example/greet-st.git\nRepository-Browse: https://github.com/example/greet-st\n"
    );
    assert_eq!(pkg.files["debian/source/format"], "3.0 (quilt)\n");
    assert!(pkg.files["debian/gbp.conf"].contains("debian-branch = debian/latest\n"));
    assert!(pkg.files["debian/salsa-ci.yml"].contains("recipes/debian.yml"));
    assert!(
        pkg.fixmes.iter().any(|f| f.contains("tests/test_main.py")),
        "{:?}",
        pkg.fixmes
    );
}

#[test]
fn debianize_hatchling_snapshot_drops_classifiers_for_bookworm() {
    let (_tmp, _up, pkg) = generate("hatchling");
    assert_eq!(
        pkg.files["debian/control"],
        control_for(
            "python-greet-hatch",
            "python3-greet-hatch",
            " python3-hatchling,\n"
        )
    );
    assert_eq!(
        pkg.files["debian/patches/series"],
        "drop-trove-classifiers.patch\n"
    );
    let patch = &pkg.files["debian/patches/drop-trove-classifiers.patch"];
    assert!(
        patch.contains("Hatchling 1.12.2 refuses classifiers it does not know"),
        "{patch}"
    );
    assert!(
        patch.contains(
            "@@ -5,9 +5,6 @@\n [project]\n name = \"greet-hatch\"\n version = \"1.2.0\"\n-classifiers = [\n-    \"Programming Language :: Python :: 3.14\",\n-]\n dependencies = [\"requests>=2.20\"]\n \n [project.scripts]\n"
        ),
        "{patch}"
    );
}

#[test]
fn debianize_hatchling_on_a_new_hatchling_turns_the_check_off() {
    let tmp = tempfile::tempdir().unwrap();
    let (path, filename) = project(tmp.path(), "hatchling");
    let unpack = tmp.path().join("u");
    std::fs::create_dir(&unpack).unwrap();
    let up = read(&path, &filename, &unpack);
    let sid = fixture_suite(
        "sid",
        &PACKAGES.replace("1.12.2-1", "1.27.0-1"),
        &DISTS.replace("1.12.2", "1.27.0"),
    );
    let pkg = debianize::generate(&up, &sid, &options()).unwrap();
    assert!(!pkg.files.contains_key("debian/patches/series"));
    assert!(pkg.files["debian/rules"].contains("export HATCH_METADATA_CLASSIFIERS_NO_VERIFY = 1\n"));
    assert!(pkg.files["debian/control"].contains("Standards-Version: 4.7.2\n"));
}

#[test]
fn debianize_flit_core_snapshot_maps_the_backend_on_the_target() {
    let (_tmp, _up, pkg) = generate("flit_core");
    // bookworm ships flit_core's metadata in the `flit` package.
    assert_eq!(
        pkg.files["debian/control"],
        control_for(
            "python-greet-flit",
            "python3-greet-flit",
            " flit (>= 3.2),\n flit (<< 4~~dev0),\n"
        )
        .replace(
            "https://github.com/example/greet-flit",
            "https://github.com/example/greet_flit"
        )
    );
    assert!(pkg.files["debian/watch"].contains("/greet-flit/greet[-_.]flit-(.+)"));
}

#[test]
fn debianize_poetry_core_snapshot() {
    let (_tmp, _up, pkg) = generate("poetry-core");
    assert_eq!(
        pkg.files["debian/control"],
        control_for(
            "python-greet-poetry",
            "python3-greet-poetry",
            " python3-poetry-core (>= 1.0.0),\n"
        )
    );
}

#[test]
fn debianize_without_tests_disables_them_and_lists_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let info = pkg_info(
        "lonely",
        "0.1rc1",
        "Requires-Dist: oldlib>=2\nRequires-Dist: nowhere-lib\n",
    );
    let path = sdist(
        tmp.path(),
        "lonely-0.1rc1",
        &[
            ("PKG-INFO", &info, 0o644),
            (
                "pyproject.toml",
                "[build-system]\nrequires = [\"hatchling>=1.26\", \"hatch-nowhere\"]\nbuild-backend = \"hatchling.build\"\n",
                0o644,
            ),
            ("lonely.py", "X = 1\n", 0o644),
            ("ext/speed.c", "int x;\n", 0o644),
        ],
    );
    let unpack = tmp.path().join("u");
    std::fs::create_dir(&unpack).unwrap();
    let up = read(&path, "lonely-0.1rc1.tar.gz", &unpack);
    let mut opts = options();
    opts.itp_bug = None;
    let pkg = debianize::generate(&up, &bookworm(), &opts).unwrap();
    assert_eq!(pkg.upstream_version, "0.1~rc1");
    assert_eq!(pkg.orig_name(), "python-lonely_0.1~rc1.orig.tar.gz");
    let control = &pkg.files["debian/control"];
    let rules = &pkg.files["debian/rules"];
    assert!(rules.contains("export PYBUILD_DISABLE = test\n"), "{rules}");
    assert!(
        control.contains("Testsuite: autopkgtest-pkg-python\n"),
        "{control}"
    );
    assert!(!control.contains("python3-pytest"), "{control}");
    // Compiled: any architecture, shlibs, the -dev packages left to the human.
    assert!(control.contains("Architecture: any\n"), "{control}");
    assert!(control.contains(" python3-all-dev,\n"), "{control}");
    assert!(control.contains(" ${shlibs:Depends},\n"), "{control}");
    // The backend's floor is written exactly even though bookworm cannot satisfy it.
    assert!(
        control.contains(" python3-hatchling (>= 1.26),\n"),
        "{control}"
    );
    assert!(
        control.contains("# FIXME: build requirement `hatch-nowhere`"),
        "{control}"
    );
    let all = pkg.fixmes.join("\n");
    for want in [
        "build requirement `hatchling>=1.26`: bookworm has python3-hatchling 1.12.2-1",
        "build requirement `hatch-nowhere`: bookworm has no package of it",
        "runtime requirement `oldlib>=2`: bookworm has python3-oldlib 1.0-1",
        "runtime requirement `nowhere-lib`: bookworm has no package of it",
        "compiled parts (ext/speed.c)",
        "no ITP bug to close",
    ] {
        assert!(all.contains(want), "missing `{want}` in:\n{all}");
    }
    assert!(pkg.files["debian/changelog"].contains("  * Initial release.\n"));
}

#[test]
fn debianize_writes_the_orig_byte_for_byte_and_a_dsc() {
    let tmp = tempfile::tempdir().unwrap();
    let (path, filename) = project(tmp.path(), "setuptools");
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let staging = tempfile::tempdir_in(&out).unwrap();
    let up = read(&path, &filename, staging.path());
    let pkg = debianize::generate(&up, &bookworm(), &options()).unwrap();
    let rec = Recorder::default();
    let w = debianize::write(&up, &pkg, &out, &rec).unwrap();
    assert_eq!(
        std::fs::read(&w.orig).unwrap(),
        std::fs::read(&path).unwrap()
    );
    assert_eq!(w.orig, out.join("python-greet-st_1.2.0.orig.tar.gz"));
    assert_eq!(w.tree, out.join("python-greet-st-1.2.0"));
    assert!(w.tree.join("greet_st/__init__.py").is_file());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(w.tree.join("debian/rules"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111);
    // A second run refuses to overwrite.
    let staging2 = tempfile::tempdir_in(&out).unwrap();
    let up2 = read(&path, &filename, staging2.path());
    let e = debianize::write(&up2, &pkg, &out, &rec)
        .unwrap_err()
        .to_string();
    assert!(e.contains("already exists") && e.contains("-o"), "{e}");
    let have_dpkg_source = std::process::Command::new("dpkg-source")
        .arg("--version")
        .output()
        .is_ok();
    if crate::support::prerequisite(have_dpkg_source, "dpkg-source (dpkg-dev) for the .dsc") {
        let dsc = w.dsc.expect("a .dsc");
        let text = std::fs::read_to_string(&dsc).unwrap();
        assert!(text.contains("Source: python-greet-st\n"), "{text}");
        assert!(text.contains("python-greet-st_1.2.0.orig.tar.gz"), "{text}");
    }
}

#[test]
fn hostile_sdist_without_pkg_info_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = sdist(tmp.path(), "bare-1.0", &[("setup.py", "", 0o644)]);
    let sha = py2deb::index::fetch::sha256_file(&path).unwrap();
    let e = read_sdist(
        &path,
        "bare-1.0.tar.gz",
        &sha,
        false,
        tmp.path(),
        &Limits::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("bare-1.0.tar.gz") && e.contains("PKG-INFO"),
        "{e}"
    );
}

#[test]
fn hostile_sdist_with_its_own_debian_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let info = pkg_info("withdeb", "1.0", "");
    let path = sdist(
        tmp.path(),
        "withdeb-1.0",
        &[
            ("PKG-INFO", &info, 0o644),
            ("setup.py", "", 0o644),
            ("debian/rules", "#!/bin/sh\nrm -rf /\n", 0o755),
        ],
    );
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let staging = tempfile::tempdir_in(&out).unwrap();
    let up = read(&path, "withdeb-1.0.tar.gz", staging.path());
    let pkg = debianize::generate(&up, &bookworm(), &options()).unwrap();
    let e = debianize::write(&up, &pkg, &out, &Recorder::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("withdeb-1.0.tar.gz") && e.contains("debian/") && e.contains("repack"),
        "{e}"
    );
    // Nothing was written.
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| !n.to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn hostile_metadata_with_control_characters_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let info = "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\nSummary: ok\u{1b}]0;pwned\u{7}\n";
    let path = sdist(
        tmp.path(),
        "evil-1.0",
        &[("PKG-INFO", info, 0o644), ("setup.py", "", 0o644)],
    );
    let sha = py2deb::index::fetch::sha256_file(&path).unwrap();
    let e = read_sdist(
        &path,
        "evil-1.0.tar.gz",
        &sha,
        false,
        tmp.path(),
        &Limits::default(),
    )
    .unwrap_err();
    let text = format!("{e:#}");
    assert!(text.contains("evil-1.0.tar.gz"), "{text}");
}

#[test]
fn debianize_top_level_test_modules_are_listed_for_pybuild() {
    // pybuild copies only test/ and tests/ into its build directory: a top-level test
    // module must be named in debian/pybuild.testfiles, or pytest collects nothing and
    // bookworm's pybuild fails the build.
    let tmp = tempfile::tempdir().unwrap();
    let info = pkg_info("flat", "1.0", "");
    let path = sdist(
        tmp.path(),
        "flat-1.0",
        &[
            ("PKG-INFO", &info, 0o644),
            ("setup.py", "from setuptools import setup\nsetup()\n", 0o644),
            ("flat.py", "X = 1\n", 0o644),
            (
                "test_flat.py",
                "import flat\nimport requests\n\ndef test_x():\n    assert flat.X\n",
                0o644,
            ),
            ("conftest.py", "", 0o644),
        ],
    );
    let unpack = tmp.path().join("u");
    std::fs::create_dir(&unpack).unwrap();
    let up = read(&path, "flat-1.0.tar.gz", &unpack);
    assert!(
        up.requires_unknown,
        "a legacy setup.py without Requires-Dist"
    );
    let pkg = debianize::generate(&up, &bookworm(), &options()).unwrap();
    assert_eq!(
        pkg.files["debian/pybuild.testfiles"],
        "test_flat.py\nconftest.py\n"
    );
    let control = &pkg.files["debian/control"];
    // setup.py alone: pybuild's own plugin, no pybuild-plugin-pyproject.
    assert!(!control.contains("pybuild-plugin-pyproject"), "{control}");
    // The undeclared import of the tests is added (bookworm ships it) and flagged.
    assert!(
        control.contains(" python3-requests <!nocheck>,\n"),
        "{control}"
    );
    assert!(
        control.contains("# FIXME: the tests import `requests`, which no requirement declares"),
        "{control}"
    );
}

#[test]
fn hostile_license_file_with_escapes_stays_out_of_debian_copyright() {
    let tmp = tempfile::tempdir().unwrap();
    let info = pkg_info("inky", "1.0", "");
    let evil = "Copyright (c) 2020 Mallory\u{1b}[2J\n\nPermission \u{202e}granted.\n";
    let path = sdist(
        tmp.path(),
        "inky-1.0",
        &[
            ("PKG-INFO", &info, 0o644),
            ("setup.py", "", 0o644),
            ("LICENSE", evil, 0o644),
        ],
    );
    let unpack = tmp.path().join("u");
    std::fs::create_dir(&unpack).unwrap();
    let up = read(&path, "inky-1.0.tar.gz", &unpack);
    assert!(up.license_files.is_empty() && up.copyright_holders.is_empty());
    let pkg = debianize::generate(&up, &bookworm(), &options()).unwrap();
    let c = &pkg.files["debian/copyright"];
    assert!(
        !c.chars()
            .any(|ch| ch != '\n' && py2deb::python::metadata::is_unsafe_char(ch)),
        "{c:?}"
    );
    assert!(!c.contains("Mallory"), "{c}");
    assert!(c.contains("Copyright: FIXME\n"), "{c}");
    assert!(c.contains(" FIXME: the text of the Expat license"), "{c}");
}
