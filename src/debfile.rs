//! Reading existing binary packages: the `ar` container and `control.tar` member described
//! in deb(5), and the control paragraph format of deb-control(5) / Debian Policy §5.1.
//!
//! The repository publisher copies each package's control paragraph into `Packages` byte for
//! byte, so this module returns the raw bytes and offers only the light parsing needed to
//! find `Package`, `Version`, `Architecture` and `Source`. It accepts any valid `.deb`, not
//! only the ones py2deb writes: every compression dpkg knows for `control.tar` (none, gzip,
//! xz, zstd) and both `./control` and `control` member spellings.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use md5::Md5;
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
}

/// The facts about one `.deb` the repository needs.
#[derive(Debug, Clone)]
pub struct DebInfo {
    /// The control paragraph exactly as stored in the package, trailing blank lines removed
    /// and a single final newline guaranteed.
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

/// Read a package's control paragraph and its file hashes.
pub fn inspect(path: &Path) -> Result<DebInfo, DebFileError> {
    let control = read_control(path)?;
    let fields = parse_paragraph(&control).map_err(|why| DebFileError::BadControl {
        path: path.to_owned(),
        why,
    })?;
    let get = |name: &str| -> Result<String, DebFileError> {
        field(&fields, name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| DebFileError::BadControl {
                path: path.to_owned(),
                why: format!("lacks the mandatory `{name}` field"),
            })
    };
    let package = get("Package")?;
    let version = get("Version")?;
    let architecture = get("Architecture")?;
    // `Source: foo (1.2-1)` names a source whose version differs from the binary's; the
    // pool directory only wants the name.
    let source = field(&fields, "Source")
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| package.clone());
    let (size, md5, sha256) = hash_file(path)?;
    Ok(DebInfo {
        control,
        package,
        version,
        architecture,
        source,
        size,
        md5,
        sha256,
    })
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
            entry
                .read_to_string(&mut version)
                .map_err(|e| corrupt(format!("debian-binary: {e}")))?;
            if name != "debian-binary" || !version.starts_with("2.") {
                return Err(DebFileError::NotADeb {
                    path: path.to_owned(),
                    why: format!("first ar member is `{name}`, expected `debian-binary` with 2.x"),
                });
            }
        } else if let Some(ext) = name.strip_prefix("control.tar") {
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
            return control_from_tar(path, reader, &name);
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

fn control_from_tar(path: &Path, reader: impl Read, member: &str) -> Result<Vec<u8>, DebFileError> {
    let corrupt = |e: io::Error| DebFileError::Corrupt {
        path: path.to_owned(),
        why: format!("{member}: {e}"),
    };
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let entry_path = entry.path_bytes().into_owned();
        let name = entry_path.strip_prefix(b"./").unwrap_or(&entry_path);
        if name == b"control" {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(corrupt)?;
            return normalise_paragraph(path, bytes);
        }
    }
    Err(DebFileError::MissingControl {
        path: path.to_owned(),
    })
}

/// Trim trailing blank lines (a paragraph ends at the first empty line) and make sure the
/// paragraph ends in exactly one newline, so stanzas can be concatenated safely.
fn normalise_paragraph(path: &Path, mut bytes: Vec<u8>) -> Result<Vec<u8>, DebFileError> {
    while matches!(bytes.last(), Some(b'\n' | b'\r' | b' ' | b'\t')) {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err(DebFileError::BadControl {
            path: path.to_owned(),
            why: "is empty".into(),
        });
    }
    if bytes.windows(2).any(|w| w == b"\n\n") {
        return Err(DebFileError::BadControl {
            path: path.to_owned(),
            why: "holds more than one paragraph (blank line inside)".into(),
        });
    }
    bytes.push(b'\n');
    Ok(bytes)
}

/// Split one deb822 paragraph into `(field, value)` pairs. Continuation lines are kept in
/// the value (joined with `\n`), so multi-line fields survive a round trip.
pub fn parse_paragraph(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "is not valid UTF-8".to_string())?;
    let mut fields: Vec<(String, String)> = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        if line.starts_with(' ') || line.starts_with('\t') {
            match fields.last_mut() {
                Some((_, value)) => {
                    value.push('\n');
                    value.push_str(line);
                }
                None => {
                    return Err(format!(
                        "line {}: continuation before any field",
                        lineno + 1
                    ))
                }
            }
        } else if line.starts_with('#') {
            continue;
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.to_owned(), value.trim().to_owned()));
        } else if !line.trim().is_empty() {
            return Err(format!(
                "line {}: `{line}` is not `Field: value`",
                lineno + 1
            ));
        }
    }
    Ok(fields)
}

/// Case-insensitive field lookup (field names are case-insensitive per Policy §5.1).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraph_continuations_are_kept() {
        let f = parse_paragraph(b"Package: a\nDescription: x\n long\n .\nVersion: 1\n").unwrap();
        assert_eq!(field(&f, "description"), Some("x\n long\n ."));
        assert_eq!(field(&f, "VERSION"), Some("1"));
    }

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
