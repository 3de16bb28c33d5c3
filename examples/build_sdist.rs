//! Build one wheel from an sdist or project directory with py2deb's PEP 517 frontend
//! and print where it went; used by `bench/sdist-bench.sh`.
//!
//! `cargo run --example build_sdist -- [--no-build-isolation] [--cache DIR]
//!  [--timeout SECS] [--python PATH] [--pip-arg ARG]... SDIST|DIR`

use py2deb::inspect::sdist::{self, SdistBuildOptions, SourceTree};
use py2deb::report::{Progress, Reporter};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Stderr;
struct NoProgress;
impl Progress for NoProgress {
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}
impl Reporter for Stderr {
    fn info(&self, msg: &str) {
        eprintln!("{msg}");
    }
    fn warn(&self, msg: &str) {
        eprintln!("warning: {msg}");
    }
    fn progress(&self, _label: &str, _total: Option<u64>) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }
}

fn main() {
    let mut opts = SdistBuildOptions {
        isolation: true,
        python: PathBuf::from("/usr/bin/python3"),
        pip_index_args: Vec::new(),
        timeout: Duration::from_secs(600),
        cache_dir: std::env::temp_dir().join("py2deb-example-cache"),
        limits: Default::default(),
        target_is_host: true,
    };
    let mut spec = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().expect("option needs a value");
        match a.as_str() {
            "--no-build-isolation" => opts.isolation = false,
            "--cache" => opts.cache_dir = PathBuf::from(value()),
            "--python" => opts.python = PathBuf::from(value()),
            "--timeout" => opts.timeout = Duration::from_secs(value().parse().expect("seconds")),
            "--pip-arg" => opts.pip_index_args.push(value()),
            _ => spec = Some(a),
        }
    }
    let spec = spec.expect("give an sdist or a project directory");
    let Some(tree) = SourceTree::from_spec(&spec) else {
        eprintln!("error: `{spec}` is neither an sdist nor a project directory");
        std::process::exit(2);
    };
    let t = Instant::now();
    match sdist::build_wheel(&tree, None, &opts, &Stderr) {
        Ok(w) => println!(
            "{} cached={} pure={} seconds={:.2}",
            w.path.display(),
            w.cached,
            w.pure,
            t.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
