//! The `[build-system]` table of `pyproject.toml` (PEP 518 `requires`, PEP 517
//! `build-backend` and `backend-path`), with the defaults both PEPs prescribe for
//! projects that have no such file or table: setuptools' legacy backend.

use anyhow::{bail, Context, Result};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

/// The backend of projects that predate PEP 517: runs `setup.py` the old way.
pub const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";

/// What PEP 518 says to assume when `pyproject.toml` or its `[build-system]` is absent.
pub const LEGACY_REQUIRES: &[&str] = &["setuptools>=40.8.0", "wheel"];

/// How to build a source tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSystem {
    /// PEP 508 requirements that must be installed before the backend is imported.
    pub requires: Vec<String>,
    /// `module.path:object.path` of the backend.
    pub backend: String,
    /// In-tree directories put first on `sys.path` (absolute, checked to be in the tree).
    pub backend_path: Vec<PathBuf>,
    /// The defaults were used: no `pyproject.toml` or no `[build-system]` table.
    pub legacy: bool,
}

impl BuildSystem {
    fn legacy() -> BuildSystem {
        BuildSystem {
            requires: LEGACY_REQUIRES.iter().map(|s| s.to_string()).collect(),
            backend: LEGACY_BACKEND.to_owned(),
            backend_path: Vec::new(),
            legacy: true,
        }
    }
}

/// Read the build system of the source tree at `root`.
pub fn read(root: &Path) -> Result<BuildSystem> {
    let file = root.join("pyproject.toml");
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !root.join("setup.py").is_file() {
                bail!(
                    "{} has neither pyproject.toml nor setup.py, so it is not a Python project \
                     py2deb can build",
                    root.display()
                );
            }
            return Ok(BuildSystem::legacy());
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    parse(&text, root).with_context(|| format!("in {}", file.display()))
}

/// Parse `pyproject.toml` text; `root` anchors `backend-path`.
pub fn parse(text: &str, root: &Path) -> Result<BuildSystem> {
    let doc: toml_edit::Document<&str> =
        toml_edit::Document::parse(text).map_err(|e| anyhow::anyhow!("invalid TOML: {e}"))?;
    let Some(table) = doc.get("build-system") else {
        return Ok(BuildSystem::legacy());
    };
    let Some(table) = table.as_table_like() else {
        bail!("`build-system` must be a table");
    };
    // PEP 518: a [build-system] table without `requires` is an error, not a default.
    let Some(requires) = table.get("requires") else {
        bail!(
            "[build-system] has no `requires`; add the backend's package, e.g. \
             `requires = [\"setuptools>=61\"]`"
        );
    };
    let requires = string_array(requires, "build-system.requires")?;
    for r in &requires {
        // Checked here so that a hostile string can never reach pip as an option.
        pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(r).map_err(|e| {
            anyhow::anyhow!("build-system.requires: `{r}` is not a PEP 508 requirement: {e}")
        })?;
    }
    let backend = match table.get("build-backend") {
        None => LEGACY_BACKEND.to_owned(),
        Some(item) => {
            let Some(s) = item.as_str() else {
                bail!("build-system.build-backend must be a string like `setuptools.build_meta`");
            };
            check_backend(s)?;
            s.trim().to_owned()
        }
    };
    let backend_path = match table.get("backend-path") {
        None => Vec::new(),
        Some(item) => string_array(item, "build-system.backend-path")?
            .iter()
            .map(|p| in_tree(root, p))
            .collect::<Result<_>>()?,
    };
    Ok(BuildSystem {
        requires,
        backend,
        backend_path,
        legacy: false,
    })
}

fn string_array(item: &toml_edit::Item, key: &str) -> Result<Vec<String>> {
    let Some(array) = item.as_array() else {
        bail!("{key} must be an array of strings");
    };
    array
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("{key} must be an array of strings, found `{v:?}`"))
        })
        .collect()
}

/// `module.path` or `module.path:object.path`, Python identifiers only.
fn check_backend(spec: &str) -> Result<()> {
    let ident = |s: &str| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    };
    let dotted = |s: &str| s.split('.').all(ident);
    let spec = spec.trim();
    let ok = match spec.split_once(':') {
        None => dotted(spec),
        Some((module, object)) => dotted(module.trim()) && dotted(object.trim()),
    };
    if !ok {
        bail!(
            "build-system.build-backend `{spec}` is not of the form `module.path` or \
             `module.path:object`"
        );
    }
    Ok(())
}

/// PEP 517: backend-path entries are relative to the project root and must stay in it.
fn in_tree(root: &Path, entry: &str) -> Result<PathBuf> {
    let p = Path::new(entry);
    let mut depth = 0i32;
    for c in p.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth -= 1,
            Component::RootDir | Component::Prefix(_) => depth = -1,
        }
        if depth < 0 {
            bail!(
                "build-system.backend-path entry `{entry}` points outside the project; \
                 PEP 517 only allows directories inside the source tree"
            );
        }
    }
    Ok(root.join(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_tables() {
        let root = Path::new("/src/p");
        let b = parse("[project]\nname='x'\n", root).unwrap();
        assert!(b.legacy);
        assert_eq!(b.backend, LEGACY_BACKEND);
        assert_eq!(b.requires, ["setuptools>=40.8.0", "wheel"]);

        let b = parse(
            "[build-system]\nrequires=['hatchling']\nbuild-backend='hatchling.build'\n",
            root,
        )
        .unwrap();
        assert!(!b.legacy);
        assert_eq!(b.backend, "hatchling.build");
        assert_eq!(b.requires, ["hatchling"]);

        let b = parse("[build-system]\nrequires=['setuptools']\n", root).unwrap();
        assert_eq!(b.backend, LEGACY_BACKEND);

        let b = parse(
            "[build-system]\nrequires=[]\nbuild-backend='be:api'\nbackend-path=['_build']\n",
            root,
        )
        .unwrap();
        assert_eq!(b.backend_path, [PathBuf::from("/src/p/_build")]);
    }

    #[test]
    fn refusals() {
        let root = Path::new("/src/p");
        let e = |t: &str| parse(t, root).unwrap_err().to_string();
        assert!(e("[build-system]\nbuild-backend='x'\n").contains("no `requires`"));
        assert!(e("[build-system]\nrequires=['--index-url=http://evil']\n")
            .contains("not a PEP 508 requirement"));
        assert!(
            e("[build-system]\nrequires=[]\nbuild-backend='x; import os'\n")
                .contains("not of the form")
        );
        assert!(
            e("[build-system]\nrequires=[]\nbuild-backend='x'\nbackend-path=['../up']\n")
                .contains("outside the project")
        );
        assert!(
            e("[build-system]\nrequires=[]\nbuild-backend='x'\nbackend-path=['/abs']\n")
                .contains("outside the project")
        );
        assert!(e("[build-system\n").contains("invalid TOML"));
    }
}
