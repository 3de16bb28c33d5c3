//! Sorted tab-keyed lines searched where they lie: the one lookup both cached indexes of a
//! release use (the compact `Packages` universe and the `Contents` path index).
//!
//! Both caches are tens of megabytes of `key<TAB>…` lines sorted bytewise by key, and a
//! build asks a few dozen questions of them. Reading a cache into memory and finding its
//! line starts cost more than the rest of a small build, so the file is memory-mapped and
//! each question bisects the bytes directly: pick the middle byte, back up to the start of
//! its line, compare keys. A lookup touches a few dozen pages and nothing is scanned at
//! load time.
//!
//! The caches are written whole and renamed into place (see [`crate::fsutil::write_atomic`]),
//! so a mapping never sees a file change under it: a rewrite is a new file, and the old
//! one stays intact for whoever still maps it. Lines are checked when they are read (valid
//! UTF-8, within bounds); a line that is not is skipped, never trusted.

use std::fs::File;
use std::io;
use std::ops::{Deref, Range};
use std::path::Path;
use std::sync::Arc;

/// The bytes of a cached index: a memory map of the file, or text built in memory.
#[derive(Clone)]
pub struct Bytes(Arc<Backing>);

enum Backing {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl Bytes {
    /// Map the file at `path`, read-only.
    pub fn map(path: &Path) -> io::Result<Bytes> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            // A zero-length mapping is an error on Linux; an empty file holds nothing.
            return Ok(Bytes::from(Vec::new()));
        }
        // SAFETY: the map is read-only and py2deb only ever replaces its cache files by
        // rename, never by writing into them, so the mapped pages do not change while the
        // map lives (another program truncating the file in place could still fault it;
        // that is the same trust any reader of a user's own cache gives its owner).
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Bytes(Arc::new(Backing::Mapped(map))))
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes(Arc::new(Backing::Owned(v)))
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &*self.0 {
            Backing::Owned(v) => v,
            Backing::Mapped(m) => m,
        }
    }
}

impl Default for Bytes {
    fn default() -> Bytes {
        Bytes::from(Vec::new())
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &*self.0 {
            Backing::Owned(_) => "owned",
            Backing::Mapped(_) => "mapped",
        };
        write!(f, "Bytes({kind}, {} bytes)", self.len())
    }
}

/// The key of a line: its bytes before the first tab (the whole line without one).
pub fn key_of(line: &[u8]) -> &[u8] {
    memchr::memchr(b'\t', line).map_or(line, |t| &line[..t])
}

/// The line starting at `at` in `text[..end]`, without its `\n`, and where the next starts.
pub fn line_at(text: &[u8], at: usize, end: usize) -> (&[u8], usize) {
    let rest = &text[at..end];
    match memchr::memchr(b'\n', rest) {
        Some(i) => (&rest[..i], at + i + 1),
        None => (rest, end),
    }
}

/// The start of the first line in `text[lines]` whose key is not below `key` (the end of
/// the range when there is none). `lines` starts at a line start; its lines are sorted by
/// key.
pub fn lower_bound(text: &[u8], lines: Range<usize>, key: &[u8]) -> usize {
    let (mut lo, mut hi) = (lines.start, lines.end.min(text.len()));
    // Invariant: `lo` and `hi` are line starts (or the end); every line before `lo` has a
    // smaller key, and none from `hi` on has.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = memchr::memrchr(b'\n', &text[lo..mid]).map_or(lo, |i| lo + i + 1);
        let (line, next) = line_at(text, start, hi);
        if key_of(line) < key {
            lo = next;
        } else {
            hi = start;
        }
    }
    lo
}

/// The first line of `text[lines]` whose key is `key`, with its start (a package's
/// further versions follow it; a path index has one line per key).
pub fn find<'t>(text: &'t [u8], lines: Range<usize>, key: &[u8]) -> Option<(usize, &'t [u8])> {
    let end = lines.end.min(text.len());
    let at = lower_bound(text, lines, key);
    if at >= end {
        return None;
    }
    let (line, _) = line_at(text, at, end);
    (key_of(line) == key).then_some((at, line))
}

/// Every line of `text[lines]` with its start, in order.
pub fn all(text: &[u8], lines: Range<usize>) -> impl Iterator<Item = (usize, &[u8])> {
    let end = lines.end.min(text.len());
    let mut at = lines.start.min(end);
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let (line, next) = line_at(text, at, end);
        let here = at;
        at = next;
        Some((here, line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines whose key is `key`: the first [`find`] gives, and those after it with
    /// the same key (how a package's versions are read).
    fn equal_range<'t>(
        text: &'t [u8],
        lines: Range<usize>,
        key: &'t [u8],
    ) -> impl Iterator<Item = (usize, &'t [u8])> + 't {
        let end = lines.end.min(text.len());
        let start = find(text, lines, key).map_or(end, |(at, _)| at);
        all(text, start..end).take_while(move |(_, l)| key_of(l) == key)
    }

    fn text(keys: &[&str]) -> Vec<u8> {
        keys.iter()
            .map(|k| format!("{k}\tv-{k}\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn bisection_finds_every_key_and_only_those() {
        // Lines of very different lengths, so the middle byte falls anywhere in a line.
        let keys = [
            "a",
            "aa",
            "ab",
            "b",
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "c",
            "d",
            "dd",
            "e",
        ];
        let t = text(&keys);
        for k in keys {
            let found: Vec<_> = equal_range(&t, 0..t.len(), k.as_bytes())
                .map(|(_, l)| String::from_utf8(l.to_vec()).unwrap())
                .collect();
            assert_eq!(found, [format!("{k}\tv-{k}")], "{k}");
        }
        for missing in ["", "0", "a0", "abc", "bb", "cz", "f"] {
            assert_eq!(equal_range(&t, 0..t.len(), missing.as_bytes()).count(), 0);
        }
        // A range that leaves out the first line does not find it.
        let second = line_at(&t, 0, t.len()).1;
        assert_eq!(equal_range(&t, second..t.len(), b"a").count(), 0);
        assert_eq!(equal_range(&t, second..t.len(), b"aa").count(), 1);
    }

    #[test]
    fn repeated_keys_come_out_together_in_order() {
        let t = b"a\t1\nb\t1\nb\t2\nb\t3\nc\t1\n";
        let b: Vec<&[u8]> = equal_range(t, 0..t.len(), b"b").map(|(_, l)| l).collect();
        assert_eq!(b, [&b"b\t1"[..], b"b\t2", b"b\t3"]);
        assert_eq!(lower_bound(t, 0..t.len(), b"bb"), t.len() - 4);
        assert_eq!(lower_bound(t, 0..t.len(), b"z"), t.len());
        assert_eq!(all(t, 0..t.len()).count(), 5);
    }

    #[test]
    fn an_unterminated_last_line_and_empty_input_are_handled() {
        let t = b"a\t1\nb\t2";
        assert_eq!(equal_range(t, 0..t.len(), b"b").next().unwrap().1, b"b\t2");
        assert_eq!(equal_range(b"", 0..0, b"a").count(), 0);
        assert_eq!(key_of(b"no tab"), b"no tab");
    }

    #[test]
    fn a_mapped_file_reads_as_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x\t1\n").unwrap();
        assert_eq!(&*Bytes::map(&p).unwrap(), b"x\t1\n");
        std::fs::write(&p, b"").unwrap();
        assert!(Bytes::map(&p).unwrap().is_empty());
        assert!(Bytes::map(&dir.path().join("missing")).is_err());
    }
}
