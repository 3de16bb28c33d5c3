//! What the user asked to build (`py2deb build SPEC`): a PEP 508 requirement to resolve
//! on the index, a local wheel, or a local sdist or project directory.

use crate::inspect::sdist;
use anyhow::{bail, Result};
use pep508_rs::{Requirement, VersionOrUrl};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// What the user asked to build: a requirement to resolve on the index, or a wheel file.
#[derive(Debug, Clone)]
pub enum Spec {
    Requirement(Requirement),
    Wheel(PathBuf),
    /// A local sdist or project directory, built into a wheel first (PEP 517).
    Source(sdist::SourceTree),
}

impl FromStr for Spec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Spec> {
        if s.ends_with(".whl") {
            let p = PathBuf::from(s);
            if !p.is_file() {
                bail!("wheel file `{s}` does not exist");
            }
            return Ok(Spec::Wheel(p));
        }
        if let Some(tree) = sdist::SourceTree::from_spec(s) {
            if let sdist::SourceTree::Sdist(p) = &tree {
                if !p.is_file() {
                    bail!("source distribution `{s}` does not exist");
                }
            }
            return Ok(Spec::Source(tree));
        }
        if Path::new(s).is_dir() {
            bail!("`{s}` is a directory without pyproject.toml or setup.py; give a project directory, an sdist, a wheel or a project name");
        }
        let req = Requirement::from_str(s).map_err(|e| {
            anyhow::anyhow!("`{s}` is not a project name, a PEP 508 requirement (`name==1.0`, `name>=2,<3`) or a `.whl` file: {e}")
        })?;
        if !req.marker.is_true() {
            bail!(
                "`{s}`: environment markers (`; ...`) make no sense on the command line; drop them"
            );
        }
        if let Some(VersionOrUrl::Url(_)) = req.version_or_url {
            bail!("`{s}`: direct URL requirements are not supported; download the wheel and give its path");
        }
        Ok(Spec::Requirement(req))
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::Requirement(r) => write!(f, "{r}"),
            Spec::Wheel(p) => write!(f, "{}", p.display()),
            Spec::Source(sdist::SourceTree::Sdist(p) | sdist::SourceTree::Dir(p)) => {
                write!(f, "{}", p.display())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_reject() {
        assert!(matches!(
            "pepotron==1.8.0".parse::<Spec>().unwrap(),
            Spec::Requirement(_)
        ));
        assert!(matches!(
            "urllib3>=2,<3".parse::<Spec>().unwrap(),
            Spec::Requirement(_)
        ));
        let e = "foo; python_version<'3'"
            .parse::<Spec>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("markers"), "{e}");
        let e = "missing-1.0-py3-none-any.whl"
            .parse::<Spec>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = "not a req!!".parse::<Spec>().unwrap_err().to_string();
        assert!(e.contains("not a project name"), "{e}");
    }
}
