//! The build pipeline: resolve (index → chosen wheel) → fetch (cache, hash check) →
//! inspect (wheel metadata) → map (requirements → Debian relations) → assemble → write.
//!
//! Each stage hands a typed value to the next; the CLI only turns options into a
//! [`BuildConfig`] and prints what [`build`] returns. This module only runs them in
//! order: `resolve::plan` (the closure, fetching through `fetch.rs`) →
//! `prepare.rs` ([`crate::assemble`] per package, clash checks) → `write.rs` (into the
//! staging directory, `stage.rs`) → commit (renamed into the output directory).
//!
//! Writing is all or nothing: packages go into a locked staging directory inside the
//! output directory and are renamed into place only when every one was written; what a
//! killed run leaves there is removed by the next run.

use crate::assemble::templates::Templates;
use crate::debian::archive::ArchiveOptions;
use crate::index::fetch::{Cache, Http};
use crate::index::Index;
use crate::overrides::Overrides;
use crate::report::Reporter;
use crate::resolve;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

mod config;
pub(crate) mod fetch;
mod prepare;
mod rebuild;
mod spec;
mod stage;
mod write;
pub use config::BuildConfig;
use prepare::{check_collision, prepare_planned, settle_clashes, Prepared};
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
    /// Target packages whose files this one takes over (file clashes settled with
    /// `Conflicts`/`Breaks` + `Replaces`, which remove them, or `Replaces` alone for a split
    /// package that stays installed).
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
    // The staging directory also holds the stripped copies of ELF files, made while the
    // packages are prepared; it goes away with anything left in it if the run fails.
    let staging = Staging::new(&cfg.output_dir)?;
    let mut all: Vec<Vec<Prepared>> = Vec::new();
    for specs in groups {
        let earlier: Vec<&Built> = all.iter().flatten().map(|p| &p.built).collect();
        let scratch = (staging.path(), jobs);
        let prepared = prepare_group(cfg, &overrides, specs, &earlier, scratch, reporter)?;
        all.push(prepared);
    }
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
    scratch: (&Path, usize),
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

    let plan = resolve::plan::plan(
        &resolve::plan::Inputs {
            cfg,
            overrides,
            index: &index,
            http: &http,
            cache: &cache,
            tindex: &tindex,
            reporter,
        },
        specs,
    )?;
    let mut built: Vec<Prepared> = Vec::new();
    for planned in plan.packages(overrides) {
        let p = prepare_planned(cfg, &templates, &tindex, planned, scratch, reporter)?;
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
    use crate::debian::target::Target;
    use pep508_rs::Requirement;
    use std::str::FromStr;

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
