//! Writing the client-visible indexes: `Packages` (plain, gzip, xz) per architecture and the
//! `Release`/`InRelease`/`Release.gpg` files, following the Debian repository format
//! (<https://wiki.debian.org/DebianRepository/Format>).
//!
//! Order matters for clients fetching while we publish: indexes are renamed into place
//! before `Release`, and `InRelease` (which apt prefers) is replaced last.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use md5::Md5;
use sha2::{Digest, Sha256};

use super::{gpg, sort_entries, write_temp, Entry, RepoConfig};
use crate::report::Reporter;

/// One index file as listed in `Release`.
struct Indexed {
    /// Path relative to `dists/<suite>/`.
    name: String,
    size: usize,
    md5: String,
    sha256: String,
}

impl Indexed {
    fn of(name: String, bytes: &[u8]) -> Self {
        Indexed {
            name,
            size: bytes.len(),
            md5: hex::encode(Md5::digest(bytes)),
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }
}

/// The `Packages` text for one architecture: every entry of that architecture and every
/// `Architecture: all` entry, control paragraph first (verbatim), then the fields the
/// archive adds.
pub(super) fn packages_text(entries: &[Entry], arch: &str) -> String {
    let mut sorted: Vec<Entry> = entries
        .iter()
        .filter(|e| e.architecture == arch || e.architecture == "all")
        .cloned()
        .collect();
    sort_entries(&mut sorted);
    let mut out = String::new();
    for e in &sorted {
        out.push_str(&e.control);
        let _ = write!(
            out,
            "Filename: {}\nSize: {}\nMD5sum: {}\nSHA256: {}\n\n",
            e.filename, e.size, e.md5, e.sha256
        );
    }
    out
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
    let _ = writeln!(r, "Origin: {}", config.origin);
    let _ = writeln!(r, "Label: {}", config.label);
    let _ = writeln!(r, "Suite: {}", config.suite);
    let _ = writeln!(r, "Codename: {}", config.codename);
    let _ = writeln!(r, "Date: {}", release_date()?);
    let _ = writeln!(r, "Architectures: {}", config.architectures.join(" "));
    let _ = writeln!(r, "Components: {}", config.component);
    let _ = writeln!(r, "Description: {}", config.description);
    r.push_str("MD5Sum:\n");
    for f in files {
        let _ = writeln!(r, " {} {:>16} {}", f.md5, f.size, f.name);
    }
    r.push_str("SHA256:\n");
    for f in files {
        let _ = writeln!(r, " {} {:>16} {}", f.sha256, f.size, f.name);
    }
    Ok(r)
}

/// Index entries of the currently published `Release`, by file name, so unchanged indexes
/// need neither recompressing nor rehashing.
fn previous_release(dist: &Path) -> HashMap<String, Indexed> {
    let Ok(text) = fs::read_to_string(dist.join("Release")) else {
        return HashMap::new();
    };
    let mut md5: HashMap<&str, &str> = HashMap::new();
    let mut out = HashMap::new();
    let mut section = "";
    for line in text.lines() {
        if !line.starts_with(' ') {
            section = line.split(':').next().unwrap_or("");
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [hash, size, name] = parts[..] else {
            continue;
        };
        match section {
            "MD5Sum" => {
                md5.insert(name, hash);
            }
            "SHA256" => {
                if let (Some(m), Ok(size)) = (md5.get(name), size.parse()) {
                    out.insert(
                        name.to_owned(),
                        Indexed {
                            name: name.to_owned(),
                            size,
                            md5: (*m).to_owned(),
                            sha256: hash.to_owned(),
                        },
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// When the published `Packages` already holds exactly `text` and the previous `Release`
/// describes all three forms at their current sizes, reuse that description.
fn unchanged(
    dist: &Path,
    base: &str,
    text: &str,
    previous: &mut HashMap<String, Indexed>,
) -> Option<Vec<Indexed>> {
    if fs::read(dist.join(base)).ok()?.as_slice() != text.as_bytes() {
        return None;
    }
    let mut found = Vec::new();
    for suffix in SUFFIXES {
        let name = format!("{base}{suffix}");
        let size = fs::metadata(dist.join(&name)).ok()?.len();
        let entry = previous.get(&name)?;
        if entry.size as u64 != size {
            return None;
        }
        found.push(name);
    }
    Some(
        found
            .into_iter()
            .map(|n| previous.remove(&n).expect("checked above"))
            .collect(),
    )
}

/// One form of an index (plain, .gz, .xz) with its description; `name` holds the suffix.
type Compressed = (Vec<u8>, Indexed);

const SUFFIXES: [&str; 3] = ["", ".gz", ".xz"];

/// Publish indexes and `Release` for `entries`. Pool files must already be in place.
/// Without `force`, an architecture whose `Packages` content did not change is left as
/// published (adding one `amd64` package does not rewrite `binary-arm64`).
pub(super) fn publish(
    root: &Path,
    config: &RepoConfig,
    entries: &[Entry],
    force: bool,
    reporter: &dyn Reporter,
) -> Result<()> {
    let dist = root.join("dists").join(&config.suite);
    let mut previous = if force {
        HashMap::new()
    } else {
        previous_release(&dist)
    };
    let mut listed = Vec::new();
    // Stage everything first: if compression or signing fails, nothing visible changed.
    let mut staged = Vec::new();
    // Architectures often share one index (only `all` packages): compress and hash once.
    let mut built: Vec<(String, Vec<Compressed>)> = Vec::new();
    for arch in &config.architectures {
        let base = format!("{}/binary-{arch}/Packages", config.component);
        let text = packages_text(entries, arch);
        if let Some(same) = unchanged(&dist, &base, &text, &mut previous) {
            listed.extend(same);
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
            let name = format!("{base}{}", ix.name);
            listed.push(Indexed {
                name: name.clone(),
                size: ix.size,
                md5: ix.md5.clone(),
                sha256: ix.sha256.clone(),
            });
            staged.push((dist.join(&name), write_temp(&dist.join(&name), bytes)?));
        }
    }
    let release = release_text(config, &listed)?;
    let release_path = dist.join("Release");
    staged.push((
        release_path.clone(),
        write_temp(&release_path, release.as_bytes())?,
    ));
    let inrelease_path = dist.join("InRelease");
    let detached_path = dist.join("Release.gpg");
    let mut inrelease = None;
    if let Some(key) = &config.sign_key {
        staged.push((
            detached_path.clone(),
            write_temp(&detached_path, &gpg::sign(key, release.as_bytes(), false)?)?,
        ));
        inrelease = Some(write_temp(
            &inrelease_path,
            &gpg::sign(key, release.as_bytes(), true)?,
        )?);
    } else {
        // A signature left over from when the repository was signed would no longer match.
        for stale in [&inrelease_path, &detached_path] {
            if stale.exists() {
                fs::remove_file(stale)
                    .with_context(|| format!("cannot remove stale {}", stale.display()))?;
            }
        }
    }
    for (path, tmp) in staged {
        tmp.persist(&path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
    }
    if let Some(tmp) = inrelease {
        tmp.persist(&inrelease_path)
            .with_context(|| format!("cannot replace {}", inrelease_path.display()))?;
    }
    reporter.info(&format!(
        "published {} ({} package files)",
        dist.display(),
        entries.len()
    ));
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
            filename: format!("pool/main/{p}.deb"),
            size: 1,
            md5: "m".into(),
            sha256: "s".into(),
            control: format!("Package: {p}\nVersion: 1\nArchitecture: {a}\n"),
            record: None,
        };
        let e = vec![mk("b", "amd64"), mk("a", "all"), mk("c", "arm64")];
        let t = packages_text(&e, "amd64");
        assert!(t.starts_with("Package: a\n"));
        assert!(t.contains("Package: b\n") && !t.contains("Package: c\n"));
        assert!(t.contains("Filename: pool/main/a.deb\nSize: 1\nMD5sum: m\nSHA256: s\n\n"));
    }
}
