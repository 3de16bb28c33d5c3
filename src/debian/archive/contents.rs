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
//! line that gives the cache key, the number of lines and their length in bytes. Loading maps
//! the file and checks the header; lookups bisect the mapped lines in place
//! ([`super::lines`]), with no load-time scan and no per-entry allocation.

use super::lines::{self, Bytes};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The cache bucket of path indexes (its own version: the format below may change
/// without touching the dist-info maps).
pub const PATHS_BUCKET: &str = "paths-v4";

const HEADER: &str = "py2deb path index v4";

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
        let mut body = String::new();
        let mut count = 0usize;
        for (k, pkgs) in &self.rows {
            if pkgs.is_empty() || k.contains(['\t', '\n']) {
                continue;
            }
            count += 1;
            body.push_str(k);
            body.push('\t');
            if pkgs.len() == 1 {
                body.push_str(&pkgs[0]);
            } else {
                // First occurrence order, each package once.
                let mut seen = std::collections::HashSet::with_capacity(pkgs.len());
                let unique: Vec<&str> = pkgs
                    .iter()
                    .map(String::as_str)
                    .filter(|p| seen.insert(*p))
                    .collect();
                body.push_str(&unique.join(","));
            }
            body.push('\n');
        }
        let key: String = key.chars().filter(|c| !c.is_whitespace()).collect();
        let len = body.len();
        let text = format!("{HEADER}\tkey {key}\tlines {count}\tbytes {len}\n") + &body;
        PathIndex::from_bytes(Bytes::from(text.into_bytes()))
            .expect("a freshly built path index is well formed")
    }
}

/// The sorted key lines of a path index (see the module documentation).
#[derive(Debug, Clone)]
pub struct PathIndex {
    text: Bytes,
    /// Where the key lines start (after the header).
    body: usize,
    /// Number of key lines, as the header gives it.
    count: usize,
}

impl PathIndex {
    /// Take the cached form; refuses anything whose header is not one
    /// [`PathIndexBuilder`] writes for exactly these bytes (another format, a cut-off or
    /// extended file).
    pub fn from_bytes(text: Bytes) -> Result<PathIndex> {
        let Some(nl) = memchr(b'\n', &text) else {
            bail!("path index has no header line");
        };
        let header = std::str::from_utf8(&text[..nl]).unwrap_or("");
        let fields: Vec<&str> = header.split('\t').collect();
        let [format, key, lines, bytes] = fields[..] else {
            bail!(
                "path index starts with {:?}, not `{HEADER}`",
                &header[..header.len().min(60)]
            );
        };
        let count = lines.strip_prefix("lines ").and_then(|n| n.parse().ok());
        let len = bytes
            .strip_prefix("bytes ")
            .and_then(|n| n.parse::<usize>().ok());
        let (Some(count), Some(len)) = (count, len) else {
            bail!("path index header {header:?} is malformed");
        };
        if format != HEADER || !key.starts_with("key ") {
            bail!("path index is in the format {format:?}, not `{HEADER}`");
        }
        if nl + 1 + len != text.len() || len > 0 && !text.ends_with(b"\n") {
            bail!(
                "path index has {} bytes of lines but its header says {len}: it is damaged",
                text.len() - nl - 1
            );
        }
        Ok(PathIndex {
            text,
            body: nl + 1,
            count,
        })
    }

    /// Map a cached index without looking at its key (an offline run takes what it has).
    pub fn open(path: &Path) -> Result<PathIndex> {
        let text = Bytes::map(path).with_context(|| format!("cannot read {}", path.display()))?;
        PathIndex::from_bytes(text).with_context(|| format!("in {}", path.display()))
    }

    /// The cache key it was built for (the header's `key …`).
    pub fn key(&self) -> &str {
        let header = std::str::from_utf8(&self.text[..self.body - 1]).unwrap_or("");
        header
            .split('\t')
            .nth(1)
            .and_then(|k| k.strip_prefix("key "))
            .unwrap_or("")
    }

    /// Map a cached index; `None` when it is missing, damaged or built for other indexes.
    pub fn load(path: &Path, key: &str) -> Option<PathIndex> {
        let index = PathIndex::open(path).ok()?;
        (index.key() == key).then_some(index)
    }

    /// The cached form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn get(&self, key: &str) -> Vec<&str> {
        let lines = self.body..self.text.len();
        let Some((_, line)) = lines::find(&self.text, lines, key.as_bytes()) else {
            return Vec::new();
        };
        // A line that is not UTF-8 was not written by the builder: it names nothing.
        let Ok(line) = std::str::from_utf8(line) else {
            return Vec::new();
        };
        let packages = line.split_once('\t').map_or("", |(_, p)| p);
        packages.split(',').filter(|p| !p.is_empty()).collect()
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
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("paths.tsv");
        std::fs::write(&p, i.as_bytes()).unwrap();
        let again = PathIndex::load(&p, "k1").unwrap();
        assert_eq!(again.len(), i.len());
        let newlines = i.as_bytes().iter().filter(|&&b| b == b'\n').count();
        assert_eq!(
            again.len(),
            newlines - 1,
            "every line but the header is a key"
        );
        assert_eq!(again.soname("libz.so.1"), ["zlib1g"]);
        assert_eq!(again.file("etc/hosts"), ["netbase"]);
        assert!(
            PathIndex::load(&p, "k2").is_none(),
            "built for other indexes"
        );
        let bytes = |t: &[u8]| PathIndex::from_bytes(Bytes::from(t.to_vec()));
        // Cut off, extended, another format, no header: all refused.
        let text = i.as_bytes();
        assert!(bytes(&text[..text.len() - 1]).is_err());
        assert!(bytes(&[text, b"f z\tzz\n"].concat()).is_err());
        assert!(bytes(b"garbage\n").is_err());
        assert!(bytes(b"").is_err());
        let v3 = String::from_utf8_lossy(text).replace(HEADER, "py2deb path index v3");
        assert!(bytes(v3.as_bytes()).is_err());
        // A line that is not UTF-8 names no package.
        let mut bad = text.to_vec();
        let at = memchr::memmem::find(&bad, b"netbase").unwrap();
        bad[at] = 0xff;
        assert!(bytes(&bad).unwrap().file("etc/hosts").is_empty());
    }

    #[test]
    fn hostile_contents_package_names_are_dropped() {
        let mut b = PathIndexBuilder::new();
        b.add("usr/bin/x", "admin/ok,admin/bad\tname,admin/a\nb");
        let i = b.finish("k");
        assert_eq!(i.file("usr/bin/x"), ["ok"]);
    }
}
