//! `py2deb NAME` end to end against a loopback index, judged by the real Debian tools
//! (`dpkg-deb`, `lintian`). Regression tests for issue 2 are named `issue2_*`.

use crate::support::{Dist, IndexServer, Mode, RawZip, WheelBuilder};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EPOCH: &str = "1700000000";
const MAINTAINER: &str = "Test Maintainer <test@example.org>";

pub(crate) fn py2deb() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_py2deb"));
    // Hermetic: no user cache, no inherited index settings.
    c.env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .env_remove("PY2DEB_MIRROR")
        .env("PY2DEB_RETRY_DELAY_MS", "1");
    c
}

/// A tiny stand-in for bookworm's apt lists (hermetic: no mirror), with the packages
/// the fixtures depend on.
pub(crate) fn apt_lists() -> &'static str {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path()
                .join("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"),
            "Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n\
             Package: python3-requests\nVersion: 2.28.1+dfsg-1\nArchitecture: all\n\n\
             Package: python3-urllib3\nVersion: 1.26.12-1+deb12u4\nArchitecture: all\n\n",
        )
        .unwrap();
        d
    });
    dir.path().to_str().unwrap()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("running a command")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A small but complete project: a module with a Python shebang, a console script, a
/// dependency with a marker, a license file, a Markdown description.
fn demo_wheel(dir: &Path, version: &str) -> PathBuf {
    WheelBuilder::new("Demo_Tool", version)
        .file("demo_tool/__init__.py", "__version__ = '1'\n")
        .file_mode("demo_tool/cli.py", "#!/usr/bin/env python\nimport sys\ndef main():\n    print('demo ok')\n    return 0\n", 0o755)
        .file("demo_tool/__pycache__/cli.cpython-311.pyc", b"\0junk")
        .file(&format!("Demo_Tool-{version}.dist-info/licenses/LICENSE"), "Copyright (c) 2024 Demo Author\n\nPermission is hereby granted, free of charge.\n")
        .metadata("Summary: A demo tool for tests.")
        .metadata("Home-page: https://example.org/demo")
        .metadata("Author: Demo Author")
        .metadata("License-Expression: MIT")
        .metadata("License-File: LICENSE")
        .metadata("Requires-Python: >=3.9")
        .metadata("Requires-Dist: requests>=2.6")
        .metadata("Requires-Dist: tomli>=1.1; python_version < '3.11'")
        .metadata("Requires-Dist: colorama; sys_platform == 'win32'")
        .metadata("Description-Content-Type: text/markdown")
        .description("# Demo Tool\n\n[![badge](https://img.shields.io/x.svg)](https://ci)\n\nDemo Tool converts **things** into other things.\n\n```\ncode block\n```\n")
        .entry_points("[console_scripts]\ndemo-tool = demo_tool.cli:main\n")
        .write(dir)
}

fn serve(mode: Mode, wheels: &[PathBuf]) -> IndexServer {
    let server = IndexServer::start(mode);
    for w in wheels {
        server.add(
            "demo-tool",
            Dist::from_path(w).upload_time("2024-03-01T12:00:00Z"),
        );
    }
    server
}

fn build(server_url: &str, out: &Path, spec: &str, cache: &Path) -> Output {
    run(py2deb()
        .args([
            spec,
            "--index-url",
            server_url,
            "--target",
            "bookworm",
            "--apt-lists",
            apt_lists(),
            "--arch",
            "amd64",
            "-o",
        ])
        .arg(out)
        .args(["--maintainer", MAINTAINER, "--json", "-q"])
        .env("PY2DEB_CACHE_DIR", cache)
        .env("SOURCE_DATE_EPOCH", EPOCH))
}

/// `py2deb WHEEL --no-index` for bookworm into `out`.
fn build_local(wheel: &Path, out: &Path) -> Output {
    run(py2deb()
        .arg(wheel)
        .args([
            "--no-index",
            "--target",
            "bookworm",
            "--apt-lists",
            apt_lists(),
            "-q",
            "-o",
        ])
        .arg(out)
        .args(["--maintainer", MAINTAINER]))
}

fn only_deb(dir: &Path) -> PathBuf {
    let debs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    assert_eq!(
        debs.len(),
        1,
        "expected one .deb in {}: {debs:?}",
        dir.display()
    );
    debs[0].clone()
}

fn dir_is_empty(dir: &Path) -> bool {
    !dir.exists() || std::fs::read_dir(dir).unwrap().next().is_none()
}

fn dpkg_field(deb: &Path, field: &str) -> String {
    let o = run(Command::new("dpkg-deb").arg("-f").arg(deb).arg(field));
    assert!(
        o.status.success(),
        "dpkg-deb -f failed: {}",
        text(&o.stderr)
    );
    text(&o.stdout).trim().to_owned()
}

#[test]
fn issue2_json_and_html_indexes_give_the_same_package() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = demo_wheel(tmp.path(), "1.2.0");
    let mut outputs = Vec::new();
    for mode in [Mode::Json, Mode::Html] {
        let server = serve(mode, std::slice::from_ref(&wheel));
        let out = tmp.path().join(format!("out-{mode:?}"));
        let o = build(
            &server.url(),
            &out,
            "demo-tool",
            &tmp.path().join(format!("cache-{mode:?}")),
        );
        assert!(o.status.success(), "{mode:?}: {}", text(&o.stderr));
        let json: serde_json::Value =
            serde_json::from_slice(&o.stdout).expect("--json prints JSON");
        assert_eq!(json["packages"][0]["package"], "python3-demo-tool");
        assert_eq!(json["packages"][0]["version"], "1.2.0-0py2deb1");
        outputs.push(std::fs::read(only_deb(&out)).unwrap());
    }
    assert!(
        outputs[0] == outputs[1],
        "JSON and HTML index produced different bytes"
    );
}

#[test]
fn issue2_package_layout_matches_dh_python() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = demo_wheel(tmp.path(), "1.2.0");
    let server = serve(Mode::Json, &[wheel]);
    let out = tmp.path().join("out");
    let o = build(
        &server.url(),
        &out,
        "demo-tool==1.2.0",
        &tmp.path().join("cache"),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let deb = only_deb(&out);
    assert_eq!(
        deb.file_name().unwrap(),
        "python3-demo-tool_1.2.0-0py2deb1_all.deb"
    );

    // Control fields.
    assert_eq!(dpkg_field(&deb, "Package"), "python3-demo-tool");
    assert_eq!(dpkg_field(&deb, "Architecture"), "all");
    assert_eq!(dpkg_field(&deb, "Section"), "python");
    assert_eq!(dpkg_field(&deb, "Maintainer"), MAINTAINER);
    assert_eq!(dpkg_field(&deb, "Homepage"), "https://example.org/demo");
    let depends = dpkg_field(&deb, "Depends");
    assert!(depends.contains("python3:any"), "{depends}");
    assert!(depends.contains("python3 (>= 3.9~)"), "{depends}");
    assert!(depends.contains("python3-requests (>= 2.6"), "{depends}");
    // Markers are evaluated for bookworm (3.11, linux).
    assert!(
        !depends.contains("tomli") && !depends.contains("colorama"),
        "{depends}"
    );
    let desc = dpkg_field(&deb, "Description");
    assert!(desc.starts_with("Demo tool for tests"), "{desc}");
    assert!(desc.contains("converts things into other things"), "{desc}");
    assert!(
        !desc.contains("shields.io") && !desc.contains("code block"),
        "{desc}"
    );

    // Contents.
    let o = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    assert!(o.status.success());
    let listing = text(&o.stdout);
    for want in [
        "./usr/lib/python3/dist-packages/demo_tool/__init__.py",
        "./usr/lib/python3/dist-packages/demo_tool/cli.py",
        "./usr/lib/python3/dist-packages/Demo_Tool-1.2.0.dist-info/METADATA",
        "./usr/lib/python3/dist-packages/Demo_Tool-1.2.0.dist-info/INSTALLER",
        "./usr/bin/demo-tool",
        "./usr/share/doc/python3-demo-tool/copyright",
        "./usr/share/doc/python3-demo-tool/changelog.Debian.gz",
        "./usr/share/man/man1/demo-tool.1.gz",
    ] {
        assert!(listing.contains(want), "missing {want} in\n{listing}");
    }
    for unwanted in [
        "__pycache__",
        ".pyc",
        "dist-info/RECORD",
        "dist-info/licenses",
    ] {
        assert!(
            !listing.contains(unwanted),
            "{unwanted} must not be shipped:\n{listing}"
        );
    }
    for line in listing.lines() {
        assert!(line.contains(" root/root "), "not root-owned: {line}");
    }

    // Extract and check what dh_python3 would have produced.
    let x = tmp.path().join("x");
    assert!(run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x))
        .status
        .success());
    let dist = x.join("usr/lib/python3/dist-packages");
    assert_eq!(
        std::fs::read_to_string(dist.join("Demo_Tool-1.2.0.dist-info/INSTALLER")).unwrap(),
        "debian\n"
    );
    let cli = std::fs::read_to_string(dist.join("demo_tool/cli.py")).unwrap();
    assert!(
        cli.starts_with("#!/usr/bin/python3\n"),
        "shebang not rewritten: {cli}"
    );
    let wrapper = std::fs::read_to_string(x.join("usr/bin/demo-tool")).unwrap();
    assert!(wrapper.starts_with("#!/usr/bin/python3\n"));
    assert!(
        wrapper.contains("from demo_tool.cli import main"),
        "{wrapper}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(x.join("usr/bin/demo-tool"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    let copyright =
        std::fs::read_to_string(x.join("usr/share/doc/python3-demo-tool/copyright")).unwrap();
    assert!(copyright
        .starts_with("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"));
    assert!(copyright.contains("License: Expat"), "{copyright}");
    assert!(
        copyright.contains("Permission is hereby granted"),
        "{copyright}"
    );

    // The wrapper really runs the entry point with the system Python.
    let o = run(Command::new("/usr/bin/python3")
        .arg(x.join("usr/bin/demo-tool"))
        .env("PYTHONPATH", &dist));
    assert_eq!(text(&o.stdout).trim(), "demo ok", "{}", text(&o.stderr));

    // Maintainer scripts are dh_python3's.
    let ctl = tmp.path().join("ctl");
    assert!(run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&ctl))
        .status
        .success());
    let postinst = std::fs::read_to_string(ctl.join("postinst")).unwrap();
    assert!(
        postinst.contains("py3compile -p python3-demo-tool"),
        "{postinst}"
    );
    let prerm = std::fs::read_to_string(ctl.join("prerm")).unwrap();
    assert!(prerm.contains("py3clean -p python3-demo-tool"), "{prerm}");
    // md5sums match the files.
    let md5 = std::fs::read_to_string(ctl.join("md5sums")).unwrap();
    let o = run(Command::new("md5sum")
        .arg("-c")
        .arg("--quiet")
        .arg(ctl.join("md5sums"))
        .current_dir(&x));
    assert!(
        o.status.success(),
        "md5sums do not match:\n{md5}\n{}",
        text(&o.stdout)
    );
}

#[test]
fn issue2_same_input_gives_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = demo_wheel(tmp.path(), "1.2.0");
    let server = serve(Mode::Json, &[wheel]);
    let mut debs = Vec::new();
    for i in 0..2 {
        let out = tmp.path().join(format!("out{i}"));
        // Separate caches: the second build downloads again.
        let o = build(
            &server.url(),
            &out,
            "demo-tool",
            &tmp.path().join(format!("cache{i}")),
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        debs.push(std::fs::read(only_deb(&out)).unwrap());
    }
    assert!(debs[0] == debs[1], "two builds differ");
}

#[test]
fn issue2_default_timestamp_is_the_upload_time() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = demo_wheel(tmp.path(), "1.2.0");
    let server = serve(Mode::Json, &[wheel]);
    let out = tmp.path().join("out");
    let o = run(py2deb()
        .args([
            "demo-tool",
            "--index-url",
            &server.url(),
            "--target",
            "bookworm",
            "--apt-lists",
            apt_lists(),
            "-q",
            "-o",
        ])
        .arg(&out)
        .args(["--maintainer", MAINTAINER])
        .env_remove("SOURCE_DATE_EPOCH")
        .env("PY2DEB_CACHE_DIR", tmp.path().join("cache")));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let listing = text(
        &run(Command::new("dpkg-deb")
            .arg("--contents")
            .arg(only_deb(&out)))
        .stdout,
    );
    // 2024-03-01 12:00 UTC, shown in local time by tar; the date is enough.
    assert!(
        listing.lines().all(|l| l.contains("2024-03-01")),
        "{listing}"
    );
}

#[test]
fn issue2_lintian_is_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = demo_wheel(tmp.path(), "1.2.0");
    let server = serve(Mode::Json, &[wheel]);
    let out = tmp.path().join("out");
    let o = build(&server.url(), &out, "demo-tool", &tmp.path().join("cache"));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let deb = only_deb(&out);
    let allow = allowed_lintian_tags();
    let o = run(Command::new("lintian")
        .args(["--no-cfg", "--fail-on", "none", "--tag-display-limit", "0"])
        .arg(&deb));
    let report = text(&o.stdout);
    let bad: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("E: ") || l.starts_with("W: "))
        .filter(|l| {
            !allow
                .iter()
                .any(|t| l.split_whitespace().nth(2).is_some_and(|tag| tag == t))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "lintian complains:\n{}\n(full report:\n{report}{})",
        bad.join("\n"),
        text(&o.stderr)
    );
}

/// Tags allowed by `tests/e2e/lintian-allow`, one per line with `#` comments.
fn allowed_lintian_tags() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/lintian-allow");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn issue2_local_wheel_and_compressions() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = demo_wheel(tmp.path(), "2.0rc1");
    for comp in ["xz", "gzip", "zstd", "none"] {
        let out = tmp.path().join(comp);
        let o = run(py2deb()
            .arg(&wheel)
            .args([
                "--no-index",
                "--target",
                "bookworm",
                "--apt-lists",
                apt_lists(),
                "--compression",
                comp,
                "-q",
                "-o",
            ])
            .arg(&out)
            .args(["--maintainer", MAINTAINER])
            .env("PY2DEB_CACHE_DIR", tmp.path().join("cache")));
        assert!(o.status.success(), "{comp}: {}", text(&o.stderr));
        let deb = only_deb(&out);
        assert_eq!(dpkg_field(&deb, "Version"), "2.0~rc1-0py2deb1");
        let members = text(&run(Command::new("ar").arg("t").arg(&deb)).stdout);
        let ext = match comp {
            "xz" => ".xz",
            "gzip" => ".gz",
            "zstd" => ".zst",
            _ => "",
        };
        assert_eq!(
            members,
            format!("debian-binary\ncontrol.tar{ext}\ndata.tar{ext}\n")
        );
        assert!(run(Command::new("dpkg-deb").arg("--contents").arg(&deb))
            .status
            .success());
    }
}

#[test]
fn issue2_version_command_prints_debian_versions() {
    let o = run(py2deb().args(["version", "1.0", "1.0rc1", "1!2.0.post1", "1.0.dev3"]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "1.0\n1.0~rc1\n1:2.0+post1\n1.0~~dev3\n");
    let o = run(py2deb().args(["version", "not-a-version"]));
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("not-a-version"));
}

/// Every bad input: one clear error naming it, non-zero exit, nothing in the output.
fn assert_fails_cleanly(o: &Output, out: &Path, needle: &str) {
    let err = text(&o.stderr);
    assert!(
        !o.status.success(),
        "expected failure, got success: {}",
        text(&o.stdout)
    );
    assert!(
        err.contains(needle),
        "error should mention `{needle}`:\n{err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        dir_is_empty(out),
        "output dir not empty after failure: {:?}",
        std::fs::read_dir(out).unwrap().collect::<Vec<_>>()
    );
}

#[test]
fn issue2_unknown_project_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    let out = tmp.path().join("out");
    let o = build(
        &server.url(),
        &out,
        "no-such-project",
        &tmp.path().join("cache"),
    );
    assert_fails_cleanly(&o, &out, "no-such-project");
}

#[test]
fn issue2_missing_version_and_nothing_compatible_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let mac = WheelBuilder::new("demo-tool", "1.0")
        .tag("cp311-cp311-macosx_11_0_arm64")
        .write(tmp.path());
    let server = serve(Mode::Json, &[mac]);
    let out = tmp.path().join("out");
    let o = build(&server.url(), &out, "demo-tool", &tmp.path().join("cache"));
    assert_fails_cleanly(&o, &out, "macosx");
    let o = build(
        &server.url(),
        &out,
        "demo-tool==9.9",
        &tmp.path().join("cache"),
    );
    assert_fails_cleanly(&o, &out, "9.9");
}

#[test]
fn issue2_hash_mismatch_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = demo_wheel(tmp.path(), "1.2.0");
    let server = IndexServer::start(Mode::Json);
    server.add("demo-tool", Dist::from_path(&wheel).wrong_hash());
    let out = tmp.path().join("out");
    let o = build(&server.url(), &out, "demo-tool", &tmp.path().join("cache"));
    assert_fails_cleanly(&o, &out, "sha256");
}

#[test]
fn issue2_hostile_wheels_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let base = WheelBuilder::new("evil", "1.0");
    let di = base.dist_info();
    let cases: Vec<(&str, RawZip)> = vec![
        (
            "..",
            RawZip::new().file("../escape.py", "x").file(
                &format!("{di}/METADATA"),
                "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
            ),
        ),
        (
            "/etc",
            RawZip::new().file("/etc/evil", "x").file(
                &format!("{di}/METADATA"),
                "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
            ),
        ),
        (
            "symbolic link",
            RawZip::new().symlink("evil/link", "/etc/passwd").file(
                &format!("{di}/METADATA"),
                "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
            ),
        ),
        (
            "evil-1.0-py3-none-any.whl",
            RawZip::new().file("not-a-wheel.txt", "x"),
        ),
    ];
    for (needle, zip) in cases {
        let path = tmp.path().join("evil-1.0-py3-none-any.whl");
        zip.write(&path);
        let out = tmp.path().join("out");
        let o = build_local(&path, &out);
        assert_fails_cleanly(&o, &out, needle);
    }
    // Truncated file.
    let good = demo_wheel(tmp.path(), "1.2.0");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&good, &bytes[..bytes.len() / 2]).unwrap();
    let out = tmp.path().join("out");
    let o = build_local(&good, &out);
    assert_fails_cleanly(&o, &out, "Demo_Tool-1.2.0-py3-none-any.whl");
}

#[test]
fn issue2_control_field_injection_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = WheelBuilder::new("inject", "1.0")
        .metadata("Summary: nice\rDepends: evil")
        .write(tmp.path());
    let out = tmp.path().join("out");
    let o = build_local(&wheel, &out);
    assert_fails_cleanly(&o, &out, "Summary");
}

#[test]
fn issue2_unwritable_output_fails_before_download() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = demo_wheel(tmp.path(), "1.2.0");
    let server = serve(Mode::Json, &[wheel]);
    // A regular file where the output directory should be: unwritable even for root.
    let blocker = tmp.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let out = blocker.join("out");
    let o = build(&server.url(), &out, "demo-tool", &tmp.path().join("cache"));
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("output directory"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        server.paths().iter().all(|p| !p.contains("/files/")),
        "downloaded before checking the output dir"
    );
}

#[test]
fn issue2_bad_specs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for (spec, needle) in [
        ("pepotron==not.a.version!", "pepotron==not.a.version!"),
        ("foo; os_name=='nt'", "markers"),
    ] {
        let o = run(py2deb().args([spec, "--no-index", "-q", "-o"]).arg(&out));
        assert_fails_cleanly(&o, &out, needle);
    }
}

/// A man page the wheel ships (`.data/data/share/man/man1/tool.1`) is installed compressed
/// as Debian Policy §12.1 asks, and the program it documents gets no generated stub beside
/// it; a program without a page still gets one.
#[test]
fn wheel_man_pages_are_gzipped_and_replace_the_stub() {
    let tmp = tempfile::tempdir().unwrap();
    let page = ".TH TOOL 1\n.SH NAME\ntool \\- does things\n";
    let wheel = WheelBuilder::new("mantool", "1.0")
        .file("mantool/__init__.py", "def main():\n    pass\n")
        .file("mantool-1.0.data/data/share/man/man1/tool.1", page)
        .entry_points("[console_scripts]\ntool = mantool:main\nother = mantool:main\n")
        .metadata("Summary: A tool with its own man page")
        .write(tmp.path());
    let out = tmp.path().join("out");
    let o = build_local(&wheel, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let deb = only_deb(&out);
    let x = tmp.path().join("x");
    assert!(run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x))
        .status
        .success());
    let man1 = x.join("usr/share/man/man1");
    let mut pages: Vec<String> = std::fs::read_dir(&man1)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(pages, ["other.1.gz", "tool.1.gz"]);
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(man1.join("tool.1.gz")).unwrap()),
        &mut text,
    )
    .unwrap();
    assert_eq!(text, page, "the wheel's own page, not a stub");
}
