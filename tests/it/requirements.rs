//! `py2deb build -r FILE -c FILE` against a loopback index: markers evaluated for the
//! target (bookworm's Python 3.11), constraints narrowing versions, options inside the
//! file, and errors that name the file and line.

use crate::build::{apt_lists, py2deb};
use crate::support::{Dist, IndexServer, Mode, WheelBuilder};
use std::path::Path;
use std::process::Output;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn server(dir: &Path) -> IndexServer {
    let server = IndexServer::start(Mode::Json);
    for (name, project, version) in [
        ("Demo_Tool", "demo-tool", "1.0"),
        ("Demo_Tool", "demo-tool", "2.0"),
        ("Other_Tool", "other-tool", "3.0"),
    ] {
        let w = WheelBuilder::new(name, version)
            .file(&format!("{}/__init__.py", name.to_lowercase()), "")
            .metadata("Summary: A tool.")
            .write(dir);
        server.add(
            project,
            Dist::from_path(&w).upload_time("2024-03-01T12:00:00Z"),
        );
    }
    server
}

/// `py2deb repo init REPO` for amd64, unsigned.
fn init_repo(repo: &Path) {
    let o = py2deb()
        .args(["repo", "init"])
        .arg(repo)
        .args(["--suite", "stable", "--arch", "amd64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

fn build(dir: &Path, args: &[&str]) -> Output {
    py2deb()
        .args(args)
        .args([
            "--target",
            "bookworm",
            "--apt-lists",
            apt_lists(),
            "--arch",
            "amd64",
            "--maintainer",
            "T <t@example.org>",
            "--json",
            "-q",
            "-o",
        ])
        .arg(dir.join("out"))
        .env("PY2DEB_CACHE_DIR", dir.join("cache"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .current_dir(dir)
        .output()
        .unwrap()
}

fn packages(o: &Output) -> Vec<(String, String)> {
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stderr)));
    let mut out: Vec<(String, String)> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["package"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn requirement_file_markers_constraints_and_index_option() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = server(tmp.path());
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    // The index comes from the file; the marker excludes one line on Python 3.11.
    std::fs::write(
        tmp.path().join("requirements.txt"),
        format!(
            "# tools\n--index-url {}\n-r sub/more.txt   # nested, relative to this file\n\
             other-tool ; python_version < '3.8'\n",
            srv.url()
        ),
    )
    .unwrap();
    std::fs::write(tmp.path().join("sub/more.txt"), "demo-tool \\\n  >=1.0\n").unwrap();
    std::fs::write(tmp.path().join("constraints.txt"), "demo-tool<2\n").unwrap();
    let o = build(
        tmp.path(),
        &["build", "-r", "requirements.txt", "-c", "constraints.txt"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        packages(&o),
        [("python3-demo-tool".to_owned(), "1.0-0py2deb1".to_owned())]
    );
    // Without the constraint the newest release is taken.
    let o = build(tmp.path(), &["build", "-r", "requirements.txt"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        packages(&o),
        [("python3-demo-tool".to_owned(), "2.0-0py2deb1".to_owned())]
    );
}

#[test]
fn hostile_requirement_file_errors_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    for (body, want) in [
        (
            "demo-tool\n\nnot a requirement!!\n",
            "bad.txt:3: `not a requirement!!`",
        ),
        ("--no-such-option\n", "bad.txt:1: `--no-such-option`"),
        ("-r bad.txt\n", "loop"),
        ("-e ./project\n", "editable"),
        (
            "demo-tool==1.0 --hash=sha256:abc\n",
            "bad.txt:1: `demo-tool==1.0 --hash=sha256:abc`",
        ),
    ] {
        std::fs::write(tmp.path().join("bad.txt"), body).unwrap();
        let o = build(tmp.path(), &["build", "-r", "bad.txt"]);
        assert!(!o.status.success(), "{body:?} accepted");
        let e = text(&o.stderr);
        assert!(e.contains(want), "{body:?}: {e}");
    }
    let o = build(tmp.path(), &["build", "-r", "does-not-exist.txt"]);
    assert!(
        text(&o.stderr).contains("does-not-exist.txt"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn repo_add_requirement_file_builds_and_publishes() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = server(tmp.path());
    let repo = tmp.path().join("repo");
    init_repo(&repo);
    std::fs::write(
        tmp.path().join("req.txt"),
        format!("--index-url {}\ndemo-tool\n", srv.url()),
    )
    .unwrap();
    std::fs::write(tmp.path().join("c.txt"), "demo-tool==1.0\n").unwrap();
    let o = py2deb()
        .args(["repo", "add"])
        .arg(&repo)
        .args(["-r", "req.txt", "-c", "c.txt", "--maintainer-ignored"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    // Build options other than -r/-c are not `repo add`'s.
    assert!(!o.status.success());
    let o = py2deb()
        .args(["repo", "add"])
        .arg(&repo)
        .args(["-r", "req.txt", "-c", "c.txt"])
        .current_dir(tmp.path())
        .env("DEBEMAIL", "t@example.org")
        .env("DEBFULLNAME", "T")
        .env("PY2DEB_CACHE_DIR", tmp.path().join("cache"))
        // Hermetic: the host's Contents (for its dist-info map) are not downloaded; a
        // closed port makes the build use the built-in snapshot.
        .env("PY2DEB_MIRROR", "http://127.0.0.1:9/debian")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = py2deb().args(["repo", "list"]).arg(&repo).output().unwrap();
    let list = text(&o.stdout);
    assert!(
        list.contains("python3-demo-tool\t1.0-0py2deb1\tall"),
        "{list}"
    );
}

#[test]
fn hostile_requirement_file_hash_that_does_not_match_the_download_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    let app = WheelBuilder::new("Hashed_App", "1.0")
        .file("hashed_app/__init__.py", "")
        .metadata("Summary: An app that needs a helper.")
        .metadata("Requires-Dist: hashed-helper")
        .write(tmp.path());
    let helper = WheelBuilder::new("Hashed_Helper", "1.0")
        .file("hashed_helper/__init__.py", "")
        .metadata("Summary: A helper for the app.")
        .write(tmp.path());
    for (project, w) in [("hashed-app", &app), ("hashed-helper", &helper)] {
        server.add(
            project,
            Dist::from_path(w).upload_time("2024-03-01T12:00:00Z"),
        );
    }
    let sha = |p: &Path| crate::support::sha256_hex(&std::fs::read(p).unwrap());
    let run = |body: String| {
        std::fs::write(tmp.path().join("req.txt"), body).unwrap();
        build(tmp.path(), &["build", "-r", "req.txt"])
    };
    let url = server.url();
    // The index serves the file it lists (its own hash matches), but not the one the
    // requirement file was written for.
    let o = run(format!(
        "--index-url {url}\nhashed-app==1.0 --hash=sha256:{}\nhashed-helper==1.0 --hash=sha256:{}\n",
        "0".repeat(64),
        sha(&helper)
    ));
    assert!(!o.status.success(), "a wrong hash was accepted");
    let e = text(&o.stderr);
    assert!(
        e.contains("Hashed_App-1.0-py3-none-any.whl") && e.contains("matches none of the --hash"),
        "{e}"
    );
    assert!(
        !tmp.path().join("out").exists()
            || std::fs::read_dir(tmp.path().join("out"))
                .unwrap()
                .all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".deb"))
    );
    // A dependency brought in without a hash of its own is refused, as pip refuses it.
    let o = run(format!(
        "--index-url {url}\nhashed-app==1.0 --hash=sha256:{}\n",
        sha(&app)
    ));
    assert!(!o.status.success(), "an unhashed dependency was accepted");
    let e = text(&o.stderr);
    assert!(
        e.contains("hashed-helper") && e.contains("none is given"),
        "{e}"
    );
    // Every file matching one of its hashes builds.
    let o = run(format!(
        "--index-url {url}\nhashed-app==1.0 --hash=sha256:{} --hash=sha256:{}\nhashed-helper==1.0 --hash=sha256:{}\n",
        "f".repeat(64),
        sha(&app),
        sha(&helper)
    ));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut built = packages(&o);
    // The helper is both a requirement of its own and in the app's closure.
    built.dedup();
    assert_eq!(
        built,
        [
            ("python3-hashed-app".to_owned(), "1.0-0py2deb1".to_owned()),
            (
                "python3-hashed-helper".to_owned(),
                "1.0-0py2deb1".to_owned()
            )
        ]
    );
}

#[test]
fn constraint_files_bound_dependencies_too() {
    let tmp = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    let app = WheelBuilder::new("Bound_App", "1.0")
        .file("bound_app/__init__.py", "")
        .metadata("Summary: An app with a dependency.")
        .metadata("Requires-Dist: bound-dep")
        .write(tmp.path());
    server.add(
        "bound-app",
        Dist::from_path(&app).upload_time("2024-03-01T12:00:00Z"),
    );
    for v in ["1.0", "2.0"] {
        let w = WheelBuilder::new("Bound_Dep", v)
            .file("bound_dep/__init__.py", "")
            .metadata("Summary: A dependency.")
            .write(tmp.path());
        server.add(
            "bound-dep",
            Dist::from_path(&w).upload_time("2024-03-01T12:00:00Z"),
        );
    }
    std::fs::write(
        tmp.path().join("req.txt"),
        format!("--index-url {}\nbound-app\n", server.url()),
    )
    .unwrap();
    // pip applies a constraint to whatever gets installed, named in -r or not.
    std::fs::write(tmp.path().join("c.txt"), "bound-dep<2\n").unwrap();
    let o = build(tmp.path(), &["build", "-r", "req.txt", "-c", "c.txt"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        packages(&o).contains(&("python3-bound-dep".to_owned(), "1.0-0py2deb1".to_owned())),
        "{:?}",
        packages(&o)
    );
    let o = build(tmp.path(), &["build", "-r", "req.txt"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        packages(&o).contains(&("python3-bound-dep".to_owned(), "2.0-0py2deb1".to_owned())),
        "{:?}",
        packages(&o)
    );
}

#[test]
fn build_records_keep_the_clash_and_strip_choices_for_repo_update() {
    // `repo update` rebuilds from the record: a package first built with --on-clash
    // conflicts and --no-strip must be rebuilt the same way, not with the defaults.
    let tmp = tempfile::tempdir().unwrap();
    let srv = server(tmp.path());
    let repo = tmp.path().join("repo");
    init_repo(&repo);
    let url = srv.url();
    let records = |spec: &str, args: &[&str]| -> serde_json::Value {
        let mut all = vec!["build", spec, "--index-url", &url, "--repo"];
        let repo = repo.to_str().unwrap();
        all.push(repo);
        all.extend_from_slice(args);
        let o = build(tmp.path(), &all);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let state = std::fs::read_to_string(Path::new(repo).join(".py2deb/packages.json")).unwrap();
        serde_json::from_str(&state).unwrap()
    };
    let options_of = |v: &serde_json::Value| -> Vec<String> {
        let mut found = Vec::new();
        let text = v.to_string();
        for key in ["\"on-clash\":\"conflicts\"", "\"strip\":\"false\""] {
            if text.contains(key) {
                found.push(key.to_owned());
            }
        }
        found
    };
    let plain = records("demo-tool==1.0", &[]);
    assert!(plain.to_string().contains("\"deps\""), "{plain}");
    assert!(
        options_of(&plain).is_empty(),
        "defaults are left out: {plain}"
    );
    let chosen = records("demo-tool==2.0", &["--on-clash", "conflicts", "--no-strip"]);
    assert_eq!(options_of(&chosen).len(), 2, "{chosen}");
}
