//! Build environments for PEP 517 builds: isolated ones (a venv with the PEP 518
//! `requires` installed by pip, kept in the cache by requirement set so warm builds skip
//! pip entirely) and the system interpreter's own packages for `--no-build-isolation`,
//! where a missing backend is named as the Debian package to install.

use super::process::{self, Ended};
use anyhow::{bail, Context, Result};
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder, Requirement, VersionOrUrl};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

/// A cached environment older than this is rebuilt, so unpinned build requirements
/// (`setuptools>=61`) eventually pick up new releases as a fresh pip run would.
const ENV_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Written last into a finished environment; its absence means "half-built".
const READY: &str = ".py2deb-ready";

/// Identifies an interpreter without running it (a cache hit must not start Python):
/// its resolved path plus size and modification time, which change on every upgrade.
pub fn interpreter_identity(python: &Path) -> Result<String> {
    let real = std::fs::canonicalize(python).with_context(|| {
        format!(
            "the Python interpreter {} does not exist: install python3 (`apt install \
             python3`) or point py2deb at another interpreter",
            python.display()
        )
    })?;
    let meta = std::fs::metadata(&real).with_context(|| format!("reading {}", real.display()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default();
    Ok(format!(
        "{} {} {}.{:09}",
        real.display(),
        meta.len(),
        mtime.as_secs(),
        mtime.subsec_nanos()
    ))
}

/// The Debian package that ships a Python distribution, by the `python3-<name>`
/// convention and the few well-known exceptions among build backends and tools.
pub fn apt_package(dist: &str) -> String {
    let name: String = dist
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '_' || c == '.' { '-' } else { c })
        .collect();
    match name.as_str() {
        "cython" => "cython3".into(),
        "pyyaml" => "python3-yaml".into(),
        "pybind11" => "pybind11-dev".into(),
        "poetry" => "python3-poetry-core".into(),
        _ => format!("python3-{name}"),
    }
}

/// The distribution that provides an importable backend module, for the modules whose
/// name differs from their distribution's.
pub fn dist_for_module(module: &str) -> &str {
    let top = module.split('.').next().unwrap_or(module);
    match top {
        "poetry" => "poetry-core",
        "pdm" => "pdm-backend",
        "mesonpy" => "meson-python",
        "sipbuild" => "sip",
        other => other,
    }
}

/// A ready environment: the interpreter to run hooks with.
pub struct BuildEnv {
    pub python: PathBuf,
    /// The venv's `bin/`, put first on PATH so that tools installed as build
    /// requirements (cython, cmake, ninja) are found by the backend.
    pub bin: Option<PathBuf>,
    /// Shared lock that keeps a concurrent run from rebuilding the venv under us.
    _lock: Option<File>,
    /// The venv was made (and the requirements installed) by this call.
    pub created: bool,
}

impl BuildEnv {
    /// The system interpreter as is (`--no-build-isolation`).
    pub fn system(python: &Path) -> BuildEnv {
        BuildEnv {
            python: python.to_owned(),
            bin: None,
            _lock: None,
            created: false,
        }
    }
}

/// Inputs of an isolated environment.
pub struct EnvRequest<'a> {
    pub python: &'a Path,
    pub python_identity: &'a str,
    pub requires: &'a [String],
    pub pip_index_args: &'a [String],
    pub cache_root: &'a Path,
    pub log: &'a Path,
    pub deadline: Instant,
    pub timeout: Duration,
}

/// Get the venv for this requirement set from the cache, or make it.
pub fn isolated(req: &EnvRequest) -> Result<BuildEnv> {
    let mut sorted: Vec<&str> = req.requires.iter().map(|s| s.trim()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut h = Sha256::new();
    h.update(b"py2deb build env v1\0");
    h.update(req.python_identity.as_bytes());
    for r in &sorted {
        h.update(b"\0r:");
        h.update(r.as_bytes());
    }
    for a in req.pip_index_args {
        h.update(b"\0i:");
        h.update(a.as_bytes());
    }
    let key = &hex::encode(h.finalize())[..32];
    let envs = req.cache_root.join("envs");
    std::fs::create_dir_all(&envs).with_context(|| format!("creating {}", envs.display()))?;
    let dir = envs.join(key);
    let lock_path = envs.join(format!("{key}.lock"));
    let lock = process::lock(&lock_path)?;
    let python = dir.join("bin").join("python");
    let fresh = std::fs::metadata(dir.join(READY))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < ENV_MAX_AGE);
    let created = !fresh;
    if created {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("removing stale build environment {}", dir.display()))?;
        }
        create(req, &dir, &python, &sorted)?;
        std::fs::write(dir.join(READY), sorted.join("\n"))?;
    }
    // Others may use the environment alongside us; only rebuilding it needs it alone.
    process::downgrade(&lock)?;
    Ok(BuildEnv {
        python,
        bin: Some(dir.join("bin")),
        _lock: Some(lock),
        created,
    })
}

fn create(req: &EnvRequest, dir: &Path, python: &Path, requires: &[&str]) -> Result<()> {
    let step = |cmd: &mut Command, what: &str| -> Result<()> {
        cmd.env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .env("PYTHONNOUSERSITE", "1")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PYTHONUNBUFFERED", "1");
        match process::run(cmd, req.log, req.deadline)? {
            Ended::Exited(s) if s.success() => Ok(()),
            Ended::Exited(s) => bail!(
                "{what} failed ({s}); last lines of the build log {}:\n{}",
                req.log.display(),
                process::tail(req.log, 20)
            ),
            Ended::TimedOut => bail!(
                "{what} did not finish within the build timeout of {}s (--build-timeout) and \
                 was stopped; last lines of the build log {}:\n{}",
                req.timeout.as_secs(),
                req.log.display(),
                process::tail(req.log, 20)
            ),
        }
    };
    check_venv_module(req)?;
    step(
        Command::new(req.python).args(["-m", "venv"]).arg(dir),
        "creating the build environment",
    )
    .map_err(|e| {
        if process::tail(req.log, 40).contains("ensurepip is not available") {
            venv_missing(req.python)
        } else {
            e
        }
    })?;
    // A venv of Python < 3.12 comes with the setuptools bundled in ensurepip. An
    // isolated build must see only what it asked for, as pip's own isolation does.
    step(
        Command::new(python).args(["-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"]),
        "removing the bundled setuptools from the build environment",
    )?;
    if !requires.is_empty() {
        let mut cmd = Command::new(python);
        cmd.args([
            "-m",
            "pip",
            "install",
            "--no-input",
            "--no-warn-script-location",
            "--progress-bar",
            "off",
        ])
        .args(req.pip_index_args)
        .args(requires);
        step(
            &mut cmd,
            &format!(
                "installing the build requirements ({}) into the build environment",
                requires.join(", ")
            ),
        )
        .map_err(|e| {
            e.context(
                "check the index options, or use --no-build-isolation with the requirements \
                 installed from Debian packages",
            )
        })?;
    }
    Ok(())
}

/// Debian splits `venv`'s pip bootstrap (`ensurepip`) into python3-venv; without it
/// `python3 -m venv` fails half-way, so check for it first.
fn check_venv_module(req: &EnvRequest) -> Result<()> {
    let mut cmd = Command::new(req.python);
    cmd.args(["-c", "import venv, ensurepip"]);
    match process::run(&mut cmd, req.log, req.deadline)? {
        Ended::Exited(s) if s.success() => Ok(()),
        _ => Err(venv_missing(req.python)),
    }
}

fn venv_missing(python: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{} cannot create virtual environments: the `venv`/`ensurepip` modules are missing. \
         On Debian and Ubuntu they are packaged separately: run `apt install python3-venv`, \
         or build with --no-build-isolation using Debian's packaged build backends",
        python.display()
    )
}

/// What `--no-build-isolation` found about one build requirement.
#[derive(Debug, Default)]
pub struct SystemCheck {
    /// Requirements the interpreter lacks, with the Debian package to install.
    pub missing: Vec<(String, String)>,
    /// Requirements present in another version than asked, with the installed
    /// version; the build may still work, Debian's versions often lag harmlessly.
    pub mismatched: Vec<(String, String)>,
}

/// Compare build requirements with what the system interpreter has installed, from
/// the hook runner's `_installed` answer.
pub fn check_system(requires: &[String], answer: &serde_json::Value) -> Result<SystemCheck> {
    let versions: BTreeMap<String, Option<String>> =
        serde_json::from_value(answer["versions"].clone()).context("hook runner answer")?;
    let markers: BTreeMap<String, String> =
        serde_json::from_value(answer["markers"].clone()).context("hook runner answer")?;
    let env = marker_env(&markers)?;
    let mut out = SystemCheck::default();
    for r in requires {
        let req = Requirement::<pep508_rs::VerbatimUrl>::from_str(r)
            .map_err(|e| anyhow::anyhow!("build requirement `{r}` is not valid PEP 508: {e}"))?;
        if !req.evaluate_markers(&env, &[]) {
            continue;
        }
        let name = req.name.to_string();
        match versions.get(&name).cloned().flatten() {
            None => out.missing.push((name.clone(), apt_package(&name))),
            Some(v) => {
                if let Some(VersionOrUrl::VersionSpecifier(spec)) = &req.version_or_url {
                    let ok = pep440_rs::Version::from_str(&v).is_ok_and(|v| spec.contains(&v));
                    if !ok {
                        out.mismatched.push((r.clone(), format!("{name} {v}")));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The names `check_system` will look up.
pub fn requirement_names(requires: &[String]) -> Vec<String> {
    requires
        .iter()
        .filter_map(|r| Requirement::<pep508_rs::VerbatimUrl>::from_str(r).ok())
        .map(|r| r.name.to_string())
        .collect()
}

fn marker_env(m: &BTreeMap<String, String>) -> Result<MarkerEnvironment> {
    let get = |k: &str| m.get(k).map(String::as_str).unwrap_or("");
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: get("implementation_name"),
        implementation_version: get("implementation_version"),
        os_name: get("os_name"),
        platform_machine: get("platform_machine"),
        platform_python_implementation: get("platform_python_implementation"),
        platform_release: get("platform_release"),
        platform_system: get("platform_system"),
        platform_version: get("platform_version"),
        python_full_version: get("python_full_version"),
        python_version: get("python_version"),
        sys_platform: get("sys_platform"),
    })
    .context("the interpreter reported unusable marker values")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_names() {
        assert_eq!(apt_package("setuptools"), "python3-setuptools");
        assert_eq!(apt_package("wheel"), "python3-wheel");
        assert_eq!(apt_package("hatchling"), "python3-hatchling");
        assert_eq!(apt_package("poetry-core"), "python3-poetry-core");
        assert_eq!(apt_package("flit_core"), "python3-flit-core");
        assert_eq!(apt_package("Cython"), "cython3");
        assert_eq!(dist_for_module("poetry.core.masonry.api"), "poetry-core");
        assert_eq!(dist_for_module("flit_core.buildapi"), "flit_core");
    }

    #[test]
    fn system_check() {
        let answer = serde_json::json!({
            "versions": {"setuptools": "66.1.1", "wheel": null, "flit_core": null},
            "markers": {
                "implementation_name": "cpython", "implementation_version": "3.11.2",
                "os_name": "posix", "platform_machine": "x86_64",
                "platform_python_implementation": "CPython", "platform_release": "",
                "platform_system": "Linux", "platform_version": "",
                "python_full_version": "3.11.2", "python_version": "3.11",
                "sys_platform": "linux"
            }
        });
        let reqs: Vec<String> = ["setuptools>=70", "wheel", "flit_core; python_version < '3'"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            requirement_names(&reqs),
            ["setuptools", "wheel", "flit-core"]
        );
        let c = check_system(&reqs, &answer).unwrap();
        assert_eq!(
            c.missing,
            [("wheel".to_string(), "python3-wheel".to_string())]
        );
        assert_eq!(c.mismatched.len(), 1, "{:?}", c.mismatched);
    }
}
