//! Debian binary package names for Python projects: `python3-X` for a package that makes
//! module X importable (Debian Python Policy §4.3, as dh-python derives it), and the
//! project's own name for an application whose modules are private, as Debian names its
//! applications (`pepotron`, `poetry`, `black`).
//!
//! Whether a name is free in the target (never take an unrelated package's name) is the
//! resolver's question ([`crate::resolve::application_name`]); this module only spells the
//! candidates.

use crate::debian::control;
use anyhow::{Context, Result};

/// The Debian binary package name for a Python distribution name (Debian Python
/// Policy §4.3, as dh-python derives it): the PEP 503 normalized name (lowercase, runs of
/// `-_.` as one `-`), a leading `python-` dropped, `python3-` prefixed. Normalizing first
/// makes this a function of the project, not of how one requirement spells it:
/// `backports.zstd`, `backports_zstd` and `Backports-Zstd` are all `python3-backports-zstd`,
/// for the package built and for every `Depends` on it.
pub fn package_name(project: &str) -> Result<String> {
    let n = crate::python::PackageName::normalize(project).into_string();
    let n = n.strip_prefix("python-").map(str::to_owned).unwrap_or(n);
    let pkg = format!("python3-{n}");
    control::validate_package_name(&pkg)
        .with_context(|| format!("project `{project}` has no valid Debian package name"))?;
    Ok(pkg)
}

/// The names an application with private modules may take, best first: the normalized
/// project name (Debian's `pepotron`, `yt-dlp`, `httpie`), then that name with `-py`
/// appended.
///
/// The fallback follows Debian's own practice when a program's natural name already
/// belongs to an unrelated package: the Python client of tldr-pages is `tldr-py` because
/// `tldr` is the Haskell client. Keeping `python3-X` instead would claim that module X is
/// importable by the system's Python, which a private package does not do, and would make
/// it satisfy other packages' `Depends: python3-X`. Names that are not valid Debian package
/// names (a one-letter project) are left out.
pub fn application_names(project: &str) -> Vec<String> {
    let n = crate::python::PackageName::normalize(project).into_string();
    let n = n.strip_prefix("python-").map(str::to_owned).unwrap_or(n);
    [n.clone(), format!("{n}-py")]
        .into_iter()
        // A name in python3-'s namespace would promise an importable module.
        .filter(|c| !c.starts_with("python3-") && !c.starts_with("python-"))
        .filter(|c| control::validate_package_name(c).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_names_are_the_project_then_its_py_form() {
        assert_eq!(application_names("Pepotron"), ["pepotron", "pepotron-py"]);
        assert_eq!(
            application_names("zope.interface"),
            ["zope-interface", "zope-interface-py"]
        );
        assert_eq!(
            application_names("python-slugify"),
            ["slugify", "slugify-py"]
        );
        // One letter is no Debian package name; its -py form is.
        assert_eq!(application_names("x"), ["x-py"]);
        // Never a python3- name for a package whose modules are private.
        assert_eq!(application_names("python3-tool"), Vec::<String>::new());
        assert!(application_names("b@d").is_empty());
    }
}
