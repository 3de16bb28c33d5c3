//! The `.deb` container (deb(5)): `debian-binary`, `control.tar.*`, `data.tar.*` in an ar
//! archive, written deterministically (sorted `./` entries, root:root, clamped mtimes).

use crate::control::BinaryControl;
use anyhow::Result;
use std::io::Write;

/// Member compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Xz,
    Gzip,
    Zstd,
    None,
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "xz" => Ok(Compression::Xz),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "zstd" | "zst" => Ok(Compression::Zstd),
            "none" => Ok(Compression::None),
            _ => Err(format!(
                "unknown compression `{s}`: use xz, gzip, zstd or none"
            )),
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::Xz => "xz",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::None => "none",
        })
    }
}

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Generated content.
    Bytes(Vec<u8>),
    /// Bytes obtained from the caller's source callback with this key (a wheel entry),
    /// so big packages stream instead of sitting in memory all at once.
    Source(usize),
}

/// A file or symlink of the data archive. Parent directories are implied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataEntry {
    /// Absolute installed path without the leading `/` (`usr/bin/foo`).
    pub path: String,
    /// 0o644 or 0o755 for files; ignored for symlinks.
    pub mode: u32,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File(Payload),
    Symlink(String),
}

/// Everything that goes into one `.deb`.
pub struct DebSpec {
    pub control: BinaryControl,
    /// Maintainer scripts (`postinst`, `prerm`, …) as (name, content); mode 0755.
    pub scripts: Vec<(String, Vec<u8>)>,
    pub data: Vec<DataEntry>,
    pub compression: Compression,
    /// mtime for every entry (SOURCE_DATE_EPOCH).
    pub mtime: u64,
}

/// What the writer computed while writing.
#[derive(Debug, Clone)]
pub struct DebSummary {
    pub installed_size_kib: u64,
    pub files: usize,
}

/// Write the package to `out`. `source(key)` returns the bytes of `Payload::Source(key)`.
pub fn write_deb(
    spec: &DebSpec,
    source: &mut dyn FnMut(usize) -> Result<Vec<u8>>,
    out: &mut dyn Write,
) -> Result<DebSummary> {
    todo!("{:p} {:p} {:p}", spec, source, out)
}
