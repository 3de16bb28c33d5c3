//! The layout step of [`super::assemble`]: what goes where, as dh-python installs a wheel
//! (Debian Python Policy, PEP 427 install scheme): modules into dist-packages or, with
//! private copies, into a private tree; scripts and entry-point wrappers into `/usr/bin`;
//! `.data` into `/usr`. Every installed path is checked ([`check_installed_path`]).

use super::templates::Templates;
use super::{gzip_n, Package, BUNDLE_KEY_SHIFT, DIST_PACKAGES};
use crate::debian::deb::{DataEntry, EntryKind, Payload};
use crate::inspect::wheel::{Scheme, Wheel};
use crate::python::metadata::EntryPoint;
use anyhow::{bail, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// The files of the package and what laying them out found.
pub(super) struct Layout {
    /// Every file by installed path.
    pub files: BTreeMap<String, DataEntry>,
    /// Programs installed in `/usr/bin`, sorted.
    pub programs: Vec<String>,
    /// The wheel's license files (path inside the dist-info, entry index), for the docs.
    pub license_files: Vec<(String, usize)>,
    /// Unusual places upstream installs into (see [`unusual_place`]), with why.
    pub unusual: BTreeMap<String, &'static str>,
    /// A compiled module names the CPython version it was built for.
    pub version_specific: bool,
    /// `name version` of each private copy.
    pub bundled_names: Vec<String>,
    /// The private tree (`/usr/share/PACKAGE` or `/usr/lib/PACKAGE`), with private copies.
    pub private_path: Option<String>,
}

/// Add a file at `path`, refusing a name that could be shell syntax and a path installed
/// twice.
pub(super) fn add(
    files: &mut BTreeMap<String, DataEntry>,
    path: String,
    mode: u32,
    payload: Payload,
) -> Result<()> {
    check_installed_path(&path)?;
    if files.contains_key(&path) {
        bail!("the wheel installs /{path} twice (an entry point and a file of the same name?)");
    }
    files.insert(
        path.clone(),
        DataEntry {
            path,
            mode,
            kind: EntryKind::File(payload),
        },
    );
    Ok(())
}

/// Lay out the files of `wheel` and of its private copies `bundled`, and the wrappers of
/// its entry points.
pub(super) fn lay_out(pkg: &Package, wheel: &mut Wheel, bundled: &[Wheel]) -> Result<Layout> {
    let private_root = private_root(pkg, wheel, bundled)?;
    let lib_root = private_root
        .clone()
        .unwrap_or_else(|| DIST_PACKAGES.to_owned());
    let mut layout = Layout {
        files: BTreeMap::new(),
        programs: Vec::new(),
        license_files: Vec::new(),
        unusual: BTreeMap::new(),
        version_specific: false,
        bundled_names: Vec::new(),
        private_path: private_root.as_ref().map(|r| format!("/{r}")),
    };
    wheel_files(pkg, wheel, &lib_root, private_root.is_none(), &mut layout)?;
    private_copies(bundled, &lib_root, &mut layout)?;
    wrappers(pkg.templates, wheel, &mut layout)?;
    Ok(layout)
}

/// The private tree of an application with private copies of its dependencies, which
/// needs programs to put it on `sys.path`.
fn private_root(pkg: &Package, wheel: &Wheel, bundled: &[Wheel]) -> Result<Option<String>> {
    let Package { meta, package, .. } = *pkg;
    // With private copies of dependencies, the application and its copies live in a
    // directory of their own that only the /usr/bin wrappers put on sys.path, so the
    // system's versions stay what every other package sees.
    let compiled = |w: &Wheel| w.entries.iter().any(|e| e.path.ends_with(".so"));
    let private_root = if bundled.is_empty() {
        None
    } else if compiled(wheel) || bundled.iter().any(compiled) {
        Some(format!("usr/lib/{package}"))
    } else {
        Some(format!("usr/share/{package}"))
    };
    if private_root.is_some()
        && wheel.entry_points.console_scripts.is_empty()
        && wheel.entry_points.gui_scripts.is_empty()
    {
        bail!(
            "{} has no programs, so it cannot hide private copies of its dependencies ({}) from other Python code; \
             use --conflicts replace to replace the distribution's packages, or --conflicts fail",
            meta.name,
            bundled.iter().map(|w| w.metadata.name.clone()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(private_root)
}

/// The wheel's own files, where its install scheme puts them (`lib_root` for modules;
/// `public` when that is the shared dist-packages).
fn wheel_files(
    pkg: &Package,
    wheel: &mut Wheel,
    lib_root: &str,
    public: bool,
    layout: &mut Layout,
) -> Result<()> {
    let Package { meta, target, .. } = *pkg;
    let Layout {
        files,
        programs,
        license_files,
        unusual,
        version_specific,
        ..
    } = layout;
    let dist_info = wheel.dist_info.clone();
    let entries = wheel.entries.clone();
    for e in &entries {
        let file_name = e.path.rsplit('/').next().unwrap_or(&e.path);
        // Bytecode is never shipped: postinst compiles for every installed Python.
        if e.path.split('/').any(|c| c == "__pycache__")
            || file_name.ends_with(".pyc")
            || file_name.ends_with(".pyo")
        {
            continue;
        }
        let in_dist_info = e.path.starts_with(&format!("{dist_info}/"));
        if !in_dist_info {
            if let Some((place, why)) = unusual_place(&e.scheme, &e.path, public) {
                unusual.entry(place).or_insert(why);
            }
        }
        match e.scheme {
            Scheme::Lib => {
                if let Some(rest) = e.path.strip_prefix(&format!("{dist_info}/")) {
                    // dh-python 6: no RECORD (pip must not uninstall what dpkg owns),
                    // INSTALLER says debian, licenses move to the doc directory.
                    match rest {
                        "RECORD" | "RECORD.jws" | "RECORD.p7s" | "INSTALLER" | "REQUESTED"
                        | "direct_url.json" => continue,
                        _ => {}
                    }
                    let top = rest.split('/').next().unwrap_or(rest);
                    if top == "licenses"
                        || top == "license_files"
                        || (!rest.contains('/')
                            && (top == "COPYING"
                                || top == "LICENSE"
                                || top.starts_with("COPYING.")
                                || top.starts_with("LICENSE.")))
                    {
                        license_files.push((rest.to_owned(), e.index));
                        continue;
                    }
                }
                if file_name.contains(".cpython-") && file_name.ends_with(".so") {
                    *version_specific = true;
                }
                let exec = e.executable && !file_name.ends_with(".so");
                add(
                    files,
                    format!("{lib_root}/{}", e.path),
                    if exec { 0o755 } else { 0o644 },
                    Payload::Source(e.index),
                )?;
            }
            Scheme::Scripts => {
                if e.path.contains('/') {
                    bail!(
                        "wheel script `{}` is in a subdirectory; scripts must be plain files",
                        e.name
                    );
                }
                if let Some(problem) = crate::python::metadata::program_name_problem(&e.path) {
                    bail!(
                        "wheel script {:?} cannot be a program in /usr/bin: {problem}; a \
                         program name must be letters, digits and `. _ + -`, start with a \
                         letter or digit and be at most {} characters",
                        e.name,
                        crate::python::metadata::PROGRAM_NAME_MAX
                    );
                }
                programs.push(e.path.clone());
                add(
                    files,
                    format!("usr/bin/{}", e.path),
                    0o755,
                    Payload::Source(e.index),
                )?;
            }
            Scheme::Data if is_uncompressed_man_page(&e.path) => {
                // Debian Policy §12.1: man pages are installed compressed with `gzip -9n`.
                let page = wheel.read(e.index)?;
                add(
                    files,
                    format!("usr/{}.gz", e.path),
                    0o644,
                    Payload::Bytes(gzip_n(&page)?),
                )?;
            }
            Scheme::Data => {
                // Documentation is never executable (lintian `executable-in-usr-share-doc`).
                let doc = e.path.starts_with("share/doc/");
                add(
                    files,
                    format!("usr/{}", e.path),
                    if e.executable && !doc { 0o755 } else { 0o644 },
                    Payload::Source(e.index),
                )?;
            }
            Scheme::Headers => {
                let py = target.python_version();
                add(
                    files,
                    format!("usr/include/python{py}/{}/{}", meta.name, e.path),
                    0o644,
                    Payload::Source(e.index),
                )?;
            }
        }
    }
    files.insert(
        format!("{lib_root}/{dist_info}/INSTALLER"),
        DataEntry {
            path: format!("{lib_root}/{dist_info}/INSTALLER"),
            mode: 0o644,
            kind: EntryKind::File(Payload::Bytes(b"debian\n".to_vec())),
        },
    );
    Ok(())
}

/// The private copies under `lib_root`: their modules only (their programs would shadow
/// the system's).
fn private_copies(bundled: &[Wheel], lib_root: &str, layout: &mut Layout) -> Result<()> {
    let Layout {
        files,
        version_specific,
        bundled_names,
        ..
    } = layout;
    for (n, b) in bundled.iter().enumerate() {
        let key_base = (n + 1) << BUNDLE_KEY_SHIFT;
        bundled_names.push(format!("{} {}", b.metadata.name, b.metadata.version));
        for e in b.entries.iter().filter(|e| e.scheme == Scheme::Lib) {
            let file_name = e.path.rsplit('/').next().unwrap_or(&e.path);
            if e.path.split('/').any(|c| c == "__pycache__") || file_name.ends_with(".pyc") {
                continue;
            }
            if let Some(rest) = e.path.strip_prefix(&format!("{}/", b.dist_info)) {
                if matches!(
                    rest,
                    "RECORD"
                        | "RECORD.jws"
                        | "RECORD.p7s"
                        | "INSTALLER"
                        | "REQUESTED"
                        | "direct_url.json"
                ) {
                    continue;
                }
            }
            if file_name.contains(".cpython-") && file_name.ends_with(".so") {
                *version_specific = true;
            }
            add(
                files,
                format!("{lib_root}/{}", e.path),
                0o644,
                Payload::Source(key_base | e.index),
            )?;
        }
        let installer = format!("{lib_root}/{}/INSTALLER", b.dist_info);
        files.insert(
            installer.clone(),
            DataEntry {
                path: installer,
                mode: 0o644,
                kind: EntryKind::File(Payload::Bytes(b"debian\n".to_vec())),
            },
        );
    }
    Ok(())
}

/// A `/usr/bin` wrapper per entry point, putting the private tree (if any) on `sys.path`.
fn wrappers(templates: &Templates, wheel: &Wheel, layout: &mut Layout) -> Result<()> {
    let Layout {
        files,
        programs,
        private_path,
        ..
    } = layout;
    for ep in wheel
        .entry_points
        .console_scripts
        .iter()
        .chain(&wheel.entry_points.gui_scripts)
    {
        let body = wrapper(templates, ep, private_path.as_deref())?;
        add(
            files,
            format!("usr/bin/{}", ep.name),
            0o755,
            Payload::Bytes(body),
        )?;
        programs.push(ep.name.clone());
    }
    programs.sort();
    programs.dedup();
    Ok(())
}

/// Characters refused in installed file names besides those of
/// [`crate::python::metadata::is_unsafe_char`]: the shell's quoting, substitution, redirection,
/// command-separator and glob characters. Maintainer scripts never put file names into
/// shell code, but administrators' own scripts over `dpkg -L` do.
const SHELL_SPECIAL: &[char] = &[
    '$', '`', '\\', '"', '\'', ';', '&', '|', '<', '>', '*', '?', '\t',
];

/// Refuse an installed path (relative to `/`) whose name could be shell syntax, carry a
/// line break, or display as something else.
pub fn check_installed_path(path: &str) -> Result<()> {
    let bad = path
        .chars()
        .find(|&c| SHELL_SPECIAL.contains(&c) || crate::python::metadata::is_unsafe_char(c));
    if let Some(c) = bad {
        let what = if SHELL_SPECIAL.contains(&c) && c != '\t' {
            format!("the shell metacharacter {c:?}")
        } else {
            crate::python::metadata::describe_unsafe_char(c)
        };
        bail!(
            "the package would install {:?}, whose name contains {what}; installed file \
             names may not contain shell metacharacters ($ ` \\ \" ' ; & | < > * ?), \
             tabs, control characters, line separators or bidirectional overrides — fix \
             the file name in the wheel",
            format!("/{path}")
        );
    }
    Ok(())
}

/// Why upstream's `path` (an entry of `scheme`) is in an unusual place, if it is:
/// `.data/data` outside the usual `/usr` trees (`usr/etc/…`, `usr/README`), or beside the
/// modules in the shared dist-packages a file that is no module (`LICENSE`, `README.md`) or
/// a top-level `tests`/`docs` package, which every other package shipping one would clash
/// with. Returns the place to name (a directory for a tree) and why.
fn unusual_place(scheme: &Scheme, path: &str, public: bool) -> Option<(String, &'static str)> {
    let (top, rest) = path.split_once('/').unwrap_or((path, ""));
    match scheme {
        Scheme::Data => {
            const USUAL: &[&str] = &["share", "bin", "sbin", "lib", "libexec", "include"];
            if USUAL.contains(&top) && !rest.is_empty() {
                return None;
            }
            let place = if rest.is_empty() {
                format!("/usr/{top}")
            } else {
                format!("/usr/{top}/")
            };
            Some((
                place,
                "outside /usr/share, /usr/bin, /usr/lib and /usr/include",
            ))
        }
        Scheme::Lib if public => {
            if rest.is_empty() {
                const MODULE: &[&str] = &[".py", ".pyi", ".so", ".pth", ".typed"];
                if MODULE.iter().any(|m| top.ends_with(m)) {
                    return None;
                }
                return Some((
                    format!("/{DIST_PACKAGES}/{top}"),
                    "a file that is no module, beside the modules of every package",
                ));
            }
            const SHARED: &[&str] = &["tests", "test", "docs", "doc", "examples", "benchmarks"];
            SHARED.contains(&top).then(|| {
                (
                    format!("/{DIST_PACKAGES}/{top}/"),
                    "a top-level package name that other projects ship too",
                )
            })
        }
        _ => None,
    }
}

/// Generated text for one `/usr/bin` program.
#[derive(Serialize)]
struct ScriptCtx<'a> {
    module: &'a str,
    import_name: &'a str,
    call: &'a str,
    private_path: Option<&'a str>,
}

fn wrapper(templates: &Templates, ep: &EntryPoint, private_path: Option<&str>) -> Result<Vec<u8>> {
    let Some(attr) = ep.attr.as_deref() else {
        bail!(
            "entry point `{} = {}` names no callable: console scripts must be `module:function`",
            ep.name,
            ep.module
        );
    };
    let import_name = attr.split('.').next().unwrap_or(attr);
    let text = templates.render(
        "script",
        &ScriptCtx {
            module: &ep.module,
            import_name,
            call: attr,
            private_path,
        },
    )?;
    Ok(text.into_bytes())
}

/// `share/man/man1/foo.1` (a page the wheel ships under `.data/data`, not yet gzipped).
fn is_uncompressed_man_page(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("share/man/man") else {
        return false;
    };
    let Some((section, file)) = rest.split_once('/') else {
        return false;
    };
    !section.is_empty()
        && section.chars().next().is_some_and(|c| c.is_ascii_digit())
        && !file.contains('/')
        && file.rsplit_once('.').is_some_and(|(name, ext)| {
            !name.is_empty() && ext.starts_with(|c: char| c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_installed_paths_are_refused() {
        for bad in [
            "usr/lib/python3/dist-packages/demo/$(touch${IFS}PWNED).py",
            "usr/lib/python3/dist-packages/demo/`id`.py",
            "usr/lib/python3/dist-packages/demo/a;b.py",
            "usr/lib/python3/dist-packages/demo/a\u{85}b.py",
            "usr/lib/python3/dist-packages/demo/a\u{202e}yp.txt",
            "usr/lib/python3/dist-packages/demo/a\u{2028}b.py",
            "usr/lib/python3/dist-packages/demo/a\tb.py",
        ] {
            let e = check_installed_path(bad).unwrap_err().to_string();
            assert!(e.contains("installed file names may not"), "{bad}: {e}");
        }
        for good in [
            "usr/lib/python3/dist-packages/setuptools/script (dev).tmpl",
            "usr/lib/python3/dist-packages/demo/{{cookiecutter.name}}/[id]+x,y=z@1~.py",
            "usr/lib/python3/dist-packages/démo/ünïcode.py",
        ] {
            check_installed_path(good).unwrap();
        }
    }
}
