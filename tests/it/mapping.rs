//! Mapping Python requirements onto a target's packages: marker conformance, the
//! dist-info map, archive loading (host lists, a loopback mirror) and the map rows.

use py2deb::debian::archive::{Archive, ArchiveOptions};
use py2deb::debian::relation::{Dep, Op, Relations};
use py2deb::debian::target::Target;
use py2deb::python::markers;
use py2deb::report::Recorder;
use py2deb::resolve::mapping::{map_requirement_with, DistMap, MapOrigin, Status, Universe};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn bookworm() -> Target {
    Target::named("bookworm", "amd64").unwrap()
}

// ---------------------------------------------------------------- markers

/// The marker conformance table, kept in the repository (see tests/data/README.md).
fn conformance_file() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/markers.tsv");
    assert!(
        p.exists(),
        "marker conformance table missing: {}",
        p.display()
    );
    p
}

#[test]
fn markers_conformance_table() {
    let path = conformance_file();
    let text = std::fs::read_to_string(&path).unwrap();
    let env = markers::environment(&bookworm()).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let (req, expected, extras) = (cols[0], cols[1], cols.get(2).copied().unwrap_or(""));
        let where_ = format!("{}:{}: `{req}`", path.display(), i + 1);
        checked += 1;
        let parsed = markers::parse_requirement(req);
        if expected == "error" {
            match parsed {
                Err(e) => assert!(
                    e.to_string().contains(req.trim()),
                    "{where_}: error does not quote the input: {e}"
                ),
                Ok(_) => failures.push(format!("{where_}: accepted, must be rejected")),
            }
            continue;
        }
        let req = parsed.unwrap_or_else(|e| panic!("{where_}: {e}"));
        let extras: Vec<_> = extras
            .split(',')
            .filter_map(|e| e.trim().strip_prefix("extra="))
            .map(|e| markers::parse_extra(e).unwrap())
            .collect();
        let got = if markers::applies(&req, &env, &extras) {
            "yes"
        } else {
            "no"
        };
        if got != expected {
            failures.push(format!("{where_}: expected {expected}, got {got}"));
        }
    }
    assert!(checked > 50, "only {checked} rows in {}", path.display());
    assert!(
        failures.is_empty(),
        "marker conformance failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn invalid_requirement_is_quoted() {
    let e = markers::parse_requirement("foo; invalid_marker > '1'")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("foo; invalid_marker > '1'") && e.contains("PEP 508"),
        "{e}"
    );
}

#[test]
fn python_version_alternatives_follow_dh_python() {
    let alt = |s: &str| {
        markers::python_alternative(&markers::parse_requirement(s).unwrap().marker)
            .map(|d| d.to_string())
    };
    assert_eq!(
        alt("tomli; python_version < '3.11'").as_deref(),
        Some("python3 (>= 3.11)")
    );
    assert_eq!(
        alt("foo; python_version >= '3.12'").as_deref(),
        Some("python3 (<< 3.12)")
    );
    assert_eq!(
        alt("foo; python_version <= '3.11' and os_name == 'posix'").as_deref(),
        Some("python3 (>= 3.12)")
    );
    assert_eq!(alt("foo; os_name == 'posix'"), None);
    assert_eq!(
        alt("foo; python_version >= '3.8' and python_version < '3.12'"),
        None
    );
}

#[test]
fn self_referencing_extras_are_followed() {
    let env = markers::environment(&bookworm()).unwrap();
    let reqs: Vec<_> = [
        "idna>=2",
        "PySocks!=1.5.7; extra == 'socks'",
        "h2; extra == 'http2'",
        "demo[socks,http2]; extra == 'all'",
        "win-inet-pton; sys_platform == 'win32' and extra == 'socks'",
    ]
    .iter()
    .map(|r| markers::parse_requirement(r).unwrap())
    .collect();
    let me = pep508_rs::PackageName::new("demo".into()).unwrap();
    let names = |extras: &[&str]| {
        let ex: Vec<_> = extras
            .iter()
            .map(|e| markers::parse_extra(e).unwrap())
            .collect();
        markers::active_requirements(&me, &reqs, &ex, &env)
            .iter()
            .map(|r| r.name.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&[]), ["idna"]);
    assert_eq!(names(&["socks"]), ["idna", "pysocks"]);
    assert_eq!(names(&["all"]), ["idna", "pysocks", "h2"]);
}

// ---------------------------------------------------------------- fixtures

const PACKAGES: &str = "\
Package: python3-numpy
Source: numpy
Version: 1:1.24.2-1+deb12u1
Architecture: amd64
Provides: python3-numpy-abi9, python3-numpy-dev
Description: Fast array facility

Package: python3-urllib3
Source: python-urllib3
Version: 1.26.12-1+deb12u1
Architecture: all
Depends: python3:any, ca-certificates
Description: HTTP library

Package: python3-bs4
Version: 4.11.2-2
Architecture: all
Provides: python3-beautifulsoup4

Package: python3-regex
Version: 0.1.20221031-1
Architecture: amd64
Depends: python3 (<< 3.12), python3 (>= 3.11~), libc6 (>= 2.14)

Package: python3-termcolor
Version: 1.1.0-4
Architecture: all

Package: python3-wcwidth
Version: 0.2.5+dfsg1-1.1
Architecture: all

Package: python3-platformdirs
Version: 2.6.0-1
Architecture: all

Package: python3-slugify
Version: 4.0.0-2
Architecture: all

Package: python3-pyhamcrest
Version: 2.0.3-1
Architecture: all
";

const UPDATES: &str = "\
Package: python3-urllib3
Version: 1.26.12-1+deb12u2
Architecture: all
";

const CONTENTS: &str = "\
usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO python/python3-urllib3
usr/lib/python3/dist-packages/urllib3/__init__.py python/python3-urllib3
usr/lib/python3/dist-packages/numpy-1.24.2.egg-info/PKG-INFO python/python3-numpy
usr/lib/python3/dist-packages/beautifulsoup4-4.11.2.dist-info/METADATA python/python3-bs4
usr/lib/python3/dist-packages/regex-2022.10.31.egg-info/PKG-INFO python/python3-regex
usr/lib/python3/dist-packages/termcolor-1.1.0.egg-info python/python3-termcolor
usr/lib/python3/dist-packages/platformdirs-2.6.0.dist-info/METADATA python/python3-platformdirs
usr/lib/python3/dist-packages/python_slugify-4.0.0.egg-info/PKG-INFO python/python3-slugify
usr/lib/python3/dist-packages/old_tool-1.0-py3.11.egg-info/PKG-INFO utils/old-tool,python/python3-old-tool
usr/share/doc/python3-bs4/changelog.gz doc/python3-bs4
";

fn fixture_map() -> DistMap {
    let mut m = DistMap::empty();
    m.add_contents(CONTENTS.as_bytes()).unwrap();
    m
}

/// Stand-in for the PEP 440 → Debian translation (owned by `version`): every specifier on
/// its own, versions verbatim, enough to see that the translation is used.
fn plain_translate(package: &str, specs: &pep440_rs::VersionSpecifiers) -> Relations {
    let mut r = Relations::default();
    for s in specs.iter() {
        let op = match s.operator() {
            pep440_rs::Operator::GreaterThanEqual => Op::Ge,
            pep440_rs::Operator::LessThan => Op::Lt,
            pep440_rs::Operator::GreaterThan => Op::Gt,
            pep440_rs::Operator::LessThanEqual => Op::Le,
            _ => Op::Eq,
        };
        r.push(Dep::with(package, op, s.version().to_string()));
    }
    r
}

fn map(text: &str, archive: &Archive, dists: &DistMap) -> py2deb::resolve::mapping::MapRow {
    let target = bookworm();
    let env = markers::environment(&target).unwrap();
    let req = markers::parse_requirement(text).unwrap();
    let applies = markers::applies(&req, &env, &[]);
    let u = Universe {
        target: &target,
        archive,
        dists,
    };
    map_requirement_with(&req, applies, &u, plain_translate)
}

#[test]
fn contents_lines_become_the_dist_map() {
    let m = fixture_map();
    assert_eq!(m.entries("beautifulsoup4")[0].package, "python3-bs4");
    assert_eq!(m.entries("Python_Slugify")[0].python_version, "4.0.0");
    assert_eq!(m.entries("termcolor")[0].python_version, "1.1.0");
    let old: Vec<_> = m
        .entries("old-tool")
        .iter()
        .map(|e| (e.package.as_str(), e.python_version.as_str()))
        .collect();
    assert_eq!(old, [("old-tool", "1.0"), ("python3-old-tool", "1.0")]);
    // Round trip through the cached TSV form.
    let again = DistMap::parse_tsv(&m.to_tsv(&["test".into()]), MapOrigin::Contents).unwrap();
    assert_eq!(again.len(), m.len());
    assert_eq!(again.entries("regex"), m.entries("regex"));
}

#[test]
fn maps_requirements_like_bookworm() {
    let mut archive = Archive::from_packages_text(PACKAGES);
    archive.add_packages(UPDATES.as_bytes(), false);
    let dists = fixture_map();

    let r = map("urllib3>=2", &archive, &dists);
    assert_eq!(
        (r.status, r.package.as_deref()),
        (Status::Conflict, Some("python3-urllib3"))
    );
    assert_eq!(
        r.available.as_deref(),
        Some("1.26.12-1+deb12u2"),
        "the newest suite wins"
    );
    assert_eq!(r.available_python_version.as_deref(), Some("1.26.12"));
    assert!(
        r.note.as_deref().unwrap().contains("not >=2"),
        "{:?}",
        r.note
    );

    let r = map("beautifulsoup4", &archive, &dists);
    assert_eq!(
        (r.status, r.relation.as_deref(), r.guess),
        (Status::Satisfied, Some("python3-bs4"), false)
    );

    let r = map("platformdirs>=2", &archive, &dists);
    assert_eq!(
        (r.status, r.relation.as_deref()),
        (Status::Satisfied, Some("python3-platformdirs (>= 2)"))
    );

    let r = map("python-slugify", &archive, &dists);
    assert_eq!(
        (r.status, r.package.as_deref()),
        (Status::Satisfied, Some("python3-slugify"))
    );

    for missing in ["yaspin", "rapidfuzz>=2"] {
        let r = map(missing, &archive, &dists);
        assert_eq!(
            (r.status, r.package.as_deref(), r.relation.as_deref()),
            (Status::Missing, None, None),
            "{missing}"
        );
    }

    let r = map("termcolor>=3.3", &archive, &dists);
    assert_eq!(r.status, Status::Conflict);
}

#[test]
fn differently_numbered_packages_get_the_debian_bound() {
    let archive = Archive::from_packages_text(PACKAGES);
    let r = map("regex>=2022.1", &archive, &fixture_map());
    assert_eq!(r.status, Status::Satisfied);
    assert_eq!(r.available_python_version.as_deref(), Some("2022.10.31"));
    assert_eq!(
        r.relation.as_deref(),
        Some("python3-regex (>= 0.1.20221031)")
    );
    assert!(
        r.note
            .as_deref()
            .unwrap()
            .contains("numbers it differently"),
        "{:?}",
        r.note
    );
    let r = map("regex>=2030", &archive, &fixture_map());
    assert_eq!(r.status, Status::Conflict);
}

#[test]
fn convention_fallback_is_a_guess_and_strips_repacks() {
    let archive = Archive::from_packages_text(PACKAGES);
    let r = map("wcwidth>=0.2", &archive, &fixture_map());
    assert_eq!(
        (r.status, r.package.as_deref(), r.guess),
        (Status::Satisfied, Some("python3-wcwidth"), true)
    );
    assert_eq!(r.available_python_version.as_deref(), Some("0.2.5"));
    assert!(r.note.as_deref().unwrap().contains("picked by name"));
    let r = map("PyHamcrest", &archive, &DistMap::empty());
    assert_eq!(
        (r.package.as_deref(), r.guess),
        (Some("python3-pyhamcrest"), true)
    );
}

#[test]
fn markers_decide_applicability_and_python_alternatives() {
    let archive = Archive::from_packages_text(PACKAGES);
    let dists = fixture_map();
    let r = map("urllib3; sys_platform == 'win32'", &archive, &dists);
    assert_eq!(
        (r.applies, r.status, r.relation),
        (false, Status::NotApplicable, None)
    );
    let r = map("termcolor; python_version >= '3.8'", &archive, &dists);
    assert_eq!(
        r.relation.as_deref(),
        Some("python3-termcolor | python3 (<< 3.8)")
    );
}

#[test]
fn map_rows_serialize_with_the_documented_fields() {
    let archive = Archive::from_packages_text(PACKAGES);
    let v = serde_json::to_value(map("beautifulsoup4", &archive, &fixture_map())).unwrap();
    for k in [
        "requirement",
        "name",
        "applies",
        "package",
        "relation",
        "available",
        "available_python_version",
        "status",
    ] {
        assert!(v.get(k).is_some(), "missing {k} in {v}");
    }
    assert_eq!(v["status"], "satisfied");
    assert_eq!(v["available"], "4.11.2-2");
}

// ---------------------------------------------------------------- archive loading

fn options(cache: &Path) -> ArchiveOptions {
    ArchiveOptions {
        cache_dir: Some(cache.to_path_buf()),
        ..Default::default()
    }
}

/// A throwaway OpenPGP signing key in its own GNUPGHOME, standing in for an archive's key.
struct Signer {
    home: tempfile::TempDir,
    /// The public key as a binary keyring, for `--archive-keyring`.
    keyring: PathBuf,
}

fn gpg_available() -> bool {
    ["gpg", "gpgv"].iter().all(|t| {
        std::process::Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

impl Signer {
    /// `None` (after [`crate::support::prerequisite`]) when gpg or gpgv is missing.
    fn new() -> Option<Signer> {
        if !crate::support::prerequisite(gpg_available(), "gpg and gpgv (archive signatures)") {
            return None;
        }
        let home = tempfile::tempdir().unwrap();
        let s = Signer {
            keyring: home.path().join("archive-keyring.gpg"),
            home,
        };
        s.gpg(&[
            "--passphrase",
            "",
            "--quick-generate-key",
            "py2deb test archive <archive@example.invalid>",
            "ed25519",
            "sign",
            "never",
        ]);
        let out = s.keyring.to_str().unwrap().to_owned();
        s.gpg(&["--output", &out, "--export"]);
        Some(s)
    }

    fn gpg(&self, args: &[&str]) -> Vec<u8> {
        let out = std::process::Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--quiet", "--pinentry-mode", "loopback"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `text` clearsigned, as an InRelease.
    fn clearsign(&self, text: &[u8]) -> Vec<u8> {
        let input = self.home.path().join("Release");
        std::fs::write(&input, text).unwrap();
        let output = self.home.path().join("InRelease");
        let _ = std::fs::remove_file(&output);
        self.gpg(&[
            "--passphrase",
            "",
            "--digest-algo",
            "SHA256",
            "--output",
            output.to_str().unwrap(),
            "--clearsign",
            input.to_str().unwrap(),
        ]);
        std::fs::read(output).unwrap()
    }

    fn options(&self, cache: &Path) -> ArchiveOptions {
        ArchiveOptions {
            keyring: Some(self.keyring.clone()),
            ..options(cache)
        }
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        // gpg started an agent for this home; stop it with the home.
        let _ = std::process::Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

#[test]
fn host_lists_in_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).unwrap();
    let stanza = |name: &str| format!("Package: {name}\nVersion: 1.0-1\nArchitecture: all\n\n");
    let write = |file: &str, data: Vec<u8>| std::fs::write(lists.join(file), data).unwrap();
    write(
        "m_debian_dists_bookworm_main_binary-amd64_Packages",
        stanza("plain").into_bytes(),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(stanza("gz").as_bytes()).unwrap();
    write(
        "m_debian_dists_bookworm-updates_main_binary-amd64_Packages.gz",
        gz.finish().unwrap(),
    );
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(stanza("xz").as_bytes()).unwrap();
    write(
        "m_debian_dists_bookworm_contrib_binary-amd64_Packages.xz",
        xz.finish().unwrap(),
    );
    let mut lz = lz4_flex::frame::FrameEncoder::new(Vec::new());
    lz.write_all(stanza("lz4").as_bytes()).unwrap();
    write(
        "m_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4",
        lz.finish().unwrap(),
    );
    write(
        "m_debian_dists_bookworm_non-free_binary-amd64_Packages.zst",
        zstd::encode_all(stanza("zst").as_bytes(), 1).unwrap(),
    );
    write(
        "m_debian_dists_bookworm_main_binary-arm64_Packages",
        stanza("other-arch").into_bytes(),
    );

    let opts = ArchiveOptions {
        lists_dir: lists.clone(),
        ..options(&dir.path().join("cache"))
    };
    for round in 0..2 {
        // The second round reads the compact cache.
        let a = Archive::load_host(&bookworm(), &opts).unwrap();
        for n in ["plain", "gz", "xz", "lz4", "zst"] {
            assert!(a.contains(n), "round {round}: {n} missing");
        }
        assert!(!a.contains("other-arch"));
    }

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = Archive::load_host(
        &bookworm(),
        &ArchiveOptions {
            lists_dir: empty,
            ..opts
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("apt-get update"), "{e}");
}

/// A loopback mirror serving fixed files; counts requests and answers conditional ones.
struct Mirror {
    url: String,
    hits: Arc<AtomicUsize>,
}

fn serve(files: Vec<(&'static str, Vec<u8>)>) -> Mirror {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/debian", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut conditional = false;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                conditional |= h.to_ascii_lowercase().starts_with("if-none-match: \"v1\"");
            }
            let path = request
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .trim_start_matches("/debian/")
                .to_owned();
            let reply = match files.iter().find(|f| f.0 == path) {
                Some(_) if conditional => {
                    "HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .as_bytes()
                        .to_vec()
                }
                Some((_, body)) => {
                    let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .as_bytes()
                    .to_vec(),
            };
            let _ = stream.write_all(&reply);
        }
    });
    Mirror { url, hits }
}

fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

fn release_for(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut r = String::from("Origin: Test\nSuite: bookworm\nSHA256:\n");
    for (p, d) in files {
        r.push_str(&format!(" {} {} {p}\n", sha256(d), d.len()));
    }
    r.into_bytes()
}

#[test]
fn named_target_downloads_verifies_and_caches() {
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(PACKAGES.as_bytes()).unwrap();
    let packages = xz.finish().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(CONTENTS.as_bytes()).unwrap();
    let contents = gz.finish().unwrap();
    let Some(signer) = Signer::new() else { return };
    let release = signer.clearsign(&release_for(&[
        ("main/binary-amd64/Packages.xz", &packages),
        ("main/Contents-all.gz", &contents),
    ]));
    let mirror = serve(vec![
        ("dists/bookworm/InRelease", release),
        ("dists/bookworm/main/binary-amd64/Packages.xz", packages),
        ("dists/bookworm/main/Contents-all.gz", contents),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let mut opts = ArchiveOptions {
        mirror: Some(mirror.url.clone()),
        ..signer.options(cache.path())
    };
    let rec = Recorder::default();

    let a = Archive::load_remote(&bookworm(), &opts, &rec).unwrap();
    assert_eq!(a.newest("python3-regex").unwrap().version, "0.1.20221031-1");
    let m = DistMap::load(&bookworm(), &opts, &rec);
    assert_eq!(m.origin, MapOrigin::Contents);
    assert_eq!(m.entries("regex")[0].python_version, "2022.10.31");
    // The path index comes from the same pass and is cached beside the map.
    assert!(m.paths.is_some(), "Contents gives a path index");
    assert!(cache
        .path()
        .join(format!(
            "{}/debian/bookworm/paths-amd64.txt",
            py2deb::debian::archive::contents::PATHS_BUCKET
        ))
        .exists());
    let cached = cache.path().join("archive-v2/debian/bookworm");
    assert!(cached.join("packages-amd64.tsv").exists());
    assert!(cache
        .path()
        .join("distmap-v1/debian/bookworm/distmap-amd64.tsv")
        .exists());
    assert!(std::fs::read_to_string(cache.path().join("CACHEDIR.TAG"))
        .unwrap()
        .starts_with("Signature: 8a477f597d28d172789f06886806bc55\n"));

    // Fresh cache: no network at all.
    let before = mirror.hits.load(Ordering::SeqCst);
    Archive::load_remote(&bookworm(), &opts, &rec).unwrap();
    let warm = DistMap::load(&bookworm(), &opts, &rec);
    assert_eq!(warm.origin, MapOrigin::Contents);
    assert!(warm.paths.is_some(), "the cached path index is loaded");
    assert_eq!(mirror.hits.load(Ordering::SeqCst), before);

    // Stale cache: one conditional InRelease request per suite, answered 304.
    opts.max_age = Duration::ZERO;
    let a = Archive::load_remote(&bookworm(), &opts, &rec).unwrap();
    assert!(a.contains("python3-bs4"));
    assert_eq!(
        mirror.hits.load(Ordering::SeqCst),
        before + 2,
        "bookworm (304) and bookworm-updates (404)"
    );

    // Offline with a cache works even when stale.
    let offline = ArchiveOptions {
        offline: true,
        mirror: Some("http://127.0.0.1:9/none".into()),
        ..opts.clone()
    };
    assert!(Archive::load_remote(&bookworm(), &offline, &rec)
        .unwrap()
        .contains("python3-bs4"));
    assert!(
        rec.warnings.lock().unwrap().is_empty(),
        "{:?}",
        rec.warnings.lock().unwrap()
    );
}

#[test]
fn hash_mismatch_is_refused() {
    let Some(signer) = Signer::new() else { return };
    let release = signer.clearsign(&release_for(&[(
        "main/binary-amd64/Packages.gz",
        b"something else",
    )]));
    let mirror = serve(vec![
        ("dists/bookworm/InRelease", release),
        (
            "dists/bookworm/main/binary-amd64/Packages.gz",
            b"tampered".to_vec(),
        ),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let opts = ArchiveOptions {
        mirror: Some(mirror.url.clone()),
        ..signer.options(cache.path())
    };
    let e = Archive::load_remote(&bookworm(), &opts, &Recorder::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("does not match") && e.contains("InRelease"),
        "{e}"
    );
}

#[test]
fn mirror_in_the_middle_of_a_sync_is_read_by_hash() {
    // The plain Packages name already holds the next release's file; the InRelease in hand
    // names the old one, which Acquire-By-Hash keeps under by-hash/SHA256/<sha256>.
    let Some(signer) = Signer::new() else { return };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(PACKAGES.as_bytes()).unwrap();
    let packages = gz.finish().unwrap();
    let mut text = b"Acquire-By-Hash: yes\n".to_vec();
    text.extend(release_for(&[("main/binary-amd64/Packages.gz", &packages)]));
    let release = signer.clearsign(&text);
    let hashed: &'static str = Box::leak(
        format!(
            "dists/bookworm/main/binary-amd64/by-hash/SHA256/{}",
            sha256(&packages)
        )
        .into_boxed_str(),
    );
    let mirror = serve(vec![
        ("dists/bookworm/InRelease", release.clone()),
        (
            "dists/bookworm/main/binary-amd64/Packages.gz",
            b"the next release".to_vec(),
        ),
        (hashed, packages.clone()),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let opts = ArchiveOptions {
        mirror: Some(mirror.url.clone()),
        ..signer.options(cache.path())
    };
    let a = Archive::load_remote(&bookworm(), &opts, &Recorder::default()).unwrap();
    assert_eq!(a.newest("python3-regex").unwrap().version, "0.1.20221031-1");

    // A mirror that announces by-hash but lacks the file: the plain name is tried, and
    // its hash still decides.
    let mirror = serve(vec![
        ("dists/bookworm/InRelease", release),
        ("dists/bookworm/main/binary-amd64/Packages.gz", packages),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let opts = ArchiveOptions {
        mirror: Some(mirror.url.clone()),
        ..signer.options(cache.path())
    };
    let a = Archive::load_remote(&bookworm(), &opts, &Recorder::default()).unwrap();
    assert!(a.contains("python3-regex"));
}

#[test]
fn offline_without_cache_says_what_to_do() {
    let cache = tempfile::tempdir().unwrap();
    let opts = ArchiveOptions {
        offline: true,
        ..options(cache.path())
    };
    let e = Archive::load_remote(&bookworm(), &opts, &Recorder::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("without --offline"), "{e}");
    // The dist map falls back to the built-in snapshot and says so.
    let rec = Recorder::default();
    let m = DistMap::load(&bookworm(), &opts, &rec);
    assert_eq!(m.origin, MapOrigin::Snapshot);
    assert!(rec.warnings.lock().unwrap()[0].contains("snapshot"));
}

// ---------------------------------------------------------------- archive signatures

fn xz(text: &str) -> Vec<u8> {
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(text.as_bytes()).unwrap();
    xz.finish().unwrap()
}

fn gz(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

const EVIL: &str = "Package: python3-evil\nVersion: 99-1\nArchitecture: all\n\n";

#[test]
fn hostile_inrelease_text_outside_the_signature_is_ignored() {
    let Some(signer) = Signer::new() else { return };
    let real = gz(PACKAGES);
    let evil = xz(EVIL);
    // The signed part lists only Packages.gz. Text added before and after the signed
    // block lists a Packages.xz, which the loader would prefer if it read that text.
    let signed = signer.clearsign(&release_for(&[("main/binary-amd64/Packages.gz", &real)]));
    let forged =
        String::from_utf8(release_for(&[("main/binary-amd64/Packages.xz", &evil)])).unwrap();
    let mut tampered = forged.clone().into_bytes();
    tampered.extend_from_slice(&signed);
    tampered.extend_from_slice(forged.as_bytes());
    let mirror = serve(vec![
        ("dists/bookworm/InRelease", tampered),
        ("dists/bookworm/main/binary-amd64/Packages.gz", real),
        ("dists/bookworm/main/binary-amd64/Packages.xz", evil),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let opts = ArchiveOptions {
        mirror: Some(mirror.url.clone()),
        ..signer.options(cache.path())
    };
    let a = Archive::load_remote(&bookworm(), &opts, &Recorder::default()).unwrap();
    assert!(a.contains("python3-bs4"));
    assert!(!a.contains("python3-evil"));
    assert_eq!(a.sources.len(), 1);
    assert!(a.sources[0].ends_with("Packages.gz"), "{:?}", a.sources);

    // Changing the signed text itself breaks the signature.
    let text = String::from_utf8(signer.clearsign(&release_for(&[(
        "main/binary-amd64/Packages.gz",
        &gz(PACKAGES),
    )])))
    .unwrap();
    let broken = text.replacen("Origin: Test", "Origin: Evil", 1);
    assert_ne!(broken, text);
    let mirror = serve(vec![("dists/bookworm/InRelease", broken.into_bytes())]);
    let cache = tempfile::tempdir().unwrap();
    let e = format!(
        "{:#}",
        Archive::load_remote(
            &bookworm(),
            &ArchiveOptions {
                mirror: Some(mirror.url.clone()),
                ..signer.options(cache.path())
            },
            &Recorder::default()
        )
        .unwrap_err()
    );
    assert!(
        e.contains("does not verify") && e.contains("--archive-keyring"),
        "{e}"
    );
}

#[test]
fn hostile_unsigned_or_wrongly_signed_mirror_fails_without_the_flag() {
    let Some(signer) = Signer::new() else { return };
    let Some(stranger) = Signer::new() else {
        return;
    };
    let packages = gz(PACKAGES);
    let unsigned = release_for(&[("main/binary-amd64/Packages.gz", &packages)]);
    let by_stranger = stranger.clearsign(&unsigned);
    for (what, inrelease) in [("unsigned", unsigned.clone()), ("other key", by_stranger)] {
        let mirror = serve(vec![
            ("dists/bookworm/InRelease", inrelease),
            (
                "dists/bookworm/main/binary-amd64/Packages.gz",
                packages.clone(),
            ),
        ]);
        let cache = tempfile::tempdir().unwrap();
        let opts = ArchiveOptions {
            mirror: Some(mirror.url.clone()),
            ..signer.options(cache.path())
        };
        let e = format!(
            "{:#}",
            Archive::load_remote(&bookworm(), &opts, &Recorder::default()).unwrap_err()
        );
        assert!(
            e.contains("does not verify") && e.contains(&mirror.url) && e.contains("InRelease"),
            "{what}: {e}"
        );
        // The explicit flag lets it through, loudly.
        let rec = Recorder::default();
        let allowed = ArchiveOptions {
            allow_unverified: true,
            ..opts.clone()
        };
        let a = Archive::load_remote(&bookworm(), &allowed, &rec).unwrap();
        assert!(a.contains("python3-bs4"), "{what}");
        let w = rec.warnings.lock().unwrap().join("\n");
        assert!(
            w.contains("UNVERIFIED") && w.contains("--allow-unverified-archive"),
            "{what}: {w}"
        );
    }
}

#[test]
fn hostile_missing_keyring_fails_and_names_the_fixes() {
    let Some(signer) = Signer::new() else { return };
    let packages = gz(PACKAGES);
    let mirror = serve(vec![(
        "dists/noble/InRelease",
        signer.clearsign(&release_for(&[(
            "main/binary-amd64/Packages.gz",
            &packages,
        )])),
    )]);
    let cache = tempfile::tempdir().unwrap();
    // py2deb carries no Ubuntu keys (see data/keyrings/README.md): without the system
    // keyring or --archive-keyring this must fail, not warn.
    let noble = Target::named("noble", "amd64").unwrap();
    let opts = ArchiveOptions {
        mirror: Some(mirror.url.clone()),
        ..options(cache.path())
    };
    let e = format!(
        "{:#}",
        Archive::load_remote(&noble, &opts, &Recorder::default()).unwrap_err()
    );
    assert!(
        e.contains("--archive-keyring") && e.contains("--allow-unverified-archive"),
        "{e}"
    );
    // A keyring path that does not exist is named.
    let e = format!(
        "{:#}",
        Archive::load_remote(
            &noble,
            &ArchiveOptions {
                keyring: Some(cache.path().join("nope.gpg")),
                ..opts.clone()
            },
            &Recorder::default()
        )
        .unwrap_err()
    );
    assert!(e.contains("nope.gpg") && e.contains("no such file"), "{e}");
}

#[test]
fn debian_targets_verify_with_the_keys_py2deb_carries() {
    let Some(signer) = Signer::new() else { return };
    let keyring =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/keyrings/debian-archive-keyring.gpg");
    let shown = signer.gpg(&["--with-colons", "--show-keys", keyring.to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&shown);
    for fingerprint in [
        // Debian Archive Automatic Signing Keys for 12/bookworm and 13/trixie.
        "4CB50190207B4758A3F73A796ED0E7B82643E131",
        "B8E5F13176D2A7A75220028078DBA3BC47EF2265",
    ] {
        assert!(
            shown.contains(fingerprint),
            "{fingerprint} missing from {}",
            keyring.display()
        );
    }
    // Without --archive-keyring a Debian target checks against Debian's keys: a mirror
    // signed by anyone else fails (it is not "signature not checked").
    let packages = gz(PACKAGES);
    let mirror = serve(vec![(
        "dists/bookworm/InRelease",
        signer.clearsign(&release_for(&[(
            "main/binary-amd64/Packages.gz",
            &packages,
        )])),
    )]);
    let cache = tempfile::tempdir().unwrap();
    let e = format!(
        "{:#}",
        Archive::load_remote(
            &bookworm(),
            &ArchiveOptions {
                mirror: Some(mirror.url.clone()),
                ..options(cache.path())
            },
            &Recorder::default()
        )
        .unwrap_err()
    );
    assert!(
        e.contains("does not verify against the debian archive keys py2deb carries"),
        "{e}"
    );
}

/// A loopback mirror with one signed Packages list (the fixture's), a fresh cache and the
/// options that read it.
fn one_list_mirror(signer: &Signer) -> (Mirror, tempfile::TempDir, ArchiveOptions) {
    let packages = gz(PACKAGES);
    let release = release_for(&[("main/binary-amd64/Packages.gz", &packages)]);
    let mirror = serve(vec![
        ("dists/bookworm/InRelease", signer.clearsign(&release)),
        ("dists/bookworm/main/binary-amd64/Packages.gz", packages),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let opts = ArchiveOptions {
        mirror: Some(mirror.url.clone()),
        ..signer.options(cache.path())
    };
    (mirror, cache, opts)
}

#[test]
fn hostile_unverified_cache_is_verified_again() {
    let Some(signer) = Signer::new() else { return };
    let (mirror, cache, opts) = one_list_mirror(&signer);
    Archive::load_remote(&bookworm(), &opts, &Recorder::default()).unwrap();
    let cached = cache.path().join("archive-v2/debian/bookworm/InRelease");
    assert!(cached.exists());

    // Someone replaces the cached copy (or an earlier --allow-unverified-archive run left
    // an unsigned one): it is not trusted on the next load, fresh or not.
    let evil = xz(EVIL);
    std::fs::write(
        &cached,
        release_for(&[("main/binary-amd64/Packages.xz", &evil)]),
    )
    .unwrap();
    let offline = ArchiveOptions {
        offline: true,
        ..opts.clone()
    };
    let e = format!(
        "{:#}",
        Archive::load_remote(&bookworm(), &offline, &Recorder::default()).unwrap_err()
    );
    assert!(
        e.contains("no longer verifies") && e.contains("without --offline"),
        "{e}"
    );

    // Online, the bad copy is replaced by a verified download, with a warning.
    let before = mirror.hits.load(Ordering::SeqCst);
    let rec = Recorder::default();
    let a = Archive::load_remote(&bookworm(), &opts, &rec).unwrap();
    assert!(a.contains("python3-bs4") && !a.contains("python3-evil"));
    assert!(mirror.hits.load(Ordering::SeqCst) > before);
    let w = rec.warnings.lock().unwrap().join("\n");
    assert!(
        w.contains("does not verify") && w.contains("downloading it again"),
        "{w}"
    );
    assert!(std::fs::read_to_string(&cached)
        .unwrap()
        .contains("BEGIN PGP SIGNATURE"));
}

/// Map with the real PEP 440 → Debian translation.
fn map_real(text: &str, archive: &Archive, dists: &DistMap) -> py2deb::resolve::mapping::MapRow {
    let target = bookworm();
    let env = markers::environment(&target).unwrap();
    let req = markers::parse_requirement(text).unwrap();
    let applies = markers::applies(&req, &env, &[]);
    let u = Universe {
        target: &target,
        archive,
        dists,
    };
    py2deb::resolve::mapping::map_requirement(&req, applies, &u)
}

/// bookworm's python3-numpy is `1:1.24.2-1+deb12u1`: epoch 1 sorts above every epoch-0
/// version, so bounds written without it are never met (`<< 2~~dev0`) or always met
/// (`>= 1.20`). Each bound carries the package's epoch, and the verdict is the one dpkg
/// reaches on the relation written.
#[test]
fn epoch_package_bounds_carry_the_epoch() {
    let archive = Archive::from_packages_text(PACKAGES);
    let dists = fixture_map();
    let have: debversion::Version = "1:1.24.2-1+deb12u1".parse().unwrap();
    for (req, status, relation) in [
        ("numpy<2", Status::Satisfied, "python3-numpy (<< 1:2~~dev0)"),
        (
            "numpy>=1.20",
            Status::Satisfied,
            "python3-numpy (>= 1:1.20)",
        ),
        ("numpy>=2", Status::Conflict, "python3-numpy (>= 1:2)"),
        (
            "numpy>=1.22,<1.24",
            Status::Conflict,
            "python3-numpy (>= 1:1.22), python3-numpy (<< 1:1.24~~dev0)",
        ),
    ] {
        let r = map_real(req, &archive, &dists);
        assert_eq!(
            (r.status, r.relation.as_deref()),
            (status, Some(relation)),
            "{req}"
        );
        // What apt would decide on the written relation agrees with the verdict.
        let accepts =
            py2deb::debian::version::relations_accept(&r.relations, "python3-numpy", &have);
        assert_eq!(accepts, status == Status::Satisfied, "{req}: {relation}");
    }
}

#[test]
fn epoch_offsets_are_relative_to_the_python_epoch() {
    use py2deb::debian::version::{epoch_offset, shift_epochs, with_epoch_offset};
    use std::str::FromStr;
    let v = |s: &str| pep440_rs::Version::from_str(s).unwrap();
    assert_eq!(epoch_offset("1:1.24.2-1", Some(&v("1.24.2"))), 1);
    // A Python epoch the Debian epoch already carries adds nothing.
    assert_eq!(epoch_offset("1:1.0-1", Some(&v("1!1.0"))), 0);
    assert_eq!(epoch_offset("2.0-1", None), 0);
    assert_eq!(with_epoch_offset("2~~dev0", 1), "1:2~~dev0");
    assert_eq!(with_epoch_offset("1:2.0", 2), "3:2.0");
    // Only the package's own bounds move; the python3 alternative of a marker keeps its own.
    let mut r = Relations::default();
    r.push_group(py2deb::debian::relation::Alternatives(vec![
        Dep::with("python3-numpy", Op::Lt, "2~~dev0"),
        Dep::with("python3", Op::Lt, "3.8"),
    ]));
    assert_eq!(
        shift_epochs(r, "python3-numpy", 1).to_string(),
        "python3-numpy (<< 1:2~~dev0) | python3 (<< 3.8)"
    );
}

/// A verified InRelease is remembered (`InRelease.verified`) so warm loads skip gpgv, but
/// only for the same bytes and the same keys: other keys verify it anew.
#[test]
fn hostile_remembered_verification_does_not_carry_over_to_other_keys() {
    let Some(signer) = Signer::new() else { return };
    let Some(other) = Signer::new() else { return };
    let (_mirror, cache, opts) = one_list_mirror(&signer);
    Archive::load_remote(&bookworm(), &opts, &Recorder::default()).unwrap();
    let memo = cache
        .path()
        .join("archive-v2/debian/bookworm/InRelease.verified");
    let record = std::fs::read_to_string(&memo).unwrap();
    assert!(
        record.starts_with("py2deb verified InRelease v1\ninput "),
        "{record}"
    );
    assert!(
        record.contains("SHA256:"),
        "the signed text follows: {record}"
    );

    // Same bytes, same keys, offline: loads from the record.
    let offline = ArchiveOptions {
        offline: true,
        ..opts.clone()
    };
    let a = Archive::load_remote(&bookworm(), &offline, &Recorder::default()).unwrap();
    assert!(a.contains("python3-bs4"));

    // Same bytes, other keys: gpgv runs again and refuses them.
    let e = format!(
        "{:#}",
        Archive::load_remote(
            &bookworm(),
            &ArchiveOptions {
                keyring: Some(other.keyring.clone()),
                ..offline.clone()
            },
            &Recorder::default()
        )
        .unwrap_err()
    );
    assert!(e.contains("no longer verifies"), "{e}");
}
