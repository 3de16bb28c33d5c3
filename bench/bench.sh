#!/usr/bin/env bash
# Benchmark (not a test): how fast is py2deb at turning a local wheel into a .deb, and
# how much memory does it need, compared with the bare minimum (unzip + dpkg-deb)?
#
#   bench/bench.sh                 both wheels below
#   BENCH_RUNS=10 bench/bench.sh   more repetitions (default 5)
#   BENCH_COMPRESSION=gzip bench/bench.sh   another member compression (xz, gzip, zstd)
#
# Wheels: dunamai 1.26.5 (small) and botocore (large, ~16 MB wheel of JSON data files),
# downloaded once into bench/out/wheels. Compared, all with the same compression (xz
# unless BENCH_COMPRESSION says otherwise):
#   py2deb       py2deb ./file.whl --no-index -o DIR --compression $BENCH_COMPRESSION
#   unzip+dpkg   bench/wheel-to-deb.sh: unzip under usr/lib/python3/dist-packages,
#                DEBIAN/control, dpkg-deb --build -Z$BENCH_COMPRESSION (no metadata work at all)
#   wheel2deb, py2deb (Python)   only if installed; skipped with a note otherwise
# Reported: wall time (hyperfine if installed, else repeated /usr/bin/time), peak RSS
# (/usr/bin/time -v, "Maximum resident set size"), .deb size and unpacked size, as a
# markdown table on stdout. Progress and notes go to stderr. Results are kept in
# bench/README.md.
#
# Needs: python3 with pip (for the download), unzip, time (GNU /usr/bin/time), dpkg-dev;
# hyperfine optional. Environment: PY2DEB (default target/release/py2deb), BENCH_RUNS,
# BENCH_WORK (default bench/out).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY2DEB=${PY2DEB:-$ROOT/target/release/py2deb}
WORK=${BENCH_WORK:-$ROOT/bench/out}
RUNS=${BENCH_RUNS:-5}
COMP=${BENCH_COMPRESSION:-xz}
# Pinned so numbers stay comparable over time; botocore is the large-wheel case.
WHEELS=(dunamai==1.26.5 botocore==1.44.5)

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

[[ -x /usr/bin/time ]] || die "GNU time is needed for peak RSS: apt-get install time"
command -v unzip >/dev/null || die "unzip is needed: apt-get install unzip"
command -v dpkg-deb >/dev/null || die "dpkg-deb is needed"
python3 -m pip --version >/dev/null 2>&1 || die "pip is needed for the download: apt-get install python3-pip"
HAVE_HYPERFINE=no
command -v hyperfine >/dev/null && HAVE_HYPERFINE=yes

mkdir -p "$WORK/wheels"
for spec in "${WHEELS[@]}"; do
    name=${spec%%==*} version=${spec#*==}
    if ! compgen -G "$WORK/wheels/$name-$version-*.whl" >/dev/null; then
        say "downloading $spec"
        python3 -m pip download -q --no-deps --only-binary :all: -d "$WORK/wheels" "$spec" >&2
    fi
done

# Candidate tools: label and a command template, with {whl} (wheel path), {whldir}
# (directory holding only that wheel) and {out} (output directory, emptied before each run).
TOOLS=() TEMPLATES=()
if [[ -x $PY2DEB ]]; then
    TOOLS+=(py2deb) TEMPLATES+=("'$PY2DEB' -q {whl} --no-index -o {out} --compression $COMP")
else
    say "note: $PY2DEB not found, py2deb rows skipped (cargo build --release)"
fi
TOOLS+=("unzip+dpkg-deb") TEMPLATES+=("'$ROOT/bench/wheel-to-deb.sh' {whl} {out} $COMP >/dev/null")
if command -v wheel2deb >/dev/null; then
    # wheel2deb converts every wheel in the current directory and writes to ./output.
    TOOLS+=(wheel2deb) TEMPLATES+=("cd {whldir} && rm -rf output && wheel2deb >/dev/null && mv output/*.deb {out}/")
else
    say "note: wheel2deb not installed, skipped"
fi
if python3 -c 'import py2deb.cli' 2>/dev/null; then
    # The Python py2deb drives pip itself; keep it offline, reading the downloaded wheel.
    TOOLS+=("py2deb (Python)") TEMPLATES+=("python3 -c 'import sys; from py2deb.cli import main; sys.exit(main())' -r {out} -- --no-index --find-links {whldir} {spec} >/dev/null")
else
    say "note: py2deb (Python) not installed, skipped"
fi

fmt_bytes() { numfmt --to=iec-i --suffix=B --format='%.1f' "$1"; }

# Wall time as "mean ± stddev" seconds.
measure_time() {
    local cmd=$1 prep=$2 json t i times=()
    if [[ $HAVE_HYPERFINE == yes ]]; then
        json=$(mktemp)
        # hyperfine runs the command through a shell; its ~1 ms overhead is corrected for.
        hyperfine --style none --warmup 1 --runs "$RUNS" --prepare "$prep" \
            --export-json "$json" -- "$cmd" >/dev/null
        python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.3f ± %.3f s" % (r["mean"], r["stddev"] or 0))' "$json"
        rm -f "$json"
    else
        bash -c "$prep"
        bash -c "$cmd" # warm-up: page cache, first-run effects
        for ((i = 0; i < RUNS; i++)); do
            bash -c "$prep"
            t=$( { /usr/bin/time -f '%e' bash -c "$cmd" >/dev/null 2>/dev/null; } 2>&1)
            times+=("$t")
        done
        printf '%s\n' "${times[@]}" | awk '{ s += $1; q += $1 * $1; n++ }
            END { m = s / n; v = q / n - m * m; if (v < 0) v = 0; printf "%.3f ± %.3f s\n", m, sqrt(v) }'
    fi
}

# Peak RSS of the whole command tree's largest process, in KiB.
measure_rss() {
    local cmd=$1 prep=$2 log
    log=$(mktemp)
    bash -c "$prep"
    /usr/bin/time -v -o "$log" bash -c "$cmd" >/dev/null
    awk -F': ' '/Maximum resident set size/ { print $2 }' "$log"
    rm -f "$log"
}

ROWS=()
for spec in "${WHEELS[@]}"; do
    name=${spec%%==*} version=${spec#*==}
    whl=$(compgen -G "$WORK/wheels/$name-$version-*.whl" | head -n 1)
    whldir=$WORK/single/$name
    mkdir -p "$whldir"
    cp -f "$whl" "$whldir/"
    for i in "${!TOOLS[@]}"; do
        tool=${TOOLS[i]} out=$WORK/deb/$name/$i
        cmd=${TEMPLATES[i]//\{whl\}/"'$whldir/$(basename "$whl")'"}
        cmd=${cmd//\{whldir\}/"'$whldir'"}
        cmd=${cmd//\{out\}/"'$out'"}
        cmd=${cmd//\{spec\}/"'$spec'"}
        prep="rm -rf '$out' && mkdir -p '$out'"
        say "measuring $tool on $(basename "$whl")"
        if ! bash -c "$prep && $cmd" >&2; then
            ROWS+=("| $name $version | $tool | failed | | | |")
            continue
        fi
        wall=$(measure_time "$cmd" "$prep")
        rss=$(measure_rss "$cmd" "$prep")
        deb=$(compgen -G "$out/*.deb" | head -n 1)
        unpacked=$(dpkg-deb --fsys-tarfile "$deb" | tar -tv | awk '{ s += $3 } END { print s }')
        ROWS+=("| $name $version | $tool | $wall | $(fmt_bytes $((rss * 1024))) | $(fmt_bytes "$(stat -c %s "$deb")") | $(fmt_bytes "$unpacked") |")
    done
done

timer=/usr/bin/time
[[ $HAVE_HYPERFINE == yes ]] && timer=hyperfine
printf '\n### py2deb conversion benchmark (%s runs each, %s, %s)\n\n' "$RUNS" "$timer" "$COMP"
printf '| wheel | tool | wall time | peak RSS | .deb size | unpacked size |\n'
printf '|---|---|---|---|---|---|\n'
printf '%s\n' "${ROWS[@]}"
printf '\nHost: %s, %s cores, %s\n' "$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"')" "$(nproc)" "$(uname -r)"
