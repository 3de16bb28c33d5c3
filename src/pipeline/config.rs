//! The validated settings of a run ([`BuildConfig`]): what the CLI and `repo update` hand
//! the pipeline, and the sdist build options derived from them (PEP 517 through pip).

use crate::debian::archive::ArchiveOptions;
use crate::debian::deb::Compression;
use crate::debian::target::Target;
use crate::index::IndexConfig;
use crate::inspect::sdist;
use crate::inspect::wheel::Limits;
use crate::overrides::Overrides;
use crate::python::{PackageName, Projects};
use crate::report::Reporter;
use crate::resolve;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    pub no_binary: Projects,
    /// Projects never built from an sdist (`:all:` for every one), as pip's option: no
    /// project code runs for them.
    pub only_binary: Projects,
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
    pub required_hashes: Option<BTreeMap<PackageName, Vec<String>>>,
    /// Constraint files (`-c`): version bounds by normalized name, applied to every
    /// release py2deb downloads, dependencies included, as pip applies them.
    pub constraints: BTreeMap<PackageName, pep440_rs::VersionSpecifiers>,
}

impl BuildConfig {
    pub(crate) fn wants_source(&self, name: &PackageName) -> bool {
        self.no_binary.contains(name)
    }

    /// The overrides of the run: the default files that exist, then those given (which
    /// must exist), later ones winning.
    pub(crate) fn overrides(&self, reporter: &dyn Reporter) -> Result<Overrides> {
        let files: Vec<PathBuf> = self
            .default_override_files
            .iter()
            .filter(|p| p.is_file())
            .chain(&self.override_files)
            .cloned()
            .collect();
        let overrides = Overrides::load(&files).context("--override")?;
        for source in &overrides.sources {
            reporter.info(&format!("overrides from {}", source.display()));
        }
        Ok(overrides)
    }

    pub(crate) fn sdist_options(&self) -> sdist::SdistBuildOptions {
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
