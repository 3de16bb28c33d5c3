#!/usr/bin/env bash
# End-to-end suite for `py2deb repo` -- e2e: needs PyPI and the Debian archive.
#
# Publishes real projects into a signed apt repository with `py2deb build --repo` and proves,
# in clean bookworm chroots (scripts/chroot.sh) that reach the repository through a file://
# URI, that:
#   1. apt trusts it through `Signed-By` alone (no trusted=yes), installs from it, and the
#      programs run;
#   2. a newer build shows up in `apt list --upgradable` and `apt-get upgrade` installs it,
#      also when `py2deb repo update` finds the new release on a loopback package index;
#   3. a tampered index and an unsigned repository are refused;
#   4. purging leaves nothing behind;
#   5. two concurrent `py2deb repo add` both land and leave consistent indexes;
#   6. the published Packages agree with apt-ftparchive and dpkg-scanpackages.
#
# Usage (as root, the chroot needs it):
#   tests/e2e/repo.sh
#
# Environment:
#   PY2DEB             binary under test (default: target/release/py2deb)
#   E2E_REPO_WORK      scratch directory, kept for inspection (default: target/e2e-repo)
#   E2E_BUILD_TIMEOUT  seconds for one py2deb command (default: 300)
#   E2E_APT_TIMEOUT    seconds for one apt-get command in a chroot (default: 1200; it includes
#                      waiting for other test runs' apt on the shared download cache)
#   PIP_INDEX_URL      where the loopback index's wheels are downloaded from (default: PyPI)
#   PY2DEB_CHROOT      pristine chroot location, see scripts/chroot.sh
#
# Output as tests/e2e/run.sh: one line per check, `ok - NAME`, `not ok - NAME` (followed by
# `#` diagnostic lines) or `skip - NAME (reason)` when a check cannot run because one it
# depends on failed; the last line is `N passed, N failed, N skipped`. The exit status is
# non-zero if anything failed.

set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY2DEB=${PY2DEB:-$ROOT/target/release/py2deb}
WORK=${E2E_REPO_WORK:-$ROOT/target/e2e-repo}
BUILD_TIMEOUT=${E2E_BUILD_TIMEOUT:-300}
APT_TIMEOUT=${E2E_APT_TIMEOUT:-1200}
# Programs run inside the chroot (--help, dpkg-query, apt list) and single downloads.
CMD_TIMEOUT=60
MAINT='py2deb tests <tests@example.invalid>'
PYPI=${PIP_INDEX_URL:-https://pypi.org/simple/}

# shellcheck source=scripts/chroot.sh
source "$ROOT/scripts/chroot.sh"

# ---------------------------------------------------------------------------------------------
# Reporting

# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# check NAME LOGFILE CMD...: run CMD with output to LOGFILE and report it as one test case.
# It must run as a plain command, never inside `if`, `!`, `||` or `&&`: bash ignores `set -e`
# in everything such a command runs, subshells included, and a multi-step check would then
# pass after a failing middle step. CMD runs in a subshell, so it cannot set variables here;
# what later steps need it leaves in files under $WORK.

# run STEP NAME LOG "NEEDS" CMD...: the check NAME, skipped unless every step in NEEDS passed;
# STEP (or -) is marked as passed for the checks that depend on it.

# ---------------------------------------------------------------------------------------------
# Locations and cleanup

WORK=$(mkdir -p "$WORK" && cd "$WORK" && pwd -P)
REPO=$WORK/repo                 # the signed repository under test
UNSIGNED=$WORK/unsigned         # a repository made without --sign-key
DEBS=$WORK/debs                 # py2deb's -o for every build
INDEX=$WORK/index               # document root of the loopback package index
HANDMADE=$WORK/handmade         # small .debs made with dpkg-deb
LOGS=$WORK/logs
DIST=$REPO/dists/stable
BIN_INDEX=$DIST/main/binary-$(dpkg --print-architecture)
BACKUP=$WORK/tamper-backup      # present while an index of $REPO is deliberately broken
HTTP_PID_FILE=$WORK/http.pid
PY2DEB_TMP=$WORK/tmp            # TMPDIR of every py2deb command

GNUPGHOME=$(mktemp -d /tmp/py2deb-e2e-gpg.XXXXXX)
export GNUPGHOME

stop_index() {
    if [[ -s $HTTP_PID_FILE ]]; then
        kill "$(cat "$HTTP_PID_FILE")" 2>/dev/null || true
        rm -f -- "$HTTP_PID_FILE"
    fi
}
suite_cleanup() {
    # Put back an index the tamper check broke, so the kept work directory stays valid.
    if [[ -d $BACKUP ]]; then cp -p -- "$BACKUP"/Packages* "$BIN_INDEX/" && rm -rf -- "$BACKUP"; fi
    stop_index
    gpgconf --kill gpg-agent >/dev/null 2>&1 || true
    rm -rf -- "$GNUPGHOME"
}
trap e2e_finish EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Helpers

# py2deb with a time limit; every command that may reach an index or mirror goes through it.
# Its temporary files go to a directory of its own, which must be empty after each command.
p2d() { TMPDIR=$PY2DEB_TMP timeout -k 10 "$BUILD_TIMEOUT" "$PY2DEB" "$@"; }
# in_root ROOT SECS CMD...: run CMD inside a chroot instance with a time limit.
in_root() {
    local root=$1 secs=$2
    shift 2
    chroot_run "$root" timeout -k 10 "$secs" "$@"
}
# apt_in ROOT ARGS...: apt-get -y ARGS through chroot_apt (which queues on the download cache
# shared with other test runs), with a time limit that covers the wait too.
apt_in() {
    local root=$1
    shift
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout -k 15 "$APT_TIMEOUT" bash -c 'source "$1"; shift; chroot_apt "$@"' apt_in \
        "$ROOT/scripts/chroot.sh" "$root" "$@"
}
# apt-get update must succeed without any warning or error.
apt_update_ok() {
    local out rc=0
    out=$(in_root "$1" "$APT_TIMEOUT" apt-get -q update 2>&1) || rc=$?
    printf '%s\n' "$out"
    ((rc == 0)) || { echo "apt-get update failed (exit $rc)"; return 1; }
    if grep -E '^(W|E|Err):' <<<"$out"; then
        echo "apt-get update reported the problems above"
        return 1
    fi
}
# Version of an installed package, empty when it is not installed.
installed_version() {
    # shellcheck disable=SC2016 # a dpkg-query format
    in_root "$1" "$CMD_TIMEOUT" dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$2" 2>/dev/null |
        awk '$1 == "installed" { print $2 }' || true
}
# expect_installed ROOT PACKAGE VERSION
expect_installed() {
    local got
    got=$(installed_version "$1" "$2")
    echo "$2: installed '$got', expected '$3'"
    [[ $got == "$3" ]]
}

# A fresh chroot instance whose apt gives up on a stalled mirror; its root is written to FILE.
new_instance() {
    local file=$1
    chroot_new || return 1
    printf '%s\n' "$CHROOT_ROOT" >"$file" || return 1
    printf '%s\n' 'Acquire::http::Timeout "30";' 'Acquire::Retries "2";' \
        >"$CHROOT_ROOT/etc/apt/apt.conf.d/95py2deb-e2e-repo"
}
# attach_repo ROOT DIR: DIR read-only at the same path inside ROOT, so the file:// stanza
# py2deb prints is usable verbatim. chroot_destroy unmounts it before deleting anything.
attach_repo() {
    local root=$1 dir=$2
    mkdir -p "$root$dir"
    mount --bind "$dir" "$root$dir"
    mount -o remount,bind,ro "$root$dir" || echo "note: could not make $dir read-only inside the chroot"
}
# The `(local)` stanza of `py2deb repo sources` output, and the file it is meant for.
local_stanza() { awk '/^# \/etc\/apt\/sources\.list\.d\/.*\(local\)$/ { on = 1; next } on && /^$/ { exit } on' <<<"$1"; }
local_sources_file() { sed -n 's|^# \(/etc/apt/sources\.list\.d/[^ ]*\.sources\) (local)$|\1|p' <<<"$1" | head -n 1; }

# install_signed_source ROOT DIR: the key from `py2deb repo export-key -o` under
# /etc/apt/keyrings and the stanza from `py2deb repo sources`, as a user would set them up.
install_signed_source() {
    local root=$1 dir=$2 out stanza file keyring
    out=$(p2d repo sources "$dir")
    printf '%s\n' "$out"
    stanza=$(local_stanza "$out")
    file=$(local_sources_file "$out")
    [[ -n $stanza && -n $file ]] || { echo "no local stanza in the output above"; return 1; }
    grep -qxF "URIs: file://$dir" <<<"$stanza" || { echo "the stanza does not point at file://$dir"; return 1; }
    if grep -qi '^Trusted:' <<<"$stanza"; then echo "a signed repository's stanza says Trusted"; return 1; fi
    keyring=$(sed -n 's/^Signed-By: //p' <<<"$stanza")
    [[ $keyring == /etc/apt/keyrings/*.gpg ]] || { echo "Signed-By is '$keyring', expected /etc/apt/keyrings/*.gpg"; return 1; }
    mkdir -p "$root/etc/apt/keyrings"
    p2d repo export-key "$dir" -o "$root$keyring"
    chmod 0644 "$root$keyring"
    cmp -- "$root$keyring" "$dir/repo-key.gpg" || { echo "export-key -o differs from the published repo-key.gpg"; return 1; }
    attach_repo "$root" "$dir"
    printf '%s\n' "$stanza" >"$root$file"
    echo "--- $file"
    cat -- "$root$file"
}

# make_deb NAME VERSION: a minimal package made with dpkg-deb, in $HANDMADE.
make_deb() {
    local name=$1 version=$2 t
    t=$(mktemp -d)
    mkdir -p "$t/DEBIAN" "$t/usr/share/doc/$name" "$HANDMADE"
    printf '%s %s\n' "$name" "$version" >"$t/usr/share/doc/$name/README"
    cat >"$t/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: all
Maintainer: $MAINT
Section: misc
Priority: optional
Description: repository test package $name
 Made with dpkg-deb by the py2deb repository tests.
EOF
    dpkg-deb --root-owner-group -Zxz --build "$t" "$HANDMADE/${name}_${version}_all.deb" >/dev/null
    rm -rf -- "$t"
}

# release_consistent DIST KEYRING: Release lists every index with the size, MD5 and SHA256 the
# file really has, and InRelease and Release.gpg are signatures of exactly that Release.
release_consistent() {
    local dist=$1 key=$2 n=0 sum want size name
    for sum in MD5Sum:md5sum SHA256:sha256sum; do
        while read -r want size name; do
            [[ -f $dist/$name ]] || { echo "Release lists $name, which does not exist"; return 1; }
            [[ $(stat -c %s "$dist/$name") == "$size" ]] ||
                { echo "$name: $(stat -c %s "$dist/$name") bytes, Release says $size"; return 1; }
            [[ $("${sum#*:}" <"$dist/$name" | cut -d' ' -f1) == "$want" ]] ||
                { echo "$name: ${sum%%:*} differs from Release"; return 1; }
            echo "${sum%%:*} ok: $name ($size bytes)"
            n=$((n + 1))
        done < <(awk -v s="${sum%%:*}:" '$0 == s { on = 1; next } /^[^ ]/ { on = 0 } on' "$dist/Release")
    done
    ((n >= 6)) || { echo "Release lists $n index entries, expected Packages, .gz and .xz under both sums"; return 1; }
    rm -f -- "$WORK/inrelease.txt"
    gpgv --keyring "$key" --output "$WORK/inrelease.txt" "$dist/InRelease"
    cmp -- "$WORK/inrelease.txt" "$dist/Release" || { echo "InRelease does not sign the current Release"; return 1; }
    gpgv --keyring "$key" "$dist/Release.gpg" "$dist/Release"
}

# repo_lists DIR PACKAGE VERSION: `py2deb repo list` shows this version.
repo_lists() {
    local out
    out=$(p2d repo list "$1")
    printf '%s\n' "$out"
    awk -F '\t' -v p="$2" -v v="$3" '$1 == p && $2 == v { found = 1 } END { exit !found }' <<<"$out" ||
        { echo "$2 $3 is not listed"; return 1; }
}

# ---------------------------------------------------------------------------------------------

rm -rf --one-file-system -- "${WORK:?}"/*
mkdir -p "$LOGS" "$DEBS" "$PY2DEB_TMP"
note "e2e repo: needs PyPI and the Debian archive"
note "binary: $PY2DEB"
note "work: $WORK"

phase_start "prerequisites"
if [[ -x $PY2DEB ]]; then
    STEP_OK[binary]=yes
    ok "py2deb binary present: $PY2DEB"
else
    printf '%s\n' "not found or not executable: $PY2DEB" \
        "build it with 'cargo build --release' or point PY2DEB at it" >"$LOGS/binary.log"
    not_ok "py2deb binary present: $PY2DEB" "$LOGS/binary.log"
fi
if [[ $(id -u) -ne 0 ]]; then
    not_ok "chroot: pristine bookworm chroot (needs root)"
else
    run chroot "chroot: pristine bookworm chroot ready" "$LOGS/chroot-ensure.log" "" chroot_ensure
fi
MAIN=
if have chroot; then
    if new_instance "$WORK/main.root" 2>"$LOGS/instance-main.log"; then
        MAIN=$(cat "$WORK/main.root")
        STEP_OK[main]=yes
    else
        not_ok "chroot: new instance" "$LOGS/instance-main.log"
    fi
fi
phase_end "prerequisites"

# --- 1. signed repository: init, build, install through Signed-By ---------------------------
phase_start "1. signed repository"
make_key() {
    gpg --batch --passphrase '' --quick-gen-key 'py2deb repository tests <tests@example.invalid>' ed25519 sign never
    gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr:/ { print $10; exit }' >"$WORK/key.fpr"
    [[ -s $WORK/key.fpr ]] || { echo "no fingerprint in gpg --list-secret-keys"; return 1; }
    echo "key: $(cat "$WORK/key.fpr")"
}
run key "signed: throw-away gpg signing key (temporary GNUPGHOME, no passphrase)" "$LOGS/key.log" "" make_key

init_signed() {
    local out field
    out=$(p2d repo init "$REPO" --suite stable --codename py2deb --origin py2deb-test --sign-key "$(cat "$WORK/key.fpr")")
    printf '%s\n' "$out"
    grep -qx 'Signed-By: /etc/apt/keyrings/py2deb-test.gpg' <<<"$out" || { echo "no Signed-By line in the stanza"; return 1; }
    if grep -qi '^Trusted:' <<<"$out"; then echo "the stanza of a signed repository says Trusted"; return 1; fi
    echo "--- Release"
    cat -- "$DIST/Release"
    for field in 'Suite: stable' 'Codename: py2deb' 'Origin: py2deb-test'; do
        grep -qx "$field" "$DIST/Release" || { echo "Release lacks '$field'"; return 1; }
    done
    release_consistent "$DIST" "$REPO/repo-key.gpg"
}
run init "signed: repo init --suite stable --codename py2deb --origin py2deb-test --sign-key; InRelease and Release.gpg verify" \
    "$LOGS/init.log" "binary key" init_signed

# build_listed SPEC PACKAGE VERSION [OPTION...]: py2deb build --repo, then repo list has it.
build_listed() {
    local spec=$1 pkg=$2 version=$3
    shift 3
    p2d build "$spec" --target bookworm --maintainer "$MAINT" --repo "$REPO" -o "$DEBS" "$@"
    repo_lists "$REPO" "$pkg" "$version"
    release_consistent "$DIST" "$REPO/repo-key.gpg"
}
run dunamai "signed: build dunamai==1.25.0 --target bookworm --repo DIR; repo list has it" \
    "$LOGS/build-dunamai-1.25.0.log" "init" build_listed dunamai==1.25.0 python3-dunamai 1.25.0-0py2deb1
run pepotron "signed: build pepotron==1.8.0 --target bookworm --repo DIR; repo list has it" \
    "$LOGS/build-pepotron-1.8.0.log" "init" build_listed pepotron==1.8.0 pepotron 1.8.0-0py2deb1

setup_main() {
    local policy
    install_signed_source "$MAIN" "$REPO"
    apt_update_ok "$MAIN"
    policy=$(in_root "$MAIN" "$CMD_TIMEOUT" apt-cache policy python3-dunamai pepotron)
    printf '%s\n' "$policy"
    [[ $(grep -cE 'Candidate: (1\.25\.0|1\.8\.0)-0py2deb1$' <<<"$policy") == 2 ]] ||
        { echo "the candidates are not the published versions"; return 1; }
    # Without arguments apt-cache policy shows each source's Release fields.
    policy=$(in_root "$MAIN" "$CMD_TIMEOUT" apt-cache policy)
    printf '%s\n' "$policy"
    grep -q 'release o=py2deb-test,a=stable,n=py2deb,' <<<"$policy" || { echo "apt does not see origin/suite/codename"; return 1; }
}
run source "signed: chroot gets the key (repo export-key -o) and the repo sources stanza (Signed-By, no trusted=yes); apt-get update" \
    "$LOGS/source-main.log" "main dunamai pepotron" setup_main

install_signed() {
    local out
    # -y without --allow-unauthenticated: apt stops if it cannot authenticate the packages.
    out=$(apt_in "$MAIN" install python3-dunamai pepotron 2>&1)
    printf '%s\n' "$out"
    if grep -qi 'cannot be authenticated' <<<"$out"; then echo "apt could not authenticate the packages"; return 1; fi
    expect_installed "$MAIN" python3-dunamai 1.25.0-0py2deb1
    expect_installed "$MAIN" pepotron 1.8.0-0py2deb1
}
run installed "signed: apt-get install -y python3-dunamai pepotron (authenticated)" \
    "$LOGS/install-main.log" "source" install_signed
run - "signed: dunamai --help runs in the chroot" "$LOGS/run-dunamai.log" "installed" \
    in_root "$MAIN" "$CMD_TIMEOUT" /usr/bin/dunamai --help
run - "signed: pep --help runs in the chroot" "$LOGS/run-pep.log" "installed" \
    in_root "$MAIN" "$CMD_TIMEOUT" /usr/bin/pep --help
phase_end "1. signed repository"

# --- 2. upgrades: a newer build, then repo update against a loopback index -------------------
phase_start "2. upgrades"
run dunamai2 "upgrade: build dunamai==1.26.5 --target bookworm --repo DIR; repo list has it" \
    "$LOGS/build-dunamai-1.26.5.log" "dunamai" build_listed dunamai==1.26.5 python3-dunamai 1.26.5-0py2deb1

# upgradable ROOT PACKAGE FROM: after apt-get update, `apt list --upgradable` names PACKAGE as
# upgradable from version FROM.
upgradable() {
    local root=$1 pkg=$2 from=$3 out
    apt_update_ok "$root"
    out=$(in_root "$root" "$CMD_TIMEOUT" apt list --upgradable 2>/dev/null)
    printf '%s\n' "--- apt list --upgradable" "$out"
    awk -v p="$pkg/" -v f="[upgradable from: $from]" 'index($0, p) == 1 && index($0, f) { found = 1 } END { exit !found }' <<<"$out" ||
        { echo "$pkg is not listed as upgradable from $from"; return 1; }
}
# upgrade_to ROOT PACKAGE VERSION: apt-get upgrade, as a user would, installs this version.
upgrade_to() {
    apt_in "$1" upgrade
    expect_installed "$1" "$2" "$3"
}
run dunamai_upgradable "upgrade: apt-get update; apt list --upgradable names python3-dunamai" \
    "$LOGS/upgradable-dunamai.log" "dunamai2 installed" upgradable "$MAIN" python3-dunamai 1.25.0-0py2deb1
dunamai_upgraded() {
    local v
    upgrade_to "$MAIN" python3-dunamai 1.26.5-0py2deb1
    v=$(in_root "$MAIN" "$CMD_TIMEOUT" python3 -c 'import importlib.metadata as m; print(m.version("dunamai"))')
    echo "installed dunamai metadata: $v"
    [[ $v == 1.26.5 ]] || { echo "the files on disk are not 1.26.5"; return 1; }
    in_root "$MAIN" "$CMD_TIMEOUT" /usr/bin/dunamai --help >/dev/null
}
run - "upgrade: apt-get upgrade installs python3-dunamai 1.26.5-0py2deb1 and it runs" \
    "$LOGS/upgrade-dunamai.log" "dunamai_upgradable" dunamai_upgraded

# Wheels for the loopback index, downloaded and sha256-checked from PyPI (or PIP_INDEX_URL).
fetch_wheels() {
    mkdir -p "$WORK/wheels"
    timeout -k 10 $((3 * CMD_TIMEOUT)) python3 - "$PYPI" "$WORK/wheels" \
        chevron-0.13.1-py3-none-any.whl chevron-0.14.0-py3-none-any.whl <<'EOF'
import hashlib, json, re, sys, urllib.parse, urllib.request
index, dest, wanted = sys.argv[1].rstrip("/") + "/", sys.argv[2], sys.argv[3:]
url = index + "chevron/"
req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
with urllib.request.urlopen(req, timeout=60) as r:
    body, ctype = r.read().decode(), r.headers.get("Content-Type", "")
if "json" in ctype:
    files = {f["filename"]: (urllib.parse.urljoin(url, f["url"]), f["hashes"].get("sha256"))
             for f in json.loads(body)["files"]}
else:
    files = {}
    for href in re.findall(r'href="([^"]+)"', body):
        link, _, frag = href.partition("#")
        name = urllib.parse.unquote(link.rsplit("/", 1)[-1])
        files[name] = (urllib.parse.urljoin(url, link), frag.partition("sha256=")[2] or None)
for name in wanted:
    if name not in files:
        sys.exit(f"{name} is not on {url}")
    link, sha = files[name]
    with urllib.request.urlopen(link, timeout=60) as r:
        data = r.read()
    got = hashlib.sha256(data).hexdigest()
    if sha and got != sha:
        sys.exit(f"{name}: sha256 {got}, the index says {sha}")
    with open(f"{dest}/{name}", "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes, sha256 {got}")
EOF
}
# A static PEP 503 index of $INDEX/files: simple/chevron/index.html, links with #sha256=.
write_index() {
    local w sha
    mkdir -p "$INDEX/simple/chevron"
    printf '<!DOCTYPE html>\n<html><body><a href="chevron/">chevron</a></body></html>\n' >"$INDEX/simple/index.html"
    {
        printf '<!DOCTYPE html>\n<html><head><title>Links for chevron</title></head><body>\n'
        for w in "$INDEX"/files/*.whl; do
            sha=$(sha256sum <"$w" | cut -d' ' -f1)
            printf '<a href="../../files/%s#sha256=%s">%s</a><br>\n' "${w##*/}" "$sha" "${w##*/}"
        done
        printf '</body></html>\n'
    } >"$INDEX/simple/chevron/index.html.tmp"
    mv -- "$INDEX/simple/chevron/index.html.tmp" "$INDEX/simple/chevron/index.html"
    cat -- "$INDEX/simple/chevron/index.html"
}
# Serve $INDEX on 127.0.0.1, on a free port, with python3's http.server. The pid and the base
# URL are left in files; stop_index (also run by suite_cleanup) stops the server.
start_index() {
    local port='' i
    mkdir -p "$INDEX/files"
    cp -- "$WORK/wheels/chevron-0.13.1-py3-none-any.whl" "$INDEX/files/"
    write_index
    # The log exists before the server starts writing it: the port is read from it at once,
    # and on a loaded machine the background redirection may not have created it yet.
    : >"$LOGS/http-server.log"
    python3 -u -m http.server --bind 127.0.0.1 --directory "$INDEX" 0 >>"$LOGS/http-server.log" 2>&1 &
    echo "$!" >"$HTTP_PID_FILE"
    for ((i = 0; i < 100; i++)); do
        port=$(sed -n 's/^Serving HTTP on .* port \([0-9][0-9]*\) .*/\1/p' "$LOGS/http-server.log" | head -n 1)
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || { echo "http.server did not start:"; cat -- "$LOGS/http-server.log"; return 1; }
    echo "http://127.0.0.1:$port/simple/" >"$WORK/index.url"
    timeout 20 python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
        "http://127.0.0.1:$port/simple/chevron/"
}
run wheels "update: download the chevron 0.13.1 and 0.14.0 wheels (sha256 checked)" "$LOGS/wheels.log" "" fetch_wheels
run index "update: loopback PEP 503 index on 127.0.0.1 (http.server) serves chevron 0.13.1 with #sha256 links" \
    "$LOGS/index.log" "wheels" start_index
INDEX_URL=
if have index; then
    INDEX_URL=$(cat "$WORK/index.url")
    note "   loopback index: $INDEX_URL"
fi
run chevron "update: build chevron==0.13.1 --index-url <loopback> --target bookworm --repo DIR; repo list has it" \
    "$LOGS/build-chevron-0.13.1.log" "index init" \
    build_listed chevron==0.13.1 python3-chevron 0.13.1-0py2deb1 --index-url "$INDEX_URL"
chevron_installed() {
    apt_update_ok "$MAIN"
    apt_in "$MAIN" install python3-chevron
    expect_installed "$MAIN" python3-chevron 0.13.1-0py2deb1
    in_root "$MAIN" "$CMD_TIMEOUT" /usr/bin/chevron --help
}
run chevron_installed "update: apt-get update; apt-get install python3-chevron (0.13.1-0py2deb1); chevron --help runs" \
    "$LOGS/install-chevron.log" "chevron source" chevron_installed
dry_run_quiet() {
    local out
    out=$(p2d repo update "$REPO" --dry-run)
    printf '%s\n' "$out"
    if grep -q chevron <<<"$out"; then echo "chevron has no newer release on the index yet"; return 1; fi
}
run - "update: repo update DIR --dry-run does not mention chevron while the index has no newer release" \
    "$LOGS/update-dry-run-before.log" "chevron" dry_run_quiet
add_release() {
    cp -- "$WORK/wheels/chevron-0.14.0-py3-none-any.whl" "$INDEX/files/"
    write_index
}
run index2 "update: chevron 0.14.0 added to the loopback index" "$LOGS/index-add.log" "chevron" add_release
dry_run_names() {
    local out before
    before=$(sha256sum <"$DIST/Release")
    out=$(p2d repo update "$REPO" --dry-run)
    printf '%s\n' "$out"
    grep -qx 'would update python3-chevron (all) 0.13.1 -> 0.14.0' <<<"$out" ||
        { echo "no 'would update python3-chevron (all) 0.13.1 -> 0.14.0' line"; return 1; }
    [[ $(sha256sum <"$DIST/Release") == "$before" ]] || { echo "a dry run changed Release"; return 1; }
    if compgen -G "$REPO/pool/main/p/python3-chevron/*0.14.0*" >/dev/null; then echo "a dry run wrote to the pool"; return 1; fi
}
run dry_run "update: repo update DIR --dry-run names python3-chevron 0.13.1 -> 0.14.0 and publishes nothing" \
    "$LOGS/update-dry-run.log" "index2" dry_run_names
update_publishes() {
    local out
    out=$(p2d repo update "$REPO")
    printf '%s\n' "$out"
    grep -qx 'updated python3-chevron (all) 0.13.1 -> 0.14.0' <<<"$out" ||
        { echo "no 'updated python3-chevron (all) 0.13.1 -> 0.14.0' line"; return 1; }
    repo_lists "$REPO" python3-chevron 0.14.0-0py2deb1
    release_consistent "$DIST" "$REPO/repo-key.gpg"
}
run updated "update: repo update DIR publishes python3-chevron 0.14.0-0py2deb1" "$LOGS/update.log" "dry_run" update_publishes
# py2deb cleans up after itself: builds and updates leave nothing in TMPDIR.
no_temporary_files() {
    local left
    left=$(find "$PY2DEB_TMP" -mindepth 1 | head -n 20)
    [[ -z $left ]] || { echo "left in TMPDIR ($PY2DEB_TMP) by py2deb:"; printf '%s\n' "$left"; return 1; }
}
run - "update: py2deb build and repo update leave nothing in TMPDIR" "$LOGS/update-tmpdir.log" "updated" no_temporary_files
# Once an update has published every newer release there is, the next one finds nothing.
update_settled() {
    local out
    out=$(p2d repo update "$REPO" --dry-run)
    printf '%s\n' "$out"
    [[ $out == 'everything is up to date' ]] || { echo "expected 'everything is up to date'"; return 1; }
}
run - "update: right after repo update, repo update --dry-run has nothing to do" \
    "$LOGS/update-settled.log" "updated" update_settled
run chevron_upgradable "update: apt-get update; apt list --upgradable names python3-chevron" \
    "$LOGS/upgradable-chevron.log" "updated chevron_installed" upgradable "$MAIN" python3-chevron 0.13.1-0py2deb1
chevron_upgraded() {
    upgrade_to "$MAIN" python3-chevron 0.14.0-0py2deb1
    in_root "$MAIN" "$CMD_TIMEOUT" /usr/bin/chevron --help >/dev/null
}
run - "update: apt-get upgrade installs python3-chevron 0.14.0-0py2deb1 and it runs" \
    "$LOGS/upgrade-chevron.log" "chevron_upgradable" chevron_upgraded
# Only py2deb on the host talks to the index; it is not needed any more.
stop_index
phase_end "2. upgrades"

# --- 3. tampered and unsigned repositories are refused --------------------------------------
phase_start "3. tampered and unsigned"
# Change one field of Packages without changing its size and recompress it, as an attacker
# without the key would: only the hashes in the signed Release can tell.
tamper() {
    mkdir -- "$BACKUP"
    cp -p -- "$BIN_INDEX/Packages" "$BIN_INDEX/Packages.gz" "$BIN_INDEX/Packages.xz" "$BACKUP/"
    sed 's/^Priority: optional$/Priority: required/' "$BACKUP/Packages" >"$BIN_INDEX/Packages"
    if cmp -s -- "$BACKUP/Packages" "$BIN_INDEX/Packages"; then echo "no 'Priority: optional' line to change"; return 1; fi
    [[ $(stat -c %s "$BIN_INDEX/Packages") == "$(stat -c %s "$BACKUP/Packages")" ]]
    gzip -9nc "$BIN_INDEX/Packages" >"$BIN_INDEX/Packages.gz"
    xz -c "$BIN_INDEX/Packages" >"$BIN_INDEX/Packages.xz"
    diff -- "$BACKUP/Packages" "$BIN_INDEX/Packages" | head -n 8 || true
}
tamper_refused() {
    local out rc=0 policy
    install_signed_source "$TAMPER" "$REPO"
    tamper
    out=$(in_root "$TAMPER" "$APT_TIMEOUT" apt-get -q update 2>&1) || rc=$?
    printf '%s\n' "$out"
    ((rc != 0)) || { echo "apt-get update accepted a tampered Packages (exit 0)"; return 1; }
    grep -Eq 'Hash Sum mismatch|unexpected size' <<<"$out" || { echo "no 'Hash Sum mismatch' in apt's output"; return 1; }
    policy=$(in_root "$TAMPER" "$CMD_TIMEOUT" apt-cache policy python3-dunamai 2>&1)
    printf '%s\n' "--- apt-cache policy" "$policy"
    if grep -q 0py2deb <<<"$policy"; then echo "apt uses the tampered index"; return 1; fi
}
restored() {
    local policy
    cp -p -- "$BACKUP"/Packages* "$BIN_INDEX/"
    rm -rf -- "$BACKUP"
    release_consistent "$DIST" "$REPO/repo-key.gpg"
    apt_update_ok "$TAMPER"
    policy=$(in_root "$TAMPER" "$CMD_TIMEOUT" apt-cache policy python3-dunamai)
    printf '%s\n' "$policy"
    grep -q 'Candidate: .*0py2deb1' <<<"$policy" || { echo "no candidate from the restored repository"; return 1; }
}
TAMPER=
if have chroot init dunamai; then
    if new_instance "$WORK/tamper.root" 2>"$LOGS/instance-tamper.log"; then
        TAMPER=$(cat "$WORK/tamper.root")
        STEP_OK[tamper_root]=yes
    else
        not_ok "tamper: new chroot instance" "$LOGS/instance-tamper.log"
    fi
fi
run - "tamper: a Packages field edited (same size, recompressed) in a fresh chroot: apt-get update fails with Hash Sum mismatch" \
    "$LOGS/tamper.log" "tamper_root" tamper_refused
if [[ -d $BACKUP ]]; then
    run - "tamper: original indexes restored; Release matches them again and apt-get update succeeds" \
        "$LOGS/tamper-restore.log" "tamper_root" restored
fi
if [[ -n $TAMPER ]]; then chroot_destroy "$TAMPER" >>"$LOGS/instance-tamper.log" 2>&1 || note "could not destroy $TAMPER"; fi

init_unsigned() {
    local out stanza
    out=$(p2d repo init "$UNSIGNED" --suite stable --origin py2deb-unsigned)
    printf '%s\n' "$out"
    make_deb py2deb-e2e-unsigned 1.0-1
    p2d repo add "$UNSIGNED" "$HANDMADE/py2deb-e2e-unsigned_1.0-1_all.deb"
    if [[ -e $UNSIGNED/dists/stable/InRelease || -e $UNSIGNED/dists/stable/Release.gpg ]]; then
        echo "an unsigned repository has signatures"
        return 1
    fi
    stanza=$(local_stanza "$(p2d repo sources "$UNSIGNED")")
    printf '%s\n' "--- local stanza" "$stanza"
    # py2deb says plainly that apt needs `Trusted: yes` for it; the next check leaves it out.
    grep -qx 'Trusted: yes' <<<"$stanza" || { echo "the unsigned stanza lacks 'Trusted: yes'"; return 1; }
    if grep -q '^Signed-By:' <<<"$stanza"; then echo "an unsigned stanza has Signed-By"; return 1; fi
}
unsigned_refused() {
    local out rc=0 file
    out=$(p2d repo sources "$UNSIGNED")
    file=$(local_sources_file "$out")
    attach_repo "$PLAIN" "$UNSIGNED"
    local_stanza "$out" | grep -v '^Trusted:' >"$PLAIN$file"
    echo "--- $file"
    cat -- "$PLAIN$file"
    out=$(in_root "$PLAIN" "$APT_TIMEOUT" apt-get -q update 2>&1) || rc=$?
    printf '%s\n' "$out"
    ((rc != 0)) || { echo "apt-get update accepted an unsigned repository (exit 0)"; return 1; }
    grep -q 'is not signed' <<<"$out" || { echo "no 'is not signed' in apt's output"; return 1; }
    rc=0
    out=$(apt_in "$PLAIN" install py2deb-e2e-unsigned 2>&1) || rc=$?
    printf '%s\n' "--- apt-get install py2deb-e2e-unsigned (exit $rc)" "$out"
    ((rc != 0)) || { echo "a package from the unsigned repository was installed"; return 1; }
    [[ -z $(installed_version "$PLAIN" py2deb-e2e-unsigned) ]] || { echo "py2deb-e2e-unsigned is installed"; return 1; }
}
run unsigned "unsigned: repo init without --sign-key publishes no signature; its stanza asks for Trusted: yes" \
    "$LOGS/unsigned-init.log" "binary" init_unsigned
PLAIN=
if have chroot unsigned; then
    if new_instance "$WORK/plain.root" 2>"$LOGS/instance-plain.log"; then
        PLAIN=$(cat "$WORK/plain.root")
        STEP_OK[plain_root]=yes
    else
        not_ok "unsigned: new chroot instance" "$LOGS/instance-plain.log"
    fi
fi
run - "unsigned: added without trusted=yes, apt-get update refuses it (is not signed) and its package is not installable" \
    "$LOGS/unsigned.log" "plain_root" unsigned_refused
if [[ -n $PLAIN ]]; then chroot_destroy "$PLAIN" >>"$LOGS/instance-plain.log" 2>&1 || note "could not destroy $PLAIN"; fi
phase_end "3. tampered and unsigned"

# --- 4. purge leaves nothing behind ------------------------------------------------------------
phase_start "4. purge"
OURS='dunamai|pepotron|chevron|rapidfuzz'
purge_all() {
    local left
    apt_in "$MAIN" purge python3-dunamai pepotron python3-chevron
    apt_in "$MAIN" autoremove --purge
    # shellcheck disable=SC2016 # a dpkg-query format
    left=$(in_root "$MAIN" "$CMD_TIMEOUT" dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' |
        grep -E "^.. . python3-($OURS) " | grep -v '^[up]n' || true)
    [[ -z $left ]] || { echo "still known to dpkg, not purged:"; printf '%s\n' "$left"; return 1; }
}
# Sorted relative paths below DIR; nothing when DIR does not exist.
listing() { if [[ -d $1 ]]; then (cd "$1" && find . -xdev | LC_ALL=C sort); fi; }
pristine_again() {
    local d rc=0
    # Where these packages put files, where byte-compilation writes, and dpkg's own records.
    for d in usr/lib/python3/dist-packages usr/bin usr/share/doc usr/share/man/man1 var/lib/dpkg/info; do
        echo "--- /$d compared with the pristine chroot"
        diff -u <(listing "$CHROOT_PRISTINE/$d") <(listing "$MAIN/$d") || rc=1
    done
    # Private directories of applications, such as /usr/share/pepotron.
    for d in "$MAIN"/usr/share/python3-* "$MAIN"/usr/lib/python3-*; do
        [[ -e $d && ! -e $CHROOT_PRISTINE${d#"$MAIN"} ]] || continue
        echo "left behind: ${d#"$MAIN"}"
        listing "$d" | head -n 20
        rc=1
    done
    # Anything else named after them, anywhere but the repository and apt's caches.
    echo "--- paths matching $OURS"
    (cd "$MAIN" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./sys -o -path ./var/cache/apt \
        -o -path ./var/lib/apt/lists -o -path ".$REPO" \) -prune -o -print | grep -E "$OURS") && rc=1
    return "$rc"
}
run purged "purge: apt-get purge -y python3-dunamai pepotron python3-chevron; autoremove --purge" \
    "$LOGS/purge.log" "installed" purge_all
run - "purge: dist-packages, /usr/bin, docs, man pages, dpkg's records as pristine; no private dir, no __pycache__, nothing named after them" \
    "$LOGS/purge-pristine.log" "purged" pristine_again
phase_end "4. purge"

# --- 5. two concurrent writers ---------------------------------------------------------------
phase_start "5. concurrent repo add"
# Both writers start while the test holds the repository's writer lock (DIR/.py2deb/lock), so
# they certainly overlap; when it lets go they race each other for it.
concurrent_add() {
    local fd pa pb ra=0 rb=0 i waiting=0
    make_deb py2deb-e2e-alpha 1.0-1
    make_deb py2deb-e2e-beta 1.0-1
    exec {fd}>>"$REPO/.py2deb/lock"
    flock -w 60 "$fd"
    # -v: a writer says when it waits for the lock.
    p2d repo -v add "$REPO" "$HANDMADE/py2deb-e2e-alpha_1.0-1_all.deb" >"$WORK/add-alpha.out" 2>&1 &
    pa=$!
    p2d repo -v add "$REPO" "$HANDMADE/py2deb-e2e-beta_1.0-1_all.deb" >"$WORK/add-beta.out" 2>&1 &
    pb=$!
    for ((i = 0; i < 150; i++)); do
        waiting=$(grep -l 'waiting for another py2deb' "$WORK/add-alpha.out" "$WORK/add-beta.out" | wc -l || true)
        ((waiting == 2)) && break
        sleep 0.1
    done
    flock -u "$fd"
    exec {fd}>&-
    wait "$pa" || ra=$?
    wait "$pb" || rb=$?
    echo "--- repo add DIR a.deb (exit $ra)"
    cat -- "$WORK/add-alpha.out"
    echo "--- repo add DIR b.deb (exit $rb)"
    cat -- "$WORK/add-beta.out"
    ((ra == 0 && rb == 0)) || { echo "a writer failed"; return 1; }
    ((waiting == 2)) || { echo "the writers did not both wait for the lock"; return 1; }
    grep -qx 'added py2deb-e2e-alpha 1.0-1 all' "$WORK/add-alpha.out" || { echo "alpha not added"; return 1; }
    grep -qx 'added py2deb-e2e-beta 1.0-1 all' "$WORK/add-beta.out" || { echo "beta not added"; return 1; }
}
both_listed() {
    repo_lists "$REPO" py2deb-e2e-alpha 1.0-1
    repo_lists "$REPO" py2deb-e2e-beta 1.0-1
    grep -qx 'Package: py2deb-e2e-alpha' "$BIN_INDEX/Packages" || { echo "Packages lacks alpha"; return 1; }
    grep -qx 'Package: py2deb-e2e-beta' "$BIN_INDEX/Packages" || { echo "Packages lacks beta"; return 1; }
    release_consistent "$DIST" "$REPO/repo-key.gpg"
}
both_in_apt() {
    local policy
    apt_update_ok "$MAIN"
    policy=$(in_root "$MAIN" "$CMD_TIMEOUT" apt-cache policy py2deb-e2e-alpha py2deb-e2e-beta)
    printf '%s\n' "$policy"
    [[ $(grep -c 'Candidate: 1.0-1' <<<"$policy") == 2 ]] || { echo "they are not both candidates"; return 1; }
}
run concurrent "concurrent: two repo add DIR a.deb / b.deb started together (both waiting on the writer lock) both succeed" \
    "$LOGS/concurrent.log" "init" concurrent_add
run - "concurrent: repo list and Packages name both; Release size/MD5/SHA256 match the files; InRelease and Release.gpg verify" \
    "$LOGS/concurrent-consistent.log" "concurrent" both_listed
run - "concurrent: apt-get update in the chroot succeeds and both packages are candidates" \
    "$LOGS/concurrent-apt.log" "concurrent source" both_in_apt
phase_end "5. concurrent repo add"

# --- 6. the published index agrees with Debian's own indexers ----------------------------------
phase_start "6. Packages vs apt-ftparchive and dpkg-scanpackages"
# compare_stanzas PUBLISHED SCANNED: the same packages, each with the same Package, Version,
# Architecture, Filename, Size and SHA256, and every other field both have equal as well.
compare_stanzas() {
    python3 - "$1" "$2" <<'EOF'
import sys

def parse(path):
    out = {}
    for para in open(path, encoding="utf-8").read().split("\n\n"):
        fields, last = {}, None
        for line in para.splitlines():
            if line[:1] in (" ", "\t") and last:
                fields[last] += "\n" + line
            elif ":" in line:
                last, _, value = line.partition(":")
                fields[last] = value.strip()
        if fields:
            out[(fields.get("Package"), fields.get("Version"), fields.get("Architecture"))] = fields
    return out

published, scanned = parse(sys.argv[1]), parse(sys.argv[2])
bad = 0
for key in sorted(set(published) | set(scanned), key=str):
    if key not in scanned or key not in published:
        print(f"{' '.join(key)}: only in the {'published Packages' if key in published else 'scan'}")
        bad += 1
        continue
    p, s, diffs = published[key], scanned[key], []
    for f in ("Package", "Version", "Architecture", "Filename", "Size", "SHA256"):
        if f not in p or f not in s:
            diffs.append(f"{f} missing from the {'published Packages' if f not in p else 'scan'}")
    for f in sorted(set(p) & set(s)):
        if p[f] != s[f]:
            diffs.append(f"{f} differs: published {p[f]!r}, scan {s[f]!r}")
    bad += len(diffs)
    print(f"{' '.join(key)}: " + ("; ".join(diffs) if diffs else f"{len(set(p) & set(s))} common fields equal"))
print(f"{len(published)} published, {len(scanned)} scanned, {bad} difference(s)")
sys.exit(1 if bad or not published else 0)
EOF
}
scan_equivalent() {
    local tool=$1 out=$WORK/scan-$1.Packages
    case $tool in
        apt-ftparchive) (cd "$REPO" && apt-ftparchive packages pool >"$out") ;;
        dpkg-scanpackages) (cd "$REPO" && dpkg-scanpackages --multiversion pool /dev/null >"$out") ;;
    esac
    echo "pool: $(find "$REPO/pool" -name '*.deb' | wc -l) .deb files"
    compare_stanzas "$BIN_INDEX/Packages" "$out"
}
for tool in apt-ftparchive dpkg-scanpackages; do
    run - "scan: $tool over the pool gives the same stanzas as Packages (Package/Version/Architecture/Filename/Size/SHA256, all common fields)" \
        "$LOGS/scan-$tool.log" "dunamai" scan_equivalent "$tool"
done
phase_end "6. Packages vs apt-ftparchive and dpkg-scanpackages"

if [[ -n $MAIN ]]; then chroot_destroy "$MAIN" >>"$LOGS/instance-main.log" 2>&1 || note "could not destroy $MAIN"; fi
