//! Signing `Release` and exporting the public key with the user's own `gpg` (keyring and
//! agent from `GNUPGHOME` as usual). apt accepts a clearsigned `InRelease` and an armored
//! detached `Release.gpg`; both are produced.

use std::io::{ErrorKind, Write};
use std::process::{Command, Output, Stdio};

use anyhow::{bail, Context, Result};

fn run(args: &[&str], input: Option<&[u8]>) -> Result<Output> {
    let mut cmd = Command::new("gpg");
    cmd.args(["--batch", "--yes", "--no-tty"])
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "`gpg` is not installed but the repository is set to sign with a key; install gnupg (apt-get install gnupg) or re-run `py2deb repo init` without --sign-key"
        ),
        Err(e) => return Err(e).context("cannot run gpg"),
    };
    if let Some(bytes) = input {
        // Feed stdin from a thread so a large input cannot deadlock against full pipes.
        let mut stdin = child.stdin.take().expect("stdin was piped");
        let bytes = bytes.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&bytes));
        let out = child.wait_with_output().context("gpg did not finish")?;
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("writing to gpg panicked"))?
            .context("cannot write to gpg")?;
        Ok(out)
    } else {
        child.wait_with_output().context("gpg did not finish")
    }
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// Fail with a helpful message unless `key` names a usable secret key.
pub fn check_secret_key(key: &str) -> Result<()> {
    let out = run(&["--with-colons", "--list-secret-keys", "--", key], None)?;
    if !out.status.success() || out.stdout.is_empty() {
        bail!(
            "no secret key `{key}` in the gpg keyring{}; list keys with `gpg --list-secret-keys` or create one with `gpg --quick-gen-key 'Repo <repo@example.org>' ed25519 sign never`",
            std::env::var("GNUPGHOME")
                .map(|h| format!(" (GNUPGHOME={h})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// Sign `data` with `key`: clearsigned (for `InRelease`) or detached armored (`Release.gpg`).
pub fn sign(key: &str, data: &[u8], clear: bool) -> Result<Vec<u8>> {
    let mode = if clear {
        "--clearsign"
    } else {
        "--detach-sign"
    };
    let out = run(
        &[
            "--local-user",
            key,
            "--armor",
            "--digest-algo",
            "SHA512",
            mode,
            "--output",
            "-",
        ],
        Some(data),
    )?;
    if !out.status.success() || out.stdout.is_empty() {
        check_secret_key(key)?;
        bail!(
            "gpg could not sign with key `{key}`: {}; if the key has a passphrase, unlock it in gpg-agent first (e.g. `echo | gpg --clearsign -u {key}`)",
            stderr_of(&out)
        );
    }
    Ok(out.stdout)
}

/// The public part of `key`, binary (for `/etc/apt/keyrings/*.gpg`) or ASCII-armored.
pub fn export_key(key: &str, armor: bool) -> Result<Vec<u8>> {
    let mut args = vec!["--export"];
    if armor {
        args.push("--armor");
    }
    args.extend(["--", key]);
    let out = run(&args, None)?;
    if !out.status.success() || out.stdout.is_empty() {
        bail!(
            "gpg has no public key `{key}` to export ({}); check `gpg --list-keys {key}`",
            stderr_of(&out)
        );
    }
    Ok(out.stdout)
}
