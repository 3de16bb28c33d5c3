//! Writing: every prepared package compressed into the run's staging directory, several
//! at once (`PY2DEB_JOBS`), the cores shared by size; the first failure stops the rest.

use super::prepare::Prepared;
use super::stage::package_mode;
use super::BuildConfig;
use crate::assemble;
use crate::debian::deb;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How many packages are written at once: `PY2DEB_JOBS` when set (1 writes them one
/// after another), else one per core.
pub(super) fn write_jobs() -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match std::env::var("PY2DEB_JOBS") {
        Err(std::env::VarError::NotPresent) => Ok(cores),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!(
                "PY2DEB_JOBS=`{}` is not a number of packages to write at once: use a whole \
                 number of 1 or more, or unset it",
                v.escape_debug()
            ),
        },
        Err(std::env::VarError::NotUnicode(v)) => bail!(
            "PY2DEB_JOBS={v:?} is not a number of packages to write at once: use a whole \
             number of 1 or more, or unset it"
        ),
    }
}

/// A package stopped because another one failed; never the error a run reports.
#[derive(Debug, thiserror::Error)]
#[error("stopped because another package of the run failed")]
struct Cancelled;

/// Write every distinct package of `groups` into `staging`, up to `jobs` at once, and
/// return their sizes by output path.
///
/// Each package goes to its own file and its bytes depend only on its spec (the
/// compressors' output does not depend on their thread count, see `debian::deb`), so
/// the order and the parallelism change nothing in what is written. The cores are
/// shared by size (see below), and the largest packages start first, so that a big one
/// does not run alone at the end. The first error stops the others (they notice at
/// their next file) and is the one returned; the caller's staging directory takes
/// whatever was written with it.
pub(super) fn write_all(
    cfg: &BuildConfig,
    staging: &Path,
    groups: &mut [Vec<Prepared>],
    jobs: usize,
) -> Result<BTreeMap<PathBuf, u64>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&mut Prepared> = groups
        .iter_mut()
        .flatten()
        .filter(|p| seen.insert(p.built.path.clone()))
        .collect();
    todo.sort_by_key(|p| std::cmp::Reverse(p.assembly.spec.size_hint));
    let count = todo.len();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = jobs.clamp(1, count.max(1));
    let next = AtomicUsize::new(0);
    let running = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let hints: Vec<u64> = todo.iter().map(|p| p.assembly.spec.size_hint).collect();
    let slots: Vec<Mutex<&mut Prepared>> = todo.into_iter().map(Mutex::new).collect();
    let worker = || loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some(slot) = slots.get(i) else { break };
        let mut p = slot.lock().unwrap_or_else(|e| e.into_inner());
        // Packages writing now, or about to: those still waiting will start as soon as
        // a writer is free.
        let in_flight = (running.fetch_add(1, Ordering::SeqCst) + 1).max(jobs.min(count - i));
        // An even share of the cores, or, if more, a share in proportion to the bytes
        // left to write, rounded up: the largest package, the one the run waits for,
        // gets the threads its xz blocks can use (the writer caps them by blocks), while
        // the small ones beside it take one each. The total stays near the core count.
        let even = (cores / in_flight).max(1);
        let rest: u64 = hints[i..].iter().sum();
        let threads = match hints[i] {
            0 => even,
            hint => even.max((cores as u64 * hint).div_ceil(rest.max(1)) as usize),
        };
        let result = write_one(cfg, staging, &mut p, threads, &stop);
        running.fetch_sub(1, Ordering::SeqCst);
        if let Err(e) = result {
            stop.store(true, Ordering::SeqCst);
            let cancelled = e.chain().any(|c| c.is::<Cancelled>());
            let mut first = failure.lock().unwrap_or_else(|e| e.into_inner());
            if first.is_none() && !cancelled {
                *first = Some(e);
            }
        }
    };
    if jobs == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(worker);
            }
        });
    }
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    Ok(slots
        .into_iter()
        .map(|slot| {
            let p = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            (p.built.path.clone(), p.built.size)
        })
        .collect())
}

/// Write a prepared package into the run's staging directory with up to `threads`
/// compression threads; [`super::build_each`] moves it into place once every package has been
/// written. Once `stop` is set, it gives up at its next file with [`Cancelled`].
fn write_one(
    cfg: &BuildConfig,
    staging: &Path,
    p: &mut Prepared,
    threads: usize,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<()> {
    let Prepared {
        wheel,
        bundled,
        assembly,
        built,
        stripped,
    } = p;
    let staged = staging.join(&assembly.filename);
    let result = (|| -> Result<u64> {
        let file = std::fs::File::create(&staged)?;
        let mut out = std::io::BufWriter::new(&file);
        deb::write_deb_with_cores(
            &assembly.spec,
            &mut |key| {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(Cancelled.into());
                }
                if let Some(data) = stripped.take(key) {
                    return data;
                }
                let data = assemble::read_source(wheel, bundled, key)?;
                Ok(assemble::rewrite_shebang(data))
            },
            &mut out,
            threads,
        )?;
        use std::io::Write;
        out.flush()?;
        drop(out);
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(package_mode()))?;
        file.sync_all()?;
        Ok(file.metadata()?.len())
    })();
    let size = match result {
        Ok(size) => size,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            if deb::is_no_space(&e) && e.downcast_ref::<deb::TempDirFull>().is_none() {
                return Err(e.context(format!(
                    "the output directory {} is full (ENOSPC, no space left on device) while \
                     {} is written; free space there or choose another with -o",
                    cfg.output_dir.display(),
                    assembly.filename
                )));
            }
            return Err(e.context(format!("building {}", assembly.filename)));
        }
    };
    built.size = size;
    Ok(())
}

/// Hand memory freed by the resolve stage back to the system before the compressor
/// allocates its own buffers, so peak memory is the larger of the two phases rather than
/// their sum (glibc keeps freed heap memory otherwise).
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused heap pages to the kernel; it touches no
    // live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}
