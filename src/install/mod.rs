//! One machine's py2deb (`py2deb install/uninstall/list/upgrade`): the local signed
//! repository at /var/lib/py2deb/repo (an ordinary [`crate::repo::Repo`]), its key under
//! /etc/apt/keyrings, the deb822 source /etc/apt/sources.list.d/py2deb.sources, and the
//! staging repository through which unprivileged builds reach it.
//!
//! Every path is below an injectable root directory ([`Layout`], like dpkg's `--root`) and
//! every program (gpg for the key, apt-get, runuser) runs through a [`Runner`], so tests run
//! the whole flow against a temporary directory. Builds never run as root: they publish into
//! the staging repository as the `_py2deb` system user, and only the root step that moves
//! staged packages into the signed repository touches the key (it reads `.deb` files, never
//! runs them).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::repo::{Incoming, InitOptions, Repo};
use crate::report::Reporter;

/// The system user the package's postinst creates for builds.
pub const BUILD_USER: &str = "_py2deb";
/// Suite (and origin) of the local repository, as apt shows it.
pub const SUITE: &str = "py2deb-local";

/// Where one machine keeps py2deb's state, below `root` (`/` on a real machine).
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Layout {
        Layout { root: root.into() }
    }
    /// `abs` (an absolute path on the machine) below the root.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn state_dir(&self) -> PathBuf {
        self.path("/var/lib/py2deb")
    }
    pub fn repo_dir(&self) -> PathBuf {
        self.path(REPO_DIR)
    }
    /// The signing keyring: root's only (0700).
    pub fn gnupg_dir(&self) -> PathBuf {
        self.path("/var/lib/py2deb/gnupg")
    }
    /// Unsigned repository the unprivileged builds publish into.
    pub fn staged_dir(&self) -> PathBuf {
        self.path("/var/lib/py2deb/staged")
    }
    pub fn settings_file(&self) -> PathBuf {
        self.path("/var/lib/py2deb/settings.json")
    }
    pub fn cache_dir(&self) -> PathBuf {
        self.path("/var/cache/py2deb")
    }
    pub fn sources_file(&self) -> PathBuf {
        self.path(SOURCES_FILE)
    }
    pub fn keyring_file(&self) -> PathBuf {
        self.path(KEYRING_FILE)
    }
}

/// Paths as apt on the machine sees them (the root is where they live, not what they say).
const REPO_DIR: &str = "/var/lib/py2deb/repo";
const SOURCES_FILE: &str = "/etc/apt/sources.list.d/py2deb.sources";
const KEYRING_FILE: &str = "/etc/apt/keyrings/py2deb-local.gpg";

/// What `py2deb install` was told once for the machine, honoured by the timer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Builds from sdists (running project code as the build user) were allowed.
    #[serde(default)]
    pub allow_sdists: bool,
}

/// The result of running a program.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs the programs the flow needs; [`SystemRunner`] on a machine, a recorder in tests.
pub trait Runner {
    /// Run `program` with `args` and extra environment `env`, stdin from the terminal when
    /// `interactive` (apt-get may ask), output captured otherwise.
    fn run(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
        interactive: bool,
    ) -> Result<RunOutput>;
}

/// Runs programs for real, from PATH.
pub struct SystemRunner;

impl Runner for SystemRunner {
    fn run(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
        interactive: bool,
    ) -> Result<RunOutput> {
        let mut cmd = std::process::Command::new(program);
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("LC_ALL", "C.UTF-8");
        let out = if interactive {
            let status = cmd
                .status()
                .with_context(|| format!("cannot run {program}"))?;
            RunOutput {
                success: status.success(),
                code: status.code(),
                stdout: Vec::new(),
                stderr: Vec::new(),
            }
        } else {
            let o = cmd
                .stdin(std::process::Stdio::null())
                .output()
                .with_context(|| format!("cannot run {program}"))?;
            RunOutput {
                success: o.status.success(),
                code: o.status.code(),
                stdout: o.stdout,
                stderr: o.stderr,
            }
        };
        Ok(out)
    }
}

fn s(v: &str) -> String {
    v.to_owned()
}

/// The machine's [`Settings`], the defaults before `py2deb install` wrote any.
pub fn read_settings(layout: &Layout) -> Result<Settings> {
    let p = layout.settings_file();
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).with_context(|| {
            format!(
                "{} is damaged; delete it and run `py2deb install` again",
                p.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
    }
}

/// One installed-by-py2deb project, for `py2deb list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub package: String,
    pub project: String,
    pub spec: String,
    /// Newest version published in the local repository.
    pub version: String,
    /// Version dpkg has installed, if any.
    pub installed: Option<String>,
    /// Newest release on the recorded index (filled in by the caller, which can ask it).
    pub newest_release: Option<String>,
    #[serde(skip)]
    pub record: crate::repo::BuildRecord,
}

/// The machine's py2deb state, through a layout and a runner.
pub struct Machine<'a> {
    pub layout: Layout,
    runner: &'a dyn Runner,
    reporter: &'a dyn Reporter,
}

impl<'a> Machine<'a> {
    pub fn new(layout: Layout, runner: &'a dyn Runner, reporter: &'a dyn Reporter) -> Self {
        Machine {
            layout,
            runner,
            reporter,
        }
    }

    fn run_ok(&self, program: &str, args: &[String], interactive: bool) -> Result<RunOutput> {
        let out = self.runner.run(program, args, &[], interactive)?;
        if !out.success {
            bail!(
                "`{program} {}` failed ({}): {}",
                args.join(" "),
                out.code
                    .map(|c| format!("exit {c}"))
                    .unwrap_or_else(|| "killed".into()),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out)
    }

    pub fn settings(&self) -> Result<Settings> {
        read_settings(&self.layout)
    }

    pub fn save_settings(&self, settings: &Settings) -> Result<()> {
        crate::fsutil::write_atomic(
            &self.layout.settings_file(),
            serde_json::to_vec_pretty(settings)?.as_slice(),
        )
    }

    /// Whether `py2deb install` has set the machine up.
    pub fn is_set_up(&self) -> bool {
        self.layout.repo_dir().join(crate::repo::STATE_DIR).is_dir()
    }

    /// The local repository, made on first use: a signing key made for this machine in a
    /// keyring only root can read, the repository, its public key in /etc/apt/keyrings and
    /// the deb822 source. Signing reads the keyring from `GNUPGHOME`, which the caller sets
    /// to [`Layout::gnupg_dir`] before any thread starts.
    pub fn ensure_repo(&self, architectures: Vec<String>) -> Result<Repo> {
        if self.is_set_up() {
            let repo = Repo::open(&self.layout.repo_dir())?;
            self.write_source(&repo)?;
            return Ok(repo);
        }
        let state = self.layout.state_dir();
        std::fs::create_dir_all(&state)
            .with_context(|| format!("cannot create {}", state.display()))?;
        let gnupg = self.layout.gnupg_dir();
        make_private_dir(&gnupg)?;
        let fpr = match self.key_fingerprint()? {
            Some(f) => f,
            None => {
                self.reporter.info("making a signing key for this machine");
                let host = std::fs::read_to_string(self.layout.path("/etc/hostname"))
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                let host = if host.is_empty() { "localhost" } else { &host };
                self.run_ok(
                    "gpg",
                    &[
                        s("--homedir"),
                        gnupg.display().to_string(),
                        s("--batch"),
                        s("--no-tty"),
                        s("--passphrase"),
                        s(""),
                        s("--quick-gen-key"),
                        format!("py2deb local repository on {host} <root@{host}>"),
                        s("ed25519"),
                        s("sign"),
                        s("never"),
                    ],
                    false,
                )?;
                self.key_fingerprint()?
                    .context("gpg made a key but does not list it")?
            }
        };
        self.reporter.info(&format!(
            "creating the local repository {}",
            self.layout.repo_dir().display()
        ));
        let repo = Repo::init(
            &self.layout.repo_dir(),
            InitOptions {
                suite: SUITE.into(),
                origin: Some(SUITE.into()),
                label: Some("py2deb local repository".into()),
                description: Some("Packages py2deb built on this machine".into()),
                architectures,
                sign_key: Some(fpr),
                keep: Some(2),
                ..InitOptions::default()
            },
            self.reporter,
        )?;
        self.write_source(&repo)?;
        Ok(repo)
    }

    /// The fingerprint of the machine's key, if the keyring has one.
    fn key_fingerprint(&self) -> Result<Option<String>> {
        let out = self.runner.run(
            "gpg",
            &[
                s("--homedir"),
                self.layout.gnupg_dir().display().to_string(),
                s("--batch"),
                s("--with-colons"),
                s("--list-secret-keys"),
            ],
            &[],
            false,
        )?;
        if !out.success {
            return Ok(None);
        }
        Ok(parse_fingerprint(&String::from_utf8_lossy(&out.stdout)))
    }

    /// The public key and the apt source, rewritten each time so a damaged one heals.
    fn write_source(&self, repo: &Repo) -> Result<()> {
        let key = repo
            .config()
            .sign_key
            .clone()
            .context("the local repository is unsigned; remove /var/lib/py2deb/repo and run `py2deb install` again")?;
        let bytes = crate::repo::export_key(&key, false)?;
        let keyring = self.layout.keyring_file();
        if let Some(d) = keyring.parent() {
            std::fs::create_dir_all(d)?;
        }
        crate::fsutil::write_atomic(&keyring, &bytes)?;
        set_mode(&keyring, 0o644)?;
        let stanza = source_stanza(repo);
        let sources = self.layout.sources_file();
        if let Some(d) = sources.parent() {
            std::fs::create_dir_all(d)?;
        }
        crate::fsutil::write_atomic(&sources, stanza.as_bytes())?;
        set_mode(&sources, 0o644)?;
        Ok(())
    }

    /// Move what the unprivileged builds staged into the signed repository. Returns the
    /// packages published (name, version, architecture).
    pub fn publish_staged(&self) -> Result<Vec<(String, String, String)>> {
        let staged_dir = self.layout.staged_dir();
        if !staged_dir.join(crate::repo::STATE_DIR).is_dir() {
            return Ok(Vec::new());
        }
        let staged = Repo::open(&staged_dir)?;
        let entries = staged.list()?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let repo = Repo::open(&self.layout.repo_dir())?;
        let incoming: Vec<Incoming> = entries
            .iter()
            .map(|e| Incoming {
                path: staged_dir.join(&e.filename),
                record: e.record.clone(),
            })
            .collect();
        // The staged files were written by the build user: the repository checks each as
        // any foreign package (control fields, names, versions) before taking it.
        let outcome = repo.add(&incoming, None, self.reporter)?;
        for e in &entries {
            staged.remove(
                &format!("{}={}", e.package, e.version),
                &crate::report::Silent,
            )?;
        }
        let mut done = outcome.added;
        done.extend(outcome.unchanged);
        Ok(done)
    }

    /// `apt-get update` for the py2deb source only, so that other sources are neither
    /// refreshed nor able to fail the command.
    pub fn apt_update(&self) -> Result<()> {
        let mut args = self.apt_root_args();
        args.extend([
            s("-o"),
            format!("Dir::Etc::SourceList={SOURCES_FILE}"),
            s("-o"),
            s("Dir::Etc::SourceParts=-"),
            s("-o"),
            s("APT::Get::List-Cleanup=0"),
            s("update"),
        ]);
        self.run_ok("apt-get", &args, false).map(|_| ())
    }

    pub fn apt_install(&self, packages: &[String], yes: bool) -> Result<()> {
        self.apt_get("install", packages, yes)
    }

    pub fn apt_remove(&self, packages: &[String], yes: bool) -> Result<()> {
        self.apt_get("remove", packages, yes)
    }

    /// `apt-get [-y] VERB PACKAGE...` below the root, with the user's terminal.
    fn apt_get(&self, verb: &str, packages: &[String], yes: bool) -> Result<()> {
        let mut args = self.apt_root_args();
        if yes {
            args.push(s("-y"));
        }
        args.push(s(verb));
        args.extend(packages.iter().cloned());
        self.run_ok("apt-get", &args, true).map(|_| ())
    }

    /// apt and dpkg below a root other than `/` (as `dpkg --root`).
    fn apt_root_args(&self) -> Vec<String> {
        if self.layout.root() == Path::new("/") {
            Vec::new()
        } else {
            vec![s("-o"), format!("RootDir={}", self.layout.root().display())]
        }
    }

    /// The installed version of `package`, from dpkg.
    fn installed_version(&self, package: &str) -> Result<Option<String>> {
        let mut args = Vec::new();
        if self.layout.root() != Path::new("/") {
            args.push(format!("--root={}", self.layout.root().display()));
        }
        args.extend([s("-W"), s("-f=${db:Status-Abbrev}${Version}"), s(package)]);
        let out = self.runner.run("dpkg-query", &args, &[], false)?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .strip_prefix("ii ")
            .map(|v| v.trim().to_owned())
            .filter(|v| out.success && !v.is_empty()))
    }

    /// What py2deb built for this machine (the requested projects, newest version each).
    pub fn list(&self) -> Result<Vec<Listed>> {
        if !self.is_set_up() {
            return Ok(Vec::new());
        }
        let repo = Repo::open(&self.layout.repo_dir())?;
        let mut out: Vec<Listed> = Vec::new();
        for e in repo.list()? {
            let Some(rec) = &e.record else { continue };
            match out.iter_mut().find(|l| l.package == e.package) {
                Some(l) => {
                    if crate::repo::compare_versions(&e.version, &l.version).is_gt() {
                        l.version = e.version.clone();
                        l.record = rec.clone();
                    }
                }
                None => out.push(Listed {
                    package: e.package.clone(),
                    project: rec.project.clone(),
                    spec: rec.spec.clone(),
                    version: e.version.clone(),
                    installed: None,
                    newest_release: None,
                    record: rec.clone(),
                }),
            }
        }
        for l in &mut out {
            l.installed = self.installed_version(&l.package)?;
        }
        out.sort_by(|a, b| a.package.cmp(&b.package));
        Ok(out)
    }

    /// `py2deb uninstall NAME...`: apt removes the packages, the repository drops them (so
    /// the timer stops rebuilding them). NAME is a package or a project name.
    pub fn uninstall(&self, names: &[String], yes: bool) -> Result<Vec<String>> {
        let repo = Repo::open(&self.layout.repo_dir())
            .context("nothing was installed with py2deb on this machine (no local repository)")?;
        let entries = repo.list()?;
        let mut packages: Vec<String> = Vec::new();
        for name in names {
            let norm = crate::python::PackageName::normalize(name);
            let found: Vec<&str> = entries
                .iter()
                .filter(|e| {
                    e.package == *name
                        || e.record.as_ref().is_some_and(|r| {
                            crate::python::PackageName::normalize(&r.project) == norm
                        })
                })
                .map(|e| e.package.as_str())
                .collect();
            if found.is_empty() {
                bail!("`{name}` was not installed with py2deb; `py2deb list` shows what was");
            }
            for p in found {
                if !packages.iter().any(|q| q == p) {
                    packages.push(p.to_owned());
                }
            }
        }
        let installed: Vec<String> = packages
            .iter()
            .filter(|p| self.installed_version(p).ok().flatten().is_some())
            .cloned()
            .collect();
        if !installed.is_empty() {
            self.apt_remove(&installed, yes)?;
        }
        for p in &packages {
            repo.remove(p, self.reporter)?;
        }
        Ok(packages)
    }
}

/// The deb822 source for the local repository, at its path on the machine.
pub fn source_stanza(repo: &Repo) -> String {
    let c = repo.config();
    format!(
        "# Written by `py2deb install`; removed by `apt purge py2deb`.\n\
         Types: deb\nURIs: file:{REPO_DIR}\nSuites: {}\nComponents: {}\nArchitectures: {}\nSigned-By: {KEYRING_FILE}\n",
        c.suite,
        c.component,
        c.architectures.join(" ")
    )
}

/// The first secret key's fingerprint in `gpg --with-colons --list-secret-keys` output.
pub fn parse_fingerprint(colons: &str) -> Option<String> {
    let mut in_sec = false;
    for line in colons.lines() {
        let mut f = line.split(':');
        match f.next() {
            Some("sec") => in_sec = true,
            Some("fpr") if in_sec => {
                let fpr = f.nth(8)?;
                if fpr.len() >= 40 && fpr.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Some(fpr.to_owned());
                }
            }
            Some("ssb" | "sub") => in_sec = false,
            _ => {}
        }
    }
    None
}

fn make_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    set_mode(dir, 0o700)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_of_the_secret_key_not_a_subkey() {
        let out = "sec:u:255:22:AAAABBBBCCCCDDDD:1700000000:::u:::scESC:::+:::ed25519:::0:\n\
                   fpr:::::::::0123456789ABCDEF0123456789ABCDEF01234567:\n\
                   grp:::::::::X:\nuid:u::::1700000000::H::py2deb <root@h>::::::::::0:\n";
        assert_eq!(
            parse_fingerprint(out).as_deref(),
            Some("0123456789ABCDEF0123456789ABCDEF01234567")
        );
        assert_eq!(
            parse_fingerprint("ssb:u\nfpr:::::::::0123456789ABCDEF0123456789ABCDEF01234567:\n"),
            None
        );
        assert_eq!(parse_fingerprint("sec:u\nfpr:::::::::nothex:\n"), None);
    }

    #[test]
    fn layout_stays_below_its_root() {
        let l = Layout::new("/tmp/r");
        assert_eq!(
            l.sources_file(),
            Path::new("/tmp/r/etc/apt/sources.list.d/py2deb.sources")
        );
        assert_eq!(l.repo_dir(), Path::new("/tmp/r/var/lib/py2deb/repo"));
        assert_eq!(
            l.keyring_file(),
            Path::new("/tmp/r/etc/apt/keyrings/py2deb-local.gpg")
        );
    }
}
