//! Test fixtures: tiny wheels built on the fly and a loopback package index.
//!
//! Everything is hermetic: files go into temp dirs, the index listens on 127.0.0.1.
//!
//! Wheels ([`wheels`]):
//! - `WheelBuilder::new(name, version)` → `.tag("cp311-cp311-manylinux_2_17_x86_64")`,
//!   `.file(path, bytes)`, `.file_mode(path, bytes, 0o755)`, `.metadata("Requires-Dist: x")`,
//!   `.description(text)`, `.entry_points(text)`, `.build_tag("1")`, `.stored()`; then
//!   `.write(dir) -> PathBuf`, `.to_bytes()`, `.filename()`, `.dist_info()`. METADATA,
//!   WHEEL and RECORD (sha256 of every entry) are generated; default tag `py3-none-any`.
//! - `build_wheel(dir, name, version, tag, &[(path, bytes)], &[metadata lines],
//!   Option<entry_points>) -> PathBuf`: the same in one call.
//! - `RawZip::new().file(name, bytes).file_mode(..).deflated(..).symlink(name, target)
//!   .dir(name).entry(RawEntry{..})` → `.write(path)` / `.to_bytes()`: zips written byte by
//!   byte with names, modes and sizes exactly as given (`../x`, `/etc/x`, duplicates,
//!   symlinks, lying `declared_size`).
//! - `record_hash(bytes)` (`sha256=<urlsafe b64>`), `sha256_hex(bytes)`.
//!
//! Index ([`server`]):
//! - `IndexServer::start(Mode::Json | Mode::Html | Mode::Negotiate)`; `.url()` is the
//!   `--index-url` (`http://127.0.0.1:PORT/simple/`), `.url_with_auth(user, pw)`,
//!   `.base()`, `.file_url(filename)`.
//! - `.add(project, Dist::from_path(p).requires_python(">=3.8").yanked("why")
//!   .upload_time("2024-01-01T00:00:00Z").wrong_hash()/.no_hash())`, `.add_path(project, p)`.
//!   Files are served at `/files/<filename>`; JSON pages link them absolutely, HTML pages
//!   relatively (`../../files/…`), both with `sha256` hashes.
//! - Knobs: `.fail_next(n)` (n × HTTP 500), `.fail_next_with(n, 429)`,
//!   `.require_auth(user, pw)` (401 without basic auth).
//! - Assertions: `.requests()` (method, path, lowercased headers), `.paths()`,
//!   `.clear_requests()`.
//! - `.stop()` or dropping it shuts it down; later connections are refused.
#![allow(dead_code, unused_imports)]

pub mod server;
pub mod wheels;

pub use server::{Dist, HashMode, IndexServer, Mode, Request};
pub use wheels::{build_wheel, record_hash, sha256_hex, RawEntry, RawZip, WheelBuilder};

/// Whether a test whose prerequisite is missing may skip: never under `CI=true`, where a
/// skipped check would pass without checking anything. Returns `true` when the test should
/// go on; prints why and returns `false` for a local run without the prerequisite.
pub fn prerequisite(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "prerequisite missing under CI=true: {what}"
    );
    eprintln!("skipping: {what}");
    false
}

/// Cases for a property test: `default` within `cargo test`, or `PY2DEB_PROPTEST_CASES`
/// for a longer run (`PY2DEB_PROPTEST_CASES=100000 cargo test --test it props`).
pub fn prop_cases(default: u32) -> u32 {
    std::env::var("PY2DEB_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
