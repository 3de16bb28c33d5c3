//! `py2deb completions SHELL` and `py2deb man [DIR]`: shell completions (clap_complete)
//! and man pages (clap_mangen, one page per subcommand as `py2deb-repo-init(1)`),
//! generated from the same clap definitions the program parses with, so a `cargo install`
//! gives what the Debian package ships (debian/rules calls these at build time).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};

/// `py2deb completions SHELL`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for; the script goes to stdout (bash: save it as
    /// ~/.local/share/bash-completion/completions/py2deb).
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `py2deb man [DIR]`
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write py2deb.1 and one page per subcommand (py2deb-build.1, py2deb-repo-init.1,
    /// ...) into DIR; without it, print py2deb(1) on stdout.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs, out: &mut dyn Write) -> Result<()> {
    let mut cmd = crate::cli::Opts::command();
    clap_complete::generate(args.shell, &mut cmd, "py2deb", out);
    Ok(())
}

/// The date a man page shows: SOURCE_DATE_EPOCH's when set (reproducible builds), else
/// none, so two builds of one source give the same bytes.
fn page_date() -> Option<String> {
    let secs: i64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    t.format(time::macros::format_description!("[year]-[month]-[day]"))
        .ok()
}

fn page(cmd: clap::Command) -> clap_mangen::Man {
    let man = clap_mangen::Man::new(cmd)
        .manual("py2deb manual")
        .source(format!("py2deb {}", env!("CARGO_PKG_VERSION")));
    match page_date() {
        Some(d) => man.date(d),
        None => man,
    }
}

/// Every page of the command tree, as (file name, roff text).
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            walk(sub, out)?;
        }
        let man = page(cmd);
        let mut text = Vec::new();
        man.render(&mut text)?;
        out.push((man.get_filename(), text));
        Ok(())
    }
    let mut cmd = crate::cli::Opts::command().disable_help_subcommand(true);
    // Build once so subcommands carry their full names (`py2deb-repo-init`).
    cmd.build();
    let mut out = Vec::new();
    walk(cmd, &mut out)?;
    out.sort();
    Ok(out)
}

pub fn man(args: &ManArgs, out: &mut dyn Write) -> Result<()> {
    let pages = man_pages()?;
    match &args.dir {
        None => {
            let (_, text) = pages
                .iter()
                .find(|(name, _)| name == "py2deb.1")
                .context("the command has no py2deb.1 page")?;
            out.write_all(text)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for (name, text) in &pages {
                let path = Path::new(dir).join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                writeln!(out, "{}", path.display())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_pages_cover_every_subcommand() {
        let pages = man_pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        for want in [
            "py2deb.1",
            "py2deb-build.1",
            "py2deb-repo.1",
            "py2deb-repo-init.1",
            "py2deb-completions.1",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        let (_, top) = pages.iter().find(|(n, _)| n == "py2deb.1").unwrap();
        let top = String::from_utf8_lossy(top);
        assert!(
            top.starts_with(".ie") || top.contains(".TH py2deb 1"),
            "{top}"
        );
        assert!(top.contains("index\\-url"), "options rendered: {top}");
    }

    #[test]
    fn completions_name_the_subcommands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            completions(&CompletionsArgs { shell }, &mut out).unwrap();
            let s = String::from_utf8(out).unwrap();
            assert!(
                s.contains("repo") && s.contains("index-url"),
                "{shell}: {s}"
            );
        }
    }
}
