//! Preparing: one planned package opened and laid out by [`crate::assemble`] (its dates,
//! provenance and options), then the checks across packages of a run: file and package
//! name collisions, and file clashes with the target (see [`crate::resolve::clash`]).

use super::fetch::open_wheel;
use super::BuildConfig;
use crate::assemble::templates::Templates;
use crate::assemble::{self, PackageOptions};
use crate::debian::relation::Relations;
use crate::index::fetch;
use crate::inspect::wheel::Wheel;
use crate::python::tags::WheelFilename;
use crate::report::Reporter;
use crate::resolve;
use crate::resolve::plan::Node;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::PathBuf;

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

/// A package laid out and ready to be written.
pub(super) struct Prepared {
    pub(super) wheel: Wheel,
    /// The wheels of its private copies.
    pub(super) bundled: Vec<Wheel>,
    pub(super) assembly: assemble::Assembly,
    /// What will be reported; `size` is set when it is written.
    pub(super) built: Built,
    /// Stripped copies of its ELF files, which it is written from.
    pub(super) stripped: assemble::strip::Stripped,
}

/// Lay out one planned package: its wheel with its private copies, then the `Depends` on
/// the shared libraries its compiled code links (see [`assemble::shlibs`]), and what is
/// reported about it.
pub(super) fn prepare_planned(
    cfg: &BuildConfig,
    templates: &Templates,
    tindex: &resolve::TargetIndex,
    planned: resolve::plan::Planned,
    scratch: (&std::path::Path, usize),
    reporter: &dyn Reporter,
) -> Result<Prepared> {
    let resolve::plan::Planned {
        node,
        inside,
        depends,
        package_name,
        naming,
    } = planned;
    let bundle_wheels = inside
        .iter()
        .map(|n| open_wheel(&n.fetched, cfg))
        .collect::<Result<Vec<_>>>()?;
    let mut p = prepare_one(
        cfg,
        templates,
        node,
        bundle_wheels,
        &inside.iter().map(|n| &n.fetched.wheel).collect::<Vec<_>>(),
        depends,
        package_name,
        naming,
    )
    .with_context(|| format!("building {}", node.chain))?;
    let Prepared {
        wheel,
        bundled,
        assembly,
        built: b,
        stripped,
    } = &mut p;
    // One read of each ELF file: stripped (unless --no-strip) and scanned for the
    // libraries it needs.
    let compiled = assemble::strip::compiled(
        &assembly.spec,
        &mut |key| assemble::read_source(wheel, bundled, key),
        cfg.strip.then_some(scratch),
    )
    .with_context(|| format!("building {}", node.chain))?;
    *stripped = compiled.stripped;
    assemble::shlibs::add_to(
        &mut assembly.spec,
        &compiled.files,
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
    Ok(p)
}

/// Open and lay out the package of `f`, with `bundled` as its private copies.
#[allow(clippy::too_many_arguments)]
pub(super) fn prepare_one(
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
        stripped: assemble::strip::Stripped::default(),
    })
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

/// Check the group's files against the target and each other (see [`resolve::clash`]) and
/// write the relations that settle what may be settled.
pub(super) fn settle_clashes(
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
pub(super) fn check_collision<'a>(
    built: impl Iterator<Item = &'a Built> + Clone,
    new: &Built,
) -> Result<()> {
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
