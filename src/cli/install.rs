//! `py2deb install/uninstall/list/upgrade`: clap types and the flows over
//! [`crate::install::Machine`]. Builds run as a child `py2deb build … --repo STAGED`, as
//! the unprivileged build user when py2deb runs as root; the root steps only publish, sign
//! and call apt-get.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::install::{Layout, Machine, Runner, BUILD_USER};
use crate::python::PackageName;
use crate::repo::{Repo, RepoBuilder};
use crate::report::{escape_untrusted, Reporter};

/// Options every machine command shares.
#[derive(Debug, Args)]
pub struct MachineArgs {
    /// Work on the system below DIR instead of / (as dpkg --root): the repository, apt
    /// source and key go there, and apt-get runs with RootDir=DIR.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/",
        hide_default_value = true
    )]
    pub root: PathBuf,
}

/// `py2deb install SPEC...`
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Project names or PEP 508 requirements (`dunamai==1.25.0`, `'black>=24'`).
    #[arg(value_name = "SPEC", required_unless_present = "requirement")]
    pub specs: Vec<String>,
    #[command(flatten)]
    pub reqs: RequirementFileArgs,
    /// Base URL of the Python package index (Simple API).
    #[arg(short = 'i', long, value_name = "URL", env = "PIP_INDEX_URL", default_value = crate::cli::DEFAULT_INDEX)]
    pub index_url: String,
    /// Extra index URLs to search as well.
    #[arg(long, value_name = "URL")]
    pub extra_index_url: Vec<String>,
    /// Consider pre-release and development versions.
    #[arg(long)]
    pub pre: bool,
    /// Allow builds from sdists (they run project code, as the _py2deb user) here and in
    /// the daily update; without it, the update takes wheels only.
    #[arg(long)]
    pub allow_sdists: bool,
    /// Answer yes to apt-get.
    #[arg(short, long)]
    pub yes: bool,
    /// Read this machine's package lists from this directory of apt lists.
    #[arg(long, value_name = "DIR", hide = true)]
    pub apt_lists: Option<PathBuf>,
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// `py2deb uninstall NAME...`
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Package or project names installed with `py2deb install`.
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
    /// Answer yes to apt-get.
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// `py2deb list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Do not ask the indexes for their newest releases.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// `py2deb upgrade`
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Only build new releases into the staging repository (what py2deb-update.service
    /// runs as the _py2deb user).
    #[arg(long, conflicts_with = "publish_staged")]
    pub stage: bool,
    /// Only publish staged packages into the signed repository (the service's root step).
    #[arg(long)]
    pub publish_staged: bool,
    #[command(flatten)]
    pub machine: MachineArgs,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Commands that change the real system need root; a `--root` tree is the caller's own.
fn require_root(layout: &Layout, what: &str) -> Result<()> {
    if layout.root() == Path::new("/") && !is_root() {
        bail!("`py2deb {what}` changes this machine's apt setup: run it as root (sudo py2deb {what} ...)");
    }
    Ok(())
}

/// Signing finds the machine's keyring through GNUPGHOME; set before any thread starts.
fn use_machine_keyring(layout: &Layout) {
    std::env::set_var("GNUPGHOME", layout.gnupg_dir());
}

/// Run our own binary for a build step: as the build user when we are root.
fn child(
    runner: &dyn Runner,
    layout: &Layout,
    args: Vec<String>,
    reporter: &dyn Reporter,
) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the py2deb program")?;
    let env = [
        format!("PY2DEB_CACHE_DIR={}", layout.cache_dir().display()),
        format!("HOME={}", layout.path("/var/lib/py2deb/home").display()),
    ];
    let (program, full): (String, Vec<String>) = if is_root() {
        reporter.warn(&format!(
            "building as the unprivileged user {BUILD_USER}, never as root"
        ));
        let mut v = vec!["-u".into(), BUILD_USER.into(), "--".into(), "env".into()];
        v.extend(env.iter().cloned());
        v.push(exe.display().to_string());
        v.extend(args);
        ("runuser".into(), v)
    } else {
        let mut v: Vec<String> = env.to_vec();
        v.push(exe.display().to_string());
        v.extend(args);
        ("env".into(), v)
    };
    let out = runner.run(&program, &full, &[], true)?;
    if !out.success {
        bail!(
            "the build failed ({}); nothing was published",
            out.code
                .map(|c| format!("exit {c}"))
                .unwrap_or_else(|| "killed".into())
        );
    }
    Ok(())
}

/// The staging repository, owned by the build user.
fn ensure_staged(runner: &dyn Runner, layout: &Layout, arch: &str) -> Result<()> {
    let dir = layout.staged_dir();
    if !dir.join(crate::repo::STATE_DIR).is_dir() {
        Repo::init(
            &dir,
            crate::repo::InitOptions {
                suite: "staged".into(),
                architectures: vec![arch.to_owned()],
                ..Default::default()
            },
            &crate::report::Silent,
        )?;
    }
    for d in [
        dir.join("out"),
        layout.cache_dir(),
        layout.path("/var/lib/py2deb/home"),
    ] {
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    give_to_build_user(runner, layout)
}

fn give_to_build_user(runner: &dyn Runner, layout: &Layout) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    for d in [
        layout.staged_dir(),
        layout.cache_dir(),
        layout.path("/var/lib/py2deb/home"),
    ] {
        let owner = format!("{BUILD_USER}:{BUILD_USER}");
        let out = runner.run(
            "chown",
            &["-R".into(), owner, d.display().to_string()],
            &[],
            false,
        )?;
        if !out.success {
            bail!(
                "cannot give {} to {BUILD_USER} (is the py2deb package installed? its postinst makes the user): {}",
                d.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

pub fn install(
    args: &InstallArgs,
    specs: Vec<String>,
    runner: &dyn Runner,
    reporter: &dyn Reporter,
) -> Result<()> {
    let layout = Layout::new(&args.machine.root);
    require_root(&layout, "install")?;
    // Requirement files are read here, as the caller: the build user need not see them.
    let mut file_opts = crate::python::requirements::FileOptions::default();
    let specs = if args.reqs.is_empty() {
        specs
    } else {
        let target = crate::debian::target::TargetSpec::new("host", None)?.resolve()?;
        let env = crate::python::markers::environment(&target)?;
        let e = args.reqs.expand(&specs, &env, reporter)?;
        if e.hashes.is_some() {
            // The build runs as the unprivileged user from names and versions alone; a
            // hash it could not check must not look checked.
            bail!(
                "py2deb install does not check --hash values: build with `py2deb build -r FILE` \
                 (which does) and publish with `py2deb repo add`, or drop the hashes"
            );
        }
        file_opts = e.options;
        e.specs
    };
    let mut projects = Vec::new();
    for s in &specs {
        let req: pep508_rs::Requirement = s.parse().map_err(|e| {
            anyhow::anyhow!("`{s}`: py2deb install takes project names and PEP 508 requirements (for a local file use `py2deb build FILE` and `apt install ./NAME.deb`): {e}")
        })?;
        projects.push(PackageName::from(&req.name));
    }
    use_machine_keyring(&layout);
    let machine = Machine::new(layout.clone(), runner, reporter);
    let arch = crate::cli::repo::host_arch()?;
    let mut settings = machine.settings()?;
    if args.allow_sdists && !settings.allow_sdists {
        settings.allow_sdists = true;
    }
    machine.ensure_repo(vec![arch.clone()])?;
    machine.save_settings(&settings)?;
    ensure_staged(runner, &layout, &arch)?;
    // A file's --index-url replaces pip's default only, as for `build -r`.
    let index_url = match &file_opts.index_url {
        Some(u) if args.index_url == crate::cli::DEFAULT_INDEX => u.clone(),
        _ => args.index_url.clone(),
    };
    let mut build = vec![
        "build".to_owned(),
        "--repo".into(),
        layout.staged_dir().display().to_string(),
        "-o".into(),
        layout.staged_dir().join("out").display().to_string(),
        "--index-url".into(),
        index_url,
        "--no-default-overrides".into(),
    ];
    for u in args
        .extra_index_url
        .iter()
        .chain(&file_opts.extra_index_urls)
    {
        build.extend(["--extra-index-url".into(), u.clone()]);
    }
    for f in &file_opts.find_links {
        build.extend(["--find-links".into(), f.clone()]);
    }
    if !file_opts.no_binary.is_empty() {
        build.extend(["--no-binary".into(), file_opts.no_binary.join(",")]);
    }
    if !settings.allow_sdists {
        // Wheels only: no project code runs, not even as the build user.
        build.extend(["--only-binary".into(), ":all:".into()]);
    } else if !file_opts.only_binary.is_empty() {
        build.extend(["--only-binary".into(), file_opts.only_binary.join(",")]);
    }
    if args.pre || file_opts.pre {
        build.push("--pre".into());
    }
    if let Some(d) = &args.apt_lists {
        build.extend(["--apt-lists".into(), d.display().to_string()]);
    }
    if std::env::var_os("DEBEMAIL").is_none() && std::env::var_os("DEBFULLNAME").is_none() {
        build.extend([
            "--maintainer".into(),
            "py2deb local build <root@localhost>".into(),
        ]);
    }
    build.push("--".into());
    build.extend(specs.iter().cloned());
    child(runner, &layout, build, reporter)?;
    give_to_build_user(runner, &layout)?;
    let published = machine.publish_staged()?;
    give_to_build_user(runner, &layout)?;
    for (p, v, a) in &published {
        reporter.info(&format!("published {p} {v} {a}"));
    }
    let repo = Repo::open(&layout.repo_dir())?;
    let mut packages: Vec<String> = Vec::new();
    for e in repo.list()? {
        if e.record
            .as_ref()
            .is_some_and(|r| projects.contains(&PackageName::normalize(&r.project)))
            && !packages.contains(&e.package)
        {
            packages.push(e.package);
        }
    }
    if packages.is_empty() {
        bail!("the build published nothing for {}", specs.join(" "));
    }
    machine.apt_update()?;
    machine.apt_install(&packages, args.yes)?;
    reporter.warn(&format!(
        "installed {}; py2deb-update.timer rebuilds new releases twice a day and apt offers them as upgrades",
        packages.join(" ")
    ));
    Ok(())
}

pub fn uninstall(args: &UninstallArgs, runner: &dyn Runner, reporter: &dyn Reporter) -> Result<()> {
    let layout = Layout::new(&args.machine.root);
    require_root(&layout, "uninstall")?;
    use_machine_keyring(&layout);
    let machine = Machine::new(layout, runner, reporter);
    let removed = machine.uninstall(&args.names, args.yes)?;
    let mut out = std::io::stdout().lock();
    for p in removed {
        writeln!(out, "removed {}", escape_untrusted(&p))?;
    }
    Ok(())
}

pub fn list(
    args: &ListArgs,
    runner: &dyn Runner,
    reporter: &dyn Reporter,
    builder: &dyn RepoBuilder,
) -> Result<()> {
    let layout = Layout::new(&args.machine.root);
    let machine = Machine::new(layout, runner, reporter);
    let mut rows = machine.list()?;
    if !args.offline {
        // The index says whether a newer release exists; nothing is built.
        for r in &mut rows {
            r.newest_release = match builder.newer(&r.record, true) {
                Ok(Some(n)) => Some(n.version),
                Ok(None) => Some(r.record.version.clone()),
                Err(e) => {
                    reporter.warn(&format!("{}: cannot ask its index: {e:#}", r.project));
                    None
                }
            };
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    for r in rows {
        let line = format!(
            "{:<30} {:<22} installed {:<22} index has {:<12} (from {})",
            r.package,
            r.version,
            r.installed.as_deref().unwrap_or("-"),
            r.newest_release.as_deref().unwrap_or("?"),
            r.spec
        );
        writeln!(out, "{}", escape_untrusted(&line))?;
    }
    Ok(())
}

/// The newest recorded build of each package in `repo`, as `Repo::update` checks them.
fn newest_records(repo: &Repo) -> Result<Vec<crate::repo::BuildRecord>> {
    let mut newest: Vec<crate::repo::Entry> = Vec::new();
    for e in repo.list()?.into_iter().filter(|e| e.record.is_some()) {
        match newest
            .iter_mut()
            .find(|n| n.package == e.package && n.architecture == e.architecture)
        {
            Some(n) => {
                if crate::repo::compare_versions(&e.version, &n.version).is_gt() {
                    *n = e;
                }
            }
            None => newest.push(e),
        }
    }
    Ok(newest.into_iter().filter_map(|e| e.record).collect())
}

pub fn upgrade(
    args: &UpgradeArgs,
    runner: &dyn Runner,
    reporter: &dyn Reporter,
    builder: &dyn RepoBuilder,
) -> Result<()> {
    let layout = Layout::new(&args.machine.root);
    let machine = Machine::new(layout.clone(), runner, reporter);
    if !machine.is_set_up() {
        reporter.info("nothing installed with py2deb on this machine");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if args.stage {
        if is_root() && layout.root() == Path::new("/") {
            bail!("`py2deb upgrade --stage` builds and never runs as root; py2deb-update.service runs it as {BUILD_USER}");
        }
        let repo = Repo::open(&layout.repo_dir())?;
        let staged = Repo::open(&layout.staged_dir())?;
        let mut incoming = Vec::new();
        for rec in newest_records(&repo)? {
            let rec = rec.clone();
            match builder.newer(&rec, false) {
                Ok(Some(n)) => {
                    writeln!(
                        out,
                        "staged {} {} -> {}",
                        rec.project, rec.version, n.version
                    )?;
                    incoming.extend(n.debs);
                }
                Ok(None) => {}
                Err(e) => reporter.warn(&format!("{}: {e:#}", rec.project)),
            }
        }
        if !incoming.is_empty() {
            staged.add(&incoming, None, reporter)?;
        }
        return Ok(());
    }
    require_root(&layout, "upgrade")?;
    use_machine_keyring(&layout);
    if !args.publish_staged {
        let arch = crate::cli::repo::host_arch()?;
        ensure_staged(runner, &layout, &arch)?;
        let mut a = vec!["upgrade".to_owned(), "--stage".into()];
        if layout.root() != Path::new("/") {
            a.extend(["--root".into(), layout.root().display().to_string()]);
        }
        child(runner, &layout, a, reporter)?;
    }
    let published = machine.publish_staged()?;
    give_to_build_user(runner, &layout)?;
    for (p, v, a) in &published {
        writeln!(out, "published {p} {v} {a}")?;
    }
    if !args.publish_staged {
        machine.apt_update()?;
        if !published.is_empty() {
            writeln!(out, "apt now offers the new versions: apt upgrade")?;
        }
    }
    Ok(())
}

/// `-r/--requirement FILE` and `-c/--constraint FILE`, as pip's, for `build` and `install`.
#[derive(Debug, Args, Default)]
pub struct RequirementFileArgs {
    /// Also build the requirements listed in FILE (pip's requirements file format;
    /// repeatable). Markers are evaluated for the target.
    #[arg(short = 'r', long = "requirement", value_name = "FILE")]
    pub requirement: Vec<PathBuf>,
    /// Constrain the versions of the requirements with the specifiers in FILE (pip's
    /// format; applies to the requirements named on the command line and in -r files).
    #[arg(short = 'c', long = "constraint", value_name = "FILE")]
    pub constraint: Vec<PathBuf>,
}

/// Specs and index options from the command line and requirement files, markers
/// evaluated in `env`.
pub struct Expanded {
    pub specs: Vec<String>,
    pub options: crate::python::requirements::FileOptions,
    /// pip's `--require-hashes` mode: the hashes given for each project (normalized name).
    pub hashes: Option<std::collections::BTreeMap<PackageName, Vec<String>>>,
    /// Every constraint's version bounds, by normalized name (for dependencies too).
    pub constraints: std::collections::BTreeMap<PackageName, pep440_rs::VersionSpecifiers>,
}

impl RequirementFileArgs {
    pub fn is_empty(&self) -> bool {
        self.requirement.is_empty() && self.constraint.is_empty()
    }

    /// Read the files, drop requirements whose markers do not hold for the target, and
    /// narrow every requirement (including `specs` given as arguments) by the constraints.
    pub fn expand(
        &self,
        specs: &[String],
        env: &pep508_rs::MarkerEnvironment,
        reporter: &dyn Reporter,
    ) -> Result<Expanded> {
        use crate::python::requirements::{apply_constraints, Requirements};
        let mut all = Requirements::default();
        for f in &self.requirement {
            all.read(f, false)?;
        }
        for f in &self.constraint {
            all.read(f, true)?;
        }
        all.check_hashes()?;
        let mut constraints: std::collections::BTreeMap<PackageName, pep440_rs::VersionSpecifiers> =
            Default::default();
        for c in &all.constraints {
            if let Some(pep508_rs::VersionOrUrl::VersionSpecifier(v)) =
                &c.requirement.version_or_url
            {
                let name = PackageName::from(&c.requirement.name);
                let joined = constraints
                    .remove(&name)
                    .into_iter()
                    .flat_map(|old| old.iter().cloned().collect::<Vec<_>>())
                    .chain(v.iter().cloned())
                    .collect();
                constraints.insert(name, joined);
            }
        }
        let hashes = (all.options.require_hashes
            || all.requirements.iter().any(|l| !l.hashes.is_empty()))
        .then(|| {
            let mut map: std::collections::BTreeMap<PackageName, Vec<String>> = Default::default();
            for l in &all.requirements {
                map.entry(PackageName::from(&l.requirement.name))
                    .or_default()
                    .extend(l.hashes.iter().cloned());
            }
            map
        });
        all.requirements.retain(|l| {
            let keep = crate::python::markers::applies(&l.requirement, env, &[]);
            if !keep {
                reporter.info(&format!(
                    "{}: `{}` does not apply to the target (marker)",
                    l.origin, l.text
                ));
            }
            keep
        });
        let mut out = Vec::new();
        // Arguments that are requirements are constrained too; files and paths pass as they are.
        let mut from_args = Requirements {
            constraints: all.constraints.clone(),
            ..Default::default()
        };
        for s in specs {
            match crate::python::markers::parse_requirement(s) {
                Ok(r) if !self.constraint.is_empty() && !looks_like_path(s) => from_args
                    .requirements
                    .push(crate::python::requirements::Line {
                        requirement: r,
                        text: s.clone(),
                        hashes: Vec::new(),
                        origin: crate::python::requirements::Origin {
                            file: "(command line)".into(),
                            line: 0,
                        },
                    }),
                _ => out.push(s.clone()),
            }
        }
        out.extend(apply_constraints(&from_args)?);
        out.extend(apply_constraints(&all)?);
        if out.is_empty() {
            bail!("the requirement files list nothing that applies to the target");
        }
        Ok(Expanded {
            specs: out,
            options: all.options,
            hashes,
            constraints,
        })
    }
}

fn looks_like_path(s: &str) -> bool {
    s.contains('/') || s.ends_with(".whl") || s.ends_with(".tar.gz") || s.ends_with(".zip")
}

/// The index options of requirement files on top of the command line's: a file's
/// `--index-url` replaces pip's default only, the lists add up, `--pre` and `--no-index`
/// switch on.
pub fn merge_file_options(
    mut index: crate::index::IndexConfig,
    no_binary: &[String],
    only_binary: &[String],
    file: crate::python::requirements::FileOptions,
) -> Result<(
    crate::index::IndexConfig,
    crate::python::Projects,
    crate::python::Projects,
)> {
    if let Some(u) = &file.index_url {
        if index.index_url.as_str() == crate::cli::DEFAULT_INDEX {
            index.index_url = crate::cli::parse_url(u, "--index-url (in a requirement file)")?;
        }
    }
    for u in &file.extra_index_urls {
        index.extra_index_urls.push(crate::cli::parse_url(
            u,
            "--extra-index-url (in a requirement file)",
        )?);
    }
    for f in &file.find_links {
        if f.contains("://") {
            bail!("--find-links `{f}` in a requirement file: only local directories of wheels are supported");
        }
        index.find_links.push(PathBuf::from(f));
    }
    index.pre |= file.pre;
    index.no_index |= file.no_index;
    // The command line's, then the files' (a file's `:none:` resets both), as pip reads
    // its options.
    let projects = |cli: &[String], files: &[String], option: &str| {
        crate::python::Projects::parse(cli.iter().chain(files).map(String::as_str), option)
    };
    let nb = projects(no_binary, &file.no_binary, "--no-binary")?;
    let ob = projects(only_binary, &file.only_binary, "--only-binary")?;
    Ok((index, nb, ob))
}
