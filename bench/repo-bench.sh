#!/bin/sh
# Benchmark: add one package to an apt repository that already holds 1,000.
#
# Generates REPO_BENCH_PACKAGES (default 1000) tiny packages with dpkg-deb, publishes them
# into a fresh repository, then times three single-package adds (open, lock, read the one
# .deb, copy into the pool, rewrite indexes and Release). Goal: well under a second.
#
# Usage: bench/repo-bench.sh            (debug build; timings are pessimistic)
#        REPO_BENCH_PACKAGES=5000 bench/repo-bench.sh
set -eu
cd "$(dirname "$0")/.."
command -v dpkg-deb >/dev/null || { echo "dpkg-deb is required (apt-get install dpkg)" >&2; exit 1; }
cargo test --test it repo::bench_add_one_into_thousand -- --ignored --nocapture 2>&1 |
    grep -E '^(generated|initial add|REPO-BENCH)|panicked|error' || true
