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
