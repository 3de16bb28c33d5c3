//! Shared-library dependencies as dpkg-shlibdeps computes them (deb-shlibs(5),
//! deb-symbols(5), dpkg-shlibdeps(1)): every ELF file's `DT_NEEDED` libraries, except those
//! the package ships itself (auditwheel's `*.libs/`), are resolved to the target's package
//! through the `Contents` path index, with the least version that provides the symbol
//! versions the file uses.
//!
//! dpkg-shlibdeps takes that version from the library package's `symbols` file (the
//! version that introduced each symbol) or, lacking one, from its `shlibs` file. Neither is
//! in the archive's indexes, so the version is derived here from the version nodes the file
//! binds to, where the library's node names carry the release that introduced them:
//!
//! - glibc (`libc6`): `GLIBC_2.28` → `libc6 (>= 2.28)`, as libc6's symbols file says;
//! - libstdc++ (`libstdc++6`): `GLIBCXX_3.4.N` / `CXXABI_1.3.N` → the GCC release that added
//!   the node ([`GLIBCXX`], from the libstdc++ ABI history), `GLIBCXX_3.4.30` → `(>= 12)`;
//! - libgcc (`libgcc-s1`): `GCC_7.0.0` → `(>= 7.0.0)`;
//! - zlib (`zlib1g`): `ZLIB_1.2.9` → `(>= 1:1.2.9)` (in the package's epoch).
//!
//! Any other library, or one whose nodes say nothing, gets the version the target ships
//! (upstream part, epoch kept), as a `shlibs` file written by `dh_makeshlibs -V` would: never
//! too low for the target, at the cost of being higher than strictly needed.

use crate::assemble::elf::Needs;
use crate::debian::archive::contents::PathIndex;
use crate::debian::archive::{compare_debian, Archive};
use crate::debian::deb::{DataEntry, DebSpec, EntryKind, Payload};
use crate::debian::relation::{Dep, Op, Relations};
use crate::report::Reporter;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};

/// `GLIBCXX_3.4.N` → the first GCC release with it (libstdc++ manual, "ABI Policy and
/// Guidelines"); Debian's libstdc++6 symbols use the same GCC versions.
pub const GLIBCXX: &[(u32, &str)] = &[
    (8, "4.1.1"),
    (9, "4.2.1"),
    (10, "4.3"),
    (11, "4.4"),
    (12, "4.4"),
    (13, "4.4.2"),
    (14, "4.5"),
    (15, "4.6"),
    (16, "4.6.1"),
    (17, "4.7"),
    (18, "4.8"),
    (19, "4.8.3"),
    (20, "4.9"),
    (21, "5"),
    (22, "6"),
    (23, "7"),
    (24, "7.2"),
    (25, "8"),
    (26, "9"),
    (27, "9.2"),
    (28, "9.3"),
    (29, "11"),
    (30, "12"),
    (31, "13"),
    (32, "13.2"),
    (33, "14"),
];

/// `CXXABI_1.3.N` → the first GCC release with it.
pub const CXXABI: &[(u32, &str)] = &[
    (1, "4.1.1"),
    (2, "4.3"),
    (3, "4.4"),
    (4, "4.5"),
    (5, "4.6"),
    (6, "4.7"),
    (7, "4.8"),
    (8, "4.9"),
    (9, "5"),
    (10, "6"),
    (11, "7"),
    (12, "9"),
    (13, "11"),
    (14, "13"),
    (15, "14"),
];

/// An ELF file of the package and what it needs.
#[derive(Debug, Clone)]
pub struct ElfFile {
    /// Installed path, relative to `/`.
    pub path: String,
    /// Its source key (see [`crate::assemble::BUNDLE_KEY_SHIFT`]).
    pub key: usize,
    pub needs: Needs,
}

/// The source key of an entry that may be an ELF file, judged by name and mode so that
/// only those are read: shared objects (`*.so`, `*.so.N`), programs (executable bit), and
/// whatever auditwheel vendors into `*.libs/`.
pub fn candidate(entry: &DataEntry) -> Option<usize> {
    let EntryKind::File(Payload::Source(key)) = &entry.kind else {
        return None;
    };
    let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
    let shared = name.ends_with(".so") || name.contains(".so.");
    let vendored = entry
        .path
        .split('/')
        .rev()
        .nth(1)
        .is_some_and(|dir| dir.ends_with(".libs"));
    (shared || vendored || entry.mode & 0o111 != 0).then_some(*key)
}

/// The libraries that are part of the C library (all in `libc6`).
fn is_glibc_package(package: &str) -> bool {
    package == "libc6"
}

/// `PREFIX` + dotted numbers → the numbers (`GLIBC_2.28` → `2.28`).
fn node_version<'a>(node: &'a str, prefix: &str) -> Option<&'a str> {
    let v = node.strip_prefix(prefix)?;
    (!v.is_empty()
        && v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    .then_some(v)
}

fn last_number(v: &str) -> Option<u32> {
    v.rsplit('.').next()?.parse().ok()
}

/// The least version of `package` that has every node in `nodes`, from the node names, or
/// `None` when they say nothing (see the module documentation).
pub fn version_from_nodes(package: &str, nodes: &[String], have: Option<&str>) -> Option<String> {
    let mut best: Option<String> = None;
    let mut raise = |v: String| {
        if best
            .as_deref()
            .is_none_or(|b| compare_debian(&v, b).is_gt())
        {
            best = Some(v);
        }
    };
    let epoch = have
        .and_then(|h| h.split_once(':'))
        .map(|(e, _)| format!("{e}:"))
        .unwrap_or_default();
    for node in nodes {
        if is_glibc_package(package) {
            if let Some(v) = node_version(node, "GLIBC_") {
                raise(v.to_owned());
            }
        } else if package == "libstdc++6" {
            let from = |table: &[(u32, &str)], v: &str, base: &str| {
                let n = last_number(v)?;
                if !v.starts_with(base) {
                    return None;
                }
                // A node newer than the table: the newest release it knows.
                table
                    .iter()
                    .find(|(k, _)| *k == n)
                    .or_else(|| table.iter().rev().find(|(k, _)| *k < n))
                    .map(|(_, g)| (*g).to_owned())
            };
            if let Some(v) = node_version(node, "GLIBCXX_").and_then(|v| from(GLIBCXX, v, "3.4.")) {
                raise(v);
            } else if let Some(v) =
                node_version(node, "CXXABI_").and_then(|v| from(CXXABI, v, "1.3."))
            {
                raise(v);
            }
        } else if package.starts_with("libgcc-s") {
            if let Some(v) = node_version(node, "GCC_") {
                raise(v.to_owned());
            }
        } else if package == "zlib1g" {
            if let Some(v) = node_version(node, "ZLIB_") {
                raise(format!("{epoch}{v}"));
            }
        }
    }
    best
}

/// Which of the packages shipping a library the dependency names: not a `-dev` or `-dbg`
/// package (they ship the same name as a link or a debug copy), and present in the archive.
fn pick<'a>(packages: &[&'a str], archive: &Archive) -> Option<&'a str> {
    // A snapshot of Contents may be newer than the package lists; an empty archive (no
    // lists at all) cannot tell, so every owner counts then.
    let empty = archive_is_empty(archive);
    let mut present: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| empty || archive.contains(p))
        .collect();
    present.sort_by_key(|p| {
        (
            p.ends_with("-dev") || p.ends_with("-dbg") || p.contains("-udeb"),
            *p,
        )
    });
    present.first().copied()
}

fn archive_is_empty(archive: &Archive) -> bool {
    archive.newest_of_each().next().is_none()
}

/// `1:2.0-3` → `1:2.0`.
fn without_revision(v: &str) -> &str {
    v.rfind('-').map_or(v, |i| &v[..i])
}

/// The `Depends` these ELF files need on `target`; `shipped` are the file names the
/// package itself installs (libraries it carries need no package). Without a path index
/// (only the built-in snapshot) nothing can be resolved: that is reported, not guessed.
pub fn depends(
    files: &[ElfFile],
    shipped: &BTreeSet<&str>,
    paths: Option<&PathIndex>,
    archive: &Archive,
    target_name: &str,
    reporter: &dyn Reporter,
) -> Result<Relations> {
    let mut relations = Relations::default();
    if files.is_empty() {
        return Ok(relations);
    }
    let Some(paths) = paths else {
        reporter.warn(&format!(
            "shared-library dependencies of {} ELF files not computed: {target_name}'s \
             Contents index was not available (only the built-in dist-info snapshot); run \
             once with network access to the mirror",
            files.len()
        ));
        return Ok(relations);
    };
    // Package → least version (None: unversioned), in a stable order.
    let mut wanted: BTreeMap<String, Option<String>> = BTreeMap::new();
    for f in files {
        for soname in &f.needs.needed {
            if shipped.contains(soname.as_str()) {
                continue;
            }
            let owners = paths.soname(soname);
            let Some(package) = pick(&owners, archive) else {
                bail!(
                    "/{} needs the shared library {soname}, which no package of {target_name} \
                     ships; the wheel does not carry it either (auditwheel vendors such \
                     libraries into *.libs/): use a wheel built for {target_name}, or one that \
                     bundles {soname}",
                    f.path
                );
            };
            let have = archive.newest(package).map(|v| v.version.clone());
            let nodes = f.needs.versions.get(soname).cloned().unwrap_or_default();
            let version = version_from_nodes(package, &nodes, have.as_deref()).or_else(|| {
                // glibc's own libraries without versioned symbols need no particular
                // release; any other library gets what the target ships.
                if is_glibc_package(package) {
                    None
                } else {
                    have.as_deref().map(|h| without_revision(h).to_owned())
                }
            });
            let slot = wanted.entry(package.to_owned()).or_insert(None);
            if let Some(v) = version {
                if slot
                    .as_deref()
                    .is_none_or(|s| compare_debian(&v, s).is_gt())
                {
                    *slot = Some(v);
                }
            }
        }
    }
    for (package, version) in wanted {
        relations.push(match version {
            Some(v) => Dep::with(package, Op::Ge, v),
            None => Dep::new(package),
        });
    }
    Ok(relations)
}

/// Add `new` to `depends`, keeping one `(>= …)` relation per package: the higher of an
/// existing one (libc6 from a manylinux tag) and the computed one.
pub fn merge(depends: &mut Relations, new: Relations) {
    for group in new.0 {
        let [dep] = group.0.as_slice() else {
            depends.push_group(group);
            continue;
        };
        let existing = depends.0.iter_mut().find(|g| {
            matches!(g.0.as_slice(), [d] if d.package == dep.package
                && d.arch_qualifier.is_none()
                && d.constraint.as_ref().is_none_or(|(op, _)| *op == Op::Ge))
        });
        match existing {
            Some(g) => {
                let old = &mut g.0[0];
                let higher = match (&old.constraint, &dep.constraint) {
                    (_, None) => false,
                    (None, Some(_)) => true,
                    (Some((_, a)), Some((_, b))) => compare_debian(b, a).is_gt(),
                };
                if higher {
                    old.constraint = dep.constraint.clone();
                }
            }
            None => depends.push(dep.clone()),
        }
    }
}

/// Compute the shared-library dependencies of an assembled package from its ELF `files`
/// (found by [`crate::assemble::strip::compiled`]) and add them to its `Depends` (see
/// [`depends`] and [`merge`]).
pub fn add_to(
    spec: &mut DebSpec,
    files: &[ElfFile],
    paths: Option<&PathIndex>,
    archive: &Archive,
    target_name: &str,
    reporter: &dyn Reporter,
) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    if spec.control.architecture == "all" {
        reporter.warn(&format!(
            "{} is Architecture: all (its wheel is tagged pure) but contains compiled code \
             (/{}); it runs only where that code was built for",
            spec.control.package, files[0].path
        ));
    }
    let shipped: BTreeSet<&str> = spec
        .data
        .iter()
        .map(|e| e.path.rsplit('/').next().unwrap_or(&e.path))
        .collect();
    let new = depends(files, &shipped, paths, archive, target_name, reporter)?;
    merge(&mut spec.control.depends, new);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn versions_from_symbol_nodes() {
        assert_eq!(
            version_from_nodes(
                "libc6",
                &nodes(&["GLIBC_2.2.5", "GLIBC_2.28", "GLIBC_2.14"]),
                None
            ),
            Some("2.28".into())
        );
        assert_eq!(
            version_from_nodes(
                "libstdc++6",
                &nodes(&["GLIBCXX_3.4.21", "CXXABI_1.3.9", "GLIBCXX_3.4.30"]),
                None
            ),
            Some("12".into())
        );
        assert_eq!(
            version_from_nodes("libgcc-s1", &nodes(&["GCC_3.0", "GCC_7.0.0"]), None),
            Some("7.0.0".into())
        );
        assert_eq!(
            version_from_nodes("zlib1g", &nodes(&["ZLIB_1.2.9"]), Some("1:1.2.13.dfsg-1")),
            Some("1:1.2.9".into())
        );
        assert_eq!(
            version_from_nodes("libfoo1", &nodes(&["FOO_1.0"]), None),
            None
        );
        assert_eq!(
            version_from_nodes("libc6", &nodes(&["GLIBC_PRIVATE"]), None),
            None
        );
    }

    #[test]
    fn merge_keeps_the_higher_bound() {
        let mut d = Relations::default();
        d.push(Dep::new("python3").any_arch());
        d.push(Dep::with("libc6", Op::Ge, "2.17"));
        let mut new = Relations::default();
        new.push(Dep::with("libc6", Op::Ge, "2.28"));
        new.push(Dep::with("zlib1g", Op::Ge, "1:1.2.9"));
        merge(&mut d, new);
        assert_eq!(
            d.to_string(),
            "python3:any, libc6 (>= 2.28), zlib1g (>= 1:1.2.9)"
        );
        let mut lower = Relations::default();
        lower.push(Dep::with("libc6", Op::Ge, "2.14"));
        merge(&mut d, lower);
        assert!(d.to_string().contains("libc6 (>= 2.28)"));
    }
}
