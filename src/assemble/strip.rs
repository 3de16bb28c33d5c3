//! Strip ELF files as dh_strip does (debhelper's dh_strip(1)), with binutils' `strip`:
//! shared objects with `--remove-section=.comment --remove-section=.note
//! --strip-unneeded`, programs with `--remove-section=.comment --remove-section=.note`.
//! Extension modules, the libraries auditwheel vendors into `*.libs/` and ELF programs in
//! `/usr/bin` are all treated (lintian `unstripped-binary-or-object`).
//!
//! `strip` is deterministic (the same input gives the same bytes), so packages stay
//! byte-reproducible. The files are stripped in the run's staging directory while the
//! package is prepared, several at once, in the same read of each file that finds its
//! shared-library needs ([`compiled`]); the package is then written from the copies.

use crate::assemble::elf::{self, Kind};
use crate::assemble::shlibs::{candidate, ElfFile};
use crate::debian::deb::DebSpec;
use anyhow::{anyhow, Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// dh_strip's options for a shared object.
pub const SHARED_ARGS: &[&str] = &[
    "--remove-section=.comment",
    "--remove-section=.note",
    "--strip-unneeded",
];
/// dh_strip's options for a program.
pub const EXECUTABLE_ARGS: &[&str] = &["--remove-section=.comment", "--remove-section=.note"];

/// Stripped copies of a package's ELF files, by source key.
#[derive(Default)]
pub struct Stripped {
    _dir: Option<tempfile::TempDir>,
    files: HashMap<usize, PathBuf>,
}

impl Stripped {
    /// The stripped bytes for `key`, if it is one of the stripped files.
    pub fn take(&self, key: usize) -> Option<Result<Vec<u8>>> {
        let path = self.files.get(&key)?;
        Some(std::fs::read(path).with_context(|| format!("reading {}", path.display())))
    }

    /// How many files were stripped.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// binutils' `strip` on PATH, or an error naming the package to install.
pub fn strip_tool() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("strip"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "the package has ELF files to strip, but `strip` is not installed: install \
                 binutils (apt install binutils), or keep the symbols with --no-strip"
            )
        })
}

/// The compiled code of a package, found in one read of each candidate file: what each
/// ELF file needs (for [`crate::assemble::shlibs`]) and, when stripping, the stripped
/// copies the package is written from.
#[derive(Default)]
pub struct Compiled {
    pub files: Vec<ElfFile>,
    pub stripped: Stripped,
}

/// Read each candidate file of `spec` (see [`candidate`]) once with `read`, parse the ELF
/// ones, and with `strip` (a scratch directory and a thread count) strip copies of them
/// there, several at once. The dynamic section and symbol versions that shared-library
/// dependencies come from are what stripping keeps, so the original bytes serve both.
pub fn compiled(
    spec: &DebSpec,
    read: &mut dyn FnMut(usize) -> Result<Vec<u8>>,
    strip: Option<(&Path, usize)>,
) -> Result<Compiled> {
    let mut dir: Option<tempfile::TempDir> = None;
    let mut files: Vec<ElfFile> = Vec::new();
    let mut jobs: Vec<(usize, &'static [&'static str], PathBuf, String)> = Vec::new();
    for entry in &spec.data {
        let Some(key) = candidate(entry) else {
            continue;
        };
        let data = read(key)?;
        if !elf::is_elf(&data) {
            continue;
        }
        let needs = elf::parse(&data).with_context(|| {
            format!(
                "/{} looks like an ELF file but cannot be read; the wheel is damaged",
                entry.path
            )
        })?;
        let args = match needs.kind {
            Kind::SharedObject => SHARED_ARGS,
            Kind::Executable => EXECUTABLE_ARGS,
            Kind::Other => continue,
        };
        files.push(ElfFile {
            path: entry.path.clone(),
            key,
            needs,
        });
        let Some((scratch, _)) = strip else {
            continue;
        };
        if dir.is_none() {
            dir = Some(
                tempfile::Builder::new()
                    .prefix(".strip-")
                    .tempdir_in(scratch)
                    .with_context(|| {
                        format!("cannot create a directory in {}", scratch.display())
                    })?,
            );
        }
        let file = dir
            .as_ref()
            .map(|d| d.path().join(jobs.len().to_string()))
            .unwrap_or_default();
        std::fs::write(&file, &data).with_context(|| format!("writing {}", file.display()))?;
        jobs.push((key, args, file, entry.path.clone()));
    }
    let threads = strip.map_or(1, |(_, t)| t);
    Ok(Compiled {
        files,
        stripped: run_strip(jobs, dir, threads)?,
    })
}

/// Strip each job's file in place, `threads` at a time.
fn run_strip(
    jobs: Vec<(usize, &'static [&'static str], PathBuf, String)>,
    dir: Option<tempfile::TempDir>,
    threads: usize,
) -> Result<Stripped> {
    if jobs.is_empty() {
        return Ok(Stripped::default());
    }
    let tool = strip_tool()?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failure: std::sync::Mutex<Option<anyhow::Error>> = std::sync::Mutex::new(None);
    let worker = || loop {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let Some((_, args, file, installed)) = jobs.get(i) else {
            break;
        };
        let result = Command::new(&tool).args(*args).arg(file).output();
        let problem = match result {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(format!(
                "{}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Some(e.to_string()),
        };
        if let Some(p) = problem {
            let mut first = failure.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert_with(|| {
                anyhow!(
                    "strip {} failed on /{installed}: {}; use --no-strip to keep the file as the \
                     wheel has it",
                    args.join(" "),
                    crate::report::escape_untrusted(&p)
                )
            });
            break;
        }
    };
    let threads = threads.clamp(1, jobs.len());
    if threads == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(worker);
            }
        });
    }
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    Ok(Stripped {
        files: jobs.into_iter().map(|(k, _, f, _)| (k, f)).collect(),
        _dir: dir,
    })
}
