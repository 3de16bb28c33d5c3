#!/usr/bin/env bash
# Benchmark (not a test): py2deb over a corpus of 20 popular command-line tools from
# PyPI, each with the closure of what bookworm lacks, on a warm cache.
#
#   bench/corpus-bench.sh                  every tool below
#   bench/corpus-bench.sh hatch mypy       only these
#
# Each tool is built once to fill the cache (downloads, package lists), then built again
# and measured: `py2deb -q --target bookworm -o TMPDIR TOOL`, wall time and peak RSS from
# GNU time (`%e %M`). Reported: one line per tool, the median and the worst, and a line
# comparing hatch's closure with `dpkg-deb -Zxz --build` of the same trees (the debs
# py2deb wrote, unpacked with `dpkg-deb -R` and rebuilt, one after another as a
# packaging script would). Progress and notes go to stderr, the figures to stdout.
#
# Needs: network for the first (cache-filling) run, GNU time (apt-get install time),
# dpkg-deb. Environment: PY2DEB (default target/release/py2deb), BENCH_WORK (default
# bench/out/corpus), PY2DEB_CACHE_DIR (default BENCH_WORK/cache, kept between runs),
# BENCH_WARM=0 to skip the cache-filling run (when an earlier run already filled it, e.g.
# to compare two binaries back to back). Other work on the machine skews the figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY2DEB=${PY2DEB:-$ROOT/target/release/py2deb}
WORK=${BENCH_WORK:-$ROOT/bench/out/corpus}
export PY2DEB_CACHE_DIR=${PY2DEB_CACHE_DIR:-$WORK/cache}

# Command-line tools people install from PyPI, pure Python or with manylinux wheels.
TOOLS=(black httpie yt-dlp tox poetry hatch mypy pre-commit cookiecutter isort flake8
    pylint twine pipx nox sqlfluff ansible-lint mkdocs bump-my-version glances)
if [[ $# -gt 0 ]]; then TOOLS=("$@"); fi

say() { printf '%s\n' "$*" >&2; }
die() { say "corpus-bench: $*"; exit 1; }

[[ -x /usr/bin/time ]] || die "GNU time is needed for peak RSS: apt-get install time"
[[ -x $PY2DEB ]] || die "$PY2DEB not found: cargo build --release"
command -v dpkg-deb >/dev/null || die "dpkg-deb is needed"
mkdir -p "$WORK" "$PY2DEB_CACHE_DIR"

# One build of TOOL into a fresh directory; prints "SECONDS KIB" or "FAIL".
measure() {
    local tool=$1 out=$2 log=$3
    rm -rf "$out"
    mkdir -p "$out"
    if /usr/bin/time -f '%e %M' -o "$log.time" \
        "$PY2DEB" -q --target bookworm -o "$out" "$tool" >"$log" 2>&1; then
        cat "$log.time"
    else
        echo FAIL
    fi
}

declare -A WALL RSS
for tool in "${TOOLS[@]}"; do
    [[ ${BENCH_WARM:-1} == 0 ]] && break
    say "warming the cache: $tool"
    measure "$tool" "$WORK/warm-$tool" "$WORK/warm-$tool.log" >/dev/null
    rm -rf "$WORK/warm-$tool"
done

printf '%-18s %9s %12s %5s\n' tool wall_s peak_rss_mib debs
for tool in "${TOOLS[@]}"; do
    say "measuring: $tool"
    r=$(measure "$tool" "$WORK/out-$tool" "$WORK/$tool.log")
    if [[ $r == FAIL ]]; then
        printf '%-18s %9s %12s %5s  (see %s)\n' "$tool" FAIL - - "$WORK/$tool.log"
        continue
    fi
    read -r wall kib <<<"$r"
    WALL[$tool]=$wall RSS[$tool]=$kib
    n=$(find "$WORK/out-$tool" -maxdepth 1 -name '*.deb' | wc -l)
    printf '%-18s %9.2f %12.1f %5d\n' "$tool" "$wall" "$(echo "$kib / 1024" | bc -l)" "$n"
done

if [[ ${#WALL[@]} -gt 0 ]]; then
    # Median (the lower middle for an even count) and worst, of wall time and of RSS.
    median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
    worst() { sort -g | tail -n1; }
    walls=$(printf '%s\n' "${WALL[@]}") rsss=$(printf '%s\n' "${RSS[@]}")
    printf 'median: %.2f s, %.1f MiB\n' "$(median <<<"$walls")" \
        "$(echo "$(median <<<"$rsss") / 1024" | bc -l)"
    wt=$(for t in "${!WALL[@]}"; do echo "${WALL[$t]} $t"; done | sort -g | tail -n1)
    printf 'worst: %.2f s (%s), %.1f MiB\n' "${wt%% *}" "${wt#* }" \
        "$(echo "$(worst <<<"$rsss") / 1024" | bc -l)"
fi

# hatch's closure against dpkg-deb building the same trees.
if [[ -n ${WALL[hatch]:-} ]]; then
    trees=$WORK/hatch-trees rebuilt=$WORK/hatch-rebuilt
    rm -rf "$trees" "$rebuilt"
    mkdir -p "$trees" "$rebuilt"
    for deb in "$WORK/out-hatch"/*.deb; do
        dpkg-deb -R "$deb" "$trees/$(basename "$deb" .deb)"
    done
    start=$(date +%s.%N)
    for tree in "$trees"/*/; do
        dpkg-deb --root-owner-group -Zxz --build "$tree" "$rebuilt/" >/dev/null
    done
    end=$(date +%s.%N)
    n=$(find "$trees" -mindepth 1 -maxdepth 1 -type d | wc -l)
    printf 'hatch closure (%d debs): py2deb %.2f s (resolve, fetch from cache, write); dpkg-deb -Zxz --build of the same trees %.2f s\n' \
        "$n" "${WALL[hatch]}" "$(echo "$end - $start" | bc -l)"
fi
