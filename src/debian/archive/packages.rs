//! The target's binary package universe: one compact sorted text, searched in place by
//! package name, parsed per package only when asked (fields as `Packages` files carry
//! them, Debian Policy §5.3).
//!
//! A Debian release lists 60 000+ binary packages, and a build looks at a few dozen of
//! them. Turning every stanza into owned strings and hash-map entries cost more than the
//! rest of a small build together, and so did reading the cached text and finding its
//! line starts; so the universe is the text of its compact cache, memory-mapped: one line
//! per package version, sorted by name, then the providers of each virtual name. A lookup
//! bisects the lines ([`super::lines`]); [`PackageVersion`]s are made the first time a
//! name is asked about and kept for the rest of the run.

use super::lines::{self, Bytes};
use super::relation_names;
use crate::debian::deb822;
use elsa::sync::FrozenMap;
use std::collections::BTreeMap;
use std::ops::Range;

/// The compact cache's format; a file in another (older) format is rebuilt.
const COMPACT_FORMAT: &str = "packages-v5";

/// One version of a binary package as a `Packages` stanza describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageVersion {
    /// Full Debian version (`1:2.0-3`).
    pub version: String,
    /// `all` or the architecture.
    pub arch: String,
    /// Names this package provides (version constraints dropped).
    pub provides: Vec<String>,
    /// The raw `Depends` field, when [`super::ArchiveOptions::with_depends`] was set.
    pub depends: Option<String>,
    /// The raw `Pre-Depends`, `Breaks` and `Priority` fields, with `Depends` (what a
    /// replacement of another package must keep satisfied).
    pub pre_depends: Option<String>,
    pub breaks: Option<String>,
    pub priority: Option<String>,
    /// The source package it is built from (`Source`, without a version; the package's
    /// own name when the field is absent, Debian Policy §5.6.1): binary packages of one
    /// source are one upstream project split by the distribution (python3-sphinx and
    /// sphinx-common).
    pub source: String,
}

/// Every binary package the target can install, by name.
#[derive(Debug, Default, Clone)]
pub struct Archive {
    /// The compact text. Package lines
    /// `name\tversion\tarch\tprovides\tdepends\tpre-depends\tbreaks\tpriority\tsource`
    /// (source empty when it is the package's own name), sorted by name (bytewise),
    /// versions of one name in the order the indexes listed them; an empty line; then
    /// `virtual\tprovider,provider` sorted by virtual name, precomputed so that asking who
    /// provides a name does not read every package.
    text: Bytes,
    /// Where the package lines are in `text`.
    packages: Range<usize>,
    /// Where the provider lines are.
    provided: Range<usize>,
    /// Number of distinct package names.
    names: usize,
    /// Parsed versions, by the offset of the name's first line.
    versions: FrozenMap<usize, Vec<PackageVersion>>,
    /// Parsed provider lists, by the offset of their line.
    providers: FrozenMap<usize, Vec<String>>,
    /// Human-readable list of the indexes this was read from.
    pub sources: Vec<String>,
}

/// One package version while a universe is being put together.
struct Row {
    name: String,
    line: String,
}

impl Archive {
    /// An archive from the text of one or more `Packages` files (tests, fixtures).
    pub fn from_packages_text(text: &str) -> Archive {
        let mut a = Archive::default();
        a.add_packages(text.as_bytes(), true);
        a
    }

    /// An archive from several decompressed `Packages` files at once, in this order.
    pub fn from_packages<'a>(
        lists: impl IntoIterator<Item = &'a [u8]>,
        with_depends: bool,
    ) -> Archive {
        let mut rows = Vec::new();
        for data in lists {
            stanza_rows(data, with_depends, &mut rows);
        }
        Archive::from_rows(rows)
    }

    /// Add the stanzas of a decompressed `Packages` file. Only the fields the mapping
    /// needs are looked at. (Rebuilds the compact text: load several lists at once with
    /// [`Archive::from_packages`].)
    pub fn add_packages(&mut self, data: &[u8], with_depends: bool) {
        let mut rows: Vec<Row> = self
            .package_lines()
            .filter_map(|(_, line)| {
                let line = std::str::from_utf8(line).ok()?;
                let name = line.split('\t').next()?.to_owned();
                Some(Row {
                    name,
                    line: format!("{line}\n"),
                })
            })
            .collect();
        stanza_rows(data, with_depends, &mut rows);
        let sources = std::mem::take(&mut self.sources);
        *self = Archive::from_rows(rows);
        self.sources = sources;
    }

    fn from_rows(mut rows: Vec<Row>) -> Archive {
        // Stable: the versions of one name keep the order the indexes gave them.
        rows.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let mut text = String::with_capacity(rows.iter().map(|r| r.line.len()).sum());
        let mut seen: Vec<(&str, &str)> = Vec::new();
        let mut last_name = None;
        let mut names = 0;
        for r in &rows {
            if last_name != Some(&r.name) {
                seen.clear();
                last_name = Some(&r.name);
                names += 1;
            }
            // The same version shows up in several suites (bookworm and bookworm-updates).
            let mut f = r.line.split('\t').skip(1);
            let key = (f.next().unwrap_or(""), f.next().unwrap_or(""));
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            text.push_str(&r.line);
        }
        let mut provided: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for line in text.lines() {
            let mut f = line.split('\t');
            let name = f.next().unwrap_or("");
            for p in f.nth(2).unwrap_or("").split(',').filter(|p| !p.is_empty()) {
                let by = provided.entry(p).or_default();
                if !by.contains(&name) {
                    by.push(name);
                }
            }
        }
        let packages = 0..text.len();
        let mut section = String::from("\n");
        for (virt, by) in provided {
            section.push_str(virt);
            section.push('\t');
            section.push_str(&by.join(","));
            section.push('\n');
        }
        text.push_str(&section);
        let provided = packages.end + 1..text.len();
        Archive {
            text: Bytes::from(text.into_bytes()),
            packages,
            provided,
            names,
            ..Archive::default()
        }
    }

    /// The archive in a cache file's bytes (mapped): `None` unless its header is the one
    /// [`Archive::to_cache`] writes for `key` and exactly these bytes (another format,
    /// other indexes, a cut-off or extended file are all rebuilt from the indexes).
    pub(super) fn from_cache(text: Bytes, key: &str) -> Option<Archive> {
        let nl = memchr::memchr(b'\n', &text)?;
        let header = std::str::from_utf8(&text[..nl]).ok()?;
        let mut f = header.split('\t');
        if f.next()? != COMPACT_FORMAT || f.next()? != key {
            return None;
        }
        let mut number = || f.next()?.parse::<usize>().ok();
        let (names, package_bytes, body_bytes) = (number()?, number()?, number()?);
        let body = nl + 1;
        let separator = body.checked_add(package_bytes)?;
        if body.checked_add(body_bytes)? != text.len()
            || package_bytes >= body_bytes
            || text[separator] != b'\n'
            || package_bytes > 0 && text[separator - 1] != b'\n'
            || !text.ends_with(b"\n")
        {
            return None;
        }
        Some(Archive {
            packages: body..separator,
            provided: separator + 1..text.len(),
            text,
            names,
            ..Archive::default()
        })
    }

    /// The cache file's bytes: a header line `<format>\t<key>\t<names>\t<package-line
    /// bytes>\t<body bytes>`, then the compact text.
    pub(super) fn to_cache(&self, key: &str) -> Vec<u8> {
        let body = &self.text[self.packages.start..self.provided.end];
        let header = format!(
            "{COMPACT_FORMAT}\t{key}\t{}\t{}\t{}\n",
            self.names,
            self.packages.len(),
            body.len()
        );
        [header.as_bytes(), body].concat()
    }

    fn package_lines(&self) -> impl Iterator<Item = (usize, &[u8])> {
        lines::all(&self.text, self.packages.clone())
    }

    /// The versions of the name whose lines start at `at`.
    fn versions_at<'s>(&'s self, at: usize, name: &[u8]) -> &'s [PackageVersion] {
        if let Some(v) = self.versions.get(&at) {
            return v;
        }
        let parsed = lines::all(&self.text, at..self.packages.end)
            .take_while(|(_, line)| lines::key_of(line) == name)
            .filter_map(|(_, line)| std::str::from_utf8(line).ok())
            .map(parse_line)
            .collect();
        self.versions.insert(at, parsed)
    }

    /// Every version of `name` the target's indexes list.
    pub fn versions(&self, name: &str) -> &[PackageVersion] {
        match lines::find(&self.text, self.packages.clone(), name.as_bytes()) {
            Some((at, line)) => self.versions_at(at, lines::key_of(line)),
            None => &[],
        }
    }

    /// Does a real (not only virtual) package of this name exist?
    pub fn contains(&self, name: &str) -> bool {
        lines::find(&self.text, self.packages.clone(), name.as_bytes()).is_some()
    }

    /// The version apt would install by default: the highest (dpkg ordering).
    pub fn newest(&self, name: &str) -> Option<&PackageVersion> {
        self.versions(name)
            .iter()
            .max_by(|a, b| super::compare_debian(&a.version, &b.version))
    }

    /// Real packages that list `name` in Provides.
    pub fn providers(&self, name: &str) -> &[String] {
        let found = lines::find(&self.text, self.provided.clone(), name.as_bytes());
        let Some((at, line)) = found else {
            return &[];
        };
        if let Some(p) = self.providers.get(&at) {
            return p;
        }
        let list = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.split_once('\t'))
            .map_or(Vec::new(), |(_, list)| {
                list.split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            });
        self.providers.insert(at, list)
    }

    /// Number of distinct package names.
    pub fn len(&self) -> usize {
        self.names
    }

    pub fn is_empty(&self) -> bool {
        self.names == 0
    }

    /// Packages whose Depends name `package` (only when loaded with `with_depends`):
    /// what may break if a package of that name is replaced. Reads the raw lines, so
    /// asking does not parse the whole universe.
    pub fn reverse_depends(&self, package: &str) -> Vec<String> {
        // Names come out in the text's (sorted) order, each once.
        let mut out: Vec<String> = Vec::new();
        for (_, line) in self.package_lines() {
            let Ok(line) = std::str::from_utf8(line) else {
                continue;
            };
            let mut f = line.split('\t');
            let name = f.next().unwrap_or("");
            let depends = f.nth(3).unwrap_or("");
            if out.last().is_some_and(|n| n == name) {
                continue;
            }
            if relation_names(depends).any(|n| n == package) {
                out.push(name.to_owned());
            }
        }
        out
    }

    /// The newest version of every package, by name (only meaningful for relations when
    /// loaded with `with_depends`).
    pub fn newest_of_each(&self) -> impl Iterator<Item = (&str, &PackageVersion)> {
        let mut last: Option<&[u8]> = None;
        self.package_lines().filter_map(move |(at, line)| {
            let name = lines::key_of(line);
            if last == Some(name) {
                return None;
            }
            last = Some(name);
            let newest = self
                .versions_at(at, name)
                .iter()
                .max_by(|a, b| super::compare_debian(&a.version, &b.version))?;
            Some((std::str::from_utf8(name).ok()?, newest))
        })
    }

    /// The compact text (package lines, an empty line, providers), for tests.
    #[cfg(test)]
    fn body_text(&self) -> &str {
        std::str::from_utf8(&self.text[self.packages.start..self.provided.end]).unwrap()
    }
}

/// A compact line back into its fields.
fn parse_line(line: &str) -> PackageVersion {
    let mut f = line.split('\t');
    let name = f.next().unwrap_or("");
    let mut next = || f.next().unwrap_or("");
    let (version, arch, provides) = (next().to_owned(), next().to_owned(), next());
    let provides = provides
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let mut optional = || Some(next()).filter(|v| !v.is_empty()).map(str::to_owned);
    PackageVersion {
        version,
        arch,
        provides,
        depends: optional(),
        pre_depends: optional(),
        breaks: optional(),
        priority: optional(),
        source: optional().unwrap_or_else(|| name.to_owned()),
    }
}

/// The compact rows of a decompressed `Packages` file.
fn stanza_rows(data: &[u8], with_depends: bool, rows: &mut Vec<Row>) {
    for stanza in deb822::paragraphs(data) {
        let mut name: &[u8] = b"";
        let mut fields: [&[u8]; 8] = [b""; 8];
        for (k, v) in stanza.fields() {
            // dpkg writes these names in this case; matching on the exact bytes keeps
            // the loop cheap, and other spellings do not occur in archive indexes.
            let i = match k {
                b"Package" => {
                    name = v;
                    continue;
                }
                b"Version" => 0,
                b"Architecture" => 1,
                b"Provides" => 2,
                b"Source" => 7,
                _ if !with_depends => continue,
                b"Depends" => 3,
                b"Pre-Depends" => 4,
                b"Breaks" => 5,
                b"Priority" => 6,
                _ => continue,
            };
            fields[i] = v;
        }
        let name = clean(name);
        if name.is_empty() {
            continue;
        }
        let provides = relation_names(&clean(fields[2]))
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(",");
        let mut line = String::with_capacity(128);
        line.push_str(&name);
        for (i, v) in fields.iter().enumerate() {
            line.push('\t');
            if i == 2 {
                line.push_str(&provides);
            } else if i == 7 {
                // `Source: python-docutils (0.19+dfsg-6)`: the name is what relates
                // packages; the package's own name is left out to keep the text small.
                let source = String::from_utf8_lossy(v);
                let source = source.split_whitespace().next().unwrap_or("");
                if source != name {
                    line.push_str(&clean(source.as_bytes()));
                }
            } else {
                line.push_str(&clean(v));
            }
        }
        line.push('\n');
        rows.push(Row { name, line });
    }
}

/// A field value as one line without tabs (continuation lines of `Depends` are folded).
fn clean(v: &[u8]) -> String {
    let text = String::from_utf8_lossy(v);
    if !text.contains(['\t', '\n', '\r']) {
        return text.into_owned();
    }
    text.split(['\n', '\r'])
        .map(|l| l.trim_matches([' ', '\t']))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\t', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_LISTS: (&str, &str) = (
        "Package: b\nVersion: 1.0-1\nArchitecture: all\nProvides: v (= 1), w\nDepends: a (>= 2),\n c\n\n\
         Package: a\nVersion: 2.0-1\nArchitecture: amd64\nPriority: required\n",
        "Package: b\nVersion: 1.1-1\nArchitecture: all\nProvides: v\n\n\
         Package: a\nVersion: 2.0-1\nArchitecture: amd64\n",
    );

    #[test]
    fn lookups_and_duplicates_across_lists() {
        let a = Archive::from_packages([TWO_LISTS.0.as_bytes(), TWO_LISTS.1.as_bytes()], true);
        assert_eq!(a.len(), 2);
        // a 2.0-1 is listed twice (two suites) and kept once, the first listing's fields.
        assert_eq!(a.versions("a").len(), 1);
        assert_eq!(a.versions("a")[0].priority.as_deref(), Some("required"));
        let b: Vec<&str> = a.versions("b").iter().map(|v| v.version.as_str()).collect();
        assert_eq!(b, ["1.0-1", "1.1-1"]);
        assert_eq!(a.newest("b").unwrap().version, "1.1-1");
        assert_eq!(a.versions("b")[0].provides, ["v", "w"]);
        assert_eq!(a.versions("b")[0].depends.as_deref(), Some("a (>= 2), c"));
        assert_eq!(a.providers("v"), ["b"]);
        assert_eq!(a.providers("w"), ["b"]);
        assert!(a.providers("a").is_empty());
        assert!(a.contains("a") && !a.contains("v") && !a.contains("c"));
        assert_eq!(a.reverse_depends("a"), ["b"]);
        assert_eq!(a.reverse_depends("c"), ["b"]);
        let newest: Vec<(&str, &str)> = a
            .newest_of_each()
            .map(|(n, v)| (n, v.version.as_str()))
            .collect();
        assert_eq!(newest, [("a", "2.0-1"), ("b", "1.1-1")]);
    }

    #[test]
    fn add_packages_equals_loading_together() {
        let mut one = Archive::from_packages_text(TWO_LISTS.0);
        one.add_packages(TWO_LISTS.1.as_bytes(), true);
        let both = Archive::from_packages([TWO_LISTS.0.as_bytes(), TWO_LISTS.1.as_bytes()], true);
        assert_eq!(one.body_text(), both.body_text());
    }

    #[test]
    fn compact_text_round_trips_and_damage_is_refused() {
        let a = Archive::from_packages([TWO_LISTS.0.as_bytes()], true);
        let cache = a.to_cache("k1");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("packages.tsv");
        std::fs::write(&p, &cache).unwrap();
        let b = Archive::from_cache(Bytes::map(&p).unwrap(), "k1").unwrap();
        assert_eq!(b.versions("b"), a.versions("b"));
        assert_eq!(b.providers("v"), ["b"]);
        assert_eq!(b.len(), 2);
        assert_eq!(b.body_text(), a.body_text());
        assert_eq!(b.to_cache("k1"), cache);
        let load = |t: &[u8], key: &str| Archive::from_cache(Bytes::from(t.to_vec()), key);
        // Other indexes, cut off, extended, another format, no header: all rebuilt.
        assert!(load(&cache, "k2").is_none());
        assert!(load(&cache[..cache.len() - 1], "k1").is_none());
        assert!(load(&[&cache[..], b"zz\t1\n"].concat(), "k1").is_none());
        let v4 = String::from_utf8_lossy(&cache).replacen(COMPACT_FORMAT, "packages-v4", 1);
        assert!(load(v4.as_bytes(), "k1").is_none());
        assert!(load(b"", "k1").is_none());
        assert!(load(b"garbage", "k1").is_none());
        // A header whose section lengths do not meet the separating empty line.
        let text = a.body_text();
        let shifted = format!("{COMPACT_FORMAT}\tk1\t2\t{}\t{}\n{text}", 3, text.len());
        assert!(load(shifted.as_bytes(), "k1").is_none());
        // A line that is not UTF-8 is skipped, not trusted.
        let mut bad = cache.clone();
        let at = memchr::memmem::find(&bad, b"2.0-1").unwrap();
        bad[at] = 0xff;
        let c = load(&bad, "k1").unwrap();
        assert!(c.versions("a").is_empty());
        assert_eq!(c.newest("b").unwrap().version, "1.0-1");
    }

    #[test]
    fn every_name_of_a_large_universe_is_found() {
        // Names of varied lengths and several versions each, so the bisection lands in
        // lines of every size.
        let mut text = String::new();
        for i in 0..500 {
            let name = format!("p{}{}", i * 7919 % 1000, "x".repeat(i % 13));
            for v in 0..(i % 3 + 1) {
                text.push_str(&format!(
                    "Package: {name}\nVersion: {v}\nArchitecture: all\n\n"
                ));
            }
        }
        let a = Archive::from_packages_text(&text);
        assert_eq!(a.len(), 500);
        for i in 0..500 {
            let name = format!("p{}{}", i * 7919 % 1000, "x".repeat(i % 13));
            assert_eq!(a.versions(&name).len(), i % 3 + 1, "{name}");
            assert!(!a.contains(&format!("{name}-")));
        }
        assert_eq!(a.newest_of_each().count(), 500);
    }

    #[test]
    fn source_names_the_split_packages_of_one_upstream() {
        let a = Archive::from_packages_text(
            "Package: python3-sphinx\nVersion: 5.3.0-4\nArchitecture: all\nSource: sphinx\n\n\
             Package: sphinx-common\nVersion: 5.3.0-4\nArchitecture: all\nSource: sphinx\n\n\
             Package: docutils-common\nSource: python-docutils (0.19+dfsg-6)\nVersion: 0.19+dfsg-6+b1\nArchitecture: all\n\n\
             Package: sphinx\nVersion: 1\nArchitecture: all\n",
        );
        assert_eq!(a.newest("python3-sphinx").unwrap().source, "sphinx");
        assert_eq!(a.newest("sphinx-common").unwrap().source, "sphinx");
        // A binNMU names its source's version; only the name is kept.
        assert_eq!(
            a.newest("docutils-common").unwrap().source,
            "python-docutils"
        );
        // No field: the package is its own source, and the compact line leaves it out.
        assert_eq!(a.newest("sphinx").unwrap().source, "sphinx");
        assert!(a
            .body_text()
            .lines()
            .any(|l| l.starts_with("sphinx\t") && l.ends_with('\t')));
        let again = Archive::from_cache(Bytes::from(a.to_cache("k")), "k").unwrap();
        assert_eq!(again.newest("sphinx-common").unwrap().source, "sphinx");
    }

    #[test]
    fn hostile_packages_field_values_cannot_add_columns() {
        let a =
            Archive::from_packages_text("Package: x\tinjected\nVersion: 1\t2\nArchitecture: all\n");
        assert_eq!(a.len(), 1);
        assert_eq!(a.versions("x injected")[0].version, "1 2");
    }
}
