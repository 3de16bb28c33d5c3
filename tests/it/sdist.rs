//! Building wheels from sdists: tiny source distributions made here, built without
//! isolation on the system's setuptools (python3-setuptools, python3-wheel), so no
//! network is needed; hostile archives refused before anything is built.
//!
//! The isolated build downloads its backend from PyPI, so it is `#[ignore]`d in the
//! hermetic run and run by scripts/test.sh's network phase (`cargo test --test it network_ -- --ignored`).

use py2deb::inspect::sdist::{self, BuiltWheel, SdistBuildOptions, SourceTree};
use py2deb::inspect::wheel::{Limits, Wheel};
use py2deb::report::Recorder;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

const PYTHON: &str = "/usr/bin/python3";

fn options(cache: &Path) -> SdistBuildOptions {
    SdistBuildOptions {
        isolation: false,
        python: PathBuf::from(PYTHON),
        pip_index_args: Vec::new(),
        timeout: Duration::from_secs(120),
        cache_dir: cache.to_owned(),
        limits: Limits::default(),
        target_is_host: true,
    }
}

/// Write `<dir>/<top>.tar.gz` holding `files` below `<top>/`.
pub fn sdist(dir: &Path, top: &str, files: &[(&str, &str)]) -> PathBuf {
    let path = dir.join(format!("{top}.tar.gz"));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    for (name, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_600_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, format!("{top}/{name}"), text.as_bytes())
            .unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
    path
}

/// One tar entry written byte for byte, bypassing the tar crate's own path checks.
struct Raw<'a> {
    name: &'a str,
    kind: tar::EntryType,
    link: Option<&'a str>,
    data: Vec<u8>,
}

fn raw(name: &str, kind: tar::EntryType) -> Raw<'_> {
    Raw {
        name,
        kind,
        link: None,
        data: Vec::new(),
    }
}

fn file<'a>(name: &'a str, data: &[u8]) -> Raw<'a> {
    Raw {
        data: data.to_vec(),
        ..raw(name, tar::EntryType::Regular)
    }
}

fn link<'a>(name: &'a str, kind: tar::EntryType, target: &'a str) -> Raw<'a> {
    Raw {
        link: Some(target),
        ..raw(name, kind)
    }
}

fn raw_tar(path: &Path, entries: &[Raw]) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let name = &mut h.as_old_mut().name;
        name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        if let Some(l) = e.link {
            h.set_link_name_literal(l).unwrap();
        }
        h.set_size(e.data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(e.kind);
        if matches!(e.kind, tar::EntryType::Char | tar::EntryType::Block) {
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
        }
        h.set_cksum();
        b.append(&h, e.data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

fn metadata_of(w: &BuiltWheel, name: &str, version: &str) -> py2deb::python::metadata::Metadata {
    let v = pep440_rs::Version::from_str(version).unwrap();
    Wheel::open(&w.path, name, &v, Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e:#}", w.path.display()))
        .metadata
}

fn requires(meta: &py2deb::python::metadata::Metadata) -> Vec<String> {
    meta.requires_dist.iter().map(|r| r.to_string()).collect()
}

const LEGACY_SETUP: &str = r#"
from setuptools import setup
setup(
    name="legacy_demo",
    version="1.0",
    py_modules=["legacy_demo"],
    install_requires=["requests>=2.0", "attrs; python_version >= '3.8'"],
)
"#;

/// What setuptools put into old sdists: PKG-INFO without any Requires-Dist.
const OLD_PKG_INFO: &str = "Metadata-Version: 1.1\nName: legacy_demo\nVersion: 1.0\n";

#[test]
fn legacy_setup_py_sdist_builds_with_dependencies_from_the_build() {
    let tmp = tempfile::tempdir().unwrap();
    let src = sdist(
        tmp.path(),
        "legacy_demo-1.0",
        &[
            ("setup.py", LEGACY_SETUP),
            ("PKG-INFO", OLD_PKG_INFO),
            ("legacy_demo.py", "def hello():\n    return 'hi'\n"),
        ],
    );
    let rec = Recorder::default();
    let opts = options(&tmp.path().join("cache"));
    let w = sdist::build_wheel(&SourceTree::Sdist(src), None, &opts, &rec)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(w.pure);
    assert!(!w.cached);
    assert_eq!(
        w.path.file_name().unwrap().to_str().unwrap(),
        "legacy_demo-1.0-py3-none-any.whl"
    );
    assert!(w.log.is_file());
    let meta = metadata_of(&w, "legacy_demo", "1.0");
    assert_eq!(meta.name.replace('_', "-"), "legacy-demo");
    let reqs = requires(&meta);
    assert!(
        reqs.iter().any(|r| r.starts_with("requests")),
        "Requires-Dist comes from the build: {reqs:?}"
    );
    assert!(reqs.iter().any(|r| r.starts_with("attrs")), "{reqs:?}");
    let infos = rec.infos.lock().unwrap().join("\n");
    assert!(infos.contains("building a wheel from source"), "{infos}");
}

#[test]
fn pyproject_sdist_builds_with_setuptools_build_meta() {
    let tmp = tempfile::tempdir().unwrap();
    let pyproject = r#"
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "modern-demo"
version = "2.1.0"
dependencies = ["click>=8"]
"#;
    let src = sdist(
        tmp.path(),
        "modern_demo-2.1.0",
        &[
            ("pyproject.toml", pyproject),
            (
                "PKG-INFO",
                "Metadata-Version: 2.1\nName: modern-demo\nVersion: 2.1.0\n",
            ),
            ("modern_demo/__init__.py", "VERSION = '2.1.0'\n"),
        ],
    );
    let opts = options(&tmp.path().join("cache"));
    let w = sdist::build_wheel(&SourceTree::Sdist(src), None, &opts, &Recorder::default())
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        w.path.file_name().unwrap().to_str().unwrap(),
        "modern_demo-2.1.0-py3-none-any.whl"
    );
    let meta = metadata_of(&w, "modern_demo", "2.1.0");
    assert_eq!(requires(&meta), ["click>=8"]);
    // The wheel's dates come from the sdist (SOURCE_DATE_EPOCH), not from today.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&w.path).unwrap()).unwrap();
    let year = zip.by_index(0).unwrap().last_modified().unwrap().year();
    assert_eq!(year, 2020);
}

#[test]
fn project_directory_builds_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("proj");
    std::fs::create_dir_all(dir.join("dirdemo")).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"dirdemo\"\nversion = \"0.3\"\ndependencies = [\"six\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("dirdemo/__init__.py"), "").unwrap();
    let spec = dir.to_str().unwrap();
    assert_eq!(
        SourceTree::from_spec(spec),
        Some(SourceTree::Dir(dir.clone()))
    );
    let opts = options(&tmp.path().join("cache"));
    let w = sdist::build_wheel(&SourceTree::Dir(dir), None, &opts, &Recorder::default())
        .unwrap_or_else(|e| panic!("{e:#}"));
    let meta = metadata_of(&w, "dirdemo", "0.3");
    assert_eq!(requires(&meta), ["six"]);
}

#[test]
fn second_build_comes_from_the_cache_without_running_python() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("runs.txt");
    let setup = format!(
        "from setuptools import setup\nopen({:?}, 'a').write('run\\n')\n\
         setup(name='cached_demo', version='0.1', py_modules=['cached_demo'])\n",
        marker.to_str().unwrap()
    );
    let src = sdist(
        tmp.path(),
        "cached_demo-0.1",
        &[("setup.py", &setup), ("cached_demo.py", "")],
    );
    let opts = options(&tmp.path().join("cache"));
    let tree = SourceTree::Sdist(src);
    let first = sdist::build_wheel(&tree, None, &opts, &Recorder::default()).unwrap();
    let runs_after_first = std::fs::read_to_string(&marker).unwrap().lines().count();
    assert!(runs_after_first >= 1);
    let t = Instant::now();
    let second = sdist::build_wheel(&tree, None, &opts, &Recorder::default()).unwrap();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(second.cached);
    assert_eq!(first.path, second.path);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().lines().count(),
        runs_after_first,
        "setup.py ran again"
    );
    // Other options are another cache entry.
    let mut other = opts.clone();
    other.pip_index_args = vec!["--no-index".into()];
    let third = sdist::build_wheel(&tree, None, &other, &Recorder::default()).unwrap();
    assert!(!third.cached);
}

#[test]
fn hash_mismatch_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = sdist(tmp.path(), "h-1.0", &[("setup.py", LEGACY_SETUP)]);
    let opts = options(&tmp.path().join("cache"));
    let e = sdist::build_wheel(
        &SourceTree::Sdist(src),
        Some(&"0".repeat(64)),
        &opts,
        &Recorder::default(),
    )
    .unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains("the index published 0000"), "{e}");
}

#[test]
fn failing_build_shows_the_log_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let src = sdist(
        tmp.path(),
        "broken-1.0",
        &[(
            "setup.py",
            "import sys\nprint('BOOM: the compiler is on fire')\nraise RuntimeError('cannot build')\n",
        )],
    );
    let opts = options(&tmp.path().join("cache"));
    let e =
        sdist::build_wheel(&SourceTree::Sdist(src), None, &opts, &Recorder::default()).unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains("BOOM: the compiler is on fire"), "{e}");
    assert!(e.contains("RuntimeError: cannot build"), "{e}");
    assert!(e.contains("build.log"), "{e}");
}

#[test]
fn missing_backend_without_isolation_names_the_apt_package() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = options(&tmp.path().join("cache"));
    // Declared in requires: found by the requirement check.
    let src = sdist(
        tmp.path(),
        "hatched-1.0",
        &[(
            "pyproject.toml",
            "[build-system]\nrequires = [\"hatchling>=1.0\"]\nbuild-backend = \"hatchling.build\"\n",
        )],
    );
    let e =
        sdist::build_wheel(&SourceTree::Sdist(src), None, &opts, &Recorder::default()).unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains("apt install python3-hatchling"), "{e}");
    // Not declared: found when the backend does not import.
    let src = sdist(
        tmp.path(),
        "undeclared-1.0",
        &[(
            "pyproject.toml",
            "[build-system]\nrequires = []\nbuild-backend = \"flit_core.buildapi\"\n",
        )],
    );
    let e =
        sdist::build_wheel(&SourceTree::Sdist(src), None, &opts, &Recorder::default()).unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains("apt install python3-flit-core"), "{e}");
}

#[test]
fn timeout_stops_the_build() {
    let tmp = tempfile::tempdir().unwrap();
    let src = sdist(
        tmp.path(),
        "sleepy-1.0",
        &[(
            "setup.py",
            "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n",
        )],
    );
    let mut opts = options(&tmp.path().join("cache"));
    opts.timeout = Duration::from_secs(3);
    let t = Instant::now();
    let e =
        sdist::build_wheel(&SourceTree::Sdist(src), None, &opts, &Recorder::default()).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    let e = format!("{e:#}");
    assert!(e.contains("did not finish within 3s"), "{e}");
    assert!(e.contains("--build-timeout"), "{e}");
    assert!(e.contains("sleeping"), "{e}");
}

#[test]
fn compiled_wheel_is_refused_for_another_target() {
    let tmp = tempfile::tempdir().unwrap();
    // A distribution that claims extension modules gets a platform tag without needing
    // a compiler.
    let setup = "from setuptools import setup, Distribution\n\
        class Binary(Distribution):\n    def has_ext_modules(self):\n        return True\n\
        setup(name='native', version='1.0', py_modules=['native'], distclass=Binary)\n";
    let src = sdist(
        tmp.path(),
        "native-1.0",
        &[("setup.py", setup), ("native.py", "")],
    );
    let mut opts = options(&tmp.path().join("cache"));
    opts.target_is_host = false;
    let e = sdist::build_wheel(
        &SourceTree::Sdist(src.clone()),
        None,
        &opts,
        &Recorder::default(),
    )
    .unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains("--target host"), "{e}");
    opts.target_is_host = true;
    let w = sdist::build_wheel(&SourceTree::Sdist(src), None, &opts, &Recorder::default()).unwrap();
    assert!(!w.pure);
}

#[test]
fn root_is_warned() {
    if !crate::support::prerequisite(sdist::process::running_as_root(), "running as root") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = sdist(
        tmp.path(),
        "legacy_demo-1.0",
        &[("setup.py", LEGACY_SETUP), ("legacy_demo.py", "")],
    );
    let rec = Recorder::default();
    sdist::build_wheel(
        &SourceTree::Sdist(src),
        None,
        &options(&tmp.path().join("cache")),
        &rec,
    )
    .unwrap();
    let w = rec.warnings.lock().unwrap().join("\n");
    assert!(
        w.contains("as root") && w.contains("unprivileged user"),
        "{w}"
    );
}

/// Unpacking alone must refuse the archive; nothing is built.
fn refused(entries: &[Raw], limits: Limits) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("evil-1.0.tar.gz");
    raw_tar(&path, entries);
    let dest = tmp.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    let e = sdist::unpack::unpack(&path, &dest, &limits).unwrap_err();
    // Nothing escaped next to the unpack directory.
    for stray in ["x", "evil", "passwd"] {
        assert!(!tmp.path().join(stray).exists(), "{stray} escaped");
    }
    format!("{e:#}")
}

#[test]
fn hostile_tarballs_are_refused() {
    use tar::EntryType::*;
    let l = Limits::default;
    let e = refused(&[file("evil-1.0/../x", b"owned")], l());
    assert!(e.contains("`evil-1.0/../x`") && e.contains("`..`"), "{e}");
    let e = refused(&[file("/tmp/evil-abs", b"owned")], l());
    assert!(e.contains("absolute path"), "{e}");
    let e = refused(&[link("evil-1.0/passwd", Symlink, "/etc/passwd")], l());
    assert!(
        e.contains("points to `/etc/passwd`") && e.contains("absolute"),
        "{e}"
    );
    let e = refused(&[link("evil-1.0/sub/up", Symlink, "../../x")], l());
    assert!(e.contains("outside the project tree"), "{e}");
    let e = refused(
        &[
            link("evil-1.0/a", Symlink, "."),
            link("evil-1.0/b", Symlink, "a/../.."),
        ],
        l(),
    );
    assert!(e.contains("climbs back up"), "{e}");
    let e = refused(&[link("evil-1.0/h", Link, "/etc/passwd")], l());
    assert!(e.contains("hard link") && e.contains("/etc/passwd"), "{e}");
    let e = refused(&[link("evil-1.0/h", Link, "evil-1.0/../../x")], l());
    assert!(e.contains("hard link"), "{e}");
    let e = refused(&[raw("evil-1.0/null", Char)], l());
    assert!(e.contains("character device"), "{e}");
    let e = refused(&[raw("evil-1.0/pipe", Fifo)], l());
    assert!(e.contains("FIFO"), "{e}");
    // Writing through a planted in-tree link to a directory is refused too.
    let e = refused(
        &[
            link("evil-1.0/d", Symlink, "."),
            file("evil-1.0/d/x", b"via link"),
        ],
        l(),
    );
    assert!(e.contains("written through"), "{e}");
    let e = refused(&[file("evil-1.0/a", b""), file("other-1.0/b", b"")], l());
    assert!(e.contains("more than one top-level entry"), "{e}");
    // A bomb: 4 MiB of zeros compress to a few KiB.
    let small = Limits {
        max_ratio: u64::MAX,
        max_total: 1 << 20,
        max_entry: 1 << 20,
        max_entries: 10,
    };
    let e = refused(
        &[file("evil-1.0/zeros", &vec![0u8; 4 << 20])],
        small.clone(),
    );
    assert!(e.contains("decompression bomb"), "{e}");
    let many: Vec<String> = (0..20).map(|i| format!("evil-1.0/f{i}")).collect();
    let entries: Vec<Raw> = many.iter().map(|n| file(n, b"")).collect();
    let e = refused(&entries, small);
    assert!(e.contains("more than 10 entries"), "{e}");
}

#[test]
fn hostile_sdist_bomb_refused_by_ratio_at_default_limits() {
    // 40 MiB of zeros gzip to about 40 KB: far under the 16 GiB total cap, but a ratio
    // no source tree has.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("evil-1.0.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::best(),
    );
    let mut b = tar::Builder::new(gz);
    let zeros = vec![0u8; 40 << 20];
    let mut h = tar::Header::new_gnu();
    h.set_size(zeros.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "evil-1.0/zeros", zeros.as_slice())
        .unwrap();
    b.into_inner().unwrap().finish().unwrap();
    let dest = tmp.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    let e = sdist::unpack::unpack(&path, &dest, &Limits::default()).unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains("more than 250 times its size"), "{e}");
    assert!(
        e.contains("evil-1.0/zeros") && e.contains("--max-ratio"),
        "{e}"
    );
    // Raised, the same archive unpacks.
    let dest = tmp.path().join("out2");
    std::fs::create_dir(&dest).unwrap();
    let raised = Limits {
        max_ratio: 5000,
        ..Limits::default()
    };
    sdist::unpack::unpack(&path, &dest, &raised).unwrap();
}

#[test]
fn safe_links_and_hard_links_are_kept_inside_the_tree() {
    use tar::EntryType::*;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ok-1.0.tar.gz");
    raw_tar(
        &path,
        &[
            file("ok-1.0/pkg/data.txt", b"data"),
            link("ok-1.0/pkg/alias.txt", Symlink, "data.txt"),
            link("ok-1.0/sub/dir/up.txt", Symlink, "../../pkg/data.txt"),
            link("ok-1.0/copy.txt", Link, "ok-1.0/pkg/data.txt"),
            raw("pax_global_header", XGlobalHeader),
        ],
    );
    let dest = tmp.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    let u = sdist::unpack::unpack(&path, &dest, &Limits::default()).unwrap();
    assert_eq!(u.root, dest.join("ok-1.0"));
    let read = |p: &str| std::fs::read_to_string(u.root.join(p)).unwrap();
    assert_eq!(read("pkg/alias.txt"), "data");
    assert_eq!(read("sub/dir/up.txt"), "data");
    assert_eq!(read("copy.txt"), "data");
    assert!(!std::fs::symlink_metadata(u.root.join("copy.txt"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn hostile_zip_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("evil-1.0.zip");
    let status = std::process::Command::new(PYTHON)
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
             \x20   z.writestr('evil-1.0/setup.py', '')\n\
             \x20   z.writestr('evil-1.0/../../x', 'owned')\n",
        )
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let dest = tmp.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    let e = sdist::unpack::unpack(&path, &dest, &Limits::default()).unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains("`..`"), "{e}");
    assert!(!tmp.path().join("x").exists());
    let mut s = String::new();
    let _ = std::fs::File::open(&path).unwrap().read_to_string(&mut s);
}

/// Needs PyPI, so it is not part of the hermetic run; scripts/test.sh runs it in its
/// network phase (`cargo test --test it network_ -- --ignored`).
#[test]
#[ignore = "needs PyPI: run with `cargo test --test it network_ -- --ignored`"]
fn network_sdist_isolated_build_from_pypi() {
    let tmp = tempfile::tempdir().unwrap();
    let pyproject = "[build-system]\nrequires = [\"setuptools>=61\"]\n\
        build-backend = \"setuptools.build_meta\"\n\n\
        [project]\nname = \"iso-demo\"\nversion = \"1.0\"\ndependencies = [\"idna\"]\n";
    let src = sdist(
        tmp.path(),
        "iso_demo-1.0",
        &[("pyproject.toml", pyproject), ("iso_demo/__init__.py", "")],
    );
    let mut opts = options(&tmp.path().join("cache"));
    opts.isolation = true;
    opts.timeout = Duration::from_secs(600);
    let rec = Recorder::default();
    let w = sdist::build_wheel(&SourceTree::Sdist(src), None, &opts, &rec)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let meta = metadata_of(&w, "iso_demo", "1.0");
    assert_eq!(requires(&meta), ["idna"]);
    let infos = rec.infos.lock().unwrap().join("\n");
    assert!(infos.contains("created a build environment"), "{infos}");
}

#[test]
fn missing_venv_module_names_python3_venv() {
    let tmp = tempfile::tempdir().unwrap();
    // An interpreter like Debian's without python3-venv: `ensurepip` does not import.
    let fake = tmp.path().join("python3");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = -c ]; then echo \"ModuleNotFoundError: No module named \
         'ensurepip'\" >&2; exit 1; fi\nexec /usr/bin/python3 \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = sdist(
        tmp.path(),
        "legacy_demo-1.0",
        &[("setup.py", LEGACY_SETUP), ("legacy_demo.py", "")],
    );
    let mut opts = options(&tmp.path().join("cache"));
    opts.isolation = true;
    opts.python = fake;
    let e =
        sdist::build_wheel(&SourceTree::Sdist(src), None, &opts, &Recorder::default()).unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains("apt install python3-venv"), "{e}");
    assert!(e.contains("--no-build-isolation"), "{e}");
}
