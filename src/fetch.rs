//! HTTP with retries, and the download cache (`~/.cache/py2deb`, keyed by the sha256 the
//! index publishes, PEP 503/691 hashes): a file whose hash is known and cached is never
//! downloaded again, so repeated builds work offline.

use crate::index::DistFile;
use crate::report::Reporter;
use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variable overriding the cache directory.
pub const CACHE_DIR_ENV: &str = "PY2DEB_CACHE_DIR";
/// Environment variable overriding the first retry delay, in milliseconds.
pub const RETRY_DELAY_ENV: &str = "PY2DEB_RETRY_DELAY_MS";

const USER_AGENT: &str = concat!("py2deb/", env!("CARGO_PKG_VERSION"));

/// Blocking HTTP client shared by every stage: user agent, timeouts, retries with backoff.
pub struct Http {
    pub client: reqwest::blocking::Client,
    /// Attempts per request (transient errors and 5xx only).
    pub retries: u32,
    /// Delay before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

/// A server answered with a status that is not success (after any retries). Callers
/// downcast to this to tell "not on this index" (404) from real failures.
#[derive(Debug, thiserror::Error)]
#[error("GET {url} failed: HTTP {status}{attempts}. {hint}")]
pub struct HttpStatusError {
    /// The URL with any credentials redacted.
    pub url: String,
    pub status: u16,
    attempts: String,
    hint: &'static str,
}

/// Replace the user-info of a URL (`user:secret@`) by `****@` so it can be shown.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_password(None);
            let _ = u.set_username("****");
            u.to_string()
        }
        Ok(u) => u.to_string(),
        // Not a URL: still never echo what looks like credentials.
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}****{}", &url[..s + 3], &url[at..]),
            _ => url.to_owned(),
        },
    }
}

fn retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => "Check the credentials in the index URL (https://user:password@host/…) and that they may read this index",
        404 => "Check the project name and --index-url",
        429 => "The index is rate-limiting requests; wait a little and try again",
        500..=599 => "The index had a server error; try again later, or use another --index-url",
        _ => "Check --index-url and any proxy settings (HTTPS_PROXY)",
    }
}

impl Http {
    /// A client with py2deb's user agent, generous timeouts, 3 attempts per request and a
    /// 500 ms first retry delay (`PY2DEB_RETRY_DELAY_MS` overrides it).
    pub fn new() -> Result<Http> {
        let client = reqwest::blocking::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(300))
            .build()
            .context("setting up the HTTP client (TLS roots or proxy settings)")?;
        let backoff = std::env::var(RETRY_DELAY_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_millis(500));
        Ok(Http {
            client,
            retries: 3,
            backoff,
        })
    }

    /// The same client with another first retry delay (tests use a few milliseconds).
    pub fn with_backoff(mut self, backoff: Duration) -> Http {
        self.backoff = backoff;
        self
    }

    /// GET `url` with extra headers, retrying transient failures. Errors name the URL.
    ///
    /// Connection errors, timeouts, 429 and 5xx are retried with exponential backoff; any
    /// other non-success status is returned at once as an [`HttpStatusError`]. Credentials
    /// in the URL are sent as HTTP basic auth and never appear in errors.
    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<reqwest::blocking::Response> {
        let shown = redact(url);
        let attempts = self.retries.max(1);
        let mut delay = self.backoff;
        for attempt in 1..=attempts {
            let mut req = self.client.get(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let last = attempt == attempts;
            match req.send() {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if retryable_status(status) && !last {
                        std::thread::sleep(delay);
                        delay *= 2;
                        continue;
                    }
                    let attempts = if retryable_status(status) {
                        format!(" (after {attempt} attempts)")
                    } else {
                        String::new()
                    };
                    return Err(HttpStatusError {
                        url: shown,
                        status,
                        attempts,
                        hint: status_hint(status),
                    }
                    .into());
                }
                Err(e) => {
                    let transient =
                        e.is_connect() || e.is_timeout() || e.is_request() || e.is_body();
                    if transient && !last {
                        std::thread::sleep(delay);
                        delay *= 2;
                        continue;
                    }
                    // `without_url`: the URL reqwest would print may carry credentials.
                    let e = e.without_url();
                    bail!(
                        "GET {shown} failed after {attempt} attempt(s): {}. Check the network connection, any proxy \
                         settings (HTTPS_PROXY), and that --index-url is right",
                        error_chain(&e)
                    );
                }
            }
        }
        unreachable!("the last attempt always returns")
    }
}

/// An error with its causes, `a: b: c`, so "connection refused" is not hidden.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let msg = c.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = c.source();
    }
    s
}

/// Content-addressed cache of downloaded files.
///
/// Layout: `files/sha256/<h[..2]>/<h>/<filename>` for files the index gave a hash for,
/// `files/url/<sha256 of url>/<filename>` (re-downloaded every time) for the rest. The
/// file name is kept because later stages parse it.
#[derive(Debug, Clone)]
pub struct Cache {
    pub root: PathBuf,
}

impl Cache {
    /// `$PY2DEB_CACHE_DIR`, else `$XDG_CACHE_HOME/py2deb` or `~/.cache/py2deb`.
    pub fn default_root() -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        let base = dirs::cache_dir()
            .context("no cache directory: set HOME, XDG_CACHE_HOME or PY2DEB_CACHE_DIR")?;
        Ok(base.join("py2deb"))
    }

    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// Where a file with this sha256 lives once cached.
    pub fn path_for_hash(&self, sha256: &str, filename: &str) -> PathBuf {
        let h = sha256.to_ascii_lowercase();
        self.root
            .join("files/sha256")
            .join(&h[..2.min(h.len())])
            .join(&h)
            .join(filename)
    }

    /// Where a file without a published hash is downloaded to.
    pub fn path_for_url(&self, url: &str, filename: &str) -> PathBuf {
        self.root
            .join("files/url")
            .join(hex::encode(Sha256::digest(url.as_bytes())))
            .join(filename)
    }
}

/// A file name from an index is untrusted: it must be one plain path component.
fn safe_filename(name: &str) -> Result<&str> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
        bail!(
            "refusing the file name `{}` from the index: it must be a plain file name",
            name.escape_debug()
        );
    }
    Ok(name)
}

fn valid_sha256(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())
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
    let filename = safe_filename(&file.filename)?;
    let expected = match &file.sha256 {
        Some(h) if !valid_sha256(h) => {
            bail!("the index gave `{h}` as the sha256 of {filename}; that is not 64 hex digits, so the file cannot be verified")
        }
        h => h.as_deref().map(str::to_ascii_lowercase),
    };

    if file.url.scheme() == "file" {
        let path = file
            .url
            .to_file_path()
            .map_err(|_| anyhow!("`{}` is not a usable local file URL", file.url))?;
        if let Some(want) = &expected {
            let got = sha256_file(&path)?;
            if &got != want {
                // Not ours to delete: report only.
                bail!("sha256 mismatch for {}: expected {want}, found {got}. The file changed since it was listed", path.display());
            }
        }
        return Ok(path);
    }

    let shown = redact(file.url.as_str());
    let dest = match &expected {
        Some(h) => {
            let p = cache.path_for_hash(h, filename);
            if p.is_file() {
                reporter.info(&format!("using cached {filename}"));
                return Ok(p);
            }
            p
        }
        None => {
            // Key by the URL without credentials so changing a password does not re-key.
            let mut key = file.url.clone();
            let _ = key.set_username("");
            let _ = key.set_password(None);
            cache.path_for_url(key.as_str(), filename)
        }
    };
    let dir = dest.parent().expect("cache paths have a parent");
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "creating the cache directory {} (set {CACHE_DIR_ENV} to use another)",
            dir.display()
        )
    })?;

    reporter.info(&format!("downloading {filename}"));
    let (tmp, got) = download(http, file.url.as_str(), &shown, dir, filename, reporter)?;
    if let Some(want) = &expected {
        if &got != want {
            // Dropping `tmp` deletes the download.
            drop(tmp);
            bail!(
                "sha256 mismatch for {filename} from {shown}: the index says {want}, the download is {got}. The download was \
                 deleted; the file may have been tampered with or corrupted in transit (a proxy?). Try again, or report it \
                 to the index"
            );
        }
    }
    // Rename within one directory: readers see either no file or the whole file.
    tmp.persist(&dest)
        .with_context(|| format!("storing {} in the cache", dest.display()))?;
    Ok(dest)
}

/// Stream `url` into a temp file in `dir`, hashing as it goes. A connection that breaks
/// mid-body is retried like a failed request.
fn download(
    http: &Http,
    url: &str,
    shown: &str,
    dir: &Path,
    filename: &str,
    reporter: &dyn Reporter,
) -> Result<(tempfile::NamedTempFile, String)> {
    let attempts = http.retries.max(1);
    let mut delay = http.backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut resp = http.get(url, &[])?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        let progress = reporter.progress(filename, resp.content_length());
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let result: std::io::Result<()> = (|| loop {
            let n = resp.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])?;
            progress.inc(n as u64);
        })();
        progress.finish();
        match result {
            Ok(()) => {
                tmp.as_file().sync_all().ok();
                return Ok((tmp, hex::encode(hasher.finalize())));
            }
            Err(_) if attempt < attempts => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            Err(e) => bail!(
                "downloading {shown} broke off after {attempt} attempts: {e}. Check the network connection and proxy settings"
            ),
        }
    }
}

/// sha256 of a file as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("opening {} to hash it", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut f, &mut hasher)
        .with_context(|| format!("reading {} to hash it", path.display()))?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact("https://user:s3cret@example.org/simple/"),
            "https://****@example.org/simple/"
        );
        assert_eq!(
            redact("https://token@example.org/simple/"),
            "https://****@example.org/simple/"
        );
        assert_eq!(
            redact("https://example.org/simple/"),
            "https://example.org/simple/"
        );
        assert!(!redact("not a url://u:pw@x").contains("pw"));
    }

    #[test]
    fn hashes_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn cache_layout_keeps_the_name() {
        let c = Cache::new("/c");
        let h = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            c.path_for_hash(h, "a-1-py3-none-any.whl"),
            PathBuf::from(format!("/c/files/sha256/ba/{h}/a-1-py3-none-any.whl"))
        );
    }

    #[test]
    fn hostile_file_names_are_refused() {
        for bad in ["../x.whl", "a/b.whl", ".hidden", ""] {
            assert!(safe_filename(bad).is_err(), "{bad}");
        }
        assert!(safe_filename("a-1-py3-none-any.whl").is_ok());
    }
}
