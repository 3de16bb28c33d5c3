//! Time loading a cached path index (`<cache>/paths-v4/<vendor>/<suite>/paths-<arch>.txt`)
//! and a few lookups: `cargo run --release --example paths_bench -- FILE`.

use py2deb::debian::archive::contents::PathIndex;
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: paths_bench PATHS-FILE");
        std::process::exit(2);
    };
    let key = PathIndex::open(path.as_ref())
        .expect("a valid path index")
        .key()
        .to_owned();
    let mut best = f64::MAX;
    let mut index = None;
    for _ in 0..5 {
        let t = Instant::now();
        index = PathIndex::load(path.as_ref(), &key);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let index = index.expect("a valid path index");
    let t = Instant::now();
    let mut hits = 0;
    for _ in 0..1000 {
        hits += index.file("usr/bin/black").len() + index.soname("libz.so.1").len();
    }
    println!(
        "{} keys, {} bytes: load {:.1} ms (best of 5), 2000 lookups {:.2} ms ({hits} hits)",
        index.len(),
        index.as_bytes().len(),
        best * 1000.0,
        t.elapsed().as_secs_f64() * 1000.0
    );
}
