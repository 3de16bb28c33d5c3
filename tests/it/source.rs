//! `py2deb` on sources: a local sdist, a project directory, and an index that offers
//! only an sdist. Regression tests for issue 5 are named `issue5_*`. The builds use
//! `--no-build-isolation` and the system's setuptools, so no network is needed.

use crate::sdist::sdist;
use crate::support::{Dist, IndexServer, Mode};
use std::path::Path;
use std::process::{Command, Output};

const SETUP_PY: &str = "from setuptools import setup\nsetup(name='srcdemo', version='0.3', py_modules=['srcdemo'], \
                        install_requires=['requests>=2.6'], entry_points={'console_scripts': ['srcdemo=srcdemo:main']})\n";
const MODULE: &str = "def main():\n    print('srcdemo ok')\n";

fn lists(dir: &Path) -> std::path::PathBuf {
    let d = dir.join("lists");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("m_dists_bookworm_main_binary-amd64_Packages"),
        "Package: python3-requests\nVersion: 2.28.1+dfsg-1\nArchitecture: all\n\n",
    )
    .unwrap();
    d
}

fn py2deb(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args(args)
        .args([
            "--target",
            "bookworm",
            "--arch",
            "amd64",
            "--no-build-isolation",
            "--json",
            "--apt-lists",
        ])
        .arg(lists(dir))
        .args(["--maintainer", "T <t@example.org>", "-o"])
        .arg(dir.join("out"))
        .env("PY2DEB_CACHE_DIR", dir.join("cache"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap()
}

/// The demo project as an sdist whose PKG-INFO carries no Requires-Dist.
fn demo_sdist(dir: &Path) -> std::path::PathBuf {
    sdist(
        dir,
        "srcdemo-0.3",
        &[
            ("setup.py", SETUP_PY),
            ("srcdemo.py", MODULE),
            (
                "PKG-INFO",
                "Metadata-Version: 1.0\nName: srcdemo\nVersion: 0.3\n",
            ),
        ],
    )
}

fn check_package(dir: &Path, o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let deb = dir.join("out/python3-srcdemo_0.3-0py2deb1_all.deb");
    let depends = Command::new("dpkg-deb")
        .arg("-f")
        .arg(&deb)
        .arg("Depends")
        .output()
        .unwrap();
    // From the built wheel's METADATA: the sdist's PKG-INFO carries no Requires-Dist.
    let depends = String::from_utf8_lossy(&depends.stdout);
    assert!(depends.contains("python3-requests (>= 2.6"), "{depends}");
    let list = Command::new("dpkg-deb")
        .arg("--contents")
        .arg(&deb)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("./usr/lib/python3/dist-packages/srcdemo.py"),
        "{list}"
    );
    assert!(list.contains("./usr/bin/srcdemo"), "{list}");
}

#[test]
fn issue5_local_sdist_builds_a_package() {
    let tmp = tempfile::tempdir().unwrap();
    let path = demo_sdist(tmp.path());
    let o = py2deb(tmp.path(), &[path.to_str().unwrap(), "--no-index"]);
    check_package(tmp.path(), &o);
}

#[test]
fn issue5_project_directory_builds_a_package() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = tmp.path().join("srcdemo");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join("setup.py"), SETUP_PY).unwrap();
    std::fs::write(proj.join("srcdemo.py"), MODULE).unwrap();
    let o = py2deb(tmp.path(), &[proj.to_str().unwrap(), "--no-index"]);
    check_package(tmp.path(), &o);
}

#[test]
fn issue5_index_with_only_an_sdist_falls_back_to_building_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = demo_sdist(tmp.path());
    let server = IndexServer::start(Mode::Html);
    server.add("srcdemo", Dist::from_path(&path));
    let o = py2deb(tmp.path(), &["srcdemo", "--index-url", &server.url()]);
    check_package(tmp.path(), &o);
}

#[test]
fn issue5_hostile_sdist_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    // Re-pack with an entry escaping the tree.
    let bad = tmp.path().join("bad-1.0.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&bad).unwrap(),
            flate2::Compression::fast(),
        );
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        let data = b"x";
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Write the name bytes directly: the tar crate refuses `..` itself.
        h.as_gnu_mut().unwrap().name[..16].copy_from_slice(b"bad-1.0/../../ev");
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
        b.into_inner().unwrap().finish().unwrap();
    }
    let o = py2deb(tmp.path(), &[bad.to_str().unwrap(), "--no-index"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(".."), "{err}");
    let out = tmp.path().join("out");
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}
