//! Wheel file names (PEP 427) and compatibility tags (PEP 425, PEP 600 manylinux): which
//! wheels can run on a target's CPython and glibc, and which of several fits best.
//!
//! Only CPython on glibc Linux is a valid target, so the rules are a closed subset of
//! pip's tag list: `py3*-none-any`, `cp3X-cp3X-<plat>`, `cp3Y-abi3-<plat>` (Y ≤ X),
//! `cp3X-none-<plat>`, `py3*-none-<plat>`, with `<plat>` one of `manylinux*` (glibc not
//! newer than the target's) or `linux_<machine>`.

use crate::debian::target::Target;
use pep440_rs::Version;
use std::fmt;
use std::str::FromStr;

/// A parsed wheel file name `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    /// As written in the file name (escaped form, `_` for `-`).
    pub name: String,
    pub version: Version,
    pub build: Option<String>,
    pub python_tags: Vec<String>,
    pub abi_tags: Vec<String>,
    pub platform_tags: Vec<String>,
}

/// Whether a wheel fits a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compat {
    /// Fits; higher `priority` is preferred among files of one version.
    Compatible { priority: u32 },
    /// Does not fit, and why (shown to the user).
    Incompatible(String),
}

/// Why a string is not a wheel file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{filename}` is not a valid wheel file name: {reason} (expected `name-version[-build]-python-abi-platform.whl`, PEP 427)")]
pub struct WheelFilenameError {
    pub filename: String,
    pub reason: String,
}

impl FromStr for WheelFilename {
    type Err = WheelFilenameError;

    fn from_str(filename: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| WheelFilenameError {
            filename: filename.to_owned(),
            reason: reason.to_owned(),
        };
        let stem = filename
            .strip_suffix(".whl")
            .ok_or_else(|| err("it does not end in `.whl`"))?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, py, abi, plat) = match parts.as_slice() {
            [n, v, p, a, pl] => (*n, *v, None, *p, *a, *pl),
            [n, v, b, p, a, pl] => (*n, *v, Some(*b), *p, *a, *pl),
            _ => {
                return Err(err(&format!(
                    "it has {} dash-separated parts, not 5 or 6",
                    parts.len()
                )))
            }
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        {
            return Err(err(&format!("bad project name `{name}`")));
        }
        let version = Version::from_str(version)
            .map_err(|e| err(&format!("bad version `{version}`: {e}")))?;
        // PEP 427: the build tag must start with a digit; it orders builds of one version.
        if let Some(b) = build {
            if !b.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(err(&format!("build tag `{b}` does not start with a digit")));
            }
        }
        let split = |s: &str, what: &str| -> Result<Vec<String>, WheelFilenameError> {
            let tags: Vec<String> = s.split('.').map(str::to_owned).collect();
            if tags.iter().any(|t| t.is_empty()) {
                return Err(err(&format!("empty {what} tag in `{s}`")));
            }
            Ok(tags)
        };
        Ok(WheelFilename {
            name: name.to_owned(),
            version,
            build: build.map(str::to_owned),
            python_tags: split(py, "python")?,
            abi_tags: split(abi, "ABI")?,
            platform_tags: split(plat, "platform")?,
        })
    }
}

impl fmt::Display for WheelFilename {
    /// The file name again; identical to the parsed one when its version was normalized.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.name, self.version)?;
        if let Some(b) = &self.build {
            write!(f, "-{b}")?;
        }
        write!(
            f,
            "-{}-{}-{}.whl",
            self.python_tags.join("."),
            self.abi_tags.join("."),
            self.platform_tags.join(".")
        )
    }
}

// Priority = class * CLASS + sub * SUB + platform rank. Class dominates (a cp311 build
// beats abi3 beats pure), then the sub-rank (newer abi3 / more specific pyXY), then the
// platform (higher manylinux glibc beats lower beats plain `linux_*` beats `any`).
const CLASS: u32 = 100_000;
const SUB: u32 = 1_000;

impl WheelFilename {
    /// Pure wheel (`py3-none-any` or similar): Architecture `all`.
    pub fn is_pure(&self) -> bool {
        self.abi_tags.iter().all(|a| a == "none") && self.platform_tags.iter().all(|p| p == "any")
    }

    /// The lowest glibc among the manylinux platform tags (`manylinux2014` = 2.17).
    pub fn min_glibc(&self) -> Option<(u32, u32)> {
        self.platform_tags
            .iter()
            .filter_map(|p| manylinux(p).map(|(g, _)| g))
            .min()
    }

    /// Only plain `linux_<machine>` platform tags: built on one machine against its own
    /// libraries, so not portable to other systems (unlike manylinux).
    pub fn is_linux_only(&self) -> bool {
        self.platform_tags.iter().all(|p| p.starts_with("linux_"))
    }

    /// Every `python-abi-platform` triple this (possibly compressed) tag set stands for.
    pub fn expanded_tags(&self) -> Vec<String> {
        let mut out = Vec::new();
        for py in &self.python_tags {
            for abi in &self.abi_tags {
                for plat in &self.platform_tags {
                    out.push(format!("{py}-{abi}-{plat}"));
                }
            }
        }
        out
    }

    /// Whether (and how well) this wheel fits the target.
    pub fn compatibility(&self, target: &Target) -> Compat {
        let mut best: Option<u32> = None;
        let mut reasons: Vec<String> = Vec::new();
        let mut note = |r: String| {
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        };
        for py in &self.python_tags {
            for abi in &self.abi_tags {
                let pair = interpreter(py, abi, target);
                for plat in &self.platform_tags {
                    let platform = platform(plat, target);
                    match (&pair, platform) {
                        (Ok((class, sub)), Ok(rank)) => {
                            // Any `-any` wheel is pure whatever its Python tag says; a pure
                            // tag with a platform (`py3-none-manylinux…`) still carries
                            // platform code, so it ranks above `any` (pip's order).
                            let class = if plat == "any" {
                                1
                            } else if *class == 1 {
                                2
                            } else {
                                *class
                            };
                            let p = class * CLASS + sub * SUB + rank;
                            best = Some(best.map_or(p, |b| b.max(p)));
                        }
                        (Err(a), Err(b)) => note(format!("{a}, and {b}")),
                        (Err(a), Ok(_)) => note(a.clone()),
                        (Ok(_), Err(b)) => note(b),
                    }
                }
            }
        }
        match best {
            Some(priority) => Compat::Compatible { priority },
            None => Compat::Incompatible(reasons.join("; ")),
        }
    }
}

/// The Python version a `cpXY`/`pyXY` tag names: `3` → (3, None), `311` → (3, Some(11)).
fn tag_python(digits: &str) -> Option<(u32, Option<u32>)> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let major = digits[..1].parse().ok()?;
    let minor = if digits.len() > 1 {
        Some(digits[1..].parse().ok()?)
    } else {
        None
    };
    Some((major, minor))
}

/// Python + ABI tag against the target's CPython: `Ok((class, sub-rank))` or the reason.
/// Classes: 5 `cpXY-cpXY`, 4 `abi3`, 3 `cpXY-none`, 1 pure (`py*-none`).
fn interpreter(py: &str, abi: &str, target: &Target) -> Result<(u32, u32), String> {
    let (tmaj, tmin) = target.python;
    let tpy = format!("{tmaj}.{tmin}");
    let other = |name: &str| Err(format!("built for {name} (`{py}`), not CPython"));
    if let Some(d) = py.strip_prefix("py") {
        let Some((maj, min)) = tag_python(d) else {
            return Err(format!("unknown Python tag `{py}`"));
        };
        if maj != tmaj {
            return Err(format!(
                "built for Python {maj} only (`{py}`); the target has Python {tpy}"
            ));
        }
        if let Some(min) = min {
            if min > tmin {
                return Err(format!(
                    "needs Python {maj}.{min} (`{py}`); the target has Python {tpy}"
                ));
            }
        }
        return match abi {
            "none" => Ok((1, min.map_or(0, |m| m + 1))),
            _ => Err(format!(
                "unexpected ABI `{abi}` for the generic Python tag `{py}`"
            )),
        };
    }
    if let Some(d) = py.strip_prefix("cp") {
        let Some((maj, Some(min))) = tag_python(d) else {
            return Err(format!("unknown Python tag `{py}`"));
        };
        let own = maj == tmaj && min == tmin;
        return match abi {
            "abi3" if maj == tmaj && min <= tmin => Ok((4, min)),
            "abi3" => Err(format!("needs CPython {maj}.{min} or newer (`{py}-abi3`); the target has Python {tpy}")),
            // `cp311-none-any` ranks above `py311-none-any` among pure wheels.
            "none" if own => Ok((3, 99)),
            a if a == format!("cp{maj}{min}") && own => Ok((5, 0)),
            a if a.starts_with(&format!("cp{maj}{min}")) && a.ends_with('t') => {
                Err(format!("built for free-threaded CPython {maj}.{min} (`{a}`), not the default build"))
            }
            _ if !own => Err(format!("built for CPython {maj}.{min} only (`{py}-{abi}`); the target has Python {tpy}")),
            a => Err(format!("ABI `{a}` does not match CPython {tpy} (expected `cp{tmaj}{tmin}`, `abi3` or `none`)")),
        };
    }
    match py {
        p if p.starts_with("pp") => other("PyPy"),
        p if p.starts_with("graalpy") => other("GraalPy"),
        p if p.starts_with("ip") => other("IronPython"),
        p if p.starts_with("jy") => other("Jython"),
        _ => Err(format!("unknown Python tag `{py}`")),
    }
}

/// The glibc version and machine of a manylinux tag (PEP 513, 571, 599, 600).
fn manylinux(plat: &str) -> Option<((u32, u32), &str)> {
    for (legacy, glibc) in [
        ("manylinux1_", (2, 5)),
        ("manylinux2010_", (2, 12)),
        ("manylinux2014_", (2, 17)),
    ] {
        if let Some(machine) = plat.strip_prefix(legacy) {
            return Some((glibc, machine));
        }
    }
    let rest = plat.strip_prefix("manylinux_")?;
    let mut it = rest.splitn(3, '_');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some(((major, minor), it.next()?))
}

/// A platform tag against the target: `Ok(rank)` or the reason.
fn platform(plat: &str, target: &Target) -> Result<u32, String> {
    let machine = target.machine.as_str();
    let wrong_machine = |m: &str| {
        Err(format!("built for {m} (`{plat}`); the target is {machine} ({}); choose that architecture with --arch", target.arch))
    };
    if plat == "any" {
        return Ok(0);
    }
    if let Some((glibc, m)) = manylinux(plat) {
        if m != machine {
            return wrong_machine(m);
        }
        if glibc.0 != target.glibc.0 || glibc > target.glibc {
            return Err(format!(
                "needs glibc {}.{} (`{plat}`); the target has glibc {}.{}",
                glibc.0, glibc.1, target.glibc.0, target.glibc.1
            ));
        }
        return Ok(10 + glibc.1);
    }
    if let Some(m) = plat.strip_prefix("linux_") {
        return if m == machine {
            Ok(1)
        } else {
            wrong_machine(m)
        };
    }
    let family = if plat.starts_with("musllinux_") {
        "musl libc (Alpine Linux), not glibc"
    } else if plat.starts_with("macosx_") {
        "macOS"
    } else if plat.starts_with("win") {
        "Windows"
    } else if plat.starts_with("android_") {
        "Android"
    } else if plat.starts_with("ios_") {
        "iOS"
    } else if plat.starts_with("emscripten_") || plat.starts_with("pyodide_") {
        "WebAssembly (Pyodide)"
    } else {
        return Err(format!("unknown platform tag `{plat}`"));
    };
    Err(format!("built for {family}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bookworm() -> Target {
        Target::named("bookworm", "amd64").unwrap()
    }

    fn wf(s: &str) -> WheelFilename {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn prio(s: &str, t: &Target) -> u32 {
        match wf(s).compatibility(t) {
            Compat::Compatible { priority } => priority,
            Compat::Incompatible(r) => panic!("{s} refused: {r}"),
        }
    }

    fn refused(s: &str, t: &Target) -> String {
        match wf(s).compatibility(t) {
            Compat::Compatible { priority } => panic!("{s} accepted with priority {priority}"),
            Compat::Incompatible(r) => r,
        }
    }

    #[test]
    fn round_trips() {
        for name in [
            "requests-2.31.0-py3-none-any.whl",
            "six-1.16.0-py2.py3-none-any.whl",
            "rapidfuzz-3.9.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "orjson-3.10.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "nh3-0.2.18-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "foo-1.0-1build-py3-none-any.whl",
            "foo_bar-2.0rc1-cp311-abi3-musllinux_1_2_x86_64.whl",
            "numpy-2.1.0-cp311-cp311-macosx_14_0_arm64.whl",
        ] {
            assert_eq!(wf(name).to_string(), name);
        }
    }

    #[test]
    fn parses_fields() {
        let w = wf("foo_bar-1.0-7-py2.py3-none-any.whl");
        assert_eq!(w.name, "foo_bar");
        assert_eq!(w.version, Version::from_str("1.0").unwrap());
        assert_eq!(w.build.as_deref(), Some("7"));
        assert_eq!(w.python_tags, ["py2", "py3"]);
        assert!(w.is_pure());
        assert_eq!(w.expanded_tags(), ["py2-none-any", "py3-none-any"]);
    }

    #[test]
    fn rejects_bad_names_quoting_them() {
        for bad in [
            "foo-1.0.tar.gz",
            "foo-1.0-py3-none.whl",
            "foo-x!y-py3-none-any.whl",
            "foo-1.0-b1-py3-none-any.whl",
            "foo-1.0-py3..-none-any.whl",
        ] {
            let e = bad.parse::<WheelFilename>().unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn min_glibc_of_legacy_and_pep600_tags() {
        assert_eq!(
            wf("a-1-cp311-cp311-manylinux1_x86_64.whl").min_glibc(),
            Some((2, 5))
        );
        assert_eq!(
            wf("a-1-cp311-cp311-manylinux2010_x86_64.whl").min_glibc(),
            Some((2, 12))
        );
        assert_eq!(
            wf("a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").min_glibc(),
            Some((2, 17))
        );
        assert_eq!(
            wf("a-1-cp311-cp311-manylinux_2_28_x86_64.whl").min_glibc(),
            Some((2, 28))
        );
        assert_eq!(wf("a-1-py3-none-any.whl").min_glibc(), None);
        assert_eq!(wf("a-1-cp311-cp311-linux_x86_64.whl").min_glibc(), None);
    }

    #[test]
    fn compatible_on_bookworm_amd64() {
        let t = bookworm();
        for ok in [
            "a-1-py3-none-any.whl",
            "a-1-py2.py3-none-any.whl",
            "a-1-py311-none-any.whl",
            "a-1-py38-none-any.whl",
            "a-1-cp311-none-any.whl",
            "rapidfuzz-3.9.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "rapidfuzz-3.10.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "orjson-3.10.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "nh3-0.2.18-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "nh3-0.2.18-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "a-1-cp311-cp311-manylinux1_x86_64.whl",
            "a-1-cp311-cp311-manylinux2010_x86_64.whl",
            "a-1-cp311-cp311-manylinux_2_36_x86_64.whl",
            "a-1-cp311-none-manylinux_2_17_x86_64.whl",
            "cmake-3.30.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "a-1-cp311-cp311-linux_x86_64.whl",
            // One fitting tag in a compressed set is enough.
            "a-1-cp311-cp311-musllinux_1_1_x86_64.manylinux_2_17_x86_64.whl",
        ] {
            prio(ok, &t);
        }
    }

    #[test]
    fn refused_on_bookworm_amd64_with_reasons() {
        let t = bookworm();
        let cases = [
            ("a-1-cp311-cp311-musllinux_1_2_x86_64.whl", "musl"),
            ("a-1-cp311-cp311-macosx_11_0_arm64.whl", "macOS"),
            (
                "a-1-cp311-cp311-macosx_10_9_x86_64.macosx_11_0_arm64.whl",
                "macOS",
            ),
            ("a-1-cp311-cp311-win_amd64.whl", "Windows"),
            ("a-1-cp311-cp311-manylinux_2_17_aarch64.whl", "aarch64"),
            ("a-1-cp311-cp311-linux_aarch64.whl", "aarch64"),
            ("a-1-cp311-cp311-manylinux_2_38_x86_64.whl", "glibc 2.38"),
            ("a-1-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl", "PyPy"),
            (
                "a-1-graalpy311-graalpy242_311_native-manylinux_2_17_x86_64.whl",
                "GraalPy",
            ),
            (
                "a-1-cp310-cp310-manylinux_2_17_x86_64.whl",
                "CPython 3.10 only",
            ),
            (
                "a-1-cp312-cp312-manylinux_2_17_x86_64.whl",
                "CPython 3.12 only",
            ),
            ("a-1-cp312-abi3-manylinux_2_17_x86_64.whl", "3.12 or newer"),
            ("a-1-cp313-cp313t-manylinux_2_17_x86_64.whl", "3.13"),
            ("a-1-py2-none-any.whl", "Python 2 only"),
            ("a-1-py312-none-any.whl", "Python 3.12"),
            ("a-1-cp310-none-any.whl", "3.10"),
            (
                "a-1-cp311-cp311-weird_plat.whl",
                "unknown platform tag `weird_plat`",
            ),
        ];
        for (name, want) in cases {
            let r = refused(name, &t);
            assert!(r.contains(want), "{name}: {r}");
        }
        // Both axes wrong: both said.
        let r = refused("a-1-cp312-cp312-musllinux_1_2_x86_64.whl", &t);
        assert!(r.contains("3.12") && r.contains("musl"), "{r}");
    }

    #[test]
    fn other_targets() {
        let jammy = Target::named("jammy", "arm64").unwrap();
        prio(
            "a-1-cp310-cp310-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            &jammy,
        );
        refused("a-1-cp310-cp310-manylinux_2_17_x86_64.whl", &jammy);
        let bullseye = Target::named("bullseye", "amd64").unwrap();
        let r = refused(
            "rapidfuzz-3.10.0-cp39-cp39-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            &Target {
                glibc: (2, 26),
                ..bullseye.clone()
            },
        );
        assert!(r.contains("glibc 2.27") && r.contains("glibc 2.28"), "{r}");
        prio(
            "rapidfuzz-3.10.0-cp39-cp39-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            &bullseye,
        );
    }

    #[test]
    fn priorities_prefer_the_most_specific() {
        let t = bookworm();
        let cp = prio("a-1-cp311-cp311-manylinux_2_17_x86_64.whl", &t);
        let abi3_new = prio("a-1-cp39-abi3-manylinux_2_17_x86_64.whl", &t);
        let abi3_old = prio("a-1-cp37-abi3-manylinux_2_17_x86_64.whl", &t);
        let cp_none = prio("a-1-cp311-none-manylinux_2_17_x86_64.whl", &t);
        let py_plat = prio("a-1-py3-none-manylinux_2_17_x86_64.whl", &t);
        let pure_specific = prio("a-1-py311-none-any.whl", &t);
        let pure = prio("a-1-py3-none-any.whl", &t);
        assert!(
            cp > abi3_new && abi3_new > abi3_old && abi3_old > cp_none,
            "{cp} {abi3_new} {abi3_old} {cp_none}"
        );
        assert!(cp_none > py_plat && py_plat > pure_specific && pure_specific > pure);
        // Higher glibc wins within what the target allows; plain linux_ is last.
        let g28 = prio("a-1-cp311-cp311-manylinux_2_28_x86_64.whl", &t);
        let linux = prio("a-1-cp311-cp311-linux_x86_64.whl", &t);
        assert!(g28 > cp && cp > linux);
        assert!(linux > abi3_new, "class dominates platform");
    }

    #[test]
    fn purity() {
        assert!(!wf("a-1-cp311-cp311-manylinux_2_17_x86_64.whl").is_pure());
        assert!(!wf("a-1-py3-none-manylinux_2_17_x86_64.whl").is_pure());
        assert!(wf("a-1-cp311-cp311-linux_x86_64.whl").is_linux_only());
        assert!(!wf("a-1-cp311-cp311-manylinux_2_17_x86_64.whl").is_linux_only());
    }
}
