//! Reading a wheel (PEP 427, binary distribution format) safely: every entry's name,
//! type, declared size, compression ratio and place in the archive (no two entries may
//! share bytes) is checked before anything is read, reads are capped so a lying header
//! cannot exhaust memory, and contents are verified against RECORD.

use crate::python::metadata::{EntryPoints, Metadata, WheelInfo};
use anyhow::{anyhow, bail, Context, Result};
use pep440_rs::Version;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::str::FromStr;

/// Caps that protect against zip bombs and hostile archives.
///
/// The sizes are for real wheels: tensorflow ships a single 1.05 GB shared library, and
/// the biggest CUDA wheels unpack to several GB. Bombs are caught by the ratio of
/// uncompressed to compressed bytes (deflate cannot exceed about 1032:1; real files
/// stay far below 100:1) and by refusing entries whose data overlap, so that no
/// compressed byte is counted twice.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Total uncompressed bytes.
    pub max_total: u64,
    /// Uncompressed bytes of one entry.
    pub max_entry: u64,
    /// Number of entries.
    pub max_entries: usize,
    /// Largest accepted ratio of uncompressed to compressed bytes, per entry and for the
    /// whole archive; applied above [`RATIO_FLOOR`] bytes only, since small files of
    /// repeated bytes legitimately compress better.
    pub max_ratio: u64,
}

/// Sizes below which the compression ratio is not checked.
pub const RATIO_FLOOR: u64 = 16 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total: 16 << 30,
            max_entry: 4 << 30,
            max_entries: 200_000,
            max_ratio: 250,
        }
    }
}

/// Parse a size for the limit options: a number of bytes with an optional binary suffix
/// (`K`, `M`, `G`, `T`, optionally followed by `iB` or `B`), such as `8G` or `512MiB`.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    let (number, unit) = t.split_at(digits);
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => {
            return Err(format!(
                "`{text}` is not a size: use bytes or a number with K, M, G or T (e.g. 8G)"
            ))
        }
    };
    let n: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not a size: use bytes or a number with K, M, G or T (e.g. 8G)")
    })?;
    n.checked_mul(1u64 << shift)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("`{text}` is out of range: give a size between 1 byte and 16 EiB"))
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

/// A file's expected digest and size, from one RECORD row.
#[derive(Debug, Clone)]
struct Recorded {
    /// `(algorithm, urlsafe base64 digest without padding)`; None only for RECORD itself.
    hash: Option<(String, String)>,
    size: Option<u64>,
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
    /// The wheel's file name, for error messages.
    label: String,
    /// Zip index → position in `entries`.
    by_index: HashMap<usize, usize>,
    /// RECORD rows by entry name.
    record: HashMap<String, Recorded>,
    /// Uncompressed bytes actually produced by `read` so far.
    total_read: u64,
}

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

/// PEP 503 normalization, with `_` as the separator as in wheel and dist-info names.
fn underscore_name(name: &str) -> String {
    crate::python::PackageName::normalize(name).as_dist_info_name()
}

/// Whether `stem` (a `.dist-info` or `.data` directory name without the suffix) is
/// `<name>-<version>` for this distribution. Every `-` is tried as the separator because
/// legacy wheels may leave `-` unescaped in the name.
fn stem_matches(stem: &str, name: &str, version: &Version) -> bool {
    let wanted = underscore_name(name);
    stem.match_indices('-').any(|(i, _)| {
        underscore_name(&stem[..i]) == wanted
            && Version::from_str(&stem[i + 1..]).is_ok_and(|v| &v == version)
    })
}

/// Check a zip entry name before it is used as a path. A trailing `/` (directory entry)
/// is allowed; everything else must be a clean relative path.
fn check_entry_name(label: &str, name: &str) -> Result<()> {
    let problem = if name.is_empty() || name == "/" {
        Some("the name is empty")
    } else if name.starts_with('/') {
        Some("it is an absolute path")
    } else if name.contains('\\') {
        Some("it contains a backslash")
    } else if name.chars().any(|c| c < ' ' || c == '\x7f') {
        Some("it contains a NUL or control character")
    } else {
        let trimmed = name.strip_suffix('/').unwrap_or(name);
        trimmed.split('/').find_map(|component| match component {
            "" => Some("it contains an empty path component (`//`)"),
            "." => Some("it contains a `.` path component"),
            ".." => Some("it contains a `..` path component"),
            _ => None,
        })
    };
    if let Some(problem) = problem {
        bail!(
            "{label}: unsafe entry name {name:?}: {problem}; entries must be relative paths \
             without `.`, `..` or empty components"
        );
    }
    Ok(())
}

/// Urlsafe base64 without padding, the digest encoding of RECORD (PEP 376, PEP 427).
fn urlsafe_b64_nopad(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Split one CSV row (RECORD uses Python's `csv` module: `,` separated, `"` quoted with
/// `""` as an escaped quote).
fn split_csv_row(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_field_start {
            quoted = true;
            at_field_start = false;
        } else if c == ',' {
            fields.push(std::mem::take(&mut field));
            at_field_start = true;
        } else {
            field.push(c);
            at_field_start = false;
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

/// Parse RECORD into a map from entry name to expected hash and size.
fn parse_record(label: &str, text: &str, record_name: &str) -> Result<HashMap<String, Recorded>> {
    let mut map = HashMap::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let context = || format!("{label}: {record_name} line {}: {line:?}", i + 1);
        let row = split_csv_row(line)
            .filter(|row| row.len() == 3)
            .ok_or_else(|| anyhow!("{}: must be `path,algorithm=digest,size`", context()))?;
        let (path, hash, size) = (&row[0], &row[1], &row[2]);
        let hash = if hash.is_empty() {
            None
        } else {
            let Some((algorithm, digest)) = hash.split_once('=') else {
                bail!("{}: the hash must be `algorithm=digest`", context());
            };
            if !matches!(algorithm, "sha256" | "sha384" | "sha512") {
                bail!(
                    "{}: hash algorithm {algorithm:?} is not accepted; it must be sha256, \
                     sha384 or sha512 (PEP 427)",
                    context()
                );
            }
            Some((
                algorithm.to_string(),
                digest.trim_end_matches('=').to_string(),
            ))
        };
        let size =
            if size.is_empty() {
                None
            } else {
                Some(size.parse::<u64>().map_err(|_| {
                    anyhow!("{}: size {size:?} must be a number of bytes", context())
                })?)
            };
        if map.insert(path.clone(), Recorded { hash, size }).is_some() {
            bail!("{}: {path:?} is listed more than once", context());
        }
    }
    Ok(map)
}

/// Best-effort search of the raw central directory for a name stored twice; the zip
/// crate keeps only one entry per name, so the duplicate cannot be named otherwise.
fn find_duplicate_name(path: &Path, directory_start: u64) -> Option<String> {
    let mut file = File::open(path).ok()?;
    file.seek(SeekFrom::Start(directory_start)).ok()?;
    let mut directory = Vec::new();
    file.take(256 << 20).read_to_end(&mut directory).ok()?;
    let mut seen = HashSet::new();
    let mut pos = 0usize;
    while directory.get(pos..pos + 4)? == b"PK\x01\x02" {
        let field = |at: usize| -> Option<usize> {
            let b = directory.get(pos + at..pos + at + 2)?;
            Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
        };
        let (name_len, extra_len, comment_len) = (field(28)?, field(30)?, field(32)?);
        let name = directory.get(pos + 46..pos + 46 + name_len)?;
        if !seen.insert(name) {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
        pos += 46 + name_len + extra_len + comment_len;
    }
    None
}

/// Read one entry with the size caps enforced on the bytes actually produced, and verify
/// it against its RECORD row when there is one.
fn read_entry(
    archive: &mut zip::ZipArchive<File>,
    limits: &Limits,
    total_read: &mut u64,
    label: &str,
    entry: &Entry,
    recorded: Option<&Recorded>,
) -> Result<Vec<u8>> {
    let corrupt = |e: &dyn std::fmt::Display| {
        anyhow!(
            "{label}: cannot read entry {:?}: {e}; the wheel is corrupt — delete it from the \
             cache and download it again",
            entry.name
        )
    };
    let file = archive.by_index(entry.index).map_err(|e| corrupt(&e))?;
    // The declared size comes from the archive and may be a lie, so it only sizes the
    // initial allocation (bounded) and the reader is capped at one byte past the limit.
    let mut data = Vec::with_capacity(entry.size.min(limits.max_entry).min(1 << 20) as usize);
    file.take(limits.max_entry.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| corrupt(&e))?;
    let actual = data.len() as u64;
    if actual > limits.max_entry {
        bail!(
            "{label}: entry {:?} inflates to more than {} bytes, the per-entry limit; \
             refusing it as a possible zip bomb",
            entry.name,
            limits.max_entry
        );
    }
    *total_read = total_read.saturating_add(actual);
    if *total_read > limits.max_total {
        bail!(
            "{label}: reading entry {:?} takes the wheel past {} uncompressed bytes, the \
             total limit; refusing it as a possible zip bomb",
            entry.name,
            limits.max_total
        );
    }
    if actual != entry.size {
        bail!(
            "{label}: entry {:?} declares {} bytes but contains {actual}; the archive is \
             corrupt or crafted",
            entry.name,
            entry.size
        );
    }
    if let Some(recorded) = recorded {
        if let Some(size) = recorded.size {
            if size != actual {
                bail!(
                    "{label}: entry {:?} is {actual} bytes but RECORD says {size}; the wheel \
                     was modified after it was built",
                    entry.name
                );
            }
        }
        if let Some((algorithm, expected)) = &recorded.hash {
            let digest = match algorithm.as_str() {
                "sha256" => Sha256::digest(&data).to_vec(),
                "sha384" => Sha384::digest(&data).to_vec(),
                _ => Sha512::digest(&data).to_vec(),
            };
            let digest = urlsafe_b64_nopad(&digest);
            if &digest != expected {
                bail!(
                    "{label}: entry {:?} has {algorithm} digest {digest} but RECORD says \
                     {expected}; the wheel was modified after it was built",
                    entry.name
                );
            }
        }
    }
    Ok(data)
}

/// Where an entry's bytes are in the archive: its local header and compressed data.
struct Span {
    /// Offset of the local file header.
    start: u64,
    compressed: u64,
    /// The name in the central directory.
    name: Vec<u8>,
}

/// Refuse entries whose local header and data overlap another entry's or the central
/// directory: overlapping entries let one compressed stream be inflated once per entry
/// (a 132 KB wheel once became a 1 GiB package). Each local header is read to find where
/// its data start, and must name the same file as the central directory.
fn check_spans(path: &Path, label: &str, spans: Vec<Span>, directory_start: u64) -> Result<()> {
    let crafted = |what: String| {
        anyhow!("{label}: {what}; the archive is crafted or corrupt — a wheel's entries never share bytes")
    };
    let mut file = std::io::BufReader::with_capacity(
        4096,
        File::open(path).with_context(|| format!("cannot open wheel {}", path.display()))?,
    );
    let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(spans.len());
    for (i, span) in spans.iter().enumerate() {
        let show = String::from_utf8_lossy(&span.name).into_owned();
        let mut header = [0u8; 30];
        file.seek(SeekFrom::Start(span.start))
            .and_then(|_| file.read_exact(&mut header))
            .map_err(|_| {
                crafted(format!(
                    "entry {show:?} has no local header at offset {}",
                    span.start
                ))
            })?;
        if header[..4] != *b"PK\x03\x04" {
            return Err(crafted(format!(
                "entry {show:?} points at offset {}, where no local header starts",
                span.start
            )));
        }
        let name_len = u64::from(u16::from_le_bytes([header[26], header[27]]));
        let extra_len = u64::from(u16::from_le_bytes([header[28], header[29]]));
        let mut local_name = vec![0u8; name_len as usize];
        file.read_exact(&mut local_name)
            .map_err(|_| crafted(format!("entry {show:?} has a truncated local header")))?;
        if local_name != span.name {
            return Err(crafted(format!(
                "entry {show:?} has a local header naming {:?}",
                String::from_utf8_lossy(&local_name)
            )));
        }
        let end = span
            .start
            .checked_add(30 + name_len + extra_len)
            .and_then(|d| d.checked_add(span.compressed))
            .ok_or_else(|| crafted(format!("entry {show:?} has an impossible size")))?;
        ranges.push((span.start, end, i));
    }
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        let ((_, end, a), (start, _, b)) = (pair[0], pair[1]);
        if start < end {
            return Err(crafted(format!(
                "entries {:?} and {:?} overlap",
                String::from_utf8_lossy(&spans[a].name),
                String::from_utf8_lossy(&spans[b].name)
            )));
        }
    }
    if let Some(&(_, end, last)) = ranges.last() {
        if end > directory_start {
            return Err(crafted(format!(
                "entry {:?} overlaps the central directory",
                String::from_utf8_lossy(&spans[last].name)
            )));
        }
    }
    Ok(())
}

/// An entry name as it is in the archive, before classification.
struct RawEntry {
    index: usize,
    name: String,
    size: u64,
    executable: bool,
}

impl Wheel {
    /// Open and validate. `name`/`version` come from the file name and must agree with
    /// the metadata.
    pub fn open(path: &Path, name: &str, version: &Version, limits: Limits) -> Result<Wheel> {
        let label = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let file = File::open(path).with_context(|| format!("cannot open wheel {path:?}"))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| {
            anyhow!(
                "{}: not a readable zip archive ({e}); the wheel is corrupt or truncated — \
                 delete it from the cache and download it again",
                path.display()
            )
        })?;

        if archive.len() > limits.max_entries {
            bail!(
                "{label}: has {} entries, more than the limit of {}",
                archive.len(),
                limits.max_entries
            );
        }
        if archive.has_duplicate_names() {
            let which = find_duplicate_name(path, archive.central_directory_start())
                .map(|n| format!(" {n:?}"))
                .unwrap_or_default();
            bail!(
                "{label}: entry{which} is stored more than once; every name in a wheel must \
                 be unique"
            );
        }

        // Pass 1: names, types and declared sizes of every entry, before any data is read.
        let mut raw_entries = Vec::new();
        let mut spans = Vec::with_capacity(archive.len());
        let mut declared_total: u64 = 0;
        for index in 0..archive.len() {
            let entry = archive
                .by_index_data(index)
                .map_err(|e| anyhow!("{label}: cannot read entry #{index}: {e}"))?;
            let entry_name = std::str::from_utf8(entry.name_raw())
                .map_err(|_| {
                    anyhow!(
                        "{label}: entry name {:?} is not UTF-8; wheel entry names must be UTF-8",
                        String::from_utf8_lossy(entry.name_raw())
                    )
                })?
                .to_string();
            check_entry_name(&label, &entry_name)?;
            if entry.encrypted() {
                bail!("{label}: entry {entry_name:?} is encrypted; wheels cannot be encrypted");
            }
            // The zip crate reads the mode only for some host systems; the raw high
            // 16 bits are checked as well so a symlink cannot hide behind a DOS host.
            let raw_type = (entry.external_attributes() >> 16) & S_IFMT;
            let mode = entry.unix_mode().unwrap_or(0);
            let mut is_dir = entry_name.ends_with('/');
            for file_type in [raw_type, mode & S_IFMT] {
                match file_type {
                    0 | S_IFREG => {}
                    S_IFDIR => is_dir = true,
                    S_IFLNK => bail!(
                        "{label}: entry {entry_name:?} is a symbolic link; wheels may contain \
                         only regular files"
                    ),
                    other => bail!(
                        "{label}: entry {entry_name:?} has file type {other:#o}, not a regular \
                         file; wheels may contain only regular files"
                    ),
                }
            }
            // Every entry counts against the caps, directories included: a directory
            // entry is only a name, so one that carries data is crafted.
            let size = entry.size();
            let compressed = entry.compressed_size();
            if is_dir && size > 0 {
                bail!(
                    "{label}: directory entry {entry_name:?} carries {size} bytes of data; \
                     directory entries must be empty — the archive is crafted"
                );
            }
            if size > limits.max_entry {
                bail!(
                    "{label}: entry {entry_name:?} declares {size} bytes, more than the \
                     per-entry limit of {} (raise it with --max-entry-size if the wheel is \
                     genuine)",
                    limits.max_entry
                );
            }
            if size > RATIO_FLOOR && size / compressed.max(1) > limits.max_ratio {
                bail!(
                    "{label}: entry {entry_name:?} inflates {compressed} compressed bytes to \
                     {size}, a ratio above {}:1; refusing it as a possible zip bomb (raise \
                     --max-ratio if the wheel is genuine)",
                    limits.max_ratio
                );
            }
            declared_total = declared_total.saturating_add(size);
            if declared_total > limits.max_total {
                bail!(
                    "{label}: entries up to {entry_name:?} declare more than {} uncompressed \
                     bytes, the total limit (raise it with --max-total-size if the wheel is \
                     genuine)",
                    limits.max_total
                );
            }
            spans.push(Span {
                start: entry.header_start(),
                compressed,
                name: entry.name_raw().to_vec(),
            });
            if is_dir {
                continue;
            }
            raw_entries.push(RawEntry {
                index,
                name: entry_name,
                size,
                executable: mode & 0o111 != 0,
            });
        }
        let archive_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if declared_total > RATIO_FLOOR && declared_total / archive_len.max(1) > limits.max_ratio {
            bail!(
                "{label}: {archive_len} bytes of archive declare {declared_total} uncompressed \
                 bytes, a ratio above {}:1; refusing it as a possible zip bomb (raise \
                 --max-ratio if the wheel is genuine)",
                limits.max_ratio
            );
        }
        check_spans(path, &label, spans, archive.central_directory_start())?;

        // Pass 2: the .dist-info and .data directories of this distribution.
        let top_dirs: std::collections::BTreeSet<&str> = raw_entries
            .iter()
            .filter_map(|e| e.name.split_once('/').map(|(top, _)| top))
            .collect();
        let dist_infos: Vec<&str> = top_dirs
            .iter()
            .copied()
            .filter(|d| d.ends_with(".dist-info"))
            .collect();
        let dist_info = match dist_infos.as_slice() {
            [one] if stem_matches(&one[..one.len() - ".dist-info".len()], name, version) => {
                one.to_string()
            }
            [one] => bail!(
                "{label}: its metadata directory {one:?} does not match the file name; it must \
                 be `{}-{version}.dist-info`",
                underscore_name(name)
            ),
            [] => bail!(
                "{label}: has no .dist-info directory; a wheel must contain \
                 `{}-{version}.dist-info/`",
                underscore_name(name)
            ),
            many => bail!(
                "{label}: has {} .dist-info directories ({}); a wheel must contain exactly one",
                many.len(),
                many.join(", ")
            ),
        };
        let data_dirs: Vec<&str> = top_dirs
            .iter()
            .copied()
            .filter(|d| {
                d.strip_suffix(".data")
                    .is_some_and(|stem| stem_matches(stem, name, version))
            })
            .collect();
        if data_dirs.len() > 1 {
            bail!(
                "{label}: has {} .data directories ({}); a wheel may contain at most one",
                data_dirs.len(),
                data_dirs.join(", ")
            );
        }
        let data_dir = data_dirs.first().map(|d| d.to_string());

        // Pass 3: classify into install schemes and refuse two entries with one
        // destination, or a file where another entry needs a directory.
        let mut entries = Vec::with_capacity(raw_entries.len());
        let mut destinations: BTreeMap<(u8, String), String> = BTreeMap::new();
        for raw in raw_entries {
            let (scheme, rel) = match (&data_dir, raw.name.split_once('/')) {
                (Some(data), Some((top, rest))) if top == data => {
                    let (sub, rel) = rest.split_once('/').unwrap_or((rest, ""));
                    if rel.is_empty() {
                        bail!(
                            "{label}: entry {:?} is not inside a scheme directory; files under \
                             {data}/ must be in purelib, platlib, scripts, data or headers",
                            raw.name
                        );
                    }
                    let scheme = match sub {
                        "purelib" | "platlib" => Scheme::Lib,
                        "scripts" => Scheme::Scripts,
                        "data" => Scheme::Data,
                        "headers" => Scheme::Headers,
                        other => bail!(
                            "{label}: entry {:?} is in the unknown directory {data}/{other}/; \
                             it must be purelib, platlib, scripts, data or headers",
                            raw.name
                        ),
                    };
                    (scheme, rel.to_string())
                }
                _ => (Scheme::Lib, raw.name.clone()),
            };
            let key = match scheme {
                Scheme::Lib => 0u8,
                Scheme::Scripts => 1,
                Scheme::Data => 2,
                Scheme::Headers => 3,
            };
            if let Some(other) = destinations.insert((key, rel.clone()), raw.name.clone()) {
                bail!(
                    "{label}: entries {other:?} and {:?} install to the same path {rel:?}",
                    raw.name
                );
            }
            entries.push(Entry {
                index: raw.index,
                name: raw.name,
                scheme,
                path: rel,
                size: raw.size,
                executable: raw.executable,
            });
        }
        for (key, rel) in destinations.keys() {
            let mut prefix = rel.as_str();
            while let Some((parent, _)) = prefix.rsplit_once('/') {
                if let Some(file) = destinations.get(&(*key, parent.to_string())) {
                    bail!(
                        "{label}: entry {file:?} is a file, but {:?} needs it to be a directory",
                        destinations[&(*key, rel.clone())]
                    );
                }
                prefix = parent;
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let by_index: HashMap<usize, usize> = entries
            .iter()
            .enumerate()
            .map(|(pos, e)| (e.index, pos))
            .collect();

        // RECORD: every file but RECORD itself and its signatures must be listed with
        // a hash, so that every byte later read can be verified.
        let record_name = format!("{dist_info}/RECORD");
        let find = |wanted: &str| entries.iter().find(|e| e.name == wanted).cloned();
        let record_entry = find(&record_name).ok_or_else(|| {
            anyhow!("{label}: has no {record_name}; a wheel must list its files in RECORD")
        })?;
        let mut total_read = 0;
        let record_bytes = read_entry(
            &mut archive,
            &limits,
            &mut total_read,
            &label,
            &record_entry,
            None,
        )?;
        let record_text = String::from_utf8(record_bytes)
            .map_err(|_| anyhow!("{label}: {record_name} is not UTF-8 text"))?;
        let record = parse_record(&label, &record_text, &record_name)?;
        let signatures = [
            format!("{dist_info}/RECORD.jws"),
            format!("{dist_info}/RECORD.p7s"),
        ];
        for entry in &entries {
            if entry.name == record_name || signatures.contains(&entry.name) {
                continue;
            }
            match record.get(&entry.name) {
                None => bail!(
                    "{label}: entry {:?} is not listed in {record_name}; every file must be \
                     listed with its hash",
                    entry.name
                ),
                Some(Recorded { hash: None, .. }) => bail!(
                    "{label}: entry {:?} has no hash in {record_name}; every file but RECORD \
                     must have one",
                    entry.name
                ),
                Some(_) => {}
            }
        }

        let mut read_text = |file: &str, required: bool| -> Result<Option<String>> {
            let entry_name = format!("{dist_info}/{file}");
            let Some(entry) = find(&entry_name) else {
                if required {
                    bail!("{label}: has no {entry_name}; it is required (PEP 427)");
                }
                return Ok(None);
            };
            let bytes = read_entry(
                &mut archive,
                &limits,
                &mut total_read,
                &label,
                &entry,
                record.get(&entry_name),
            )?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow!("{label}: {entry_name} is not UTF-8 text"))?;
            Ok(Some(text))
        };
        let metadata_text = read_text("METADATA", true)?.unwrap_or_default();
        let wheel_text = read_text("WHEEL", true)?.unwrap_or_default();
        let entry_points_text = read_text("entry_points.txt", false)?;

        let metadata = Metadata::parse(&metadata_text)
            .with_context(|| format!("{label}: {dist_info}/METADATA"))?;
        if underscore_name(&metadata.name) != underscore_name(name) || &metadata.version != version
        {
            bail!(
                "{label}: METADATA names {} {} but the file name says {name} {version}; the \
                 name and version must agree",
                metadata.name,
                metadata.version
            );
        }
        let info =
            WheelInfo::parse(&wheel_text).with_context(|| format!("{label}: {dist_info}/WHEEL"))?;
        let entry_points = match entry_points_text {
            Some(text) => EntryPoints::parse(&text)
                .with_context(|| format!("{label}: {dist_info}/entry_points.txt"))?,
            None => EntryPoints::default(),
        };

        Ok(Wheel {
            archive,
            dist_info,
            metadata,
            info,
            entry_points,
            entries,
            limits,
            label,
            by_index,
            record,
            total_read,
        })
    }

    /// The contents of one entry, enforcing the size limits while reading and checking the
    /// bytes against RECORD. `index` is an [`Entry::index`].
    pub fn read(&mut self, index: usize) -> Result<Vec<u8>> {
        let Some(&pos) = self.by_index.get(&index) else {
            bail!(
                "{}: zip entry #{index} is not a regular file of this wheel",
                self.label
            );
        };
        let entry = &self.entries[pos];
        read_entry(
            &mut self.archive,
            &self.limits,
            &mut self.total_read,
            &self.label,
            entry,
            self.record.get(&entry.name),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;
    use zip::write::SimpleFileOptions;
    use zip::CompressionMethod;

    const METADATA: &str = "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n\
Summary: A demo\n\nLong text.\n";
    const WHEEL: &str = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n\
Tag: py3-none-any\n";
    const ENTRY_POINTS: &str = "[console_scripts]\ndemo = demo_pkg.cli:main\n";

    type Files = Vec<(String, Vec<u8>, u32)>;

    fn good_files() -> Files {
        let f = |n: &str, c: &str, mode: u32| (n.to_string(), c.as_bytes().to_vec(), mode);
        vec![
            f("demo_pkg/__init__.py", "", 0o644),
            f("demo_pkg/cli.py", "def main():\n    pass\n", 0o644),
            f("demo_pkg-1.0.data/scripts/demo-tool", "#!python\n", 0o755),
            f(
                "demo_pkg-1.0.data/data/share/man/man1/demo.1",
                ".TH demo\n",
                0o644,
            ),
            f("demo_pkg-1.0.data/headers/demo.h", "int x;\n", 0o644),
            f("demo_pkg-1.0.data/platlib/demo_ext.so", "ELF", 0o755),
            f("demo_pkg-1.0.dist-info/METADATA", METADATA, 0o644),
            f("demo_pkg-1.0.dist-info/WHEEL", WHEEL, 0o644),
            f(
                "demo_pkg-1.0.dist-info/entry_points.txt",
                ENTRY_POINTS,
                0o644,
            ),
        ]
    }

    /// Append a RECORD listing every file with its sha256 and size.
    fn with_record(mut files: Files) -> Files {
        let mut record = String::new();
        for (name, data, _) in &files {
            let digest = urlsafe_b64_nopad(&Sha256::digest(data));
            record.push_str(&format!("{name},sha256={digest},{}\n", data.len()));
        }
        record.push_str("demo_pkg-1.0.dist-info/RECORD,,\n");
        files.push((
            "demo_pkg-1.0.dist-info/RECORD".to_string(),
            record.into_bytes(),
            0o644,
        ));
        files
    }

    fn write_zip(dir: &Path, files: &Files) -> PathBuf {
        let path = dir.join("demo_pkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        zip.add_directory("demo_pkg/", SimpleFileOptions::default())
            .unwrap();
        for (name, data, mode) in files {
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .unix_permissions(*mode);
            zip.start_file(name.as_str(), options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    fn open(path: &Path, limits: Limits) -> Result<Wheel> {
        Wheel::open(path, "demo-pkg", &Version::from_str("1.0").unwrap(), limits)
    }

    fn open_err(path: &Path) -> String {
        match open(path, Limits::default()) {
            Ok(_) => panic!("{} opened but should not", path.display()),
            Err(e) => format!("{e:#}"),
        }
    }

    /// Replace every occurrence of `from` with `to` (same length) in the file's bytes.
    fn patch(path: &Path, from: &[u8], to: &[u8]) {
        assert_eq!(from.len(), to.len());
        let mut bytes = std::fs::read(path).unwrap();
        let mut i = 0;
        while i + from.len() <= bytes.len() {
            if &bytes[i..i + from.len()] == from {
                bytes[i..i + from.len()].copy_from_slice(to);
            }
            i += 1;
        }
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn good_wheel() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(dir.path(), &with_record(good_files()));
        let mut wheel = open(&path, Limits::default()).unwrap();
        assert_eq!(wheel.dist_info, "demo_pkg-1.0.dist-info");
        assert_eq!(wheel.metadata.name, "demo-pkg");
        assert_eq!(wheel.metadata.summary.as_deref(), Some("A demo"));
        assert!(wheel.info.root_is_purelib);
        assert_eq!(wheel.entry_points.console_scripts[0].name, "demo");

        let summary: Vec<(&str, Scheme, &str, bool)> = wheel
            .entries
            .iter()
            .map(|e| {
                (
                    e.name.as_str(),
                    e.scheme.clone(),
                    e.path.as_str(),
                    e.executable,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "demo_pkg-1.0.data/data/share/man/man1/demo.1",
                    Scheme::Data,
                    "share/man/man1/demo.1",
                    false
                ),
                (
                    "demo_pkg-1.0.data/headers/demo.h",
                    Scheme::Headers,
                    "demo.h",
                    false
                ),
                (
                    "demo_pkg-1.0.data/platlib/demo_ext.so",
                    Scheme::Lib,
                    "demo_ext.so",
                    true
                ),
                (
                    "demo_pkg-1.0.data/scripts/demo-tool",
                    Scheme::Scripts,
                    "demo-tool",
                    true
                ),
                (
                    "demo_pkg-1.0.dist-info/METADATA",
                    Scheme::Lib,
                    "demo_pkg-1.0.dist-info/METADATA",
                    false
                ),
                (
                    "demo_pkg-1.0.dist-info/RECORD",
                    Scheme::Lib,
                    "demo_pkg-1.0.dist-info/RECORD",
                    false
                ),
                (
                    "demo_pkg-1.0.dist-info/WHEEL",
                    Scheme::Lib,
                    "demo_pkg-1.0.dist-info/WHEEL",
                    false
                ),
                (
                    "demo_pkg-1.0.dist-info/entry_points.txt",
                    Scheme::Lib,
                    "demo_pkg-1.0.dist-info/entry_points.txt",
                    false
                ),
                (
                    "demo_pkg/__init__.py",
                    Scheme::Lib,
                    "demo_pkg/__init__.py",
                    false
                ),
                ("demo_pkg/cli.py", Scheme::Lib, "demo_pkg/cli.py", false),
            ]
        );
        let cli = wheel
            .entries
            .iter()
            .find(|e| e.name == "demo_pkg/cli.py")
            .unwrap()
            .index;
        assert_eq!(wheel.read(cli).unwrap(), b"def main():\n    pass\n");
        // Every entry reads and verifies.
        for index in wheel.entries.iter().map(|e| e.index).collect::<Vec<_>>() {
            wheel.read(index).unwrap();
        }
    }

    #[test]
    fn version_compared_per_pep_440() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(dir.path(), &with_record(good_files()));
        let wheel = Wheel::open(
            &path,
            "Demo.Pkg",
            &Version::from_str("1.0.0").unwrap(),
            Limits::default(),
        );
        assert!(wheel.is_ok(), "{:#}", wheel.err().unwrap());
    }

    fn hostile(name: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut files = good_files();
        files.push((name.to_string(), b"x".to_vec(), 0o644));
        let path = write_zip(dir.path(), &with_record(files));
        open_err(&path)
    }

    #[test]
    fn unsafe_names_rejected() {
        for (name, why) in [
            ("../evil", "`..`"),
            ("demo_pkg/../../evil", "`..`"),
            ("/abs", "absolute"),
            ("demo_pkg\\win.py", "backslash"),
            ("demo_pkg/./x.py", "`.`"),
            ("demo_pkg//x.py", "empty path component"),
            ("demo_pkg/x\u{1}.py", "control character"),
        ] {
            let err = hostile(name);
            assert!(err.contains(&format!("{name:?}")), "{name}: {err}");
            assert!(err.contains(why), "{name}: {err}");
            assert!(err.contains("demo_pkg-1.0-py3-none-any.whl"), "{err}");
        }
    }

    #[test]
    fn unknown_data_scheme_rejected() {
        let err = hostile("demo_pkg-1.0.data/etc/passwd");
        assert!(err.contains("unknown directory"), "{err}");
    }

    #[test]
    fn symlink_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo_pkg-1.0-py3-none-any.whl");
        let files = with_record(good_files());
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        for (name, data, _) in &files {
            zip.start_file(name.as_str(), SimpleFileOptions::default())
                .unwrap();
            zip.write_all(data).unwrap();
        }
        zip.add_symlink("demo_pkg/link", "/etc/shadow", SimpleFileOptions::default())
            .unwrap();
        zip.finish().unwrap();
        let err = open_err(&path);
        assert!(
            err.contains("\"demo_pkg/link\"") && err.contains("symbolic link"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_names_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = good_files();
        files.push(("demo_pkg/aa.py".into(), b"1".to_vec(), 0o644));
        files.push(("demo_pkg/ab.py".into(), b"2".to_vec(), 0o644));
        let path = write_zip(dir.path(), &with_record(files));
        // Rename the second file in both headers so the archive holds the name twice.
        patch(&path, b"demo_pkg/ab.py", b"demo_pkg/aa.py");
        let err = open_err(&path);
        assert!(
            err.contains("\"demo_pkg/aa.py\"") && err.contains("more than once"),
            "{err}"
        );
    }

    #[test]
    fn same_destination_rejected() {
        let err = hostile("demo_pkg-1.0.data/purelib/demo_pkg/cli.py");
        assert!(err.contains("same path"), "{err}");
        let err = hostile("demo_pkg/cli.py/inner");
        assert!(err.contains("needs it to be a directory"), "{err}");
    }

    #[test]
    fn too_many_entries_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(dir.path(), &with_record(good_files()));
        let limits = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let err = format!("{:#}", open(&path, limits).err().unwrap());
        assert!(err.contains("more than the limit of 3"), "{err}");
    }

    const BOMB: usize = 50 << 20;

    fn bomb_wheel(dir: &Path) -> PathBuf {
        let mut files = good_files();
        files.push(("demo_pkg/zeros.bin".into(), vec![0u8; BOMB], 0o644));
        write_zip(dir, &with_record(files))
    }

    #[test]
    fn bomb_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = bomb_wheel(dir.path());
        let small = Limits {
            max_entry: 1 << 20,
            ..Limits::default()
        };
        // An honest header is refused before anything is inflated.
        let err = format!("{:#}", open(&path, small.clone()).err().unwrap());
        assert!(
            err.contains("\"demo_pkg/zeros.bin\"") && err.contains("per-entry limit"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            open(
                &path,
                Limits {
                    max_total: 1 << 20,
                    max_ratio: u64::MAX,
                    ..Limits::default()
                }
            )
            .err()
            .unwrap()
        );
        assert!(err.contains("total limit"), "{err}");

        // With the default limits, 50 MiB of zeros from 50 KB is a bomb by its ratio.
        let err = format!("{:#}", open(&path, Limits::default()).err().unwrap());
        assert!(
            err.contains("\"demo_pkg/zeros.bin\"") && err.contains("ratio above 250:1"),
            "{err}"
        );
        let no_ratio = Limits {
            max_ratio: u64::MAX,
            ..Limits::default()
        };

        // The read itself is capped, whatever the header said.
        let mut wheel = open(&path, no_ratio).unwrap();
        wheel.limits = small;
        let index = wheel
            .entries
            .iter()
            .find(|e| e.name == "demo_pkg/zeros.bin")
            .unwrap()
            .index;
        let err = format!("{:#}", wheel.read(index).unwrap_err());
        assert!(err.contains("inflates to more than 1048576 bytes"), "{err}");
    }

    /// tensorflow's wheel has one 1.05 GiB entry (`libtensorflow_cc.so.2`); the defaults
    /// must accept it. The archive is written with a hole so the test stays small on disk.
    #[test]
    fn tensorflow_sized_entry_is_accepted() {
        const BIG: u64 = 1_128_000_000; // 1.05 GiB
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo_pkg-1.0-py3-none-any.whl");
        let mut files = good_files();
        let big_name = "demo_pkg/libbig.so.2";
        // RECORD lists the big file with the hash of its zeros; open() never reads it.
        files.push((big_name.to_string(), Vec::new(), 0o644));
        let mut files = with_record(files);
        let record = files.last_mut().unwrap();
        let text = String::from_utf8(record.1.clone()).unwrap().replace(
            &format!(
                "{big_name},sha256={},0",
                urlsafe_b64_nopad(&Sha256::digest(b""))
            ),
            &format!("{big_name},sha256=unchecked,{BIG}"),
        );
        record.1 = text.into_bytes();
        let mut out = File::create(&path).unwrap();
        let mut central = Vec::new();
        let mut count = 0u16;
        let mut offset = 0u64;
        for (name, data, _) in &files {
            let size = if name == big_name {
                BIG
            } else {
                data.len() as u64
            };
            let mut crc = flate2::Crc::new();
            crc.update(data);
            let crc = crc.sum().to_le_bytes();
            let mut header = Vec::new();
            header.extend_from_slice(b"PK\x03\x04");
            header.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            header.extend_from_slice(&crc);
            header.extend_from_slice(&(size as u32).to_le_bytes());
            header.extend_from_slice(&(size as u32).to_le_bytes());
            header.extend_from_slice(&(name.len() as u16).to_le_bytes());
            header.extend_from_slice(&0u16.to_le_bytes());
            header.extend_from_slice(name.as_bytes());
            out.write_all(&header).unwrap();
            if name == big_name {
                out.seek(SeekFrom::Current(BIG as i64)).unwrap();
            } else {
                out.write_all(data).unwrap();
            }
            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&crc);
            central.extend_from_slice(&(size as u32).to_le_bytes());
            central.extend_from_slice(&(size as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0u8; 8]);
            central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
            central.extend_from_slice(&(offset as u32).to_le_bytes());
            central.extend_from_slice(name.as_bytes());
            offset += header.len() as u64 + size;
            count += 1;
        }
        out.write_all(&central).unwrap();
        out.write_all(b"PK\x05\x06\0\0\0\0").unwrap();
        out.write_all(&count.to_le_bytes()).unwrap();
        out.write_all(&count.to_le_bytes()).unwrap();
        out.write_all(&(central.len() as u32).to_le_bytes())
            .unwrap();
        out.write_all(&(offset as u32).to_le_bytes()).unwrap();
        out.write_all(&0u16.to_le_bytes()).unwrap();
        drop(out);

        let wheel = open(&path, Limits::default()).unwrap();
        let names: Vec<&str> = wheel.entries.iter().map(|e| e.name.as_str()).collect();
        let big = wheel
            .entries
            .iter()
            .find(|e| e.name == big_name)
            .unwrap_or_else(|| panic!("{names:?}"));
        assert_eq!(big.size, BIG);
        // The old 1 GiB per-entry cap would have refused it.
        let old = Limits {
            max_entry: 1 << 30,
            ..Limits::default()
        };
        let err = format!("{:#}", open(&path, old).err().unwrap());
        assert!(err.contains("per-entry limit"), "{err}");
    }

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("16 TB"), Ok(16 << 40));
        for bad in ["", "G", "1.5G", "-1", "0", "99999999999T", "4X"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lying_size_header_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let path = bomb_wheel(dir.path());
        // Declare 1000 bytes in both the local and the central header.
        let mut bytes = std::fs::read(&path).unwrap();
        let name = b"demo_pkg/zeros.bin";
        let real = (BOMB as u32).to_le_bytes();
        let fake = 1000u32.to_le_bytes();
        let mut patched = 0;
        for i in 0..bytes.len() - name.len() {
            if &bytes[i..i + name.len()] != name {
                continue;
            }
            let at = if i >= 30 && &bytes[i - 30..i - 26] == b"PK\x03\x04" {
                i - 30 + 22
            } else if i >= 46 && &bytes[i - 46..i - 42] == b"PK\x01\x02" {
                i - 46 + 24
            } else {
                continue;
            };
            assert_eq!(bytes[at..at + 4], real);
            bytes[at..at + 4].copy_from_slice(&fake);
            patched += 1;
        }
        assert_eq!(patched, 2);
        std::fs::write(&path, bytes).unwrap();

        let mut wheel = open(
            &path,
            Limits {
                max_entry: 1 << 20,
                ..Limits::default()
            },
        )
        .unwrap();
        let index = wheel
            .entries
            .iter()
            .find(|e| e.name == "demo_pkg/zeros.bin")
            .unwrap()
            .index;
        assert!(wheel.read(index).is_err());
    }

    #[test]
    fn truncated_zip_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(dir.path(), &with_record(good_files()));
        let len = std::fs::metadata(&path).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(len / 2).unwrap();
        let err = open_err(&path);
        assert!(err.contains("demo_pkg-1.0-py3-none-any.whl"), "{err}");
        assert!(err.contains("delete it from the cache"), "{err}");
    }

    #[test]
    fn metadata_disagreeing_with_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = good_files();
        files[6].1 = METADATA
            .replace("Version: 1.0", "Version: 2.0")
            .into_bytes();
        let path = write_zip(dir.path(), &with_record(files));
        let err = open_err(&path);
        assert!(err.contains("2.0") && err.contains("must agree"), "{err}");

        let mut files = good_files();
        files[6].1 = METADATA
            .replace("Name: demo-pkg", "Name: other")
            .into_bytes();
        let path = write_zip(dir.path(), &with_record(files));
        let err = open_err(&path);
        assert!(err.contains("other") && err.contains("must agree"), "{err}");

        // A dist-info directory for another distribution.
        let dir2 = tempfile::tempdir().unwrap();
        let files: Files = with_record(good_files())
            .into_iter()
            .map(|(n, d, m)| {
                (
                    n.replace("demo_pkg-1.0.dist-info", "demo_pkg-1.1.dist-info"),
                    d,
                    m,
                )
            })
            .collect();
        let path = write_zip(dir2.path(), &files);
        let err = open_err(&path);
        assert!(err.contains("demo_pkg-1.1.dist-info"), "{err}");
    }

    #[test]
    fn control_characters_in_summary() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = good_files();
        files[6].1 = METADATA
            .replace("A demo", "A demo\u{1b}]0;pwned\u{7}")
            .into_bytes();
        let path = write_zip(dir.path(), &with_record(files));
        let err = open_err(&path);
        assert!(
            err.contains("Summary") && err.contains("control character"),
            "{err}"
        );
    }

    #[test]
    fn record_hash_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_zip(dir.path(), &with_record(good_files()));
        // Same length, different bytes: the zip stays valid, RECORD no longer matches.
        let mut bytes = Vec::new();
        {
            let mut zip = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap();
            let mut out = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
            for i in 0..zip.len() {
                let mut entry = zip.by_index(i).unwrap();
                let name = entry.name().unwrap().into_owned();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                if name == "demo_pkg/cli.py" {
                    data = b"import os; os.system('x')\n"[..data.len()].to_vec();
                }
                out.start_file(name, SimpleFileOptions::default()).unwrap();
                out.write_all(&data).unwrap();
            }
            out.finish().unwrap();
        }
        std::fs::write(&path, bytes).unwrap();
        let mut wheel = open(&path, Limits::default()).unwrap();
        let index = wheel
            .entries
            .iter()
            .find(|e| e.name == "demo_pkg/cli.py")
            .unwrap()
            .index;
        let err = format!("{:#}", wheel.read(index).unwrap_err());
        assert!(
            err.contains("\"demo_pkg/cli.py\"") && err.contains("RECORD says"),
            "{err}"
        );

        // A tampered METADATA is caught while opening.
        let mut files = with_record(good_files());
        files[6].1 = METADATA.replace("A demo", "B demo").into_bytes();
        let path = write_zip(dir.path(), &files);
        let err = open_err(&path);
        assert!(
            err.contains("METADATA") && err.contains("RECORD says"),
            "{err}"
        );
    }

    #[test]
    fn file_missing_from_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = with_record(good_files());
        files.push(("demo_pkg/extra.py".into(), b"x".to_vec(), 0o644));
        let path = write_zip(dir.path(), &files);
        let err = open_err(&path);
        assert!(
            err.contains("\"demo_pkg/extra.py\"") && err.contains("not listed"),
            "{err}"
        );

        let files = good_files();
        let path = write_zip(dir.path(), &files);
        assert!(open_err(&path).contains("RECORD"));
    }

    #[test]
    fn base64_and_csv_helpers() {
        assert_eq!(urlsafe_b64_nopad(b""), "");
        assert_eq!(urlsafe_b64_nopad(b"f"), "Zg");
        assert_eq!(urlsafe_b64_nopad(b"fo"), "Zm8");
        assert_eq!(urlsafe_b64_nopad(b"foo"), "Zm9v");
        assert_eq!(urlsafe_b64_nopad(&[0xfb, 0xff]), "-_8");
        assert_eq!(
            split_csv_row("\"a,\"\"b\",sha256=x,3").unwrap(),
            ["a,\"b", "sha256=x", "3"]
        );
        assert_eq!(underscore_name("Foo.Bar--baz"), "foo_bar_baz");
    }
}
