//! Parsing of a distribution's core metadata (METADATA / PKG-INFO, Metadata-Version
//! 1.0–2.4 per the core metadata specification, PEP 566 and PEP 639), of
//! `entry_points.txt` (entry points specification) and of the `WHEEL` file (PEP 427).
//!
//! Only the fields py2deb uses are kept; unknown keys are ignored. Values that end up in
//! a Debian control file or a file name are validated here, so later stages can rely on
//! them being single-line and free of control characters.

use anyhow::{bail, Context, Result};
use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::Requirement;
use std::collections::HashSet;
use std::str::FromStr;

/// The parts of a distribution's core metadata that py2deb uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// `Metadata-Version`, e.g. `2.1`; empty when the field is absent.
    pub metadata_version: String,
    pub name: String,
    pub version: Version,
    pub summary: Option<String>,
    /// The long description (the header field or the message body).
    pub description: Option<String>,
    pub description_content_type: Option<String>,
    pub home_page: Option<String>,
    /// `Project-URL: Label, url` pairs in order.
    pub project_urls: Vec<(String, String)>,
    pub author: Option<String>,
    pub author_email: Option<String>,
    pub maintainer: Option<String>,
    pub maintainer_email: Option<String>,
    pub license: Option<String>,
    pub license_expression: Option<String>,
    pub license_files: Vec<String>,
    pub classifiers: Vec<String>,
    pub requires_dist: Vec<Requirement>,
    pub requires_python: Option<VersionSpecifiers>,
    pub provides_extra: Vec<String>,
}

/// One header field as read from the file: the text after the colon on the first line,
/// and the continuation lines verbatim (including their leading whitespace).
struct RawField {
    key: String,
    first: String,
    continuation: Vec<String>,
}

impl RawField {
    /// RFC 822 unfolding for fields that are semantically one line: the folds are
    /// whitespace, so the pieces are joined with a single space.
    fn single_line(&self) -> String {
        let mut value = self.first.trim().to_string();
        for line in &self.continuation {
            let line = line.trim();
            if !line.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(line);
            }
        }
        value
    }

    /// Unfolding for free-text fields (`Description`, `License`) where line breaks are
    /// meaningful. Writers indent each continuation line with 8 spaces, or with 7 spaces
    /// and a `|` so that blank and indented lines survive (core metadata spec); both
    /// prefixes are removed. Other indentation is removed as far as it is whitespace.
    fn multi_line(&self) -> String {
        let mut lines = vec![self.first.trim().to_string()];
        for line in &self.continuation {
            let stripped = if let Some(rest) = line.strip_prefix("        |") {
                rest
            } else if let Some(rest) = line.strip_prefix("       |") {
                rest
            } else if let Some(rest) = line.strip_prefix("        ") {
                rest
            } else {
                line.trim_start()
            };
            lines.push(stripped.trim_end().to_string());
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines.join("\n")
    }
}

/// Split an RFC 822 style message into header fields and the body. A line without a
/// colon ends the headers, as in Python's `email` parser (the blank separator line is
/// sometimes missing in hand-written PKG-INFO files).
fn parse_message(text: &str) -> Result<(Vec<RawField>, Option<String>)> {
    let text = text.replace("\r\n", "\n");
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut fields: Vec<RawField> = Vec::new();
    let lines = text.split('\n').enumerate().peekable();
    let mut body_start: Option<usize> = None;
    for (number, line) in lines {
        if line.is_empty() {
            body_start = Some(number + 1);
            break;
        }
        if line.starts_with([' ', '\t']) {
            match fields.last_mut() {
                Some(field) => field.continuation.push(line.to_string()),
                None => bail!(
                    "line {}: {line:?} is a continuation line but no field precedes it",
                    number + 1
                ),
            }
            continue;
        }
        match line.split_once(':') {
            Some((key, value)) if !key.is_empty() && !key.contains([' ', '\t']) => {
                fields.push(RawField {
                    key: key.to_ascii_lowercase(),
                    first: value.to_string(),
                    continuation: Vec::new(),
                })
            }
            _ => {
                body_start = Some(number);
                break;
            }
        }
    }
    let body = body_start.map(|start| {
        text.split('\n')
            .skip(start)
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_string()
    });
    Ok((fields, body.filter(|b| !b.trim().is_empty())))
}

/// Characters no metadata value may carry into a control file, man page, copyright or
/// changelog: C0 controls (tab excepted) and DEL corrupt the file or a terminal; C1
/// controls (NEL, U+0085, among them) and the line and paragraph separators U+2028/U+2029
/// are line breaks to Python's `str.splitlines`, which python-debian uses to read control
/// files, so `x<NEL>Depends: evil` would become a field there; bidirectional overrides
/// and isolates (U+202A–U+202E, U+2066–U+2069) make text display other than it reads.
pub fn is_unsafe_char(c: char) -> bool {
    let u = c as u32;
    (u < 0x20 && c != '\t')
        || (0x7f..=0x9f).contains(&u)
        || u == 0x2028
        || u == 0x2029
        || (0x202a..=0x202e).contains(&u)
        || (0x2066..=0x2069).contains(&u)
}

/// How [`is_unsafe_char`] names a character in an error message.
pub fn describe_unsafe_char(c: char) -> String {
    let u = c as u32;
    let kind = match u {
        0x85 => "the C1 control NEL (next line)",
        0x80..=0x9f => "a C1 control character",
        0x2028 => "the line separator",
        0x2029 => "the paragraph separator",
        0x202a..=0x202e | 0x2066..=0x2069 => "a bidirectional override",
        _ => "the control character",
    };
    format!("{kind} U+{u:04X}")
}

/// Refuse characters that would corrupt a Debian control file or a terminal (see
/// [`is_unsafe_char`]); the error names the field and quotes the value.
fn check_control_chars(field: &str, value: &str) -> Result<()> {
    if let Some(c) = value.chars().find(|&c| is_unsafe_char(c)) {
        bail!(
            "metadata field {field}: {value:?} contains {}; it must be a single line of \
             printable text",
            describe_unsafe_char(c)
        );
    }
    Ok(())
}

/// The same for free-text fields (`Description`, `License`), where line breaks, tabs and
/// form feeds (license texts use them between sections) are text.
fn check_free_text(field: &str, value: &str) -> Result<()> {
    if let Some(c) = value
        .chars()
        .find(|&c| c != '\n' && c != '\x0c' && is_unsafe_char(c))
    {
        let at = value.find(c).unwrap_or(0);
        let start = value[..at]
            .char_indices()
            .rev()
            .nth(30)
            .map_or(0, |(i, _)| i);
        let excerpt: String = value[start..].chars().take(60).collect();
        bail!(
            "metadata field {field} contains {} (near {excerpt:?}); remove it from the \
             project's metadata",
            describe_unsafe_char(c)
        );
    }
    Ok(())
}

impl Metadata {
    /// Parse METADATA text. Errors quote the bad field.
    pub fn parse(text: &str) -> Result<Metadata> {
        let (fields, body) = parse_message(text)?;

        let mut metadata_version = None;
        let mut name = None;
        let mut version = None;
        let mut summary = None;
        let mut description_header = None;
        let mut description_content_type = None;
        let mut home_page = None;
        let mut project_urls = Vec::new();
        let mut author = None;
        let mut author_email = None;
        let mut maintainer = None;
        let mut maintainer_email = None;
        let mut license = None;
        let mut license_expression = None;
        let mut license_files = Vec::new();
        let mut classifiers = Vec::new();
        let mut requires_dist = Vec::new();
        let mut requires_python = None;
        let mut provides_extra = Vec::new();

        // For single-use fields other than Name and Version the first occurrence wins,
        // as with Python's `email.message.Message.get`.
        fn first(slot: &mut Option<String>, field: &str, value: String) -> Result<()> {
            check_control_chars(field, &value)?;
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value);
            }
            Ok(())
        }

        for field in &fields {
            match field.key.as_str() {
                "metadata-version" => {
                    let value = field.single_line();
                    check_control_chars("Metadata-Version", &value)?;
                    if metadata_version.is_none() {
                        metadata_version = Some(value);
                    }
                }
                "name" => {
                    let value = field.single_line();
                    check_control_chars("Name", &value)?;
                    if name.is_some() {
                        bail!("metadata field Name: {value:?} appears more than once; it must appear exactly once");
                    }
                    if !crate::python::PackageName::is_valid(&value) {
                        bail!(
                            "metadata field Name: {value:?} is not a valid project name; it must be \
                             ASCII letters and digits, with '.', '_' or '-' between them (PEP 508)"
                        );
                    }
                    name = Some(value);
                }
                "version" => {
                    let value = field.single_line();
                    check_control_chars("Version", &value)?;
                    if version.is_some() {
                        bail!("metadata field Version: {value:?} appears more than once; it must appear exactly once");
                    }
                    let parsed = Version::from_str(&value).map_err(|e| {
                        anyhow::anyhow!(
                            "metadata field Version: {value:?} is not a valid PEP 440 version: {e}"
                        )
                    })?;
                    version = Some(parsed);
                }
                "summary" => first(&mut summary, "Summary", field.single_line())?,
                "description" if description_header.is_none() => {
                    let value = field.multi_line();
                    check_free_text("Description", &value)?;
                    description_header = Some(value);
                }
                "description-content-type" => first(
                    &mut description_content_type,
                    "Description-Content-Type",
                    field.single_line(),
                )?,
                "home-page" => first(&mut home_page, "Home-page", field.single_line())?,
                "project-url" => {
                    let value = field.single_line();
                    check_control_chars("Project-URL", &value)?;
                    let Some((label, url)) = value.split_once(',') else {
                        bail!(
                            "metadata field Project-URL: {value:?} must be `Label, URL` \
                             (a label, a comma, then the URL)"
                        );
                    };
                    let (label, url) = (label.trim(), url.trim());
                    if url.is_empty() {
                        bail!("metadata field Project-URL: {value:?} has an empty URL; it must be `Label, URL`");
                    }
                    project_urls.push((label.to_string(), url.to_string()));
                }
                "author" => first(&mut author, "Author", field.single_line())?,
                "author-email" => first(&mut author_email, "Author-email", field.single_line())?,
                "maintainer" => first(&mut maintainer, "Maintainer", field.single_line())?,
                "maintainer-email" => first(
                    &mut maintainer_email,
                    "Maintainer-email",
                    field.single_line(),
                )?,
                "license" if license.is_none() => {
                    let value = field.multi_line();
                    check_free_text("License", &value)?;
                    if !value.is_empty() {
                        license = Some(value);
                    }
                }
                "license-expression" => first(
                    &mut license_expression,
                    "License-Expression",
                    field.single_line(),
                )?,
                "license-file" => {
                    let value = field.single_line();
                    check_control_chars("License-File", &value)?;
                    if !value.is_empty() {
                        license_files.push(value);
                    }
                }
                "classifier" => {
                    let value = field.single_line();
                    check_control_chars("Classifier", &value)?;
                    if !value.is_empty() {
                        classifiers.push(value);
                    }
                }
                "requires-dist" => {
                    let value = field.single_line();
                    check_control_chars("Requires-Dist", &value)?;
                    requires_dist.push(crate::python::markers::parse_metadata_requirement(&value)?);
                }
                "requires-python" => {
                    let value = field.single_line();
                    check_control_chars("Requires-Python", &value)?;
                    if requires_python.is_none() && !value.is_empty() {
                        let parsed = VersionSpecifiers::from_str(&value).map_err(|e| {
                            anyhow::anyhow!(
                                "metadata field Requires-Python: {value:?} must be PEP 440 \
                                 version specifiers such as \">=3.8\": {e}"
                            )
                        })?;
                        requires_python = Some(parsed);
                    }
                }
                "provides-extra" => {
                    let value = field.single_line();
                    check_control_chars("Provides-Extra", &value)?;
                    if !value.is_empty() {
                        provides_extra.push(value);
                    }
                }
                _ => {}
            }
        }

        let metadata_version = metadata_version.unwrap_or_default();
        if !metadata_version.is_empty() {
            // The spec asks tools to refuse a major version they do not know.
            let major = metadata_version
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok());
            match major {
                Some(1 | 2) => {}
                Some(_) => bail!(
                    "Metadata-Version {metadata_version:?} is not supported; it must be 1.x or 2.x"
                ),
                None => {
                    bail!("Metadata-Version {metadata_version:?} must be a version such as \"2.1\"")
                }
            }
        }
        let Some(name) = name else {
            bail!("metadata has no Name field; it is required");
        };
        let Some(version) = version else {
            bail!("metadata for {name} has no Version field; it is required");
        };
        // Since Metadata-Version 2.1 the description may be the message body; prefer it,
        // since the header form is deprecated.
        let description = body.or(description_header).filter(|d| !d.trim().is_empty());
        if let Some(d) = &description {
            check_free_text("Description", d)?;
        }

        Ok(Metadata {
            metadata_version,
            name,
            version,
            summary,
            description,
            description_content_type,
            home_page,
            project_urls,
            author,
            author_email,
            maintainer,
            maintainer_email,
            license,
            license_expression,
            license_files,
            classifiers,
            requires_dist,
            requires_python,
            provides_extra,
        })
    }
}

/// One `name = module:attr` line of `entry_points.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub name: String,
    pub module: String,
    /// `attr` or `obj.attr`; None when the entry point names only a module.
    pub attr: Option<String>,
}

/// The script entry points of a wheel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPoints {
    pub console_scripts: Vec<EntryPoint>,
    pub gui_scripts: Vec<EntryPoint>,
}

/// A dotted sequence of Python identifiers (`pkg.mod`, `Class.method`).
fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// Longest program name accepted for `/usr/bin`.
pub const PROGRAM_NAME_MAX: usize = 100;

/// Why `name` cannot be a program in `/usr/bin`, if it cannot. Program names become file
/// names, man page titles and command words, so only a conservative pattern is accepted:
/// `[A-Za-z0-9][A-Za-z0-9._+-]*`, at most [`PROGRAM_NAME_MAX`] characters (so no `-rf`,
/// no quotes, no shell or roff syntax).
pub fn program_name_problem(name: &str) -> Option<String> {
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')));
    if name.is_empty() {
        Some("the name is empty".into())
    } else if name.chars().count() > PROGRAM_NAME_MAX {
        Some(format!(
            "the name is {} characters long, more than {PROGRAM_NAME_MAX}",
            name.chars().count()
        ))
    } else if let Some(c) = bad {
        Some(format!("the name contains {c:?}"))
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("the name must start with a letter or digit".into())
    } else {
        None
    }
}

/// Script names become `/usr/bin/<name>`, so they must be a plain, safe file name.
fn check_script_name(name: &str, line_no: usize, line: &str) -> Result<()> {
    if let Some(problem) = program_name_problem(name) {
        bail!(
            "entry_points.txt line {line_no}: {line:?}: script name {name:?} is refused: \
             {problem}; a program name for /usr/bin must be letters, digits and `. _ + -`, \
             start with a letter or digit and be at most {PROGRAM_NAME_MAX} characters"
        );
    }
    Ok(())
}

impl EntryPoints {
    /// Parse `entry_points.txt`. Only `[console_scripts]` and `[gui_scripts]` are read;
    /// other sections (plugin registrations) are skipped without inspection.
    pub fn parse(text: &str) -> Result<EntryPoints> {
        #[derive(PartialEq)]
        enum Section {
            None,
            Console,
            Gui,
            Other,
        }
        let text = text.replace("\r\n", "\n");
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut result = EntryPoints::default();
        let mut section = Section::None;
        let mut seen = HashSet::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line_no = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    bail!("entry_points.txt line {line_no}: {line:?} must be a section header like [console_scripts]");
                };
                section = match name.trim() {
                    "console_scripts" => Section::Console,
                    "gui_scripts" => Section::Gui,
                    _ => Section::Other,
                };
                continue;
            }
            match section {
                Section::Other => continue,
                Section::None => bail!(
                    "entry_points.txt line {line_no}: {line:?} is outside any section; entries \
                     must follow a header like [console_scripts]"
                ),
                Section::Console | Section::Gui => {}
            }
            let Some((name, value)) = line.split_once('=') else {
                bail!("entry_points.txt line {line_no}: {line:?} must be `name = module:attr`");
            };
            let name = name.trim();
            check_script_name(name, line_no, line)?;
            // `[extra1,extra2]` after the object reference is deprecated and only
            // meaningful to installers that resolve extras; it is dropped.
            let mut value = value.trim();
            if let Some(open) = value.find('[') {
                if !value.ends_with(']') {
                    bail!(
                        "entry_points.txt line {line_no}: {line:?}: the extras part must be \
                         `[extra, ...]` at the end"
                    );
                }
                value = value[..open].trim_end();
            }
            let (module, attr) = match value.split_once(':') {
                Some((module, attr)) => (module.trim(), Some(attr.trim())),
                None => (value, None),
            };
            if !is_dotted_identifier(module) {
                bail!(
                    "entry_points.txt line {line_no}: {line:?}: module {module:?} must be a \
                     dotted Python identifier such as `pkg.cli`"
                );
            }
            if let Some(attr) = attr {
                if !is_dotted_identifier(attr) {
                    bail!(
                        "entry_points.txt line {line_no}: {line:?}: object {attr:?} must be a \
                         dotted Python identifier such as `main` or `Cli.run`"
                    );
                }
            }
            // Console and GUI scripts share /usr/bin, so a name may be used only once.
            if !seen.insert(name.to_string()) {
                bail!(
                    "entry_points.txt line {line_no}: {line:?}: script {name:?} is defined \
                     more than once; each script name must be unique"
                );
            }
            let entry = EntryPoint {
                name: name.to_string(),
                module: module.to_string(),
                attr: attr.map(str::to_string),
            };
            if section == Section::Console {
                result.console_scripts.push(entry);
            } else {
                result.gui_scripts.push(entry);
            }
        }
        Ok(result)
    }
}

/// The `WHEEL` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelInfo {
    pub wheel_version: String,
    pub root_is_purelib: bool,
    pub tags: Vec<String>,
}

impl WheelInfo {
    /// Parse the `WHEEL` file. A Wheel-Version whose major number is above 1 is refused,
    /// as PEP 427 requires of installers.
    pub fn parse(text: &str) -> Result<WheelInfo> {
        let (fields, _) = parse_message(text)?;
        let mut wheel_version = None;
        let mut root_is_purelib = None;
        let mut tags = Vec::new();
        for field in &fields {
            let value = field.single_line();
            match field.key.as_str() {
                "wheel-version" if wheel_version.is_none() => wheel_version = Some(value),
                "root-is-purelib" if root_is_purelib.is_none() => {
                    root_is_purelib = Some(match value.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            bail!("WHEEL: Root-Is-Purelib {value:?} must be \"true\" or \"false\"")
                        }
                    })
                }
                "tag" => {
                    check_control_chars("Tag", &value)?;
                    if !value.is_empty() {
                        tags.push(value);
                    }
                }
                _ => {}
            }
        }
        let Some(wheel_version) = wheel_version else {
            bail!("WHEEL has no Wheel-Version field; it is required (PEP 427)");
        };
        let (major, minor) = wheel_version
            .split_once('.')
            .unwrap_or((&wheel_version, "0"));
        let major: u32 = major
            .parse()
            .ok()
            .filter(|_| minor.chars().all(|c| c.is_ascii_digit()) && !minor.is_empty())
            .with_context(|| {
                format!(
                    "WHEEL: Wheel-Version {wheel_version:?} must be `major.minor`, such as \"1.0\""
                )
            })?;
        if major != 1 {
            bail!(
                "WHEEL: Wheel-Version {wheel_version:?} is not supported; only 1.x wheels \
                 can be installed (PEP 427)"
            );
        }
        Ok(WheelInfo {
            wheel_version,
            root_is_purelib: root_is_purelib.unwrap_or(false),
            tags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "Metadata-Version: 2.4\r\n\
Name: Example_Pkg\r\n\
Version: 1.2.0rc1\r\n\
Summary: An example package\r\n\
Home-page: https://example.org\r\n\
Author: A. Person\r\n\
Author-email: A. Person <a@example.org>\r\n\
License-Expression: MIT OR Apache-2.0\r\n\
License-File: LICENSE-MIT\r\n\
License-File: licenses/LICENSE-APACHE\r\n\
Project-URL: Source, https://example.org/src\r\n\
Project-URL: Bug Tracker, https://example.org/issues\r\n\
Classifier: Programming Language :: Python :: 3\r\n\
Requires-Python: >=3.8\r\n\
Requires-Dist: requests[socks]>=2.0,<3; python_version >= \"3.8\"\r\n\
Requires-Dist: colorama; sys_platform == \"win32\"\r\n\
Requires-Dist: pytest; extra == \"test\"\r\n\
Provides-Extra: test\r\n\
X-Unknown: ignored\r\n\
Description-Content-Type: text/markdown\r\n\
\r\n\
# Example\r\n\
\r\n\
Body text.\r\n";

    #[test]
    fn full_metadata_2_4() {
        let m = Metadata::parse(FULL).unwrap();
        assert_eq!(m.metadata_version, "2.4");
        assert_eq!(m.name, "Example_Pkg");
        assert_eq!(m.version, Version::from_str("1.2.0rc1").unwrap());
        assert_eq!(m.summary.as_deref(), Some("An example package"));
        assert_eq!(m.home_page.as_deref(), Some("https://example.org"));
        assert_eq!(m.license_expression.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(m.license_files, ["LICENSE-MIT", "licenses/LICENSE-APACHE"]);
        assert_eq!(
            m.project_urls,
            [
                ("Source".to_string(), "https://example.org/src".to_string()),
                (
                    "Bug Tracker".to_string(),
                    "https://example.org/issues".to_string()
                ),
            ]
        );
        assert_eq!(m.classifiers, ["Programming Language :: Python :: 3"]);
        assert_eq!(m.requires_python.unwrap().to_string(), ">=3.8");
        assert_eq!(m.requires_dist.len(), 3);
        let requests = &m.requires_dist[0];
        assert_eq!(requests.name.as_ref(), "requests");
        assert_eq!(requests.extras.len(), 1);
        assert_eq!(requests.extras[0].as_ref(), "socks");
        assert!(!requests.marker.is_true());
        assert!(m.requires_dist[2].marker.top_level_extra().is_some());
        assert_eq!(m.provides_extra, ["test"]);
        assert_eq!(m.description_content_type.as_deref(), Some("text/markdown"));
        assert_eq!(m.description.as_deref(), Some("# Example\n\nBody text."));
        assert_eq!(m.license, None);
    }

    #[test]
    fn multi_line_description_header() {
        let text = "Metadata-Version: 1.1\n\
Name: old\n\
Version: 0.1\n\
Description: First line\n        second line\n       |\n       |    indented\n        last\n\
Home-page: UNKNOWN\n";
        let m = Metadata::parse(text).unwrap();
        assert_eq!(
            m.description.as_deref(),
            Some("First line\nsecond line\n\n    indented\nlast")
        );
        assert_eq!(m.summary, None);
        assert_eq!(m.home_page.as_deref(), Some("UNKNOWN"));
    }

    #[test]
    fn body_wins_over_header_description() {
        let text = "Metadata-Version: 2.1\nName: a\nVersion: 1\nDescription: old\n\nnew body\n";
        let m = Metadata::parse(text).unwrap();
        assert_eq!(m.description.as_deref(), Some("new body"));
    }

    #[test]
    fn folded_single_line_field_is_joined() {
        let text = "Metadata-Version: 2.1\nName: a\nVersion: 1\nSummary: one\n  two\n";
        let m = Metadata::parse(text).unwrap();
        assert_eq!(m.summary.as_deref(), Some("one two"));
    }

    #[test]
    fn invalid_requires_dist() {
        let text = "Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: foo >>= 1\n";
        let err = Metadata::parse(text).unwrap_err().to_string();
        assert!(err.contains("\"foo >>= 1\""), "{err}");
        assert!(err.contains("PEP 508 requirement"), "{err}");
    }

    #[test]
    fn invalid_version_is_quoted() {
        let text = "Metadata-Version: 2.1\nName: a\nVersion: one.two\n";
        let err = Metadata::parse(text).unwrap_err().to_string();
        assert!(
            err.contains("\"one.two\"") && err.contains("PEP 440"),
            "{err}"
        );
    }

    #[test]
    fn name_and_version_required() {
        assert!(Metadata::parse("Metadata-Version: 2.1\nVersion: 1\n").is_err());
        assert!(Metadata::parse("Metadata-Version: 2.1\nName: a\n").is_err());
    }

    #[test]
    fn control_characters_rejected() {
        for (field, value) in [
            ("Summary", "bad\u{1b}[31m"),
            ("Author", "nul\0"),
            ("Home-page", "x\u{7f}"),
            ("Project-URL", "Home, http://x/\u{7}"),
            ("License-Expression", "MIT\rEvil"),
        ] {
            let text = format!("Metadata-Version: 2.4\nName: a\nVersion: 1\n{field}: {value}\n");
            let err = Metadata::parse(&text).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
            assert!(err.contains("control character"), "{err}");
        }
        // Tabs are allowed.
        let m = Metadata::parse("Name: a\nVersion: 1\nSummary: a\tb\n").unwrap();
        assert_eq!(m.summary.as_deref(), Some("a\tb"));
    }

    #[test]
    fn bad_project_url_and_name() {
        let err = Metadata::parse("Name: a\nVersion: 1\nProject-URL: nocomma\n").unwrap_err();
        assert!(err.to_string().contains("\"nocomma\""), "{err}");
        let err = Metadata::parse("Name: a b\nVersion: 1\n").unwrap_err();
        assert!(err.to_string().contains("\"a b\""), "{err}");
        let err = Metadata::parse("Metadata-Version: 3.0\nName: a\nVersion: 1\n").unwrap_err();
        assert!(err.to_string().contains("3.0"), "{err}");
    }

    #[test]
    fn multi_line_license() {
        let text =
            "Name: a\nVersion: 1\nLicense: Copyright X\n        \n        Permission is granted\n";
        let m = Metadata::parse(text).unwrap();
        assert_eq!(
            m.license.as_deref(),
            Some("Copyright X\n\nPermission is granted")
        );
    }

    #[test]
    fn entry_points() {
        let text = "# comment\n[console_scripts]\nfoo = foo.cli:main\nfoo-x=foo.cli:Cli.run [extra1, extra2]\n\n\
[gui_scripts]\nfoo-gui = foo.gui\n\n[foo.plugins]\nwhatever = not valid :: at all\n";
        let ep = EntryPoints::parse(text).unwrap();
        assert_eq!(
            ep.console_scripts,
            [
                EntryPoint {
                    name: "foo".into(),
                    module: "foo.cli".into(),
                    attr: Some("main".into())
                },
                EntryPoint {
                    name: "foo-x".into(),
                    module: "foo.cli".into(),
                    attr: Some("Cli.run".into())
                },
            ]
        );
        assert_eq!(
            ep.gui_scripts,
            [EntryPoint {
                name: "foo-gui".into(),
                module: "foo.gui".into(),
                attr: None
            }]
        );
    }

    #[test]
    fn entry_point_errors_quote_line() {
        for bad in [
            "../evil = foo:main",
            "a/b = foo:main",
            ".hidden = foo:main",
            " = foo:main",
            "x = foo-bar:main",
            "x = foo:main()",
            "x = 1foo:main",
            "no equals sign",
        ] {
            let text = format!("[console_scripts]\n{bad}\n");
            let err = EntryPoints::parse(&text).unwrap_err().to_string();
            assert!(err.contains(&format!("{:?}", bad.trim())), "{bad}: {err}");
        }
        let err =
            EntryPoints::parse("[console_scripts]\na = m:f\n[gui_scripts]\na = m:g\n").unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");
    }

    #[test]
    fn wheel_info() {
        let text = "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.42.0)\nRoot-Is-Purelib: true\n\
Tag: py2-none-any\nTag: py3-none-any\n";
        let info = WheelInfo::parse(text).unwrap();
        assert_eq!(info.wheel_version, "1.0");
        assert!(info.root_is_purelib);
        assert_eq!(info.tags, ["py2-none-any", "py3-none-any"]);

        let err = WheelInfo::parse("Wheel-Version: 2.0\nRoot-Is-Purelib: false\n").unwrap_err();
        assert!(err.to_string().contains("\"2.0\""), "{err}");
        assert!(WheelInfo::parse("Root-Is-Purelib: false\n").is_err());
        assert!(WheelInfo::parse("Wheel-Version: 1.0\nRoot-Is-Purelib: maybe\n").is_err());
    }
}
