//! `py2deb rfp`: the WNPP request text for a fixture project, the "already packaged" and
//! "older version packaged" answers on fixture archives, and `--recursive`'s order.

use crate::debianize::{fixture_suite, pkg_info, read, sdist, MIT};
use py2deb::packaging::rfp::{self, DepState, Presence, RequestOptions};
use py2deb::packaging::{Suite, Upstream};
use std::collections::BTreeMap;
use std::path::Path;

const SID_PACKAGES: &str = "\
Package: python3-requests
Version: 2.32.3+dfsg-1
Architecture: all

Package: python3-hatchling
Version: 1.27.0-1
Architecture: all

Package: python3-oldlib
Version: 1.0-1
Architecture: all

Package: python3-pytz
Version: 2025.2-1
Architecture: all
";

const SID_DISTS: &str = "\
requests\tpython3-requests\t2.32.3
hatchling\tpython3-hatchling\t1.27.0
oldlib\tpython3-oldlib\t1.0
pytz\tpython3-pytz\t2025.2
";

fn sid() -> Suite {
    fixture_suite("sid", SID_PACKAGES, SID_DISTS)
}

fn bookworm_with_pytz(version: &str) -> Suite {
    fixture_suite(
        "bookworm",
        &format!("Package: python3-tz\nVersion: {version}-1\nArchitecture: all\n"),
        &format!("pytz\tpython3-tz\t{version}\n"),
    )
}

/// An sdist of `name` with runtime requirements `requires`, read back.
fn upstream(dir: &Path, name: &str, version: &str, requires: &[&str]) -> Upstream {
    let extra: String = requires
        .iter()
        .map(|r| format!("Requires-Dist: {r}\n"))
        .collect();
    let info = pkg_info(name, version, &extra);
    let top = format!("{name}-{version}");
    let path = sdist(
        dir,
        &top,
        &[
            ("PKG-INFO", &info, 0o644),
            (
                "pyproject.toml",
                "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
                0o644,
            ),
            ("LICENSE", MIT, 0o644),
        ],
    );
    let into = dir.join(format!("unpacked-{name}"));
    std::fs::create_dir(&into).unwrap();
    read(&path, &format!("{top}.tar.gz"), &into)
}

fn options(itp: bool) -> RequestOptions {
    RequestOptions {
        itp,
        from: "Jane Doe <jane@example.org>".into(),
        date: crate::debianize::DATE,
        dep_suite: "sid".into(),
    }
}

#[test]
fn rfp_text_for_a_fixture_project() {
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream(
        tmp.path(),
        "greeter",
        "2.0.1",
        &["requests>=2.30", "oldlib>=2", "nowhere-lib"],
    );
    let suite = sid();
    let rows = rfp::dependency_rows(&up, &suite).unwrap();
    let states: Vec<(&str, DepState)> = rows.iter().map(|r| (r.name.as_str(), r.state)).collect();
    assert_eq!(
        states,
        [
            ("requests", DepState::Packaged),
            ("oldlib", DepState::TooOld),
            ("nowhere-lib", DepState::Missing),
            ("hatchling", DepState::Packaged),
        ]
    );
    let req = rfp::request(
        &up,
        "python-greeter",
        &rows,
        &BTreeMap::new(),
        &[],
        &options(false),
    );
    assert_eq!(
        req.subject,
        "RFP: python-greeter -- Tiny library for greeting people"
    );
    assert_eq!(
        req.body,
        "Package: wnpp
Severity: wishlist

* Package name    : python-greeter
  Version         : 2.0.1
  Upstream Author : Jane Upstream <jane@upstream.example>
* URL             : https://github.com/example/greeter
* License         : Expat
  Programming Lang: Python
  Description     : Tiny library for greeting people

Greets people politely, in many languages, from Python code.

The project is on PyPI: https://pypi.org/project/greeter/

Please also include as much relevant information as possible.
For example, consider answering the following questions:
 - why is this package useful/relevant? is it a dependency for
   another package? do you use it? if there are other packages
   providing similar functionality, how does it compare?
 - how do you plan to maintain it? inside a packaging team
   (check list at https://wiki.debian.org/Teams)? are you
   looking for co-maintainers? do you need a sponsor?

FIXME: why is it useful to you, and to whom else?

FIXME: how will it be maintained? The Debian Python Team
(https://wiki.debian.org/Teams/PythonTeam) maintains most Python
libraries; say whether it should go there and whether you need a sponsor.

Dependencies, as sid has them:
  runtime  requests>=2.30                 packaged: python3-requests 2.32.3+dfsg-1
  runtime  oldlib>=2                      too old: python3-oldlib 1.0-1
  runtime  nowhere-lib                    missing
  build    hatchling                      packaged: python3-hatchling 1.27.0-1
"
    );
    assert!(
        req.mbox.starts_with(
            "From jane@example.org Tue Nov 14 22:13:20 2023\nFrom: Jane Doe <jane@example.org>\nTo: submit@bugs.debian.org\nSubject: RFP: python-greeter -- Tiny library for greeting people\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n"
        ),
        "{}",
        req.mbox
    );
    assert!(req.mbox.contains("\n\nPackage: wnpp\nSeverity: wishlist\n"));
    assert_eq!(req.file_name(), "python-greeter.rfp");
}

#[test]
fn itp_has_owner_and_the_lists_in_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream(tmp.path(), "greeter", "2.0.1", &[]);
    let req = rfp::request(
        &up,
        "python-greeter",
        &[],
        &BTreeMap::new(),
        &[],
        &options(true),
    );
    assert!(req.subject.starts_with("ITP: python-greeter -- "));
    assert!(
        req.body.starts_with(
            "Package: wnpp\nSeverity: wishlist\nOwner: Jane Doe <jane@example.org>\nX-Debbugs-Cc: debian-devel@lists.debian.org, debian-python@lists.debian.org\n\n* Package name    : python-greeter\n"
        ),
        "{}",
        req.body
    );
}

#[test]
fn rfp_already_packaged_answers_per_suite() {
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream(tmp.path(), "pytz", "2025.2", &[]);
    let suites = [sid(), bookworm_with_pytz("2022.7.1")];
    match rfp::presence(&up.meta.name, &up.meta.version, &suites) {
        Presence::Packaged(found) => {
            assert_eq!(found.len(), 2, "{found:?}");
            assert_eq!(
                (
                    found[0].suite.as_str(),
                    found[0].package.as_str(),
                    found[0].version.as_str()
                ),
                ("sid", "python3-pytz", "2025.2-1")
            );
            assert_eq!(
                (
                    found[1].suite.as_str(),
                    found[1].package.as_str(),
                    found[1].python_version.as_str()
                ),
                ("bookworm", "python3-tz", "2022.7.1")
            );
        }
        other => panic!("expected packaged, got {other:?}"),
    }
}

#[test]
fn rfp_older_version_packaged_wants_a_new_upstream_version() {
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream(tmp.path(), "pytz", "2026.1", &[]);
    let suites = [bookworm_with_pytz("2022.7.1")];
    match rfp::presence(&up.meta.name, &up.meta.version, &suites) {
        Presence::Older(found) => {
            assert_eq!(found[0].package, "python3-tz");
            assert_eq!(found[0].version, "2022.7.1-1");
        }
        other => panic!("expected older, got {other:?}"),
    }
    let missing = upstream(tmp.path(), "brandnew", "1.0", &[]);
    assert_eq!(
        rfp::presence(&missing.meta.name, &missing.meta.version, &suites),
        Presence::Missing
    );
}

#[test]
fn rfp_recursive_writes_dependencies_first_and_names_what_they_block() {
    let tmp = tempfile::tempdir().unwrap();
    let root = upstream(
        tmp.path(),
        "app-thing",
        "1.0",
        &["libone", "libtwo", "requests"],
    );
    let dir = tmp.path().to_owned();
    let mut asked = Vec::new();
    let mut obtain = |req: &pep508_rs::Requirement| -> anyhow::Result<Upstream> {
        let name = req.name.to_string();
        asked.push(name.clone());
        // libone needs libtwo too: libtwo must come first and block both.
        let deps: &[&str] = if name == "libone" { &["libtwo"] } else { &[] };
        Ok(upstream(&dir.join(&name), &name, "0.5", deps))
    };
    for n in ["libone", "libtwo"] {
        std::fs::create_dir(tmp.path().join(n)).unwrap();
    }
    let planned = rfp::plan(vec![root], &sid(), true, &mut obtain).unwrap();
    let order: Vec<&str> = planned.iter().map(|p| p.source.as_str()).collect();
    assert_eq!(
        order,
        ["python-libtwo", "python-libone", "python-app-thing"]
    );
    assert_eq!(planned[0].blocks, ["python-libone", "python-app-thing"]);
    assert_eq!(planned[1].blocks, ["python-app-thing"]);
    assert!(planned[2].blocks.is_empty());
    assert_eq!(asked, ["libone", "libtwo"], "libtwo is read once");
    let reqs = rfp::requests(&planned, &options(false));
    assert!(
        reqs[0].body.contains(
            "It is a dependency of python-libone, python-app-thing, requested\nalongside."
        ),
        "{}",
        reqs[0].body
    );
    assert!(
        reqs[2].body.contains(
            "  runtime  libone                         missing (requested as python-libone)\n"
        ),
        "{}",
        reqs[2].body
    );
    // Without --recursive only the project itself is requested.
    let root = upstream(&tmp.path().join("libone"), "app-two", "1.0", &["libone"]);
    let planned = rfp::plan(vec![root], &sid(), false, &mut |_| panic!("not asked")).unwrap();
    assert_eq!(planned.len(), 1);
}
