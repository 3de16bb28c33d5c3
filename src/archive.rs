//! The target release's binary package universe, read from its Debian repository indexes
//! (InRelease, `Packages`, `Contents`; Debian repository format,
//! <https://wiki.debian.org/DebianRepository/Format>).
//!
//! `host` reads what apt already downloaded into `/var/lib/apt/lists`. Named targets
//! download `dists/<suite>/InRelease` and the indexes it lists from the mirror, check each
//! against InRelease's SHA256 list, and cache them under
//! `<cache>/archive/<vendor>/<suite>/`. Parsed `Packages` are also cached in a compact TSV
//! so that warm loads skip decompressing tens of megabytes.

use crate::report::Reporter;
use crate::target::Target;
use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Bump when the compact cache layout changes so old caches are ignored, not misread.
const CACHE_FORMAT: &str = "py2deb-packages-v2";

/// How a target's indexes are found and refreshed.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// Mirror base URL (`--mirror`); the target's default when `None`.
    pub mirror: Option<String>,
    /// Extra components (`--component`) besides the vendor's defaults.
    pub components: Vec<String>,
    /// Never touch the network (`--offline`): use the cache however old it is.
    pub offline: bool,
    /// A cached InRelease younger than this is used without asking the mirror.
    pub max_age: Duration,
    /// Keep each package's `Depends` (costs memory and load time; off by default).
    pub with_depends: bool,
    /// Where apt keeps its lists for the `host` target.
    pub lists_dir: PathBuf,
    /// Check InRelease signatures with gpgv and the vendor keyring (off only for
    /// unsigned local test repositories).
    pub check_signatures: bool,
    /// Cache root; [`cache_root`] when `None`.
    pub cache_dir: Option<PathBuf>,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            mirror: None,
            components: Vec::new(),
            offline: false,
            max_age: Duration::from_secs(24 * 3600),
            with_depends: false,
            lists_dir: PathBuf::from("/var/lib/apt/lists"),
            check_signatures: true,
            cache_dir: None,
        }
    }
}

impl ArchiveOptions {
    fn cache(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(cache_root)
    }
}

/// `$PY2DEB_CACHE_DIR`, else `$XDG_CACHE_HOME/py2deb` (`~/.cache/py2deb`).
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PY2DEB_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("py2deb")
}

/// One version of a binary package as a `Packages` stanza describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageVersion {
    /// Full Debian version (`1:2.0-3`).
    pub version: String,
    /// `all` or the architecture.
    pub arch: String,
    /// Names this package provides (version constraints dropped).
    pub provides: Vec<String>,
    /// The raw `Depends` field, when [`ArchiveOptions::with_depends`] was set.
    pub depends: Option<String>,
    /// The raw `Pre-Depends`, `Breaks` and `Priority` fields, with `Depends` (what a
    /// replacement of another package must keep satisfied).
    pub pre_depends: Option<String>,
    pub breaks: Option<String>,
    pub priority: Option<String>,
}

/// A multiply-rotate hash for package names. The default SipHash dominated load time
/// (60 000+ names per index); flooding resistance buys nothing here because the indexes
/// are hash-checked against the release file before they are read.
#[derive(Debug, Default, Clone, Copy)]
pub struct NameHash;

impl BuildHasher for NameHash {
    type Hasher = NameHasher;
    fn build_hasher(&self) -> NameHasher {
        NameHasher(0)
    }
}

#[doc(hidden)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every binary package the target can install, by name.
#[derive(Debug, Default, Clone)]
pub struct Archive {
    packages: HashMap<String, Vec<PackageVersion>, NameHash>,
    provided_by: HashMap<String, Vec<String>, NameHash>,
    /// Human-readable list of the indexes this was read from.
    pub sources: Vec<String>,
}

impl Archive {
    /// An archive from the text of one or more `Packages` files (tests, fixtures).
    pub fn from_packages_text(text: &str) -> Archive {
        let mut a = Archive::default();
        a.add_packages(text.as_bytes(), true);
        a
    }

    /// Add the stanzas of a decompressed `Packages` file. Only the fields the mapping
    /// needs are looked at, which keeps a 60 000-stanza file well under 100 ms.
    pub fn add_packages(&mut self, data: &[u8], with_depends: bool) {
        let mut name: &[u8] = b"";
        let mut version: &[u8] = b"";
        let mut arch: &[u8] = b"";
        let mut provides: &[u8] = b"";
        let mut depends: Option<&[u8]> = None;
        let mut pre_depends: Option<&[u8]> = None;
        let mut breaks: Option<&[u8]> = None;
        let mut priority: Option<&[u8]> = None;
        for line in data.split(|&b| b == b'\n').chain(std::iter::once(&b""[..])) {
            if line.is_empty() || line == b"\r" {
                if !name.is_empty() {
                    self.insert(
                        lossy(name),
                        PackageVersion {
                            version: lossy(version),
                            arch: lossy(arch),
                            provides: split_names(&lossy(provides)),
                            depends: depends.map(lossy),
                            pre_depends: pre_depends.map(lossy),
                            breaks: breaks.map(lossy),
                            priority: priority.map(lossy),
                        },
                    );
                }
                (name, version, arch, provides, depends) = (b"", b"", b"", b"", None);
                (pre_depends, breaks, priority) = (None, None, None);
                continue;
            }
            // Continuation lines start with a space; none of the fields read here use them
            // except Depends/Provides, which dpkg writes on one line in Packages files.
            match line[0] {
                b'P' => {
                    if let Some(v) = line.strip_prefix(b"Package:") {
                        name = v.trim_ascii();
                    } else if let Some(v) = line.strip_prefix(b"Provides:") {
                        provides = v.trim_ascii();
                    } else if !with_depends {
                    } else if let Some(v) = line.strip_prefix(b"Pre-Depends:") {
                        pre_depends = Some(v.trim_ascii());
                    } else if let Some(v) = line.strip_prefix(b"Priority:") {
                        priority = Some(v.trim_ascii());
                    }
                }
                b'B' if with_depends => {
                    if let Some(v) = line.strip_prefix(b"Breaks:") {
                        breaks = Some(v.trim_ascii());
                    }
                }
                b'V' => {
                    if let Some(v) = line.strip_prefix(b"Version:") {
                        version = v.trim_ascii();
                    }
                }
                b'A' => {
                    if let Some(v) = line.strip_prefix(b"Architecture:") {
                        arch = v.trim_ascii();
                    }
                }
                b'D' if with_depends => {
                    if let Some(v) = line.strip_prefix(b"Depends:") {
                        depends = Some(v.trim_ascii());
                    }
                }
                _ => {}
            }
        }
    }

    fn insert(&mut self, name: String, pv: PackageVersion) {
        for p in &pv.provides {
            let by = self.provided_by.entry(p.clone()).or_default();
            if !by.contains(&name) {
                by.push(name.clone());
            }
        }
        let versions = self.packages.entry(name).or_default();
        // The same version shows up in several suites (bookworm and bookworm-updates).
        if !versions
            .iter()
            .any(|v| v.version == pv.version && v.arch == pv.arch)
        {
            versions.push(pv);
        }
    }

    /// Every version of `name` the target's indexes list.
    pub fn versions(&self, name: &str) -> &[PackageVersion] {
        self.packages.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Does a real (not only virtual) package of this name exist?
    pub fn contains(&self, name: &str) -> bool {
        self.packages.contains_key(name)
    }

    /// The version apt would install by default: the highest (dpkg ordering).
    pub fn newest(&self, name: &str) -> Option<&PackageVersion> {
        self.versions(name)
            .iter()
            .max_by(|a, b| compare_debian(&a.version, &b.version))
    }

    /// Real packages that list `name` in Provides.
    pub fn providers(&self, name: &str) -> &[String] {
        self.provided_by.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Number of distinct package names.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// Packages whose Depends name `package` (only when loaded with `with_depends`):
    /// what may break if a package of that name is replaced.
    pub fn reverse_depends(&self, package: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .packages
            .iter()
            .filter(|(_, versions)| {
                versions.iter().any(|v| {
                    v.depends.as_deref().is_some_and(|d| {
                        d.split([',', '|']).any(|dep| {
                            let name = dep.trim().split([' ', '(', ':']).next().unwrap_or("");
                            name == package
                        })
                    })
                })
            })
            .map(|(name, _)| name.clone())
            .collect();
        out.sort();
        out
    }

    /// The newest version of every package, by name (only meaningful for relations when
    /// loaded with `with_depends`).
    pub fn newest_of_each(&self) -> impl Iterator<Item = (&str, &PackageVersion)> {
        self.packages.iter().filter_map(|(name, versions)| {
            versions
                .iter()
                .max_by(|a, b| compare_debian(&a.version, &b.version))
                .map(|v| (name.as_str(), v))
        })
    }

    /// Load the host's universe from apt's lists (every `*_binary-<arch>_Packages*` file
    /// in `opts.lists_dir`, in whatever compression apt left them).
    pub fn load_host(target: &Target, opts: &ArchiveOptions) -> Result<Archive> {
        let dir = &opts.lists_dir;
        let mut lists = Vec::new();
        let entries = fs::read_dir(dir).with_context(|| {
            format!(
                "reading apt lists in {}: run `apt-get update` first",
                dir.display()
            )
        })?;
        for e in entries {
            let e = e?;
            let file = e.file_name().to_string_lossy().into_owned();
            if is_packages_list(&file, &target.arch) {
                lists.push(e.path());
            }
        }
        if lists.is_empty() {
            bail!(
                "no package lists for {} in {}: run `apt-get update` (as root) so py2deb can see what the host ships",
                target.arch,
                dir.display()
            );
        }
        lists.sort();
        // Key the compact cache on each list's path, size and mtime: apt rewrites a list
        // whenever it changes.
        let mut key = Sha256::new();
        key.update(opts.with_depends.to_string());
        for p in &lists {
            let m = fs::metadata(p)?;
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok());
            key.update(format!("{}\0{}\0{:?}\n", p.display(), m.len(), mtime));
        }
        let key = hex::encode(key.finalize());
        let compact = opts
            .cache()
            .join("archive/host")
            .join(format!("packages-{}.tsv", target.arch));
        let sources = lists.iter().map(|p| p.display().to_string()).collect();
        if let Some(mut a) = read_compact(&compact, &key) {
            a.sources = sources;
            return Ok(a);
        }
        let mut a = Archive::default();
        for p in &lists {
            let raw = fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let data =
                decompress(&raw).with_context(|| format!("decompressing {}", p.display()))?;
            a.add_packages(&data, opts.with_depends);
        }
        a.sources = sources;
        // A cache that cannot be written only costs time on the next run.
        let _ = write_compact(&compact, &key, &a);
        Ok(a)
    }

    /// Load a named release's universe from its mirror (or the cache).
    pub fn load_remote(
        target: &Target,
        opts: &ArchiveOptions,
        reporter: &dyn Reporter,
    ) -> Result<Archive> {
        let repo = Repo::new(target, opts, reporter);
        let mut key = Sha256::new();
        key.update(opts.with_depends.to_string());
        let mut files = Vec::new();
        for suite in repo.suites() {
            let Some(release) = repo.release(&suite)? else {
                continue;
            };
            for comp in repo.components() {
                let base = format!("{comp}/binary-{}/Packages", target.arch);
                let Some(path) = [".xz", ".gz", ""]
                    .iter()
                    .map(|ext| format!("{base}{ext}"))
                    .find(|p| release.sha256.contains_key(p))
                else {
                    continue;
                };
                let sha = release.sha256[&path].0.clone();
                key.update(format!("{suite}/{path}={sha}\n"));
                files.push((suite.clone(), path, sha));
            }
        }
        if files.is_empty() {
            bail!(
                "{} lists no {} Packages index for {}: check --mirror, --arch and --component",
                repo.base,
                target.arch,
                target.name
            );
        }
        let key = hex::encode(key.finalize());
        let compact = repo
            .dir(&target.name)
            .join(format!("packages-{}.tsv", target.arch));
        let sources: Vec<String> = files
            .iter()
            .map(|(s, p, _)| format!("{}/dists/{s}/{p}", repo.base))
            .collect();
        if let Some(mut a) = read_compact(&compact, &key) {
            a.sources = sources;
            return Ok(a);
        }
        let mut a = Archive::default();
        for (suite, path, sha) in &files {
            let local = repo.fetch_verified(suite, path, sha)?;
            let raw = fs::read(&local)?;
            let data =
                decompress(&raw).with_context(|| format!("decompressing {}", local.display()))?;
            a.add_packages(&data, opts.with_depends);
        }
        a.sources = sources;
        let _ = write_compact(&compact, &key, &a);
        Ok(a)
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `a (= 1), b:any, c` → `[a, b, c]`.
fn split_names(field: &str) -> Vec<String> {
    field
        .split([',', '|'])
        .filter_map(|p| {
            let n = p.trim().split([' ', '(', ':']).next()?.trim();
            (!n.is_empty()).then(|| n.to_owned())
        })
        .collect()
}

/// dpkg ordering; unparsable versions sort first so a broken stanza never wins.
pub fn compare_debian(a: &str, b: &str) -> std::cmp::Ordering {
    match (
        a.parse::<debversion::Version>(),
        b.parse::<debversion::Version>(),
    ) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// `deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4` and the like.
fn is_packages_list(file: &str, arch: &str) -> bool {
    let Some((stem, rest)) = file.split_once("_Packages") else {
        return false;
    };
    let ext_ok = matches!(rest, "" | ".gz" | ".xz" | ".lz4" | ".zst");
    ext_ok
        && file.contains("_dists_")
        && (stem.ends_with(&format!("_binary-{arch}")) || stem.ends_with("_binary-all"))
}

/// Decompress an index by its magic bytes: plain, gzip, xz, lz4 (frame) or zstd — the
/// compressions apt and Debian mirrors use.
pub fn decompress(raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() * 4);
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(raw).read_to_end(&mut out)?;
    } else if raw.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        liblzma::read::XzDecoder::new(raw).read_to_end(&mut out)?;
    } else if raw.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        lz4_flex::frame::FrameDecoder::new(raw).read_to_end(&mut out)?;
    } else if raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        out = zstd::stream::decode_all(raw)?;
    } else {
        out = raw.to_vec();
    }
    Ok(out)
}

/// Compact cache: a header line `<format>\t<key>`, then
/// `name\tversion\tarch\tprovides(comma-separated)\tdepends\tpre-depends\tbreaks\tpriority`
/// per package version.
fn read_compact(path: &Path, key: &str) -> Option<Archive> {
    let text = fs::read_to_string(path).ok()?;
    let (header, body) = text.split_once('\n')?;
    if header != format!("{CACHE_FORMAT}\t{key}") {
        return None;
    }
    let mut a = Archive::default();
    for line in body.lines() {
        let mut f = line.split('\t');
        let (Some(name), Some(version), Some(arch), Some(provides), Some(depends)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return None;
        };
        let provides = if provides.is_empty() {
            Vec::new()
        } else {
            provides.split(',').map(str::to_owned).collect()
        };
        let mut optional = || f.next().filter(|v| !v.is_empty()).map(str::to_owned);
        let (pre_depends, breaks, priority) = (optional(), optional(), optional());
        let depends = (!depends.is_empty()).then(|| depends.to_owned());
        a.insert(
            name.to_owned(),
            PackageVersion {
                version: version.into(),
                arch: arch.into(),
                provides,
                depends,
                pre_depends,
                breaks,
                priority,
            },
        );
    }
    Some(a)
}

fn write_compact(path: &Path, key: &str, a: &Archive) -> Result<()> {
    let mut out = String::with_capacity(a.len() * 48);
    out.push_str(&format!("{CACHE_FORMAT}\t{key}\n"));
    let mut names: Vec<&String> = a.packages.keys().collect();
    names.sort();
    for name in names {
        for v in &a.packages[name] {
            let field = |f: &Option<String>| f.as_deref().unwrap_or("").replace(['\t', '\n'], " ");
            out.push_str(&format!(
                "{name}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                v.version,
                v.arch,
                v.provides.join(","),
                field(&v.depends),
                field(&v.pre_depends),
                field(&v.breaks),
                field(&v.priority),
            ));
        }
    }
    write_atomic(path, out.as_bytes())
}

/// Write through a temporary file in the same directory so a concurrent reader never
/// sees half a file.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().context("cache path has no parent")?;
    fs::create_dir_all(dir)
        .with_context(|| format!("creating cache directory {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(data)?;
    tmp.persist(path)
        .map_err(|e| anyhow!("writing {}: {}", path.display(), e.error))?;
    Ok(())
}

/// The parts of an InRelease file py2deb uses.
#[derive(Debug, Clone, Default)]
pub struct Release {
    /// `path → (sha256, size)` from the `SHA256:` section.
    pub sha256: HashMap<String, (String, u64)>,
}

impl Release {
    /// Parse an InRelease (clearsigned) or Release file.
    pub fn parse(text: &str) -> Release {
        let mut r = Release::default();
        let mut in_sha = false;
        for line in text.lines() {
            if line.starts_with("-----BEGIN PGP SIGNATURE") {
                break;
            }
            if !line.starts_with(' ') {
                in_sha = line.trim_end() == "SHA256:";
                continue;
            }
            if in_sha {
                let mut f = line.split_whitespace();
                if let (Some(h), Some(size), Some(path)) = (f.next(), f.next(), f.next()) {
                    r.sha256.insert(
                        path.to_owned(),
                        (h.to_ascii_lowercase(), size.parse().unwrap_or(0)),
                    );
                }
            }
        }
        r
    }
}

/// A named target's mirror, with the cache in front of it.
pub(crate) struct Repo<'a> {
    pub target: &'a Target,
    pub base: String,
    opts: &'a ArchiveOptions,
    reporter: &'a dyn Reporter,
    cache: PathBuf,
}

impl<'a> Repo<'a> {
    pub fn new(target: &'a Target, opts: &'a ArchiveOptions, reporter: &'a dyn Reporter) -> Self {
        let base = opts
            .mirror
            .clone()
            .unwrap_or_else(|| target.mirror.clone())
            .trim_end_matches('/')
            .to_owned();
        Repo {
            target,
            base,
            opts,
            reporter,
            cache: opts.cache(),
        }
    }

    /// The release itself plus its stable-update suites (sid/unstable has none).
    pub fn suites(&self) -> Vec<String> {
        let t = &self.target.name;
        match (self.target.vendor.as_str(), t.as_str()) {
            (_, "sid" | "unstable") => vec![t.clone()],
            ("ubuntu", _) => vec![t.clone(), format!("{t}-updates"), format!("{t}-security")],
            _ => vec![t.clone(), format!("{t}-updates")],
        }
    }

    /// The vendor's default components plus `--component`s. Ubuntu keeps most Python
    /// libraries in universe.
    pub fn components(&self) -> Vec<String> {
        let mut c: Vec<String> = match self.target.vendor.as_str() {
            "ubuntu" => vec!["main".into(), "universe".into()],
            _ => vec!["main".into()],
        };
        for extra in &self.opts.components {
            if !c.contains(extra) {
                c.push(extra.clone());
            }
        }
        c
    }

    pub fn dir(&self, suite: &str) -> PathBuf {
        self.cache
            .join("archive")
            .join(&self.target.vendor)
            .join(suite)
    }

    /// The suite's InRelease, refreshed when older than `max_age` (conditional request),
    /// or `None` when the mirror has no such suite (e.g. no `-updates` yet).
    pub fn release(&self, suite: &str) -> Result<Option<Release>> {
        let dir = self.dir(suite);
        let path = dir.join("InRelease");
        let missing_marker = dir.join("InRelease.absent");
        let age = |p: &Path| {
            fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
        };
        let fresh = |p: &Path| age(p).is_some_and(|a| a < self.opts.max_age);
        if self.opts.offline || fresh(&path) || fresh(&missing_marker) {
            if path.exists() {
                return Ok(Some(Release::parse(&fs::read_to_string(&path)?)));
            }
            if missing_marker.exists() || suite != self.target.name {
                return Ok(None);
            }
            bail!(
                "no cached index for {} in {}: run once without --offline to download it",
                self.target.name,
                dir.display()
            );
        }
        let url = format!("{}/dists/{suite}/InRelease", self.base);
        let validators = fs::read_to_string(dir.join("InRelease.validators")).unwrap_or_default();
        let mut lines = validators.lines();
        let (etag, modified) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
        let client = client()?;
        let mut req = client.get(&url);
        if path.exists() {
            if !etag.is_empty() {
                req = req.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if !modified.is_empty() {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, modified);
            }
        }
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) if path.exists() => {
                self.reporter
                    .warn(&format!("{url}: {e}; using the cached index"));
                return Ok(Some(Release::parse(&fs::read_to_string(&path)?)));
            }
            Err(e) => {
                return Err(anyhow!(
                    "downloading {url}: {e}; check the network or --mirror"
                ))
            }
        };
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED && path.exists() {
            touch(&path);
            return Ok(Some(Release::parse(&fs::read_to_string(&path)?)));
        }
        if status == reqwest::StatusCode::NOT_FOUND && suite != self.target.name {
            write_atomic(&missing_marker, b"")?;
            return Ok(None);
        }
        if !status.is_success() {
            bail!("downloading {url}: HTTP {status}; check --mirror and the target name");
        }
        let header = |h| {
            resp.headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (etag, modified) = (
            header(reqwest::header::ETAG),
            header(reqwest::header::LAST_MODIFIED),
        );
        let body = resp.bytes().with_context(|| format!("downloading {url}"))?;
        let tmp_dir = tempfile::tempdir()?;
        let tmp = tmp_dir.path().join("InRelease");
        fs::write(&tmp, &body)?;
        self.check_signature(&tmp, &url)?;
        write_atomic(&path, &body)?;
        write_atomic(
            &dir.join("InRelease.validators"),
            format!("{etag}\n{modified}\n").as_bytes(),
        )?;
        let _ = fs::remove_file(&missing_marker);
        Ok(Some(Release::parse(&String::from_utf8_lossy(&body))))
    }

    /// Verify the clearsigned InRelease with the vendor's keyring when gpgv and the keyring
    /// are installed; otherwise say that only the hashes protect the indexes.
    fn check_signature(&self, file: &Path, url: &str) -> Result<()> {
        if !self.opts.check_signatures {
            return Ok(());
        }
        let keyring = match self.target.vendor.as_str() {
            "ubuntu" => "/usr/share/keyrings/ubuntu-archive-keyring.gpg",
            _ => "/usr/share/keyrings/debian-archive-keyring.gpg",
        };
        if !Path::new(keyring).exists() {
            self.reporter.warn(&format!(
                "{url}: signature not checked ({keyring} is missing; install the {}-archive-keyring package)",
                self.target.vendor
            ));
            return Ok(());
        }
        match Command::new("gpgv").arg("--keyring").arg(keyring).arg(file).output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => bail!(
                "{url}: the signature does not verify against {keyring}:\n{}\nuse another --mirror or update the keyring",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(_) => {
                self.reporter.warn(&format!("{url}: signature not checked (gpgv is not installed: `apt install gpgv`)"));
                Ok(())
            }
        }
    }

    /// A file listed in the suite's InRelease, from the cache when its hash still matches,
    /// else downloaded and checked against `sha256`.
    pub fn fetch_verified(&self, suite: &str, path: &str, sha256: &str) -> Result<PathBuf> {
        let local = self.dir(suite).join(path.replace('/', "_"));
        if let Ok(data) = fs::read(&local) {
            if hex::encode(Sha256::digest(&data)) == sha256 {
                return Ok(local);
            }
        }
        if self.opts.offline {
            bail!(
                "{} is not cached (or changed since): run once without --offline to download it",
                local.display()
            );
        }
        let url = format!("{}/dists/{suite}/{path}", self.base);
        self.reporter.info(&format!("downloading {url}"));
        let mut resp = client()?
            .get(&url)
            .send()
            .and_then(|r| r.error_for_status())
            .map_err(|e| anyhow!("downloading {url}: {e}; check the network or --mirror"))?;
        let progress = self.reporter.progress(&url, resp.content_length());
        let mut data = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = resp
                .read(&mut buf)
                .with_context(|| format!("downloading {url}"))?;
            if n == 0 {
                break;
            }
            data.extend_from_slice(&buf[..n]);
            progress.inc(n as u64);
        }
        progress.finish();
        let got = hex::encode(Sha256::digest(&data));
        if got != sha256 {
            bail!(
                "{url}: SHA256 {got} does not match {sha256} from InRelease; the mirror may be syncing, retry later or use another --mirror"
            );
        }
        write_atomic(&local, &data)?;
        Ok(local)
    }
}

fn client() -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .user_agent(concat!("py2deb/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(600))
        .connect_timeout(Duration::from_secs(20))
        .build()
        .context("setting up the HTTP client")
}

fn touch(path: &Path) {
    if let Ok(f) = fs::OpenOptions::new().append(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_hashes() {
        let r = Release::parse(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Debian\nMD5Sum:\n 00 1 main/x\nSHA256:\n ab 12 main/binary-amd64/Packages.xz\n-----BEGIN PGP SIGNATURE-----\n",
        );
        assert_eq!(r.sha256["main/binary-amd64/Packages.xz"], ("ab".into(), 12));
        assert!(!r.sha256.contains_key("main/x"));
    }

    #[test]
    fn recognises_apt_lists() {
        assert!(is_packages_list(
            "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
            "amd64"
        ));
        assert!(is_packages_list(
            "x_dists_bookworm-security_main_binary-amd64_Packages",
            "amd64"
        ));
        assert!(!is_packages_list(
            "x_dists_bookworm_main_binary-arm64_Packages",
            "amd64"
        ));
        assert!(!is_packages_list(
            "x_dists_bookworm_main_binary-amd64_Packages.diff_Index",
            "amd64"
        ));
        assert!(!is_packages_list("x_dists_bookworm_InRelease", "amd64"));
    }
}
