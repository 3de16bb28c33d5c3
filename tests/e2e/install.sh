#!/usr/bin/env bash
# End-to-end suite for py2deb as a system tool (issue 11) -- needs PyPI (two wheels, once)
# and the Debian archive.
#
#   1. builds py2deb's own .deb from debian/ with dpkg-buildpackage (crates vendored by
#      debian/vendor.sh; a persistent source copy and target directory keep rebuilds
#      incremental) and checks it with lintian: no errors, no warnings;
#   2. installs it with apt in a fresh chroot (scripts/chroot.sh);
#   3. then as a user would: `py2deb install dunamai==1.25.0` from a loopback PEP 503 index,
#      a newer release published on that index, the py2deb-update.service commands run as
#      the unit runs them (a chroot has no systemd), `apt update`, `apt list --upgradable`,
#      `apt upgrade`, `py2deb uninstall`, `apt purge py2deb`, and nothing left behind.
#
# Usage (as root): tests/e2e/install.sh
#
# Environment:
#   E2E_INSTALL_WORK   scratch directory, kept for inspection (default: target/e2e-install)
#   E2E_DEB_BUILD      persistent build directory (default: /var/cache/py2deb-test/debian-build)
#   PIP_INDEX_URL      where the two wheels are downloaded from (default: PyPI)
#   PY2DEB_CHROOT_SUITE, PY2DEB_CHROOT: see scripts/chroot.sh
#
# Output as the other suites: `ok - NAME`, `not ok - NAME` with `#` diagnostics, `skip - NAME
# (reason)`; the last line is `N passed, N failed, N skipped`.

set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${E2E_INSTALL_WORK:-$ROOT/target/e2e-install}
BUILD=${E2E_DEB_BUILD:-/var/cache/py2deb-test/debian-build}
PYPI=${PIP_INDEX_URL:-https://pypi.org/simple/}
CMD_TIMEOUT=120
APT_TIMEOUT=1200
OLD=1.25.0 NEW=1.26.0

# shellcheck source=scripts/chroot.sh
source "$ROOT/scripts/chroot.sh"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd -P)
LOGS=$WORK/logs DEBS=$WORK/debs INDEX=$WORK/index
rm -rf -- "$LOGS" "$DEBS" "$INDEX/simple"
mkdir -p "$LOGS" "$DEBS" "$INDEX/files"
HTTP_PID=


suite_cleanup() { [[ -z $HTTP_PID ]] || kill "$HTTP_PID" 2>/dev/null || true; }
trap e2e_finish EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# 1. py2deb's own package

build_deb() {
    mkdir -p "$BUILD"
    # The source as git has it (plus uncommitted changes), copied with its mtimes into a fixed
    # directory, so that cargo's fingerprints (paths and mtimes) carry over between runs.
    rm -rf -- "$BUILD/src"
    mkdir -p "$BUILD/src"
    (cd "$ROOT" && git ls-files -co --exclude-standard | grep -v -e '^target/' -e '^debian/vendor/' |
        tar -cf - --no-recursion -T -) | tar -xf - -C "$BUILD/src"
    # The vendored crates live beside the copy and are made again only when Cargo.lock changes.
    if ! cmp -s "$BUILD/src/Cargo.lock" "$BUILD/vendored.lock" || [[ ! -f $BUILD/vendor/.py2deb-vendored ]]; then
        (cd "$BUILD/src" && debian/vendor.sh)
        rm -rf -- "$BUILD/vendor"
        mv -- "$BUILD/src/debian/vendor" "$BUILD/vendor"
        cp -- "$BUILD/src/Cargo.lock" "$BUILD/vendored.lock"
    fi
    ln -sfn "$BUILD/vendor" "$BUILD/src/debian/vendor"
    rm -f "$BUILD"/*.deb "$BUILD"/*.changes "$BUILD"/*.buildinfo
    local dflag=()
    # bookworm's rustc is older than rust-version: the rustup toolchain builds, -d skips the
    # check for Debian's own (see debian/README.source).
    dpkg-checkbuilddeps "$BUILD/src/debian/control" 2>/dev/null || dflag=(-d)
    (cd "$BUILD/src" && CARGO_TARGET_DIR=$BUILD/target timeout -k 30 1800 \
        dpkg-buildpackage -b "${dflag[@]}" -us -uc)
    cp "$BUILD"/py2deb_*.deb "$DEBS/"
    dpkg-deb -c "$DEBS"/py2deb_*.deb | awk '{print $6}' >"$WORK/contents"
    local want
    for want in ./usr/bin/py2deb ./usr/share/man/man1/py2deb.1.gz ./usr/share/man/man1/py2deb-install.1.gz \
        ./usr/share/man/man1/py2deb-repo-init.1.gz ./usr/share/bash-completion/completions/py2deb \
        ./usr/share/zsh/vendor-completions/_py2deb ./usr/share/fish/vendor_completions.d/py2deb.fish \
        ./usr/share/py2deb/templates/postinst.tera ./lib/systemd/system/py2deb-update.timer \
        ./lib/systemd/system/py2deb-update.service ./usr/share/doc/py2deb/copyright; do
        grep -qxF "$want" "$WORK/contents" || { echo "missing from the package: $want"; return 1; }
    done
}
phase_start "py2deb's own package"
run deb "dpkg-buildpackage -b builds py2deb's .deb offline from vendored crates, with man pages, completions, templates and units" \
    "$LOGS/build-deb.log" "" build_deb
lintian_deb() {
    lintian --fail-on error,warning --suppress-tags running-with-root-privileges "$BUILD"/py2deb_*.changes
    [[ -z $(lintian --suppress-tags running-with-root-privileges "$BUILD"/py2deb_*.changes 2>&1 | grep -E '^[EW]:') ]]
}
run - "lintian: no errors and no warnings beyond debian/py2deb.lintian-overrides" "$LOGS/lintian.log" "deb" lintian_deb
phase_end "package"

# ---------------------------------------------------------------------------------------------
# 2. installed with apt in a clean chroot

phase_start "the user flow in a chroot"
INST_FILE=$WORK/instance
make_instance() {
    chroot_ensure
    chroot_new
    echo "$CHROOT_ROOT" >"$INST_FILE"
    chroot_repo "$CHROOT_ROOT" "$DEBS"
    timeout -k 15 "$APT_TIMEOUT" bash -c 'source "$1"; shift; chroot_apt "$@"' x "$ROOT/scripts/chroot.sh" \
        "$CHROOT_ROOT" install --no-install-recommends py2deb
    chroot_run "$CHROOT_ROOT" getent passwd _py2deb
    chroot_run "$CHROOT_ROOT" py2deb --version
    chroot_run "$CHROOT_ROOT" man -w py2deb-install >/dev/null 2>&1 || test -f "$CHROOT_ROOT/usr/share/man/man1/py2deb-install.1.gz"
}
run chroot "apt installs py2deb in a fresh chroot; postinst made the _py2deb user" "$LOGS/chroot.log" "deb" make_instance
inst() { cat "$INST_FILE"; }
in_root() { chroot_run "$(inst)" timeout -k 10 "$CMD_TIMEOUT" "$@"; }

# The two dunamai wheels, once, sha256-checked against the index.
fetch_wheels() {
    local f
    for f in "dunamai-$OLD-py3-none-any.whl" "dunamai-$NEW-py3-none-any.whl"; do
        [[ -s $WORK/wheels/$f ]] && continue
        mkdir -p "$WORK/wheels"
        timeout -k 10 300 python3 - "$PYPI" "$WORK/wheels" "$f" <<'PY'
import hashlib, json, re, sys, urllib.parse, urllib.request
index, dest, name = sys.argv[1].rstrip("/") + "/", sys.argv[2], sys.argv[3]
url = index + "dunamai/"
req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
with urllib.request.urlopen(req, timeout=60) as r:
    body, ctype = r.read().decode(), r.headers.get("Content-Type", "")
if "json" in ctype:
    files = {f["filename"]: (urllib.parse.urljoin(url, f["url"]), f["hashes"].get("sha256")) for f in json.loads(body)["files"]}
else:
    files = {}
    for href in re.findall(r'href="([^"]+)"', body):
        link, _, frag = href.partition("#")
        files[urllib.parse.unquote(link.rsplit("/", 1)[-1])] = (urllib.parse.urljoin(url, link), frag.partition("sha256=")[2] or None)
link, sha = files[name]
data = urllib.request.urlopen(link, timeout=60).read()
if sha and hashlib.sha256(data).hexdigest() != sha:
    sys.exit(f"{name}: sha256 mismatch")
open(f"{dest}/{name}.part", "wb").write(data)
PY
        mv -- "$WORK/wheels/$f.part" "$WORK/wheels/$f"
    done
}
# publish VERSION...: the loopback index lists exactly these releases.
publish() {
    local v f sha
    mkdir -p "$INDEX/simple/dunamai"
    printf '<!DOCTYPE html>\n<html><body><a href="dunamai/">dunamai</a></body></html>\n' >"$INDEX/simple/index.html"
    {
        printf '<!DOCTYPE html>\n<html><body>\n'
        for v in "$@"; do
            f=dunamai-$v-py3-none-any.whl
            cp -- "$WORK/wheels/$f" "$INDEX/files/$f"
            sha=$(sha256sum "$INDEX/files/$f" | cut -d' ' -f1)
            printf '<a href="../../files/%s#sha256=%s">%s</a>\n' "$f" "$sha" "$f"
        done
        printf '</body></html>\n'
    } >"$INDEX/simple/dunamai/index.html.tmp"
    mv -- "$INDEX/simple/dunamai/index.html.tmp" "$INDEX/simple/dunamai/index.html"
}
serve() {
    fetch_wheels
    publish "$OLD"
    : >"$LOGS/http.log"
    python3 -u -m http.server --bind 127.0.0.1 --directory "$INDEX" 0 >>"$LOGS/http.log" 2>&1 &
    echo $! >"$WORK/http.pid"
    local port= i
    for i in $(seq 50); do
        port=$(sed -n 's/^Serving HTTP on .* port \([0-9][0-9]*\) .*/\1/p' "$LOGS/http.log" | head -n 1)
        [[ -n $port ]] && break
        sleep 0.2
    done
    [[ -n $port ]]
    echo "http://127.0.0.1:$port/simple/" >"$WORK/index.url"
    curl -fsS "http://127.0.0.1:$port/simple/dunamai/" | grep -q "dunamai-$OLD"
}
run index "a loopback PEP 503 index serves dunamai $OLD" "$LOGS/index.log" "" serve
[[ -s $WORK/http.pid ]] && HTTP_PID=$(cat "$WORK/http.pid")
URL() { cat "$WORK/index.url"; }

installed_version() { in_root dpkg-query -W -f='${Version}' python3-dunamai; }
do_install() {
    in_root env DEBEMAIL=tests@example.invalid DEBFULLNAME=tests \
        py2deb install --index-url "$(URL)" -y "dunamai==$OLD"
    [[ $(installed_version) == "$OLD-0py2deb1" ]]
    in_root dunamai --help >/dev/null
    local r
    r=$(inst)
    grep -q '^Signed-By: /etc/apt/keyrings/py2deb-local.gpg$' "$r/etc/apt/sources.list.d/py2deb.sources"
    [[ -s $r/etc/apt/keyrings/py2deb-local.gpg ]]
    [[ $(stat -c %a "$r/var/lib/py2deb/gnupg") == 700 ]]
    # The build ran as the unprivileged user: it owns what it staged.
    [[ $(stat -c %U "$r/var/lib/py2deb/staged") == _py2deb ]]
    in_root py2deb list | grep -q "python3-dunamai"
}
run installed "py2deb install dunamai==$OLD: local signed repository, apt source with Signed-By, apt-get install" \
    "$LOGS/install.log" "chroot index" do_install

timer_run() {
    publish "$OLD" "$NEW"
    local unit r user env exec post
    r=$(inst)
    unit=$r/lib/systemd/system/py2deb-update.service
    user=$(sed -n 's/^User=//p' "$unit")
    env=$(sed -n 's/^Environment=//p' "$unit")
    exec=$(sed -n 's/^ExecStart=//p' "$unit")
    post=$(sed -n 's/^ExecStartPost=+//p' "$unit")
    [[ $user == _py2deb && -n $exec && -n $post ]]
    # As systemd runs it: ExecStart as User= with Environment=, then the "+" step as root.
    # shellcheck disable=SC2086 # the unit's words
    in_root runuser -u "$user" -- env $env $exec
    # shellcheck disable=SC2086
    in_root $post | tee "$WORK/published"
    grep -q "python3-dunamai $NEW-0py2deb1" "$WORK/published"
}
run timer "dunamai $NEW on the index; the py2deb-update.service commands, run as the unit runs them, publish it" \
    "$LOGS/timer.log" "installed" timer_run

upgradable() {
    in_root apt-get -q update
    in_root apt list --upgradable 2>/dev/null | tee "$WORK/upgradable"
    grep -q "^python3-dunamai/py2deb-local .*$NEW-0py2deb1" "$WORK/upgradable"
}
run upgradable "apt update; apt list --upgradable offers python3-dunamai $NEW" "$LOGS/upgradable.log" "timer" upgradable
upgraded() {
    timeout -k 15 "$APT_TIMEOUT" bash -c 'source "$1"; shift; chroot_apt "$@"' x "$ROOT/scripts/chroot.sh" "$(inst)" upgrade
    [[ $(installed_version) == "$NEW-0py2deb1" ]]
}
run upgraded "apt upgrade installs python3-dunamai $NEW" "$LOGS/upgrade.log" "upgradable" upgraded

uninstalled() {
    in_root py2deb uninstall -y dunamai
    ! in_root dpkg-query -W -f='${Status}' python3-dunamai 2>/dev/null | grep -q '^install ok installed'
    [[ -z $(in_root py2deb list) ]]
}
run uninstalled "py2deb uninstall dunamai: apt removes it, the repository drops it" "$LOGS/uninstall.log" "installed" uninstalled

purged() {
    local r
    r=$(inst)
    timeout -k 15 "$APT_TIMEOUT" bash -c 'source "$1"; shift; chroot_apt "$@"' x "$ROOT/scripts/chroot.sh" "$r" purge py2deb
    local left=0 p
    for p in etc/apt/sources.list.d/py2deb.sources etc/apt/keyrings/py2deb-local.gpg var/lib/py2deb var/cache/py2deb \
        lib/systemd/system/py2deb-update.timer etc/systemd/system/timers.target.wants/py2deb-update.timer; do
        if [[ -e $r/$p || -L $r/$p ]]; then echo "left behind: /$p"; left=1; fi
    done
    if in_root getent passwd _py2deb; then echo "left behind: user _py2deb"; left=1; fi
    if in_root getent group _py2deb; then echo "left behind: group _py2deb"; left=1; fi
    ((left == 0))
}
run - "apt purge py2deb: no source, key, timer, user or repository left" "$LOGS/purge.log" "chroot" purged
phase_end "user flow"
