#!/usr/bin/env bash
# Baseline for bench/bench.sh: the least work that turns a pure wheel into a .deb.
#
#   bench/wheel-to-deb.sh WHEEL OUTDIR [COMPRESSION]
#
# Unzips the wheel under usr/lib/python3/dist-packages, writes a DEBIAN/control and runs
# `dpkg-deb --build` (COMPRESSION: xz, gzip, zstd or none; default xz). No dependency
# translation, no console-script wrappers, no copyright/changelog: this measures the cost
# of unpacking and compressing, which any converter has to pay, and nothing else.
# Prints the path of the .deb on stdout.

set -euo pipefail

wheel=$1 out=$2 comp=${3:-xz}
[[ -f $wheel ]] || { echo "wheel-to-deb: no such wheel: $wheel" >&2; exit 1; }

# Wheel file names are NAME-VERSION(-BUILD)?-PY-ABI-PLATFORM.whl.
base=$(basename "$wheel" .whl)
IFS=- read -r dist version _ <<<"$base"
pkg=python3-$(tr '[:upper:]_.' '[:lower:]--' <<<"$dist")

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/DEBIAN" "$tree/usr/lib/python3/dist-packages"
unzip -q "$wheel" -d "$tree/usr/lib/python3/dist-packages"
# Files inside wheels are often 0600 or 0664; installed modules must be world-readable.
chmod -R u+rwX,go+rX,go-w "$tree/usr"
installed_kb=$(du -sk "$tree/usr" | cut -f1)
cat >"$tree/DEBIAN/control" <<EOF
Package: $pkg
Version: $version-1
Architecture: all
Maintainer: py2deb bench <bench@example.invalid>
Installed-Size: $installed_kb
Depends: python3:any
Section: python
Priority: optional
Description: $dist $version (unpacked wheel)
 Baseline package built by unzip and dpkg-deb for benchmarking.
EOF
mkdir -p "$out"
deb=$out/${pkg}_${version}-1_all.deb
dpkg-deb --root-owner-group -Z"$comp" --build "$tree" "$deb" >/dev/null
printf '%s\n' "$deb"
