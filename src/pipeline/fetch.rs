//! Fetching: the wheel each spec and each decided requirement is built from, downloaded
//! through the one cache and checked against `--hash` (pip's `--require-hashes` rules), or
//! built from the sdist (PEP 517) when no wheel fits or `--no-binary` asks.

use super::{BuildConfig, Spec};
use crate::index::fetch::{self, Cache, Http};
use crate::index::{DistFile, Index};
use crate::inspect::sdist;
use crate::inspect::wheel::Wheel;
use crate::python::tags::{Compat, WheelFilename};
use crate::python::PackageName;
use crate::report::Reporter;
use anyhow::{bail, Context, Result};
use pep508_rs::{ExtraName, VersionOrUrl};
use std::path::{Path, PathBuf};

/// In `--require-hashes` mode, the downloaded file must match one of the hashes the
/// requirement files give for its project (pip's rule: a hash of the file, sha256,
/// sha384 or sha512; any one of them matching is enough).
fn check_required_hash(cfg: &BuildConfig, name: &str, filename: &str, path: &Path) -> Result<()> {
    use sha2::Digest;
    let Some(required) = &cfg.required_hashes else {
        return Ok(());
    };
    let norm = crate::python::PackageName::normalize(name).into_string();
    let Some(allowed) = required.get(&norm) else {
        bail!(
            "{name}: hashes are required (a requirement file gave --hash), but none is given \
             for {name}, which {filename} would bring in; pin it in the requirement file with \
             `{norm}==VERSION --hash=sha256:HEX`"
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

/// Find the wheel for `name` matching `spec`: a compatible wheel from the index, or —
/// when none fits or `--no-binary` asks — one built from the newest matching sdist.
pub(crate) fn obtain(
    name: &str,
    spec: &pep440_rs::VersionSpecifiers,
    cfg: &BuildConfig,
    index: &Index,
    http: &Http,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<(pep440_rs::Version, Fetched)> {
    let constrained;
    let spec = match cfg
        .constraints
        .get(&crate::python::PackageName::normalize(name).into_string())
    {
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
    let norm = crate::python::PackageName::normalize(name).into_string();
    if cfg
        .only_binary
        .iter()
        .any(|n| n == ":all:" || crate::python::PackageName::normalize(n).into_string() == norm)
    {
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

/// A wheel on disk with what we know about where it came from.
pub(crate) struct Fetched {
    pub(crate) path: PathBuf,
    pub(crate) wheel: WheelFilename,
    pub(crate) file: Option<DistFile>,
    pub(crate) extras: Vec<ExtraName>,
}

pub(crate) fn open_wheel(f: &Fetched, cfg: &BuildConfig) -> Result<Wheel> {
    Wheel::open(&f.path, &f.wheel.name, &f.wheel.version, cfg.limits.clone())
}

pub(crate) fn resolve_and_fetch(
    spec: &Spec,
    cfg: &BuildConfig,
    index: &Index,
    http: &Http,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
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
        Spec::Source(tree) => build_from_source(tree, None, cfg, reporter),
        Spec::Requirement(req) => {
            let vspec = match &req.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
                _ => pep440_rs::VersionSpecifiers::empty(),
            };
            let name = PackageName::from(&req.name).into_string();
            let (_, mut fetched) = obtain(&name, &vspec, cfg, index, http, cache, reporter)?;
            fetched.extras = req.extras.clone();
            Ok(fetched)
        }
    }
}
