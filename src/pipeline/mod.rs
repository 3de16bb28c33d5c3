//! The build pipeline: resolve (index → chosen wheel) → fetch (cache, hash check) →
//! inspect (wheel metadata) → map (requirements → Debian relations) → assemble → write.
//!
//! Each stage hands a typed value to the next; the CLI only turns options into a
//! [`BuildConfig`] and prints what [`build`] returns.
//!
//! Writing is all or nothing: packages go into a locked staging directory inside the
//! output directory and are renamed into place only when every one was written; what a
//! killed run leaves there is removed by the next run.

use crate::assemble::templates::Templates;
use crate::assemble::{self, PackageOptions};
use crate::debian::archive::ArchiveOptions;
use crate::debian::deb::{self, Compression};
use crate::debian::relation::Relations;
use crate::debian::target::Target;
use crate::index::fetch::{self, Cache, Http};
use crate::index::{DistFile, Index, IndexConfig};
use crate::inspect::sdist;
use crate::inspect::wheel::{Limits, Wheel};
use crate::overrides::Overrides;
use crate::python::normalize_name;
use crate::python::tags::{Compat, WheelFilename};
use crate::report::Reporter;
use crate::resolve;
use anyhow::{bail, Context, Result};
use pep508_rs::{ExtraName, Requirement, VersionOrUrl};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

mod spec;
mod stage;
pub use spec::Spec;
pub use stage::{check_output_dir, clean_stale_partials, remove_partial_outputs, PARTIAL};
use stage::{package_mode, Staging};

/// Everything the pipeline needs, already validated.
#[derive(Debug, Clone)]
pub struct BuildConfig {
    pub index: IndexConfig,
    pub target: Target,
    pub output_dir: PathBuf,
    pub maintainer: String,
    pub revision: String,
    pub compression: Compression,
    pub templates_dir: Option<PathBuf>,
    /// SOURCE_DATE_EPOCH; default is the release's upload time.
    pub source_date_epoch: Option<u64>,
    pub cache_dir: PathBuf,
    pub limits: Limits,
    pub deps: resolve::DepsMode,
    pub conflicts: resolve::ConflictMode,
    /// Files an unrelated package of the target ships too (`--on-clash`).
    pub on_clash: resolve::clash::OnClash,
    /// Strip ELF files as dh_strip does (`--no-strip` keeps their symbols).
    pub strip: bool,
    /// Which release of a satisfied dependency to take (`--prefer`).
    pub prefer: resolve::prefer::Prefer,
    /// Where the target's package lists come from.
    pub archive: ArchiveOptions,
    /// Read them from apt's lists (`archive.lists_dir`) rather than a mirror.
    pub host_archive: bool,
    /// Projects to build from source even when a wheel fits (`:all:` for every one).
    pub no_binary: Vec<String>,
    /// Projects never built from an sdist (`:all:` for every one), as pip's option: no
    /// project code runs for them.
    pub only_binary: Vec<String>,
    /// Build sdists in an isolated venv (the default) or with the system's backends.
    pub build_isolation: bool,
    pub build_timeout: std::time::Duration,
    /// The target is this machine (compiled sdist builds are only valid for it).
    pub target_is_host: bool,
    /// Override files read when they exist (the user's, the repository's), then those
    /// that must exist (`--override`), in order, later ones winning; see
    /// [`crate::overrides`].
    pub default_override_files: Vec<PathBuf>,
    pub override_files: Vec<PathBuf>,
    /// pip's `--require-hashes` mode (a requirement file gave `--hash`): the hashes each
    /// project's downloaded file must match (`sha256:HEX`), by normalized name; a file of
    /// a project without hashes is refused too, as pip refuses it.
    pub required_hashes: Option<BTreeMap<String, Vec<String>>>,
    /// Constraint files (`-c`): version bounds by normalized name, applied to every
    /// release py2deb downloads, dependencies included, as pip applies them.
    pub constraints: BTreeMap<String, pep440_rs::VersionSpecifiers>,
}

impl BuildConfig {
    fn wants_source(&self, name: &str) -> bool {
        self.no_binary
            .iter()
            .any(|n| n == ":all:" || normalize_name(n) == name)
    }

    fn sdist_options(&self) -> sdist::SdistBuildOptions {
        let mut pip = vec!["--index-url".to_owned(), self.index.index_url.to_string()];
        for u in &self.index.extra_index_urls {
            pip.extend(["--extra-index-url".to_owned(), u.to_string()]);
        }
        for d in &self.index.find_links {
            pip.extend(["--find-links".to_owned(), d.display().to_string()]);
        }
        if self.index.no_index {
            pip.push("--no-index".to_owned());
        }
        sdist::SdistBuildOptions {
            isolation: self.build_isolation,
            python: PathBuf::from("/usr/bin/python3"),
            pip_index_args: pip,
            timeout: self.build_timeout,
            cache_dir: self.cache_dir.clone(),
            limits: self.limits.clone(),
            target_is_host: self.target_is_host,
        }
    }
}

/// In `--require-hashes` mode, the downloaded file must match one of the hashes the
/// requirement files give for its project (pip's rule: a hash of the file, sha256,
/// sha384 or sha512; any one of them matching is enough).
fn check_required_hash(cfg: &BuildConfig, name: &str, filename: &str, path: &Path) -> Result<()> {
    use sha2::Digest;
    let Some(required) = &cfg.required_hashes else {
        return Ok(());
    };
    let norm = crate::python::normalize_name(name);
    let Some(allowed) = required.get(&norm) else {
        bail!(
            "{name}: hashes are required (a requirement file gave --hash), but none is given \
             for {name}, which {filename} would bring in; pin it in the requirement file with \
             `{norm}==VERSION --hash=sha256:HEX`"
        );
    };
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut seen = Vec::new();
    for h in allowed {
        let Some((algo, want)) = h.split_once(':') else {
            continue;
        };
        let got = match algo {
            "sha256" => hex::encode(sha2::Sha256::digest(&bytes)),
            "sha384" => hex::encode(sha2::Sha384::digest(&bytes)),
            "sha512" => hex::encode(sha2::Sha512::digest(&bytes)),
            _ => continue,
        };
        if got.eq_ignore_ascii_case(want) {
            return Ok(());
        }
        seen.push(format!("{algo}:{got}"));
    }
    bail!(
        "{filename}: its hash ({}) matches none of the --hash values the requirement files give \
         for {name}; the file is not the one the requirement file was written for — check the \
         index, or update the hash if the release was rightly replaced",
        seen.join(", ")
    )
}

/// Find the wheel for `name` matching `spec`: a compatible wheel from the index, or —
/// when none fits or `--no-binary` asks — one built from the newest matching sdist.
fn obtain(
    name: &str,
    spec: &pep440_rs::VersionSpecifiers,
    cfg: &BuildConfig,
    index: &Index,
    http: &Http,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<(pep440_rs::Version, Fetched)> {
    let constrained;
    let spec = match cfg.constraints.get(&crate::python::normalize_name(name)) {
        Some(c) => {
            constrained = spec
                .iter()
                .chain(c.iter())
                .cloned()
                .collect::<pep440_rs::VersionSpecifiers>();
            &constrained
        }
        None => spec,
    };
    let wheel_error = if cfg.wants_source(name) {
        None
    } else {
        match index.select_wheel(name, spec, &cfg.target) {
            Ok(cand) => {
                reporter.info(&format!(
                    "{} {}: {}",
                    cand.name, cand.version, cand.file.filename
                ));
                let path = fetch::fetch(http, cache, &cand.file, reporter)?;
                check_required_hash(cfg, name, &cand.file.filename, &path)?;
                return Ok((
                    cand.version,
                    Fetched {
                        path,
                        wheel: cand.wheel,
                        file: Some(cand.file),
                        extras: Vec::new(),
                    },
                ));
            }
            Err(e) => Some(e),
        }
    };
    let norm = crate::python::normalize_name(name);
    if cfg
        .only_binary
        .iter()
        .any(|n| n == ":all:" || crate::python::normalize_name(n) == norm)
    {
        let why = wheel_error
            .map(|e| format!("{e:#}"))
            .unwrap_or_else(|| "--no-binary asks for its sdist".into());
        anyhow::bail!("{name}: {why}; and --only-binary forbids building it from its sdist (allow it with `py2deb install --allow-sdists`, or leave --only-binary out)");
    }
    let (version, file) = match index.select_sdist(name, spec, &cfg.target) {
        Ok(found) => found,
        // Without a wheel or an sdist, the wheel error explains more.
        Err(sdist_err) => return Err(wheel_error.unwrap_or(sdist_err)),
    };
    reporter.info(&format!(
        "{name} {version}: no wheel fits, building {}",
        file.filename
    ));
    let path = fetch::fetch(http, cache, &file, reporter)?;
    check_required_hash(cfg, name, &file.filename, &path)?;
    let mut fetched = build_from_source(
        &sdist::SourceTree::Sdist(path),
        file.sha256.as_deref(),
        cfg,
        reporter,
    )?;
    fetched.file = Some(file);
    Ok((version, fetched))
}

fn build_from_source(
    tree: &sdist::SourceTree,
    sha256: Option<&str>,
    cfg: &BuildConfig,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
    let built = sdist::build_wheel(tree, sha256, &cfg.sdist_options(), reporter)?;
    let name = built
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let wheel: WheelFilename = name.parse().map_err(|e| {
        anyhow::anyhow!("the build produced `{name}`, which is not a valid wheel file name: {e}")
    })?;
    if let Compat::Incompatible(why) = wheel.compatibility(&cfg.target) {
        bail!(
            "the wheel built from source ({name}) does not fit target {}: {why}",
            cfg.target
        );
    }
    Ok(Fetched {
        path: built.path,
        wheel,
        file: None,
        extras: Vec::new(),
    })
}

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

/// A wheel on disk with what we know about where it came from.
struct Fetched {
    path: PathBuf,
    wheel: WheelFilename,
    file: Option<DistFile>,
    extras: Vec<ExtraName>,
}

/// The newest wheel date inside the archive: a reproducible default timestamp for local
/// wheels that no index dated.
fn newest_entry_time(wheel: &mut Wheel) -> Option<u64> {
    let mut newest = None;
    for i in 0..wheel.archive.len() {
        let f = wheel.archive.by_index_raw(i).ok()?;
        let Some(dt) = f.last_modified() else {
            continue;
        };
        let month = time::Month::try_from(dt.month()).ok()?;
        let date = time::Date::from_calendar_date(dt.year() as i32, month, dt.day()).ok()?;
        let t = date
            .with_hms(dt.hour(), dt.minute(), dt.second())
            .ok()?
            .assume_utc()
            .unix_timestamp();
        if t > 0 {
            newest = newest.max(Some(t as u64));
        }
    }
    newest
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

fn open_wheel(f: &Fetched, cfg: &BuildConfig) -> Result<Wheel> {
    Wheel::open(&f.path, &f.wheel.name, &f.wheel.version, cfg.limits.clone())
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

/// A package laid out and ready to be written.
struct Prepared {
    wheel: Wheel,
    /// The wheels of its private copies.
    bundled: Vec<Wheel>,
    assembly: assemble::Assembly,
    /// What will be reported; `size` is set when it is written.
    built: Built,
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
        let path = fetch::fetch(&http, &cache, &cand.file, reporter).ok()?;
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

/// Check the group's files against the target and each other (see [`resolve::clash`]) and
/// write the relations that settle what may be settled.
fn settle_clashes(
    cfg: &BuildConfig,
    tindex: &resolve::TargetIndex,
    built: &mut [Prepared],
    reporter: &dyn Reporter,
) -> Result<()> {
    let candidates: Vec<resolve::clash::Candidate> = built
        .iter()
        .map(|p| resolve::clash::Candidate {
            package: &p.built.package,
            project: &p.built.project,
            paths: p
                .assembly
                .spec
                .data
                .iter()
                .map(|e| e.path.as_str())
                .collect(),
            replaces: p
                .assembly
                .spec
                .control
                .replaces
                .0
                .iter()
                .flat_map(|g| &g.0)
                .map(|d| d.package.clone())
                .collect(),
        })
        .collect();
    let removals = resolve::clash::settle(
        &candidates,
        tindex,
        &cfg.target.name,
        cfg.on_clash,
        reporter,
    )?;
    for (p, removals) in built.iter_mut().zip(removals) {
        let fields = resolve::clash::relations(&removals);
        let control = &mut p.assembly.spec.control;
        control.conflicts.extend(fields.conflicts);
        control.breaks.extend(fields.breaks);
        control.replaces.extend(fields.replaces);
        control.provides.extend(fields.provides);
        p.built.removes = removals;
    }
    Ok(())
}

/// Two packages of one run may not share a file name (dpkg drops the epoch from it, so
/// `1:1.0` and `1.0` collide) or a package name (`python-slugify` and `slugify` are both
/// `python3-slugify`): the second would replace the first.
fn check_collision<'a>(built: impl Iterator<Item = &'a Built> + Clone, new: &Built) -> Result<()> {
    let describe = |b: &Built| {
        format!(
            "{} {} (from {} {})",
            b.package, b.version, b.project, b.project_version
        )
    };
    // Two applications of one run may both need the same missing dependency.
    let same = |b: &Built| {
        b.package == new.package
            && b.version == new.version
            && b.project == new.project
            && b.project_version == new.project_version
    };
    if built.clone().any(same) {
        return Ok(());
    }
    if let Some(old) = built.clone().find(|b| b.path == new.path) {
        bail!(
            "{} and {} would both be written as {}: dpkg's file names leave out the epoch; \
             build them into different directories with -o",
            describe(old),
            describe(new),
            new.path.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    if let Some(old) = built.clone().find(|b| b.package == new.package) {
        bail!(
            "{} and {} are both package {}; build only one of them",
            describe(old),
            describe(new),
            new.package
        );
    }
    Ok(())
}

fn resolve_and_fetch(
    spec: &Spec,
    cfg: &BuildConfig,
    index: &Index,
    http: &Http,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
    match spec {
        Spec::Wheel(path) => {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let wheel: WheelFilename = name.parse().map_err(|e| {
                anyhow::anyhow!("`{}` is not a valid wheel file name: {e}", path.display())
            })?;
            if let Compat::Incompatible(why) = wheel.compatibility(&cfg.target) {
                bail!("{name} does not fit target {}: {why}", cfg.target);
            }
            Ok(Fetched {
                path: path.clone(),
                wheel,
                file: None,
                extras: Vec::new(),
            })
        }
        Spec::Source(tree) => build_from_source(tree, None, cfg, reporter),
        Spec::Requirement(req) => {
            let vspec = match &req.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
                _ => pep440_rs::VersionSpecifiers::empty(),
            };
            let name = normalize_name(req.name.as_ref());
            let (_, mut fetched) = obtain(&name, &vspec, cfg, index, http, cache, reporter)?;
            fetched.extras = req.extras.clone();
            Ok(fetched)
        }
    }
}

/// Open and lay out the package of `f`, with `bundled` as its private copies.
#[allow(clippy::too_many_arguments)]
fn prepare_one(
    cfg: &BuildConfig,
    templates: &Templates,
    node: &Node,
    mut bundled: Vec<Wheel>,
    bundled_files: &[&WheelFilename],
    depends: Relations,
    package_name: Option<&str>,
    naming: Option<&resolve::RootName>,
) -> Result<Prepared> {
    let f = &node.fetched;
    let epoch_offset = node.epoch_offset;
    let mut wheel = open_wheel(f, cfg)?;
    let mtime = cfg
        .source_date_epoch
        .or_else(|| {
            f.file
                .as_ref()
                .and_then(|d| d.upload_time)
                .map(|t| t.max(0) as u64)
        })
        .or_else(|| newest_entry_time(&mut wheel))
        .unwrap_or(0);
    let filename = f
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Provenance by content, not by URL: the same wheel from a mirror gives the same
    // package.
    // A downloaded wheel's hash was verified against the index; hash only what no index
    // vouched for (local wheels, wheels built from sdists).
    let sha256 = match f
        .file
        .as_ref()
        .filter(|d| d.filename.ends_with(".whl"))
        .and_then(|d| d.sha256.clone())
    {
        Some(verified) => verified,
        None => fetch::sha256_file(&f.path)?,
    };
    let origin = Some(format!("sha256 {sha256}"));
    let opts = PackageOptions {
        maintainer: cfg.maintainer.clone(),
        revision: cfg.revision.clone(),
        compression: cfg.compression,
        mtime,
        wheel_filename: filename.clone(),
        origin,
        requirement_depends: depends,
        epoch_offset,
        package_name: package_name.map(str::to_owned),
        renames: naming.and_then(|n| n.renames.clone()),
        stands_beside: naming
            .map(|n| {
                n.beside
                    .iter()
                    .map(|(p, _)| p.clone())
                    .chain(n.beside_program.clone())
                    .collect()
            })
            .unwrap_or_default(),
    };
    // Compiled code in a private copy makes the package architecture-specific, and its
    // manylinux tag raises the glibc the package needs.
    let bundled_pure = bundled_files.iter().all(|w| w.is_pure());
    let min_glibc = std::iter::once(&f.wheel)
        .chain(bundled_files.iter().copied())
        .filter_map(|w| w.min_glibc())
        .max();
    let assembly = assemble::assemble(
        &mut wheel,
        &mut bundled,
        &cfg.target,
        f.wheel.is_pure() && bundled_pure,
        min_glibc,
        &opts,
        templates,
    )?;
    let control = &assembly.spec.control;
    let built = Built {
        package: control.package.clone(),
        version: control.version.clone(),
        architecture: control.architecture.clone(),
        path: cfg.output_dir.join(&assembly.filename),
        size: 0,
        project: wheel.metadata.name.clone(),
        project_version: wheel.metadata.version.to_string(),
        wheel: filename,
        reason: "requested".into(),
        bundles: Vec::new(),
        replaces: None,
        depends: control.depends.to_string(),
        programs: assembly.programs.clone(),
        removes: Vec::new(),
    };
    Ok(Prepared {
        wheel,
        bundled,
        assembly,
        built,
    })
}

/// How many packages are written at once: `PY2DEB_JOBS` when set (1 writes them one
/// after another), else one per core.
fn write_jobs() -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match std::env::var("PY2DEB_JOBS") {
        Err(std::env::VarError::NotPresent) => Ok(cores),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!(
                "PY2DEB_JOBS=`{}` is not a number of packages to write at once: use a whole \
                 number of 1 or more, or unset it",
                v.escape_debug()
            ),
        },
        Err(std::env::VarError::NotUnicode(v)) => bail!(
            "PY2DEB_JOBS={v:?} is not a number of packages to write at once: use a whole \
             number of 1 or more, or unset it"
        ),
    }
}

/// A package stopped because another one failed; never the error a run reports.
#[derive(Debug, thiserror::Error)]
#[error("stopped because another package of the run failed")]
struct Cancelled;

/// Write every distinct package of `groups` into `staging`, up to `jobs` at once, and
/// return their sizes by output path.
///
/// Each package goes to its own file and its bytes depend only on its spec (the
/// compressors' output does not depend on their thread count, see `debian::deb`), so
/// the order and the parallelism change nothing in what is written. The cores are
/// shared by size (see below), and the largest packages start first, so that a big one
/// does not run alone at the end. The first error stops the others (they notice at
/// their next file) and is the one returned; the caller's staging directory takes
/// whatever was written with it.
fn write_all(
    cfg: &BuildConfig,
    staging: &Path,
    groups: &mut [Vec<Prepared>],
    jobs: usize,
) -> Result<BTreeMap<PathBuf, u64>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&mut Prepared> = groups
        .iter_mut()
        .flatten()
        .filter(|p| seen.insert(p.built.path.clone()))
        .collect();
    todo.sort_by_key(|p| std::cmp::Reverse(p.assembly.spec.size_hint));
    let count = todo.len();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = jobs.clamp(1, count.max(1));
    let next = AtomicUsize::new(0);
    let running = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let hints: Vec<u64> = todo.iter().map(|p| p.assembly.spec.size_hint).collect();
    let slots: Vec<Mutex<&mut Prepared>> = todo.into_iter().map(Mutex::new).collect();
    let worker = || loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some(slot) = slots.get(i) else { break };
        let mut p = slot.lock().unwrap_or_else(|e| e.into_inner());
        // Packages writing now, or about to: those still waiting will start as soon as
        // a writer is free.
        let in_flight = (running.fetch_add(1, Ordering::SeqCst) + 1).max(jobs.min(count - i));
        // An even share of the cores, or, if more, a share in proportion to the bytes
        // left to write, rounded up: the largest package, the one the run waits for,
        // gets the threads its xz blocks can use (the writer caps them by blocks), while
        // the small ones beside it take one each. The total stays near the core count.
        let even = (cores / in_flight).max(1);
        let rest: u64 = hints[i..].iter().sum();
        let threads = match hints[i] {
            0 => even,
            hint => even.max((cores as u64 * hint).div_ceil(rest.max(1)) as usize),
        };
        let result = write_one(cfg, staging, &mut p, threads, &stop);
        running.fetch_sub(1, Ordering::SeqCst);
        if let Err(e) = result {
            stop.store(true, Ordering::SeqCst);
            let cancelled = e.chain().any(|c| c.is::<Cancelled>());
            let mut first = failure.lock().unwrap_or_else(|e| e.into_inner());
            if first.is_none() && !cancelled {
                *first = Some(e);
            }
        }
    };
    if jobs == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(worker);
            }
        });
    }
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    Ok(slots
        .into_iter()
        .map(|slot| {
            let p = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            (p.built.path.clone(), p.built.size)
        })
        .collect())
}

/// Write a prepared package into the run's staging directory with up to `threads`
/// compression threads; [`build_each`] moves it into place once every package has been
/// written. Once `stop` is set, it gives up at its next file with [`Cancelled`].
fn write_one(
    cfg: &BuildConfig,
    staging: &Path,
    p: &mut Prepared,
    threads: usize,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<()> {
    let Prepared {
        wheel,
        bundled,
        assembly,
        built,
    } = p;
    let staged = staging.join(&assembly.filename);
    let result = (|| -> Result<u64> {
        let stripped = if cfg.strip {
            assemble::strip::strip_all(
                &assembly.spec,
                &mut |key| assemble::read_source(wheel, bundled, key),
                staging,
                threads,
            )?
        } else {
            assemble::strip::Stripped::default()
        };
        let file = std::fs::File::create(&staged)?;
        let mut out = std::io::BufWriter::new(&file);
        deb::write_deb_with_cores(
            &assembly.spec,
            &mut |key| {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(Cancelled.into());
                }
                if let Some(data) = stripped.take(key) {
                    return data;
                }
                let data = assemble::read_source(wheel, bundled, key)?;
                Ok(assemble::rewrite_shebang(data))
            },
            &mut out,
            threads,
        )?;
        use std::io::Write;
        out.flush()?;
        drop(out);
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(package_mode()))?;
        file.sync_all()?;
        Ok(file.metadata()?.len())
    })();
    let size = match result {
        Ok(size) => size,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            if deb::is_no_space(&e) && e.downcast_ref::<deb::TempDirFull>().is_none() {
                return Err(e.context(format!(
                    "the output directory {} is full (ENOSPC, no space left on device) while \
                     {} is written; free space there or choose another with -o",
                    cfg.output_dir.display(),
                    assembly.filename
                )));
            }
            return Err(e.context(format!("building {}", assembly.filename)));
        }
    };
    built.size = size;
    Ok(())
}

/// The build record stored in a repository for a package built from `spec`, so that
/// `repo update` can rebuild newer releases the same way.
pub fn build_record(
    cfg: &BuildConfig,
    spec: &Spec,
    built: &Built,
) -> Option<crate::repo::BuildRecord> {
    let Spec::Requirement(req) = spec else {
        // A local wheel has no index to look for newer releases on.
        return None;
    };
    if built.reason != "requested" {
        // Dependencies built alongside follow their application: rebuilding it rebuilds
        // them within its constraints.
        return None;
    }
    let redact = |u: &url::Url| {
        let mut u = u.clone();
        // The repository is published; credentials must not travel with it.
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string()
    };
    let mut index_urls = vec![redact(&cfg.index.index_url)];
    index_urls.extend(cfg.index.extra_index_urls.iter().map(redact));
    let mut options = std::collections::BTreeMap::new();
    options.insert("maintainer".to_owned(), cfg.maintainer.clone());
    options.insert("revision".to_owned(), cfg.revision.clone());
    options.insert("compression".to_owned(), cfg.compression.to_string());
    options.insert("pre".to_owned(), cfg.index.pre.to_string());
    options.insert("deps".to_owned(), format!("{:?}", cfg.deps).to_lowercase());
    options.insert(
        "conflicts".to_owned(),
        format!("{:?}", cfg.conflicts).to_lowercase(),
    );
    if cfg.prefer != resolve::prefer::Prefer::default() {
        options.insert("prefer".to_owned(), cfg.prefer.to_string());
    }
    if cfg.host_archive && cfg.archive.lists_dir != ArchiveOptions::default().lists_dir {
        // Built against given apt lists (`--apt-lists`): rebuild against the same.
        options.insert(
            "apt-lists".to_owned(),
            cfg.archive.lists_dir.display().to_string(),
        );
    }
    Some(crate::repo::BuildRecord {
        spec: follow_spec(req),
        project: normalize_name(req.name.as_ref()),
        version: built.project_version.clone(),
        target: cfg.target.name.clone(),
        arch: built.architecture.clone(),
        options,
        index_urls,
        py2deb_version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// The requirement `repo update` follows: the user's, with an exact pin (`==1.0`) lifted,
/// since following new releases is the point of the update. Two builds of different pinned
/// versions thus follow the same thing.
fn follow_spec(req: &Requirement) -> String {
    let mut req = req.clone();
    if let Some(VersionOrUrl::VersionSpecifier(s)) = &req.version_or_url {
        use pep440_rs::Operator::{Equal, ExactEqual};
        if s.iter().any(|c| matches!(c.operator(), Equal | ExactEqual)) {
            req.version_or_url = None;
        }
    }
    req.to_string()
}

/// Rebuilds recorded packages for `repo update`: same target, options and indexes as
/// recorded; an exact pin (`==1.0`) in the recorded spec is lifted, since following new
/// releases is the point of the update.
pub struct Rebuilder<'a> {
    /// Makes the settings not recorded per package (cache, templates, limits,
    /// SOURCE_DATE_EPOCH); called on the first rebuild, so that a `repo` command that
    /// builds nothing neither reads the machine nor fails on the build environment.
    make_base: Box<dyn Fn() -> Result<BuildConfig> + 'a>,
    base: Mutex<Option<BuildConfig>>,
    reporter: &'a dyn Reporter,
    /// Where rebuilt packages wait until the repository has copied them into its pool;
    /// removed when the rebuilder is dropped.
    scratch: Mutex<Vec<tempfile::TempDir>>,
}

impl<'a> Rebuilder<'a> {
    /// A rebuilder whose base settings are made by `make_base` when first needed.
    pub fn new(
        make_base: impl Fn() -> Result<BuildConfig> + 'a,
        reporter: &'a dyn Reporter,
    ) -> Self {
        Rebuilder {
            make_base: Box::new(make_base),
            base: Mutex::new(None),
            reporter,
            scratch: Mutex::new(Vec::new()),
        }
    }

    fn base(&self) -> Result<BuildConfig> {
        let mut base = self.base.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = base.as_ref() {
            return Ok(b.clone());
        }
        let b = (self.make_base)()?;
        *base = Some(b.clone());
        Ok(b)
    }
}

impl Rebuilder<'_> {
    fn config_for(&self, record: &crate::repo::BuildRecord) -> Result<BuildConfig> {
        let mut cfg = self.base()?;
        let arch = if record.arch == "all" {
            None
        } else {
            Some(record.arch.as_str())
        };
        cfg.target = Target::from_option(&record.target, arch)
            .or_else(|_| Target::from_option("host", arch))?;
        let mut urls = record
            .index_urls
            .iter()
            .map(|u| url::Url::parse(u).with_context(|| format!("recorded index URL `{u}`")));
        if let Some(first) = urls.next() {
            cfg.index.index_url = first?;
        }
        cfg.index.extra_index_urls = urls.collect::<Result<_>>()?;
        if let Some(m) = record.options.get("maintainer") {
            cfg.maintainer = m.clone();
        }
        if let Some(r) = record.options.get("revision") {
            cfg.revision = r.clone();
        }
        if let Some(c) = record.options.get("compression") {
            cfg.compression = c.parse().map_err(anyhow::Error::msg)?;
        }
        cfg.index.pre = record.options.get("pre").is_some_and(|p| p == "true");
        if let Some(d) = record.options.get("deps") {
            cfg.deps = d.parse::<resolve::DepsMode>().map_err(anyhow::Error::msg)?;
        }
        if let Some(c) = record.options.get("conflicts") {
            cfg.conflicts = c
                .parse::<resolve::ConflictMode>()
                .map_err(anyhow::Error::msg)?;
        }
        // Records of the default leave it out.
        cfg.prefer = match record.options.get("prefer") {
            Some(p) => p.parse().map_err(anyhow::Error::msg)?,
            None => resolve::prefer::Prefer::default(),
        };
        // Built for this machine's release and architecture: the host's own lists, and
        // compiled sdist builds are valid for it (and only then).
        let for_host = Target::host().ok().is_some_and(|h| {
            h.name == record.target && (record.arch == "all" || h.arch == record.arch)
        });
        cfg.target_is_host = for_host;
        if let Some(dir) = record.options.get("apt-lists") {
            cfg.archive.lists_dir = PathBuf::from(dir);
            cfg.archive.offline = true;
            cfg.host_archive = true;
        } else {
            cfg.host_archive = for_host;
        }
        Ok(cfg)
    }
}

impl crate::repo::RepoBuilder for Rebuilder<'_> {
    fn newer(
        &self,
        record: &crate::repo::BuildRecord,
        dry_run: bool,
    ) -> Result<Option<crate::repo::NewBuild>> {
        let cfg = self.config_for(record)?;
        let req: Requirement = Requirement::from_str(&record.spec).map_err(|e| {
            anyhow::anyhow!("recorded spec `{}` no longer parses: {e}", record.spec)
        })?;
        // Records written before pins were lifted at build time may still carry one.
        let req: Requirement =
            Requirement::from_str(&follow_spec(&req)).map_err(|e| anyhow::anyhow!("{e}"))?;
        let spec = match &req.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
            _ => pep440_rs::VersionSpecifiers::empty(),
        };
        let http = Http::with_options(cfg.index.http.clone())?;
        let index = Index::new(cfg.index.clone(), &http, self.reporter);
        // The newest release with a wheel for the target, or else with an sdist.
        let newest = match index.select_wheel(&record.project, &spec, &cfg.target) {
            Ok(c) => c.version,
            Err(e) => index
                .select_sdist(&record.project, &spec, &cfg.target)
                .map(|(v, _)| v)
                .map_err(|_| e)?,
        };
        let current: pep440_rs::Version = record.version.parse().map_err(|e| {
            anyhow::anyhow!(
                "recorded version `{}` of {}: {e}",
                record.version,
                record.project
            )
        })?;
        if newest <= current {
            return Ok(None);
        }
        if dry_run {
            return Ok(Some(crate::repo::NewBuild {
                version: newest.to_string(),
                debs: Vec::new(),
            }));
        }
        // Built into a directory that outlives this call; the repository copies the files
        // into its pool.
        let out = tempfile::Builder::new()
            .prefix("py2deb-update-")
            .tempdir()?;
        let mut cfg = cfg;
        cfg.output_dir = out.path().to_owned();
        self.scratch.lock().unwrap().push(out);
        let spec = Spec::Requirement(
            Requirement::<pep508_rs::VerbatimUrl>::from_str(&format!(
                "{}=={}",
                record.project, newest
            ))
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let built = build(&cfg, std::slice::from_ref(&spec), self.reporter)?;
        let debs = built
            .iter()
            .map(|b| {
                let mut rec = build_record(&cfg, &spec, b);
                if let Some(r) = rec.as_mut() {
                    // Keep following the same recorded spec.
                    r.spec = req.to_string();
                }
                crate::repo::Incoming {
                    path: b.path.clone(),
                    record: rec,
                }
            })
            .collect();
        Ok(Some(crate::repo::NewBuild {
            version: newest.to_string(),
            debs,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_reject() {
        assert!(matches!(
            "pepotron==1.8.0".parse::<Spec>().unwrap(),
            Spec::Requirement(_)
        ));
        assert!(matches!(
            "urllib3>=2,<3".parse::<Spec>().unwrap(),
            Spec::Requirement(_)
        ));
        let e = "foo; python_version<'3'"
            .parse::<Spec>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("markers"), "{e}");
        let e = "missing-1.0-py3-none-any.whl"
            .parse::<Spec>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = "not a req!!".parse::<Spec>().unwrap_err().to_string();
        assert!(e.contains("not a project name"), "{e}");
    }

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
