//! Lay a wheel out as dh-python installs it (Debian Python Policy, PEP 427 install
//! scheme) and describe the `.deb` to write: files, modes, generated docs, maintainer
//! scripts and the control paragraph.
//!
//! Every installed path is checked ([`check_installed_path`]) and program names follow a
//! conservative pattern, so no file name can be shell or roff syntax; man pages escape
//! all upstream text for roff.
//!
//! Nothing here reads the whole wheel into memory: module files stay
//! [`Payload::Source`](crate::debian::deb::Payload::Source) entries that the writer streams one at a time through
//! [`rewrite_shebang`].

mod depends;
mod docs;
pub mod elf;
mod layout;
pub mod naming;
mod scripts;
pub mod shlibs;
pub mod strip;
pub mod templates;

pub use docs::{description_of, drop_article, is_homepage_url, license_of, COMMON_LICENSES};
pub use layout::check_installed_path;
pub use naming::package_name;

use crate::assemble::templates::Templates;
use crate::debian::control::BinaryControl;
use crate::debian::deb::{Compression, DebSpec};
use crate::debian::relation::Relations;
use crate::debian::target::Target;
use crate::debian::version::deb_version;
use crate::inspect::wheel::Wheel;
use crate::python::metadata::Metadata;
use anyhow::{bail, Result};
use layout::Layout;
use std::io::Write;

/// Where Debian's python3 packages put public modules.
pub const DIST_PACKAGES: &str = "usr/lib/python3/dist-packages";

/// Source keys of bundled wheels' entries: `(n + 1) << BUNDLE_KEY_SHIFT | index` for the
/// n-th bundled wheel; the main wheel's entries use their plain index.
pub const BUNDLE_KEY_SHIFT: usize = 32;

/// Choices that shape the package beyond what the wheel says.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// `Name <mail>`.
    pub maintainer: String,
    /// Debian revision; the default `0py2deb1` sorts below any official `-1`.
    pub revision: String,
    pub compression: Compression,
    /// SOURCE_DATE_EPOCH: every mtime and the changelog date.
    pub mtime: u64,
    /// The wheel's file name, for the changelog.
    pub wheel_filename: String,
    /// Provenance for the changelog (the wheel's sha256).
    pub origin: Option<String>,
    /// Relations computed by the mapping stage for the wheel's Requires-Dist.
    pub requirement_depends: Relations,
    /// Added to the Debian epoch of the version: a package that replaces the target's
    /// package of the same name must sort above it in that package's version space
    /// (python3-numpy 2.x replacing bookworm's `1:1.24.2-1` is `1:2.…`).
    pub epoch_offset: u64,
    /// The package name an override gives (see [`crate::overrides`]), instead of
    /// [`package_name`]'s.
    pub package_name: Option<String>,
    /// The name this package had before it was named after its project (`python3-X`, see
    /// [`crate::resolve::RootName::renames`]): `Breaks` and `Replaces` it below this version.
    pub renames: Option<String>,
    /// The target's library of the same project that this package lives beside
    /// ([`crate::resolve::RootName::beside`]), and the program package Debian splits from
    /// it: `Replaces` them, for the programs both ship.
    pub stands_beside: Vec<String>,
}

/// The full Debian version: upstream version from PEP 440, then our revision.
pub fn full_version(v: &pep440_rs::Version, revision: &str) -> String {
    format!("{}-{}", deb_version(v), revision)
}

/// dpkg's file name for a package: `name_version-without-epoch_arch.deb`.
pub fn deb_filename(package: &str, version: &str, arch: &str) -> String {
    let v = version.split_once(':').map(|(_, v)| v).unwrap_or(version);
    format!("{package}_{v}_{arch}.deb")
}

/// The bytes of a source key of [`assemble`]'s payloads: the main wheel's entry, or a
/// bundled wheel's (see [`BUNDLE_KEY_SHIFT`]).
pub fn read_source(wheel: &mut Wheel, bundled: &mut [Wheel], key: usize) -> Result<Vec<u8>> {
    let which = key >> BUNDLE_KEY_SHIFT;
    let index = key & ((1 << BUNDLE_KEY_SHIFT) - 1);
    if which == 0 {
        wheel.read(index)
    } else {
        match bundled.get_mut(which - 1) {
            Some(b) => b.read(index),
            None => bail!("source key {key:#x} names no bundled wheel"),
        }
    }
}

/// Rewrite a Python `#!` line to `/usr/bin/python3`, as dh_python3 does; anything else
/// is returned unchanged. Handles the `#!python` placeholder of PEP 427 scripts.
pub fn rewrite_shebang(data: Vec<u8>) -> Vec<u8> {
    if !data.starts_with(b"#!") {
        return data;
    }
    let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let line = String::from_utf8_lossy(&data[2..end]).trim().to_owned();
    let mut words = line.split_whitespace();
    let mut interp = words.next().unwrap_or("");
    if interp == "/usr/bin/env" {
        interp = words.next().unwrap_or("");
    }
    let base = interp.rsplit('/').next().unwrap_or("");
    let is_python = base == "python"
        || base.strip_prefix("python").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == 'w' || c == 'u')
        })
        || base == "pythonw";
    if !is_python {
        return data;
    }
    // Keep interpreter flags such as `-u`; drop a `-S`-style env argument list.
    let args: Vec<&str> = words.collect();
    let mut out = b"#!/usr/bin/python3".to_vec();
    if !args.is_empty() {
        out.push(b' ');
        out.extend_from_slice(args.join(" ").as_bytes());
    }
    out.extend_from_slice(&data[end..]);
    out
}

fn gzip_n(data: &[u8]) -> Result<Vec<u8>> {
    // Like `gzip -9n`: no name, no timestamp, so output depends on content only.
    let mut enc = flate2::GzBuilder::new()
        .operating_system(3)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

/// What [`assemble`] decided, ready for [`crate::debian::deb::write_deb`].
pub struct Assembly {
    pub spec: DebSpec,
    /// File name the package should get (`python3-foo_1.0-0py2deb1_all.deb`).
    pub filename: String,
    /// Programs installed in `/usr/bin`.
    pub programs: Vec<String>,
    /// What upstream installs in unusual places, kept because the program may need it
    /// (see `unusual_place` in `layout.rs`): one line each, for the caller to report.
    pub unusual: Vec<String>,
}

/// What every step of [`assemble`] knows about the package.
struct Package<'a> {
    meta: &'a Metadata,
    package: &'a str,
    version: &'a str,
    architecture: &'a str,
    pure: bool,
    target: &'a Target,
    opts: &'a PackageOptions,
    templates: &'a Templates,
}

/// Lay out `wheel` for `target`: the package's name, version and architecture, then its
/// files (`layout.rs`), docs (`docs.rs`), relations (`depends.rs`) and maintainer scripts
/// (`scripts.rs`).
pub fn assemble(
    wheel: &mut Wheel,
    bundled: &mut [Wheel],
    target: &Target,
    pure: bool,
    min_glibc: Option<(u32, u32)>,
    opts: &PackageOptions,
    templates: &Templates,
) -> Result<Assembly> {
    let meta = wheel.metadata.clone();
    let package = match &opts.package_name {
        Some(p) => p.clone(),
        None => package_name(&meta.name)?,
    };
    let version = crate::debian::version::with_epoch_offset(
        &full_version(&meta.version, &opts.revision),
        opts.epoch_offset,
    );
    // A shared object in a wheel tagged pure is still compiled code (dpkg and lintian judge
    // the files, not the tag).
    let shared_object = |w: &Wheel| {
        w.entries.iter().any(|e| {
            let name = e.path.rsplit('/').next().unwrap_or(&e.path);
            name.ends_with(".so") || name.contains(".so.")
        })
    };
    let pure = pure && !shared_object(wheel) && !bundled.iter().any(shared_object);
    let architecture = if pure {
        "all".to_owned()
    } else {
        target.arch.clone()
    };
    let pkg = Package {
        meta: &meta,
        package: &package,
        version: &version,
        architecture: &architecture,
        pure,
        target,
        opts,
        templates,
    };
    let mut layout = layout::lay_out(&pkg, wheel, bundled)?;
    let docs = docs::write_docs(&pkg, wheel, &mut layout)?;
    let mut control = BinaryControl::new(
        package.clone(),
        version.clone(),
        architecture.clone(),
        opts.maintainer.clone(),
        docs.description,
    );
    control.depends = depends::depends(&pkg, layout.version_specific, min_glibc);
    control.homepage = docs.homepage;
    depends::relations(&pkg, &mut control);
    let scripts = scripts::maintainer_scripts(&pkg, &layout.private_path)?;
    let Layout {
        files,
        programs,
        unusual,
        ..
    } = layout;

    let size_hint = wheel
        .entries
        .iter()
        .chain(bundled.iter().flat_map(|b| b.entries.iter()))
        .map(|e| e.size)
        .sum();
    let filename = deb_filename(&package, &version, &architecture);
    Ok(Assembly {
        spec: DebSpec {
            control,
            scripts,
            data: files.into_values().collect(),
            compression: opts.compression,
            mtime: opts.mtime,
            size_hint,
        },
        filename,
        programs,
        unusual: unusual
            .into_iter()
            .map(|(place, why)| format!("{place} ({why})"))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_follow_python_policy() {
        assert_eq!(package_name("Flask_Cors").unwrap(), "python3-flask-cors");
        assert_eq!(package_name("python-slugify").unwrap(), "python3-slugify");
        for spelling in [
            "backports.zstd",
            "backports_zstd",
            "Backports-Zstd",
            "backports--zstd",
        ] {
            assert_eq!(
                package_name(spelling).unwrap(),
                "python3-backports-zstd",
                "{spelling}"
            );
        }
        assert!(package_name("b@d").is_err());
    }

    #[test]
    fn shebangs_are_rewritten_like_dh_python3() {
        let cases = [
            ("#!/usr/bin/env python\nx", "#!/usr/bin/python3\nx"),
            ("#!python\nx", "#!/usr/bin/python3\nx"),
            (
                "#!/usr/local/bin/python3.11 -u\nx",
                "#!/usr/bin/python3 -u\nx",
            ),
            ("#!/bin/sh\nx", "#!/bin/sh\nx"),
            ("print(1)\n", "print(1)\n"),
        ];
        for (input, want) in cases {
            assert_eq!(
                String::from_utf8(rewrite_shebang(input.as_bytes().to_vec())).unwrap(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn filenames_drop_the_epoch() {
        assert_eq!(
            deb_filename("python3-a", "1:2.0-0py2deb1", "all"),
            "python3-a_2.0-0py2deb1_all.deb"
        );
    }
}
