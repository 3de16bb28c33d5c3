//! The target release's binary package universe, read from its Debian repository indexes
//! (InRelease, `Packages`, `Contents`; Debian repository format,
//! <https://wiki.debian.org/DebianRepository/Format>).
//!
//! `host` reads what apt already downloaded (and verified) into `/var/lib/apt/lists`.
//! Named targets download `dists/<suite>/InRelease` from the mirror, verify its OpenPGP
//! signature with gpgv against the vendor's archive keys (carried in `data/keyrings/`, or
//! `--archive-keyring`), and read only the text gpgv reports as signed; every index it
//! lists is checked against its SHA256 there. Files are cached under
//! `<cache>/archive-v2/<vendor>/<suite>/`. A cached InRelease is trusted only as gpgv
//! verified it: after a successful check, `InRelease.verified` records the SHA256 of the
//! exact bytes checked and of the keyring, with the signed text gpgv wrote out, so a later
//! load of the same bytes against the same keys reads that text instead of running gpgv
//! again; any other bytes (a replaced or damaged copy) or keys are verified anew. Parsed
//! `Packages` are also cached in a compact TSV so that warm loads skip decompressing tens
//! of megabytes. Without a usable key the load fails, unless the user
//! passes `--allow-unverified-archive`.

pub mod contents;
pub mod lines;

use crate::debian::deb822;
use crate::debian::target::Target;
use crate::fsutil::write_atomic;
use crate::index::fetch::{
    Cache, Http, HttpOptions, HttpStatusError, ARCHIVE_BUCKET, DISTMAP_BUCKET,
};
use crate::report::Reporter;
use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::cell::OnceCell;
use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Beside a cached InRelease: what gpgv verified in it (see the module documentation).
const VERIFIED_MEMO: &str = "InRelease.verified";
const VERIFIED_HEADER: &str = "py2deb verified InRelease v1";

/// Debian's archive signing keys (bullseye to trixie), from the debian-archive-keyring
/// package; see `data/keyrings/README.md`.
const DEBIAN_KEYRING: &[u8] = include_bytes!("../../../data/keyrings/debian-archive-keyring.gpg");

/// Largest decompressed index accepted (Debian's biggest `Packages` is under 100 MB).
const MAX_INDEX_BYTES: u64 = 1 << 30;

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
    /// Use a mirror whose InRelease cannot be verified (no key, no gpgv, no or a bad
    /// signature), with a warning (`--allow-unverified-archive`). Off by default.
    pub allow_unverified: bool,
    /// The keyring (binary `.gpg` or armored) to verify InRelease with
    /// (`--archive-keyring`), instead of the vendor's keys py2deb carries.
    pub keyring: Option<PathBuf>,
    /// Timeouts and size caps for talking to the mirror.
    pub http: HttpOptions,
    /// Cache root (`--cache-dir`); [`Cache::default_root`] when `None`. Everything is
    /// kept in its [`ARCHIVE_BUCKET`] (the dist-info map in [`DISTMAP_BUCKET`]).
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
            allow_unverified: false,
            keyring: None,
            http: HttpOptions::default(),
            cache_dir: None,
        }
    }
}

impl ArchiveOptions {
    /// The cache (`cache_dir`, else [`Cache::default_root`]), created and tagged.
    fn cache(&self) -> Result<Cache> {
        match &self.cache_dir {
            Some(dir) => Cache::open(dir),
            None => Cache::open(Cache::default_root()?),
        }
    }
}

pub mod packages;
pub use packages::{Archive, PackageVersion};

impl Archive {
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
            .cache()?
            .bucket(ARCHIVE_BUCKET)
            .join("host")
            .join(format!("packages-{}.tsv", target.arch));
        let sources = lists.iter().map(|p| p.display().to_string()).collect();
        if let Some(mut a) = read_compact(&compact, &key) {
            a.sources = sources;
            return Ok(a);
        }
        let mut data = Vec::new();
        for p in &lists {
            let raw = fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            data.push(decompress(&raw).with_context(|| format!("decompressing {}", p.display()))?);
        }
        let mut a = Archive::from_packages(data.iter().map(Vec::as_slice), opts.with_depends);
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
        let mirror = Mirror::new(target, opts, reporter)?;
        let mut key = Sha256::new();
        key.update(opts.with_depends.to_string());
        let mut files = Vec::new();
        for suite in mirror.suites() {
            let Some(release) = mirror.release(&suite)? else {
                continue;
            };
            for comp in mirror.components() {
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
                files.push((suite.clone(), path, sha, release.by_hash));
            }
        }
        if files.is_empty() {
            bail!(
                "{} lists no {} Packages index for {}: check --mirror, --arch and --component",
                mirror.base,
                target.arch,
                target.name
            );
        }
        let key = hex::encode(key.finalize());
        let compact = mirror
            .dir(&target.name)
            .join(format!("packages-{}.tsv", target.arch));
        let sources: Vec<String> = files
            .iter()
            .map(|(s, p, _, _)| format!("{}/dists/{s}/{p}", mirror.base))
            .collect();
        if let Some(mut a) = read_compact(&compact, &key) {
            a.sources = sources;
            return Ok(a);
        }
        let mut data = Vec::new();
        for (suite, path, sha, by_hash) in &files {
            let local = mirror.fetch_verified(suite, path, sha, *by_hash)?;
            let raw = fs::read(&local)?;
            data.push(
                decompress(&raw).with_context(|| format!("decompressing {}", local.display()))?,
            );
        }
        let mut a = Archive::from_packages(data.iter().map(Vec::as_slice), opts.with_depends);
        a.sources = sources;
        let _ = write_compact(&compact, &key, &a);
        Ok(a)
    }
}

/// The package names a relation field mentions, alternatives included, without versions
/// or architecture qualifiers: `a (>= 1) | b:any, c` → `a`, `b`, `c`. The one reading of
/// relation fields for who-depends-on-what questions.
pub fn relation_names(field: &str) -> impl Iterator<Item = &str> {
    field
        .split([',', '|'])
        .filter_map(|p| p.trim().split([' ', '(', ':']).next())
        .map(str::trim)
        .filter(|n| !n.is_empty())
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
/// At most [`MAX_INDEX_BYTES`] of output, so a compression bomb cannot exhaust memory.
pub fn decompress(raw: &[u8]) -> Result<Vec<u8>> {
    decompress_at_most(raw, MAX_INDEX_BYTES)
}

fn decompress_at_most(raw: &[u8], limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(1 << 28));
    let reader: Box<dyn Read + '_> = if raw.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else if raw.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Box::new(liblzma::read::XzDecoder::new(raw))
    } else if raw.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Box::new(lz4_flex::frame::FrameDecoder::new(raw))
    } else if raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::Decoder::new(raw)?)
    } else {
        Box::new(raw)
    };
    reader.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        bail!("the index decompresses to more than {limit} bytes; refusing it (a corrupt or hostile file?)");
    }
    Ok(out)
}

/// The compact cache of a universe (see [`packages::Archive::to_cache`]), memory-mapped.
fn read_compact(path: &Path, key: &str) -> Option<Archive> {
    Archive::from_cache(lines::Bytes::map(path).ok()?, key)
}

fn write_compact(path: &Path, key: &str, a: &Archive) -> Result<()> {
    write_atomic(path, &a.to_cache(key))
}

/// The parts of an InRelease file py2deb uses.
#[derive(Debug, Clone, Default)]
pub struct Release {
    /// `path → (sha256, size)` from the `SHA256:` section.
    pub sha256: HashMap<String, (String, u64)>,
    /// `Acquire-By-Hash: yes`: every index is also published under
    /// `<dir>/by-hash/SHA256/<sha256>`, which stays valid while the mirror syncs a newer
    /// release (the plain name then already holds the new file, and its hash no longer
    /// matches the InRelease in hand).
    pub by_hash: bool,
    /// `Suite` (`stable`) and `Codename` (`trixie`): the two names one release is published
    /// under.
    pub suite: String,
    pub codename: String,
}

impl Release {
    /// Parse the signed part of a clearsigned InRelease by the armor rules (RFC 9580
    /// §7), or a plain Release file. Used only for a release the user allowed to be
    /// unverified; a verified one is parsed from what gpgv output ([`Release::parse_plain`]).
    pub fn parse(text: &str) -> Release {
        Release::parse_plain(&cleartext(text))
    }

    /// Parse the fields of a Release file's text, as it is.
    pub fn parse_plain(text: &str) -> Release {
        let mut r = Release::default();
        let Some(release) = deb822::paragraphs(text.as_bytes()).next() else {
            return r;
        };
        let text_of = |k: &str| {
            String::from_utf8_lossy(release.get(k).unwrap_or_default())
                .trim()
                .to_owned()
        };
        r.suite = text_of("Suite");
        r.codename = text_of("Codename");
        r.by_hash = release
            .get("Acquire-By-Hash")
            .is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"yes"));
        let sha256 = release.get("SHA256").unwrap_or_default();
        for line in String::from_utf8_lossy(sha256).lines() {
            let mut f = line.split_whitespace();
            if let (Some(h), Some(size), Some(path)) = (f.next(), f.next(), f.next()) {
                r.sha256.insert(
                    path.to_owned(),
                    (h.to_ascii_lowercase(), size.parse().unwrap_or(0)),
                );
            }
        }
        r
    }
}

/// The signed text of a clearsigned message (`-----BEGIN PGP SIGNED MESSAGE-----`, armor
/// headers, a blank line, dash-escaped text up to `-----BEGIN PGP SIGNATURE-----`); the
/// whole text when it is not clearsigned. Anything before or after is not part of it.
pub fn cleartext(text: &str) -> String {
    let mut lines = text.lines();
    if !lines.any(|l| l.trim_end() == "-----BEGIN PGP SIGNED MESSAGE-----") {
        return text.to_owned();
    }
    // Armor headers (`Hash: SHA256`) end at the first empty line.
    for l in lines.by_ref() {
        if l.trim_end().is_empty() {
            break;
        }
    }
    let mut out = String::new();
    for l in lines {
        if l.trim_end() == "-----BEGIN PGP SIGNATURE-----" {
            break;
        }
        out.push_str(l.strip_prefix("- ").unwrap_or(l));
        out.push('\n');
    }
    out
}

/// The keys an InRelease is checked against.
enum Keyring {
    /// A file given by the user or installed on the system.
    File(PathBuf),
    /// Keys py2deb carries, written out for gpgv.
    Carried(tempfile::NamedTempFile),
}

impl Keyring {
    fn path(&self) -> &Path {
        match self {
            Keyring::File(p) => p,
            Keyring::Carried(f) => f.path(),
        }
    }
}

/// A named target's mirror (its Debian archive), with the cache in front of it. Not to be
/// confused with [`crate::repo::Repo`], the repository py2deb publishes.
pub(crate) struct Mirror<'a> {
    pub target: &'a Target,
    pub base: String,
    opts: &'a ArchiveOptions,
    reporter: &'a dyn Reporter,
    cache: Cache,
    http: OnceCell<Http>,
    keyring: OnceCell<Option<Keyring>>,
}

impl<'a> Mirror<'a> {
    pub fn new(
        target: &'a Target,
        opts: &'a ArchiveOptions,
        reporter: &'a dyn Reporter,
    ) -> Result<Self> {
        let base = opts
            .mirror
            .clone()
            .unwrap_or_else(|| target.mirror.clone())
            .trim_end_matches('/')
            .to_owned();
        Ok(Mirror {
            target,
            base,
            opts,
            reporter,
            cache: opts.cache()?,
            http: OnceCell::new(),
            keyring: OnceCell::new(),
        })
    }

    fn http(&self) -> Result<&Http> {
        if let Some(h) = self.http.get() {
            return Ok(h);
        }
        let h = Http::with_options(self.opts.http.clone())?;
        Ok(self.http.get_or_init(|| h))
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

    /// The cached files of one suite.
    pub fn dir(&self, suite: &str) -> PathBuf {
        self.cache
            .bucket(ARCHIVE_BUCKET)
            .join(&self.target.vendor)
            .join(suite)
    }

    /// Where the dist-info map derived from a suite's `Contents` is cached.
    pub fn distmap_path(&self, suite: &str) -> PathBuf {
        self.cache
            .bucket(DISTMAP_BUCKET)
            .join(&self.target.vendor)
            .join(suite)
            .join(format!("distmap-{}.tsv", self.target.arch))
    }

    /// Where the path index derived from a suite's `Contents` is cached.
    pub fn paths_path(&self, suite: &str) -> PathBuf {
        self.cache
            .bucket(contents::PATHS_BUCKET)
            .join(&self.target.vendor)
            .join(suite)
            .join(format!("paths-{}.txt", self.target.arch))
    }

    /// The suite's InRelease, verified, refreshed when older than `max_age` (conditional
    /// request), or `None` when the mirror has no such suite (e.g. no `-updates` yet).
    pub fn release(&self, suite: &str) -> Result<Option<Release>> {
        let dir = self.dir(suite);
        let path = dir.join("InRelease");
        let missing_marker = dir.join("InRelease.absent");
        let url = format!("{}/dists/{suite}/InRelease", self.base);
        let age = |p: &Path| {
            fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
        };
        let fresh = |p: &Path| age(p).is_some_and(|a| a < self.opts.max_age);
        // A cached InRelease is verified again unless these very bytes were verified
        // against these very keys before (see `remembered`): the cache is only a copy.
        let memo = dir.join(VERIFIED_MEMO);
        let cached = match fs::read(&path) {
            Ok(raw) => match self.verify(&raw, &url, Some(&memo)) {
                Ok(r) => Some(r),
                Err(e) if self.opts.offline => {
                    return Err(e.context(format!(
                        "the cached {} no longer verifies; run once without --offline to download it again",
                        path.display()
                    )))
                }
                Err(e) => {
                    self.reporter.warn(&format!(
                        "the cached {} does not verify ({e:#}); downloading it again",
                        path.display()
                    ));
                    None
                }
            },
            Err(_) => None,
        };
        if self.opts.offline || (cached.is_some() && fresh(&path)) || fresh(&missing_marker) {
            if let Some(r) = cached {
                return Ok(Some(r));
            }
            if missing_marker.exists() || suite != self.target.name {
                return Ok(None);
            }
            if self.opts.offline {
                bail!(
                    "no cached index for {} in {}: run once without --offline to download it",
                    self.target.name,
                    dir.display()
                );
            }
        }
        let validators = fs::read_to_string(dir.join("InRelease.validators")).unwrap_or_default();
        let mut lines = validators.lines();
        let (etag, modified) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
        let mut headers = Vec::new();
        if cached.is_some() {
            if !etag.is_empty() {
                headers.push(("If-None-Match", etag));
            }
            if !modified.is_empty() {
                headers.push(("If-Modified-Since", modified));
            }
        }
        let page = match self.http()?.get_page(&url, &headers) {
            Ok(p) => p,
            Err(e) => {
                let status = e.downcast_ref::<HttpStatusError>().map(|s| s.status);
                if status == Some(404) && suite != self.target.name {
                    write_atomic(&missing_marker, b"")?;
                    return Ok(None);
                }
                if let Some(r) = cached {
                    self.reporter
                        .warn(&format!("{e:#}; using the cached (verified) {url}"));
                    return Ok(Some(r));
                }
                if let Some(status) = status {
                    bail!("downloading {url}: HTTP {status}; check --mirror and the target name");
                }
                return Err(e.context(format!("downloading {url}; check the network or --mirror")));
            }
        };
        if page.status == 304 {
            if let Some(r) = cached {
                touch(&path);
                return Ok(Some(r));
            }
            bail!("{url}: the mirror answered 304 Not Modified to an unconditional request; use another --mirror");
        }
        let release = self.verify(&page.body, &url, Some(&memo))?;
        let (etag, modified) = (
            page.header(reqwest::header::ETAG).to_owned(),
            page.header(reqwest::header::LAST_MODIFIED).to_owned(),
        );
        write_atomic(&path, &page.body)?;
        write_atomic(
            &dir.join("InRelease.validators"),
            format!("{etag}\n{modified}\n").as_bytes(),
        )?;
        let _ = fs::remove_file(&missing_marker);
        Ok(Some(release))
    }

    /// The keys to check this target's InRelease with: `--archive-keyring`, else the keys
    /// py2deb carries for the vendor, else the vendor's keyring package when installed.
    fn keyring(&self) -> Result<Option<&Keyring>> {
        if let Some(k) = self.keyring.get() {
            return Ok(k.as_ref());
        }
        let k = if let Some(p) = &self.opts.keyring {
            if !p.is_file() {
                bail!(
                    "--archive-keyring {}: no such file. Give the keyring (.gpg) of the mirror's signing keys",
                    p.display()
                );
            }
            Some(Keyring::File(p.clone()))
        } else if self.target.vendor == "debian" {
            let mut f = tempfile::Builder::new()
                .prefix("py2deb-keyring-")
                .suffix(".gpg")
                .tempfile()
                .context("writing the Debian archive keyring to a temporary file")?;
            f.write_all(DEBIAN_KEYRING)?;
            f.flush()?;
            Some(Keyring::Carried(f))
        } else {
            let system = PathBuf::from(format!(
                "/usr/share/keyrings/{}-archive-keyring.gpg",
                self.target.vendor
            ));
            system.is_file().then_some(Keyring::File(system))
        };
        Ok(self.keyring.get_or_init(|| k).as_ref())
    }

    /// Verify a clearsigned InRelease and parse only what the signature covers: the text
    /// gpgv writes out after checking it. Whatever else the file holds (text before or
    /// after the signed block) is never read. Failure is an error unless the user allowed
    /// unverified archives; then it is a warning and the armor's signed part is parsed.
    ///
    /// With `memo`, a verification of the same bytes against the same keys recorded there
    /// stands in for gpgv, and a new successful one is recorded.
    fn verify(&self, signed: &[u8], url: &str, memo: Option<&Path>) -> Result<Release> {
        let remembered = memo.and_then(|m| self.remembered(signed, m));
        let text = match remembered {
            Some(text) => Ok(text),
            None => self.verified_text(signed, url).inspect(|text| {
                if let Some(m) = memo {
                    self.remember(signed, m, text);
                }
            }),
        };
        match text {
            Ok(text) => Ok(Release::parse_plain(&text)),
            Err(e) if self.opts.allow_unverified => {
                self.reporter.warn(&format!(
                    "{e:#}; using it UNVERIFIED because of --allow-unverified-archive"
                ));
                Ok(Release::parse(&String::from_utf8_lossy(signed)))
            }
            Err(e) => Err(e),
        }
    }

    /// The SHA256 of the keys [`Mirror::keyring`] would hand to gpgv, found without
    /// writing the carried keys out; `None` when there are none (nothing verifies then).
    fn keyring_digest(&self) -> Option<String> {
        let bytes = if let Some(p) = &self.opts.keyring {
            fs::read(p).ok()?
        } else if self.target.vendor == "debian" {
            DEBIAN_KEYRING.to_vec()
        } else {
            fs::read(format!(
                "/usr/share/keyrings/{}-archive-keyring.gpg",
                self.target.vendor
            ))
            .ok()?
        };
        Some(hex::encode(Sha256::digest(bytes)))
    }

    /// The signed text of `signed` as recorded in `memo` by an earlier successful gpgv
    /// check of exactly these bytes against exactly these keys; `None` otherwise.
    fn remembered(&self, signed: &[u8], memo: &Path) -> Option<String> {
        let record = fs::read_to_string(memo).ok()?;
        let mut parts = record.splitn(4, '\n');
        let (head, input, keys, text) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let input_ok = input.strip_prefix("input ")? == hex::encode(Sha256::digest(signed));
        let keys_ok = keys.strip_prefix("keyring ")? == self.keyring_digest()?;
        (head == VERIFIED_HEADER && input_ok && keys_ok).then(|| text.to_owned())
    }

    /// Record that gpgv accepted `signed` and wrote out `text`. Best effort: without the
    /// record the next load simply runs gpgv again.
    fn remember(&self, signed: &[u8], memo: &Path, text: &str) {
        let Some(keys) = self.keyring_digest() else {
            return;
        };
        let record = format!(
            "{VERIFIED_HEADER}\ninput {}\nkeyring {keys}\n{text}",
            hex::encode(Sha256::digest(signed))
        );
        let _ = write_atomic(memo, record.as_bytes());
    }

    fn verified_text(&self, signed: &[u8], url: &str) -> Result<String> {
        let vendor = &self.target.vendor;
        let Some(keyring) = self.keyring()? else {
            bail!(
                "{url}: cannot check the signature: py2deb carries no archive keys for `{vendor}` and \
                 /usr/share/keyrings/{vendor}-archive-keyring.gpg is not installed. Install the {vendor} keyring \
                 package ({vendor}-keyring), pass its keyring with --archive-keyring FILE, or accept an \
                 unverified archive with --allow-unverified-archive"
            );
        };
        let tmp = tempfile::tempdir().context("creating a temporary directory for gpgv")?;
        let input = tmp.path().join("InRelease");
        let output = tmp.path().join("Release");
        fs::write(&input, signed)?;
        let run = Command::new("gpgv")
            .env("GNUPGHOME", tmp.path())
            .arg("--homedir")
            .arg(tmp.path())
            .args(["--status-fd", "1", "--output"])
            .arg(&output)
            .arg("--keyring")
            .arg(keyring.path())
            .arg(&input)
            .output();
        let out = match run {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "{url}: cannot check the signature: gpgv is not installed. Install it (`apt install gpgv`), or \
                 accept an unverified archive with --allow-unverified-archive"
            ),
            Err(e) => bail!("{url}: running gpgv: {e}"),
        };
        let status = String::from_utf8_lossy(&out.stdout);
        let has = |tag: &str| {
            status.lines().any(|l| {
                l.strip_prefix("[GNUPG:] ")
                    .is_some_and(|r| r.starts_with(tag))
            })
        };
        // As apt: at least one good signature by a key in the keyring (GOODSIG is not
        // given for expired or revoked keys), and no bad one. Signatures by keys the
        // keyring lacks (a new release key) are ignored.
        let good = has("GOODSIG ") && has("VALIDSIG ") && !has("BADSIG ");
        if !good {
            let why = String::from_utf8_lossy(&out.stderr);
            bail!(
                "{url}: the signature does not verify against {}:\n{}\nUse another --mirror, or give the right keys with \
                 --archive-keyring",
                match keyring {
                    Keyring::File(p) => p.display().to_string(),
                    Keyring::Carried(_) => format!("the {vendor} archive keys py2deb carries"),
                },
                why.trim()
            );
        }
        let text =
            fs::read(&output).with_context(|| format!("{url}: reading what gpgv verified"))?;
        String::from_utf8(text).map_err(|_| {
            anyhow!("{url}: the signed text is not UTF-8, so it is not a Release file")
        })
    }

    /// A file listed in the suite's InRelease, from the cache when its hash still matches,
    /// else downloaded and checked against `sha256`: from its by-hash name when the release
    /// has them (`by_hash`), so that a mirror in the middle of a sync still serves the file
    /// this InRelease names, and from its plain name when that is missing.
    pub fn fetch_verified(
        &self,
        suite: &str,
        path: &str,
        sha256: &str,
        by_hash: bool,
    ) -> Result<PathBuf> {
        let local = self.dir(suite).join(path.replace('/', "_"));
        if let Ok(got) = crate::index::fetch::sha256_file(&local) {
            if got == sha256 {
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
        let dir = local.parent().context("cache path has no parent")?;
        fs::create_dir_all(dir)
            .with_context(|| format!("creating cache directory {}", dir.display()))?;
        let mut sink = crate::index::fetch::HashedFile::new_in(dir)?;
        let hashed = by_hash_path(path, sha256).map(|p| format!("{}/dists/{suite}/{p}", self.base));
        let mut fetched = false;
        if let Some(hashed) = hashed.filter(|_| by_hash) {
            self.reporter.info(&format!("downloading {hashed}"));
            match self
                .http()?
                .download(&hashed, None, &url, self.reporter, &mut sink)
            {
                Ok(_) => fetched = true,
                // Announced but not there (a partial mirror): the plain name may still
                // be the right file; its hash decides.
                Err(e)
                    if e.downcast_ref::<HttpStatusError>()
                        .is_some_and(|s| s.status == 404) =>
                {
                    sink = crate::index::fetch::HashedFile::new_in(dir)?;
                }
                Err(e) => {
                    return Err(e.context(format!("check the network or --mirror ({hashed})")))
                }
            }
        }
        if !fetched {
            self.reporter.info(&format!("downloading {url}"));
            self.http()?
                .download(&url, None, &url, self.reporter, &mut sink)
                .with_context(|| format!("check the network or --mirror ({url})"))?;
        }
        let (tmp, got) = sink.finish()?;
        if got != sha256 && self.named_by_other_name(suite, path, &got)? {
            // Verified all the same: a signed Release of this very release lists it.
        } else if got != sha256 {
            bail!(
                "{url}: SHA256 {got} does not match {sha256} from InRelease; the mirror may be syncing, retry later or use another --mirror"
            );
        }
        tmp.persist(&local)
            .map_err(|e| anyhow!("writing {}: {}", local.display(), e.error))?;
        Ok(local)
    }
}

impl Mirror<'_> {
    /// Whether `path` with hash `got` is what the release's other name lists (`stable` for
    /// `trixie`, or the other way round): a mirror, or a cache in front of it, may hold the
    /// two names' InRelease at different generations, and the file then matches the one it
    /// was published with. That InRelease is verified like any other and must name the same
    /// `Codename`, so the file is still one the archive signed for this release.
    fn named_by_other_name(&self, suite: &str, path: &str, got: &str) -> Result<bool> {
        let Some(ours) = self.release(suite)? else {
            return Ok(false);
        };
        if ours.codename.is_empty() {
            return Ok(false);
        }
        for other in [&ours.suite, &ours.codename] {
            let valid = !other.is_empty()
                && other.as_str() != suite
                && other
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
            if !valid {
                continue;
            }
            let Some(theirs) = self.release(other)? else {
                continue;
            };
            if theirs.codename == ours.codename
                && theirs.sha256.get(path).is_some_and(|(h, _)| h == got)
            {
                self.reporter.info(&format!(
                    "{}/dists/{suite}/{path} is the one {}/dists/{other}/InRelease lists \
                     (the mirror holds {suite}'s and {other}'s InRelease at different \
                     generations)",
                    self.base, self.base
                ));
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// `main/Contents-all.gz` → `main/by-hash/SHA256/<sha256>` (Debian repository format,
/// "by-hash"); `None` for a hash that is not 64 hex digits, which must not reach a URL.
fn by_hash_path(path: &str, sha256: &str) -> Option<String> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    Some(if dir.is_empty() {
        format!("by-hash/SHA256/{sha256}")
    } else {
        format!("{dir}/by-hash/SHA256/{sha256}")
    })
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
    fn hostile_text_outside_the_armor_is_not_release_text() {
        let forged = " 00 1 main/binary-amd64/Packages.xz";
        let text = format!(
            "SHA256:\n{forged}\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nSHA256:\n ab 12 main/binary-amd64/Packages.gz\n- -dash escaped\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\nSHA256:\n{forged}\n"
        );
        let clear = cleartext(&text);
        assert_eq!(
            clear,
            "SHA256:\n ab 12 main/binary-amd64/Packages.gz\n-dash escaped\n"
        );
        let r = Release::parse(&text);
        assert_eq!(r.sha256.len(), 1);
        assert!(r.sha256.contains_key("main/binary-amd64/Packages.gz"));
    }

    #[test]
    fn hostile_compression_bomb_is_capped() {
        let zeros = vec![0u8; 1 << 20];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&zeros).unwrap();
        let gz = gz.finish().unwrap();
        for bomb in [zstd::encode_all(&zeros[..], 19).unwrap(), gz] {
            assert!(bomb.len() < 20_000);
            let e = decompress_at_most(&bomb, 64 * 1024)
                .unwrap_err()
                .to_string();
            assert!(e.contains("more than 65536 bytes"), "{e}");
            assert_eq!(decompress_at_most(&bomb, 1 << 20).unwrap().len(), 1 << 20);
        }
    }

    #[test]
    fn packages_reader_keeps_wrapped_fields_and_skips_junk() {
        let mut a = Archive::default();
        a.add_packages(
            b"Package: a\r\nVersion: 1\r\nArchitecture: all\r\nDepends: b,\n c (>= 2)\nProvides: x\r\n\r\n\
              garbage without colon\n Version: 9\n\nVersion: 3\n\n\n\nPackage: d\nVersion: 2\nArchitecture: amd64",
            true,
        );
        assert_eq!(a.len(), 2);
        let v = a.newest("a").unwrap();
        assert_eq!((v.version.as_str(), v.arch.as_str()), ("1", "all"));
        assert_eq!(v.provides, ["x"]);
        assert_eq!(a.reverse_depends("c"), ["a"]);
        assert_eq!(a.newest("d").unwrap().version, "2");
    }

    #[test]
    fn by_hash_names() {
        let sha = "0c2e2d099588073221d6eebb0a84e950f1728818faf527de9034d0116f7a8221";
        assert_eq!(
            by_hash_path("main/Contents-all.gz", sha).unwrap(),
            format!("main/by-hash/SHA256/{sha}")
        );
        assert_eq!(
            by_hash_path("main/binary-amd64/Packages.xz", sha).unwrap(),
            format!("main/binary-amd64/by-hash/SHA256/{sha}")
        );
        assert!(by_hash_path("main/Packages", "../../x").is_none());
        let r = Release::parse_plain("Acquire-By-Hash: yes\nSHA256:\n 00 1 main/x\n");
        assert!(r.by_hash);
        assert!(!Release::parse_plain("SHA256:\n 00 1 main/x\n").by_hash);
    }

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
