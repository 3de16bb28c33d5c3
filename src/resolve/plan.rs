//! The resolve stage's solver: the closure of a group of specs, roots first and then what
//! their requirements need, breadth first, each distribution decided once against the
//! target ([`super::decide`]). A version chosen early can be excluded by a requirement
//! found later; that requirement is learned and the closure resolved again, so every
//! choice is the newest release that satisfies every constraint on it (as pip's resolver
//! settles). The result is a [`Plan`]: the decided nodes, which of them go private and
//! into which application, and the names the roots take, handed to the assemble stage.

use crate::assemble;
use crate::debian::relation::Relations;
use crate::index::DistFile;
use crate::inspect::wheel::Wheel;
use crate::overrides::Overrides;
use crate::pipeline::{BuildConfig, Spec};
use crate::python::tags::WheelFilename;
use crate::python::PackageName;
use crate::report::Reporter;
use crate::resolve;
use anyhow::{bail, Context, Result};
use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, Requirement};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// Where the solver gets distributions from. The solver decides which release of a
/// project the closure takes; finding its file on the index, downloading and checking it
/// (`--hash`) or building it from its sdist is the fetch stage's
/// ([`crate::pipeline::fetch::Fetcher`]), behind this trait.
pub(crate) trait Source {
    /// The wheel a spec named on the command line stands for.
    fn root(&self, spec: &Spec) -> Result<Fetched>;
    /// The newest release of `name` within `spec` (and the run's constraints), fetched.
    fn release(&self, name: &PackageName, spec: &VersionSpecifiers) -> Result<(Version, Fetched)>;
    /// The release a replacement of the target's package would be built from, without
    /// fetching it.
    fn candidate(&self, name: &str, spec: &VersionSpecifiers) -> Option<Version>;
    /// The requirements one release declares, from its wheel on the index.
    fn requirements_of(&self, name: &str, version: &str) -> Option<Vec<Requirement>>;
    /// Read a fetched wheel.
    fn open(&self, fetched: &Fetched) -> Result<Wheel>;
}

/// A wheel on disk with what is known about where it came from.
pub(crate) struct Fetched {
    pub(crate) path: PathBuf,
    pub(crate) wheel: WheelFilename,
    /// The index's file it was downloaded as (none for a local wheel or a source build).
    pub(crate) file: Option<DistFile>,
    /// The extras it is resolved with.
    pub(crate) extras: Vec<ExtraName>,
}

/// What the solver reads: the run's settings and overrides, where distributions come
/// from, and the target's archive.
pub(crate) struct Inputs<'a> {
    pub cfg: &'a BuildConfig,
    pub overrides: &'a Overrides,
    pub source: &'a dyn Source,
    pub tindex: &'a resolve::TargetIndex,
    pub reporter: &'a dyn Reporter,
}

/// The resolved closure of one group of specs.
pub(crate) struct Plan {
    pub nodes: Vec<Node>,
    /// The nodes named on the command line, by index into `nodes`.
    pub roots: Vec<usize>,
    /// Distributions carried privately inside the application(s) that need them.
    pub private: BTreeSet<PackageName>,
    /// Each node's built children, by name.
    children: BTreeMap<PackageName, Vec<PackageName>>,
    /// How each root is named (see [`resolve::root_name`]).
    names: HashMap<PackageName, resolve::RootName>,
}

/// One package the plan builds: a node and the private copies it carries.
pub(crate) struct Planned<'a> {
    pub node: &'a Node,
    pub inside: Vec<&'a Node>,
    /// The relations of its own and its private copies' requirements, less what a copy
    /// inside provides.
    pub depends: Relations,
    /// The package name, when not the one [`assemble::package_name`] gives.
    pub package_name: Option<&'a str>,
    pub naming: Option<&'a resolve::RootName>,
}

/// A distribution resolved into the closure.
pub(crate) struct Node {
    pub name: PackageName,
    pub version: pep440_rs::Version,
    pub fetched: Fetched,
    /// `pepotron 1.8.0 → yaspin 3.5.1`: how the closure reached it.
    pub chain: String,
    pub reason: String,
    pub edges: Vec<resolve::Edge>,
    /// Epoch offset of the version: non-zero when it replaces a target package whose
    /// Debian epoch is above the Python one.
    pub epoch_offset: u64,
    /// The target's package and version it replaces.
    pub replaces: Option<(String, String)>,
}

/// Each node's built children, by name.
fn children_of(nodes: &[Node]) -> BTreeMap<PackageName, Vec<PackageName>> {
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

/// Resolve the closure of `specs` and decide how its packages are named and which
/// distributions go private.
pub(crate) fn plan(inputs: &Inputs, specs: &[Spec]) -> Result<Plan> {
    let Inputs {
        cfg,
        overrides,
        tindex,
        reporter,
        ..
    } = *inputs;
    let (nodes, roots, bundled) = closure(inputs, specs)?;

    // Which distributions go private, and into which application.
    let children = children_of(&nodes);
    let private = resolve::private_set(&children, &bundled);
    // A requested project the target already ships becomes a newer version of the
    // target's own package (same name, its epoch), never a second package with its files;
    // one whose modules are private is named after the project (resolve::root_name).
    let mut nodes = nodes;
    let mut names: HashMap<PackageName, resolve::RootName> = HashMap::new();
    for &r in &roots {
        let node = &mut nodes[r];
        if overrides.package(&node.name).is_some() {
            continue;
        }
        let naming = resolve::root_name(
            tindex,
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
    Ok(Plan {
        nodes,
        roots,
        private,
        children,
        names,
    })
}

/// A round gives up after this many restarts: a closure that keeps learning new bounds or
/// extras does not settle.
const MAX_ROUNDS: usize = 20;

/// What a round learned that the next must respect.
#[derive(Default)]
struct Learned {
    /// Bounds found after a version was chosen (`yaspin<3` after yaspin 3.5 was taken).
    constraints: HashMap<PackageName, Vec<(VersionSpecifiers, String)>>,
    /// Extras asked of a distribution by any requirement (`fastmcp-slim[client,server]`):
    /// their requirements join its own, so what they pull in is built and depended on too.
    extras: HashMap<PackageName, BTreeSet<ExtraName>>,
    /// Distribution packages that an application's private copies would break, by
    /// application: carried privately too (see [`resolve::dragged_private`]).
    private: HashMap<PackageName, BTreeSet<PackageName>>,
}

/// One attempt at the closure.
struct Round {
    nodes: Vec<Node>,
    roots: Vec<usize>,
    by_name: HashMap<PackageName, usize>,
    /// Every bound on each distribution so far, with who asked for it.
    constraints: HashMap<PackageName, Vec<(VersionSpecifiers, String)>>,
    /// Distributions some requirement wants private.
    bundled: BTreeSet<PackageName>,
    /// Nodes whose requirements are still to be decided, breadth first.
    pending: std::collections::VecDeque<usize>,
}

/// Whether a round can go on.
enum Step {
    Go,
    /// Something was learned: start again with it.
    Restart,
}

/// The restart loop: nodes, roots and the distributions some requirement wants private,
/// once every constraint and extra learned along the way holds. Roots first, then what
/// their requirements need, breadth first; a version chosen early can be excluded by a
/// requirement found later, which is then learned and the closure resolved again, so
/// every choice is the newest release that satisfies every constraint on it.
fn closure(
    inputs: &Inputs,
    specs: &[Spec],
) -> Result<(Vec<Node>, Vec<usize>, BTreeSet<PackageName>)> {
    let mut learned = Learned::default();
    for round in 1.. {
        if let Some(r) = resolve_round(inputs, specs, &mut learned, round)? {
            return Ok((r.nodes, r.roots, r.bundled));
        }
    }
    unreachable!("a round either settles, restarts before MAX_ROUNDS or fails")
}

/// One round; `None` when it learned something and the closure must be resolved again.
fn resolve_round(
    inputs: &Inputs,
    specs: &[Spec],
    learned: &mut Learned,
    round: usize,
) -> Result<Option<Round>> {
    let mut r = Round {
        nodes: Vec::new(),
        roots: Vec::new(),
        by_name: HashMap::new(),
        constraints: learned.constraints.clone(),
        bundled: BTreeSet::new(),
        pending: Default::default(),
    };
    for spec in specs {
        r.add_root(inputs, spec, learned)?;
    }
    r.pending = r.roots.iter().copied().collect();
    while let Some(i) = r.pending.pop_front() {
        let decisions = decide_node(inputs, &r, i, learned)?;
        for wanted in decisions.wanted {
            if let Step::Restart = r.want(inputs, i, wanted, learned, round)? {
                return Ok(None);
            }
        }
        r.nodes[i].edges = decisions.edges;
    }
    // Private copies and the distribution packages the application still imports
    // must agree: those a private copy breaks go private too, and the closure is
    // resolved again with them.
    let source = inputs.source;
    let requirements_of = |project: &str, version: &str| source.requirements_of(project, version);
    if !r.bundled.is_empty()
        && learn_dragged_private(
            inputs,
            &r.nodes,
            &r.roots,
            &r.bundled,
            &mut learned.private,
            &requirements_of,
        )?
    {
        if round >= MAX_ROUNDS {
            bail!("the private copies did not settle into a consistent environment");
        }
        return Ok(None);
    }
    Ok(Some(r))
}

/// The decisions for node `i`'s requirements (see [`resolve::decide`]).
fn decide_node(
    inputs: &Inputs,
    r: &Round,
    i: usize,
    learned: &Learned,
) -> Result<resolve::Decisions> {
    let Inputs {
        cfg,
        overrides,
        source,
        tindex,
        reporter,
    } = *inputs;
    let node = &r.nodes[i];
    let wheel = source.open(&node.fetched)?;
    let project = &wheel.metadata.name;
    // The release a replacement would be built from, to check it against what depends
    // on the distribution's package.
    let candidate = |name: &str, spec: &VersionSpecifiers| source.candidate(name, spec);
    let mut decisions = resolve::decide(
        project,
        &overrides.requirements(project, &wheel.metadata.requires_dist),
        &node.fetched.extras,
        &cfg.target,
        tindex,
        cfg.deps,
        overrides
            .get(project)
            .and_then(|o| o.conflicts)
            .unwrap_or(cfg.conflicts),
        cfg.prefer,
        overrides,
        &node.chain,
        &candidate,
        reporter,
    )?;
    if r.roots.contains(&i) {
        for project in learned.private.get(&node.name).into_iter().flatten() {
            decisions.force_private(project, tindex, &cfg.target)?;
        }
    }
    Ok(decisions)
}

impl Round {
    /// Add a spec named on the command line as a root of the closure, pinned to the
    /// version it resolved to.
    fn add_root(&mut self, inputs: &Inputs, spec: &Spec, learned: &Learned) -> Result<()> {
        let source = inputs.source;
        let mut fetched = source.root(spec)?;
        let wheel = source.open(&fetched)?;
        let name = PackageName::normalize(&wheel.metadata.name);
        add_extras(&mut fetched.extras, learned.extras.get(&name));
        let version = wheel.metadata.version.clone();
        if self.by_name.contains_key(&name) {
            bail!("{spec}: {name} is named twice on the command line");
        }
        self.constraints.entry(name.clone()).or_default().push((
            VersionSpecifiers::from_iter([pep440_rs::VersionSpecifier::equals_version(
                version.clone(),
            )]),
            format!("{spec} (requested)"),
        ));
        self.by_name.insert(name.clone(), self.nodes.len());
        self.roots.push(self.nodes.len());
        self.nodes.push(Node {
            chain: format!("{} {}", wheel.metadata.name, version),
            name,
            version,
            fetched,
            reason: "requested".into(),
            edges: Vec::new(),
            epoch_offset: 0,
            replaces: None,
        });
        Ok(())
    }

    /// Take a distribution node `i` wants: check it against the node already chosen for
    /// it, or fetch the newest release every bound on it allows and queue it.
    fn want(
        &mut self,
        inputs: &Inputs,
        i: usize,
        wanted: resolve::Wanted,
        learned: &mut Learned,
        round: usize,
    ) -> Result<Step> {
        let Inputs {
            cfg,
            source,
            reporter,
            ..
        } = *inputs;
        let resolve::Wanted {
            name: child,
            spec,
            private,
            extras,
            replaces,
        } = wanted;
        let origin = format!("{} → {child}{spec}", self.nodes[i].chain);
        self.constraints
            .entry(child.clone())
            .or_default()
            .push((spec.clone(), origin.clone()));
        if private {
            self.bundled.insert(child.clone());
        }
        if let Some(&j) = self.by_name.get(&child) {
            if let Some((bad, who)) =
                resolve::violated(&self.nodes[j].version, &self.constraints[&child]).cloned()
            {
                let known = learned
                    .constraints
                    .get(&child)
                    .is_some_and(|l| l.iter().any(|(s, _)| *s == bad));
                if !self.roots.contains(&j) && !known && round < MAX_ROUNDS {
                    reporter.info(&format!("{who} needs {child}{bad}: resolving again"));
                    learned
                        .constraints
                        .entry(child.clone())
                        .or_default()
                        .push((bad, who));
                    return Ok(Step::Restart);
                }
                bail!(
                    "cannot satisfy every requirement on {child}: {who} needs {child}{bad}, \
                     but {} {} was chosen for {}",
                    child,
                    self.nodes[j].version,
                    self.nodes[j].chain
                );
            }
            // Extras it was not decided with: learn them and resolve again, so its
            // requirements are decided once, with every extra asked of it.
            if extras
                .iter()
                .any(|e| !self.nodes[j].fetched.extras.contains(e))
            {
                if round >= MAX_ROUNDS {
                    bail!("{origin}: the closure did not settle on the extras of {child}");
                }
                reporter.info(&format!(
                    "{origin} asks for extras of {child}: resolving again"
                ));
                learned
                    .extras
                    .entry(child.clone())
                    .or_default()
                    .extend(extras);
                return Ok(Step::Restart);
            }
            return Ok(Step::Go);
        }
        let combined = resolve::combine(&self.constraints[&child]);
        let (child_version, mut fetched) =
            source.release(&child, &combined).with_context(|| {
                let asks: Vec<&str> = self.constraints[&child]
                    .iter()
                    .map(|(_, who)| who.as_str())
                    .collect();
                format!("no release of {child} satisfies {}", asks.join(" and "))
            })?;
        fetched.extras = extras;
        add_extras(&mut fetched.extras, learned.extras.get(&child));
        reporter.info(&format!("{origin}: {child} {child_version}"));
        let parent = &self.nodes[i];
        let node = Node {
            chain: format!("{} → {} {}", parent.chain, child, child_version),
            name: child.clone(),
            version: child_version,
            fetched,
            reason: match &replaces {
                Some((pkg, have)) => format!(
                    "dependency of {}, replacing {}'s {pkg} {have}",
                    parent.name, cfg.target.name
                ),
                None => format!("missing dependency of {}", parent.name),
            },
            edges: Vec::new(),
            epoch_offset: replaces.as_ref().map_or(0, |(_, have)| {
                crate::debian::version::epoch_offset(have, None)
            }),
            replaces,
        };
        self.by_name.insert(child, self.nodes.len());
        self.pending.push_back(self.nodes.len());
        self.nodes.push(node);
        Ok(Step::Go)
    }
}

/// Learn, per application, the distributions its private copies would break if they
/// stayed the target's (see [`resolve::dragged_private`]): they go private too. Returns
/// whether anything new was learned, so the closure is resolved again.
fn learn_dragged_private(
    inputs: &Inputs,
    nodes: &[Node],
    roots: &[usize],
    bundled: &BTreeSet<PackageName>,
    learned_private: &mut HashMap<PackageName, BTreeSet<PackageName>>,
    requirements_of: &dyn Fn(&str, &str) -> Option<Vec<Requirement>>,
) -> Result<bool> {
    let Inputs {
        cfg,
        tindex,
        reporter,
        ..
    } = *inputs;
    let children = children_of(nodes);
    let private = resolve::private_set(&children, bundled);
    let mut learned_any = false;
    for &r in roots {
        let root = &nodes[r];
        let reach = resolve::reachable(&root.name, &children);
        let privates: Vec<(PackageName, pep440_rs::Version)> = nodes
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
        for d in
            resolve::dragged_private(tindex, &cfg.target, &closure, &privates, &requirements_of)?
        {
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
    Ok(learned_any)
}

impl Plan {
    /// The packages to build, in resolution order: every node but the private copies,
    /// which travel inside their application.
    pub fn packages<'a>(&'a self, overrides: &'a Overrides) -> Vec<Planned<'a>> {
        let Plan {
            nodes,
            roots,
            private,
            children,
            names,
        } = self;
        let mut packages = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let is_root = roots.contains(&i);
            if private.contains(&node.name) && !is_root {
                continue; // carried inside the application(s) that need it
            }
            let inside: Vec<&Node> = if private.contains(&node.name) {
                let reach = resolve::reachable(&node.name, children);
                nodes
                    .iter()
                    .filter(|n| {
                        n.name != node.name && reach.contains(&n.name) && private.contains(&n.name)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let inside_names: BTreeSet<&PackageName> = inside.iter().map(|n| &n.name).collect();
            let mut depends = Relations::default();
            for n in std::iter::once(node).chain(inside.iter().copied()) {
                for e in &n.edges {
                    // What a private copy inside provides needs no package, even where the
                    // target's would satisfy the requirement too.
                    let provided_inside =
                        e.child.as_ref().is_some_and(|c| inside_names.contains(c))
                            || inside_names.contains(&PackageName::from(&e.requirement.name));
                    if provided_inside {
                        continue;
                    }
                    depends.extend(e.relations.clone());
                }
            }
            packages.push(Planned {
                node,
                inside,
                depends,
                // An override names it; a replacement takes the replaced package's name.
                package_name: overrides
                    .package(&node.name)
                    .or(node.replaces.as_ref().map(|(p, _)| p.as_str()))
                    .or(names.get(&node.name).and_then(|n| n.package.as_deref())),
                naming: names.get(&node.name),
            });
        }
        packages
    }
}
