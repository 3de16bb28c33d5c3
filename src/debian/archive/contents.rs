//! The paths of a release's `Contents` indexes that decide file clashes and shared-library
//! dependencies (Debian repository format, `Contents-<arch>`: one line per file, the path
//! then `section/package[,section/package…]`), kept as a compact sorted index.
//!
//! A full Contents is millions of lines; what a converted package can collide with or link
//! against is a small part of it, so only these keys are kept, built in the same pass that
//! derives the dist-info map (see [`crate::resolve::mapping::DistMap::add_contents_with`]):
//!
//! - `f <path>`: files whose exact path matters — programs (`usr/bin`, `usr/sbin`, `bin`,
//!   `sbin`), man pages (`usr/share/man/…`), configuration (`etc/…`), the shared data
//!   directories wheels install into ([`SHARED_DATA_DIRS`]: desktop entries, AppStream
//!   metadata, shell completions, Jupyter kernels and extensions, …), the interpreter's own
//!   tree (`usr/lib/python3.X/…` is kept only as a directory, see below), and in
//!   `usr/lib/python3/dist-packages` the top-level modules and the `__init__.py` of the
//!   first three package levels (a regular package always has one; a namespace package such
//!   as `google` does not, so its subpackages are what clash);
//! - `d <dir>`: top-level directories a package ships files under: `usr/share/<dir>`,
//!   `usr/lib/<dir>` (where private application trees live) and
//!   `usr/lib/python3/dist-packages/<top>`;
//! - `s <file name>`: shared libraries (`lib*.so*` in `usr/lib/<triplet>/`, `lib/<triplet>/`,
//!   `usr/lib/`, `lib/`) by file name, which is what `DT_NEEDED` names.
//!
//! The cached form is the sorted key lines themselves (`key<TAB>pkg,pkg`) after one header
//! line, so loading is one read and one scan for line starts; lookups are binary searches
//! over the text, with no per-entry allocation.

use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The cache bucket of path indexes (its own version: the format below may change
/// without touching the dist-info maps).
pub const PATHS_BUCKET: &str = "paths-v3";

const HEADER: &str = "py2deb path index v3";

/// Directories under `usr/share` that many packages install files into, each file by its
/// own name, where a wheel's data files (`.data/data/share/…`) land too. Their files are
/// indexed one by one (about 14 000 in bookworm); the icon, pixmap, locale and help trees
/// are left out (over 900 000 files, and wheels rarely install there), so a clash there
/// is only found between the packages of one build.
pub const SHARED_DATA_DIRS: &[&str] = &[
    "applications",
    "appdata",
    "metainfo",
    "bash-completion",
    "zsh",
    "fish",
    "jupyter",
    "mime",
    "dbus-1",
    "glib-2.0",
    "info",
];

/// Collects the interesting lines of one or more Contents indexes.
#[derive(Debug, Default)]
pub struct PathIndexBuilder {
    rows: BTreeMap<String, Vec<String>>,
}

/// Whether a file name is a shared library as the dynamic linker finds it (`libz.so.1`,
/// `libfoo-2.0.so`).
fn is_shared_library(name: &str) -> bool {
    // The dynamic loader itself is named in DT_NEEDED too (`ld-linux-x86-64.so.2`).
    (name.starts_with("lib") || name.starts_with("ld-"))
        && (name.ends_with(".so") || name.contains(".so."))
}

/// `x86_64-linux-gnu`, `aarch64-linux-gnu`, `arm-linux-gnueabihf`: a multiarch triplet.
fn is_triplet(dir: &str) -> bool {
    dir.contains("-linux-") || dir.ends_with("-gnu")
}

/// The index keys a Contents path contributes, or none.
pub fn keys_of(path: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let parts: Vec<&str> = path.split('/').collect();
    let file = parts.last().copied().unwrap_or("");
    match parts.as_slice() {
        ["usr", "bin" | "sbin", _] | ["bin" | "sbin", _] => keys.push(format!("f {path}")),
        ["etc", ..] => keys.push(format!("f {path}")),
        ["usr", "share", "man", ..] => {
            keys.push(format!("f {path}"));
            keys.push("d usr/share/man".to_owned());
        }
        ["usr", "lib", "python3", "dist-packages", top, rest @ ..] => {
            keys.push(format!("d usr/lib/python3/dist-packages/{top}"));
            // Three levels: a namespace's subpackage (`azure/synapse/accesscontrol`) is
            // what clashes with a distribution that ships the namespace as one package.
            let init_depth = matches!(
                rest,
                [] | ["__init__.py"] | [_, "__init__.py"] | [_, _, "__init__.py"]
            );
            if init_depth {
                keys.push(format!("f {path}"));
            }
        }
        ["usr", "share", dir, _, ..] => {
            if SHARED_DATA_DIRS.contains(dir) {
                keys.push(format!("f {path}"));
            }
            keys.push(format!("d usr/share/{dir}"));
        }
        ["usr", "lib", dir, _, ..] => {
            if !is_triplet(dir) {
                keys.push(format!("d usr/lib/{dir}"));
            }
            if is_triplet(dir) && parts.len() == 4 && is_shared_library(file) {
                keys.push(format!("s {file}"));
            }
        }
        ["usr", "lib" | "lib64", _] | ["lib" | "lib64", _] if is_shared_library(file) => {
            keys.push(format!("s {file}"));
        }
        ["lib", dir, _] if is_triplet(dir) && is_shared_library(file) => {
            keys.push(format!("s {file}"));
        }
        _ => {}
    }
    keys
}

impl PathIndexBuilder {
    pub fn new() -> PathIndexBuilder {
        PathIndexBuilder::default()
    }

    /// Offer one Contents entry: the path and its package field (`section/pkg,…`).
    pub fn add(&mut self, path: &str, packages: &str) {
        for key in keys_of(path) {
            let list = self.rows.entry(key).or_default();
            for pkg in packages.split(',') {
                let pkg = pkg.rsplit('/').next().unwrap_or(pkg).trim();
                // Package names are plain (Policy §5.6.1); anything else would break the
                // line format and is not a package apt could install anyway.
                if pkg.is_empty()
                    || !pkg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                {
                    continue;
                }
                // Most repeats are the same package's next file; the rest go in `finish`
                // (a linear scan here is quadratic for `d usr/share/man`, which thousands
                // of packages ship under).
                if list.last().is_none_or(|p| p != pkg) {
                    list.push(pkg.to_owned());
                }
            }
        }
    }

    /// The index, keyed to `key` (the hashes of the Contents it was built from).
    pub fn finish(self, key: &str) -> PathIndex {
        let mut text = format!("{HEADER}\tkey {key}\n");
        for (k, pkgs) in &self.rows {
            if pkgs.is_empty() || k.contains(['\t', '\n']) {
                continue;
            }
            text.push_str(k);
            text.push('\t');
            if pkgs.len() == 1 {
                text.push_str(&pkgs[0]);
            } else {
                // First occurrence order, each package once.
                let mut seen = std::collections::HashSet::with_capacity(pkgs.len());
                let unique: Vec<&str> = pkgs
                    .iter()
                    .map(String::as_str)
                    .filter(|p| seen.insert(*p))
                    .collect();
                text.push_str(&unique.join(","));
            }
            text.push('\n');
        }
        PathIndex::parse(text).expect("a freshly built path index is well formed")
    }
}

/// The sorted key lines of a path index (see the module documentation).
#[derive(Debug, Clone)]
pub struct PathIndex {
    text: String,
    /// Byte offset of each key line's start, in key order.
    lines: Vec<u32>,
}

impl PathIndex {
    /// Parse the cached form; refuses anything not written by [`PathIndexBuilder`].
    pub fn parse(text: String) -> Result<PathIndex> {
        if text.len() > u32::MAX as usize {
            bail!("path index is larger than 4 GiB");
        }
        let Some(first) = text.find('\n') else {
            bail!("path index has no header line");
        };
        if !text[..first].starts_with(HEADER) {
            bail!(
                "path index starts with {:?}, not `{HEADER}`",
                &text[..first.min(60)]
            );
        }
        let mut lines = Vec::with_capacity(text.len() / 40);
        let mut start = first + 1;
        let bytes = text.as_bytes();
        let mut previous: &[u8] = b"";
        while start < bytes.len() {
            let end = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let line = &bytes[start..end];
            let Some(tab) = memchr(b'\t', line) else {
                bail!("path index line {} has no tab", lines.len() + 2);
            };
            let key = &line[..tab];
            if key <= previous {
                bail!("path index is not sorted at line {}", lines.len() + 2);
            }
            previous = key;
            lines.push(start as u32);
            start = end + 1;
        }
        Ok(PathIndex { text, lines })
    }

    /// The cache key it was built for (the header's `key …`).
    pub fn key(&self) -> &str {
        let head = self.text.lines().next().unwrap_or("");
        head.split_once("\tkey ").map_or("", |(_, k)| k)
    }

    /// Read a cached index; `None` when it is missing, damaged or built for other indexes.
    pub fn load(path: &Path, key: &str) -> Option<PathIndex> {
        let text = std::fs::read_to_string(path).ok()?;
        let index = PathIndex::parse(text).ok()?;
        (index.key() == key).then_some(index)
    }

    /// The cached form.
    pub fn as_text(&self) -> &str {
        &self.text
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn line(&self, i: usize) -> (&str, &str) {
        let start = self.lines[i] as usize;
        let rest = &self.text[start..];
        let line = rest.split('\n').next().unwrap_or(rest);
        line.split_once('\t').unwrap_or((line, ""))
    }

    fn get(&self, key: &str) -> Vec<&str> {
        let found = self
            .lines
            .binary_search_by(|&off| {
                let rest = &self.text.as_bytes()[off as usize..];
                let tab = memchr(b'\t', rest).unwrap_or(rest.len());
                rest[..tab].cmp(key.as_bytes())
            })
            .ok();
        match found {
            Some(i) => self
                .line(i)
                .1
                .split(',')
                .filter(|p| !p.is_empty())
                .collect(),
            None => Vec::new(),
        }
    }

    /// Packages shipping exactly this file (relative path, no leading `/`).
    pub fn file(&self, path: &str) -> Vec<&str> {
        self.get(&format!("f {path}"))
    }

    /// Packages shipping files under this top-level directory.
    pub fn dir(&self, dir: &str) -> Vec<&str> {
        self.get(&format!("d {dir}"))
    }

    /// Packages shipping a shared library of this file name (a `DT_NEEDED` soname).
    pub fn soname(&self, name: &str) -> Vec<&str> {
        self.get(&format!("s {name}"))
    }
}

/// The vectorized search: a warm load scans every line of a ~17 MB index.
fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> PathIndex {
        let mut b = PathIndexBuilder::new();
        for (path, pkgs) in [
            ("usr/bin/black", "python/black"),
            ("usr/bin/tldr", "haskell/tldr"),
            ("usr/share/man/man1/tldr.1.gz", "haskell/tldr"),
            ("usr/share/tldr/pages/a.md", "haskell/tldr"),
            ("usr/lib/x86_64-linux-gnu/libz.so.1", "libs/zlib1g"),
            ("lib/x86_64-linux-gnu/libc.so.6", "libs/libc6"),
            ("lib64/ld-linux-x86-64.so.2", "libs/libc6"),
            ("usr/lib/python3.11/os.py", "python/libpython3.11-minimal"),
            ("usr/lib/python3/dist-packages/six.py", "python/python3-six"),
            (
                "usr/lib/python3/dist-packages/black/__init__.py",
                "python/python3-black,python/black",
            ),
            ("usr/lib/python3/dist-packages/black/x/y.py", "python/black"),
            ("etc/hosts", "admin/netbase"),
            ("usr/share/doc/zlib1g/copyright", "libs/zlib1g"),
        ] {
            b.add(path, pkgs);
        }
        b.finish("k1")
    }

    #[test]
    fn lookups_find_each_class() {
        let i = index();
        assert_eq!(i.file("usr/bin/black"), ["black"]);
        assert_eq!(i.file("usr/bin/nothing"), Vec::<&str>::new());
        assert_eq!(i.dir("usr/share/tldr"), ["tldr"]);
        assert_eq!(i.soname("libz.so.1"), ["zlib1g"]);
        assert_eq!(i.soname("libc.so.6"), ["libc6"]);
        assert_eq!(i.soname("ld-linux-x86-64.so.2"), ["libc6"]);
        assert_eq!(i.dir("usr/lib/python3.11"), ["libpython3.11-minimal"]);
        assert_eq!(
            i.file("usr/lib/python3/dist-packages/six.py"),
            ["python3-six"]
        );
        assert_eq!(
            i.file("usr/lib/python3/dist-packages/black/__init__.py"),
            ["python3-black", "black"]
        );
        assert!(i
            .file("usr/lib/python3/dist-packages/black/x/y.py")
            .is_empty());
        assert_eq!(i.file("etc/hosts"), ["netbase"]);
        assert_eq!(i.key(), "k1");
    }

    #[test]
    fn packages_are_listed_once_per_key_in_first_seen_order() {
        let mut b = PathIndexBuilder::new();
        for (path, pkg) in [
            ("usr/share/man/man1/a.1.gz", "doc/a"),
            ("usr/share/man/man1/b.1.gz", "doc/b"),
            ("usr/share/man/man1/a2.1.gz", "doc/a"),
            ("usr/share/man/man1/c.1.gz", "doc/c,doc/b"),
        ] {
            b.add(path, pkg);
        }
        assert_eq!(b.finish("k").dir("usr/share/man"), ["a", "b", "c"]);
    }

    #[test]
    fn namespace_subpackages_are_indexed_three_levels_deep() {
        // bookworm's python3-azure ships the azure namespace as one tree; a wheel of one
        // client (azure/synapse/accesscontrol) clashes at the third level.
        let mut b = PathIndexBuilder::new();
        let init = "usr/lib/python3/dist-packages/azure/synapse/accesscontrol/__init__.py";
        b.add(init, "python/python3-azure");
        b.add(
            "usr/lib/python3/dist-packages/azure/synapse/accesscontrol/x/__init__.py",
            "python/python3-azure",
        );
        let i = b.finish("k");
        assert_eq!(i.file(init), ["python3-azure"]);
        assert!(i
            .file("usr/lib/python3/dist-packages/azure/synapse/accesscontrol/x/__init__.py")
            .is_empty());
    }

    #[test]
    fn shared_data_files_are_indexed_one_by_one() {
        let mut b = PathIndexBuilder::new();
        b.add(
            "usr/share/applications/org.gnome.Glom.desktop",
            "gnome/glom",
        );
        b.add("usr/share/bash-completion/completions/tldr", "haskell/tldr");
        b.add("usr/share/icons/hicolor/48x48/apps/glom.png", "gnome/glom");
        let i = b.finish("k");
        assert_eq!(
            i.file("usr/share/applications/org.gnome.Glom.desktop"),
            ["glom"]
        );
        assert_eq!(
            i.file("usr/share/bash-completion/completions/tldr"),
            ["tldr"]
        );
        // The icon tree is too large to keep file by file; only its directory is known.
        assert!(i
            .file("usr/share/icons/hicolor/48x48/apps/glom.png")
            .is_empty());
        assert_eq!(i.dir("usr/share/icons"), ["glom"]);
        assert_eq!(i.dir("usr/share/applications"), ["glom"]);
    }

    #[test]
    fn cached_form_round_trips_and_refuses_damage() {
        let i = index();
        let again = PathIndex::parse(i.as_text().to_owned()).unwrap();
        assert_eq!(again.len(), i.len());
        assert_eq!(again.soname("libz.so.1"), ["zlib1g"]);
        let unsorted = format!("{HEADER}\tkey k\nf b\tx\nf a\ty\n");
        assert!(PathIndex::parse(unsorted).is_err());
        assert!(PathIndex::parse("garbage\n".into()).is_err());
        assert!(PathIndex::parse(format!("{HEADER}\tkey k\nno tab here\n")).is_err());
    }

    #[test]
    fn hostile_contents_package_names_are_dropped() {
        let mut b = PathIndexBuilder::new();
        b.add("usr/bin/x", "admin/ok,admin/bad\tname,admin/a\nb");
        let i = b.finish("k");
        assert_eq!(i.file("usr/bin/x"), ["ok"]);
    }
}
