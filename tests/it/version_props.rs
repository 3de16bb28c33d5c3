//! The two properties of the PEP 440 → Debian translation (order and relations), checked over
//! generated versions and specifiers. PEP 440 semantics come from `pep440_rs`, Debian ordering
//! from the `debversion` crate, which is itself checked against `dpkg --compare-versions`.

use std::cmp::Ordering;
use std::process::Command;
use std::str::FromStr;

use pep440_rs::{
    LocalSegment, Operator, Prerelease, PrereleaseKind, Version, VersionSpecifier,
    VersionSpecifiers,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use py2deb::debian::relation::{Op, Relations};
use py2deb::debian::version::{
    deb_version, relations_accept, relations_for, shift_epochs, successor, with_epoch_offset,
};

/// Revisions a py2deb-built or distribution package may carry; none (`1.0`) included.
const REVISIONS: [&str; 3] = ["", "-1", "-0py2deb1"];

fn config(cases: u32) -> Config {
    Config {
        cases: crate::support::prop_cases(cases),
        failure_persistence: None,
        ..Config::default()
    }
}

fn deb(s: &str) -> debversion::Version {
    s.parse()
        .unwrap_or_else(|e| panic!("`{s}` is not a Debian version: {e:?}"))
}

fn kind() -> impl Strategy<Value = PrereleaseKind> {
    prop_oneof![
        Just(PrereleaseKind::Alpha),
        Just(PrereleaseKind::Beta),
        Just(PrereleaseKind::Rc)
    ]
}

/// Public versions with a release of exactly `len` parts. Small numbers so that generated
/// versions often share a release, pre-release or post-release and the interesting
/// boundaries get hit.
fn public_version(len: usize) -> impl Strategy<Value = Version> {
    (
        prop_oneof![6 => Just(0u64), 1 => 1..3u64],
        proptest::collection::vec(0..3u64, len),
        proptest::option::of((kind(), 0..3u64)),
        proptest::option::of(0..3u64),
        proptest::option::of(0..3u64),
    )
        .prop_map(|(epoch, release, pre, post, dev)| {
            Version::new(release)
                .with_epoch(epoch)
                .with_pre(pre.map(|(kind, number)| Prerelease { kind, number }))
                .with_post(post)
                .with_dev(dev)
        })
}

fn local_label() -> impl Strategy<Value = Vec<LocalSegment>> {
    let s = |x: &str| LocalSegment::String(x.to_owned());
    prop_oneof![
        3 => Just(vec![]),
        1 => Just(vec![s("abc")]),
        1 => Just(vec![s("abcd")]),
        1 => Just(vec![s("abc1")]),
        1 => Just(vec![s("abc"), LocalSegment::Number(1)]),
        1 => Just(vec![LocalSegment::Number(2)]),
        1 => Just(vec![s("cu118")]),
        1 => Just(vec![s("ubuntu"), LocalSegment::Number(22), LocalSegment::Number(4)]),
    ]
}

fn version(len: usize) -> impl Strategy<Value = Version> {
    (public_version(len), local_label()).prop_map(|(v, local)| v.with_local(local))
}

/// One specifier clause whose version has `len` release parts (star and `~=` patterns use a
/// prefix of it), written as text and parsed the way requirement lines are.
fn clause(len: usize) -> impl Strategy<Value = VersionSpecifier> {
    (
        proptest::sample::select(OPS.to_vec()),
        version(len),
        1..=len,
    )
        .prop_map(move |(op, v, prefix_len)| clause_for(op, &v, prefix_len))
}

const OPS: [&str; 10] = ["==", "!=", "<", "<=", ">", ">=", "~=", "===", "==*", "!=*"];

/// The clause `op` on `v` (star patterns on its first `prefix_len` release parts), written as
/// text and parsed the way requirement lines are. Local labels only where PEP 440 allows them.
fn clause_for(op: &str, v: &Version, prefix_len: usize) -> VersionSpecifier {
    let public = v.clone().without_local();
    let text = match op {
        "==" | "!=" | "===" => format!("{op}{v}"),
        "==*" | "!=*" => {
            let prefix = Version::new(&v.release()[..prefix_len]).with_epoch(v.epoch());
            format!("{}{prefix}.*", &op[..2])
        }
        // `~=` needs two release parts.
        "~=" if v.release().len() < 2 => format!(">={public}"),
        _ => format!("{op}{public}"),
    };
    VersionSpecifier::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A specifier set and a candidate: either an unrelated version or, more often, a neighbour of
/// one of the clause versions (same epoch and release, each of the pre/post/dev parts either
/// kept or replaced, any local label), since the boundaries are where translations go wrong.
fn spec_and_candidate() -> impl Strategy<Value = (VersionSpecifiers, Version)> {
    (1..=3usize)
        .prop_flat_map(|len| {
            (
                prop_oneof![
                    3 => proptest::collection::vec(clause(len), 1..=1),
                    2 => proptest::collection::vec(clause(len), 2..=3),
                ],
                version(len),
                any::<proptest::sample::Index>(),
                proptest::bool::weighted(0.8),
                proptest::array::uniform3(proptest::bool::weighted(0.7)),
            )
        })
        .prop_map(|(clauses, fresh, pick, near, keep)| {
            let text = clauses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let candidate = if near {
                let base = pick.get(&clauses).version();
                // Star and `~=` clauses carry a shorter release: pad it from `fresh`.
                let mut release = base.release().to_vec();
                release.extend_from_slice(&fresh.release()[release.len()..]);
                let pick = |keep: bool, v: &Version| if keep { v.clone() } else { fresh.clone() };
                Version::new(release)
                    .with_epoch(base.epoch())
                    .with_pre(pick(keep[0], base).pre())
                    .with_post(pick(keep[1], base).post())
                    .with_dev(pick(keep[2], base).dev())
                    .with_local(fresh.local().to_vec())
            } else {
                fresh
            };
            (VersionSpecifiers::from_str(&text).unwrap(), candidate)
        })
}

fn same_release(a: &Version, b: &Version) -> bool {
    a.epoch() == b.epoch() && Version::new(a.release()) == Version::new(b.release())
}

/// PEP 440 membership. `pep440_rs` is the oracle except for the two clause kinds where the
/// module docs of `py2deb::debian::version` say py2deb follows PEP 440's text instead:
/// `<V` (pep440_rs also rejects same-release pre-releases when V is itself one, and ignores
/// epochs there) and `>V` with V a pre/dev-release (where only the post-releases of V's own
/// pre-release level are rejected).
fn pep440_contains(spec: &VersionSpecifiers, c: &Version) -> bool {
    spec.iter().all(|clause| {
        let v = clause.version();
        let public = c.clone().without_local();
        match clause.operator() {
            Operator::LessThan => {
                public < *v
                    && !(!v.any_prerelease() && public.any_prerelease() && same_release(&public, v))
            }
            Operator::GreaterThan if v.any_prerelease() && !v.is_post() => {
                public > *v
                    && !(public.is_post() && same_release(&public, v) && public.pre() == v.pre())
            }
            _ => clause.contains(c),
        }
    })
}

proptest! {
    #![proptest_config(config(1000))]

    /// Property 1: same-length releases compare the same way in PEP 440 and dpkg.
    #[test]
    fn version_props_order((a, b) in (1..=3usize).prop_flat_map(|n| (public_version(n), public_version(n)))) {
        let (da, db) = (deb_version(&a), deb_version(&b));
        prop_assert_eq!(a.cmp(&b), deb(&da).cmp(&deb(&db)), "{} vs {} → {} vs {}", a, b, da, db);
    }

    /// A local variant sits between its public version and everything above it.
    #[test]
    fn version_props_local_between(v in (1..=3usize).prop_flat_map(public_version), local in local_label()) {
        prop_assume!(!local.is_empty());
        let with_local = deb(&deb_version(&v.clone().with_local(local)));
        prop_assert!(deb(&deb_version(&v)) < with_local);
        prop_assert!(with_local < deb(&deb_version(&successor(&v))));
    }

    /// Property 2: the relations accept exactly the versions the specifiers contain, whatever
    /// the Debian revision.
    #[test]
    fn version_props_relations((spec, c) in spec_and_candidate()) {
        let relations = relations_for("python3-foo", &spec);
        let expected = pep440_contains(&spec, &c);
        for revision in REVISIONS {
            let candidate = format!("{}{revision}", deb_version(&c));
            prop_assert_eq!(
                relations_accept(&relations, "python3-foo", &deb(&candidate)),
                expected,
                "`{}` vs {} → `{}` vs {}", spec, c, relations, candidate
            );
        }
    }

    /// Property 2 for a package whose Debian epoch sits above the Python one (bookworm's
    /// python3-numpy is `1:1.24.2-1`): the relations, lifted into that version space, accept
    /// exactly the versions the specifiers contain, spelled as that package spells them.
    #[test]
    fn version_props_relations_with_epoch((spec, c) in spec_and_candidate(), offset in 1..=3u64) {
        let relations = shift_epochs(relations_for("python3-foo", &spec), "python3-foo", offset);
        let expected = pep440_contains(&spec, &c);
        for revision in REVISIONS {
            let candidate = format!("{}{revision}", with_epoch_offset(&deb_version(&c), offset));
            prop_assert_eq!(
                relations_accept(&relations, "python3-foo", &deb(&candidate)),
                expected,
                "`{}` vs {} → `{}` vs {}", spec, c, relations, candidate
            );
        }
    }
}

/// Every version near `base` with `len` release parts: its release crossed with small
/// pre/post/dev combinations, with and without a label.
fn neighbourhood(base: &Version, len: usize) -> Vec<Version> {
    let mut release = base.release().to_vec();
    release.resize(len, 0);
    let pre = |kind, number| Some(Prerelease { kind, number });
    let pres = [
        None,
        pre(PrereleaseKind::Alpha, 0),
        pre(PrereleaseKind::Alpha, 1),
        pre(PrereleaseKind::Beta, 0),
    ];
    let mut out = Vec::new();
    for pre in pres {
        for post in [None, Some(0), Some(1), Some(2)] {
            for dev in [None, Some(0), Some(1)] {
                for local in [vec![], vec![LocalSegment::String("abc".into())]] {
                    out.push(
                        Version::new(&release)
                            .with_epoch(base.epoch())
                            .with_pre(pre)
                            .with_post(post)
                            .with_dev(dev)
                            .with_local(local),
                    );
                }
            }
        }
    }
    out
}

/// The relations on one package with their bounds parsed once, since parsing dominates when
/// hundreds of candidates are checked against the same relations. Same rule as
/// `relations_accept`, which the random-candidate property exercises.
fn parsed(relations: &Relations) -> Vec<Vec<Option<(Op, debversion::Version)>>> {
    relations
        .0
        .iter()
        .map(|group| {
            group
                .0
                .iter()
                .map(|dep| dep.constraint.as_ref().map(|(op, v)| (*op, deb(v))))
                .collect()
        })
        .collect()
}

fn parsed_accept(
    relations: &[Vec<Option<(Op, debversion::Version)>>],
    v: &debversion::Version,
) -> bool {
    relations.iter().all(|group| {
        group.iter().any(|dep| match dep {
            None => true,
            Some((op, bound)) => op.accepts(v.cmp(bound)),
        })
    })
}

proptest! {
    #![proptest_config(config(100))]

    /// Property 2 again: every operator on one version, each against every nearby version,
    /// which random candidates rarely hit (e.g. `<1.0.post2` against `1.0.post1.dev0`).
    #[test]
    fn version_props_relations_neighbourhood(
        (len, v, prefix_len) in (1..=3usize).prop_flat_map(|len| (Just(len), version(len), 1..=len))
    ) {
        let candidates: Vec<(Version, Vec<(String, debversion::Version)>)> = neighbourhood(&v, len)
            .into_iter()
            .map(|c| {
                // The bare upstream version and a revision; `-1` behaves as `-0py2deb1` does.
                let debs = ["", "-0py2deb1"]
                    .map(|revision| format!("{}{revision}", deb_version(&c)))
                    .map(|s| (s.clone(), deb(&s)));
                (c, debs.to_vec())
            })
            .collect();
        for op in OPS {
            let spec = VersionSpecifiers::from_iter([clause_for(op, &v, prefix_len)]);
            let relations = relations_for("python3-foo", &spec);
            let checks = parsed(&relations);
            for (c, debs) in &candidates {
                let expected = pep440_contains(&spec, c);
                for (text, candidate) in debs {
                    prop_assert_eq!(
                        parsed_accept(&checks, candidate),
                        expected,
                        "`{}` vs {} → `{}` vs {}", spec, c, relations, text
                    );
                }
            }
        }
    }
}

/// pep440_rs's own answers in the places where the oracle above departs from it, so that a
/// change of behaviour in a newer pep440_rs shows up here.
#[test]
fn version_props_pep440_rs_departures() {
    let contains = |spec: &str, v: &str| {
        VersionSpecifiers::from_str(spec)
            .unwrap()
            .contains(&Version::from_str(v).unwrap())
    };
    let ours = |spec: &str, v: &str| {
        pep440_contains(
            &VersionSpecifiers::from_str(spec).unwrap(),
            &Version::from_str(v).unwrap(),
        )
    };
    for (spec, v) in [
        ("<2.0rc1", "2.0a1"),
        ("<1!2.0", "2.0a1"),
        (">1.0a1", "1.0a2.post1"),
    ] {
        assert!(!contains(spec, v), "{spec} {v}");
        assert!(ours(spec, v), "{spec} {v}");
    }
    // Where they agree on the exclusive-comparison rules.
    for (spec, v, expected) in [
        ("<2", "2.0rc1", false),
        ("<2", "2.0.dev1", false),
        (">1.0", "1.0.post1", false),
        (">1.0a1", "1.0a1.post1", false),
        ("<2.0.post1", "2.0.post0.dev1", false),
    ] {
        assert_eq!(contains(spec, v), expected, "{spec} {v}");
        assert_eq!(ours(spec, v), expected, "{spec} {v}");
    }
}

fn dpkg_available() -> bool {
    Command::new("dpkg")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn dpkg_cmp(a: &str, b: &str) -> Ordering {
    let holds = |op: &str| {
        let out = Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .output()
            .unwrap();
        assert!(
            out.stderr.is_empty(),
            "dpkg on `{a}` {op} `{b}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.status.success()
    };
    if holds("lt") {
        Ordering::Less
    } else if holds("eq") {
        Ordering::Equal
    } else {
        Ordering::Greater
    }
}

/// The `debversion` oracle agrees with dpkg itself on the strings this translation produces:
/// versions with revisions, and the bounds written into relations.
#[test]
fn version_props_debversion_agrees_with_dpkg() {
    // Without dpkg (a non-Debian build host) there is nothing to check against.
    if !crate::support::prerequisite(
        dpkg_available(),
        "dpkg (the oracle of Debian version order)",
    ) {
        return;
    }
    let strategy = (
        spec_and_candidate(),
        public_version(2),
        0..REVISIONS.len(),
        0..REVISIONS.len(),
    );
    let mut runner = proptest::test_runner::TestRunner::new(config(150));
    runner
        .run(&strategy, |((spec, c), other, ra, rb)| {
            let a = format!("{}{}", deb_version(&c), REVISIONS[ra]);
            let mut others = vec![format!("{}{}", deb_version(&other), REVISIONS[rb])];
            let relations = relations_for("p", &spec);
            others.extend(
                relations
                    .0
                    .iter()
                    .flat_map(|g| &g.0)
                    .filter_map(|d| d.constraint.clone().map(|(_, v)| v)),
            );
            for b in others.iter().take(3) {
                prop_assert_eq!(deb(&a).cmp(&deb(b)), dpkg_cmp(&a, b), "{} vs {}", a, b);
            }
            Ok(())
        })
        .unwrap();
}
