//! File clashes settled at build time, before anything is written: every path a package of
//! the build installs, against the target's packages (the path index read from its
//! `Contents`, [`crate::debian::archive::contents`]) and against the other packages of the
//! same build. dpkg refuses to unpack a file another installed package owns unless the new
//! package `Replaces` it (Debian Policy §7.6.1); these rules decide that relation, or stop.
//!
//! - The target's package of the **same project** (its dist-info is this project): the
//!   converted package normally took its name (see [`crate::resolve::takeover`]), so there
//!   is nothing to settle; where the distribution splits the project into another package
//!   (one without metadata that depends on it, or one built from the same `Source` as the
//!   package taken over or stood beside: sphinx-common, docutils-common), that one is
//!   superseded with `Breaks` + `Replaces`, or, when a package that stays installed still
//!   needs it (python3-sphinx needs sphinx-common), only its shared files are taken over
//!   with `Replaces`.
//! - An **unrelated** package: `--on-clash conflicts` writes `Conflicts` + `Replaces` on it
//!   (installing the new package removes it, and the summary says so); `--on-clash error`
//!   (the default) stops, naming the file and both packages.
//! - A path of the **system** itself (the interpreter's tree, `/usr/bin/python3*`, `/etc`, or
//!   any file of dpkg, libc or the python3 packages): always an error.
//! - Two packages of one build installing the same path: always an error.

use crate::debian::archive::contents::PathIndex;
use crate::debian::relation::{Dep, Relations};
use crate::python::PackageName;
use crate::report::Reporter;
use crate::resolve::TargetIndex;
use anyhow::{bail, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// What to do when a package would install a file an unrelated package of the target
/// ships (`--on-clash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnClash {
    /// Declare `Conflicts` + `Replaces` on it: installing the new package removes it.
    Conflicts,
    /// Stop before writing anything.
    #[default]
    Error,
}

impl std::str::FromStr for OnClash {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "conflicts" => OnClash::Conflicts,
            "error" => OnClash::Error,
            _ => return Err(format!("`{s}` is not one of conflicts, error")),
        })
    }
}

impl std::fmt::Display for OnClash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OnClash::Conflicts => "conflicts",
            OnClash::Error => "error",
        })
    }
}

/// One package of the build, as the clash check sees it.
pub struct Candidate<'a> {
    pub package: &'a str,
    /// The Python project it was built from.
    pub project: &'a str,
    /// Every installed file, relative to `/`.
    pub paths: Vec<&'a str>,
    /// Target packages the package already `Replaces` by the naming rules (a private
    /// build beside the distribution's split program package): dpkg lets it take their
    /// files over while they stay installed, so a clash with them is settled.
    pub replaces: Vec<String>,
}

/// How a clash is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// The same project, split differently by the distribution: `Breaks` + `Replaces`.
    Supersedes,
    /// The same project's split package, which a package that stays installed needs: only
    /// the files both ship move to the new package (`Replaces`, Debian Policy §7.6.1); it
    /// is not removed.
    Shares,
    /// An unrelated package: `Conflicts` + `Replaces`.
    Conflicts,
}

/// A target package that installing the new one removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// The target's package.
    pub package: String,
    /// One file both ship (`/usr/bin/tldr`).
    pub path: String,
    pub relation: Relation,
}

/// Packages whose files are the system itself: never replaced by a converted package.
pub fn is_system_package(name: &str) -> bool {
    matches!(
        name,
        "dpkg"
            | "libc6"
            | "libc-bin"
            | "libc6-dev"
            | "base-files"
            | "base-passwd"
            | "python3"
            | "python3-minimal"
            | "python3-venv"
            | "python3-distutils"
            | "python3-lib2to3"
            | "python-is-python3"
    ) || name.starts_with("python3.")
        || name.starts_with("libpython3")
}

/// A path no converted package may install, whoever ships it in the target.
fn system_path(path: &str) -> Option<&'static str> {
    let file = path.rsplit('/').next().unwrap_or(path);
    if path.starts_with("etc/") {
        return Some("the system's configuration directory /etc");
    }
    if let Some(rest) = path.strip_prefix("usr/lib/") {
        let top = rest.split('/').next().unwrap_or("");
        if top.starts_with("python3.") {
            return Some("the Python interpreter's own tree");
        }
    }
    let program = path
        .strip_prefix("usr/bin/")
        .or_else(|| path.strip_prefix("bin/"))
        .filter(|rest| !rest.contains('/'));
    let interpreter = |f: &str| {
        let f = f.strip_suffix("-config").unwrap_or(f);
        matches!(f, "python" | "python3" | "pydoc3" | "2to3")
            || f.strip_prefix("python3.").is_some_and(|v| {
                v.starts_with(|c: char| c.is_ascii_digit())
                    && v.chars()
                        .all(|c| c.is_ascii_digit() || c == 'm' || c == 'd')
            })
    };
    if program.is_some() && interpreter(file) {
        return Some("the system's Python interpreter");
    }
    None
}

/// The keys a path is looked up under: its exact file, and for a private application tree
/// (`usr/share/<package>/…`, `usr/lib/<package>/…`) its top directory.
fn owners<'i>(index: &'i PathIndex, path: &str, package: &str) -> Vec<&'i str> {
    let mut found = index.file(path);
    for root in ["usr/share/", "usr/lib/"] {
        if let Some(rest) = path.strip_prefix(root) {
            if rest.split('/').next() == Some(package) && rest.contains('/') {
                for p in index.dir(&format!("{root}{package}")) {
                    if !found.contains(&p) {
                        found.push(p);
                    }
                }
            }
        }
    }
    found
}

/// Whether the target's `package` depends on `on` (in `Depends` or `Pre-Depends`).
fn depends_on(index: &TargetIndex, package: &str, on: &str) -> bool {
    let Some(pv) = index.archive.newest(package) else {
        return false;
    };
    [&pv.depends, &pv.pre_depends]
        .into_iter()
        .flatten()
        .flat_map(|field| field.split([',', '|']))
        .any(|dep| {
            let name = dep.trim().split([' ', '(', ':']).next().unwrap_or("");
            name == on
        })
}

/// Check every package of one build; returns, for each candidate in order, the target's
/// packages it must remove. Nothing is written; every refusal names the file and both
/// packages.
pub fn settle(
    candidates: &[Candidate],
    index: &TargetIndex,
    target_name: &str,
    mode: OnClash,
    reporter: &dyn Reporter,
) -> Result<Vec<Vec<Removal>>> {
    // Within the build first: dpkg would refuse the second package whatever the target has.
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for c in candidates {
        for &p in &c.paths {
            if let Some(other) = seen.insert(p, c.package) {
                if other != c.package {
                    bail!(
                        "{other} and {} would both install /{p}; dpkg installs only one of them \
                         — build them separately, or drop one with an override (py2deb.toml)",
                        c.package
                    );
                }
            }
        }
    }
    for c in candidates {
        if let Some(p) = c.paths.iter().find(|p| system_path(p).is_some()) {
            bail!(
                "{} would install /{p}, which belongs to {} ({}); a converted package may not \
                 touch it — the wheel installs it as data; remove it from the wheel",
                c.package,
                system_path(p).unwrap_or_default(),
                target_name
            );
        }
    }
    let Some(paths) = index.dists.paths.as_ref() else {
        reporter.warn(&format!(
            "file clashes with {target_name}'s packages not checked: its Contents index was not \
             available (only the built-in dist-info snapshot); run once with network access \
             to the mirror"
        ));
        return Ok(candidates.iter().map(|_| Vec::new()).collect());
    };
    let built: Vec<&str> = candidates.iter().map(|c| c.package).collect();
    let mut out = Vec::new();
    for c in candidates {
        let project = PackageName::normalize(c.project).into_string();
        let sources = sources_of(index, c);
        let mut removals: Vec<Removal> = Vec::new();
        for &p in &c.paths {
            for theirs in owners(paths, p, c.package) {
                if theirs == c.package
                    || removals.iter().any(|r| r.package == theirs)
                    || c.replaces.iter().any(|r| r == theirs)
                {
                    continue;
                }
                if is_system_package(theirs) {
                    bail!(
                        "{} would install /{p}, which {target_name}'s {theirs} ships: that is \
                         part of the system and may not be replaced; remove the file from the \
                         wheel",
                        c.package
                    );
                }
                let shipped = index.dists.projects_of(theirs);
                let same = if shipped.is_empty() {
                    // No metadata of its own: bookworm ships mypy's programs as `mypy`
                    // beside its modules in `python3-mypy`. It is this project's if it
                    // depends on the package this one took over; a name alone proves
                    // nothing (bookworm's `tldr` is a Haskell program).
                    depends_on(index, theirs, c.package)
                } else {
                    shipped.iter().all(|(n, _)| *n == project)
                };
                if same {
                    removals.push(Removal {
                        package: theirs.to_owned(),
                        path: format!("/{p}"),
                        relation: Relation::Supersedes,
                    });
                    continue;
                }
                let split = index
                    .archive
                    .newest(theirs)
                    .is_some_and(|pv| sources.contains(&pv.source.as_str()));
                if split {
                    // What stays installed and needs it (python3-sphinx, beside which a
                    // private sphinx lives, needs sphinx-common) keeps it: only the shared
                    // files move. Packages this build replaces do not count.
                    let kept = index
                        .archive
                        .reverse_depends(theirs)
                        .into_iter()
                        .any(|r| !built.contains(&r.as_str()));
                    let relation = if kept {
                        Relation::Shares
                    } else {
                        Relation::Supersedes
                    };
                    reporter.info(&format!(
                        "{} takes /{p} over from {target_name}'s {theirs}, a split package of \
                         the same Debian source ({}){}",
                        c.package,
                        index
                            .archive
                            .newest(theirs)
                            .map_or("", |pv| pv.source.as_str()),
                        if kept { "" } else { ", which it supersedes" }
                    ));
                    removals.push(Removal {
                        package: theirs.to_owned(),
                        path: format!("/{p}"),
                        relation,
                    });
                    continue;
                }
                match mode {
                    OnClash::Error => bail!(
                        "{} would install /{p}, which {target_name}'s {theirs} also ships (an \
                         unrelated package): installing both is impossible; use --on-clash \
                         conflicts to let installing {} remove {theirs}, or leave the file out \
                         of the wheel",
                        c.package,
                        c.package
                    ),
                    OnClash::Conflicts => {
                        reporter.warn(&format!(
                            "{} conflicts with {target_name}'s {theirs} (both ship /{p}): \
                             installing it removes {theirs}",
                            c.package
                        ));
                        removals.push(Removal {
                            package: theirs.to_owned(),
                            path: format!("/{p}"),
                            relation: Relation::Conflicts,
                        });
                    }
                }
            }
        }
        removals.sort_by(|a, b| a.package.cmp(&b.package));
        out.push(removals);
    }
    Ok(out)
}

/// The Debian source packages a candidate is the project of: those of the target's
/// package it takes over (its own name) and of the packages it stands beside (its
/// `Replaces` from the naming rules). Their other binary packages are the same project
/// split by the distribution.
fn sources_of<'i>(index: &'i TargetIndex, c: &Candidate) -> Vec<&'i str> {
    let mut sources: Vec<&str> = std::iter::once(c.package)
        .chain(c.replaces.iter().map(String::as_str))
        .filter_map(|p| index.archive.newest(p))
        .map(|pv| pv.source.as_str())
        .collect();
    sources.sort_unstable();
    sources.dedup();
    sources
}

/// The fields that let dpkg and apt carry out removals.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fields {
    pub conflicts: Relations,
    pub breaks: Relations,
    pub replaces: Relations,
    pub provides: Relations,
}

/// The relations that let dpkg and apt carry out `removals`: `Replaces` on each (dpkg may
/// take over its files), with `Conflicts` for an unrelated package, and `Breaks` +
/// `Provides` for one the new package supersedes, so that what depends on that package
/// stays satisfied (Debian Policy §7.5, §7.6).
pub fn relations(removals: &[Removal]) -> Fields {
    let mut f = Fields::default();
    for r in removals {
        f.replaces.push(Dep::new(&r.package));
        match r.relation {
            Relation::Conflicts => f.conflicts.push(Dep::new(&r.package)),
            Relation::Supersedes => {
                f.breaks.push(Dep::new(&r.package));
                f.provides.push(Dep::new(&r.package));
            }
            Relation::Shares => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_paths_are_named() {
        assert!(system_path("usr/bin/python3").is_some());
        assert!(system_path("usr/bin/python3.11").is_some());
        assert!(system_path("usr/lib/python3.11/os.py").is_some());
        assert!(system_path("etc/foo.conf").is_some());
        assert!(system_path("usr/bin/python3.11-config").is_some());
        assert!(system_path("usr/bin/python3-foo-helper").is_none());
        assert!(system_path("usr/lib/python3/dist-packages/foo.py").is_none());
        assert!(system_path("usr/bin/black").is_none());
        assert!(system_path("usr/share/python3-foo/x").is_none());
    }

    #[test]
    fn system_packages() {
        assert!(is_system_package("libpython3.11-minimal"));
        assert!(is_system_package("python3.11"));
        assert!(is_system_package("dpkg"));
        assert!(!is_system_package("python3-six"));
    }
}
