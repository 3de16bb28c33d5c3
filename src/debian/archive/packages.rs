//! The target's binary package universe in memory: one compact sorted text, indexed by
//! package name, parsed per package only when asked (fields as `Packages` files carry
//! them, Debian Policy §5.3).
//!
//! A Debian release lists 60 000+ binary packages, and a build looks at a few dozen of
//! them. Turning every stanza into owned strings and hash-map entries cost more than the
//! rest of a small build together (allocation, hashing, and freeing it all at exit), so
//! the universe is kept as the text of its compact cache: one line per package version,
//! sorted by name, in one allocation. Loading only finds where each name's lines start;
//! [`PackageVersion`]s are made the first time a name is looked up, and the provider map
//! the first time a virtual package is asked about.

use super::relation_names;
use crate::debian::deb822;
use std::collections::BTreeMap;
use std::sync::OnceLock;

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

/// The lines of one package name in [`Archive::text`].
#[derive(Debug, Clone)]
struct Group {
    /// Byte range of the name.
    name: (u32, u32),
    /// Byte range of the group's lines (each ending in `\n`).
    lines: (u32, u32),
    versions: OnceLock<Vec<PackageVersion>>,
}

/// Every binary package the target can install, by name.
#[derive(Debug, Default, Clone)]
pub struct Archive {
    /// Compact lines
    /// `name\tversion\tarch\tprovides\tdepends\tpre-depends\tbreaks\tpriority\tsource`
    /// (source empty when it is the package's own name),
    /// sorted by name (bytewise), versions of one name in the order the indexes listed them.
    text: String,
    /// Where the lines start: one per name, in the text's order.
    groups: Vec<Group>,
    /// The provider section that follows the package lines after an empty line:
    /// `virtual\tprovider,provider`, sorted by virtual name, precomputed so that asking
    /// who provides a name does not read every package.
    provided: Vec<Provided>,
    /// Human-readable list of the indexes this was read from.
    pub sources: Vec<String>,
}

/// One line of the provider section.
#[derive(Debug, Clone)]
struct Provided {
    name: (u32, u32),
    list: (u32, u32),
    providers: OnceLock<Vec<String>>,
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
            .groups
            .iter()
            .flat_map(|g| {
                let name = self.slice(g.name).to_owned();
                self.slice(g.lines)
                    .lines()
                    .map(move |l| Row {
                        name: name.clone(),
                        line: format!("{l}\n"),
                    })
                    .collect::<Vec<_>>()
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
        let mut last_name = "";
        for r in &rows {
            if r.name != last_name {
                seen.clear();
                last_name = &r.name;
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
        let mut section = String::from("\n");
        for (virt, by) in provided {
            section.push_str(virt);
            section.push('\t');
            section.push_str(&by.join(","));
            section.push('\n');
        }
        text.push_str(&section);
        Archive::from_compact(text, 0).expect("rows written sorted and well-formed")
    }

    /// Index a compact text whose lines start at `start`; `None` when it is not sorted
    /// or a line is malformed (a damaged cache is then rebuilt from the indexes).
    pub(super) fn from_compact(text: String, start: usize) -> Option<Archive> {
        if text.len() > u32::MAX as usize || !text.ends_with('\n') && text.len() > start {
            return None;
        }
        let mut groups: Vec<Group> = Vec::new();
        let bytes = text.as_bytes();
        let mut at = start;
        while at < bytes.len() {
            if bytes[at] == b'\n' {
                at += 1;
                break;
            }
            let end = at + memchr::memchr(b'\n', &bytes[at..])? + 1;
            let tab = at + memchr::memchr(b'\t', &bytes[at..end])?;
            // A short line (a cache cut off mid-write and patched up) parses with empty
            // fields; only the name and the order matter for finding things.
            if tab == at {
                return None;
            }
            let name = &bytes[at..tab];
            match groups.last_mut() {
                Some(g) if &bytes[g.name.0 as usize..g.name.1 as usize] == name => {
                    g.lines.1 = end as u32;
                }
                Some(g) if &bytes[g.name.0 as usize..g.name.1 as usize] > name => return None,
                _ => groups.push(Group {
                    name: (at as u32, tab as u32),
                    lines: (at as u32, end as u32),
                    versions: OnceLock::new(),
                }),
            }
            at = end;
        }
        let mut provided: Vec<Provided> = Vec::new();
        while at < bytes.len() {
            let end = at + memchr::memchr(b'\n', &bytes[at..])? + 1;
            let tab = at + memchr::memchr(b'\t', &bytes[at..end])?;
            let name = &bytes[at..tab];
            if tab == at || bytes[tab + 1..end].contains(&b'\t') {
                return None;
            }
            if let Some(p) = provided.last() {
                if &bytes[p.name.0 as usize..p.name.1 as usize] >= name {
                    return None;
                }
            }
            provided.push(Provided {
                name: (at as u32, tab as u32),
                list: (tab as u32 + 1, end as u32 - 1),
                providers: OnceLock::new(),
            });
            at = end;
        }
        Some(Archive {
            text,
            groups,
            provided,
            sources: Vec::new(),
        })
    }

    /// The compact text (for the cache file): package lines, an empty line, providers.
    pub(super) fn compact_lines(&self) -> &str {
        let start = self.groups.first().map_or_else(
            || {
                self.provided
                    .first()
                    .map_or(self.text.len(), |p| p.name.0 as usize - 1)
            },
            |g| g.lines.0 as usize,
        );
        &self.text[start..]
    }

    fn slice(&self, r: (u32, u32)) -> &str {
        &self.text[r.0 as usize..r.1 as usize]
    }

    fn group(&self, name: &str) -> Option<&Group> {
        self.groups
            .binary_search_by(|g| self.slice(g.name).as_bytes().cmp(name.as_bytes()))
            .ok()
            .map(|i| &self.groups[i])
    }

    fn group_versions<'s>(&'s self, g: &'s Group) -> &'s [PackageVersion] {
        g.versions
            .get_or_init(|| self.slice(g.lines).lines().map(parse_line).collect())
    }

    /// Every version of `name` the target's indexes list.
    pub fn versions(&self, name: &str) -> &[PackageVersion] {
        self.group(name)
            .map(|g| self.group_versions(g))
            .unwrap_or(&[])
    }

    /// Does a real (not only virtual) package of this name exist?
    pub fn contains(&self, name: &str) -> bool {
        self.group(name).is_some()
    }

    /// The version apt would install by default: the highest (dpkg ordering).
    pub fn newest(&self, name: &str) -> Option<&PackageVersion> {
        self.versions(name)
            .iter()
            .max_by(|a, b| super::compare_debian(&a.version, &b.version))
    }

    /// Real packages that list `name` in Provides.
    pub fn providers(&self, name: &str) -> &[String] {
        let Ok(i) = self
            .provided
            .binary_search_by(|p| self.slice(p.name).as_bytes().cmp(name.as_bytes()))
        else {
            return &[];
        };
        let p = &self.provided[i];
        p.providers
            .get_or_init(|| self.slice(p.list).split(',').map(str::to_owned).collect())
    }

    /// Number of distinct package names.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Packages whose Depends name `package` (only when loaded with `with_depends`):
    /// what may break if a package of that name is replaced. Reads the raw lines, so
    /// asking does not parse the whole universe.
    pub fn reverse_depends(&self, package: &str) -> Vec<String> {
        // Names come out in the text's (sorted) order.
        self.groups
            .iter()
            .filter(|g| {
                self.slice(g.lines).lines().any(|l| {
                    let depends = l.split('\t').nth(4).unwrap_or("");
                    relation_names(depends).any(|name| name == package)
                })
            })
            .map(|g| self.slice(g.name).to_owned())
            .collect()
    }

    /// The newest version of every package, by name (only meaningful for relations when
    /// loaded with `with_depends`).
    pub fn newest_of_each(&self) -> impl Iterator<Item = (&str, &PackageVersion)> {
        self.groups.iter().filter_map(|g| {
            self.group_versions(g)
                .iter()
                .max_by(|a, b| super::compare_debian(&a.version, &b.version))
                .map(|v| (self.slice(g.name), v))
        })
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
        assert_eq!(one.compact_lines(), both.compact_lines());
    }

    #[test]
    fn compact_text_round_trips_and_damage_is_refused() {
        let a = Archive::from_packages([TWO_LISTS.0.as_bytes()], true);
        let text = a.compact_lines().to_owned();
        let b = Archive::from_compact(text.clone(), 0).unwrap();
        assert_eq!(b.versions("b"), a.versions("b"));
        assert_eq!(b.providers("v"), ["b"]);
        assert_eq!(b.compact_lines(), text);
        // Out of order, a line without a name, an unterminated line: all refused.
        let swapped: String = text
            .lines()
            .filter(|l| !l.is_empty() && l.split('\t').count() == 9)
            .rev()
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(Archive::from_compact(swapped, 0).is_none());
        assert!(Archive::from_compact("\t1\tall\t\t\t\t\t\n".into(), 0).is_none());
        assert!(Archive::from_compact(text.trim_end().to_owned(), 0).is_none());
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
            .compact_lines()
            .lines()
            .any(|l| l.starts_with("sphinx\t") && l.ends_with('\t')));
        let again = Archive::from_compact(a.compact_lines().to_owned(), 0).unwrap();
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
