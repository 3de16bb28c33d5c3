//! `repo check`: verifying a repository the way an apt client would (signatures with gpgv
//! against the exported key, every `Release` hash and size, by-hash copies, every
//! `Filename` with its size and SHA256), plus what only the writer cares about (leftovers
//! of killed runs, orphan pool files, indexes that disagree with the recorded state), and
//! `--repair` for what can be fixed. Follows the Debian repository format.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use super::publish::{self, by_hash_path, release_files};
use super::{check_pool_path, Repo, RepoConfig, KEY_FILE, OLD_DIRTY_FILE, STATE_DIR};
use crate::debian::{deb822, debfile};
use crate::report::Reporter;

/// What `repo check` found.
#[derive(Debug, Default, Clone)]
pub struct CheckReport {
    /// What a client would trip over (or could be fooled by): the repository is not
    /// consistent while this is non-empty.
    pub problems: Vec<String>,
    /// Harmless to clients but worth cleaning (`--repair` does).
    pub leftovers: Vec<String>,
    /// What `--repair` did.
    pub repaired: Vec<String>,
}

impl CheckReport {
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Temporary files and half-written generations only a killed writer leaves (callers hold
/// the lock, so no live writer owns them).
pub(super) fn stale_files(root: &Path, config: &RepoConfig) -> Vec<PathBuf> {
    let temp = |name: &str| {
        name.starts_with(".new-") || name.starts_with(".incoming-") || name.starts_with(".old-")
    };
    let mut out = Vec::new();
    for dir in [root.to_owned(), root.join(STATE_DIR), root.join("dists")] {
        for d in fs::read_dir(&dir).into_iter().flatten().flatten() {
            if temp(&d.file_name().to_string_lossy()) {
                out.push(d.path());
            }
        }
    }
    let dirty = root.join(STATE_DIR).join(OLD_DIRTY_FILE);
    if dirty.exists() {
        out.push(dirty);
    }
    walk(&root.join("pool"), &mut |p| {
        if p.file_name().is_some_and(|n| temp(&n.to_string_lossy())) {
            out.push(p.to_owned());
        }
    });
    let current = publish::current_generation(root, &config.suite).unwrap_or(0);
    let gens = publish::generations_dir(root, &config.suite);
    for n in publish::generations(root, &config.suite) {
        if n > current {
            out.push(gens.join(format!("{n:08}")));
        }
    }
    out
}

/// Call `f` on every file below `dir` (symlinks not followed).
fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    for d in fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(t) = d.file_type() else { continue };
        if t.is_dir() {
            walk(&d.path(), f);
        } else {
            f(&d.path());
        }
    }
}

/// SHA-256 and size of a file, or why not.
fn hash(path: &Path) -> Result<(u64, String, String), String> {
    debfile::hash_file(path).map_err(|e| e.to_string())
}

/// Verify the published suite as a client would; every finding goes into `problems`.
pub(super) fn client_view(root: &Path, config: &RepoConfig, problems: &mut Vec<String>) {
    let dist = root.join("dists").join(&config.suite);
    let release = match fs::read(dist.join("Release")) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("{}: {e}", dist.join("Release").display()));
            return;
        }
    };
    if config.sign_key.is_some() || dist.join("InRelease").exists() {
        signatures(root, &dist, &release, problems);
    }
    let Ok(text) = String::from_utf8(release) else {
        problems.push("Release is not UTF-8".into());
        return;
    };
    for (field, want) in [
        ("Suite", config.suite.as_str()),
        ("Codename", config.codename.as_str()),
        ("Components", config.component.as_str()),
        ("Acquire-By-Hash", "yes"),
    ] {
        let line = format!("{field}: {want}");
        if !text.lines().any(|l| l == line) {
            problems.push(format!("Release lacks `{line}`"));
        }
    }
    let files = release_files(&text);
    let mut packages = BTreeMap::new();
    for f in &files {
        if f.name.split('/').any(|c| c == ".." || c.is_empty()) {
            problems.push(format!(
                "Release names `{}`, not a path inside the suite",
                f.name
            ));
            continue;
        }
        for (what, path) in [
            (f.name.clone(), dist.join(&f.name)),
            (
                by_hash_path(&f.name, &f.sha256),
                dist.join(by_hash_path(&f.name, &f.sha256)),
            ),
        ] {
            match hash(&path) {
                Ok((size, md5, sha)) => {
                    if size != f.size || sha != f.sha256 || (!f.md5.is_empty() && md5 != f.md5) {
                        problems.push(format!(
                            "{what}: {size} bytes, sha256 {sha}; Release says {} bytes, sha256 {}",
                            f.size, f.sha256
                        ));
                    }
                }
                Err(e) => problems.push(format!("Release lists {what}, which cannot be read: {e}")),
            }
        }
        if let Some(base) = f.name.strip_suffix("/Packages") {
            packages.insert(base.to_owned(), f.name.clone());
        }
    }
    let mut pool_seen: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for arch in &config.architectures {
        let base = format!("{}/binary-{arch}", config.component);
        let Some(name) = packages.get(&base) else {
            problems.push(format!("Release does not list {base}/Packages"));
            continue;
        };
        let Ok(plain) = fs::read(dist.join(name)) else {
            continue;
        };
        for suffix in [".gz", ".xz"] {
            let path = dist.join(format!("{name}{suffix}"));
            let Ok(file) = fs::File::open(&path) else {
                problems.push(format!("{name}{suffix} is missing"));
                continue;
            };
            let mut out = Vec::new();
            let res = if suffix == ".gz" {
                flate2::read::GzDecoder::new(file).read_to_end(&mut out)
            } else {
                liblzma::read::XzDecoder::new(file).read_to_end(&mut out)
            };
            if res.is_err() || out != plain {
                problems.push(format!("{name}{suffix} does not decompress to {name}"));
            }
        }
        let Ok(plain) = String::from_utf8(plain) else {
            problems.push(format!("{name} is not UTF-8"));
            continue;
        };
        for (i, stanza) in deb822::paragraphs(plain.as_bytes()).enumerate() {
            let fields = match deb822::parse_paragraph(stanza.text()) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(format!("{name}, stanza {}: {e}", i + 1));
                    continue;
                }
            };
            let get = |k: &str| deb822::field(&fields, k).unwrap_or("").to_owned();
            let (pkg, filename, size, sha) =
                (get("Package"), get("Filename"), get("Size"), get("SHA256"));
            if let Err(e) = check_pool_path(&filename) {
                problems.push(format!("{name}: {pkg}: {e}"));
                continue;
            }
            let found = match pool_seen.get(&filename) {
                Some(v) => Ok(v.clone()),
                None => hash(&root.join(&filename)).map(|(s, _, h)| (s, h)),
            };
            match found {
                Ok((s, h)) => {
                    // An `all` package is listed under every architecture: report it once.
                    let first = !pool_seen.contains_key(&filename);
                    if (s.to_string() != size || h != sha) && first {
                        problems.push(format!(
                            "{filename} ({pkg}): {s} bytes, sha256 {h}; {name} says {size} bytes, sha256 {sha}"
                        ));
                    }
                    pool_seen.insert(filename, (s, h));
                }
                Err(e) => problems.push(format!(
                    "{name} names {filename} ({pkg}), which cannot be read: {e}"
                )),
            }
        }
    }
}

/// InRelease must be a valid clear signature of exactly `Release`, and Release.gpg a valid
/// detached signature of it, both by the key published at the repository root.
fn signatures(root: &Path, dist: &Path, release: &[u8], problems: &mut Vec<String>) {
    let key = root.join(KEY_FILE);
    if !key.is_file() {
        problems.push(format!(
            "{} is missing: clients cannot verify the signatures",
            key.display()
        ));
        return;
    }
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new("gpgv")
            .arg("--keyring")
            .arg(&key)
            .args(args)
            .output()
    };
    let inrelease = dist.join("InRelease");
    match run(&["--output".as_ref(), "-".as_ref(), inrelease.as_os_str()]) {
        Ok(out) if out.status.success() => {
            if out.stdout != release {
                problems.push("InRelease does not sign the current Release".into());
            }
        }
        Ok(out) => problems.push(format!(
            "gpgv rejects InRelease: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => {
            problems.push(format!(
                "cannot run gpgv to verify the signatures ({e}); install gpgv"
            ));
            return;
        }
    }
    let detached = dist.join("Release.gpg");
    match run(&[detached.as_os_str(), dist.join("Release").as_os_str()]) {
        Ok(out) if out.status.success() => {}
        Ok(out) => problems.push(format!(
            "gpgv rejects Release.gpg: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => problems.push(format!("cannot run gpgv ({e})")),
    }
}

impl Repo {
    /// Verify the repository as a client would and look for leftovers; with `repair`,
    /// republish from the recorded state and remove leftovers and orphans first. Holds the
    /// writer lock, so it sees no write half-done.
    pub fn check(&self, repair: bool, reporter: &dyn Reporter) -> Result<CheckReport> {
        let lock = self.lock(reporter)?;
        let config = super::read_config(&self.root)?;
        let mut report = CheckReport::default();
        if repair {
            for p in stale_files(&self.root, &config) {
                report
                    .repaired
                    .push(format!("removed leftover {}", p.display()));
            }
            self.clean_stale(&config, reporter);
            let state = self.load_state()?;
            let before = self.findings(&config)?;
            if !before.problems.is_empty() || !before.leftovers.is_empty() {
                let _guard = super::PublishGuard::new();
                super::publish::publish(&self.root, &config, &state.packages, true, reporter)?;
                report
                    .repaired
                    .push("republished the indexes from the recorded state".into());
            }
            for p in self.orphans(&config, &state)? {
                if fs::remove_file(&p).is_ok() {
                    report
                        .repaired
                        .push(format!("removed orphan {}", p.display()));
                }
            }
        }
        let found = self.findings(&config)?;
        report.problems = found.problems;
        report.leftovers = found.leftovers;
        drop(lock);
        Ok(report)
    }

    fn findings(&self, config: &RepoConfig) -> Result<CheckReport> {
        let mut r = CheckReport::default();
        client_view(&self.root, config, &mut r.problems);
        let state = self.load_state()?;
        for e in &state.packages {
            if let Err(err) = publish::stanza(e) {
                r.problems.push(format!("{err:#}"));
            }
        }
        if publish::current_generation(&self.root, &config.suite).is_none() {
            r.leftovers.push(format!(
                "dists/{} is not published by generations (older py2deb); `repo check --repair` republishes it",
                config.suite
            ));
        }
        let dist = self.root.join("dists").join(&config.suite);
        for arch in &config.architectures {
            let name = format!("{}/binary-{arch}/Packages", config.component);
            if let (Ok(published), Ok(recorded)) = (
                fs::read_to_string(dist.join(&name)),
                publish::packages_text(&state.packages, arch),
            ) {
                if published != recorded {
                    r.leftovers.push(format!(
                        "{name} differs from the recorded state (an interrupted write); `repo check --repair` republishes it"
                    ));
                }
            }
        }
        for p in stale_files(&self.root, config) {
            r.leftovers.push(format!("leftover {}", p.display()));
        }
        for p in self.orphans(config, &state)? {
            r.leftovers
                .push(format!("orphan pool file {}", p.display()));
        }
        Ok(r)
    }

    /// Pool files neither the state nor a retained generation names.
    fn orphans(&self, config: &RepoConfig, state: &super::State) -> Result<Vec<PathBuf>> {
        let mut named: BTreeSet<String> = publish::retained_pool_files(&self.root, &config.suite);
        named.extend(state.packages.iter().map(|e| e.filename.clone()));
        let mut out = Vec::new();
        let root = self.root.clone();
        walk(&self.root.join("pool"), &mut |p| {
            let rel = p
                .strip_prefix(&root)
                .map(|r| r.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.starts_with('.') && !named.contains(&rel) {
                out.push(p.to_owned());
            }
        });
        Ok(out)
    }
}
