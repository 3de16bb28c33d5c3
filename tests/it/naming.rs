//! Package names that tell the truth (issue 8, section 2): `python3-X` only for a package
//! that makes module X importable; an application with private modules is named after its
//! project, never takes an unrelated package's name, upgrades from its old `python3-X`
//! name, and never takes over or satisfies the distribution's library of the same project.
//! Also `--prefer newest` (section 3).

use crate::support::{Dist, IndexServer, Mode, WheelBuilder};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn serve(dir: &Path, wheels: Vec<WheelBuilder>) -> IndexServer {
    let server = IndexServer::start(Mode::Json);
    for w in wheels {
        let wheel = w.write(dir);
        let file = wheel.file_name().unwrap().to_str().unwrap();
        let name = file.split('-').next().unwrap().replace('_', "-");
        server.add(&name, Dist::from_path(&wheel));
    }
    server
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

fn py2deb(server: &IndexServer, lists: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args(["--index-url", &server.url()])
        .args(["--target", "bookworm", "--arch", "amd64", "--apt-lists"])
        .arg(lists)
        .arg("-o")
        .arg(out)
        .args([
            "--maintainer",
            "Test Maintainer <test@example.org>",
            "--json",
        ])
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

fn written(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(out)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn have_dpkg_deb() -> bool {
    crate::support::prerequisite(
        Command::new("dpkg-deb").arg("--version").output().is_ok(),
        "dpkg-deb (apt install dpkg)",
    )
}

/// An application needing urllib3 2 where the target has 1.26 (kept private with
/// `--conflicts bundle`).
fn private_app(name: &str, version: &str) -> WheelBuilder {
    let module = name.replace('-', "_");
    WheelBuilder::new(name, version)
        .file(
            &format!("{module}/__init__.py"),
            "def main():\n    print('ok')\n",
        )
        .metadata("Summary: A command-line tool")
        .metadata("Requires-Dist: urllib3>=2")
        .entry_points(&format!("[console_scripts]\n{name} = {module}:main\n"))
}

fn urllib3() -> WheelBuilder {
    WheelBuilder::new("urllib3", "2.2.0")
        .file("urllib3/__init__.py", "")
        .metadata("Summary: HTTP")
}

const URLLIB3_126: &str =
    "Package: python3-urllib3\nVersion: 1.26.12-1+deb12u4\nArchitecture: all\n\n";

/// pepotron, poetry: a package whose modules are private is an application, named after
/// the project; it provides no python3-X, and upgrades from the python3-X name earlier
/// builds gave it (Breaks and Replaces below its own version).
#[test]
fn private_application_is_named_after_its_project_and_replaces_its_old_name() {
    if !have_dpkg_deb() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(tmp.path(), vec![private_app("toolapp", "1.2"), urllib3()]);
    let lists = lists_of(tmp.path(), "lists", URLLIB3_126);
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["toolapp", "--conflicts", "bundle"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(written(&out), ["toolapp_1.2-0py2deb1_all.deb"]);
    let deb = out.join("toolapp_1.2-0py2deb1_all.deb");
    assert_eq!(field(&deb, "Package"), "toolapp");
    assert_eq!(field(&deb, "Breaks"), "python3-toolapp (<< 1.2-0py2deb1)");
    assert_eq!(field(&deb, "Replaces"), "python3-toolapp (<< 1.2-0py2deb1)");
    assert_eq!(
        field(&deb, "Provides"),
        "",
        "a private package satisfies no python3-X"
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["packages"][0]["package"], "toolapp", "{json}");

    // Without private modules the package is the importable module: python3-X, no Breaks.
    let lists = lists_of(tmp.path(), "lists-new", "");
    let out = tmp.path().join("out-public");
    let o = py2deb(&server, &lists, &out, &["toolapp"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        written(&out),
        [
            "python3-toolapp_1.2-0py2deb1_all.deb",
            "python3-urllib3_2.2.0-0py2deb1_all.deb"
        ]
    );
    assert_eq!(
        field(&out.join("python3-toolapp_1.2-0py2deb1_all.deb"), "Breaks"),
        ""
    );
}

/// Bookworm's `tldr` is the Haskell client: a private tldr client never takes that name
/// (installing it would remove or clash with an unrelated program) and becomes `tldr-py`,
/// as Debian named its own; when every candidate is taken the build stops naming them and
/// the override that picks a name.
#[test]
fn private_application_never_takes_an_unrelated_packages_name() {
    if !have_dpkg_deb() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(tmp.path(), vec![private_app("tldr", "3.3.0"), urllib3()]);
    let haskell = "Package: tldr\nVersion: 0.9.2-3+b1\nArchitecture: amd64\n\n";
    let lists = lists_of(tmp.path(), "lists", &format!("{haskell}{URLLIB3_126}"));
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["tldr", "--conflicts", "bundle"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(written(&out), ["tldr-py_3.3.0-0py2deb1_all.deb"]);
    let deb = out.join("tldr-py_3.3.0-0py2deb1_all.deb");
    let relations = format!(
        "{} / {} / {}",
        field(&deb, "Breaks"),
        field(&deb, "Replaces"),
        field(&deb, "Conflicts")
    );
    let names: Vec<&str> = relations
        .split([',', '/'])
        .filter_map(|r| r.split_whitespace().next())
        .collect();
    assert!(
        !names.contains(&"tldr"),
        "nothing on the unrelated tldr: {relations}"
    );
    assert!(
        relations.contains("python3-tldr (<< 3.3.0-0py2deb1)"),
        "{relations}"
    );

    let both =
        format!("{haskell}Package: tldr-py\nVersion: 1.0-1\nArchitecture: all\n\n{URLLIB3_126}");
    let server = serve(tmp.path(), vec![private_app("tldr", "3.3.0"), urllib3()]);
    let lists = lists_of(tmp.path(), "lists-both", &both);
    let out = tmp.path().join("out-taken");
    let o = py2deb(&server, &lists, &out, &["tldr", "--conflicts", "bundle"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("tldr (bookworm 0.9.2-3+b1)") && err.contains("tldr-py (bookworm 1.0-1)"),
        "both taken names are named: {err}"
    );
    assert!(err.contains("package = "), "the override is named: {err}");
    assert!(
        written(&out).is_empty(),
        "nothing written: {:?}",
        written(&out)
    );
}

/// Bookworm's python3-sphinx is a library with reverse dependencies
/// (python3-sphinx-rtd-theme): a sphinx whose modules must go private neither takes over
/// nor satisfies python3-sphinx. It is the program `sphinx`, which may replace the
/// library's files (its programs) but never Breaks, Conflicts or Provides it, so the
/// library and what depends on it stay installed beside it.
#[test]
fn private_build_of_a_distribution_library_stands_beside_it() {
    if !have_dpkg_deb() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(
        tmp.path(),
        vec![
            WheelBuilder::new("Sphinx", "8.1.3")
                .file("sphinx/__init__.py", "def main():\n    pass\n")
                .metadata("Summary: Python documentation generator")
                .metadata("Requires-Dist: docutils>=0.20")
                .entry_points("[console_scripts]\nsphinx-build = sphinx:main\n"),
            WheelBuilder::new("docutils", "0.21.2")
                .file("docutils/__init__.py", "")
                .metadata("Summary: Docutils"),
        ],
    );
    let lists = lists_of(
        tmp.path(),
        "lists",
        "Package: python3-sphinx\nVersion: 5.3.0-4\nArchitecture: all\n\
         Depends: python3-docutils (>= 0.14), python3:any\n\n\
         Package: python3-sphinx-rtd-theme\nVersion: 1.2.0+dfsg-1\nArchitecture: all\n\
         Depends: python3-sphinx (>= 1.6), python3:any\n\n\
         Package: python3-docutils\nVersion: 0.19+dfsg-6\nArchitecture: all\n\n",
    );
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["sphinx", "--conflicts", "bundle"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(written(&out), ["sphinx_8.1.3-0py2deb1_all.deb"]);
    let deb = out.join("sphinx_8.1.3-0py2deb1_all.deb");
    assert_eq!(field(&deb, "Replaces"), "python3-sphinx");
    assert_eq!(
        field(&deb, "Breaks"),
        "",
        "the library must stay installable"
    );
    assert_eq!(field(&deb, "Conflicts"), "");
    assert_eq!(field(&deb, "Provides"), "");
    assert!(
        stderr.contains("beside bookworm's python3-sphinx 5.3.0-4"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        json["packages"][0]["replaces"].is_null(),
        "no takeover: {json}"
    );
}

/// bump-my-version 1.8.1 declares `rich-click` without a bound but needs 1.7: bookworm's
/// 1.6 "satisfies" it and the program crashes. `--prefer newest` takes the newest release,
/// as pip would, privately (bookworm's python3-rich-click stays what others import), so
/// the package is the application `bump-my-version`; the default keeps depending on the
/// distribution's.
#[test]
fn prefer_newest_bundles_what_the_distribution_ships_older() {
    if !have_dpkg_deb() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let wheels = || {
        vec![
            WheelBuilder::new("bump_my_version", "1.8.1")
                .file("bumpversion/__init__.py", "def main():\n    pass\n")
                .metadata("Summary: Version bump tool")
                .metadata("Requires-Dist: rich-click")
                .metadata("Requires-Dist: tomlkit")
                .entry_points("[console_scripts]\nbump-my-version = bumpversion:main\n"),
            WheelBuilder::new("rich_click", "1.6.1")
                .file("rich_click/__init__.py", "")
                .metadata("Summary: Click with rich"),
            WheelBuilder::new("rich_click", "1.8.3")
                .file("rich_click/__init__.py", "")
                .metadata("Summary: Click with rich"),
            WheelBuilder::new("tomlkit", "0.11.7")
                .file("tomlkit/__init__.py", "")
                .metadata("Summary: TOML"),
        ]
    };
    let server = serve(tmp.path(), wheels());
    // tomlkit: the distribution's is the newest too, so it stays a dependency.
    let lists = lists_of(
        tmp.path(),
        "lists",
        "Package: python3-rich-click\nVersion: 1.6.1-1\nArchitecture: all\n\n\
         Package: python3-tomlkit\nVersion: 0.11.7-1\nArchitecture: all\n\n",
    );
    let out = tmp.path().join("out-default");
    let o = py2deb(&server, &lists, &out, &["bump-my-version"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let deb = out.join("python3-bump-my-version_1.8.1-0py2deb1_all.deb");
    assert!(
        field(&deb, "Depends").contains("python3-rich-click"),
        "{}",
        field(&deb, "Depends")
    );

    let out = tmp.path().join("out-newest");
    let o = py2deb(
        &server,
        &lists,
        &out,
        &["bump-my-version", "--prefer", "newest"],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["packages"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["packages"][0]["package"], "bump-my-version", "{json}");
    assert_eq!(
        json["packages"][0]["bundles"][0], "rich-click 1.8.3",
        "{json}"
    );
    let deb = out.join("bump-my-version_1.8.1-0py2deb1_all.deb");
    let depends = field(&deb, "Depends");
    assert!(!depends.contains("rich-click"), "carried inside: {depends}");
    assert!(depends.contains("python3-tomlkit"), "{depends}");

    // A word that is not a preference is refused, naming the choices.
    let o = py2deb(
        &server,
        &lists,
        &tmp.path().join("out-bad"),
        &["bump-my-version", "--prefer", "latest"],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("distribution, newest"), "{err}");
}

/// Bookworm splits mypy into the library python3-mypy and the program package `mypy`,
/// which depends on it. A mypy whose modules are private takes over the program package
/// (an upgrade, so /usr/bin/mypy changes hands cleanly) and leaves the library to what
/// imports it.
#[test]
fn private_build_takes_over_the_distributions_program_package_of_a_split_project() {
    if !have_dpkg_deb() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(tmp.path(), vec![private_app("mypy", "2.0.0"), urllib3()]);
    let lists = lists_of(
        tmp.path(),
        "lists",
        &format!(
            "Package: python3-mypy\nVersion: 1.0.1-1\nArchitecture: all\n\n\
             Package: mypy\nVersion: 1.0.1-1\nArchitecture: all\nDepends: python3-mypy (= 1.0.1-1)\n\n\
             Package: python3-pylsp-mypy\nVersion: 0.6.5-1\nArchitecture: all\nDepends: python3-mypy\n\n\
             {URLLIB3_126}"
        ),
    );
    let out = tmp.path().join("out");
    let o = py2deb(&server, &lists, &out, &["mypy", "--conflicts", "bundle"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(written(&out), ["mypy_2.0.0-0py2deb1_all.deb"]);
    let deb = out.join("mypy_2.0.0-0py2deb1_all.deb");
    assert_eq!(field(&deb, "Replaces"), "python3-mypy");
    assert_eq!(field(&deb, "Breaks"), "");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["packages"][0]["replaces"], "mypy 1.0.1-1", "{json}");

    // Something needs the program package (bookworm's flake8 case): it stays, and the new
    // package lives beside both, replacing the programs they ship.
    let lists = lists_of(
        tmp.path(),
        "lists-rdep",
        &format!(
            "Package: python3-mypy\nVersion: 1.0.1-1\nArchitecture: all\n\n\
             Package: mypy\nVersion: 1.0.1-1\nArchitecture: all\nDepends: python3-mypy (= 1.0.1-1)\n\n\
             Package: elpa-flycheck-mypy\nVersion: 1-1\nArchitecture: all\nDepends: mypy\n\n\
             {URLLIB3_126}"
        ),
    );
    let out = tmp.path().join("out-rdep");
    let o = py2deb(&server, &lists, &out, &["mypy", "--conflicts", "bundle"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(written(&out), ["mypy-py_2.0.0-0py2deb1_all.deb"]);
    let deb = out.join("mypy-py_2.0.0-0py2deb1_all.deb");
    assert_eq!(field(&deb, "Replaces"), "python3-mypy, mypy");
    assert_eq!(field(&deb, "Breaks"), "");
}
