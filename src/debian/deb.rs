//! The `.deb` container (deb(5)): `debian-binary`, `control.tar.*`, `data.tar.*` in an ar
//! archive, written deterministically (sorted `./` entries, root:root, clamped mtimes).
//!
//! The tar members use the GNU format that `dpkg-deb --build` produces (it runs GNU tar
//! with `--format=gnu`), including `././@LongLink` records for names over 100 bytes, and
//! the same depth-first, name-sorted entry order. The ar container is the common format
//! dpkg writes itself (deb(5)). Both are written with the `ar` and `tar` crates; the few
//! header bytes they would lay out differently from GNU tar are set here (see `header`).

use crate::debian::control::BinaryControl;
use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::io::{self, Seek, SeekFrom, Write};

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

impl Compression {
    /// The ar member name suffix (`data.tar.xz`); empty for an uncompressed member.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Xz => ".xz",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
            Compression::None => "",
        }
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
    /// Roughly how many bytes the `Payload::Source` files hold (0 when unknown). The
    /// number of compression threads depends on it (a package smaller than one xz block
    /// gains nothing from a second thread but its memory), and so does the xz dictionary
    /// of a package smaller than preset 6's 8 MiB one (see [`xz_dict_size`]). The bytes
    /// written depend on it only through that dictionary, never on the thread count.
    pub size_hint: u64,
}

/// What the writer computed while writing.
#[derive(Debug, Clone)]
pub struct DebSummary {
    /// The `Installed-Size` written into the control file.
    pub installed_size_kib: u64,
    /// Number of data entries written (regular files and symlinks; directories excluded).
    pub files: usize,
}

/// Write the package to `out`. `source(key)` returns the bytes of `Payload::Source(key)`.
///
/// The data archive is compressed into an anonymous temporary file while it is built, so
/// memory use stays around one file's bytes plus the compressor's buffers.
pub fn write_deb(
    spec: &DebSpec,
    source: &mut dyn FnMut(usize) -> Result<Vec<u8>>,
    out: &mut dyn Write,
) -> Result<DebSummary> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    write_deb_with_cores(spec, source, out, cores)
}

/// [`write_deb`] with the compressor using at most `cores` threads (its share of the
/// machine when several packages are written at once). The bytes do not depend on it.
pub fn write_deb_with_cores(
    spec: &DebSpec,
    source: &mut dyn FnMut(usize) -> Result<Vec<u8>>,
    out: &mut dyn Write,
    cores: usize,
) -> Result<DebSummary> {
    let cores = cores.max(1);
    let threads = if spec.size_hint > 0 {
        cores.min(spec.size_hint.div_ceil(XZ_BLOCK_SIZE).max(1) as usize)
    } else {
        cores
    };
    write_deb_with_threads(spec, source, out, threads)
}

/// The temporary directory ran out of space while data.tar was spooled there. A full
/// `$TMPDIR` is not the output directory's fault, so the error names the right place.
#[derive(Debug, thiserror::Error)]
#[error(
    "the temporary directory {} is full (ENOSPC, no space left on device) while data.tar \
     is written there; free space in it or point TMPDIR at a file system with room",
    dir.display()
)]
pub struct TempDirFull {
    pub dir: std::path::PathBuf,
}

/// Whether an error was caused by a full file system or an exhausted quota.
pub fn is_no_space(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
            .is_some_and(|code| code == libc::ENOSPC || code == libc::EDQUOT)
    })
}

/// Where data.tar is spooled: a file that can be written, then read back from the start.
trait Spool: io::Read + io::Write + Seek {}
impl<T: io::Read + io::Write + Seek> Spool for T {}

/// xz: preset 6 (dpkg-deb's default) with the block size liblzma itself picks for that
/// preset (3 × the 8 MiB dictionary). Fixing it here is what makes the multithreaded
/// output independent of the thread count: each block is compressed on its own.
const XZ_PRESET: u32 = 6;
const XZ_BLOCK_SIZE: u64 = 24 << 20;
/// Preset 6's dictionary. Smaller inputs get a smaller one (see [`xz_dict_size`]).
const XZ_DICT_SIZE: u64 = 8 << 20;
/// liblzma's smallest dictionary.
const XZ_MIN_DICT_SIZE: u64 = 4 << 10;
/// Each xz thread holds ~3 blocks plus a ~94 MiB encoder; bound the total on huge hosts.
const MAX_THREADS: usize = 16;
/// zstd: level 3, dpkg-deb's default, like preset 6 for xz and level 9 for gzip: the same
/// trade-off Debian's own packages make (levels near 19 cost ~40× the time for a few per
/// cent). With at least one worker, zstd's output depends only on its parameters, not on
/// the worker count.
const ZSTD_LEVEL: i32 = 3;
/// The ar member mode dpkg writes.
const AR_MODE: u32 = 0o100644;

/// Compressor settings that do not change with the input.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    threads: u32,
    xz_block_size: u64,
    /// The xz dictionary when smaller than preset 6's (`None`: the preset's own).
    xz_dict_size: Option<u32>,
    /// The input fits in one xz block: compress it with the single-threaded encoder, which
    /// needs no block buffers (the multithreaded one holds a block of input and one of
    /// output per thread, ~48 MiB besides the ~94 MiB encoder) and gains nothing from
    /// threads here. Decided by the input's size alone, so the bytes still do not depend
    /// on the machine.
    xz_one_block: bool,

    /// zstd's job size in multithreaded mode; `None` for its default (derived from the
    /// level, not from the number of workers).
    zstd_job_size: Option<u32>,
}

impl Tuning {
    fn with_threads(threads: usize) -> Self {
        Tuning {
            threads: threads.clamp(1, MAX_THREADS) as u32,
            xz_block_size: XZ_BLOCK_SIZE,
            xz_dict_size: None,
            xz_one_block: false,
            zstd_job_size: None,
        }
    }
}

fn write_deb_with_threads(
    spec: &DebSpec,
    source: &mut dyn FnMut(usize) -> Result<Vec<u8>>,
    out: &mut dyn Write,
    threads: usize,
) -> Result<DebSummary> {
    let dir = std::env::temp_dir();
    let tmp = tempfile::tempfile_in(&dir).map_err(|e| {
        let e = anyhow::Error::new(e);
        if is_no_space(&e) {
            e.context(TempDirFull { dir: dir.clone() })
        } else {
            e.context(format!(
                "cannot create a temporary file for data.tar in {}: make it writable or \
                 point TMPDIR elsewhere",
                dir.display()
            ))
        }
    })?;
    write_deb_spooled(spec, source, out, threads, Box::new(tmp), &dir)
}

/// [`write_deb`] with data.tar spooled into `spool`, a file in `spool_dir`.
fn write_deb_spooled(
    spec: &DebSpec,
    source: &mut dyn FnMut(usize) -> Result<Vec<u8>>,
    out: &mut dyn Write,
    threads: usize,
    spool: Box<dyn Spool>,
    spool_dir: &std::path::Path,
) -> Result<DebSummary> {
    let tuning = Tuning::with_threads(threads);
    let tree = build_tree(&spec.data)?;
    let bound = data_tar_bound(spec, &tree);
    let data_tuning = Tuning {
        xz_dict_size: bound.and_then(xz_dict_size),
        xz_one_block: bound.is_some_and(|b| b <= XZ_BLOCK_SIZE),
        ..tuning
    };
    let scripts = control_members(&spec.scripts)?;
    // Running out of space here is the temporary directory's doing, not the output's.
    let spool_full = |e: anyhow::Error| {
        if is_no_space(&e) {
            e.context(TempDirFull {
                dir: spool_dir.to_owned(),
            })
        } else {
            e
        }
    };

    // data.tar: streamed through the compressor into a temporary file.
    let (mut data_file, data_len, installed_size, files, md5sums) = (|| -> Result<_> {
        let compressor = Compressor::new(spec.compression, io::BufWriter::new(spool), data_tuning)?;
        let mut tar = TarWriter::new(compressor, spec.mtime);
        let mut md5sums = String::new();
        // The build tree's root directory and its DEBIAN/ directory (see `installed_size`).
        let mut installed_size: u64 = 2;
        let mut files = 0usize;
        tar.directory("./")?;
        for (path, node) in &tree {
            match node {
                Node::Dir => {
                    tar.directory(&format!("./{path}/"))?;
                    installed_size += 1;
                }
                Node::Entry(i) => {
                    let entry = &spec.data[*i];
                    let path = &entry.path;
                    files += 1;
                    match &entry.kind {
                        EntryKind::File(payload) => {
                            let fetched;
                            let bytes: &[u8] = match payload {
                                Payload::Bytes(b) => b,
                                Payload::Source(key) => {
                                    fetched = source(*key).with_context(|| {
                                        format!("reading the content of /{path}")
                                    })?;
                                    &fetched
                                }
                            };
                            let digest = Md5::digest(bytes);
                            md5sums.push_str(&format!("{}  {path}\n", hex::encode(digest)));
                            installed_size += kib(bytes.len() as u64);
                            tar.file(&format!("./{path}"), entry.mode & 0o7777, bytes)
                                .with_context(|| format!("writing /{path} into data.tar"))?;
                        }
                        EntryKind::Symlink(target) => {
                            check_text("symlink target", path, target)?;
                            // lstat() reports a symlink's size as the length of its target.
                            installed_size += kib(target.len() as u64);
                            tar.symlink(&format!("./{path}"), target)?;
                        }
                    }
                }
            }
        }
        let mut data_file = tar
            .finish()?
            .finish()?
            .into_inner()
            .map_err(|e| e.into_error())
            .context("flushing data.tar")?;
        let data_len = data_file.stream_position()?;
        data_file.seek(SeekFrom::Start(0))?;
        Ok((data_file, data_len, installed_size, files, md5sums))
    })()
    .map_err(spool_full)?;
    let mut installed_size = installed_size;

    // Maintainer scripts sit in DEBIAN/ when dpkg-gencontrol measures the tree.
    installed_size += scripts
        .iter()
        .map(|(_, _, b)| kib(b.len() as u64))
        .sum::<u64>();

    let mut control = spec.control.clone();
    control.installed_size = Some(installed_size);
    let mut control_text = Vec::new();
    control.write_to(&mut control_text)?;

    // control.tar: small, built in memory.
    let mut members: Vec<(&str, u32, &[u8])> = vec![
        ("control", 0o644, &control_text),
        ("md5sums", 0o644, md5sums.as_bytes()),
    ];
    members.extend(
        scripts
            .iter()
            .map(|(n, m, b)| (n.as_str(), *m, b.as_slice())),
    );
    members.sort_by(|a, b| a.0.cmp(b.0));
    let control_bound = members
        .iter()
        .map(|(n, _, b)| b.len() as u64 + TAR_ENTRY_BOUND + n.len() as u64)
        .sum::<u64>()
        + TAR_ENTRY_BOUND
        + RECORD;
    let control_tuning = Tuning {
        xz_dict_size: xz_dict_size(control_bound),
        xz_one_block: control_bound <= XZ_BLOCK_SIZE,
        ..tuning
    };
    let compressor = Compressor::new(spec.compression, Vec::new(), control_tuning)?;
    let mut ctar = TarWriter::new(compressor, spec.mtime);
    ctar.directory("./")?;
    for (name, mode, bytes) in members {
        ctar.file(&format!("./{name}"), mode, bytes)?;
    }
    let control_tar = ctar.finish()?.finish()?;

    let ext = spec.compression.extension();
    let mut ar = ar::Builder::new(&mut *out);
    ar_member(&mut ar, "debian-binary", spec.mtime, 4, &mut &b"2.0\n"[..])?;
    ar_member(
        &mut ar,
        &format!("control.tar{ext}"),
        spec.mtime,
        control_tar.len() as u64,
        &mut control_tar.as_slice(),
    )?;
    ar_member(
        &mut ar,
        &format!("data.tar{ext}"),
        spec.mtime,
        data_len,
        &mut data_file,
    )?;
    out.flush()?;
    Ok(DebSummary {
        installed_size_kib: installed_size,
        files,
    })
}

/// What one tar entry adds beyond its content, at most for names and link targets of up
/// to 100 bytes: its header block and the padding to a whole block.
const TAR_ENTRY_BOUND: u64 = 2 * BLOCK as u64;

/// An upper bound of the uncompressed data.tar, `None` when the source files' size is
/// unknown. `nodes` counts the entries and implied directories.
fn data_tar_bound(spec: &DebSpec, tree: &BTreeMap<TreeKey, Node>) -> Option<u64> {
    // The root `./`, then each node: its header and padding, and for a name that does
    // not fit the 100-byte field a `././@LongLink` record (a header and the name).
    let mut bound = spec.size_hint + (tree.len() as u64 + 1) * TAR_ENTRY_BOUND + RECORD;
    let long = |len: usize| {
        if len > 100 {
            len as u64 + TAR_ENTRY_BOUND
        } else {
            0
        }
    };
    let mut sourced = false;
    for (key, node) in tree {
        // `./a/b`, with a trailing `/` for a directory.
        let name = 2 + key.0.iter().map(|p| p.len() + 1).sum::<usize>() - 1;
        let Node::Entry(i) = node else {
            bound += long(name + 1);
            continue;
        };
        bound += long(name);
        match &spec.data[*i].kind {
            EntryKind::File(Payload::Bytes(b)) => bound += b.len() as u64,
            EntryKind::File(Payload::Source(_)) => sourced = true,
            EntryKind::Symlink(t) => bound += long(t.len()),
        }
    }
    (spec.size_hint > 0 || !sourced).then_some(bound)
}

/// The xz dictionary for an input of at most `bound` bytes, when smaller than preset
/// 6's: a dictionary larger than the input finds no more matches (the output is as
/// small), yet liblzma allocates and clears its match finder for the whole dictionary,
/// which costs a small package more time than compressing it (and its reader the same
/// memory to decompress). Like `xz` for a file of known size, the next power of two.
fn xz_dict_size(bound: u64) -> Option<u32> {
    (bound < XZ_DICT_SIZE).then(|| bound.next_power_of_two().max(XZ_MIN_DICT_SIZE) as u32)
}

/// dpkg-gencontrol's Installed-Size rule: files and symlinks count their size rounded up
/// to whole KiB; directories (and other non-content objects) count 1 KiB each.
fn kib(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// A node of the data tree: an implied directory or one of the spec's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Dir,
    Entry(usize),
}

/// Sort key giving dpkg-deb's order: depth-first, the entries of each directory sorted
/// by name bytes (so `a/lib/z` comes before `a/lib-x`, and every parent before its
/// children).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct TreeKey(Vec<String>);

impl std::fmt::Display for TreeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

/// Validate the data paths and add every implied parent directory.
fn build_tree(data: &[DataEntry]) -> Result<BTreeMap<TreeKey, Node>> {
    let mut tree: BTreeMap<TreeKey, Node> = BTreeMap::new();
    for (i, entry) in data.iter().enumerate() {
        let path = &entry.path;
        check_text("path", path, path)?;
        let parts: Vec<&str> = path.split('/').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            bail!(
                "data path `{path}` must be relative to / (no leading `/`), without empty, \
                 `.` or `..` components"
            );
        }
        for depth in 1..parts.len() {
            let key = TreeKey(parts[..depth].iter().map(|s| s.to_string()).collect());
            match tree.get(&key) {
                Some(Node::Entry(_)) => {
                    bail!("`{key}` is both a file and the parent directory of `{path}`")
                }
                Some(Node::Dir) => {}
                None => {
                    tree.insert(key, Node::Dir);
                }
            }
        }
        let key = TreeKey(parts.iter().map(|s| s.to_string()).collect());
        match tree.insert(key, Node::Entry(i)) {
            None => {}
            Some(Node::Dir) => bail!("`{path}` is both a file and a directory"),
            Some(Node::Entry(_)) => bail!("`{path}` appears twice in the package"),
        }
    }
    Ok(tree)
}

/// Control-archive members other than `control`/`md5sums`, with their modes: the
/// maintainer scripts are executable, declarative control files are not (lintian's
/// `control-file-has-bad-permissions`).
fn control_members(scripts: &[(String, Vec<u8>)]) -> Result<Vec<(String, u32, Vec<u8>)>> {
    const DATA_FILES: [&str; 5] = ["conffiles", "triggers", "shlibs", "symbols", "templates"];
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (name, bytes) in scripts {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b))
            && !name.starts_with('.');
        if !valid {
            bail!("control member name `{name}` must be a plain lowercase file name");
        }
        if name == "control" || name == "md5sums" {
            bail!("control member `{name}` is generated and cannot be supplied as a script");
        }
        if !seen.insert(name.as_str()) {
            bail!("control member `{name}` is given twice");
        }
        let mode = if DATA_FILES.contains(&name.as_str()) {
            0o644
        } else {
            0o755
        };
        out.push((name.clone(), mode, bytes.clone()));
    }
    Ok(out)
}

/// Reject control characters (newlines would also break `md5sums` lines).
fn check_text(what: &str, path: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        bail!("{what} of `{path}` is empty");
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        bail!(
            "{what} of `{}` contains the control character {:?}",
            path.escape_debug(),
            c
        );
    }
    Ok(())
}

/// The member compressors, all writing to `W`.
enum Compressor<W: Write> {
    Xz(liblzma::write::XzEncoder<W>),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    None(W),
}

impl<W: Write> Compressor<W> {
    fn new(kind: Compression, w: W, tuning: Tuning) -> Result<Self> {
        Ok(match kind {
            Compression::Xz => {
                let mut opts = liblzma::stream::LzmaOptions::new_preset(XZ_PRESET)
                    .context("reading xz preset 6")?;
                if let Some(dict) = tuning.xz_dict_size {
                    opts.dict_size(dict);
                }
                let mut filters = liblzma::stream::Filters::new();
                filters.lzma2(&opts);
                if tuning.xz_one_block {
                    let stream = liblzma::stream::Stream::new_stream_encoder(
                        &filters,
                        liblzma::stream::Check::Crc64,
                    )
                    .context("starting the xz encoder")?;
                    return Ok(Compressor::Xz(liblzma::write::XzEncoder::new_stream(
                        w, stream,
                    )));
                }
                let mut builder = liblzma::stream::MtStreamBuilder::new();
                builder.preset(XZ_PRESET);
                builder.filters(filters);
                let stream = builder
                    .block_size(tuning.xz_block_size)
                    .threads(tuning.threads)
                    .check(liblzma::stream::Check::Crc64)
                    .encoder()
                    .context("starting the xz encoder")?;
                Compressor::Xz(liblzma::write::XzEncoder::new_stream(w, stream))
            }
            Compression::Gzip => {
                // Like `gzip -n -9`: no file name, mtime 0, OS = Unix.
                let gz = flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(3)
                    .write(w, flate2::Compression::best());
                Compressor::Gzip(gz)
            }
            Compression::Zstd => {
                let mut z = zstd::stream::write::Encoder::new(w, ZSTD_LEVEL)
                    .context("starting the zstd encoder")?;
                // Always at least one worker: zstd's single-threaded mode (0 workers)
                // produces different frames than its multithreaded mode.
                z.multithread(tuning.threads.max(1))
                    .context("enabling zstd worker threads")?;
                if let Some(size) = tuning.zstd_job_size {
                    z.set_parameter(zstd::stream::raw::CParameter::JobSize(size))?;
                }
                z.include_checksum(true)?;
                Compressor::Zstd(z)
            }
            Compression::None => Compressor::None(w),
        })
    }

    fn finish(self) -> Result<W> {
        Ok(match self {
            Compressor::Xz(e) => e.finish().context("finishing xz compression")?,
            Compressor::Gzip(e) => e.finish().context("finishing gzip compression")?,
            Compressor::Zstd(e) => e.finish().context("finishing zstd compression")?,
            Compressor::None(w) => w,
        })
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Xz(e) => e.write(buf),
            Compressor::Gzip(e) => e.write(buf),
            Compressor::Zstd(e) => e.write(buf),
            Compressor::None(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Xz(e) => e.flush(),
            Compressor::Gzip(e) => e.flush(),
            Compressor::Zstd(e) => e.flush(),
            Compressor::None(w) => w.flush(),
        }
    }
}

const BLOCK: usize = 512;
/// GNU tar pads the archive to whole 10 KiB records (blocking factor 20).
const RECORD: u64 = 20 * BLOCK as u64;

/// Counts what passes through, for the record padding `tar::Builder` does not do.
struct Counting<W: Write> {
    w: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.w.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// GNU-format tar of regular files, directories and symlinks, owned by root:root with
/// one fixed mtime, on `tar::Builder`. Only `Builder::append` is used: the path-taking
/// methods normalize names (`./usr/` becomes `usr`) and write their own long-name
/// records, neither of which is what GNU tar (and so dpkg-deb) writes.
struct TarWriter<W: Write> {
    tar: tar::Builder<Counting<W>>,
    mtime: u64,
}

impl<W: Write> TarWriter<W> {
    fn new(w: W, mtime: u64) -> Self {
        TarWriter {
            tar: tar::Builder::new(Counting { w, written: 0 }),
            mtime,
        }
    }

    fn directory(&mut self, name: &str) -> io::Result<()> {
        self.entry(name, 0o755, tar::EntryType::Directory, b"", "")
    }

    fn file(&mut self, name: &str, mode: u32, content: &[u8]) -> io::Result<()> {
        self.entry(name, mode, tar::EntryType::Regular, content, "")
    }

    fn symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        self.entry(name, 0o777, tar::EntryType::Symlink, b"", target)
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        kind: tar::EntryType,
        content: &[u8],
        link: &str,
    ) -> io::Result<()> {
        // GNU tar stores names that do not fit the 100-byte field in a preceding
        // `././@LongLink` record ('K' for a symlink target, then 'L' for the name).
        if link.len() > 100 {
            self.long_link(tar::EntryType::GNULongLink, link)?;
        }
        if name.len() > 100 {
            self.long_link(tar::EntryType::GNULongName, name)?;
        }
        let h = header(
            name.as_bytes(),
            mode,
            content.len() as u64,
            self.mtime,
            kind,
            link.as_bytes(),
        )?;
        self.tar.append(&h, content)
    }

    fn long_link(&mut self, kind: tar::EntryType, value: &str) -> io::Result<()> {
        let mut data = value.as_bytes().to_vec();
        data.push(0);
        let h = header(b"././@LongLink", 0o644, data.len() as u64, 0, kind, b"")?;
        self.tar.append(&h, data.as_slice())
    }

    /// End-of-archive marker (two zero blocks, `Builder::into_inner`), padded to a
    /// whole record as GNU tar does.
    fn finish(self) -> io::Result<W> {
        let mut c = self.tar.into_inner()?;
        let rem = c.written % RECORD;
        if rem != 0 {
            c.w.write_all(&vec![0u8; (RECORD - rem) as usize])?;
        }
        Ok(c.w)
    }
}

/// One GNU tar header block. Over-long `name`/`link` are truncated here; the caller has
/// already emitted the full value as a long-link record. The numeric fields are the
/// crate's (zero-padded octal and NUL, GNU base-256 from 8 GiB on: the same bytes GNU
/// tar writes); two things are done by hand:
/// - name and link target are copied as given, since `set_path`/`set_link_name`
///   normalize them (`./usr/` to `usr`) and refuse over-long values;
/// - the checksum is laid out as GNU tar does, six digits, NUL, space, where
///   `set_cksum` writes seven digits and NUL: the same number, different bytes.
fn header(
    name: &[u8],
    mode: u32,
    size: u64,
    mtime: u64,
    kind: tar::EntryType,
    link: &[u8],
) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_gnu();
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    h.set_mtime(mtime);
    h.set_entry_type(kind);
    h.set_username("root")?;
    h.set_groupname("root")?;
    let gnu = h
        .as_gnu_mut()
        .ok_or_else(|| io::Error::other("tar::Header::new_gnu gave a non-GNU header"))?;
    let n = name.len().min(gnu.name.len());
    gnu.name[..n].copy_from_slice(&name[..n]);
    let l = link.len().min(gnu.linkname.len());
    gnu.linkname[..l].copy_from_slice(&link[..l]);
    h.set_cksum();
    let sum = h.cksum()?;
    let field = format!("{sum:06o}\0 ");
    h.as_gnu_mut()
        .ok_or_else(|| io::Error::other("tar::Header::new_gnu gave a non-GNU header"))?
        .cksum
        .copy_from_slice(field.as_bytes());
    Ok(h)
}

/// One common-format ar member (the `ar` crate's format for names of up to 16 bytes
/// without spaces): root-owned, mode 100644, padded to an even offset.
fn ar_member<W: Write>(
    ar: &mut ar::Builder<W>,
    name: &str,
    mtime: u64,
    size: u64,
    content: &mut dyn io::Read,
) -> Result<()> {
    // The crate pads fields but does not truncate them: a value too wide for its field
    // would shift the rest of the header, so it is refused here.
    if name.len() > 16 || name.contains(' ') || mtime > 999_999_999_999 || size > 9_999_999_999 {
        bail!("ar member `{name}` does not fit the ar header (size {size}, mtime {mtime})");
    }
    let mut header = ar::Header::new(name.as_bytes().to_vec(), size);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mode(AR_MODE);
    ar.append(&header, content)
        .with_context(|| format!("writing ar member {name}"))?;
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::debian::control::Description;
    use crate::debian::relation::{Dep, Op, Relations};
    use std::io::Read;
    use std::path::Path;
    use std::process::Command;

    const MTIME: u64 = 1_700_000_000;
    const LONG_DIR: &str = "usr/lib/python3/dist-packages/averyveryverylongpackagename/\
                            subpackage_with_a_long_name/another_level_deep";

    fn control() -> BinaryControl {
        let mut depends = Relations::default();
        depends.push(Dep::new("python3").any_arch());
        depends.push(Dep::with("python3-six", Op::Ge, "1.10"));
        BinaryControl {
            package: "python3-demo".into(),
            version: "1.2.3-0py2deb1".into(),
            architecture: "all".into(),
            maintainer: "Demo Maintainer <demo@example.org>".into(),
            installed_size: None,
            depends,
            recommends: Relations::default(),
            conflicts: Relations::default(),
            breaks: Relations::default(),
            replaces: Relations::default(),
            provides: Relations::default(),
            section: "python".into(),
            priority: "optional".into(),
            homepage: Some("https://example.org/demo".into()),
            description: Description {
                synopsis: "demonstration package".into(),
                extended: vec!["A package used to test the writer.".into()],
            },
        }
    }

    fn file(path: &str, mode: u32, payload: Payload) -> DataEntry {
        DataEntry {
            path: path.into(),
            mode,
            kind: EntryKind::File(payload),
        }
    }

    /// Content for `Payload::Source(key)`.
    fn sourced(key: usize) -> Vec<u8> {
        (0..key * 700).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// A spool on a full file system: every write fails with ENOSPC.
    struct FullSpool;
    impl io::Write for FullSpool {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        }
    }
    impl io::Read for FullSpool {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Ok(0)
        }
    }
    impl Seek for FullSpool {
        fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
            Ok(0)
        }
    }

    #[test]
    fn full_tmpdir_is_named_not_the_output() {
        let spec = spec(Compression::Gzip);
        let mut out = Vec::new();
        let err = write_deb_spooled(
            &spec,
            &mut |k| Ok(sourced(k)),
            &mut out,
            1,
            Box::new(FullSpool),
            Path::new("/var/tmp/spool-here"),
        )
        .unwrap_err();
        let err = err.context("outer context");
        assert!(err.downcast_ref::<TempDirFull>().is_some(), "{err:#}");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("/var/tmp/spool-here") && msg.contains("ENOSPC"),
            "{msg}"
        );
        assert!(msg.contains("TMPDIR"), "{msg}");
        assert!(out.is_empty(), "nothing reaches the output");

        // A full output is not blamed on the temporary directory.
        let mut full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let err = write_deb(&spec, &mut |k| Ok(sourced(k)), &mut full).unwrap_err();
        assert!(is_no_space(&err), "{err:#}");
        assert!(err.downcast_ref::<TempDirFull>().is_none(), "{err:#}");
    }

    #[test]
    fn size_hint_changes_threads_not_bytes() {
        // The hint sets the thread count (one here) and the dictionary, and the bytes
        // are those of any other thread count with the same hint.
        let mut small = spec(Compression::Xz);
        small.size_hint = 4096;
        let (a, _) = write(&small, 2);
        let mut out = Vec::new();
        write_deb(&small, &mut |k| Ok(sourced(k)), &mut out).unwrap();
        assert_eq!(a, out);
    }

    /// The ar members of a .deb: (name, content).
    fn ar_members(deb: &[u8]) -> Vec<(String, &[u8])> {
        assert_eq!(&deb[..8], b"!<arch>\n");
        let mut out = Vec::new();
        let mut at = 8;
        while at < deb.len() {
            let h = &deb[at..at + 60];
            let name = String::from_utf8_lossy(&h[..16]).trim_end().to_owned();
            let size: usize = std::str::from_utf8(&h[48..58])
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            out.push((name, &deb[at + 60..at + 60 + size]));
            at += 60 + size + size % 2;
        }
        out
    }

    /// The LZMA2 dictionary size of the first block of an .xz stream (xz file format:
    /// stream header, then the block header with its filter flags).
    fn xz_dictionary(xz: &[u8]) -> u64 {
        let header = &xz[12..];
        let flags = header[1];
        let mut at = 2;
        let varint = |at: &mut usize| {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let b = header[*at];
                *at += 1;
                v |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    return v;
                }
            }
        };
        assert_eq!(flags & 0x03, 0, "one filter");
        if flags & 0x40 != 0 {
            varint(&mut at); // compressed size
        }
        if flags & 0x80 != 0 {
            varint(&mut at); // uncompressed size
        }
        assert_eq!(varint(&mut at), 0x21, "LZMA2");
        assert_eq!(varint(&mut at), 1, "one property byte");
        let p = u64::from(header[at]);
        (2 | (p & 1)) << (p / 2 + 11)
    }

    /// The flags of the first block header of an .xz stream: 0x40 and 0x80 say it
    /// records its compressed and uncompressed sizes, which only the multithreaded
    /// encoder (it compresses a whole block before writing it) knows.
    fn xz_block_flags(xz: &[u8]) -> u8 {
        xz[12 + 1]
    }

    #[test]
    fn one_block_inputs_take_the_single_threaded_encoder() {
        let mut s = spec(Compression::Xz);
        s.size_hint = [3, 0, 5].iter().map(|&k| sourced(k).len() as u64).sum();
        for threads in [1, 2] {
            let (deb, _) = write(&s, threads);
            for (name, xz) in &ar_members(&deb)[1..] {
                assert_eq!(xz_block_flags(xz) & 0xc0, 0, "{name}, {threads} threads");
            }
        }
        // Past one block the multithreaded encoder splits the input.
        let data: Vec<u8> = (0..3u32 << 19).map(|i| (i * 7 % 253) as u8).collect();
        let tuning = Tuning {
            xz_block_size: 1 << 19,
            ..Tuning::with_threads(2)
        };
        let mut z = Compressor::new(Compression::Xz, Vec::new(), tuning).unwrap();
        z.write_all(&data).unwrap();
        let xz = z.finish().unwrap();
        assert_eq!(xz_block_flags(&xz) & 0xc0, 0xc0);
    }

    #[test]
    fn the_data_tar_bound_holds_and_stays_close() {
        let mut s = spec(Compression::None);
        s.size_hint = s
            .data
            .iter()
            .map(|e| match &e.kind {
                EntryKind::File(Payload::Source(k)) => sourced(*k).len() as u64,
                _ => 0,
            })
            .sum();
        let (deb, _) = write(&s, 1);
        let tar = ar_members(&deb)[2].1.len() as u64;
        let tree = build_tree(&s.data).unwrap();
        let bound = data_tar_bound(&s, &tree).unwrap();
        assert!(bound >= tar, "{bound} < {tar}");
        // Within a header and a padding block per node, and a record.
        assert!(
            bound <= tar + (tree.len() as u64 + 1) * TAR_ENTRY_BOUND + RECORD,
            "{bound} is far above {tar}"
        );
    }

    #[test]
    fn small_packages_get_a_dictionary_that_still_covers_them() {
        let mut s = spec(Compression::Xz);
        s.size_hint = [3, 0, 5].iter().map(|&k| sourced(k).len() as u64).sum();
        let (deb, _) = write(&s, 2);
        let members = ar_members(&deb);
        for (name, xz) in &members[1..] {
            let mut tar = Vec::new();
            liblzma::read::XzDecoder::new(*xz)
                .read_to_end(&mut tar)
                .unwrap();
            let dict = xz_dictionary(xz);
            assert!(dict < XZ_DICT_SIZE, "{name}: {dict}");
            assert!(dict >= tar.len() as u64, "{name}: {dict} < {}", tar.len());
        }
        // Unknown sizes keep the preset's dictionary.
        let (deb, _) = write(&spec(Compression::Xz), 2);
        assert_eq!(xz_dictionary(ar_members(&deb)[2].1), XZ_DICT_SIZE);
        // And the content is what the package holds, whatever the dictionary.
        let mut a = Vec::new();
        let mut b = Vec::new();
        liblzma::read::XzDecoder::new(ar_members(&deb)[2].1)
            .read_to_end(&mut a)
            .unwrap();
        let (small, _) = write(&s, 1);
        liblzma::read::XzDecoder::new(ar_members(&small)[2].1)
            .read_to_end(&mut b)
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn xz_dictionary_is_the_next_power_of_two_below_the_preset() {
        assert_eq!(xz_dict_size(0), Some(4096));
        assert_eq!(xz_dict_size(100), Some(4096));
        assert_eq!(xz_dict_size(100_000), Some(131_072));
        assert_eq!(xz_dict_size((8 << 20) - 1), Some(8 << 20));
        assert_eq!(xz_dict_size(8 << 20), None);
    }

    fn spec(compression: Compression) -> DebSpec {
        let long_target = format!("/{LONG_DIR}/module_with_a_long_name.py");
        DebSpec {
            control: control(),
            scripts: vec![
                (
                    "prerm".into(),
                    b"#!/bin/sh\nset -e\npy3clean -p python3-demo\n".to_vec(),
                ),
                (
                    "postinst".into(),
                    b"#!/bin/sh\nset -e\npy3compile -p python3-demo\n".to_vec(),
                ),
            ],
            data: vec![
                file(
                    "usr/bin/demo",
                    0o755,
                    Payload::Bytes(b"#!/usr/bin/python3\nimport demo\n".to_vec()),
                ),
                file(
                    "usr/lib/python3/dist-packages/demo/__init__.py",
                    0o644,
                    Payload::Source(3),
                ),
                file(
                    "usr/lib/python3/dist-packages/demo/empty.py",
                    0o644,
                    Payload::Bytes(vec![]),
                ),
                file(
                    "usr/lib/python3/dist-packages/demo/kib.dat",
                    0o644,
                    Payload::Source(0),
                ),
                file(
                    "usr/lib/python3/dist-packages/demo/exact.dat",
                    0o644,
                    Payload::Bytes(vec![7; 1024]),
                ),
                file(
                    "usr/lib/python3/dist-packages/demo/données_é.py",
                    0o644,
                    Payload::Bytes("x = 'é'\n".into()),
                ),
                file(
                    &format!("{LONG_DIR}/module_with_a_long_name.py"),
                    0o644,
                    Payload::Source(5),
                ),
                file(
                    "usr/lib/python3/dist-packages/demo-1.2.3.dist-info/METADATA",
                    0o644,
                    Payload::Bytes(b"Name: demo\n".to_vec()),
                ),
                file(
                    "usr/share/doc/python3-demo/copyright",
                    0o644,
                    Payload::Bytes(b"Format: x\n".to_vec()),
                ),
                DataEntry {
                    path: "usr/share/doc/python3-demo/link-to-long".into(),
                    mode: 0,
                    kind: EntryKind::Symlink(long_target),
                },
                DataEntry {
                    path: "usr/bin/demo3".into(),
                    mode: 0,
                    kind: EntryKind::Symlink("demo".into()),
                },
            ],
            compression,
            mtime: MTIME,
            size_hint: 0,
        }
    }

    fn write(spec: &DebSpec, threads: usize) -> (Vec<u8>, DebSummary) {
        let mut out = Vec::new();
        let summary =
            write_deb_with_threads(spec, &mut |k| Ok(sourced(k)), &mut out, threads).unwrap();
        (out, summary)
    }

    fn run(cmd: &mut Command) -> String {
        let o = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn check_with_dpkg(compression: Compression) {
        let spec = spec(compression);
        let (bytes, summary) = write(&spec, 2);
        let dir = tempfile::tempdir().unwrap();
        let deb = dir.path().join("demo.deb");
        std::fs::write(&deb, &bytes).unwrap();

        let ext = compression.extension();
        let members = run(Command::new("ar").arg("t").arg(&deb));
        assert_eq!(
            members,
            format!("debian-binary\ncontrol.tar{ext}\ndata.tar{ext}\n")
        );
        let verbose = run(Command::new("ar").arg("tvO").arg(&deb));
        assert!(
            verbose.lines().all(|l| l.starts_with("rw-r--r-- 0/0")),
            "{verbose}"
        );

        // The control file as dpkg reads it back is exactly what we rendered.
        let mut expected = spec.control.clone();
        expected.installed_size = Some(summary.installed_size_kib);
        let mut text = Vec::new();
        expected.write_to(&mut text).unwrap();
        let shown = run(Command::new("dpkg-deb").arg("-I").arg(&deb).arg("control"));
        assert_eq!(shown.as_bytes(), text.as_slice());
        let info = run(Command::new("dpkg-deb").arg("--info").arg(&deb));
        assert!(info.contains(" Package: python3-demo\n"), "{info}");
        assert!(info.contains(&format!(
            " Installed-Size: {}\n",
            summary.installed_size_kib
        )));

        // Listing: order, owners, modes, long names and link targets.
        let listing = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
        let names: Vec<&str> = listing
            .lines()
            .map(|l| l.split_whitespace().nth(5).unwrap())
            .collect();
        assert_eq!(names[..4], ["./", "./usr/", "./usr/bin/", "./usr/bin/demo"]);
        assert!(
            listing.lines().all(|l| l.contains(" root/root ")),
            "{listing}"
        );
        let long = format!("./{LONG_DIR}/module_with_a_long_name.py");
        assert!(long.len() > 100);
        assert!(names.contains(&long.as_str()), "{listing}");
        assert!(listing.contains(&format!(
            "./usr/share/doc/python3-demo/link-to-long -> /{LONG_DIR}/"
        )));
        assert!(
            listing.contains(
                "lrwxrwxrwx root/root         0 2023-11-14 22:13 ./usr/bin/demo3 -> demo"
            ),
            "{listing}"
        );
        assert!(listing.contains("-rwxr-xr-x root/root"), "{listing}");
        // Each directory appears before anything inside it.
        for (i, n) in names.iter().enumerate() {
            let parent = match n.trim_end_matches('/').rfind('/') {
                Some(p) => &n[..=p],
                None => continue,
            };
            assert!(names[..i].contains(&parent), "{n} before {parent}");
        }
        assert_eq!(summary.files, spec.data.len());

        // Extracted bytes and modes match the spec.
        let root = dir.path().join("root");
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
        for entry in &spec.data {
            let p = root.join(&entry.path);
            let meta = std::fs::symlink_metadata(&p).unwrap();
            match &entry.kind {
                EntryKind::File(payload) => {
                    let want = match payload {
                        Payload::Bytes(b) => b.clone(),
                        Payload::Source(k) => sourced(*k),
                    };
                    assert_eq!(std::fs::read(&p).unwrap(), want, "{}", entry.path);
                    use std::os::unix::fs::PermissionsExt;
                    assert_eq!(
                        meta.permissions().mode() & 0o7777,
                        entry.mode,
                        "{}",
                        entry.path
                    );
                }
                EntryKind::Symlink(target) => {
                    assert_eq!(std::fs::read_link(&p).unwrap(), Path::new(target));
                }
            }
        }

        // md5sums agree with md5sum(1) over the extracted tree.
        let ctrl = dir.path().join("DEBIAN");
        run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&ctrl));
        let md5sums = std::fs::read_to_string(ctrl.join("md5sums")).unwrap();
        let lines: Vec<&str> = md5sums.lines().collect();
        let n_files = spec
            .data
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::File(_)))
            .count();
        assert_eq!(lines.len(), n_files);
        let sorted = {
            let mut s = lines.clone();
            s.sort_by_key(|l| l[34..].split('/').collect::<Vec<_>>());
            s
        };
        assert_eq!(lines, sorted);
        let check = run(Command::new("md5sum")
            .arg("-c")
            .arg("--strict")
            .arg(ctrl.join("md5sums"))
            .current_dir(&root));
        assert_eq!(check.lines().count(), n_files, "{check}");
        for script in ["postinst", "prerm"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ctrl.join(script))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }

    #[test]
    fn dpkg_reads_xz() {
        check_with_dpkg(Compression::Xz);
    }

    #[test]
    fn dpkg_reads_gzip() {
        check_with_dpkg(Compression::Gzip);
    }

    #[test]
    fn dpkg_reads_zstd() {
        check_with_dpkg(Compression::Zstd);
    }

    #[test]
    fn dpkg_reads_uncompressed() {
        check_with_dpkg(Compression::None);
    }

    #[test]
    fn output_is_reproducible() {
        for c in [
            Compression::Xz,
            Compression::Gzip,
            Compression::Zstd,
            Compression::None,
        ] {
            let a = write(&spec(c), 2).0;
            let b = write(&spec(c), 2).0;
            assert_eq!(a, b, "{c}");
        }
    }

    /// The thread count must not change the bytes. Small blocks and jobs give several
    /// of them in a few MiB, so the workers really split the input.
    #[test]
    fn output_is_independent_of_thread_count() {
        let mut x: u32 = 1;
        // Compressible but not trivially repetitive.
        let data: Vec<u8> = (0..3 << 19)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                b"abcdefgh"[(x >> 28) as usize % 8]
            })
            .collect();
        for c in [Compression::Xz, Compression::Zstd] {
            let compress = |threads| {
                let tuning = Tuning {
                    threads,
                    xz_block_size: 1 << 19,
                    xz_dict_size: None,
                    xz_one_block: false,
                    zstd_job_size: Some(1 << 19),
                };
                let mut z = Compressor::new(c, Vec::new(), tuning).unwrap();
                for piece in data.chunks(100_000) {
                    z.write_all(piece).unwrap();
                }
                z.finish().unwrap()
            };
            let one = compress(1);
            assert!(one == compress(2), "{c}: 1 and 2 threads differ");
            assert!(one == compress(3), "{c}: 1 and 3 threads differ");
        }
        // And the real settings, end to end.
        for c in [Compression::Xz, Compression::Zstd] {
            assert!(write(&spec(c), 1).0 == write(&spec(c), 2).0, "{c}");
        }
    }

    #[test]
    fn gzip_member_has_no_name_or_time() {
        let (bytes, _) = write(&spec(Compression::Gzip), 1);
        // debian-binary header + content, then the control member header.
        let start = 8 + 60 + 4 + 60;
        let gz = &bytes[start..start + 10];
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "no FNAME flag");
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "mtime 0");
        assert_eq!(gz[9], 3, "OS Unix");
    }

    /// Installed-Size must be what dpkg-gencontrol computes for the build tree as
    /// debhelper leaves it (data plus DEBIAN/ with the maintainer scripts).
    #[test]
    fn installed_size_matches_dpkg_gencontrol() {
        let spec = spec(Compression::Gzip);
        let (bytes, summary) = write(&spec, 1);
        let dir = tempfile::tempdir().unwrap();
        let deb = dir.path().join("demo.deb");
        std::fs::write(&deb, &bytes).unwrap();
        let src = dir.path().join("src");
        let tree = src.join("debian/python3-demo");
        std::fs::create_dir_all(&tree).unwrap();
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree));
        run(Command::new("dpkg-deb")
            .arg("-e")
            .arg(&deb)
            .arg(tree.join("DEBIAN")));
        std::fs::remove_file(tree.join("DEBIAN/control")).unwrap();
        std::fs::remove_file(tree.join("DEBIAN/md5sums")).unwrap();
        std::fs::write(
            src.join("debian/control"),
            "Source: demo\nMaintainer: D <d@example.org>\n\nPackage: python3-demo\n\
             Architecture: all\nDescription: demo\n demo\n",
        )
        .unwrap();
        std::fs::write(
            src.join("debian/changelog"),
            "demo (1.2.3-0py2deb1) unstable; urgency=medium\n\n  * Test.\n\n \
             -- D <d@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n",
        )
        .unwrap();
        let out = run(Command::new("dpkg-gencontrol")
            .args(["-ppython3-demo", "-Pdebian/python3-demo", "-O"])
            .current_dir(&src));
        let size: u64 = out
            .lines()
            .find_map(|l| l.strip_prefix("Installed-Size: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(summary.installed_size_kib, size);
    }

    #[test]
    fn source_errors_name_the_path() {
        let spec = spec(Compression::None);
        let mut out = Vec::new();
        let err = write_deb(
            &spec,
            &mut |_| anyhow::bail!("wheel entry is corrupt"),
            &mut out,
        )
        .unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("reading the content of /usr/lib/python3/dist-packages/"),
            "{msg}"
        );
        assert!(msg.contains("wheel entry is corrupt"), "{msg}");
    }

    #[test]
    fn bad_paths_are_rejected() {
        for (paths, why) in [
            (vec!["/usr/bin/x"], "relative"),
            (vec!["usr/../etc/x"], "`..`"),
            (vec!["usr//x"], "empty"),
            (vec!["usr/bin/a\nb"], "control character"),
            (vec!["usr/bin/x", "usr/bin/x"], "twice"),
            (vec!["usr/bin/x", "usr/bin/x/y"], "both a file"),
            (vec!["usr/bin/x/y", "usr/bin/x"], "both a file"),
        ] {
            let mut s = spec(Compression::None);
            s.data = paths
                .iter()
                .map(|p| file(p, 0o644, Payload::Bytes(vec![])))
                .collect();
            let err = write_deb(&s, &mut |k| Ok(sourced(k)), &mut Vec::new()).unwrap_err();
            assert!(format!("{err:#}").contains(why), "{paths:?}: {err:#}");
        }
    }

    #[test]
    fn control_injection_is_rejected() {
        let mut s = spec(Compression::None);
        s.control.description.synopsis = "nice\nDepends: evil".into();
        let err = write_deb(&s, &mut |k| Ok(sourced(k)), &mut Vec::new()).unwrap_err();
        assert!(format!("{err:#}").contains("Description"), "{err:#}");
    }

    #[test]
    fn tar_numbers_and_long_names() {
        let h = header(b"./x", 0o644, 0o17, MTIME, tar::EntryType::Regular, b"").unwrap();
        let h = h.as_bytes();
        assert_eq!(&h[124..136], b"00000000017\0");
        let big = header(b"./x", 0o644, 1 << 33, MTIME, tar::EntryType::Regular, b"").unwrap();
        let big = big.as_bytes();
        assert_eq!(big[124], 0x80);
        assert_eq!(&big[125..128], &[0, 0, 0]);
        assert_eq!(&big[128..136], &(1u64 << 33).to_be_bytes());
        let sum: u32 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(b)
                }
            })
            .sum();
        assert_eq!(
            std::str::from_utf8(&h[148..156]).unwrap(),
            format!("{sum:06o}\0 ")
        );
        assert_eq!(&h[..4], b"./x\0", "the name is kept as given");
        assert_eq!(&h[257..265], b"ustar  \0");
    }

    /// The bytes the hand-written ar and tar writer produced for the test package
    /// (uncompressed, so only the container format counts): long names, long link
    /// targets, empty and exact-KiB files, non-ASCII names, scripts.
    #[test]
    fn container_bytes_match_the_hand_written_writer() {
        use sha2::{Digest, Sha256};
        let (bytes, _) = write(&spec(Compression::None), 1);
        assert_eq!(bytes.len(), 41152);
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            "fd981cbadf53885953d668ffb07423df3d85c3ee8ddd1a0ff66c866eb6b17765"
        );
    }

    #[test]
    fn ar_member_that_does_not_fit_is_refused() {
        let mut ar = ar::Builder::new(Vec::new());
        for (name, mtime, size) in [
            ("a-member-name-too-long", 0, 0),
            ("with space", 0, 0),
            ("x", 1_000_000_000_000, 0),
            ("x", 0, 10_000_000_000),
        ] {
            let err = ar_member(&mut ar, name, mtime, size, &mut &b""[..]).unwrap_err();
            assert!(
                format!("{err:#}").contains("does not fit"),
                "{name}: {err:#}"
            );
        }
    }

    /// About 100 MB of data through the real pipeline; run by hand with `--ignored` to
    /// watch peak memory stay near one file plus the compressor's buffers.
    #[test]
    #[ignore = "manual memory check: takes minutes in a debug build"]
    fn large_package_streams() {
        let mut s = spec(Compression::Xz);
        s.data = (0..100)
            .map(|i| {
                file(
                    &format!("usr/share/big/part{i:03}"),
                    0o644,
                    Payload::Source(i),
                )
            })
            .collect();
        let mut seed: u32 = 7;
        let mut source = |k: usize| -> Result<Vec<u8>> {
            // 1 MiB of text-like data per file.
            Ok((0..1 << 20)
                .map(|j: usize| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    if (seed >> 24) % 7 == 0 {
                        b' '
                    } else {
                        b'a' + ((j + k) % 26) as u8
                    }
                })
                .collect())
        };
        let mut sink = tempfile::tempfile().unwrap();
        let summary = write_deb(&s, &mut source, &mut sink).unwrap();
        assert_eq!(summary.files, 100);
    }
}
