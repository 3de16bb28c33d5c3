//! Owns the translation of PEP 440 versions and specifiers into Debian versions and relations,
//! following PEP 440 (version scheme, specifier semantics) and Debian Policy §5.6.12 (version
//! syntax and dpkg ordering); the relation syntax itself is §7.1 (see [`crate::debian::relation`]).
//!
//! # Versions
//!
//! [`deb_version`] preserves order: for versions whose release parts have the same length,
//! `a < b` in PEP 440 exactly when `deb_version(a) < deb_version(b)` for dpkg.
//!
//! | PEP 440              | Debian upstream version |
//! |----------------------|-------------------------|
//! | `1.0.dev1`           | `1.0~~dev1`             |
//! | `1.0a1.dev2`         | `1.0~a1~dev2`           |
//! | `1.0a1`              | `1.0~a1`                |
//! | `1.0a1.post2.dev3`   | `1.0~a1+post2~dev3`     |
//! | `1.0rc1`             | `1.0~rc1`               |
//! | `1.0`                | `1.0`                   |
//! | `1.0+ubuntu.1`       | `1.0+~ubuntu.1`         |
//! | `1.0.post1.dev2`     | `1.0+post1~dev2`        |
//! | `1.0.post1`          | `1.0+post1`             |
//! | `1!2.0`              | `1:2.0`                 |
//!
//! dpkg sorts `~` before everything, even the end of the string, so a dev release (`~~dev`)
//! sorts below every pre-release (`~a`, `~b`, `~rc`), which sort below the release; `+` sorts
//! after the end of the string, so post-releases sort above the release.
//!
//! Local labels (`+ubuntu.1`) are kept, behind `+~`: the version then sorts above its public
//! version and below its first post-release and any Debian repack such as `+dfsg`, which is
//! where PEP 440 puts it. Labels are rarely seen outside private indexes (PyPI refuses them),
//! and dpkg cannot reproduce PEP 440's ordering *between* two labels (numeric segments above
//! alphanumeric ones; digits inside an alphanumeric segment compared as text; it even holds
//! `abc` and `abc0` equal), so the order guarantee does not extend to comparing two labels of
//! the same public version, and `==1.0+abc` also accepts `1.0+abc0`.
//!
//! # Relations
//!
//! [`relations_for`] writes relations that accept exactly the versions a specifier set
//! contains (pre-releases allowed), whatever Debian revision the installed package carries
//! (`1.0-1`, `1.0-0py2deb1`). A revision makes a version *greater* than the bare upstream
//! version, so an upper bound is never `<= X` or `= X`: every interval is written half-open,
//! `>= lo` and `<< hi`, where `hi` is the Debian version of the first PEP 440 version *not*
//! accepted. For example `==1.0` is `>= 1.0, << 1.0+post0~dev0`, which also accepts Debian
//! repacks such as `1.0+dfsg-1`. A hole (`!=`) is one group of two alternatives on the same
//! package: `pkg (<< 1.0) | pkg (>= 1.0+post0~dev0)`.
//!
//! PEP 440's exclusive comparisons are honoured: `<2.0` excludes `2.0rc1` and `2.0.dev1`
//! (`<< 2.0~~dev0`), and `>1.0` excludes `1.0.post1` (`>= 1.0.~`, the first Debian version
//! above every post-release of `1.0` and below `1.0.1`). Two corners are not exact:
//!
//! * `>V` where V is a pre- or dev-release: the reference implementation (`packaging`) also
//!   rejects post-releases of *other* pre-releases of the same release (`>1.0a1` rejects
//!   `1.0a2.post1` and `1.0.post1`). Those form infinitely many holes, which no relation can
//!   list, and PEP 440 itself only forbids post-releases *of the given version*; py2deb rejects
//!   exactly those (`1.0a1.postN`).
//! * `<X.postN` rejects the dev-releases of every post-release up to N, one hole each; above
//!   [`POST_HOLES_MAX`] holes only the dev-releases of `X.postN` itself are rejected.
//!
//! Where the `pep440_rs` crate departs from PEP 440 for `<V` (it also rejects `2.0a1` for
//! `<2.0rc1`, and ignores epochs in that check), py2deb follows PEP 440 and `packaging`.
//!
//! # The trailing-zero gap
//!
//! PEP 440 treats `1.0` and `1.0.0` as equal; dpkg orders `1.0 < 1.0.0`, and no relation can
//! bridge that for every spelling at once. py2deb keeps the release exactly as the project
//! spells it (so py2deb's packages line up with Debian's own `python3-*` packages, which
//! use upstream's spelling too) and writes bounds in the specifier's spelling. Between two
//! spellings of the same release, dpkg then sees the longer one as slightly greater: `==1.0`
//! and `<=1.0` reject `1.0.0`, `>=1.0.0` rejects `1.0`, `>1.0` and `!=1.0` accept `1.0.0`.
//! Projects spell their own versions consistently, so this only matters when a requirement is
//! written with a different number of parts than the versions it meets.

use crate::debian::relation::{Alternatives, Dep, Op, Relations};
use pep440_rs::{Operator, Prerelease, Version, VersionSpecifier, VersionSpecifiers};

/// Above this many post-releases, `<X.postN` no longer lists a hole for the dev-releases of
/// each earlier post-release (see the module docs); a date-style `.post20240101` would
/// otherwise produce millions of groups.
pub const POST_HOLES_MAX: u64 = 16;

/// The Debian upstream version (with `N:` epoch if any) for a PEP 440 version.
/// `1.0rc1` → `1.0~rc1`, `1!2.0` → `1:2.0`, `1.0.post1` → `1.0+post1`, `1.0.dev1` → `1.0~~dev1`.
pub fn deb_version(v: &Version) -> String {
    let mut out = release_prefix(v);
    if let Some(pre) = v.pre() {
        out.push_str(&format!("~{pre}"));
    }
    if let Some(post) = v.post() {
        out.push_str(&format!("+post{post}"));
    }
    if let Some(dev) = v.dev() {
        // A dev-release of a pre- or post-release sits just below it (`~` after the number);
        // a dev-release of a plain release must also sort below that release's pre-releases,
        // hence the doubled `~~` which dpkg places before `~a`.
        if v.pre().is_none() && v.post().is_none() {
            out.push('~');
        }
        out.push_str(&format!("~dev{dev}"));
    }
    if !v.local().is_empty() {
        let label: Vec<String> = v.local().iter().map(ToString::to_string).collect();
        out.push_str("+~");
        out.push_str(&label.join("."));
    }
    out
}

/// Epoch and release only: `1:2.0` for `1!2.0rc1`.
fn release_prefix(v: &Version) -> String {
    let release: Vec<String> = v.release().iter().map(ToString::to_string).collect();
    let release = release.join(".");
    match v.epoch() {
        0 => release,
        epoch => format!("{epoch}:{release}"),
    }
}

/// The smallest PEP 440 version above `v` and above every local variant of `v`.
/// For `1.0` that is `1.0.post0.dev0`, for `1.0.post1` `1.0.post2.dev0`, for `1.0.dev1` `1.0.dev2`.
pub fn successor(v: &Version) -> Version {
    let v = v.clone().without_local();
    match (v.post(), v.dev()) {
        (_, Some(dev)) => v.with_dev(Some(dev.saturating_add(1))),
        (Some(post), None) => v.with_post(Some(post.saturating_add(1))).with_dev(Some(0)),
        (None, None) => v.with_post(Some(0)).with_dev(Some(0)),
    }
}

/// The first dev-release of `v`'s release (and epoch): the smallest version with that release.
fn first_of_release(v: &Version) -> Version {
    Version::new(v.release().iter().copied())
        .with_epoch(v.epoch())
        .with_dev(Some(0))
}

/// The first dev-release of the release after `prefix` at its last position: `1.2` → `1.3.dev0`.
/// Every release starting with `prefix` (of any length) sorts below it.
fn first_after_prefix(epoch: u64, prefix: &[u64]) -> Version {
    let mut next = prefix.to_vec();
    if let Some(last) = next.last_mut() {
        *last = last.saturating_add(1);
    }
    Version::new(next).with_epoch(epoch).with_dev(Some(0))
}

/// A Debian upper bound just above `deb` and all its Debian revisions, and below every other
/// version [`deb_version`] produces. Between the end of a string and a following letter dpkg
/// only has room for upper-case letters (PEP 440 normalises to lower case); a string ending in a
/// letter could continue with a digit run, so a `0` digit run comes first.
fn exact_upper(deb: &str) -> String {
    if deb.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{deb}A")
    } else {
        format!("{deb}0A")
    }
}

/// The Debian lower bound just above every post-release of `v`'s release (`1.0.~`): above
/// anything `+…`, below any longer release (`1.0.1`) and the next release.
fn after_release_posts(v: &Version) -> String {
    format!("{}.~", release_prefix(v))
}

fn ge(package: &str, v: impl Into<String>) -> Dep {
    Dep::with(package, Op::Ge, v)
}

fn lt(package: &str, v: impl Into<String>) -> Dep {
    Dep::with(package, Op::Lt, v)
}

/// A group rejecting `[lo, hi)`.
fn hole(package: &str, lo: impl Into<String>, hi: impl Into<String>) -> Alternatives {
    Alternatives(vec![lt(package, lo), ge(package, hi)])
}

/// The Debian relations on `package` that accept exactly the versions `spec` contains.
pub fn relations_for(package: &str, spec: &VersionSpecifiers) -> Relations {
    let mut out = Relations::default();
    if spec.is_empty() {
        out.push(Dep::new(package));
        return out;
    }
    for clause in spec.iter() {
        for group in clause_groups(package, clause) {
            out.push_group(group);
        }
    }
    out
}

/// The groups (all required) for one specifier clause.
fn clause_groups(package: &str, clause: &VersionSpecifier) -> Vec<Alternatives> {
    let v = clause.version();
    let single = |d: Dep| Alternatives(vec![d]);
    let deb = deb_version;
    match clause.operator() {
        Operator::Equal if v.is_local() => {
            let exact = deb(v);
            vec![
                single(ge(package, &exact)),
                single(lt(package, exact_upper(&exact))),
            ]
        }
        // `===` compares the normalised strings, so only this very spelling matches.
        Operator::ExactEqual => {
            let exact = deb(v);
            vec![
                single(ge(package, &exact)),
                single(lt(package, exact_upper(&exact))),
            ]
        }
        // Candidates' local labels are ignored: `==1.0` matches `1.0+abc`.
        Operator::Equal => vec![
            single(ge(package, deb(v))),
            single(lt(package, deb(&successor(v)))),
        ],
        Operator::NotEqual if v.is_local() => {
            let exact = deb(v);
            let upper = exact_upper(&exact);
            vec![hole(package, exact, upper)]
        }
        Operator::NotEqual => vec![hole(package, deb(v), deb(&successor(v)))],
        Operator::EqualStar => vec![
            single(ge(package, deb(&first_of_release(v)))),
            single(lt(
                package,
                deb(&first_after_prefix(v.epoch(), v.release())),
            )),
        ],
        Operator::NotEqualStar => vec![hole(
            package,
            deb(&first_of_release(v)),
            deb(&first_after_prefix(v.epoch(), v.release())),
        )],
        Operator::TildeEqual => {
            // `~=1.4.5` is `>=1.4.5, ==1.4.*`; the parser guarantees two release parts.
            let prefix = &v.release()[..v.release().len().saturating_sub(1)];
            vec![
                single(ge(package, deb(v))),
                single(lt(package, deb(&first_after_prefix(v.epoch(), prefix)))),
            ]
        }
        Operator::GreaterThanEqual => vec![single(ge(package, deb(v)))],
        Operator::LessThanEqual => vec![single(lt(package, deb(&successor(v))))],
        Operator::LessThan => less_than(package, v),
        Operator::GreaterThan => greater_than(package, v),
    }
}

/// `<V`: below V, and unless V is itself a pre- or dev-release, none of the pre- or
/// dev-releases of V's release (PEP 440 "exclusive ordered comparison").
fn less_than(package: &str, v: &Version) -> Vec<Alternatives> {
    let single = |d: Dep| Alternatives(vec![d]);
    if v.any_prerelease() {
        return vec![single(lt(package, deb_version(v)))];
    }
    let Some(post) = v.post() else {
        // Everything of V's release below V is a pre- or dev-release.
        return vec![single(lt(package, deb_version(&first_of_release(v))))];
    };
    // `<1.0.post2`: accept 1.0, 1.0.post0, 1.0.post1 but none of 1.0rc1, 1.0.post1.dev0, ...
    let base = v.clone().with_post(None);
    let mut groups = vec![
        single(lt(package, deb_version(&v.clone().with_dev(Some(0))))),
        hole(
            package,
            deb_version(&first_of_release(v)),
            deb_version(&base),
        ),
    ];
    if post <= POST_HOLES_MAX {
        for q in 0..post {
            let post_q = base.clone().with_post(Some(q));
            groups.push(hole(
                package,
                deb_version(&post_q.clone().with_dev(Some(0))),
                deb_version(&post_q),
            ));
        }
    }
    groups
}

/// `>V`: above V and its local variants, and unless V is itself a post-release, none of the
/// post-releases of V's release at V's pre-release level (see the module docs).
fn greater_than(package: &str, v: &Version) -> Vec<Alternatives> {
    let single = |d: Dep| Alternatives(vec![d]);
    if v.is_post() {
        return vec![single(ge(package, deb_version(&successor(v))))];
    }
    // The first version above all post-releases at V's level.
    let after_posts = match v.pre() {
        Some(pre) => deb_version(
            &Version::new(v.release().iter().copied())
                .with_epoch(v.epoch())
                .with_pre(Some(Prerelease {
                    kind: pre.kind,
                    number: pre.number.saturating_add(1),
                }))
                .with_dev(Some(0)),
        ),
        None => after_release_posts(v),
    };
    if v.is_dev() {
        // `>1.0.dev1` accepts 1.0.dev2 … 1.0, then skips 1.0.post*, then accepts 1.0.1 onwards.
        let level = v.clone().with_dev(None);
        vec![
            single(ge(package, deb_version(&successor(v)))),
            hole(package, deb_version(&successor(&level)), after_posts),
        ]
    } else {
        vec![single(ge(package, after_posts))]
    }
}

/// The Debian epoch of a version string (`1:1.24.2-1` → 1, `2.0-1` → 0).
pub fn debian_epoch(v: &str) -> u64 {
    v.split_once(':')
        .and_then(|(e, _)| e.parse().ok())
        .unwrap_or(0)
}

/// How far a Debian package's epoch sits above the PEP 440 epoch of the Python version it
/// ships: Debian bumps epochs for its own reasons (python3-numpy is `1:1.24.2-1` for numpy
/// 1.24.2), so every bound on that package must be lifted by the same amount to live in its
/// version space: `numpy<2` is `python3-numpy (<< 1:2~~dev0)` there, never `(<< 2~~dev0)`,
/// which epoch 1 can never satisfy.
pub fn epoch_offset(debian_version: &str, python_version: Option<&Version>) -> u64 {
    debian_epoch(debian_version).saturating_sub(python_version.map_or(0, Version::epoch))
}

/// Add `offset` to the epoch of every version bound on `package` (other packages' bounds,
/// such as the `python3` alternatives of a marker, keep theirs).
pub fn shift_epochs(mut relations: Relations, package: &str, offset: u64) -> Relations {
    if offset == 0 {
        return relations;
    }
    for group in &mut relations.0 {
        for dep in &mut group.0 {
            if dep.package != package {
                continue;
            }
            if let Some((_, bound)) = &mut dep.constraint {
                *bound = with_epoch_offset(bound, offset);
            }
        }
    }
    relations
}

/// `2.0` + 1 → `1:2.0`; `1:2.0` + 1 → `2:2.0`.
pub fn with_epoch_offset(v: &str, offset: u64) -> String {
    if offset == 0 {
        return v.to_owned();
    }
    match v.split_once(':') {
        Some((e, rest)) if e.bytes().all(|b| b.is_ascii_digit()) && !e.is_empty() => {
            let e: u64 = e.parse().unwrap_or(0);
            format!("{}:{rest}", e.saturating_add(offset))
        }
        _ => format!("{offset}:{v}"),
    }
}

/// Does `version` of `package` satisfy every group of `relations`? A group is satisfied when
/// one of its alternatives names `package` and accepts `version`; groups about other packages
/// are unsatisfied, as if only `package` were installed. Bounds that are not Debian versions
/// accept nothing.
pub fn relations_accept(
    relations: &Relations,
    package: &str,
    version: &debversion::Version,
) -> bool {
    relations.0.iter().all(|group| {
        group.0.iter().any(|dep| {
            dep.package == package
                && match &dep.constraint {
                    None => true,
                    Some((op, bound)) => bound
                        .parse::<debversion::Version>()
                        .is_ok_and(|bound| op.accepts(version.cmp(&bound))),
                }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    fn rel(spec: &str) -> String {
        relations_for("p", &VersionSpecifiers::from_str(spec).unwrap()).to_string()
    }

    fn accepts(spec: &str, deb: &str) -> bool {
        let relations = relations_for("p", &VersionSpecifiers::from_str(spec).unwrap());
        relations_accept(&relations, "p", &deb.parse().unwrap())
    }

    #[test]
    fn version_table() {
        for (pep, deb) in [
            ("1.0", "1.0"),
            ("1.0rc1", "1.0~rc1"),
            ("1.0.dev1", "1.0~~dev1"),
            ("1.0a1.dev2", "1.0~a1~dev2"),
            ("1.0b2", "1.0~b2"),
            ("1.0a1.post2.dev3", "1.0~a1+post2~dev3"),
            ("1.0.post1", "1.0+post1"),
            ("1.0.post1.dev2", "1.0+post1~dev2"),
            ("1.0-1", "1.0+post1"),
            ("1!2.0", "1:2.0"),
            ("0!2.0", "2.0"),
            ("2.0.0", "2.0.0"),
            ("1.0+ubuntu-1", "1.0+~ubuntu.1"),
            ("1.0.post1+cu118", "1.0+post1+~cu118"),
            ("01.002", "1.2"),
        ] {
            assert_eq!(deb_version(&v(pep)), deb, "{pep}");
        }
    }

    #[test]
    fn versions_are_valid_for_dpkg_syntax() {
        for pep in ["1!0.0a0.post0.dev0+x.0", "0", "2024.1.post20240101"] {
            let deb = deb_version(&v(pep));
            assert!(deb.parse::<debversion::Version>().is_ok(), "{deb}");
            assert!(deb.starts_with(|c: char| c.is_ascii_digit()), "{deb}");
            assert!(!deb.contains('-'), "{deb}");
        }
    }

    #[test]
    fn relation_table() {
        for (spec, deb) in [
            ("", "p"),
            ("==1.0", "p (>= 1.0), p (<< 1.0+post0~dev0)"),
            ("!=1.0", "p (<< 1.0) | p (>= 1.0+post0~dev0)"),
            ("==1.0+abc", "p (>= 1.0+~abc), p (<< 1.0+~abc0A)"),
            ("===1.0", "p (>= 1.0), p (<< 1.0A)"),
            (">=1.0", "p (>= 1.0)"),
            ("<=1.0", "p (<< 1.0+post0~dev0)"),
            ("<2", "p (<< 2~~dev0)"),
            ("<2.0rc1", "p (<< 2.0~rc1)"),
            (">1.0", "p (>= 1.0.~)"),
            (">1.0a1", "p (>= 1.0~a2~dev0)"),
            (">1.0.post1", "p (>= 1.0+post2~dev0)"),
            (">1.0.dev1", "p (>= 1.0~~dev2), p (<< 1.0+post0~dev0) | p (>= 1.0.~)"),
            ("~=1.4.5", "p (>= 1.4.5), p (<< 1.5~~dev0)"),
            ("~=2.2", "p (>= 2.2), p (<< 3~~dev0)"),
            ("==1.2.*", "p (>= 1.2~~dev0), p (<< 1.3~~dev0)"),
            ("!=1.2.*", "p (<< 1.2~~dev0) | p (>= 1.3~~dev0)"),
            ("==1!2.*", "p (>= 1:2~~dev0), p (<< 1:3~~dev0)"),
            (
                "<1.0.post2",
                "p (<< 1.0+post2~dev0), p (<< 1.0~~dev0) | p (>= 1.0), \
                 p (<< 1.0+post0~dev0) | p (>= 1.0+post0), p (<< 1.0+post1~dev0) | p (>= 1.0+post1)",
            ),
            (">=1.0,<2.0", "p (>= 1.0), p (<< 2.0~~dev0)"),
        ] {
            assert_eq!(rel(spec), deb, "{spec}");
        }
    }

    #[test]
    fn revisions_are_accepted() {
        for (spec, deb, expected) in [
            ("==1.0", "1.0-1", true),
            ("==1.0", "1.0-0py2deb1", true),
            ("==1.0", "1.0+dfsg-1", true),
            ("==1.0", "1.0+post1-1", false),
            ("<=1.0", "1.0-3", true),
            ("<1.0", "1.0-3", false),
            ("<1.0", "1.0~rc1-1", false),
            ("<1.0", "0.9+post3-1", true),
            (">1.0", "1.0-1", false),
            (">1.0", "1.0+post1-1", false),
            (">1.0", "1.0.1~rc1-1", true),
            (">=1.0", "1.0-0py2deb1", true),
            ("!=1.0", "1.0-1", false),
            ("!=1.0", "1.0+post0~dev0-1", true),
            ("===1.0", "1.0-7", true),
            ("===1.0", "1.0+~abc-1", false),
            ("==1.0+abc", "1.0+~abcd-1", false),
            ("==1.0+abc", "1.0+~abc1-1", false),
            ("==1.0+abc", "1.0+~abc.1-1", false),
            ("~=1.4.5", "1.4.99+post1-2", true),
            ("~=1.4.5", "1.5~~dev0-1", false),
        ] {
            assert_eq!(accepts(spec, deb), expected, "{spec} vs {deb}");
        }
    }

    #[test]
    fn many_post_releases_keep_the_nearest_hole() {
        let r = rel("<1.0.post20240101");
        assert_eq!(
            r,
            "p (<< 1.0+post20240101~dev0), p (<< 1.0~~dev0) | p (>= 1.0)"
        );
    }

    /// The trailing-zero gap, as documented in the module docs.
    #[test]
    fn trailing_zero_gap() {
        assert!(!accepts("==1.0", "1.0.0-1"));
        assert!(!accepts("<=1.0", "1.0.0-1"));
        assert!(!accepts(">=1.0.0", "1.0-1"));
        assert!(accepts(">1.0", "1.0.0-1"));
        assert!(accepts("!=1.0", "1.0.0-1"));
    }

    #[test]
    fn other_packages_do_not_satisfy() {
        let relations: Relations = "q (>= 1.0)".parse().unwrap();
        assert!(!relations_accept(&relations, "p", &"2.0".parse().unwrap()));
        let relations: Relations = "q | p".parse().unwrap();
        assert!(relations_accept(&relations, "p", &"2.0".parse().unwrap()));
    }
}
