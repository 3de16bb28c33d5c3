#!/bin/sh
# Copy every crate py2deb depends on (Cargo.lock) into debian/vendor, so that
# dpkg-buildpackage builds without the network. Run once from the source tree, with
# the network, after each change of Cargo.lock:
#
#   debian/vendor.sh
#
# debian/rules then builds with --frozen against debian/cargo-config.toml, which
# replaces crates.io with this directory. The directory is not kept in git (it is
# hundreds of megabytes); a source package ships it as its vendor component.
set -eu
cd "$(dirname "$0")/.."
rm -rf debian/vendor
# --versioned-dirs keeps two versions of one crate apart; --locked refuses a stale lock.
cargo vendor --quiet --locked --versioned-dirs debian/vendor >/dev/null
date -u +%Y-%m-%dT%H:%M:%SZ > debian/vendor/.py2deb-vendored
echo "vendored $(ls debian/vendor | wc -l) crates into debian/vendor"
