//! The docs step of [`super::assemble`]: the description, the home page, the copyright
//! file (DEP-5, licenses mapped from SPDX and common licenses referred to), the changelog
//! and a man page per program (Debian Policy §12.1, upstream text escaped for roff).

use super::layout::{add, Layout};
use super::{gzip_n, Package};
use crate::debian::control::{self, Description};
use crate::debian::deb::{DataEntry, Payload};
use crate::inspect::wheel::Wheel;
use crate::python::metadata::Metadata;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the docs step decided for the control paragraph.
pub(super) struct Docs {
    pub description: Description,
    pub homepage: Option<String>,
}

/// Write the package's docs into `layout` and return its description and home page.
pub(super) fn write_docs(pkg: &Package, wheel: &mut Wheel, layout: &mut Layout) -> Result<Docs> {
    let meta = pkg.meta;
    let files = &mut layout.files;
    let programs = &layout.programs;
    let license_files = &layout.license_files;
    let bundled_names = &layout.bundled_names;
    let private_path = &layout.private_path;

    let Description {
        synopsis,
        mut extended,
    } = description_of(meta);
    let kind = if programs.is_empty() {
        "library"
    } else {
        "tool"
    };
    extended.push(format!(
        "This package provides the Python 3 {kind} {} {} from the Python Package Index, converted by py2deb.",
        meta.name, meta.version
    ));
    if let Some(p) = &private_path {
        extended.push(format!(
            "It carries private copies of {} in {p}, because the versions the distribution ships do not satisfy its requirements; only its own programs use them.",
            bundled_names.join(", ")
        ));
    }

    let homepage = homepage_of(meta);
    copyright(pkg, wheel, files, license_files, homepage.as_deref())?;
    changelog(pkg, files)?;
    man_pages(
        pkg,
        files,
        programs,
        &synopsis,
        &extended,
        homepage.as_deref(),
    )?;

    Ok(Docs {
        description: Description { synopsis, extended },
        homepage,
    })
}

/// The home page: the metadata's, else the project URL that looks most like one.
fn homepage_of(meta: &Metadata) -> Option<String> {
    meta.home_page
        .clone()
        .filter(|h| is_homepage_url(h))
        .or_else(|| {
            let pick = |want: &[&str]| {
                meta.project_urls
                    .iter()
                    .find(|(label, url)| {
                        want.iter().any(|w| label.eq_ignore_ascii_case(w)) && is_homepage_url(url)
                    })
                    .map(|(_, u)| u.clone())
            };
            pick(&[
                "homepage",
                "home",
                "home-page",
                "documentation",
                "source",
                "source code",
                "repository",
            ])
            .or_else(|| {
                meta.project_urls
                    .iter()
                    .find(|(_, u)| is_homepage_url(u))
                    .map(|(_, u)| u.clone())
            })
        })
}

/// The copyright file (DEP-5), with the wheel's license files beside it in the doc
/// directory.
fn copyright(
    pkg: &Package,
    wheel: &mut Wheel,
    files: &mut BTreeMap<String, DataEntry>,
    license_files: &[(String, usize)],
    homepage: Option<&str>,
) -> Result<()> {
    let Package {
        meta,
        package,
        opts,
        templates,
        ..
    } = *pkg;
    let doc = format!("usr/share/doc/{package}");
    let (license, names) = license_of(meta);
    let mut license_texts = Vec::new();
    for (rel, index) in license_files {
        let bytes = wheel.read(*index)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let base = rel.rsplit('/').next().unwrap_or(rel);
        let target_name = if files.contains_key(&format!("{doc}/{base}")) {
            rel.replace('/', "_")
        } else {
            base.to_owned()
        };
        add(
            files,
            format!("{doc}/{target_name}"),
            0o644,
            Payload::Bytes(bytes),
        )?;
        license_texts.push(text);
    }
    let mut paragraphs = Vec::new();
    for name in &names {
        let text = if let Some((_, file)) = COMMON_LICENSES
            .iter()
            .find(|(n, _)| *n == name.trim_end_matches('+'))
        {
            format!(" On Debian systems, the complete text of this license can be found in\n /usr/share/common-licenses/{file}.")
        } else if let Some(t) = license_text_for(name, &license_texts, names.len()) {
            continuation(t)
        } else if !license_texts.is_empty() {
            format!(
                " The upstream metadata of {} names this license; none of the license files\n \
                 it ships (in /usr/share/doc/{package}/) is recognisably its text.",
                meta.name
            )
        } else {
            let mut t = format!(" The upstream metadata of {} names this license", meta.name);
            if let Some(l) = meta.license.as_deref().filter(|l| !l.trim().is_empty()) {
                t.push_str(":\n");
                t.push_str(&continuation(l));
            } else {
                t.push_str(" but ships no license text.");
            }
            t
        };
        paragraphs.push(LicenseParagraph {
            name: name.clone(),
            text,
        });
    }
    let people: Vec<String> = [
        &meta.author,
        &meta.author_email,
        &meta.maintainer,
        &meta.maintainer_email,
    ]
    .iter()
    .filter_map(|p| p.as_deref())
    .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
    .filter(|p| !p.is_empty())
    .collect();
    let holders = if people.is_empty() {
        format!("the {} authors", meta.name)
    } else {
        people.join(", ")
    };
    // A notice carries a year (lintian `copyright-without-copyright-notice`); the year of
    // the release is the one the metadata vouches for.
    let copyright_holders = format!("{} {holders}", year_of(opts.mtime)?);
    #[derive(Serialize)]
    struct CopyrightCtx<'a> {
        upstream_name: &'a str,
        source: Option<&'a str>,
        copyright: String,
        license: &'a str,
        license_paragraphs: &'a [LicenseParagraph],
    }
    let copyright = templates.render(
        "copyright",
        &CopyrightCtx {
            upstream_name: &meta.name,
            source: homepage,
            copyright: copyright_holders
                .chars()
                .filter(|c| !c.is_control())
                .collect(),
            license: &license,
            license_paragraphs: &paragraphs,
        },
    )?;
    add(
        files,
        format!("{doc}/copyright"),
        0o644,
        Payload::Bytes(copyright.into_bytes()),
    )?;
    Ok(())
}

/// `changelog.Debian.gz`: one entry saying what the package was converted from.
fn changelog(pkg: &Package, files: &mut BTreeMap<String, DataEntry>) -> Result<()> {
    let Package {
        meta,
        package,
        version,
        target,
        opts,
        templates,
        ..
    } = *pkg;
    let doc = format!("usr/share/doc/{package}");
    let date = rfc2822(opts.mtime)?;
    #[derive(Serialize)]
    struct ChangelogCtx<'a> {
        package: &'a str,
        version: &'a str,
        distribution: &'a str,
        tool_version: &'a str,
        project: &'a str,
        project_version: &'a str,
        filename: &'a str,
        index: Option<&'a str>,
        maintainer: &'a str,
        date: &'a str,
    }
    let distribution = if target.name.is_empty() || target.name == "unknown" {
        "unstable"
    } else {
        &target.name
    };
    let changelog = templates.render(
        "changelog",
        &ChangelogCtx {
            package,
            version,
            distribution,
            tool_version: env!("CARGO_PKG_VERSION"),
            filename: &opts.wheel_filename,
            project: &meta.name,
            project_version: &meta.version.to_string(),
            index: opts.origin.as_deref(),
            maintainer: &opts.maintainer,
            date: &date,
        },
    )?;
    add(
        files,
        format!("{doc}/changelog.Debian.gz"),
        0o644,
        Payload::Bytes(gzip_n(changelog.as_bytes())?),
    )?;

    Ok(())
}

/// A man page per program: Debian Policy §12.1 wants one for every command.
fn man_pages(
    pkg: &Package,
    files: &mut BTreeMap<String, DataEntry>,
    programs: &[String],
    synopsis: &str,
    extended: &[String],
    homepage: Option<&str>,
) -> Result<()> {
    let Package {
        meta,
        opts,
        templates,
        ..
    } = *pkg;
    #[derive(Serialize)]
    struct ManCtx {
        name: String,
        date: String,
        project: String,
        version: String,
        synopsis: String,
        description: Vec<String>,
        homepage: Option<String>,
    }
    for prog in programs {
        // A program with its own page (shipped by the wheel) gets no generated stub: never
        // two pages for one program.
        let has_page = files.keys().any(|p| {
            p.strip_prefix("usr/share/man/man")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(_, file)| {
                    file.strip_suffix(".gz")
                        .and_then(|f| f.rsplit_once('.'))
                        .is_some_and(|(name, _)| name == prog)
                })
        });
        if has_page {
            continue;
        }
        let page = templates.render(
            "manpage",
            &ManCtx {
                name: roff(prog),
                date: date_ymd(opts.mtime)?,
                project: roff(&meta.name),
                version: roff(&meta.version.to_string()),
                synopsis: roff(synopsis),
                description: extended.iter().take(2).map(|p| roff(p)).collect(),
                homepage: homepage.map(roff),
            },
        )?;
        add(
            files,
            format!("usr/share/man/man1/{prog}.1.gz"),
            0o644,
            Payload::Bytes(gzip_n(page.as_bytes())?),
        )?;
    }
    Ok(())
}

/// Licenses shipped in `/usr/share/common-licenses` on every Debian system: the
/// copyright file must refer to them instead of copying their text (lintian
/// `copyright-not-using-common-license-for-*`). DEP-5 short name → file name.
pub const COMMON_LICENSES: &[(&str, &str)] = &[
    ("Apache-2.0", "Apache-2.0"),
    ("Artistic", "Artistic"),
    ("CC0-1.0", "CC0-1.0"),
    ("GFDL-1.2", "GFDL-1.2"),
    ("GFDL-1.3", "GFDL-1.3"),
    ("GPL-1", "GPL-1"),
    ("GPL-2", "GPL-2"),
    ("GPL-3", "GPL-3"),
    ("LGPL-2", "LGPL-2"),
    ("LGPL-2.1", "LGPL-2.1"),
    ("LGPL-3", "LGPL-3"),
    ("MPL-1.1", "MPL-1.1"),
    ("MPL-2.0", "MPL-2.0"),
];

/// Escape text for roff (groff_man(7)) so that no line of it can become a request or an
/// escape: backslashes print as `\e`, hyphens as `\-` (a real minus, as man pages spell
/// options), and a line starting with `.` or `'` (a control line) is protected with
/// the zero-width `\&`. Every line is treated, since free text may span several.
fn roff(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let t = line.replace('\\', "\\e").replace('-', "\\-");
            if t.starts_with('.') || t.starts_with('\'') {
                format!("\\&{t}")
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Format free text as a DEP-5 / control-file continuation block. Control characters are
/// dropped and Unicode line separators become spaces, so that no reader (python-debian
/// splits on them) sees a line that does not start with a space.
fn continuation(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| {
            if c == '\x0c' {
                '\n'
            } else if c != '\n' && c != '\t' && crate::python::metadata::is_unsafe_char(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |e| e + 1);
    for l in &lines[start..end] {
        let clean: String = l
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        if clean.trim().is_empty() {
            out.push(" .".to_owned());
        } else {
            out.push(format!(" {clean}"));
        }
    }
    out.join("\n")
}

/// SPDX identifier (or a classifier / License field) → DEP-5 short name.
fn dep5_name(spdx: &str) -> String {
    let s = spdx.trim();
    let map: &[(&str, &str)] = &[
        ("MIT", "Expat"),
        ("MIT License", "Expat"),
        ("Apache-2.0", "Apache-2.0"),
        ("Apache Software License", "Apache-2.0"),
        ("Apache License 2.0", "Apache-2.0"),
        ("Apache 2.0", "Apache-2.0"),
        ("BSD-2-Clause", "BSD-2-clause"),
        ("BSD-3-Clause", "BSD-3-clause"),
        ("BSD License", "BSD-3-clause"),
        ("BSD", "BSD-3-clause"),
        ("ISC", "ISC"),
        ("ISC License (ISCL)", "ISC"),
        ("GPL-2.0-only", "GPL-2"),
        ("GPL-2.0-or-later", "GPL-2+"),
        ("GPL-3.0-only", "GPL-3"),
        ("GPL-3.0-or-later", "GPL-3+"),
        ("GNU General Public License v2 (GPLv2)", "GPL-2"),
        ("GNU General Public License v2 or later (GPLv2+)", "GPL-2+"),
        ("GNU General Public License v3 (GPLv3)", "GPL-3"),
        ("GNU General Public License v3 or later (GPLv3+)", "GPL-3+"),
        ("LGPL-2.1-only", "LGPL-2.1"),
        ("LGPL-2.1-or-later", "LGPL-2.1+"),
        ("LGPL-3.0-only", "LGPL-3"),
        ("LGPL-3.0-or-later", "LGPL-3+"),
        ("GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3"),
        (
            "GNU Lesser General Public License v2 or later (LGPLv2+)",
            "LGPL-2+",
        ),
        ("MPL-2.0", "MPL-2.0"),
        ("Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
        ("PSF-2.0", "PSF-2.0"),
        ("Python Software Foundation License", "PSF-2.0"),
        ("Unlicense", "Unlicense"),
        ("The Unlicense (Unlicense)", "Unlicense"),
        ("CC0-1.0", "CC0-1.0"),
        (
            "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication",
            "CC0-1.0",
        ),
        ("0BSD", "0BSD"),
        ("Zlib", "Zlib"),
    ];
    for (k, v) in map {
        if s.eq_ignore_ascii_case(k) {
            return (*v).to_owned();
        }
    }
    // Keep SPDX-looking identifiers; anything else becomes a token DEP-5 accepts.
    let token: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let token = token.trim_matches('-').to_owned();
    if token.is_empty() {
        "unknown".into()
    } else {
        token
    }
}

/// An SPDX expression grouped as a tree, for rewriting in DEP-5 syntax.
enum LicenseNode {
    Leaf(String),
    /// `true` for `and`, `false` for `or`; same-operator chains are flattened.
    Op(bool, Vec<LicenseNode>),
}

/// Longest `License-Expression` parsed as SPDX; longer ones (no real license needs a
/// fraction of this) are only tokenized, so nesting cannot run the rewrite out of stack.
const MAX_SPDX_EXPRESSION: usize = 2048;

/// An SPDX license expression (PEP 639 `License-Expression`) as a DEP-5 `License:` value
/// plus the short names it uses, in order of appearance. DEP-5 lets `and` bind tighter
/// than `or` as SPDX does, and writes `(A OR B) AND C` as `A or B, and C`; deeper grouping
/// than that keeps its parentheses, so the meaning is never changed.
fn dep5_expression(expr: &str) -> (String, Vec<String>) {
    let parsed = (expr.len() <= MAX_SPDX_EXPRESSION)
        .then(|| spdx::Expression::parse_mode(expr, spdx::ParseMode::LAX).ok())
        .flatten();
    let Some(parsed) = parsed else {
        return dep5_tokens(expr);
    };
    let mut names = Vec::new();
    let mut stack: Vec<LicenseNode> = Vec::new();
    for node in parsed.iter() {
        match node {
            spdx::expression::ExprNode::Req(r) => {
                let mut name = dep5_name(&r.req.license.to_string());
                if !names.contains(&name) {
                    names.push(name.clone());
                }
                if let Some(add) = &r.req.addition {
                    let exception = dep5_name(&add.to_string());
                    if !names.contains(&exception) {
                        names.push(exception.clone());
                    }
                    name = format!("{name} with {exception}");
                }
                stack.push(LicenseNode::Leaf(name));
            }
            spdx::expression::ExprNode::Op(op) => {
                let and = *op == spdx::expression::Operator::And;
                let (Some(right), Some(left)) = (stack.pop(), stack.pop()) else {
                    return dep5_tokens(expr);
                };
                let mut kids = Vec::new();
                for k in [left, right] {
                    match k {
                        LicenseNode::Op(a, inner) if a == and => kids.extend(inner),
                        k => kids.push(k),
                    }
                }
                stack.push(LicenseNode::Op(and, kids));
            }
        }
    }
    match (stack.pop(), stack.is_empty()) {
        (Some(root), true) => (render_license(&root, true), names),
        _ => dep5_tokens(expr),
    }
}

/// DEP-5 text of a node; `top` allows the comma form, which only DEP-5's outermost level
/// has.
fn render_license(node: &LicenseNode, top: bool) -> String {
    match node {
        LicenseNode::Leaf(name) => name.clone(),
        // `and` binds tighter than `or`: an `and` operand needs no grouping.
        LicenseNode::Op(false, kids) => kids
            .iter()
            .map(|k| render_license(k, false))
            .collect::<Vec<_>>()
            .join(" or "),
        LicenseNode::Op(true, kids) => {
            let is_or = |k: &LicenseNode| matches!(k, LicenseNode::Op(false, _));
            let rendered: Vec<String> = kids.iter().map(|k| render_license(k, false)).collect();
            if !kids.iter().any(is_or) {
                return rendered.join(" and ");
            }
            if top && rendered.iter().all(|r| !r.contains('(')) {
                return rendered.join(", and ");
            }
            kids.iter()
                .zip(rendered)
                .map(|(k, r)| if is_or(k) { format!("({r})") } else { r })
                .collect::<Vec<_>>()
                .join(" and ")
        }
    }
}

/// A `License-Expression` that is not valid SPDX: map each word, keep the operators and
/// the parentheses as written.
fn dep5_tokens(expr: &str) -> (String, Vec<String>) {
    let mut names = Vec::new();
    let mut out = String::new();
    let spaced = expr.replace('(', " ( ").replace(')', " ) ");
    for tok in spaced.split_whitespace() {
        let word = match tok.to_ascii_uppercase().as_str() {
            "(" | ")" => tok.to_owned(),
            "AND" => "and".to_owned(),
            "OR" => "or".to_owned(),
            "WITH" => "with".to_owned(),
            _ => {
                let n = dep5_name(tok);
                if !names.contains(&n) {
                    names.push(n.clone());
                }
                n
            }
        };
        if !(out.is_empty() || out.ends_with('(') || word == ")") {
            out.push(' ');
        }
        out.push_str(&word);
    }
    (out, names)
}

/// The synopsis and extended description py2deb writes for `meta` (Summary → synopsis
/// without a leading article or project name; the README as a few plain paragraphs, none
/// merely repeating the synopsis). `py2deb rfp` and `debianize` write the same text.
pub fn description_of(meta: &Metadata) -> Description {
    // Description: synopsis from Summary, a few plain paragraphs from the long text.
    // lintian `description-starts-with-package-name` ("HTTPie: modern, user-friendly…")
    // and `description-too-short` (a Summary that is only the project's name).
    let synopsis = meta
        .summary
        .as_deref()
        .map(control::synopsis)
        .map(|s| without_name_prefix(&s, &meta.name).to_owned())
        .filter(|s| s.split_whitespace().count() >= 2)
        .map(|s| drop_article(&s))
        .unwrap_or_else(|| format!("Python 3 distribution {}", meta.name));
    let mut extended = meta
        .description
        .as_deref()
        .map(|d| control::plain_description(d, meta.description_content_type.as_deref()))
        .unwrap_or_default();
    // lintian `description-synopsis-is-duplicated`: a paragraph that only repeats the
    // synopsis adds nothing, nor does a first sentence that does. The synopsis lost its
    // article and the README may prefix the project's name (`Black: The uncompromising
    // code formatter.`), so both are compared without them.
    // Compared as letters and digits only, as lintian does not care for emoji, hyphens
    // or case ("🐍 Official Python command-line client…").
    let bare = |a: &str| -> String {
        let a = without_name_prefix(a.trim(), &meta.name);
        drop_article(a)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = bare(&synopsis);
    extended.retain(|p| bare(p) != wanted);
    // A first paragraph that opens with the synopsis (a Summary cut to fit the synopsis,
    // continued in the long description) loses that first sentence.
    if let Some(first) = extended.first() {
        if !wanted.is_empty() && bare(first).starts_with(&wanted) {
            let cut = first
                .match_indices(". ")
                .map(|(i, _)| i + 2)
                .find(|&i| bare(&first[..i]).len() >= wanted.len());
            match cut {
                Some(i) if !first[i..].trim().is_empty() => {
                    extended[0] = first[i..].trim_start().to_owned();
                }
                _ => {
                    extended.remove(0);
                }
            }
        }
    }
    Description { synopsis, extended }
}

/// The license of a distribution as a DEP-5 `License:` expression plus the short names
/// it uses.
pub fn license_of(meta: &Metadata) -> (String, Vec<String>) {
    if let Some(expr) = &meta.license_expression {
        let (out, names) = dep5_expression(expr);
        if !names.is_empty() {
            return (out, names);
        }
    }
    let classifiers: Vec<String> = meta
        .classifiers
        .iter()
        .filter_map(|c| c.strip_prefix("License :: "))
        .map(|c| c.rsplit(" :: ").next().unwrap_or(c))
        .filter(|c| *c != "OSI Approved")
        .map(dep5_name)
        .collect();
    if let Some(first) = classifiers.first() {
        return (first.clone(), vec![first.clone()]);
    }
    if let Some(l) = meta
        .license
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        // A one-line License field names the license; a long one is its text.
        if !l.contains('\n') && l.len() <= 60 {
            let n = dep5_name(l);
            return (n.clone(), vec![n]);
        }
    }
    ("unknown".into(), vec!["unknown".into()])
}

/// Which licenses a license file's text is, by phrases every copy of that license
/// carries (their canonical wording); DEP-5 short names as [`dep5_name`] writes them. A
/// file may hold several (a dual-licensed LICENSE).
fn licenses_in(text: &str) -> Vec<&'static str> {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let has = |phrase: &str| t.to_lowercase().contains(&phrase.to_lowercase());
    let mut out = Vec::new();
    if has("Apache License") && has("Version 2.0") {
        out.push("Apache-2.0");
    }
    if has("Permission is hereby granted, free of charge, to any person obtaining a copy") {
        out.push("Expat");
    }
    if has("Redistribution and use in source and binary forms") {
        // The third clause forbids using the names for endorsement.
        if has("Neither the name") || has("names of its contributors may") {
            out.push("BSD-3-clause");
        } else {
            out.push("BSD-2-clause");
        }
    }
    if has("Permission to use, copy, modify, and/or distribute this software for any purpose")
        || has("Permission to use, copy, modify, and distribute this software for any purpose with or without fee")
    {
        out.push("ISC");
    }
    if has("Mozilla Public License Version 2.0") || has("Mozilla Public License, version 2.0") {
        out.push("MPL-2.0");
    }
    if has("GNU LESSER GENERAL PUBLIC LICENSE") {
        if has("Version 3") {
            out.push("LGPL-3");
        }
        if has("Version 2.1") {
            out.push("LGPL-2.1");
        }
    } else if has("GNU GENERAL PUBLIC LICENSE") {
        if has("Version 3") {
            out.push("GPL-3");
        }
        if has("Version 2") {
            out.push("GPL-2");
        }
    }
    if has("PYTHON SOFTWARE FOUNDATION LICENSE") {
        out.push("PSF-2.0");
    }
    if has("This is free and unencumbered software released into the public domain") {
        out.push("Unlicense");
    }
    if has("provided 'as-is', without any express or implied warranty") {
        out.push("Zlib");
    }
    out
}

/// The text for the `License: name` stanza among the wheel's license files: one that is
/// recognisably that license; else, when the package names one license only, a file that
/// is recognisably no other (a custom or reworded text, which is what the metadata names).
/// Never another license's text (an Expat stanza holding Apache-2.0).
fn license_text_for<'a>(name: &str, texts: &'a [String], names: usize) -> Option<&'a String> {
    let base = name.trim_end_matches('+');
    if let Some(t) = texts.iter().find(|t| licenses_in(t).contains(&base)) {
        return Some(t);
    }
    // "BSD License" (a classifier) says nothing about the number of clauses.
    if base.starts_with("BSD-") {
        if let Some(t) = texts
            .iter()
            .find(|t| licenses_in(t).iter().any(|l| l.starts_with("BSD-")))
        {
            return Some(t);
        }
    }
    if names == 1 {
        return texts.iter().find(|t| licenses_in(t).is_empty());
    }
    None
}

#[derive(Serialize)]
struct LicenseParagraph {
    name: String,
    text: String,
}

/// A URL fit for the Homepage field, the copyright's Source and the man page: an absolute
/// http(s) URL that parses, without whitespace or control characters. Anything else in
/// the metadata is not used as a home page.
pub fn is_homepage_url(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || crate::python::metadata::is_unsafe_char(c))
        && url::Url::parse(text)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Debian's synopses do not start with an article (lintian
/// `description-synopsis-starts-with-article`): "A tool for X" → "Tool for X".
/// `s` without a leading `Name:` or `Name -` naming the project (`HTTPie: modern…`).
fn without_name_prefix<'a>(s: &'a str, name: &str) -> &'a str {
    s.get(..name.len())
        .filter(|h| h.eq_ignore_ascii_case(name))
        .and_then(|_| {
            let rest = s[name.len()..].trim_start();
            [":", "-", "–", "—"]
                .iter()
                .find_map(|sep| rest.strip_prefix(sep))
        })
        .map_or(s, str::trim_start)
}

pub fn drop_article(s: &str) -> String {
    for article in ["a ", "an ", "the "] {
        let head = s.get(..article.len()).unwrap_or_default();
        if let Some(rest) = head
            .eq_ignore_ascii_case(article)
            .then(|| &s[article.len()..])
            .filter(|r| !r.is_empty())
        {
            let mut c = rest.chars();
            let first = c
                .next()
                .map(|f| f.to_uppercase().collect::<String>())
                .unwrap_or_default();
            return first + c.as_str();
        }
    }
    s.to_owned()
}

fn rfc2822(epoch: u64) -> Result<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch as i64)
        .context("timestamp out of range")?;
    Ok(t.format(&time::format_description::well_known::Rfc2822)?)
}

fn year_of(epoch: u64) -> Result<i32> {
    Ok(time::OffsetDateTime::from_unix_timestamp(epoch as i64)
        .context("timestamp out of range")?
        .year())
}

fn date_ymd(epoch: u64) -> Result<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch as i64)
        .context("timestamp out of range")?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        t.year(),
        t.month() as u8,
        t.day()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const APACHE: &str = "                                 Apache License\n                           Version 2.0, January 2004\n";
    const EXPAT: &str = "Copyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software...";
    const BSD2: &str = "Redistribution and use in source and binary forms, with or without\nmodification, are permitted provided that...";

    #[test]
    fn license_files_are_recognised_by_their_wording() {
        assert_eq!(licenses_in(APACHE), ["Apache-2.0"]);
        assert_eq!(licenses_in(EXPAT), ["Expat"]);
        assert_eq!(licenses_in(BSD2), ["BSD-2-clause"]);
        assert_eq!(
            licenses_in(&format!("{BSD2}\nNeither the name of the copyright holder")),
            ["BSD-3-clause"]
        );
        assert!(licenses_in("Do what you like with it.").is_empty());
    }

    #[test]
    fn copyright_expat_stanza_never_carries_apache_text() {
        // The wheel ships Apache's LICENSE first and the MIT text second.
        let texts = vec![APACHE.to_owned(), EXPAT.to_owned()];
        assert_eq!(license_text_for("Expat", &texts, 2), Some(&texts[1]));
        // Only the Apache text shipped: the Expat stanza gets none of it.
        let only_apache = vec![APACHE.to_owned()];
        assert_eq!(license_text_for("Expat", &only_apache, 2), None);
        assert_eq!(license_text_for("Expat", &only_apache, 1), None);
        // One license named, a custom text: that text is what the metadata names.
        let custom = vec!["Do what you like with it.".to_owned()];
        assert_eq!(license_text_for("Custom", &custom, 1), Some(&custom[0]));
        assert_eq!(license_text_for("Custom", &custom, 2), None);
        // A vague "BSD License" takes the BSD text that is there.
        let bsd = vec![BSD2.to_owned()];
        assert_eq!(license_text_for("BSD-3-clause", &bsd, 1), Some(&bsd[0]));
    }

    #[test]
    fn synopsis_articles_are_dropped() {
        assert_eq!(drop_article("A demo tool"), "Demo tool");
        assert_eq!(drop_article("An app"), "App");
        assert_eq!(drop_article("Another tool"), "Another tool");
        assert_eq!(drop_article("a little task queue"), "Little task queue");
    }

    #[test]
    fn licenses_map_to_dep5_names() {
        assert_eq!(dep5_name("MIT"), "Expat");
        assert_eq!(dep5_name("BSD-3-Clause"), "BSD-3-clause");
        assert_eq!(dep5_name("Weird License (v2)"), "Weird-License--v2");
    }

    #[test]
    fn spdx_grouping_survives_the_dep5_rewrite() {
        let (expr, names) = dep5_expression("(MIT OR Apache-2.0) AND BSD-3-Clause");
        assert_eq!(expr, "Expat or Apache-2.0, and BSD-3-clause");
        assert_eq!(names, ["Expat", "Apache-2.0", "BSD-3-clause"]);
        // Without parentheses `and` binds tighter, in SPDX as in DEP-5.
        let (expr, _) = dep5_expression("MIT OR Apache-2.0 AND BSD-3-Clause");
        assert_eq!(expr, "Expat or Apache-2.0 and BSD-3-clause");
        let (expr, _) = dep5_expression("BSD-3-Clause AND (MIT OR Apache-2.0)");
        assert_eq!(expr, "BSD-3-clause, and Expat or Apache-2.0");
        // Deeper than DEP-5's comma can say: the parentheses stay.
        let (expr, _) = dep5_expression("MIT OR (ISC AND (Zlib OR 0BSD))");
        assert_eq!(expr, "Expat or ISC and (Zlib or 0BSD)");
        let (expr, names) = dep5_expression("GPL-2.0-or-later WITH Classpath-exception-2.0");
        assert_eq!(expr, "GPL-2+ with Classpath-exception-2.0");
        assert_eq!(names, ["GPL-2+", "Classpath-exception-2.0"]);
        assert_eq!(dep5_expression("MIT AND MIT").1, ["Expat"]);
    }

    #[test]
    fn hostile_license_expression_keeps_its_grouping() {
        // Not SPDX: mapped word by word, the parentheses kept as written.
        let (expr, names) = dep5_expression("(Foo Bar OR MIT) AND Baz");
        assert_eq!(expr, "(Foo Bar or Expat) and Baz");
        assert_eq!(names, ["Foo", "Bar", "Expat", "Baz"]);
        // Nesting far past any real license is not parsed recursively.
        let deep = format!("{}MIT{}", "(".repeat(50_000), ")".repeat(50_000));
        let (expr, names) = dep5_expression(&deep);
        assert_eq!(names, ["Expat"]);
        assert!(
            expr.starts_with("((") && expr.contains("Expat"),
            "{}",
            &expr[..20]
        );
    }

    #[test]
    fn roff_cannot_start_a_request() {
        assert_eq!(roff(".SH evil"), "\\&.SH evil");
        assert_eq!(roff("a-b"), "a\\-b");
        assert_eq!(
            roff("ok\n.so /etc/shadow\n'br"),
            "ok\n\\&.so /etc/shadow\n\\&'br"
        );
        assert_eq!(roff("a\\fBb"), "a\\efBb");
    }

    #[test]
    fn continuation_blocks() {
        assert_eq!(continuation("\nA\n\nB\n\n"), " A\n .\n B");
    }
}
