//! Package indexes: the Simple API (PEP 691 JSON, PEP 503 HTML fallback, PEP 700 upload
//! times), `--find-links` directories, and choosing the file to build (PEP 592 yanking,
//! Requires-Python, `--pre`, PEP 425 tag preference), with pip's semantics.
//!
//! Index pages are untrusted: a page may only point at http(s) URLs (a `file:` link or
//! `<base href>` would make py2deb read local files), upload times are clamped to the
//! present, and the parsers never panic on any input (property-tested).

pub mod fetch;

use crate::debian::target::Target;
use crate::index::fetch::{redact, Http, HttpOptions, HttpStatusError};
use crate::python::tags::{Compat, WheelFilename};
use crate::python::PackageName;
use crate::report::Reporter;
use anyhow::{bail, Context, Result};
use pep440_rs::{Operator, Version, VersionSpecifiers};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use url::Url;

/// pip's default index.
pub const PYPI_SIMPLE: &str = "https://pypi.org/simple/";

/// JSON preferred, HTML accepted (PEP 691 content negotiation).
const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";

/// Where to look, as the user said it (pip's options).
#[derive(Debug, Clone)]
pub struct IndexConfig {
    pub index_url: Url,
    pub extra_index_urls: Vec<Url>,
    pub find_links: Vec<PathBuf>,
    pub no_index: bool,
    pub pre: bool,
    /// Timeouts and size caps for talking to the indexes (`--timeout`, ...).
    pub http: HttpOptions,
}

impl Default for IndexConfig {
    /// PyPI, no extras, no find-links, stable releases only.
    fn default() -> Self {
        IndexConfig {
            index_url: Url::parse(PYPI_SIMPLE).expect("constant URL"),
            extra_index_urls: Vec::new(),
            find_links: Vec::new(),
            no_index: false,
            pre: false,
            http: HttpOptions::default(),
        }
    }
}

/// One file an index offers for a project.
#[derive(Debug, Clone, PartialEq)]
pub struct DistFile {
    pub filename: String,
    /// `http(s)://`, or `file://` for a file found locally.
    pub url: Url,
    /// Found in a `--find-links` directory the user named, not listed by an index: the
    /// only kind of file that may be read from the local file system.
    pub local: bool,
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
    pub name: PackageName,
    pub version: Version,
    pub file: DistFile,
    pub wheel: WheelFilename,
}

/// Reads project pages from the configured indexes. Each page is fetched at most once
/// per `Index` (one run): the resolver asks for a project again for its sdist, for its
/// requirements and at every restart of the closure, and must see the same answer each
/// time, not whatever the index says a moment later.
pub struct Index<'a> {
    pub config: IndexConfig,
    pub http: &'a Http,
    pub reporter: &'a dyn Reporter,
    /// Parsed project pages by URL (`None`: the index does not know the project).
    /// Failures are not kept, so a later request may still succeed.
    pages: Mutex<HashMap<String, Arc<Option<Vec<DistFile>>>>>,
}

impl<'a> Index<'a> {
    pub fn new(config: IndexConfig, http: &'a Http, reporter: &'a dyn Reporter) -> Index<'a> {
        Index {
            config,
            http,
            reporter,
            pages: Mutex::new(HashMap::new()),
        }
    }

    /// Every file of `name` across all configured sources: the index, then each extra
    /// index, then the find-links directories. A file name seen twice keeps its first
    /// source, so the primary index wins.
    pub fn project_files(&self, name: &str) -> Result<Vec<DistFile>> {
        let normalized = PackageName::normalize(name);
        let mut files = Vec::new();
        let mut missing = Vec::new();
        let mut indexes = 0;
        if !self.config.no_index {
            for index in
                std::iter::once(&self.config.index_url).chain(&self.config.extra_index_urls)
            {
                indexes += 1;
                match self.index_page_once(index, &normalized)?.as_ref() {
                    Some(found) => files.extend(found.iter().cloned()),
                    None => missing.push(redact(index.as_str())),
                }
            }
        } else if self.config.find_links.is_empty() {
            bail!("--no-index needs at least one --find-links directory to look for `{name}` in");
        }
        for dir in &self.config.find_links {
            files.extend(find_links(dir, &normalized)?);
        }
        if indexes > 0 && missing.len() == indexes && files.is_empty() {
            bail!(
                "project `{name}` was not found on {} (HTTP 404). Check the spelling of the name, or point --index-url \
                 (or --extra-index-url) at an index that has it",
                missing.join(" or ")
            );
        }
        if self.config.no_index && files.is_empty() {
            let dirs: Vec<String> = self
                .config
                .find_links
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            bail!(
                "no files for `{name}` in --find-links {} (with --no-index nothing else is searched). Check the spelling, \
                 or put its wheel there",
                dirs.join(", ")
            );
        }
        let mut seen = HashSet::new();
        files.retain(|f| seen.insert(f.filename.clone()));
        Ok(files)
    }

    /// [`Index::index_page`], memoized for the life of this `Index`.
    fn index_page_once(&self, index: &Url, normalized: &str) -> Result<Arc<Option<Vec<DistFile>>>> {
        let key = project_url(index, normalized)?.to_string();
        // A panic elsewhere cannot leave the map half-written: each insert is whole.
        let memo = || self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(page) = memo().get(&key) {
            return Ok(page.clone());
        }
        let page = Arc::new(self.index_page(index, normalized)?);
        memo().insert(key, page.clone());
        Ok(page)
    }

    /// One project page, or `None` when the index does not know the project (404).
    fn index_page(&self, index: &Url, normalized: &str) -> Result<Option<Vec<DistFile>>> {
        let page = project_url(index, normalized)?;
        let resp = match self.http.get_page(page.as_str(), &[("Accept", ACCEPT)]) {
            Ok(r) => r,
            Err(e)
                if e.downcast_ref::<HttpStatusError>()
                    .is_some_and(|s| s.status == 404 || s.status == 410) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e.context(format!("reading the index page of `{normalized}`"))),
        };
        // Relative links resolve against where we ended up after any redirect.
        let content_type = resp.header(reqwest::header::CONTENT_TYPE).to_owned();
        let parsed = parse_page(&resp.body, &content_type, &resp.url)
            .with_context(|| format!("parsing the index page {}", redact(page.as_str())))?;
        if let Some(first) = parsed.refused.first() {
            let mut example = redact(first);
            if example.len() > 200 {
                let cut = (0..=200)
                    .rev()
                    .find(|&i| example.is_char_boundary(i))
                    .unwrap_or(0);
                example.truncate(cut);
                example.push('…');
            }
            self.reporter.warn(&format!(
                "ignored {} link(s) on {} that are not http(s) URLs (such as `{example}`): a package index may only \
                 link http(s) files; local files come only from --find-links",
                parsed.refused.len(),
                redact(page.as_str())
            ));
        }
        let mut files = parsed.files;
        // Links to the index's own host get its credentials back, as pip does: a private
        // index usually serves files from the same host with absolute URLs.
        if !index.username().is_empty() {
            for f in &mut files {
                if f.url.host_str() == index.host_str()
                    && f.url.port_or_known_default() == index.port_or_known_default()
                    && f.url.username().is_empty()
                {
                    let _ = f.url.set_username(index.username());
                    let _ = f.url.set_password(index.password());
                }
            }
        }
        Ok(Some(files))
    }

    /// The newest version matching `spec` that has a wheel fitting `target`. With no
    /// match, the error lists the files that exist and why each was refused.
    pub fn select_wheel(
        &self,
        name: &str,
        spec: &VersionSpecifiers,
        target: &Target,
    ) -> Result<Candidate> {
        let files = self.project_files(name)?;
        select(name, spec, target, self.config.pre, files, self.reporter)
    }
}

/// `{index}/{normalized}/`, whether or not the index URL ends in `/`.
fn project_url(index: &Url, normalized: &str) -> Result<Url> {
    let mut u = index.clone();
    let path = format!("{}/{normalized}/", index.path().trim_end_matches('/'));
    u.set_path(&path);
    u.set_query(None);
    u.set_fragment(None);
    Ok(u)
}

/// Why a file was not chosen, for the error listing.
struct Refusal {
    version: Option<Version>,
    filename: String,
    reason: String,
}

/// Whether `spec` pins exactly `version` (`==1.0` or `===1.0`, not `==1.*`): PEP 592 lets
/// such a pin use a yanked file.
fn pins_exactly(spec: &VersionSpecifiers, version: &Version) -> bool {
    spec.iter().any(|s| {
        matches!(s.operator(), Operator::Equal | Operator::ExactEqual) && s.contains(version)
    })
}

/// Whether the requirement itself asks for a pre-release (`>=2.0b1`, `==1.0.dev0`);
/// `!=2.0b1` excludes one rather than asking for it.
fn names_prerelease(spec: &VersionSpecifiers) -> bool {
    spec.iter().any(|s| {
        !matches!(s.operator(), Operator::NotEqual | Operator::NotEqualStar)
            && s.version().any_prerelease()
    })
}

/// Version of a source distribution file name (`name-1.0.tar.gz`), for the listing.
fn sdist_version(filename: &str, normalized: &PackageName) -> Option<Version> {
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"]
        .iter()
        .find_map(|ext| filename.strip_suffix(ext))?;
    // The name may itself contain `-`: try every split.
    stem.match_indices('-').find_map(|(i, _)| {
        (PackageName::normalize(&stem[..i]) == *normalized)
            .then(|| Version::from_str(&stem[i + 1..]).ok())
            .flatten()
    })
}

/// The choosing step, separate from fetching pages so it can be tested on its own.
pub fn select(
    name: &str,
    spec: &VersionSpecifiers,
    target: &Target,
    pre: bool,
    files: Vec<DistFile>,
    reporter: &dyn Reporter,
) -> Result<Candidate> {
    let normalized = PackageName::normalize(name);
    let python = Version::from_str(&target.python_full).with_context(|| {
        format!(
            "the target's Python version `{}` is not a PEP 440 version",
            target.python_full
        )
    })?;
    let mut refused = Vec::new();
    // (version, priority, file, wheel) for every file that fits, pre-releases included.
    let mut fits = Vec::new();
    let mut other_versions = Vec::new();
    let allow_pre = pre || names_prerelease(spec);
    // Final releases that exist only as sdists: one newer than the chosen pre-release
    // wheel must win (the caller then builds it from source).
    let mut final_sdists: Vec<Version> = Vec::new();
    for file in files {
        let refuse = |version: Option<Version>, reason: String, refused: &mut Vec<Refusal>| {
            refused.push(Refusal {
                version,
                filename: file.filename.clone(),
                reason,
            })
        };
        if !file.filename.ends_with(".whl") {
            if let Some(v) = sdist_version(&file.filename, &normalized) {
                let usable = file.yanked.is_none() || pins_exactly(spec, &v);
                let python_ok = file
                    .requires_python
                    .as_ref()
                    .is_none_or(|rp| rp.contains(&python));
                if spec.contains(&v) && usable && python_ok && !v.any_prerelease() {
                    final_sdists.push(v.clone());
                }
                if spec.contains(&v) {
                    refuse(
                        Some(v),
                        "source distribution (built only when no wheel fits, or with --no-binary)"
                            .into(),
                        &mut refused,
                    );
                } else {
                    other_versions.push(v);
                }
            }
            continue;
        }
        let wheel = match WheelFilename::from_str(&file.filename) {
            Ok(w) => w,
            Err(e) => {
                refuse(None, e.to_string(), &mut refused);
                continue;
            }
        };
        if PackageName::normalize(&wheel.name) != normalized {
            continue;
        }
        let version = wheel.version.clone();
        if !spec.contains(&version) {
            other_versions.push(version);
            continue;
        }
        if let Some(reason) = &file.yanked {
            if !pins_exactly(spec, &version) {
                let why = if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                };
                refuse(
                    Some(version.clone()),
                    format!("yanked{why} (pin it with =={version} to use it anyway)"),
                    &mut refused,
                );
                continue;
            }
        }
        if let Some(rp) = &file.requires_python {
            if !rp.contains(&python) {
                refuse(
                    Some(version),
                    format!(
                        "requires Python {rp}; the target has Python {}",
                        target.python_full
                    ),
                    &mut refused,
                );
                continue;
            }
        }
        match wheel.compatibility(target) {
            Compat::Compatible { priority } => fits.push((version, priority, file, wheel)),
            Compat::Incompatible(reason) => refuse(Some(version), reason, &mut refused),
        }
    }

    // PEP 440: pre-releases and dev releases only with --pre or when the specifier names
    // one; unlike pip, not merely because nothing else fits (a final release may exist
    // as an sdist only).
    if !allow_pre {
        fits.retain(|f| {
            if f.0.any_prerelease() {
                refused.push(Refusal {
                    version: Some(f.0.clone()),
                    filename: f.2.filename.clone(),
                    reason: "pre-release (add --pre to allow pre-releases)".into(),
                });
                false
            } else {
                true
            }
        });
    }

    let best = fits
        .into_iter()
        .max_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    if let Some((version, _, file, _)) = &best {
        if let Some(newer) = final_sdists
            .iter()
            .filter(|v| *v > version)
            .max()
            .filter(|_| version.any_prerelease())
        {
            bail!(
                "the newest wheel of `{name}` is the pre-release {version} ({}), but the final release {newer} exists \
                 as a source distribution: it is built from that instead",
                file.filename
            );
        }
    }
    if let Some((version, _, file, wheel)) = best {
        if let Some(reason) = &file.yanked {
            reporter.warn(&format!(
                "{} is yanked{}; using it because it is pinned exactly",
                file.filename,
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({reason})")
                }
            ));
        }
        if wheel.is_linux_only() {
            reporter.warn(&format!(
                "{} has only a `linux_{}` platform tag: it was built against one system's libraries and may not work on \
                 other machines (a manylinux wheel would be portable)",
                file.filename, target.machine
            ));
        }
        return Ok(Candidate {
            name: normalized,
            version,
            file,
            wheel,
        });
    }
    bail!(
        "{}",
        no_match_message(name, spec, target, refused, other_versions)
    )
}

/// The newest source distribution (`.tar.gz` or `.zip`) of `name` matching `spec`, under
/// the same yanking, Requires-Python and pre-release rules as wheels.
pub fn select_sdist(
    name: &str,
    spec: &VersionSpecifiers,
    target: &Target,
    pre: bool,
    files: Vec<DistFile>,
) -> Result<(Version, DistFile)> {
    let normalized = PackageName::normalize(name);
    let python = Version::from_str(&target.python_full).with_context(|| {
        format!(
            "the target's Python version `{}` is not a PEP 440 version",
            target.python_full
        )
    })?;
    let mut fits: Vec<(Version, DistFile)> = files
        .into_iter()
        .filter(|f| f.filename.ends_with(".tar.gz") || f.filename.ends_with(".zip"))
        .filter_map(|f| sdist_version(&f.filename, &normalized).map(|v| (v, f)))
        .filter(|(v, f)| spec.contains(v) && (f.yanked.is_none() || pins_exactly(spec, v)))
        .filter(|(_, f)| {
            f.requires_python
                .as_ref()
                .is_none_or(|rp| rp.contains(&python))
        })
        .collect();
    if !(pre || names_prerelease(spec)) {
        fits.retain(|f| !f.0.any_prerelease());
    }
    // Prefer .tar.gz over .zip for the same version (the standard sdist format).
    fits.into_iter()
        .max_by(|a, b| {
            (&a.0, a.1.filename.ends_with(".tar.gz"))
                .cmp(&(&b.0, b.1.filename.ends_with(".tar.gz")))
        })
        .with_context(|| {
            let wanted = if spec.is_empty() {
                String::new()
            } else {
                format!(" matching `{spec}`")
            };
            format!(
                "no source distribution of `{name}`{wanted} fits Python {}",
                target.python_full
            )
        })
}

impl Index<'_> {
    /// [`select_sdist`] over every configured source.
    pub fn select_sdist(
        &self,
        name: &str,
        spec: &VersionSpecifiers,
        target: &Target,
    ) -> Result<(Version, DistFile)> {
        let files = self.project_files(name)?;
        select_sdist(name, spec, target, self.config.pre, files)
    }
}

/// How many versions the "nothing fits" listing shows.
const LISTED_VERSIONS: usize = 5;

fn no_match_message(
    name: &str,
    spec: &VersionSpecifiers,
    target: &Target,
    refused: Vec<Refusal>,
    other: Vec<Version>,
) -> String {
    let wanted = if spec.is_empty() {
        String::new()
    } else {
        format!(" matching `{spec}`")
    };
    let mut msg = format!("no wheel of `{name}`{wanted} fits {target}");
    if refused.is_empty() {
        let mut versions = other;
        versions.sort();
        versions.dedup();
        if versions.is_empty() {
            msg.push_str(": the index lists no files for it");
        } else {
            let newest: Vec<String> = versions
                .iter()
                .rev()
                .take(LISTED_VERSIONS)
                .map(|v| v.to_string())
                .collect();
            let _ = write!(
                msg,
                ": no version matches. Newest available: {}. Relax the version requirement",
                newest.join(", ")
            );
        }
        return msg;
    }
    let mut by_version: BTreeMap<Option<Version>, Vec<&Refusal>> = BTreeMap::new();
    for r in &refused {
        by_version.entry(r.version.clone()).or_default().push(r);
    }
    msg.push(':');
    let total = by_version.len();
    for (version, list) in by_version.iter().rev().take(LISTED_VERSIONS) {
        match version {
            Some(v) => {
                let _ = write!(msg, "\n  {v}:");
            }
            None => msg.push_str("\n  unparsable file names:"),
        }
        for r in list {
            let _ = write!(msg, "\n    {} — {}", r.filename, r.reason);
        }
    }
    if total > LISTED_VERSIONS {
        let _ = write!(msg, "\n  (and {} older versions)", total - LISTED_VERSIONS);
    }
    let reasons: Vec<&str> = refused.iter().map(|r| r.reason.as_str()).collect();
    let mut hints = Vec::new();
    if reasons.iter().any(|r| r.starts_with("pre-release")) {
        hints.push("add --pre to allow pre-releases".to_owned());
    }
    if reasons.iter().any(|r| r.starts_with("yanked")) {
        hints.push("pin a yanked version exactly (==) to use it anyway".to_owned());
    }
    if reasons
        .iter()
        .any(|r| r.contains("Python") || r.contains("glibc") || r.contains("built for"))
    {
        hints.push(format!(
            "pick a different --target whose Python, glibc or architecture these wheels support (known: {}), or an older version of `{name}`",
            Target::known_names().join(", ")
        ));
    }
    if reasons.iter().any(|r| r.starts_with("source distribution")) {
        hints.push(
            format!(
                "a source distribution exists: py2deb builds from it when no wheel fits and the sdist \
                 suits the target's Python (`--no-binary {name}` builds from it even when a wheel fits)"
            ),
        );
    }
    if !hints.is_empty() {
        let _ = write!(msg, "\nTo fix: {}.", hints.join("; "));
    }
    msg
}

// ---------------------------------------------------------------------------------------
// PEP 691 JSON

#[derive(serde::Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(serde::Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(rename = "requires-python", default)]
    requires_python: Option<String>,
    /// `false`, `true`, or a reason string.
    #[serde(default)]
    yanked: Option<serde_json::Value>,
    #[serde(rename = "upload-time", default)]
    upload_time: Option<String>,
}

/// What a project page offers, and the links it had that may not be followed.
#[derive(Debug, Clone, Default)]
pub struct ParsedPage {
    pub files: Vec<DistFile>,
    /// Links (or `<base href>`s) that are not http(s), as written on the page.
    pub refused: Vec<String>,
}

/// Parse a Simple API project page fetched from `base`: PEP 691 JSON when the content
/// type says JSON, else PEP 503 HTML. Only http(s) links are kept, whatever the page
/// says; an error only for a JSON page that is not the PEP 691 shape.
pub fn parse_page(body: &[u8], content_type: &str, base: &Url) -> Result<ParsedPage> {
    let text = String::from_utf8_lossy(body);
    if content_type.to_ascii_lowercase().contains("json") {
        parse_json(&text, base)
    } else {
        Ok(parse_html(&text, base))
    }
}

/// Only http(s) links may come from a remote page.
fn remote_link(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

fn parse_json(body: &str, base: &Url) -> Result<ParsedPage> {
    let page: JsonPage = serde_json::from_str(body).map_err(|e| {
        anyhow::anyhow!(
            "it is not a PEP 691 JSON project page ({e}); check --index-url, or report the broken page to the index"
        )
    })?;
    let mut out = ParsedPage::default();
    for f in page.files {
        let Ok(url) = base.join(&f.url) else { continue };
        if !remote_link(&url) {
            out.refused.push(f.url);
            continue;
        }
        let yanked = match f.yanked {
            Some(serde_json::Value::Bool(true)) => Some(String::new()),
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        };
        out.files.push(DistFile {
            filename: f.filename,
            url,
            sha256: f.hashes.get("sha256").map(|h| h.to_ascii_lowercase()),
            requires_python: parse_requires_python(f.requires_python.as_deref()),
            yanked,
            upload_time: f.upload_time.as_deref().and_then(parse_upload_time),
            local: false,
        });
    }
    Ok(out)
}

/// Invalid Requires-Python values exist on PyPI; like pip, treat them as absent.
fn parse_requires_python(s: Option<&str>) -> Option<VersionSpecifiers> {
    let s = s?.trim();
    if s.is_empty() {
        return None;
    }
    VersionSpecifiers::from_str(s).ok()
}

/// PEP 700 `upload-time`: ISO 8601 in UTC (`2024-01-02T03:04:05.123456Z`). It becomes
/// the packages' timestamps when SOURCE_DATE_EPOCH is unset, so a time in the future (the
/// year 9999) is clamped to now and one before 1970 to 1970.
fn parse_upload_time(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()?
        .unix_timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Some(t.clamp(0, now))
}

// ---------------------------------------------------------------------------------------
// PEP 503 HTML

/// The anchors of a simple-index page. Not a general HTML parser: PEP 503 pages are flat
/// lists of `<a>` elements, and anything else on the page is skipped.
fn parse_html(body: &str, page: &Url) -> ParsedPage {
    let lower = body.to_ascii_lowercase();
    let mut base = page.clone();
    let mut out = ParsedPage::default();
    let mut pos = 0;
    while let Some(off) = lower[pos..].find('<') {
        let start = pos + off + 1;
        let tag_name: String = lower[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let Some((attrs, end)) = parse_attrs(body, start + tag_name.len()) else {
            break;
        };
        pos = end;
        match tag_name.as_str() {
            "base" => {
                if let Some(href) = attrs.iter().find(|(k, _)| k == "href") {
                    match page.join(&href.1) {
                        Ok(u) if remote_link(&u) => base = u,
                        Ok(_) => out.refused.push(href.1.clone()),
                        Err(_) => {}
                    }
                }
            }
            "a" => {
                let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                let Some(href) = get("href") else { continue };
                let Ok(mut url) = base.join(&href) else {
                    continue;
                };
                if !remote_link(&url) {
                    out.refused.push(href);
                    continue;
                }
                let sha256 = url
                    .fragment()
                    .and_then(|f| f.strip_prefix("sha256="))
                    .filter(|h| !h.is_empty())
                    .map(|h| h.to_ascii_lowercase());
                url.set_fragment(None);
                // The file name is the last path segment of the link (as pip does); the
                // anchor text is only a fallback.
                let from_url = url
                    .path_segments()
                    .and_then(|mut s| s.next_back().map(str::to_owned))
                    .map(|s| percent_decode(&s))
                    .filter(|s| !s.is_empty());
                // The text runs to the next tag (normally `</a>`); searching for `</a` itself
                // would rescan the rest of the page for every unclosed anchor.
                let text_end = lower[end..].find('<').map_or(end, |i| end + i);
                let text = unescape(body[end..text_end].trim());
                let Some(filename) = from_url.or((!text.is_empty()).then_some(text)) else {
                    continue;
                };
                out.files.push(DistFile {
                    filename,
                    url,
                    sha256,
                    requires_python: parse_requires_python(get("data-requires-python").as_deref()),
                    yanked: get("data-yanked"),
                    upload_time: None,
                    local: false,
                });
            }
            _ => {}
        }
    }
    out
}

/// Attributes of a start tag whose name ends at `i`, and the index after its `>`.
/// Values are HTML-unescaped; a bare attribute gets the empty string (`data-yanked`).
fn parse_attrs(body: &str, mut i: usize) -> Option<(Vec<(String, String)>, usize)> {
    let b = body.as_bytes();
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        if b[i] == b'>' {
            return Some((attrs, i + 1));
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let name = body[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                let ve = vs + body[vs..].bytes().position(|c| c == q)?;
                value = unescape(&body[vs..ve]);
                i = ve + 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                value = unescape(&body[vs..i]);
            }
        }
        if !name.is_empty() {
            attrs.push((name, value));
        }
    }
}

/// HTML character references: the named ones simple indexes use, and numeric ones.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // Look for the `;` only nearby: a page of `&&&&…` must not be rescanned per `&`.
        let near = rest.as_bytes().iter().take(11).position(|&b| b == b';');
        let decoded = near.and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `%XX` escapes of a URL path decoded; a malformed escape stays as written and bytes
/// that are not UTF-8 become U+FFFD.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------------------
// --find-links

/// Wheels and sdists of the project in a directory (or a single file named directly).
fn find_links(path: &Path, normalized: &PackageName) -> Result<Vec<DistFile>> {
    let entries: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading the --find-links directory {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        v
    } else if path.is_file() {
        vec![path.to_owned()]
    } else {
        bail!(
            "--find-links {}: no such directory. Check the path",
            path.display()
        );
    };
    let mut out = Vec::new();
    for p in entries {
        let Some(filename) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let ours = match filename.parse::<WheelFilename>() {
            Ok(w) => PackageName::normalize(&w.name) == *normalized,
            Err(_) => sdist_version(filename, normalized).is_some(),
        };
        if !ours || !p.is_file() {
            continue;
        }
        let abs = std::path::absolute(&p).with_context(|| format!("resolving {}", p.display()))?;
        let url = Url::from_file_path(&abs)
            .map_err(|_| anyhow::anyhow!("cannot turn {} into a file URL", abs.display()))?;
        out.push(DistFile {
            filename: filename.to_owned(),
            url,
            sha256: None,
            requires_python: None,
            yanked: None,
            upload_time: None,
            local: true,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Recorder;

    #[test]
    fn project_url_with_and_without_slash() {
        let a = project_url(&Url::parse("https://h/simple").unwrap(), "foo").unwrap();
        let b = project_url(&Url::parse("https://h/simple/").unwrap(), "foo").unwrap();
        assert_eq!(a.as_str(), "https://h/simple/foo/");
        assert_eq!(a, b);
    }

    #[test]
    fn parses_pep503_html() {
        let page = Url::parse("https://h/simple/foo/").unwrap();
        let html = r#"<!DOCTYPE html><html><body><h1>Links for foo</h1>
<a href="../../files/foo-1.0-py3-none-any.whl#sha256=ABCDEF" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=00">foo-1.0-py3-none-any.whl</a><br/>
<A HREF='https://cdn/foo-0.9.tar.gz#md5=123' data-yanked>foo-0.9.tar.gz</A>
<a href="foo-0.8-py3-none-any.whl" data-yanked="broken &amp; bad">foo-0.8-py3-none-any.whl</a>
</body></html>"#;
        let files = parse_html(html, &page).files;
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].filename, "foo-1.0-py3-none-any.whl");
        assert_eq!(
            files[0].url.as_str(),
            "https://h/files/foo-1.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("abcdef"));
        assert_eq!(
            files[0].requires_python.as_ref().unwrap().to_string(),
            ">=3.8"
        );
        assert_eq!(files[0].yanked, None);
        assert_eq!(files[1].sha256, None);
        assert_eq!(files[1].yanked.as_deref(), Some(""));
        assert_eq!(
            files[2].url.as_str(),
            "https://h/simple/foo/foo-0.8-py3-none-any.whl"
        );
        assert_eq!(files[2].yanked.as_deref(), Some("broken & bad"));
    }

    #[test]
    fn parses_pep691_json() {
        let page = Url::parse("https://h/simple/foo/").unwrap();
        let json = r#"{"meta":{"api-version":"1.1"},"name":"foo","files":[
 {"filename":"foo-1.0-py3-none-any.whl","url":"/files/foo-1.0-py3-none-any.whl","hashes":{"sha256":"AB"},
  "requires-python":">=3.8","yanked":false,"upload-time":"2024-01-02T03:04:05.123456Z","core-metadata":{"sha256":"x"}},
 {"filename":"foo-0.9-py3-none-any.whl","url":"https://cdn/foo-0.9-py3-none-any.whl","hashes":{},"yanked":"oops"},
 {"filename":"foo-0.8-py3-none-any.whl","url":"x","hashes":{},"yanked":true,"requires-python":"not a spec"}]}"#;
        let files = parse_json(json, &page).unwrap().files;
        assert_eq!(
            files[0].url.as_str(),
            "https://h/files/foo-1.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("ab"));
        assert_eq!(files[0].upload_time, Some(1704164645));
        assert_eq!(files[1].yanked.as_deref(), Some("oops"));
        assert_eq!(files[2].yanked.as_deref(), Some(""));
        assert_eq!(files[2].requires_python, None);
    }

    #[test]
    fn unescapes() {
        assert_eq!(
            unescape("&lt;4,&gt;=3.8 &#38; &#x26; &bogus; &"),
            "<4,>=3.8 & & &bogus; &"
        );
        assert_eq!(percent_decode("a%2Bb%zz%"), "a+b%zz%");
        // A sign is not a hex digit: `%+1` is not the byte 0x01.
        assert_eq!(percent_decode("x%+1-1.0.whl"), "x%+1-1.0.whl");
        assert_eq!(percent_decode("x%FF.whl"), "x\u{fffd}.whl");
    }

    fn file(name: &str) -> DistFile {
        DistFile {
            filename: name.into(),
            url: Url::parse(&format!("https://h/{name}")).unwrap(),
            sha256: None,
            requires_python: None,
            yanked: None,
            upload_time: None,
            local: false,
        }
    }

    fn pick(files: Vec<DistFile>, spec: &str, pre: bool) -> Result<Candidate> {
        let t = Target::named("bookworm", "amd64").unwrap();
        select(
            "foo",
            &VersionSpecifiers::from_str(spec).unwrap(),
            &t,
            pre,
            files,
            &Recorder::default(),
        )
    }

    #[test]
    fn newest_then_most_specific() {
        let c = pick(
            vec![
                file("foo-2.0-py3-none-any.whl"),
                file("foo-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
                file("foo-2.0-cp39-abi3-manylinux_2_28_x86_64.whl"),
                file("foo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
            ],
            "",
            false,
        )
        .unwrap();
        assert_eq!(
            c.file.filename,
            "foo-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"
        );
        assert_eq!(c.name, "foo");
    }

    #[test]
    fn yanked_only_when_pinned() {
        let mut y = file("foo-2.0-py3-none-any.whl");
        y.yanked = Some("bad".into());
        let files = vec![y, file("foo-1.0-py3-none-any.whl")];
        assert_eq!(
            pick(files.clone(), "", false).unwrap().version.to_string(),
            "1.0"
        );
        assert_eq!(
            pick(files.clone(), "==2.0", false)
                .unwrap()
                .version
                .to_string(),
            "2.0"
        );
        let e = pick(files, ">=2", false).unwrap_err().to_string();
        assert!(e.contains("yanked: bad"), "{e}");
    }

    #[test]
    fn prereleases_follow_pip() {
        let files = vec![
            file("foo-2.0b1-py3-none-any.whl"),
            file("foo-1.0-py3-none-any.whl"),
        ];
        assert_eq!(
            pick(files.clone(), "", false).unwrap().version.to_string(),
            "1.0"
        );
        assert_eq!(
            pick(files.clone(), "", true).unwrap().version.to_string(),
            "2.0b1"
        );
        assert_eq!(
            pick(files.clone(), ">=2.0b1", false)
                .unwrap()
                .version
                .to_string(),
            "2.0b1"
        );
        // Excluding a pre-release does not ask for pre-releases.
        assert_eq!(
            pick(files.clone(), "!=2.0b1", false)
                .unwrap()
                .version
                .to_string(),
            "1.0"
        );
        // Only pre-releases exist: still not without --pre (PEP 440).
        let e = pick(vec![file("foo-2.0b1-py3-none-any.whl")], "", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("pre-release") && e.contains("--pre"), "{e}");
        let e = pick(vec![file("foo-2.0.dev0-py3-none-any.whl")], ">1", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--pre"), "{e}");
        assert_eq!(
            pick(
                vec![file("foo-2.0.dev0-py3-none-any.whl")],
                "==2.0.dev0",
                false
            )
            .unwrap()
            .version
            .to_string(),
            "2.0.dev0"
        );
    }

    #[test]
    fn final_sdist_beats_prerelease_wheel() {
        let t = Target::named("bookworm", "amd64").unwrap();
        // pyhive: 0.7.0 only as an sdist, 0.7.0.dev0 as a wheel.
        let files = || {
            vec![
                file("PyHive-0.7.0.dev0-py3-none-any.whl"),
                file("PyHive-0.7.0.tar.gz"),
                file("PyHive-0.6.5.tar.gz"),
            ]
        };
        let any = VersionSpecifiers::from_str("").unwrap();
        for pre in [false, true] {
            let e = select("pyhive", &any, &t, pre, files(), &Recorder::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("0.7.0") && !e.contains("panicked"), "{e}");
            let (v, f) = select_sdist("pyhive", &any, &t, pre, files()).unwrap();
            assert_eq!(
                (v.to_string().as_str(), f.filename.as_str()),
                ("0.7.0", "PyHive-0.7.0.tar.gz")
            );
        }
        // A pre-release wheel newer than every final sdist is fine with --pre.
        let newer = vec![
            file("PyHive-0.8.0b1-py3-none-any.whl"),
            file("PyHive-0.7.0.tar.gz"),
        ];
        let c = select(
            "pyhive",
            &any,
            &t,
            true,
            newer.clone(),
            &Recorder::default(),
        )
        .unwrap();
        assert_eq!(c.version.to_string(), "0.8.0b1");
        assert!(select("pyhive", &any, &t, false, newer, &Recorder::default()).is_err());
    }

    #[test]
    fn sdist_version_handles_dashes() {
        assert_eq!(
            sdist_version("foo-bar-1.2.tar.gz", &PackageName::normalize("foo-bar")),
            Some(Version::from_str("1.2").unwrap())
        );
        assert_eq!(
            sdist_version("foo_bar-1.2.zip", &PackageName::normalize("foo-bar")),
            Some(Version::from_str("1.2").unwrap())
        );
        assert_eq!(
            sdist_version("foo-1.2.tar.gz", &PackageName::normalize("foo-bar")),
            None
        );
    }
}
