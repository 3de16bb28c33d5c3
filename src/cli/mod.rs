//! Command line: clap types (what the user typed, `Opts`) turned into the program's
//! configuration ([`BuildConfig`]), a terminal reporter, and the exit code.

pub mod compiled;
pub mod completions;
pub mod install;
pub mod packaging;
pub mod repo;

use crate::debian::archive::ArchiveOptions;
use crate::debian::deb::Compression;
use crate::debian::target::TargetSpec;
use crate::index::fetch::Cache;
use crate::index::IndexConfig;
use crate::inspect::wheel::Limits;
use crate::pipeline::{self, BuildConfig, Built, Spec};
use crate::report::{escape_untrusted, Progress, Reporter};
use crate::resolve::{ConflictMode, DepsMode};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

pub(crate) const DEFAULT_INDEX: &str = "https://pypi.org/simple/";

/// Build Debian packages from Python projects on PyPI (or any package index).
#[derive(Debug, Parser)]
#[command(
    name = "py2deb",
    version,
    about,
    long_about = "Build Debian packages from Python projects on PyPI (or any package index), \
                  so that apt stays the only system-wide installer.\n\n\
                  `py2deb NAME` is short for `py2deb build NAME`.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Opts {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    build: BuildArgs,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more about each step.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build .deb files for projects, requirements or local wheels (the default command).
    Build(Box<BuildArgs>),
    /// Print the Debian version py2deb uses for each PEP 440 version, one per line.
    Version {
        /// PEP 440 versions, e.g. `1.0rc1` `2!1.0.post3`.
        #[arg(required = true, value_name = "PEP440")]
        versions: Vec<String>,
    },
    /// Explain how requirements map onto the target's packages, without building.
    Map(MapArgs),
    /// Keep an apt repository of converted packages (init, add, list, remove, update).
    Repo(crate::cli::repo::RepoArgs),
    /// Check whether Debian has a project; if not, write the WNPP request (RFP or ITP).
    Rfp(crate::cli::packaging::RfpArgs),
    /// Write a Debian source package for an sdist, after the Debian Python Team's conventions.
    Debianize(Box<crate::cli::packaging::DebianizeArgs>),
    /// Build projects for this machine into its local signed repository and install them
    /// with apt (as root); new releases then come as apt upgrades.
    Install(crate::cli::install::InstallArgs),
    /// Remove packages `py2deb install` installed, and stop updating them.
    Uninstall(crate::cli::install::UninstallArgs),
    /// List what `py2deb install` installed on this machine.
    List(crate::cli::install::ListArgs),
    /// Rebuild new releases of what `py2deb install` installed; apt then offers them.
    Upgrade(crate::cli::install::UpgradeArgs),
    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions(crate::cli::completions::CompletionsArgs),
    /// Write the man pages (py2deb.1 and one per subcommand) into DIR, or print py2deb(1).
    Man(crate::cli::completions::ManArgs),
}

/// Where distributions come from, with pip's option names; shared by every command that
/// reads an index.
#[derive(Debug, Args)]
pub(crate) struct IndexArgs {
    /// Base URL of the Python package index (Simple API).
    #[arg(short = 'i', long, value_name = "URL", env = "PIP_INDEX_URL", default_value = DEFAULT_INDEX)]
    pub(crate) index_url: String,
    /// Extra index URLs to search as well.
    #[arg(
        long,
        value_name = "URL",
        env = "PIP_EXTRA_INDEX_URL",
        value_delimiter = ' '
    )]
    pub(crate) extra_index_url: Vec<String>,
    /// A local directory of distributions (wheels, sdists) to search as well.
    #[arg(short = 'f', long, value_name = "DIR")]
    pub(crate) find_links: Vec<PathBuf>,
    /// Ignore the package index; use only --find-links and local files.
    #[arg(long)]
    pub(crate) no_index: bool,
    /// Consider pre-release and development versions.
    #[arg(long)]
    pub(crate) pre: bool,
    #[command(flatten)]
    pub(crate) net: NetArgs,
}

impl IndexArgs {
    /// The index configuration these options describe (no I/O).
    pub(crate) fn config(&self) -> Result<IndexConfig> {
        Ok(IndexConfig {
            index_url: parse_url(&self.index_url, "--index-url")?,
            extra_index_urls: self
                .extra_index_url
                .iter()
                .filter(|u| !u.is_empty())
                .map(|u| parse_url(u, "--extra-index-url"))
                .collect::<Result<_>>()?,
            find_links: self.find_links.clone(),
            no_index: self.no_index,
            pre: self.pre,
            http: self.net.options(),
        })
    }
}

/// Options of `py2deb build`, named like pip's where pip has one.
#[derive(Debug, Args)]
struct BuildArgs {
    /// A project name, a PEP 508 requirement without markers (`pepotron==1.8.0`,
    /// `'urllib3>=2,<3'`), a local `.whl`, a local sdist (`.tar.gz`, `.zip`) or a project
    /// directory with pyproject.toml or setup.py.
    #[arg(value_name = "SPEC", required_unless_present = "requirement")]
    specs: Vec<String>,
    #[command(flatten)]
    reqs: crate::cli::install::RequirementFileArgs,
    /// Directory to write the .deb files to.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    output_dir: PathBuf,
    #[command(flatten)]
    index: IndexArgs,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    compiled: crate::cli::compiled::CompiledArgs,
    /// Requirements the target lacks: build them too (`missing`) or only depend on them.
    #[arg(long, value_name = "missing|none", default_value = "missing")]
    deps: DepsMode,
    /// Requirements the target ships too old: replace the distribution's package when
    /// nothing in the target depends on the old version and no system tool relies on it,
    /// else private copies for applications (`auto`); always private copies inside the
    /// application (`bundle`); always a package replacing the distribution's (`replace`);
    /// or stop (`fail`).
    #[arg(long, value_name = "auto|bundle|replace|fail", default_value = "auto")]
    conflicts: ConflictMode,
    /// Requirements the target satisfies: take its package (`distribution`), or the newest
    /// release as pip would, carried privately where the target's is older (`newest`).
    #[arg(
        long,
        value_name = "distribution|newest",
        default_value = "distribution"
    )]
    prefer: crate::resolve::prefer::Prefer,
    /// Maintainer field, `Name <mail>` (default: DEBFULLNAME and DEBEMAIL, as dch does).
    #[arg(long, value_name = "NAME <MAIL>")]
    maintainer: Option<String>,
    /// Debian revision appended to the upstream version; the default sorts below an
    /// official Debian package of the same version.
    #[arg(long, value_name = "REV", default_value = "0py2deb1")]
    revision: String,
    /// Compression of the package members.
    #[arg(long, value_name = "xz|gzip|zstd|none", default_value = "xz")]
    compression: Compression,
    /// Directory with replacement templates (`postinst.tera`, `copyright.tera`, ...).
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Download cache (default: $XDG_CACHE_HOME/py2deb).
    #[arg(long, value_name = "DIR", env = "PY2DEB_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Print a JSON summary of what was written on stdout.
    #[arg(long)]
    json: bool,
    /// Build these projects from their sdist even when a wheel fits (comma-separated
    /// names, or `:all:`), as pip's option of the same name.
    #[arg(long, value_name = "NAME,...|:all:", value_delimiter = ',')]
    no_binary: Vec<String>,
    /// Never build these projects from their sdist (comma-separated names, or `:all:`), as
    /// pip's option of the same name: a project without a fitting wheel is an error.
    #[arg(long, value_name = "NAME,...|:all:", value_delimiter = ',')]
    only_binary: Vec<String>,
    /// Build sdists with the distribution's own build backends instead of an isolated
    /// venv with the build requirements from the index.
    #[arg(long)]
    no_build_isolation: bool,
    /// Give up on an sdist build after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    build_timeout: u64,
    /// Refuse a wheel or sdist entry that unpacks to more than this (bytes, or with K, M,
    /// G, T).
    #[arg(long, value_name = "SIZE", default_value = "4G", value_parser = crate::inspect::wheel::parse_size)]
    max_entry_size: u64,
    /// Refuse a wheel or sdist that unpacks to more than this in total.
    #[arg(long, value_name = "SIZE", default_value = "16G", value_parser = crate::inspect::wheel::parse_size)]
    max_total_size: u64,
    /// Refuse an entry (above 16 MiB) or an archive that inflates more than this many
    /// times its compressed size, as a zip bomb.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_ratio)]
    max_ratio: u64,
    /// Also publish what was built into this apt repository (made by `py2deb repo init`).
    #[arg(long, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Per-project overrides (requirements to add or drop, package name, conflicts policy)
    /// from this TOML file, after `~/.config/py2deb/py2deb.toml` and the repository's
    /// `py2deb.toml` (repeatable; later files win).
    #[arg(long = "override", value_name = "FILE")]
    overrides: Vec<PathBuf>,
    /// Read only the `--override` files, not the user's or the repository's.
    #[arg(long)]
    no_default_overrides: bool,
    /// After building, import every top-level module of each package beside this machine's
    /// installed packages, network off, and name the override that fixes a missing module
    /// (host target only).
    #[arg(long)]
    check: bool,
    /// With --repo: keep at most N versions of each package.
    #[arg(long, value_name = "N", requires = "repo")]
    keep: Option<usize>,
}

/// Limits for talking to package indexes and archive mirrors.
#[derive(Debug, Args)]
pub(crate) struct NetArgs {
    /// Give up connecting, or waiting for an answer or more data, after this many seconds
    /// (as pip's option; retries and all stop within 2 minutes, or 2 × SECONDS if longer).
    #[arg(long, value_name = "SECONDS", default_value = "15", value_parser = parse_seconds)]
    timeout: std::time::Duration,
    /// Refuse downloads larger than this (bytes, or with K, M, G suffix, powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "8G", value_parser = parse_size)]
    max_download_size: u64,
}

impl NetArgs {
    fn options(&self) -> crate::index::fetch::HttpOptions {
        crate::index::fetch::HttpOptions {
            max_download_bytes: self.max_download_size,
            ..crate::index::fetch::HttpOptions::with_timeout(self.timeout)
        }
    }
}

/// `--timeout`: positive seconds, fractions allowed (`0.5`).
fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds (e.g. 15 or 2.5)"))?;
    if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
        return Err(format!(
            "`{s}`: give a number of seconds above 0 and at most 86400"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

/// `--max-download-size`: `500000`, `512K`, `300M`, `8G` (binary multiples).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("`{s}`: the size suffix must be K, M, G or T")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 8G, 500M or a number of bytes)"))?;
    match n.checked_mul(mult) {
        Some(v) if v > 0 => Ok(v),
        _ => Err(format!("`{s}`: give a size above 0 and below 16 EiB")),
    }
}

/// Which distribution release, and where its package lists come from.
#[derive(Debug, Args)]
struct TargetArgs {
    /// Distribution release to build for: `host` (this machine) or a codename
    /// (bookworm, trixie, sid, bullseye, jammy, noble).
    #[arg(long, value_name = "TARGET", default_value = "host")]
    target: String,
    /// Debian architecture for a named target (default: this machine's).
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// Archive mirror for a named target, and for the Contents indexes of `host` (default:
    /// the release's usual one).
    #[arg(long, value_name = "URL", env = "PY2DEB_MIRROR")]
    mirror: Option<String>,
    /// More archive components to consider (e.g. `contrib`).
    #[arg(long, value_name = "NAME")]
    component: Vec<String>,
    /// Use the cached package lists, however old; never ask the mirror.
    #[arg(long)]
    offline: bool,
    /// Read the target's package lists from this directory of apt lists (files named as
    /// in /var/lib/apt/lists) instead of the mirror.
    #[arg(long, value_name = "DIR")]
    apt_lists: Option<PathBuf>,
    /// Verify the mirror's InRelease with this keyring instead of the vendor's archive
    /// keys py2deb carries (e.g. /usr/share/keyrings/ubuntu-archive-keyring.gpg).
    #[arg(long, value_name = "FILE")]
    archive_keyring: Option<PathBuf>,
    /// Use the mirror's package lists even when their signature cannot be verified (no
    /// key, no gpgv, unsigned or badly signed). Anyone on the network path can then
    /// choose which packages py2deb believes the target has.
    #[arg(long)]
    allow_unverified_archive: bool,
}

impl TargetArgs {
    /// The target asked for and where its package lists come from. Runs nothing: only
    /// [`TargetSpec::resolve`] reads the machine, and only commands that need the target's
    /// facts call it.
    fn spec(&self) -> Result<(TargetSpec, ArchiveOptions, bool)> {
        let target = TargetSpec::new(&self.target, self.arch.as_deref())?;
        let mut opts = ArchiveOptions {
            mirror: self.mirror.clone(),
            components: self.component.clone(),
            offline: self.offline,
            keyring: self.archive_keyring.clone(),
            allow_unverified: self.allow_unverified_archive,
            ..ArchiveOptions::default()
        };
        let host = match &self.apt_lists {
            Some(dir) => {
                opts.lists_dir = dir.clone();
                // Given lists stand for the whole archive: no mirror for the dist map.
                opts.offline = true;
                true
            }
            None => target.is_host(),
        };
        Ok((target, opts, host))
    }
}

/// Options of `py2deb map`.
#[derive(Debug, Args)]
struct MapArgs {
    /// PEP 508 requirements, e.g. `'urllib3>=2'` `'tomli; python_version < "3.11"'`.
    #[arg(value_name = "REQ", required = true)]
    requirements: Vec<String>,
    #[command(flatten)]
    target: TargetArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Terminal reporter: messages on stderr, progress bars when stderr is a terminal. Every
/// message passes [`escape_untrusted`] here, so text from indexes, wheels and servers can
/// never drive the terminal, whichever module produced the message.
struct Terminal {
    level: i8,
    bars: bool,
}

struct Bar(indicatif::ProgressBar);
impl Progress for Bar {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Reporter for Terminal {
    fn info(&self, msg: &str) {
        if self.level > 0 {
            eprintln!("{}", escape_untrusted(msg));
        }
    }
    fn warn(&self, msg: &str) {
        if self.level >= 0 {
            eprintln!("{}", warning_line(msg));
        }
    }
    fn progress(&self, label: &str, total: Option<u64>) -> Box<dyn Progress> {
        let bar = if self.bars && self.level >= 0 {
            let b = match total {
                Some(t) => indicatif::ProgressBar::new(t),
                None => indicatif::ProgressBar::new_spinner(),
            };
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_message(escape_untrusted(label));
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        Box::new(Bar(bar))
    }
}

/// The lines the terminal reporter and `main` print, escaped.
fn warning_line(msg: &str) -> String {
    format!("warning: {}", escape_untrusted(msg))
}

fn error_line(e: &anyhow::Error) -> String {
    format!("error: {}", escape_untrusted(&format!("{e:#}")))
}

/// `DEBFULLNAME <DEBEMAIL>`, as dch composes it; DEBEMAIL may hold both.
fn default_maintainer() -> Option<String> {
    let var = |k: &str| {
        std::env::var(k)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let email = var("DEBEMAIL").or_else(|| var("EMAIL"))?;
    if email.contains('<') {
        return Some(email);
    }
    let name = var("DEBFULLNAME").or_else(|| var("NAME"))?;
    Some(format!("{name} <{email}>"))
}

fn check_maintainer(m: &str) -> Result<String> {
    let m = m.trim();
    let ok = m.chars().all(|c| !c.is_control())
        && m.find('<')
            .is_some_and(|l| l > 0 && m.ends_with('>') && m[l..].contains('@'));
    if !ok {
        bail!("maintainer `{m}` must look like `Full Name <mail@example.org>`");
    }
    Ok(m.to_owned())
}

pub(crate) fn parse_url(s: &str, what: &str) -> Result<url::Url> {
    let mut s = s.to_owned();
    if !s.ends_with('/') {
        s.push('/');
    }
    let u = url::Url::parse(&s)
        .with_context(|| format!("{what} `{s}` is not a URL (e.g. https://pypi.org/simple/)"))?;
    if !matches!(u.scheme(), "http" | "https") {
        bail!(
            "{what} `{}` must be an http(s) URL; for a local directory of wheels use --find-links DIR",
            crate::index::fetch::redact(&s)
        );
    }
    Ok(u)
}

fn source_date_epoch() -> Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH `{v}` must be a number of seconds since 1970")
        })?)),
        _ => Ok(None),
    }
}

impl BuildArgs {
    /// What the user typed → what the program uses, for a command that builds: this
    /// resolves the target (running dpkg, ldd and python3 for `host`) and reads the
    /// maintainer from the environment, so only build paths call it.
    fn config(&self, reporter: &dyn Reporter) -> Result<(BuildConfig, Vec<Spec>)> {
        let parse = |texts: &[String]| {
            texts
                .iter()
                .map(|s| s.parse())
                .collect::<Result<Vec<Spec>>>()
        };
        let mut specs = parse(&self.specs)?;
        let (target, mut archive, host_archive) = self.target.spec()?;
        let target_is_host = target.is_host();
        let cache_dir = match &self.cache_dir {
            Some(d) => d.clone(),
            None => Cache::default_root()?,
        };
        let target = target.resolve_cached(&cache_dir)?;
        // Requirement files: markers hold or not for the resolved target.
        let mut file_opts = crate::python::requirements::FileOptions::default();
        let mut required_hashes = None;
        let mut constraints = Default::default();
        if !self.reqs.is_empty() {
            let env = crate::python::markers::environment(&target)?;
            let e = self.reqs.expand(&self.specs, &env, reporter)?;
            specs = parse(&e.specs)?;
            file_opts = e.options;
            required_hashes = e.hashes;
            constraints = e.constraints;
        }
        // Replacing a package, and keeping private copies consistent with the distribution
        // packages an application still imports, need to know who depends on what.
        archive.with_depends = self.conflicts != ConflictMode::Fail;
        archive.http = self.index.net.options();
        let maintainer = match &self.maintainer {
            Some(m) => check_maintainer(m)?,
            None => {
                match default_maintainer() {
                    Some(m) => check_maintainer(&m).context("from DEBFULLNAME/DEBEMAIL")?,
                    None => {
                        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
                        let host = std::fs::read_to_string("/etc/hostname")
                            .unwrap_or_default()
                            .trim()
                            .to_owned();
                        let host = if host.is_empty() {
                            "localhost".to_owned()
                        } else {
                            host
                        };
                        reporter.warn("no maintainer given: set DEBFULLNAME and DEBEMAIL, or pass --maintainer");
                        format!("{user} <{user}@{host}>")
                    }
                }
            }
        };
        if self.revision.is_empty()
            || !self
                .revision
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.~".contains(c))
        {
            bail!(
                "--revision `{}` must be letters, digits and + . ~ (e.g. 0py2deb1)",
                self.revision
            );
        }
        let (index, no_binary, only_binary) = crate::cli::install::merge_file_options(
            self.index_config()?,
            &self.no_binary,
            &self.only_binary,
            file_opts,
        )?;
        // Overrides: the user's file, the repository's, then those given, later ones
        // winning. Which of them exist is for the pipeline to find out (no I/O here).
        let default_override_files = if self.no_default_overrides {
            Vec::new()
        } else {
            [
                dirs::config_dir().map(|d| d.join("py2deb").join("py2deb.toml")),
                self.repo.as_ref().map(|r| r.join("py2deb.toml")),
            ]
            .into_iter()
            .flatten()
            .collect()
        };
        let cfg = BuildConfig {
            default_override_files,
            override_files: self.overrides.clone(),
            index,
            target,
            output_dir: self.output_dir.clone(),
            maintainer,
            revision: self.revision.clone(),
            compression: self.compression,
            templates_dir: self.templates.clone(),
            source_date_epoch: source_date_epoch()?,
            cache_dir,
            limits: Limits {
                max_entry: self.max_entry_size,
                max_total: self.max_total_size,
                max_ratio: self.max_ratio,
                ..Limits::default()
            },
            deps: self.deps,
            conflicts: self.conflicts,
            on_clash: self.compiled.on_clash,
            strip: !self.compiled.no_strip,
            prefer: self.prefer,
            archive,
            host_archive,
            no_binary,
            only_binary,
            build_isolation: !self.no_build_isolation,
            build_timeout: std::time::Duration::from_secs(self.build_timeout),
            target_is_host,
            required_hashes,
            constraints,
        };
        Ok((cfg, specs))
    }
}

fn print_built(built: &[Built], json: bool) -> Result<()> {
    if json {
        let out = serde_json::json!({ "packages": built });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for b in built {
            let line = format!(
                "{} {} ({}) from {} {} -> {}",
                b.package,
                b.version,
                b.architecture,
                b.project,
                b.project_version,
                b.path.display()
            );
            println!("{}", escape_untrusted(&line));
            if let Some(r) = &b.replaces {
                println!(
                    "    installing it replaces the distribution's {}",
                    escape_untrusted(r)
                );
            }
            for r in &b.removes {
                if r.relation == crate::resolve::clash::Relation::Shares {
                    println!(
                        "    takes {} over from {}, which stays installed",
                        escape_untrusted(&r.path),
                        escape_untrusted(&r.package)
                    );
                    continue;
                }
                println!(
                    "    installing this removes {} (both ship {})",
                    escape_untrusted(&r.package),
                    escape_untrusted(&r.path)
                );
            }
        }
    }
    Ok(())
}

/// Parse arguments and run; errors carry their whole chain.
pub fn run(opts: Opts) -> Result<()> {
    let level = if opts.quiet { -1 } else { opts.verbose as i8 };
    let reporter = Terminal {
        level,
        bars: std::io::stderr().is_terminal(),
    };
    match opts.command {
        Some(Command::Version { versions }) => {
            for v in versions {
                let parsed: pep440_rs::Version = v
                    .parse()
                    .map_err(|e| anyhow::anyhow!("`{v}` is not a PEP 440 version: {e}"))?;
                println!("{}", crate::debian::version::deb_version(&parsed));
            }
            Ok(())
        }
        Some(Command::Build(args)) => build(&args, &reporter),
        Some(Command::Map(args)) => map(&args, &reporter),
        Some(Command::Repo(args)) => {
            if let crate::cli::repo::RepoCommand::Add(a) = &args.command {
                if !a.reqs.is_empty() {
                    return repo_add_requirements(a, &reporter);
                }
            }
            // Only `repo update` builds; the others must not read the machine or the
            // build environment, so the build settings are made when first needed.
            // Each record names its target; the base's is a placeholder that reads nothing.
            let base = BuildArgs::parse_defaults(&["--target", "bookworm", "--arch", "amd64"]);
            let builder = pipeline::Rebuilder::new(
                move || Ok(base.config(&crate::report::Silent)?.0),
                &reporter,
            );
            crate::cli::repo::run(args.command, &reporter, &builder)
        }
        Some(Command::Rfp(args)) => crate::cli::packaging::rfp(&args, &reporter),
        Some(Command::Debianize(args)) => crate::cli::packaging::debianize(&args, &reporter),
        Some(Command::Install(a)) => crate::cli::install::install(
            &a,
            a.specs.clone(),
            &crate::install::SystemRunner,
            &reporter,
        ),
        Some(Command::Uninstall(a)) => {
            crate::cli::install::uninstall(&a, &crate::install::SystemRunner, &reporter)
        }
        Some(Command::List(a)) => {
            let base = BuildArgs::parse_defaults(&["--target", "bookworm", "--arch", "amd64"]);
            let builder = pipeline::Rebuilder::new(
                move || Ok(base.config(&crate::report::Silent)?.0),
                &reporter,
            );
            crate::cli::install::list(&a, &crate::install::SystemRunner, &reporter, &builder)
        }
        Some(Command::Upgrade(a)) => {
            // Records built for this machine rebuild with its own settings (see `Repo`);
            // wheels only unless `install --allow-sdists` allowed more.
            let mut extra = vec!["--target", "bookworm", "--arch", "amd64"];
            if !crate::install::read_settings(&crate::install::Layout::new(&a.machine.root))?
                .allow_sdists
            {
                extra.extend(["--only-binary", ":all:"]);
            }
            let base = BuildArgs::parse_defaults(&extra);
            let builder = pipeline::Rebuilder::new(
                move || Ok(base.config(&crate::report::Silent)?.0),
                &reporter,
            );
            crate::cli::install::upgrade(&a, &crate::install::SystemRunner, &reporter, &builder)
        }
        Some(Command::Completions(a)) => {
            crate::cli::completions::completions(&a, &mut std::io::stdout().lock())
        }
        Some(Command::Man(a)) => crate::cli::completions::man(&a, &mut std::io::stdout().lock()),
        None => build(&opts.build, &reporter),
    }
}

/// `py2deb repo add DIR -r FILE [-c FILE] [FILE.deb...]`: publish the files, then build
/// the requirements for this machine into the repository, as `build -r FILE --repo DIR`.
fn repo_add_requirements(a: &crate::cli::repo::AddArgs, reporter: &Terminal) -> Result<()> {
    let repo = crate::repo::Repo::open(&a.dir)?;
    if !a.files.is_empty() {
        let debs: Vec<_> = a.files.iter().map(crate::repo::Incoming::foreign).collect();
        for (p, v, arch) in repo.add(&debs, a.keep, reporter)?.added {
            println!("added {p} {v} {arch}");
        }
    }
    let out = tempfile::Builder::new()
        .prefix("py2deb-repo-add-")
        .tempdir()?;
    let mut argv: Vec<std::ffi::OsString> = vec!["py2deb".into(), "--repo".into()];
    argv.push(a.dir.clone().into());
    argv.push("-o".into());
    argv.push(out.path().into());
    for f in &a.reqs.requirement {
        argv.extend(["-r".into(), f.clone().into_os_string()]);
    }
    for f in &a.reqs.constraint {
        argv.extend(["-c".into(), f.clone().into_os_string()]);
    }
    if let Some(k) = a.keep {
        argv.extend(["--keep".into(), k.to_string().into()]);
    }
    #[derive(Parser)]
    struct One {
        #[command(flatten)]
        b: BuildArgs,
    }
    let args = One::try_parse_from(argv)?.b;
    build(&args, reporter)
}

fn map(args: &MapArgs, reporter: &Terminal) -> Result<()> {
    let reqs = args
        .requirements
        .iter()
        .map(|r| crate::python::markers::parse_requirement(r))
        .collect::<Result<Vec<_>>>()?;
    let (target, opts, host) = args.target.spec()?;
    let target = target.resolve()?;
    let index = crate::resolve::TargetIndex::load(&target, host, &opts, reporter)?;
    let env = crate::python::markers::environment(&target)?;
    let universe = index.universe(&target);
    let rows: Vec<crate::resolve::mapping::MapRow> = reqs
        .iter()
        .map(|r| {
            crate::resolve::mapping::map_requirement(
                r,
                crate::python::markers::applies(r, &env, &[]),
                &universe,
            )
        })
        .collect();
    if args.json {
        let out = serde_json::json!({
            "target": {"name": target.name, "python": target.python_version(), "arch": target.arch},
            "requirements": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &rows {
            let status = serde_json::to_value(r.status)?;
            let line = format!(
                "{:<30} {:<15} {:<28} {}",
                r.requirement,
                status.as_str().unwrap_or(""),
                r.relation
                    .as_deref()
                    .or(r.package.as_deref())
                    .unwrap_or("-"),
                r.available
                    .as_deref()
                    .map(|a| format!("(target has {a})"))
                    .unwrap_or_default()
            );
            println!("{}", escape_untrusted(&line));
            if let Some(n) = &r.note {
                println!("    {}", escape_untrusted(n));
            }
        }
    }
    Ok(())
}

fn build(args: &BuildArgs, reporter: &Terminal) -> Result<()> {
    let (cfg, specs) = args.config(reporter)?;
    if let Some(dir) = &args.repo {
        // Fail before building when the repository does not exist.
        crate::repo::Repo::open(dir).with_context(|| format!("--repo {}", dir.display()))?;
    }
    let mut built = Vec::new();
    let mut incoming = Vec::new();
    let groups: Vec<&[Spec]> = specs.iter().map(std::slice::from_ref).collect();
    let results = pipeline::build_each(&cfg, &groups, reporter)?;
    for (spec, one) in specs.iter().zip(results) {
        for b in &one {
            incoming.push(crate::repo::Incoming {
                path: b.path.clone(),
                record: pipeline::build_record(&cfg, spec, b),
            });
        }
        built.extend(one);
    }
    if let Some(dir) = &args.repo {
        crate::cli::repo::add_built(dir, incoming, args.keep, reporter)?;
    }
    print_built(&built, args.json)?;
    if args.check {
        check_built(&built, &cfg, reporter)?;
    }
    Ok(())
}

/// `--check`: import what was built, beside the host's packages.
fn check_built(built: &[Built], cfg: &BuildConfig, reporter: &Terminal) -> Result<()> {
    if !cfg.target_is_host {
        reporter.warn(&format!(
            "--check imports with this machine's Python and packages, so it runs only for --target host (not {})",
            cfg.target.name
        ));
        return Ok(());
    }
    let scratch = tempfile::Builder::new().prefix("py2deb-check-").tempdir()?;
    let report = crate::check::check_imports(
        built,
        std::path::Path::new("/usr/bin/python3"),
        scratch.path(),
    )?;
    if !report.network_isolated {
        reporter.warn(
            "--check: could not cut the network off (unshare -rn failed); imports ran with it",
        );
    }
    let failed: Vec<_> = report.failures().collect();
    for f in &failed {
        reporter.warn(&format!(
            "--check: import {} ({}) failed: {}",
            f.module,
            f.package,
            f.error.as_deref().unwrap_or_default()
        ));
        if let Some(h) = &f.hint {
            reporter.warn(h);
        }
    }
    if !failed.is_empty() {
        bail!(
            "--check: {} of {} imports failed",
            failed.len(),
            report.imports.len()
        );
    }
    reporter.info(&format!(
        "--check: {} imports succeeded",
        report.imports.len()
    ));
    Ok(())
}

impl BuildArgs {
    fn index_config(&self) -> Result<IndexConfig> {
        self.index.config()
    }

    /// Build options at their defaults (and environment), for commands that build on
    /// behalf of a record, like `repo update`.
    fn parse_defaults(extra: &[&str]) -> BuildArgs {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            b: BuildArgs,
        }
        let args = ["py2deb", "placeholder"].iter().chain(extra);
        Defaults::parse_from(args).b
    }
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    // A Ctrl-C must not leave a half-written package behind.
    let _ = ctrlc::set_handler(|| {
        crate::inspect::sdist::kill_running_builds();
        pipeline::remove_partial_outputs();
        // Never in the middle of publishing a repository: the exit waits for the publish.
        crate::repo::exit_when_safe(130);
    });
    let opts = Opts::parse();
    match run(opts) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{}", error_line(&e));
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Opts::command().debug_assert();
    }

    #[test]
    fn bare_specs_mean_build() {
        let o = Opts::try_parse_from(["py2deb", "pepotron", "-o", "/tmp"]).unwrap();
        assert!(o.command.is_none());
        assert_eq!(o.build.specs, ["pepotron"]);
        let o =
            Opts::try_parse_from(["py2deb", "build", "pepotron==1.8.0", "--target", "bookworm"])
                .unwrap();
        assert!(matches!(o.command, Some(Command::Build(ref b)) if b.target.target == "bookworm"));
    }

    #[test]
    fn maintainer_must_have_an_address() {
        assert!(check_maintainer("Jane Doe <jane@example.org>").is_ok());
        assert!(check_maintainer("Jane Doe").is_err());
        assert!(check_maintainer("Jane\nDepends: x <a@b>").is_err());
    }

    #[test]
    fn hostile_escapes_in_messages_reach_the_terminal_escaped() {
        let yanked = "yanked (\x1b]0;pwned\x07\x1b[2J\u{202e}txt.exe)";
        let w = warning_line(yanked);
        assert!(
            w.starts_with("warning: yanked") && !w.contains('\x1b') && !w.contains('\u{202e}'),
            "{w}"
        );
        assert!(w.contains("\\u{1b}]0;pwned"), "{w}");
        let e = anyhow::anyhow!("bad file \u{9b}31mred").context("while reading \x1b[1Aup");
        let line = error_line(&e);
        assert!(!line.chars().any(|c| c.is_control()), "{line}");
        assert!(
            line.contains("\\u{9b}31mred") && line.contains("\\u{1b}[1Aup"),
            "{line}"
        );
    }

    #[test]
    fn timeout_and_size_options_parse() {
        let o = Opts::try_parse_from([
            "py2deb",
            "x",
            "--timeout",
            "0.5",
            "--max-download-size",
            "300M",
        ])
        .unwrap();
        assert_eq!(
            o.build.index.net.timeout,
            std::time::Duration::from_millis(500)
        );
        assert_eq!(o.build.index.net.max_download_size, 300 << 20);
        let d = Opts::try_parse_from(["py2deb", "x"]).unwrap();
        assert_eq!(
            d.build.index.net.options(),
            crate::index::fetch::HttpOptions::default()
        );
        for bad in ["0", "-1", "nan", "soon"] {
            let e = Opts::try_parse_from(["py2deb", "x", "--timeout", bad])
                .unwrap_err()
                .to_string();
            assert!(e.contains(bad), "{e}");
        }
        for bad in ["0", "5X", "99999999999999T", "big"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("1234"), Ok(1234));
    }

    #[test]
    fn index_urls_must_be_http() {
        let e = parse_url("file:///srv/simple", "--index-url")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("file:///srv/simple") && e.contains("--find-links"),
            "{e}"
        );
        assert!(parse_url("https://pypi.org/simple", "--index-url").is_ok());
    }

    #[test]
    fn modes_parse_through_from_str() {
        let o = Opts::try_parse_from(["py2deb", "x", "--deps", "none", "--conflicts", "bundle"])
            .unwrap();
        assert_eq!(o.build.deps, DepsMode::None);
        assert_eq!(o.build.conflicts, ConflictMode::Bundle);
        let e = Opts::try_parse_from(["py2deb", "x", "--deps", "some"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("some") && e.contains("missing, none"), "{e}");
    }

    #[test]
    fn bad_compression_is_named() {
        let e = Opts::try_parse_from(["py2deb", "x", "--compression", "bz2"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("bz2"), "{e}");
    }
}
