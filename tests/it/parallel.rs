//! Packages of one run written in parallel: the same bytes as one after another, all or
//! nothing when one of them fails, and `PY2DEB_JOBS` checked.

use crate::support::WheelBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MAINTAINER: &str = "Test Maintainer <test@example.org>";

/// A stand-in for bookworm's apt lists, so that no mirror is asked.
fn apt_lists(dir: &Path) -> PathBuf {
    let d = dir.join("lists");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"),
        "Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n",
    )
    .unwrap();
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `py2deb build WHEEL... --no-index -o out` with `PY2DEB_JOBS=jobs` (unset for None).
fn build(wheels: &[PathBuf], out: &Path, jobs: Option<&str>, compression: &str) -> Output {
    let tmp = out.with_extension("work");
    let mut c = Command::new(env!("CARGO_BIN_EXE_py2deb"));
    c.env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .env_remove("PY2DEB_JOBS")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("PY2DEB_CACHE_DIR", tmp.join("cache"))
        .arg("build")
        .args(wheels)
        .args(["--no-index", "--target", "bookworm", "--apt-lists"])
        .arg(apt_lists(&tmp))
        .args(["--arch", "amd64", "-q", "--compression", compression, "-o"])
        .arg(out)
        .args(["--maintainer", MAINTAINER]);
    if let Some(j) = jobs {
        c.env("PY2DEB_JOBS", j);
    }
    c.output().unwrap()
}

/// Every entry of `dir` (hidden ones too) with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    if !dir.exists() {
        return BTreeMap::new();
    }
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

/// Pseudo-random text, so that packages differ in size and compress to some work.
fn filler(seed: u32, len: usize) -> String {
    let mut x = seed;
    (0..len)
        .map(|i| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if i % 61 == 60 {
                '\n'
            } else {
                b"abcdefgh ij_=()"[(x >> 27) as usize % 15] as char
            }
        })
        .collect()
}

/// Six projects of different sizes; one has a program, one a long module path.
fn wheels(dir: &Path) -> Vec<PathBuf> {
    (0..6u32)
        .map(|i| {
            let name = format!("pkg{i}");
            let mut w = WheelBuilder::new(&name, "1.0")
                .file(&format!("{name}/__init__.py"), format!("N = {i}\n"))
                .file(
                    &format!("{name}/data.py"),
                    filler(i + 1, 20_000 * (i as usize + 1)),
                )
                .metadata(&format!("Summary: Package number {i}"));
            if i == 2 {
                w = w
                    .file(
                        &format!("{name}/a_rather_long_subpackage_name/and_a_deeper_one/with_a_module_name_that_goes_on.py"),
                        "x = 1\n",
                    )
                    .entry_points(&format!("[console_scripts]\n{name}-tool = {name}:main\n"));
            }
            w.write(dir)
        })
        .collect()
}

#[test]
fn parallel_write_gives_the_bytes_of_a_sequential_one() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = wheels(tmp.path());
    for compression in ["xz", "zstd", "gzip"] {
        let mut runs = Vec::new();
        for jobs in [Some("1"), Some("3"), Some("16"), None] {
            let out = tmp
                .path()
                .join(format!("out-{compression}-{}", jobs.unwrap_or("default")));
            let o = build(&wheels, &out, jobs, compression);
            assert!(o.status.success(), "jobs {jobs:?}: {}", text(&o.stderr));
            runs.push((jobs, files(&out)));
        }
        let (_, sequential) = &runs[0];
        assert_eq!(sequential.len(), 6, "{:?}", sequential.keys());
        assert!(sequential.keys().all(|n| n.ends_with("_all.deb")));
        for (jobs, written) in &runs[1..] {
            assert_eq!(
                written.keys().collect::<Vec<_>>(),
                sequential.keys().collect::<Vec<_>>(),
                "{compression}, jobs {jobs:?}"
            );
            for (name, bytes) in written {
                assert!(
                    bytes == &sequential[name],
                    "{compression}: {name} differs between PY2DEB_JOBS=1 and {jobs:?}"
                );
            }
        }
    }
}

#[test]
fn hostile_parallel_write_failure_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wheels = wheels(tmp.path());
    // Opens and lays out fine; its module no longer matches RECORD, which is only found
    // when the module is read, while the packages are written.
    let tampered = WheelBuilder::new("tampered", "1.0")
        .stored()
        .file("tampered/__init__.py", "ORIGINAL = 1\n")
        .to_bytes();
    let at = tampered.windows(8).position(|w| w == b"ORIGINAL").unwrap();
    let mut bytes = tampered.clone();
    bytes[at..at + 8].copy_from_slice(b"MODIFIED");
    let bad = tmp.path().join("tampered-1.0-py3-none-any.whl");
    std::fs::write(&bad, bytes).unwrap();
    wheels.insert(2, bad);
    for jobs in ["1", "2", "7"] {
        let out = tmp.path().join(format!("out-{jobs}"));
        let o = build(&wheels, &out, Some(jobs), "xz");
        let err = text(&o.stderr);
        assert!(!o.status.success(), "jobs {jobs}: {}", text(&o.stdout));
        assert!(err.starts_with("error: "), "{err}");
        assert!(
            err.contains("python3-tampered_1.0-0py2deb1_all.deb")
                && err.contains("tampered/__init__.py"),
            "jobs {jobs}: the error names the failing package:\n{err}"
        );
        assert!(
            !err.contains("another package"),
            "jobs {jobs}: a stopped package is not the error reported:\n{err}"
        );
        assert_eq!(err.matches("error: ").count(), 1, "{err}");
        let left = files(&out);
        assert!(
            left.is_empty(),
            "jobs {jobs}: left behind {:?}",
            left.keys()
        );
    }
}

#[test]
fn hostile_jobs_variable_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = wheels(tmp.path());
    for bad in ["0", "two", "-1", ""] {
        let out = tmp.path().join("out");
        let o = build(&wheels, &out, Some(bad), "xz");
        let err = text(&o.stderr);
        assert!(!o.status.success(), "PY2DEB_JOBS={bad:?} accepted");
        assert!(err.contains(&format!("PY2DEB_JOBS=`{bad}`")), "{err}");
        assert!(err.contains("1 or more, or unset it"), "{err}");
        assert!(files(&out).is_empty(), "{:?}", files(&out).keys());
    }
}
