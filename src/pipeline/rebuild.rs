//! Rebuilding for `repo update`: the build record a repository keeps per package, and the
//! [`Rebuilder`] that implements the repository's [`crate::repo::RepoBuilder`] contract by
//! building newer releases with the recorded settings.

use super::{build, BuildConfig, Built, Spec};
use crate::debian::archive::ArchiveOptions;
use crate::debian::target::Target;
use crate::index::fetch::Http;
use crate::index::Index;
use crate::python::PackageName;
use crate::report::Reporter;
use crate::resolve;
use anyhow::{Context, Result};
use pep508_rs::{Requirement, VersionOrUrl};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;

/// The build record stored in a repository for a package built from `spec`, so that
/// `repo update` can rebuild newer releases the same way.
pub fn build_record(
    cfg: &BuildConfig,
    spec: &Spec,
    built: &Built,
) -> Option<crate::repo::BuildRecord> {
    let Spec::Requirement(req) = spec else {
        // A local wheel has no index to look for newer releases on.
        return None;
    };
    if built.reason != "requested" {
        // Dependencies built alongside follow their application: rebuilding it rebuilds
        // them within its constraints.
        return None;
    }
    let redact = |u: &url::Url| {
        let mut u = u.clone();
        // The repository is published; credentials must not travel with it.
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string()
    };
    let mut index_urls = vec![redact(&cfg.index.index_url)];
    index_urls.extend(cfg.index.extra_index_urls.iter().map(redact));
    let mut options = std::collections::BTreeMap::new();
    options.insert("maintainer".to_owned(), cfg.maintainer.clone());
    options.insert("revision".to_owned(), cfg.revision.clone());
    options.insert("compression".to_owned(), cfg.compression.to_string());
    options.insert("pre".to_owned(), cfg.index.pre.to_string());
    options.insert("deps".to_owned(), format!("{:?}", cfg.deps).to_lowercase());
    options.insert(
        "conflicts".to_owned(),
        format!("{:?}", cfg.conflicts).to_lowercase(),
    );
    if cfg.prefer != resolve::prefer::Prefer::default() {
        options.insert("prefer".to_owned(), cfg.prefer.to_string());
    }
    // The file-clash choice and stripping change what is built: a rebuild keeps them.
    // Records of the defaults leave them out, as records made before they existed did.
    if cfg.on_clash != resolve::clash::OnClash::default() {
        options.insert("on-clash".to_owned(), cfg.on_clash.to_string());
    }
    if !cfg.strip {
        options.insert("strip".to_owned(), "false".to_owned());
    }
    if cfg.host_archive && cfg.archive.lists_dir != ArchiveOptions::default().lists_dir {
        // Built against given apt lists (`--apt-lists`): rebuild against the same.
        options.insert(
            "apt-lists".to_owned(),
            cfg.archive.lists_dir.display().to_string(),
        );
    }
    Some(crate::repo::BuildRecord {
        spec: follow_spec(req),
        project: PackageName::from(&req.name).into_string(),
        version: built.project_version.clone(),
        target: cfg.target.name.clone(),
        arch: built.architecture.clone(),
        options,
        index_urls,
        py2deb_version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// The requirement `repo update` follows: the user's, with an exact pin (`==1.0`) lifted,
/// since following new releases is the point of the update. Two builds of different pinned
/// versions thus follow the same thing.
fn follow_spec(req: &Requirement) -> String {
    let mut req = req.clone();
    if let Some(VersionOrUrl::VersionSpecifier(s)) = &req.version_or_url {
        use pep440_rs::Operator::{Equal, ExactEqual};
        if s.iter().any(|c| matches!(c.operator(), Equal | ExactEqual)) {
            req.version_or_url = None;
        }
    }
    req.to_string()
}

/// Rebuilds recorded packages for `repo update`: same target, options and indexes as
/// recorded; an exact pin (`==1.0`) in the recorded spec is lifted, since following new
/// releases is the point of the update.
pub struct Rebuilder<'a> {
    /// Makes the settings not recorded per package (cache, templates, limits,
    /// SOURCE_DATE_EPOCH); called on the first rebuild, so that a `repo` command that
    /// builds nothing neither reads the machine nor fails on the build environment.
    make_base: Box<dyn Fn() -> Result<BuildConfig> + 'a>,
    base: Mutex<Option<BuildConfig>>,
    reporter: &'a dyn Reporter,
    /// Where rebuilt packages wait until the repository has copied them into its pool;
    /// removed when the rebuilder is dropped.
    scratch: Mutex<Vec<tempfile::TempDir>>,
}

impl<'a> Rebuilder<'a> {
    /// A rebuilder whose base settings are made by `make_base` when first needed.
    pub fn new(
        make_base: impl Fn() -> Result<BuildConfig> + 'a,
        reporter: &'a dyn Reporter,
    ) -> Self {
        Rebuilder {
            make_base: Box::new(make_base),
            base: Mutex::new(None),
            reporter,
            scratch: Mutex::new(Vec::new()),
        }
    }

    fn base(&self) -> Result<BuildConfig> {
        let mut base = self.base.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = base.as_ref() {
            return Ok(b.clone());
        }
        let b = (self.make_base)()?;
        *base = Some(b.clone());
        Ok(b)
    }
}

impl Rebuilder<'_> {
    fn config_for(&self, record: &crate::repo::BuildRecord) -> Result<BuildConfig> {
        let mut cfg = self.base()?;
        let arch = if record.arch == "all" {
            None
        } else {
            Some(record.arch.as_str())
        };
        cfg.target = Target::from_option(&record.target, arch)
            .or_else(|_| Target::from_option("host", arch))?;
        let mut urls = record
            .index_urls
            .iter()
            .map(|u| url::Url::parse(u).with_context(|| format!("recorded index URL `{u}`")));
        if let Some(first) = urls.next() {
            cfg.index.index_url = first?;
        }
        cfg.index.extra_index_urls = urls.collect::<Result<_>>()?;
        if let Some(m) = record.options.get("maintainer") {
            cfg.maintainer = m.clone();
        }
        if let Some(r) = record.options.get("revision") {
            cfg.revision = r.clone();
        }
        if let Some(c) = record.options.get("compression") {
            cfg.compression = c.parse().map_err(anyhow::Error::msg)?;
        }
        cfg.index.pre = record.options.get("pre").is_some_and(|p| p == "true");
        if let Some(d) = record.options.get("deps") {
            cfg.deps = d.parse::<resolve::DepsMode>().map_err(anyhow::Error::msg)?;
        }
        if let Some(c) = record.options.get("conflicts") {
            cfg.conflicts = c
                .parse::<resolve::ConflictMode>()
                .map_err(anyhow::Error::msg)?;
        }
        // Records of the default leave it out.
        cfg.prefer = match record.options.get("prefer") {
            Some(p) => p.parse().map_err(anyhow::Error::msg)?,
            None => resolve::prefer::Prefer::default(),
        };
        cfg.on_clash = match record.options.get("on-clash") {
            Some(c) => c.parse().map_err(anyhow::Error::msg)?,
            None => resolve::clash::OnClash::default(),
        };
        cfg.strip = record.options.get("strip").is_none_or(|s| s != "false");
        // Built for this machine's release and architecture: the host's own lists, and
        // compiled sdist builds are valid for it (and only then).
        let for_host = Target::host().ok().is_some_and(|h| {
            h.name == record.target && (record.arch == "all" || h.arch == record.arch)
        });
        cfg.target_is_host = for_host;
        if let Some(dir) = record.options.get("apt-lists") {
            cfg.archive.lists_dir = PathBuf::from(dir);
            cfg.archive.offline = true;
            cfg.host_archive = true;
        } else {
            cfg.host_archive = for_host;
        }
        Ok(cfg)
    }
}

impl crate::repo::RepoBuilder for Rebuilder<'_> {
    fn newer(
        &self,
        record: &crate::repo::BuildRecord,
        dry_run: bool,
    ) -> Result<Option<crate::repo::NewBuild>> {
        let cfg = self.config_for(record)?;
        let req: Requirement = Requirement::from_str(&record.spec).map_err(|e| {
            anyhow::anyhow!("recorded spec `{}` no longer parses: {e}", record.spec)
        })?;
        // Records written before pins were lifted at build time may still carry one.
        let req: Requirement =
            Requirement::from_str(&follow_spec(&req)).map_err(|e| anyhow::anyhow!("{e}"))?;
        let spec = match &req.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
            _ => pep440_rs::VersionSpecifiers::empty(),
        };
        let http = Http::with_options(cfg.index.http.clone())?;
        let index = Index::new(cfg.index.clone(), &http, self.reporter);
        // The newest release with a wheel for the target, or else with an sdist.
        let newest = match index.select_wheel(&record.project, &spec, &cfg.target) {
            Ok(c) => c.version,
            Err(e) => index
                .select_sdist(&record.project, &spec, &cfg.target)
                .map(|(v, _)| v)
                .map_err(|_| e)?,
        };
        let current: pep440_rs::Version = record.version.parse().map_err(|e| {
            anyhow::anyhow!(
                "recorded version `{}` of {}: {e}",
                record.version,
                record.project
            )
        })?;
        if newest <= current {
            return Ok(None);
        }
        if dry_run {
            return Ok(Some(crate::repo::NewBuild {
                version: newest.to_string(),
                debs: Vec::new(),
            }));
        }
        // Built into a directory that outlives this call; the repository copies the files
        // into its pool.
        let out = tempfile::Builder::new()
            .prefix("py2deb-update-")
            .tempdir()?;
        let mut cfg = cfg;
        cfg.output_dir = out.path().to_owned();
        self.scratch.lock().unwrap().push(out);
        let spec = Spec::Requirement(
            Requirement::<pep508_rs::VerbatimUrl>::from_str(&format!(
                "{}=={}",
                record.project, newest
            ))
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let built = build(&cfg, std::slice::from_ref(&spec), self.reporter)?;
        let debs = built
            .iter()
            .map(|b| {
                let mut rec = build_record(&cfg, &spec, b);
                if let Some(r) = rec.as_mut() {
                    // Keep following the same recorded spec.
                    r.spec = req.to_string();
                }
                crate::repo::Incoming {
                    path: b.path.clone(),
                    record: rec,
                }
            })
            .collect();
        Ok(Some(crate::repo::NewBuild {
            version: newest.to_string(),
            debs,
        }))
    }
}
