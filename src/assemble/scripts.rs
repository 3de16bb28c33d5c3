//! The maintainer-scripts step of [`super::assemble`]: `postinst` (byte-compiling as
//! dh_python3's py3compile does) and `prerm` (removing the bytecode), rendered from the
//! templates with only shell-safe words in them.

use super::Package;
use anyhow::{bail, Result};
use serde::Serialize;

/// The package's maintainer scripts, by name.
pub(super) fn maintainer_scripts(
    pkg: &Package,
    private_path: &Option<String>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let Package {
        package,
        architecture,
        pure,
        templates,
        ..
    } = *pkg;
    #[derive(Serialize)]
    struct ScriptsCtx<'a> {
        package: String,
        private_dirs: &'a [String],
    }
    // Arch-specific packages name themselves with their architecture, as dh_python3 does.
    let pkg_ref = if pure {
        package.to_owned()
    } else {
        format!("{package}:{architecture}")
    };
    let private_dirs: Vec<String> = private_path.iter().cloned().collect();
    // The scripts name only the package and its private directory, both made of the
    // package name's characters; anything else would be shell syntax.
    let word_ok = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.:/".contains(&b))
    };
    for word in std::iter::once(&pkg_ref).chain(&private_dirs) {
        if !word_ok(word) {
            bail!(
                "{word:?} cannot be written into the maintainer scripts: it must be lowercase \
                 letters, digits and `+ - . : /`"
            );
        }
    }
    let sctx = ScriptsCtx {
        package: pkg_ref,
        private_dirs: &private_dirs,
    };
    let scripts = vec![
        (
            "postinst".to_owned(),
            templates.render("postinst", &sctx)?.into_bytes(),
        ),
        (
            "prerm".to_owned(),
            templates.render("prerm", &sctx)?.into_bytes(),
        ),
    ];
    Ok(scripts)
}
