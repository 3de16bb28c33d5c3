//! Property tests of the parsers that read untrusted bytes: the wheel zip reader, the
//! sdist tar and zip unpacker, METADATA and entry_points.txt. Random and mutated inputs,
//! a bounded number of cases: never a panic, never a path outside the destination, and
//! whatever is accepted satisfies the checks later stages rely on.

use crate::support::{RawZip, WheelBuilder};
use proptest::prelude::*;
use proptest::test_runner::Config;
use py2deb::inspect::sdist::unpack;
use py2deb::inspect::wheel::{Limits, Wheel};
use py2deb::python::metadata::{is_unsafe_char, program_name_problem, EntryPoints, Metadata};
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

fn config(cases: u32) -> Config {
    Config {
        cases: crate::support::prop_cases(cases),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Small limits, so that a mutation that inflates sizes is refused quickly.
fn small_limits() -> Limits {
    Limits {
        max_total: 4 << 20,
        max_entry: 1 << 20,
        max_entries: 64,
        max_ratio: 250,
    }
}

/// A mutation of `base`: byte overwrites, then an optional truncation.
fn mutate(base: &[u8], flips: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for &(at, value) in flips {
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = value;
        }
    }
    if let Some(c) = cut {
        let len = bytes.len();
        bytes.truncate(c % (len + 1));
    }
    bytes
}

fn flips() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>()), 0..8)
}

/// Bytes that look like metadata lines often enough to get past the first checks.
fn texty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Name: demo\n".to_owned()),
        Just("Version: 1.0\n".to_owned()),
        Just("Metadata-Version: 2.1\n".to_owned()),
        Just("Summary: ".to_owned()),
        Just("Home-page: http://x\n".to_owned()),
        Just("Requires-Dist: ".to_owned()),
        Just("; python_version ".to_owned()),
        Just("== \"3.11\"".to_owned()),
        Just("Description: ".to_owned()),
        Just("        |".to_owned()),
        Just("[console_scripts]\n".to_owned()),
        Just(" = mod:func\n".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\u{85}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\u{202e}".to_owned()),
        Just(":".to_owned()),
        Just("=".to_owned()),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn prop_metadata_parser_never_panics_and_keeps_fields_single_line(text in texty()) {
        if let Ok(m) = Metadata::parse(&text) {
            let single = [
                Some(&m.name),
                m.summary.as_ref(),
                m.home_page.as_ref(),
                m.author.as_ref(),
                m.author_email.as_ref(),
                m.maintainer.as_ref(),
                m.maintainer_email.as_ref(),
                m.license_expression.as_ref(),
                m.description_content_type.as_ref(),
            ];
            for value in single.into_iter().flatten() {
                prop_assert!(
                    !value.contains('\n') && !value.chars().any(is_unsafe_char),
                    "{value:?} from {text:?}"
                );
            }
            for free in [m.description.as_ref(), m.license.as_ref()].into_iter().flatten() {
                prop_assert!(
                    !free.chars().any(|c| c != '\n' && c != '\x0c' && is_unsafe_char(c)),
                    "{free:?}"
                );
            }
            prop_assert!(pep440_rs::Version::from_str(&m.version.to_string()).is_ok());
        }
    }

    #[test]
    fn prop_entry_points_parser_never_panics_and_names_are_safe(text in texty()) {
        if let Ok(ep) = EntryPoints::parse(&text) {
            for e in ep.console_scripts.iter().chain(&ep.gui_scripts) {
                prop_assert!(program_name_problem(&e.name).is_none(), "{:?}", e.name);
            }
        }
    }

    #[test]
    fn prop_entry_point_names_from_any_string(name in any::<String>()) {
        let text = format!("[console_scripts]\n{name} = mod:func\n");
        if let Ok(ep) = EntryPoints::parse(&text) {
            for e in &ep.console_scripts {
                prop_assert!(program_name_problem(&e.name).is_none());
                prop_assert!(!e.name.starts_with('-') && e.name.len() <= 100);
            }
        }
    }
}

fn base_wheel() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        WheelBuilder::new("demo", "1.0")
            .file("demo/__init__.py", "x = 1\n")
            .file("demo/data.txt", "hello ".repeat(50))
            .file_mode("demo-1.0.data/scripts/demo-run", "#!python\n", 0o755)
            .entry_points("[console_scripts]\ndemo = demo:main\n")
            .to_bytes()
    })
}

/// Open `bytes` as a wheel and read every entry; Ok entries must be clean relative paths.
fn exercise_wheel(dir: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = dir.join("demo-1.0-py3-none-any.whl");
    std::fs::write(&path, bytes).unwrap();
    let limits = small_limits();
    let version = pep440_rs::Version::from_str("1.0").unwrap();
    if let Ok(mut wheel) = Wheel::open(&path, "demo", &version, limits.clone()) {
        let mut total = 0u64;
        for e in wheel.entries.clone() {
            prop_assert!(!e.name.starts_with('/') && !e.path.starts_with('/'));
            prop_assert!(
                e.path
                    .split('/')
                    .all(|c| !c.is_empty() && c != "." && c != ".."),
                "{:?}",
                e.path
            );
            if let Ok(data) = wheel.read(e.index) {
                prop_assert!(data.len() as u64 <= limits.max_entry);
                total += data.len() as u64;
            }
        }
        prop_assert!(total <= limits.max_total);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn prop_wheel_reader_survives_mutations(flips in flips(), cut in proptest::option::of(any::<usize>())) {
        let dir = tempfile::tempdir().unwrap();
        exercise_wheel(dir.path(), &mutate(base_wheel(), &flips, cut))?;
    }

    #[test]
    fn prop_wheel_reader_survives_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let dir = tempfile::tempdir().unwrap();
        // Random bytes behind a valid end-of-central-directory record point the reader
        // at garbage.
        let mut b = bytes.clone();
        b.extend_from_slice(b"PK\x05\x06\0\0\0\0\x02\0\x02\0");
        b.extend_from_slice(&(bytes.len().min(90) as u32).to_le_bytes());
        b.extend_from_slice(&((bytes.len() / 3) as u32).to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        exercise_wheel(dir.path(), &bytes)?;
        exercise_wheel(dir.path(), &b)?;
    }

    #[test]
    fn prop_wheel_reader_hostile_names(names in prop::collection::vec("[a-z./\\\\$`;]{1,12}", 1..5)) {
        let dir = tempfile::tempdir().unwrap();
        let mut zip = RawZip::new();
        for n in &names {
            zip = zip.file(&format!("demo/{n}"), "x");
        }
        zip = zip.file("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n");
        exercise_wheel(dir.path(), &zip.to_bytes())?;
    }
}

/// Every path under `dir`, with symlinks not followed; none may point outside `root`.
fn assert_contained(dir: &Path, root: &Path) -> Result<(), TestCaseError> {
    let Ok(list) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in list.flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            let resolved = path.parent().unwrap().join(&target);
            let canon = std::fs::canonicalize(&resolved).unwrap_or(resolved);
            prop_assert!(
                canon.starts_with(root) && !target.is_absolute(),
                "{} -> {}",
                path.display(),
                target.display()
            );
        } else if meta.is_dir() {
            assert_contained(&path, root)?;
        }
    }
    Ok(())
}

fn base_tar() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, kind: tar::EntryType, data: &[u8], link: Option<&str>| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(1_600_000_000);
            h.set_entry_type(kind);
            if let Some(l) = link {
                h.set_link_name(l).unwrap();
            }
            h.set_path(name).unwrap();
            h.set_cksum();
            b.append(&h, data).unwrap();
        };
        add("demo-1.0/", tar::EntryType::Directory, b"", None);
        add(
            "demo-1.0/setup.py",
            tar::EntryType::Regular,
            b"print(1)\n",
            None,
        );
        add(
            "demo-1.0/pkg/a.py",
            tar::EntryType::Regular,
            b"x = 1\n",
            None,
        );
        add(
            "demo-1.0/link",
            tar::EntryType::Symlink,
            b"",
            Some("pkg/a.py"),
        );
        add(
            "demo-1.0/PKG-INFO",
            tar::EntryType::Regular,
            b"Name: demo\n",
            None,
        );
        b.into_inner().unwrap()
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn exercise_sdist(file_name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join(file_name);
    std::fs::write(&archive, bytes).unwrap();
    let dest = tmp.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    // A file next to the destination that an escape would overwrite.
    let canary = tmp.path().join("canary");
    std::fs::write(&canary, "untouched").unwrap();
    let result = unpack::unpack(&archive, &dest, &small_limits());
    prop_assert_eq!(std::fs::read_to_string(&canary).unwrap(), "untouched");
    let outside: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "dest" && n != "canary" && n != file_name)
        .collect();
    prop_assert!(outside.is_empty(), "written outside dest: {outside:?}");
    let root = std::fs::canonicalize(&dest).unwrap();
    assert_contained(&dest, &root)?;
    if let Ok(u) = result {
        prop_assert!(u.root.starts_with(&dest));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn prop_sdist_tar_survives_mutations(flips in flips(), cut in proptest::option::of(any::<usize>())) {
        exercise_sdist("demo-1.0.tar.gz", &gzip(&mutate(base_tar(), &flips, cut)))?;
    }

    #[test]
    fn prop_sdist_tar_hostile_names(
        names in prop::collection::vec("(demo-1\\.0/)?(\\.\\./|/|[a-z]{1,3}/){0,3}[a-z.]{1,6}", 1..5),
        links in prop::collection::vec("(\\.\\./|/|[a-z]{1,3}/){0,3}[a-z.]{0,6}", 0..3),
    ) {
        // Raw GNU headers, so that names the tar crate would refuse are written as given.
        let mut out = Vec::new();
        let mut header = |name: &str, kind: u8, link: &str, data: &[u8]| {
            let mut h = [0u8; 512];
            h[..name.len().min(100)].copy_from_slice(&name.as_bytes()[..name.len().min(100)]);
            h[100..108].copy_from_slice(b"0000644\0");
            h[108..116].copy_from_slice(b"0000000\0");
            h[116..124].copy_from_slice(b"0000000\0");
            h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
            h[136..148].copy_from_slice(b"13000000000\0");
            h[156] = kind;
            h[157..157 + link.len().min(100)].copy_from_slice(&link.as_bytes()[..link.len().min(100)]);
            h[257..265].copy_from_slice(b"ustar  \0");
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
            h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        };
        for n in &names {
            header(n, b'0', "", b"data\n");
        }
        for (i, l) in links.iter().enumerate() {
            header(&format!("demo-1.0/l{i}"), b'2', l, b"");
            header(&format!("demo-1.0/l{i}/x"), b'0', "", b"through the link\n");
            header(&format!("demo-1.0/h{i}"), b'1', l, b"");
        }
        out.extend_from_slice(&[0u8; 1024]);
        exercise_sdist("demo-1.0.tar.gz", &gzip(&out))?;
    }

    #[test]
    fn prop_sdist_zip_survives_mutations_and_hostile_names(
        names in prop::collection::vec("(demo-1\\.0/)?(\\.\\./|/|[a-z]{1,3}/){0,3}[a-z.]{1,6}", 1..4),
        flips in flips(),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut zip = RawZip::new().file("demo-1.0/setup.py", "print(1)\n");
        for n in &names {
            zip = zip.file(n, "x");
        }
        zip = zip.symlink("demo-1.0/up", "../../etc");
        let bytes = zip.to_bytes();
        exercise_sdist("demo-1.0.zip", &bytes)?;
        exercise_sdist("demo-1.0.zip", &mutate(&bytes, &flips, cut))?;
    }
}

/// The unmutated inputs are accepted, so the properties above are checked on archives
/// the readers get far into, not only on ones refused at the first byte.
#[test]
fn prop_bases_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo-1.0-py3-none-any.whl");
    std::fs::write(&path, base_wheel()).unwrap();
    let version = pep440_rs::Version::from_str("1.0").unwrap();
    let mut wheel = Wheel::open(&path, "demo", &version, small_limits()).unwrap();
    for e in wheel.entries.clone() {
        wheel.read(e.index).unwrap();
    }
    let archive = dir.path().join("demo-1.0.tar.gz");
    std::fs::write(&archive, gzip(base_tar())).unwrap();
    let dest = dir.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let u = unpack::unpack(&archive, &dest, &small_limits()).unwrap();
    assert!(u.root.join("pkg/a.py").is_file());
    assert!(Metadata::parse("Name: demo\nVersion: 1.0\nSummary: x\n").is_ok());
    assert!(EntryPoints::parse("[console_scripts]\ndemo = mod:func\n").is_ok());
}
