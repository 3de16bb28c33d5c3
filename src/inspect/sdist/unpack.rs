//! Unpacking a source distribution (`.tar.gz`, `.zip`) entry by entry, checking every
//! entry before it touches the disk: the sdist format (PEP 517 "source distribution",
//! PEP 625 file names) promises one top-level `{name}-{version}/` directory, and anything
//! else — `..`, absolute paths, links leaving the tree, device files, bombs — is refused.

use crate::inspect::wheel::Limits;
use anyhow::{bail, Context, Result};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What unpacking produced.
#[derive(Debug)]
pub struct Unpacked {
    /// The single top-level directory: the source tree to build.
    pub root: PathBuf,
    /// Newest modification time among the entries (seconds since the epoch), a
    /// reproducible `SOURCE_DATE_EPOCH` for the wheel built from it.
    pub newest_mtime: Option<u64>,
}

/// The archive formats an sdist may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    TarGz,
    Zip,
}

impl Format {
    /// The format a file name announces, if it is one we can read.
    pub fn of(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            Some(Format::TarGz)
        } else if lower.ends_with(".zip") {
            Some(Format::Zip)
        } else {
            None
        }
    }
}

/// Unpack `archive` into the empty directory `dest` and return its top-level directory.
pub fn unpack(archive: &Path, dest: &Path, limits: &Limits) -> Result<Unpacked> {
    let label = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| archive.display().to_string());
    let Some(format) = Format::of(&label) else {
        bail!(
            "`{}` is not a source distribution py2deb can read: expected a `.tar.gz` or \
             `.zip` file",
            archive.display()
        );
    };
    let file = File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    // A bomb is caught by its ratio long before the total cap fills the disk: real
    // sources compress far less than max_ratio:1.
    let archive_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let ratio_cap = archive_len
        .saturating_mul(limits.max_ratio)
        .max(crate::inspect::wheel::RATIO_FLOOR);
    let mut ex = Extractor {
        label: label.clone(),
        dest,
        limits,
        ratio_cap,
        entries: 0,
        total: 0,
        top: None,
        newest: None,
        files: HashSet::new(),
    };
    match format {
        Format::TarGz => unpack_tar(&mut ex, file)?,
        Format::Zip => unpack_zip(&mut ex, file)?,
    }
    let Some(top) = ex.top.clone() else {
        bail!("`{label}` is empty; an sdist holds one `<name>-<version>/` directory");
    };
    let root = dest.join(&top);
    let is_dir = fs::symlink_metadata(&root)
        .map(|m| m.is_dir())
        .unwrap_or(false);
    if !is_dir {
        bail!(
            "`{label}`: the top-level entry `{top}` is not a directory; an sdist holds one \
             `<name>-<version>/` directory with the project inside"
        );
    }
    Ok(Unpacked {
        root,
        newest_mtime: ex.newest,
    })
}

fn unpack_tar(ex: &mut Extractor, file: File) -> Result<()> {
    let gz = flate2::read::GzDecoder::new(io::BufReader::new(file));
    let mut archive = tar::Archive::new(gz);
    let label = ex.label.clone();
    let entries = archive
        .entries()
        .with_context(|| format!("`{label}` is not a readable tar archive"))?;
    for entry in entries {
        let mut entry =
            entry.with_context(|| format!("`{label}` is corrupt or not a gzip'd tar archive"))?;
        ex.count_entry()?;
        let kind = entry.header().entry_type();
        // pax global headers (git archive writes one) describe the archive, not a file.
        if kind == tar::EntryType::XGlobalHeader {
            continue;
        }
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8(raw).map_err(|e| {
            anyhow::anyhow!(
                "`{label}`: entry name {:?} is not UTF-8; rename the file in the project",
                String::from_utf8_lossy(e.as_bytes())
            )
        })?;
        let comps = ex.components(&name)?;
        if let Ok(mtime) = entry.header().mtime() {
            ex.newest = ex.newest.max(Some(mtime));
        }
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mode = entry.header().mode().unwrap_or(0o644);
                ex.write_file(&name, &comps, &mut entry, mode & 0o111 != 0)?;
            }
            tar::EntryType::Directory => ex.make_dir(&name, &comps)?,
            tar::EntryType::Symlink => {
                let target = link_name(&label, &name, entry.link_name_bytes())?;
                ex.make_symlink(&name, &comps, &target)?;
            }
            tar::EntryType::Link => {
                let target = link_name(&label, &name, entry.link_name_bytes())?;
                ex.copy_hardlink(&name, &comps, &target)?;
            }
            other => {
                let what = match other {
                    tar::EntryType::Char => "a character device",
                    tar::EntryType::Block => "a block device",
                    tar::EntryType::Fifo => "a FIFO",
                    tar::EntryType::GNUSparse => "a sparse file",
                    _ => "an unsupported entry type",
                };
                bail!(
                    "`{label}`: entry `{name}` is {what}; an sdist may only hold regular \
                     files, directories and links inside its tree, so it is refused"
                );
            }
        }
    }
    Ok(())
}

fn link_name(label: &str, name: &str, raw: Option<std::borrow::Cow<'_, [u8]>>) -> Result<String> {
    let raw = raw.unwrap_or_default();
    let target = String::from_utf8(raw.into_owned())
        .map_err(|_| anyhow::anyhow!("`{label}`: link `{name}` has a non-UTF-8 target"))?;
    if target.is_empty() {
        bail!("`{label}`: link `{name}` has an empty target");
    }
    Ok(target)
}

fn unpack_zip(ex: &mut Extractor, file: File) -> Result<()> {
    let label = ex.label.clone();
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file))
        .with_context(|| format!("`{label}` is not a readable zip archive"))?;
    // The central directory lists every entry up front: refuse a bomb before reading.
    if zip.len() > ex.limits.max_entries {
        bail!(
            "`{label}` has {} entries, more than the limit of {}; it is not a plausible sdist",
            zip.len(),
            ex.limits.max_entries
        );
    }
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .with_context(|| format!("`{label}`: reading entry #{i}"))?;
        ex.count_entry()?;
        let name = entry
            .name()
            .map_err(|e| anyhow::anyhow!("`{label}`: entry #{i} has an unreadable name: {e}"))?
            .into_owned();
        if name.contains('\\') {
            bail!(
                "`{label}`: entry name {name:?} contains a backslash; zip entries must use `/` \
                 as the separator"
            );
        }
        let comps = ex.components(&name)?;
        let mode = entry.unix_mode().unwrap_or(0);
        const S_IFMT: u32 = 0o170000;
        let file_type = mode & S_IFMT;
        if entry.is_dir() || file_type == 0o040000 {
            ex.make_dir(&name, &comps)?;
        } else if file_type == 0o120000 {
            // A zip symlink stores its target as the entry's contents.
            let mut target = String::new();
            entry
                .by_ref()
                .take(4096)
                .read_to_string(&mut target)
                .with_context(|| format!("`{label}`: reading link `{name}`"))?;
            ex.make_symlink(&name, &comps, &target)?;
        } else if file_type == 0 || file_type == 0o100000 {
            ex.write_file(&name, &comps, &mut entry, mode & 0o111 != 0)?;
        } else {
            bail!(
                "`{label}`: entry `{name}` is a device, FIFO or socket (mode {mode:o}); an sdist \
                 may only hold regular files, directories and links inside its tree"
            );
        }
    }
    Ok(())
}

/// Writes checked entries below `dest`, never through a symbolic link.
struct Extractor<'a> {
    label: String,
    dest: &'a Path,
    limits: &'a Limits,
    /// Most bytes the archive may unpack to by [`Limits::max_ratio`].
    ratio_cap: u64,
    entries: usize,
    total: u64,
    top: Option<String>,
    newest: Option<u64>,
    /// Regular files written so far, by components: the only valid hard-link targets.
    files: HashSet<Vec<String>>,
}

impl Extractor<'_> {
    fn count_entry(&mut self) -> Result<()> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            bail!(
                "`{}` has more than {} entries; it is not a plausible sdist (a bomb?), so it \
                 is refused",
                self.label,
                self.limits.max_entries
            );
        }
        Ok(())
    }

    /// Split an entry name into checked path components, and hold every entry to the
    /// same top-level directory.
    fn components(&mut self, name: &str) -> Result<Vec<String>> {
        let label = &self.label;
        if name.starts_with('/') {
            bail!(
                "`{label}`: entry `{name}` is an absolute path; it would be written outside \
                 the unpack directory, so the archive is refused"
            );
        }
        if name.chars().any(|c| c < ' ' || c == '\x7f') {
            bail!("`{label}`: entry name {name:?} contains a control character");
        }
        let mut comps = Vec::new();
        for c in name.split('/') {
            match c {
                // `./pkg/x` and `pkg//x` mean the same as `pkg/x`.
                "" | "." => {}
                ".." => bail!(
                    "`{label}`: entry `{name}` contains a `..` component; it would be \
                     written outside the unpack directory, so the archive is refused"
                ),
                _ => comps.push(c.to_owned()),
            }
        }
        let Some(first) = comps.first() else {
            bail!("`{label}`: entry {name:?} has an empty name");
        };
        match &self.top {
            None => self.top = Some(first.clone()),
            Some(top) if top == first => {}
            Some(top) => bail!(
                "`{label}` has more than one top-level entry (`{top}`, `{first}`); an sdist \
                 holds exactly one `<name>-<version>/` directory"
            ),
        }
        Ok(comps)
    }

    /// Create the directories above `comps` (as needed) and return the entry's path.
    /// Fails if any of them exists as something other than a real directory, so that a
    /// link planted by an earlier entry is never written through.
    fn prepare(&self, name: &str, comps: &[String]) -> Result<PathBuf> {
        let mut path = self.dest.to_path_buf();
        for c in &comps[..comps.len() - 1] {
            path.push(c);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => bail!(
                    "`{}`: entry `{name}` would be written through `{}`, which is a file or \
                     link in the archive; the archive is refused",
                    self.label,
                    c
                ),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?
                }
                Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
            }
        }
        path.push(&comps[comps.len() - 1]);
        Ok(path)
    }

    /// Make room for a non-directory entry: a duplicate entry replaces the earlier one,
    /// a directory is never replaced.
    fn clear(&self, name: &str, path: &Path) -> Result<()> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => bail!(
                "`{}`: entry `{name}` clashes with a directory of the same name",
                self.label
            ),
            // remove_file on a link removes the link itself, never its target.
            Ok(_) => fs::remove_file(path).with_context(|| format!("replacing {}", path.display())),
            Err(_) => Ok(()),
        }
    }

    fn write_file(
        &mut self,
        name: &str,
        comps: &[String],
        reader: &mut dyn Read,
        executable: bool,
    ) -> Result<()> {
        let path = self.prepare(name, comps)?;
        self.clear(name, &path)?;
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        // Headers can lie about sizes: count the bytes actually produced, and stop one
        // past the cap so that going over is detected without reading further.
        let by_ratio = self.ratio_cap.saturating_sub(self.total);
        let room = self
            .limits
            .max_entry
            .min(self.limits.max_total.saturating_sub(self.total));
        let copied = io::copy(&mut reader.take(room.min(by_ratio) + 1), &mut out)
            .with_context(|| format!("`{}`: reading entry `{name}`", self.label))?;
        if copied > by_ratio && by_ratio < room {
            bail!(
                "`{}` unpacks to more than {} times its size at entry `{name}`; it looks like \
                 a decompression bomb, so it is refused (raise --max-ratio if the sdist is \
                 genuine)",
                self.label,
                self.limits.max_ratio
            );
        }
        if copied > room {
            bail!(
                "`{}` unpacks to more than the limit ({} bytes per file, {} bytes in total) at \
                 entry `{name}`; it looks like a decompression bomb, so it is refused",
                self.label,
                self.limits.max_entry,
                self.limits.max_total
            );
        }
        self.total += copied;
        out.flush()?;
        // Keep only the permission bits that matter; never setuid/setgid/sticky.
        let mode = if executable { 0o755 } else { 0o644 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        self.files.insert(comps.to_vec());
        Ok(())
    }

    fn make_dir(&mut self, name: &str, comps: &[String]) -> Result<()> {
        let path = self.prepare(name, comps)?;
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => bail!(
                "`{}`: directory entry `{name}` clashes with a file or link of the same name",
                self.label
            ),
            Err(_) => fs::create_dir(&path).with_context(|| format!("creating {}", path.display())),
        }
    }

    /// A symbolic link is kept only if it resolves inside the project tree. Its target
    /// must be relative, climb (`..`) only at its start and no higher than the top-level
    /// directory, then descend. Since no entry is ever written through a link, the
    /// link's own directory is a real one, and by induction any chain of such links ends
    /// inside the tree.
    fn make_symlink(&mut self, name: &str, comps: &[String], target: &str) -> Result<()> {
        let label = &self.label;
        let refuse = |why: &str| -> Result<()> {
            bail!(
                "`{label}`: link `{name}` points to `{target}`, {why}; links must stay inside \
                 the project tree, so the archive is refused"
            )
        };
        if target.starts_with('/') {
            return refuse("an absolute path");
        }
        if comps.len() < 2 {
            return refuse("at the top level of the archive");
        }
        // Directories between the top-level one and the link.
        let depth = comps.len() - 2;
        let mut ups = 0usize;
        let mut descended = false;
        for c in target.split('/') {
            match c {
                "" | "." => {}
                ".." if descended => return refuse("which climbs back up after descending"),
                ".." => {
                    ups += 1;
                    if ups > depth {
                        return refuse("outside the project tree");
                    }
                }
                _ => descended = true,
            }
        }
        let path = self.prepare(name, comps)?;
        self.clear(name, &path)?;
        self.files.remove(comps);
        std::os::unix::fs::symlink(target, &path)
            .with_context(|| format!("creating link {}", path.display()))
    }

    /// A hard link in a tar names another entry of the archive. It is written as a copy
    /// of that already unpacked regular file, so that no inode outside the tree can ever
    /// be shared.
    fn copy_hardlink(&mut self, name: &str, comps: &[String], target: &str) -> Result<()> {
        let label = self.label.clone();
        let target_comps = if target.starts_with('/') || target.split('/').any(|c| c == "..") {
            None
        } else {
            let t: Vec<String> = target
                .split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .map(str::to_owned)
                .collect();
            Some(t)
        };
        let Some(target_comps) = target_comps.filter(|t| self.files.contains(t)) else {
            bail!(
                "`{label}`: hard link `{name}` points to `{target}`, which is not a regular \
                 file earlier in the archive (outside the tree?); the archive is refused"
            );
        };
        let src: PathBuf = target_comps
            .iter()
            .fold(self.dest.to_path_buf(), |p, c| p.join(c));
        let executable = fs::metadata(&src)
            .map(|m| m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false);
        let mut reader = File::open(&src).with_context(|| format!("opening {}", src.display()))?;
        self.write_file(name, comps, &mut reader, executable)
    }
}
