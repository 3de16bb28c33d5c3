//! PEP 508 requirements and environment markers evaluated for a target release (not for
//! the machine py2deb runs on), plus the `python3` alternatives dh-python writes for
//! requirements that only apply to some Python versions.

use crate::debian::relation::{Dep, Op};
use crate::debian::target::Target;
use anyhow::{anyhow, Result};
use pep440_rs::{Operator, Version};
use pep508_rs::{
    ExtraName, MarkerEnvironment, MarkerEnvironmentBuilder, MarkerExpression, MarkerOperator,
    MarkerTree, MarkerValueVersion, Requirement,
};
use std::str::FromStr;

/// Kernel release of each known target's default kernel. `platform_release` describes the
/// machine a package is installed on, which is unknowable when building; the release's own
/// kernel is the best target-independent answer and gives the answers pip would give on a
/// stock installation (`platform_release >= "2.0"` holds everywhere we build for).
const KERNELS: &[(&str, &str)] = &[
    ("bullseye", "5.10.0"),
    ("bookworm", "6.1.0"),
    ("trixie", "6.12.0"),
    ("sid", "6.12.0"),
    ("jammy", "5.15.0"),
    ("noble", "6.8.0"),
];

/// `platform_version` is the kernel's build string (`#1 SMP PREEMPT_DYNAMIC Debian …`).
/// It is never a PEP 440 version, so ordering comparisons on it are false, as in `packaging`.
const PLATFORM_VERSION: &str = "#1 SMP PREEMPT_DYNAMIC";

/// The marker environment of `target`'s `/usr/bin/python3`.
pub fn environment(target: &Target) -> Result<MarkerEnvironment> {
    let release = KERNELS
        .iter()
        .find(|k| k.0 == target.name)
        .map(|k| k.1)
        .unwrap_or("6.1.0");
    let python_version = target.python_version();
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &target.python_full,
        os_name: "posix",
        platform_machine: &target.machine,
        platform_python_implementation: "CPython",
        platform_release: release,
        platform_system: "Linux",
        platform_version: PLATFORM_VERSION,
        python_full_version: &target.python_full,
        python_version: &python_version,
        sys_platform: "linux",
    })
    .map_err(|e| {
        anyhow!(
            "target {} has an unusable Python version `{}`: {e}",
            target.name,
            target.python_full
        )
    })
}

/// Parse one PEP 508 requirement; the error quotes the text and points at the problem.
///
/// PEP 508 allows the arbitrary-equality operator `===` in markers, which pep508_rs does
/// not parse. It is read as `==`: the two differ only for spellings that compare equal as
/// versions but not as strings (`3.11` vs `3.11.0`), which markers on `python_version`
/// never produce.
///
/// A marker expression pep508_rs cannot type is an error too (see [`parse_strict`]).
pub fn parse_requirement(text: &str) -> Result<Requirement> {
    let text = text.trim();
    parse_strict(text).map_err(|e| match e {
        Refused::Syntax(e) => {
            anyhow!("invalid requirement `{text}`: {e}\nfix the requirement (PEP 508 syntax)")
        }
        Refused::Marker(problem) => anyhow!(
            "invalid requirement `{text}`: its marker cannot be evaluated ({problem}); a \
             marker must compare a marker variable with a valid value, such as \
             `python_version >= \"3.8\"`"
        ),
    })
}

/// Why [`parse_strict`] refused a requirement.
enum Refused {
    Syntax(String),
    /// The first expression pep508_rs would have dropped, as its warning says.
    Marker(String),
}

/// Parse a requirement, refusing markers that cannot be evaluated.
///
/// pep508_rs drops an expression it cannot type (`python_version == "banana"`, a marker
/// compared with a marker, `~=` on a string) with a warning, which leaves the rest of the
/// marker, or nothing, so the requirement would count as applying everywhere.
fn parse_strict(text: &str) -> std::result::Result<Requirement, Refused> {
    let mut problems: Vec<String> = Vec::new();
    let mut collect = |kind: pep508_rs::MarkerWarningKind, message: String| {
        if kind != pep508_rs::MarkerWarningKind::DeprecatedMarkerName {
            problems.push(message.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    };
    let fixed;
    let input = match text.split_once(';') {
        Some((head, marker)) if marker.contains("===") => {
            fixed = format!("{head};{}", marker.replace("===", "=="));
            fixed.as_str()
        }
        _ => text,
    };
    // pep508_rs 0.9 panics on a name that ends in a separator before whitespace (`a- >=1`):
    // check the name first, and keep any other panic of the parser an error.
    let name: String = input
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let valid = edge_ok(name.chars().next()) && edge_ok(name.chars().last());
    if !name.is_empty() && !valid {
        return Err(Refused::Syntax(format!(
            "`{name}` is not a valid project name: PEP 508 names start and end with a letter or digit"
        )));
    }
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Requirement::parse_reporter(input, std::path::Path::new("/"), &mut collect)
    }))
    .map_err(|_| Refused::Syntax("the requirement parser failed on it".to_owned()))?
    .map_err(|e| Refused::Syntax(e.to_string()))?;
    match problems.into_iter().next() {
        Some(problem) => Err(Refused::Marker(problem)),
        None => Ok(parsed),
    }
}

/// Parse a `Requires-Dist` requirement from a distribution's metadata, refusing markers
/// that cannot be evaluated; the error names the field and quotes the requirement.
pub fn parse_metadata_requirement(text: &str) -> Result<Requirement> {
    let text = text.trim();
    parse_strict(text).map_err(|e| match e {
        Refused::Syntax(e) => anyhow!(
            "metadata field Requires-Dist: {text:?} must be a PEP 508 requirement \
             (name [extras] (version) ; markers): {e}"
        ),
        Refused::Marker(problem) => anyhow!(
            "metadata field Requires-Dist: {text:?} has a marker that cannot be evaluated \
             ({problem}); a marker must compare a marker variable with a valid value, such \
             as `python_version >= \"3.8\"`"
        ),
    })
}

/// Parse an extra name (`socks` in `requests[socks]`).
pub fn parse_extra(text: &str) -> Result<ExtraName> {
    ExtraName::from_str(text.trim()).map_err(|e| anyhow!("invalid extra `{text}`: {e}"))
}

/// Does `marker` hold on the target with `extras` requested?
///
/// Evaluated clause by clause over the marker's disjunctive normal form so that string
/// ordering comparisons follow `packaging` (and pip): when the right-hand side is a
/// version, the left-hand side must be one too or the comparison is false. pep508_rs
/// alone would compare such strings lexicographically, which makes
/// `platform_version >= "1"` and `platform_version < "1"` disagree with pip.
pub fn marker_applies(marker: &MarkerTree, env: &MarkerEnvironment, extras: &[ExtraName]) -> bool {
    // The normal form of an always-true marker is the empty disjunction; answer directly.
    if marker.is_true() {
        return true;
    }
    marker.to_dnf().iter().any(|clause| {
        clause
            .iter()
            .all(|expr| expression_holds(expr, env, extras))
    })
}

/// Does `req` apply on the target with `extras` of the requiring distribution requested?
pub fn applies(req: &Requirement, env: &MarkerEnvironment, extras: &[ExtraName]) -> bool {
    marker_applies(&req.marker, env, extras)
}

fn expression_holds(
    expr: &MarkerExpression,
    env: &MarkerEnvironment,
    extras: &[ExtraName],
) -> bool {
    if let MarkerExpression::String {
        key,
        operator,
        value,
    } = expr
    {
        if is_ordering(operator) {
            let lhs = env.get_string(key);
            if let Ok(bound) = Version::from_str(value) {
                return match Version::from_str(lhs) {
                    Ok(have) => ordering_holds(operator, have.cmp(&bound)),
                    Err(_) => false,
                };
            }
            return ordering_holds(operator, lhs.cmp(value.as_str()));
        }
    }
    MarkerTree::expression(expr.clone()).evaluate(env, extras)
}

fn is_ordering(op: &MarkerOperator) -> bool {
    matches!(
        op,
        MarkerOperator::LessThan
            | MarkerOperator::LessEqual
            | MarkerOperator::GreaterThan
            | MarkerOperator::GreaterEqual
            | MarkerOperator::TildeEqual
    )
}

fn ordering_holds(op: &MarkerOperator, cmp: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        MarkerOperator::LessThan => cmp == Less,
        MarkerOperator::LessEqual => cmp != Greater,
        MarkerOperator::GreaterThan => cmp == Greater,
        MarkerOperator::GreaterEqual => cmp != Less,
        // `~=` on a non-version is undefined; treat it like `packaging` does: false.
        _ => false,
    }
}

/// The requirements of a distribution that apply on the target when `extras` are requested.
///
/// Self-references are followed: `pkg[all]` whose `all` extra requires `pkg[socks,http2]`
/// turns on `socks` and `http2` too, until nothing changes. Requirements of *other*
/// distributions' extras (`requests[socks]` → `PySocks`) are found when that distribution's
/// own metadata is mapped with the extras the requirement names (`Requirement::extras`).
pub fn active_requirements<'a>(
    project: &pep508_rs::PackageName,
    requires_dist: &'a [Requirement],
    extras: &[ExtraName],
    env: &MarkerEnvironment,
) -> Vec<&'a Requirement> {
    let mut extras: Vec<ExtraName> = extras.to_vec();
    loop {
        let mut grew = false;
        for req in requires_dist {
            if &req.name == project && applies(req, env, &extras) {
                for e in &req.extras {
                    if !extras.contains(e) {
                        extras.push(e.clone());
                        grew = true;
                    }
                }
            }
        }
        if !grew {
            break;
        }
    }
    requires_dist
        .iter()
        .filter(|r| &r.name != project && applies(r, env, &extras))
        .collect()
}

/// Does the marker mention `python_version` or `python_full_version`?
pub fn mentions_python_version(marker: &MarkerTree) -> bool {
    marker
        .to_dnf()
        .iter()
        .flatten()
        .any(|e| python_bound(e).is_some())
}

/// The `python3` alternative dh-python writes next to a dependency that is only needed on
/// some Python versions: the relation satisfied by the Pythons on which the requirement does
/// *not* apply, so `tomli; python_version < "3.11"` becomes `python3-tomli | python3 (>= 3.11)`.
///
/// Only the simple shape dh-python handles is translated: a marker that is a conjunction of
/// one `python_version`/`python_full_version` comparison and anything else (other markers
/// are evaluated separately). A lower bound (`>= X`) becomes `python3 (<< X)`, an upper bound
/// (`< X`) becomes `python3 (>= X)`. Anything else (several bounds, `!=`, `==`) yields `None`
/// and the dependency is written unconditionally, which is always safe.
pub fn python_alternative(marker: &MarkerTree) -> Option<Dep> {
    let dnf = marker.to_dnf();
    let [clause] = dnf.as_slice() else {
        return None;
    };
    let mut bounds = clause.iter().filter_map(python_bound);
    let (op, version) = bounds.next()?;
    if bounds.next().is_some() {
        return None;
    }
    let negated = match op {
        Op::Lt => Op::Ge,
        Op::Le => Op::Gt,
        Op::Ge => Op::Lt,
        Op::Gt => Op::Le,
        Op::Eq => return None,
    };
    Some(Dep::with("python3", negated, version))
}

/// The relation a `python_version`/`python_full_version` expression puts on `python3`.
/// pep508_rs rewrites `python_version` bounds to `python_full_version`, e.g.
/// `python_version <= "3.11"` to `python_full_version < "3.12"`, which is the same bound
/// for dpkg.
fn python_bound(expr: &MarkerExpression) -> Option<(Op, String)> {
    let MarkerExpression::Version { key, specifier } = expr else {
        return None;
    };
    if !matches!(
        key,
        MarkerValueVersion::PythonVersion | MarkerValueVersion::PythonFullVersion
    ) {
        return None;
    }
    let op = match specifier.operator() {
        Operator::LessThan => Op::Lt,
        Operator::LessThanEqual => Op::Le,
        Operator::GreaterThan => Op::Gt,
        Operator::GreaterThanEqual => Op::Ge,
        Operator::Equal => Op::Eq,
        _ => return None,
    };
    Some((op, specifier.version().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pep508_rs panics on `a- >=1`; py2deb refuses it as an invalid name instead.
    #[test]
    fn hostile_name_ending_in_a_separator_is_an_error_not_a_panic() {
        for text in ["a- >=1", "j5- ; python_version > '3'", "a_ [x]", "-a"] {
            let e = parse_requirement(text).unwrap_err().to_string();
            assert!(e.contains("invalid requirement"), "{text}: {e}");
        }
        assert!(parse_requirement("a--b >=1").is_ok());
    }

    #[test]
    fn hostile_marker_with_invalid_version_is_an_error() {
        for bad in [
            "tomli; python_version == \"banana\"",
            "tomli; python_version >= \"3.8\" and python_full_version < \"x.y\"",
            "tomli; os_name == sys_platform",
            "tomli; platform_system ~= \"Linux\"",
            "tomli; \"a\" == \"b\"",
        ] {
            let e = parse_metadata_requirement(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
            assert!(e.contains("cannot be evaluated"), "{bad}: {e}");
        }
        for good in [
            "tomli>=1.1; python_version < \"3.11\"",
            "colorama; sys_platform == \"win32\"",
            "pytest; extra == \"test\"",
            "x; python_version === \"3.11\"",
            "y",
        ] {
            parse_metadata_requirement(good).unwrap();
            parse_requirement(good).unwrap();
        }
        let e = parse_requirement("tomli; python_version == \"banana\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`tomli; python_version == \"banana\"`")
                && e.contains("cannot be evaluated"),
            "{e}"
        );
    }

    #[test]
    fn marker_env_for_bookworm() {
        let t = Target::named("bookworm", "amd64").unwrap();
        let env = environment(&t).unwrap();
        let r = parse_requirement("x; python_version >= '3.11' and platform_machine == 'x86_64'")
            .unwrap();
        assert!(r.evaluate_markers(&env, &[]));
        let r = parse_requirement("x; python_version < '3.11'").unwrap();
        assert!(!r.evaluate_markers(&env, &[]));
    }
}
