//! The internal apt repository: adding, listing, removing and updating packages, and the
//! state kept beside the published tree. Follows the Debian repository format
//! (<https://wiki.debian.org/DebianRepository/Format>) for everything a client sees.
//!
//! Layout of a repository directory:
//!
//! ```text
//! DIR/pool/<component>/<prefix>/<source>/<package>_<version>_<arch>.deb
//! DIR/dists/<suite> -> .generations/<suite>/<N>   (the current generation, see `publish`)
//! DIR/dists/<suite>/{Release,InRelease,Release.gpg}
//! DIR/dists/<suite>/<component>/binary-<arch>/Packages{,.gz,.xz}
//! DIR/dists/<suite>/<component>/binary-<arch>/by-hash/SHA256/<sha256>
//! DIR/repo-key.gpg, DIR/repo-key.asc      (signed repositories: the public key)
//! DIR/.py2deb/config.json                 (suite, origin, architectures, key, …)
//! DIR/.py2deb/packages.json               (one entry per published .deb, with its stanza)
//! DIR/.py2deb/lock                        (flock: one writer at a time)
//! ```
//!
//! `packages.json` doubles as the stanza cache: adding one package to a repository of
//! thousands reads one `.deb`, not all of them. Every writer takes the lock before reading
//! anything (configuration included) and first removes what killed writers left behind.
//! A write copies new packages into the pool, publishes a complete new generation of the
//! suite and switches to it atomically, and only then records the new state: the state
//! never claims what clients cannot see, so an interrupted add is neither listed nor
//! published later by an unrelated write. Pool files of removed packages are deleted only
//! once no retained generation names them. Packages are hostile input: `debfile` checks
//! them, and indexes are written from their parsed fields (`publish::stanza`).

mod check;
mod gpg;
mod guard;
mod publish;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::debian::debfile;
use crate::fsutil::{self, write_atomic, LockMode};
use crate::report::Reporter;

pub use check::CheckReport;
pub use gpg::export_key;
pub use guard::{exit_when_safe, FAILPOINT_ENV};
use guard::{failpoint, PublishGuard};

/// Directory (inside the repository) that holds py2deb's own state.
pub const STATE_DIR: &str = ".py2deb";
const CONFIG_FILE: &str = "config.json";
const PACKAGES_FILE: &str = "packages.json";
const LOCK_FILE: &str = "lock";
/// Left by versions that recorded state before publishing; removed on sight.
const OLD_DIRTY_FILE: &str = "unpublished";
/// Public key published at the repository root so clients can fetch it next to the indexes.
pub const KEY_FILE: &str = "repo-key.gpg";
pub const KEY_FILE_ARMORED: &str = "repo-key.asc";
const FORMAT: u32 = 1;

/// What `repo update` needs to rebuild a package the way it was first built. Written by the
/// build pipeline when it publishes into a repository; foreign `.deb`s have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// The requirement as the user gave it (`requests`, `black==24.*`).
    pub spec: String,
    /// Normalized project name (PEP 503).
    pub project: String,
    /// Upstream (Python) version that was built.
    pub version: String,
    /// Target distribution name (see `target::Target::name`).
    pub target: String,
    /// Debian architecture the build targeted (`all` for pure-Python packages).
    pub arch: String,
    /// Build options that influence the result, by name (e.g. `"with-deps": "true"`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Package indexes consulted, primary first.
    pub index_urls: Vec<String>,
    /// py2deb version that produced the package.
    #[serde(default)]
    pub py2deb_version: String,
}

impl BuildRecord {
    /// Records that would build the same thing, ignoring which version was picked.
    fn same_build(&self, other: &BuildRecord) -> bool {
        self.project == other.project
            && self.spec == other.spec
            && self.target == other.target
            && self.arch == other.arch
            && self.options == other.options
            && self.index_urls == other.index_urls
    }
}

/// One `.deb` to publish, with its build record when py2deb built it from an index.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub path: PathBuf,
    pub record: Option<BuildRecord>,
}

impl Incoming {
    /// A `.deb` from elsewhere (no build record; `repo update` leaves it alone).
    pub fn foreign(path: impl Into<PathBuf>) -> Self {
        Incoming {
            path: path.into(),
            record: None,
        }
    }
}

/// The result of looking for a newer release of a recorded build.
#[derive(Debug, Clone)]
pub struct NewBuild {
    /// Upstream version found.
    pub version: String,
    /// Freshly built packages; empty in a dry run (nothing is built then).
    pub debs: Vec<Incoming>,
}

/// Looks for newer releases of a recorded build and builds them, for [`Repo::update`]. The
/// repository owns this contract; the build pipeline implements it.
pub trait RepoBuilder {
    /// Is there a release newer than `record.version` that the recorded spec selects (same
    /// target, options and indexes)? When `dry_run` is true, only report the version (leave
    /// `debs` empty); otherwise build it and return the `.deb`s with their build records.
    fn newer(&self, record: &BuildRecord, dry_run: bool) -> Result<Option<NewBuild>>;
}

/// A builder for contexts without the build pipeline: `repo update` explains itself.
pub struct NoBuilder;
impl RepoBuilder for NoBuilder {
    fn newer(&self, record: &BuildRecord, _dry_run: bool) -> Result<Option<NewBuild>> {
        bail!(
            "cannot rebuild {}: this py2deb was built without the build pipeline",
            record.project
        )
    }
}

/// Repository settings, fixed by `repo init` (re-running `init` changes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoConfig {
    pub format: u32,
    pub suite: String,
    pub codename: String,
    pub origin: String,
    pub label: String,
    pub description: String,
    pub component: String,
    pub architectures: Vec<String>,
    /// gpg key id/fingerprint used to sign `Release`; `None` publishes unsigned.
    pub sign_key: Option<String>,
    /// Default number of versions kept per package and architecture (`None`: all).
    #[serde(default)]
    pub keep: Option<usize>,
}

/// Options for [`Repo::init`]; `None` fields take their defaults.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    pub suite: String,
    pub codename: Option<String>,
    pub origin: Option<String>,
    pub label: Option<String>,
    pub description: Option<String>,
    pub component: Option<String>,
    pub architectures: Vec<String>,
    pub sign_key: Option<String>,
    pub keep: Option<usize>,
}

/// One published package as recorded in the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub source: String,
    /// Path relative to the repository root (the `Filename` field).
    pub filename: String,
    pub size: u64,
    pub md5: String,
    pub sha256: String,
    /// The package's control paragraph as parsed and written back (`debfile::inspect`),
    /// ending in one newline; checked again whenever it is published.
    pub control: String,
    #[serde(default)]
    pub record: Option<BuildRecord>,
}

impl Entry {
    /// Check the recorded fields used in paths and indexes (a state file written by an
    /// older py2deb, or edited by hand, is not trusted more than a package).
    pub fn validate(&self) -> Result<()> {
        let what = format!("recorded package `{}`", self.package);
        debfile::check_package_name(&self.package).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        debfile::check_version(&self.version).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        debfile::check_architecture(&self.architecture)
            .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        debfile::check_package_name(&self.source).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        check_pool_path(&self.filename).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(&self.sha256, 64) || !hex(&self.md5, 32) {
            bail!("{what}: the recorded hashes are malformed");
        }
        Ok(())
    }
}

/// A pool file name is `pool/…/name.deb` made of plain components: never absolute, never
/// `..`, nothing outside `pool/`.
fn check_pool_path(filename: &str) -> Result<()> {
    let ok = filename.starts_with("pool/")
        && filename.ends_with(".deb")
        && filename.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        });
    if !ok {
        bail!("`{filename}` is not a path inside the pool");
    }
    Ok(())
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    packages: Vec<Entry>,
    /// Pool files no longer in the state that a retained generation may still name; deleted
    /// once none does.
    #[serde(default)]
    retired: Vec<String>,
}

/// What an add changed.
#[derive(Debug, Default, Clone)]
pub struct AddOutcome {
    /// `(package, version, arch)` newly published.
    pub added: Vec<(String, String, String)>,
    /// Identical files that were already published (no-op).
    pub unchanged: Vec<(String, String, String)>,
    /// Older versions dropped by `keep`.
    pub pruned: Vec<(String, String, String)>,
}

/// One package `repo update` found (or would find) a newer release for.
#[derive(Debug, Clone)]
pub struct UpdateChange {
    pub package: String,
    pub architecture: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Default, Clone)]
pub struct UpdateOutcome {
    pub changes: Vec<UpdateChange>,
    pub add: AddOutcome,
}

/// An open repository directory.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
    config: RepoConfig,
}

/// Holds the repository's writer lock until dropped.
struct Lock(#[allow(dead_code)] File);

impl Repo {
    /// Create a repository in `dir` (created if missing) and publish its empty indexes.
    /// On an existing repository this changes the settings and republishes what is there,
    /// under the same lock every writer takes.
    pub fn init(dir: &Path, opts: InitOptions, reporter: &dyn Reporter) -> Result<Repo> {
        let component = opts.component.unwrap_or_else(|| "main".into());
        let codename = opts.codename.unwrap_or_else(|| opts.suite.clone());
        let mut architectures: Vec<String> = Vec::new();
        for a in &opts.architectures {
            let a = a.trim().to_owned();
            validate_word("architecture", &a)?;
            if a == "all" {
                bail!("`--arch all` is not a repository architecture: packages with Architecture: all are listed under every architecture; name real ones, e.g. --arch amd64,arm64");
            }
            if !architectures.contains(&a) {
                architectures.push(a);
            }
        }
        if architectures.is_empty() {
            bail!("a repository needs at least one architecture; pass e.g. --arch amd64");
        }
        let origin = opts.origin.unwrap_or_else(|| "py2deb".into());
        let config = RepoConfig {
            format: FORMAT,
            label: opts.label.unwrap_or_else(|| origin.clone()),
            description: opts
                .description
                .unwrap_or_else(|| format!("{origin} packages built by py2deb")),
            origin,
            suite: opts.suite,
            codename,
            component,
            architectures,
            sign_key: opts.sign_key,
            keep: opts.keep,
        };
        validate_config(&config)?;
        if let Some(key) = &config.sign_key {
            gpg::check_secret_key(key)?;
        }
        fs::create_dir_all(dir.join(STATE_DIR))
            .with_context(|| format!("cannot create repository directory {}", dir.display()))?;
        let repo = Repo {
            root: dir.to_owned(),
            config,
        };
        let _lock = repo.lock(reporter)?;
        let previous = read_json::<RepoConfig>(&repo.state_path(CONFIG_FILE))?;
        if let Some(prev) = &previous {
            repo.clean_stale(prev, reporter);
            if prev.suite != repo.config.suite {
                // The old suite's indexes would linger with stale content; remove them so
                // clients pointed at the old name fail loudly instead of silently freezing.
                publish::remove_suite(&repo.root, &prev.suite)?;
            }
            reporter.info(&format!("updating settings of {}", dir.display()));
        }
        repo.clean_stale(&repo.config, reporter);
        let state = repo.load_state()?;
        if let Some(key) = &repo.config.sign_key {
            publish_key(&repo.root, key)?;
        }
        let _guard = PublishGuard::new();
        publish::publish(&repo.root, &repo.config, &state.packages, true, reporter)?;
        write_json_atomic(&repo.state_path(CONFIG_FILE), &repo.config)?;
        if previous.is_none() {
            write_json_atomic(&repo.state_path(PACKAGES_FILE), &state)?;
        }
        Ok(repo)
    }

    /// Open an existing repository for reading. Writers read the configuration again
    /// under the lock ([`Repo::add`] and the others do), so a concurrent `repo init` is
    /// never half-seen.
    pub fn open(dir: &Path) -> Result<Repo> {
        let config = read_config(dir)?;
        Ok(Repo {
            root: dir.to_owned(),
            config,
        })
    }

    /// Take the writer lock, then read the configuration as it is now and remove what
    /// killed writers left behind.
    fn begin_write(&self, reporter: &dyn Reporter) -> Result<(Lock, RepoConfig)> {
        let lock = self.lock(reporter)?;
        let config = read_config(&self.root)?;
        self.clean_stale(&config, reporter);
        Ok((lock, config))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &RepoConfig {
        &self.config
    }

    /// Every published package, sorted by name, version, architecture.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let mut state = self.load_state()?;
        sort_entries(&mut state.packages);
        Ok(state.packages)
    }

    /// Publish `debs`. A file identical to one already published is a no-op; a different
    /// file with the same name, version and architecture is refused (clients that cached
    /// the old index would see a hash mismatch). `keep` overrides the repository default.
    pub fn add(
        &self,
        debs: &[Incoming],
        keep: Option<usize>,
        reporter: &dyn Reporter,
    ) -> Result<AddOutcome> {
        let (_lock, config) = self.begin_write(reporter)?;
        self.add_locked(&config, debs, keep, reporter)
    }

    fn add_locked(
        &self,
        config: &RepoConfig,
        debs: &[Incoming],
        keep: Option<usize>,
        reporter: &dyn Reporter,
    ) -> Result<AddOutcome> {
        // Pool files this add created, removed again if it fails.
        let mut copied: Vec<String> = Vec::new();
        let result = self.add_to_pool_and_commit(config, debs, keep, reporter, &mut copied);
        if result.is_err() {
            self.forget_copies(config, &copied);
        }
        result
    }

    fn add_to_pool_and_commit(
        &self,
        config: &RepoConfig,
        debs: &[Incoming],
        keep: Option<usize>,
        reporter: &dyn Reporter,
        copied: &mut Vec<String>,
    ) -> Result<AddOutcome> {
        let mut state = self.load_state()?;
        let mut outcome = AddOutcome::default();
        let mut changed = false;
        for deb in debs {
            let info = debfile::inspect(&deb.path)?;
            let id = (
                info.package.clone(),
                info.version.clone(),
                info.architecture.clone(),
            );
            if info.architecture != "all" && !config.architectures.contains(&info.architecture) {
                bail!(
                    "{} is for architecture {}, but the repository serves only {}; add it with `py2deb repo init {} --suite {} --arch {},{}`",
                    deb.path.display(),
                    info.architecture,
                    config.architectures.join(","),
                    self.root.display(),
                    config.suite,
                    config.architectures.join(","),
                    info.architecture
                );
            }
            let filename = pool_path(config, &info);
            check_pool_path(&filename)?;
            if let Some(existing) = state.packages.iter_mut().find(|e| {
                (e.package == info.package
                    && e.architecture == info.architecture
                    && same_version(&e.version, &info.version))
                    || e.filename == filename
            }) {
                if existing.sha256 == info.sha256 {
                    // A build record arriving for a package first added by hand is still
                    // worth keeping: it lets `repo update` follow the package from now on.
                    if existing.record.is_none() && deb.record.is_some() {
                        existing.record = deb.record.clone();
                        changed = true;
                    }
                    reporter.info(&format!(
                        "{}_{}_{} is already published (identical file)",
                        id.0, id.1, id.2
                    ));
                    outcome.unchanged.push(id);
                    continue;
                }
                bail!(
                    "refusing to add {}: {} {} ({}) is already published from a different file (sha256 {} vs {}); \
                     apt clients would see a hash mismatch. Bump the version, or first run `py2deb repo remove {} {}={}`",
                    deb.path.display(),
                    info.package,
                    info.version,
                    info.architecture,
                    existing.sha256,
                    info.sha256,
                    self.root.display(),
                    info.package,
                    info.version
                );
            }
            if let Some(pos) = state.retired.iter().position(|r| *r == filename) {
                // Back in use; a retained generation may still name the old file under the
                // same name, but the state is the authority from now on.
                state.retired.remove(pos);
            }
            let dest = self.root.join(&filename);
            if !dest.exists() {
                copied.push(filename.clone());
            }
            copy_into_pool(&deb.path, &dest, &info.sha256)?;
            reporter.info(&format!("added {} {} ({})", id.0, id.1, id.2));
            state.packages.push(Entry {
                package: info.package,
                version: info.version,
                architecture: info.architecture,
                source: info.source,
                filename,
                size: info.size,
                md5: info.md5,
                sha256: info.sha256,
                control: String::from_utf8(info.control).expect("render_paragraph writes UTF-8"),
                record: deb.record.clone(),
            });
            outcome.added.push(id);
            changed = true;
        }
        failpoint("add:after-pool");
        let mut removed = Vec::new();
        if let Some(n) = keep.or(config.keep) {
            removed = prune(&mut state.packages, n.max(1));
            changed |= !removed.is_empty();
        }
        if changed {
            self.commit(config, state, &removed, reporter)?;
        }
        outcome.pruned = removed
            .iter()
            .map(|e| (e.package.clone(), e.version.clone(), e.architecture.clone()))
            .collect();
        Ok(outcome)
    }

    /// Remove `name` (all versions) or `name=version`, on every architecture. Returns what
    /// was removed.
    pub fn remove(&self, spec: &str, reporter: &dyn Reporter) -> Result<Vec<Entry>> {
        let (name, version) = match spec.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (spec.trim(), None),
        };
        let (_lock, config) = self.begin_write(reporter)?;
        let mut state = self.load_state()?;
        let (removed, kept): (Vec<Entry>, Vec<Entry>) = state.packages.into_iter().partition(|e| {
            e.package == name && version.is_none_or(|v| same_version(&e.version, v))
        });
        if removed.is_empty() {
            bail!(
                "no package `{spec}` in {}; see `py2deb repo list {}`",
                self.root.display(),
                self.root.display()
            );
        }
        state.packages = kept;
        for e in &removed {
            reporter.info(&format!(
                "removed {} {} ({})",
                e.package, e.version, e.architecture
            ));
        }
        self.commit(&config, state, &removed, reporter)?;
        Ok(removed)
    }

    /// Rewrite all indexes and `Release` from the recorded state (after a settings change,
    /// or to refresh the `Date`).
    pub fn republish(&self, reporter: &dyn Reporter) -> Result<()> {
        let (_lock, config) = self.begin_write(reporter)?;
        let state = self.load_state()?;
        let _guard = PublishGuard::new();
        publish::publish(&self.root, &config, &state.packages, true, reporter)
    }

    /// For every package py2deb built into this repository from an index, ask `check`
    /// whether a newer release exists (same spec, target, options and indexes as recorded);
    /// publish what it builds. In a dry run `check` is told not to build and nothing is
    /// written. The lock is held throughout so two updates do not build the same thing.
    pub fn update(
        &self,
        dry_run: bool,
        keep: Option<usize>,
        reporter: &dyn Reporter,
        check: &mut dyn FnMut(&BuildRecord, bool) -> Result<Option<NewBuild>>,
    ) -> Result<UpdateOutcome> {
        let (_lock, config) = self.begin_write(reporter)?;
        let state = self.load_state()?;
        // One check per distinct build: the newest published version of each recorded
        // build stands for all of its older versions, also under an older package name or
        // architecture (a build renamed after its project when its modules went private).
        let mut newest: Vec<&Entry> = Vec::new();
        for e in state.packages.iter().filter(|e| e.record.is_some()) {
            let rec = e.record.as_ref().unwrap();
            match newest
                .iter_mut()
                .find(|n| n.record.as_ref().unwrap().same_build(rec))
            {
                Some(n) => {
                    if compare_versions(&e.version, &n.version).is_gt() {
                        *n = e;
                    }
                }
                None => newest.push(e),
            }
        }
        newest.sort_by(|a, b| a.package.cmp(&b.package));
        let mut outcome = UpdateOutcome::default();
        let mut incoming = Vec::new();
        for e in newest {
            let rec = e.record.as_ref().unwrap();
            reporter.info(&format!("checking {} ({})", rec.project, rec.spec));
            let found = check(rec, dry_run)
                .with_context(|| format!("looking for a newer release of {}", rec.project))?;
            let Some(found) = found else { continue };
            if found.version == rec.version {
                continue;
            }
            outcome.changes.push(UpdateChange {
                package: e.package.clone(),
                architecture: e.architecture.clone(),
                from: rec.version.clone(),
                to: found.version.clone(),
            });
            incoming.extend(found.debs);
        }
        if !dry_run && !incoming.is_empty() {
            outcome.add = self.add_locked(&config, &incoming, keep, reporter)?;
        }
        Ok(outcome)
    }

    /// deb822 `.sources` stanzas for this repository: a `file://` one for this machine and an
    /// `http://` one to adapt when the directory is served by a web server.
    pub fn sources_stanzas(&self, http_base: Option<&str>) -> Result<String> {
        let abs = fs::canonicalize(&self.root)
            .with_context(|| format!("cannot resolve {}", self.root.display()))?;
        let http = http_base
            .map(|s| s.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| "http://HOST/PATH".into());
        let mut out = String::new();
        let keyring = self.keyring_path();
        if self.config.sign_key.is_some() {
            out.push_str(&format!(
                "# Install the key:\n#   sudo install -D -m 0644 {} {keyring}\n",
                abs.join(KEY_FILE).display()
            ));
            out.push_str(&format!(
                "#   (remote: curl -fsSL {http}/{KEY_FILE} | sudo tee {keyring} >/dev/null)\n"
            ));
        } else {
            out.push_str("# Unsigned repository: apt accepts it only with `Trusted: yes`.\n# Prefer `py2deb repo init DIR --suite S --sign-key KEYID`.\n");
        }
        for (comment, uri) in [
            ("local", format!("file://{}", abs.display())),
            ("served over HTTP", http),
        ] {
            out.push_str(&format!(
                "\n# /etc/apt/sources.list.d/{}.sources ({comment})\n",
                self.slug()
            ));
            out.push_str(&self.stanza(&uri));
        }
        Ok(out)
    }

    /// One deb822 stanza pointing at `uri`.
    pub fn stanza(&self, uri: &str) -> String {
        let mut s = format!(
            "Types: deb\nURIs: {uri}\nSuites: {}\nComponents: {}\nArchitectures: {}\n",
            self.config.suite,
            self.config.component,
            self.config.architectures.join(" ")
        );
        if self.config.sign_key.is_some() {
            s.push_str(&format!("Signed-By: {}\n", self.keyring_path()));
        } else {
            s.push_str("Trusted: yes\n");
        }
        s
    }

    /// Where the stanza expects the public key on client machines.
    pub fn keyring_path(&self) -> String {
        format!("/etc/apt/keyrings/{}.gpg", self.slug())
    }

    fn slug(&self) -> String {
        let s: String = self
            .config
            .origin
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let s = s.trim_matches('-').to_owned();
        if s.is_empty() {
            "py2deb".into()
        } else {
            s
        }
    }

    fn state_path(&self, name: &str) -> PathBuf {
        self.root.join(STATE_DIR).join(name)
    }

    fn load_state(&self) -> Result<State> {
        Ok(read_json::<State>(&self.state_path(PACKAGES_FILE))?.unwrap_or_default())
    }

    /// Publish `state` as a new generation, then record it, then delete pool files that
    /// neither the state nor any generation a client may still hold refers to. A signal
    /// arriving meanwhile takes effect once this is done.
    fn commit(
        &self,
        config: &RepoConfig,
        mut state: State,
        removed: &[Entry],
        reporter: &dyn Reporter,
    ) -> Result<()> {
        let _guard = PublishGuard::new();
        publish::publish(&self.root, config, &state.packages, false, reporter)?;
        for e in removed {
            if !state.retired.contains(&e.filename) {
                state.retired.push(e.filename.clone());
            }
        }
        let in_use: BTreeSet<&str> = state.packages.iter().map(|e| e.filename.as_str()).collect();
        state.retired.retain(|f| !in_use.contains(f.as_str()));
        let still_named = if state.retired.is_empty() {
            BTreeSet::new()
        } else {
            publish::retained_pool_files(&self.root, &config.suite)
        };
        let (keep, gone): (Vec<String>, Vec<String>) = std::mem::take(&mut state.retired)
            .into_iter()
            .partition(|f| still_named.contains(f));
        state.retired = keep;
        write_json_atomic(&self.state_path(PACKAGES_FILE), &state)?;
        failpoint("commit:after-state");
        for f in gone {
            if check_pool_path(&f).is_err() {
                continue;
            }
            let path = self.root.join(&f);
            if let Err(err) = fs::remove_file(&path) {
                if err.kind() != std::io::ErrorKind::NotFound {
                    reporter.warn(&format!("could not delete {}: {err}", path.display()));
                }
            }
        }
        Ok(())
    }

    /// After a failed add, delete the pool files it created, unless a published generation
    /// names them after all (the failure came after the switch).
    fn forget_copies(&self, config: &RepoConfig, copied: &[String]) {
        if copied.is_empty() {
            return;
        }
        let named = publish::retained_pool_files(&self.root, &config.suite);
        for f in copied.iter().filter(|f| !named.contains(*f)) {
            let _ = fs::remove_file(self.root.join(f));
        }
    }

    /// Remove temporary files and half-written generations of writers that were killed.
    /// Only called under the lock, when no other writer can own them.
    fn clean_stale(&self, config: &RepoConfig, reporter: &dyn Reporter) {
        for path in check::stale_files(&self.root, config) {
            let res = if path.is_dir() && !path.is_symlink() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            match res {
                Ok(()) => reporter.info(&format!("removed leftover {}", path.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => reporter.warn(&format!("could not remove {}: {e}", path.display())),
            }
        }
    }

    /// Take the writer lock, telling the user when another writer holds it.
    fn lock(&self, reporter: &dyn Reporter) -> Result<Lock> {
        let path = self.state_path(LOCK_FILE);
        let file = fsutil::open_lock_file(&path)?;
        let lock = |wait| fsutil::flock(&file, LockMode::Exclusive, wait);
        if !lock(false).with_context(|| format!("cannot lock {}", path.display()))? {
            reporter.info(&format!(
                "waiting for another py2deb writing {}",
                self.root.display()
            ));
            lock(true).with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Ok(Lock(file))
    }
}

/// Export the signing key into the repository root (binary for `Signed-By`, armored for
/// people who want to read it).
fn publish_key(root: &Path, key: &str) -> Result<()> {
    write_atomic(&root.join(KEY_FILE), &gpg::export_key(key, false)?)?;
    write_atomic(&root.join(KEY_FILE_ARMORED), &gpg::export_key(key, true)?)?;
    Ok(())
}

/// Pool location: `pool/<component>/<prefix>/<source>/<pkg>_<version>_<arch>.deb`, with
/// the epoch dropped from the file name as Debian does (`:` upsets some servers). Every
/// part was checked by `debfile::inspect` (Policy §5.6), so none can hold `/` or `..`.
fn pool_path(config: &RepoConfig, info: &debfile::DebInfo) -> String {
    let src = &info.source;
    let prefix = if src.starts_with("lib") && src.len() > 3 {
        &src[..4]
    } else {
        &src[..1]
    };
    let version = info
        .version
        .split_once(':')
        .map_or(info.version.as_str(), |(_, v)| v);
    format!(
        "pool/{}/{prefix}/{src}/{}_{version}_{}.deb",
        config.component, info.package, info.architecture
    )
}

/// Read and check `config.json`.
fn read_config(dir: &Path) -> Result<RepoConfig> {
    let path = dir.join(STATE_DIR).join(CONFIG_FILE);
    let config = read_json::<RepoConfig>(&path)?.ok_or_else(|| {
        anyhow::anyhow!(
            "{} is not a py2deb repository (no {}); create one with `py2deb repo init {} --suite stable`",
            dir.display(),
            path.display(),
            dir.display()
        )
    })?;
    if config.format > FORMAT {
        bail!(
            "{} was written by a newer py2deb (state format {}); upgrade py2deb",
            dir.display(),
            config.format
        );
    }
    validate_config(&config).with_context(|| format!("in {}", path.display()))?;
    Ok(config)
}

/// Every value that goes into `Release` or a path.
fn validate_config(c: &RepoConfig) -> Result<()> {
    validate_word("suite", &c.suite)?;
    validate_word("codename", &c.codename)?;
    validate_word("component", &c.component)?;
    for a in &c.architectures {
        validate_word("architecture", a)?;
    }
    validate_text("origin", &c.origin)?;
    validate_text("label", &c.label)?;
    validate_text("description", &c.description)?;
    Ok(())
}

/// A free-text `Release` field: one line of printable text, so it cannot add a field.
fn validate_text(what: &str, value: &str) -> Result<()> {
    if let Some(c) = value
        .chars()
        .find(|&c| c.is_control() || crate::debian::deb822::forbidden_char(c))
    {
        bail!(
            "invalid {what} {value:?}: contains U+{:04X}; use one line of printable text",
            c as u32
        );
    }
    if value.trim().is_empty() || value.trim() != value || value.len() > 512 {
        bail!("invalid {what} {value:?}: use one line of text (1-512 bytes) without leading or trailing spaces");
    }
    Ok(())
}

/// Keep the newest `keep` versions of each (package, architecture); return the rest.
fn prune(entries: &mut Vec<Entry>, keep: usize) -> Vec<Entry> {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        groups
            .entry((e.package.clone(), e.architecture.clone()))
            .or_default()
            .push(i);
    }
    let mut drop = vec![false; entries.len()];
    for idx in groups.values_mut() {
        idx.sort_by(|&a, &b| compare_versions(&entries[b].version, &entries[a].version));
        for &i in idx.iter().skip(keep) {
            drop[i] = true;
        }
    }
    let mut removed = Vec::new();
    let mut i = 0;
    entries.retain(|e| {
        let d = drop[i];
        i += 1;
        if d {
            removed.push(e.clone());
        }
        !d
    });
    removed
}

fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        a.package
            .cmp(&b.package)
            .then_with(|| compare_versions(&a.version, &b.version))
            .then_with(|| a.architecture.cmp(&b.architecture))
    });
}

/// Debian version ordering (deb-version(7)); unparsable versions fall back to text order
/// rather than failing, since foreign packages are not ours to reject for that.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (
        a.parse::<debversion::Version>(),
        b.parse::<debversion::Version>(),
    ) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn same_version(a: &str, b: &str) -> bool {
    a == b || compare_versions(a, b).is_eq()
}

fn validate_word(what: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '+'))
        && !value.starts_with('.');
    if !ok {
        bail!("invalid {what} `{value}`: use letters, digits and - . _ + only (e.g. `stable`, `main`, `amd64`)");
    }
    Ok(())
}

/// Copy a package into the pool atomically. An existing file with the same hash is left
/// alone (a re-run after an interrupted add); a different one is not published anywhere
/// yet (the state is the authority), so it is replaced.
fn copy_into_pool(src: &Path, dest: &Path, sha256: &str) -> Result<()> {
    if dest.exists() {
        if let Ok((_, _, existing)) = debfile::hash_file(dest) {
            if existing == sha256 {
                return Ok(());
            }
        }
    }
    let dir = dest.parent().expect("pool paths have a parent");
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".incoming-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let mut input = File::open(src).with_context(|| format!("cannot read {}", src.display()))?;
    std::io::copy(&mut input, tmp.as_file_mut())
        .with_context(|| format!("cannot copy {} into the pool", src.display()))?;
    tmp.as_file().sync_all()?;
    set_readable(tmp.path())?;
    tmp.persist(dest)
        .with_context(|| format!("cannot move package into {}", dest.display()))?;
    Ok(())
}

/// Temporary files are created 0600; published files must be world-readable for web
/// servers and for apt's unprivileged `_apt` sandbox user.
fn set_readable(path: &Path) -> Result<()> {
    fsutil::set_mode(path, 0o644)
}

fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    // Compact: the package state runs to megabytes on large repositories and is rewritten
    // on every add.
    let mut bytes = serde_json::to_vec(value)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
            format!(
                "{} is corrupt; restore it from a backup or re-create the repository",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(p: &str, v: &str) -> Entry {
        Entry {
            package: p.into(),
            version: v.into(),
            architecture: "all".into(),
            source: p.into(),
            filename: format!("pool/main/{p}_{v}"),
            size: 0,
            md5: String::new(),
            sha256: String::new(),
            control: String::new(),
            record: None,
        }
    }

    #[test]
    fn prune_keeps_newest_by_debian_order() {
        let mut e = vec![
            entry("a", "1.10-1"),
            entry("a", "1.9-1"),
            entry("a", "1:0.1-1"),
            entry("b", "1"),
        ];
        let removed = prune(&mut e, 2);
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].version, "1.9-1");
        assert_eq!(e.len(), 3);
    }

    #[test]
    fn words_are_validated() {
        assert!(validate_word("suite", "stable").is_ok());
        assert!(validate_word("suite", "../x").is_err());
        assert!(validate_word("suite", "").is_err());
    }
}
