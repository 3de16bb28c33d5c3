//! The one cache root: `--cache-dir` is honoured by every stage (downloads, the target's
//! archive, its dist-info map), which keep versioned buckets under a tagged root.

use crate::support::{Dist, IndexServer, Mode, WheelBuilder};
use std::path::{Path, PathBuf};
use std::process::Command;

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn cache_dir_is_the_only_cache_every_stage_writes() {
    let wheels = tempfile::tempdir().unwrap();
    let wheel = WheelBuilder::new("cached_demo", "1.0")
        .file("cached_demo/__init__.py", "X = 1\n")
        .metadata("Requires-Dist: requests>=2")
        .write(wheels.path());
    let server = IndexServer::start(Mode::Json);
    server.add("cached-demo", Dist::from_path(&wheel));
    let lists = tempfile::tempdir().unwrap();
    std::fs::write(
        lists
            .path()
            .join("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"),
        "Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n\
         Package: python3-requests\nVersion: 2.28.1+dfsg-1\nArchitecture: all\n\n",
    )
    .unwrap();
    // A home, XDG cache and temporary directory that must stay empty.
    let home = tempfile::tempdir().unwrap();
    let xdg = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .env_remove("PIP_INDEX_URL")
        .env_remove("PY2DEB_CACHE_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .env("PY2DEB_RETRY_DELAY_MS", "1")
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", xdg.path())
        .env("TMPDIR", tmp.path())
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["cached-demo", "--index-url", &server.url()])
        .args(["--target", "bookworm", "--arch", "amd64", "--apt-lists"])
        .arg(lists.path())
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("-o")
        .arg(out.path())
        .args(["--maintainer", "T <t@example.org>", "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (what, dir) in [("HOME", &home), ("XDG_CACHE_HOME", &xdg), ("TMPDIR", &tmp)] {
        let left = walk(dir.path());
        assert!(left.is_empty(), "{what} was written to: {left:?}");
    }
    let tag = std::fs::read_to_string(cache.path().join("CACHEDIR.TAG")).unwrap();
    assert!(
        tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n"),
        "{tag}"
    );
    // The download and the parsed apt lists are in their buckets.
    let files = walk(&cache.path().join("files-v1"));
    assert!(
        files
            .iter()
            .any(|p| p.ends_with(wheel.file_name().unwrap())),
        "{files:?}"
    );
    assert!(cache
        .path()
        .join("archive-v2/host/packages-amd64.tsv")
        .is_file());
}
