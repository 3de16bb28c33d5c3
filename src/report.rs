//! The one channel through which the library tells the user anything: messages and progress.
//!
//! Library code never prints; the CLI installs a terminal reporter, tests install a
//! recording one.

use std::sync::Mutex;

/// A running progress indicator (a download, a build step).
pub trait Progress: Send {
    /// Advance by `n` units (bytes for downloads).
    fn inc(&self, n: u64);
    /// The task is done; the indicator disappears.
    fn finish(&self);
}

/// Receives everything the library wants the user to know.
pub trait Reporter: Send + Sync {
    /// Informational progress line ("downloading foo-1.0.whl").
    fn info(&self, msg: &str);
    /// Something the user should look at, but not fatal.
    fn warn(&self, msg: &str);
    /// Start a progress indicator; `total` is the expected number of units if known.
    fn progress(&self, label: &str, total: Option<u64>) -> Box<dyn Progress>;
}

struct NoProgress;
impl Progress for NoProgress {
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Discards everything; for library users that want silence.
pub struct Silent;
impl Reporter for Silent {
    fn info(&self, _msg: &str) {}
    fn warn(&self, _msg: &str) {}
    fn progress(&self, _label: &str, _total: Option<u64>) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }
}

/// Keeps every message; tests assert on what was reported.
#[derive(Default)]
pub struct Recorder {
    pub infos: Mutex<Vec<String>>,
    pub warnings: Mutex<Vec<String>>,
}
impl Reporter for Recorder {
    fn info(&self, msg: &str) {
        self.infos.lock().unwrap().push(msg.to_owned());
    }
    fn warn(&self, msg: &str) {
        self.warnings.lock().unwrap().push(msg.to_owned());
    }
    fn progress(&self, _label: &str, _total: Option<u64>) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }
}

/// Make text from untrusted sources (index pages, wheel metadata, file names, servers'
/// errors) safe to print on a terminal: every control character except newline and tab
/// (C0, DEL, C1, so ESC and CSI sequences cannot set the window title or clear the
/// screen) and the bidirectional-override and isolate characters (which can make text
/// read differently than it is, "Trojan Source") become visible `\u{..}` escapes.
/// A backslash stays as it is; the escapes are for a human reader, not to be reversed.
pub fn escape_untrusted(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        // C0, DEL and C1 controls.
        c if c.is_control() => true,
        // Bidi marks, embeddings, overrides and isolates (Unicode UAX #9).
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::escape_untrusted;

    #[test]
    fn hostile_terminal_escapes_become_visible() {
        // Set the window title, clear the screen, CSI as one C1 character, bidi override.
        let evil = "a\x1b]0;owned\x07b\x1b[2Jc\u{9b}31md\u{202e}gnp.exe\r!";
        let shown = escape_untrusted(evil);
        assert_eq!(
            shown,
            "a\\u{1b}]0;owned\\u{7}b\\u{1b}[2Jc\\u{9b}31md\\u{202e}gnp.exe\\u{d}!"
        );
        assert!(!shown.chars().any(|c| c.is_control()));
        assert_eq!(
            escape_untrusted("line 1\n\tline 2 — ok"),
            "line 1\n\tline 2 — ok"
        );
        for c in [
            '\u{0}', '\u{7f}', '\u{85}', '\u{200f}', '\u{2066}', '\u{2069}', '\u{61c}',
        ] {
            assert!(!escape_untrusted(&c.to_string()).contains(c), "{c:?}");
        }
    }
}
