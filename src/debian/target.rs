//! The distribution release a package is built for: its Python, glibc and architecture.
//!
//! `host` reads this machine (`/etc/os-release`, `dpkg --print-architecture`,
//! `/usr/bin/python3`, glibc); named targets carry the facts of their release. A
//! [`TargetSpec`] is what the user asked for, checked without running anything; only
//! [`TargetSpec::resolve`] reads the machine, so commands that do not build never do.

use anyhow::{bail, Context, Result};
use std::fmt;
use std::path::Path;
use std::process::Command;

/// The facts of a release that decide which wheels fit and how dependencies are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Codename (`bookworm`), also for `host` once detected.
    pub name: String,
    /// `debian` or `ubuntu`.
    pub vendor: String,
    /// The default `python3` of the release, e.g. (3, 11).
    pub python: (u32, u32),
    /// Full version of that Python (for `python_full_version` markers).
    pub python_full: String,
    /// glibc of the release, e.g. (2, 36).
    pub glibc: (u32, u32),
    /// Debian architecture (`amd64`).
    pub arch: String,
    /// Linux kernel machine name (`x86_64`), as wheel platform tags and markers spell it.
    pub machine: String,
    /// Default archive mirror.
    pub mirror: String,
}

/// One known release: (codename, vendor, python, python full version, glibc, mirror).
type Release = (
    &'static str,
    &'static str,
    (u32, u32),
    &'static str,
    (u32, u32),
    &'static str,
);

/// Known releases.
const RELEASES: &[Release] = &[
    (
        "bullseye",
        "debian",
        (3, 9),
        "3.9.2",
        (2, 31),
        "http://deb.debian.org/debian",
    ),
    (
        "bookworm",
        "debian",
        (3, 11),
        "3.11.2",
        (2, 36),
        "http://deb.debian.org/debian",
    ),
    (
        "trixie",
        "debian",
        (3, 13),
        "3.13.5",
        (2, 41),
        "http://deb.debian.org/debian",
    ),
    (
        "sid",
        "debian",
        (3, 13),
        "3.13.9",
        (2, 42),
        "http://deb.debian.org/debian",
    ),
    (
        "jammy",
        "ubuntu",
        (3, 10),
        "3.10.12",
        (2, 35),
        "http://archive.ubuntu.com/ubuntu",
    ),
    (
        "noble",
        "ubuntu",
        (3, 12),
        "3.12.3",
        (2, 39),
        "http://archive.ubuntu.com/ubuntu",
    ),
];

/// Debian architecture → kernel machine name.
pub fn machine_for_arch(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "i386" => "i686",
        "armhf" => "armv7l",
        "ppc64el" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        _ => return None,
    })
}

/// `--target` and `--arch` as given: checked, not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// `host` or a known codename.
    pub name: String,
    /// Debian architecture asked for, if any.
    pub arch: Option<String>,
}

impl TargetSpec {
    /// Check the names without touching the machine: `host` or a known release, and a
    /// known architecture.
    pub fn new(name: &str, arch: Option<&str>) -> Result<TargetSpec> {
        if name != "host" && !RELEASES.iter().any(|r| r.0 == name) {
            bail!(
                "unknown target `{name}`: use `host` or one of {}",
                Target::known_names().join(", ")
            );
        }
        if let Some(a) = arch {
            if machine_for_arch(a).is_none() {
                bail!(
                    "unknown architecture `{a}`: use a Debian architecture such as amd64 or arm64"
                );
            }
        }
        Ok(TargetSpec {
            name: name.to_owned(),
            arch: arch.map(str::to_owned),
        })
    }

    pub fn is_host(&self) -> bool {
        self.name == "host"
    }

    /// The facts of the release; for `host` this runs dpkg, ldd and /usr/bin/python3.
    pub fn resolve(&self) -> Result<Target> {
        Target::from_option(&self.name, self.arch.as_deref())
    }

    /// [`TargetSpec::resolve`], remembering the host's probes (dpkg's architecture, the
    /// interpreter's version) under `cache_root` for as long as the probed programs stay
    /// the same files.
    pub fn resolve_cached(&self, cache_root: &Path) -> Result<Target> {
        Target::from_option_in(&self.name, self.arch.as_deref(), Some(cache_root))
    }
}

impl Target {
    /// Names accepted by `--target` besides `host`.
    pub fn known_names() -> Vec<&'static str> {
        RELEASES.iter().map(|r| r.0).collect()
    }

    /// A named release for the given Debian architecture.
    pub fn named(name: &str, arch: &str) -> Result<Target> {
        let Some(r) = RELEASES.iter().find(|r| r.0 == name) else {
            bail!(
                "unknown target `{name}`: use `host` or one of {}",
                Self::known_names().join(", ")
            );
        };
        let machine = machine_for_arch(arch).with_context(|| {
            format!(
                "unknown architecture `{arch}`: use a Debian architecture such as amd64 or arm64"
            )
        })?;
        Ok(Target {
            name: r.0.into(),
            vendor: r.1.into(),
            python: r.2,
            python_full: r.3.into(),
            glibc: r.4,
            arch: arch.into(),
            machine: machine.into(),
            mirror: r.5.into(),
        })
    }

    /// Parse `--target`: `host` or a known codename.
    pub fn from_option(name: &str, arch: Option<&str>) -> Result<Target> {
        Target::from_option_in(name, arch, None)
    }

    fn from_option_in(name: &str, arch: Option<&str>, memo: Option<&Path>) -> Result<Target> {
        if name == "host" {
            let mut t = Self::host_in(memo)?;
            if let Some(a) = arch {
                if a != t.arch {
                    bail!("--arch {a} does not match the host ({}); name a target release to build for another architecture", t.arch);
                }
                t.arch = a.into();
            }
            Ok(t)
        } else {
            let arch = match arch {
                Some(a) => a.to_owned(),
                None => probe(memo, "dpkg", host_arch).unwrap_or_else(|_| "amd64".into()),
            };
            Self::named(name, &arch)
        }
    }

    /// Detect this machine's distribution. The Python is `/usr/bin/python3` (the one dpkg
    /// packages use), not whatever `python3` comes first on PATH.
    pub fn host() -> Result<Target> {
        Target::host_in(None)
    }

    fn host_in(memo: Option<&Path>) -> Result<Target> {
        let os_release = std::fs::read_to_string("/etc/os-release")
            .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
            .context("reading /etc/os-release: py2deb needs a Debian or Ubuntu host, or a named --target")?;
        let field = |key: &str| {
            os_release.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|v| v.strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_owned())
            })
        };
        let vendor = field("ID").unwrap_or_else(|| "debian".into());
        let codename = field("VERSION_CODENAME").unwrap_or_else(|| "unknown".into());
        let arch = probe(memo, "dpkg", host_arch)?;
        let machine = machine_for_arch(&arch).unwrap_or("unknown").to_owned();
        let python_full = probe(memo, PYTHON, host_python)?;
        let python = parse_two(&python_full)
            .with_context(|| format!("unexpected Python version `{python_full}`"))?;
        let glibc = host_glibc()?;
        let mirror = RELEASES
            .iter()
            .find(|r| r.0 == codename)
            .map(|r| r.5.to_owned())
            .unwrap_or_else(|| {
                if vendor == "ubuntu" {
                    "http://archive.ubuntu.com/ubuntu"
                } else {
                    "http://deb.debian.org/debian"
                }
                .into()
            });
        Ok(Target {
            name: codename,
            vendor,
            python,
            python_full,
            glibc,
            arch,
            machine,
            mirror,
        })
    }

    /// `3.11`
    pub fn python_version(&self) -> String {
        format!("{}.{}", self.python.0, self.python.1)
    }
}

/// The interpreter Debian's Python packages are for (not whatever `python3` is first on
/// PATH).
const PYTHON: &str = "/usr/bin/python3";

/// The cache bucket of remembered host probes.
const PROBES_BUCKET: &str = "host-v1";

/// Run `run` for `program`, or reuse what it gave last time: each probe costs a process
/// start (Python's is most of a small build's time), and its answer only changes when the
/// program does. The memo line is keyed by the program's resolved path, device, inode, size
/// and change time, and is used only if the answer still looks like one.
fn probe(memo: Option<&Path>, program: &str, run: fn() -> Result<String>) -> Result<String> {
    let Some(root) = memo else {
        return run();
    };
    let Some(key) = program_identity(program) else {
        return run();
    };
    let file = root.join(PROBES_BUCKET).join("probes.tsv");
    let old = std::fs::read_to_string(&file).unwrap_or_default();
    let name = format!("{program}\t{key}\t");
    if let Some(v) = old.lines().find_map(|l| l.strip_prefix(&name)) {
        if !v.is_empty()
            && v.len() <= 32
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b))
        {
            return Ok(v.to_owned());
        }
    }
    let value = run()?;
    let mut text: String = old
        .lines()
        .filter(|l| !l.starts_with(&format!("{program}\t")))
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!("{name}{value}\n"));
    // Best effort: a cache that cannot be written only costs the next run a probe.
    if std::fs::create_dir_all(file.parent().unwrap_or(root)).is_ok() {
        let _ = crate::fsutil::write_atomic(&file, text.as_bytes());
    }
    Ok(value)
}

/// What identifies the program file a probe ran: its resolved path and inode facts.
fn program_identity(program: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let path = if program.contains('/') {
        std::fs::canonicalize(program).ok()?
    } else {
        let dirs = std::env::var_os("PATH")?;
        std::env::split_paths(&dirs)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
            .and_then(|p| std::fs::canonicalize(p).ok())?
    };
    let m = std::fs::metadata(&path).ok()?;
    let shown = path.to_str()?;
    if shown.contains(['\t', '\n']) {
        return None;
    }
    Some(format!(
        "{shown}:{}:{}:{}:{}.{}",
        m.dev(),
        m.ino(),
        m.size(),
        m.ctime(),
        m.ctime_nsec()
    ))
}

fn host_python() -> Result<String> {
    // -I -S: no site, no user paths, no environment: nothing but the interpreter's
    // own version, at a fraction of a full start-up.
    let py = Command::new(PYTHON)
        .args([
            "-I",
            "-S",
            "-c",
            "import sys; print(sys.version.split()[0])",
        ])
        .output()
        .context("running /usr/bin/python3: install it with `apt install python3`")?;
    if !py.status.success() {
        bail!("/usr/bin/python3 failed to report its version: install python3 with `apt install python3`");
    }
    Ok(String::from_utf8_lossy(&py.stdout).trim().to_owned())
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, Python {}, glibc {}.{})",
            self.name,
            self.arch,
            self.python_version(),
            self.glibc.0,
            self.glibc.1
        )
    }
}

fn parse_two(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split('.');
    Some((
        it.next()?.parse().ok()?,
        it.next()?
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()?,
    ))
}

fn host_arch() -> Result<String> {
    let out = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .context(
        "running `dpkg --print-architecture`: the host target needs dpkg; name a --target instead",
    )?;
    let arch = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // A failing or silent dpkg must not pass for an architecture named ``.
    if !out.status.success() || arch.is_empty() {
        bail!("`dpkg --print-architecture` failed; the host target needs a working dpkg, or name a --target and --arch");
    }
    Ok(arch)
}

fn host_glibc() -> Result<(u32, u32)> {
    // This program runs on the host, so the C library it is linked against is the
    // host's: asking it directly saves starting `ldd` (a shell script).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: gnu_get_libc_version returns a pointer to a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
        if let Some(two) = v.to_str().ok().and_then(parse_two) {
            return Ok(two);
        }
    }
    let out = Command::new("ldd")
        .arg("--version")
        .output()
        .context("running `ldd --version` to learn the host's glibc")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    first
        .split_whitespace()
        .last()
        .and_then(parse_two)
        .with_context(|| format!("could not read the glibc version from `{first}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn counted() -> Result<String> {
        RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok("7.1".into())
    }

    #[test]
    fn probes_are_remembered_per_program_file() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("tool");
        std::fs::write(&program, "one").unwrap();
        let program = program.to_str().unwrap().to_owned();
        let memo = dir.path().join("cache");
        assert_eq!(probe(Some(&memo), &program, counted).unwrap(), "7.1");
        assert_eq!(probe(Some(&memo), &program, counted).unwrap(), "7.1");
        assert_eq!(RUNS.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Another file at the same path (an upgrade): asked again.
        std::fs::remove_file(&program).unwrap();
        std::fs::write(&program, "a longer second version").unwrap();
        probe(Some(&memo), &program, counted).unwrap();
        assert_eq!(RUNS.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A memo line that does not look like an answer is not used.
        let file = memo.join(PROBES_BUCKET).join("probes.tsv");
        let text = std::fs::read_to_string(&file).unwrap();
        let (line, _) = text.rsplit_once('\t').unwrap();
        std::fs::write(&file, format!("{line}\t$(rm -rf /)\n")).unwrap();
        assert_eq!(probe(Some(&memo), &program, counted).unwrap(), "7.1");
        assert_eq!(RUNS.load(std::sync::atomic::Ordering::SeqCst), 3);
        // Without a cache, every call runs the probe.
        probe(None, &program, counted).unwrap();
        assert_eq!(RUNS.load(std::sync::atomic::Ordering::SeqCst), 4);
    }

    #[test]
    fn host_glibc_agrees_with_ldd() {
        let Ok(out) = Command::new("ldd").arg("--version").output() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "ldd is missing"
            );
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text.lines().next().unwrap_or_default();
        let from_ldd = first.split_whitespace().last().and_then(parse_two);
        assert_eq!(Some(host_glibc().unwrap()), from_ldd, "{first}");
    }

    #[test]
    fn bookworm_facts() {
        let t = Target::named("bookworm", "amd64").unwrap();
        assert_eq!(t.python, (3, 11));
        assert_eq!(t.glibc, (2, 36));
        assert_eq!(t.machine, "x86_64");
    }

    #[test]
    fn unknown_target_lists_choices() {
        let e = Target::named("hamm", "amd64").unwrap_err().to_string();
        assert!(e.contains("hamm") && e.contains("bookworm"), "{e}");
    }

    #[test]
    fn target_specs_are_checked_without_resolving() {
        let s = TargetSpec::new("host", None).unwrap();
        assert!(s.is_host());
        let s = TargetSpec::new("trixie", Some("arm64")).unwrap();
        assert_eq!(s.resolve().unwrap().machine, "aarch64");
        let e = TargetSpec::new("hamm", None).unwrap_err().to_string();
        assert!(e.contains("`hamm`") && e.contains("bookworm"), "{e}");
        let e = TargetSpec::new("bookworm", Some("vax"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`vax`") && e.contains("amd64"), "{e}");
    }

    #[test]
    fn parses_versions() {
        assert_eq!(parse_two("3.11.2"), Some((3, 11)));
        assert_eq!(parse_two("2.36"), Some((2, 36)));
    }
}
