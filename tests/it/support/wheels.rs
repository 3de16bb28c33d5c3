//! Wheels (PEP 427) built on the fly, and raw zips with hostile contents.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A wheel to write: METADATA, WHEEL and RECORD (with sha256 entries) are generated.
#[derive(Debug, Clone)]
pub struct WheelBuilder {
    pub name: String,
    pub version: String,
    /// `py3-none-any`, or compressed like `cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`.
    pub tag: String,
    pub build: Option<String>,
    /// (path inside the wheel, contents, unix mode).
    pub files: Vec<(String, Vec<u8>, u32)>,
    /// Extra METADATA header lines, e.g. `Requires-Dist: six>=1`.
    pub metadata: Vec<String>,
    /// METADATA body (the long description), if any.
    pub description: Option<String>,
    pub entry_points: Option<String>,
    /// Deflated (default) or stored entries.
    pub deflate: bool,
}

impl WheelBuilder {
    /// A pure `py3-none-any` wheel with no files besides its metadata.
    pub fn new(name: &str, version: &str) -> WheelBuilder {
        WheelBuilder {
            name: name.into(),
            version: version.into(),
            tag: "py3-none-any".into(),
            build: None,
            files: Vec::new(),
            metadata: Vec::new(),
            description: None,
            entry_points: None,
            deflate: true,
        }
    }

    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = tag.into();
        self
    }

    pub fn build_tag(mut self, build: &str) -> Self {
        self.build = Some(build.into());
        self
    }

    /// A regular file (mode 0644) at `path` inside the wheel.
    pub fn file(self, path: &str, bytes: impl AsRef<[u8]>) -> Self {
        self.file_mode(path, bytes, 0o644)
    }

    /// A file with explicit unix permission bits (e.g. 0o755 for scripts).
    pub fn file_mode(mut self, path: &str, bytes: impl AsRef<[u8]>, mode: u32) -> Self {
        self.files
            .push((path.into(), bytes.as_ref().to_vec(), mode));
        self
    }

    /// One extra METADATA header line (`Requires-Dist: foo`).
    pub fn metadata(mut self, line: &str) -> Self {
        self.metadata.push(line.into());
        self
    }

    pub fn description(mut self, text: &str) -> Self {
        self.description = Some(text.into());
        self
    }

    pub fn entry_points(mut self, text: &str) -> Self {
        self.entry_points = Some(text.into());
        self
    }

    pub fn stored(mut self) -> Self {
        self.deflate = false;
        self
    }

    /// The name as escaped in file names (PEP 427: runs of `-_.` become `_`).
    pub fn escaped_name(&self) -> String {
        let mut out = String::new();
        for c in self.name.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !out.ends_with('_') {
                    out.push('_');
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// `{name}-{version}.dist-info`
    pub fn dist_info(&self) -> String {
        format!("{}-{}.dist-info", self.escaped_name(), self.version)
    }

    /// The wheel's file name.
    pub fn filename(&self) -> String {
        let build = self
            .build
            .as_ref()
            .map(|b| format!("-{b}"))
            .unwrap_or_default();
        format!(
            "{}-{}{build}-{}.whl",
            self.escaped_name(),
            self.version,
            self.tag
        )
    }

    /// Write the wheel into `dir` (created if needed) and return its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(self.filename());
        std::fs::write(&path, self.to_bytes()).unwrap();
        path
    }

    /// The wheel as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let di = self.dist_info();
        let mut meta = format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
            self.name, self.version
        );
        for l in &self.metadata {
            meta.push_str(l);
            meta.push('\n');
        }
        if let Some(d) = &self.description {
            meta.push('\n');
            meta.push_str(d);
        }
        let mut parts: Vec<&str> = self.tag.splitn(3, '-').collect();
        parts.resize(3, "");
        let pure = parts[1] == "none" && parts[2] == "any";
        let mut wheel =
            format!("Wheel-Version: 1.0\nGenerator: py2deb-tests\nRoot-Is-Purelib: {pure}\n");
        for py in parts[0].split('.') {
            for abi in parts[1].split('.') {
                for plat in parts[2].split('.') {
                    wheel.push_str(&format!("Tag: {py}-{abi}-{plat}\n"));
                }
            }
        }
        if let Some(b) = &self.build {
            wheel.push_str(&format!("Build: {b}\n"));
        }

        let mut entries: Vec<(String, Vec<u8>, u32)> = self.files.clone();
        entries.push((format!("{di}/METADATA"), meta.into_bytes(), 0o644));
        entries.push((format!("{di}/WHEEL"), wheel.into_bytes(), 0o644));
        if let Some(ep) = &self.entry_points {
            entries.push((
                format!("{di}/entry_points.txt"),
                ep.clone().into_bytes(),
                0o644,
            ));
        }
        let mut record = String::new();
        for (name, bytes, _) in &entries {
            record.push_str(&format!(
                "{},{},{}\n",
                csv_field(name),
                record_hash(bytes),
                bytes.len()
            ));
        }
        record.push_str(&format!("{di}/RECORD,,\n"));
        entries.push((format!("{di}/RECORD"), record.into_bytes(), 0o644));

        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let method = if self.deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        for (name, bytes, mode) in &entries {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(method)
                .unix_permissions(*mode);
            zip.start_file(name.as_str(), opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }
}

/// Build a wheel in one call: `files` are (path, bytes); `metadata` extra header lines.
pub fn build_wheel(
    dir: &Path,
    name: &str,
    version: &str,
    tag: &str,
    files: &[(&str, &[u8])],
    metadata: &[&str],
    entry_points: Option<&str>,
) -> PathBuf {
    let mut b = WheelBuilder::new(name, version).tag(tag);
    for (p, bytes) in files {
        b = b.file(p, bytes);
    }
    for l in metadata {
        b = b.metadata(l);
    }
    if let Some(ep) = entry_points {
        b = b.entry_points(ep);
    }
    b.write(dir)
}

/// RECORD hash field: `sha256=` + urlsafe base64 without padding (PEP 376/427).
pub fn record_hash(bytes: &[u8]) -> String {
    format!("sha256={}", base64_urlsafe_nopad(&Sha256::digest(bytes)))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn base64_urlsafe_nopad(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// sha256 of bytes as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One entry of a [`RawZip`], written exactly as given: no name checks, no dedup.
#[derive(Debug, Clone)]
pub struct RawEntry {
    pub name: String,
    pub data: Vec<u8>,
    /// Full unix mode including the file type (`0o100644`, `0o120777` for a symlink,
    /// `0o040755` for a directory); stored in the high 16 bits of the external attributes.
    pub mode: u32,
    /// Compress with deflate (otherwise stored).
    pub deflate: bool,
    /// Lie about the uncompressed size in the headers (zip-bomb style tests).
    pub declared_size: Option<u32>,
}

/// A zip written byte by byte, for archives a well-behaved zip library refuses to make:
/// `../` or absolute names, duplicate names, symlinks, lying sizes.
#[derive(Debug, Clone, Default)]
pub struct RawZip {
    pub entries: Vec<RawEntry>,
    /// Overlapping entries: `(name, i)` is a stored entry whose local header sits right
    /// before entry `i`'s and whose data are entry `i`'s local header and data, so the
    /// two share bytes (the "quoted local header" of overlapping-entry zip bombs).
    pub overlaps: Vec<(String, usize)>,
}

impl RawZip {
    pub fn new() -> RawZip {
        RawZip::default()
    }

    /// A regular file (mode 0644), stored.
    pub fn file(self, name: &str, data: impl AsRef<[u8]>) -> Self {
        self.file_mode(name, data, 0o644)
    }

    /// A regular file with the given permission bits.
    pub fn file_mode(self, name: &str, data: impl AsRef<[u8]>, mode: u32) -> Self {
        self.entry(RawEntry {
            name: name.into(),
            data: data.as_ref().to_vec(),
            mode: 0o100000 | mode,
            deflate: false,
            declared_size: None,
        })
    }

    /// A deflated regular file (useful for a highly compressible "bomb").
    pub fn deflated(self, name: &str, data: impl AsRef<[u8]>) -> Self {
        self.entry(RawEntry {
            name: name.into(),
            data: data.as_ref().to_vec(),
            mode: 0o100644,
            deflate: true,
            declared_size: None,
        })
    }

    /// A symlink entry: unix mode 0o120777, the target as contents.
    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.entry(RawEntry {
            name: name.into(),
            data: target.as_bytes().to_vec(),
            mode: 0o120777,
            deflate: false,
            declared_size: None,
        })
    }

    /// A directory entry (name should end in `/`).
    pub fn dir(self, name: &str) -> Self {
        self.entry(RawEntry {
            name: name.into(),
            data: Vec::new(),
            mode: 0o040755,
            deflate: false,
            declared_size: None,
        })
    }

    pub fn entry(mut self, e: RawEntry) -> Self {
        self.entries.push(e);
        self
    }

    /// An entry `name` overlapping entry `of` (an index into `entries`); see
    /// [`RawZip::overlaps`].
    pub fn overlapping(mut self, name: &str, of: usize) -> Self {
        self.overlaps.push((name.into(), of));
        self
    }

    /// Write to `path` and return it.
    pub fn write(&self, path: &Path) -> PathBuf {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(path, self.to_bytes()).unwrap();
        path.to_owned()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let mut crc = flate2::Crc::new();
            crc.update(&e.data);
            let (method, body) = if e.deflate {
                let mut enc =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
                enc.write_all(&e.data).unwrap();
                (8u16, enc.finish().unwrap())
            } else {
                (0u16, e.data.clone())
            };
            let size = e.declared_size.unwrap_or(e.data.len() as u32);
            let name = e.name.as_bytes();
            let mut record = Vec::new();
            local_header(
                &mut record,
                name,
                method,
                crc.sum(),
                body.len() as u32,
                size,
            );
            record.extend_from_slice(&body);
            // Overlapping entries quote this entry's local header and data as their own
            // stored data.
            for (alias, _) in self.overlaps.iter().filter(|(_, of)| *of == i) {
                let mut c = flate2::Crc::new();
                c.update(&record);
                let offset = out.len() as u32;
                let len = record.len() as u32;
                local_header(&mut out, alias.as_bytes(), 0, c.sum(), len, len);
                central_header(
                    &mut central,
                    alias.as_bytes(),
                    0,
                    c.sum(),
                    len,
                    len,
                    0o100644,
                    offset,
                );
            }
            let offset = out.len() as u32;
            out.extend_from_slice(&record);
            central_header(
                &mut central,
                name,
                method,
                crc.sum(),
                body.len() as u32,
                size,
                e.mode,
                offset,
            );
        }
        let cd_offset = out.len() as u32;
        let n = (self.entries.len() + self.overlaps.len()) as u16;
        out.extend_from_slice(&central);
        out.extend_from_slice(&0x06054b50u32.to_le_bytes());
        out.extend_from_slice(&[0u8; 4]); // disk numbers
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

fn local_header(out: &mut Vec<u8>, name: &[u8], method: u16, crc: u32, compressed: u32, size: u32) {
    out.extend_from_slice(&0x04034b50u32.to_le_bytes());
    out.extend_from_slice(&20u16.to_le_bytes()); // version needed
    out.extend_from_slice(&0u16.to_le_bytes()); // flags
    out.extend_from_slice(&method.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // time, date
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&compressed.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // extra length
    out.extend_from_slice(name);
}

/// A central directory header; "made by" unix (3) so the mode counts.
#[allow(clippy::too_many_arguments)]
fn central_header(
    central: &mut Vec<u8>,
    name: &[u8],
    method: u16,
    crc: u32,
    compressed: u32,
    size: u32,
    mode: u32,
    offset: u32,
) {
    central.extend_from_slice(&0x02014b50u32.to_le_bytes());
    central.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes());
    central.extend_from_slice(&20u16.to_le_bytes());
    central.extend_from_slice(&0u16.to_le_bytes());
    central.extend_from_slice(&method.to_le_bytes());
    central.extend_from_slice(&0u32.to_le_bytes());
    central.extend_from_slice(&crc.to_le_bytes());
    central.extend_from_slice(&compressed.to_le_bytes());
    central.extend_from_slice(&size.to_le_bytes());
    central.extend_from_slice(&(name.len() as u16).to_le_bytes());
    central.extend_from_slice(&[0u8; 8]); // extra, comment, disk, internal attrs
    central.extend_from_slice(&(mode << 16).to_le_bytes());
    central.extend_from_slice(&offset.to_le_bytes());
    central.extend_from_slice(name);
}
