//! Debian package relations (Debian Policy §7.1): `pkg:any (>= 1.0~), a | b`.
//!
//! Built from typed values only, so no metadata text can smuggle syntax into a field.

use std::fmt;
use std::str::FromStr;

/// A version comparison operator as dpkg spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `<<`
    Lt,
    /// `<=`
    Le,
    /// `=`
    Eq,
    /// `>=`
    Ge,
    /// `>>`
    Gt,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        })
    }
}

impl FromStr for Op {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "<<" => Op::Lt,
            "<=" => Op::Le,
            "=" => Op::Eq,
            ">=" => Op::Ge,
            ">>" => Op::Gt,
            _ => {
                return Err(format!(
                    "unknown relation operator `{s}`: must be one of << <= = >= >>"
                ))
            }
        })
    }
}

impl Op {
    /// Does `cmp` (the ordering of a candidate version against the bound) satisfy this operator?
    pub fn accepts(self, cmp: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Lt => cmp == Less,
            Op::Le => cmp != Greater,
            Op::Eq => cmp == Equal,
            Op::Ge => cmp != Less,
            Op::Gt => cmp == Greater,
        }
    }
}

/// One package with an optional architecture qualifier and version constraint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dep {
    pub package: String,
    /// `any` in `python3:any`.
    pub arch_qualifier: Option<String>,
    pub constraint: Option<(Op, String)>,
}

impl Dep {
    pub fn new(package: impl Into<String>) -> Self {
        Dep {
            package: package.into(),
            arch_qualifier: None,
            constraint: None,
        }
    }
    pub fn with(package: impl Into<String>, op: Op, version: impl Into<String>) -> Self {
        Dep {
            package: package.into(),
            arch_qualifier: None,
            constraint: Some((op, version.into())),
        }
    }
    pub fn any_arch(mut self) -> Self {
        self.arch_qualifier = Some("any".into());
        self
    }
}

impl fmt::Display for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.package)?;
        if let Some(q) = &self.arch_qualifier {
            write!(f, ":{q}")?;
        }
        if let Some((op, v)) = &self.constraint {
            write!(f, " ({op} {v})")?;
        }
        Ok(())
    }
}

/// `a | b | c`: any one of these satisfies the relation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Alternatives(pub Vec<Dep>);

impl fmt::Display for Alternatives {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// A comma-separated relation field: every group must be satisfied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Relations(pub Vec<Alternatives>);

impl Relations {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Add a single-package group.
    pub fn push(&mut self, dep: Dep) {
        self.push_group(Alternatives(vec![dep]));
    }
    /// Add a group unless an identical one is already present (dpkg accepts duplicates,
    /// lintian does not like them).
    pub fn push_group(&mut self, group: Alternatives) {
        if !self.0.contains(&group) {
            self.0.push(group);
        }
    }
    pub fn extend(&mut self, other: Relations) {
        for g in other.0 {
            self.push_group(g);
        }
    }
}

impl fmt::Display for Relations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, g) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{g}")?;
        }
        Ok(())
    }
}

fn parse_dep(s: &str) -> Result<Dep, String> {
    let s = s.trim();
    let (head, constraint) = match s.find('(') {
        Some(i) => {
            let inner = s[i + 1..]
                .strip_suffix(')')
                .ok_or_else(|| format!("relation `{s}` has an unclosed `(`"))?
                .trim();
            let split = inner
                .find(|c: char| !matches!(c, '<' | '>' | '='))
                .ok_or_else(|| format!("relation `{s}` has no version after the operator"))?;
            let op: Op = inner[..split].parse()?;
            let ver = inner[split..].trim();
            if ver.is_empty() {
                return Err(format!("relation `{s}` has no version after the operator"));
            }
            (s[..i].trim(), Some((op, ver.to_owned())))
        }
        None => (s, None),
    };
    let (package, arch_qualifier) = match head.split_once(':') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (head, None),
    };
    if package.is_empty()
        || !package
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
    {
        return Err(format!(
            "`{package}` is not a Debian package name (lowercase letters, digits, + - .)"
        ));
    }
    Ok(Dep {
        package: package.to_owned(),
        arch_qualifier,
        constraint,
    })
}

impl FromStr for Relations {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = Relations::default();
        for group in s.split(',').map(str::trim).filter(|g| !g.is_empty()) {
            let alts = group
                .split('|')
                .map(parse_dep)
                .collect::<Result<Vec<_>, _>>()?;
            out.0.push(Alternatives(alts));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in [
            "python3:any",
            "python3 (>= 3.11~), python3 (<< 3.12)",
            "python3-foo (<< 2.0~) | python3-foo (>> 2.0), libc6 (>= 2.17)",
        ] {
            let r: Relations = s.parse().unwrap();
            assert_eq!(r.to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_names_and_operators() {
        assert!("Python3".parse::<Relations>().is_err());
        assert!("foo (< 1)".parse::<Relations>().is_err());
        assert!("foo (>= )".parse::<Relations>().is_err());
    }

    #[test]
    fn duplicates_are_dropped() {
        let mut r = Relations::default();
        r.push(Dep::new("a"));
        r.push(Dep::new("a"));
        assert_eq!(r.to_string(), "a");
    }
}
