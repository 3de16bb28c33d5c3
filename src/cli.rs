//! Command line: clap types (`Opts`) turned into the program's `Config`.

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    0
}
