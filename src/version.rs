//! PEP 440 versions and specifiers → Debian versions and relations (order-preserving,
//! relation-exact; see the conformance notes in the README).

use crate::relation::Relations;
use pep440_rs::{Version, VersionSpecifiers};

/// The Debian upstream version (with `N:` epoch if any) for a PEP 440 version.
/// `1.0rc1` → `1.0~rc1`, `1!2.0` → `1:2.0`, `1.0.post1` → `1.0+post1`, `1.0.dev1` → `1.0~~dev1`.
pub fn deb_version(v: &Version) -> String {
    todo!("{v}")
}

/// The Debian relations on `package` that accept exactly the versions `spec` contains.
pub fn relations_for(package: &str, spec: &VersionSpecifiers) -> Relations {
    todo!("{package} {spec}")
}
