#!/bin/sh
# Regenerate a built-in dist-info map: which binary package of a release ships
# usr/lib/python3/dist-packages/<Name>-<version>.(dist|egg)-info, read from the release's
# Contents indexes (the same source dh-python derives its fallback list from).
#
#   scripts/gen-snapshot.sh SUITE [ARCH] [MIRROR]
#   scripts/gen-snapshot.sh bookworm amd64 http://deb.debian.org/debian
#
# Writes data/distmap/SUITE-ARCH.tsv.gz (gzip -9n, reproducible). The rows are the same
# ones `py2deb` derives at run time (src/resolve/mapping.rs, `DistMap::add_contents`):
#   <normalized project name> TAB <binary package> TAB <python version>
# Pure-Python packages are Architecture: all (Contents-all), so a map generated for one
# architecture is right for the others except for compiled extensions, whose package
# names are the same on every architecture in practice.
# Every downloaded index is checked against the SHA256 list of the suite's InRelease.
set -eu

suite=${1:?usage: $0 SUITE [ARCH] [MIRROR]}
arch=${2:-amd64}
mirror=${3:-http://deb.debian.org/debian}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/data/distmap/$suite-$arch.tsv.gz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

curl -fsSL --retry 3 -o "$work/InRelease" "$mirror/dists/$suite/InRelease"

# The SHA256 section of InRelease: " <hash> <size> <path>" lines after "SHA256:".
sha256_of() {
    awk -v want="$1" '
        /^[^ ]/ { in_sha = ($1 == "SHA256:") ; next }
        in_sha && $3 == want { print $1; exit }
    ' "$work/InRelease"
}

# Debian keeps Contents per component (main/Contents-all.gz); Ubuntu keeps one per suite
# (Contents-amd64.gz) and has no Contents-all.
files=""
for f in main/Contents-all.gz "main/Contents-$arch.gz" "Contents-$arch.gz"; do
    if [ -n "$(sha256_of "$f")" ]; then
        case "$f" in Contents-*) [ -n "$files" ] && continue ;; esac
        files="$files $f"
    fi
done
[ -n "$files" ] || { echo "no Contents index for $suite/$arch listed in $mirror/dists/$suite/InRelease" >&2; exit 1; }

sources=""
for f in $files; do
    local_name="$work/$(echo "$f" | tr / _)"
    curl -fsSL --retry 3 -o "$local_name" "$mirror/dists/$suite/$f"
    want=$(sha256_of "$f")
    got=$(sha256sum "$local_name" | cut -d' ' -f1)
    if [ "$want" != "$got" ]; then
        echo "$f: SHA256 $got does not match InRelease ($want); retry later (mirror sync in progress?)" >&2
        exit 1
    fi
    sources="$sources $f=$want"
done

mkdir -p "$(dirname "$out")"
{
    printf '# py2deb dist-info map\tsuite=%s\tarch=%s\tmirror=%s\n' "$suite" "$arch" "$mirror"
    printf '# sources:%s\n' "$sources"
    for f in $files; do zcat "$work/$(echo "$f" | tr / _)"; done |
        grep -E '^usr/lib/python3/dist-packages/[^/[:space:]]+\.(dist|egg)-info([/[:space:]]|$)' |
        awk '{
            split($1, part, "/"); d = part[5]
            sub(/\.(dist|egg)-info$/, "", d)
            i = index(d, "-"); if (i == 0) next
            name = tolower(substr(d, 1, i - 1)); ver = substr(d, i + 1)
            sub(/-py3(\.[0-9]+)?$/, "", ver)
            gsub(/[-_.]+/, "-", name)
            n = split($NF, pkgs, ",")
            for (j = 1; j <= n; j++) { p = pkgs[j]; sub(/^.*\//, "", p); print name "\t" p "\t" ver }
        }' | LC_ALL=C sort -u
} | gzip -9n > "$out"
echo "$out: $(zcat "$out" | grep -vc '^#') entries, $(wc -c < "$out") bytes"
