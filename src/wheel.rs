//! Reading a wheel (PEP 427) safely: every entry checked before anything is used.

use crate::metadata::{EntryPoints, Metadata, WheelInfo};
use anyhow::Result;
use pep440_rs::Version;
use std::fs::File;
use std::path::Path;

/// Caps that protect against zip bombs and hostile archives.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Total uncompressed bytes.
    pub max_total: u64,
    /// Uncompressed bytes of one entry.
    pub max_entry: u64,
    /// Number of entries.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total: 4 << 30,
            max_entry: 1 << 30,
            max_entries: 200_000,
        }
    }
}

/// Where an entry of the wheel belongs (PEP 427 install scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// purelib/platlib: `/usr/lib/python3/dist-packages/<path>` (includes `.dist-info/`).
    Lib,
    /// `.data/scripts/<path>`: `/usr/bin/<path>`.
    Scripts,
    /// `.data/data/<path>`: `/usr/<path>`.
    Data,
    /// `.data/headers/<path>`: `/usr/include/python3.X/<dist>/<path>`.
    Headers,
}

/// One regular file in the wheel.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Index in the zip archive.
    pub index: usize,
    /// Name inside the wheel (validated: relative, no `..`, no duplicates).
    pub name: String,
    pub scheme: Scheme,
    /// Path relative to the scheme's root (`.data/<scheme>/` prefix removed).
    pub path: String,
    pub size: u64,
    /// The zip entry carries an executable bit.
    pub executable: bool,
}

/// An opened, validated wheel.
pub struct Wheel {
    pub archive: zip::ZipArchive<File>,
    /// `foo-1.0.dist-info`
    pub dist_info: String,
    pub metadata: Metadata,
    pub info: WheelInfo,
    pub entry_points: EntryPoints,
    /// Regular files, sorted by name.
    pub entries: Vec<Entry>,
    pub limits: Limits,
}

impl Wheel {
    /// Open and validate. `name`/`version` come from the file name and must agree with
    /// the metadata.
    pub fn open(path: &Path, name: &str, version: &Version, limits: Limits) -> Result<Wheel> {
        todo!("{path:?} {name} {version} {limits:?}")
    }

    /// The contents of one entry, enforcing the size limits while reading.
    pub fn read(&mut self, index: usize) -> Result<Vec<u8>> {
        todo!("{index}")
    }
}
