//! Building a wheel from a source distribution or a project directory through the
//! PEP 517 build-backend interface (with PEP 518 build requirements), for projects
//! that publish no usable wheel. Sdist file names follow PEP 625 (and the legacy
//! `{name}-{version}` spelling); archives are unpacked entry by entry with checks
//! ([`unpack`]), builds run in isolated cached venvs or on the system interpreter
//! ([`env`]), and built wheels are cached by sdist hash, interpreter and options.
//!
//! The build executes the project's own code (`setup.py`, the backend) with the
//! user's privileges; nothing here can sandbox that.
//!
//! Dependencies must be read from the built wheel's `METADATA`: many older sdists ship
//! a `PKG-INFO` without `Requires-Dist`, which only the build computes.

pub mod env;
pub mod process;
pub mod pyproject;
pub mod unpack;

use crate::inspect::wheel::Limits;
use crate::python::metadata::Metadata;
use crate::python::PackageName;
use crate::report::Reporter;
use anyhow::{bail, Context, Result};
use pep440_rs::Version;
use process::Ended;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

pub use process::kill_running_builds;

/// The hook runner, run by the build environment's interpreter.
const HOOK_RUNNER: &str = include_str!("pep517_hooks.py");

/// Lines of the build log quoted in error messages.
const TAIL_LINES: usize = 20;

/// How to build.
#[derive(Debug, Clone)]
pub struct SdistBuildOptions {
    /// Build in a fresh (cached) venv with the build requirements installed by pip;
    /// otherwise use the packages of `python` itself (`--no-build-isolation`).
    pub isolation: bool,
    /// The interpreter that makes the venv or runs the build (`/usr/bin/python3`).
    pub python: PathBuf,
    /// Index options given to pip in the isolated venv, e.g. `["--index-url", URL,
    /// "--extra-index-url", URL, "--find-links", DIR, "--no-index"]`.
    pub pip_index_args: Vec<String>,
    /// Limit for the whole build, environment creation included (`--build-timeout`).
    pub timeout: Duration,
    /// py2deb's cache directory; builds live in `<cache_dir>/sdist-v1/`.
    pub cache_dir: PathBuf,
    /// Caps for unpacking the sdist.
    pub limits: Limits,
    /// The target is this machine. Otherwise only a pure `py3-none-any` result is
    /// accepted, since a compiled wheel is built for the host's Python and architecture.
    pub target_is_host: bool,
}

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceTree {
    /// A `.tar.gz` or `.zip` source distribution.
    Sdist(PathBuf),
    /// A project directory with `pyproject.toml` or `setup.py`, built in place.
    Dir(PathBuf),
}

impl SourceTree {
    /// What a command-line SPEC names, if it is a local sdist or project directory.
    pub fn from_spec(spec: &str) -> Option<SourceTree> {
        let p = Path::new(spec);
        if p.is_dir() && (p.join("pyproject.toml").is_file() || p.join("setup.py").is_file()) {
            return Some(SourceTree::Dir(p.to_owned()));
        }
        let name = p.file_name()?.to_str()?;
        unpack::Format::of(name).map(|_| SourceTree::Sdist(p.to_owned()))
    }
}

/// A wheel built from source.
#[derive(Debug, Clone)]
pub struct BuiltWheel {
    /// The built `.whl`, in the cache.
    pub path: PathBuf,
    /// The build log (kept next to the wheel).
    pub log: PathBuf,
    /// A `py3-none-any`-style wheel: fits any target.
    pub pure: bool,
    /// Taken from the cache without running a build.
    pub cached: bool,
}

/// Split an sdist file name into `(name, version)` as written: `foo_bar-1.0.tar.gz`
/// (PEP 625) or the legacy `foo-bar-1.0.tar.gz` / `.zip`. The name ends at the first
/// `-` after which a valid PEP 440 version follows, so `foo-1.0-1.tar.gz` is `foo`
/// version `1.0-1` (a post-release). None if it is no sdist name.
pub fn is_sdist_filename(name: &str) -> Option<(String, String)> {
    let lower = name.to_ascii_lowercase();
    let stem_len = [".tar.gz", ".zip"]
        .iter()
        .find(|ext| lower.ends_with(*ext))
        .map(|ext| name.len() - ext.len())?;
    let stem = &name[..stem_len];
    stem.match_indices('-').find_map(|(i, _)| {
        let (project, version) = (&stem[..i], &stem[i + 1..]);
        (PackageName::is_valid(project) && Version::from_str(version).is_ok())
            .then(|| (project.to_owned(), version.to_owned()))
    })
}

/// `(pure, name, version)` from a wheel file name (PEP 427).
fn wheel_facts(file_name: &str) -> Option<(bool, String, String)> {
    let stem = file_name.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() != 5 && parts.len() != 6 {
        return None;
    }
    let n = parts.len();
    let (py, abi, plat) = (parts[n - 3], parts[n - 2], parts[n - 1]);
    let pure = abi == "none" && plat == "any" && py.split('.').any(|t| t.starts_with("py3"));
    Some((pure, parts[0].to_owned(), parts[1].to_owned()))
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(h.finalize()))
}

/// Build (or take from the cache) the wheel of `src`. `sha256` is the hash the index
/// published for the sdist; a mismatch is an error. The caller reads dependencies
/// from the returned wheel, never from the sdist's `PKG-INFO`.
pub fn build_wheel(
    src: &SourceTree,
    sha256: Option<&str>,
    opts: &SdistBuildOptions,
    reporter: &dyn Reporter,
) -> Result<BuiltWheel> {
    let started = Instant::now();
    let deadline = started + opts.timeout;
    let python_identity = env::interpreter_identity(&opts.python)?;
    let root = opts.cache_dir.join(crate::index::fetch::SDIST_BUCKET);

    // What the result depends on: the exact input, the interpreter and the options.
    let mut key = Sha256::new();
    key.update(b"py2deb sdist wheel v1\0");
    let (label, expected) = match src {
        SourceTree::Sdist(path) => {
            let label = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            if unpack::Format::of(&label).is_none() {
                bail!(
                    "`{}` is not a source distribution: expected `<name>-<version>.tar.gz` \
                     or `.zip`",
                    path.display()
                );
            }
            let actual = sha256_file(path)?;
            if let Some(want) = sha256 {
                if !want.eq_ignore_ascii_case(&actual) {
                    bail!(
                        "`{}` has sha256 {actual}, but the index published {want}: the \
                         download is corrupt or was tampered with; delete it and try again",
                        path.display()
                    );
                }
            }
            key.update(b"sdist:");
            key.update(actual.as_bytes());
            (label.clone(), is_sdist_filename(&label))
        }
        SourceTree::Dir(dir) => {
            // A project directory changes under the user's hands; it is always rebuilt,
            // and the key only gives it a stable place for its log and wheel.
            let dir = std::fs::canonicalize(dir)
                .with_context(|| format!("project directory {} does not exist", dir.display()))?;
            key.update(b"dir:");
            key.update(dir.as_os_str().as_encoded_bytes());
            (dir.display().to_string(), None)
        }
    };
    key.update(b"\0python:");
    key.update(python_identity.as_bytes());
    key.update(if opts.isolation {
        &b"\0isolated"[..]
    } else {
        &b"\0system"[..]
    });
    for a in &opts.pip_index_args {
        key.update(b"\0i:");
        key.update(a.as_bytes());
    }
    let key = hex::encode(key.finalize())[..32].to_owned();

    let builds = root.join("builds");
    std::fs::create_dir_all(&builds)
        .with_context(|| format!("creating the build cache {}", builds.display()))?;
    let out_dir = builds.join(&key);
    let _lock = process::lock(&builds.join(format!("{key}.lock")))?;
    let log = out_dir.join("build.log");

    if matches!(src, SourceTree::Sdist(_)) {
        if let Some(wheel) = cached_wheel(&out_dir) {
            let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
            let pure = wheel_facts(&name).is_some_and(|f| f.0);
            reporter.info(&format!("{label}: using the wheel built earlier, {name}"));
            check_target(&label, &name, pure, opts)?;
            return Ok(BuiltWheel {
                path: wheel,
                log,
                pure,
                cached: true,
            });
        }
    }
    if out_dir.exists() {
        std::fs::remove_dir_all(&out_dir)
            .with_context(|| format!("clearing {}", out_dir.display()))?;
    }
    std::fs::create_dir_all(&out_dir)?;

    if process::running_as_root() {
        reporter.warn(&format!(
            "building {label} runs the project's own build code as root; building needs no \
             privileges, so run py2deb as an unprivileged user"
        ));
    }
    reporter.info(&format!(
        "{label}: building a wheel from source (this runs the project's build code); log: {}",
        log.display()
    ));

    let work = process::Scratch::new("py2deb-sdist-")?;
    let (tree, source_date) = match src {
        SourceTree::Sdist(path) => {
            let dest = work.path().join("src");
            std::fs::create_dir(&dest)?;
            let u = unpack::unpack(path, &dest, &opts.limits)?;
            (u.root, u.newest_mtime)
        }
        SourceTree::Dir(dir) => (std::fs::canonicalize(dir)?, None),
    };
    let system = pyproject::read(&tree)?;
    let runner = work.path().join("pep517_hooks.py");
    std::fs::write(&runner, HOOK_RUNNER)?;

    let b = Builder {
        label: &label,
        tree: &tree,
        work: work.path(),
        runner: &runner,
        log: &log,
        deadline,
        opts,
        system: &system,
        // Zip cannot store dates before 1980; wheel builders honour this variable.
        source_date: source_date.map(|t| t.max(315_532_800)),
    };

    let static_env = b.environment(&system.requires, reporter)?;
    let dynamic = match b.hook(&static_env, "get_requires_for_build_wheel", json!({}))? {
        Hook::Missing => Vec::new(),
        Hook::Value(v) => serde_json::from_value::<Vec<String>>(v).map_err(|_| {
            anyhow::anyhow!(
                "{label}: the backend's get_requires_for_build_wheel did not return a list \
                 of strings"
            )
        })?,
    };
    for r in &dynamic {
        pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(r).map_err(|e| {
            anyhow::anyhow!("{label}: the backend asked for `{r}`, not a PEP 508 requirement: {e}")
        })?;
    }
    let extra: Vec<String> = dynamic
        .into_iter()
        .filter(|r| !system.requires.contains(r))
        .collect();
    let build_env = if extra.is_empty() {
        static_env
    } else {
        let mut all = system.requires.clone();
        all.extend(extra.iter().cloned());
        if opts.isolation {
            b.environment(&all, reporter)?
        } else {
            b.environment(&extra, reporter)?;
            static_env
        }
    };

    // The metadata hook is cheap next to a compile: a wrong project in the sdist is
    // reported before the build, and the backend reuses the metadata it prepared.
    let metadata_dir = work.path().join("metadata");
    std::fs::create_dir(&metadata_dir)?;
    let metadata_kwargs = json!({"metadata_directory": metadata_dir, "config_settings": null});
    let mut build_kwargs =
        json!({"wheel_directory": work.path().join("wheel"), "config_settings": null});
    std::fs::create_dir(work.path().join("wheel"))?;
    if let Hook::Value(v) = b.hook(
        &build_env,
        "prepare_metadata_for_build_wheel",
        metadata_kwargs,
    )? {
        let dist_info = v.as_str().unwrap_or_default().to_owned();
        let dir = metadata_dir.join(&dist_info);
        let text = std::fs::read_to_string(dir.join("METADATA")).with_context(|| {
            format!("{label}: the backend's prepare_metadata_for_build_wheel wrote no METADATA")
        })?;
        let meta = Metadata::parse(&text).with_context(|| format!("{label}: prepared METADATA"))?;
        check_identity(&label, expected.as_ref(), &meta.name, &meta.version)?;
        build_kwargs["metadata_directory"] = json!(dir);
    }
    let built = match b.hook(&build_env, "build_wheel", build_kwargs)? {
        Hook::Value(Value::String(s)) => s,
        _ => bail!("{label}: the backend's build_wheel did not return a file name"),
    };
    let built_path = work.path().join("wheel").join(&built);
    let Some((pure, name, version)) = wheel_facts(&built) else {
        bail!("{label}: the backend built `{built}`, which is not a wheel file name");
    };
    if !built_path.is_file() || built.contains('/') {
        bail!("{label}: the backend said it built `{built}`, but there is no such file");
    }
    if let Ok(v) = Version::from_str(&version) {
        check_identity(&label, expected.as_ref(), &name, &v)?;
    }
    let final_path = out_dir.join(&built);
    std::fs::copy(&built_path, &final_path)
        .with_context(|| format!("storing the wheel in {}", out_dir.display()))?;
    if matches!(src, SourceTree::Sdist(_)) {
        // Written last: the cache entry counts only once the wheel is complete.
        std::fs::write(out_dir.join(DONE), &built)?;
    }
    reporter.info(&format!(
        "{label}: built {built} in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    check_target(&label, &built, pure, opts)?;
    Ok(BuiltWheel {
        path: final_path,
        log,
        pure,
        cached: false,
    })
}

/// Marks a finished cache entry; holds the wheel's file name.
const DONE: &str = ".py2deb-done";

fn cached_wheel(out_dir: &Path) -> Option<PathBuf> {
    let name = std::fs::read_to_string(out_dir.join(DONE)).ok()?;
    let path = out_dir.join(name.trim());
    path.is_file().then_some(path)
}

/// A compiled wheel is for this machine only.
fn check_target(label: &str, wheel: &str, pure: bool, opts: &SdistBuildOptions) -> Result<()> {
    if !pure && !opts.target_is_host {
        bail!(
            "{label} builds the compiled wheel {wheel}, which only fits this machine's Python \
             and architecture, not the requested target; build it with `--target host`, or \
             run py2deb on a machine of the target release"
        );
    }
    Ok(())
}

/// The sdist must contain the project its file name announces.
fn check_identity(
    label: &str,
    expected: Option<&(String, String)>,
    name: &str,
    version: &Version,
) -> Result<()> {
    let Some((want_name, want_version)) = expected else {
        return Ok(());
    };
    let version_ok = Version::from_str(want_version).is_ok_and(|v| &v == version);
    // Both are parsed, not only normalized: a name with a stray leading or trailing
    // separator is no project's name, so it is refused rather than matched.
    let same_name = match (
        want_name.parse::<PackageName>(),
        name.parse::<PackageName>(),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same_name || !version_ok {
        bail!(
            "{label} builds {name} {version}, not {want_name} {want_version} as its file name \
             says; the sdist is mislabelled, so it is refused"
        );
    }
    Ok(())
}

/// The answer of one hook call.
enum Hook {
    Value(Value),
    /// An optional hook the backend does not define.
    Missing,
}

/// State of one build.
struct Builder<'a> {
    label: &'a str,
    tree: &'a Path,
    work: &'a Path,
    runner: &'a Path,
    log: &'a Path,
    deadline: Instant,
    opts: &'a SdistBuildOptions,
    system: &'a pyproject::BuildSystem,
    source_date: Option<u64>,
}

impl Builder<'_> {
    /// An environment that provides `requires`: a cached venv, or the system
    /// interpreter once it is checked to have them.
    fn environment(&self, requires: &[String], reporter: &dyn Reporter) -> Result<env::BuildEnv> {
        if self.opts.isolation {
            let e = env::isolated(&env::EnvRequest {
                python: &self.opts.python,
                python_identity: &env::interpreter_identity(&self.opts.python)?,
                requires,
                pip_index_args: &self.opts.pip_index_args,
                cache_root: &self.opts.cache_dir.join(crate::index::fetch::SDIST_BUCKET),
                log: self.log,
                deadline: self.deadline,
                timeout: self.opts.timeout,
            })
            .with_context(|| format!("{}: preparing the build environment", self.label))?;
            reporter.info(&format!(
                "{}: {} build environment for {}",
                self.label,
                if e.created {
                    "created a"
                } else {
                    "reusing the"
                },
                if requires.is_empty() {
                    "no requirements".to_owned()
                } else {
                    requires.join(", ")
                }
            ));
            return Ok(e);
        }
        let system = env::BuildEnv::system(&self.opts.python);
        if requires.is_empty() {
            return Ok(system);
        }
        let Hook::Value(answer) = self.run(
            &system,
            json!({"hook": "_installed", "names": env::requirement_names(requires)}),
        )?
        else {
            bail!("{}: the hook runner gave no answer", self.label);
        };
        let check = env::check_system(requires, &answer)?;
        for (wanted, installed) in &check.mismatched {
            reporter.warn(&format!(
                "{}: the build asks for `{wanted}` but {} has {installed}; the build may fail \
                 (drop --no-build-isolation to build with the requested version)",
                self.label,
                self.opts.python.display()
            ));
        }
        if !check.missing.is_empty() {
            let names: Vec<&str> = check.missing.iter().map(|m| m.0.as_str()).collect();
            let pkgs: Vec<&str> = check.missing.iter().map(|m| m.1.as_str()).collect();
            bail!(
                "{}: building without isolation needs {}, which {} does not have; install \
                 them with `apt install {}`, or drop --no-build-isolation to let py2deb \
                 install them into a temporary environment",
                self.label,
                names.join(", "),
                self.opts.python.display(),
                pkgs.join(" ")
            );
        }
        Ok(system)
    }

    /// Call one backend hook in a fresh interpreter.
    fn hook(&self, env: &env::BuildEnv, hook: &str, kwargs: Value) -> Result<Hook> {
        let backend_path: Vec<&Path> = self
            .system
            .backend_path
            .iter()
            .map(PathBuf::as_path)
            .collect();
        self.run(
            env,
            json!({
                "hook": hook,
                "backend": self.system.backend,
                "backend_path": backend_path,
                "kwargs": kwargs,
            }),
        )
        .with_context(|| format!("{}: {hook} failed", self.label))
    }

    fn run(&self, env: &env::BuildEnv, request: Value) -> Result<Hook> {
        let request_path = self.work.join("hook-request.json");
        let result_path = self.work.join("hook-result.json");
        std::fs::write(&request_path, serde_json::to_vec(&request)?)?;
        let _ = std::fs::remove_file(&result_path);
        let mut cmd = Command::new(&env.python);
        cmd.arg(self.runner)
            .arg(&request_path)
            .arg(&result_path)
            .current_dir(self.tree);
        if let Some(bin) = &env.bin {
            // What pip's build isolation does: the venv's tools first, no user site,
            // no outside PYTHONPATH leaking in.
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![bin.clone()];
            dirs.extend(std::env::split_paths(&path));
            cmd.env("PATH", std::env::join_paths(dirs)?)
                .env("PYTHONNOUSERSITE", "1")
                .env_remove("PYTHONPATH")
                .env_remove("PYTHONHOME");
        }
        // Unbuffered, so that a build killed at the timeout still leaves its last words
        // in the log.
        cmd.env("PYTHONUNBUFFERED", "1");
        if std::env::var_os("SOURCE_DATE_EPOCH").is_none() {
            if let Some(t) = self.source_date {
                cmd.env("SOURCE_DATE_EPOCH", t.to_string());
            }
        }
        let ended = process::run(&mut cmd, self.log, self.deadline)?;
        let tail = || process::tail(self.log, TAIL_LINES);
        let status = match ended {
            Ended::TimedOut => bail!(
                "the build did not finish within {}s (--build-timeout) and was stopped; \
                 raise --build-timeout if it is just slow. Last lines of the build log {}:\n{}",
                self.opts.timeout.as_secs(),
                self.log.display(),
                tail()
            ),
            Ended::Exited(s) => s,
        };
        let result: Value = match std::fs::read(&result_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).context("reading the hook's result")?,
            Err(_) => bail!(
                "the hook runner stopped without a result ({status}). Last lines of the build \
                 log {}:\n{}",
                self.log.display(),
                tail()
            ),
        };
        match result["status"].as_str() {
            Some("ok") => Ok(Hook::Value(result["value"].clone())),
            Some("missing-hook") => Ok(Hook::Missing),
            Some("backend-unavailable") => {
                let module = result["module"]
                    .as_str()
                    .unwrap_or(self.system.backend.as_str());
                let dist = env::dist_for_module(module);
                if self.opts.isolation {
                    bail!(
                        "the build backend `{}` cannot be imported (module `{module}` is \
                         missing) although {} was installed; the project's \
                         build-system.requires lacks it. Build log: {}",
                        self.system.backend,
                        self.system.requires.join(", "),
                        self.log.display()
                    )
                } else {
                    bail!(
                        "the build backend `{}` cannot be imported by {}: module `{module}` is \
                         missing. Install it with `apt install {}`, or drop \
                         --no-build-isolation. Build log: {}",
                        self.system.backend,
                        env.python.display(),
                        env::apt_package(dist),
                        self.log.display()
                    )
                }
            }
            _ => bail!(
                "{}. The project's own build code failed; for compiled projects a missing \
                 compiler or library is the usual cause (`apt install build-essential \
                 python3-dev` and the library's -dev package). Last lines of the build log \
                 {}:\n{}",
                result["message"].as_str().unwrap_or("the hook failed"),
                self.log.display(),
                tail()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdist_names() {
        let p = |s: &str| is_sdist_filename(s).map(|(n, v)| format!("{n} {v}"));
        assert_eq!(p("foo-1.0.tar.gz").as_deref(), Some("foo 1.0"));
        assert_eq!(
            p("foo_bar-2.0rc1.tar.gz").as_deref(),
            Some("foo_bar 2.0rc1")
        );
        assert_eq!(
            p("python-dateutil-2.8.2.tar.gz").as_deref(),
            Some("python-dateutil 2.8.2")
        );
        assert_eq!(
            p("Foo.Bar-1.0.post1.zip").as_deref(),
            Some("Foo.Bar 1.0.post1")
        );
        assert_eq!(p("foo-1.0-1.tar.gz").as_deref(), Some("foo 1.0-1"));
        assert_eq!(
            p("stringcase-1.2.0.tar.gz").as_deref(),
            Some("stringcase 1.2.0")
        );
        assert_eq!(p("foo-1.0-py3-none-any.whl"), None);
        assert_eq!(p("foo.tar.gz"), None);
        assert_eq!(p("-1.0.tar.gz"), None);
        assert_eq!(p("foo-bar.tar.gz"), None);
        assert_eq!(p("foo-1.0.tar.bz2"), None);
    }

    #[test]
    fn wheel_names() {
        assert_eq!(
            wheel_facts("foo-1.0-py3-none-any.whl"),
            Some((true, "foo".into(), "1.0".into()))
        );
        assert!(wheel_facts("foo-1.0-py2.py3-none-any.whl").unwrap().0);
        assert!(
            !wheel_facts("foo-1.0-cp311-cp311-linux_x86_64.whl")
                .unwrap()
                .0
        );
        assert!(!wheel_facts("foo-1.0-cp311-none-any.whl").unwrap().0);
        assert!(wheel_facts("foo-1.0-1-py3-none-any.whl").unwrap().0);
        assert_eq!(wheel_facts("foo-1.0.tar.gz"), None);
    }

    #[test]
    fn identity_check() {
        let want = ("Foo_Bar".to_string(), "1.0".to_string());
        let v = Version::from_str("1.0.0").unwrap();
        check_identity("x", Some(&want), "foo-bar", &v).unwrap();
        let e = check_identity("x", Some(&want), "other", &v).unwrap_err();
        assert!(e.to_string().contains("mislabelled"), "{e}");
        check_identity("x", Some(&want), "foo.bar", &v).unwrap();
        assert!(check_identity("x", Some(&want), "foo-bar_", &v).is_err());
    }
}
