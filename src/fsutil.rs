//! The two file-system mechanisms every stage shares: replacing a file atomically
//! (rename(2) of a synced temporary file in the same directory, then a sync of the
//! directory, as POSIX requires for the rename itself to survive a crash) and advisory
//! locks (flock(2), shared or exclusive, waiting or not).
//!
//! The lock is `fs4`'s flock(2) rather than std's `File::lock`, which needs Rust 1.89
//! while the crate builds with 1.85 (trixie's compiler); the calls are fully qualified so
//! that they keep meaning `fs4` once std's methods of the same names are in reach. flock
//! locks belong to the open file description, so two holders in one process (each opening the file)
//! exclude each other just as two processes do, and the kernel drops the lock when its
//! holder dies, so a killed run never leaves a lock behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};

/// Write `bytes` to `path` so that a reader (or a crash) sees either the old file or the
/// whole new one: a temporary file in the same directory (created with it if needed),
/// synced, made world-readable (0644: indexes are served to apt's `_apt` user and web
/// servers), renamed over `path`, and the directory synced so the rename is durable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".new-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    set_mode(tmp.path(), 0o644)?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    sync_dir(dir)
}

/// Make a rename or a new entry in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync the directory {}", dir.display()))
}

/// Set a file's permission bits.
pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

/// Who else may hold a lock at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Readers: any number of shared holders, no exclusive one.
    Shared,
    /// One writer alone.
    Exclusive,
}

/// Take (or convert to) `mode` on `file`. With `wait`, block until granted and return
/// `Ok(true)`; without, return `Ok(false)` at once when another holder is in the way.
/// A held lock converts in place (exclusive to shared lets readers in).
pub fn flock(file: &File, mode: LockMode, wait: bool) -> io::Result<bool> {
    use fs4::{FileExt, TryLockError};
    let attempt = match (mode, wait) {
        (_, true) => loop {
            let r = match mode {
                LockMode::Shared => FileExt::lock_shared(file),
                LockMode::Exclusive => FileExt::lock(file),
            };
            // A signal (the interrupt handler's, say) ends a wait without the lock.
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r.map(|()| true),
            }
        },
        (LockMode::Shared, false) => FileExt::try_lock_shared(file),
        (LockMode::Exclusive, false) => FileExt::try_lock(file),
    };
    match attempt {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Open (creating, never truncating) the lock file at `path`.
pub fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))
}

/// Open the lock file at `path` and wait for `mode` on it; the lock lasts as long as the
/// returned file stays open.
pub fn lock_path(path: &Path, mode: LockMode) -> Result<File> {
    let file = open_lock_file(path)?;
    flock(&file, mode, true).with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/f");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1, "a temporary file was left behind");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }

    #[test]
    fn locks_exclude_and_share_as_flock_does() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let a = lock_path(&p, LockMode::Exclusive).unwrap();
        let b = open_lock_file(&p).unwrap();
        assert!(!flock(&b, LockMode::Shared, false).unwrap());
        assert!(!flock(&b, LockMode::Exclusive, false).unwrap());
        // Downgrading lets readers in but still keeps writers out.
        assert!(flock(&a, LockMode::Shared, true).unwrap());
        assert!(flock(&b, LockMode::Shared, false).unwrap());
        let c = open_lock_file(&p).unwrap();
        assert!(!flock(&c, LockMode::Exclusive, false).unwrap());
        drop((a, b));
        assert!(flock(&c, LockMode::Exclusive, false).unwrap());
    }
}
