#!/bin/sh
# Time an isolated PEP 517 build of a small sdist-only project: cold (no cached build
# environment: venv + pip install of the build requirements), warm (the environment
# is cached, only the build runs) and a wheel-cache hit (nothing runs).
#
#   bench/sdist-bench.sh [REQUIREMENT]      default: stringcase==1.2.0
#
# Needs network access to PyPI (pip download, pip install into the build venv).
set -eu
req=${1:-stringcase==1.2.0}
runs=${RUNS:-3}
cd "$(dirname "$0")/.."
cargo build --release --example build_sdist >/dev/null 2>&1 ||
    cargo build --release --example build_sdist
bin=target/release/examples/build_sdist
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 -m pip download --quiet --no-binary :all: --no-deps -d "$work/dl" "$req"
sdist=$(ls "$work"/dl/*)
echo "sdist: $(basename "$sdist")"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

for i in $(seq "$runs"); do
    cache="$work/cache$i"
    t0=$(now)
    "$bin" --cache "$cache" "$sdist" 2>"$work/cold.log" >/dev/null
    t1=$(now)
    # Keep the build environments, forget the built wheel.
    rm -rf "$cache/sdist/builds"
    "$bin" --cache "$cache" "$sdist" 2>"$work/warm.log" >/dev/null
    t2=$(now)
    "$bin" --cache "$cache" "$sdist" 2>/dev/null >"$work/hit.out"
    t3=$(now)
    grep -q "cached=true" "$work/hit.out"
    printf 'run %s: cold env %6.2fs   warm env %6.2fs   wheel cache hit %6.3fs\n' \
        "$i" "$(elapsed "$t0" "$t1")" "$(elapsed "$t1" "$t2")" "$(elapsed "$t2" "$t3")"
done
