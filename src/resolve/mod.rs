//! The dependency closure (PEP 508 requirements against the target's archive): which
//! distributions the target satisfies (→ `Depends`), which it lacks (→ built too), and
//! which it ships too old (→ private copies, or a replacement, or an error).
//!
//! The distribution's own packages are replaced only when that is safe (`--conflicts auto`,
//! the default: see [`replacement_blockers`]) or when `--conflicts replace` insists.

pub mod clash;
pub mod mapping;
pub(crate) mod plan;
pub mod prefer;

use crate::assemble;
use crate::debian::archive::relation_names;
use crate::debian::archive::{Archive, ArchiveOptions};
use crate::debian::relation::Relations;
use crate::debian::target::Target;
use crate::debian::version;
use crate::python::markers;
use crate::python::PackageName;
use crate::report::Reporter;
use anyhow::{bail, Result};
use mapping::{DistMap, MapRow, Status, Universe};
use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, Requirement, VersionOrUrl};
use std::collections::{BTreeMap, BTreeSet};

/// What to do with requirements the target lacks (`--deps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepsMode {
    /// Build them too, recursively.
    Missing,
    /// Build only what was asked; the packages depend on `python3-<name>` anyway.
    None,
}

/// What to do when the target ships a requirement at a version that does not fit
/// (`--conflicts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictMode {
    /// Replace the distribution's package when nothing in the target's archive would break
    /// (every reverse dependency still accepts the new version, no ABI it provides is
    /// needed, and no system tool relies on it); otherwise bundle for applications and
    /// stop for libraries, naming what blocks the replacement.
    Auto,
    /// Private copies inside the application that needs them.
    Bundle,
    /// Build a newer `python3-<name>` that replaces the distribution's package.
    Replace,
    /// Stop with an explanation.
    Fail,
}

impl std::str::FromStr for DepsMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "missing" => DepsMode::Missing,
            "none" => DepsMode::None,
            _ => return Err(format!("`{s}` is not one of missing, none")),
        })
    }
}

/// The spelling `--deps` and build records use.
impl std::fmt::Display for DepsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DepsMode::Missing => "missing",
            DepsMode::None => "none",
        })
    }
}

/// The spelling `--conflicts`, overrides and build records use.
impl std::fmt::Display for ConflictMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConflictMode::Auto => "auto",
            ConflictMode::Bundle => "bundle",
            ConflictMode::Replace => "replace",
            ConflictMode::Fail => "fail",
        })
    }
}

impl std::str::FromStr for ConflictMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "auto" => ConflictMode::Auto,
            "bundle" => ConflictMode::Bundle,
            "replace" => ConflictMode::Replace,
            "fail" => ConflictMode::Fail,
            _ => return Err(format!("`{s}` is not one of auto, bundle, replace, fail")),
        })
    }
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
    pub child: Option<PackageName>,
    /// Relations to write for it (empty when the child is bundled).
    pub relations: Relations,
}

/// A distribution the closure must build for a requirement.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub name: PackageName,
    pub spec: VersionSpecifiers,
    /// A private copy inside the application (a conflict bundled).
    pub private: bool,
    /// The extras the requirement asks for (`fastmcp-slim[client,server]`): their
    /// requirements belong to the closure too.
    pub extras: Vec<ExtraName>,
    /// The target's package (and version) this build replaces system-wide.
    pub replaces: Option<(String, String)>,
}

/// The decisions for one distribution's requirements.
pub struct Decisions {
    pub edges: Vec<Edge>,
    /// Children to build.
    pub wanted: Vec<Wanted>,
}

impl Decisions {
    /// Carry `project` as a private copy although the target ships it (see
    /// [`dragged_private`]): its requirement, if there is one, stops depending on the
    /// target's package; otherwise a requirement on it is added.
    pub fn force_private(
        &mut self,
        project: &PackageName,
        index: &TargetIndex,
        target: &Target,
    ) -> Result<()> {
        let wanted = |spec: VersionSpecifiers| Wanted {
            name: project.clone(),
            spec,
            private: true,
            extras: Vec::new(),
            replaces: None,
        };
        if let Some(edge) = self
            .edges
            .iter_mut()
            .find(|e| PackageName::from(&e.requirement.name) == *project)
        {
            if edge.child.is_none() {
                edge.child = Some(project.clone());
                edge.relations = Relations::default();
                self.wanted.push(wanted(specifiers(&edge.requirement)));
            }
            return Ok(());
        }
        let requirement: Requirement = project
            .as_str()
            .parse()
            .map_err(|e| anyhow::anyhow!("project name `{project}`: {e}"))?;
        let row = mapping::map_requirement(&requirement, true, &index.universe(target));
        self.wanted.push(wanted(VersionSpecifiers::empty()));
        self.edges.push(Edge {
            requirement,
            row,
            child: Some(project.clone()),
            relations: Relations::default(),
        });
        Ok(())
    }
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
    prefer: prefer::Prefer,
    overrides: &crate::overrides::Overrides,
    chain: &str,
    candidate: &dyn Fn(&str, &VersionSpecifiers) -> Option<Version>,
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
        let child = PackageName::from(&req.name);
        let child_name = child.to_string();
        let spec = specifiers(req);
        let wanted = |private: bool| Wanted {
            name: child.clone(),
            spec: spec.clone(),
            private,
            extras: req.extras.clone(),
            replaces: None,
        };
        let own_name = || -> Result<String> {
            match overrides.package(req.name.as_ref()) {
                Some(p) => Ok(p.to_owned()),
                None => assemble::package_name(req.name.as_ref()),
            }
        };
        // A replacement takes the target's package name (python3-git for GitPython,
        // python3-sphinxcontrib.applehelp), so apt sees an upgrade, and lives in its version
        // space (its epoch).
        let replacement_relations = |pkg: &str, have: &str| {
            let rel = version::relations_for(pkg, &spec);
            let rel = version::shift_epochs(rel, pkg, version::epoch_offset(have, None));
            mapping::with_python_alternative(rel, req)
        };
        let own_relations = || -> Result<Relations> {
            let rel = version::relations_for(&own_name()?, &spec);
            Ok(mapping::with_python_alternative(rel, req))
        };
        let (child, relations) = match row.status {
            Status::NotApplicable => continue,
            Status::Satisfied => {
                let newest = match prefer {
                    prefer::Prefer::Newest => candidate(&child_name, &spec),
                    prefer::Prefer::Distribution => None,
                };
                let have = row.available_python_version.as_deref();
                if prefer::passes_over(prefer, have, newest.as_ref()) {
                    // As pip would: the newest release, privately, since the target's
                    // package stays what every other package imports.
                    reporter.info(&format!(
                        "{chain}: {} ships {} {}, older than {child_name} {}: bundling a private copy (--prefer newest)",
                        target.name,
                        row.package.as_deref().unwrap_or_default(),
                        have.unwrap_or("(unknown version)"),
                        newest.as_ref().map(ToString::to_string).unwrap_or_default()
                    ));
                    out.wanted.push(wanted(true));
                    (Some(child.clone()), Relations::default())
                } else {
                    (None, row.relations.clone())
                }
            }
            Status::Missing => match deps {
                DepsMode::Missing => {
                    out.wanted.push(wanted(false));
                    (Some(child.clone()), own_relations()?)
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
                    ConflictMode::Auto => {
                        let others = others_shipped(index, &pkg, &child_name);
                        let blockers = match candidate(&child_name, &spec) {
                            _ if !others.is_empty() => vec![format!(
                                "{pkg} ships other projects too ({}), which a package of {child_name} alone would remove",
                                others.join(", ")
                            )],
                            None => vec![format!("no release of {child_name}{spec} was found to check")],
                            Some(v) => {
                                let offset = version::epoch_offset(&have, None);
                                let new = version::with_epoch_offset(&version::deb_version(&v), offset);
                                replacement_blockers(&index.archive, &pkg, &new)
                            }
                        };
                        if blockers.is_empty() {
                            reporter.warn(&format!(
                                "{chain}: building {req} to replace {}'s {pkg} {have}: every package of {} that depends on it accepts the new version",
                                target.name, target.name
                            ));
                            let mut w = wanted(false);
                            w.replaces = Some((pkg.clone(), have.clone()));
                            out.wanted.push(w);
                            (Some(child.clone()), replacement_relations(&pkg, &have))
                        } else {
                            // A warning, not a note: for a library this is what the
                            // refusal to carry private copies must be read with.
                            reporter.warn(&format!(
                                "{chain}: {} ships {pkg} {have}, too old for {req}, and replacing it is not safe ({}): bundling a private copy",
                                target.name,
                                blockers.join("; ")
                            ));
                            out.wanted.push(wanted(true));
                            (Some(child.clone()), Relations::default())
                        }
                    }
                    ConflictMode::Replace => {
                        let rdeps = index.archive.reverse_depends(&pkg);
                        reporter.warn(&format!(
                            "{chain}: building {req} to replace {}'s {pkg} {have}; packages that depend on it may break: {}",
                            target.name,
                            if rdeps.is_empty() { "(none known)".to_owned() } else { rdeps.join(", ") }
                        ));
                        let mut w = wanted(false);
                        w.replaces = Some((pkg.clone(), have.clone()));
                        out.wanted.push(w);
                        (Some(child.clone()), replacement_relations(&pkg, &have))
                    }
                    ConflictMode::Bundle => {
                        reporter.info(&format!(
                            "{chain}: {} ships {pkg} {have}, too old for {req}: bundling a private copy",
                            target.name
                        ));
                        out.wanted.push(wanted(true));
                        (Some(child.clone()), Relations::default())
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

/// Packages that apt, the installer and Debian's own system tools run on, beyond what the
/// archive's `Priority` field already marks: replacing a Python module any of them imports
/// could break package management itself. Source: the Python programs that Debian (and
/// Ubuntu) install to manage the system — apt's helpers (apt-listchanges,
/// unattended-upgrades, needrestart), bug reporting (reportbug, apport), configuration
/// (debconf's Python bindings, software-properties, netplan, cloud-init, ufw), and
/// Ubuntu's release and update tools.
pub const SYSTEM_TOOLS: &[&str] = &[
    "apt-listchanges",
    "unattended-upgrades",
    "needrestart",
    "reportbug",
    "python3-apt",
    "python3-debian",
    "python3-debconf",
    "apport",
    "software-properties-common",
    "netplan.io",
    "cloud-init",
    "ufw",
    "firewalld",
    "lsb-release",
    "command-not-found",
    "networkd-dispatcher",
    "ubuntu-release-upgrader-core",
    "update-notifier-common",
    "ubuntu-pro-client",
    "ubuntu-advantage-tools",
    "ubuntu-drivers-common",
    "landscape-common",
];

/// The priorities whose packages (and everything they depend on) a system is assumed to
/// have: Debian Policy §2.5.
const SYSTEM_PRIORITIES: &[&str] = &["required", "important", "standard"];

/// Why replacing the target's `package` with a package of the same name at Debian version
/// `new_version` (which provides nothing else) would break the target; empty when it is
/// safe. Checked on the newest version of every package in the archive (what apt installs):
/// each `Depends`/`Pre-Depends` group that names `package` must accept `new_version` or
/// have another alternative; a dependency on a virtual package that `package` provides
/// (an ABI such as `python3-numpy-abi9`) is lost; a `Breaks` on `package` must not match;
/// and `package` must not be something a system tool relies on ([`SYSTEM_TOOLS`] and the
/// closure of the packages of priority required, important and standard).
pub fn replacement_blockers(archive: &Archive, package: &str, new_version: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(new) = new_version.parse::<debversion::Version>() else {
        return vec![format!("`{new_version}` is not a Debian version")];
    };
    let provided: Vec<&str> = archive
        .newest(package)
        .map(|p| p.provides.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut dependents: Vec<(&str, &crate::debian::archive::PackageVersion)> = archive
        .newest_of_each()
        .filter(|(name, _)| *name != package)
        .collect();
    dependents.sort_by_key(|(name, _)| *name);
    for (name, pv) in dependents {
        for (field, text) in [("Depends", &pv.depends), ("Pre-Depends", &pv.pre_depends)] {
            let Some(text) = text else { continue };
            if !mentions(text, package, &provided) {
                continue;
            }
            let Ok(relations) = text.parse::<Relations>() else {
                out.push(format!("{name} {}: its {field} cannot be read", pv.version));
                continue;
            };
            for group in &relations.0 {
                let ours = group
                    .0
                    .iter()
                    .any(|d| d.package == package || provided.contains(&d.package.as_str()));
                if !ours {
                    continue;
                }
                let kept = group.0.iter().any(|d| {
                    if d.package == package {
                        accepts_version(d, &new)
                    } else if provided.contains(&d.package.as_str()) {
                        // The replacement cannot promise the ABI the distribution's build
                        // provides; another real provider keeps the group satisfiable.
                        archive.providers(&d.package).iter().any(|p| p != package)
                    } else {
                        archive.contains(&d.package) || !archive.providers(&d.package).is_empty()
                    }
                });
                if !kept {
                    out.push(format!("{name} {} needs {group}", pv.version));
                }
            }
        }
        if let Some(text) = &pv.breaks {
            if mentions(text, package, &[]) {
                if let Ok(relations) = text.parse::<Relations>() {
                    for dep in relations.0.iter().flat_map(|g| &g.0) {
                        let hit = dep.package == package && accepts_version(dep, &new);
                        if hit {
                            out.push(format!("{name} {} breaks {dep}", pv.version));
                        }
                    }
                }
            }
        }
    }
    if let Some(chain) = system_chain(archive, package) {
        out.push(format!("system tools rely on it ({chain})"));
    }
    out
}

/// Does a relation field name `package` or one of the virtual names it provides?
fn mentions(text: &str, package: &str, provided: &[&str]) -> bool {
    relation_names(text).any(|name| name == package || provided.contains(&name))
}

/// Does `dep` (on the package at `version`) accept that version? An unversioned relation
/// does; a bound that is not a Debian version accepts nothing.
fn accepts_version(dep: &crate::debian::relation::Dep, version: &debversion::Version) -> bool {
    dep.constraint.as_ref().is_none_or(|(op, bound)| {
        bound
            .parse::<debversion::Version>()
            .is_ok_and(|b| op.accepts(version.cmp(&b)))
    })
}

/// How a system tool or a package of a system priority reaches `package` through
/// `Depends`/`Pre-Depends` (`reportbug (standard) → python3-reportbug → python3-requests`),
/// if it does.
fn system_chain(archive: &Archive, package: &str) -> Option<String> {
    let mut parent: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::new();
    let mut seeds: Vec<(&str, String)> = archive
        .newest_of_each()
        .filter_map(|(name, pv)| {
            let p = pv.priority.as_deref()?;
            SYSTEM_PRIORITIES
                .contains(&p)
                .then(|| (name, format!("{name} (Priority: {p})")))
        })
        .collect();
    seeds.extend(
        SYSTEM_TOOLS
            .iter()
            .filter(|t| archive.contains(t))
            .map(|t| (*t, format!("{t} (a system tool)"))),
    );
    seeds.sort();
    let mut label: BTreeMap<String, String> = BTreeMap::new();
    for (name, why) in seeds {
        if parent.insert(name.to_owned(), None).is_none() {
            label.insert(name.to_owned(), why);
            queue.push_back(name.to_owned());
        }
    }
    while let Some(name) = queue.pop_front() {
        if name == package {
            let mut path = vec![name.clone()];
            let mut at = name;
            while let Some(Some(up)) = parent.get(&at) {
                path.push(up.clone());
                at = up.clone();
            }
            path.reverse();
            if let Some(first) = label.get(&path[0]) {
                path[0] = first.clone();
            }
            return Some(path.join(" → "));
        }
        let Some(pv) = archive.newest(&name) else {
            continue;
        };
        for text in [&pv.depends, &pv.pre_depends].into_iter().flatten() {
            for dep in relation_names(text) {
                let mut targets = vec![dep.to_owned()];
                if !archive.contains(dep) {
                    targets = archive.providers(dep).to_vec();
                }
                for t in targets {
                    if !parent.contains_key(&t) {
                        parent.insert(t.clone(), Some(name.clone()));
                        queue.push_back(t);
                    }
                }
            }
        }
    }
    None
}

/// The projects other than `project` whose metadata the target's `package` ships.
fn others_shipped(index: &TargetIndex, package: &str, project: &str) -> Vec<String> {
    let project = PackageName::normalize(project);
    let mut others: Vec<String> = index
        .dists
        .projects_of(package)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| *name != project)
        .collect();
    others.dedup();
    others
}

/// The target's own package of `project`: the one whose dist-info is this project's, and
/// only this project's. A name picked by convention is not known to be this project, and a
/// package that ships other projects too (bookworm's monolithic python3-azure ships every
/// azure-* client) is not one project's own.
fn own_package(
    index: &TargetIndex,
    target: &Target,
    project: &str,
) -> Result<Option<(String, String)>> {
    let req: Requirement = project
        .parse()
        .map_err(|e| anyhow::anyhow!("project name `{project}`: {e}"))?;
    let row = mapping::map_requirement(&req, true, &index.universe(target));
    let (Some(pkg), Some(have), false) = (row.package, row.available, row.guess) else {
        return Ok(None);
    };
    if !others_shipped(index, &pkg, project).is_empty() {
        return Ok(None);
    }
    Ok(Some((pkg, have)))
}

/// The target's own package of a requested project, which the converted package takes over
/// (bookworm ships black as `black`, yt-dlp as `yt-dlp`): the new package gets that name,
/// so installing it is an upgrade of the distribution's package instead of a clash over
/// its files (`/usr/bin/black`). Returns the package and the version the target has, or
/// `None` when the target has no package of this project.
///
/// A package may take over a name only if it keeps what that package promises its reverse
/// dependencies: a public module stays public. So when this build keeps its modules
/// private (`private`), it takes over neither a library (`python3-sphinx` promises an
/// importable module) nor a package that others depend on (bookworm's `tox`, which
/// python3-sage needs); it lives beside them instead (see [`root_name`]).
pub fn takeover(
    index: &TargetIndex,
    target: &Target,
    project: &str,
    private: bool,
) -> Result<Option<(String, String)>> {
    let Some((pkg, have)) = own_package(index, target, project)? else {
        return Ok(None);
    };
    if private && (pkg.starts_with("python3-") || !index.archive.reverse_depends(&pkg).is_empty()) {
        return Ok(None);
    }
    Ok(Some((pkg, have)))
}

/// How a requested project's package is named (Debian Python Policy: `python3-X` only for a
/// package that makes module X importable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootName {
    /// The package name when it is not [`assemble::package_name`]'s `python3-X`.
    pub package: Option<String>,
    /// The target's package (and version) taken over: the new package is its upgrade.
    pub takes_over: Option<(String, String)>,
    /// The `python3-X` name py2deb would have given it, which a repository may still
    /// carry: the renamed package `Breaks` and `Replaces` it below its own version, so apt
    /// moves from one to the other. `None` when the target itself has a package of that
    /// name (the distribution's library must stay installable).
    pub renames: Option<String>,
    /// The target's library of the same project (`python3-sphinx`) that this package stands
    /// beside without taking it over, its modules being private: the library and its
    /// reverse dependencies keep working, and the new package may take over the files they
    /// share (its programs) with `Replaces`, never `Breaks`, `Conflicts` or `Provides`.
    pub beside: Option<(String, String)>,
    /// The program package Debian splits from that library (bookworm's `flake8`, which
    /// depends on python3-flake8) when others depend on it, so it is not taken over: this
    /// package `Replaces` it too, for the programs both ship.
    pub beside_program: Option<String>,
}

/// Name a requested project's package: a takeover of the target's own package of it
/// ([`takeover`]); otherwise, when its modules are private (`private`), the first of
/// [`assemble::naming::application_names`] the target does not use (bookworm's `tldr` is
/// a Haskell program, so a private tldr client is `tldr-py`); otherwise the default
/// `python3-X`.
pub fn root_name(
    index: &TargetIndex,
    target: &Target,
    project: &str,
    private: bool,
) -> Result<RootName> {
    if let Some(taken) = takeover(index, target, project, private)? {
        return Ok(RootName {
            takes_over: Some(taken),
            ..RootName::default()
        });
    }
    if !private {
        return Ok(RootName::default());
    }
    // Not taken over, so it stays installed, and this package lives beside it.
    let beside = own_package(index, target, project)?;
    let mut beside_program = None;
    let module_name = assemble::package_name(project)?;
    let candidates = assemble::naming::application_names(project);
    let used =
        |name: &str| index.archive.contains(name) || !index.archive.providers(name).is_empty();
    // Debian splits some projects into the library and a program package that depends on
    // it (bookworm's `mypy` and `flake8` on python3-mypy and python3-flake8): that program
    // package is this project's, so it is taken over as an application's own, unless
    // other packages depend on it.
    if let (Some((library, _)), Some(first)) = (&beside, candidates.first()) {
        let split = index.archive.newest(first).filter(|pv| {
            [&pv.depends, &pv.pre_depends]
                .into_iter()
                .flatten()
                .any(|t| relation_names(t).any(|n| n == library))
        });
        if let Some(pv) = split {
            if index.archive.reverse_depends(first).is_empty() {
                return Ok(RootName {
                    package: None,
                    takes_over: Some((first.clone(), pv.version.clone())),
                    renames: (!used(&module_name)).then_some(module_name),
                    beside,
                    beside_program: None,
                });
            }
            // Others need it: it stays, and this package lives beside it too, taking over
            // the programs both ship.
            beside_program = Some(first.clone());
        }
    }
    let Some(package) = candidates.iter().find(|c| !used(c)).cloned() else {
        let taken: Vec<String> = candidates
            .iter()
            .map(|c| match index.archive.newest(c) {
                Some(pv) => format!("{c} ({} {})", target.name, pv.version),
                None => format!(
                    "{c} (provided by {})",
                    index.archive.providers(c).join(", ")
                ),
            })
            .collect();
        bail!(
            "{project} keeps its modules private, so it is named after the project, but {} already uses {}; \
             give it a free name with an override (`[project.\"{project}\"] package = \"…\"` in py2deb.toml)",
            target.name,
            if taken.is_empty() { "no valid name".to_owned() } else { taken.join(" and ") }
        );
    };
    Ok(RootName {
        package: Some(package),
        takes_over: None,
        renames: (!used(&module_name)).then_some(module_name),
        beside,
        beside_program,
    })
}

/// A distribution package that a private copy would break, and so must go private too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dragged {
    /// The Python project to build privately in its place.
    pub project: PackageName,
    /// The target's package it stands in for.
    pub package: String,
    /// Why (`python3-requests 2.28.1+dfsg-1: requests 2.28.1 requires urllib3<1.27,>=1.21.1`).
    pub why: String,
}

/// The target's Python packages an application imports through the distribution: `start`
/// (the packages its satisfied requirements name) and, transitively, the `python3-*`
/// packages their `Depends`/`Pre-Depends` reach (virtual names through their providers).
pub fn import_closure(archive: &Archive, start: &[String]) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: std::collections::VecDeque<String> = start.iter().cloned().collect();
    while let Some(name) = queue.pop_front() {
        if !name.starts_with("python3-") || !seen.insert(name.clone()) {
            continue;
        }
        let Some(pv) = archive.newest(&name) else {
            continue;
        };
        for text in [&pv.depends, &pv.pre_depends].into_iter().flatten() {
            for dep in relation_names(text) {
                if archive.contains(dep) {
                    queue.push_back(dep.to_owned());
                } else {
                    queue.extend(archive.providers(dep).iter().cloned());
                }
            }
        }
    }
    seen
}

/// Private copies must make a consistent environment with the distribution packages the
/// application still imports, as pip would resolve it: a distribution package whose own
/// requirements a private copy breaks (bookworm's requests 2.28 requires `urllib3<1.27`; a
/// module built against numpy's ABI cannot load numpy 2) would import the private copy
/// through the application's path and fail, so it goes private too.
///
/// `privates` are the private copies (project, version); `closure` comes from
/// [`import_closure`]. A package is broken when its Debian relations on the private
/// project's package reject the private version (in that package's version space) or need a
/// virtual package it provides (an ABI), or when its Python requirements, as
/// `requirements_of(project, version)` reports them, exclude the private version.
pub fn dragged_private(
    index: &TargetIndex,
    target: &Target,
    closure: &BTreeSet<String>,
    privates: &[(PackageName, Version)],
    requirements_of: &dyn Fn(&str, &str) -> Option<Vec<Requirement>>,
) -> Result<Vec<Dragged>> {
    let env = markers::environment(target)?;
    let archive = &index.archive;
    let universe = index.universe(target);
    // The target's package for each private project, and the private version in its space.
    let mut shadowed = Vec::new();
    for (name, version) in privates {
        let req: Requirement = name
            .parse()
            .map_err(|e| anyhow::anyhow!("project name `{name}`: {e}"))?;
        let row = mapping::map_requirement(&req, true, &universe);
        let Some(pkg) = row.package else { continue };
        let offset = row
            .available
            .as_deref()
            .map_or(0, |a| version::epoch_offset(a, None));
        let deb = version::with_epoch_offset(&version::deb_version(version), offset);
        let provides: Vec<String> = archive
            .newest(&pkg)
            .map(|p| p.provides.clone())
            .unwrap_or_default();
        shadowed.push((name.as_str(), version, pkg, deb, provides));
    }
    let mut out = Vec::new();
    for d in closure {
        if shadowed.iter().any(|s| &s.2 == d) {
            continue;
        }
        let Some(pv) = archive.newest(d) else {
            continue;
        };
        let mut why = Vec::new();
        for (name, version, pkg, deb, provides) in &shadowed {
            let provided: Vec<&str> = provides.iter().map(String::as_str).collect();
            let texts: Vec<&String> = [&pv.depends, &pv.pre_depends]
                .into_iter()
                .flatten()
                .collect();
            if !texts.iter().any(|t| mentions(t, pkg, &provided)) {
                continue;
            }
            let Ok(new) = deb.parse::<debversion::Version>() else {
                continue;
            };
            for text in &texts {
                let Ok(relations) = text.parse::<Relations>() else {
                    continue;
                };
                for group in &relations.0 {
                    let on_it: Vec<_> = group
                        .0
                        .iter()
                        .filter(|x| x.package == *pkg || provided.contains(&x.package.as_str()))
                        .collect();
                    if on_it.is_empty() {
                        continue;
                    }
                    let accepted = on_it
                        .iter()
                        .any(|x| x.package == *pkg && accepts_version(x, &new));
                    if !accepted {
                        why.push(format!(
                            "{d} {} needs {group}, not {name} {version}",
                            pv.version
                        ));
                    }
                }
            }
            if why.is_empty() {
                // Debian often drops upstream's bounds; the project's own requirements say
                // what it was released against.
                for (project, py_version) in index.dists.projects_of(d) {
                    let Some(reqs) = requirements_of(&project, &py_version) else {
                        continue;
                    };
                    let Ok(pname) = project.parse::<pep508_rs::PackageName>() else {
                        continue;
                    };
                    for req in markers::active_requirements(&pname, &reqs, &[], &env) {
                        if PackageName::from(&req.name) != *name {
                            continue;
                        }
                        if let Some(VersionOrUrl::VersionSpecifier(spec)) = &req.version_or_url {
                            if !spec.contains(version) {
                                why.push(format!(
                                    "{d} {}: {project} {py_version} requires {req}, not {name} {version}",
                                    pv.version
                                ));
                            }
                        }
                    }
                }
            }
        }
        if why.is_empty() {
            continue;
        }
        let Some((project, _)) = index.dists.projects_of(d).into_iter().next() else {
            bail!(
                "{} would break {d}, which no Python project is known to ship, so it cannot be made private too: {}",
                privates
                    .iter()
                    .map(|(n, v)| format!("the private {n} {v}"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                why.join("; ")
            );
        };
        out.push(Dragged {
            project: PackageName::normalize(&project),
            package: d.clone(),
            why: why.join("; "),
        });
    }
    Ok(out)
}

/// Which resolved distributions must be private: those bundled for a conflict, and
/// everything that depends (transitively) on a private one — a public module importing a
/// private copy would get the system's version instead.
pub fn private_set(
    children: &BTreeMap<PackageName, Vec<PackageName>>,
    bundled: &BTreeSet<PackageName>,
) -> BTreeSet<PackageName> {
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
pub fn reachable(
    root: &PackageName,
    children: &BTreeMap<PackageName, Vec<PackageName>>,
) -> BTreeSet<PackageName> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.clone()];
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
    fn modes_round_trip_through_their_spelling() {
        for d in [DepsMode::Missing, DepsMode::None] {
            assert_eq!(d.to_string().parse::<DepsMode>(), Ok(d));
        }
        for c in [
            ConflictMode::Auto,
            ConflictMode::Bundle,
            ConflictMode::Replace,
            ConflictMode::Fail,
        ] {
            assert_eq!(c.to_string().parse::<ConflictMode>(), Ok(c));
        }
        let e = "all".parse::<DepsMode>().unwrap_err();
        assert!(e.contains("`all`") && e.contains("missing, none"), "{e}");
    }

    #[test]
    fn dependents_of_private_copies_go_private() {
        // pepotron → yaspin → termcolor (too old in the target); pepotron → urllib3 (too
        // old); pepotron → rapidfuzz (missing).
        let n = PackageName::normalize;
        let names = |list: &[&str]| list.iter().map(|s| n(s)).collect::<Vec<_>>();
        let mut children = BTreeMap::new();
        children.insert(n("pepotron"), names(&["yaspin", "urllib3", "rapidfuzz"]));
        children.insert(n("yaspin"), names(&["termcolor"]));
        let bundled: BTreeSet<PackageName> = names(&["termcolor", "urllib3"]).into_iter().collect();
        let p = private_set(&children, &bundled);
        let want: BTreeSet<PackageName> = names(&["pepotron", "termcolor", "urllib3", "yaspin"])
            .into_iter()
            .collect();
        assert_eq!(p, want);
        assert!(reachable(&n("pepotron"), &children).contains("termcolor"));
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

    /// A bookworm-like slice: requests caps urllib3 below 1.27, matplotlib is built
    /// against numpy's ABI, a package breaks new termcolor, and reportbug (standard) reaches
    /// python3-debian.
    const ARCHIVE: &str = "\
Package: python3-urllib3
Version: 1.26.12-1+deb12u4
Architecture: all

Package: python3-requests
Version: 2.28.1+dfsg-1
Architecture: all
Depends: python3-urllib3 (>= 1.21.1), python3-urllib3 (<< 1.27), python3:any

Package: python3-numpy
Version: 1:1.24.2-1+deb12u1
Architecture: amd64
Provides: python3-numpy-abi9, python3-numpy-api16

Package: python3-matplotlib
Version: 3.6.3-1+b1
Architecture: amd64
Depends: python3-numpy (>= 1:1.20), python3-numpy-abi9

Package: python3-scipy-lite
Version: 1.0-1
Architecture: all
Depends: python3-numpy (>= 1:1.16)

Package: python3-termcolor
Version: 1.1.0-3
Architecture: all

Package: python3-old-cli
Version: 0.5-1
Architecture: all
Depends: python3-termcolor
Breaks: python3-termcolor (>= 2)

Package: python3-colorama
Version: 0.4.6-2
Architecture: all

Package: python3-tqdm
Version: 4.64.1-1
Architecture: all
Depends: python3-colorama (<< 0.5) | python3-termcolor

Package: python3-rich-lite
Version: 1.0-1
Architecture: all
Depends: python3-colorama (<< 0.5) | python3-not-in-archive

Package: reportbug
Version: 12.0.0
Architecture: all
Priority: standard
Depends: python3-reportbug (= 12.0.0)

Package: python3-reportbug
Version: 12.0.0
Architecture: all
Depends: python3-debian, python3-debianbts

Package: python3-debian
Version: 0.1.49
Architecture: all

Package: python3-debianbts
Version: 4.0.1
Architecture: all
";

    fn archive() -> Archive {
        Archive::from_packages_text(ARCHIVE)
    }

    #[test]
    fn replacement_accepted_when_every_dependent_accepts() {
        let a = archive();
        assert!(replacement_blockers(&a, "python3-colorama", "0.4.9-0py2deb1").is_empty());
    }

    #[test]
    fn replacement_blocked_by_a_bounded_dependent() {
        let b = replacement_blockers(&archive(), "python3-urllib3", "2.2.0-0py2deb1");
        assert_eq!(
            b,
            ["python3-requests 2.28.1+dfsg-1 needs python3-urllib3 (<< 1.27)"]
        );
        // A version the bound admits is fine.
        assert!(replacement_blockers(&archive(), "python3-urllib3", "1.26.18-0py2deb1").is_empty());
    }

    #[test]
    fn replacement_blocked_by_an_abi_virtual_package() {
        // In numpy's own version space (epoch 1): matplotlib's bound is met, its ABI is not.
        let b = replacement_blockers(&archive(), "python3-numpy", "1:2.0.0-0py2deb1");
        assert_eq!(
            b,
            ["python3-matplotlib 3.6.3-1+b1 needs python3-numpy-abi9"]
        );
        // Without the epoch, matplotlib's and scipy-lite's bounds fail as well.
        let b = replacement_blockers(&archive(), "python3-numpy", "2.0.0-0py2deb1");
        assert_eq!(b.len(), 3, "{b:?}");
    }

    #[test]
    fn replacement_blocked_by_breaks() {
        let b = replacement_blockers(&archive(), "python3-termcolor", "3.3.0-0py2deb1");
        assert_eq!(b, ["python3-old-cli 0.5-1 breaks python3-termcolor (>= 2)"]);
    }

    #[test]
    fn replacement_blocked_for_what_system_tools_use() {
        let b = replacement_blockers(&archive(), "python3-debianbts", "5.0-0py2deb1");
        assert_eq!(
            b,
            ["system tools rely on it (reportbug (Priority: standard) → python3-reportbug → python3-debianbts)"]
        );
        let b = replacement_blockers(&archive(), "python3-debian", "1.0-0py2deb1");
        assert_eq!(
            b,
            ["system tools rely on it (python3-debian (a system tool))"]
        );
    }

    #[test]
    fn other_alternatives_keep_a_group_satisfied() {
        // tqdm's group has a real second alternative; rich-lite's names a package the
        // archive does not have, so only colorama could satisfy it.
        let b = replacement_blockers(&archive(), "python3-colorama", "0.5.0-0py2deb1");
        assert_eq!(
            b,
            ["python3-rich-lite 1.0-1 needs python3-colorama (<< 0.5) | python3-not-in-archive"]
        );
    }

    use std::str::FromStr;
}
