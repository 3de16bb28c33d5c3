//! The apt repository publisher against the real tools: packages built with `dpkg-deb`,
//! indexes compared with `apt-ftparchive`/`dpkg-scanpackages`, signatures checked with
//! `gpgv`, and `apt-get` run against the repository with a private configuration so the
//! host's apt state is never touched.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use py2deb::debian::debfile;
use py2deb::repo::{BuildRecord, Incoming, InitOptions, NewBuild, Repo};
use py2deb::report::{Recorder, Silent};

pub(crate) fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

pub(crate) fn ok(out: Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// Build a tiny package with dpkg-deb; `compression` is dpkg-deb's -Z value.
fn make_deb(dir: &Path, name: &str, version: &str, arch: &str, compression: &str) -> PathBuf {
    let tree = dir.join(format!("tree-{name}-{version}-{arch}-{compression}"));
    fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    fs::create_dir_all(tree.join(format!("usr/share/doc/{name}"))).unwrap();
    fs::write(
        tree.join(format!("usr/share/doc/{name}/README")),
        format!("{name} {version}\n"),
    )
    .unwrap();
    fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Test <t@example.invalid>\n\
             Installed-Size: 1\nSection: python\nPriority: optional\nDescription: test package {name}\n \
             A longer description.\n .\n Second paragraph.\n"
        ),
    )
    .unwrap();
    let out = dir.join(format!("{name}_{version}_{arch}.{compression}.deb"));
    ok(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", &format!("-Z{compression}"), "--build"])
            .arg(&tree)
            .arg(&out)
            .output()
            .unwrap(),
        "dpkg-deb --build",
    );
    out
}

fn init(dir: &Path, key: Option<&str>) -> Repo {
    Repo::init(
        dir,
        InitOptions {
            suite: "stable".into(),
            origin: Some("Test Origin".into()),
            architectures: vec!["amd64".into(), "arm64".into()],
            sign_key: key.map(str::to_owned),
            ..Default::default()
        },
        &Silent,
    )
    .unwrap()
}

fn packages(repo: &Path, arch: &str) -> String {
    fs::read_to_string(repo.join(format!("dists/stable/main/binary-{arch}/Packages"))).unwrap()
}

fn stanzas(text: &str) -> Vec<BTreeMap<String, String>> {
    text.split("\n\n")
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            py2deb::debian::deb822::parse_paragraph(s.as_bytes())
                .unwrap()
                .into_iter()
                .collect()
        })
        .collect()
}

/// Every file Release lists exists with the size and SHA256 it claims.
fn assert_release_consistent(repo: &Path) {
    let release = fs::read_to_string(repo.join("dists/stable/Release")).unwrap();
    let sha = release.split("SHA256:\n").nth(1).unwrap();
    let mut n = 0;
    for line in sha.lines().take_while(|l| l.starts_with(' ')) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let bytes = fs::read(repo.join("dists/stable").join(parts[2])).unwrap();
        assert_eq!(bytes.len().to_string(), parts[1], "{}", parts[2]);
        let (_, _, h) = debfile::hash_file(&repo.join("dists/stable").join(parts[2])).unwrap();
        assert_eq!(h, parts[0], "{}", parts[2]);
        n += 1;
    }
    assert_eq!(n, 6, "two architectures × three Packages files");
}

/// Make every generation of the suite look an hour old, so that only the count-based
/// retention keeps them.
pub(crate) fn age_generations(root: &Path) {
    let gens = root.join("dists/.generations/stable");
    for d in fs::read_dir(&gens).unwrap().flatten() {
        ok(
            Command::new("touch")
                .args(["-h", "-d", "1 hour ago"])
                .arg(d.path())
                .output()
                .unwrap(),
            "touch",
        );
    }
}

#[test]
fn debfile_reads_every_control_compression() {
    let tmp = tempfile::tempdir().unwrap();
    for comp in ["gzip", "xz", "zstd", "none"] {
        let deb = make_deb(tmp.path(), "hello", "1.0-1", "all", comp);
        let info = debfile::inspect(&deb).unwrap();
        assert_eq!(
            (
                info.package.as_str(),
                info.version.as_str(),
                info.architecture.as_str()
            ),
            ("hello", "1.0-1", "all"),
            "{comp}"
        );
        assert!(info.control.ends_with(b"Second paragraph.\n"));
    }
    // Truncation is reported with the file's name.
    let deb = make_deb(tmp.path(), "cut", "1", "all", "xz");
    let bytes = fs::read(&deb).unwrap();
    fs::write(&deb, &bytes[..120]).unwrap();
    let err = debfile::inspect(&deb).unwrap_err().to_string();
    assert!(err.contains("cut_1_all.xz.deb"), "{err}");
}

#[test]
fn init_add_list_remove_keep() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root, None);
    assert_release_consistent(&root);
    assert_eq!(packages(&root, "amd64"), "");

    let a1 = make_deb(tmp.path(), "alpha", "1.0-1", "all", "xz");
    let a2 = make_deb(tmp.path(), "alpha", "1.10-1", "all", "xz");
    let a3 = make_deb(tmp.path(), "alpha", "1.2-1", "all", "gzip");
    let b = make_deb(tmp.path(), "libbeta", "2:3.0", "amd64", "zstd");
    let o = repo
        .add(
            &[
                Incoming::foreign(&a1),
                Incoming::foreign(&a2),
                Incoming::foreign(&b),
            ],
            None,
            &Silent,
        )
        .unwrap();
    assert_eq!(o.added.len(), 3);
    assert!(root
        .join("pool/main/a/alpha/alpha_1.10-1_all.deb")
        .is_file());
    // Epoch dropped from the file name; lib* packages get a four-letter prefix.
    assert!(root
        .join("pool/main/libb/libbeta/libbeta_3.0_amd64.deb")
        .is_file());
    // `all` is listed on every architecture, amd64 only on amd64.
    let amd = stanzas(&packages(&root, "amd64"));
    let arm = stanzas(&packages(&root, "arm64"));
    assert_eq!(amd.len(), 3);
    assert_eq!(arm.len(), 2);
    assert_eq!(amd[0]["Version"], "1.0-1", "sorted by Debian version order");
    assert_release_consistent(&root);

    let listed: Vec<String> = repo
        .list()
        .unwrap()
        .iter()
        .map(|e| format!("{}={}", e.package, e.version))
        .collect();
    assert_eq!(listed, ["alpha=1.0-1", "alpha=1.10-1", "libbeta=2:3.0"]);

    // keep 2: adding 1.2 drops the oldest, 1.0. Its pool file stays while clients may
    // still hold an index naming it (a retained generation), and goes once none does.
    let o = repo
        .add(&[Incoming::foreign(&a3)], Some(2), &Silent)
        .unwrap();
    assert_eq!(o.pruned, [("alpha".into(), "1.0-1".into(), "all".into())]);
    let old_pool = root.join("pool/main/a/alpha/alpha_1.0-1_all.deb");
    assert!(old_pool.exists(), "deleted while a retained index names it");
    assert!(!packages(&root, "amd64").contains("alpha_1.0-1_all.deb"));
    age_generations(&root);
    for i in 0..12 {
        let filler = make_deb(tmp.path(), "filler", &format!("{i}"), "all", "xz");
        repo.add(&[Incoming::foreign(&filler)], None, &Silent)
            .unwrap();
    }
    repo.remove("filler", &Silent).unwrap();
    assert!(
        !old_pool.exists(),
        "kept after every generation naming it expired"
    );

    // Removing one version, then a whole package.
    let gone = repo.remove("alpha=1.2-1", &Silent).unwrap();
    assert_eq!(gone.len(), 1);
    repo.remove("libbeta", &Silent).unwrap();
    let left: Vec<String> = repo
        .list()
        .unwrap()
        .iter()
        .map(|e| e.version.clone())
        .collect();
    assert_eq!(left, ["1.10-1"]);
    let err = repo.remove("nothere", &Silent).unwrap_err().to_string();
    assert!(
        err.contains("nothere") && err.contains("repo list"),
        "{err}"
    );
    assert_release_consistent(&root);

    // A package for an architecture the repository does not serve is refused with the fix.
    let riscv = make_deb(tmp.path(), "gamma", "1", "riscv64", "xz");
    let err = repo
        .add(&[Incoming::foreign(&riscv)], None, &Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("riscv64") && err.contains("--arch"), "{err}");
}

#[test]
fn same_file_is_noop_and_different_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root, None);
    let deb = make_deb(tmp.path(), "dup", "1.0", "all", "xz");
    repo.add(&[Incoming::foreign(&deb)], None, &Silent).unwrap();
    let release = fs::read(root.join("dists/stable/Release")).unwrap();

    let rec = Recorder::default();
    let o = repo.add(&[Incoming::foreign(&deb)], None, &rec).unwrap();
    assert_eq!(o.unchanged.len(), 1);
    assert!(o.added.is_empty());
    assert_eq!(
        fs::read(root.join("dists/stable/Release")).unwrap(),
        release,
        "a no-op add does not republish"
    );

    // Same name+version+arch, different bytes.
    let other = make_deb(tmp.path(), "dup", "1.0", "all", "gzip");
    let err = repo
        .add(&[Incoming::foreign(&other)], None, &Silent)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refusing") && err.contains("hash mismatch") && err.contains("repo remove"),
        "{err}"
    );
    assert_eq!(repo.list().unwrap().len(), 1);

    // Not a deb at all.
    let junk = tmp.path().join("junk.deb");
    fs::write(&junk, "hello").unwrap();
    let err = repo
        .add(&[Incoming::foreign(&junk)], None, &Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("junk.deb"), "{err}");
}

#[test]
fn packages_match_apt_ftparchive_and_dpkg_scanpackages() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root, None);
    let debs = [
        make_deb(tmp.path(), "one", "1.0-1", "all", "xz"),
        make_deb(tmp.path(), "two", "0.5", "amd64", "gzip"),
        make_deb(tmp.path(), "three", "1:2.0~rc1", "amd64", "zstd"),
    ];
    let incoming: Vec<Incoming> = debs.iter().map(Incoming::foreign).collect();
    repo.add(&incoming, None, &Silent).unwrap();
    let ours = stanzas(&packages(&root, "amd64"));

    let mut tools = Vec::new();
    if have("apt-ftparchive") {
        tools.push(vec!["apt-ftparchive", "packages", "pool"]);
    }
    if have("dpkg-scanpackages") {
        tools.push(vec![
            "dpkg-scanpackages",
            "--multiversion",
            "pool",
            "/dev/null",
        ]);
    }
    assert!(!tools.is_empty(), "need apt-utils or dpkg-dev installed");
    for tool in tools {
        let out = Command::new(tool[0])
            .args(&tool[1..])
            .current_dir(&root)
            .output()
            .unwrap();
        let theirs = stanzas(
            &ok(out, tool[0])
                .split("\n\n")
                .filter(|s| s.contains("Package:"))
                .collect::<Vec<_>>()
                .join("\n\n"),
        );
        assert_eq!(theirs.len(), ours.len(), "{}", tool[0]);
        for mine in &ours {
            let other = theirs
                .iter()
                .find(|t| t["Package"] == mine["Package"])
                .unwrap_or_else(|| panic!("{} lacks {}", tool[0], mine["Package"]));
            for (k, v) in mine {
                assert_eq!(other.get(k), Some(v), "{}: field {k}", tool[0]);
            }
            // They may add more hashes or Description-md5, nothing else.
            for k in other.keys() {
                assert!(
                    mine.contains_key(k)
                        || ["SHA1", "SHA512", "Description-md5"].contains(&k.as_str()),
                    "{} adds unexpected {k}",
                    tool[0]
                );
            }
        }
    }
}

#[test]
fn concurrent_adds_both_land() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    init(&root, None);
    let mut handles = Vec::new();
    for t in 0..2 {
        let debs: Vec<PathBuf> = (0..5)
            .map(|i| make_deb(tmp.path(), &format!("conc{t}x{i}"), "1.0", "all", "xz"))
            .collect();
        let root = root.clone();
        handles.push(std::thread::spawn(move || {
            for d in debs {
                // Each add opens the repository afresh, as separate processes would.
                Repo::open(&root)
                    .unwrap()
                    .add(&[Incoming::foreign(&d)], None, &Silent)
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let repo = Repo::open(&root).unwrap();
    assert_eq!(repo.list().unwrap().len(), 10);
    assert_eq!(stanzas(&packages(&root, "amd64")).len(), 10);
    assert_release_consistent(&root);
}

#[test]
fn concurrent_cli_processes_both_land() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    init(&root, None);
    let a = make_deb(tmp.path(), "procone", "1", "all", "xz");
    let b = make_deb(tmp.path(), "proctwo", "1", "all", "xz");
    // Two writers on separate open file descriptions contend for the flock exactly as two
    // processes would; run them from threads that each take the lock through `add`.
    let (r1, r2) = (root.clone(), root.clone());
    let t1 = std::thread::spawn(move || {
        Repo::open(&r1)
            .unwrap()
            .add(&[Incoming::foreign(a)], None, &Silent)
    });
    let t2 = std::thread::spawn(move || {
        Repo::open(&r2)
            .unwrap()
            .add(&[Incoming::foreign(b)], None, &Silent)
    });
    t1.join().unwrap().unwrap();
    t2.join().unwrap().unwrap();
    let names: Vec<String> = stanzas(&packages(&root, "arm64"))
        .into_iter()
        .map(|s| s["Package"].clone())
        .collect();
    assert_eq!(names, ["procone", "proctwo"]);
}

#[test]
fn update_rebuilds_recorded_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root, None);
    let record = BuildRecord {
        spec: "requests".into(),
        project: "requests".into(),
        version: "2.0".into(),
        target: "debian-12".into(),
        arch: "all".into(),
        options: Default::default(),
        index_urls: vec!["https://pypi.org/simple".into()],
        py2deb_version: "0.1.0".into(),
    };
    let old = make_deb(tmp.path(), "python3-requests", "2.0-1", "all", "xz");
    let foreign = make_deb(tmp.path(), "other", "1", "all", "xz");
    repo.add(
        &[
            Incoming {
                path: old,
                record: Some(record.clone()),
            },
            Incoming::foreign(foreign),
        ],
        None,
        &Silent,
    )
    .unwrap();

    let new = make_deb(tmp.path(), "python3-requests", "2.1-1", "all", "xz");
    let mut seen = Vec::new();
    let mut check = |rec: &BuildRecord, dry: bool| -> anyhow::Result<Option<NewBuild>> {
        seen.push((rec.project.clone(), dry));
        let mut r = rec.clone();
        r.version = "2.1".into();
        Ok(Some(NewBuild {
            version: "2.1".into(),
            debs: if dry {
                vec![]
            } else {
                vec![Incoming {
                    path: new.clone(),
                    record: Some(r),
                }]
            },
        }))
    };
    let dry = repo.update(true, None, &Silent, &mut check).unwrap();
    assert_eq!(dry.changes.len(), 1);
    assert_eq!(
        (dry.changes[0].from.as_str(), dry.changes[0].to.as_str()),
        ("2.0", "2.1")
    );
    assert_eq!(repo.list().unwrap().len(), 2, "dry run changes nothing");

    let done = repo.update(false, Some(1), &Silent, &mut check).unwrap();
    assert_eq!(done.add.added.len(), 1);
    assert_eq!(done.add.pruned.len(), 1);
    assert_eq!(
        seen,
        [
            ("requests".to_string(), true),
            ("requests".to_string(), false)
        ],
        "the foreign package is never checked"
    );
    let versions: Vec<String> = repo
        .list()
        .unwrap()
        .iter()
        .map(|e| format!("{}={}", e.package, e.version))
        .collect();
    assert_eq!(versions, ["other=1", "python3-requests=2.1-1"]);
}

/// A throw-away gpg home with one signing key; the agent is stopped on drop.
pub(crate) struct GpgHome {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) fingerprint: String,
}

impl GpgHome {
    pub(crate) fn new() -> GpgHome {
        let dir = tempfile::Builder::new().prefix("g").tempdir().unwrap();
        let gpg = |args: &[&str]| {
            Command::new("gpg")
                .env("GNUPGHOME", dir.path())
                .args(["--batch", "--passphrase", ""])
                .args(args)
                .output()
                .unwrap()
        };
        ok(
            gpg(&[
                "--quick-gen-key",
                "Test Repo <t@example.invalid>",
                "ed25519",
                "sign",
                "never",
            ]),
            "gpg --quick-gen-key",
        );
        let listing = ok(gpg(&["--with-colons", "--list-secret-keys"]), "gpg list");
        let fingerprint = listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap()
            .to_owned();
        GpgHome { dir, fingerprint }
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.dir.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

/// apt with every directory redirected into `dir`: nothing of the host's apt state is read
/// or written, and only the keys named by `Signed-By` are trusted.
struct PrivateApt {
    dir: PathBuf,
}

impl PrivateApt {
    fn new(dir: &Path, sources: &str, installed: &str) -> PrivateApt {
        for d in [
            "apt.conf.d",
            "sources.list.d",
            "preferences.d",
            "trusted.gpg.d",
            "state/lists/partial",
            "cache/archives/partial",
            "log",
        ] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        fs::write(dir.join("sources.list.d/test.sources"), sources).unwrap();
        fs::write(dir.join("status"), installed).unwrap();
        let d = dir.display();
        fs::write(
            dir.join("apt.conf"),
            format!(
                "Dir::Etc::main \"/dev/null\";\n\
                 Dir::Etc::Parts \"{d}/apt.conf.d\";\n\
                 Dir::Etc::SourceList \"/dev/null\";\n\
                 Dir::Etc::SourceParts \"{d}/sources.list.d\";\n\
                 Dir::Etc::Preferences \"/dev/null\";\n\
                 Dir::Etc::PreferencesParts \"{d}/preferences.d\";\n\
                 Dir::Etc::Trusted \"/dev/null\";\n\
                 Dir::Etc::TrustedParts \"{d}/trusted.gpg.d\";\n\
                 Dir::State \"{d}/state\";\n\
                 Dir::State::Lists \"{d}/state/lists\";\n\
                 Dir::State::status \"{d}/status\";\n\
                 Dir::Cache \"{d}/cache\";\n\
                 Dir::Log \"{d}/log\";\n\
                 Debug::NoLocking \"true\";\n\
                 APT::Sandbox::User \"root\";\n\
                 APT::Architecture \"amd64\";\n\
                 APT::Architectures {{ \"amd64\"; }};\n\
                 Acquire::Languages \"none\";\n\
                 Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled \"false\";\n"
            ),
        )
        .unwrap();
        PrivateApt {
            dir: dir.to_owned(),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        Command::new(tool)
            .env("APT_CONFIG", self.dir.join("apt.conf"))
            .env("LC_ALL", "C")
            .args(args)
            .output()
            .unwrap()
    }
}

fn sources(root: &Path, signed_by: Option<&Path>) -> String {
    let mut s = format!(
        "Types: deb\nURIs: file:{}\nSuites: stable\nComponents: main\n",
        root.display()
    );
    if let Some(k) = signed_by {
        s.push_str(&format!("Signed-By: {}\n", k.display()));
    }
    s
}

#[test]
fn signed_repository_with_gpg_and_apt() {
    if !crate::support::prerequisite(
        have("gpg") && have("apt-get") && have("gpgv"),
        "gpg, gpgv and apt-get (install gnupg, gpgv, apt)",
    ) {
        return;
    }
    let home = GpgHome::new();
    // Signing runs the user's gpg, which finds the keyring through GNUPGHOME. No other
    // test in this binary runs gpg, so setting it process-wide is safe.
    std::env::set_var("GNUPGHOME", home.dir.path());
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");

    // A missing key is a clear error before anything is written.
    let err = Repo::init(
        &root,
        InitOptions {
            suite: "stable".into(),
            architectures: vec!["amd64".into()],
            sign_key: Some("nobody@example.invalid".into()),
            ..Default::default()
        },
        &Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no secret key") && err.contains("gpg --list-secret-keys"),
        "{err}"
    );

    let repo = init(&root, Some(&home.fingerprint));
    let v1 = make_deb(tmp.path(), "hello-py", "1.0-1", "all", "xz");
    repo.add(&[Incoming::foreign(&v1)], None, &Silent).unwrap();
    let dist = root.join("dists/stable");
    assert!(dist.join("InRelease").is_file() && dist.join("Release.gpg").is_file());

    // The published key verifies both signatures.
    let keyring = root.join(py2deb::repo::KEY_FILE);
    ok(
        Command::new("gpgv")
            .arg("--keyring")
            .arg(&keyring)
            .arg(dist.join("InRelease"))
            .output()
            .unwrap(),
        "gpgv InRelease",
    );
    ok(
        Command::new("gpgv")
            .arg("--keyring")
            .arg(&keyring)
            .arg(dist.join("Release.gpg"))
            .arg(dist.join("Release"))
            .output()
            .unwrap(),
        "gpgv Release.gpg",
    );
    let stanza = repo.sources_stanzas(None).unwrap();
    assert!(
        stanza.contains("Signed-By: /etc/apt/keyrings/test-origin.gpg"),
        "{stanza}"
    );
    assert!(
        stanza.contains("URIs: file:///") && stanza.contains("URIs: http://"),
        "{stanza}"
    );

    // 1. apt accepts the signed repository with Signed-By and can fetch the package.
    let apt = PrivateApt::new(&tmp.path().join("apt"), &sources(&root, Some(&keyring)), "");
    ok(apt.run("apt-get", &["update"]), "apt-get update (signed)");
    let policy = ok(
        apt.run("apt-cache", &["policy", "hello-py"]),
        "apt-cache policy",
    );
    assert!(policy.contains("Candidate: 1.0-1"), "{policy}");
    // With a file: URI apt uses the pool file in place rather than copying it to the
    // archive cache, so check the fetch step succeeds and the install plan is right.
    ok(
        apt.run("apt-get", &["install", "-y", "--download-only", "hello-py"]),
        "apt-get install --download-only",
    );
    let sim = ok(
        apt.run("apt-get", &["-s", "install", "hello-py"]),
        "apt-get -s install",
    );
    assert!(
        sim.contains("Inst hello-py (1.0-1 Test Origin:stable [all])"),
        "{sim}"
    );

    // 2. With 1.0-1 "installed", a newer version shows as upgradable and upgrade picks it.
    let installed =
        "Package: hello-py\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: all\n\
                     Maintainer: Test <t@example.invalid>\nDescription: test\n\n";
    fs::write(apt.dir.join("status"), installed).unwrap();
    let v2 = make_deb(tmp.path(), "hello-py", "1.1-1", "all", "xz");
    repo.add(&[Incoming::foreign(&v2)], None, &Silent).unwrap();
    ok(apt.run("apt-get", &["update"]), "apt-get update (newer)");
    let upgradable = ok(
        apt.run("apt", &["list", "--upgradable"]),
        "apt list --upgradable",
    );
    assert!(
        upgradable.contains("hello-py/stable 1.1-1 all [upgradable from: 1.0-1]"),
        "{upgradable}"
    );
    let sim = ok(apt.run("apt-get", &["-s", "upgrade"]), "apt-get -s upgrade");
    assert!(sim.contains("Inst hello-py [1.0-1] (1.1-1"), "{sim}");

    // 3. Tampering with a published index (all three forms, as an attacker would) is refused.
    let bin = dist.join("main/binary-amd64");
    let text = fs::read_to_string(bin.join("Packages"))
        .unwrap()
        .replace("Section: python", "Section: evil");
    fs::write(bin.join("Packages"), &text).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    fs::write(bin.join("Packages.gz"), gz.finish().unwrap()).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    std::io::Write::write_all(&mut xz, text.as_bytes()).unwrap();
    fs::write(bin.join("Packages.xz"), xz.finish().unwrap()).unwrap();
    let fresh = PrivateApt::new(
        &tmp.path().join("apt2"),
        &sources(&root, Some(&keyring)),
        "",
    );
    let out = fresh.run("apt-get", &["update"]);
    let msg = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "tampered index accepted:\n{msg}");
    assert!(
        msg.contains("Hash Sum mismatch") || msg.contains("hash"),
        "{msg}"
    );

    // Tampering with Release itself breaks the signature.
    repo.republish(&Silent).unwrap();
    let inrelease = fs::read_to_string(dist.join("InRelease")).unwrap();
    fs::write(
        dist.join("InRelease"),
        inrelease.replace("Suite: stable", "Suite: stablx"),
    )
    .unwrap();
    let out = Command::new("gpgv")
        .arg("--keyring")
        .arg(&keyring)
        .arg(dist.join("InRelease"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "gpgv accepted a modified InRelease");

    // 4. An unsigned repository is refused without trusted=yes.
    let plain_root = tmp.path().join("plain");
    let plain = init(&plain_root, None);
    plain.add(&[Incoming::foreign(&v1)], None, &Silent).unwrap();
    let unsigned = PrivateApt::new(&tmp.path().join("apt3"), &sources(&plain_root, None), "");
    let out = unsigned.run("apt-get", &["update"]);
    let msg = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success() && msg.contains("not signed"), "{msg}");
    let policy = ok(
        unsigned.run("apt-cache", &["policy", "hello-py"]),
        "apt-cache policy",
    );
    assert!(!policy.contains("Candidate: 1.0-1"), "{policy}");
}

/// `bench/repo-bench.sh` runs this: time adding one package to a repository of 1,000.
#[test]
#[ignore = "benchmark; run with bench/repo-bench.sh"]
fn bench_add_one_into_thousand() {
    let n: usize = std::env::var("REPO_BENCH_PACKAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    init(&root, None);
    let debs_dir = tmp.path().join("debs");
    fs::create_dir_all(&debs_dir).unwrap();
    let started = std::time::Instant::now();
    let debs: Vec<Incoming> = (0..n)
        .map(|i| {
            Incoming::foreign(make_deb(
                &debs_dir,
                &format!("pkg{i:04}"),
                "1.0-1",
                "all",
                "xz",
            ))
        })
        .collect();
    eprintln!("generated {n} packages in {:.1?}", started.elapsed());
    let started = std::time::Instant::now();
    Repo::open(&root)
        .unwrap()
        .add(&debs, None, &Silent)
        .unwrap();
    eprintln!("initial add of {n} packages: {:.1?}", started.elapsed());

    let extra = make_deb(&debs_dir, "one-more", "1.0-1", "amd64", "xz");
    let mut times = Vec::new();
    for round in 0..3 {
        let deb = if round == 0 {
            extra.clone()
        } else {
            make_deb(
                &debs_dir,
                "one-more",
                &format!("1.{round}-1"),
                "amd64",
                "xz",
            )
        };
        let started = std::time::Instant::now();
        // What `py2deb repo add DIR FILE` does: open, lock, add, publish.
        Repo::open(&root)
            .unwrap()
            .add(&[Incoming::foreign(deb)], None, &Silent)
            .unwrap();
        times.push(started.elapsed());
    }
    assert_eq!(Repo::open(&root).unwrap().list().unwrap().len(), n + 3);
    assert_release_consistent(&root);
    eprintln!("REPO-BENCH add one package into {n}: {:?}", times);
}

#[derive(clap::Parser)]
struct RepoCli {
    #[command(subcommand)]
    cmd: py2deb::cli::repo::RepoCommand,
}

fn cli(args: &[&str]) -> anyhow::Result<String> {
    use clap::Parser;
    let parsed = RepoCli::try_parse_from(std::iter::once("repo").chain(args.iter().copied()))?;
    let mut out = Vec::new();
    py2deb::cli::repo::run_to(parsed.cmd, &Silent, &py2deb::repo::NoBuilder, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn cli_subcommands() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    let dir = root.to_str().unwrap();
    let out = cli(&[
        "init",
        dir,
        "--suite",
        "stable",
        "--origin",
        "Acme",
        "--arch",
        "amd64,arm64",
    ])
    .unwrap();
    assert!(out.contains("Types: deb\nURIs: file:///"), "{out}");
    assert!(
        out.contains("Suites: stable\nComponents: main\nArchitectures: amd64 arm64\nTrusted: yes"),
        "{out}"
    );
    let deb = make_deb(tmp.path(), "clitool", "0.1", "all", "xz");
    let out = cli(&["add", dir, deb.to_str().unwrap()]).unwrap();
    assert_eq!(out, "added clitool 0.1 all\n");
    let out = cli(&["add", dir, deb.to_str().unwrap()]).unwrap();
    assert!(out.starts_with("unchanged clitool 0.1 all"), "{out}");
    let out = cli(&["list", dir]).unwrap();
    assert_eq!(
        out,
        "clitool\t0.1\tall\tpool/main/c/clitool/clitool_0.1_all.deb\tadded\n"
    );
    let out = cli(&["update", dir, "--dry-run"]).unwrap();
    assert_eq!(out, "everything is up to date\n");
    let out = cli(&["check", dir]).unwrap();
    assert!(out.ends_with("is consistent\n"), "{out}");
    let pool = root.join("pool/main/c/clitool/clitool_0.1_all.deb");
    let good = fs::read(&pool).unwrap();
    fs::write(&pool, b"tampered").unwrap();
    let err = cli(&["check", dir]).unwrap_err().to_string();
    assert!(
        err.contains("not consistent: 1 problem") && err.contains("--repair"),
        "{err}"
    );
    fs::write(&pool, good).unwrap();
    let err = cli(&["export-key", dir]).unwrap_err().to_string();
    assert!(
        err.contains("unsigned") && err.contains("--sign-key"),
        "{err}"
    );
    let out = cli(&["remove", dir, "clitool=0.1"]).unwrap();
    assert_eq!(out, "removed clitool 0.1 all\n");
    let err = cli(&["list", tmp.path().to_str().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a py2deb repository") && err.contains("repo init"),
        "{err}"
    );
}

#[test]
fn failed_add_is_not_recorded_and_retry_publishes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let repo = init(&root, None);
    let one = make_deb(tmp.path(), "first", "1", "all", "xz");
    repo.add(&[Incoming::foreign(&one)], None, &Silent).unwrap();
    let release = fs::read(root.join("dists/stable/Release")).unwrap();
    let amd64 = packages(&root, "amd64");

    // Make the add fail: the package's pool directory cannot be created.
    let blocker = root.join("pool/main/s/second");
    fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    fs::write(&blocker, "in the way").unwrap();
    let two = make_deb(tmp.path(), "second", "1", "all", "xz");
    assert!(repo.add(&[Incoming::foreign(&two)], None, &Silent).is_err());
    assert_eq!(
        fs::read(root.join("dists/stable/Release")).unwrap(),
        release
    );
    assert_eq!(packages(&root, "amd64"), amd64, "no index was updated");
    assert_eq!(
        repo.list().unwrap().len(),
        1,
        "the failed add is not listed"
    );

    // An unrelated write does not publish the failed package.
    let three = make_deb(tmp.path(), "third", "1", "all", "xz");
    repo.add(&[Incoming::foreign(&three)], None, &Silent)
        .unwrap();
    assert!(!packages(&root, "amd64").contains("Package: second"));

    // Retrying after the fix adds it.
    fs::remove_file(&blocker).unwrap();
    let o = repo.add(&[Incoming::foreign(&two)], None, &Silent).unwrap();
    assert_eq!(o.added.len(), 1);
    assert_eq!(stanzas(&packages(&root, "arm64")).len(), 3);
    assert_release_consistent(&root);
}
