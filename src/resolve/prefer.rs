//! Which release of a dependency the closure prefers (`--prefer`): the distribution's
//! package whenever it satisfies the requirement (the default, as Debian would), or the
//! newest release as pip resolves it (PEP 440 ordering), carried privately where the
//! distribution's is older.
//!
//! `newest` is for projects that under-declare their requirements: bump-my-version 1.8.1
//! asks for `rich-click` without a bound but needs 1.7 or later, so bookworm's 1.6 makes
//! it crash although the requirement is "satisfied".

use pep440_rs::Version;
use std::str::FromStr;

/// `--prefer distribution|newest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefer {
    /// The target's package when it satisfies the requirement.
    #[default]
    Distribution,
    /// The newest release on the index, privately when the target's is older.
    Newest,
}

impl FromStr for Prefer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "distribution" => Ok(Prefer::Distribution),
            "newest" => Ok(Prefer::Newest),
            _ => Err(format!("`{s}` is not one of distribution, newest")),
        }
    }
}

/// The spelling `--prefer` and build records use.
impl std::fmt::Display for Prefer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Prefer::Distribution => "distribution",
            Prefer::Newest => "newest",
        })
    }
}

/// Under `prefer`, is the target's release (`available`, its Python version) to be passed
/// over for `newest`, the newest release on the index that satisfies the requirement?
/// Only under [`Prefer::Newest`], and only when `newest` is strictly newer. A Python
/// version that cannot be read is treated as older: the index's release is the one whose
/// version is known.
pub fn passes_over(prefer: Prefer, available: Option<&str>, newest: Option<&Version>) -> bool {
    let (Prefer::Newest, Some(newest)) = (prefer, newest) else {
        return false;
    };
    match available.map(Version::from_str) {
        Some(Ok(have)) => *newest > have,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_round_trips_and_rejects_other_words() {
        for p in [Prefer::Distribution, Prefer::Newest] {
            assert_eq!(p.to_string().parse::<Prefer>(), Ok(p));
        }
        let e = "latest".parse::<Prefer>().unwrap_err();
        assert!(
            e.contains("`latest`") && e.contains("distribution, newest"),
            "{e}"
        );
        assert_eq!(Prefer::default(), Prefer::Distribution);
    }

    #[test]
    fn newest_passes_over_only_an_older_distribution_release() {
        let v = |s: &str| Version::from_str(s).unwrap();
        let newest = v("1.8.3");
        assert!(passes_over(Prefer::Newest, Some("1.6.0"), Some(&newest)));
        assert!(!passes_over(Prefer::Newest, Some("1.8.3"), Some(&newest)));
        assert!(!passes_over(Prefer::Newest, Some("1.9"), Some(&newest)));
        assert!(!passes_over(
            Prefer::Distribution,
            Some("1.6.0"),
            Some(&newest)
        ));
        // Nothing on the index to prefer.
        assert!(!passes_over(Prefer::Newest, Some("1.6.0"), None));
        assert!(passes_over(
            Prefer::Newest,
            Some("not a version"),
            Some(&newest)
        ));
    }
}
