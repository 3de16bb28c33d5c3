//! Debian formats and the target release: versions and relations (Policy §5.6.12, §7.1),
//! binary control files (§5.3), the `.deb` container (deb(5)) written and read, the release
//! a package is built for, and its archive (`Packages`, `InRelease`, `Contents`).

pub mod archive;
pub mod control;
pub mod deb;
pub mod deb822;
pub mod debfile;
pub mod relation;
pub mod target;
pub mod version;
