//! Writing the client-visible indexes: `Packages` (plain, gzip, xz) per architecture, their
//! by-hash copies, and `Release`/`InRelease`/`Release.gpg`, following the Debian repository
//! format (<https://wiki.debian.org/DebianRepository/Format>, "indices acquisition via
//! hashsums" for `by-hash`).
//!
//! Every publish writes a complete new *generation* of the suite directory,
//! `dists/.generations/<suite>/<N>/`, and then switches the symlink `dists/<suite>` to it
//! with one rename(2). A client therefore sees either the old or the new suite as a whole,
//! whatever kills the writer: `Release`, `Release.gpg`, `InRelease` and the `Packages`
//! files of one generation always agree. Each generation also carries, under
//! `<comp>/binary-<arch>/by-hash/SHA256/`, the indexes of the previous generations still
//! retained, so a client that fetched an older `InRelease` just before a switch still finds
//! the files it names (`Acquire-By-Hash: yes`). Plain `Packages` names are hard links to
//! the by-hash files, so the two can never disagree.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use md5::Md5;
use sha2::{Digest, Sha256};

use super::guard::failpoint;
use super::{gpg, set_readable, sort_entries, Entry, RepoConfig};
use crate::debian::{deb822, debfile};
use crate::report::Reporter;

/// Directory under `dists/` holding every suite's generations.
pub(super) const GENERATIONS: &str = ".generations";
/// Previous generations always kept (besides the current one)…
const KEEP_GENERATIONS: usize = 10;
/// …and older ones kept while they were replaced less than this long ago…
const KEEP_RECENT: Duration = Duration::from_secs(15 * 60);
/// …up to this many in all.
const KEEP_GENERATIONS_MAX: usize = 100;

/// One index file as listed in `Release`.
#[derive(Debug, Clone)]
pub(super) struct Indexed {
    /// Path relative to `dists/<suite>/`.
    pub name: String,
    pub size: u64,
    pub md5: String,
    pub sha256: String,
}

impl Indexed {
    fn of(name: String, bytes: &[u8]) -> Self {
        Indexed {
            name,
            size: bytes.len() as u64,
            md5: hex::encode(Md5::digest(bytes)),
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// Where the by-hash copy of this index lives, relative to `dists/<suite>/`.
    pub fn by_hash(&self) -> String {
        by_hash_path(&self.name, &self.sha256)
    }
}

pub(super) fn by_hash_path(name: &str, sha256: &str) -> String {
    let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
    format!("{dir}/by-hash/SHA256/{sha256}")
}

/// One `Packages` stanza: the package's control fields, re-parsed with dpkg's rules and
/// written back field by field, then the fields the archive adds. The stored paragraph is
/// checked again here so a state file written before the checks existed cannot smuggle a
/// second stanza or an index field into a signed index.
pub(super) fn stanza(e: &Entry) -> Result<String> {
    let fields = deb822::parse_paragraph(e.control.as_bytes()).map_err(|why| {
        anyhow::anyhow!(
            "the recorded control paragraph of {} {} ({}) {why}; remove it with `py2deb repo remove DIR {}={}` and add a fixed package",
            e.package, e.version, e.architecture, e.package, e.version
        )
    })?;
    if let Some((k, _)) = fields.iter().find(|(k, _)| {
        debfile::INDEX_ONLY_FIELDS
            .iter()
            .any(|f| f.eq_ignore_ascii_case(k))
    }) {
        bail!(
            "the recorded control paragraph of {} {} carries the index field `{k}`; remove it with `py2deb repo remove DIR {}={}`",
            e.package, e.version, e.package, e.version
        );
    }
    e.validate()?;
    let mut out = deb822::render_paragraph(&fields);
    deb822::write_field(&mut out, "Filename", &e.filename);
    deb822::write_field(&mut out, "Size", &e.size.to_string());
    deb822::write_field(&mut out, "MD5sum", &e.md5);
    deb822::write_field(&mut out, "SHA256", &e.sha256);
    Ok(out)
}

/// The `Packages` text for one architecture: every entry of that architecture and every
/// `Architecture: all` entry.
pub(super) fn packages_text(entries: &[Entry], arch: &str) -> Result<String> {
    let mut sorted: Vec<Entry> = entries
        .iter()
        .filter(|e| e.architecture == arch || e.architecture == "all")
        .cloned()
        .collect();
    sort_entries(&mut sorted);
    let mut out = String::new();
    for e in &sorted {
        out.push_str(&stanza(e)?);
        out.push('\n');
    }
    Ok(out)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    // No file name or mtime in the header, so identical indexes compress identically.
    let mut enc = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

fn xz(bytes: &[u8]) -> Result<Vec<u8>> {
    // Preset 1: indexes are rewritten on every add, and on a thousand-package index the
    // default preset 6 costs several times longer for a few percent smaller output.
    let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 1);
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

/// `Date` in the RFC 2822 form Debian archives use (always UTC).
fn release_date() -> Result<String> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] UTC"
    );
    Ok(time::OffsetDateTime::now_utc().format(&fmt)?)
}

fn release_text(config: &RepoConfig, files: &[Indexed]) -> Result<String> {
    let mut r = String::new();
    let mut field = |name: &str, value: &str| deb822::write_field(&mut r, name, value);
    field("Origin", &config.origin);
    field("Label", &config.label);
    field("Suite", &config.suite);
    field("Codename", &config.codename);
    field("Date", &release_date()?);
    field("Architectures", &config.architectures.join(" "));
    field("Components", &config.component);
    field("Description", &config.description);
    field("Acquire-By-Hash", "yes");
    // Multi-line fields: the value starts on the next line, one file per line.
    let list = |hash: fn(&Indexed) -> &str| {
        let mut v = String::new();
        for f in files {
            let _ = write!(v, "\n {} {:>16} {}", hash(f), f.size, f.name);
        }
        v
    };
    field("MD5Sum", &list(|f| &f.md5));
    field("SHA256", &list(|f| &f.sha256));
    Ok(r)
}

/// The index entries a `Release` text lists (with both hashes), by file name.
pub(super) fn release_files(text: &str) -> Vec<Indexed> {
    let Some(release) = deb822::paragraphs(text.as_bytes()).next() else {
        return Vec::new();
    };
    let lines = |name: &str| {
        let value = release.get(name).unwrap_or_default();
        let value = std::str::from_utf8(value).unwrap_or_default();
        value
            .lines()
            .filter_map(|l| {
                let parts: Vec<&str> = l.split_whitespace().collect();
                let [hash, size, name] = parts[..] else {
                    return None;
                };
                Some((hash, size, name))
            })
            .collect::<Vec<_>>()
    };
    let md5: HashMap<&str, &str> = lines("MD5Sum")
        .into_iter()
        .map(|(h, _, n)| (n, h))
        .collect();
    lines("SHA256")
        .into_iter()
        .filter_map(|(hash, size, name)| {
            Some(Indexed {
                name: name.to_owned(),
                size: size.parse().ok()?,
                md5: md5.get(name).map(|m| (*m).to_owned()).unwrap_or_default(),
                sha256: hash.to_owned(),
            })
        })
        .collect()
}

/// Where a suite's generations live.
pub(super) fn generations_dir(root: &Path, suite: &str) -> PathBuf {
    root.join("dists").join(GENERATIONS).join(suite)
}

/// The generation `dists/<suite>` points at, if it is one of ours.
pub(super) fn current_generation(root: &Path, suite: &str) -> Option<u64> {
    let link = fs::read_link(root.join("dists").join(suite)).ok()?;
    let name = link.file_name()?.to_str()?;
    let expected = Path::new(GENERATIONS).join(suite).join(name);
    if link != expected {
        return None;
    }
    name.parse().ok()
}

fn generation_name(n: u64) -> String {
    format!("{n:08}")
}

/// Every generation directory of a suite, ascending (half-written ones included).
pub(super) fn generations(root: &Path, suite: &str) -> Vec<u64> {
    let mut out: Vec<u64> = fs::read_dir(generations_dir(root, suite))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| d.file_name().to_str()?.parse().ok())
        .collect();
    out.sort_unstable();
    out
}

/// The generations clients may still be reading, newest (the current one) first.
pub(super) fn retained(root: &Path, suite: &str) -> Vec<u64> {
    let Some(current) = current_generation(root, suite) else {
        return Vec::new();
    };
    let dir = generations_dir(root, suite);
    let all: Vec<u64> = generations(root, suite)
        .into_iter()
        .filter(|&n| n <= current)
        .rev()
        .collect();
    let now = SystemTime::now();
    let mut keep = Vec::new();
    for (i, &n) in all.iter().enumerate() {
        if i == 0 || i <= KEEP_GENERATIONS {
            keep.push(n);
            continue;
        }
        if keep.len() >= KEEP_GENERATIONS_MAX {
            break;
        }
        // A generation stopped being current when its successor was made.
        let replaced = fs::metadata(dir.join(generation_name(all[i - 1])))
            .and_then(|m| m.modified())
            .ok();
        match replaced.and_then(|t| now.duration_since(t).ok()) {
            Some(age) if age < KEEP_RECENT => keep.push(n),
            _ => break,
        }
    }
    keep
}

/// The `Release` of generation `n`, if readable.
fn generation_release(root: &Path, suite: &str, n: u64) -> Option<String> {
    fs::read_to_string(
        generations_dir(root, suite)
            .join(generation_name(n))
            .join("Release"),
    )
    .ok()
}

/// Pool files named by the `Packages` indexes of every retained generation: those may still
/// be fetched by clients holding those generations' indexes.
pub(super) fn retained_pool_files(root: &Path, suite: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for n in retained(root, suite) {
        let gen = generations_dir(root, suite).join(generation_name(n));
        let Some(release) = generation_release(root, suite, n) else {
            continue;
        };
        for f in release_files(&release) {
            if !f.name.ends_with("/Packages") {
                continue;
            }
            let Ok(text) = fs::read_to_string(gen.join(&f.name)) else {
                continue;
            };
            for line in text.lines() {
                if let Some(name) = line.strip_prefix("Filename: ") {
                    out.insert(name.to_owned());
                }
            }
        }
    }
    out
}

/// Hard-link `from` to `to` (copying where links are not possible).
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
        set_readable(to)?;
    }
    Ok(())
}

/// Write a new file (0644) and flush it to disk.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f =
        fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    set_readable(path)
}

/// Point `dists/<suite>` at generation `n` with one atomic rename. A suite directory left
/// by an older py2deb is exchanged for the link atomically too, then removed.
fn switch(root: &Path, suite: &str, n: u64) -> Result<()> {
    let dists = root.join("dists");
    let target = Path::new(GENERATIONS).join(suite).join(generation_name(n));
    let tmp = dists.join(format!(".new-{suite}-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&target, &tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let link = dists.join(suite);
    let is_dir = fs::symlink_metadata(&link)
        .map(|m| m.is_dir())
        .unwrap_or(false);
    if is_dir {
        exchange(&tmp, &link)
            .with_context(|| format!("cannot replace {} by a link", link.display()))?;
        // `tmp` is now the old directory.
        fs::remove_dir_all(&tmp)
            .with_context(|| format!("cannot remove the old {}", tmp.display()))?;
    } else {
        fs::rename(&tmp, &link).with_context(|| format!("cannot switch {}", link.display()))?;
    }
    // Make the switch durable before anything that relies on it (pruning, the state file).
    let _ = crate::fsutil::sync_dir(&dists);
    Ok(())
}

/// Atomically exchange two paths (renameat2 RENAME_EXCHANGE); where the kernel or file
/// system cannot, fall back to two renames (a short window without the suite).
fn exchange(a: &Path, b: &Path) -> Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let aside = b.with_file_name(format!(".old-{}", std::process::id()));
    fs::rename(b, &aside)?;
    fs::rename(a, b)?;
    fs::rename(&aside, a)?;
    Ok(())
}

/// Publish indexes and `Release` for `entries` as a new generation and switch to it. Pool
/// files must already be in place. Without `force`, an architecture whose `Packages`
/// content did not change reuses the current generation's files (adding one `amd64`
/// package does not recompress `binary-arm64`).
pub(super) fn publish(
    root: &Path,
    config: &RepoConfig,
    entries: &[Entry],
    force: bool,
    reporter: &dyn Reporter,
) -> Result<()> {
    let suite = &config.suite;
    let gens = generations_dir(root, suite);
    let current = current_generation(root, suite);
    let n = generations(root, suite).last().copied().unwrap_or(0) + 1;
    let gen = gens.join(generation_name(n));
    let current_dir = current.map(|c| gens.join(generation_name(c)));
    let previous: Vec<Indexed> = if force {
        Vec::new()
    } else {
        current
            .and_then(|c| generation_release(root, suite, c))
            .map(|r| release_files(&r))
            .unwrap_or_default()
    };
    if gen.exists() {
        fs::remove_dir_all(&gen).with_context(|| format!("cannot remove {}", gen.display()))?;
    }
    let mut listed: Vec<Indexed> = Vec::new();
    // Architectures often share one index (only `all` packages): compress and hash once.
    let mut built: Vec<(String, Vec<Compressed>)> = Vec::new();
    for arch in &config.architectures {
        let base = format!("{}/binary-{arch}/Packages", config.component);
        let text = packages_text(entries, arch)?;
        let reused = current_dir
            .as_ref()
            .filter(|dir| fs::read(dir.join(&base)).ok().as_deref() == Some(text.as_bytes()))
            .and_then(|dir| {
                let forms: Vec<Indexed> = SUFFIXES
                    .iter()
                    .filter_map(|s| {
                        let name = format!("{base}{s}");
                        previous.iter().find(|p| p.name == name).cloned()
                    })
                    .collect();
                (forms.len() == SUFFIXES.len()).then_some((dir, forms))
            });
        if let Some((dir, forms)) = reused {
            for f in forms {
                link_or_copy(&dir.join(f.by_hash()), &gen.join(f.by_hash()))?;
                link_or_copy(&gen.join(f.by_hash()), &gen.join(&f.name))?;
                listed.push(f);
            }
            continue;
        }
        if !built.iter().any(|(t, _)| *t == text) {
            let plain = text.as_bytes();
            let mut forms = Vec::new();
            for (suffix, bytes) in SUFFIXES
                .iter()
                .zip([plain.to_vec(), gzip(plain)?, xz(plain)?])
            {
                let ix = Indexed::of(suffix.to_string(), &bytes);
                forms.push((bytes, ix));
            }
            built.push((text.clone(), forms));
        }
        let (_, forms) = built.iter().find(|(t, _)| *t == text).expect("just built");
        for (bytes, ix) in forms {
            let f = Indexed {
                name: format!("{base}{}", ix.name),
                ..ix.clone()
            };
            write_new(&gen.join(f.by_hash()), bytes)?;
            link_or_copy(&gen.join(f.by_hash()), &gen.join(&f.name))?;
            listed.push(f);
        }
    }
    failpoint("publish:after-packages");
    // Indexes of the generations clients may still hold, under their hashes.
    for old in retained(root, suite) {
        let old_dir = gens.join(generation_name(old));
        let Some(release) = generation_release(root, suite, old) else {
            continue;
        };
        for f in release_files(&release) {
            let rel = f.by_hash();
            let to = gen.join(&rel);
            // Only for index directories this generation still has.
            let index_dir = gen.join(f.name.rsplit_once('/').map_or("", |(d, _)| d));
            if to.exists() || !index_dir.is_dir() {
                continue;
            }
            let from = old_dir.join(&rel);
            if from.exists() {
                link_or_copy(&from, &to)?;
            }
        }
    }
    failpoint("publish:after-by-hash");
    let release = release_text(config, &listed)?;
    // Sign before writing anything that names this generation's signatures, so a signing
    // failure leaves no half-signed generation behind.
    let signatures = match &config.sign_key {
        Some(key) => Some((
            gpg::sign(key, release.as_bytes(), false)?,
            gpg::sign(key, release.as_bytes(), true)?,
        )),
        None => None,
    };
    write_new(&gen.join("Release"), release.as_bytes())?;
    failpoint("publish:after-release");
    if let Some((detached, clear)) = signatures {
        write_new(&gen.join("Release.gpg"), &detached)?;
        failpoint("publish:after-release-gpg");
        write_new(&gen.join("InRelease"), &clear)?;
        failpoint("publish:after-inrelease");
    }
    let _ = crate::fsutil::sync_dir(&gen);
    switch(root, suite, n)?;
    failpoint("publish:after-switch");
    // Generations no client can still be reading (and half-written ones from killed runs).
    let keep = retained(root, suite);
    for old in generations(root, suite) {
        if !keep.contains(&old) {
            let dir = gens.join(generation_name(old));
            if let Err(e) = fs::remove_dir_all(&dir) {
                reporter.warn(&format!("could not remove {}: {e}", dir.display()));
            }
        }
    }
    reporter.info(&format!(
        "published {} ({} package files)",
        root.join("dists").join(suite).display(),
        entries.len()
    ));
    Ok(())
}

const SUFFIXES: [&str; 3] = ["", ".gz", ".xz"];

/// One form of an index (plain, .gz, .xz) with its description; `name` holds the suffix.
type Compressed = (Vec<u8>, Indexed);

/// Remove a suite entirely (its link or old-style directory, and its generations).
pub(super) fn remove_suite(root: &Path, suite: &str) -> Result<()> {
    let link = root.join("dists").join(suite);
    match fs::symlink_metadata(&link) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(&link),
        Ok(_) => fs::remove_file(&link),
        Err(_) => Ok(()),
    }
    .with_context(|| format!("cannot remove old suite {}", link.display()))?;
    let gens = generations_dir(root, suite);
    if gens.exists() {
        fs::remove_dir_all(&gens)
            .with_context(|| format!("cannot remove old suite {}", gens.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_all_is_listed_everywhere() {
        let mk = |p: &str, a: &str| Entry {
            package: p.into(),
            version: "1".into(),
            architecture: a.into(),
            source: p.into(),
            filename: format!("pool/main/{}/{p}/{p}_1_{a}.deb", &p[..1]),
            size: 1,
            md5: "0".repeat(32),
            sha256: "1".repeat(64),
            control: format!("Package: {p}\nVersion: 1\nArchitecture: {a}\n"),
            record: None,
        };
        let e = vec![mk("bb", "amd64"), mk("aa", "all"), mk("cc", "arm64")];
        let t = packages_text(&e, "amd64").unwrap();
        assert!(t.starts_with("Package: aa\n"));
        assert!(t.contains("Package: bb\n") && !t.contains("Package: cc\n"));
        assert!(t.contains(&format!(
            "Filename: pool/main/a/aa/aa_1_all.deb\nSize: 1\nMD5sum: {}\nSHA256: {}\n\n",
            "0".repeat(32),
            "1".repeat(64)
        )));
    }

    #[test]
    fn recorded_paragraph_cannot_inject_a_stanza() {
        let e = Entry {
            package: "aa".into(),
            version: "1".into(),
            architecture: "all".into(),
            source: "aa".into(),
            filename: "pool/main/a/aa/aa_1_all.deb".into(),
            size: 1,
            md5: "m".into(),
            sha256: "s".into(),
            control: "Package: aa\nDescription: x\n \nPackage: evil\n".into(),
            record: None,
        };
        let err = packages_text(&[e], "amd64").unwrap_err().to_string();
        assert!(
            err.contains("blank continuation") && err.contains("repo remove"),
            "{err}"
        );
    }
}
