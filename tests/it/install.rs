//! `py2deb install/list/uninstall/upgrade` against a temporary root (`--root`), with the
//! real gpg and fake apt-get, dpkg-query, runuser and chown first on PATH, so the whole
//! flow runs without touching /etc or the machine's apt. Plus the systemd units of
//! debian/, checked with `systemd-analyze verify`.

use crate::repo::have;
use crate::support::{Dist, IndexServer, Mode, WheelBuilder};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Fake system programs that log their arguments to `log`.
fn fake_bin(dir: &Path, log: &Path, installed: &str) -> PathBuf {
    let bin = dir.join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let scripts = [
        (
            "apt-get",
            format!("#!/bin/sh\necho \"apt-get $*\" >> '{}'\n", log.display()),
        ),
        (
            // Installed packages are those named in the file `installed`.
            "dpkg-query",
            format!(
                "#!/bin/sh\nfor p; do :; done\nif grep -qx \"$p\" '{installed}' 2>/dev/null; then printf 'ii 1.0'; exit 0; fi\nexit 1\n"
            ),
        ),
        (
            "runuser",
            format!(
                "#!/bin/sh\necho \"runuser $*\" >> '{}'\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$@\"\n",
                log.display()
            ),
        ),
        (
            "chown",
            format!("#!/bin/sh\necho \"chown $*\" >> '{}'\n", log.display()),
        ),
    ];
    for (name, body) in scripts {
        let p = bin.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

struct Flow {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    log: PathBuf,
    installed: PathBuf,
    bin: PathBuf,
    server: IndexServer,
}

impl Flow {
    fn new() -> Flow {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/hostname"), "testhost\n").unwrap();
        let log = tmp.path().join("commands.log");
        let installed = tmp.path().join("installed");
        let bin = fake_bin(tmp.path(), &log, &installed.display().to_string());
        let wheel = WheelBuilder::new("Demo_Tool", "1.0")
            .file("demo_tool/__init__.py", "")
            .metadata("Summary: A demo tool.")
            .write(tmp.path());
        let server = IndexServer::start(Mode::Json);
        server.add(
            "demo-tool",
            Dist::from_path(&wheel).upload_time("2024-03-01T12:00:00Z"),
        );
        Flow {
            _tmp: tmp,
            root,
            log,
            installed,
            bin,
            server,
        }
    }

    fn py2deb(&self, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(env!("CARGO_BIN_EXE_py2deb"))
            .args(args)
            .arg("--root")
            .arg(&self.root)
            .env("PATH", path)
            .env_remove("PIP_INDEX_URL")
            .env_remove("GNUPGHOME")
            .env_remove("DEBEMAIL")
            .env_remove("DEBFULLNAME")
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("PY2DEB_RETRY_DELAY_MS", "1")
            .output()
            .unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn install_list_uninstall_against_a_temporary_root() {
    if !crate::support::prerequisite(have("gpg"), "gpg (install gnupg)") {
        return;
    }
    let f = Flow::new();
    let url = f.server.url();
    let lists = crate::build::apt_lists();
    let o = f.py2deb(&[
        "install",
        "--index-url",
        &url,
        "--apt-lists",
        lists,
        "-y",
        "demo-tool",
    ]);
    assert!(o.status.success(), "install: {}", text(&o.stderr));

    // The machine's source, key and keyring, at their places below the root.
    let sources =
        std::fs::read_to_string(f.root.join("etc/apt/sources.list.d/py2deb.sources")).unwrap();
    assert!(
        sources.contains("URIs: file:/var/lib/py2deb/repo\n")
            && sources.contains("Suites: py2deb-local\n")
            && sources.contains("Signed-By: /etc/apt/keyrings/py2deb-local.gpg\n"),
        "{sources}"
    );
    let keyring = f.root.join("etc/apt/keyrings/py2deb-local.gpg");
    assert!(std::fs::metadata(&keyring).unwrap().len() > 0);
    assert_eq!(mode(&keyring), 0o644);
    assert_eq!(mode(&f.root.join("var/lib/py2deb/gnupg")), 0o700);
    let repo = f.root.join("var/lib/py2deb/repo");
    let inrelease = std::fs::read_to_string(repo.join("dists/py2deb-local/InRelease")).unwrap();
    assert!(
        inrelease.contains("BEGIN PGP SIGNED MESSAGE"),
        "{inrelease}"
    );
    assert!(
        std::fs::read_dir(repo.join("pool"))
            .map(|_| true)
            .unwrap_or(false),
        "no pool in the repository"
    );

    // apt-get ran below the root, updated only py2deb's source, then installed.
    let log = f.log();
    let root = f.root.display().to_string();
    let update = log
        .lines()
        .find(|l| l.contains(" update"))
        .unwrap_or_else(|| panic!("no apt-get update in {log}"));
    assert!(
        update.contains(&format!("RootDir={root}"))
            && update.contains("Dir::Etc::SourceList=/etc/apt/sources.list.d/py2deb.sources")
            && update.contains("Dir::Etc::SourceParts=-"),
        "{update}"
    );
    assert!(
        log.lines()
            .any(|l| l.starts_with("apt-get") && l.ends_with("-y install python3-demo-tool")),
        "{log}"
    );

    // list names the package, its spec and whether dpkg has it.
    std::fs::write(&f.installed, "python3-demo-tool\n").unwrap();
    let o = f.py2deb(&["list", "--json"]);
    assert!(o.status.success(), "list: {}", text(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0]["package"], "python3-demo-tool", "{rows}");
    assert_eq!(rows[0]["version"], "1.0-0py2deb1", "{rows}");
    assert_eq!(rows[0]["installed"], "1.0", "{rows}");
    assert_eq!(rows[0]["newest_release"], "1.0", "{rows}");

    // Nothing newer on the index: the upgrade publishes nothing.
    let o = f.py2deb(&["upgrade", "--publish-staged"]);
    assert!(o.status.success(), "upgrade: {}", text(&o.stderr));
    assert!(
        !text(&o.stdout).contains("published"),
        "{}",
        text(&o.stdout)
    );

    // An unknown name is refused, naming it; a known one is removed by apt and dropped.
    let o = f.py2deb(&["uninstall", "-y", "not-installed-tool"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("`not-installed-tool` was not installed with py2deb"),
        "{}",
        text(&o.stderr)
    );
    let o = f.py2deb(&["uninstall", "-y", "Demo_Tool"]);
    assert!(o.status.success(), "uninstall: {}", text(&o.stderr));
    assert!(
        f.log()
            .lines()
            .any(|l| l.ends_with("-y remove python3-demo-tool")),
        "{}",
        f.log()
    );
    let o = f.py2deb(&["list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows, serde_json::json!([]));
}

#[test]
fn hostile_install_spec_that_is_a_path_or_option_is_refused() {
    let f = Flow::new();
    for bad in ["../../etc/passwd", "demo; rm -rf /", "demo @ file:///etc"] {
        let o = f.py2deb(&["install", "--", bad]);
        assert!(!o.status.success(), "{bad} accepted");
        let e = text(&o.stderr);
        assert!(
            e.contains(bad) || e.contains("py2deb install takes"),
            "{bad}: {e}"
        );
    }
    // Nothing was set up for a refused spec.
    assert!(!f.root.join("var/lib/py2deb/repo").exists());
    assert!(!f
        .root
        .join("etc/apt/sources.list.d/py2deb.sources")
        .exists());
}

fn debian_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("debian")
}

#[test]
fn systemd_units_verify() {
    if !crate::support::prerequisite(have("systemd-analyze"), "systemd-analyze (install systemd)") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_py2deb");
    for unit in ["service", "timer"] {
        let src = debian_dir().join(format!("py2deb.py2deb-update.{unit}"));
        // The unit names the installed binary; verify checks it exists, so point it here.
        let body = std::fs::read_to_string(&src)
            .unwrap()
            .replace("/usr/bin/py2deb", exe);
        std::fs::write(tmp.path().join(format!("py2deb-update.{unit}")), body).unwrap();
    }
    let o = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(tmp.path().join("py2deb-update.timer"))
        .arg(tmp.path().join("py2deb-update.service"))
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .unwrap();
    let err = text(&o.stderr);
    // Only complaints about our units count (a container's own units may be broken).
    let ours: Vec<&str> = err.lines().filter(|l| l.contains("py2deb")).collect();
    assert!(o.status.success() && ours.is_empty(), "{err}");
    let timer = std::fs::read_to_string(debian_dir().join("py2deb.py2deb-update.timer")).unwrap();
    assert!(
        timer.contains("RandomizedDelaySec=") && timer.contains("Persistent=true"),
        "{timer}"
    );
    let service =
        std::fs::read_to_string(debian_dir().join("py2deb.py2deb-update.service")).unwrap();
    // The build step never runs as root; only the publishing step has "+".
    assert!(service.contains("\nUser=_py2deb\n"), "{service}");
    for line in service.lines().filter(|l| l.starts_with("Exec")) {
        assert!(
            line.contains("--stage") || line.contains("=+/usr/bin/py2deb upgrade --publish-staged"),
            "{line}"
        );
    }
}

/// An index whose only release of evil-tool is an "sdist" that is not even an archive:
/// refused before anything reads or builds it.
fn evil_sdist_index(dir: &std::path::Path) -> IndexServer {
    let sdist = dir.join("evil_tool-1.0.tar.gz");
    std::fs::write(&sdist, b"not an archive").unwrap();
    let server = IndexServer::start(Mode::Json);
    server.add(
        "evil-tool",
        Dist::from_path(&sdist).upload_time("2024-03-01T12:00:00Z"),
    );
    server
}

#[test]
fn hostile_only_binary_refuses_an_sdist_before_fetching_it() {
    let tmp = tempfile::tempdir().unwrap();
    let server = evil_sdist_index(tmp.path());
    let o = crate::build::py2deb()
        .args([
            "build",
            "evil-tool",
            "--only-binary",
            ":all:",
            "--index-url",
            &server.url(),
            "--target",
            "bookworm",
            "--arch",
            "amd64",
            "--apt-lists",
            crate::build::apt_lists(),
            "--maintainer",
            "T <t@example.org>",
            "-o",
        ])
        .arg(tmp.path().join("out"))
        .env("PY2DEB_CACHE_DIR", tmp.path().join("cache"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = text(&o.stderr);
    assert!(
        e.contains("evil-tool") && e.contains("--only-binary"),
        "{e}"
    );
}

#[test]
fn a_requirement_files_only_binary_counts_and_bad_names_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = evil_sdist_index(tmp.path());
    let reqs = tmp.path().join("requirements.txt");
    let run = |extra: &[&str]| {
        let mut cmd = crate::build::py2deb();
        cmd.args(["build", "-r"])
            .arg(&reqs)
            .args(["--index-url", &server.url(), "--target", "bookworm"])
            .args(["--arch", "amd64", "--apt-lists", crate::build::apt_lists()])
            .args(["--maintainer", "T <t@example.org>"])
            .args(extra)
            .arg("-o")
            .arg(tmp.path().join("out"))
            .env("PY2DEB_CACHE_DIR", tmp.path().join("cache"));
        let o = cmd.output().unwrap();
        assert!(!o.status.success());
        text(&o.stderr)
    };
    // The file's `--only-binary` forbids the sdist, as pip reads it.
    std::fs::write(&reqs, "--only-binary Evil_Tool\nevil-tool\n").unwrap();
    let e = run(&[]);
    assert!(
        e.contains("evil-tool") && e.contains("--only-binary forbids"),
        "{e}"
    );
    // A name that is not one is an error naming the option, not a choice of nothing.
    let e = run(&["--no-binary", "ok,-bad"]);
    assert!(
        e.contains("--no-binary \"-bad\": not a project name"),
        "{e}"
    );
}
