//! The dependency closure against a (fixture) target archive: satisfied requirements
//! become Depends, missing ones are built too, too-old ones become private copies.
//! Regression tests for issue 3 are named `issue3_*`.

use crate::support::{Dist, IndexServer, Mode, WheelBuilder};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MAINTAINER: &str = "Test Maintainer <test@example.org>";

/// Bookworm-like lists: requests is there (fits), urllib3 is 1.26 (too old for >=2).
fn lists(dir: &Path) -> PathBuf {
    let d = dir.join("lists");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("mirror_debian_dists_bookworm_main_binary-amd64_Packages"),
        "Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n\
         Package: python3-requests\nVersion: 2.28.1+dfsg-1\nArchitecture: all\nDepends: python3-urllib3\n\n\
         Package: python3-urllib3\nVersion: 1.26.12-1+deb12u4\nArchitecture: all\n\n",
    )
    .unwrap();
    d
}

/// app → requests (satisfied), urllib3>=2 (too old: private), helper (missing → built);
/// helper → nothing.
fn index(dir: &Path, app_entry_points: bool) -> IndexServer {
    let server = IndexServer::start(Mode::Json);
    let mut app = WheelBuilder::new("app", "1.0")
        .file(
            "app/__init__.py",
            "import urllib3\ndef main():\n    print(urllib3.__version__)\n",
        )
        .metadata("Summary: Demo application")
        .metadata("Requires-Dist: requests>=2.6")
        .metadata("Requires-Dist: urllib3>=2")
        .metadata("Requires-Dist: helper-lib>=1.0")
        .metadata("Requires-Dist: winonly; sys_platform == 'win32'");
    if app_entry_points {
        app = app.entry_points("[console_scripts]\napp = app:main\n");
    }
    let wheels = [
        app.write(dir),
        WheelBuilder::new("urllib3", "2.2.0")
            .file("urllib3/__init__.py", "__version__ = '2.2.0'\n")
            .metadata("Summary: HTTP library")
            .write(dir),
        WheelBuilder::new("urllib3", "1.26.0")
            .file("urllib3/__init__.py", "__version__ = '1.26.0'\n")
            .metadata("Summary: HTTP library")
            .write(dir),
        WheelBuilder::new("helper_lib", "1.5")
            .file("helper_lib/__init__.py", "")
            .metadata("Summary: Helper library")
            .write(dir),
    ];
    for w in &wheels {
        add_wheel(&server, w);
    }
    server
}

/// A loopback index serving these wheels, written into `dir`.
fn serve(dir: &Path, wheels: Vec<WheelBuilder>) -> IndexServer {
    let server = IndexServer::start(Mode::Json);
    for w in wheels {
        add_wheel(&server, &w.write(dir));
    }
    server
}

/// Serve a wheel file under its project name (taken from the file name).
fn add_wheel(server: &IndexServer, wheel: &Path) {
    let file = wheel.file_name().unwrap().to_str().unwrap();
    let name = file.split('-').next().unwrap().replace('_', "-");
    server.add(&name, Dist::from_path(wheel));
}

fn py2deb(server: &IndexServer, lists: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args([
            "--index-url",
            &server.url(),
            "--target",
            "bookworm",
            "--arch",
            "amd64",
            "--apt-lists",
        ])
        .arg(lists)
        .arg("-o")
        .arg(out)
        .args(["--maintainer", MAINTAINER, "--json"])
        .args(extra)
        .env("PY2DEB_CACHE_DIR", out.with_extension("cache"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("PY2DEB_RETRY_DELAY_MS", "1")
        .output()
        .unwrap()
}

fn field(deb: &Path, name: &str) -> String {
    let o = Command::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .arg(name)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn contents(deb: &Path) -> String {
    let o = Command::new("dpkg-deb")
        .arg("--contents")
        .arg(deb)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn issue3_missing_built_conflicting_bundled_satisfied_depended_on() {
    let tmp = tempfile::tempdir().unwrap();
    let server = index(tmp.path(), true);
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    // Nothing in this target needs urllib3 1.26, so `auto` would replace it; the private
    // copy is what is tested here.
    let o = py2deb(&server, &lists, &out, &["app", "--conflicts", "bundle"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pkgs = json["packages"].as_array().unwrap();
    let names: Vec<&str> = pkgs
        .iter()
        .map(|p| p["package"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "python3-helper-lib"], "{json}");
    assert_eq!(pkgs[1]["reason"], "missing dependency of app");
    assert_eq!(pkgs[0]["bundles"][0], "urllib3 2.2.0");

    let app = out.join("app_1.0-0py2deb1_all.deb");
    let depends = field(&app, "Depends");
    assert!(depends.contains("python3-requests (>= 2.6"), "{depends}");
    assert!(depends.contains("python3-helper-lib (>= 1.0"), "{depends}");
    // The distribution's urllib3 is neither depended on nor replaced.
    assert!(!depends.contains("urllib3"), "{depends}");
    assert!(!depends.contains("winonly"), "{depends}");
    let listing = contents(&app);
    assert!(
        listing.contains("./usr/share/app/urllib3/__init__.py"),
        "{listing}"
    );
    assert!(
        listing.contains("./usr/share/app/app/__init__.py"),
        "{listing}"
    );
    assert!(!listing.contains("dist-packages/urllib3"), "{listing}");

    // The wrapper finds the private copy first.
    let x = tmp.path().join("x");
    assert!(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&app)
        .arg(&x)
        .status()
        .unwrap()
        .success());
    let wrapper = std::fs::read_to_string(x.join("usr/bin/app")).unwrap();
    assert!(
        wrapper.contains("sys.path.insert(0, \"/usr/share/app\")"),
        "{wrapper}"
    );
    let ctl = tmp.path().join("ctl");
    assert!(Command::new("dpkg-deb")
        .arg("-e")
        .arg(&app)
        .arg(&ctl)
        .status()
        .unwrap()
        .success());
    let postinst = std::fs::read_to_string(ctl.join("postinst")).unwrap();
    assert!(
        postinst.contains("py3compile -p app /usr/share/app"),
        "{postinst}"
    );
}

#[test]
fn issue3_conflicts_fail_explains_the_options() {
    let tmp = tempfile::tempdir().unwrap();
    let server = index(tmp.path(), true);
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["app", "--conflicts", "fail"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("urllib3>=2") && err.contains("1.26.12") && err.contains("--conflicts bundle"),
        "{err}"
    );
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}

#[test]
fn issue3_conflicts_replace_builds_the_newer_package() {
    let tmp = tempfile::tempdir().unwrap();
    let server = index(tmp.path(), true);
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["app", "--conflicts", "replace"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    // The reverse dependency that may break is named.
    assert!(err.contains("python3-requests"), "{err}");
    assert!(out.join("python3-urllib3_2.2.0-0py2deb1_all.deb").exists());
    let depends = field(&out.join("python3-app_1.0-0py2deb1_all.deb"), "Depends");
    assert!(depends.contains("python3-urllib3 (>= 2"), "{depends}");
}

#[test]
fn issue3_library_cannot_hide_private_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let server = index(tmp.path(), false);
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["app", "--conflicts", "bundle"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no programs") && err.contains("--conflicts replace"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "output left behind"
    );
}

#[test]
fn issue3_deps_none_builds_only_what_was_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let server = index(tmp.path(), true);
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(
        &server,
        &lists,
        &out,
        &["app", "--deps", "none", "--conflicts", "bundle"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["packages"].as_array().unwrap().len(), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("helper-lib"));
}

#[test]
fn issue3_unresolvable_constraints_show_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    for w in [
        WheelBuilder::new("top", "1.0")
            .metadata("Requires-Dist: mid")
            .entry_points("[console_scripts]\ntop = top:main\n")
            .file("top/__init__.py", "def main(): pass\n")
            .write(tmp.path()),
        WheelBuilder::new("mid", "2.0")
            .metadata("Requires-Dist: leaf>=3.3,<4")
            .file("mid/__init__.py", "")
            .write(tmp.path()),
        WheelBuilder::new("leaf", "2.0")
            .file("leaf/__init__.py", "")
            .write(tmp.path()),
    ] {
        add_wheel(&server, &w);
    }
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["top"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("top 1.0 → mid 2.0 → leaf>=3.3"), "{err}");
    assert!(err.contains("Newest available: 2.0"), "{err}");
}

#[test]
fn issue3_map_json_has_one_row_per_requirement() {
    let tmp = tempfile::tempdir().unwrap();
    let lists = lists(tmp.path());
    let o = Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args([
            "map",
            "--target",
            "bookworm",
            "--arch",
            "amd64",
            "--json",
            "--apt-lists",
        ])
        .arg(&lists)
        .args([
            "requests>=2.6",
            "urllib3>=2",
            "no-such-thing",
            "tomli; python_version < '3.11'",
        ])
        .env("PY2DEB_CACHE_DIR", tmp.path().join("cache"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["target"]["name"], "bookworm");
    assert_eq!(json["target"]["python"], "3.11");
    assert_eq!(json["target"]["arch"], "amd64");
    let rows = json["requirements"].as_array().unwrap();
    let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        status,
        ["satisfied", "conflict", "missing", "not-applicable"]
    );
    assert_eq!(rows[0]["package"], "python3-requests");
    assert_eq!(rows[0]["available"], "2.28.1+dfsg-1");
    assert_eq!(rows[1]["available_python_version"], "1.26.12");
    assert_eq!(rows[3]["applies"], false);
    for key in [
        "requirement",
        "name",
        "applies",
        "package",
        "relation",
        "available",
        "available_python_version",
        "status",
    ] {
        assert!(
            rows.iter().all(|r| r.get(key).is_some()),
            "missing key {key}"
        );
    }
}

/// `py2deb repo` with its own cache and TMPDIR (to see what a run leaves behind).
fn repo_cmd(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args(args)
        .env("PY2DEB_CACHE_DIR", dir.join("cache"))
        .env("TMPDIR", dir.join("tmp"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("PY2DEB_RETRY_DELAY_MS", "1")
        .output()
        .unwrap()
}

#[test]
fn issue4_repo_update_follows_pinned_builds_and_settles() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("tmp")).unwrap();
    let server = index(tmp.path(), true);
    let lists = lists(tmp.path());
    let repo = tmp.path().join("repo");
    let repo_s = repo.to_str().unwrap();
    let o = repo_cmd(
        tmp.path(),
        &[
            "repo", "init", repo_s, "--suite", "stable", "--arch", "amd64",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = tmp.path().join("out");
    let o = py2deb(
        &server,
        &lists,
        &out,
        &["app==1.0", "--repo", repo_s, "--conflicts", "bundle"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Nothing newer yet.
    let o = repo_cmd(tmp.path(), &["repo", "update", repo_s, "--dry-run"]);
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    assert!(!text.contains("would update"), "{text}");

    // A new release of the application; its dependency has none.
    let newer = WheelBuilder::new("app", "1.1")
        .file(
            "app/__init__.py",
            "import urllib3\ndef main():\n    print(urllib3.__version__)\n",
        )
        .metadata("Summary: Demo application")
        .metadata("Requires-Dist: helper-lib>=1.0")
        .entry_points("[console_scripts]\napp = app:main\n")
        .write(tmp.path());
    server.add("app", Dist::from_path(&newer));
    let o = repo_cmd(tmp.path(), &["repo", "update", repo_s, "--dry-run"]);
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("app (all) 1.0 -> 1.1"), "{text}");
    assert!(
        !text.contains("python3-helper-lib"),
        "a dependency is followed on its own: {text}"
    );

    let o = repo_cmd(tmp.path(), &["repo", "update", repo_s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = repo_cmd(tmp.path(), &["repo", "list", repo_s]);
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(list.contains("1.1-0py2deb1"), "{list}");

    // Settled: a second update has nothing to do, and no scratch directory is left.
    let o = repo_cmd(tmp.path(), &["repo", "update", repo_s, "--dry-run"]);
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(!text.contains("would update"), "{text}");
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("tmp")).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

#[test]
fn issue3_a_later_constraint_picks_an_older_release() {
    // top → a, b; a → c (any); b → c<2. c 2.0 is chosen for a first, then b excludes it:
    // the closure must settle on c 1.0 for both.
    let tmp = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    for w in [
        WheelBuilder::new("top", "1.0")
            .metadata("Requires-Dist: a")
            .metadata("Requires-Dist: b")
            .entry_points("[console_scripts]\ntop = top:main\n")
            .file("top/__init__.py", "def main(): pass\n")
            .write(tmp.path()),
        WheelBuilder::new("a", "1.0")
            .metadata("Requires-Dist: c")
            .file("a/__init__.py", "")
            .write(tmp.path()),
        WheelBuilder::new("b", "1.0")
            .metadata("Requires-Dist: c<2")
            .file("b/__init__.py", "")
            .write(tmp.path()),
        WheelBuilder::new("c", "1.0")
            .file("c/__init__.py", "")
            .write(tmp.path()),
        WheelBuilder::new("c", "2.0")
            .file("c/__init__.py", "")
            .write(tmp.path()),
    ] {
        add_wheel(&server, &w);
    }
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["top"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == "python3-c")
        .unwrap();
    assert_eq!(c["project_version"], "1.0", "{json}");
    assert!(!out.join("python3-c_2.0-0py2deb1_all.deb").exists());
}

#[test]
fn issue3_python_version_markers_become_python3_alternatives() {
    let tmp = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    for w in [
        WheelBuilder::new("tool", "1.0")
            .metadata("Requires-Dist: helper-lib>=1.0; python_version < \"3.12\"")
            .metadata("Requires-Dist: requests; python_version >= \"3.8\"")
            .entry_points("[console_scripts]\ntool = tool:main\n")
            .file("tool/__init__.py", "def main(): pass\n")
            .write(tmp.path()),
        WheelBuilder::new("helper_lib", "1.5")
            .file("helper_lib/__init__.py", "")
            .write(tmp.path()),
    ] {
        add_wheel(&server, &w);
    }
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["tool"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let depends = field(&out.join("python3-tool_1.0-0py2deb1_all.deb"), "Depends");
    // Built dependency and satisfied one both carry the Python bound under which they
    // are not needed.
    assert!(
        depends.contains("python3-helper-lib (>= 1.0) | python3 (>= 3.12)"),
        "{depends}"
    );
    assert!(
        depends.contains("python3-requests | python3 (<< 3.8)"),
        "{depends}"
    );
}

/// A dependency spelled with a dot (`backports.zstd`, as hatch requires it) is built and
/// depended on under one package name: the Depends of its dependent names exactly the
/// package that was written, whatever spelling the requirement and the wheel use.
#[test]
fn dotted_dependency_name_is_the_built_package_name() {
    let tmp = tempfile::tempdir().unwrap();
    let server = IndexServer::start(Mode::Json);
    let app = WheelBuilder::new("dotted_app", "1.0")
        .file("dotted_app/__init__.py", "")
        .metadata("Summary: Demo application")
        .metadata("Requires-Dist: Backports.Zstd>=1.0")
        .write(tmp.path());
    server.add("dotted-app", Dist::from_path(&app));
    let dep = WheelBuilder::new("backports.zstd", "1.2")
        .file("backports/zstd/__init__.py", "")
        .metadata("Summary: Backport of zstd")
        .write(tmp.path());
    server.add("backports-zstd", Dist::from_path(&dep));
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["dotted-app"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut built: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    built.sort();
    assert_eq!(
        built,
        [
            "python3-backports-zstd_1.2-0py2deb1_all.deb",
            "python3-dotted-app_1.0-0py2deb1_all.deb"
        ]
    );
    let depends = field(&out.join(&built[1]), "Depends");
    assert!(
        depends.contains("python3-backports-zstd (>= 1.0)"),
        "Depends names the built package: {depends}"
    );
    assert_eq!(
        field(&out.join(&built[0]), "Package"),
        "python3-backports-zstd"
    );
}

/// A dependency with extras (`lib[fast]`) brings the requirements of those extras into the
/// closure: what they need is built, and the dependency's package depends on it. Asked for
/// first without the extra (by the application) and then with it (by a dependency found
/// later), it is resolved again with the extra.
#[test]
fn extras_of_dependencies_join_the_closure() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("extras_app", "1.0")
                .file("extras_app/__init__.py", "")
                .metadata("Summary: Demo application")
                .metadata("Requires-Dist: lib-with-extras>=1")
                .metadata("Requires-Dist: extra-user>=1"),
            WheelBuilder::new("extra_user", "1.0")
                .file("extra_user/__init__.py", "")
                .metadata("Summary: Uses the library with its extra")
                .metadata("Requires-Dist: lib-with-extras[fast]>=1"),
            WheelBuilder::new("lib_with_extras", "2.0")
                .file("lib_with_extras/__init__.py", "")
                .metadata("Summary: Library with an extra")
                .metadata("Provides-Extra: fast")
                .metadata("Requires-Dist: speedup>=0.5; extra == \"fast\""),
            WheelBuilder::new("speedup", "0.9")
                .file("speedup/__init__.py", "")
                .metadata("Summary: What the extra needs"),
        ],
    );
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["extras-app"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lib = out.join("python3-lib-with-extras_2.0-0py2deb1_all.deb");
    let speedup = out.join("python3-speedup_0.9-0py2deb1_all.deb");
    assert!(speedup.exists(), "the extra's requirement is built");
    let depends = field(&lib, "Depends");
    assert!(
        depends.contains("python3-speedup (>= 0.5)"),
        "the library's package depends on what its extra needs: {depends}"
    );
    let app_depends = field(
        &out.join("python3-extras-app_1.0-0py2deb1_all.deb"),
        "Depends",
    );
    assert!(
        app_depends.contains("python3-lib-with-extras (>= 1)"),
        "{app_depends}"
    );
}

/// `--conflicts auto` (the default): numpy>=2 against a target whose python3-numpy is
/// `1:1.24.2-1`. When every package depending on it accepts the new version, the new
/// python3-numpy replaces it in its own version space (`1:2.1-0py2deb1`, which apt sees as
/// an upgrade) and the summary says so; when one needs the distribution's ABI, the
/// application gets a private copy instead.
#[test]
fn auto_replaces_when_every_dependent_accepts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("numapp", "1.0")
                .file("numapp/__init__.py", "def main():\n    pass\n")
                .metadata("Summary: Uses numpy 2")
                .metadata("Requires-Dist: numpy>=2")
                .entry_points("[console_scripts]\nnumapp = numapp:main\n"),
            WheelBuilder::new("numpy", "2.1")
                .file("numpy/__init__.py", "")
                .metadata("Summary: Arrays"),
        ],
    );
    let lists_with = |extra: &str| {
        let d = tmp.path().join(format!("lists-{}", extra.len()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("mirror_debian_dists_bookworm_main_binary-amd64_Packages"),
            format!(
                "Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n\
                 Package: python3-numpy\nVersion: 1:1.24.2-1+deb12u1\nArchitecture: amd64\n\
                 Provides: python3-numpy-abi9\n\n\
                 Package: python3-scipy-lite\nVersion: 1.0-1\nArchitecture: all\n\
                 Depends: python3-numpy (>= 1:1.16)\n\n{extra}"
            ),
        )
        .unwrap();
        d
    };

    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists_with(""), &out, &["numapp"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let numpy = json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == "python3-numpy")
        .unwrap_or_else(|| panic!("numpy built as a replacement: {json}"));
    assert_eq!(numpy["version"], "1:2.1-0py2deb1", "{json}");
    assert_eq!(
        numpy["replaces"], "python3-numpy 1:1.24.2-1+deb12u1",
        "{json}"
    );
    let deb = out.join("python3-numpy_2.1-0py2deb1_all.deb");
    assert_eq!(field(&deb, "Version"), "1:2.1-0py2deb1");
    let depends = field(&out.join("python3-numapp_1.0-0py2deb1_all.deb"), "Depends");
    assert!(depends.contains("python3-numpy (>= 1:2)"), "{depends}");

    // A package built against the distribution's numpy ABI blocks the replacement.
    let out = tmp.path().join("out-blocked");
    let o = py2deb(
        &server,
        &lists_with(
            "Package: python3-matplotlib\nVersion: 3.6.3-1\nArchitecture: amd64\n\
             Depends: python3-numpy-abi9\n\n",
        ),
        &out,
        &["numapp"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pkgs = json["packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), 1, "{json}");
    assert_eq!(pkgs[0]["bundles"][0], "numpy 2.1", "{json}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("python3-matplotlib 3.6.3-1 needs python3-numpy-abi9"),
        "the blocker is named: {stderr}"
    );
}

/// Lists of a bookworm-like target from Packages stanzas (python3 is always there).
fn lists_of(dir: &Path, name: &str, stanzas: &str) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("mirror_debian_dists_bookworm_main_binary-amd64_Packages"),
        format!("Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n{stanzas}"),
    )
    .unwrap();
    d
}

fn packages_of(json: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let mut bundles: Vec<String> = p["bundles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_str().unwrap().to_owned())
                .collect();
            bundles.sort();
            (p["package"].as_str().unwrap().to_owned(), bundles)
        })
        .collect()
}

/// A private requests-style dependency: the target's python3-requests 2.28.1 depends on
/// python3-urllib3 without a bound, but requests 2.28.1 itself requires `urllib3<1.27`. With
/// a private urllib3 2, the application would import the distribution's requests against
/// it, so requests goes private too, at a release that accepts urllib3 2.
#[test]
fn private_copy_drags_what_its_own_requirements_break() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("webapp", "1.0")
                .file("webapp/__init__.py", "def main():\n    pass\n")
                .metadata("Summary: Web tool")
                .metadata("Requires-Dist: requests>=2")
                .metadata("Requires-Dist: urllib3>=2")
                .entry_points("[console_scripts]\nwebapp = webapp:main\n"),
            WheelBuilder::new("urllib3", "2.2.0")
                .file("urllib3/__init__.py", "")
                .metadata("Summary: HTTP"),
            WheelBuilder::new("requests", "2.28.1")
                .file("requests/__init__.py", "")
                .metadata("Summary: HTTP for humans")
                .metadata("Requires-Dist: urllib3<1.27,>=1.21.1"),
            WheelBuilder::new("requests", "2.32.0")
                .file("requests/__init__.py", "")
                .metadata("Summary: HTTP for humans")
                .metadata("Requires-Dist: urllib3<3,>=1.21.1"),
        ],
    );
    let lists = lists_of(
        tmp.path(),
        "lists-requests",
        "Package: python3-requests\nVersion: 2.28.1+dfsg-1\nArchitecture: all\n\
         Depends: python3-urllib3 (>= 1.21.1), python3:any\n\n\
         Package: python3-urllib3\nVersion: 1.26.12-1+deb12u4\nArchitecture: all\n\n",
    );
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["webapp", "--conflicts", "bundle"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        packages_of(&json),
        [(
            "webapp".to_owned(),
            vec!["requests 2.32.0".to_owned(), "urllib3 2.2.0".to_owned()]
        )],
        "{json}"
    );
    assert!(
        stderr.contains("requests 2.28.1 requires urllib3>=1.21.1,<1.27"),
        "the reason is given: {stderr}"
    );
    let depends = field(&out.join("webapp_1.0-0py2deb1_all.deb"), "Depends");
    // Both are carried inside: neither the distribution's requests nor its urllib3 is needed.
    assert!(!depends.contains("python3-requests"), "{depends}");
    assert!(!depends.contains("python3-urllib3"), "{depends}");
}

/// A private numpy 2 beside the target's matplotlib, built against numpy's ABI
/// (`python3-numpy-abi9`): `auto` cannot replace numpy (matplotlib needs the ABI), so the
/// application carries numpy privately, and matplotlib, which would load the private numpy
/// through the application's path, goes private too.
#[test]
fn private_copy_of_an_abi_package_drags_its_compiled_dependents() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("plotapp", "1.0")
                .file("plotapp/__init__.py", "def main():\n    pass\n")
                .metadata("Summary: Plots")
                .metadata("Requires-Dist: numpy>=2")
                .metadata("Requires-Dist: matplotlib")
                .entry_points("[console_scripts]\nplotapp = plotapp:main\n"),
            WheelBuilder::new("numpy", "2.1")
                .file("numpy/__init__.py", "")
                .metadata("Summary: Arrays"),
            WheelBuilder::new("matplotlib", "3.9.0")
                .file("matplotlib/__init__.py", "")
                .metadata("Summary: Plotting")
                .metadata("Requires-Dist: numpy>=1.23"),
        ],
    );
    let lists = lists_of(
        tmp.path(),
        "lists-numpy",
        "Package: python3-numpy\nVersion: 1:1.24.2-1+deb12u1\nArchitecture: amd64\n\
         Provides: python3-numpy-abi9\n\n\
         Package: python3-matplotlib\nVersion: 3.6.3-1+b1\nArchitecture: amd64\n\
         Depends: python3-numpy (>= 1:1.20), python3-numpy-abi9\n\n",
    );
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["plotapp"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        packages_of(&json),
        [(
            "plotapp".to_owned(),
            vec!["matplotlib 3.9.0".to_owned(), "numpy 2.1".to_owned()]
        )],
        "{json}"
    );
    assert!(
        stderr.contains("needs python3-numpy-abi9"),
        "the ABI is named: {stderr}"
    );
}

/// A pure application carrying a compiled private copy is architecture-specific, with the
/// glibc floor of the copy's manylinux tag and the Python version its extension was built
/// for (kafe2's private numpy was `Architecture: all` with 22 x86_64 `.so` files inside).
#[test]
fn compiled_private_copy_makes_the_package_arch_specific() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("fastapp", "1.0")
                .file("fastapp/__init__.py", "def main():\n    pass\n")
                .metadata("Summary: Uses a compiled dependency")
                .metadata("Requires-Dist: urllib3>=2")
                .entry_points("[console_scripts]\nfastapp = fastapp:main\n"),
            WheelBuilder::new("urllib3", "2.2.0")
                .tag("cp311-cp311-manylinux_2_28_x86_64")
                .file("urllib3/__init__.py", "")
                // Not a real ELF file (those are refused when damaged): the rule
                // looks at the name and the tag.
                .file(
                    "urllib3/_speedups.cpython-311-x86_64-linux-gnu.so",
                    "compiled code",
                )
                .metadata("Summary: HTTP"),
        ],
    );
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["fastapp", "--conflicts", "bundle"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let deb = out.join("fastapp_1.0-0py2deb1_amd64.deb");
    assert!(
        deb.exists(),
        "{:?}",
        std::fs::read_dir(&out).unwrap().collect::<Vec<_>>()
    );
    assert_eq!(field(&deb, "Architecture"), "amd64");
    let depends = field(&deb, "Depends");
    assert!(depends.contains("libc6 (>= 2.28)"), "{depends}");
    assert!(depends.contains("python3 (<< 3.12)"), "{depends}");
}

/// Per-project overrides fix metadata that under-declares: a requirement added (the
/// project imports it without declaring it), one left out, a package name, and a bad file
/// refused naming the file and key.
#[test]
fn overrides_add_and_skip_requirements_and_name_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("stubs_app", "1.0")
                .file("stubs_app/__init__.py", "import helper_lib\n")
                .metadata("Summary: Imports helper-lib without declaring it")
                .metadata("Requires-Dist: not-needed>=1"),
            WheelBuilder::new("helper_lib", "1.5")
                .file("helper_lib/__init__.py", "")
                .metadata("Summary: Helper library"),
        ],
    );
    let file = tmp.path().join("py2deb.toml");
    std::fs::write(
        &file,
        "[project.stubs-app]\nrequires = [\"helper-lib>=1.2\"]\nskip = [\"not_needed\"]\n\
         [project.helper-lib]\npackage = \"python3-helper\"\n",
    )
    .unwrap();
    let lists = lists(tmp.path());
    let out = tmp.path().join("out");
    let f = file.to_str().unwrap();
    let o = py2deb(
        &server,
        &lists,
        &out,
        &["stubs-app", "--override", f, "--no-default-overrides"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let helper = out.join("python3-helper_1.5-0py2deb1_all.deb");
    assert!(helper.exists(), "the override's package name is used");
    let depends = field(
        &out.join("python3-stubs-app_1.0-0py2deb1_all.deb"),
        "Depends",
    );
    assert!(depends.contains("python3-helper (>= 1.2)"), "{depends}");
    assert!(!depends.contains("not-needed"), "{depends}");

    std::fs::write(&file, "[project.stubs-app]\nrequire = [\"x\"]\n").unwrap();
    let out = tmp.path().join("out-bad");
    let o = py2deb(&server, &lists, &out, &["stubs-app", "--override", f]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("py2deb.toml") && err.contains("unknown key `require`"),
        "{err}"
    );
}

/// `--check` imports what was built beside this machine's Python packages: an undeclared
/// import fails the run, naming the module and the override that fixes it; with the
/// override the dependency is built and the check passes.
#[test]
fn check_imports_built_modules_and_names_the_override() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("undeclared_app", "1.0")
                .file("undeclared_app/__init__.py", "import helper_lib\n")
                .metadata("Summary: Imports helper-lib without declaring it"),
            WheelBuilder::new("helper_lib", "1.5")
                .file("helper_lib/__init__.py", "")
                .metadata("Summary: Helper library"),
        ],
    );
    let lists = lists(tmp.path());
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["undeclared-app", "--check", "--no-default-overrides"];
        args.extend_from_slice(extra);
        let o = Command::new(env!("CARGO_BIN_EXE_py2deb"))
            .args([
                "--index-url",
                &server.url(),
                "--target",
                "host",
                "--apt-lists",
            ])
            .arg(&lists)
            .arg("-o")
            .arg(tmp.path().join(out))
            .args(["--maintainer", MAINTAINER])
            .args(&args)
            .env("PY2DEB_CACHE_DIR", tmp.path().join("cache"))
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (ok, err) = run("out1", &[]);
    assert!(!ok, "{err}");
    assert!(err.contains("No module named 'helper_lib'"), "{err}");
    assert!(err.contains("requires = [\"helper-lib\"]"), "{err}");
    let file = tmp.path().join("py2deb.toml");
    std::fs::write(
        &file,
        "[project.undeclared-app]\nrequires = [\"helper-lib\"]\n",
    )
    .unwrap();
    let (ok, err) = run("out2", &["--override", file.to_str().unwrap()]);
    assert!(ok, "{err}");
}

/// A replacement takes the target's own package name for the project (bookworm ships
/// GitPython as python3-git), so apt sees an upgrade of that package rather than a second
/// package with the same files.
#[test]
fn replacement_takes_the_target_package_name() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("gitapp", "1.0")
                .file("gitapp/__init__.py", "def main():\n    pass\n")
                .metadata("Summary: Uses GitPython")
                .metadata("Requires-Dist: GitPython>=3.2")
                .entry_points("[console_scripts]\ngitapp = gitapp:main\n"),
            WheelBuilder::new("GitPython", "3.2.1")
                .file("git/__init__.py", "")
                .metadata("Summary: Git from Python"),
        ],
    );
    let lists = lists_of(
        tmp.path(),
        "lists-git",
        "Package: python3-git\nVersion: 3.1.30-1+deb12u2\nArchitecture: all\n\n",
    );
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["gitapp"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let git = out.join("python3-git_3.2.1-0py2deb1_all.deb");
    assert!(
        git.exists(),
        "{:?}",
        std::fs::read_dir(&out).unwrap().collect::<Vec<_>>()
    );
    let depends = field(&out.join("python3-gitapp_1.0-0py2deb1_all.deb"), "Depends");
    assert!(depends.contains("python3-git (>= 3.2)"), "{depends}");
}

/// A requested project the target already ships (bookworm's `black`) is built as a newer
/// version of the target's own package, so apt upgrades it instead of stopping with
/// "trying to overwrite '/usr/bin/black'"; with private modules and packages depending on
/// the distribution's, it is not taken over but lived beside.
#[test]
fn requested_project_takes_over_the_targets_own_package() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("black", "26.1.0")
                .file("black/__init__.py", "def main():\n    pass\n")
                .metadata("Summary: The uncompromising formatter")
                .metadata("Requires-Dist: urllib3>=2")
                .entry_points("[console_scripts]\nblack = black:main\n"),
            WheelBuilder::new("urllib3", "2.2.0")
                .file("urllib3/__init__.py", "")
                .metadata("Summary: HTTP"),
        ],
    );
    let base = "Package: black\nVersion: 23.1.0-1\nArchitecture: all\n\n\
                Package: python3-urllib3\nVersion: 1.26.12-1+deb12u4\nArchitecture: all\n\n";
    let lists = lists_of(tmp.path(), "lists-black", base);
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["black", "--conflicts", "replace"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let deb = out.join("black_26.1.0-0py2deb1_all.deb");
    assert!(
        deb.exists(),
        "{:?}",
        std::fs::read_dir(&out).unwrap().collect::<Vec<_>>()
    );
    assert_eq!(field(&deb, "Package"), "black");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["packages"][0]["replaces"], "black 23.1.0-1", "{json}");

    // Private modules (urllib3 bundled) and a package needing the distribution's black.
    let lists = lists_of(
        tmp.path(),
        "lists-black-rdep",
        &format!(
            "{base}Package: python3-pylsp-black\nVersion: 1.2.1-1\nArchitecture: all\nDepends: black\n\n"
        ),
    );
    // Its modules private, it cannot take over a package others depend on: it lives
    // beside it as black-py, which may take over the files both ship (Replaces), and the
    // distribution's black stays for python3-pylsp-black.
    let out = tmp.path().join("out-beside");
    let o = py2deb(&server, &lists, &out, &["black", "--conflicts", "bundle"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let deb = out.join("black-py_26.1.0-0py2deb1_all.deb");
    assert!(
        deb.exists(),
        "{:?}",
        std::fs::read_dir(&out).unwrap().collect::<Vec<_>>()
    );
    assert_eq!(
        field(&deb, "Replaces"),
        "python3-black (<< 26.1.0-0py2deb1), black"
    );
    assert_eq!(field(&deb, "Breaks"), "python3-black (<< 26.1.0-0py2deb1)");
}

/// A target package that ships many projects (bookworm's monolithic python3-azure ships
/// every azure-* client) is not one project's own: a converted azure-synapse-accesscontrol
/// keeps its own name instead of taking over, and removing, python3-azure.
#[test]
fn a_package_of_many_projects_is_never_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![WheelBuilder::new("azure_synapse_accesscontrol", "0.7.0")
            .file("azure/synapse/accesscontrol/__init__.py", "")
            .metadata("Summary: Synapse access control")],
    );
    let lists = lists_of(
        tmp.path(),
        "lists-azure",
        "Package: python3-azure\nVersion: 20230112+git-1\nArchitecture: all\n\n",
    );
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["azure-synapse-accesscontrol"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        json["packages"][0]["package"], "python3-azure-synapse-accesscontrol",
        "{json}"
    );
    assert!(json["packages"][0]["replaces"].is_null(), "{json}");
}
