//! Lay a wheel out as dh-python installs it (Debian Python Policy, PEP 427 install
//! scheme) and describe the `.deb` to write: files, modes, generated docs, maintainer
//! scripts and the control paragraph.
//!
//! Every installed path is checked ([`check_installed_path`]) and program names follow a
//! conservative pattern, so no file name can be shell or roff syntax; man pages escape
//! all upstream text for roff.
//!
//! Nothing here reads the whole wheel into memory: module files stay
//! [`Payload::Source`] entries that the writer streams one at a time through
//! [`rewrite_shebang`].

pub mod elf;
pub mod naming;
pub mod shlibs;
pub mod strip;
pub mod templates;

pub use naming::package_name;

use crate::assemble::templates::Templates;
use crate::debian::control::{self, BinaryControl, Description};
use crate::debian::deb::{Compression, DataEntry, DebSpec, EntryKind, Payload};
use crate::debian::relation::{Dep, Op, Relations};
use crate::debian::target::Target;
use crate::debian::version::deb_version;
use crate::inspect::wheel::{Scheme, Wheel};
use crate::python::metadata::{EntryPoint, Metadata};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// Where Debian's python3 packages put public modules.
pub const DIST_PACKAGES: &str = "usr/lib/python3/dist-packages";

/// Source keys of bundled wheels' entries: `(n + 1) << BUNDLE_KEY_SHIFT | index` for the
/// n-th bundled wheel; the main wheel's entries use their plain index.
pub const BUNDLE_KEY_SHIFT: usize = 32;

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

/// Choices that shape the package beyond what the wheel says.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// `Name <mail>`.
    pub maintainer: String,
    /// Debian revision; the default `0py2deb1` sorts below any official `-1`.
    pub revision: String,
    pub compression: Compression,
    /// SOURCE_DATE_EPOCH: every mtime and the changelog date.
    pub mtime: u64,
    /// The wheel's file name, for the changelog.
    pub wheel_filename: String,
    /// Provenance for the changelog (the wheel's sha256).
    pub origin: Option<String>,
    /// Relations computed by the mapping stage for the wheel's Requires-Dist.
    pub requirement_depends: Relations,
    /// Added to the Debian epoch of the version: a package that replaces the target's
    /// package of the same name must sort above it in that package's version space
    /// (python3-numpy 2.x replacing bookworm's `1:1.24.2-1` is `1:2.…`).
    pub epoch_offset: u64,
    /// The package name an override gives (see [`crate::overrides`]), instead of
    /// [`package_name`]'s.
    pub package_name: Option<String>,
    /// The name this package had before it was named after its project (`python3-X`, see
    /// [`crate::resolve::RootName::renames`]): `Breaks` and `Replaces` it below this version.
    pub renames: Option<String>,
    /// The target's library of the same project that this package lives beside
    /// ([`crate::resolve::RootName::beside`]), and the program package Debian splits from
    /// it: `Replaces` them, for the programs both ship.
    pub stands_beside: Vec<String>,
}

/// The full Debian version: upstream version from PEP 440, then our revision.
pub fn full_version(v: &pep440_rs::Version, revision: &str) -> String {
    format!("{}-{}", deb_version(v), revision)
}

/// dpkg's file name for a package: `name_version-without-epoch_arch.deb`.
pub fn deb_filename(package: &str, version: &str, arch: &str) -> String {
    let v = version.split_once(':').map(|(_, v)| v).unwrap_or(version);
    format!("{package}_{v}_{arch}.deb")
}

/// The bytes of a source key of [`assemble`]'s payloads: the main wheel's entry, or a
/// bundled wheel's (see [`BUNDLE_KEY_SHIFT`]).
pub fn read_source(wheel: &mut Wheel, bundled: &mut [Wheel], key: usize) -> Result<Vec<u8>> {
    let which = key >> BUNDLE_KEY_SHIFT;
    let index = key & ((1 << BUNDLE_KEY_SHIFT) - 1);
    if which == 0 {
        wheel.read(index)
    } else {
        match bundled.get_mut(which - 1) {
            Some(b) => b.read(index),
            None => bail!("source key {key:#x} names no bundled wheel"),
        }
    }
}

/// Rewrite a Python `#!` line to `/usr/bin/python3`, as dh_python3 does; anything else
/// is returned unchanged. Handles the `#!python` placeholder of PEP 427 scripts.
pub fn rewrite_shebang(data: Vec<u8>) -> Vec<u8> {
    if !data.starts_with(b"#!") {
        return data;
    }
    let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let line = String::from_utf8_lossy(&data[2..end]).trim().to_owned();
    let mut words = line.split_whitespace();
    let mut interp = words.next().unwrap_or("");
    if interp == "/usr/bin/env" {
        interp = words.next().unwrap_or("");
    }
    let base = interp.rsplit('/').next().unwrap_or("");
    let is_python = base == "python"
        || base.strip_prefix("python").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == 'w' || c == 'u')
        })
        || base == "pythonw";
    if !is_python {
        return data;
    }
    // Keep interpreter flags such as `-u`; drop a `-S`-style env argument list.
    let args: Vec<&str> = words.collect();
    let mut out = b"#!/usr/bin/python3".to_vec();
    if !args.is_empty() {
        out.push(b' ');
        out.extend_from_slice(args.join(" ").as_bytes());
    }
    out.extend_from_slice(&data[end..]);
    out
}

fn gzip_n(data: &[u8]) -> Result<Vec<u8>> {
    // Like `gzip -9n`: no name, no timestamp, so output depends on content only.
    let mut enc = flate2::GzBuilder::new()
        .operating_system(3)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

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

/// Characters refused in installed file names besides those of
/// [`crate::python::metadata::is_unsafe_char`]: the shell's quoting, substitution, redirection,
/// command-separator and glob characters. Maintainer scripts never put file names into
/// shell code, but administrators' own scripts over `dpkg -L` do.
const SHELL_SPECIAL: &[char] = &[
    '$', '`', '\\', '"', '\'', ';', '&', '|', '<', '>', '*', '?', '\t',
];

/// Refuse an installed path (relative to `/`) whose name could be shell syntax, carry a
/// line break, or display as something else.
pub fn check_installed_path(path: &str) -> Result<()> {
    let bad = path
        .chars()
        .find(|&c| SHELL_SPECIAL.contains(&c) || crate::python::metadata::is_unsafe_char(c));
    if let Some(c) = bad {
        let what = if SHELL_SPECIAL.contains(&c) && c != '\t' {
            format!("the shell metacharacter {c:?}")
        } else {
            crate::python::metadata::describe_unsafe_char(c)
        };
        bail!(
            "the package would install {:?}, whose name contains {what}; installed file \
             names may not contain shell metacharacters ($ ` \\ \" ' ; & | < > * ?), \
             tabs, control characters, line separators or bidirectional overrides — fix \
             the file name in the wheel",
            format!("/{path}")
        );
    }
    Ok(())
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

/// Generated text for one `/usr/bin` program.
#[derive(Serialize)]
struct ScriptCtx<'a> {
    module: &'a str,
    import_name: &'a str,
    call: &'a str,
    private_path: Option<&'a str>,
}

fn wrapper(templates: &Templates, ep: &EntryPoint, private_path: Option<&str>) -> Result<Vec<u8>> {
    let Some(attr) = ep.attr.as_deref() else {
        bail!(
            "entry point `{} = {}` names no callable: console scripts must be `module:function`",
            ep.name,
            ep.module
        );
    };
    let import_name = attr.split('.').next().unwrap_or(attr);
    let text = templates.render(
        "script",
        &ScriptCtx {
            module: &ep.module,
            import_name,
            call: attr,
            private_path,
        },
    )?;
    Ok(text.into_bytes())
}

/// What [`assemble`] decided, ready for [`crate::debian::deb::write_deb`].
pub struct Assembly {
    pub spec: DebSpec,
    /// File name the package should get (`python3-foo_1.0-0py2deb1_all.deb`).
    pub filename: String,
    /// Programs installed in `/usr/bin`.
    pub programs: Vec<String>,
    /// What upstream installs in unusual places, kept because the program may need it
    /// (see [`unusual_place`]): one line each, for the caller to report.
    pub unusual: Vec<String>,
}

/// Why upstream's `path` (an entry of `scheme`) is in an unusual place, if it is:
/// `.data/data` outside the usual `/usr` trees (`usr/etc/…`, `usr/README`), or beside the
/// modules in the shared dist-packages a file that is no module (`LICENSE`, `README.md`) or
/// a top-level `tests`/`docs` package, which every other package shipping one would clash
/// with. Returns the place to name (a directory for a tree) and why.
fn unusual_place(scheme: &Scheme, path: &str, public: bool) -> Option<(String, &'static str)> {
    let (top, rest) = path.split_once('/').unwrap_or((path, ""));
    match scheme {
        Scheme::Data => {
            const USUAL: &[&str] = &["share", "bin", "sbin", "lib", "libexec", "include"];
            if USUAL.contains(&top) && !rest.is_empty() {
                return None;
            }
            let place = if rest.is_empty() {
                format!("/usr/{top}")
            } else {
                format!("/usr/{top}/")
            };
            Some((
                place,
                "outside /usr/share, /usr/bin, /usr/lib and /usr/include",
            ))
        }
        Scheme::Lib if public => {
            if rest.is_empty() {
                const MODULE: &[&str] = &[".py", ".pyi", ".so", ".pth", ".typed"];
                if MODULE.iter().any(|m| top.ends_with(m)) {
                    return None;
                }
                return Some((
                    format!("/{DIST_PACKAGES}/{top}"),
                    "a file that is no module, beside the modules of every package",
                ));
            }
            const SHARED: &[&str] = &["tests", "test", "docs", "doc", "examples", "benchmarks"];
            SHARED.contains(&top).then(|| {
                (
                    format!("/{DIST_PACKAGES}/{top}/"),
                    "a top-level package name that other projects ship too",
                )
            })
        }
        _ => None,
    }
}

/// Lay out `wheel` for `target`.
pub fn assemble(
    wheel: &mut Wheel,
    bundled: &mut [Wheel],
    target: &Target,
    pure: bool,
    min_glibc: Option<(u32, u32)>,
    opts: &PackageOptions,
    templates: &Templates,
) -> Result<Assembly> {
    let meta = wheel.metadata.clone();
    let package = match &opts.package_name {
        Some(p) => p.clone(),
        None => package_name(&meta.name)?,
    };
    let version = crate::debian::version::with_epoch_offset(
        &full_version(&meta.version, &opts.revision),
        opts.epoch_offset,
    );
    // A shared object in a wheel tagged pure is still compiled code (dpkg and lintian judge
    // the files, not the tag).
    let shared_object = |w: &Wheel| {
        w.entries.iter().any(|e| {
            let name = e.path.rsplit('/').next().unwrap_or(&e.path);
            name.ends_with(".so") || name.contains(".so.")
        })
    };
    let pure = pure && !shared_object(wheel) && !bundled.iter().any(shared_object);
    let architecture = if pure {
        "all".to_owned()
    } else {
        target.arch.clone()
    };
    let doc = format!("usr/share/doc/{package}");
    let dist_info = wheel.dist_info.clone();
    // With private copies of dependencies, the application and its copies live in a
    // directory of their own that only the /usr/bin wrappers put on sys.path, so the
    // system's versions stay what every other package sees.
    let compiled = |w: &Wheel| w.entries.iter().any(|e| e.path.ends_with(".so"));
    let private_root = if bundled.is_empty() {
        None
    } else if compiled(wheel) || bundled.iter().any(compiled) {
        Some(format!("usr/lib/{package}"))
    } else {
        Some(format!("usr/share/{package}"))
    };
    if private_root.is_some()
        && wheel.entry_points.console_scripts.is_empty()
        && wheel.entry_points.gui_scripts.is_empty()
    {
        bail!(
            "{} has no programs, so it cannot hide private copies of its dependencies ({}) from other Python code; \
             use --conflicts replace to replace the distribution's packages, or --conflicts fail",
            meta.name,
            bundled.iter().map(|w| w.metadata.name.clone()).collect::<Vec<_>>().join(", ")
        );
    }
    let lib_root = private_root
        .clone()
        .unwrap_or_else(|| DIST_PACKAGES.to_owned());

    let mut files: BTreeMap<String, DataEntry> = BTreeMap::new();
    let add = |files: &mut BTreeMap<String, DataEntry>,
               path: String,
               mode: u32,
               payload: Payload|
     -> Result<()> {
        check_installed_path(&path)?;
        if files.contains_key(&path) {
            bail!("the wheel installs /{path} twice (an entry point and a file of the same name?)");
        }
        files.insert(
            path.clone(),
            DataEntry {
                path,
                mode,
                kind: EntryKind::File(payload),
            },
        );
        Ok(())
    };

    let mut license_files: Vec<(String, usize)> = Vec::new();
    let mut unusual: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut version_specific = false;
    let mut programs = Vec::new();
    let entries = wheel.entries.clone();
    for e in &entries {
        let file_name = e.path.rsplit('/').next().unwrap_or(&e.path);
        // Bytecode is never shipped: postinst compiles for every installed Python.
        if e.path.split('/').any(|c| c == "__pycache__")
            || file_name.ends_with(".pyc")
            || file_name.ends_with(".pyo")
        {
            continue;
        }
        let in_dist_info = e.path.starts_with(&format!("{dist_info}/"));
        if !in_dist_info {
            if let Some((place, why)) = unusual_place(&e.scheme, &e.path, private_root.is_none()) {
                unusual.entry(place).or_insert(why);
            }
        }
        match e.scheme {
            Scheme::Lib => {
                if let Some(rest) = e.path.strip_prefix(&format!("{dist_info}/")) {
                    // dh-python 6: no RECORD (pip must not uninstall what dpkg owns),
                    // INSTALLER says debian, licenses move to the doc directory.
                    match rest {
                        "RECORD" | "RECORD.jws" | "RECORD.p7s" | "INSTALLER" | "REQUESTED"
                        | "direct_url.json" => continue,
                        _ => {}
                    }
                    let top = rest.split('/').next().unwrap_or(rest);
                    if top == "licenses"
                        || top == "license_files"
                        || (!rest.contains('/')
                            && (top == "COPYING"
                                || top == "LICENSE"
                                || top.starts_with("COPYING.")
                                || top.starts_with("LICENSE.")))
                    {
                        license_files.push((rest.to_owned(), e.index));
                        continue;
                    }
                }
                if file_name.contains(".cpython-") && file_name.ends_with(".so") {
                    version_specific = true;
                }
                let exec = e.executable && !file_name.ends_with(".so");
                add(
                    &mut files,
                    format!("{lib_root}/{}", e.path),
                    if exec { 0o755 } else { 0o644 },
                    Payload::Source(e.index),
                )?;
            }
            Scheme::Scripts => {
                if e.path.contains('/') {
                    bail!(
                        "wheel script `{}` is in a subdirectory; scripts must be plain files",
                        e.name
                    );
                }
                if let Some(problem) = crate::python::metadata::program_name_problem(&e.path) {
                    bail!(
                        "wheel script {:?} cannot be a program in /usr/bin: {problem}; a \
                         program name must be letters, digits and `. _ + -`, start with a \
                         letter or digit and be at most {} characters",
                        e.name,
                        crate::python::metadata::PROGRAM_NAME_MAX
                    );
                }
                programs.push(e.path.clone());
                add(
                    &mut files,
                    format!("usr/bin/{}", e.path),
                    0o755,
                    Payload::Source(e.index),
                )?;
            }
            Scheme::Data if is_uncompressed_man_page(&e.path) => {
                // Debian Policy §12.1: man pages are installed compressed with `gzip -9n`.
                let page = wheel.read(e.index)?;
                add(
                    &mut files,
                    format!("usr/{}.gz", e.path),
                    0o644,
                    Payload::Bytes(gzip_n(&page)?),
                )?;
            }
            Scheme::Data => {
                // Documentation is never executable (lintian `executable-in-usr-share-doc`).
                let doc = e.path.starts_with("share/doc/");
                add(
                    &mut files,
                    format!("usr/{}", e.path),
                    if e.executable && !doc { 0o755 } else { 0o644 },
                    Payload::Source(e.index),
                )?;
            }
            Scheme::Headers => {
                let py = target.python_version();
                add(
                    &mut files,
                    format!("usr/include/python{py}/{}/{}", meta.name, e.path),
                    0o644,
                    Payload::Source(e.index),
                )?;
            }
        }
    }
    files.insert(
        format!("{lib_root}/{dist_info}/INSTALLER"),
        DataEntry {
            path: format!("{lib_root}/{dist_info}/INSTALLER"),
            mode: 0o644,
            kind: EntryKind::File(Payload::Bytes(b"debian\n".to_vec())),
        },
    );
    // Private copies: their modules only (their programs would shadow the system's).
    let mut bundled_names = Vec::new();
    for (n, b) in bundled.iter().enumerate() {
        let key_base = (n + 1) << BUNDLE_KEY_SHIFT;
        bundled_names.push(format!("{} {}", b.metadata.name, b.metadata.version));
        for e in b.entries.iter().filter(|e| e.scheme == Scheme::Lib) {
            let file_name = e.path.rsplit('/').next().unwrap_or(&e.path);
            if e.path.split('/').any(|c| c == "__pycache__") || file_name.ends_with(".pyc") {
                continue;
            }
            if let Some(rest) = e.path.strip_prefix(&format!("{}/", b.dist_info)) {
                if matches!(
                    rest,
                    "RECORD"
                        | "RECORD.jws"
                        | "RECORD.p7s"
                        | "INSTALLER"
                        | "REQUESTED"
                        | "direct_url.json"
                ) {
                    continue;
                }
            }
            if file_name.contains(".cpython-") && file_name.ends_with(".so") {
                version_specific = true;
            }
            add(
                &mut files,
                format!("{lib_root}/{}", e.path),
                0o644,
                Payload::Source(key_base | e.index),
            )?;
        }
        let installer = format!("{lib_root}/{}/INSTALLER", b.dist_info);
        files.insert(
            installer.clone(),
            DataEntry {
                path: installer,
                mode: 0o644,
                kind: EntryKind::File(Payload::Bytes(b"debian\n".to_vec())),
            },
        );
    }
    let private_path = private_root.as_ref().map(|r| format!("/{r}"));

    for ep in wheel
        .entry_points
        .console_scripts
        .iter()
        .chain(&wheel.entry_points.gui_scripts)
    {
        let body = wrapper(templates, ep, private_path.as_deref())?;
        add(
            &mut files,
            format!("usr/bin/{}", ep.name),
            0o755,
            Payload::Bytes(body),
        )?;
        programs.push(ep.name.clone());
    }
    programs.sort();
    programs.dedup();

    let Description {
        synopsis,
        mut extended,
    } = description_of(&meta);
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

    let homepage = meta
        .home_page
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
        });

    // Copyright (DEP-5).
    let (license, names) = license_of(&meta);
    let mut license_texts = Vec::new();
    for (rel, index) in &license_files {
        let bytes = wheel.read(*index)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let base = rel.rsplit('/').next().unwrap_or(rel);
        let target_name = if files.contains_key(&format!("{doc}/{base}")) {
            rel.replace('/', "_")
        } else {
            base.to_owned()
        };
        add(
            &mut files,
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
            source: homepage.as_deref(),
            copyright: copyright_holders
                .chars()
                .filter(|c| !c.is_control())
                .collect(),
            license: &license,
            license_paragraphs: &paragraphs,
        },
    )?;
    add(
        &mut files,
        format!("{doc}/copyright"),
        0o644,
        Payload::Bytes(copyright.into_bytes()),
    )?;

    // changelog.Debian.gz
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
            package: &package,
            version: &version,
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
        &mut files,
        format!("{doc}/changelog.Debian.gz"),
        0o644,
        Payload::Bytes(gzip_n(changelog.as_bytes())?),
    )?;

    // A man page per program: Debian Policy §12.1 wants one for every command.
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
    for prog in &programs {
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
                synopsis: roff(&synopsis),
                description: extended.iter().take(2).map(|p| roff(p)).collect(),
                homepage: homepage.as_deref().map(roff),
            },
        )?;
        add(
            &mut files,
            format!("usr/share/man/man1/{prog}.1.gz"),
            0o644,
            Payload::Bytes(gzip_n(page.as_bytes())?),
        )?;
    }

    // Depends, as dh_python3 would compute it.
    let mut depends = Relations::default();
    depends.push(Dep::new("python3").any_arch());
    if version_specific {
        let (maj, min) = target.python;
        depends.push(Dep::with("python3", Op::Ge, format!("{maj}.{min}~")));
        depends.push(Dep::with("python3", Op::Lt, format!("{maj}.{}", min + 1)));
    } else if let Some(min) = requires_python_floor(&meta) {
        depends.push(Dep::with(
            "python3",
            Op::Ge,
            format!("{}.{}~", min.0, min.1),
        ));
    }
    if let Some((maj, min)) = min_glibc.filter(|_| !pure) {
        depends.push(Dep::with("libc6", Op::Ge, format!("{maj}.{min}")));
    }
    depends.extend(opts.requirement_depends.clone());

    let mut control = BinaryControl::new(
        package.clone(),
        version.clone(),
        architecture.clone(),
        opts.maintainer.clone(),
        Description { synopsis, extended },
    );
    control.depends = depends;
    control.homepage = homepage;
    // A package renamed after its project (its modules went private) upgrades from its old
    // python3-X name in a repository: `Breaks` makes apt remove the old package when this
    // one is installed, `Replaces` lets it take the files both ship (Debian Policy §7.6.2).
    // No `Provides`: a private package must not satisfy a `Depends` on the module.
    if let Some(old) = &opts.renames {
        let below = Dep::with(old, Op::Lt, version.clone());
        control.breaks.push(below.clone());
        control.replaces.push(below);
    }
    // Beside the distribution's library of the same project, only its files may be taken
    // over (Policy §7.6.1): the library stays installed for what depends on it.
    for package in &opts.stands_beside {
        control.replaces.push(Dep::new(package));
    }

    #[derive(Serialize)]
    struct ScriptsCtx<'a> {
        package: String,
        private_dirs: &'a [String],
    }
    // Arch-specific packages name themselves with their architecture, as dh_python3 does.
    let pkg_ref = if pure {
        package.clone()
    } else {
        format!("{package}:{architecture}")
    };
    let private_dirs: Vec<String> = private_path.iter().cloned().collect();
    // The scripts name only the package and its private directory, both made of the
    // package name's characters; anything else would be shell syntax.
    let word_ok = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.:/".contains(&b))
    };
    for word in std::iter::once(&pkg_ref).chain(&private_dirs) {
        if !word_ok(word) {
            bail!(
                "{word:?} cannot be written into the maintainer scripts: it must be lowercase \
                 letters, digits and `+ - . : /`"
            );
        }
    }
    let sctx = ScriptsCtx {
        package: pkg_ref,
        private_dirs: &private_dirs,
    };
    let scripts = vec![
        (
            "postinst".to_owned(),
            templates.render("postinst", &sctx)?.into_bytes(),
        ),
        (
            "prerm".to_owned(),
            templates.render("prerm", &sctx)?.into_bytes(),
        ),
    ];

    let size_hint = wheel
        .entries
        .iter()
        .chain(bundled.iter().flat_map(|b| b.entries.iter()))
        .map(|e| e.size)
        .sum();
    let filename = deb_filename(&package, &version, &architecture);
    Ok(Assembly {
        spec: DebSpec {
            control,
            scripts,
            data: files.into_values().collect(),
            compression: opts.compression,
            mtime: opts.mtime,
            size_hint,
        },
        filename,
        programs,
        unusual: unusual
            .into_iter()
            .map(|(place, why)| format!("{place} ({why})"))
            .collect(),
    })
}

/// `share/man/man1/foo.1` (a page the wheel ships under `.data/data`, not yet gzipped).
fn is_uncompressed_man_page(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("share/man/man") else {
        return false;
    };
    let Some((section, file)) = rest.split_once('/') else {
        return false;
    };
    !section.is_empty()
        && section.chars().next().is_some_and(|c| c.is_ascii_digit())
        && !file.contains('/')
        && file.rsplit_once('.').is_some_and(|(name, ext)| {
            !name.is_empty() && ext.starts_with(|c: char| c.is_ascii_digit())
        })
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

/// The lowest `3.X` Requires-Python allows, when it sets a floor above 3.0.
fn requires_python_floor(meta: &Metadata) -> Option<(u64, u64)> {
    use pep440_rs::Operator;
    let spec = meta.requires_python.as_ref()?;
    let mut floor: Option<(u64, u64)> = None;
    for s in spec.iter() {
        let r = s.version().release();
        let (maj, min) = (
            r.first().copied().unwrap_or(0),
            r.get(1).copied().unwrap_or(0),
        );
        let min = match s.operator() {
            Operator::GreaterThanEqual
            | Operator::TildeEqual
            | Operator::Equal
            | Operator::EqualStar => min,
            Operator::GreaterThan if r.len() <= 2 => min + 1,
            Operator::GreaterThan => min,
            _ => continue,
        };
        if maj == 3 && floor.is_none_or(|f| (maj, min) > f) {
            floor = Some((maj, min));
        }
    }
    floor.filter(|f| f.1 > 0)
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
    fn package_names_follow_python_policy() {
        assert_eq!(package_name("Flask_Cors").unwrap(), "python3-flask-cors");
        assert_eq!(package_name("python-slugify").unwrap(), "python3-slugify");
        for spelling in [
            "backports.zstd",
            "backports_zstd",
            "Backports-Zstd",
            "backports--zstd",
        ] {
            assert_eq!(
                package_name(spelling).unwrap(),
                "python3-backports-zstd",
                "{spelling}"
            );
        }
        assert!(package_name("b@d").is_err());
    }

    #[test]
    fn shebangs_are_rewritten_like_dh_python3() {
        let cases = [
            ("#!/usr/bin/env python\nx", "#!/usr/bin/python3\nx"),
            ("#!python\nx", "#!/usr/bin/python3\nx"),
            (
                "#!/usr/local/bin/python3.11 -u\nx",
                "#!/usr/bin/python3 -u\nx",
            ),
            ("#!/bin/sh\nx", "#!/bin/sh\nx"),
            ("print(1)\n", "print(1)\n"),
        ];
        for (input, want) in cases {
            assert_eq!(
                String::from_utf8(rewrite_shebang(input.as_bytes().to_vec())).unwrap(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn synopsis_articles_are_dropped() {
        assert_eq!(drop_article("A demo tool"), "Demo tool");
        assert_eq!(drop_article("An app"), "App");
        assert_eq!(drop_article("Another tool"), "Another tool");
        assert_eq!(drop_article("a little task queue"), "Little task queue");
    }

    #[test]
    fn filenames_drop_the_epoch() {
        assert_eq!(
            deb_filename("python3-a", "1:2.0-0py2deb1", "all"),
            "python3-a_2.0-0py2deb1_all.deb"
        );
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
    fn hostile_installed_paths_are_refused() {
        for bad in [
            "usr/lib/python3/dist-packages/demo/$(touch${IFS}PWNED).py",
            "usr/lib/python3/dist-packages/demo/`id`.py",
            "usr/lib/python3/dist-packages/demo/a;b.py",
            "usr/lib/python3/dist-packages/demo/a\u{85}b.py",
            "usr/lib/python3/dist-packages/demo/a\u{202e}yp.txt",
            "usr/lib/python3/dist-packages/demo/a\u{2028}b.py",
            "usr/lib/python3/dist-packages/demo/a\tb.py",
        ] {
            let e = check_installed_path(bad).unwrap_err().to_string();
            assert!(e.contains("installed file names may not"), "{bad}: {e}");
        }
        for good in [
            "usr/lib/python3/dist-packages/setuptools/script (dev).tmpl",
            "usr/lib/python3/dist-packages/demo/{{cookiecutter.name}}/[id]+x,y=z@1~.py",
            "usr/lib/python3/dist-packages/démo/ünïcode.py",
        ] {
            check_installed_path(good).unwrap();
        }
    }

    #[test]
    fn continuation_blocks() {
        assert_eq!(continuation("\nA\n\nB\n\n"), " A\n .\n B");
    }
}
