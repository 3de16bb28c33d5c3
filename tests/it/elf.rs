//! Compiled code as dh_strip and dpkg-shlibdeps treat it: an extension module built with
//! `cc` inside the test (needing libz and libm, with versioned symbols), stripped in the
//! package, byte-reproducibly, and its `DT_NEEDED` libraries resolved to the target's
//! packages through a fixture Contents.

use crate::support::{prerequisite, WheelBuilder};
use py2deb::assemble::elf::{self, Kind};
use py2deb::assemble::shlibs::{self, ElfFile};
use py2deb::debian::archive::contents::PathIndexBuilder;
use py2deb::debian::archive::Archive;
use py2deb::report::Recorder;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const MODULE_C: &str = r#"
extern const char *zlibVersion(void);
extern unsigned long crc32_z(unsigned long, const unsigned char *, unsigned long);
extern double cos(double);
extern void *reallocarray(void *, unsigned long, unsigned long);
int py2deb_fixture(double x) {
    const char *v = zlibVersion();
    return (int)cos(x) + (int)crc32_z(0, (const unsigned char *)v, 1)
        + (reallocarray(0, 1, 1) != 0);
}
"#;

const PROGRAM_C: &str = "int main(void) { return 0; }\n";

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compile `source` into `out` with `cc`, with debugging symbols to strip.
fn cc(dir: &Path, source: &str, out: &str, args: &[&str]) -> Option<PathBuf> {
    let c = dir.join(format!("{out}.c"));
    std::fs::write(&c, source).unwrap();
    let path = dir.join(out);
    let o = Command::new("cc")
        .args(["-g", "-O1", "-Wl,--no-as-needed"])
        .args(args)
        .arg("-o")
        .arg(&path)
        .arg(&c)
        .output()
        .ok()?;
    assert!(
        o.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(path)
}

/// The libz soname's path for the linker (no -dev package needed).
fn libz() -> Option<String> {
    let o = Command::new("cc")
        .arg("-print-file-name=libz.so.1")
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    Path::new(&p).is_absolute().then_some(p)
}

/// The fixture extension module, or `None` (after `prerequisite`) without cc and libz.
fn module(dir: &Path) -> Option<Vec<u8>> {
    let z = libz();
    if !prerequisite(
        have("cc") && z.is_some(),
        "cc and libz.so.1 to build an ELF fixture",
    ) {
        return None;
    }
    let z = z.unwrap();
    let so = cc(dir, MODULE_C, "fast.so", &["-shared", "-fPIC", &z, "-lm"])?;
    Some(std::fs::read(so).unwrap())
}

const PACKAGES: &str = "Package: libc6\nVersion: 2.36-9+deb12u7\nArchitecture: amd64\n\n\
Package: zlib1g\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\n\n\
Package: zlib1g-dev\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\n\n";

const CONTENTS: &str = "\
lib/x86_64-linux-gnu/libc.so.6                      libs/libc6
lib/x86_64-linux-gnu/libm.so.6                      libs/libc6
lib/x86_64-linux-gnu/libz.so.1                      libs/zlib1g
usr/lib/x86_64-linux-gnu/libz.so                    libdevel/zlib1g-dev
";

fn fixture_index(contents: &str) -> py2deb::debian::archive::contents::PathIndex {
    let mut b = PathIndexBuilder::new();
    for line in contents.lines() {
        let (path, pkgs) = line.rsplit_once(' ').unwrap();
        b.add(path.trim(), pkgs);
    }
    b.finish("fixture")
}

#[test]
fn elf_needed_and_symbol_versions_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let Some(bytes) = module(dir.path()) else {
        return;
    };
    let needs = elf::parse(&bytes).unwrap();
    assert_eq!(needs.kind, Kind::SharedObject);
    for lib in ["libz.so.1", "libm.so.6", "libc.so.6"] {
        assert!(needs.needed.iter().any(|n| n == lib), "{:?}", needs.needed);
    }
    assert!(
        needs.versions["libz.so.1"]
            .iter()
            .any(|v| v == "ZLIB_1.2.9"),
        "{:?}",
        needs.versions
    );
    assert!(
        needs.versions["libc.so.6"]
            .iter()
            .any(|v| v == "GLIBC_2.26"),
        "{:?}",
        needs.versions
    );
    let prog = cc(dir.path(), PROGRAM_C, "prog", &[]).unwrap();
    assert_eq!(
        elf::parse(&std::fs::read(prog).unwrap()).unwrap().kind,
        Kind::Executable
    );
}

fn elf_file(bytes: &[u8]) -> ElfFile {
    ElfFile {
        path: "usr/lib/python3/dist-packages/fast.so".into(),
        key: 0,
        needs: elf::parse(bytes).unwrap(),
    }
}

#[test]
fn elf_dt_needed_becomes_depends_with_symbol_versions() {
    let dir = tempfile::tempdir().unwrap();
    let Some(bytes) = module(dir.path()) else {
        return;
    };
    let archive = Archive::from_packages_text(PACKAGES);
    let index = fixture_index(CONTENTS);
    let rec = Recorder::default();
    let deps = shlibs::depends(
        &[elf_file(&bytes)],
        &BTreeSet::new(),
        Some(&index),
        &archive,
        "bookworm",
        &rec,
    )
    .unwrap();
    // libm and libc are both libc6: one relation, at the highest node (reallocarray).
    assert_eq!(deps.to_string(), "libc6 (>= 2.26), zlib1g (>= 1:1.2.9)");
}

#[test]
fn elf_vendored_library_needs_no_package() {
    let dir = tempfile::tempdir().unwrap();
    let Some(bytes) = module(dir.path()) else {
        return;
    };
    let archive = Archive::from_packages_text(PACKAGES);
    let index = fixture_index(CONTENTS);
    let rec = Recorder::default();
    // auditwheel put libz.so.1 into fast.libs/: the package ships it.
    let shipped: BTreeSet<&str> = ["libz.so.1"].into_iter().collect();
    let deps = shlibs::depends(
        &[elf_file(&bytes)],
        &shipped,
        Some(&index),
        &archive,
        "bookworm",
        &rec,
    )
    .unwrap();
    assert_eq!(deps.to_string(), "libc6 (>= 2.26)");
}

#[test]
fn elf_library_the_target_lacks_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let Some(bytes) = module(dir.path()) else {
        return;
    };
    let archive = Archive::from_packages_text(PACKAGES);
    let index = fixture_index("lib/x86_64-linux-gnu/libc.so.6 libs/libc6\n");
    let rec = Recorder::default();
    let err = shlibs::depends(
        &[elf_file(&bytes)],
        &BTreeSet::new(),
        Some(&index),
        &archive,
        "bookworm",
        &rec,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("libz.so.1"), "{err}");
    assert!(
        err.contains("/usr/lib/python3/dist-packages/fast.so"),
        "{err}"
    );
}

#[test]
fn elf_without_contents_reports_skipped_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let Some(bytes) = module(dir.path()) else {
        return;
    };
    let archive = Archive::from_packages_text(PACKAGES);
    let rec = Recorder::default();
    let deps = shlibs::depends(
        &[elf_file(&bytes)],
        &BTreeSet::new(),
        None,
        &archive,
        "bookworm",
        &rec,
    )
    .unwrap();
    assert!(deps.is_empty());
    assert!(rec
        .warnings
        .lock()
        .unwrap()
        .iter()
        .any(|w| w.contains("not computed")));
}

/// Build the wheel with the module, a vendored library and an ELF program into `out`.
fn build(dir: &Path, wheel: &Path, out: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(out);
    let lists = dir.join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("mirror_debian_dists_bookworm_main_binary-amd64_Packages"),
        format!("Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n{PACKAGES}"),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args(["--target", "bookworm", "--arch", "amd64", "--apt-lists"])
        .arg(&lists)
        .arg("-o")
        .arg(&out)
        .args(["--maintainer", "T <t@example.org>", "--offline"])
        .args(extra)
        .arg(wheel)
        .env("PY2DEB_CACHE_DIR", dir.join("cache"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "py2deb failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap()
}

fn extract(deb: &Path, to: &Path) {
    let o = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(to)
        .output()
        .unwrap();
    assert!(o.status.success());
}

#[test]
fn elf_files_are_stripped_reproducibly_and_kept_with_no_strip() {
    let dir = tempfile::tempdir().unwrap();
    let Some(bytes) = module(dir.path()) else {
        return;
    };
    if !prerequisite(
        have("strip") && have("dpkg-deb"),
        "binutils' strip and dpkg-deb",
    ) {
        return;
    }
    let prog = std::fs::read(cc(dir.path(), PROGRAM_C, "prog", &[]).unwrap()).unwrap();
    assert!(
        bytes.windows(7).any(|w| w == b".symtab"),
        "the fixture has symbols"
    );
    let wheel = WheelBuilder::new("fastmod", "1.0")
        .tag("cp311-cp311-manylinux_2_17_x86_64")
        .file("fastmod/__init__.py", "")
        .file("fastmod/_speed.cpython-311-x86_64-linux-gnu.so", &bytes)
        .file("fastmod.libs/libhelper-1a2b3c4d.so.1", &bytes)
        .file_mode("fastmod-1.0.data/scripts/fasttool", &prog, 0o755)
        .metadata("Summary: Compiled fixture")
        .write(dir.path());
    let a = build(dir.path(), &wheel, "a", &[]);
    let b = build(dir.path(), &wheel, "b", &[]);
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "two builds must be byte-identical"
    );
    let x = dir.path().join("x");
    extract(&a, &x);
    let dist = x.join("usr/lib/python3/dist-packages");
    for f in [
        dist.join("fastmod/_speed.cpython-311-x86_64-linux-gnu.so"),
        dist.join("fastmod.libs/libhelper-1a2b3c4d.so.1"),
        x.join("usr/bin/fasttool"),
    ] {
        let data = std::fs::read(&f).unwrap();
        assert!(elf::is_elf(&data), "{} is still ELF", f.display());
        assert!(
            !data.windows(7).any(|w| w == b".symtab" || w == b".debug_"),
            "{} was not stripped",
            f.display()
        );
        assert!(
            !data.windows(8).any(|w| w == b".comment"),
            "{}",
            f.display()
        );
    }
    // The shared object still links as before.
    let stripped =
        std::fs::read(dist.join("fastmod/_speed.cpython-311-x86_64-linux-gnu.so")).unwrap();
    assert_eq!(
        elf::parse(&stripped).unwrap().needed,
        elf::parse(&bytes).unwrap().needed
    );

    let keep = build(dir.path(), &wheel, "keep", &["--no-strip"]);
    let y = dir.path().join("y");
    extract(&keep, &y);
    let kept = std::fs::read(
        y.join("usr/lib/python3/dist-packages/fastmod/_speed.cpython-311-x86_64-linux-gnu.so"),
    )
    .unwrap();
    assert_eq!(kept, bytes, "--no-strip keeps the file as the wheel has it");
}

#[test]
fn hostile_truncated_elf_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut junk = b"\x7fELF\x02\x01\x01".to_vec();
    junk.resize(80, 0xff);
    let wheel = WheelBuilder::new("badmod", "1.0")
        .tag("cp311-cp311-manylinux_2_17_x86_64")
        .file("badmod/_x.cpython-311-x86_64-linux-gnu.so", &junk)
        .write(dir.path());
    let lists = dir.path().join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("mirror_debian_dists_bookworm_main_binary-amd64_Packages"),
        "Package: python3\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_py2deb"))
        .args([
            "--target",
            "bookworm",
            "--arch",
            "amd64",
            "--offline",
            "--apt-lists",
        ])
        .arg(&lists)
        .arg("-o")
        .arg(&out)
        .args(["--maintainer", "T <t@example.org>"])
        .arg(&wheel)
        .env("PY2DEB_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    assert!(
        stderr.contains("/usr/lib/python3/dist-packages/badmod/_x.cpython-311-x86_64-linux-gnu.so"),
        "{stderr}"
    );
    assert!(stderr.contains("damaged"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "deb"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing is written");
}
