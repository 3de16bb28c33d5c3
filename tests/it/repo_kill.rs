//! The repository under kills and concurrency, with the real binary: a failpoint
//! (`PY2DEB_FAILPOINT`) aborts `repo add`/`repo remove` at every publishing step, and after
//! each a client must find one consistent, verifiable repository (old or new); 8 writer
//! processes race while a reader follows Release → by-hash Packages → pool files as apt
//! does.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::repo::{have, GpgHome};
use crate::repo_hostile::{control, craft_deb};

const BIN: &str = env!("CARGO_BIN_EXE_py2deb");

fn py2deb(args: &[&str], gnupg: Option<&Path>, failpoint: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("repo")
        .args(args)
        .env_remove(py2deb::repo::FAILPOINT_ENV);
    if let Some(g) = gnupg {
        cmd.env("GNUPGHOME", g);
    }
    if let Some(f) = failpoint {
        cmd.env(py2deb::repo::FAILPOINT_ENV, f);
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What apt would see: the signed text of InRelease (or Release when unsigned), then each
/// architecture's Packages fetched by hash, then every pool file, all checked against the
/// hashes that led to them. Returns the (package, version) pairs, or the first mismatch.
pub(crate) fn client_view(root: &Path) -> Result<BTreeSet<(String, String)>, String> {
    let dist = root.join("dists/stable");
    let release = match fs::read_to_string(dist.join("InRelease")) {
        Ok(signed) => {
            let body = signed
                .split_once("\n\n")
                .map(|(_, b)| b)
                .ok_or("InRelease has no body")?;
            body.split_once("-----BEGIN PGP SIGNATURE-----")
                .map(|(b, _)| b.to_owned())
                .ok_or("InRelease has no signature")?
        }
        Err(_) => fs::read_to_string(dist.join("Release")).map_err(|e| format!("Release: {e}"))?,
    };
    if !release.contains("\nAcquire-By-Hash: yes\n") {
        return Err("Release lacks Acquire-By-Hash: yes".into());
    }
    let sha = release
        .split("SHA256:\n")
        .nth(1)
        .ok_or("no SHA256 in Release")?;
    let mut seen = BTreeSet::new();
    let mut n = 0;
    for line in sha.lines().take_while(|l| l.starts_with(' ')) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [hash, size, name] = parts[..] else {
            return Err(format!("bad Release line {line:?}"));
        };
        let Some(dir) = name.strip_suffix("/Packages") else {
            continue;
        };
        n += 1;
        let path = dist.join(format!("{dir}/by-hash/SHA256/{hash}"));
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if bytes.len().to_string() != size || hex::encode(Sha256::digest(&bytes)) != hash {
            return Err(format!("{} does not match Release", path.display()));
        }
        let index = String::from_utf8(bytes).map_err(|_| "Packages is not UTF-8")?;
        for stanza in index.split("\n\n").filter(|s| !s.is_empty()) {
            let fields = py2deb::debian::deb822::parse_paragraph(stanza.as_bytes())?;
            let get = |k: &str| {
                py2deb::debian::deb822::field(&fields, k)
                    .unwrap_or("")
                    .to_owned()
            };
            let file = root.join(get("Filename"));
            let deb = fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            if hex::encode(Sha256::digest(&deb)) != get("SHA256")
                || deb.len().to_string() != get("Size")
            {
                return Err(format!("{} does not match Packages", file.display()));
            }
            seen.insert((get("Package"), get("Version")));
        }
    }
    if n == 0 {
        return Err("Release lists no Packages".into());
    }
    Ok(seen)
}

/// `repo list` as (package, version) pairs.
fn listed(root: &Path) -> BTreeSet<(String, String)> {
    let out = py2deb(&["list", root.to_str().unwrap()], None, None);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap().to_owned(), f.next().unwrap().to_owned())
        })
        .collect()
}

const PUBLISH_STEPS: [&str; 7] = [
    "publish:after-packages",
    "publish:after-by-hash",
    "publish:after-release",
    "publish:after-release-gpg",
    "publish:after-inrelease",
    "publish:after-switch",
    "commit:after-state",
];

#[test]
fn repo_kill_at_every_publish_step_leaves_one_consistent_state() {
    if !crate::support::prerequisite(
        have("gpg") && have("gpgv"),
        "gpg and gpgv (install gnupg, gpgv)",
    ) {
        return;
    }
    let home = GpgHome::new();
    let g = Some(home.dir.path());
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let dir = root.to_str().unwrap();
    let out = py2deb(
        &[
            "init",
            dir,
            "--suite",
            "stable",
            "--arch",
            "amd64",
            "--sign-key",
            &home.fingerprint,
        ],
        g,
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let base = craft_deb(
        &tmp.path().join("base.deb"),
        control("base", "1.0", "").as_bytes(),
        None,
    );
    assert!(py2deb(&["add", dir, base.to_str().unwrap()], g, None)
        .status
        .success());

    let steps: Vec<(&str, &str)> = std::iter::once(("add", "add:after-pool"))
        .chain(PUBLISH_STEPS.iter().map(|s| ("add", *s)))
        .chain(PUBLISH_STEPS.iter().map(|s| ("remove", *s)))
        .collect();
    for (i, (op, step)) in steps.iter().enumerate() {
        let before = client_view(&root).unwrap();
        let (args, changed): (Vec<String>, (String, String)) = if *op == "add" {
            let deb = craft_deb(
                &tmp.path().join(format!("k{i}.deb")),
                control(&format!("kill{i}"), "1.0", "").as_bytes(),
                None,
            );
            (
                vec!["add".into(), dir.into(), deb.to_str().unwrap().into()],
                (format!("kill{i}"), "1.0".into()),
            )
        } else {
            // Remove one that is really published.
            let victim = before
                .iter()
                .find(|(p, _)| p != "base")
                .cloned()
                .unwrap_or_else(|| panic!("nothing left to remove at {step}: {before:?}"));
            (vec!["remove".into(), dir.into(), victim.0.clone()], victim)
        };
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = py2deb(&argv, g, Some(step));
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGABRT),
            "{op} did not stop at {step}: {}",
            text(&out)
        );
        // A client sees the old state or the new one, each complete and verifiable.
        let after = client_view(&root).unwrap_or_else(|e| panic!("{op} killed at {step}: {e}"));
        let mut new = before.clone();
        if *op == "add" {
            new.insert(changed.clone());
        } else {
            new.remove(&changed);
        }
        assert!(after == before || after == new, "{op} at {step}: {after:?}");
        let check = py2deb(&["check", dir], g, None);
        assert!(
            check.status.success(),
            "{op} killed at {step}: repo check:\n{}",
            text(&check)
        );
        // The state never claims what clients cannot see.
        let recorded = listed(&root);
        assert!(
            recorded == after || recorded == before,
            "{op} at {step}: list {recorded:?} vs {after:?}"
        );
        if *step == "commit:after-state" {
            assert_eq!(
                after, new,
                "{op} at {step}: the published state is the new one"
            );
            assert_eq!(
                recorded, new,
                "{op} at {step}: the recorded state is the new one"
            );
        }
        if recorded != after {
            // Killed after the switch but before the state was written: the write did not
            // happen; repairing republishes what the state records.
            let out = py2deb(&["check", "--repair", dir], g, None);
            assert!(out.status.success(), "{}", text(&out));
            assert_eq!(client_view(&root).unwrap(), recorded);
        }
    }
    // Repair leaves nothing to clean, and the repository still takes writes.
    let out = py2deb(&["check", "--repair", dir], g, None);
    assert!(out.status.success(), "{}", text(&out));
    let out = py2deb(&["check", dir], g, None);
    assert!(text(&out).contains("is consistent\n"), "{}", text(&out));
    let last = craft_deb(
        &tmp.path().join("last.deb"),
        control("last", "1.0", "").as_bytes(),
        None,
    );
    assert!(py2deb(&["add", dir, last.to_str().unwrap()], g, None)
        .status
        .success());
    assert!(client_view(&root)
        .unwrap()
        .contains(&("last".into(), "1.0".into())));
}

#[test]
fn repo_sigterm_during_publish_waits_for_the_publish() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let dir = root.to_str().unwrap();
    assert!(py2deb(
        &["init", dir, "--suite", "stable", "--arch", "amd64"],
        None,
        None
    )
    .status
    .success());
    let deb = craft_deb(
        &tmp.path().join("t.deb"),
        control("termed", "1.0", "").as_bytes(),
        None,
    );
    let out = py2deb(
        &["add", dir, deb.to_str().unwrap()],
        None,
        Some("publish:after-packages=sigterm"),
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let want = ("termed".to_owned(), "1.0".to_owned());
    assert!(
        client_view(&root).unwrap().contains(&want),
        "the publish was cut short"
    );
    assert!(listed(&root).contains(&want), "the state was not recorded");
    assert!(py2deb(&["check", dir], None, None).status.success());
}

#[test]
fn repo_concurrent_writers_and_a_following_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let dir = root.to_str().unwrap().to_owned();
    assert!(py2deb(
        &["init", &dir, "--suite", "stable", "--arch", "amd64"],
        None,
        None
    )
    .status
    .success());
    let debs: PathBuf = tmp.path().join("debs");
    fs::create_dir_all(&debs).unwrap();
    let writers = 8;
    let per_writer = 12;
    for w in 0..writers {
        for v in 1..=per_writer {
            craft_deb(
                &debs.join(format!("w{w}_{v}.deb")),
                control(&format!("writer{w}"), &format!("{v}.0"), "").as_bytes(),
                None,
            );
        }
    }
    let deadline = Instant::now() + Duration::from_secs(4);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let root = root.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut reads, mut mismatches) = (0, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                match client_view(&root) {
                    Ok(_) => reads += 1,
                    Err(e) => mismatches.push(e),
                }
            }
            (reads, mismatches)
        })
    };
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let dir = dir.clone();
            let debs = debs.clone();
            std::thread::spawn(move || {
                // add v1, add v2, remove v1, add v3, remove v2, …: always one or two live.
                let mut live: Vec<u32> = Vec::new();
                let mut next = 1;
                while Instant::now() < deadline && next <= per_writer {
                    let (args, add) = if live.len() < 2 {
                        let deb = debs.join(format!("w{w}_{next}.deb"));
                        (
                            vec![
                                "add".to_owned(),
                                dir.clone(),
                                deb.to_str().unwrap().to_owned(),
                            ],
                            true,
                        )
                    } else {
                        (
                            vec![
                                "remove".to_owned(),
                                dir.clone(),
                                format!("writer{w}={}.0", live[0]),
                            ],
                            false,
                        )
                    };
                    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                    let out = py2deb(&argv, None, None);
                    assert!(out.status.success(), "writer {w}: {}", text(&out));
                    if add {
                        live.push(next);
                        next += 1;
                    } else {
                        live.remove(0);
                    }
                }
                live.into_iter()
                    .map(|v| (format!("writer{w}"), format!("{v}.0")))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut expected = BTreeSet::new();
    for h in handles {
        expected.extend(h.join().unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let (reads, mismatches) = reader.join().unwrap();
    assert!(
        mismatches.is_empty(),
        "{} mismatches, e.g. {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(3)]
    );
    assert!(reads >= 5, "the reader completed only {reads} reads");
    assert!(expected.len() >= writers, "{expected:?}");
    assert_eq!(listed(&root), expected, "packages lost or resurrected");
    assert_eq!(client_view(&root).unwrap(), expected);
    let out = py2deb(&["check", &dir], None, None);
    assert!(out.status.success(), "{}", text(&out));
}
