//! The Python project name, normalized once by PEP 503 so two spellings of one project
//! are the same value wherever names are compared, looked up or keyed.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

/// A project name in PEP 503 normal form: lowercase, every run of `-`, `_`, `.` one `-`.
///
/// Built either by parsing ([`FromStr`], which also checks the PEP 508 name rules) or by
/// [`PackageName::normalize`] for strings that are names by where they come from. Hash,
/// equality and order are those of the normalized `str`, so a map keyed by `PackageName`
/// can be looked up with the `&str` of a name that is already normalized.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(String);

/// A string that is not a PEP 508 project name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid Python project name: it must be ASCII letters, digits, `-`, `_` \
     and `.`, and start and end with a letter or digit"
)]
pub struct InvalidPackageName(pub String);

impl PackageName {
    /// Normalize without validating, for names read from places that already hold a name
    /// (a requirement, a wheel file name, the user's own configuration) and that the
    /// caller only compares or looks up: an odd spelling then simply matches nothing.
    pub fn normalize(name: &str) -> PackageName {
        let mut out = String::with_capacity(name.len());
        let mut in_run = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !in_run {
                    out.push('-');
                }
                in_run = true;
            } else {
                out.push(c.to_ascii_lowercase());
                in_run = false;
            }
        }
        PackageName(out)
    }

    /// Whether `name` follows PEP 508: ASCII letters, digits and `-_.`, beginning and
    /// ending with a letter or digit.
    pub fn is_valid(name: &str) -> bool {
        let b = name.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The spelling of `.dist-info` directories and wheel file names: `-` becomes `_`.
    pub fn as_dist_info_name(&self) -> String {
        self.0.replace('-', "_")
    }
}

impl FromStr for PackageName {
    type Err = InvalidPackageName;

    fn from_str(s: &str) -> Result<PackageName, InvalidPackageName> {
        if PackageName::is_valid(s) {
            Ok(PackageName::normalize(s))
        } else {
            Err(InvalidPackageName(s.to_owned()))
        }
    }
}

impl From<&pep508_rs::PackageName> for PackageName {
    /// pep508_rs names are normalized by the same rule already.
    fn from(name: &pep508_rs::PackageName) -> PackageName {
        PackageName(name.as_ref().to_owned())
    }
}

impl From<pep508_rs::PackageName> for PackageName {
    fn from(name: pep508_rs::PackageName) -> PackageName {
        PackageName::from(&name)
    }
}

impl From<PackageName> for String {
    fn from(name: PackageName) -> String {
        name.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Deref for PackageName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for PackageName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for PackageName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for PackageName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for PackageName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for PackageName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<PackageName> for str {
    fn eq(&self, other: &PackageName) -> bool {
        self == other.0
    }
}

impl PartialEq<PackageName> for &str {
    fn eq(&self, other: &PackageName) -> bool {
        *self == other.0
    }
}

impl PartialEq<PackageName> for String {
    fn eq(&self, other: &PackageName) -> bool {
        *self == other.0
    }
}

impl serde::Serialize for PackageName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PackageName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PackageName, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A choice of projects as pip's `--no-binary` and `--only-binary` take it: names, `:all:`
/// for every project, `:none:` to forget what came before (a requirement file can reset
/// the command line's list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projects {
    all: bool,
    names: std::collections::BTreeSet<PackageName>,
}

impl Projects {
    /// The projects of `items` (each possibly a comma-separated list), in order; `option`
    /// names where they came from for the error.
    pub fn parse<'a>(
        items: impl IntoIterator<Item = &'a str>,
        option: &str,
    ) -> Result<Projects, InvalidProjects> {
        let mut out = Projects::default();
        for item in items.into_iter().flat_map(|i| i.split(',')).map(str::trim) {
            match item {
                "" => {}
                ":all:" => out.all = true,
                ":none:" => out = Projects::default(),
                name => {
                    let name = name
                        .parse()
                        .map_err(|e: InvalidPackageName| InvalidProjects {
                            option: option.to_owned(),
                            name: e.0,
                        })?;
                    out.names.insert(name);
                }
            }
        }
        Ok(out)
    }

    /// Does the choice include `name`?
    pub fn contains(&self, name: &PackageName) -> bool {
        self.all || self.names.contains(name)
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.names.is_empty()
    }

    /// Back in the option's own spelling (`:all:` or the names, comma-separated).
    pub fn to_option_value(&self) -> String {
        if self.all {
            return ":all:".to_owned();
        }
        let names: Vec<&str> = self.names.iter().map(PackageName::as_str).collect();
        names.join(",")
    }
}

/// A `--no-binary`/`--only-binary` value that names no project.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{option} {name:?}: not a project name; give comma-separated project names, `:all:` or \
     `:none:`"
)]
pub struct InvalidProjects {
    pub option: String,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    #[test]
    fn normalizes() {
        for (raw, want) in [
            ("Foo.Bar__baz", "foo-bar-baz"),
            ("A-_-b", "a-b"),
            ("Foo.Bar__baz-Qux", "foo-bar-baz-qux"),
            ("typing_extensions", "typing-extensions"),
            ("zope.interface", "zope-interface"),
            ("a-_.b", "a-b"),
            ("already-normal", "already-normal"),
        ] {
            assert_eq!(PackageName::normalize(raw).as_str(), want, "{raw}");
            assert_eq!(raw.parse::<PackageName>().unwrap().as_str(), want, "{raw}");
        }
    }

    #[test]
    fn spellings_are_one_value() {
        assert_eq!(
            "Python_Slugify".parse::<PackageName>().unwrap(),
            PackageName::normalize("python.slugify")
        );
    }

    #[test]
    fn refuses_invalid_names_quoting_them() {
        for bad in ["", "-foo", "foo_", ".x", "foo bar", "naïve", "a/b", "a+b"] {
            let e = bad.parse::<PackageName>().unwrap_err();
            assert_eq!(e, InvalidPackageName(bad.to_owned()));
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn maps_look_up_by_str() {
        let mut h = HashMap::new();
        h.insert(PackageName::normalize("Zope.Interface"), 1);
        assert_eq!(h.get("zope-interface"), Some(&1));
        assert_eq!(h.get("Zope.Interface"), None);
        let mut b = BTreeMap::new();
        b.insert(PackageName::normalize("typing_extensions"), 2);
        assert_eq!(b.get("typing-extensions"), Some(&2));
    }

    #[test]
    fn from_pep508_and_as_dist_info() {
        let p = pep508_rs::PackageName::from_str("Foo.Bar").unwrap();
        let n = PackageName::from(&p);
        assert_eq!(n, "foo-bar");
        assert_eq!(n.as_dist_info_name(), "foo_bar");
        assert_eq!(n.to_string(), "foo-bar");
    }

    #[test]
    fn serde_as_a_string() {
        let n = PackageName::normalize("A_b");
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"a-b\"");
        let back: PackageName = serde_json::from_str("\"A.B\"").unwrap();
        assert_eq!(back, "a-b");
        assert!(serde_json::from_str::<PackageName>("\"-x\"").is_err());
    }

    #[test]
    fn project_choices_follow_pip() {
        let p = Projects::parse(["Foo_Bar,baz", "zope.interface"], "--no-binary").unwrap();
        assert!(p.contains(&"foo-bar".parse().unwrap()));
        assert!(p.contains(&PackageName::normalize("Zope_Interface")));
        assert!(!p.contains(&PackageName::normalize("other")));
        assert_eq!(p.to_option_value(), "baz,foo-bar,zope-interface");
        let all = Projects::parse([":all:"], "--no-binary").unwrap();
        assert!(all.contains(&PackageName::normalize("anything")));
        assert_eq!(all.to_option_value(), ":all:");
        let reset = Projects::parse([":all:,a", ":none:", "b"], "--only-binary").unwrap();
        assert!(!reset.contains(&PackageName::normalize("a")));
        assert!(reset.contains(&PackageName::normalize("b")));
        assert!(Projects::parse(["", " "], "--no-binary")
            .unwrap()
            .is_empty());
        let err = Projects::parse(["ok,-bad"], "--only-binary").unwrap_err();
        assert_eq!(err.name, "-bad");
        assert!(err
            .to_string()
            .starts_with("--only-binary \"-bad\": not a project name"));
    }
}
