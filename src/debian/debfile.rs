//! Reading existing binary packages: the `ar` container and `control.tar` member described
//! in deb(5), and the control paragraph format of deb-control(5) / Debian Policy §5.1.
//!
//! Packages come from anywhere, so everything here treats the file as hostile: the control
//! paragraph is parsed with dpkg's rules (one paragraph, no blank continuation lines, no CR,
//! no duplicate or index-only fields, no characters that end lines or reorder text in some
//! reader), the fields the repository uses in paths (Package, Version, Architecture,
//! Source) are checked against Debian Policy §5.6, and the control members are size-capped.
//! The repository writes `Packages` from the parsed fields, never from the raw bytes. Any
//! valid `.deb` is accepted, not only py2deb's: every compression dpkg knows for
//! `control.tar` (none, gzip, xz, zstd) and both `./control` and `control` member spellings.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use md5::Md5;

use super::deb822::{clip, field, parse_paragraph, render_paragraph};
use sha2::{Digest, Sha256};

/// Why a file could not be read as a binary package. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DebFileError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} is not a Debian binary package ({why}); pass a .deb built by dpkg-deb or py2deb"
    )]
    NotADeb { path: PathBuf, why: String },
    #[error("{path} is truncated or corrupt ({why}); re-download or rebuild it")]
    Corrupt { path: PathBuf, why: String },
    #[error("{path} has no control file inside its control.tar member; the package is malformed")]
    MissingControl { path: PathBuf },
    #[error("{path}: control file {why}")]
    BadControl { path: PathBuf, why: String },
    #[error("{path}: {member} is {size} bytes, more than the {max} bytes a package's control data may take; this is not a normal package")]
    TooLarge {
        path: PathBuf,
        member: String,
        size: u64,
        max: u64,
    },
}

/// The facts about one `.deb` the repository needs.
#[derive(Debug, Clone)]
pub struct DebInfo {
    /// The control paragraph as parsed and written back by [`render_paragraph`]: one field
    /// per line plus continuations, ending in one newline, never an index-only field.
    pub control: Vec<u8>,
    pub package: String,
    pub version: String,
    pub architecture: String,
    /// Source package name (`Source:` without a version), or `package` when absent.
    pub source: String,
    pub size: u64,
    pub md5: String,
    pub sha256: String,
}

/// Read a package's control paragraph and its file hashes, and check every field the
/// repository uses in a path or an index against Debian Policy's syntax.
pub fn inspect(path: &Path) -> Result<DebInfo, DebFileError> {
    let control = read_control(path)?;
    let bad = |why: String| DebFileError::BadControl {
        path: path.to_owned(),
        why,
    };
    let fields = parse_paragraph(&control).map_err(bad)?;
    if let Some((name, _)) = fields
        .iter()
        .find(|(k, _)| INDEX_ONLY_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k)))
    {
        return Err(bad(format!(
            "carries `{name}`, a field only a Packages index may set; rebuild the package without it"
        )));
    }
    let get = |name: &str| -> Result<String, DebFileError> {
        field(&fields, name)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("lacks the mandatory `{name}` field")))
    };
    let package = get("Package")?;
    check_package_name(&package).map_err(|why| bad(format!("field Package: {why}")))?;
    let version = get("Version")?;
    check_version(&version).map_err(|why| bad(format!("field Version: {why}")))?;
    let architecture = get("Architecture")?;
    check_architecture(&architecture).map_err(|why| bad(format!("field Architecture: {why}")))?;
    // `Source: foo (1.2-1)` names a source whose version differs from the binary's; the
    // pool directory only wants the name.
    let source = match field(&fields, "Source") {
        Some(s) => check_source(s).map_err(|why| bad(format!("field Source: {why}")))?,
        None => package.clone(),
    };
    let (size, md5, sha256) = hash_file(path)?;
    Ok(DebInfo {
        control: render_paragraph(&fields).into_bytes(),
        package,
        version,
        architecture,
        source,
        size,
        md5,
        sha256,
    })
}

/// Policy §5.6.7: package names are at least two characters of `a-z 0-9 + - .`, starting
/// with a letter or digit.
pub fn check_package_name(name: &str) -> Result<(), String> {
    let ok = name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a package name (Policy 5.6.7: two or more of a-z 0-9 + - ., starting with a letter or digit)",
            clip(name)
        ))
    }
}

/// Policy §5.6.12, as dpkg checks it: `[epoch:]upstream[-revision]`, the epoch a number,
/// the upstream version starting with a digit and made of `A-Za-z0-9 . + ~ -` (and `:` only
/// after an epoch), the revision of `A-Za-z0-9 . + ~`.
pub fn check_version(version: &str) -> Result<(), String> {
    let fail = |why: &str| {
        Err(format!(
            "`{}` is not a Debian version ({why}; Policy 5.6.12: [epoch:]upstream[-revision], e.g. 1:2.0-1)",
            clip(version)
        ))
    };
    if version.len() > 256 {
        return fail("longer than 256 characters");
    }
    let (epoch, rest) = match version.split_once(':') {
        Some((e, r)) => (Some(e), r),
        None => (None, version),
    };
    if let Some(e) = epoch {
        if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) || e.parse::<u32>().is_err() {
            return fail("the epoch is not a number");
        }
    }
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, Some(r)),
        None => (rest, None),
    };
    if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
        return fail("the upstream version does not start with a digit");
    }
    if !upstream
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".+~-:".contains(&b))
    {
        return fail("the upstream version holds a character other than A-Za-z0-9 . + ~ - :");
    }
    if let Some(r) = revision {
        if r.is_empty() {
            return fail("the revision after the last `-` is empty");
        }
        if !r
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+~".contains(&b))
        {
            return fail("the revision holds a character other than A-Za-z0-9 . + ~");
        }
    }
    Ok(())
}

/// One architecture name as a binary package carries it (dpkg-architecture(1)): `all` or a
/// concrete name of `a-z 0-9 -`, starting with a letter or digit; never `any` or a wildcard.
pub fn check_architecture(arch: &str) -> Result<(), String> {
    let ok = !arch.is_empty()
        && arch.len() <= 64
        && arch.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && arch
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && arch != "any"
        && arch != "source";
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not one architecture name (a-z 0-9 -, e.g. amd64 or all)",
            clip(arch)
        ))
    }
}

/// Policy §5.6.1 in a binary package: `name` or `name (version)`; returns the name.
pub fn check_source(value: &str) -> Result<String, String> {
    let (name, version) = match value.split_once(' ') {
        Some((n, rest)) => {
            let v = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| {
                    format!(
                        "`{}` is not `name` or `name (version)` (Policy 5.6.1)",
                        clip(value)
                    )
                })?;
            (n, Some(v))
        }
        None => (value, None),
    };
    check_package_name(name)?;
    if let Some(v) = version {
        check_version(v)?;
    }
    Ok(name.to_owned())
}

/// Size, MD5 and SHA-256 of a file, in one streaming pass.
pub fn hash_file(path: &Path) -> Result<(u64, String, String), DebFileError> {
    let io_err = |source| DebFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut md5 = Md5::new();
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        sha.update(&buf[..n]);
        size += n as u64;
    }
    Ok((
        size,
        hex::encode(md5.finalize()),
        hex::encode(sha.finalize()),
    ))
}

/// The raw bytes of the `control` file inside a `.deb`.
pub fn read_control(path: &Path) -> Result<Vec<u8>, DebFileError> {
    let io_err = |source| DebFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    // Check the global header ourselves: the ar crate's error for a wrong magic is generic,
    // and "not an ar archive" is the most common mistake (a wheel or tarball passed by hand).
    let mut magic = [0u8; 8];
    if file.read_exact(&mut magic).is_err() || &magic != b"!<arch>\n" {
        return Err(DebFileError::NotADeb {
            path: path.to_owned(),
            why: "no ar archive header".into(),
        });
    }
    file.seek(io::SeekFrom::Start(0)).map_err(io_err)?;
    let corrupt = |why: String| DebFileError::Corrupt {
        path: path.to_owned(),
        why,
    };
    let mut archive = ar::Archive::new(BufReader::new(file));
    let mut index = 0usize;
    while let Some(entry) = archive.next_entry() {
        let mut entry = entry.map_err(|e| corrupt(format!("ar member {index}: {e}")))?;
        let name = String::from_utf8_lossy(entry.header().identifier())
            .trim_end_matches('/')
            .to_owned();
        if index == 0 {
            // deb(5): the first member must be debian-binary, declaring format 2.x.
            let mut version = String::new();
            (&mut entry)
                .take(64)
                .read_to_string(&mut version)
                .map_err(|e| corrupt(format!("debian-binary: {e}")))?;
            if name != "debian-binary" || !version.starts_with("2.") {
                return Err(DebFileError::NotADeb {
                    path: path.to_owned(),
                    why: format!("first ar member is `{name}`, expected `debian-binary` with 2.x"),
                });
            }
        } else if let Some(ext) = name.strip_prefix("control.tar") {
            if entry.header().size() > CONTROL_TAR_MAX {
                return Err(too_big(path, &name, entry.header().size(), CONTROL_TAR_MAX));
            }
            let reader: Box<dyn Read + '_> = match ext {
                "" => Box::new(&mut entry),
                ".gz" => Box::new(flate2::read::GzDecoder::new(&mut entry)),
                ".xz" => Box::new(liblzma::read::XzDecoder::new(&mut entry)),
                ".zst" => Box::new(
                    zstd::stream::read::Decoder::new(&mut entry)
                        .map_err(|e| corrupt(format!("{name}: {e}")))?,
                ),
                other => {
                    return Err(DebFileError::NotADeb {
                        path: path.to_owned(),
                        why: format!("unknown control.tar compression `{other}`"),
                    })
                }
            };
            let limited = Limited {
                inner: reader,
                left: CONTROL_TAR_MAX,
            };
            return control_from_tar(path, limited, &name);
        }
        index += 1;
    }
    if index == 0 {
        Err(corrupt("empty ar archive".into()))
    } else {
        Err(DebFileError::NotADeb {
            path: path.to_owned(),
            why: "no control.tar member".into(),
        })
    }
}

fn too_big(path: &Path, member: &str, size: u64, max: u64) -> DebFileError {
    DebFileError::TooLarge {
        path: path.to_owned(),
        member: member.to_owned(),
        size,
        max,
    }
}

/// Marker carried in the io::Error a [`Limited`] reader returns once its budget is spent.
const LIMIT_HIT: &str = "py2deb control size limit";

/// A reader that fails (rather than silently stopping) after `left` bytes, so a decompression
/// bomb in `control.tar` costs at most the limit in time and memory.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a stream that ends exactly at the limit from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(LIMIT_HIT)),
            };
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn control_from_tar(path: &Path, reader: impl Read, member: &str) -> Result<Vec<u8>, DebFileError> {
    let corrupt = |e: io::Error| {
        if e.to_string().contains(LIMIT_HIT) {
            too_big(
                path,
                &format!("{member} (uncompressed)"),
                CONTROL_TAR_MAX + 1,
                CONTROL_TAR_MAX,
            )
        } else {
            DebFileError::Corrupt {
                path: path.to_owned(),
                why: format!("{member}: {e}"),
            }
        }
    };
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let entry_path = entry.path_bytes().into_owned();
        let name = entry_path.strip_prefix(b"./").unwrap_or(&entry_path);
        if name == b"control" {
            let size = entry.size();
            if size > CONTROL_FILE_MAX {
                return Err(too_big(path, "control", size, CONTROL_FILE_MAX));
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(CONTROL_FILE_MAX + 1)
                .read_to_end(&mut bytes)
                .map_err(corrupt)?;
            if bytes.len() as u64 > CONTROL_FILE_MAX {
                return Err(too_big(
                    path,
                    "control",
                    bytes.len() as u64,
                    CONTROL_FILE_MAX,
                ));
            }
            return normalise_paragraph(path, bytes);
        }
    }
    Err(DebFileError::MissingControl {
        path: path.to_owned(),
    })
}

/// Check the control file's framing: one paragraph, optionally surrounded by empty lines,
/// ending in exactly one newline. Field syntax is checked by [`parse_paragraph`].
fn normalise_paragraph(path: &Path, mut bytes: Vec<u8>) -> Result<Vec<u8>, DebFileError> {
    // Only empty lines may follow the paragraph; whitespace-only lines are continuation
    // lines to dpkg and are rejected by the parser, not silently dropped here.
    while bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err(DebFileError::BadControl {
            path: path.to_owned(),
            why: "is empty".into(),
        });
    }
    bytes.push(b'\n');
    Ok(bytes)
}

/// Upper bound on one control file (dpkg's own are a few KiB; Debian's largest is ~100 KiB).
pub const CONTROL_FILE_MAX: u64 = 1024 * 1024;
/// Upper bound on the uncompressed `control.tar` (control file plus maintainer scripts).
pub const CONTROL_TAR_MAX: u64 = 8 * 1024 * 1024;
/// Fields a `Packages` index adds itself; a package that carries them is trying to choose
/// its own location or hashes in the index.
pub const INDEX_ONLY_FIELDS: &[&str] = &[
    "Filename",
    "Size",
    "MD5sum",
    "SHA1",
    "SHA256",
    "SHA512",
    "Description-md5",
    "MSDOS-Filename",
    "Status",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_deb_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.deb");
        std::fs::write(&p, b"PK\x03\x04 not an ar").unwrap();
        let e = read_control(&p).unwrap_err().to_string();
        assert!(
            e.contains("x.deb") && e.contains("not a Debian binary package"),
            "{e}"
        );
    }
}
