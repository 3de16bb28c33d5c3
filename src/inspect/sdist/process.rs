//! Running the build's child processes (venv, pip, hook runner): output appended to the
//! build log, each child in its own process group so that a timeout or an interrupt
//! stops everything it started (compilers included), and a deadline shared by all steps.

use crate::fsutil::LockMode;
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Process groups of the build steps running now, for [`kill_running_builds`].
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Scratch directories of the builds running now (`py2deb-sdist-*`), for
/// [`kill_running_builds`]: the interrupt handler exits the process, so their `TempDir`
/// destructors never run.
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Stop every build step still running and remove the builds' scratch directories (call
/// from the SIGINT/SIGTERM handler): the steps run in their own process groups, so the
/// terminal's Ctrl-C does not reach them.
pub fn kill_running_builds() {
    if let Ok(list) = RUNNING.lock() {
        for &pgid in list.iter() {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory
            // is involved.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
    if let Ok(list) = SCRATCH.lock() {
        for dir in list.iter() {
            // A killed step may still be closing its files; a second pass catches what
            // it created meanwhile.
            if std::fs::remove_dir_all(dir).is_err() && dir.exists() {
                std::thread::sleep(Duration::from_millis(100));
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// A build's scratch directory under `$TMPDIR`, removed when dropped and, on
/// SIGINT/SIGTERM, by [`kill_running_builds`].
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(prefix: &str) -> Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .with_context(|| {
                format!(
                    "creating a temporary build directory in {}; make it writable or point \
                     TMPDIR elsewhere",
                    std::env::temp_dir().display()
                )
            })?;
        SCRATCH.lock().unwrap().push(dir.path().to_owned());
        Ok(Scratch { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let path = self.dir.path().to_owned();
        SCRATCH.lock().unwrap().retain(|p| p != &path);
    }
}

/// How a step ended.
#[derive(Debug)]
pub enum Ended {
    Exited(ExitStatus),
    /// The deadline passed and the step's process group was killed.
    TimedOut,
}

/// Run `cmd` to completion or until `deadline`, appending its output to `log`.
pub fn run(cmd: &mut Command, log: &Path, deadline: Instant) -> Result<Ended> {
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening build log {}", log.display()))?;
    writeln!(out, "\n$ {}", describe(cmd))?;
    let err = out.try_clone()?;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run `{program}`"))?;
    let pgid = child.id() as i32;
    RUNNING.lock().unwrap().push(pgid);
    let kill_group = || {
        // SAFETY: as in kill_running_builds.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    };
    let mut pause = Duration::from_millis(5);
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(Ended::Exited(status)),
            Ok(None) => {}
            Err(e) => break Err(e).context("waiting for a build step"),
        }
        let now = Instant::now();
        if now >= deadline {
            kill_group();
            let _ = child.wait();
            break Ok(Ended::TimedOut);
        }
        // Short first pauses keep quick steps quick; longer ones keep polling cheap.
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(100));
    };
    // Anything the step left running in the background (a daemonized compiler, a
    // forgotten server) must not outlive it.
    kill_group();
    RUNNING.lock().unwrap().retain(|&p| p != pgid);
    ended
}

/// The command line as the log shows it.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let s = a.to_string_lossy();
            if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", s.replace('\'', "'\\''"))
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `n` lines of a log, for error messages.
pub fn tail(log: &Path, n: usize) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An exclusive lock on `path` (created if needed), held until the file is dropped:
/// serializes concurrent py2deb runs that would build the same cache entry.
pub fn lock(path: &Path) -> Result<File> {
    crate::fsutil::lock_path(path, LockMode::Exclusive)
}

/// Turn an exclusive [`lock`] into a shared one, so that other runs may use what it
/// protects while no one may rebuild it.
pub fn downgrade(f: &File) -> Result<()> {
    crate::fsutil::flock(f, LockMode::Shared, true).context("downgrading a cache lock")?;
    Ok(())
}

/// The effective user is root.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}
