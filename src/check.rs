//! `--check`: after a build, import every top-level module of each built package in a
//! throw-away copy of what the packages would install, beside the host's installed
//! distribution packages, with the network cut off, so metadata that under-declares its
//! requirements shows up before the package reaches a machine.

use crate::pipeline::Built;
use crate::python::PackageName;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One module imported.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportCheck {
    pub package: String,
    pub module: String,
    /// The error's last line when the import failed.
    pub error: Option<String>,
    /// The override that would fix a missing module, when one can be named.
    pub hint: Option<String>,
}

/// What `--check` found, and whether the network could be cut off for it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub imports: Vec<ImportCheck>,
    pub network_isolated: bool,
}

impl CheckReport {
    pub fn failures(&self) -> impl Iterator<Item = &ImportCheck> {
        self.imports.iter().filter(|c| c.error.is_some())
    }
}

const DIST_PACKAGES: &str = "usr/lib/python3/dist-packages";

/// Unpack `built` into a scratch root and import each package's top-level modules with
/// `python` (the host's `/usr/bin/python3`), every unpacked `dist-packages` directory ahead
/// of the system's, and a package's private directory (`/usr/share/PKG`, `/usr/lib/PKG`)
/// ahead of those for its own modules, as its program wrappers arrange.
pub fn check_imports(built: &[Built], python: &Path, scratch: &Path) -> Result<CheckReport> {
    let root = scratch.join("root");
    std::fs::create_dir_all(&root)?;
    for b in built {
        let o = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&b.path)
            .arg(&root)
            .output()
            .context("running dpkg-deb -x (install dpkg)")?;
        if !o.status.success() {
            bail!(
                "dpkg-deb -x {} failed: {}",
                b.path.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
    }
    let isolated = unshare_works();
    let public = root.join(DIST_PACKAGES);
    let mut imports = Vec::new();
    for b in built {
        let listing = package_files(&b.path)?;
        let private = listing
            .iter()
            .filter_map(|p| {
                ["usr/share/", "usr/lib/"].iter().find_map(|prefix| {
                    let rest = p.strip_prefix(prefix)?;
                    let dir = rest.split('/').next()?;
                    (dir == b.package).then(|| root.join(prefix).join(dir))
                })
            })
            .next();
        let mut modules = top_level_modules(&listing, DIST_PACKAGES);
        if let Some(dir) = &private {
            let prefix = dir
                .strip_prefix(&root)
                .unwrap_or(dir)
                .to_string_lossy()
                .into_owned();
            modules.extend(top_level_modules(&listing, &prefix));
        }
        modules.sort();
        modules.dedup();
        for module in modules {
            let mut path: Vec<PathBuf> = private.iter().cloned().collect();
            path.push(public.clone());
            let error = import(python, &path, &module, isolated)?;
            let hint = error.as_deref().and_then(|e| hint_for(&b.project, e));
            imports.push(ImportCheck {
                package: b.package.clone(),
                module,
                error,
                hint,
            });
        }
    }
    Ok(CheckReport {
        imports,
        network_isolated: isolated,
    })
}

/// The files of a `.deb`, relative (`usr/lib/…`), from its data member.
fn package_files(deb: &Path) -> Result<Vec<String>> {
    let o = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .output()
        .context("running dpkg-deb --fsys-tarfile")?;
    if !o.status.success() {
        bail!("dpkg-deb --fsys-tarfile {} failed", deb.display());
    }
    let mut archive = tar::Archive::new(std::io::Cursor::new(o.stdout));
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let p = entry.path()?.to_string_lossy().into_owned();
        out.push(p.trim_start_matches("./").to_owned());
    }
    Ok(out)
}

/// Importable names directly under `dir`: packages, modules and extension modules.
fn top_level_modules(files: &[String], dir: &str) -> Vec<String> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let mut out: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (first, nested) = match rest.split_once('/') {
                Some((d, more)) => (d, !more.is_empty()),
                None => (rest, false),
            };
            if first.ends_with(".dist-info")
                || first.ends_with(".egg-info")
                || first == "__pycache__"
            {
                return None;
            }
            let name = if nested {
                first
            } else {
                first
                    .split('.')
                    .next()
                    .filter(|_| first.ends_with(".py") || first.ends_with(".so"))?
            };
            let valid = !name.is_empty()
                && name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| name.to_owned())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn unshare_works() -> bool {
    Command::new("unshare")
        .args(["-rn", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Import `module` with `path` ahead of the system's; `None` on success, else the error's
/// last line.
fn import(python: &Path, path: &[PathBuf], module: &str, isolated: bool) -> Result<Option<String>> {
    let mut cmd = if isolated {
        let mut c = Command::new("unshare");
        c.arg("-rn").arg(python);
        c
    } else {
        Command::new(python)
    };
    // -I: no user site, no environment, no current directory on the path.
    cmd.arg("-I").arg("-c").arg(
        "import importlib, sys\n\
         sys.path[:0] = sys.argv[2:]\n\
         importlib.import_module(sys.argv[1])\n",
    );
    cmd.arg(module).args(path);
    let o = cmd
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if o.status.success() {
        return Ok(None);
    }
    let err = String::from_utf8_lossy(&o.stderr);
    Ok(Some(
        err.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed without a message")
            .trim()
            .to_owned(),
    ))
}

/// `ModuleNotFoundError: No module named 'botocore'` → the override that adds it.
fn hint_for(project: &str, error: &str) -> Option<String> {
    let missing = error
        .strip_prefix("ModuleNotFoundError: No module named '")?
        .split(['\'', '.'])
        .next()?;
    Some(format!(
        "if {project} needs `{missing}` (a project of that name or the one providing it), add to py2deb.toml:\n  [project.\"{}\"]\n  requires = [\"{}\"]",
        PackageName::normalize(project),
        missing.replace('_', "-")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_modules_of_a_listing() {
        let files: Vec<String> = [
            "usr/lib/python3/dist-packages/foo/__init__.py",
            "usr/lib/python3/dist-packages/foo/sub.py",
            "usr/lib/python3/dist-packages/bar.py",
            "usr/lib/python3/dist-packages/_speed.cpython-311-x86_64-linux-gnu.so",
            "usr/lib/python3/dist-packages/foo-1.0.dist-info/METADATA",
            "usr/lib/python3/dist-packages/nspkg-1.0-nspkg.pth",
            "usr/share/doc/python3-foo/copyright",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            top_level_modules(&files, DIST_PACKAGES),
            ["_speed", "bar", "foo"]
        );
    }

    #[test]
    fn missing_modules_name_the_override() {
        let h = hint_for(
            "mypy-boto3-s3",
            "ModuleNotFoundError: No module named 'botocore.client'",
        )
        .unwrap();
        assert!(h.contains("[project.\"mypy-boto3-s3\"]"), "{h}");
        assert!(h.contains("requires = [\"botocore\"]"), "{h}");
        assert!(hint_for("x", "ImportError: cannot import name 'y'").is_none());
    }
}
