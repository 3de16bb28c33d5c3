//! HTTP for every stage (one client, one retry loop, timeouts, size caps, http(s)-only
//! redirects), and py2deb's one cache directory with its versioned buckets ([`Cache`]).
//! Downloads are keyed by the sha256 the index publishes (PEP 503/691 hashes): a file
//! whose hash is known and cached is never downloaded again, so repeated builds work
//! offline.
//!
//! Servers are untrusted: every request is bounded in time (connect and read-idle
//! timeouts, a minimum transfer rate, an overall deadline over all attempts) and in size,
//! and a redirect may only lead to another http(s) URL.

use crate::index::DistFile;
use crate::report::{Progress, Reporter};
use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Environment variable overriding the cache directory.
pub const CACHE_DIR_ENV: &str = "PY2DEB_CACHE_DIR";
/// Environment variable overriding the first retry delay, in milliseconds.
pub const RETRY_DELAY_ENV: &str = "PY2DEB_RETRY_DELAY_MS";

const USER_AGENT: &str = concat!("py2deb/", env!("CARGO_PKG_VERSION"));

const MIB: u64 = 1024 * 1024;
/// Default cap on an index page (PyPI's largest project pages are a few MiB).
pub const DEFAULT_MAX_PAGE: u64 = 64 * MIB;
/// Default cap on a download: the largest wheels on PyPI are 2–4 GB.
pub const DEFAULT_MAX_DOWNLOAD: u64 = 8 * 1024 * MIB;
/// Default connect and read-idle timeout, pip's `--timeout` default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default overall deadline for one request with all its retries.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);
/// Redirects followed per request, as browsers and pip allow.
const MAX_REDIRECTS: usize = 10;

/// How long and how much any one request may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// Connect timeout, and the longest wait for the response or for any further data
    /// (`--timeout`).
    pub timeout: Duration,
    /// No new attempt starts, and no page is read further, once this much time has passed
    /// since the first attempt (for a download: since data last arrived); a request ends
    /// within `deadline + timeout`.
    pub deadline: Duration,
    /// Attempts per request (connection failures, timeouts, 429 and 5xx are retried).
    pub attempts: u32,
    /// Delay before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// Largest index page (or other in-memory document) accepted.
    pub max_page_bytes: u64,
    /// Largest download accepted (`--max-download-size`).
    pub max_download_bytes: u64,
    /// A body that delivers fewer bytes than this within one `timeout` is given up: a
    /// server trickling a byte every few seconds would otherwise never time out.
    pub min_bytes_per_timeout: u64,
}

impl Default for HttpOptions {
    /// 15 s timeout, 2 minute deadline, 3 attempts, 500 ms first retry delay
    /// (`PY2DEB_RETRY_DELAY_MS` overrides it), 64 MiB pages, 8 GiB downloads.
    fn default() -> Self {
        let backoff = std::env::var(RETRY_DELAY_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_millis(500));
        HttpOptions {
            timeout: DEFAULT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            attempts: 3,
            backoff,
            max_page_bytes: DEFAULT_MAX_PAGE,
            max_download_bytes: DEFAULT_MAX_DOWNLOAD,
            min_bytes_per_timeout: 1024,
        }
    }
}

impl HttpOptions {
    /// The defaults with another `--timeout`; the deadline grows so that one attempt
    /// always fits in it.
    pub fn with_timeout(timeout: Duration) -> HttpOptions {
        HttpOptions {
            timeout,
            deadline: DEFAULT_DEADLINE.max(timeout * 2),
            ..HttpOptions::default()
        }
    }
}

/// Blocking HTTP client shared by every stage.
pub struct Http {
    /// Built on the first request: setting up the client reads every TLS root and starts
    /// reqwest's runtime thread, which a build from local wheels (`--no-index`) never needs.
    client: std::sync::OnceLock<std::result::Result<reqwest::blocking::Client, String>>,
    pub options: HttpOptions,
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

/// Why a request was given up, other than an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connecting, waiting for the answer or for more data took too long.
    #[error("GET {url}: {what} (after {attempts} attempt(s)). Check the network and proxy settings (HTTPS_PROXY), try another index or mirror, or allow more time with --timeout SECONDS")]
    Timeout {
        url: String,
        what: String,
        attempts: u32,
    },
    /// The body is larger than the cap for its kind.
    #[error(
        "GET {url}: {what} is larger than the limit of {limit} bytes{declared}; refusing it. {fix}"
    )]
    TooLarge {
        url: String,
        what: &'static str,
        limit: u64,
        declared: String,
        fix: &'static str,
    },
    /// A redirect pointed somewhere py2deb does not go.
    #[error("GET {url} was redirected to `{to}`: {why}. Point the option at the final http(s) URL, or fix the server")]
    RedirectRefused {
        url: String,
        to: String,
        why: String,
    },
    /// Writing the download failed because the disk is full.
    #[error("writing {path} while downloading {url}: no space left on the device. Free some space, or point {CACHE_DIR_ENV} (--cache-dir) at a disk with room")]
    DiskFull { url: String, path: String },
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
        300..=399 => "The server redirected without saying where to (no usable Location header)",
        _ => "Check --index-url and any proxy settings (HTTPS_PROXY)",
    }
}

/// Raised inside the redirect policy; recognised again in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("redirect to `{to}` refused: {why}")]
struct BadRedirect {
    to: String,
    why: String,
}

/// A fully read, size-capped response.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    /// Where the page was finally read from, after redirects.
    pub url: url::Url,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Page {
    /// A header as text, or "" when absent or not text.
    pub fn header(&self, name: reqwest::header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Where a download goes; restarted from empty before each retry.
pub trait Sink {
    fn restart(&mut self) -> std::io::Result<()>;
    fn write(&mut self, data: &[u8]) -> std::io::Result<()>;
    /// Where the data goes, for error messages (a path).
    fn name(&self) -> String {
        "memory".into()
    }
}

impl Sink for Vec<u8> {
    fn restart(&mut self) -> std::io::Result<()> {
        self.clear();
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.extend_from_slice(data);
        Ok(())
    }
}

/// How one attempt ended, for the retry loop.
enum Failure {
    /// Worth another attempt (network trouble, 429, 5xx).
    Transient(anyhow::Error),
    /// Another attempt would end the same way.
    Final(anyhow::Error),
}

/// Body reading limits for one attempt.
struct BodyLimits<'a> {
    what: &'static str,
    limit: u64,
    fix: &'static str,
    /// Pages must be read by the deadline; downloads only need to keep moving.
    deadline: Option<Instant>,
    progress: Option<&'a dyn Progress>,
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    let text = format!("{s:.2}");
    format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC) || e.kind() == std::io::ErrorKind::StorageFull
}

/// Whether an I/O error from reading a body is reqwest's read timeout.
fn io_is_timeout(e: &std::io::Error) -> bool {
    if e.kind() == std::io::ErrorKind::TimedOut {
        return true;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|r| r as _);
    while let Some(c) = cur {
        if let Some(r) = c.downcast_ref::<reqwest::Error>() {
            if r.is_timeout() {
                return true;
            }
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        cur = c.source();
    }
    false
}

/// The redirect refusal hidden in a reqwest error, if that is what it is.
fn bad_redirect(e: &reqwest::Error) -> Option<(String, String)> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(b) = c.downcast_ref::<BadRedirect>() {
            return Some((b.to.clone(), b.why.clone()));
        }
        cur = c.source();
    }
    None
}

impl Http {
    /// A client with the default [`HttpOptions`].
    pub fn new() -> Result<Http> {
        Http::with_options(HttpOptions::default())
    }

    /// A client with py2deb's user agent, http(s)-only redirects and these limits. Nothing
    /// is set up until the first request; a client that cannot be built (unreadable TLS
    /// roots, a bad proxy setting) fails that request, with the cause.
    pub fn with_options(options: HttpOptions) -> Result<Http> {
        Ok(Http {
            client: std::sync::OnceLock::new(),
            options,
        })
    }

    /// The underlying client, built once.
    fn client(&self) -> Result<&reqwest::blocking::Client> {
        let built = self
            .client
            .get_or_init(|| Http::build(&self.options).map_err(|e| format!("{e:#}")));
        built.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
    }

    fn build(options: &HttpOptions) -> Result<reqwest::blocking::Client> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let to = attempt.url();
            if !matches!(to.scheme(), "http" | "https") {
                let why = format!(
                    "py2deb follows redirects only to http(s) URLs, not `{}:`",
                    to.scheme()
                );
                let to = redact(to.as_str());
                return attempt.error(BadRedirect { to, why });
            }
            if attempt.previous().len() >= MAX_REDIRECTS {
                let to = redact(to.as_str());
                return attempt.error(BadRedirect {
                    to,
                    why: format!("more than {MAX_REDIRECTS} redirects in a row"),
                });
            }
            attempt.follow()
        });
        let client = reqwest::blocking::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(options.timeout)
            // In the blocking client this bounds the wait for the response head and for
            // each read of the body: a read-idle timeout, not a total.
            .timeout(options.timeout)
            .redirect(policy)
            .build()
            .context("setting up the HTTP client (TLS roots or proxy settings)")?;
        Ok(client)
    }

    /// The same limits with another first retry delay (tests use a few milliseconds).
    pub fn with_backoff(self, backoff: Duration) -> Http {
        let options = HttpOptions {
            backoff,
            ..self.options
        };
        Http::with_options(options).expect("the client was built once already")
    }

    /// GET a document into memory (an index page, a release file), at most
    /// `max_page_bytes`. A `304 Not Modified` (after conditional headers) is returned as a
    /// page with an empty body; other non-success statuses are [`HttpStatusError`]s.
    pub fn get_page(&self, url: &str, headers: &[(&str, &str)]) -> Result<Page> {
        let start = Instant::now();
        let deadline = start + self.options.deadline;
        self.retrying(url, headers, start, &mut |resp, shown| {
            let status = resp.status().as_u16();
            let final_url = resp.url().clone();
            let head = resp.headers().clone();
            let mut body = Vec::new();
            if status != 304 {
                let limits = BodyLimits {
                    what: "the page",
                    limit: self.options.max_page_bytes,
                    fix: "An index page this large is not a real project page; check --index-url",
                    deadline: Some(deadline),
                    progress: None,
                };
                self.read_body(resp, shown, &limits, &mut body)?;
            }
            Ok(Page {
                status,
                url: final_url,
                headers: head,
                body,
            })
        })
    }

    /// GET `url` into `sink`, at most `max_bytes` (capped by `max_download_bytes`),
    /// reporting progress under `label`. Returns the number of bytes written.
    pub fn download(
        &self,
        url: &str,
        max_bytes: Option<u64>,
        label: &str,
        reporter: &dyn Reporter,
        sink: &mut dyn Sink,
    ) -> Result<u64> {
        let start = Instant::now();
        let limit = max_bytes
            .unwrap_or(u64::MAX)
            .min(self.options.max_download_bytes);
        self.retrying(url, &[], start, &mut |resp, shown| {
            sink.restart()
                .map_err(|e| Failure::Final(anyhow::Error::new(e)))?;
            let progress = reporter.progress(label, resp.content_length());
            let limits = BodyLimits {
                what: "the download",
                limit,
                fix: "Raise --max-download-size if the file is really this large",
                deadline: None,
                progress: Some(progress.as_ref()),
            };
            let result = self.read_body(resp, shown, &limits, sink);
            progress.finish();
            result
        })
    }

    /// The one retry loop: up to `attempts` tries, exponential backoff, and no new attempt
    /// after the deadline. `attempt` consumes the successful response.
    fn retrying<T>(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        mut start: Instant,
        attempt: &mut dyn FnMut(reqwest::blocking::Response, &str) -> Result<T, Failure>,
    ) -> Result<T> {
        let shown = redact(url);
        let o = &self.options;
        let attempts = o.attempts.max(1);
        let mut delay = o.backoff;
        let mut n = 0;
        loop {
            n += 1;
            // No per-request timeout here: reqwest would apply it to the whole body, which
            // is wrong for a large download. The client's timeout is per wait, so an attempt
            // overruns the deadline by at most one timeout.
            let mut req = self.client()?.get(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let began = Instant::now();
            let failure = match req.send() {
                Ok(resp) if resp.status().is_success() || resp.status().as_u16() == 304 => {
                    let before = Instant::now();
                    match attempt(resp, &shown) {
                        Ok(v) => return Ok(v),
                        Err(f) => {
                            // A download that made progress earns a fresh deadline.
                            if before.elapsed() > o.timeout {
                                start = Instant::now();
                            }
                            f
                        }
                    }
                }
                Ok(resp) => self.status_failure(resp, &shown, n, attempts),
                Err(e) => self.send_failure(e, &shown, began.elapsed(), n),
            };
            let (mut err, last) = match failure {
                Failure::Final(e) => (e, true),
                Failure::Transient(e) => (e, false),
            };
            if let Some(FetchError::Timeout { attempts, .. }) = err.downcast_mut::<FetchError>() {
                *attempts = n;
            }
            if last {
                return Err(err);
            }
            let out_of_time = start.elapsed() + delay >= o.deadline;
            if n >= attempts || out_of_time {
                if out_of_time && n < attempts {
                    return Err(err.context(format!(
                        "GET {shown}: gave up after {n} attempt(s): the overall deadline of {} has passed",
                        secs(o.deadline)
                    )));
                }
                return Err(err);
            }
            std::thread::sleep(delay);
            delay *= 2;
        }
    }

    fn status_failure(
        &self,
        resp: reqwest::blocking::Response,
        shown: &str,
        n: u32,
        attempts: u32,
    ) -> Failure {
        let status = resp.status().as_u16();
        if (300..=399).contains(&status) {
            // A redirect the client did not follow: say where it pointed.
            if let Some(loc) = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
            {
                let to = resp
                    .url()
                    .join(loc)
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| loc.to_owned());
                let scheme = to.split(':').next().unwrap_or("");
                let why = if matches!(scheme, "http" | "https") {
                    format!("HTTP {status} that could not be followed")
                } else {
                    format!("py2deb follows redirects only to http(s) URLs, not `{scheme}:`")
                };
                return Failure::Final(
                    FetchError::RedirectRefused {
                        url: shown.to_owned(),
                        to: crate::report::escape_untrusted(&redact(&to)),
                        why,
                    }
                    .into(),
                );
            }
        }
        let retry = retryable_status(status);
        let e = HttpStatusError {
            url: shown.to_owned(),
            status,
            attempts: if retry && n >= attempts {
                format!(" (after {n} attempts)")
            } else {
                String::new()
            },
            hint: status_hint(status),
        };
        if retry {
            Failure::Transient(e.into())
        } else {
            Failure::Final(e.into())
        }
    }

    fn send_failure(&self, e: reqwest::Error, shown: &str, took: Duration, n: u32) -> Failure {
        if let Some((to, why)) = bad_redirect(&e) {
            return Failure::Final(
                FetchError::RedirectRefused {
                    url: shown.to_owned(),
                    to,
                    why,
                }
                .into(),
            );
        }
        if e.is_timeout() {
            let what = if e.is_connect() {
                format!("connecting timed out after {}", secs(took))
            } else {
                format!("no response within {}", secs(took))
            };
            return Failure::Transient(
                FetchError::Timeout {
                    url: shown.to_owned(),
                    what,
                    attempts: n,
                }
                .into(),
            );
        }
        let transient = e.is_connect() || e.is_request() || e.is_body();
        // `without_url`: the URL reqwest would print may carry credentials.
        let e = e.without_url();
        let err = anyhow!(
            "GET {shown} failed after {n} attempt(s): {}. Check the network connection, any proxy \
             settings (HTTPS_PROXY), and that --index-url is right",
            error_chain(&e)
        );
        if transient {
            Failure::Transient(err)
        } else {
            Failure::Final(err)
        }
    }

    /// Copy a body into `sink` within the limits: size (declared and actual), read-idle
    /// timeout (the client's), minimum rate, and for pages the deadline.
    fn read_body(
        &self,
        mut resp: reqwest::blocking::Response,
        shown: &str,
        limits: &BodyLimits,
        sink: &mut dyn Sink,
    ) -> Result<u64, Failure> {
        let too_large = |declared: String| {
            Failure::Final(
                FetchError::TooLarge {
                    url: shown.to_owned(),
                    what: limits.what,
                    limit: limits.limit,
                    declared,
                    fix: limits.fix,
                }
                .into(),
            )
        };
        if let Some(len) = resp.content_length().filter(|&l| l > limits.limit) {
            return Err(too_large(format!(" (the server says {len} bytes)")));
        }
        let timeout = self.options.timeout;
        let timed_out = |what: String| {
            Failure::Transient(
                FetchError::Timeout {
                    url: shown.to_owned(),
                    what,
                    attempts: 1,
                }
                .into(),
            )
        };
        let mut total: u64 = 0;
        let mut window_start = Instant::now();
        let mut window_bytes: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match resp.read(&mut buf) {
                Ok(n) => n,
                Err(e) if io_is_timeout(&e) => {
                    return Err(timed_out(format!(
                        "the server sent no data for {} after {total} bytes of {}",
                        secs(timeout),
                        limits.what
                    )))
                }
                Err(e) => {
                    return Err(Failure::Transient(anyhow!(
                        "GET {shown}: the connection broke off after {total} bytes: {e}. Check the network connection and proxy settings"
                    )))
                }
            };
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            if total > limits.limit {
                return Err(too_large(String::new()));
            }
            if let Err(e) = sink.write(&buf[..n]) {
                // A full disk is not a network problem, and retrying will not help.
                if is_disk_full(&e) {
                    return Err(Failure::Final(
                        FetchError::DiskFull {
                            url: shown.to_owned(),
                            path: sink.name(),
                        }
                        .into(),
                    ));
                }
                let e = anyhow::Error::new(e).context(format!("writing {}", sink.name()));
                return Err(Failure::Final(e));
            }
            if let Some(p) = limits.progress {
                p.inc(n as u64);
            }
            window_bytes += n as u64;
            if window_start.elapsed() >= timeout {
                if window_bytes < self.options.min_bytes_per_timeout {
                    return Err(timed_out(format!(
                        "{} is too slow: {window_bytes} bytes in the last {} (at least {} expected)",
                        limits.what,
                        secs(window_start.elapsed()),
                        self.options.min_bytes_per_timeout
                    )));
                }
                window_start = Instant::now();
                window_bytes = 0;
            }
            if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Failure::Final(
                    FetchError::Timeout {
                        url: shown.to_owned(),
                        what: format!(
                            "{} was not complete within the overall deadline of {}",
                            limits.what,
                            secs(self.options.deadline)
                        ),
                        attempts: 1,
                    }
                    .into(),
                ));
            }
        }
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

/// py2deb's one cache directory, shared by every stage: `--cache-dir`, else
/// `$PY2DEB_CACHE_DIR`, else `$XDG_CACHE_HOME/py2deb` (`~/.cache/py2deb`).
///
/// Each kind of data lives in its own versioned bucket, as uv does: a bucket's name
/// changes whenever the format of what it holds changes, so a newer py2deb never parses
/// an older layout, and old buckets are simply ignored (delete them at will). The root
/// carries a `CACHEDIR.TAG` (<https://bford.info/cachedir/>) so backup tools skip it.
///
/// The downloads bucket is content-addressed: `files-v1/sha256/<h[..2]>/<h>/<filename>`
/// for files the index gave a hash for, `files-v1/url/<sha256 of url>/<filename>`
/// (re-downloaded every time) for the rest. The file name is kept because later stages
/// parse it.
#[derive(Debug, Clone)]
pub struct Cache {
    pub root: PathBuf,
}

/// Downloaded distributions (wheels, sdists).
pub const FILES_BUCKET: &str = "files-v1";
/// Target archives: verified InRelease files, indexes and their compact `Packages` form.
pub const ARCHIVE_BUCKET: &str = "archive-v2";
/// Dist-info maps derived from the archives' `Contents`.
pub const DISTMAP_BUCKET: &str = "distmap-v1";
/// Wheels built from sdists, and their isolated build environments.
pub const SDIST_BUCKET: &str = "sdist-v1";

/// The file marking the root as a cache, and its mandatory first line.
pub const CACHEDIR_TAG: &str = "CACHEDIR.TAG";
const CACHEDIR_SIGNATURE: &str = "Signature: 8a477f597d28d172789f06886806bc55";

impl Cache {
    /// `$PY2DEB_CACHE_DIR`, else `$XDG_CACHE_HOME/py2deb` or `~/.cache/py2deb`. Never a
    /// shared directory such as `/tmp`: without a home there is no default.
    pub fn default_root() -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        let base = dirs::cache_dir().context(
            "no cache directory: set HOME, XDG_CACHE_HOME or PY2DEB_CACHE_DIR, or pass --cache-dir",
        )?;
        Ok(base.join("py2deb"))
    }

    /// The cache at `root`, without touching the disk.
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache at `root`, created if needed and tagged with `CACHEDIR.TAG`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Cache> {
        let cache = Cache::new(root);
        std::fs::create_dir_all(&cache.root).with_context(|| {
            format!(
                "creating the cache directory {} (pass --cache-dir or set {CACHE_DIR_ENV} to use another)",
                cache.root.display()
            )
        })?;
        let tag = cache.root.join(CACHEDIR_TAG);
        let tagged =
            std::fs::read(&tag).is_ok_and(|t| t.starts_with(CACHEDIR_SIGNATURE.as_bytes()));
        if !tagged {
            crate::fsutil::write_atomic(
                &tag,
                format!(
                    "{CACHEDIR_SIGNATURE}\n# This file is a cache directory tag created by py2deb.\n\
                     # For information about cache directory tags, see https://bford.info/cachedir/\n"
                )
                .as_bytes(),
            )?;
        }
        Ok(cache)
    }

    /// The directory of one bucket (`files-v1`, …).
    pub fn bucket(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Where a file with this sha256 lives once cached.
    pub fn path_for_hash(&self, sha256: &str, filename: &str) -> PathBuf {
        let h = sha256.to_ascii_lowercase();
        self.bucket(FILES_BUCKET)
            .join("sha256")
            .join(&h[..2.min(h.len())])
            .join(&h)
            .join(filename)
    }

    /// Where a file without a published hash is downloaded to.
    pub fn path_for_url(&self, url: &str, filename: &str) -> PathBuf {
        self.bucket(FILES_BUCKET)
            .join("url")
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

/// A download being written to a temporary file, hashed as it goes; persisted (renamed
/// into place) once verified, deleted when dropped.
pub struct HashedFile {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
}

impl HashedFile {
    /// A new empty temporary file in `dir` (the directory it will be persisted in).
    pub fn new_in(dir: &Path) -> Result<HashedFile> {
        let file = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        Ok(HashedFile {
            file,
            hasher: Sha256::new(),
        })
    }

    /// Flush to disk; the temporary file and the lowercase hex sha256 of what was written.
    pub fn finish(self) -> Result<(tempfile::NamedTempFile, String)> {
        self.file
            .as_file()
            .sync_all()
            .with_context(|| format!("writing {}", self.file.path().display()))?;
        Ok((self.file, hex::encode(self.hasher.finalize())))
    }
}

impl Sink for HashedFile {
    fn restart(&mut self) -> std::io::Result<()> {
        let f = self.file.as_file_mut();
        f.set_len(0)?;
        f.rewind()?;
        self.hasher = Sha256::new();
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.hasher.update(data);
        self.file.write_all(data)
    }
    fn name(&self) -> String {
        self.file.path().display().to_string()
    }
}

/// Turn a failed write of `path` into [`FetchError::DiskFull`] when the disk is full.
pub fn disk_full(err: anyhow::Error, url: &str, path: &Path) -> anyhow::Error {
    let full = err
        .chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(is_disk_full));
    if full {
        FetchError::DiskFull {
            url: url.to_owned(),
            path: path.display().to_string(),
        }
        .into()
    } else {
        err
    }
}

/// Make `file` available locally: from the cache when its sha256 is known and cached,
/// otherwise downloaded (with a progress bar), hash-verified, and stored. Local files
/// (`--find-links`) are read in place (still hash-checked when a hash is known); an index
/// can never make py2deb read a local file, whatever its links say.
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

    if file.url.scheme() == "file" && file.local {
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
    if !matches!(file.url.scheme(), "http" | "https") {
        bail!(
            "refusing to fetch {filename} from `{}`: a package index may only link http(s) URLs; put local files in a --find-links directory",
            redact(file.url.as_str())
        );
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
    std::fs::create_dir_all(dir)
        .with_context(|| {
            format!(
                "creating the cache directory {} (set {CACHE_DIR_ENV} to use another)",
                dir.display()
            )
        })
        .map_err(|e| disk_full(e, &shown, dir))?;

    reporter.info(&format!("downloading {filename}"));
    let mut sink = HashedFile::new_in(dir).map_err(|e| disk_full(e, &shown, dir))?;
    let tmp_path = sink.file.path().to_owned();
    http.download(file.url.as_str(), None, filename, reporter, &mut sink)
        .map_err(|e| disk_full(e, &shown, &tmp_path))?;
    let (tmp, got) = sink.finish().map_err(|e| disk_full(e, &shown, &tmp_path))?;
    if let Some(want) = &expected {
        if &got != want {
            // Dropping the temporary file deletes the download.
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
            PathBuf::from(format!("/c/files-v1/sha256/ba/{h}/a-1-py3-none-any.whl"))
        );
    }

    #[test]
    fn hostile_file_names_are_refused() {
        for bad in ["../x.whl", "a/b.whl", ".hidden", ""] {
            assert!(safe_filename(bad).is_err(), "{bad}");
        }
        assert!(safe_filename("a-1-py3-none-any.whl").is_ok());
    }

    #[test]
    fn hostile_full_disk_is_named_not_blamed_on_the_network() {
        // /dev/full answers every write with ENOSPC, as a full cache disk does.
        let Ok(mut full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            panic!("/dev/full is missing on this Linux system");
        };
        let io = full
            .write_all(&[0u8; 4096])
            .and_then(|_| full.flush())
            .unwrap_err();
        let e = disk_full(
            anyhow::Error::new(io).context("writing"),
            "https://h/x.whl",
            Path::new("/c/x"),
        );
        let msg = e.to_string();
        assert!(
            matches!(
                e.downcast_ref::<FetchError>(),
                Some(FetchError::DiskFull { .. })
            ),
            "{msg}"
        );
        assert!(
            msg.contains("no space left") && !msg.contains("network"),
            "{msg}"
        );
        let other = disk_full(anyhow!("something else"), "u", Path::new("/c"));
        assert!(other.downcast_ref::<FetchError>().is_none());
    }

    #[test]
    fn deadline_grows_with_the_timeout() {
        assert_eq!(
            HttpOptions::with_timeout(Duration::from_secs(5)).deadline,
            DEFAULT_DEADLINE
        );
        assert_eq!(
            HttpOptions::with_timeout(Duration::from_secs(100)).deadline,
            Duration::from_secs(200)
        );
    }
}
