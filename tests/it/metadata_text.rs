//! Documentation and metadata lintian accepts (issue 8, section 5): each copyright
//! `License:` stanza holds its own license's text, the Description does not repeat its
//! synopsis, and files upstream installs in unusual places are kept and reported.

use crate::support::WheelBuilder;
use std::path::Path;
use std::process::{Command, Output};

fn py2deb(wheel: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .arg(wheel)
        .args(["--target", "bookworm", "--arch", "amd64", "--offline"])
        .arg("--apt-lists")
        .arg(out.with_extension("lists"))
        .arg("-o")
        .arg(out)
        .args(["--maintainer", "Test Maintainer <test@example.org>"])
        .env("PY2DEB_CACHE_DIR", out.with_extension("cache"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap()
}

fn build(dir: &Path, w: WheelBuilder) -> (Output, std::path::PathBuf) {
    let wheel = w.write(dir);
    let out = dir.join("out");
    let lists = out.with_extension("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("mirror_debian_dists_bookworm_main_binary-amd64_Packages"),
        "Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n",
    )
    .unwrap();
    (py2deb(&wheel, &out), out)
}

fn extract(deb: &Path, into: &Path) {
    assert!(Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(into)
        .status()
        .unwrap()
        .success());
}

fn have_dpkg_deb() -> bool {
    crate::support::prerequisite(
        Command::new("dpkg-deb").arg("--version").output().is_ok(),
        "dpkg-deb (apt install dpkg)",
    )
}

const APACHE: &str = "                                 Apache License\n                           Version 2.0, January 2004\n                        http://www.apache.org/licenses/\n";
const EXPAT: &str = "MIT License\n\nCopyright (c) 2024 Dual Authors\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction.\n";

/// A dual-licensed wheel ships Apache's text first: the Expat stanza used to carry it.
#[test]
fn copyright_expat_stanza_carries_the_expat_text_not_apache() {
    if !have_dpkg_deb() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = WheelBuilder::new("dual", "1.0")
        .file("dual/__init__.py", "")
        .metadata("Summary: Dual licensed")
        .metadata("License-Expression: Apache-2.0 OR MIT");
    let di = w.dist_info();
    let w = w
        .file(&format!("{di}/licenses/LICENSE-APACHE"), APACHE)
        .file(&format!("{di}/licenses/LICENSE-MIT"), EXPAT);
    let (o, out) = build(tmp.path(), w);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let x = tmp.path().join("x");
    extract(&out.join("python3-dual_1.0-0py2deb1_all.deb"), &x);
    let copyright =
        std::fs::read_to_string(x.join("usr/share/doc/python3-dual/copyright")).unwrap();
    let expat = copyright
        .split("\nLicense: Expat\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no Expat stanza: {copyright}"));
    let expat = expat.split("\n\n").next().unwrap();
    assert!(
        expat.contains("Permission is hereby granted"),
        "{copyright}"
    );
    assert!(!expat.contains("Apache License"), "{copyright}");
    assert!(
        copyright.contains("/usr/share/common-licenses/Apache-2.0"),
        "{copyright}"
    );
}

/// lintian `description-synopsis-is-duplicated`: a README that opens with the project's
/// name and its summary, then repeats the summary as a first sentence.
#[test]
fn description_does_not_repeat_the_synopsis() {
    if !have_dpkg_deb() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = WheelBuilder::new("fmtr", "1.0")
        .file("fmtr/__init__.py", "")
        .metadata("Summary: The uncompromising code formatter.")
        .metadata("Description-Content-Type: text/markdown")
        .description(
            "fmtr: The uncompromising code formatter.\n\n\
             The uncompromising code formatter. By using it, you agree to cede control over \
             minutiae of hand-formatting.\n",
        );
    let (o, out) = build(tmp.path(), w);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = Command::new("dpkg-deb")
        .arg("-f")
        .arg(out.join("python3-fmtr_1.0-0py2deb1_all.deb"))
        .arg("Description")
        .output()
        .unwrap();
    let d = String::from_utf8_lossy(&d.stdout);
    let mut lines = d.lines();
    assert_eq!(lines.next(), Some("Uncompromising code formatter"), "{d}");
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with(" By using it, you agree"), "{d}");
    assert!(
        !d.to_lowercase().contains("uncompromising code formatter."),
        "{d}"
    );
}

/// Files upstream puts in odd places (`.data/data/etc/…` lands in /usr/etc, a README
/// beside the modules of dist-packages) are kept, since the program may read them, and
/// named in a warning.
#[test]
fn unusual_install_places_are_kept_and_reported() {
    if !have_dpkg_deb() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = WheelBuilder::new("oddtool", "1.0")
        .file("oddtool/__init__.py", "")
        .file("README.md", "read me\n")
        .file("tests/__init__.py", "")
        .file("oddtool-1.0.data/data/etc/oddtool.conf", "x = 1\n")
        .file("oddtool-1.0.data/data/share/oddtool/data.txt", "fine\n")
        .metadata("Summary: Odd layout");
    let (o, out) = build(tmp.path(), w);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    for place in [
        "/usr/etc/",
        "/usr/lib/python3/dist-packages/README.md",
        "/usr/lib/python3/dist-packages/tests/",
    ] {
        assert!(
            stderr.contains(&format!("kept {place} (")),
            "{place}: {stderr}"
        );
    }
    assert!(
        !stderr.contains("/usr/share/oddtool"),
        "a usual place: {stderr}"
    );
    let x = tmp.path().join("x");
    extract(&out.join("python3-oddtool_1.0-0py2deb1_all.deb"), &x);
    assert!(x.join("usr/etc/oddtool.conf").is_file());
    assert!(x.join("usr/lib/python3/dist-packages/README.md").is_file());
}

fn description_of(dir: &Path, w: WheelBuilder, deb: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let (o, out) = build(dir, w);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = Command::new("dpkg-deb")
        .arg("-f")
        .arg(out.join(deb))
        .arg("Description")
        .output()
        .unwrap();
    String::from_utf8_lossy(&d.stdout).into_owned()
}

/// lintian `description-starts-with-package-name` (httpie's "HTTPie: modern…"),
/// `description-too-short` (a Summary that is only the name) and
/// `description-synopsis-is-duplicated` when the long text opens with the Summary in other
/// spelling (emoji, "command-line") or continues a Summary cut to fit.
#[test]
fn synopsis_never_starts_with_the_name_is_never_one_word_nor_repeated() {
    if !have_dpkg_deb() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = description_of(
        &tmp.path().join("a"),
        WheelBuilder::new("httpie", "1.0")
            .file("httpie/__init__.py", "")
            .metadata("Summary: HTTPie: modern, user-friendly command-line HTTP client")
            .metadata("Description-Content-Type: text/markdown")
            .description(
                "🐍 Modern, user-friendly command line HTTP client 📚.\n\nIt talks to APIs.\n",
            ),
        "python3-httpie_1.0-0py2deb1_all.deb",
    );
    assert!(
        d.starts_with("modern, user-friendly command-line HTTP client\n It talks"),
        "{d}"
    );
    let d = description_of(
        &tmp.path().join("b"),
        WheelBuilder::new("click_default_group", "1.0")
            .file("click_default_group.py", "")
            .metadata("Summary: click_default_group"),
        "python3-click-default-group_1.0-0py2deb1_all.deb",
    );
    assert!(
        d.starts_with("Python 3 distribution click_default_group\n"),
        "{d}"
    );
    let long = "sphinxcontrib-serializinghtml is a sphinx extension which outputs \"serialized\" HTML files (json and pickle)";
    let d = description_of(
        &tmp.path().join("c"),
        WheelBuilder::new("serial", "1.0")
            .file("serial/__init__.py", "")
            .metadata(&format!("Summary: {long}"))
            .metadata("Description-Content-Type: text/markdown")
            .description(&format!("{long}. It is used by Sphinx.\n")),
        "python3-serial_1.0-0py2deb1_all.deb",
    );
    let mut lines = d.lines();
    let synopsis = lines.next().unwrap();
    assert!(long.starts_with(synopsis), "{d}");
    assert_eq!(lines.next(), Some(" It is used by Sphinx."), "{d}");
}
