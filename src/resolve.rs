//! The dependency closure (PEP 508 requirements against the target's archive): which
//! distributions the target satisfies (→ `Depends`), which it lacks (→ built too), and
//! which it ships too old (→ private copies, or a replacement, or an error).
//!
//! The distribution's own packages are never replaced unless `--conflicts replace` asks.

use crate::archive::{Archive, ArchiveOptions};
use crate::assemble;
use crate::mapping::{self, DistMap, MapRow, Status, Universe};
use crate::markers;
use crate::relation::Relations;
use crate::report::Reporter;
use crate::target::Target;
use crate::version;
use anyhow::{bail, Result};
use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, Requirement, VersionOrUrl};
use std::collections::{BTreeMap, BTreeSet};

/// What to do with requirements the target lacks (`--deps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DepsMode {
    /// Build them too, recursively.
    Missing,
    /// Build only what was asked; the packages depend on `python3-<name>` anyway.
    None,
}

/// What to do when the target ships a requirement at a version that does not fit
/// (`--conflicts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConflictMode {
    /// Private copies inside the application that needs them.
    Bundle,
    /// Build a newer `python3-<name>` that replaces the distribution's package.
    Replace,
    /// Stop with an explanation.
    Fail,
}

/// The target's package universe, loaded once per run.
pub struct TargetIndex {
    pub archive: Archive,
    pub dists: DistMap,
}

impl TargetIndex {
    /// Load the target's package lists and dist-info map: apt's lists for the host (or
    /// `opts.lists_dir` when given), the mirror (cached) for named targets.
    pub fn load(
        target: &Target,
        host: bool,
        opts: &ArchiveOptions,
        reporter: &dyn Reporter,
    ) -> Result<TargetIndex> {
        let archive = if host {
            Archive::load_host(target, opts)?
        } else {
            Archive::load_remote(target, opts, reporter)?
        };
        let dists = DistMap::load(target, opts, reporter);
        Ok(TargetIndex { archive, dists })
    }

    pub fn universe<'a>(&'a self, target: &'a Target) -> Universe<'a> {
        Universe {
            target,
            archive: &self.archive,
            dists: &self.dists,
        }
    }
}

/// One edge of the closure: a requirement of a distribution being built.
#[derive(Debug, Clone)]
pub struct Edge {
    pub requirement: Requirement,
    pub row: MapRow,
    /// The distribution that will be built for it (missing, replaced or bundled).
    pub child: Option<String>,
    /// Relations to write for it (empty when the child is bundled).
    pub relations: Relations,
}

/// A distribution the closure must build for a requirement.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// PEP 503 normalized name.
    pub name: String,
    pub spec: VersionSpecifiers,
    /// A private copy inside the application (a conflict bundled).
    pub private: bool,
    /// The extras the requirement asks for (`fastmcp-slim[client,server]`): their
    /// requirements belong to the closure too.
    pub extras: Vec<ExtraName>,
}

/// The decisions for one distribution's requirements.
pub struct Decisions {
    pub edges: Vec<Edge>,
    /// Children to build.
    pub wanted: Vec<Wanted>,
}

fn specifiers(req: &Requirement) -> VersionSpecifiers {
    match &req.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
        _ => VersionSpecifiers::empty(),
    }
}

/// Decide, for each active requirement of a distribution, how the target serves it.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    project: &str,
    requires_dist: &[Requirement],
    extras: &[ExtraName],
    target: &Target,
    index: &TargetIndex,
    deps: DepsMode,
    conflicts: ConflictMode,
    chain: &str,
    reporter: &dyn Reporter,
) -> Result<Decisions> {
    let env = markers::environment(target)?;
    let name: pep508_rs::PackageName = project
        .parse()
        .map_err(|e| anyhow::anyhow!("project name `{project}`: {e}"))?;
    let universe = index.universe(target);
    let mut out = Decisions {
        edges: Vec::new(),
        wanted: Vec::new(),
    };
    for req in markers::active_requirements(&name, requires_dist, extras, &env) {
        let row = mapping::map_requirement(req, true, &universe);
        let child_name = mapping::normalize(req.name.as_ref());
        let spec = specifiers(req);
        let wanted = |private: bool| Wanted {
            name: child_name.clone(),
            spec: spec.clone(),
            private,
            extras: req.extras.clone(),
        };
        let own_relations = || -> Result<Relations> {
            let rel = version::relations_for(&assemble::package_name(req.name.as_ref())?, &spec);
            Ok(mapping::with_python_alternative(rel, req))
        };
        let (child, relations) = match row.status {
            Status::NotApplicable => continue,
            Status::Satisfied => (None, row.relations.clone()),
            Status::Missing => match deps {
                DepsMode::Missing => {
                    out.wanted.push(wanted(false));
                    (Some(child_name), own_relations()?)
                }
                DepsMode::None => {
                    reporter.warn(&format!(
                        "{chain}: {req} is not in {}; build it too (drop --deps none) or the package will not install",
                        target.name
                    ));
                    (None, own_relations()?)
                }
            },
            Status::Conflict => {
                let have = row.available.clone().unwrap_or_default();
                let pkg = row.package.clone().unwrap_or_default();
                match conflicts {
                    ConflictMode::Fail => bail!(
                        "{chain} needs {req}, but {} ships {pkg} {have}, which does not satisfy it; \
                         use --conflicts bundle (private copy for this application) or \
                         --conflicts replace (replace {pkg} system-wide)",
                        target.name
                    ),
                    ConflictMode::Replace => {
                        let rdeps = index.archive.reverse_depends(&pkg);
                        reporter.warn(&format!(
                            "{chain}: building {req} to replace {}'s {pkg} {have}; packages that depend on it may break: {}",
                            target.name,
                            if rdeps.is_empty() { "(none known)".to_owned() } else { rdeps.join(", ") }
                        ));
                        out.wanted.push(wanted(false));
                        (Some(child_name), own_relations()?)
                    }
                    ConflictMode::Bundle => {
                        reporter.info(&format!(
                            "{chain}: {} ships {pkg} {have}, too old for {req}: bundling a private copy",
                            target.name
                        ));
                        out.wanted.push(wanted(true));
                        (Some(child_name), Relations::default())
                    }
                }
            }
        };
        out.edges.push(Edge {
            requirement: req.clone(),
            row,
            child,
            relations,
        });
    }
    Ok(out)
}

/// Which resolved distributions must be private: those bundled for a conflict, and
/// everything that depends (transitively) on a private one — a public module importing a
/// private copy would get the system's version instead.
pub fn private_set(
    children: &BTreeMap<String, Vec<String>>,
    bundled: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut private = bundled.clone();
    loop {
        let before = private.len();
        for (node, kids) in children {
            if kids.iter().any(|k| private.contains(k)) {
                private.insert(node.clone());
            }
        }
        if private.len() == before {
            return private;
        }
    }
}

/// Everything reachable from `root` through `children`.
pub fn reachable(root: &str, children: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(n) = stack.pop() {
        for k in children.get(&n).into_iter().flatten() {
            if seen.insert(k.clone()) {
                stack.push(k.clone());
            }
        }
    }
    seen
}

/// Does a chosen version satisfy every constraint recorded for its name? Returns the
/// first one it violates, with who asked for it.
pub fn violated<'a>(
    version: &Version,
    constraints: &'a [(VersionSpecifiers, String)],
) -> Option<&'a (VersionSpecifiers, String)> {
    constraints.iter().find(|(spec, _)| !spec.contains(version))
}

/// The conjunction of several specifier sets.
pub fn combine(constraints: &[(VersionSpecifiers, String)]) -> VersionSpecifiers {
    constraints
        .iter()
        .flat_map(|(s, _)| s.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependents_of_private_copies_go_private() {
        // pepotron → yaspin → termcolor (too old in the target); pepotron → urllib3 (too
        // old); pepotron → rapidfuzz (missing).
        let mut children = BTreeMap::new();
        children.insert(
            "pepotron".to_owned(),
            vec![
                "yaspin".to_owned(),
                "urllib3".to_owned(),
                "rapidfuzz".to_owned(),
            ],
        );
        children.insert("yaspin".to_owned(), vec!["termcolor".to_owned()]);
        let bundled: BTreeSet<String> = ["termcolor", "urllib3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = private_set(&children, &bundled);
        let want: BTreeSet<String> = ["pepotron", "termcolor", "urllib3", "yaspin"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(p, want);
        assert!(reachable("pepotron", &children).contains("termcolor"));
    }

    #[test]
    fn constraints_combine_and_report_violations() {
        let c = vec![
            (
                VersionSpecifiers::from_str(">=3.3").unwrap(),
                "yaspin 3.5.1".to_owned(),
            ),
            (
                VersionSpecifiers::from_str("<4").unwrap(),
                "other 1.0".to_owned(),
            ),
        ];
        let all = combine(&c);
        assert!(all.contains(&Version::from_str("3.3.0").unwrap()));
        assert!(!all.contains(&Version::from_str("4.0").unwrap()));
        let v = violated(&Version::from_str("3.0").unwrap(), &c).unwrap();
        assert_eq!(v.1, "yaspin 3.5.1");
    }

    use std::str::FromStr;
}
