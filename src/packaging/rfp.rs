//! `py2deb rfp`: is the project in the distribution already (the dist-info maps of sid,
//! trixie and bookworm), and if not, the WNPP request (Request For Package, or Intent To
//! Package) exactly as `reportbug wnpp` writes it: its pseudo-header (`Package: wnpp`,
//! `Severity: wishlist`, and for an ITP `Owner:` and `X-Debbugs-Cc:`), the subject
//! `RFP: src -- synopsis` and its template (`* Package name`, `Version`, `Upstream
//! Contact`, `* URL`, `* License`, `Programming Lang`, `Description`, the long description
//! and the questions on usefulness and maintenance), filled from the sdist's metadata.
//! Mail text follows RFC 5322; files written with `-o` are single-message mboxes.

use super::{Suite, Upstream};
use crate::debian::control::Description;
use crate::python::PackageName;
use crate::resolve::mapping::{map_requirement, Status};
use anyhow::Result;
use pep440_rs::Version;
use pep508_rs::Requirement;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;

/// Where WNPP bugs are filed.
pub const SUBMIT: &str = "submit@bugs.debian.org";
/// The lists an ITP is copied to: Policy §2.3 asks for debian-devel, the Python Team's
/// policy for debian-python.
pub const ITP_CC: &str = "debian-devel@lists.debian.org, debian-python@lists.debian.org";
/// reportbug's subject limit for WNPP bugs (the BTS truncates longer ones in listings).
const SUBJECT_MAX: usize = 79;
/// Width of the body text.
const WRAP: usize = 72;

/// A suite's package shipping the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub suite: String,
    pub package: String,
    /// Debian version in the suite's archive.
    pub version: String,
    /// The Python version of what it ships (its `.dist-info` name).
    pub python_version: String,
}

/// Whether the distribution has the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "found", rename_all = "kebab-case")]
pub enum Presence {
    /// At least one suite ships this version or a newer one: no request.
    Packaged(Vec<Found>),
    /// Only older versions: a new upstream version is wanted, not an RFP.
    Older(Vec<Found>),
    /// No suite ships it.
    Missing,
}

/// Look the project up in each suite's dist-info map.
pub fn presence(project: &str, version: &Version, suites: &[Suite]) -> Presence {
    let mut found = Vec::new();
    let mut current = false;
    for s in suites {
        let Some(e) = s.dists.lookup(project, &s.archive) else {
            continue;
        };
        let deb = s
            .archive
            .newest(&e.package)
            .map(|v| v.version.clone())
            .unwrap_or_default();
        if Version::from_str(&e.python_version).is_ok_and(|v| &v >= version) {
            current = true;
        }
        found.push(Found {
            suite: s.target.name.clone(),
            package: e.package.clone(),
            version: deb,
            python_version: e.python_version.clone(),
        });
    }
    if found.is_empty() {
        Presence::Missing
    } else if current {
        Presence::Packaged(found)
    } else {
        Presence::Older(found)
    }
}

/// The state of one dependency on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DepState {
    Packaged,
    TooOld,
    Missing,
}

/// One dependency of the project and what the target has for it.
#[derive(Debug, Clone, Serialize)]
pub struct DepRow {
    /// `runtime` or `build`.
    pub kind: &'static str,
    pub requirement: String,
    pub name: PackageName,
    pub state: DepState,
    pub package: Option<String>,
    /// The Debian version the target has.
    pub available: Option<String>,
    #[serde(skip)]
    pub req: Requirement,
}

/// The project's runtime and build dependencies on `suite` (markers evaluated for it).
pub fn dependency_rows(up: &Upstream, suite: &Suite) -> Result<Vec<DepRow>> {
    let universe = suite.universe();
    let mut rows = Vec::new();
    let groups = [
        ("runtime", up.runtime_for(&suite.target)?),
        ("build", up.build_for(&suite.target)?),
    ];
    for (kind, reqs) in groups {
        for r in reqs {
            let m = map_requirement(&r, true, &universe);
            let state = match m.status {
                Status::Satisfied | Status::NotApplicable => DepState::Packaged,
                Status::Conflict => DepState::TooOld,
                Status::Missing => DepState::Missing,
            };
            rows.push(DepRow {
                kind,
                requirement: r.to_string(),
                name: PackageName::from(&r.name),
                state,
                package: m.package,
                available: m.available,
                req: r,
            });
        }
    }
    Ok(rows)
}

/// Who files the request and how.
#[derive(Debug, Clone)]
pub struct RequestOptions {
    /// An Intent To Package (the sender will package it) instead of a request.
    pub itp: bool,
    /// `Name <mail>` of the sender (also the ITP's Owner).
    pub from: String,
    /// Seconds since the epoch for the Date header.
    pub date: i64,
    /// The suite the dependencies were looked up in.
    pub dep_suite: String,
}

/// A written request.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// The source package name asked for (`python-foo`).
    pub source: String,
    pub subject: String,
    /// What goes into the bug: pseudo-header, blank line, filled template.
    pub body: String,
    /// The whole message as a one-message mbox (`From ` line, headers, body).
    pub mbox: String,
}

impl Request {
    /// The file name `-o DIR` writes it to.
    pub fn file_name(&self) -> String {
        format!("{}.rfp", self.source)
    }
}

/// The subject reportbug writes, `RFP: src -- synopsis`, the synopsis shortened at a
/// word so the whole stays within 79 characters.
pub fn subject(tag: &str, source: &str, synopsis: &str) -> String {
    let head = format!("{tag}: {source} -- ");
    let room = SUBJECT_MAX.saturating_sub(head.chars().count());
    let mut s = synopsis.to_owned();
    while s.chars().count() > room {
        match s.rfind(' ') {
            Some(i) if i > 0 => s.truncate(i),
            _ => {
                s = s.chars().take(room).collect();
                break;
            }
        }
        s = s.trim_end_matches([',', ';', ':', '-', ' ']).to_owned();
    }
    format!("{head}{s}")
}

/// The programming languages of the sources.
fn languages(up: &Upstream) -> String {
    let mut langs = vec!["Python"];
    for f in &up.compiled_sources {
        let l = match f.rsplit_once('.').map(|(_, e)| e).unwrap_or("") {
            "c" => "C",
            "cc" | "cpp" | "cxx" => "C++",
            "pyx" => "Cython",
            "rs" | "toml" => "Rust",
            "f" | "f90" => "Fortran",
            _ => continue,
        };
        if !langs.contains(&l) {
            langs.push(l);
        }
    }
    langs.join(", ")
}

/// Fold `text` to `width` columns with `indent` before every line.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
    out
}

/// The long description of the template: the description's paragraphs, wrapped.
fn long_description(d: &Description) -> String {
    if d.extended.is_empty() {
        return "FIXME: the upstream metadata has no long description; describe what it is for.\n"
            .into();
    }
    d.extended
        .iter()
        .map(|p| wrap(p, WRAP, ""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The WNPP request for `up`, to be filed as source package `source`. `deps` are its
/// dependency rows on `opts.dep_suite`; `requests` names the requests written alongside
/// (normalized project → source), `blocks` the requests this one is needed by.
pub fn request(
    up: &Upstream,
    source: &str,
    deps: &[DepRow],
    requests: &BTreeMap<PackageName, String>,
    blocks: &[String],
    opts: &RequestOptions,
) -> Request {
    let tag = if opts.itp { "ITP" } else { "RFP" };
    let desc = up.description();
    let subject = subject(tag, source, &desc.synopsis);
    let (license, _) = crate::assemble::license_of(&up.meta);
    let license = if license == "unknown" {
        "FIXME: the metadata names no license; read the license files".to_owned()
    } else {
        license
    };
    let contact = up
        .contact()
        .unwrap_or_else(|| "FIXME: the metadata names no author or maintainer".into());
    let contact_label = if up.meta.maintainer.is_some() || up.meta.maintainer_email.is_some() {
        "Upstream Contact"
    } else {
        "Upstream Author "
    };

    let mut body = String::new();
    body.push_str("Package: wnpp\nSeverity: wishlist\n");
    if opts.itp {
        let _ = writeln!(body, "Owner: {}", opts.from);
        let _ = writeln!(body, "X-Debbugs-Cc: {ITP_CC}");
    }
    body.push('\n');
    let _ = writeln!(body, "* Package name    : {source}");
    let _ = writeln!(body, "  Version         : {}", up.meta.version);
    let _ = writeln!(body, "  {contact_label}: {contact}");
    let _ = writeln!(body, "* URL             : {}", up.homepage());
    let _ = writeln!(body, "* License         : {license}");
    let _ = writeln!(body, "  Programming Lang: {}", languages(up));
    let _ = writeln!(body, "  Description     : {}", desc.synopsis);
    body.push('\n');
    body.push_str(&long_description(&desc));
    body.push('\n');
    let _ = writeln!(
        body,
        "The project is on PyPI: https://pypi.org/project/{}/",
        up.normalized()
    );
    if !blocks.is_empty() {
        body.push('\n');
        body.push_str(&wrap(
            &format!(
                "It is a dependency of {}, requested alongside.",
                blocks.join(", ")
            ),
            WRAP,
            "",
        ));
    }
    body.push('\n');
    body.push_str(QUESTIONS);
    body.push('\n');
    body.push_str("FIXME: why is it useful to you, and to whom else?\n\n");
    body.push_str(
        "FIXME: how will it be maintained? The Debian Python Team\n\
         (https://wiki.debian.org/Teams/PythonTeam) maintains most Python\n\
         libraries; say whether it should go there and whether you need a sponsor.\n",
    );
    if !deps.is_empty() {
        body.push('\n');
        let _ = writeln!(body, "Dependencies, as {} has them:", opts.dep_suite);
        for d in deps {
            let state = match d.state {
                DepState::Packaged => format!(
                    "packaged: {} {}",
                    d.package.as_deref().unwrap_or("?"),
                    d.available.as_deref().unwrap_or("")
                ),
                DepState::TooOld => format!(
                    "too old: {} {}",
                    d.package.as_deref().unwrap_or("?"),
                    d.available.as_deref().unwrap_or("")
                ),
                DepState::Missing => match requests.get(&d.name) {
                    Some(src) => format!("missing (requested as {src})"),
                    None => "missing".to_owned(),
                },
            };
            let _ = writeln!(
                body,
                "  {:<8} {:<30} {}",
                d.kind,
                d.requirement,
                state.trim_end()
            );
        }
    }
    if up.requires_unknown {
        body.push_str(
            "  FIXME: the sdist's setup.py computes its runtime requirements; they are not listed\n",
        );
    }

    let mbox = mbox(&opts.from, &subject, opts.date, &body);
    Request {
        source: source.to_owned(),
        subject,
        body,
        mbox,
    }
}

/// reportbug's questions (its `itp_template`), kept word for word.
const QUESTIONS: &str = "\
Please also include as much relevant information as possible.
For example, consider answering the following questions:
 - why is this package useful/relevant? is it a dependency for
   another package? do you use it? if there are other packages
   providing similar functionality, how does it compare?
 - how do you plan to maintain it? inside a packaging team
   (check list at https://wiki.debian.org/Teams)? are you
   looking for co-maintainers? do you need a sponsor?
";

/// A one-message mbox: the `From ` separator line (mboxrd: body lines starting with
/// `From ` quoted), RFC 5322 headers, the body.
fn mbox(from: &str, subject: &str, date: i64, body: &str) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(date).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let asctime = t
        .format(time::macros::format_description!(
            "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
        ))
        .unwrap_or_default();
    let rfc2822 = t
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let sender = from
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>').trim())
        .filter(|a| !a.is_empty())
        .unwrap_or("MAILER-DAEMON");
    let mut out = format!(
        "From {sender} {asctime}\nFrom: {from}\nTo: {SUBMIT}\nSubject: {subject}\nDate: {rfc2822}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    );
    for line in body.lines() {
        if line.trim_start_matches('>').starts_with("From ") {
            out.push('>');
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// A request to write, in dependency order.
#[derive(Debug, Clone)]
pub struct Planned {
    pub upstream: Upstream,
    pub source: String,
    pub rows: Vec<DepRow>,
    /// Sources of the requests this one is needed by.
    pub blocks: Vec<String>,
}

/// The requests for `roots` and, with `recursive`, for every runtime or build dependency
/// `suite` lacks, dependencies first; `obtain` reads a dependency's newest sdist matching
/// its requirement.
pub fn plan(
    roots: Vec<Upstream>,
    suite: &Suite,
    recursive: bool,
    obtain: &mut dyn FnMut(&Requirement) -> Result<Upstream>,
) -> Result<Vec<Planned>> {
    let mut out = Vec::new();
    let mut done: BTreeMap<PackageName, usize> = BTreeMap::new();
    let mut stack = Vec::new();
    for up in roots {
        visit(
            up, None, suite, recursive, obtain, &mut done, &mut stack, &mut out,
        )?;
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn visit(
    up: Upstream,
    parent: Option<&str>,
    suite: &Suite,
    recursive: bool,
    obtain: &mut dyn FnMut(&Requirement) -> Result<Upstream>,
    done: &mut BTreeMap<PackageName, usize>,
    stack: &mut Vec<PackageName>,
    out: &mut Vec<Planned>,
) -> Result<()> {
    let name = up.normalized();
    if let Some(&i) = done.get(&name) {
        if let Some(p) = parent {
            if !out[i].blocks.iter().any(|b| b == p) {
                out[i].blocks.push(p.to_owned());
            }
        }
        return Ok(());
    }
    // A dependency cycle: the request further up the stack already covers it.
    if stack.contains(&name) {
        return Ok(());
    }
    let binary = super::binary_name(&up.meta.name, &suite.dists, &suite.archive)?;
    let source = super::source_name(&binary);
    let rows = dependency_rows(&up, suite)?;
    stack.push(name.clone());
    if recursive {
        for row in rows.iter().filter(|r| r.state == DepState::Missing) {
            if let Some(&i) = done.get(&row.name) {
                if !out[i].blocks.contains(&source) {
                    out[i].blocks.push(source.clone());
                }
                continue;
            }
            if stack.contains(&row.name) {
                continue;
            }
            let dep = obtain(&row.req)?;
            visit(
                dep,
                Some(&source),
                suite,
                recursive,
                obtain,
                done,
                stack,
                out,
            )?;
        }
    }
    stack.pop();
    out.push(Planned {
        upstream: up,
        source,
        rows,
        blocks: parent.into_iter().map(str::to_owned).collect(),
    });
    done.insert(name, out.len() - 1);
    Ok(())
}

/// Requests for a plan, each knowing which of its dependencies are requested alongside.
pub fn requests(planned: &[Planned], opts: &RequestOptions) -> Vec<Request> {
    let alongside: BTreeMap<PackageName, String> = planned
        .iter()
        .map(|p| (p.upstream.normalized(), p.source.clone()))
        .collect();
    planned
        .iter()
        .map(|p| request(&p.upstream, &p.source, &p.rows, &alongside, &p.blocks, opts))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_stays_under_80_characters() {
        let s = subject(
            "RFP",
            "python-foo",
            "Library with a very long summary that goes on and on about everything it does well",
        );
        assert!(s.chars().count() <= 79, "{s}");
        assert!(s.starts_with("RFP: python-foo -- Library with"), "{s}");
        assert!(!s.ends_with(' '));
        assert_eq!(
            subject("ITP", "python-x", "Short"),
            "ITP: python-x -- Short"
        );
    }

    #[test]
    fn mbox_quotes_from_lines() {
        let m = mbox(
            "Jane <jane@example.org>",
            "RFP: x -- y",
            0,
            "a\nFrom here\n",
        );
        assert!(
            m.starts_with("From jane@example.org Thu Jan  1 00:00:00 1970\n"),
            "{m}"
        );
        assert!(m.contains("\n>From here\n"), "{m}");
        assert!(m.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\n"), "{m}");
    }

    #[test]
    fn wrap_folds_at_width() {
        let w = wrap(&"word ".repeat(40), 20, "");
        assert!(w.lines().all(|l| l.len() <= 20), "{w}");
    }
}
