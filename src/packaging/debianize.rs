//! `py2deb debianize`: a Debian source package for an sdist, after the Debian Python Team's
//! conventions (python-team policy on salsa; Debian Policy 4.7 for sid and trixie, 4.6.2 —
//! the newest bookworm's tools know — for bookworm): `debian/control` (debhelper-compat 13,
//! dh-sequence-python3, pybuild-plugin-pyproject, the backend and test requirements mapped
//! on the target), `rules` (`dh $@ --buildsystem=pybuild`), `changelog`, DEP-5 `copyright`,
//! `watch` (uscan format 4, which every supported release reads), DEP-12
//! `upstream/metadata`, `source/format`, DEP-14 `gbp.conf` and `salsa-ci.yml`; the orig
//! tarball is the sdist byte for byte.
//!
//! What the target's tools do was read from them, not assumed: bookworm's pybuild
//! (dh-python 5.20230130) runs `python3 -m pytest` when python3-pytest is a build
//! dependency and fails on any non-zero exit, so a run collecting no tests (exit 5) fails
//! the build; without pytest it runs `unittest discover`, which Python 3.12 made fail the
//! same way. Hatchling before 1.14 checks classifiers against its own built-in list
//! (bookworm's 1.12.2 knows none newer than December 2022), and only from 1.26 on can
//! `HATCH_METADATA_CLASSIFIERS_NO_VERIFY` turn the check off. Buildds run the tests without
//! network. What cannot be known from the files is written as `FIXME` and returned.

use super::{Suite, Upstream};
use crate::debian::version::deb_version;
use crate::report::Reporter;
use crate::resolve::mapping::{map_requirement, Status};
use anyhow::{bail, Context, Result};
use pep440_rs::Version;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The Python Team, maintainer of its packages (team policy).
pub const TEAM: &str = "Debian Python Team <team+python@tracker.debian.org>";
/// The team's repositories on salsa.
const SALSA: &str = "https://salsa.debian.org/python-team/packages";

/// Choices of the person packaging.
#[derive(Debug, Clone)]
pub struct Options {
    /// `Name <mail>`: an Uploader under the team, or the Maintainer with `team: false`.
    pub packager: String,
    pub team: bool,
    /// The ITP bug the first upload closes.
    pub itp_bug: Option<u64>,
    /// Seconds since the epoch for the changelog and copyright years.
    pub date: i64,
    /// Binary package name instead of the converter's rule.
    pub package: Option<String>,
}

/// The generated packaging, before anything is written.
#[derive(Debug, Clone)]
pub struct Packaging {
    pub source: String,
    pub binary: String,
    /// Upstream version in Debian form (`1.0~rc1`).
    pub upstream_version: String,
    /// `debian/…` path → contents.
    pub files: BTreeMap<String, String>,
    /// What the human must decide, one line each (also marked `FIXME` in the files).
    pub fixmes: Vec<String>,
}

impl Packaging {
    pub fn orig_name(&self) -> String {
        format!("{}_{}.orig.tar.gz", self.source, self.upstream_version)
    }
    pub fn tree_name(&self) -> String {
        format!("{}-{}", self.source, self.upstream_version)
    }
}

/// Standards-Version for the target: the newest Policy its lintian knows.
fn standards_version(suite: &str) -> &'static str {
    match suite {
        "bullseye" => "4.5.1",
        "bookworm" | "jammy" => "4.6.2",
        _ => "4.7.2",
    }
}

/// The Python version of a distribution the suite ships, if any.
fn shipped_version(suite: &Suite, name: &str) -> Option<Version> {
    suite
        .dists
        .lookup(name, &suite.archive)
        .and_then(|e| Version::from_str(&e.python_version).ok())
}

/// One relation line for Build-Depends, or a FIXME when the target cannot satisfy it.
fn build_relation(
    req: &pep508_rs::Requirement,
    suite: &Suite,
    profile: &str,
    what: &str,
    fixmes: &mut Vec<String>,
) -> Option<String> {
    let m = map_requirement(req, true, &suite.universe());
    let rel = m.relation.clone().or(m.package.clone());
    match m.status {
        Status::Satisfied | Status::NotApplicable => rel.map(|r| format!("{r}{profile}")),
        Status::Conflict => {
            fixmes.push(format!(
                "{what} `{req}`: {} has {} {}, which does not satisfy it",
                suite.target.name,
                m.package.as_deref().unwrap_or("?"),
                m.available.as_deref().unwrap_or("?")
            ));
            rel.map(|r| format!("{r}{profile}"))
        }
        Status::Missing => {
            fixmes.push(format!(
                "{what} `{req}`: {} has no package of it; package it first (`py2deb rfp {}`)",
                suite.target.name, req.name
            ));
            None
        }
    }
}

/// Generate the `debian/` files for `up` on `suite`.
pub fn generate(up: &Upstream, suite: &Suite, opts: &Options) -> Result<Packaging> {
    let mut fixmes: Vec<String> = Vec::new();
    let binary = match &opts.package {
        Some(p) => {
            crate::debian::control::validate_package_name(p)?;
            p.clone()
        }
        None => super::binary_name(&up.meta.name, &suite.dists, &suite.archive)?,
    };
    if opts.package.is_none() && binary.starts_with("python3-") && up.is_application() {
        fixmes.push(format!(
            "it installs the program `{}`: if it is an application rather than a library, the team names the package after the program (--package {})",
            up.normalized(),
            up.normalized()
        ));
    }
    let source = super::source_name(&binary);
    crate::debian::control::validate_package_name(&source)?;
    let upstream_version = deb_version(&up.meta.version);
    let target = &suite.target;
    let compiled = up.compiled();
    let tests = up.has_tests();

    // Build-Depends: the team's base, the backend and build requirements, and what the
    // tests import (marked <!nocheck>, so `nocheck` builds skip them).
    let mut bdeps: Vec<String> = vec![
        "debhelper-compat (= 13)".into(),
        "dh-sequence-python3".into(),
    ];
    if !up.build.legacy {
        bdeps.push("pybuild-plugin-pyproject".into());
    }
    bdeps.push(
        if compiled {
            "python3-all-dev"
        } else {
            "python3-all"
        }
        .into(),
    );
    let mut seen: Vec<String> = Vec::new();
    // One line per relation group: a range (`>=3.2,<4`) is two groups of one package.
    let mut push = |rel: String, bdeps: &mut Vec<String>| {
        let (groups, profile) = match rel.split_once(" <") {
            Some((g, p)) => (g.to_owned(), format!(" <{p}")),
            None => (rel.clone(), String::new()),
        };
        let pkg = groups.split([' ', '(']).next().unwrap_or("").to_owned();
        if seen.contains(&pkg) || bdeps.iter().any(|b| b.split(' ').next() == Some(&pkg)) {
            return;
        }
        seen.push(pkg);
        for g in groups.split(", ") {
            bdeps.push(format!("{g}{profile}"));
        }
    };
    for r in up.build_for(target)? {
        if let Some(rel) = build_relation(&r, suite, "", "build requirement", &mut fixmes) {
            push(rel, &mut bdeps);
        }
    }
    if tests {
        let pytest = pep508_rs::Requirement::from_str("pytest").expect("constant requirement");
        let mut test_reqs = vec![pytest];
        test_reqs.extend(up.tests_for(target)?);
        test_reqs.extend(up.runtime_for(target)?);
        for r in test_reqs {
            if let Some(rel) =
                build_relation(&r, suite, " <!nocheck>", "test requirement", &mut fixmes)
            {
                push(rel, &mut bdeps);
            }
        }
    }
    if tests {
        // What the tests import without declaring it (a dev dependency the sdist's
        // metadata does not carry): added when the target ships a distribution of exactly
        // that name, and listed for the human to confirm.
        for m in &up.test_imports {
            if *m == up.normalized().replace('-', "_") {
                continue;
            }
            let Ok(req) = pep508_rs::Requirement::from_str(m) else {
                continue;
            };
            let row = map_requirement(&req, true, &suite.universe());
            if row.status != Status::Satisfied || row.guess {
                continue;
            }
            let Some(rel) = row.package.clone() else {
                continue;
            };
            if bdeps
                .iter()
                .any(|b| b.split(' ').next() == Some(rel.as_str()))
            {
                continue;
            }
            fixmes.push(format!(
                "the tests import `{m}`, which no requirement declares; {rel} added to Build-Depends <!nocheck>: check it"
            ));
            push(format!("{rel} <!nocheck>"), &mut bdeps);
        }
    }
    if compiled {
        fixmes.push(format!(
            "the project has compiled parts ({}); add the -dev packages of the libraries they link to Build-Depends",
            up.compiled_sources
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if up.requires_unknown {
        fixmes.push(
            "setup.py computes the runtime requirements: check ${python3:Depends} of the built package"
                .into(),
        );
    }
    for r in up.runtime_for(target)? {
        let m = map_requirement(&r, true, &suite.universe());
        match m.status {
            Status::Missing => fixmes.push(format!(
                "runtime requirement `{r}`: {} has no package of it; package it first (`py2deb rfp {}`)",
                target.name, r.name
            )),
            Status::Conflict => fixmes.push(format!(
                "runtime requirement `{r}`: {} has {} {}, which does not satisfy it",
                target.name,
                m.package.as_deref().unwrap_or("?"),
                m.available.as_deref().unwrap_or("?")
            )),
            _ => {}
        }
    }

    // The hatchling trap: a version before 1.26 cannot be told to skip its classifier
    // check, and one before 1.14 checks against a list frozen in it.
    let mut patches: Vec<(String, String)> = Vec::new();
    let mut rules_exports: Vec<String> = Vec::new();
    if up.backend_dist() == "hatchling" {
        let hatchling = shipped_version(suite, "hatchling");
        let can_skip = hatchling
            .as_ref()
            .is_some_and(|v| v >= &Version::from_str("1.26").expect("constant"));
        if can_skip {
            rules_exports.push(
                "# Hatchling rejects trove classifiers newer than the installed trove-classifiers.\nexport HATCH_METADATA_CLASSIFIERS_NO_VERIFY = 1".into(),
            );
        } else if let Some(text) = &up.pyproject {
            match classifiers_patch(text, &opts.packager, opts.date, target, hatchling.as_ref()) {
                Some(p) => patches.push(("drop-trove-classifiers.patch".into(), p)),
                None if text.contains("classifiers") => fixmes.push(format!(
                    "{}'s hatchling checks trove classifiers against its own list; check that it knows every classifier of pyproject.toml",
                    target.name
                )),
                None => {}
            }
            if has_license_files_array(text) {
                fixmes.push(format!(
                    "pyproject.toml has a PEP 639 `license-files` array, which {}'s hatchling {} refuses (it wants a table); patch it",
                    target.name,
                    hatchling.map(|v| v.to_string()).unwrap_or_default()
                ));
            }
        }
    }

    // debian/control
    let desc = up.description();
    let (maintainer, uploaders) = if opts.team {
        (TEAM.to_owned(), Some(opts.packager.clone()))
    } else {
        (opts.packager.clone(), None)
    };
    let mut control = String::new();
    let _ = writeln!(control, "Source: {source}");
    control.push_str("Section: python\nPriority: optional\n");
    let _ = writeln!(control, "Maintainer: {maintainer}");
    if let Some(u) = &uploaders {
        let _ = writeln!(control, "Uploaders:\n {u},");
    }
    let bd_fixmes: Vec<&String> = fixmes
        .iter()
        .filter(|f| {
            f.starts_with("build requirement")
                || f.starts_with("test requirement")
                || f.starts_with("the tests import")
                || f.contains("compiled parts")
        })
        .collect();
    for f in &bd_fixmes {
        let _ = writeln!(control, "# FIXME: {f}");
    }
    control.push_str("Build-Depends:\n");
    for b in &bdeps {
        let _ = writeln!(control, " {b},");
    }
    let _ = writeln!(
        control,
        "Standards-Version: {}",
        standards_version(&target.name)
    );
    control.push_str("Rules-Requires-Root: no\n");
    let _ = writeln!(
        control,
        "Testsuite: {}",
        if tests {
            "autopkgtest-pkg-pybuild"
        } else {
            "autopkgtest-pkg-python"
        }
    );
    let _ = writeln!(control, "Homepage: {}", up.homepage());
    if opts.team {
        let _ = writeln!(control, "Vcs-Browser: {SALSA}/{source}");
        let _ = writeln!(control, "Vcs-Git: {SALSA}/{source}.git");
    } else {
        control.push_str("# FIXME: Vcs-Browser and Vcs-Git of the packaging repository\n");
        fixmes.push("Vcs-Browser and Vcs-Git: name the packaging repository (--no-team)".into());
    }
    control.push('\n');
    let _ = writeln!(control, "Package: {binary}");
    let _ = writeln!(
        control,
        "Architecture: {}",
        if compiled { "any" } else { "all" }
    );
    control.push_str("Depends:\n");
    control.push_str(" ${misc:Depends},\n ${python3:Depends},\n");
    if compiled {
        control.push_str(" ${shlibs:Depends},\n");
    }
    let _ = writeln!(control, "Description: {}", desc.synopsis);
    if desc.extended.is_empty() {
        control.push_str(
            " FIXME: describe what it is for; the upstream metadata has no long description.\n",
        );
        fixmes.push("debian/control: write the long description".into());
    }
    for (i, p) in desc.extended.iter().enumerate() {
        if i > 0 {
            control.push_str(" .\n");
        }
        control.push_str(&fold(p));
    }

    // debian/rules
    let mut rules = String::from("#!/usr/bin/make -f\n\n");
    for e in &rules_exports {
        let _ = writeln!(rules, "{e}\n");
    }
    if !tests {
        rules.push_str(
            "# The sdist ships no tests: pybuild fails a test run that finds none (pytest's\n\
             # exit status 5; unittest's too from Python 3.12 on).\n\
             export PYBUILD_DISABLE = test\n\n",
        );
    } else if !up.network_test_files.is_empty() {
        let _ = writeln!(
            rules,
            "# FIXME: buildds run the tests without network (unshare -n). These modules look\n\
             # like they reach it: {}.\n\
             # Deselect what needs it, e.g.\n\
             # export PYBUILD_TEST_ARGS = -k 'not test_that_downloads'\n",
            up.network_test_files.join(", ")
        );
        fixmes.push(format!(
            "debian/rules: tests run without network on buildds; {} may need it (deselect with PYBUILD_TEST_ARGS)",
            up.network_test_files.join(", ")
        ));
    }
    rules.push_str("%:\n\tdh $@ --buildsystem=pybuild\n");

    // debian/changelog
    let closes = match opts.itp_bug {
        Some(n) => format!(" (Closes: #{n})"),
        None => {
            fixmes.push(
                "debian/changelog: no ITP bug to close; file one (`py2deb rfp --itp`) and add `(Closes: #N)`"
                    .into(),
            );
            String::new()
        }
    };
    let changelog = format!(
        "{source} ({upstream_version}-1) unstable; urgency=medium\n\n  * Initial release.{closes}\n\n -- {}  {}\n",
        opts.packager,
        rfc2822(opts.date)
    );

    let copyright = copyright(up, opts, &mut fixmes);
    let watch = watch(up);
    let metadata = upstream_metadata(up);

    let mut files = BTreeMap::new();
    files.insert("debian/control".to_owned(), control);
    files.insert("debian/rules".to_owned(), rules);
    files.insert("debian/changelog".to_owned(), changelog);
    files.insert("debian/copyright".to_owned(), copyright);
    files.insert("debian/watch".to_owned(), watch);
    files.insert("debian/upstream/metadata".to_owned(), metadata);
    files.insert(
        "debian/source/format".to_owned(),
        "3.0 (quilt)\n".to_owned(),
    );
    files.insert(
        "debian/gbp.conf".to_owned(),
        "[DEFAULT]\ndebian-branch = debian/latest\nupstream-branch = upstream/latest\npristine-tar = True\n"
            .to_owned(),
    );
    files.insert(
        "debian/salsa-ci.yml".to_owned(),
        "---\ninclude:\n  - https://salsa.debian.org/salsa-ci-team/pipeline/raw/master/recipes/debian.yml\n"
            .to_owned(),
    );
    if let Some(list) = pybuild_testfiles(up) {
        files.insert("debian/pybuild.testfiles".to_owned(), list);
    }
    if !patches.is_empty() {
        let mut series = String::new();
        for (name, text) in patches {
            let _ = writeln!(series, "{name}");
            files.insert(format!("debian/patches/{name}"), text);
        }
        files.insert("debian/patches/series".to_owned(), series);
    }
    Ok(Packaging {
        source,
        binary,
        upstream_version,
        files,
        fixmes,
    })
}

/// `debian/pybuild.testfiles` when tests live where pybuild does not look: it copies only
/// `test/` and `tests/` into the build directory (and finds what is installed with the
/// package), so top-level test modules or other test directories would leave pytest
/// with nothing to collect. The file replaces pybuild's default list, so it names those
/// too.
fn pybuild_testfiles(up: &Upstream) -> Option<String> {
    let top_dirs_installed = |c: &str| c == "src" || up.root.join(c).join("__init__.py").is_file();
    let mut extra: Vec<String> = Vec::new();
    let mut default: Vec<String> = Vec::new();
    for f in &up.test_files {
        let first = f.split('/').next().unwrap_or(f).to_owned();
        if first == "test" || first == "tests" {
            if !default.contains(&first) {
                default.push(first);
            }
        } else if f.contains('/') && top_dirs_installed(&first) {
            // Installed with the package.
        } else if !extra.contains(&first) {
            extra.push(first);
        }
    }
    if extra.is_empty() {
        return None;
    }
    let mut out = String::new();
    for name in default.iter().chain(&extra) {
        let _ = writeln!(out, "{name}");
    }
    if up.root.join("conftest.py").is_file() && !extra.iter().any(|e| e == "conftest.py") {
        out.push_str("conftest.py\n");
    }
    Some(out)
}

/// A paragraph as extended-description lines (one leading space, folded at 79 columns).
fn fold(p: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in p.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + w.len() > 78 {
            let _ = writeln!(out, " {line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        let _ = writeln!(out, " {line}");
    }
    out
}

fn rfc2822(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default()
}

fn year(t: i64) -> i32 {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .year()
}

/// A license text as a DEP-5 License paragraph body: its title and copyright lines
/// dropped (they belong to the Files paragraph), blank lines as ` .`.
fn license_body(text: &str) -> String {
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.trim_start()
                .to_ascii_lowercase()
                .starts_with("copyright (")
        })
        .filter(|l| {
            let t = l.trim_start().to_ascii_lowercase();
            !(t.starts_with("copyright ") && t.chars().any(|c| c.is_ascii_digit()) && t.len() < 120)
        })
        .collect();
    // A first line that is only the license's name, before the text.
    if lines.first().is_some_and(|l| {
        let t = l.trim().to_ascii_lowercase();
        t.len() < 50 && t.contains("license") && !t.ends_with('.')
    }) {
        lines.remove(0);
    }
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let mut out = String::new();
    let mut blank = false;
    for l in lines {
        let l = l.trim_end().replace('\t', "    ");
        if l.trim().is_empty() {
            if !blank {
                out.push_str(" .\n");
            }
            blank = true;
        } else {
            blank = false;
            let _ = writeln!(out, " {}", l.trim_start());
        }
    }
    out
}

fn copyright(up: &Upstream, opts: &Options, fixmes: &mut Vec<String>) -> String {
    let (license, names) = crate::assemble::license_of(&up.meta);
    let mut out = String::from(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n",
    );
    let _ = writeln!(out, "Upstream-Name: {}", up.meta.name);
    if let Some(c) = up.contact() {
        let _ = writeln!(out, "Upstream-Contact: {c}");
    }
    let _ = writeln!(
        out,
        "Source: {}",
        up.repository()
            .unwrap_or_else(|| format!("https://pypi.org/project/{}/", up.normalized()))
    );
    out.push('\n');
    out.push_str("Files: *\n");
    if up.copyright_holders.is_empty() {
        out.push_str("Copyright: FIXME\n");
        fixmes.push(
            "debian/copyright: the license files name no copyright holder; find them in the sources"
                .into(),
        );
    } else {
        out.push_str("Copyright:");
        for (i, h) in up.copyright_holders.iter().enumerate() {
            if i == 0 {
                let _ = writeln!(out, " {h}");
            } else {
                let _ = writeln!(out, "           {h}");
            }
        }
    }
    let license_field = if license == "unknown" {
        fixmes.push("debian/copyright: the metadata names no license; read the sources".into());
        "FIXME".to_owned()
    } else {
        license.clone()
    };
    let _ = writeln!(out, "License: {license_field}");
    out.push('\n');
    out.push_str("Files: debian/*\n");
    let _ = writeln!(out, "Copyright: {} {}", year(opts.date), opts.packager);
    let _ = writeln!(
        out,
        "License: {}",
        names
            .first()
            .filter(|_| license != "unknown")
            .map(String::as_str)
            .unwrap_or("FIXME")
    );
    for name in names.iter().filter(|_| license != "unknown") {
        out.push('\n');
        let _ = writeln!(out, "License: {name}");
        if let Some((_, file)) = crate::assemble::COMMON_LICENSES
            .iter()
            .find(|(n, _)| n == name)
        {
            let _ = writeln!(
                out,
                " On Debian systems, the complete text of the {name} license can be found\n in \"/usr/share/common-licenses/{file}\"."
            );
        } else if let (1, Some((_, text))) = (names.len(), up.license_files.first()) {
            out.push_str(&license_body(text));
        } else {
            let _ = writeln!(out, " FIXME: the text of the {name} license");
            fixmes.push(format!(
                "debian/copyright: copy the text of the {name} license from the sources"
            ));
        }
    }
    out
}

/// uscan format 4 on the PyPI redirector, the file name as upstream spells it.
fn watch(up: &Upstream) -> String {
    let stem = crate::inspect::sdist::is_sdist_filename(&up.sdist_filename)
        .map(|(n, _)| n)
        .unwrap_or_else(|| up.normalized().into_string());
    format!(
        "version=4\nopts=\"uversionmangle=s/(\\d)[_\\.\\-\\+]?((RC|rc|pre|dev|beta|alpha|b|a)\\d*)$/$1~$2/\" \\\n\
         https://pypi.debian.net/{}/{}-(.+)\\.(?:zip|tgz|tbz|txz|(?:tar\\.(?:gz|bz2|xz)))\n",
        up.normalized(),
        // Releases have spelt the name with `-`, `_` or `.` (PEP 625 settled on `_`).
        stem.split(['-', '_', '.'])
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join("[-_.]")
    )
}

/// DEP-12 fields the project URLs give.
fn upstream_metadata(up: &Upstream) -> String {
    let mut out = String::from("---\n");
    if let Some(u) = up.project_url(&["issues", "bug tracker", "tracker", "bugs", "issue tracker"])
    {
        let _ = writeln!(out, "Bug-Database: {u}");
        if u.contains("github.com/") || u.contains("gitlab") || u.contains("codeberg.org/") {
            let _ = writeln!(out, "Bug-Submit: {}/new", u.trim_end_matches('/'));
        }
    }
    if let Some(u) = up.project_url(&["changelog", "changes", "release notes"]) {
        let _ = writeln!(out, "Changelog: {u}");
    }
    if let Some(u) = up.project_url(&["documentation", "docs"]) {
        let _ = writeln!(out, "Documentation: {u}");
    }
    if let Some(r) = up.repository() {
        let _ = writeln!(out, "Repository: {r}.git");
        let _ = writeln!(out, "Repository-Browse: {r}");
    }
    if out == "---\n" {
        out.push_str("Archive: PyPI\n");
    }
    out
}

/// `[project] license-files = [...]` (PEP 639 form).
fn has_license_files_array(pyproject: &str) -> bool {
    pyproject.parse::<toml_edit::DocumentMut>().is_ok_and(|d| {
        d.get("project")
            .and_then(|p| p.get("license-files"))
            .is_some_and(|l| l.as_array().is_some())
    })
}

/// A quilt patch (DEP-3 header) deleting the static `classifiers` array of `[project]`,
/// or None when there is none to delete.
fn classifiers_patch(
    pyproject: &str,
    author: &str,
    date: i64,
    target: &crate::debian::target::Target,
    hatchling: Option<&Version>,
) -> Option<String> {
    if !pyproject.ends_with('\n') {
        return None;
    }
    let lines: Vec<&str> = pyproject.lines().collect();
    let mut table = String::new();
    let mut range = None;
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.starts_with('[') && !t.starts_with("[[") && t.ends_with(']') {
            table = t.trim_matches(['[', ']']).trim().to_owned();
            continue;
        }
        if table == "project" {
            let key = t.split('=').next().unwrap_or("").trim();
            if key == "classifiers" && t.contains('[') {
                let end = if t.contains(']') {
                    i
                } else {
                    (i + 1..lines.len()).find(|&j| lines[j].trim_start().starts_with(']'))?
                };
                range = Some((i, end));
                break;
            }
        }
    }
    let (start, end) = range?;
    let before = start.saturating_sub(3);
    let after = (end + 3).min(lines.len() - 1);
    let old_count = after - before + 1;
    let new_count = old_count - (end - start + 1);
    let mut p = String::new();
    let _ = writeln!(p, "From: {author}");
    let _ = writeln!(p, "Date: {}", rfc2822(date));
    let _ = writeln!(
        p,
        "Subject: Drop the trove classifiers for {}'s hatchling\n\n\
         Hatchling {} refuses classifiers it does not know, and cannot be told to skip the\n\
         check. The classifiers only label the project on PyPI.\n\
         Forwarded: not-needed\n---",
        target.name,
        hatchling
            .map(|v| v.to_string())
            .unwrap_or_else(|| "before 1.26".into())
    );
    p.push_str("--- a/pyproject.toml\n+++ b/pyproject.toml\n");
    let _ = writeln!(
        p,
        "@@ -{},{} +{},{} @@",
        before + 1,
        old_count,
        before + 1,
        new_count
    );
    for (i, l) in lines.iter().enumerate().take(after + 1).skip(before) {
        let mark = if (start..=end).contains(&i) { '-' } else { ' ' };
        let _ = writeln!(p, "{mark}{l}");
    }
    Some(p)
}

/// What [`write`] produced.
#[derive(Debug, Clone)]
pub struct Written {
    /// The source tree with its `debian/`.
    pub tree: PathBuf,
    pub orig: PathBuf,
    /// The `.dsc` when dpkg-source built one.
    pub dsc: Option<PathBuf>,
}

/// Write the orig tarball (the sdist's bytes, hash-checked), move the unpacked tree to
/// `out/<source>-<version>` and write `debian/` into it; then `dpkg-source -b` if present.
pub fn write(
    up: &Upstream,
    pkg: &Packaging,
    out: &Path,
    reporter: &dyn Reporter,
) -> Result<Written> {
    if !up.sdist_filename.ends_with(".tar.gz") {
        bail!(
            "{} is not a .tar.gz: a 3.0 (quilt) source package needs a tar orig tarball; repack it (`mk-origtargz`) and give the .tar.gz",
            up.sdist_filename
        );
    }
    // Checked before anything is written, so a refusal leaves the output as it was.
    if up.root.join("debian").symlink_metadata().is_ok() {
        bail!(
            "{} ships a debian/ directory of its own; remove it and repack the sdist before debianizing",
            up.sdist_filename
        );
    }
    let tree = out.join(pkg.tree_name());
    let orig = out.join(pkg.orig_name());
    for p in [&tree, &orig] {
        if p.symlink_metadata().is_ok() {
            bail!(
                "{} already exists; remove it or choose another output directory (-o)",
                p.display()
            );
        }
    }
    std::fs::copy(&up.sdist, &orig)
        .with_context(|| format!("copying {} to {}", up.sdist.display(), orig.display()))?;
    let got = crate::index::fetch::sha256_file(&orig)?;
    if got != up.sha256 {
        let _ = std::fs::remove_file(&orig);
        bail!(
            "{} changed while it was copied (sha256 {got}, expected {}); try again",
            orig.display(),
            up.sha256
        );
    }
    std::fs::rename(&up.root, &tree)
        .with_context(|| format!("moving {} to {}", up.root.display(), tree.display()))?;
    for (rel, text) in &pkg.files {
        let p = tree.join(rel);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            tree.join("debian/rules"),
            std::fs::Permissions::from_mode(0o755),
        )?;
    }
    let dsc = build_dsc(out, pkg, reporter);
    Ok(Written { tree, orig, dsc })
}

/// `dpkg-source -b`, when dpkg-dev is installed; a failure is reported, not fatal.
fn build_dsc(out: &Path, pkg: &Packaging, reporter: &dyn Reporter) -> Option<PathBuf> {
    let res = std::process::Command::new("dpkg-source")
        .arg("-b")
        .arg(pkg.tree_name())
        .current_dir(out)
        .output();
    match res {
        Err(_) => {
            reporter.warn("dpkg-source not found (install dpkg-dev): no .dsc built");
            None
        }
        Ok(o) if o.status.success() => {
            let v = pkg
                .upstream_version
                .split_once(':')
                .map_or(pkg.upstream_version.as_str(), |(_, v)| v);
            let dsc = out.join(format!("{}_{}-1.dsc", pkg.source, v));
            dsc.is_file().then_some(dsc)
        }
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stderr);
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            reporter.warn(&format!(
                "dpkg-source -b {} failed: {}",
                pkg.tree_name(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifiers_patch_removes_only_the_array() {
        let py = "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n\n[project]\nname = \"x\"\nversion = \"1\"\nclassifiers = [\n  \"Programming Language :: Python :: 3.14\",\n]\ndependencies = []\n";
        let t = crate::debian::target::Target::named("bookworm", "amd64").unwrap();
        let p = classifiers_patch(py, "J <j@x>", 0, &t, None).unwrap();
        assert!(p.contains("@@ -5,7 +5,4 @@"), "{p}");
        assert!(
            p.contains("-classifiers = [\n-  \"Programming Language :: Python :: 3.14\",\n-]\n"),
            "{p}"
        );
        assert!(p.contains("\n dependencies = []\n"), "{p}");
        assert!(
            classifiers_patch("[tool.x]\nclassifiers = []\n", "J <j@x>", 0, &t, None).is_none()
        );
    }

    #[test]
    fn license_body_drops_title_and_copyright() {
        let b = license_body("MIT License\n\nCopyright (c) 2020 Jane\n\nPermission is hereby granted.\n\nTHE SOFTWARE IS PROVIDED.\n");
        assert_eq!(
            b,
            " Permission is hereby granted.\n .\n THE SOFTWARE IS PROVIDED.\n"
        );
    }
}
