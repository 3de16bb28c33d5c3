//! The build pipeline: resolve (index → chosen wheel) → fetch (cache, hash check) →
//! inspect (wheel metadata) → map (requirements → Debian relations) → assemble → write.
//!
//! Each stage hands a typed value to the next; the CLI only turns options into a
//! [`BuildConfig`] and prints what [`build`] returns.
//!
//! Writing is all or nothing: packages go into a locked staging directory inside the
//! output directory and are renamed into place only when every one was written; what a
//! killed run leaves there is removed by the next run.

use crate::assemble;
use crate::assemble::templates::Templates;
use crate::debian::archive::ArchiveOptions;
use crate::debian::relation::Relations;
use crate::index::fetch::{Cache, Http};
use crate::index::Index;
use crate::overrides::Overrides;
use crate::python::normalize_name;
use crate::report::Reporter;
use crate::resolve;
use anyhow::{bail, Context, Result};
use pep508_rs::{ExtraName, Requirement};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::str::FromStr;

mod config;
mod fetch;
mod prepare;
mod rebuild;
mod spec;
mod stage;
mod write;
pub use config::BuildConfig;
use fetch::{obtain, open_wheel, resolve_and_fetch, Fetched};
use prepare::{check_collision, prepare_one, settle_clashes, Prepared};
pub use rebuild::{build_record, Rebuilder};
pub use spec::Spec;
use stage::Staging;
pub use stage::{check_output_dir, clean_stale_partials, remove_partial_outputs, PARTIAL};
use write::{write_all, write_jobs};

/// One package written.
#[derive(Debug, Clone, Serialize)]
pub struct Built {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub path: PathBuf,
    pub size: u64,
    /// The Python project and version it was built from.
    pub project: String,
    pub project_version: String,
    pub wheel: String,
    /// Why it was built: `requested` (named on the command line) or `missing dependency
    /// of NAME`.
    pub reason: String,
    /// Private copies it carries (`name version`).
    pub bundles: Vec<String>,
    /// The target's package this one replaces system-wide (`python3-termcolor 1.1.0-3`):
    /// installing it upgrades that package.
    pub replaces: Option<String>,
    pub depends: String,
    pub programs: Vec<String>,
    /// Target packages that installing this one removes (file clashes settled with
    /// `Conflicts`/`Breaks` + `Replaces`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removes: Vec<resolve::clash::Removal>,
}

/// Hand memory freed by the resolve stage back to the system before the compressor
/// allocates its own buffers, so peak memory is the larger of the two phases rather than
/// their sum (glibc keeps freed heap memory otherwise).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused heap pages to the kernel; it touches no
    // live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A distribution resolved into the closure.
struct Node {
    /// Normalized name.
    name: String,
    version: pep440_rs::Version,
    fetched: Fetched,
    /// `pepotron 1.8.0 → yaspin 3.5.1`: how the closure reached it.
    chain: String,
    reason: String,
    edges: Vec<resolve::Edge>,
    /// Epoch offset of the version: non-zero when it replaces a target package whose
    /// Debian epoch is above the Python one.
    epoch_offset: u64,
    /// The target's package and version it replaces.
    replaces: Option<(String, String)>,
}

/// Each node's built children, by name.
fn children_of(nodes: &[Node]) -> BTreeMap<String, Vec<String>> {
    nodes
        .iter()
        .map(|n| {
            (
                n.name.clone(),
                n.edges.iter().filter_map(|e| e.child.clone()).collect(),
            )
        })
        .collect()
}

/// Add the extras learned for a distribution to those it is resolved with, once each.
fn add_extras(extras: &mut Vec<ExtraName>, learned: Option<&BTreeSet<ExtraName>>) {
    for e in learned.into_iter().flatten() {
        if !extras.contains(e) {
            extras.push(e.clone());
        }
    }
}

/// Build every spec and, per `--deps`/`--conflicts`, the closure of what the target
/// lacks; returns the packages written.
pub fn build(cfg: &BuildConfig, specs: &[Spec], reporter: &dyn Reporter) -> Result<Vec<Built>> {
    Ok(build_each(cfg, &[specs], reporter)?
        .into_iter()
        .flatten()
        .collect())
}

/// Build each group of specs as [`build`] does, one closure per group, all or nothing:
/// every package of every group is written into a staging directory inside the output
/// directory, and moved into the output directory only when all groups succeeded.
/// Returns the packages of each group, in order.
pub fn build_each(
    cfg: &BuildConfig,
    groups: &[&[Spec]],
    reporter: &dyn Reporter,
) -> Result<Vec<Vec<Built>>> {
    check_output_dir(&cfg.output_dir)?;
    let jobs = write_jobs()?;
    let files: Vec<PathBuf> = cfg
        .default_override_files
        .iter()
        .filter(|p| p.is_file())
        .chain(&cfg.override_files)
        .cloned()
        .collect();
    let overrides = Overrides::load(&files).context("--override")?;
    for source in &overrides.sources {
        reporter.info(&format!("overrides from {}", source.display()));
    }
    clean_stale_partials(&cfg.output_dir, reporter);
    // Every group is resolved and laid out before anything is written, so a bad spec
    // fails the run before any package of a good one is compressed.
    let mut all: Vec<Vec<Prepared>> = Vec::new();
    for specs in groups {
        let earlier: Vec<&Built> = all.iter().flatten().map(|p| &p.built).collect();
        let prepared = prepare_group(cfg, &overrides, specs, &earlier, reporter)?;
        all.push(prepared);
    }
    let staging = Staging::new(&cfg.output_dir)?;
    let sizes = write_all(cfg, staging.path(), &mut all, jobs)?;
    for p in all.iter_mut().flatten() {
        // The same package may be needed by two groups; it was written once.
        if let Some(&size) = sizes.get(&p.built.path) {
            p.built.size = size;
        }
    }
    for path in sizes.keys() {
        let staged = staging.path().join(path.file_name().unwrap_or_default());
        std::fs::rename(&staged, path).map_err(|e| {
            let why = if path.is_dir() {
                format!(
                    "{} exists and is a directory; remove it or choose another -o",
                    path.display()
                )
            } else {
                format!("{e}")
            };
            anyhow::anyhow!(
                "cannot move {} into the output directory as {}: {why}",
                staged.display(),
                path.display()
            )
        })?;
        reporter.info(&format!("wrote {}", path.display()));
    }
    Ok(all
        .into_iter()
        .map(|g| g.into_iter().map(|p| p.built).collect())
        .collect())
}

/// Resolve the closure of `specs` and lay out every package of it; `earlier` are the
/// packages other groups of the same run will write.
fn prepare_group(
    cfg: &BuildConfig,
    overrides: &Overrides,
    specs: &[Spec],
    earlier: &[&Built],
    reporter: &dyn Reporter,
) -> Result<Vec<Prepared>> {
    let templates = Templates::load(cfg.templates_dir.as_deref())?;
    let http = Http::with_options(cfg.index.http.clone())?;
    // One cache root for every stage: downloads, the target's archive, its dist-info map
    // and sdist builds each keep their own bucket under it.
    let cache = Cache::open(&cfg.cache_dir)?;
    let index = Index::new(cfg.index.clone(), &http, reporter);
    let archive = ArchiveOptions {
        cache_dir: Some(
            cfg.archive
                .cache_dir
                .clone()
                .unwrap_or_else(|| cache.root.clone()),
        ),
        ..cfg.archive.clone()
    };
    let tindex = resolve::TargetIndex::load(&cfg.target, cfg.host_archive, &archive, reporter)?;

    // Resolve: roots first, then what their requirements need, breadth first. A version
    // chosen early can be excluded by a requirement found later; that requirement is then
    // learned and the closure resolved again, so every choice is the newest release that
    // satisfies every constraint on it.
    let mut learned: HashMap<String, Vec<(pep440_rs::VersionSpecifiers, String)>> = HashMap::new();
    // Extras asked of a distribution by any requirement (`fastmcp-slim[client,server]`):
    // their requirements join its own, so what they pull in is built and depended on too.
    let mut learned_extras: HashMap<String, BTreeSet<ExtraName>> = HashMap::new();
    // Distribution packages that an application's private copies would break, by
    // application: carried privately too (see resolve::dragged_private).
    let mut learned_private: HashMap<String, BTreeSet<String>> = HashMap::new();
    // A distribution package's own requirements, from its release on the index.
    let requirements_of = |project: &str, version: &str| -> Option<Vec<Requirement>> {
        let spec = pep440_rs::VersionSpecifiers::from_str(&format!("=={version}")).ok()?;
        let cand = index.select_wheel(project, &spec, &cfg.target).ok()?;
        let path = crate::index::fetch::fetch(&http, &cache, &cand.file, reporter).ok()?;
        let fetched = Fetched {
            path,
            wheel: cand.wheel,
            file: Some(cand.file),
            extras: Vec::new(),
        };
        Some(open_wheel(&fetched, cfg).ok()?.metadata.requires_dist)
    };
    let mut attempts = 0;
    let (nodes, roots, bundled) = 'resolve: loop {
        attempts += 1;
        let mut nodes: Vec<Node> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut constraints = learned.clone();
        let mut bundled = BTreeSet::new();
        let mut roots = Vec::new();
        for spec in specs {
            let mut fetched = resolve_and_fetch(spec, cfg, &index, &http, &cache, reporter)?;
            let wheel = open_wheel(&fetched, cfg)?;
            let name = normalize_name(&wheel.metadata.name);
            add_extras(&mut fetched.extras, learned_extras.get(&name));
            let version = wheel.metadata.version.clone();
            if by_name.contains_key(&name) {
                bail!("{spec}: {name} is named twice on the command line");
            }
            constraints.entry(name.clone()).or_default().push((
                pep440_rs::VersionSpecifiers::from_iter([
                    pep440_rs::VersionSpecifier::equals_version(version.clone()),
                ]),
                format!("{spec} (requested)"),
            ));
            by_name.insert(name.clone(), nodes.len());
            roots.push(nodes.len());
            nodes.push(Node {
                chain: format!("{} {}", wheel.metadata.name, version),
                name,
                version,
                fetched,
                reason: "requested".into(),
                edges: Vec::new(),
                epoch_offset: 0,
                replaces: None,
            });
        }
        let mut pending: std::collections::VecDeque<usize> = roots.iter().copied().collect();
        // The release a replacement would be built from, to check it against what depends
        // on the distribution's package.
        let candidate = |name: &str, spec: &pep440_rs::VersionSpecifiers| {
            index
                .select_wheel(name, spec, &cfg.target)
                .map(|c| c.version)
                .or_else(|_| index.select_sdist(name, spec, &cfg.target).map(|(v, _)| v))
                .ok()
        };
        while let Some(i) = pending.pop_front() {
            let wheel = open_wheel(&nodes[i].fetched, cfg)?;
            let project = &wheel.metadata.name;
            let mut decisions = resolve::decide(
                project,
                &overrides.requirements(project, &wheel.metadata.requires_dist),
                &nodes[i].fetched.extras,
                &cfg.target,
                &tindex,
                cfg.deps,
                overrides
                    .get(project)
                    .and_then(|o| o.conflicts)
                    .unwrap_or(cfg.conflicts),
                cfg.prefer,
                overrides,
                &nodes[i].chain,
                &candidate,
                reporter,
            )?;
            if roots.contains(&i) {
                for project in learned_private.get(&nodes[i].name).into_iter().flatten() {
                    decisions.force_private(project, &tindex, &cfg.target)?;
                }
            }
            for resolve::Wanted {
                name: child,
                spec,
                private,
                extras,
                replaces,
            } in decisions.wanted
            {
                let origin = format!("{} → {child}{spec}", nodes[i].chain);
                constraints
                    .entry(child.clone())
                    .or_default()
                    .push((spec.clone(), origin.clone()));
                if private {
                    bundled.insert(child.clone());
                }
                if let Some(&j) = by_name.get(&child) {
                    if let Some((bad, who)) =
                        resolve::violated(&nodes[j].version, &constraints[&child]).cloned()
                    {
                        let known = learned
                            .get(&child)
                            .is_some_and(|l| l.iter().any(|(s, _)| *s == bad));
                        if !roots.contains(&j) && !known && attempts < 20 {
                            reporter.info(&format!("{who} needs {child}{bad}: resolving again"));
                            learned.entry(child.clone()).or_default().push((bad, who));
                            continue 'resolve;
                        }
                        bail!(
                        "cannot satisfy every requirement on {child}: {who} needs {child}{bad}, \
                         but {} {} was chosen for {}",
                        child,
                        nodes[j].version,
                        nodes[j].chain
                    );
                    }
                    // Extras it was not decided with: learn them and resolve again, so its
                    // requirements are decided once, with every extra asked of it.
                    if extras.iter().any(|e| !nodes[j].fetched.extras.contains(e)) {
                        if attempts >= 20 {
                            bail!("{origin}: the closure did not settle on the extras of {child}");
                        }
                        reporter.info(&format!(
                            "{origin} asks for extras of {child}: resolving again"
                        ));
                        learned_extras
                            .entry(child.clone())
                            .or_default()
                            .extend(extras);
                        continue 'resolve;
                    }
                    continue;
                }
                let combined = resolve::combine(&constraints[&child]);
                let (child_version, mut fetched) = obtain(
                    &child, &combined, cfg, &index, &http, &cache, reporter,
                )
                .with_context(|| {
                    let asks: Vec<&str> = constraints[&child]
                        .iter()
                        .map(|(_, who)| who.as_str())
                        .collect();
                    format!("no release of {child} satisfies {}", asks.join(" and "))
                })?;
                fetched.extras = extras;
                add_extras(&mut fetched.extras, learned_extras.get(&child));
                reporter.info(&format!("{origin}: {child} {child_version}"));
                by_name.insert(child.clone(), nodes.len());
                pending.push_back(nodes.len());
                nodes.push(Node {
                    chain: format!("{} → {} {}", nodes[i].chain, child, child_version),
                    name: child.clone(),
                    version: child_version,
                    fetched,
                    reason: match &replaces {
                        Some((pkg, have)) => format!(
                            "dependency of {}, replacing {}'s {pkg} {have}",
                            nodes[i].name, cfg.target.name
                        ),
                        None => format!("missing dependency of {}", nodes[i].name),
                    },
                    edges: Vec::new(),
                    epoch_offset: replaces.as_ref().map_or(0, |(_, have)| {
                        crate::debian::version::epoch_offset(have, None)
                    }),
                    replaces,
                });
            }
            nodes[i].edges = decisions.edges;
        }
        // Private copies and the distribution packages the application still imports
        // must agree: those a private copy breaks go private too, and the closure is
        // resolved again with them.
        if !bundled.is_empty() {
            let children = children_of(&nodes);
            let private = resolve::private_set(&children, &bundled);
            let mut learned_any = false;
            for &r in &roots {
                let root = &nodes[r];
                let reach = resolve::reachable(&root.name, &children);
                let privates: Vec<(String, pep440_rs::Version)> = nodes
                    .iter()
                    .filter(|n| n.name != root.name && reach.contains(&n.name))
                    .filter(|n| private.contains(&n.name))
                    .map(|n| (n.name.clone(), n.version.clone()))
                    .collect();
                if privates.is_empty() {
                    continue;
                }
                let start: Vec<String> = nodes
                    .iter()
                    .filter(|n| n.name == root.name || reach.contains(&n.name))
                    .flat_map(|n| &n.edges)
                    .filter(|e| e.child.is_none())
                    .filter_map(|e| e.row.package.clone())
                    .collect();
                let closure = resolve::import_closure(&tindex.archive, &start);
                for d in resolve::dragged_private(
                    &tindex,
                    &cfg.target,
                    &closure,
                    &privates,
                    &requirements_of,
                )? {
                    let known = learned_private.entry(root.name.clone()).or_default();
                    if known.insert(d.project.clone()) {
                        reporter.warn(&format!(
                            "{}: {} goes private too, as its {} would not work with the private copies ({})",
                            root.chain, d.project, d.package, d.why
                        ));
                        learned_any = true;
                    }
                }
            }
            if learned_any {
                if attempts >= 20 {
                    bail!("the private copies did not settle into a consistent environment");
                }
                continue 'resolve;
            }
        }
        break (nodes, roots, bundled);
    };

    // Which distributions go private, and into which application.
    let children = children_of(&nodes);
    let private = resolve::private_set(&children, &bundled);
    // A requested project the target already ships becomes a newer version of the
    // target's own package (same name, its epoch), never a second package with its files;
    // one whose modules are private is named after the project (resolve::root_name).
    let mut nodes = nodes;
    let mut names: HashMap<String, resolve::RootName> = HashMap::new();
    for &r in &roots {
        let node = &mut nodes[r];
        if overrides.package(&node.name).is_some() {
            continue;
        }
        let naming = resolve::root_name(
            &tindex,
            &cfg.target,
            &node.name,
            private.contains(&node.name),
        )?;
        if let Some((pkg, have)) = &naming.beside {
            reporter.warn(&format!(
                "{}: built as {}, beside {}'s {pkg} {have}, which keeps its modules for the packages that depend on it",
                node.chain,
                naming
                    .package
                    .as_deref()
                    .or(naming.takes_over.as_ref().map(|(p, _)| p.as_str()))
                    .unwrap_or_default(),
                cfg.target.name
            ));
        }
        if let Some((pkg, have)) = naming.takes_over.clone() {
            let offset = crate::debian::version::epoch_offset(&have, None);
            let ours = crate::debian::version::with_epoch_offset(
                &assemble::full_version(&node.version, &cfg.revision),
                offset,
            );
            if crate::debian::archive::compare_debian(&ours, &have).is_le() {
                reporter.warn(&format!(
                    "{} already ships {} as {pkg} {have}, which is not older than {ours}: apt keeps preferring the distribution's",
                    cfg.target.name, node.name
                ));
            } else {
                reporter.warn(&format!(
                    "{}: built as {pkg} {ours}, an upgrade of {}'s {pkg} {have}",
                    node.chain, cfg.target.name
                ));
            }
            node.epoch_offset = offset;
            node.replaces = Some((pkg, have));
        }
        names.insert(node.name.clone(), naming);
    }
    let mut built: Vec<Prepared> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let is_root = roots.contains(&i);
        if private.contains(&node.name) && !is_root {
            continue; // carried inside the application(s) that need it
        }
        let inside: Vec<&Node> = if private.contains(&node.name) {
            let reach = resolve::reachable(&node.name, &children);
            nodes
                .iter()
                .filter(|n| {
                    n.name != node.name && reach.contains(&n.name) && private.contains(&n.name)
                })
                .collect()
        } else {
            Vec::new()
        };
        let inside_names: BTreeSet<&str> = inside.iter().map(|n| n.name.as_str()).collect();
        let mut depends = Relations::default();
        for n in std::iter::once(node).chain(inside.iter().copied()) {
            for e in &n.edges {
                // What a private copy inside provides needs no package, even where the
                // target's would satisfy the requirement too.
                let provided_inside = e.child.as_deref().is_some_and(|c| inside_names.contains(c))
                    || inside_names.contains(normalize_name(e.requirement.name.as_ref()).as_str());
                if provided_inside {
                    continue;
                }
                depends.extend(e.relations.clone());
            }
        }
        let bundle_wheels = inside
            .iter()
            .map(|n| open_wheel(&n.fetched, cfg))
            .collect::<Result<Vec<_>>>()?;
        let mut p = prepare_one(
            cfg,
            &templates,
            node,
            bundle_wheels,
            &inside.iter().map(|n| &n.fetched.wheel).collect::<Vec<_>>(),
            depends,
            // An override names it; a replacement takes the replaced package's name.
            overrides
                .package(&node.name)
                .or(node.replaces.as_ref().map(|(p, _)| p.as_str()))
                .or(names.get(&node.name).and_then(|n| n.package.as_deref())),
            names.get(&node.name),
        )
        .with_context(|| format!("building {}", node.chain))?;
        let Prepared {
            wheel,
            bundled,
            assembly,
            built: b,
        } = &mut p;
        assemble::shlibs::add_to(
            &mut assembly.spec,
            &mut |key| assemble::read_source(wheel, bundled, key),
            tindex.dists.paths.as_ref(),
            &tindex.archive,
            &cfg.target.name,
            reporter,
        )
        .with_context(|| format!("building {}", node.chain))?;
        b.depends = assembly.spec.control.depends.to_string();
        for place in &p.assembly.unusual {
            reporter.warn(&format!(
                "{}: kept {place}, where upstream installs it (the program may need it)",
                p.built.package
            ));
        }
        p.built.reason = node.reason.clone();
        p.built.replaces = node.replaces.as_ref().map(|(p, v)| format!("{p} {v}"));
        p.built.bundles = inside
            .iter()
            .map(|n| format!("{} {}", n.name, n.version))
            .collect();
        check_collision(
            earlier
                .iter()
                .copied()
                .chain(built.iter().map(|p| &p.built)),
            &p.built,
        )?;
        built.push(p);
    }
    settle_clashes(cfg, &tindex, &mut built, reporter)?;
    // The archive is no longer needed; writing big packages should not carry it.
    drop(tindex);
    release_freed_memory();
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debian::target::Target;

    #[test]
    fn marker_env_for_bookworm() {
        let t = Target::named("bookworm", "amd64").unwrap();
        let env = crate::python::markers::environment(&t).unwrap();
        let r: Requirement =
            Requirement::from_str("x; python_version >= '3.11' and platform_machine == 'x86_64'")
                .unwrap();
        assert!(r.evaluate_markers(&env, &[]));
        let r: Requirement = Requirement::from_str("x; python_version < '3.11'").unwrap();
        assert!(!r.evaluate_markers(&env, &[]));
    }
}
