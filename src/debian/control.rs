//! Binary package control files (Debian Policy §5.3, §5.6): typed fields in dpkg's order,
//! values that cannot carry field syntax, and the Description rules of §5.6.13.
//!
//! Also turns upstream metadata text (a Summary, a Markdown/reStructuredText README) into
//! a synopsis and a short plain-text extended description.

use crate::debian::relation::Relations;
use anyhow::{bail, Result};
use regex::Regex;
use std::io::Write;
use std::sync::LazyLock;

/// The synopsis and extended description of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// One line, no trailing period, under 80 characters.
    pub synopsis: String,
    /// Plain-text paragraphs; rendered with a leading space per line and ` .` for blank
    /// lines.
    pub extended: Vec<String>,
}

/// The control paragraph of a binary package, typed field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryControl {
    pub package: String,
    /// Full Debian version (`1:1.0~rc1-0py2deb1`).
    pub version: String,
    pub architecture: String,
    pub maintainer: String,
    /// Filled by the writer from the data it wrote (KiB, dpkg's rule).
    pub installed_size: Option<u64>,
    pub depends: Relations,
    pub recommends: Relations,
    pub conflicts: Relations,
    pub breaks: Relations,
    pub replaces: Relations,
    pub provides: Relations,
    pub section: String,
    pub priority: String,
    pub homepage: Option<String>,
    pub description: Description,
}

/// Width, including the leading space, at which extended description lines are folded.
const FOLD_WIDTH: usize = 79;

impl BinaryControl {
    /// A `python`-section, `optional`-priority paragraph with no relations yet.
    pub fn new(
        package: String,
        version: String,
        architecture: String,
        maintainer: String,
        description: Description,
    ) -> Self {
        BinaryControl {
            package,
            version,
            architecture,
            maintainer,
            installed_size: None,
            depends: Relations::default(),
            recommends: Relations::default(),
            conflicts: Relations::default(),
            breaks: Relations::default(),
            replaces: Relations::default(),
            provides: Relations::default(),
            section: "python".into(),
            priority: "optional".into(),
            homepage: None,
            description,
        }
    }

    /// Write the paragraph. Every value is checked for newlines/control characters
    /// (rejected, naming the field) so metadata text cannot inject a field.
    pub fn write_to(&self, out: &mut dyn Write) -> Result<()> {
        let text = self.render()?;
        out.write_all(text.as_bytes())?;
        Ok(())
    }

    /// The paragraph as text, after validating every value.
    pub fn render(&self) -> Result<String> {
        validate_package_name(&self.package)?;
        let mut fields: Vec<(&str, String)> = Vec::new();
        let required = [
            ("Package", &self.package),
            ("Version", &self.version),
            ("Architecture", &self.architecture),
            ("Maintainer", &self.maintainer),
        ];
        for (name, value) in required {
            if value.trim().is_empty() {
                bail!("field {name} of package {} is empty", self.package);
            }
            fields.push((name, value.clone()));
        }
        if let Some(size) = self.installed_size {
            fields.push(("Installed-Size", size.to_string()));
        }
        let relations = [
            ("Depends", &self.depends),
            ("Recommends", &self.recommends),
            ("Conflicts", &self.conflicts),
            ("Breaks", &self.breaks),
            ("Replaces", &self.replaces),
            ("Provides", &self.provides),
        ];
        for (name, rel) in relations {
            if !rel.is_empty() {
                fields.push((name, rel.to_string()));
            }
        }
        for (name, value) in [("Section", &self.section), ("Priority", &self.priority)] {
            if !value.trim().is_empty() {
                fields.push((name, value.clone()));
            }
        }
        if let Some(home) = self.homepage.as_ref().filter(|h| !h.trim().is_empty()) {
            fields.push(("Homepage", home.clone()));
        }

        let mut text = String::new();
        for (name, value) in &fields {
            self.check_line(name, value)?;
            text.push_str(&format!("{name}: {}\n", value.trim()));
        }

        let synopsis = self.description.synopsis.trim();
        if synopsis.is_empty() {
            bail!(
                "the Description synopsis of package {} is empty",
                self.package
            );
        }
        self.check_line("Description", synopsis)?;
        text.push_str(&format!("Description: {synopsis}\n"));
        text.push_str(&self.render_extended()?);
        Ok(text)
    }

    fn check_line(&self, field: &str, value: &str) -> Result<()> {
        if let Some(c) = value.chars().find(|&c| is_control(c)) {
            let what = if c == '\n' || c == '\r' {
                "a line break".to_owned()
            } else {
                crate::python::metadata::describe_unsafe_char(c)
            };
            bail!(
                "field {field} of package {} contains {what} ({c:?}), which could inject \
                 control-file syntax: {:?}",
                self.package,
                value
            );
        }
        Ok(())
    }

    /// The continuation lines of Description (§5.6.13): one leading space, ` .` between
    /// paragraphs, folded on word boundaries.
    fn render_extended(&self) -> Result<String> {
        let mut lines: Vec<String> = Vec::new();
        for para in &self.description.extended {
            let para = para.replace('\t', " ");
            if let Some(c) = para.chars().find(|&c| c != '\n' && is_control(c)) {
                bail!(
                    "the extended Description of package {} contains the control character {c:?}",
                    self.package
                );
            }
            let mut para_lines = Vec::new();
            let mut pending_blank = false;
            for line in para.lines() {
                if line.trim().is_empty() {
                    pending_blank = !para_lines.is_empty();
                    continue;
                }
                if pending_blank {
                    para_lines.push(" .".to_string());
                    pending_blank = false;
                }
                // The first line may not start with two spaces (lintian
                // `description-starts-with-leading-spaces`); one item at the top stays
                // unindented, which lintian accepts for a single line.
                let first = lines.is_empty() && para_lines.is_empty();
                if is_list_item(line) && !first {
                    // lintian `possible-unindented-list-in-extended-description`: list
                    // items get a second leading space (shown verbatim), their folded
                    // continuation lines line up under the text.
                    for (k, row) in fold(line.trim_start(), FOLD_WIDTH - 3)
                        .into_iter()
                        .enumerate()
                    {
                        para_lines.push(format!("{}{row}", if k == 0 { " " } else { "   " }));
                    }
                } else {
                    para_lines.extend(fold(line, FOLD_WIDTH));
                }
            }
            if para_lines.is_empty() {
                continue;
            }
            if !lines.is_empty() {
                lines.push(" .".to_string());
            }
            lines.extend(para_lines);
        }
        let mut out = String::new();
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        Ok(out)
    }
}

/// `* item`, `- item`, `+ item`, `1. item`: a line of a list.
fn is_list_item(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("* ") || t.starts_with("- ") || t.starts_with("+ ") {
        return true;
    }
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && (t[digits..].starts_with(". ") || t[digits..].starts_with(") "))
}

/// C0 controls (tab included), DEL, C1 controls, the Unicode line and paragraph
/// separators and bidirectional overrides: none belongs in a control field value, and
/// the line breaks among them split a field for readers such as python-debian.
fn is_control(c: char) -> bool {
    c == '\t' || crate::python::metadata::is_unsafe_char(c)
}

/// Fold one logical line into continuation lines (each starting with a space) of at most
/// `width` characters, breaking only between words. A word longer than the width (a URL)
/// gets a line of its own. No line may start with `.` after the space: Policy reserves
/// ` .text` lines, so such a word is kept with the word before it, and only a line with
/// nothing to join gets a second leading space (shown verbatim, which is harmless).
fn fold(line: &str, width: usize) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut rows: Vec<Vec<&str>> = Vec::new();
    let mut len = 0usize;
    for w in words {
        let wl = w.chars().count();
        match rows.last_mut() {
            Some(row) if 1 + len + 1 + wl <= width => {
                row.push(w);
                len += 1 + wl;
            }
            _ => {
                let mut row = vec![w];
                len = wl;
                if w.starts_with('.') {
                    if let Some(prev) = rows.last_mut().filter(|r| r.len() > 1) {
                        let moved = prev.pop().unwrap_or_default();
                        len += moved.chars().count() + 1;
                        row.insert(0, moved);
                    }
                }
                rows.push(row);
            }
        }
    }
    rows.into_iter()
        .map(|row| {
            let text = row.join(" ");
            if text.starts_with('.') {
                format!("  {text}")
            } else {
                format!(" {text}")
            }
        })
        .collect()
}

/// Policy §5.6.1: lowercase letters, digits, `+ - .`, at least two characters, starting
/// alphanumeric. Errors quote the name and say what it must be.
pub fn validate_package_name(name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    let ok_start = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok_chars || !ok_start || name.len() < 2 {
        bail!(
            "`{}` is not a valid Debian package name: it must be at least two characters of \
             lowercase letters (a-z), digits (0-9), `+`, `-` and `.`, starting with a letter \
             or digit",
            name.escape_debug()
        );
    }
    Ok(())
}

/// Longest synopsis (lintian flags longer ones).
const SYNOPSIS_MAX: usize = 80;

/// A synopsis from a Summary: one line, trimmed, no trailing period, at most 80 chars.
pub fn synopsis(summary: &str) -> String {
    let collapsed = summary
        .split(|c: char| c.is_whitespace() || is_control(c))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut s = collapsed.as_str();
    if s.chars().count() > SYNOPSIS_MAX {
        let cut = s
            .char_indices()
            .nth(SYNOPSIS_MAX)
            .map_or(s.len(), |(i, _)| i);
        // Cut at the last space that keeps the text within the limit; a single giant
        // word is cut hard.
        s = if s[cut..].starts_with(' ') {
            &s[..cut]
        } else {
            match s[..cut].rfind(' ') {
                Some(sp) if sp > 0 => &s[..sp],
                _ => &s[..cut],
            }
        };
        s = s.trim_end_matches([',', ';', ':', '-', '(', '/', '&', ' ']);
    }
    s.trim_end_matches(['.', ' ']).to_string()
}

/// Total size budget of the plain extended description, in characters.
const DESCRIPTION_BUDGET: usize = 600;
/// Most paragraphs kept from a README.
const MAX_PARAGRAPHS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Markup {
    Markdown,
    Rst,
    Plain,
}

fn markup_of(long: &str, content_type: Option<&str>) -> Markup {
    let ct = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "text/markdown" => Markup::Markdown,
        "text/x-rst" => Markup::Rst,
        "text/plain" => Markup::Plain,
        // No declared type: core metadata says reStructuredText, but many projects ship a
        // Markdown README without saying so. Sniff for the telltale constructs.
        _ => {
            static MD: LazyLock<Regex> = LazyLock::new(|| {
                Regex::new(r"(?m)^(#{1,6} |```|~~~)|\]\([^)]*\)|^\s*[-*] \[").unwrap()
            });
            static RST: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"(?m)^\.\. |^[=\-~^]{3,}\s*$|`_|::\s*$").unwrap());
            if MD.is_match(long) {
                Markup::Markdown
            } else if RST.is_match(long) {
                Markup::Rst
            } else {
                Markup::Plain
            }
        }
    }
}

/// Turn a project's long description (Markdown, reStructuredText or plain) into a few
/// short plain-text paragraphs: markup, badges, images, links and code blocks stripped.
pub fn plain_description(long: &str, content_type: Option<&str>) -> Vec<String> {
    let markup = markup_of(long, content_type);
    let text = long
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\t', "    ");
    let text = strip_html_comments(&text);
    let blocks = match markup {
        Markup::Markdown => markdown_blocks(&text),
        Markup::Rst => rst_blocks(&text),
        Markup::Plain => plain_blocks(&text),
    };

    let mut out: Vec<String> = Vec::new();
    let mut used = 0usize;
    let mut skipping_section = false;
    for block in blocks {
        let para = match block {
            Block::Heading(title) => {
                skipping_section = is_boilerplate_heading(&title);
                continue;
            }
            Block::Para(p) => p,
        };
        if skipping_section || looks_like_code(&para) {
            continue;
        }
        let inline = match markup {
            // pulldown-cmark already removed inline markup and decoded entities.
            Markup::Markdown => para.clone(),
            Markup::Rst => rst_inline(&para),
            Markup::Plain => para.clone(),
        };
        let Some(clean) = finish_paragraph(&inline) else {
            continue;
        };
        let len = clean.chars().count();
        if used + len > DESCRIPTION_BUDGET {
            if let Some(cut) = cut_at_sentence(&clean, DESCRIPTION_BUDGET.saturating_sub(used)) {
                out.push(cut);
            }
            break;
        }
        used += len;
        out.push(clean);
        if out.len() == MAX_PARAGRAPHS {
            break;
        }
    }
    out
}

/// A structural piece of a README.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Heading(String),
    /// Raw paragraph lines (inline markup still present), joined with `\n`.
    Para(String),
}

/// Sections whose content is instructions or project housekeeping, not a description.
fn is_boilerplate_heading(title: &str) -> bool {
    let t = title
        .trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    const WORDS: [&str; 24] = [
        "install",
        "installation",
        "installing",
        "usage",
        "quick start",
        "quickstart",
        "getting started",
        "example",
        "examples",
        "license",
        "licence",
        "contributing",
        "contribute",
        "development",
        "changelog",
        "changes",
        "history",
        "table of contents",
        "contents",
        "toc",
        "authors",
        "credits",
        "requirements",
        "testing",
    ];
    WORDS
        .iter()
        .any(|w| t == *w || t.starts_with(&format!("{w} ")))
}

/// Shell sessions and doctests that were not marked up as code.
fn looks_like_code(para: &str) -> bool {
    let first = para.trim_start();
    ["$ ", ">>> ", "pip install", "% ", "import ", "from "]
        .iter()
        .any(|p| first.starts_with(p) && (p.len() > 2 || !first.contains(". ")))
}

fn strip_html_comments(s: &str) -> String {
    static RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<!--.*?(-->|\z)").unwrap());
    RE.replace_all(s, "").into_owned()
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Group non-blank lines into paragraphs; no markup knowledge at all.
fn plain_blocks(text: &str) -> Vec<Block> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Block::Para(p.to_string()))
        .collect()
}

/// Markdown (CommonMark with GitHub's tables, strikethrough and task lists, as PyPI
/// renders `text/markdown`) as headings and plain paragraphs, parsed by pulldown-cmark:
/// code blocks, tables, HTML and images (badges) go entirely, links keep their text, list
/// items become `* item` lines of one paragraph.
fn markdown_blocks(text: &str) -> Vec<Block> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut blocks = Vec::new();
    let mut current = String::new();
    let mut heading = false;
    // Inside a list, paragraphs of its items belong to the list's one paragraph.
    let mut list_depth = 0usize;
    // Inside something whose text is not prose (code, table, image, footnote, metadata).
    let mut skip_depth = 0usize;
    let flush = |current: &mut String, blocks: &mut Vec<Block>, heading: bool| {
        let text = current.trim().to_string();
        current.clear();
        if !text.is_empty() {
            blocks.push(if heading {
                Block::Heading(text.replace('\n', " "))
            } else {
                Block::Para(text)
            });
        }
    };
    for event in Parser::new_ext(text, options) {
        match event {
            Event::Start(
                Tag::CodeBlock(_)
                | Tag::Table(_)
                | Tag::Image { .. }
                | Tag::FootnoteDefinition(_)
                | Tag::HtmlBlock
                | Tag::MetadataBlock(_),
            ) => skip_depth += 1,
            Event::End(
                TagEnd::CodeBlock
                | TagEnd::Table
                | TagEnd::Image
                | TagEnd::FootnoteDefinition
                | TagEnd::HtmlBlock
                | TagEnd::MetadataBlock(_),
            ) => skip_depth = skip_depth.saturating_sub(1),
            _ if skip_depth > 0 => {}
            Event::Start(Tag::Heading { .. }) => {
                flush(&mut current, &mut blocks, false);
                heading = true;
            }
            Event::End(TagEnd::Heading(_)) => {
                flush(&mut current, &mut blocks, true);
                heading = false;
            }
            Event::Start(Tag::List(_)) => {
                if list_depth == 0 {
                    flush(&mut current, &mut blocks, false);
                }
                list_depth += 1;
            }
            Event::End(TagEnd::List(_)) => {
                list_depth = list_depth.saturating_sub(1);
                if list_depth == 0 {
                    flush(&mut current, &mut blocks, false);
                }
            }
            Event::Start(Tag::Item) => {
                if !current.is_empty() && !current.ends_with('\n') {
                    current.push('\n');
                }
                current.push_str("* ");
            }
            Event::End(TagEnd::Paragraph) if list_depth == 0 => {
                flush(&mut current, &mut blocks, false);
            }
            Event::End(TagEnd::Paragraph) => current.push(' '),
            Event::Text(t) | Event::Code(t) => current.push_str(&t),
            Event::SoftBreak | Event::HardBreak => current.push('\n'),
            Event::FootnoteReference(_)
            | Event::TaskListMarker(_)
            | Event::Html(_)
            | Event::InlineHtml(_)
            | Event::Rule => {}
            _ => {}
        }
    }
    flush(&mut current, &mut blocks, heading);
    blocks
        .into_iter()
        .map(|b| match b {
            // Item lines lose the spaces a paragraph end left before the next item.
            Block::Para(p) => {
                Block::Para(p.lines().map(str::trim_end).collect::<Vec<_>>().join("\n"))
            }
            h => h,
        })
        .collect()
}

/// reStructuredText block structure: section titles, directives and comments with their
/// bodies, literal blocks after `::`, tables, field lists, substitution definitions.
fn rst_blocks(text: &str) -> Vec<Block> {
    static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*\.\.(\s|$)").unwrap());
    static FIELD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^:[^:\s][^:]*:(\s|$)").unwrap());
    static GRID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*\+[-=+]+\+\s*$").unwrap());
    static SIMPLE_TABLE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\s*=+(\s+=+)+\s*$").unwrap());
    static LIST: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\s*([-*+•]|#\.|\d{1,9}[.)])\s+").unwrap());

    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut para: Vec<String> = Vec::new();
    // Set when the previous paragraph ended in `::`: the next indented block is literal.
    let mut literal_next = false;
    let mut i = 0;

    // Skip an indented body (blank lines included) deeper than `base`.
    let skip_body = |mut i: usize, base: usize| -> usize {
        while i < lines.len() && (is_blank(lines[i]) || indent_of(lines[i]) > base) {
            i += 1;
        }
        i
    };

    while i < lines.len() {
        let line = lines[i];
        if is_blank(line) {
            if !para.is_empty() {
                let text = para.join("\n");
                literal_next = text.trim_end().ends_with("::");
                blocks.push(Block::Para(text));
                para.clear();
            }
            i += 1;
            continue;
        }
        let indent = indent_of(line);
        if para.is_empty() && literal_next && indent > 0 {
            i = skip_body(i, 0);
            literal_next = false;
            continue;
        }
        if para.is_empty() {
            literal_next = false;
        }
        if DIRECTIVE.is_match(line) {
            push_para(&mut para, &mut blocks);
            i = skip_body(i + 1, indent);
            continue;
        }
        // Overlined title: adornment, title, adornment.
        if para.is_empty()
            && is_adornment(line)
            && i + 2 < lines.len()
            && is_adornment(lines[i + 2])
            && !is_blank(lines[i + 1])
        {
            blocks.push(Block::Heading(lines[i + 1].trim().to_string()));
            i += 3;
            continue;
        }
        // Underlined title: one text line, then an adornment at least as long.
        if para.len() == 1
            && is_adornment(line)
            && line.trim().chars().count() >= para[0].trim().chars().count().min(4)
        {
            blocks.push(Block::Heading(para.pop().unwrap_or_default()));
            i += 1;
            continue;
        }
        if is_adornment(line) && para.is_empty() {
            // A transition.
            i += 1;
            continue;
        }
        if GRID.is_match(line) || SIMPLE_TABLE.is_match(line) {
            push_para(&mut para, &mut blocks);
            while i < lines.len() && !is_blank(lines[i]) {
                i += 1;
            }
            // Simple tables may contain blank lines only before their closing border;
            // the rows up to the next blank line are dropped, which is good enough.
            continue;
        }
        if para.is_empty() && FIELD.is_match(line) {
            i = skip_body(i + 1, indent);
            continue;
        }
        if para.is_empty() && line.trim_start().starts_with(">>>") {
            i = skip_body(i + 1, usize::MAX);
            while i < lines.len() && !is_blank(lines[i]) {
                i += 1;
            }
            continue;
        }
        let mut content = line.trim().to_string();
        if let Some(rest) = content.strip_prefix("| ") {
            content = rest.to_string();
        }
        if LIST.is_match(line) {
            content = format!("* {}", LIST.replace(line, "").trim());
        }
        para.push(content);
        i += 1;
    }
    push_para(&mut para, &mut blocks);
    blocks
}

/// A section adornment or transition: three or more of one punctuation character.
fn is_adornment(line: &str) -> bool {
    let t = line.trim_end();
    let mut chars = t.chars();
    match chars.next() {
        Some(c) if "=-`:'\"~^_*+#<>.".contains(c) => {
            t.chars().count() >= 3 && chars.all(|d| d == c)
        }
        _ => false,
    }
}

fn push_para(para: &mut Vec<String>, blocks: &mut Vec<Block>) {
    if !para.is_empty() {
        blocks.push(Block::Para(para.join("\n")));
        para.clear();
    }
}

/// Strip reStructuredText inline markup: roles, references, substitutions, emphasis.
fn rst_inline(s: &str) -> String {
    static ROLE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r":[\w.+-]+(?::[\w.+-]+)*:`([^`]*)`").unwrap());
    static SUBST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\|[^|\s][^|]*\|_{0,2}").unwrap());
    static REF_WITH_TARGET: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"`([^`<]*?)\s*<[^>`]*>`_{1,2}").unwrap());
    static REF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`]+)`_{1,2}").unwrap());
    static LITERAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"``([^`]+)``").unwrap());
    static INTERPRETED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`]+)`").unwrap());
    static STRONG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\*\*(\S(?:.*?\S)?)\*\*").unwrap());
    static EMPH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\*(\S(?:[^*]*?\S)?)\*").unwrap());
    static SIMPLE_REF: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b([A-Za-z0-9][\w.-]*)__?(\W|$)").unwrap());
    static FOOTNOTE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\s*\[(#[\w-]*|\*|\d+)\]_").unwrap());

    let s = ROLE.replace_all(s, "$1");
    let s = SUBST.replace_all(&s, "");
    let s = REF_WITH_TARGET.replace_all(&s, "$1");
    let s = LITERAL.replace_all(&s, "$1");
    let s = REF.replace_all(&s, "$1");
    let s = INTERPRETED.replace_all(&s, "$1");
    let s = STRONG.replace_all(&s, "$1");
    let s = EMPH.replace_all(&s, "$1");
    let s = FOOTNOTE.replace_all(&s, "");
    let s = SIMPLE_REF.replace_all(&s, "$1$2");
    // `Example::` introduces a literal block: keep one colon, or none after a space.
    let s = s.replace(" ::", "").replace("::", ":");
    let s = strip_html(&s);
    decode_entities(&s)
}

fn strip_html(s: &str) -> String {
    static TAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"</?[A-Za-z][A-Za-z0-9-]*(\s+[^<>]*?)?/?>"#).unwrap());
    TAG.replace_all(s, "").into_owned()
}

fn decode_entities(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&mdash;", "—")
        .replace("&ndash;", "–")
        .replace("&amp;", "&")
}

/// Collapse whitespace (list items keep their own lines), drop control characters, and
/// reject paragraphs with no prose left (link rows, badge rows, bare URLs).
fn finish_paragraph(s: &str) -> Option<String> {
    static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(https?|ftp)://\S+").unwrap());
    let mut lines: Vec<String> = Vec::new();
    for raw in s.lines() {
        let words: Vec<&str> = raw
            .split(|c: char| c.is_whitespace() || is_control(c))
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            continue;
        }
        let line = words.join(" ");
        match lines.last_mut() {
            Some(last) if !line.starts_with("* ") => {
                last.push(' ');
                last.push_str(&line);
            }
            _ => lines.push(line),
        }
    }
    // Markup removed from inside a sentence (`:ref:`stuff <target>``, a badge, a
    // substitution) leaves a space before the punctuation that followed it.
    static LOOSE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r" +([.,;:!?)])").unwrap());
    static OPEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\( +").unwrap());
    let text = lines.join("\n");
    let text = LOOSE.replace_all(&text, "$1");
    let text = OPEN.replace_all(&text, "(").into_owned();
    let prose = URL.replace_all(&text, "");
    let letters = prose.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 3 {
        return None;
    }
    // Rows like "Documentation | Source | Issues" left over from links.
    let words = prose
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    let separators = prose.matches(['|', '•', '·']).count();
    if separators > 0 && separators + 1 >= words {
        return None;
    }
    Some(text)
}

/// Cut `s` at the end of a sentence within `max` characters; `None` if that leaves too
/// little to be worth keeping.
fn cut_at_sentence(s: &str, max: usize) -> Option<String> {
    let limit = s.char_indices().nth(max).map_or(s.len(), |(i, _)| i);
    let head = &s[..limit];
    let end = head
        .rfind(". ")
        .map(|i| i + 1)
        .or_else(|| (limit == s.len()).then_some(limit))?;
    let cut = head[..end].trim();
    (cut.chars().count() >= 80).then(|| cut.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debian::relation::{Dep, Op};

    #[test]
    fn markdown_readme_to_plain_paragraphs() {
        let md = "<p align=\"center\"><img src=\"logo.png\"></p>\n\n\
                  # Mytool\n\n\
                  [![CI](https://x/ci.svg)](https://x/ci) Mytool *reads* **files** &amp; \
                  [links](https://example.org) with `code`.\n\n\
                  | a | b |\n|---|---|\n| 1 | 2 |\n\n\
                  ```sh\nmytool --help\n```\n\n\
                  - [x] fast\n- small\n  1. nested\n\n\
                  ## Installation\n\npip install mytool\n";
        assert_eq!(
            plain_description(md, Some("text/markdown")),
            [
                "Mytool reads files & links with code.",
                "* fast\n* small\n* nested",
            ]
        );
    }

    #[test]
    fn description_markup_leaves_no_space_before_punctuation() {
        let rst = "|pypi| |build|\n\n.. |pypi| image:: https://img.shields.io/pypi/v/x.svg\n   :target: https://pypi.org/project/x\n\n\
                   .. image:: https://img.shields.io/badge/x.svg\n\n\
                   Mytool does things with :code:`files` and :ref:`stuff <x>`. It works ( mostly ) well.\n";
        assert_eq!(
            plain_description(rst, Some("text/x-rst")),
            ["Mytool does things with files and stuff. It works (mostly) well."]
        );
        let md = "[![PyPI](https://img.shields.io/pypi/v/x.svg)](https://pypi.org/project/x)\n\n\
                  Mytool reads [![badge](https://x/b.svg)](https://x) files, fast .\n";
        assert_eq!(
            plain_description(md, Some("text/markdown")),
            ["Mytool reads files, fast."]
        );
    }

    fn control() -> BinaryControl {
        let mut depends = Relations::default();
        depends.push(Dep::new("python3").any_arch());
        depends.push(Dep::with("python3-idna", Op::Ge, "2.5"));
        let mut breaks = Relations::default();
        breaks.push(Dep::with("python3-old", Op::Lt, "1.0"));
        BinaryControl {
            package: "python3-demo".into(),
            version: "1:1.0~rc1-0py2deb1".into(),
            architecture: "all".into(),
            maintainer: "Jöhn Doe <john@example.org>".into(),
            installed_size: Some(42),
            depends,
            recommends: Relations::default(),
            conflicts: Relations::default(),
            breaks,
            replaces: Relations::default(),
            provides: Relations::default(),
            section: "python".into(),
            priority: "optional".into(),
            homepage: Some("https://example.org".into()),
            description: Description {
                synopsis: "HTTP for humans".into(),
                extended: vec![
                    "First paragraph.".into(),
                    "Second paragraph\n* item one\n* item two".into(),
                ],
            },
        }
    }

    fn render(c: &BinaryControl) -> String {
        let mut out = Vec::new();
        c.write_to(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fields_in_dpkg_order() {
        assert_eq!(
            render(&control()),
            "Package: python3-demo\n\
             Version: 1:1.0~rc1-0py2deb1\n\
             Architecture: all\n\
             Maintainer: Jöhn Doe <john@example.org>\n\
             Installed-Size: 42\n\
             Depends: python3:any, python3-idna (>= 2.5)\n\
             Breaks: python3-old (<< 1.0)\n\
             Section: python\n\
             Priority: optional\n\
             Homepage: https://example.org\n\
             Description: HTTP for humans\n \
             First paragraph.\n \
             .\n \
             Second paragraph\n  \
             * item one\n  \
              * item two\n"
        );
    }

    #[test]
    fn injection_is_rejected_naming_field_and_package() {
        type Edit = fn(&mut BinaryControl);
        let cases: [(&str, Edit); 11] = [
            ("Homepage", |c| {
                c.homepage = Some("http://x y\u{85}Depends: evil".into())
            }),
            ("Description", |c| {
                c.description.synopsis = "Nice\u{2028}Depends: evil".into()
            }),
            ("Maintainer", |c| {
                c.maintainer = "A \u{202e}moc.b@a <a@b.c>".into()
            }),
            ("Description", |c| {
                c.description.extended = vec!["ok\u{2029}Depends: evil".into()]
            }),
            ("Description", |c| {
                c.description.synopsis = "Nice\nDepends: evil".into()
            }),
            ("Maintainer", |c| {
                c.maintainer = "A <a@b.c>\rDepends: evil".into()
            }),
            ("Version", |c| c.version = "1.0\n".into()),
            ("Homepage", |c| c.homepage = Some("https://x\u{7f}".into())),
            ("Section", |c| c.section = "python\u{1b}[31m".into()),
            ("Depends", |c| {
                c.depends.push(Dep::new("evil\nEssential: yes"))
            }),
            ("Description", |c| {
                c.description.extended = vec!["ok\u{0}".into()]
            }),
        ];
        for (field, edit) in cases {
            let mut c = control();
            edit(&mut c);
            let err = c.write_to(&mut Vec::new()).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
            assert!(err.contains("python3-demo"), "{field}: {err}");
        }
    }

    #[test]
    fn empty_optional_fields_are_omitted_and_required_ones_enforced() {
        let mut c = control();
        c.depends = Relations::default();
        c.breaks = Relations::default();
        c.section = String::new();
        c.homepage = None;
        c.installed_size = None;
        c.description.extended.clear();
        assert_eq!(
            render(&c),
            "Package: python3-demo\nVersion: 1:1.0~rc1-0py2deb1\nArchitecture: all\n\
             Maintainer: Jöhn Doe <john@example.org>\nPriority: optional\n\
             Description: HTTP for humans\n"
        );
        c.maintainer = " ".into();
        assert!(c
            .write_to(&mut Vec::new())
            .unwrap_err()
            .to_string()
            .contains("Maintainer"));
        let mut c = control();
        c.description.synopsis = String::new();
        assert!(c.write_to(&mut Vec::new()).is_err());
        c.package = "Bad_Name".into();
        assert!(c
            .write_to(&mut Vec::new())
            .unwrap_err()
            .to_string()
            .contains("`Bad_Name`"));
    }

    #[test]
    fn a_list_at_the_top_does_not_start_with_two_spaces() {
        let c = BinaryControl::new(
            "python3-x".into(),
            "1-1".into(),
            "all".into(),
            "A <a@b.c>".into(),
            Description {
                synopsis: "x".into(),
                extended: vec!["* one\n* two".into()],
            },
        );
        let text = c.render().unwrap();
        assert!(text.contains("Description: x\n * one\n  * two\n"), "{text}");
    }

    #[test]
    fn list_items_are_indented_twice() {
        let mut c = BinaryControl::new(
            "python3-x".into(),
            "1-1".into(),
            "all".into(),
            "A <a@b.c>".into(),
            Description {
                synopsis: "x".into(),
                extended: vec!["Links:\n\n* one\n* two".into()],
            },
        );
        let text = c.render().unwrap();
        assert!(text.contains("\n  * one\n  * two\n"), "{text}");
        c.description.extended = vec!["Intro.".into(), format!("- {}", "word ".repeat(30))];
        let text = c.render().unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(text.contains("\n  - word"), "{text}");
        assert!(text.contains("\n    word"), "{text}");
    }

    #[test]
    fn extended_description_is_folded_on_words() {
        let mut c = control();
        let long = "Requests allows you to send HTTP/1.1 requests extremely easily. \
                    There’s no need to manually add query strings to your URLs, or to \
                    form-encode your PUT & POST data — but nowadays, just use the json \
                    method! A very long URL follows: https://example.org/a/really/long/\
                    path/that/cannot/be/broken/anywhere/at/all/because/it/has/no/spaces/ok";
        c.description.extended = vec![long.into(), "\n\nAfter blanks.\n\n".into()];
        let text = render(&c);
        let ext: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("Description"))
            .skip(1)
            .collect();
        for l in &ext {
            assert!(l.starts_with(' '), "{l:?}");
            assert!(
                l.chars().count() <= FOLD_WIDTH || !l[1..].contains(' '),
                "{l:?}"
            );
            assert_eq!(*l, l.trim_end());
        }
        let rejoined: Vec<&str> = ext
            .iter()
            .take_while(|l| **l != " .")
            .map(|l| l.trim())
            .collect();
        assert_eq!(rejoined.join(" "), long);
        assert_eq!(ext[ext.len() - 2..], [" .", " After blanks."]);
    }

    #[test]
    fn lines_never_start_with_a_dot() {
        let words = "word ".repeat(15);
        let lines = fold(&format!("{words}.NET is supported"), FOLD_WIDTH);
        assert!(lines.iter().all(|l| !l.starts_with(" .")), "{lines:?}");
        assert_eq!(lines[1], " word .NET is supported");
        assert_eq!(fold(".hidden files", FOLD_WIDTH), ["  .hidden files"]);
        assert_eq!(fold("...", FOLD_WIDTH), ["  ..."]);
    }

    #[test]
    fn package_names() {
        for ok in [
            "python3-requests",
            "g++",
            "a0",
            "0ad",
            "python3-zope.interface",
        ] {
            validate_package_name(ok).unwrap();
        }
        for bad in [
            "", "a", "-foo", ".foo", "Foo", "foo_bar", "föo", "foo bar", "foo\n",
        ] {
            let err = validate_package_name(bad).unwrap_err().to_string();
            assert!(err.contains("lowercase letters"), "{err}");
        }
        let err = validate_package_name("Foo_Bar").unwrap_err().to_string();
        assert!(
            err.starts_with("`Foo_Bar` is not a valid Debian package name"),
            "{err}"
        );
    }

    #[test]
    fn synopses() {
        assert_eq!(
            synopsis("  Python HTTP for Humans.  "),
            "Python HTTP for Humans"
        );
        assert_eq!(
            synopsis("A\tlibrary\n  for\r\nthings..."),
            "A library for things"
        );
        assert_eq!(synopsis("bell\u{7}ringer"), "bell ringer");
        assert_eq!(
            synopsis("Übersetzung für Menschen"),
            "Übersetzung für Menschen"
        );
        assert_eq!(synopsis(""), "");
        let long = "A library that does a great many things, including parsing, validating, \
                    serializing and deserializing data";
        let s = synopsis(long);
        assert!(s.chars().count() <= 80, "{s}");
        assert_eq!(
            s,
            "A library that does a great many things, including parsing, validating"
        );
        // A word ending exactly at the limit is kept.
        let exact = format!("{} tail", "x".repeat(80));
        assert_eq!(synopsis(&exact), "x".repeat(80));
        let exact = format!("{} {} more", "a".repeat(40), "b".repeat(39));
        assert_eq!(synopsis(&exact).chars().count(), 80);
        assert_eq!(synopsis(&"é".repeat(100)).chars().count(), 80);
    }

    const REQUESTS_MD: &str = r#"# Requests

[![Version](https://img.shields.io/pypi/v/requests.svg)](https://pypi.org/project/requests/)
[![Supported Versions](https://img.shields.io/pypi/pyversions/requests.svg)](https://pypi.org/project/requests)
![badge](https://img.shields.io/badge/x-y-green)

<p align="center"><img src="logo.png" alt="logo" width="200"></p>
<!-- a comment
spanning lines -->

**Requests** is a simple, yet elegant, HTTP library.

```python
>>> import requests
>>> r = requests.get('https://httpbin.org/basic-auth/user/pass', auth=('user', 'pass'))
```

Requests allows you to send HTTP/1.1 requests extremely easily. There's no need to
manually add query strings to your URLs, or to form-encode your `PUT` & `POST` data
&mdash; but nowadays, just use the [`json`](https://docs.example.org/json) method!

[Docs](https://docs.example.org) | [Source](https://github.com/psf/requests) | [Issues](https://github.com/psf/requests/issues)

## Installing Requests and Supported Versions

```console
$ python -m pip install requests
```

## Supported Features & Best–Practices

- Keep-Alive & Connection Pooling
- International Domains and URLs
- _Sessions_ with Cookie Persistence

| a | b |
|---|---|
| 1 | 2 |

[docs]: https://docs.example.org
"#;

    #[test]
    fn markdown_readme() {
        let got = plain_description(REQUESTS_MD, Some("text/markdown; charset=UTF-8"));
        assert_eq!(
            got,
            [
                "Requests is a simple, yet elegant, HTTP library.",
                "Requests allows you to send HTTP/1.1 requests extremely easily. There's no \
                 need to manually add query strings to your URLs, or to form-encode your PUT \
                 & POST data — but nowadays, just use the json method!",
                "* Keep-Alive & Connection Pooling\n* International Domains and URLs\n\
                 * Sessions with Cookie Persistence",
            ]
        );
        // Without a declared content type the Markdown is recognised too.
        assert_eq!(plain_description(REQUESTS_MD, None), got);
    }

    const ATTRS_RST: &str = r#"
.. image:: https://www.attrs.org/en/latest/_static/attrs_logo.png
   :alt: attrs logo
   :align: center

=====
attrs
=====

|pypi| |docs| |ci|

.. |pypi| image:: https://img.shields.io/pypi/v/attrs
   :target: https://pypi.org/project/attrs/

.. teaser-begin

``attrs`` is the Python package that will bring back the **joy** of writing classes
by relieving you from the drudgery of implementing object protocols (aka
`dunder methods <https://www.attrs.org/en/latest/glossary.html#term-dunder-methods>`_).
See :doc:`why` and the Requests_ docs.

Its main goal is to help you to write *concise* and correct software without
slowing down your code. For example::

    >>> import attr
    >>> @attr.s
    ... class C: pass

.. code-block:: python

   print("hidden")

+-----+-----+
| a   | b   |
+=====+=====+
| 1   | 2   |
+-----+-----+

Overview
--------

Testimonials say it is great.

Installation
------------

Run ``pip install attrs``.

.. _Requests: https://requests.readthedocs.io
"#;

    #[test]
    fn rst_readme() {
        assert_eq!(
            plain_description(ATTRS_RST, Some("text/x-rst")),
            [
                "attrs is the Python package that will bring back the joy of writing classes \
                 by relieving you from the drudgery of implementing object protocols (aka \
                 dunder methods). See why and the Requests docs.",
                "Its main goal is to help you to write concise and correct software without \
                 slowing down your code. For example:",
                "Testimonials say it is great.",
            ]
        );
        assert_eq!(
            plain_description(ATTRS_RST, None),
            plain_description(ATTRS_RST, Some("text/x-rst"))
        );
    }

    #[test]
    fn plain_text_and_budget() {
        let para = "This sentence is exactly fifty characters long ok. ".repeat(5);
        let text = format!("{para}\n\n{para}\n\n{para}\n\n{para}");
        let got = plain_description(&text, Some("text/plain"));
        let total: usize = got.iter().map(|p| p.chars().count()).sum();
        assert!(total <= DESCRIPTION_BUDGET, "{total}");
        assert!(got.len() <= MAX_PARAGRAPHS);
        assert!(got.iter().all(|p| p.ends_with('.')), "{got:?}");
        // Control characters never survive.
        let got = plain_description("Hello\u{1b}[1m world\u{7} here", Some("text/plain"));
        assert_eq!(got, ["Hello [1m world here"]);
        assert!(plain_description("", None).is_empty());
        assert!(plain_description("https://example.org\n\n[![x](y)](z)", None).is_empty());
    }

    #[test]
    fn rendered_readme_is_a_valid_description() {
        let mut c = control();
        c.description.extended = plain_description(REQUESTS_MD, Some("text/markdown"));
        let text = render(&c);
        for line in text
            .lines()
            .skip_while(|l| !l.starts_with("Description:"))
            .skip(1)
        {
            assert!(
                line.starts_with(' ') && !line.starts_with(" .") || line == " .",
                "{line:?}"
            );
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}
