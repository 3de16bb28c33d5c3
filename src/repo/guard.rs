//! Keeping a publish whole: signals that would end the process wait until the current
//! publish is done, and test-only failpoints stop the process at a named publishing step.
//!
//! The interrupt handler (installed by `cli::main`) calls [`exit_when_safe`]; while a
//! [`PublishGuard`] is alive the exit is recorded and performed when the last guard drops,
//! so SIGINT/SIGTERM never cut a publish short. SIGKILL cannot be deferred: the publishing
//! order in `publish` is what keeps the repository consistent then.

use std::sync::{Mutex, OnceLock};

/// (publishes in progress, exit code requested meanwhile)
static PUBLISHING: Mutex<(usize, Option<i32>)> = Mutex::new((0, None));

/// While alive, [`exit_when_safe`] defers the exit it was asked for.
pub struct PublishGuard(());

impl PublishGuard {
    pub fn new() -> PublishGuard {
        let mut s = PUBLISHING.lock().unwrap_or_else(|e| e.into_inner());
        s.0 += 1;
        PublishGuard(())
    }
}

impl Drop for PublishGuard {
    fn drop(&mut self) {
        let mut s = PUBLISHING.lock().unwrap_or_else(|e| e.into_inner());
        s.0 -= 1;
        if s.0 == 0 {
            if let Some(code) = s.1 {
                // The lock is kept while exiting so no new publish can start.
                std::process::exit(code);
            }
        }
    }
}

/// Exit with `code` now, or as soon as the publish in progress is complete.
pub fn exit_when_safe(code: i32) {
    let mut s = PUBLISHING.lock().unwrap_or_else(|e| e.into_inner());
    if s.0 == 0 {
        std::process::exit(code);
    }
    s.1 = Some(code);
}

/// The environment variable naming a failpoint, for the kill tests: `STEP` aborts the
/// process (as SIGKILL would) when publishing reaches `STEP`; `STEP=sigterm` sends the
/// process SIGTERM there instead, to exercise [`exit_when_safe`].
pub const FAILPOINT_ENV: &str = "PY2DEB_FAILPOINT";

/// Stop here if the failpoint environment variable names `step`. Read once; a plain
/// comparison otherwise.
pub fn failpoint(step: &str) {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let Some(wanted) = WANTED.get_or_init(|| std::env::var(FAILPOINT_ENV).ok()) else {
        return;
    };
    let (name, action) = wanted.split_once('=').unwrap_or((wanted.as_str(), "abort"));
    if name != step {
        return;
    }
    if action == "sigterm" {
        // SAFETY: raising a signal on our own process touches no memory.
        unsafe {
            libc::raise(libc::SIGTERM);
        }
        // Give the handler thread time to run before publishing goes on.
        std::thread::sleep(std::time::Duration::from_millis(200));
    } else {
        std::process::abort();
    }
}
