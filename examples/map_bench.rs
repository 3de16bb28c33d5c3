//! Load a target's package index and dist-info map, then map requirements onto it,
//! timing each step: `cargo run --release --example map_bench -- bookworm [--host]
//! [--offline] [REQUIREMENT…]`.

use py2deb::debian::archive::{Archive, ArchiveOptions};
use py2deb::debian::target::Target;
use py2deb::python::markers;
use py2deb::report::Silent;
use py2deb::resolve::mapping::{map_requirement, DistMap, Universe};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let host = args.iter().any(|a| a == "--host");
    let offline = args.iter().any(|a| a == "--offline");
    let mut rest = args.iter().filter(|a| !a.starts_with("--"));
    let name = rest.next().map(String::as_str).unwrap_or("bookworm");
    let mut reqs: Vec<&str> = rest.map(String::as_str).collect();
    if reqs.is_empty() {
        reqs = vec![
            "platformdirs",
            "python-slugify",
            "rapidfuzz",
            "urllib3>=2",
            "yaspin",
        ];
    }
    let target = if host {
        Target::host()?
    } else {
        Target::named(name, "amd64")?
    };
    let opts = ArchiveOptions {
        offline,
        ..Default::default()
    };
    let t0 = Instant::now();
    let archive = if host {
        Archive::load_host(&target, &opts)?
    } else {
        Archive::load_remote(&target, &opts, &Silent)?
    };
    let t1 = Instant::now();
    let dists = DistMap::load(&target, &opts, &Silent);
    let t2 = Instant::now();
    let env = markers::environment(&target)?;
    let u = Universe {
        target: &target,
        archive: &archive,
        dists: &dists,
    };
    let mut rows = Vec::new();
    for r in &reqs {
        let req = markers::parse_requirement(r)?;
        let applies = markers::applies(&req, &env, &[]);
        rows.push(map_requirement(&req, applies, &u));
    }
    let t3 = Instant::now();
    for row in &rows {
        println!("{}", serde_json::to_string(row)?);
    }
    eprintln!(
        "{}: {} packages ({:?}), dist map {} names from {:?} ({:?}), mapping {:?}, total {:?}",
        target.name,
        archive.len(),
        t1 - t0,
        dists.len(),
        dists.origin,
        t2 - t1,
        t3 - t2,
        t3 - t0
    );
    Ok(())
}
