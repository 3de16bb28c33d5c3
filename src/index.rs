//! Package indexes: the Simple API (PEP 691 JSON, PEP 503 HTML fallback), `--find-links`
//! directories, and choosing the file to build (PEP 592 yanking, Requires-Python, `--pre`).

use crate::fetch::Http;
use crate::report::Reporter;
use crate::tags::WheelFilename;
use crate::target::Target;
use anyhow::Result;
use pep440_rs::{Version, VersionSpecifiers};
use std::path::PathBuf;
use url::Url;

/// Where to look, as the user said it (pip's options).
#[derive(Debug, Clone)]
pub struct IndexConfig {
    pub index_url: Url,
    pub extra_index_urls: Vec<Url>,
    pub find_links: Vec<PathBuf>,
    pub no_index: bool,
    pub pre: bool,
}

/// One file an index offers for a project.
#[derive(Debug, Clone, PartialEq)]
pub struct DistFile {
    pub filename: String,
    /// `http(s)://` or `file://`.
    pub url: Url,
    /// Lowercase hex sha256 from the index, if it gave one.
    pub sha256: Option<String>,
    pub requires_python: Option<VersionSpecifiers>,
    /// `Some(reason)` when yanked (PEP 592); the reason may be empty.
    pub yanked: Option<String>,
    /// Upload time in seconds since the epoch, when the index says (PEP 700).
    pub upload_time: Option<i64>,
}

/// The chosen wheel for a requirement.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Normalized project name (PEP 503).
    pub name: String,
    pub version: Version,
    pub file: DistFile,
    pub wheel: WheelFilename,
}

/// PEP 503 normalization: lowercase, runs of `-_.` → `-`.
pub fn normalize_name(name: &str) -> String {
    todo!("{name}")
}

/// Reads project pages from the configured indexes.
pub struct Index<'a> {
    pub config: IndexConfig,
    pub http: &'a Http,
    pub reporter: &'a dyn Reporter,
}

impl<'a> Index<'a> {
    /// Every file of `name` across all configured sources.
    pub fn project_files(&self, name: &str) -> Result<Vec<DistFile>> {
        todo!("{name}")
    }

    /// The newest version matching `spec` that has a wheel fitting `target`. With no
    /// match, the error lists the files that exist and why each was refused.
    pub fn select_wheel(
        &self,
        name: &str,
        spec: &VersionSpecifiers,
        target: &Target,
    ) -> Result<Candidate> {
        todo!("{name} {spec} {target:?}")
    }
}
