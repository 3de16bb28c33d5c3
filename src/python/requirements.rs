//! Requirement and constraint files in pip's format (pip's "Requirements File Format"):
//! `#` comments, `\` line continuations, `${VAR}` environment variables, nested
//! `-r`/`-c` files relative to the file naming them, the global options pip accepts in a
//! file (`--index-url`, `--extra-index-url`, `--find-links`, `--no-index`, `--no-binary`,
//! `--only-binary`, `--pre`, `--require-hashes`, `--prefer-binary`, `--trusted-host`), and
//! per-requirement `--hash=ALGO:HEX`. Markers are kept for the caller to evaluate for its
//! target. Every error names the file and line and quotes the text.

use std::path::{Path, PathBuf};

use pep508_rs::{Requirement, VerbatimUrl};

/// Files larger than this are not requirement files.
const MAX_FILE_BYTES: u64 = 16 << 20;
/// Deeper `-r` nesting than this is a loop or an attack.
const MAX_DEPTH: usize = 32;

/// Where a line came from (its first physical line, as pip reports it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A bad requirement file: where, what it says, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: `{text}`: {message}")]
pub struct RequirementsError {
    pub origin: Origin,
    pub text: String,
    pub message: String,
}

/// One requirement line.
#[derive(Debug, Clone)]
pub struct Line {
    pub requirement: Requirement<VerbatimUrl>,
    /// The requirement as written (after continuations and variables), without options.
    pub text: String,
    /// `--hash` values, `sha256:HEX`.
    pub hashes: Vec<String>,
    pub origin: Origin,
}

/// Global options collected from every file read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileOptions {
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    pub find_links: Vec<String>,
    pub no_index: bool,
    pub no_binary: Vec<String>,
    pub only_binary: Vec<String>,
    pub pre: bool,
    pub require_hashes: bool,
}

/// The requirements and constraints of a set of files, in reading order.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    pub requirements: Vec<Line>,
    pub constraints: Vec<Line>,
    pub options: FileOptions,
}

impl Requirements {
    /// Read `-r FILE` (`constraint == false`) or `-c FILE` (`true`), with its nested
    /// files, into `self`.
    pub fn read(&mut self, path: &Path, constraint: bool) -> Result<(), RequirementsError> {
        let env = |k: &str| std::env::var(k).ok();
        self.read_with(path, constraint, &env, &mut Vec::new())
    }

    /// [`Requirements::read`] with environment lookups through `env`.
    pub fn read_with(
        &mut self,
        path: &Path,
        constraint: bool,
        env: &dyn Fn(&str) -> Option<String>,
        stack: &mut Vec<PathBuf>,
    ) -> Result<(), RequirementsError> {
        let from = stack.last().cloned();
        let fail = |message: String| RequirementsError {
            origin: Origin {
                file: from.clone().unwrap_or_else(|| path.to_owned()),
                line: 0,
            },
            text: path.display().to_string(),
            message,
        };
        if stack.len() >= MAX_DEPTH {
            return Err(fail(format!(
                "requirement files nested more than {MAX_DEPTH} deep; remove the loop of -r/-c lines"
            )));
        }
        let canon = std::fs::canonicalize(path)
            .map_err(|e| fail(format!("cannot open the requirement file: {e}")))?;
        if stack.contains(&canon) {
            return Err(fail(
                "this file includes itself (through -r/-c); remove the loop".into(),
            ));
        }
        let meta = std::fs::metadata(&canon)
            .map_err(|e| fail(format!("cannot read the requirement file: {e}")))?;
        if !meta.is_file() {
            return Err(fail("is not a file; give a requirements file".into()));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(fail(format!(
                "is {} bytes, more than a requirement file can be ({MAX_FILE_BYTES})",
                meta.len()
            )));
        }
        let bytes = std::fs::read(&canon)
            .map_err(|e| fail(format!("cannot read the requirement file: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            fail(format!(
                "is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        stack.push(canon);
        let result = self.parse_text(&text, path, constraint, env, stack);
        stack.pop();
        result
    }

    /// Parse the text of `file` (nested paths are relative to its directory).
    pub fn parse_text(
        &mut self,
        text: &str,
        file: &Path,
        constraint: bool,
        env: &dyn Fn(&str) -> Option<String>,
        stack: &mut Vec<PathBuf>,
    ) -> Result<(), RequirementsError> {
        for (line_no, logical) in logical_lines(text) {
            let origin = Origin {
                file: file.to_owned(),
                line: line_no,
            };
            let err = |message: String| RequirementsError {
                origin: origin.clone(),
                text: logical.trim().to_owned(),
                message,
            };
            let stripped = strip_comment(&logical);
            let line = substitute_env(stripped, env).map_err(err)?;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with('-') {
                self.option(line, file, constraint, env, stack)
                    .map_err(err)?;
                continue;
            }
            let parsed = parse_requirement_line(line).map_err(err)?;
            let entry = Line {
                requirement: parsed.0,
                text: parsed.1,
                hashes: parsed.2,
                origin,
            };
            if constraint {
                self.constraints.push(entry);
            } else {
                self.requirements.push(entry);
            }
        }
        Ok(())
    }

    fn option(
        &mut self,
        line: &str,
        file: &Path,
        constraint: bool,
        env: &dyn Fn(&str) -> Option<String>,
        stack: &mut Vec<PathBuf>,
    ) -> Result<(), String> {
        let (name, value) = split_option(line)?;
        let need = |v: Option<&str>| -> Result<String, String> {
            match v {
                Some(v) if !v.is_empty() => Ok(v.to_owned()),
                _ => Err(format!("`{name}` needs a value")),
            }
        };
        let relative = |v: &str| -> PathBuf {
            let p = Path::new(v);
            if p.is_absolute() {
                p.to_owned()
            } else {
                file.parent().unwrap_or(Path::new(".")).join(p)
            }
        };
        match name {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                let v = need(value)?;
                if v.contains("://") {
                    return Err(
                        "requirement files from URLs are not read; download the file and name it"
                            .into(),
                    );
                }
                // A file included from a constraint file holds constraints too, as pip has it.
                let nested_constraint = constraint || matches!(name, "-c" | "--constraint");
                self.read_with(&relative(&v), nested_constraint, env, stack)
                    .map_err(|e| e.to_string())?;
            }
            "-i" | "--index-url" => self.options.index_url = Some(need(value)?),
            "--extra-index-url" => self.options.extra_index_urls.push(need(value)?),
            "-f" | "--find-links" => {
                let v = need(value)?;
                let v = if v.contains("://") {
                    v
                } else {
                    relative(&v).display().to_string()
                };
                self.options.find_links.push(v);
            }
            "--no-index" => self.options.no_index = true,
            "--pre" => self.options.pre = true,
            "--require-hashes" => self.options.require_hashes = true,
            "--prefer-binary" => {}
            "--trusted-host" => {
                need(value)?;
            }
            "--no-binary" => self
                .options
                .no_binary
                .extend(need(value)?.split(',').map(|s| s.trim().to_owned())),
            "--only-binary" => self
                .options
                .only_binary
                .extend(need(value)?.split(',').map(|s| s.trim().to_owned())),
            "-e" | "--editable" => {
                return Err(
                    "editable requirements are not packages; give the project directory to `py2deb build` instead"
                        .into(),
                )
            }
            other => {
                return Err(format!(
                    "`{other}` is not an option pip accepts in a requirement file (see pip's Requirements File Format)"
                ))
            }
        }
        Ok(())
    }

    /// pip's `--require-hashes` mode, on as soon as one requirement has a hash: every
    /// requirement must then be pinned with `==` (or `===`) and carry a hash.
    pub fn check_hashes(&self) -> Result<(), RequirementsError> {
        let on =
            self.options.require_hashes || self.requirements.iter().any(|l| !l.hashes.is_empty());
        if !on {
            return Ok(());
        }
        for l in &self.requirements {
            let err = |message: &str| RequirementsError {
                origin: l.origin.clone(),
                text: l.text.clone(),
                message: message.to_owned(),
            };
            if l.hashes.is_empty() {
                return Err(err("hashes are required in this mode (--require-hashes, or another requirement has --hash); add --hash=sha256:HEX"));
            }
            let pinned = match &l.requirement.version_or_url {
                Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) => {
                    s.iter().count() == 1
                        && s.iter().all(|v| {
                            matches!(
                                v.operator(),
                                pep440_rs::Operator::Equal | pep440_rs::Operator::ExactEqual
                            ) && !v.to_string().contains('*')
                        })
                }
                _ => false,
            };
            if !pinned {
                return Err(err(
                    "a hashed requirement must be pinned to one version with == (e.g. name==1.2.3)",
                ));
            }
        }
        Ok(())
    }
}

/// Physical lines joined at trailing backslashes, numbered by their first line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (start, mut acc) = current.take().unwrap_or((i + 1, String::new()));
        if let Some(head) = raw.strip_suffix('\\') {
            acc.push_str(head);
            current = Some((start, acc));
        } else {
            acc.push_str(raw);
            out.push((start, acc));
        }
    }
    if let Some(c) = current {
        out.push(c);
    }
    out
}

/// pip: `#` starts a comment at the start of a line or after whitespace.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// pip substitutes `${NAME}` (upper-case letters, digits, underscore) only.
fn substitute_env(line: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            match env(name) {
                Some(v) => out.push_str(&v),
                None => {
                    return Err(format!(
                        "environment variable {name} is not set; set it or write the value"
                    ))
                }
            }
        } else {
            out.push_str(&rest[i..i + 3 + end]);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `--name=value`, `--name value`, `-r value`, `-rvalue`.
fn split_option(line: &str) -> Result<(&str, Option<&str>), String> {
    let (name, value) = match line.split_once(|c: char| c == '=' || c.is_whitespace()) {
        Some((n, v)) => (n, Some(v.trim())),
        None => (line, None),
    };
    if !name.starts_with("--") && name.len() > 2 {
        // Short option with its value attached (`-rfile.txt`).
        let (n, v) = name.split_at(2);
        if value.is_none() {
            return Ok((n, Some(v)));
        }
        return Err(format!(
            "`{name}` is not an option; a short option takes its value after a space"
        ));
    }
    Ok((name, value))
}

type Parsed = (Requirement<VerbatimUrl>, String, Vec<String>);

/// A requirement followed by per-requirement options (`--hash`).
fn parse_requirement_line(line: &str) -> Result<Parsed, String> {
    // Per-requirement options start at the first ` --`.
    let (req_text, opts) = match line.find(" --").or_else(|| line.find("\t--")) {
        Some(i) => (line[..i].trim(), line[i..].trim()),
        None => (line, ""),
    };
    let mut hashes = Vec::new();
    let mut words = opts.split_whitespace().peekable();
    while let Some(w) = words.next() {
        let (name, value) = match w.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (w, words.next().map(str::to_owned)),
        };
        match name {
            "--hash" => {
                let v = value.ok_or("`--hash` needs a value, e.g. --hash=sha256:HEX")?;
                let (algo, hex) = v
                    .split_once(':')
                    .ok_or_else(|| format!("`--hash={v}` must be ALGO:HEX, e.g. sha256:…"))?;
                let want = match algo {
                    "sha256" => 64,
                    "sha384" => 96,
                    "sha512" => 128,
                    _ => {
                        return Err(format!(
                            "`--hash={v}`: the algorithm must be sha256, sha384 or sha512"
                        ))
                    }
                };
                if hex.len() != want || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!(
                        "`--hash={v}` must have {want} hexadecimal digits after `{algo}:`"
                    ));
                }
                hashes.push(format!("{algo}:{}", hex.to_ascii_lowercase()));
            }
            "--config-settings" | "--global-option" | "--install-option" => {
                return Err(format!(
                    "`{name}` changes how pip builds and installs; py2deb does not support it"
                ))
            }
            other => {
                return Err(format!(
                    "`{other}` is not an option pip accepts after a requirement (only --hash)"
                ))
            }
        }
    }
    if req_text.starts_with('.')
        || req_text.starts_with('/')
        || (req_text.contains("://") && !req_text.contains('@'))
    {
        return Err(
            "a file or URL in a requirement file is not supported; give it to `py2deb build` directly or name the project"
                .into(),
        );
    }
    // One parser for every requirement py2deb reads (it refuses what pep508_rs would
    // accept but cannot evaluate).
    let req = crate::python::markers::parse_requirement(req_text).map_err(|e| format!("{e:#}"))?;
    Ok((req, req_text.to_owned(), hashes))
}

/// Constraints narrowed onto the requirements they name: each requirement gets the
/// specifiers of the constraints for its project (PEP 503 names), as pip applies them to
/// what it installs. Returns the requirement texts.
pub fn apply_constraints(reqs: &Requirements) -> Result<Vec<String>, RequirementsError> {
    let mut out = Vec::new();
    for l in &reqs.requirements {
        let name = crate::python::PackageName::from(&l.requirement.name);
        let mut text = l.requirement.name.to_string();
        if !l.requirement.extras.is_empty() {
            let extras: Vec<String> = l.requirement.extras.iter().map(|e| e.to_string()).collect();
            text.push_str(&format!("[{}]", extras.join(",")));
        }
        let mut specs: Vec<String> = Vec::new();
        if let Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) = &l.requirement.version_or_url {
            specs.extend(s.iter().map(|v| v.to_string()));
        }
        for c in &reqs.constraints {
            if crate::python::PackageName::from(&c.requirement.name) != name {
                continue;
            }
            match &c.requirement.version_or_url {
                Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) => {
                    specs.extend(s.iter().map(|v| v.to_string()))
                }
                Some(pep508_rs::VersionOrUrl::Url(_)) => {
                    return Err(RequirementsError {
                        origin: c.origin.clone(),
                        text: c.text.clone(),
                        message: "a constraint must be a version specifier, not a URL".into(),
                    })
                }
                None => {}
            }
        }
        if !specs.is_empty() {
            text.push_str(&specs.join(","));
        }
        out.push(text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> Result<Requirements, RequirementsError> {
        let mut r = Requirements::default();
        r.parse_text(
            text,
            Path::new("requirements.txt"),
            false,
            &no_env,
            &mut Vec::new(),
        )?;
        Ok(r)
    }

    #[test]
    fn comments_and_continuations() {
        let r = parse("# a comment\nrequests>=2 # trailing\n\\\n  black\\\n==24.1.0\nurl#fragment-is-not-a-comment==1\n").unwrap_err();
        // `url#fragment` has no space before #: it stays, and is no valid requirement.
        assert_eq!(r.origin.line, 6, "{r}");
        let r = parse("# a comment\nrequests>=2 # trailing\nblack\\\n==24.1.0\n").unwrap();
        let t: Vec<&str> = r.requirements.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(t, ["requests>=2", "black==24.1.0"]);
        assert_eq!(r.requirements[1].origin.line, 3);
    }

    #[test]
    fn env_variables_are_pips_form_only() {
        let env = |k: &str| (k == "VERSION").then(|| "1.2".to_owned());
        assert_eq!(substitute_env("x==${VERSION}", &env).unwrap(), "x==1.2");
        assert_eq!(substitute_env("x==$VERSION", &env).unwrap(), "x==$VERSION");
        assert_eq!(substitute_env("${lower}", &env).unwrap(), "${lower}");
        assert!(substitute_env("${MISSING}", &env)
            .unwrap_err()
            .contains("MISSING"));
    }

    #[test]
    fn hash_lines_and_their_checks() {
        let r = parse(
            "FooProject == 1.2 --hash=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 \\\n    --hash=sha256:486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7\n",
        )
        .unwrap();
        assert_eq!(r.requirements[0].hashes.len(), 2);
        r.check_hashes().unwrap();
        let r = parse("a==1 --hash=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nb>=2\n").unwrap();
        let e = r.check_hashes().unwrap_err().to_string();
        assert!(
            e.starts_with("requirements.txt:2: `b>=2`: hashes are required"),
            "{e}"
        );
        let r = parse("--require-hashes\na>=1 --hash=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n").unwrap();
        assert!(r.check_hashes().unwrap_err().to_string().contains("pinned"));
        let e = parse("a==1 --hash=md5:abc\n").unwrap_err().to_string();
        assert!(e.contains("md5:abc") && e.contains("sha256"), "{e}");
    }

    #[test]
    fn options_inside_files() {
        let r = parse("--index-url https://example.org/simple\n--extra-index-url=https://x.org/simple\n-f ./wheels\n--no-binary :all:\n--pre\nx\n").unwrap();
        assert_eq!(
            r.options.index_url.as_deref(),
            Some("https://example.org/simple")
        );
        assert_eq!(r.options.extra_index_urls, ["https://x.org/simple"]);
        assert_eq!(r.options.find_links, ["./wheels"]);
        assert_eq!(r.options.no_binary, [":all:"]);
        assert!(r.options.pre);
    }

    #[test]
    fn hostile_requirements_unknown_option_and_editable() {
        let e = parse("--frobnicate\n").unwrap_err().to_string();
        assert!(e.contains("requirements.txt:1: `--frobnicate`"), "{e}");
        let e = parse("\n-e .\n").unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("editable"), "{e}");
        let e = parse("x==1 --install-option=--prefix=/\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--install-option"), "{e}");
        let e = parse("./downloads/numpy-1.9.2-cp34-none-win32.whl\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("numpy-1.9.2") && e.contains("py2deb build"),
            "{e}"
        );
    }

    #[test]
    fn pips_documented_example() {
        // pip's "Example requirements file", without its file and URL lines.
        let text = "###### Requirements without Version Specifiers ######\npytest\npytest-cov\nbeautifulsoup4\n\n###### Requirements with Version Specifiers ######\n#   See https://www.python.org/dev/peps/pep-0440/#version-specifiers\ndocopt == 0.6.1             # Version Matching. Must be version 0.6.1\nkeyring >= 4.1.1            # Minimum version 4.1.1\ncoverage != 3.5             # Version Exclusion. Anything except version 3.5\nMopidy-Dirble ~= 1.1        # Compatible release. Same as >= 1.1, == 1.*\n\n###### Additional Requirements without Version Specifiers ######\n#   Same as 1st section, just here to show that you can put things in any order.\nrejected\ngreen\nSomeProject ==5.4 ; python_version < '3.8'\nSomeProject; sys_platform == 'win32'\n";
        let r = parse(text).unwrap();
        let names: Vec<String> = r
            .requirements
            .iter()
            .map(|l| l.requirement.name.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "pytest",
                "pytest-cov",
                "beautifulsoup4",
                "docopt",
                "keyring",
                "coverage",
                "mopidy-dirble",
                "rejected",
                "green",
                "someproject",
                "someproject"
            ]
        );
        assert_eq!(r.requirements[3].text, "docopt == 0.6.1");
        assert_eq!(r.requirements[3].origin.line, 8);
        assert!(!r.requirements[9].requirement.marker.is_true());
    }

    #[test]
    fn nested_files_relative_paths_and_loops() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        std::fs::write(
            tmp.path().join("req.txt"),
            "-r sub/more.txt\n-c constraints.txt\nblack\n",
        )
        .unwrap();
        std::fs::write(tmp.path().join("sub/more.txt"), "requests\n").unwrap();
        std::fs::write(
            tmp.path().join("constraints.txt"),
            "black<25\nrequests==2.31.0\n",
        )
        .unwrap();
        let mut r = Requirements::default();
        r.read(&tmp.path().join("req.txt"), false).unwrap();
        let t: Vec<&str> = r.requirements.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(t, ["requests", "black"]);
        assert_eq!(r.constraints.len(), 2);
        assert_eq!(
            apply_constraints(&r).unwrap(),
            ["requests==2.31.0", "black<25"]
        );

        std::fs::write(tmp.path().join("loop.txt"), "-r loop.txt\n").unwrap();
        let e = Requirements::default()
            .read(&tmp.path().join("loop.txt"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("loop"), "{e}");
        let e = Requirements::default()
            .read(&tmp.path().join("missing.txt"), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing.txt") && e.contains("cannot open"),
            "{e}"
        );
        std::fs::write(tmp.path().join("bin.txt"), b"\xff\xfe\n").unwrap();
        let e = Requirements::default()
            .read(&tmp.path().join("bin.txt"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("UTF-8"), "{e}");
    }
}
