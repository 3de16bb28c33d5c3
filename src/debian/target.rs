//! The distribution release a package is built for: its Python, glibc and architecture.
//!
//! `host` reads this machine (`/etc/os-release`, `dpkg --print-architecture`,
//! `/usr/bin/python3`, glibc); named targets carry the facts of their release. A
//! [`TargetSpec`] is what the user asked for, checked without running anything; only
//! [`TargetSpec::resolve`] reads the machine, so commands that do not build never do.

use anyhow::{bail, Context, Result};
use std::fmt;
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
        if name == "host" {
            let mut t = Self::host()?;
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
                None => host_arch().unwrap_or_else(|_| "amd64".into()),
            };
            Self::named(name, &arch)
        }
    }

    /// Detect this machine's distribution. The Python is `/usr/bin/python3` (the one dpkg
    /// packages use), not whatever `python3` comes first on PATH.
    pub fn host() -> Result<Target> {
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
        let arch = host_arch()?;
        let machine = machine_for_arch(&arch).unwrap_or("unknown").to_owned();
        // -I -S: no site, no user paths, no environment: nothing but the interpreter's
        // own version, at a fraction of a full start-up.
        let py = Command::new("/usr/bin/python3")
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
        let python_full = String::from_utf8_lossy(&py.stdout).trim().to_owned();
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
