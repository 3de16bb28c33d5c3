//! The real binary in a crafted environment: commands that build nothing must not read the
//! machine (dpkg, ldd, python3) nor the build environment (DEBEMAIL), so a host without a
//! Python or with a malformed DEBEMAIL can still look after its repository.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use py2deb::repo::{Incoming, InitOptions, Repo};
use py2deb::report::Silent;

use crate::repo::{have, ok};

/// A PATH of stand-ins for the programs the host target runs, each leaving a mark when
/// run; nothing else (no real dpkg, python3 or ldd) is reachable through it.
fn tripwire_path(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    for tool in ["dpkg", "ldd", "python3", "gpg"] {
        let p = bin.join(tool);
        fs::write(
            &p,
            format!(
                "#!/bin/sh\necho {tool} >> '{}'\nexit 1\n",
                dir.join("ran").display()
            ),
        )
        .unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn run_crafted(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args(args)
        .env_clear()
        .env("HOME", dir)
        .env("PATH", tripwire_path(dir))
        .env("DEBEMAIL", "bad")
        .env("DEBFULLNAME", "Nobody")
        .env("SOURCE_DATE_EPOCH", "not-a-number")
        .output()
        .unwrap()
}

/// A tiny package for the listing, when dpkg-deb is there to build it.
fn publish_one(tmp: &Path, root: &Path) -> bool {
    if !crate::support::prerequisite(have("dpkg-deb"), "dpkg-deb to build a package to list") {
        return false;
    }
    let tree = tmp.join("tree");
    fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    fs::write(
        tree.join("DEBIAN/control"),
        "Package: listed\nVersion: 1.0-1\nArchitecture: all\nMaintainer: T <t@example.invalid>\n\
         Description: a package to list\n",
    )
    .unwrap();
    let deb = tmp.join("listed_1.0-1_all.deb");
    ok(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&tree)
            .arg(&deb)
            .output()
            .unwrap(),
        "dpkg-deb --build",
    );
    Repo::open(root)
        .unwrap()
        .add(&[Incoming::foreign(deb)], None, &Silent)
        .unwrap();
    true
}

#[test]
fn repo_commands_without_host_tools_or_with_malformed_debemail() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    Repo::init(
        &root,
        InitOptions {
            suite: "stable".into(),
            architectures: vec!["amd64".into()],
            ..Default::default()
        },
        &Silent,
    )
    .unwrap();
    let listed = publish_one(tmp.path(), &root);
    let dir = root.to_str().unwrap();
    let text = |o: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };

    let o = run_crafted(tmp.path(), &["repo", "list", dir]);
    assert!(o.status.success(), "repo list: {}", text(&o));
    if listed {
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("listed\t1.0-1\tall"),
            "{}",
            text(&o)
        );
    }
    for args in [
        &["repo", "check", dir][..],
        &["repo", "sources", dir],
        &["version", "1.0rc1"],
    ] {
        let o = run_crafted(tmp.path(), args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    // An unsigned repository has no key to export: the error is about that, not about the
    // environment.
    let o = run_crafted(tmp.path(), &["repo", "export-key", dir]);
    assert!(!o.status.success());
    assert!(text(&o).contains("is unsigned"), "{}", text(&o));
    let o = run_crafted(tmp.path(), &["repo", "remove", dir, "listed"]);
    if listed {
        assert!(o.status.success(), "repo remove: {}", text(&o));
        assert!(
            text(&o).contains("removed listed 1.0-1 all"),
            "{}",
            text(&o)
        );
    } else {
        assert!(text(&o).contains("no package `listed`"), "{}", text(&o));
    }
    assert!(
        !tmp.path().join("ran").exists(),
        "a command that builds nothing ran {}",
        fs::read_to_string(tmp.path().join("ran")).unwrap_or_default()
    );
}

#[test]
fn build_still_rejects_malformed_debemail() {
    // The check moved, it did not go: a command that builds names the bad variable.
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args([
            "build", "pepotron", "--target", "bookworm", "--arch", "amd64",
        ])
        .args(["--offline", "--no-index"])
        .env_clear()
        .env("HOME", tmp.path())
        .env("PATH", tripwire_path(tmp.path()))
        .env("DEBFULLNAME", "Nobody")
        .env("DEBEMAIL", "bad")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("DEBEMAIL") && err.contains("Nobody <bad>"),
        "{err}"
    );
}
