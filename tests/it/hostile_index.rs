//! A hostile package index: local-file links, redirects to other schemes, servers that
//! never answer or trickle, huge pages and downloads, dates from the far future, a full
//! disk. Every test bounds its time with tiny timeouts.

use crate::support::server::Canned;
use crate::support::{sha256_hex, IndexServer, Mode, WheelBuilder};
use pep440_rs::VersionSpecifiers;
use py2deb::debian::target::Target;
use py2deb::index::fetch::{fetch, Cache, FetchError, Http, HttpOptions, Sink};
use py2deb::index::{Candidate, DistFile, Index, IndexConfig};
use py2deb::report::Recorder;
use std::str::FromStr;
use std::time::{Duration, Instant};
use url::Url;

/// Limits small enough that every attack below fails within a second or two.
fn quick() -> HttpOptions {
    HttpOptions {
        timeout: Duration::from_millis(250),
        deadline: Duration::from_secs(3),
        attempts: 3,
        backoff: Duration::from_millis(5),
        ..HttpOptions::default()
    }
}

fn config(index: &str) -> IndexConfig {
    IndexConfig {
        index_url: Url::parse(index).unwrap(),
        ..IndexConfig::default()
    }
}

fn select_with(http: &Http, index: &str, rec: &Recorder) -> anyhow::Result<Candidate> {
    let index = Index::new(config(index), http, rec);
    index.select_wheel(
        "foo",
        &VersionSpecifiers::from_str("").unwrap(),
        &Target::named("bookworm", "amd64").unwrap(),
    )
}

fn json(body: serde_json::Value) -> Canned {
    Canned::Raw {
        status: 200,
        content_type: "application/vnd.pypi.simple.v1+json".into(),
        headers: vec![],
        body: body.to_string().into_bytes(),
    }
}

fn html(body: &str) -> Canned {
    Canned::Raw {
        status: 200,
        content_type: "text/html".into(),
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

fn remote(url: &str, filename: &str) -> DistFile {
    DistFile {
        filename: filename.into(),
        url: Url::parse(url).unwrap(),
        sha256: None,
        requires_python: None,
        yanked: None,
        upload_time: None,
        local: false,
    }
}

#[test]
fn hostile_json_file_urls_are_never_followed() {
    let server = IndexServer::start(Mode::Json);
    let zero = sha256_hex(b"");
    server.route(
        "/simple/foo/",
        json(serde_json::json!({"meta": {"api-version": "1.1"}, "name": "foo", "files": [
            {"filename": "foo-1.0-py3-none-any.whl", "url": "file:///dev/zero", "hashes": {"sha256": zero}},
            {"filename": "foo-1.1-py3-none-any.whl", "url": "file:///root/.ssh/id_rsa", "hashes": {}},
            {"filename": "foo-1.2-py3-none-any.whl", "url": "javascript:alert(1)", "hashes": {}},
        ]})),
    );
    let http = Http::with_options(quick()).unwrap();
    let rec = Recorder::default();
    let e = format!("{:#}", select_with(&http, &server.url(), &rec).unwrap_err());
    assert!(e.contains("no wheel of `foo`"), "{e}");
    let warnings = rec.warnings.lock().unwrap().join("\n");
    assert!(
        warnings.contains("ignored 3 link(s)")
            && warnings.contains("file:///dev/zero")
            && warnings.contains("--find-links"),
        "{warnings}"
    );
}

#[test]
fn hostile_html_file_href_and_base_href_are_never_followed() {
    let server = IndexServer::start(Mode::Html);
    server.route(
        "/simple/foo/",
        html(
            "<html><head><base href=\"file:///\"></head><body>\
             <a href=\"dev/zero\">foo-1.0-py3-none-any.whl</a>\
             <a href=\"file:///etc/passwd\">foo-1.1-py3-none-any.whl</a>\
             <a href=\"FILE:/root/.ssh/id_rsa\">foo-1.2-py3-none-any.whl</a>\
             </body></html>",
        ),
    );
    let http = Http::with_options(quick()).unwrap();
    let rec = Recorder::default();
    let e = format!("{:#}", select_with(&http, &server.url(), &rec).unwrap_err());
    assert!(e.contains("no wheel of `foo`"), "{e}");
    let warnings = rec.warnings.lock().unwrap().join("\n");
    // The base is refused, so `dev/zero` resolves against the page (http) and is kept
    // as an ordinary remote link; the two absolute file links are refused.
    assert!(warnings.contains("ignored 3 link(s)"), "{warnings}");
    assert!(
        server.paths().iter().all(|p| !p.contains("zero")),
        "{:?}",
        server.paths()
    );
}

#[test]
fn hostile_file_url_in_a_dist_file_is_not_read() {
    // Even if a remote DistFile with a file URL got this far, fetch refuses it.
    let cache = tempfile::tempdir().unwrap();
    let http = Http::with_options(quick()).unwrap();
    for url in [
        "file:///dev/zero",
        "file:///root/.ssh/id_rsa",
        "ftp://h/x.whl",
    ] {
        let e = fetch(
            &http,
            &Cache::new(cache.path()),
            &remote(url, "foo-1.0-py3-none-any.whl"),
            &Recorder::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("only link http(s)") && e.contains(url), "{e}");
    }
}

#[test]
fn hostile_redirect_to_file_is_refused_and_says_so() {
    let server = IndexServer::start(Mode::Json);
    server.route(
        "/simple/foo/",
        Canned::Redirect("file:///etc/passwd".into()),
    );
    server.route("/files/x.whl", Canned::Redirect("file:///dev/zero".into()));
    let http = Http::with_options(quick()).unwrap();
    let rec = Recorder::default();
    let err = select_with(&http, &server.url(), &rec).unwrap_err();
    let e = format!("{err:#}");
    assert!(
        e.contains("redirected to `file:///etc/passwd`")
            && e.contains("only to http(s)")
            && !e.contains("HTTP 302"),
        "{e}"
    );
    assert!(err
        .chain()
        .any(|c| matches!(c.downcast_ref(), Some(FetchError::RedirectRefused { .. }))));
    // Not retried: the answer would be the same.
    assert_eq!(server.paths().len(), 1);

    let cache = tempfile::tempdir().unwrap();
    let e = fetch(
        &http,
        &Cache::new(cache.path()),
        &remote(&server.file_url("x.whl"), "x.whl"),
        &Recorder::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("file:///dev/zero") && !e.contains("HTTP 302"),
        "{e}"
    );
}

#[test]
fn hostile_redirect_loop_is_bounded() {
    let server = IndexServer::start(Mode::Json);
    server.route("/simple/foo/", Canned::Redirect("/simple/foo/".into()));
    let http = Http::with_options(quick()).unwrap();
    let e = format!(
        "{:#}",
        select_with(&http, &server.url(), &Recorder::default()).unwrap_err()
    );
    assert!(e.contains("redirects"), "{e}");
    assert!(server.paths().len() <= 11, "{}", server.paths().len());
}

#[test]
fn hostile_index_that_never_answers_times_out() {
    let server = IndexServer::start(Mode::Json);
    server.route("/simple/foo/", Canned::Silent(Duration::from_secs(5)));
    let http = Http::with_options(quick()).unwrap();
    let started = Instant::now();
    let err = select_with(&http, &server.url(), &Recorder::default()).unwrap_err();
    let took = started.elapsed();
    let e = format!("{err:#}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(
        e.contains(&format!("{}foo/", server.url()))
            && e.contains("no response within")
            && e.contains("3 attempt(s)")
            && e.contains("--timeout"),
        "{e}"
    );
    // One retry loop: exactly `attempts` requests, not attempts².
    assert_eq!(server.paths().len(), 3);
}

#[test]
fn hostile_overall_deadline_stops_the_retries() {
    let server = IndexServer::start(Mode::Json);
    server.route("/simple/foo/", Canned::Silent(Duration::from_secs(5)));
    let http = Http::with_options(HttpOptions {
        attempts: 50,
        deadline: Duration::from_millis(700),
        ..quick()
    })
    .unwrap();
    let started = Instant::now();
    let e = format!(
        "{:#}",
        select_with(&http, &server.url(), &Recorder::default()).unwrap_err()
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(e.contains("overall deadline"), "{e}");
    assert!(server.paths().len() < 6, "{}", server.paths().len());
}

#[test]
fn hostile_trickling_download_times_out() {
    let server = IndexServer::start(Mode::Json);
    // A byte every 40 ms never trips the read-idle timeout, only the rate check.
    server.route(
        "/files/slow.whl",
        Canned::Trickle {
            total: 1000,
            every: Duration::from_millis(40),
        },
    );
    // A byte every 2 s trips the read-idle timeout.
    server.route(
        "/files/stalled.whl",
        Canned::Trickle {
            total: 10,
            every: Duration::from_secs(2),
        },
    );
    let http = Http::with_options(quick()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    for (name, want) in [
        ("slow.whl", "too slow"),
        ("stalled.whl", "sent no data for"),
    ] {
        let started = Instant::now();
        let err = fetch(
            &http,
            &Cache::new(cache.path()),
            &remote(&server.file_url(name), name),
            &Recorder::default(),
        )
        .unwrap_err();
        let e = format!("{err:#}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{name}: {:?}",
            started.elapsed()
        );
        assert!(
            e.contains(want) && e.contains(&server.file_url(name)) && e.contains("3 attempt(s)"),
            "{e}"
        );
    }
}

#[test]
fn hostile_huge_index_page_is_refused() {
    let server = IndexServer::start(Mode::Html);
    for (path, declare) in [("/simple/foo/", true), ("/simple/bar/", false)] {
        server.route(
            path,
            Canned::Huge {
                content_type: "text/html".into(),
                len: 8 << 20,
                fill: b'<',
                declare,
            },
        );
    }
    let http = Http::with_options(HttpOptions {
        max_page_bytes: 1 << 20,
        ..quick()
    })
    .unwrap();
    for name in ["foo", "bar"] {
        let rec = Recorder::default();
        let index = Index::new(config(&server.url()), &http, &rec);
        let err = index.project_files(name).unwrap_err();
        let e = format!("{err:#}");
        assert!(
            e.contains("larger than the limit of 1048576 bytes")
                && e.contains(&format!("/simple/{name}/")),
            "{e}"
        );
        assert!(err
            .chain()
            .any(|c| matches!(c.downcast_ref(), Some(FetchError::TooLarge { .. }))));
    }
}

#[test]
fn hostile_oversized_download_is_refused_and_leaves_nothing() {
    let server = IndexServer::start(Mode::Json);
    server.route(
        "/files/big.whl",
        Canned::Huge {
            content_type: "application/octet-stream".into(),
            len: 4 << 20,
            fill: 0,
            declare: false,
        },
    );
    let http = Http::with_options(HttpOptions {
        max_download_bytes: 1 << 20,
        ..quick()
    })
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let e = format!(
        "{:#}",
        fetch(
            &http,
            &Cache::new(cache.path()),
            &remote(&server.file_url("big.whl"), "big.whl"),
            &Recorder::default(),
        )
        .unwrap_err()
    );
    assert!(
        e.contains("--max-download-size") && e.contains("big.whl"),
        "{e}"
    );
    assert_eq!(server.paths().len(), 1, "a size refusal is not retried");
    let mut files = Vec::new();
    let mut stack = vec![cache.path().to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(files.is_empty(), "{files:?}");
}

#[test]
fn hostile_upload_time_in_year_9999_is_clamped_to_now() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = WheelBuilder::new("foo", "1.0").write(dir.path());
    let bytes = std::fs::read(&wheel).unwrap();
    let server = IndexServer::start(Mode::Json);
    server.add(
        "foo",
        crate::support::Dist::new("foo-1.0-py3-none-any.whl", bytes)
            .upload_time("9999-12-31T23:59:59Z"),
    );
    let http = Http::with_options(quick()).unwrap();
    let c = select_with(&http, &server.url(), &Recorder::default()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = c.file.upload_time.unwrap();
    assert!(t <= now && t > now - 60, "{t} vs {now}");
}

/// Writes go to /dev/full, which answers ENOSPC like a full cache disk.
struct FullDisk(std::fs::File);
impl Sink for FullDisk {
    fn restart(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        self.0.write_all(data)?;
        self.0.flush()
    }
    fn name(&self) -> String {
        "/dev/full".into()
    }
}

#[test]
fn hostile_full_disk_is_reported_as_a_full_disk() {
    let server = IndexServer::start(Mode::Json);
    server.add(
        "foo",
        crate::support::Dist::new("foo-1.0.tar.gz", vec![7u8; 100_000]),
    );
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        assert!(!crate::support::prerequisite(false, "/dev/full"));
        return;
    };
    let http = Http::with_options(quick()).unwrap();
    let err = http
        .download(
            &server.file_url("foo-1.0.tar.gz"),
            None,
            "foo-1.0.tar.gz",
            &Recorder::default(),
            &mut FullDisk(full),
        )
        .unwrap_err();
    let e = format!("{err:#}");
    assert!(
        e.contains("no space left") && e.contains("/dev/full") && !e.contains("network"),
        "{e}"
    );
    assert!(matches!(
        err.downcast_ref(),
        Some(FetchError::DiskFull { .. })
    ));
    assert_eq!(server.paths().len(), 1, "a full disk is not retried");
}

#[test]
fn broken_downloads_are_retried_by_one_loop() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    server.add_path("foo", &WheelBuilder::new("foo", "1.0").write(dir.path()));
    let http = Http::with_options(quick()).unwrap();
    let c = select_with(&http, &server.url(), &Recorder::default()).unwrap();
    server.clear_requests();
    server.fail_next(10);
    let e = format!(
        "{:#}",
        fetch(
            &http,
            &Cache::new(cache.path()),
            &c.file,
            &Recorder::default()
        )
        .unwrap_err()
    );
    assert!(e.contains("HTTP 500") && e.contains("3 attempts"), "{e}");
    // Three GETs in all (the old nested loops made up to nine).
    assert_eq!(server.paths().len(), 3);
    server.fail_next(2);
    fetch(
        &http,
        &Cache::new(cache.path()),
        &c.file,
        &Recorder::default(),
    )
    .unwrap();
}
