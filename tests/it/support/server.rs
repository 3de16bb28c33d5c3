//! A loopback package index (PEP 503 HTML / PEP 691 JSON) on `127.0.0.1:0`, std only.
//!
//! Hostile answers for one path: `.route("/simple/foo/", Canned::Raw{..} | Redirect(loc) |
//! Silent(d) | Trickle{total, every} | Huge{content_type, len, fill, declare})` — exact
//! bytes, a redirect anywhere (`file:///…`), no answer, a byte at a time, or a page of any
//! size generated while it is sent.

use super::wheels::sha256_hex;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Which Simple API representation project pages use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Always PEP 691 JSON.
    Json,
    /// Always PEP 503 HTML.
    Html,
    /// JSON when the Accept header asks for `application/vnd.pypi.simple.v1+json`, else HTML.
    Negotiate,
}

/// Which hash a project page advertises for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashMode {
    /// The file's real sha256.
    Correct,
    /// A well-formed sha256 of something else.
    Wrong,
    /// No hash at all.
    Absent,
}

/// One file served under `/files/<filename>` and listed on its project's page.
#[derive(Debug, Clone)]
pub struct Dist {
    pub filename: String,
    pub bytes: Vec<u8>,
    pub requires_python: Option<String>,
    /// `Some("")` = yanked without a reason.
    pub yanked: Option<String>,
    /// PEP 700 `upload-time` (JSON only), e.g. `2024-01-02T03:04:05Z`.
    pub upload_time: Option<String>,
    pub hash: HashMode,
}

impl Dist {
    pub fn new(filename: &str, bytes: impl Into<Vec<u8>>) -> Dist {
        Dist {
            filename: filename.into(),
            bytes: bytes.into(),
            requires_python: None,
            yanked: None,
            upload_time: None,
            hash: HashMode::Correct,
        }
    }
    /// A file from disk, under its own name.
    pub fn from_path(path: &Path) -> Dist {
        Dist::new(
            path.file_name().unwrap().to_str().unwrap(),
            std::fs::read(path).unwrap(),
        )
    }
    pub fn requires_python(mut self, spec: &str) -> Dist {
        self.requires_python = Some(spec.into());
        self
    }
    pub fn yanked(mut self, reason: &str) -> Dist {
        self.yanked = Some(reason.into());
        self
    }
    pub fn upload_time(mut self, iso: &str) -> Dist {
        self.upload_time = Some(iso.into());
        self
    }
    pub fn wrong_hash(mut self) -> Dist {
        self.hash = HashMode::Wrong;
        self
    }
    pub fn no_hash(mut self) -> Dist {
        self.hash = HashMode::Absent;
        self
    }
}

/// A canned answer for one path, for attacking the client ([`IndexServer::route`]).
#[derive(Debug, Clone)]
pub enum Canned {
    /// Exactly this status, content type, extra header lines (`Name: value`) and body.
    Raw {
        status: u16,
        content_type: String,
        headers: Vec<String>,
        body: Vec<u8>,
    },
    /// `302 Found` with this `Location`.
    Redirect(String),
    /// Read the request, then say nothing for this long (an index that never answers).
    Silent(Duration),
    /// Send the head (with a Content-Length of `total`), then one byte of `total` per
    /// `every` (a trickling download).
    Trickle { total: usize, every: Duration },
    /// A 200 page of `len` bytes of `fill`, generated while sending (no Content-Length
    /// when `declare` is false): a huge index page.
    Huge {
        content_type: String,
        len: u64,
        fill: u8,
        declare: bool,
    },
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: BTreeMap<String, String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Default)]
struct State {
    /// Normalized project name → files.
    projects: BTreeMap<String, Vec<Dist>>,
    /// Answer the next `n` requests with this status.
    failures: Option<(u32, u16)>,
    /// Expected `Authorization` header value, when auth is required.
    auth: Option<String>,
    requests: Vec<Request>,
    /// Path → canned answer, checked first.
    routes: BTreeMap<String, Canned>,
}

/// The running server. Dropping it stops it.
pub struct IndexServer {
    mode: Mode,
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

impl IndexServer {
    pub fn start(mode: Mode) -> IndexServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let base = format!("http://{addr}");
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (st, base) = (st.clone(), base.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, mode, &st, &base);
                });
            }
        });
        IndexServer {
            mode,
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The index URL to pass as `--index-url`: `http://127.0.0.1:PORT/simple/`.
    pub fn url(&self) -> String {
        format!("{}/simple/", self.base())
    }

    /// The index URL with basic-auth credentials embedded.
    pub fn url_with_auth(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}/simple/", self.addr)
    }

    /// Where a file is served.
    pub fn file_url(&self, filename: &str) -> String {
        format!("{}/files/{filename}", self.base())
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// List `dist` on the page of `project` (any spelling; stored normalized).
    pub fn add(&self, project: &str, dist: Dist) -> &Self {
        self.state
            .lock()
            .unwrap()
            .projects
            .entry(normalize(project))
            .or_default()
            .push(dist);
        self
    }

    /// Shorthand: serve a wheel file from disk with its correct hash.
    pub fn add_path(&self, project: &str, path: &Path) -> &Self {
        self.add(project, Dist::from_path(path))
    }

    /// The next `n` requests (any path) get HTTP 500.
    pub fn fail_next(&self, n: u32) {
        self.fail_next_with(n, 500);
    }

    /// The next `n` requests get `status` (e.g. 429, 503).
    pub fn fail_next_with(&self, n: u32, status: u16) {
        self.state.lock().unwrap().failures = Some((n, status));
    }

    /// Answer 401 unless the request carries these basic-auth credentials.
    pub fn require_auth(&self, user: &str, password: &str) {
        let token = base64(format!("{user}:{password}").as_bytes());
        self.state.lock().unwrap().auth = Some(format!("Basic {token}"));
    }

    /// Answer requests for exactly `path` (e.g. `/simple/foo/`) with `answer`.
    pub fn route(&self, path: &str, answer: Canned) -> &Self {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.into(), answer);
        self
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Just the paths of [`requests`](Self::requests).
    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// Stop accepting connections (also done on drop). Later requests fail to connect.
    pub fn stop(&mut self) {
        if self.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for IndexServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn advertised_hash(d: &Dist) -> Option<String> {
    match d.hash {
        HashMode::Correct => Some(sha256_hex(&d.bytes)),
        HashMode::Wrong => Some(sha256_hex(b"not the file")),
        HashMode::Absent => None,
    }
}

fn serve(conn: TcpStream, mode: Mode, state: &Mutex<State>, base: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(());
    };
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let path = target.split(['?', '#']).next().unwrap_or("/").to_owned();
    let req = Request {
        method: method.to_owned(),
        path: path.clone(),
        headers,
    };

    let canned = {
        let mut st = state.lock().unwrap();
        st.requests.push(req.clone());
        st.routes.get(&path).cloned()
    };
    if let Some(c) = canned {
        return serve_canned(conn, c);
    }
    let (status, content_type, body) = {
        let mut st = state.lock().unwrap();
        respond(&mut st, mode, &req, base)
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut out = conn;
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status == 401 {
        head.push_str("WWW-Authenticate: Basic realm=\"index\"\r\n");
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if req.method != "HEAD" {
        out.write_all(&body)?;
    }
    out.flush()
}

fn respond(st: &mut State, mode: Mode, req: &Request, base: &str) -> (u16, &'static str, Vec<u8>) {
    let text = |status: u16, msg: &str| (status, "text/plain", msg.as_bytes().to_vec());
    if let Some((n, status)) = st.failures {
        if n > 0 {
            st.failures = if n > 1 { Some((n - 1, status)) } else { None };
            return text(status, "injected failure");
        }
    }
    if let Some(want) = &st.auth {
        if req.header("authorization") != Some(want) {
            return text(401, "credentials required");
        }
    }
    if let Some(name) = req.path.strip_prefix("/files/") {
        return match st.projects.values().flatten().find(|d| d.filename == name) {
            Some(d) => (200, "application/octet-stream", d.bytes.clone()),
            None => text(404, "no such file"),
        };
    }
    let Some(project) = req
        .path
        .strip_prefix("/simple/")
        .map(|p| p.trim_end_matches('/'))
    else {
        return text(404, "not found");
    };
    let Some(dists) = st.projects.get(&normalize(project)) else {
        return text(404, "no such project");
    };
    let json = match mode {
        Mode::Json => true,
        Mode::Html => false,
        Mode::Negotiate => req
            .header("accept")
            .is_some_and(|a| a.contains("application/vnd.pypi.simple.v1+json")),
    };
    if json {
        // Absolute file URLs here, relative ones in HTML: both forms get exercised.
        let files: Vec<serde_json::Value> = dists
            .iter()
            .map(|d| {
                let mut hashes = serde_json::Map::new();
                if let Some(h) = advertised_hash(d) {
                    hashes.insert("sha256".into(), h.into());
                }
                let mut f = serde_json::json!({
                    "filename": d.filename,
                    "url": format!("{base}/files/{}", d.filename),
                    "hashes": hashes,
                    "size": d.bytes.len(),
                });
                let o = f.as_object_mut().unwrap();
                if let Some(rp) = &d.requires_python {
                    o.insert("requires-python".into(), rp.clone().into());
                }
                match &d.yanked {
                    Some(r) if r.is_empty() => o.insert("yanked".into(), true.into()),
                    Some(r) => o.insert("yanked".into(), r.clone().into()),
                    None => o.insert("yanked".into(), false.into()),
                };
                if let Some(t) = &d.upload_time {
                    o.insert("upload-time".into(), t.clone().into());
                }
                f
            })
            .collect();
        let page = serde_json::json!({
            "meta": {"api-version": "1.1"},
            "name": normalize(project),
            "files": files,
        });
        (
            200,
            "application/vnd.pypi.simple.v1+json",
            page.to_string().into_bytes(),
        )
    } else {
        let mut html = format!(
            "<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Links for {p}</title></head>\n<body>\n<h1>Links for {p}</h1>\n",
            p = html_escape(project)
        );
        for d in dists {
            let frag = advertised_hash(d)
                .map(|h| format!("#sha256={h}"))
                .unwrap_or_default();
            html.push_str(&format!(
                "<a href=\"../../files/{}{frag}\"",
                html_escape(&d.filename)
            ));
            if let Some(rp) = &d.requires_python {
                html.push_str(&format!(" data-requires-python=\"{}\"", html_escape(rp)));
            }
            match &d.yanked {
                Some(r) if r.is_empty() => html.push_str(" data-yanked"),
                Some(r) => html.push_str(&format!(" data-yanked=\"{}\"", html_escape(r))),
                None => {}
            }
            html.push_str(&format!(">{}</a><br/>\n", html_escape(&d.filename)));
        }
        html.push_str("</body>\n</html>\n");
        (200, "text/html; charset=utf-8", html.into_bytes())
    }
}

fn serve_canned(mut out: TcpStream, c: Canned) -> std::io::Result<()> {
    match c {
        Canned::Raw {
            status,
            content_type,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for h in headers {
                head.push_str(&h);
                head.push_str("\r\n");
            }
            head.push_str("\r\n");
            out.write_all(head.as_bytes())?;
            out.write_all(&body)?;
        }
        Canned::Redirect(location) => {
            let head = format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            out.write_all(head.as_bytes())?;
        }
        Canned::Silent(d) => std::thread::sleep(d),
        Canned::Trickle { total, every } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
            );
            out.write_all(head.as_bytes())?;
            for _ in 0..total {
                out.write_all(b"x")?;
                out.flush()?;
                std::thread::sleep(every);
            }
        }
        Canned::Huge {
            content_type,
            len,
            fill,
            declare,
        } => {
            let length = if declare {
                format!("Content-Length: {len}\r\n")
            } else {
                String::new()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{length}Connection: close\r\n\r\n"
            );
            out.write_all(head.as_bytes())?;
            let chunk = vec![fill; 64 * 1024];
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                // The client hangs up once it has seen enough: stop quietly.
                out.write_all(&chunk[..n])?;
                left -= n as u64;
            }
        }
    }
    out.flush()
}
