//! All-or-nothing output: a locked staging directory inside the output directory per
//! run, renamed into place only when every package was written, and the cleanup of what
//! a killed run left behind (and of what the interrupt handler must remove).

use crate::report::Reporter;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Staging directories of running builds, removed by the interrupt handler so that a
/// Ctrl-C never leaves a half-written package in the output directory.
pub static PARTIAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Remove every partial output (called on SIGINT/SIGTERM).
pub fn remove_partial_outputs() {
    if let Ok(list) = PARTIAL.lock() {
        for p in list.iter() {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(p);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Prefix of the staging directories inside the output directory.
const STAGING_PREFIX: &str = ".py2deb-staging-";
/// The lock file inside a staging directory, held for as long as its run lives.
const STAGING_LOCK: &str = ".lock";
/// Age after which an unlocked leftover (a partial file of an older py2deb, a staging
/// directory without its lock) is considered abandoned.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(5 * 60);
/// A staging directory is created a moment before its lock is taken; one younger than
/// this is never taken for abandoned.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Where one run writes its packages before they are moved into the output directory:
/// a directory inside it (so the final rename stays on one file system), locked while
/// the run lives so that a later run can tell an abandoned one from a running one.
pub(super) struct Staging {
    dir: tempfile::TempDir,
    _lock: std::fs::File,
}

impl Staging {
    pub(super) fn new(output_dir: &Path) -> Result<Staging> {
        let dir = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(output_dir)
            .with_context(|| {
                format!(
                    "cannot create a staging directory in the output directory {}: choose \
                     another with -o",
                    output_dir.display()
                )
            })?;
        let lock = std::fs::File::create(dir.path().join(STAGING_LOCK)).with_context(|| {
            format!("cannot create {}", dir.path().join(STAGING_LOCK).display())
        })?;
        if !try_lock(&lock)? {
            bail!("{} is locked by another process", dir.path().display());
        }
        PARTIAL.lock().unwrap().push(dir.path().to_owned());
        Ok(Staging { dir, _lock: lock })
    }

    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Move every written package (`outputs`, their final paths) from the staging
    /// directory into the output directory.
    pub(super) fn commit<'p>(
        &self,
        outputs: impl IntoIterator<Item = &'p PathBuf>,
        reporter: &dyn Reporter,
    ) -> Result<()> {
        for path in outputs {
            let staged = self.path().join(path.file_name().unwrap_or_default());
            std::fs::rename(&staged, path).map_err(|e| {
                let why = if path.is_dir() {
                    format!(
                        "{} exists and is a directory; remove it or choose another -o",
                        path.display()
                    )
                } else {
                    format!("{e}")
                };
                anyhow::anyhow!(
                    "cannot move {} into the output directory as {}: {why}",
                    staged.display(),
                    path.display()
                )
            })?;
            reporter.info(&format!("wrote {}", path.display()));
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let path = self.dir.path().to_owned();
        PARTIAL.lock().unwrap().retain(|p| p != &path);
    }
}

/// Take an exclusive lock on `file` without waiting; false if another process holds it.
fn try_lock(file: &std::fs::File) -> Result<bool> {
    crate::fsutil::flock(file, crate::fsutil::LockMode::Exclusive, false)
        .context("locking a staging directory")
}

/// `.NAME.deb.XXXXXX.partial`: the temporary file older py2deb versions wrote next to the
/// package.
fn is_legacy_partial(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".partial") && name.contains(".deb.")
}

/// Remove what killed runs (SIGKILL, a crash, a power cut) left in the output directory:
/// staging directories no live process holds the lock of, and old partial files. Only
/// py2deb's own names are touched; anything a running build holds is left alone.
pub fn clean_stale_partials(dir: &Path, reporter: &dyn Reporter) {
    let Ok(list) = std::fs::read_dir(dir) else {
        return;
    };
    let old = |meta: &std::fs::Metadata| {
        meta.modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER)
    };
    let settled = |meta: &std::fs::Metadata| {
        meta.modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > LOCK_GRACE)
    };
    for entry in list.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let stale = if name.starts_with(STAGING_PREFIX) && meta.is_dir() {
            match std::fs::File::open(path.join(STAGING_LOCK)) {
                // Getting the lock proves its owner is gone, unless the directory is so
                // new that its owner may not have taken the lock yet.
                Ok(lock) => try_lock(&lock).unwrap_or(false) && settled(&meta),
                Err(_) => old(&meta),
            }
        } else if is_legacy_partial(&name) && meta.is_file() {
            std::fs::File::open(&path)
                .ok()
                .is_some_and(|f| try_lock(&f).unwrap_or(false))
                && old(&meta)
        } else {
            continue;
        };
        if !stale {
            continue;
        }
        let removed = if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => reporter.info(&format!(
                "removed {}, left behind by an interrupted py2deb run",
                path.display()
            )),
            Err(e) => reporter.warn(&format!(
                "cannot remove {}, left behind by an interrupted py2deb run: {e}",
                path.display()
            )),
        }
    }
}

/// The process's umask, from /proc (reading it with umask(2) would change it briefly for
/// every thread).
fn current_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Mode of a written package: what `dpkg-deb --build` gives, 0666 less the umask.
pub(super) fn package_mode() -> u32 {
    0o666 & !current_umask()
}

/// Make sure the output directory exists and is writable before any download.
pub fn check_output_dir(dir: &Path) -> Result<()> {
    // `-o FILE` is a mistake worth naming: the OS would only say "File exists".
    let mut probe = Some(dir);
    while let Some(p) = probe {
        if let Ok(meta) = std::fs::metadata(p) {
            if !meta.is_dir() {
                if p == dir {
                    bail!(
                        "-o {}: this is a file, not a directory; -o names the output \
                         directory (created if missing) — give a directory, or move the \
                         file away",
                        dir.display()
                    );
                }
                bail!(
                    "-o {}: cannot create the output directory because {} is a file, not a \
                     directory; choose another directory with -o",
                    dir.display(),
                    p.display()
                );
            }
            break;
        }
        probe = p.parent().filter(|q| !q.as_os_str().is_empty());
    }
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create output directory {}: choose another with -o",
            dir.display()
        )
    })?;
    tempfile::Builder::new()
        .prefix(".py2deb-probe")
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "cannot write to output directory {}: choose another with -o",
                dir.display()
            )
        })?;
    Ok(())
}
