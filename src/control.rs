//! Binary package control files (Debian Policy §5.3, §5.6): typed fields in dpkg's order,
//! values that cannot carry field syntax, and the Description rules of §5.6.13.

use crate::relation::Relations;
use anyhow::Result;
use std::io::Write;

/// The synopsis and extended description of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// One line, no trailing period, under 80 characters.
    pub synopsis: String,
    /// Plain-text paragraphs; rendered with a leading space per line and ` .` for blank
    /// lines.
    pub extended: Vec<String>,
}

/// The control paragraph of a binary package, typed field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryControl {
    pub package: String,
    /// Full Debian version (`1:1.0~rc1-0py2deb1`).
    pub version: String,
    pub architecture: String,
    pub maintainer: String,
    /// Filled by the writer from the data it wrote (KiB, dpkg's rule).
    pub installed_size: Option<u64>,
    pub depends: Relations,
    pub recommends: Relations,
    pub conflicts: Relations,
    pub breaks: Relations,
    pub replaces: Relations,
    pub provides: Relations,
    pub section: String,
    pub priority: String,
    pub homepage: Option<String>,
    pub description: Description,
}

impl BinaryControl {
    /// Write the paragraph. Every value is checked for newlines/control characters
    /// (rejected, naming the field) so metadata text cannot inject a field.
    pub fn write_to(&self, out: &mut dyn Write) -> Result<()> {
        todo!("{:p}", out)
    }
}

/// Policy §5.6.1: lowercase letters, digits, `+ - .`, at least two characters, starting
/// alphanumeric. Errors quote the name and say what it must be.
pub fn validate_package_name(name: &str) -> Result<()> {
    todo!("{name}")
}

/// Turn a project's long description (Markdown, reStructuredText or plain) into a few
/// short plain-text paragraphs: markup, badges, images, links and code blocks stripped.
pub fn plain_description(long: &str, content_type: Option<&str>) -> Vec<String> {
    todo!("{long} {content_type:?}")
}

/// A synopsis from a Summary: one line, trimmed, no trailing period, at most 80 chars.
pub fn synopsis(summary: &str) -> String {
    todo!("{summary}")
}
