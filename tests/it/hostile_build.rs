//! Hostile wheels and interrupted runs against `py2deb build`: metadata that would inject
//! control-file syntax, file and program names that would be shell or roff, zip archives
//! that lie about their entries, and runs that fail or die half-way.

use crate::support::{RawEntry, RawZip, WheelBuilder};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MAINTAINER: &str = "Test Maintainer <test@example.org>";

/// The binary with the hermetic environment and bookworm-like lists of `build.rs`, and a
/// fixed timestamp.
fn py2deb() -> Command {
    let mut c = crate::build::py2deb();
    c.env("SOURCE_DATE_EPOCH", "1700000000");
    c
}

use crate::build::apt_lists;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `py2deb build WHEEL... --no-index -o out` for bookworm.
fn build_cmd(wheels: &[&Path], out: &Path) -> Command {
    let mut c = py2deb();
    c.arg("build")
        .args(wheels)
        .args([
            "--no-index",
            "--target",
            "bookworm",
            "--apt-lists",
            apt_lists(),
            "--arch",
            "amd64",
            "-q",
            "-o",
        ])
        .arg(out)
        .args(["--maintainer", MAINTAINER]);
    c
}

fn build(wheels: &[&Path], out: &Path) -> Output {
    build_cmd(wheels, out).output().unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The run failed with one `error:` naming `needle`, and left nothing in `out`.
fn assert_refused(o: &Output, out: &Path, needle: &str) -> String {
    let err = text(&o.stderr);
    assert!(
        !o.status.success(),
        "expected a failure, got success: {}",
        text(&o.stdout)
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "error should name `{needle}`:\n{err}");
    assert!(
        entries(out).is_empty(),
        "output left after failure: {:?}",
        entries(out)
    );
    err
}

fn deb_in(dir: &Path) -> PathBuf {
    let debs: Vec<PathBuf> = entries(dir)
        .into_iter()
        .filter(|n| n.ends_with(".deb"))
        .map(|n| dir.join(n))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    debs[0].clone()
}

fn dpkg_deb_available() -> bool {
    crate::support::prerequisite(
        Command::new("dpkg-deb").arg("--version").output().is_ok(),
        "dpkg-deb (apt install dpkg)",
    )
}

/// Unpack the data and control members of a `.deb` with dpkg-deb.
fn unpack(deb: &Path, into: &Path) -> (PathBuf, PathBuf) {
    let data = into.join("data");
    let control = into.join("control");
    std::fs::create_dir_all(&data).unwrap();
    for (flag, dir) in [("-x", &data), ("-e", &control)] {
        let o = Command::new("dpkg-deb")
            .arg(flag)
            .arg(deb)
            .arg(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "dpkg-deb {flag}: {}", text(&o.stderr));
    }
    (data, control)
}

fn gunzip(path: &Path) -> String {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

// ---------------------------------------------------------------------------------------
// Metadata that would reach a control file, man page, copyright or changelog.

#[test]
fn hostile_metadata_nel_line_break_in_home_page() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for (line, field, what) in [
        (
            "Home-page: http://x y\u{85}Depends: evil",
            "Home-page",
            "NEL",
        ),
        (
            "Summary: nice\u{2028}Depends: evil",
            "Summary",
            "line separator",
        ),
        ("Author: \u{202e}evil", "Author", "bidirectional"),
        ("Author: x\u{2066}y", "Author", "bidirectional"),
        ("Maintainer-email: a\u{9b}31m@b.c", "Maintainer-email", "C1"),
        (
            "License: MIT\u{2029}Depends: evil",
            "License",
            "paragraph separator",
        ),
    ] {
        let wheel = WheelBuilder::new("meta-evil", "1.0")
            .metadata(line)
            .write(&tmp.path().join("w"));
        let o = build(&[&wheel], &out);
        let err = assert_refused(&o, &out, field);
        assert!(err.contains(what), "{line:?}: {err}");
    }
    // The long description (the message body) is checked too.
    let wheel = WheelBuilder::new("meta-evil", "1.0")
        .description("Intro.\n\nText\u{85}Depends: evil\n")
        .write(&tmp.path().join("w"));
    let o = build(&[&wheel], &out);
    assert_refused(&o, &out, "Description");
}

#[test]
fn hostile_marker_invalid_version_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let wheel = WheelBuilder::new("marker-evil", "1.0")
        .metadata("Requires-Dist: tomli; python_version == \"banana\"")
        .write(tmp.path());
    let o = build(&[&wheel], &out);
    let err = assert_refused(&o, &out, "tomli; python_version == \\\"banana\\\"");
    assert!(err.contains("Requires-Dist"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Names that would be shell or roff.

#[test]
fn hostile_module_name_shell_substitution() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for name in [
        "demo_pkg/$(touch${IFS}PWNED).py",
        "demo_pkg/`touch PWNED`.py",
        "demo_pkg/a;touch PWNED.py",
        "demo_pkg/a\u{85}b.py",
        "demo_pkg/a\u{202e}yp.txt",
    ] {
        let wheel = WheelBuilder::new("demo_pkg", "1.0")
            .file("demo_pkg/__init__.py", "")
            .file(name, "x = 1\n")
            .write(&tmp.path().join("w"));
        let o = build(&[&wheel], &out);
        let err = assert_refused(&o, &out, "installed file names may not contain");
        assert!(err.contains("demo_pkg/"), "{name:?}: {err}");
    }
}

#[test]
fn hostile_script_names_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let long = "a".repeat(300);
    for (script, needle) in [
        ("-rf", "must start with a letter or digit"),
        ("it's", "contains '\\''"),
        ("\"quoted\"", "contains '\"'"),
        (long.as_str(), "300 characters"),
        ("a$(id)", "contains '$'"),
    ] {
        let wheel = WheelBuilder::new("demo_pkg", "1.0")
            .file("demo_pkg/__init__.py", "def main(): pass\n")
            .entry_points(&format!("[console_scripts]\n{script} = demo_pkg:main\n"))
            .write(&tmp.path().join("w"));
        let o = build(&[&wheel], &out);
        let err = assert_refused(&o, &out, needle);
        assert!(err.contains("entry_points.txt"), "{script}: {err}");
    }
    // A wheel script (`.data/scripts/NAME`) is held to the same rule.
    let wheel = WheelBuilder::new("demo_pkg", "1.0")
        .file_mode("demo_pkg-1.0.data/scripts/-rf", "#!python\n", 0o755)
        .write(&tmp.path().join("w"));
    let o = build(&[&wheel], &out);
    assert_refused(&o, &out, "cannot be a program in /usr/bin");
}

#[test]
fn hostile_roff_in_homepage_and_summary_is_escaped() {
    if !dpkg_deb_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let wheel = WheelBuilder::new("roffdemo", "1.0")
        .file("roffdemo/__init__.py", "def main(): pass\n")
        .metadata("Summary: .so /etc/shadow \\fBbold\\fR")
        .metadata("Home-page: https://my-site.example.org/a-b")
        .description("'br\n\n.SH INJECTED\n")
        .entry_points("[console_scripts]\nroff-demo = roffdemo:main\n")
        .write(tmp.path());
    let o = build(&[&wheel], &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (data, _) = unpack(&deb_in(&out), &tmp.path().join("x"));
    let page = gunzip(&data.join("usr/share/man/man1/roff-demo.1.gz"));
    assert!(
        page.contains("https://my\\-site.example.org/a\\-b"),
        "{page}"
    );
    assert!(page.contains("\\efBbold\\efR"), "{page}");
    for line in page.lines() {
        // Only the template's own requests start a line with `.` or `'`.
        if let Some(request) = line.strip_prefix('.') {
            let name = request.split_whitespace().next().unwrap_or("");
            assert!(
                ["TH", "SH", "B", "PP"].contains(&name),
                "unexpected request {line:?} in\n{page}"
            );
        }
        assert!(!line.starts_with('\''), "{line:?}");
    }
    assert!(!page.contains("\n.SH INJECTED"), "{page}");
}

// ---------------------------------------------------------------------------------------
// Maintainer scripts.

#[test]
fn hostile_file_names_never_reach_maintainer_scripts() {
    if !dpkg_deb_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Odd but allowed names (setuptools ships `script (dev).tmpl`).
    let odd = ["oddnames/script (dev).py", "oddnames/[id]{x}#1.py"];
    let mut b = WheelBuilder::new("oddnames", "1.0").file("oddnames/__init__.py", "");
    for n in odd {
        b = b.file(n, "x = 1\n");
    }
    let wheel = b.write(tmp.path());
    let o = build(&[&wheel], &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (_, control) = unpack(&deb_in(&out), &tmp.path().join("x"));
    for script in ["postinst", "prerm"] {
        let body = std::fs::read_to_string(control.join(script)).unwrap();
        for needle in [
            "script (dev)",
            "[id]",
            "oddnames/",
            "dist-packages/oddnames",
        ] {
            assert!(!body.contains(needle), "{script} names {needle:?}:\n{body}");
        }
        assert!(body.contains("python3-oddnames"), "{body}");
        let o = Command::new("sh")
            .arg("-n")
            .arg(control.join(script))
            .output()
            .unwrap();
        assert!(o.status.success(), "sh -n {script}: {}", text(&o.stderr));
    }
}

/// The prerm fallback (no py3clean) reads `dpkg -L` as data: a listed name that is shell
/// syntax is not run, and the byte-compiled files of listed modules are removed.
#[test]
fn hostile_prerm_fallback_does_not_run_file_names() {
    if !dpkg_deb_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let wheel = WheelBuilder::new("cleanme", "1.0")
        .file("cleanme/__init__.py", "")
        .write(tmp.path());
    let o = build(&[&wheel], &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (_, control) = unpack(&deb_in(&out), &tmp.path().join("x"));

    // A fake root: modules with compiled files, and a listing with hostile names.
    let root = tmp.path().join("root");
    let pkg = root.join("pkg");
    std::fs::create_dir_all(pkg.join("__pycache__")).unwrap();
    std::fs::write(pkg.join("mod.py"), "").unwrap();
    std::fs::write(pkg.join("__pycache__/mod.cpython-311.pyc"), "").unwrap();
    std::fs::write(pkg.join("__pycache__/other.cpython-311.pyc"), "").unwrap();
    let pwned = tmp.path().join("PWNED");
    // Relative to the working directory, so that the name has no `/` of its own.
    let listing = format!(
        "{p}\n{p}/mod.py\n{p}/$(touch PWNED).py\n{p}/`touch PWNED`.py\n{p}/\"; touch PWNED; \".py\n",
        p = pkg.display(),
    );
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let listing_file = tmp.path().join("listing");
    std::fs::write(&listing_file, listing).unwrap();
    let fake = |name: &str, body: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    fake("dpkg", &format!("cat '{}'", listing_file.display()));
    fake("find", "exit 0");
    fake("xargs", "cat >/dev/null");
    fake("cat", "exec /bin/cat \"$@\"");
    fake("rm", "exec /bin/rm \"$@\"");
    fake("sed", "exec /bin/sed \"$@\"");
    fake("touch", "exec /usr/bin/touch \"$@\"");
    let o = Command::new("/bin/sh")
        .arg(control.join("prerm"))
        .arg("remove")
        .env_clear()
        .env("PATH", &bin)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "prerm: {}", text(&o.stderr));
    assert!(!pwned.exists(), "a listed file name was run as a command");
    assert!(!pkg.join("__pycache__/mod.cpython-311.pyc").exists());
    assert!(pkg.join("__pycache__/other.cpython-311.pyc").exists());
}

// ---------------------------------------------------------------------------------------
// Zip archives that lie.

/// A wheel written byte by byte: METADATA, WHEEL and a RECORD listing `files`.
fn raw_wheel(name: &str, files: Vec<RawEntry>) -> RawZip {
    let di = format!("{name}-1.0.dist-info");
    let mut zip = RawZip::new();
    let meta = format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n");
    let wheel = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let mut record = String::new();
    let mut all = files;
    for (n, d) in [("METADATA", meta.as_str()), ("WHEEL", wheel)] {
        all.push(RawEntry {
            name: format!("{di}/{n}"),
            data: d.as_bytes().to_vec(),
            mode: 0o100644,
            deflate: false,
            declared_size: None,
        });
    }
    for e in &all {
        if !e.name.ends_with('/') {
            record.push_str(&format!(
                "{},{},{}\n",
                e.name,
                crate::support::record_hash(&e.data),
                e.data.len()
            ));
        }
    }
    record.push_str(&format!("{di}/RECORD,,\n"));
    for e in all {
        zip = zip.entry(e);
    }
    zip.file(&format!("{di}/RECORD"), record)
}

fn deflated(name: &str, data: Vec<u8>) -> RawEntry {
    RawEntry {
        name: name.into(),
        data,
        mode: 0o100644,
        deflate: true,
        declared_size: None,
    }
}

#[test]
fn hostile_zip_overlapping_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // A stored entry whose data are the next entry's local header and data: both read
    // fine, and the same compressed bytes are inflated twice.
    let zip = raw_wheel(
        "overlap",
        vec![deflated("overlap/big.bin", vec![b'x'; 1 << 16])],
    )
    .overlapping("overlap/copy.bin", 0);
    let path = zip.write(&tmp.path().join("overlap-1.0-py3-none-any.whl"));
    // The zip library reads both entries, CRCs included: only their placement is wrong.
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(archive.len(), 5);
    for name in ["overlap/copy.bin", "overlap/big.bin"] {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name(name).unwrap(), &mut data).unwrap();
        assert!(!data.is_empty());
    }
    let o = build(&[&path], &out);
    let err = assert_refused(&o, &out, "overlap");
    assert!(err.contains("overlap/big.bin"), "{err}");
    assert!(err.contains("crafted"), "{err}");
}

#[test]
fn hostile_zip_directory_entry_with_data() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let zip = raw_wheel(
        "dirdata",
        vec![RawEntry {
            name: "dirdata/".into(),
            data: vec![0u8; 4096],
            mode: 0o040755,
            deflate: true,
            declared_size: None,
        }],
    );
    let path = zip.write(&tmp.path().join("dirdata-1.0-py3-none-any.whl"));
    let o = build(&[&path], &out);
    assert_refused(&o, &out, "directory entry \"dirdata/\" carries 4096 bytes");
}

#[test]
fn hostile_zip_bomb_ratio_and_raised_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // 24 MiB of zeros deflate to about 24 KB: a 1000:1 ratio no real file has.
    let zip = raw_wheel(
        "bomb",
        vec![
            deflated("bomb/__init__.py", Vec::new()),
            deflated("bomb/zeros.bin", vec![0u8; 24 << 20]),
        ],
    );
    let path = zip.write(&tmp.path().join("bomb-1.0-py3-none-any.whl"));
    assert!(std::fs::metadata(&path).unwrap().len() < 100_000);
    let o = build(&[&path], &out);
    let err = assert_refused(&o, &out, "\"bomb/zeros.bin\"");
    assert!(
        err.contains("ratio above 250:1") && err.contains("--max-ratio"),
        "{err}"
    );

    // The limits are options: a genuine but odd wheel can pass with a higher ratio ...
    let o = build_cmd(&[&path], &out)
        .args(["--max-ratio", "5000", "--compression", "gzip"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(entries(&out).len(), 1, "{:?}", entries(&out));
    std::fs::remove_dir_all(&out).unwrap();
    // ... and a site can lower the per-entry and total caps.
    let o = build_cmd(&[&path], &out)
        .args(["--max-ratio", "5000", "--max-entry-size", "1M"])
        .output()
        .unwrap();
    let err = assert_refused(&o, &out, "per-entry limit of 1048576");
    assert!(err.contains("--max-entry-size"), "{err}");
    let o = build_cmd(&[&path], &out)
        .args(["--max-ratio", "5000", "--max-total-size", "2MiB"])
        .output()
        .unwrap();
    assert_refused(&o, &out, "total limit");
    let o = build_cmd(&[&path], &out)
        .args(["--max-entry-size", "lots"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("`lots` is not a size"),
        "{}",
        text(&o.stderr)
    );
}

// ---------------------------------------------------------------------------------------
// All or nothing, interruptions, and messages that name the right thing.

fn good_wheel(dir: &Path) -> PathBuf {
    WheelBuilder::new("goodpkg", "1.0")
        .file("goodpkg/__init__.py", "")
        .write(dir)
}

#[test]
fn hostile_second_spec_leaves_no_package_of_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let good = good_wheel(tmp.path());
    // Opens fine; fails only when it is laid out, after the good one was written.
    let bad = WheelBuilder::new("badpkg", "1.0")
        .file("badpkg/$(id).py", "")
        .write(tmp.path());
    let o = build(&[&good, &bad], &out);
    assert_refused(&o, &out, "$(id)");
    // A failure while writing, after the good package was written: a module whose bytes
    // no longer match RECORD is only found when it is read.
    let tampered = WheelBuilder::new("tampered", "1.0")
        .stored()
        .file("tampered/__init__.py", "ORIGINAL = 1\n")
        .to_bytes();
    let at = tampered.windows(8).position(|w| w == b"ORIGINAL").unwrap();
    let mut bytes = tampered.clone();
    bytes[at..at + 8].copy_from_slice(b"MODIFIED");
    let bad = tmp.path().join("tampered-1.0-py3-none-any.whl");
    std::fs::write(&bad, bytes).unwrap();
    let o = build(&[&good, &bad], &out);
    assert_refused(&o, &out, "tampered/__init__.py");
    // Alone, the good wheel builds: the failures above were all or nothing.
    let o = build(&[&good], &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(entries(&out), ["python3-goodpkg_1.0-0py2deb1_all.deb"]);
}

fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn hostile_output_mode_follows_the_umask() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_wheel(tmp.path());
    for (umask, want) in [("022", 0o644), ("027", 0o640), ("002", 0o664)] {
        let out = tmp.path().join(format!("out{umask}"));
        let cmd = build_cmd(&[&good], &out);
        let mut line = format!("umask {umask}; exec '{}'", env!("CARGO_BIN_EXE_py2deb"));
        for a in cmd.get_args() {
            line.push_str(&format!(" '{}'", a.to_string_lossy()));
        }
        let o = Command::new("sh")
            .args(["-c", &line])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let deb = deb_in(&out);
        assert_eq!(mode_of(&deb), want, "umask {umask}");
    }
}

#[test]
fn hostile_output_option_names_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_wheel(tmp.path());
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "keep me").unwrap();
    let o = build(&[&good], &file);
    let err = text(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("this is a file, not a directory"), "{err}");
    assert!(err.contains("-o"), "{err}");
    assert!(!err.contains("File exists"), "{err}");
    let o = build(&[&good], &file.join("sub"));
    let err = text(&o.stderr);
    assert!(err.contains("is a file, not a directory"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[test]
fn hostile_epoch_collision_names_both_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Both are python3-slugify, and dpkg's file name drops the epoch of 1:1.0.
    let a = WheelBuilder::new("slugify", "1!1.0")
        .file("slugify/__init__.py", "")
        .write(tmp.path());
    let b = WheelBuilder::new("python-slugify", "1.0")
        .file("python_slugify/__init__.py", "")
        .write(tmp.path());
    let o = build(&[&a, &b], &out);
    let err = assert_refused(&o, &out, "python3-slugify_1.0-0py2deb1_all.deb");
    assert!(err.contains("1:1.0-0py2deb1 (from slugify 1!1.0)"), "{err}");
    assert!(
        err.contains("1.0-0py2deb1 (from python-slugify 1.0)"),
        "{err}"
    );
}

fn staging_dirs(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.starts_with(".py2deb-staging-") || n.ends_with(".partial"))
        .collect()
}

#[test]
fn hostile_sigkill_leftovers_are_cleaned_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // A wheel big enough that writing it takes a while.
    let mut data = Vec::with_capacity(48 << 20);
    let mut x: u64 = 1;
    while data.len() < 48 << 20 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        data.extend_from_slice(&x.to_le_bytes());
    }
    let big = WheelBuilder::new("bigpkg", "1.0")
        .stored()
        .file("bigpkg/blob.bin", &data)
        .write(tmp.path());
    drop(data);
    let mut killed = false;
    for _ in 0..3 {
        let mut child = build_cmd(&[&big], &out).spawn().unwrap();
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(60) {
            // Killed once the run has locked its staging directory.
            if staging_dirs(&out)
                .iter()
                .any(|d| out.join(d).join(".lock").exists())
            {
                child.kill().unwrap();
                killed = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let _ = child.wait();
        if killed {
            break;
        }
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
    }
    assert!(killed, "never caught the build while it was writing");
    assert!(
        !staging_dirs(&out).is_empty(),
        "SIGKILL leaves its staging directory"
    );

    // Leftovers of older versions: an old partial file is removed, a fresh one (maybe a
    // running build) is kept; a staging directory whose lock is held stays too.
    let old = out.join(".python3-x_1.0-0py2deb1_all.deb.AbC123.partial");
    let fresh = out.join(".python3-y_1.0-0py2deb1_all.deb.XyZ789.partial");
    std::fs::write(&old, "half").unwrap();
    std::fs::write(&fresh, "half").unwrap();
    let ten_minutes_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(ten_minutes_ago)
        .unwrap();
    let live = out.join(".py2deb-staging-live");
    std::fs::create_dir_all(&live).unwrap();
    let lock = std::fs::File::create(live.join(".lock")).unwrap();
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock(2) on a descriptor this test owns.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    }
    // Someone else's file is never touched.
    std::fs::write(out.join(".notes.partial"), "mine").unwrap();

    // A staging directory younger than two seconds may belong to a run that has not
    // locked it yet; the killed one is older than that by now.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let small = good_wheel(tmp.path());
    let o = build_cmd(&[&small], &out).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let left = entries(&out);
    assert_eq!(
        left,
        [
            ".notes.partial",
            ".py2deb-staging-live",
            ".python3-y_1.0-0py2deb1_all.deb.XyZ789.partial",
            "python3-goodpkg_1.0-0py2deb1_all.deb"
        ],
        "{}",
        text(&o.stderr)
    );
    drop(lock);
}

#[test]
fn hostile_sigterm_during_sdist_build_removes_scratch() {
    let python = Command::new("/usr/bin/python3")
        .args(["-c", "import setuptools"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !crate::support::prerequisite(python, "/usr/bin/python3 with setuptools") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let scratch_root = tmp.path().join("tmp");
    std::fs::create_dir_all(&scratch_root).unwrap();
    let src = crate::sdist::sdist(
        tmp.path(),
        "sleepy-1.0",
        &[(
            "setup.py",
            "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n",
        )],
    );
    let out = tmp.path().join("out");
    let scratch = || {
        entries(&scratch_root)
            .into_iter()
            .filter(|n| n.starts_with("py2deb-sdist-"))
            .collect::<Vec<_>>()
    };
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut child = build_cmd(&[&src], &out)
            .arg("--no-build-isolation")
            .env("TMPDIR", &scratch_root)
            .env("PY2DEB_CACHE_DIR", tmp.path().join("cache"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        // Wait until the build runs the project's code (its hook request is written).
        while !scratch()
            .iter()
            .any(|d| scratch_root.join(d).join("hook-request.json").exists())
        {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "the build never started"
            );
            assert!(child.try_wait().unwrap().is_none(), "py2deb ended early");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        // SAFETY: kill(2) on the child this test started.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "signal {signal}");
        assert!(start.elapsed() < std::time::Duration::from_secs(60));
        assert_eq!(scratch(), Vec::<String>::new(), "signal {signal}");
        assert!(entries(&out).is_empty(), "{:?}", entries(&out));
    }
}
