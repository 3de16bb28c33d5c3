//! Index pages are read once per run: the resolver asks for a project's page for its
//! wheel, its requirements and at every restart of the closure, and each of those must
//! be answered from the first fetch.

use crate::support::{Dist, IndexServer, Mode, WheelBuilder};
use std::collections::BTreeMap;
use std::process::Command;

#[test]
fn closure_restart_fetches_each_project_page_once() {
    // top → a, b; a → c (any); b → c<2. c 2.0 is chosen for a first, then b excludes it
    // and the closure is resolved again.
    let tmp = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    for (project, w) in [
        (
            "top",
            WheelBuilder::new("top", "1.0")
                .metadata("Requires-Dist: a")
                .metadata("Requires-Dist: b")
                .entry_points("[console_scripts]\ntop = top:main\n")
                .file("top/__init__.py", "def main(): pass\n"),
        ),
        (
            "a",
            WheelBuilder::new("a", "1.0")
                .metadata("Requires-Dist: c")
                .file("a/__init__.py", ""),
        ),
        (
            "b",
            WheelBuilder::new("b", "1.0")
                .metadata("Requires-Dist: c<2")
                .file("b/__init__.py", ""),
        ),
        ("c", WheelBuilder::new("c", "1.0").file("c/__init__.py", "")),
        ("c", WheelBuilder::new("c", "2.0").file("c/__init__.py", "")),
    ] {
        server.add(project, Dist::from_path(&w.write(tmp.path())));
    }
    let lists = tmp.path().join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("mirror_debian_dists_bookworm_main_binary-amd64_Packages"),
        "Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args(["top", "--index-url", &server.url()])
        .args(["--target", "bookworm", "--arch", "amd64", "--apt-lists"])
        .arg(&lists)
        .arg("-o")
        .arg(&out)
        .arg("--cache-dir")
        .arg(tmp.path().join("cache"))
        .args(["--maintainer", "T <t@example.org>", "-v"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("PY2DEB_RETRY_DELAY_MS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("resolving again"),
        "the fixture no longer makes the closure restart: {stderr}"
    );
    let mut pages: BTreeMap<String, usize> = BTreeMap::new();
    for p in server.paths() {
        if p.starts_with("/simple/") {
            *pages.entry(p).or_default() += 1;
        }
    }
    let want: Vec<String> = ["a", "b", "c", "top"]
        .iter()
        .map(|n| format!("/simple/{n}/"))
        .collect();
    assert_eq!(pages.keys().cloned().collect::<Vec<_>>(), want, "{pages:?}");
    assert!(
        pages.values().all(|&n| n == 1),
        "a project page was fetched more than once: {pages:?}"
    );
    assert!(out.join("python3-c_1.0-0py2deb1_all.deb").exists());
}
