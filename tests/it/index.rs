//! Resolve and fetch against the loopback index: both page formats, selection rules,
//! find-links, errors, hashes, retries and the offline cache.

use crate::support::{Dist, IndexServer, Mode, RawZip, WheelBuilder};
use pep440_rs::VersionSpecifiers;
use py2deb::debian::target::Target;
use py2deb::index::fetch::{fetch, sha256_file, Cache, Http};
use py2deb::index::{Candidate, Index, IndexConfig};
use py2deb::report::Recorder;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use url::Url;

fn http() -> Http {
    Http::new().unwrap().with_backoff(Duration::from_millis(5))
}

fn bookworm() -> Target {
    Target::named("bookworm", "amd64").unwrap()
}

fn config(index: &str) -> IndexConfig {
    IndexConfig {
        index_url: Url::parse(index).unwrap(),
        ..IndexConfig::default()
    }
}

fn spec(s: &str) -> VersionSpecifiers {
    VersionSpecifiers::from_str(s).unwrap()
}

fn select(config: IndexConfig, name: &str, s: &str) -> anyhow::Result<Candidate> {
    let http = http();
    let rec = Recorder::default();
    let index = Index::new(config, &http, &rec);
    index.select_wheel(name, &spec(s), &bookworm())
}

/// Version 1.0 pure, 2.0 pure + cp311 manylinux + musllinux, 2.1b1 pure.
fn populate(server: &IndexServer, dir: &Path) {
    for w in [
        WheelBuilder::new("Foo.Bar", "1.0"),
        WheelBuilder::new("Foo.Bar", "2.0"),
        WheelBuilder::new("Foo.Bar", "2.0")
            .tag("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"),
        WheelBuilder::new("Foo.Bar", "2.0").tag("cp311-cp311-musllinux_1_2_x86_64"),
        WheelBuilder::new("Foo.Bar", "2.1b1"),
    ] {
        server.add(
            "foo-bar",
            Dist::from_path(&w.write(dir)).upload_time("2024-05-06T07:08:09.123456Z"),
        );
    }
}

#[test]
fn json_html_and_negotiated_pages_resolve_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let mut chosen = Vec::new();
    for mode in [Mode::Json, Mode::Html, Mode::Negotiate] {
        let server = IndexServer::start(mode);
        populate(&server, dir.path());
        let c = select(config(&server.url()), "foo_bar", "").unwrap();
        assert_eq!(c.name, "foo-bar");
        assert_eq!(c.version.to_string(), "2.0");
        assert!(c.file.sha256.is_some());
        assert!(
            c.file.url.as_str().starts_with(&server.base()),
            "{}",
            c.file.url
        );
        chosen.push(c.file.filename.clone());
        let req = &server.requests()[0];
        assert_eq!(req.path, "/simple/foo-bar/");
        assert!(req
            .header("accept")
            .unwrap()
            .starts_with("application/vnd.pypi.simple.v1+json"));
        if mode == Mode::Json {
            assert_eq!(c.file.upload_time, Some(1714979289));
        }
    }
    assert_eq!(
        chosen[0],
        "Foo_Bar-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    );
    assert!(chosen.iter().all(|c| c == &chosen[0]), "{chosen:?}");
}

#[test]
fn yanked_files_need_an_exact_pin() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [Mode::Json, Mode::Html] {
        let server = IndexServer::start(mode);
        server.add_path("foo", &WheelBuilder::new("foo", "1.0").write(dir.path()));
        server.add(
            "foo",
            Dist::from_path(&WheelBuilder::new("foo", "1.1").write(dir.path()))
                .yanked("broken build"),
        );
        server.add(
            "foo",
            Dist::from_path(&WheelBuilder::new("foo", "1.2").write(dir.path())).yanked(""),
        );
        assert_eq!(
            select(config(&server.url()), "foo", "")
                .unwrap()
                .version
                .to_string(),
            "1.0"
        );
        assert_eq!(
            select(config(&server.url()), "foo", "==1.1")
                .unwrap()
                .version
                .to_string(),
            "1.1"
        );
        assert_eq!(
            select(config(&server.url()), "foo", "===1.2")
                .unwrap()
                .version
                .to_string(),
            "1.2"
        );
        // A wildcard is a range, not a pin (PEP 592).
        assert_eq!(
            select(config(&server.url()), "foo", "==1.*")
                .unwrap()
                .version
                .to_string(),
            "1.0"
        );
        let e = select(config(&server.url()), "foo", ">=1.1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("foo-1.1-py3-none-any.whl") && e.contains("yanked: broken build"),
            "{e}"
        );
    }
}

#[test]
fn pinned_yanked_file_is_used_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    server.add(
        "foo",
        Dist::from_path(&WheelBuilder::new("foo", "1.1").write(dir.path())).yanked("bad"),
    );
    let http = http();
    let rec = Recorder::default();
    let index = Index::new(config(&server.url()), &http, &rec);
    index
        .select_wheel("foo", &spec("==1.1"), &bookworm())
        .unwrap();
    let warnings = rec.warnings.lock().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("yanked") && w.contains("bad")),
        "{warnings:?}"
    );
}

#[test]
fn requires_python_is_checked_against_the_target() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [Mode::Json, Mode::Html] {
        let server = IndexServer::start(mode);
        server.add(
            "foo",
            Dist::from_path(&WheelBuilder::new("foo", "1.0").write(dir.path()))
                .requires_python(">=3.8"),
        );
        server.add(
            "foo",
            Dist::from_path(&WheelBuilder::new("foo", "2.0").write(dir.path()))
                .requires_python(">=3.12"),
        );
        assert_eq!(
            select(config(&server.url()), "foo", "")
                .unwrap()
                .version
                .to_string(),
            "1.0"
        );
        let e = select(config(&server.url()), "foo", ">=2")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("requires Python >=3.12") && e.contains("3.11.2"),
            "{e}"
        );
    }
}

#[test]
fn prereleases_need_pre_or_a_prerelease_specifier() {
    let dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    populate(&server, dir.path());
    assert_eq!(
        select(config(&server.url()), "foo-bar", "")
            .unwrap()
            .version
            .to_string(),
        "2.0"
    );
    let pre = IndexConfig {
        pre: true,
        ..config(&server.url())
    };
    assert_eq!(
        select(pre, "foo-bar", "").unwrap().version.to_string(),
        "2.1b1"
    );
    assert_eq!(
        select(config(&server.url()), "foo-bar", ">=2.1b1")
            .unwrap()
            .version
            .to_string(),
        "2.1b1"
    );
    // Only a pre-release matches: still refused without --pre (PEP 440), and said so.
    let e = select(config(&server.url()), "foo-bar", ">2.0")
        .unwrap_err()
        .to_string();
    assert!(e.contains("2.1b1") && e.contains("--pre"), "{e}");
}

#[test]
fn extra_index_urls_are_merged() {
    let dir = tempfile::tempdir().unwrap();
    let main = IndexServer::start(Mode::Json);
    let extra = IndexServer::start(Mode::Html);
    main.add_path("foo", &WheelBuilder::new("foo", "1.0").write(dir.path()));
    extra.add_path("foo", &WheelBuilder::new("foo", "3.0").write(dir.path()));
    extra.add_path(
        "only-extra",
        &WheelBuilder::new("only-extra", "0.1").write(dir.path()),
    );
    let cfg = IndexConfig {
        extra_index_urls: vec![Url::parse(&extra.url()).unwrap()],
        ..config(&main.url())
    };
    assert_eq!(
        select(cfg.clone(), "foo", "").unwrap().version.to_string(),
        "3.0"
    );
    // Missing on the primary (404) but present on the extra index is fine.
    assert_eq!(
        select(cfg, "only_extra", "").unwrap().version.to_string(),
        "0.1"
    );
}

#[test]
fn find_links_and_no_index() {
    let links = tempfile::tempdir().unwrap();
    WheelBuilder::new("foo", "1.0").write(links.path());
    WheelBuilder::new("foo", "1.5")
        .tag("cp311-abi3-manylinux_2_28_x86_64")
        .write(links.path());
    WheelBuilder::new("foobar", "9.0").write(links.path());
    std::fs::write(links.path().join("foo-2.0.tar.gz"), b"sdist").unwrap();
    std::fs::write(links.path().join("README"), b"x").unwrap();

    let server = IndexServer::start(Mode::Json);
    let cfg = IndexConfig {
        find_links: vec![links.path().to_owned()],
        ..config(&server.url())
    };
    // The index does not know `foo`, the directory does.
    let c = select(cfg.clone(), "foo", "").unwrap();
    assert_eq!(
        c.file.filename,
        "foo-1.5-cp311-abi3-manylinux_2_28_x86_64.whl"
    );
    assert_eq!(c.file.url.scheme(), "file");

    let offline = IndexConfig {
        no_index: true,
        ..cfg.clone()
    };
    server.clear_requests();
    let c = select(offline.clone(), "foo", "").unwrap();
    assert_eq!(c.version.to_string(), "1.5");
    assert!(
        server.requests().is_empty(),
        "--no-index must not touch the index"
    );
    // Fetching a find-links file reads it in place.
    let cache = tempfile::tempdir().unwrap();
    let path = fetch(
        &http(),
        &Cache::new(cache.path()),
        &c.file,
        &Recorder::default(),
    )
    .unwrap();
    assert_eq!(
        path,
        links
            .path()
            .join("foo-1.5-cp311-abi3-manylinux_2_28_x86_64.whl")
            .canonicalize()
            .unwrap()
    );

    // Only the sdist of 2.0 matches: say so.
    let e = select(offline.clone(), "foo", ">=2")
        .unwrap_err()
        .to_string();
    assert!(e.contains("foo-2.0.tar.gz") && e.contains("sdist"), "{e}");

    let e = select(offline, "bar", "").unwrap_err().to_string();
    assert!(e.contains("`bar`") && e.contains("--find-links"), "{e}");
    let e = select(
        IndexConfig {
            no_index: true,
            ..config(&server.url())
        },
        "foo",
        "",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("--no-index") && e.contains("--find-links"),
        "{e}"
    );
}

#[test]
fn unknown_project_names_project_and_index() {
    let server = IndexServer::start(Mode::Json);
    let e = select(config(&server.url()), "Reqeusts", "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("`Reqeusts`") && e.contains(&server.url()), "{e}");
    assert!(e.contains("spelling") && e.contains("--index-url"), "{e}");
    // 404 is an answer, not a transient failure: asked once.
    assert_eq!(server.paths(), ["/simple/reqeusts/"]);
}

#[test]
fn nothing_compatible_lists_every_file_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    for tag in [
        "cp311-cp311-musllinux_1_2_x86_64",
        "cp311-cp311-macosx_11_0_arm64",
        "cp311-cp311-win_amd64",
        "cp312-cp312-manylinux_2_17_x86_64",
        "cp311-cp311-manylinux_2_39_x86_64",
        "pp310-pypy310_pp73-manylinux_2_17_x86_64",
        "cp311-cp311-manylinux_2_17_aarch64",
    ] {
        server.add_path(
            "nat",
            &WheelBuilder::new("nat", "1.0").tag(tag).write(dir.path()),
        );
    }
    server.add("nat", Dist::new("nat-1.0.tar.gz", b"sdist".to_vec()));
    server.add_path(
        "nat",
        &WheelBuilder::new("nat", "2.0rc1")
            .tag("cp311-cp311-win_amd64")
            .write(dir.path()),
    );
    let e = select(config(&server.url()), "nat", "")
        .unwrap_err()
        .to_string();
    for want in [
        "nat-1.0-cp311-cp311-musllinux_1_2_x86_64.whl — built for musl",
        "macosx_11_0_arm64.whl — built for macOS",
        "win_amd64.whl — built for Windows",
        "CPython 3.12 only",
        "needs glibc 2.39",
        "PyPy",
        "built for aarch64",
        "nat-1.0.tar.gz — source distribution",
        "2.0rc1",
        "--target",
        "--no-binary nat",
    ] {
        assert!(e.contains(want), "missing `{want}` in:\n{e}");
    }
    // Newest first.
    assert!(e.find("2.0rc1").unwrap() < e.find("1.0:").unwrap(), "{e}");
}

#[test]
fn no_matching_version_lists_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    server.add_path("foo", &WheelBuilder::new("foo", "1.0").write(dir.path()));
    let e = select(config(&server.url()), "foo", ">=5")
        .unwrap_err()
        .to_string();
    assert!(e.contains(">=5") && e.contains("1.0"), "{e}");
}

#[test]
fn fetch_verifies_and_caches_then_works_offline() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let mut server = IndexServer::start(Mode::Json);
    let wheel = WheelBuilder::new("foo", "1.0")
        .file("foo/__init__.py", "x = 1\n")
        .write(dir.path());
    server.add_path("foo", &wheel);
    let c = select(config(&server.url()), "foo", "").unwrap();
    let cache = Cache::new(cache_dir.path());
    let http = http();
    let rec = Recorder::default();
    let first = fetch(&http, &cache, &c.file, &rec).unwrap();
    assert!(first.starts_with(cache_dir.path()));
    assert!(first.ends_with("foo-1.0-py3-none-any.whl"));
    assert_eq!(sha256_file(&first).unwrap(), sha256_file(&wheel).unwrap());
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&wheel).unwrap()
    );

    server.stop();
    let again = fetch(&http, &cache, &c.file, &rec).unwrap();
    assert_eq!(first, again);
    // No stray temporary files next to it.
    assert_eq!(
        std::fs::read_dir(first.parent().unwrap()).unwrap().count(),
        1
    );
}

#[test]
fn hash_mismatch_is_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    for mode in [Mode::Json, Mode::Html] {
        let server = IndexServer::start(mode);
        server.add(
            "foo",
            Dist::from_path(&WheelBuilder::new("foo", "1.0").write(dir.path())).wrong_hash(),
        );
        let c = select(config(&server.url()), "foo", "").unwrap();
        let want = c.file.sha256.clone().unwrap();
        let e = fetch(
            &http(),
            &Cache::new(cache_dir.path()),
            &c.file,
            &Recorder::default(),
        )
        .unwrap_err()
        .to_string();
        let got = sha256_file(&dir.path().join("foo-1.0-py3-none-any.whl")).unwrap();
        assert!(
            e.contains("foo-1.0-py3-none-any.whl") && e.contains(&want) && e.contains(&got),
            "{e}"
        );
        let leftovers: Vec<_> = walk(cache_dir.path())
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

fn walk(p: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![p.to_owned()];
    if p.is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            out.extend(walk(&e.unwrap().path()));
        }
    }
    out
}

#[test]
fn files_without_a_hash_are_downloaded_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Html);
    server.add(
        "foo",
        Dist::from_path(&WheelBuilder::new("foo", "1.0").write(dir.path())).no_hash(),
    );
    let c = select(config(&server.url()), "foo", "").unwrap();
    assert_eq!(c.file.sha256, None);
    let cache = Cache::new(cache_dir.path());
    let a = fetch(&http(), &cache, &c.file, &Recorder::default()).unwrap();
    let b = fetch(&http(), &cache, &c.file, &Recorder::default()).unwrap();
    assert_eq!(a, b);
    let downloads = server
        .paths()
        .iter()
        .filter(|p| p.starts_with("/files/"))
        .count();
    assert_eq!(downloads, 2);
}

#[test]
fn transient_errors_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    server.add_path("foo", &WheelBuilder::new("foo", "1.0").write(dir.path()));
    server.fail_next(2);
    let c = select(config(&server.url()), "foo", "").unwrap();
    assert_eq!(server.paths().len(), 3);

    server.fail_next_with(2, 429);
    fetch(
        &http(),
        &Cache::new(cache_dir.path()),
        &c.file,
        &Recorder::default(),
    )
    .unwrap();

    server.clear_requests();
    server.fail_next_with(5, 503);
    let e = select(config(&server.url()), "foo", "").unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("503") && e.contains("3 attempts") && e.contains("/simple/foo/"),
        "{e}"
    );
    assert_eq!(server.paths().len(), 3);
}

#[test]
fn connection_errors_name_the_url_and_what_to_check() {
    let mut server = IndexServer::start(Mode::Json);
    let url = server.url();
    server.stop();
    let e = format!("{:#}", select(config(&url), "foo", "").unwrap_err());
    assert!(
        e.contains(&format!("{url}foo/")) && e.contains("network") && e.contains("--index-url"),
        "{e}"
    );
}

#[test]
fn basic_auth_works_and_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    for mode in [Mode::Json, Mode::Html] {
        let server = IndexServer::start(mode);
        server.add_path("foo", &WheelBuilder::new("foo", "1.0").write(dir.path()));
        server.require_auth("alice", "s3cr3t-pw");

        let e = format!(
            "{:#}",
            select(config(&server.url()), "foo", "").unwrap_err()
        );
        assert!(e.contains("401") && e.contains("credentials"), "{e}");

        let authed = server.url_with_auth("alice", "s3cr3t-pw");
        let c = select(config(&authed), "foo", "").unwrap();
        fetch(
            &http(),
            &Cache::new(cache_dir.path().join(format!("{mode:?}"))),
            &c.file,
            &Recorder::default(),
        )
        .unwrap();
        assert!(server
            .requests()
            .iter()
            .all(|r| r.header("authorization").is_some() || r.path == "/simple/foo/"));

        server.fail_next(3);
        let e = format!("{:#}", select(config(&authed), "foo", "").unwrap_err());
        assert!(!e.contains("s3cr3t-pw") && e.contains("****@"), "{e}");
        let e = format!(
            "{:#}",
            select(
                config(&server.url_with_auth("alice", "wrong-pw")),
                "foo",
                ""
            )
            .unwrap_err()
        );
        assert!(!e.contains("wrong-pw") && e.contains("401"), "{e}");
    }
}

#[test]
fn fixtures_produce_readable_wheels_and_raw_zips() {
    let dir = tempfile::tempdir().unwrap();
    let w = WheelBuilder::new("My-Pkg", "0.1")
        .file("my_pkg/__init__.py", "")
        .file_mode("my_pkg-0.1.data/scripts/run", "#!/bin/sh\n", 0o755)
        .metadata("Requires-Dist: six")
        .entry_points("[console_scripts]\nrun = my_pkg:main\n")
        .write(dir.path());
    assert!(w.ends_with("My_Pkg-0.1-py3-none-any.whl"));
    let mut z = zip::ZipArchive::new(std::fs::File::open(&w).unwrap()).unwrap();
    let record =
        std::io::read_to_string(z.by_name("My_Pkg-0.1.dist-info/RECORD").unwrap()).unwrap();
    assert!(
        record.contains("my_pkg/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0"),
        "{record}"
    );
    assert!(record.contains("My_Pkg-0.1.dist-info/RECORD,,"));
    let meta =
        std::io::read_to_string(z.by_name("My_Pkg-0.1.dist-info/METADATA").unwrap()).unwrap();
    assert!(
        meta.contains("Name: My-Pkg\nVersion: 0.1\nRequires-Dist: six\n"),
        "{meta}"
    );
    assert_eq!(
        z.by_name("my_pkg-0.1.data/scripts/run")
            .unwrap()
            .unix_mode()
            .unwrap()
            & 0o777,
        0o755
    );

    let raw = RawZip::new()
        .file("ok.txt", "hi")
        .symlink("link", "/etc/passwd")
        .deflated("big", vec![0u8; 100_000])
        .write(&dir.path().join("raw.zip"));
    let mut z = zip::ZipArchive::new(std::fs::File::open(&raw).unwrap()).unwrap();
    assert!(z.by_name("link").unwrap().is_symlink());
    assert_eq!(
        std::io::read_to_string(z.by_name("ok.txt").unwrap()).unwrap(),
        "hi"
    );
    assert_eq!(
        std::io::copy(&mut z.by_name("big").unwrap(), &mut std::io::sink()).unwrap(),
        100_000
    );
    // Duplicates and traversal names are written as given.
    let bytes = RawZip::new()
        .file("a", "1")
        .file("a", "2")
        .file("../evil", "x")
        .to_bytes();
    assert_eq!(bytes.windows(5).filter(|w| w == b"../ev").count(), 2);
}

#[test]
fn pyhive_final_sdist_beats_a_prerelease_wheel() {
    // PyHive 0.7.0 exists only as an sdist, 0.7.0.dev0 has a wheel: 0.7.0 must win.
    let dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    server.add_path(
        "PyHive",
        &WheelBuilder::new("PyHive", "0.7.0.dev0").write(dir.path()),
    );
    server.add(
        "PyHive",
        Dist::new("PyHive-0.7.0.tar.gz", b"sdist".to_vec()),
    );
    server.add("PyHive", Dist::new("PyHive-0.6.5.tar.gz", b"old".to_vec()));
    for pre in [false, true] {
        let http = http();
        let rec = Recorder::default();
        let index = Index::new(
            IndexConfig {
                pre,
                ..config(&server.url())
            },
            &http,
            &rec,
        );
        let e = index
            .select_wheel("pyhive", &spec(""), &bookworm())
            .unwrap_err()
            .to_string();
        assert!(e.contains("0.7.0"), "{e}");
        let (v, f) = index
            .select_sdist("pyhive", &spec(""), &bookworm())
            .unwrap();
        assert_eq!(v.to_string(), "0.7.0", "pre={pre}");
        assert_eq!(f.filename, "PyHive-0.7.0.tar.gz");
    }
}
