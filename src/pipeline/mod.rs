//! The build pipeline: resolve (index → chosen wheel) → fetch (cache, hash check) →
//! inspect (wheel metadata) → map (requirements → Debian relations) → assemble → write.
//!
//! Each stage hands a typed value to the next; the CLI only turns options into a
//! [`BuildConfig`] and prints what [`build`] returns. This module only runs them in
//! order: `resolve::plan` (the closure, its distributions fetched by `fetch.rs`, the
//! solver's [`resolve::plan::Source`]) →
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
use anyhow::Result;
use std::path::Path;

mod config;
pub(crate) mod fetch;
mod prepare;
mod rebuild;
mod spec;
mod stage;
mod write;
pub use config::BuildConfig;
pub use prepare::Built;
use prepare::{check_collision, prepare_planned, settle_clashes, Prepared};
pub use rebuild::{build_record, Rebuilder};
pub use spec::Spec;
use stage::Staging;
pub use stage::{check_output_dir, clean_stale_partials, remove_partial_outputs, PARTIAL};
use write::{write_all, write_jobs};

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
    let overrides = cfg.overrides(reporter)?;
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
    staging.commit(sizes.keys(), reporter)?;
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
            source: &fetch::Fetcher {
                cfg,
                index: &index,
                http: &http,
                cache: &cache,
                reporter,
            },
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
    write::release_freed_memory();
    Ok(built)
}
