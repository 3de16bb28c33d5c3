//! Tera templates for the generated text files of a package: maintainer scripts
//! (dh_python3's byte-compiling autoscripts), DEP-5 copyright, changelog, man pages and
//! console-script wrappers. The maintainer scripts name only the package (and its private
//! directory): py3compile and py3clean read the file list from dpkg, as dh_python3's do,
//! so no file name of the wheel is ever part of shell code.
//!
//! The defaults are compiled in from `templates/`; `--templates DIR` replaces any of them
//! with a file of the same name, so sites can add their own wording or hooks.

use anyhow::{Context, Result};
use std::path::Path;

/// Names of the templates, with their built-in text.
const BUILTIN: &[(&str, &str)] = &[
    ("postinst", include_str!("../../templates/postinst.tera")),
    ("prerm", include_str!("../../templates/prerm.tera")),
    ("copyright", include_str!("../../templates/copyright.tera")),
    ("changelog", include_str!("../../templates/changelog.tera")),
    ("manpage", include_str!("../../templates/manpage.tera")),
    ("script", include_str!("../../templates/script.tera")),
];

/// The loaded template set.
pub struct Templates {
    tera: tera::Tera,
}

impl Templates {
    /// The built-in templates, with any `NAME.tera` found in `override_dir` taking their
    /// place.
    pub fn load(override_dir: Option<&Path>) -> Result<Templates> {
        let mut tera = tera::Tera::new();
        // Nothing here is HTML; escaping would corrupt shell and roff text.
        tera.autoescape_on(Vec::<&str>::new());
        for (name, builtin) in BUILTIN {
            let text = match override_dir.map(|d| d.join(format!("{name}.tera"))) {
                Some(path) if path.exists() => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading template {}", path.display()))?,
                _ => (*builtin).to_owned(),
            };
            tera.add_raw_template(name, &text).with_context(|| {
                format!("template `{name}` does not parse; fix it or remove it from --templates")
            })?;
        }
        if let Some(dir) = override_dir {
            if !dir.is_dir() {
                anyhow::bail!("--templates {}: not a directory", dir.display());
            }
            for entry in std::fs::read_dir(dir)? {
                let name = entry?.file_name().to_string_lossy().into_owned();
                if let Some(stem) = name.strip_suffix(".tera") {
                    if !BUILTIN.iter().any(|(n, _)| *n == stem) {
                        anyhow::bail!(
                            "--templates {}: unknown template `{name}`; known: {}",
                            dir.display(),
                            BUILTIN
                                .iter()
                                .map(|(n, _)| format!("{n}.tera"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                }
            }
        }
        Ok(Templates { tera })
    }

    /// Render template `name` with a serializable context.
    pub fn render<T: serde::Serialize>(&self, name: &str, ctx: &T) -> Result<String> {
        let ctx = tera::Context::from_serialize(ctx).context("building template context")?;
        self.tera
            .render(name, &ctx)
            .map_err(|e| anyhow::anyhow!("rendering template `{name}`: {e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_postinst_matches_dh_python3() {
        let t = Templates::load(None).unwrap();
        let out = t
            .render(
                "postinst",
                &json!({"package": "python3-foo", "private_dirs": []}),
            )
            .unwrap();
        assert!(out.starts_with("#!/bin/sh\nset -e\n"));
        assert!(out.contains("\tpy3compile -p python3-foo ||\n"), "{out}");
    }

    /// A module upstream ships that does not compile (facebook-business ships one) must not
    /// fail the postinst: py3compile's failure is reported, not fatal.
    #[test]
    fn postinst_survives_a_module_that_does_not_compile() {
        let t = Templates::load(None).unwrap();
        let script = t
            .render(
                "postinst",
                &json!({"package": "python3-foo", "private_dirs": []}),
            )
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("py3compile");
        std::fs::write(
            &bin,
            "#!/bin/sh
echo 'SyntaxError: invalid syntax' >&2
exit 1
",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("could not be byte-compiled"));
    }

    /// The maintainer scripts take only the package and its private directory: whatever
    /// else is in the context (a hostile file list) never reaches them, and they parse.
    #[test]
    fn maintainer_scripts_name_no_files_and_parse() {
        let t = Templates::load(None).unwrap();
        for dirs in [vec![], vec!["/usr/share/python3-foo"]] {
            let ctx = json!({
                "package": "python3-foo:amd64",
                "private_dirs": dirs,
                "files": ["usr/lib/python3/dist-packages/foo/$(touch PWNED).py"],
            });
            for name in ["postinst", "prerm"] {
                let out = t.render(name, &ctx).unwrap();
                assert!(
                    !out.contains("PWNED") && !out.contains("dist-packages/foo"),
                    "{out}"
                );
                assert!(out.contains(" -p python3-foo:amd64"), "{out}");
                for d in &dirs {
                    assert!(out.contains(&format!(" -p python3-foo:amd64 {d}")), "{out}");
                }
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join(name);
                std::fs::write(&path, &out).unwrap();
                let check = std::process::Command::new("sh")
                    .arg("-n")
                    .arg(&path)
                    .output()
                    .unwrap();
                assert!(
                    check.status.success(),
                    "{name}: {}",
                    String::from_utf8_lossy(&check.stderr)
                );
            }
        }
    }

    #[test]
    fn override_replaces_one_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("prerm.tera"),
            "#!/bin/sh\necho {{ package }}\n",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let out = t
            .render(
                "prerm",
                &json!({"package": "python3-x", "private_dirs": []}),
            )
            .unwrap();
        assert_eq!(out, "#!/bin/sh\necho python3-x\n");
        // Others keep their built-in text.
        let post = t
            .render(
                "postinst",
                &json!({"package": "python3-x", "private_dirs": []}),
            )
            .unwrap();
        assert!(post.contains("py3compile"));
    }

    #[test]
    fn unknown_override_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("postrm.tera"), "x").unwrap();
        let e = Templates::load(Some(dir.path())).err().unwrap().to_string();
        assert!(e.contains("postrm.tera"), "{e}");
    }
}
