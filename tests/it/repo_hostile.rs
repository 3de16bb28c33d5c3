//! The repository against hostile packages and settings: `.deb` files written byte by byte
//! here (ar + control.tar.gz by hand, so any field can be crafted), path escapes, stanza
//! injection, oversized control data, injected Release fields, stale leftovers, and
//! `repo check`.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use py2deb::repo::{Incoming, InitOptions, Repo};
use py2deb::report::Silent;

/// A valid control paragraph for `name` 1.0, with `extra` appended verbatim.
pub(crate) fn control(name: &str, version: &str, extra: &str) -> String {
    format!(
        "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: T <t@example.invalid>\n\
         Description: crafted package\n long text\n .\n more\n{extra}"
    )
}

/// Write a `.deb` by hand: debian-binary, control.tar.gz holding `./control` (and first a
/// zero-filled `./filler` of `filler` bytes when given), data.tar.gz with one file.
pub(crate) fn craft_deb(path: &Path, control: &[u8], filler: Option<u64>) -> PathBuf {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    if let Some(n) = filler {
        let mut h = tar::Header::new_gnu();
        h.set_size(n);
        h.set_mode(0o644);
        tar.append_data(&mut h, "./filler", std::io::repeat(0).take(n))
            .unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_size(control.len() as u64);
    h.set_mode(0o644);
    tar.append_data(&mut h, "./control", control).unwrap();
    let control_tar = tar.into_inner().unwrap().finish().unwrap();
    let mut data = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut h = tar::Header::new_gnu();
    let body = format!("{}\n", path.display());
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    data.append_data(&mut h, "./usr/share/doc/crafted/README", body.as_bytes())
        .unwrap();
    let data_tar = data.into_inner().unwrap().finish().unwrap();
    let mut ar = ar::Builder::new(fs::File::create(path).unwrap());
    for (name, bytes) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", control_tar),
        ("data.tar.gz", data_tar),
    ] {
        ar.append(
            &ar::Header::new(name.as_bytes().to_vec(), bytes.len() as u64),
            bytes.as_slice(),
        )
        .unwrap();
    }
    ar.into_inner().unwrap().flush().unwrap();
    path.to_owned()
}

pub(crate) fn init(root: &Path) -> Repo {
    Repo::init(
        root,
        InitOptions {
            suite: "stable".into(),
            architectures: vec!["amd64".into()],
            ..Default::default()
        },
        &Silent,
    )
    .unwrap()
}

fn packages(root: &Path) -> String {
    fs::read_to_string(root.join("dists/stable/main/binary-amd64/Packages")).unwrap()
}

/// Every file below `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for d in fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = d.path();
            let t = d.file_type().unwrap();
            if t.is_symlink() {
                continue;
            }
            if t.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Add `deb` and expect a refusal mentioning every string of `quoted`; the repository
/// (and everything around it) must be exactly as before.
fn refused(tmp: &Path, repo: &Repo, deb: &Path, quoted: &[&str]) -> String {
    let before = tree(tmp);
    let index = packages(repo.root());
    let err = repo
        .add(&[Incoming::foreign(deb)], None, &Silent)
        .map(|_| ())
        .unwrap_err();
    let msg = format!("{err:#}");
    for q in quoted {
        assert!(msg.contains(q), "error does not quote `{q}`: {msg}");
    }
    assert_eq!(tree(tmp), before, "a refused add changed files: {msg}");
    assert_eq!(packages(repo.root()), index);
    assert!(repo.list().unwrap().is_empty());
    msg
}

#[test]
fn hostile_repo_add_version_path_escape() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root);
    let debs = tmp.path().join("debs");
    fs::create_dir_all(&debs).unwrap();
    let cases: [(&str, String, &str); 8] = [
        (
            "Version",
            control("hostile", "1/../../../../x/foo", ""),
            "1/../../../../x/foo",
        ),
        (
            "Version",
            control("hostile", "1.0-../../x", ""),
            "1.0-../../x",
        ),
        ("Version", control("hostile", "x:1.0", ""), "x:1.0"),
        ("Package", control("../../../x", "1.0", ""), "../../../x"),
        ("Package", control("Hostile", "1.0", ""), "Hostile"),
        (
            "Source",
            control("hostile", "1.0", "Source: ../../etc\n"),
            "../../etc",
        ),
        (
            "Source",
            control("hostile", "1.0", "Source: ok (1/../x)\n"),
            "1/../x",
        ),
        (
            "Architecture",
            control("hostile", "1.0", "").replace("Architecture: all", "Architecture: ../../x"),
            "../../x",
        ),
    ];
    for (i, (field, ctl, value)) in cases.iter().enumerate() {
        let deb = craft_deb(&debs.join(format!("{i}.deb")), ctl.as_bytes(), None);
        let msg = refused(tmp.path(), &repo, &deb, &[field, value]);
        assert!(
            msg.contains("Policy") || msg.contains("architecture name"),
            "{msg}"
        );
    }
    assert!(!tmp.path().join("x").exists() && !tmp.path().join("etc").exists());

    // A state file from before these checks, naming a pool file outside the repository:
    // removing the entry must not delete that file.
    let victim = tmp.path().join("victim.deb");
    fs::write(&victim, "precious").unwrap();
    let ok = craft_deb(
        &debs.join("ok.deb"),
        control("fine", "1.0", "").as_bytes(),
        None,
    );
    repo.add(&[Incoming::foreign(&ok)], None, &Silent).unwrap();
    let state = root.join(".py2deb/packages.json");
    let text = fs::read_to_string(&state)
        .unwrap()
        .replace("pool/main/f/fine/fine_1.0_all.deb", "pool/../../victim.deb");
    fs::write(&state, text).unwrap();
    repo.remove("fine", &Silent).unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn hostile_repo_add_description_injects_stanza() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root);
    let debs = tmp.path().join("debs");
    fs::create_dir_all(&debs).unwrap();
    let injected = "Package: evil\nVersion: 6.6.6\nArchitecture: all\nFilename: pool/evil.deb\n";
    let base = "Package: hostile\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.invalid>\nDescription: x\n";
    let cases: Vec<(String, &str)> = vec![
        (format!("{base} \n{injected}"), "blank continuation"),
        (format!("{base}\t\n{injected}"), "blank continuation"),
        (format!("{base} \t \n{injected}"), "blank continuation"),
        (format!("{base}\n{injected}"), "second paragraph"),
        (format!("{base} a\r\n\r\n{injected}"), "carriage return"),
        (base.replace('\n', "\r\n"), "carriage return"),
        (format!("{base}Filename: pool/evil.deb\n"), "Filename"),
        (format!("{base}Size: 1\n"), "Size"),
        (format!("{base}SHA256: {}\n", "0".repeat(64)), "SHA256"),
        (format!("{base}MD5sum: {}\n", "0".repeat(32)), "MD5sum"),
        (format!("{base}Version: 2.0\n"), "duplicate field `Version`"),
        (format!("{base}version: 2.0\n"), "duplicate field `version`"),
        (format!("{base} a\u{85}Package: evil\n"), "U+0085"),
        (format!("{base} a\u{2028}b\n"), "U+2028"),
        (format!("{base} a\u{2029}b\n"), "U+2029"),
        (format!("{base} a\u{202e}b\n"), "U+202E"),
        (format!("{base} a\u{2066}b\n"), "U+2066"),
        (format!("{base} a\u{9b}b\n"), "U+009B"),
        (format!("{base} a\u{0}b\n"), "U+0000"),
        (format!("{base} a\u{1b}[2Jb\n"), "U+001B"),
        (format!("{base}Bad Name: x\n"), "field name"),
        (format!(" lead\n{base}"), "continuation line"),
        (format!("{base}no colon here\n"), "not `Field: value`"),
    ];
    for (i, (ctl, why)) in cases.iter().enumerate() {
        let deb = craft_deb(&debs.join(format!("{i}.deb")), ctl.as_bytes(), None);
        let msg = refused(tmp.path(), &repo, &deb, &[why, &format!("{i}.deb")]);
        assert!(!msg.is_empty());
    }
    // Not UTF-8 at all.
    let mut latin1 = base.as_bytes().to_vec();
    latin1.extend_from_slice(b" caf\xe9\n");
    let deb = craft_deb(&debs.join("latin1.deb"), &latin1, None);
    refused(tmp.path(), &repo, &deb, &["UTF-8"]);

    // A legitimate paragraph is published from its parsed fields: one stanza, our own
    // Filename, continuation lines and ` .` kept.
    let good = craft_deb(
        &debs.join("good.deb"),
        control("hostile", "1.0", "Depends: python3\n").as_bytes(),
        None,
    );
    repo.add(&[Incoming::foreign(&good)], None, &Silent)
        .unwrap();
    let text = packages(&root);
    assert_eq!(text.matches("Package: ").count(), 1, "{text}");
    assert_eq!(text.matches("\n\n").count(), 1, "{text}");
    assert!(text.contains("Description: crafted package\n long text\n .\n more\nDepends: python3\nFilename: pool/main/h/hostile/hostile_1.0_all.deb\n"), "{text}");
}

#[test]
fn hostile_repo_add_oversized_control() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root);
    // A 2 MiB control file (one long description line).
    let big = control("hostile", "1.0", &format!(" {}\n", "a".repeat(2 << 20)));
    let deb = craft_deb(&tmp.path().join("big.deb"), big.as_bytes(), None);
    let started = Instant::now();
    let msg = refused(tmp.path(), &repo, &deb, &["control", "1048576", "big.deb"]);
    assert!(msg.contains("more than"), "{msg}");
    // A control.tar that inflates far beyond the cap (zeros compress ~1000:1): refused
    // after reading at most the cap, not after inflating all of it.
    let bomb = craft_deb(
        &tmp.path().join("bomb.deb"),
        control("hostile", "1.0", "").as_bytes(),
        Some(64 << 20),
    );
    let msg = refused(tmp.path(), &repo, &bomb, &["control.tar.gz", "bomb.deb"]);
    assert!(msg.contains("uncompressed"), "{msg}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    // A field just under the cap but a paragraph of too many fields is refused too.
    let many: String = (0..600).map(|i| format!("X-F{i}: v\n")).collect();
    let deb = craft_deb(
        &tmp.path().join("many.deb"),
        control("hostile", "1.0", &many).as_bytes(),
        None,
    );
    refused(tmp.path(), &repo, &deb, &["more than 512 fields"]);
}

#[test]
fn hostile_repo_init_origin_injects_release_field() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let opts = |f: &dyn Fn(&mut InitOptions)| {
        let mut o = InitOptions {
            suite: "stable".into(),
            architectures: vec!["amd64".into()],
            ..Default::default()
        };
        f(&mut o);
        o
    };
    let cases: Vec<(InitOptions, &str)> = vec![
        (opts(&|o| o.origin = Some("x\nSuite: y".into())), "origin"),
        (opts(&|o| o.label = Some("x\r\nSuite: y".into())), "label"),
        (
            opts(&|o| o.description = Some("a\u{2028}b".into())),
            "description",
        ),
        (
            opts(&|o| o.description = Some("a\u{85}b".into())),
            "description",
        ),
        (opts(&|o| o.origin = Some(" ".into())), "origin"),
        (opts(&|o| o.suite = "st/../x".into()), "suite"),
        (opts(&|o| o.codename = Some("a b".into())), "codename"),
        (
            opts(&|o| o.component = Some("main\nX: y".into())),
            "component",
        ),
    ];
    for (o, what) in cases {
        let err = Repo::init(&root, o, &Silent)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("invalid {what}")), "{err}");
        assert!(!root.exists(), "a refused init wrote {}", root.display());
    }
    // A configuration edited by hand is checked when read.
    init(&root);
    let cfg = root.join(".py2deb/config.json");
    let text = fs::read_to_string(&cfg)
        .unwrap()
        .replace("\"origin\":\"py2deb\"", "\"origin\":\"x\\nSuite: evil\"");
    fs::write(&cfg, text).unwrap();
    let err = format!("{:#}", Repo::open(&root).unwrap_err());
    assert!(err.contains("invalid origin"), "{err}");
}

#[test]
fn repo_published_files_are_mode_0644() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root);
    let deb = craft_deb(
        &tmp.path().join("a.deb"),
        control("modes", "1.0", "").as_bytes(),
        None,
    );
    fs::set_permissions(&deb, fs::Permissions::from_mode(0o600)).unwrap();
    repo.add(&[Incoming::foreign(&deb)], None, &Silent).unwrap();
    let mut n = 0;
    for rel in tree(&root) {
        if rel.starts_with(".py2deb") {
            continue;
        }
        let mode = fs::metadata(root.join(&rel)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{rel}");
        n += 1;
    }
    assert!(n >= 8, "only {n} files checked");
}

#[test]
fn repo_add_reads_configuration_under_the_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    init(&root);
    // A writer that opened the repository before a concurrent `repo init` moved the
    // suite must publish into the new suite, not resurrect the deleted one.
    let stale = Repo::open(&root).unwrap();
    Repo::init(
        &root,
        InitOptions {
            suite: "testing".into(),
            architectures: vec!["amd64".into()],
            origin: Some("Moved".into()),
            ..Default::default()
        },
        &Silent,
    )
    .unwrap();
    let deb = craft_deb(
        &tmp.path().join("a.deb"),
        control("late", "1.0", "").as_bytes(),
        None,
    );
    stale
        .add(&[Incoming::foreign(&deb)], None, &Silent)
        .unwrap();
    assert!(
        !root.join("dists/stable").exists(),
        "the deleted suite came back"
    );
    let text = fs::read_to_string(root.join("dists/testing/main/binary-amd64/Packages")).unwrap();
    assert!(text.contains("Package: late"), "{text}");
    let release = fs::read_to_string(root.join("dists/testing/Release")).unwrap();
    assert!(release.contains("Origin: Moved"), "{release}");
}

#[test]
fn repo_leftovers_are_cleaned_and_check_repairs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root);
    let a = craft_deb(
        &tmp.path().join("a.deb"),
        control("keep", "1.0", "").as_bytes(),
        None,
    );
    repo.add(&[Incoming::foreign(&a)], None, &Silent).unwrap();
    assert!(repo.check(false, &Silent).unwrap().leftovers.is_empty());

    // What killed writers leave: temporary files, a half-written generation, an orphan.
    let leftovers = [
        root.join(".py2deb/.new-abc"),
        root.join("pool/main/k/keep/.incoming-xyz"),
        root.join(".new-key"),
    ];
    for p in &leftovers {
        fs::write(p, "x").unwrap();
    }
    let half = root.join("dists/.generations/stable/99999999");
    fs::create_dir_all(half.join("main")).unwrap();
    let orphan = root.join("pool/main/o/orphan/orphan_1_all.deb");
    fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    fs::write(&orphan, "x").unwrap();
    let report = repo.check(false, &Silent).unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!(report.leftovers.len(), 5, "{:?}", report.leftovers);

    // The next write removes the stale temporary files under the lock.
    let b = craft_deb(
        &tmp.path().join("b.deb"),
        control("other", "1.0", "").as_bytes(),
        None,
    );
    repo.add(&[Incoming::foreign(&b)], None, &Silent).unwrap();
    for p in leftovers.iter().chain([&half]) {
        assert!(!p.exists(), "{} survived", p.display());
    }
    assert!(orphan.exists(), "orphans are left to `repo check --repair`");
    let report = repo.check(true, &Silent).unwrap();
    assert!(!orphan.exists());
    assert!(
        report.repaired.iter().any(|r| r.contains("orphan")),
        "{:?}",
        report.repaired
    );
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);

    // Tampering is a problem; an index can be republished, a changed pool file cannot.
    let index = root.join("dists/stable/main/binary-amd64/Packages");
    let text = fs::read_to_string(&index)
        .unwrap()
        .replace("Package: keep", "Package: kept");
    fs::write(&index, text).unwrap();
    let report = repo.check(false, &Silent).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("main/binary-amd64/Packages")),
        "{:?}",
        report.problems
    );
    let report = repo.check(true, &Silent).unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    let pool = root.join("pool/main/k/keep/keep_1.0_all.deb");
    let mut bytes = fs::read(&pool).unwrap();
    bytes.push(0);
    fs::write(&pool, bytes).unwrap();
    let report = repo.check(true, &Silent).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("keep_1.0_all.deb")),
        "{:?}",
        report.problems
    );
}

#[test]
fn repo_old_layout_is_migrated_to_generations() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root);
    let a = craft_deb(
        &tmp.path().join("a.deb"),
        control("old", "1.0", "").as_bytes(),
        None,
    );
    repo.add(&[Incoming::foreign(&a)], None, &Silent).unwrap();
    // What an older py2deb left: a real suite directory, no generations, a dirty marker.
    let dist = root.join("dists/stable");
    let real = fs::canonicalize(&dist).unwrap();
    fs::remove_file(&dist).unwrap();
    fs::rename(&real, &dist).unwrap();
    fs::remove_dir_all(root.join("dists/.generations")).unwrap();
    fs::write(root.join(".py2deb/unpublished"), "").unwrap();
    let report = repo.check(false, &Silent).unwrap();
    assert!(
        report
            .leftovers
            .iter()
            .any(|l| l.contains("not published by generations")),
        "{:?}",
        report.leftovers
    );
    let b = craft_deb(
        &tmp.path().join("b.deb"),
        control("new", "1.0", "").as_bytes(),
        None,
    );
    repo.add(&[Incoming::foreign(&b)], None, &Silent).unwrap();
    assert!(fs::symlink_metadata(&dist)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!root.join(".py2deb/unpublished").exists());
    let text = packages(&root);
    assert!(
        text.contains("Package: old") && text.contains("Package: new"),
        "{text}"
    );
    let report = repo.check(false, &Silent).unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
}

#[test]
fn hostile_repo_add_batch_leaves_no_pool_files_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root);
    let good = craft_deb(
        &tmp.path().join("good.deb"),
        control("good", "1.0", "").as_bytes(),
        None,
    );
    let bad = craft_deb(
        &tmp.path().join("bad.deb"),
        control("bad", "1.0", "Filename: pool/x.deb\n").as_bytes(),
        None,
    );
    let before = tree(&root);
    let err = repo
        .add(
            &[Incoming::foreign(&good), Incoming::foreign(&bad)],
            None,
            &Silent,
        )
        .map(|_| ())
        .unwrap_err();
    assert!(format!("{err:#}").contains("Filename"), "{err:#}");
    assert_eq!(
        tree(&root),
        before,
        "the good package's pool file was left behind"
    );
    assert!(repo.list().unwrap().is_empty());
}
