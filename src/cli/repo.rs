//! The `py2deb repo …` subcommands: clap types and their dispatch onto [`crate::repo`].
//! The repository format itself (Debian repository format) lives in `repo`; this module
//! only parses arguments and prints results on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::repo::{self, Incoming, InitOptions, Repo, RepoBuilder};
use crate::report::Reporter;

/// `py2deb repo …`
#[derive(Debug, Args)]
pub struct RepoArgs {
    #[command(subcommand)]
    pub command: RepoCommand,
}

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Create (or reconfigure) an apt repository in DIR and print its apt source stanza.
    Init(InitArgs),
    /// Publish existing .deb files (any valid package, not only py2deb's).
    Add(AddArgs),
    /// List published packages.
    List(DirArg),
    /// Remove NAME (all versions) or NAME=VERSION, on every architecture.
    Remove(RemoveArgs),
    /// Rebuild packages py2deb built into the repository when their index has newer releases.
    Update(UpdateArgs),
    /// Print the repository's public signing key (armored) or write it to a file.
    ExportKey(ExportKeyArgs),
    /// Print ready-to-paste deb822 `.sources` stanzas for this repository.
    Sources(SourcesArgs),
    /// Verify the repository as apt would (signatures, every hash and size, every pool
    /// file); exit non-zero listing the problems. `--repair` fixes what can be fixed.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Repository directory.
    pub dir: PathBuf,
    /// Republish from the recorded state and remove leftovers of interrupted runs.
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, Args)]
pub struct DirArg {
    /// Repository directory.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Repository directory (created if missing).
    pub dir: PathBuf,
    /// Suite name clients put in `Suites:` (e.g. stable).
    #[arg(long)]
    pub suite: String,
    /// Codename (defaults to the suite).
    #[arg(long)]
    pub codename: Option<String>,
    /// `Origin` field of Release (default: py2deb).
    #[arg(long)]
    pub origin: Option<String>,
    /// `Label` field of Release (default: the origin).
    #[arg(long)]
    pub label: Option<String>,
    /// `Description` field of Release.
    #[arg(long)]
    pub description: Option<String>,
    /// Component name.
    #[arg(long, default_value = "main")]
    pub component: String,
    /// Architectures served, comma separated (default: this machine's).
    #[arg(long = "arch", value_delimiter = ',')]
    pub arch: Vec<String>,
    /// gpg key (id, fingerprint or user id) that signs Release; omit for an unsigned repository.
    #[arg(long)]
    pub sign_key: Option<String>,
    /// Keep at most N versions per package and architecture (default: keep all).
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Repository directory.
    pub dir: PathBuf,
    /// Package files to publish.
    #[arg(required_unless_present = "requirement", value_name = "FILE.deb")]
    pub files: Vec<PathBuf>,
    /// Keep at most N versions per package and architecture.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// With -r: build the requirements in these files for this machine and publish them
    /// (for another target, `py2deb build -r FILE --repo DIR --target T`).
    #[command(flatten)]
    pub reqs: crate::cli::install::RequirementFileArgs,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Repository directory.
    pub dir: PathBuf,
    /// NAME or NAME=VERSION.
    #[arg(required = true, value_name = "NAME[=VERSION]")]
    pub packages: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Repository directory.
    pub dir: PathBuf,
    /// Show what would be rebuilt without building or publishing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep at most N versions per package and architecture.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ExportKeyArgs {
    /// Repository directory.
    pub dir: PathBuf,
    /// Write the binary key here (e.g. /etc/apt/keyrings/NAME.gpg) instead of printing it armored.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SourcesArgs {
    /// Repository directory.
    pub dir: PathBuf,
    /// Base URL the directory is served under, for the http:// stanza.
    #[arg(long)]
    pub url: Option<String>,
}

/// Run one `repo` subcommand, printing results on stdout.
pub fn run(cmd: RepoCommand, reporter: &dyn Reporter, builder: &dyn RepoBuilder) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run_to(cmd, reporter, builder, &mut out)
}

/// [`run`] with results written to `out`.
pub fn run_to(
    cmd: RepoCommand,
    reporter: &dyn Reporter,
    builder: &dyn RepoBuilder,
    out: &mut dyn Write,
) -> Result<()> {
    match cmd {
        RepoCommand::Init(a) => {
            let arch = if a.arch.is_empty() {
                vec![host_arch()?]
            } else {
                a.arch
            };
            let repo = Repo::init(
                &a.dir,
                InitOptions {
                    suite: a.suite,
                    codename: a.codename,
                    origin: a.origin,
                    label: a.label,
                    description: a.description,
                    component: Some(a.component),
                    architectures: arch,
                    sign_key: a.sign_key,
                    keep: a.keep,
                },
                reporter,
            )?;
            writeln!(out, "Repository ready in {}.\n", a.dir.display())?;
            write!(out, "{}", repo.sources_stanzas(None)?)?;
        }
        RepoCommand::Add(a) => {
            let repo = Repo::open(&a.dir)?;
            let debs: Vec<Incoming> = a.files.into_iter().map(Incoming::foreign).collect();
            let o = repo.add(&debs, a.keep, reporter)?;
            for (p, v, arch) in &o.added {
                writeln!(out, "added {p} {v} {arch}")?;
            }
            for (p, v, arch) in &o.unchanged {
                writeln!(out, "unchanged {p} {v} {arch} (already published)")?;
            }
            for (p, v, arch) in &o.pruned {
                writeln!(out, "pruned {p} {v} {arch}")?;
            }
        }
        RepoCommand::List(a) => {
            let repo = Repo::open(&a.dir)?;
            for e in repo.list()? {
                let origin = match &e.record {
                    Some(r) => format!("built from {} ({})", r.spec, r.target),
                    None => "added".into(),
                };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{origin}",
                    e.package, e.version, e.architecture, e.filename
                )?;
            }
        }
        RepoCommand::Remove(a) => {
            let repo = Repo::open(&a.dir)?;
            for spec in &a.packages {
                for e in repo.remove(spec, reporter)? {
                    writeln!(
                        out,
                        "removed {} {} {}",
                        e.package, e.version, e.architecture
                    )?;
                }
            }
        }
        RepoCommand::Update(a) => {
            let repo = Repo::open(&a.dir)?;
            let o = repo.update(a.dry_run, a.keep, reporter, &mut |rec, dry| {
                builder.newer(rec, dry)
            })?;
            let verb = if a.dry_run { "would update" } else { "updated" };
            for c in &o.changes {
                writeln!(
                    out,
                    "{verb} {} ({}) {} -> {}",
                    c.package, c.architecture, c.from, c.to
                )?;
            }
            if o.changes.is_empty() {
                writeln!(out, "everything is up to date")?;
            }
        }
        RepoCommand::ExportKey(a) => {
            let repo = Repo::open(&a.dir)?;
            let key = repo.config().sign_key.clone().with_context(|| {
                format!(
                    "{} is unsigned; sign it with `py2deb repo init {} --suite {} --sign-key KEYID`",
                    a.dir.display(),
                    a.dir.display(),
                    repo.config().suite
                )
            })?;
            match a.output {
                Some(path) => {
                    let bytes = repo::export_key(&key, false)?;
                    std::fs::write(&path, bytes)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    writeln!(out, "wrote {}", path.display())?;
                }
                None => out.write_all(&repo::export_key(&key, true)?)?,
            }
        }
        RepoCommand::Sources(a) => {
            let repo = Repo::open(&a.dir)?;
            write!(out, "{}", repo.sources_stanzas(a.url.as_deref())?)?;
        }
        RepoCommand::Check(a) => {
            let repo = Repo::open(&a.dir)?;
            let report = repo.check(a.repair, reporter)?;
            for r in &report.repaired {
                writeln!(out, "repaired: {r}")?;
            }
            for p in &report.problems {
                writeln!(out, "problem: {p}")?;
            }
            for l in &report.leftovers {
                writeln!(out, "leftover: {l}")?;
            }
            if !report.is_consistent() {
                anyhow::bail!(
                    "{} is not consistent: {} problem(s) listed above; try `py2deb repo check --repair {}`",
                    a.dir.display(),
                    report.problems.len(),
                    a.dir.display()
                );
            }
            if report.leftovers.is_empty() {
                writeln!(out, "{} is consistent", a.dir.display())?;
            } else {
                writeln!(
                    out,
                    "{} is consistent for clients; `py2deb repo check --repair {}` cleans the leftovers",
                    a.dir.display(),
                    a.dir.display()
                )?;
            }
        }
    }
    Ok(())
}

/// Publish what `py2deb build … --repo DIR` just built.
pub fn add_built(
    dir: &Path,
    debs: Vec<Incoming>,
    keep: Option<usize>,
    reporter: &dyn Reporter,
) -> Result<repo::AddOutcome> {
    Repo::open(dir)?.add(&debs, keep, reporter)
}

/// Debian name of the architecture this program runs on.
pub(crate) fn host_arch() -> Result<String> {
    Ok(match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => anyhow::bail!(
            "cannot tell the Debian architecture for `{other}`; pass --arch explicitly"
        ),
    }
    .to_owned())
}
