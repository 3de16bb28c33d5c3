//! deb822 paragraphs, the one parser and writer of the format (deb822(5), deb-control(5),
//! Debian Policy §5.1): `Name: value` fields, continuation lines starting with a space or
//! a tab, paragraphs separated by empty lines.
//!
//! Two readers, for two kinds of input:
//! - [`parse_paragraph`] is strict, with dpkg's rules, for a paragraph from anywhere (a
//!   package's control file, the repository's recorded state): one clear error for
//!   anything dpkg would refuse or a human could misread.
//! - [`paragraphs`] streams over the paragraphs of a large index (`Packages`, `Sources`,
//!   `Release`) whose bytes were verified against a signed hash before they are read:
//!   zero-copy, never failing, never panicking, skipping what is not a field. It is the
//!   hot path of loading a target (60 000+ stanzas), so it makes one pass over each line
//!   and allocates nothing.
//!
//! The writer ([`write_field`], [`render_paragraph`]) is the inverse of the strict parser.

// ------------------------------------------------------------------ strict parser

/// Upper bound on one field value, continuation lines included.
pub const FIELD_MAX: usize = 256 * 1024;
/// Upper bound on the number of fields in one paragraph.
pub const FIELDS_MAX: usize = 512;

/// Characters never accepted in a control paragraph: besides ASCII controls (tab and the
/// line feed separating lines excepted), the ones that end a line or reorder text in some
/// reader (C1 controls with NEL, the Unicode line and paragraph separators, bidi overrides
/// and isolates), so what a human reviews is what apt parses.
pub fn forbidden_char(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Describe a character for an error message (`U+0085`).
fn describe(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// Parse one deb822 paragraph (deb-control(5), Policy §5.1) with dpkg's rules: every line
/// is `Name: value` or a continuation starting with a space or tab; a continuation line that
/// is blank, a carriage return, a second paragraph, a duplicate field (case-insensitive) or
/// a malformed field name is an error. Empty lines are accepted only before and after the
/// paragraph. Continuation lines are kept in the value (joined with `\n`, trailing
/// whitespace removed), so multi-line fields survive a round trip through [`write_field`].
pub fn parse_paragraph(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "is not valid UTF-8 (byte {} of {}); re-encode it as UTF-8",
            e.valid_up_to(),
            bytes.len()
        )
    })?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut ended = false;
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len() - 1;
    for (i, line) in lines.iter().enumerate() {
        let lineno = i + 1;
        if let Some(c) = line.chars().find(|&c| forbidden_char(c)) {
            let what = if c == '\r' {
                "a carriage return (CRLF line ends); convert the file to LF line ends".to_owned()
            } else {
                format!("the forbidden character {}; remove it", describe(c))
            };
            return Err(format!("line {lineno}: contains {what}"));
        }
        if line.is_empty() {
            // An empty last element is just the final newline.
            if !fields.is_empty() && i != last {
                ended = true;
            }
            continue;
        }
        if ended {
            return Err(format!(
                "line {lineno}: a second paragraph starts after an empty line; a package has exactly one"
            ));
        }
        if line.starts_with([' ', '\t']) {
            let Some((name, value)) = fields.last_mut() else {
                return Err(format!(
                    "line {lineno}: continuation line `{}` before any field",
                    line.trim()
                ));
            };
            let cont = line.trim_end_matches([' ', '\t']);
            if cont.trim_start_matches([' ', '\t']).is_empty() {
                return Err(format!(
                    "line {lineno}: blank continuation line in field `{name}` (use ` .` for an empty line)"
                ));
            }
            if value.len() + cont.len() + 1 > FIELD_MAX {
                return Err(format!("field `{name}` is longer than {FIELD_MAX} bytes"));
            }
            value.push('\n');
            value.push_str(cont);
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "line {lineno}: `{}` is not `Field: value`",
                clip(line)
            ));
        };
        check_field_name(name).map_err(|why| format!("line {lineno}: {why}"))?;
        if fields.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return Err(format!("line {lineno}: duplicate field `{name}`; keep one"));
        }
        if fields.len() >= FIELDS_MAX {
            return Err(format!("has more than {FIELDS_MAX} fields"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.len() > FIELD_MAX {
            return Err(format!("field `{name}` is longer than {FIELD_MAX} bytes"));
        }
        fields.push((name.to_owned(), value.to_owned()));
    }
    if fields.is_empty() {
        return Err("holds no field".into());
    }
    Ok(fields)
}

/// deb822 field names: printable ASCII without space or colon, not starting with `#` or `-`.
fn check_field_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("field with an empty name".into());
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "field name `{}` contains {} (names are printable ASCII without spaces)",
            clip(name),
            describe(c)
        ));
    }
    if name.starts_with(['#', '-']) {
        return Err(format!(
            "field name `{}` starts with `{}`",
            clip(name),
            &name[..1]
        ));
    }
    Ok(())
}

/// At most 80 characters of untrusted text for an error message.
pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>())
    }
}

/// Case-insensitive field lookup (field names are case-insensitive per Policy §5.1).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

// ------------------------------------------------------------------ writer

/// Append `Name: value` in deb822 form, the inverse of [`parse_paragraph`] for one field.
pub fn write_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(':');
    if !value.is_empty() && !value.starts_with('\n') {
        out.push(' ');
    }
    out.push_str(value);
    out.push('\n');
}

/// A parsed paragraph written back in deb822 form, fields in their original order.
pub fn render_paragraph(fields: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in fields {
        write_field(&mut out, k, v);
    }
    out
}

// ------------------------------------------------------------------ streaming reader

/// The paragraphs of a verified index, in order. Lines that are empty (or a lone `\r`)
/// separate paragraphs; runs of them are one separator.
pub fn paragraphs(data: &[u8]) -> Paragraphs<'_> {
    Paragraphs { data, pos: 0 }
}

/// Iterator returned by [`paragraphs`].
#[derive(Debug, Clone)]
pub struct Paragraphs<'a> {
    data: &'a [u8],
    pos: usize,
}

/// One paragraph of an index: a slice of the input, read field by field on demand.
#[derive(Debug, Clone, Copy)]
pub struct Paragraph<'a> {
    text: &'a [u8],
}

/// The line starting at `pos`: its end (excluding the `\n`) and where the next one starts.
#[inline]
fn line_at(data: &[u8], pos: usize) -> (usize, usize) {
    match find_newline(&data[pos..]) {
        Some(n) => (pos + n, pos + n + 1),
        None => (data.len(), data.len()),
    }
}

/// The first `\n` in `hay`, eight bytes at a time (a word has a zero byte after the XOR
/// exactly where it held a newline). Finding line ends is most of the cost of reading an
/// index, and a byte-by-byte search was twice as slow.
#[inline]
fn find_newline(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = ONES * b'\n' as u64;
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NL;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|n| at + n)
}

#[inline]
fn is_blank(line: &[u8]) -> bool {
    line.is_empty() || line == b"\r"
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Paragraph<'a>;

    fn next(&mut self) -> Option<Paragraph<'a>> {
        let data = self.data;
        // Skip separators.
        while self.pos < data.len() {
            let (end, next) = line_at(data, self.pos);
            if !is_blank(&data[self.pos..end]) {
                break;
            }
            self.pos = next;
        }
        if self.pos >= data.len() {
            return None;
        }
        let start = self.pos;
        let mut stop = data.len();
        while self.pos < data.len() {
            let (end, next) = line_at(data, self.pos);
            if is_blank(&data[self.pos..end]) {
                stop = self.pos;
                self.pos = next;
                break;
            }
            self.pos = next;
        }
        Some(Paragraph {
            text: &data[start..stop.min(self.pos)],
        })
    }
}

impl<'a> Paragraph<'a> {
    /// The paragraph's bytes, as in the input.
    pub fn text(&self) -> &'a [u8] {
        self.text
    }

    /// Its fields in order, as `(name, value)`.
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            text: self.text,
            pos: 0,
        }
    }

    /// The first field of this name (names are case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.fields()
            .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }
}

/// Iterator returned by [`Paragraph::fields`]: `(name, value)`, the value without the
/// whitespace around it and with its continuation lines (joined by `\n`, each still
/// starting with its space), so a multi-line field such as `SHA256` reads as lines.
/// Lines that are not fields (no colon, a comment, a continuation before any field) are
/// skipped.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let text = self.text;
        while self.pos < text.len() {
            let start = self.pos;
            let (mut end, mut next) = line_at(text, start);
            self.pos = next;
            let first = text[start];
            if first == b' ' || first == b'\t' || first == b'#' {
                continue;
            }
            let Some(colon) = text[start..end].iter().position(|&b| b == b':') else {
                continue;
            };
            // Continuation lines belong to this field's value.
            while next < text.len() && (text[next] == b' ' || text[next] == b'\t') {
                (end, next) = line_at(text, next);
            }
            self.pos = next;
            let name = &text[start..start + colon];
            let value = text[start + colon + 1..end].trim_ascii();
            return Some((name, value));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraph_continuations_are_kept() {
        let f = parse_paragraph(b"Package: a\nDescription: x\n long\n .\nVersion: 1\n").unwrap();
        assert_eq!(field(&f, "description"), Some("x\n long\n ."));
        assert_eq!(field(&f, "VERSION"), Some("1"));
        let mut out = String::new();
        write_field(&mut out, "Description", "x\n long\n .");
        assert_eq!(out, "Description: x\n long\n .\n");
    }

    #[test]
    fn streaming_reader_splits_paragraphs_and_fields() {
        let text = b"\n\nPackage: a\r\nDepends: b,\n c\nSHA256:\n ab 1 x\n cd 2 y\n\r\n\n\nPackage: b\nno colon\n stray\nversion: 2";
        let ps: Vec<Paragraph> = paragraphs(text).collect();
        assert_eq!(ps.len(), 2);
        let f: Vec<(&[u8], &[u8])> = ps[0].fields().collect();
        assert_eq!(f[0], (&b"Package"[..], &b"a"[..]));
        assert_eq!(f[1], (&b"Depends"[..], &b"b,\n c"[..]));
        assert_eq!(ps[0].get("sha256"), Some(&b"ab 1 x\n cd 2 y"[..]));
        assert_eq!(ps[1].get("Version"), Some(&b"2"[..]));
        assert_eq!(ps[1].fields().count(), 2);
    }

    #[test]
    fn hostile_index_bytes_never_panic_the_streaming_reader() {
        for text in [
            &b""[..],
            b"\n",
            b":",
            b" :\n:\n\t",
            b"A:",
            b"A: \xff\xfe\n \n\n\r",
            b"#x: y\n\0: \0",
        ] {
            for p in paragraphs(text) {
                for (k, v) in p.fields() {
                    assert!(k.len() + v.len() <= text.len());
                }
            }
        }
        assert_eq!(paragraphs(b"\n\r\n\n").count(), 0);
    }

    #[test]
    fn newline_search_matches_a_plain_scan() {
        let text: Vec<u8> = (0..300u32)
            .map(|i| {
                if i % 37 == 0 {
                    b'\n'
                } else {
                    (i % 251) as u8 ^ 0x80
                }
            })
            .collect();
        for start in 0..text.len() {
            let hay = &text[start..];
            assert_eq!(
                find_newline(hay),
                hay.iter().position(|&b| b == b'\n'),
                "{start}"
            );
        }
        assert_eq!(find_newline(&[0x8a; 20]), None);
        assert_eq!(find_newline(b"\x0b\x09\x8a\n"), Some(3));
    }
}
