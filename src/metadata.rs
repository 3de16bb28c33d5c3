//! Core metadata (METADATA / PKG-INFO, versions 1.0–2.4), `entry_points.txt` and the
//! `WHEEL` file. Only the fields py2deb uses are kept; unknown keys are ignored.

use anyhow::Result;
use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::Requirement;

/// The parts of a distribution's core metadata that py2deb uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub metadata_version: String,
    pub name: String,
    pub version: Version,
    pub summary: Option<String>,
    /// The long description (the header field or the message body).
    pub description: Option<String>,
    pub description_content_type: Option<String>,
    pub home_page: Option<String>,
    /// `Project-URL: Label, url` pairs in order.
    pub project_urls: Vec<(String, String)>,
    pub author: Option<String>,
    pub author_email: Option<String>,
    pub maintainer: Option<String>,
    pub maintainer_email: Option<String>,
    pub license: Option<String>,
    pub license_expression: Option<String>,
    pub license_files: Vec<String>,
    pub classifiers: Vec<String>,
    pub requires_dist: Vec<Requirement>,
    pub requires_python: Option<VersionSpecifiers>,
    pub provides_extra: Vec<String>,
}

impl Metadata {
    /// Parse METADATA text. Errors quote the bad field.
    pub fn parse(text: &str) -> Result<Metadata> {
        todo!("{text}")
    }
}

/// One `name = module:attr` line of `entry_points.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub name: String,
    pub module: String,
    /// `attr` or `obj.attr`; None when the entry point names only a module.
    pub attr: Option<String>,
}

/// The script entry points of a wheel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPoints {
    pub console_scripts: Vec<EntryPoint>,
    pub gui_scripts: Vec<EntryPoint>,
}

impl EntryPoints {
    pub fn parse(text: &str) -> Result<EntryPoints> {
        todo!("{text}")
    }
}

/// The `WHEEL` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelInfo {
    pub wheel_version: String,
    pub root_is_purelib: bool,
    pub tags: Vec<String>,
}

impl WheelInfo {
    pub fn parse(text: &str) -> Result<WheelInfo> {
        todo!("{text}")
    }
}
