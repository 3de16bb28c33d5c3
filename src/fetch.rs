//! HTTP with retries, and the download cache (`~/.cache/py2deb`, keyed by sha256).

use crate::index::DistFile;
use crate::report::Reporter;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Blocking HTTP client shared by every stage: user agent, timeouts, retries with backoff.
pub struct Http {
    pub client: reqwest::blocking::Client,
    /// Attempts per request (transient errors and 5xx only).
    pub retries: u32,
}

impl Http {
    pub fn new() -> Result<Http> {
        todo!()
    }
    /// GET `url` with extra headers, retrying transient failures. Errors name the URL.
    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<reqwest::blocking::Response> {
        todo!("{url} {headers:?}")
    }
}

/// Content-addressed cache of downloaded files.
#[derive(Debug, Clone)]
pub struct Cache {
    pub root: PathBuf,
}

impl Cache {
    /// `$XDG_CACHE_HOME/py2deb` or `~/.cache/py2deb`.
    pub fn default_root() -> Result<PathBuf> {
        todo!()
    }
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }
}

/// Make `file` available locally: from the cache when its sha256 is known and cached,
/// otherwise downloaded (with a progress bar), hash-verified, and stored. `file://`
/// URLs and local paths are read in place (still hash-checked when a hash is known).
pub fn fetch(
    http: &Http,
    cache: &Cache,
    file: &DistFile,
    reporter: &dyn Reporter,
) -> Result<PathBuf> {
    todo!("{http:p} {cache:?} {file:?} {:p}", reporter)
}

/// sha256 of a file as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    todo!("{path:?}")
}
