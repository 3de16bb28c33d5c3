//! `py2deb rfp` and `py2deb debianize`: their options, loading the suites they look at,
//! and printing what [`crate::packaging`] decided and wrote.

use super::{check_maintainer, default_maintainer, Terminal};
use crate::debian::archive::ArchiveOptions;
use crate::debian::target::Target;
use crate::index::fetch::{Cache, Http};
use crate::index::{Index, IndexConfig};
use crate::inspect::wheel::Limits;
use crate::packaging::rfp::{self, DepState, Presence};
use crate::packaging::{debianize, SdistSource, Suite, Upstream};
use crate::report::{escape_untrusted, Reporter};
use crate::resolve::TargetIndex;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

/// Suites whose dist-info maps `rfp` always checks.
const RFP_SUITES: &[&str] = &["sid", "trixie", "bookworm"];

/// Where sdists come from (pip's option names) and where the target's lists come from.
#[derive(Debug, Args)]
pub struct SourceArgs {
    #[command(flatten)]
    index: crate::cli::IndexArgs,
    /// Cache directory (default: $XDG_CACHE_HOME/py2deb).
    #[arg(long, value_name = "DIR", env = "PY2DEB_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Debian architecture of the suites (default: this machine's).
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// Archive mirror (default: each release's usual one).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// Use the cached package lists, however old; never ask the mirror.
    #[arg(long)]
    offline: bool,
    /// Verify the mirror's InRelease with this keyring.
    #[arg(long, value_name = "FILE")]
    archive_keyring: Option<PathBuf>,
    /// Use package lists whose signature cannot be verified.
    #[arg(long)]
    allow_unverified_archive: bool,
    /// `Name <mail>` of the packager (default: DEBFULLNAME and DEBEMAIL, as dch does).
    #[arg(long, value_name = "NAME <MAIL>")]
    maintainer: Option<String>,
}

/// Options of `py2deb rfp`.
#[derive(Debug, Args)]
pub struct RfpArgs {
    /// Project names or requirements (`foo`, `foo==1.2`), or local sdists.
    #[arg(value_name = "SPEC", required = true)]
    specs: Vec<String>,
    /// The release whose packages the dependencies are looked up in (default sid); given
    /// more than once, each is also checked for the project itself.
    #[arg(long, value_name = "SUITE")]
    target: Vec<String>,
    /// Write an Intent To Package (you will package it) instead of a request.
    #[arg(long)]
    itp: bool,
    /// Also write a request for every dependency the target lacks, dependencies first.
    #[arg(long)]
    recursive: bool,
    /// Write each request to DIR/NAME.rfp instead of stdout.
    #[arg(short, long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    #[command(flatten)]
    source: SourceArgs,
}

/// Options of `py2deb debianize`.
#[derive(Debug, Args)]
pub struct DebianizeArgs {
    /// A project name or requirement (`foo`, `foo==1.2`), or a local `.tar.gz` sdist.
    #[arg(value_name = "SPEC")]
    spec: String,
    /// Directory for the orig tarball, the source tree and the .dsc.
    #[arg(short, long, value_name = "DIR")]
    output_dir: PathBuf,
    /// The release to package for.
    #[arg(long, value_name = "SUITE", default_value = "sid")]
    target: String,
    /// You maintain it alone: Maintainer is you, no team Vcs fields.
    #[arg(long)]
    no_team: bool,
    /// The ITP bug the first upload closes.
    #[arg(long, value_name = "N")]
    itp_bug: Option<u64>,
    /// Binary package name (default: what the distribution calls the project, else
    /// python3-NAME).
    #[arg(long, value_name = "NAME")]
    package: Option<String>,
    #[command(flatten)]
    source: SourceArgs,
}

/// Everything needed to read sdists.
struct Sources {
    http: Http,
    cache: Cache,
    config: IndexConfig,
    archive: ArchiveOptions,
    arch: Option<String>,
}

impl SourceArgs {
    fn sources(&self) -> Result<Sources> {
        let cache_dir = match &self.cache_dir {
            Some(d) => d.clone(),
            None => Cache::default_root()?,
        };
        let config = self.index.config()?;
        let archive = ArchiveOptions {
            mirror: self.mirror.clone(),
            offline: self.offline,
            keyring: self.archive_keyring.clone(),
            allow_unverified: self.allow_unverified_archive,
            cache_dir: Some(cache_dir.clone()),
            http: self.index.net.options(),
            ..ArchiveOptions::default()
        };
        Ok(Sources {
            http: Http::with_options(self.index.net.options())?,
            cache: Cache::open(cache_dir)?,
            config,
            archive,
            arch: self.arch.clone(),
        })
    }

    /// The packager: --maintainer, else DEBFULLNAME/DEBEMAIL.
    fn packager(&self) -> Result<String> {
        match &self.maintainer {
            Some(m) => check_maintainer(m),
            None => match default_maintainer() {
                Some(m) => check_maintainer(&m).context("from DEBFULLNAME/DEBEMAIL"),
                None => bail!(
                    "who is filing or packaging? Set DEBFULLNAME and DEBEMAIL (as for dch) or pass --maintainer 'Name <mail>'"
                ),
            },
        }
    }
}

impl Sources {
    fn suite(&self, name: &str, reporter: &dyn Reporter) -> Result<Suite> {
        if name == "host" {
            bail!("--target host: name a release (sid, trixie, bookworm, …); a request or a source package is for the distribution");
        }
        let target = Target::from_option(name, self.arch.as_deref())?;
        let index = TargetIndex::load(&target, false, &self.archive, reporter)
            .with_context(|| format!("loading the package lists of {name}"))?;
        Ok(Suite {
            target,
            archive: index.archive,
            dists: index.dists,
        })
    }
}

/// Seconds since the epoch: SOURCE_DATE_EPOCH, else now.
fn now() -> Result<i64> {
    Ok(match super::source_date_epoch()? {
        Some(t) => i64::try_from(t).unwrap_or(i64::MAX),
        None => time::OffsetDateTime::now_utc().unix_timestamp(),
    })
}

fn obtain_one(
    spec: &SdistSource,
    src: &Sources,
    index: &Index,
    target: &Target,
    scratch: &Path,
    reporter: &dyn Reporter,
) -> Result<Upstream> {
    let dir = tempfile::Builder::new()
        .prefix("sdist-")
        .tempdir_in(scratch)?
        .keep();
    crate::packaging::obtain(
        spec,
        index,
        &src.cache,
        target,
        &dir,
        &Limits::default(),
        reporter,
    )
}

pub(super) fn rfp(args: &RfpArgs, reporter: &Terminal) -> Result<()> {
    let src = args.source.sources()?;
    let from = args.source.packager()?;
    let specs = args
        .specs
        .iter()
        .map(|s| SdistSource::parse(s))
        .collect::<Result<Vec<_>>>()?;
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the output directory {}", dir.display()))?;
    }
    // The dependency suite first, then the others rfp always checks.
    let mut names: Vec<String> = args.target.clone();
    if names.is_empty() {
        names.push("sid".into());
    }
    for s in RFP_SUITES {
        if !names.iter().any(|n| n == s) {
            names.push((*s).to_owned());
        }
    }
    let suites = names
        .iter()
        .map(|n| src.suite(n, reporter))
        .collect::<Result<Vec<_>>>()?;
    let dep_suite = &suites[0];
    let index = Index::new(src.config.clone(), &src.http, reporter);
    let scratch = tempfile::Builder::new().prefix("py2deb-rfp-").tempdir()?;

    let mut roots = Vec::new();
    for spec in &specs {
        let up = obtain_one(
            spec,
            &src,
            &index,
            &dep_suite.target,
            scratch.path(),
            reporter,
        )?;
        let what = format!("{} {}", up.meta.name, up.meta.version);
        match rfp::presence(&up.meta.name, &up.meta.version, &suites) {
            Presence::Packaged(found) => {
                println!(
                    "{}",
                    escape_untrusted(&format!("{what} is packaged already; no request written:"))
                );
                print_found(&found);
            }
            Presence::Older(found) => {
                println!("{}", escape_untrusted(&format!(
                    "{what}: the distribution has only older versions, so a new upstream version is wanted, not an RFP (file a wishlist bug against the source package):"
                )));
                print_found(&found);
            }
            Presence::Missing => roots.push(up),
        }
    }
    let mut fetch_dep = |req: &pep508_rs::Requirement| -> Result<Upstream> {
        let mut plain = req.clone();
        plain.extras.clear();
        plain.marker = pep508_rs::MarkerTree::TRUE;
        obtain_one(
            &SdistSource::Requirement(plain),
            &src,
            &index,
            &dep_suite.target,
            scratch.path(),
            reporter,
        )
        .with_context(|| format!("reading the sdist of dependency `{req}` (--recursive)"))
    };
    let planned = rfp::plan(roots, dep_suite, args.recursive, &mut fetch_dep)?;
    let opts = rfp::RequestOptions {
        itp: args.itp,
        from,
        date: now()?,
        dep_suite: dep_suite.target.name.clone(),
    };
    let requests = rfp::requests(&planned, &opts);
    for (p, r) in planned.iter().zip(&requests) {
        match &args.output_dir {
            Some(dir) => {
                let path = dir.join(r.file_name());
                crate::fsutil::write_atomic(&path, r.mbox.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?;
                println!(
                    "{}",
                    escape_untrusted(&format!("{} -> {}", r.subject, path.display()))
                );
                for row in &p.rows {
                    let state = match row.state {
                        DepState::Packaged => "packaged",
                        DepState::TooOld => "too old",
                        DepState::Missing => "missing",
                    };
                    println!(
                        "{}",
                        escape_untrusted(&format!(
                            "    {:<8} {:<30} {:<9} {} {}",
                            row.kind,
                            row.requirement,
                            state,
                            row.package.as_deref().unwrap_or("-"),
                            row.available.as_deref().unwrap_or("")
                        ))
                        .trim_end()
                    );
                }
            }
            None => print!("{}", escape_text(&r.mbox)),
        }
    }
    Ok(())
}

/// Untrusted text with its newlines kept.
fn escape_text(text: &str) -> String {
    text.split('\n')
        .map(escape_untrusted)
        .collect::<Vec<_>>()
        .join("\n")
}

fn print_found(found: &[rfp::Found]) {
    for f in found {
        println!(
            "{}",
            escape_untrusted(&format!(
                "    {:<10} {} {} (Python version {})",
                f.suite, f.package, f.version, f.python_version
            ))
        );
    }
}

pub(super) fn debianize(args: &DebianizeArgs, reporter: &Terminal) -> Result<()> {
    let src = args.source.sources()?;
    let packager = args.source.packager()?;
    let spec = SdistSource::parse(&args.spec)?;
    let suite = src.suite(&args.target, reporter)?;
    let out = &args.output_dir;
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the output directory {}", out.display()))?;
    let index = Index::new(src.config.clone(), &src.http, reporter);
    // Unpacked inside the output directory, so the tree is moved, not copied, into place.
    let staging = tempfile::Builder::new()
        .prefix(".py2deb-debianize-")
        .tempdir_in(out)
        .with_context(|| format!("writing into {}", out.display()))?;
    let up = crate::packaging::obtain(
        &spec,
        &index,
        &src.cache,
        &suite.target,
        staging.path(),
        &Limits::default(),
        reporter,
    )?;
    if let Presence::Packaged(found) = rfp::presence(
        &up.meta.name,
        &up.meta.version,
        std::slice::from_ref(&suite),
    ) {
        for f in found {
            reporter.warn(&format!(
                "{} already ships {} {} as {} {}",
                f.suite, up.meta.name, f.python_version, f.package, f.version
            ));
        }
    }
    let opts = debianize::Options {
        packager,
        team: !args.no_team,
        itp_bug: args.itp_bug,
        date: now()?,
        package: args.package.clone(),
    };
    let pkg = debianize::generate(&up, &suite, &opts)?;
    let written = debianize::write(&up, &pkg, out, reporter)?;
    println!(
        "{}",
        escape_untrusted(&format!(
            "{} {}-1 ({}) for {} -> {}",
            pkg.source,
            pkg.upstream_version,
            pkg.binary,
            suite.target.name,
            written.tree.display()
        ))
    );
    println!(
        "{}",
        escape_untrusted(&format!("    {}", written.orig.display()))
    );
    if let Some(d) = &written.dsc {
        println!("{}", escape_untrusted(&format!("    {}", d.display())));
    }
    for f in &pkg.fixmes {
        println!("{}", escape_untrusted(&format!("FIXME: {f}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Command, Opts};
    use clap::Parser;

    #[test]
    fn rfp_and_debianize_parse() {
        let o = Opts::try_parse_from([
            "py2deb",
            "rfp",
            "foo",
            "bar==1",
            "--itp",
            "--recursive",
            "-o",
            "out",
            "--target",
            "bookworm",
            "--target",
            "trixie",
        ])
        .unwrap();
        match o.command {
            Some(Command::Rfp(a)) => {
                assert_eq!(a.specs, ["foo", "bar==1"]);
                assert!(a.itp && a.recursive);
                assert_eq!(a.target, ["bookworm", "trixie"]);
                assert_eq!(a.output_dir.as_deref(), Some(std::path::Path::new("out")));
            }
            other => panic!("{other:?}"),
        }
        let o = Opts::try_parse_from([
            "py2deb",
            "debianize",
            "foo",
            "-o",
            "src",
            "--itp-bug",
            "1234567",
            "--no-team",
        ])
        .unwrap();
        match o.command {
            Some(Command::Debianize(a)) => {
                assert_eq!(a.target, "sid");
                assert_eq!(a.itp_bug, Some(1_234_567));
                assert!(a.no_team);
            }
            other => panic!("{other:?}"),
        }
        // The output directory is required: the tree and the orig must go somewhere known.
        let e = Opts::try_parse_from(["py2deb", "debianize", "foo"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--output-dir"), "{e}");
        let e =
            Opts::try_parse_from(["py2deb", "debianize", "foo", "-o", "x", "--itp-bug", "soon"])
                .unwrap_err()
                .to_string();
        assert!(e.contains("soon"), "{e}");
    }
}
