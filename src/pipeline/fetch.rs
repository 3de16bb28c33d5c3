//! Fetching: the wheel each spec and each decided requirement is built from, downloaded
//! through the one cache and checked against `--hash` (pip's `--require-hashes` rules), or
//! built from the sdist (PEP 517) when no wheel fits or `--no-binary` asks.

use super::{BuildConfig, Spec};
use crate::index::fetch::{self, Cache, Http};
use crate::index::Index;
use crate::inspect::sdist;
use crate::inspect::wheel::Wheel;
use crate::python::tags::{Compat, WheelFilename};
use crate::python::PackageName;
use crate::report::Reporter;
pub(crate) use crate::resolve::plan::Fetched;
use crate::resolve::plan::Source;
use anyhow::{bail, Context, Result};
use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{Requirement, VersionOrUrl};
use std::path::Path;
use std::str::FromStr;

/// The fetch stage as the solver's [`Source`]: the index through the run's one HTTP
/// client and cache.
pub(crate) struct Fetcher<'a> {
    pub cfg: &'a BuildConfig,
    pub index: &'a Index<'a>,
    pub http: &'a Http,
    pub cache: &'a Cache,
    pub reporter: &'a dyn Reporter,
}

impl Source for Fetcher<'_> {
    fn root(&self, spec: &Spec) -> Result<Fetched> {
        self.resolve_and_fetch(spec)
    }

    fn release(&self, name: &PackageName, spec: &VersionSpecifiers) -> Result<(Version, Fetched)> {
        self.obtain(name, spec)
    }

    fn candidate(&self, name: &str, spec: &VersionSpecifiers) -> Option<Version> {
        let target = &self.cfg.target;
        self.index
            .select_wheel(name, spec, target)
            .map(|c| c.version)
            .or_else(|_| self.index.select_sdist(name, spec, target).map(|(v, _)| v))
            .ok()
    }

    fn requirements_of(&self, name: &str, version: &str) -> Option<Vec<Requirement>> {
        let spec = VersionSpecifiers::from_str(&format!("=={version}")).ok()?;
        let cand = self
            .index
            .select_wheel(name, &spec, &self.cfg.target)
            .ok()?;
        let path = fetch::fetch(self.http, self.cache, &cand.file, self.reporter).ok()?;
        let fetched = Fetched {
            path,
            wheel: cand.wheel,
            file: Some(cand.file),
            extras: Vec::new(),
        };
        Some(self.open(&fetched).ok()?.metadata.requires_dist)
    }

    fn open(&self, fetched: &Fetched) -> Result<Wheel> {
        open_wheel(fetched, self.cfg)
    }
}

/// In `--require-hashes` mode, the downloaded file must match one of the hashes the
/// requirement files give for its project (pip's rule: a hash of the file, sha256,
/// sha384 or sha512; any one of them matching is enough).
fn check_required_hash(
    cfg: &BuildConfig,
    name: &PackageName,
    filename: &str,
    path: &Path,
) -> Result<()> {
    use sha2::Digest;
    let Some(required) = &cfg.required_hashes else {
        return Ok(());
    };
    let Some(allowed) = required.get(name) else {
        bail!(
            "{name}: hashes are required (a requirement file gave --hash), but none is given \
             for {name}, which {filename} would bring in; pin it in the requirement file with \
             `{name}==VERSION --hash=sha256:HEX`"
        );
    };
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut seen = Vec::new();
    for h in allowed {
        let Some((algo, want)) = h.split_once(':') else {
            continue;
        };
        let got = match algo {
            "sha256" => hex::encode(sha2::Sha256::digest(&bytes)),
            "sha384" => hex::encode(sha2::Sha384::digest(&bytes)),
            "sha512" => hex::encode(sha2::Sha512::digest(&bytes)),
            _ => continue,
        };
        if got.eq_ignore_ascii_case(want) {
            return Ok(());
        }
        seen.push(format!("{algo}:{got}"));
    }
    bail!(
        "{filename}: its hash ({}) matches none of the --hash values the requirement files give \
         for {name}; the file is not the one the requirement file was written for — check the \
         index, or update the hash if the release was rightly replaced",
        seen.join(", ")
    )
}

pub(crate) fn build_from_source(
    tree: &sdist::SourceTree,
    sha256: Option<&str>,
    cfg: &BuildConfig,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
    let built = sdist::build_wheel(tree, sha256, &cfg.sdist_options(), reporter)?;
    let name = built
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let wheel: WheelFilename = name.parse().map_err(|e| {
        anyhow::anyhow!("the build produced `{name}`, which is not a valid wheel file name: {e}")
    })?;
    if let Compat::Incompatible(why) = wheel.compatibility(&cfg.target) {
        bail!(
            "the wheel built from source ({name}) does not fit target {}: {why}",
            cfg.target
        );
    }
    Ok(Fetched {
        path: built.path,
        wheel,
        file: None,
        extras: Vec::new(),
    })
}

pub(crate) fn open_wheel(f: &Fetched, cfg: &BuildConfig) -> Result<Wheel> {
    Wheel::open(&f.path, &f.wheel.name, &f.wheel.version, cfg.limits.clone())
}

impl Fetcher<'_> {
    /// Find the wheel for `name` matching `spec`: a compatible wheel from the index, or —
    /// when none fits or `--no-binary` asks — one built from the newest matching sdist.
    fn obtain(&self, name: &PackageName, spec: &VersionSpecifiers) -> Result<(Version, Fetched)> {
        let Fetcher {
            cfg,
            index,
            http,
            cache,
            reporter,
        } = *self;
        let constrained;
        let spec = match cfg.constraints.get(name) {
            Some(c) => {
                constrained = spec
                    .iter()
                    .chain(c.iter())
                    .cloned()
                    .collect::<pep440_rs::VersionSpecifiers>();
                &constrained
            }
            None => spec,
        };
        let wheel_error = if cfg.wants_source(name) {
            None
        } else {
            match index.select_wheel(name, spec, &cfg.target) {
                Ok(cand) => {
                    reporter.info(&format!(
                        "{} {}: {}",
                        cand.name, cand.version, cand.file.filename
                    ));
                    let path = fetch::fetch(http, cache, &cand.file, reporter)?;
                    check_required_hash(cfg, name, &cand.file.filename, &path)?;
                    return Ok((
                        cand.version,
                        Fetched {
                            path,
                            wheel: cand.wheel,
                            file: Some(cand.file),
                            extras: Vec::new(),
                        },
                    ));
                }
                Err(e) => Some(e),
            }
        };
        if cfg.only_binary.contains(name) {
            let why = wheel_error
                .map(|e| format!("{e:#}"))
                .unwrap_or_else(|| "--no-binary asks for its sdist".into());
            anyhow::bail!("{name}: {why}; and --only-binary forbids building it from its sdist (allow it with `py2deb install --allow-sdists`, or leave --only-binary out)");
        }
        let (version, file) = match index.select_sdist(name, spec, &cfg.target) {
            Ok(found) => found,
            // Without a wheel or an sdist, the wheel error explains more.
            Err(sdist_err) => return Err(wheel_error.unwrap_or(sdist_err)),
        };
        reporter.info(&format!(
            "{name} {version}: no wheel fits, building {}",
            file.filename
        ));
        let path = fetch::fetch(http, cache, &file, reporter)?;
        check_required_hash(cfg, name, &file.filename, &path)?;
        let mut fetched = build_from_source(
            &sdist::SourceTree::Sdist(path),
            file.sha256.as_deref(),
            cfg,
            reporter,
        )?;
        fetched.file = Some(file);
        Ok((version, fetched))
    }

    /// The wheel a spec named on the command line stands for: the file itself, a build
    /// of the source tree, or the release a requirement resolves to.
    fn resolve_and_fetch(&self, spec: &Spec) -> Result<Fetched> {
        let cfg = self.cfg;
        match spec {
            Spec::Wheel(path) => {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let wheel: WheelFilename = name.parse().map_err(|e| {
                    anyhow::anyhow!("`{}` is not a valid wheel file name: {e}", path.display())
                })?;
                if let Compat::Incompatible(why) = wheel.compatibility(&cfg.target) {
                    bail!("{name} does not fit target {}: {why}", cfg.target);
                }
                Ok(Fetched {
                    path: path.clone(),
                    wheel,
                    file: None,
                    extras: Vec::new(),
                })
            }
            Spec::Source(tree) => build_from_source(tree, None, cfg, self.reporter),
            Spec::Requirement(req) => {
                let vspec = match &req.version_or_url {
                    Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
                    _ => pep440_rs::VersionSpecifiers::empty(),
                };
                let name = PackageName::from(&req.name);
                let (_, mut fetched) = self.obtain(&name, &vspec)?;
                fetched.extras = req.extras.clone();
                Ok(fetched)
            }
        }
    }
}
