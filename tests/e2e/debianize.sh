#!/usr/bin/env bash
# End-to-end suite for `py2deb debianize` and `py2deb rfp` -- e2e: needs PyPI and the
# Debian archive.
#
# For real pure-Python sdists from PyPI, one per build backend (setuptools, hatchling,
# flit_core, poetry-core), whose build and runtime dependencies bookworm has:
#   1. `py2deb debianize --target bookworm` writes the source package and its .dsc;
#   2. in a clean bookworm chroot (scripts/chroot.sh), `apt-get build-dep ./TREE` installs
#      the Build-Depends read from the generated debian/control;
#   3. `dpkg-buildpackage -us -uc` succeeds as a non-root user without network
#      (`unshare -n`, as buildds run it), tests included;
#   4. lintian on the .changes reports no error;
#   5. the built package installs with apt and its module imports.
# Then `py2deb rfp` for a project no Debian suite has (a request is written) and for
# requests (packaged already: no request).
#
# Usage (as root, the chroot needs it):
#   tests/e2e/debianize.sh
#
# Environment:
#   PY2DEB             binary under test (default: target/release/py2deb)
#   E2E_DEBIANIZE_WORK scratch directory, kept for inspection (default: target/e2e-debianize)
#   E2E_BUILD_TIMEOUT  seconds for one py2deb or dpkg-buildpackage command (default: 300)
#   E2E_APT_TIMEOUT    seconds for one apt-get command in the chroot (default: 1200)
#
# Output as tests/e2e/run.sh: `ok - NAME`, `not ok - NAME` (with `#` diagnostics) or
# `skip - NAME (reason)`; the last line is `N passed, N failed, N skipped`.

set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY2DEB=${PY2DEB:-$ROOT/target/release/py2deb}
WORK=${E2E_DEBIANIZE_WORK:-$ROOT/target/e2e-debianize}
BUILD_TIMEOUT=${E2E_BUILD_TIMEOUT:-300}
APT_TIMEOUT=${E2E_APT_TIMEOUT:-1200}
export DEBFULLNAME="py2deb tests" DEBEMAIL="tests@example.invalid"

# SPEC, module to import, backend (for the check names). Small, pure Python, every
# dependency in bookworm; pinned so the suite judges py2deb, not new upstream releases.
PROJECTS=(
    "text-unidecode==1.3 text_unidecode setuptools"
    "termcolor==2.3.0 termcolor hatchling"
    "tomli-w==1.0.0 tomli_w flit_core"
    "pastel==0.2.1 pastel poetry-core"
)
# A project no Debian suite ships, and one they all do.
RFP_MISSING="pepotron==1.8.0"
RFP_PACKAGED="requests"

# shellcheck source=scripts/chroot.sh
source "$ROOT/scripts/chroot.sh"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# check NAME LOGFILE CMD...: one test case. CMD runs in the background and is waited for,
# because bash ignores `set -e` in a subshell run under `||`, and a multi-step check would
# then pass after a failing middle step.

rm -rf -- "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd -P)
LOGS=$WORK/logs
mkdir -p "$LOGS"
INST=

trap e2e_finish EXIT
trap 'exit 130' INT TERM

p2d() { timeout -k 10 "$BUILD_TIMEOUT" "$PY2DEB" "$@"; }
apt_in() {
    local root=$1
    shift
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout -k 15 "$APT_TIMEOUT" bash -c 'source "$1"; shift; chroot_apt "$@"' apt_in \
        "$ROOT/scripts/chroot.sh" "$root" "$@"
}

[[ -x $PY2DEB ]] || { not_ok "py2deb binary at $PY2DEB (cargo build --release)"; exit 1; }
command -v lintian >/dev/null || { not_ok "lintian on the host (apt-get install lintian)"; exit 1; }

# ---------------------------------------------------------------------------------------------
phase_start "debianize: generate the source packages"
debianize() {
    local spec=$1 out=$2
    p2d debianize "$spec" --target bookworm -o "$out"
    ls -l "$out"
    compgen -G "$out/*.dsc" >/dev/null || { echo "no .dsc in $out"; return 1; }
    compgen -G "$out/*.orig.tar.gz" >/dev/null || { echo "no orig tarball in $out"; return 1; }
    local tree
    tree=$(find "$out" -mindepth 1 -maxdepth 1 -type d ! -name '.*')
    cat "$tree/debian/control"
    grep -q '^Build-Depends:' "$tree/debian/control"
    [[ -x $tree/debian/rules ]]
}
for row in "${PROJECTS[@]}"; do
    read -r spec module backend <<<"$row"
    name=${spec%%==*}
    run "gen-$name" "debianize $spec ($backend) --target bookworm writes the source package and its .dsc" \
        "$LOGS/gen-$name.log" "" debianize "$spec" "$WORK/src/$name"
done
phase_end "generate"

# ---------------------------------------------------------------------------------------------
phase_start "build in a clean bookworm chroot"
make_instance() {
    chroot_ensure
    chroot_new
    printf '%s\n' "$CHROOT_ROOT" >"$WORK/instance"
    chroot_run "$CHROOT_ROOT" useradd -m builder
    mkdir -p "$CHROOT_ROOT/build"
}
run instance "a fresh bookworm chroot instance with a non-root user" "$LOGS/instance.log" "" make_instance
if [[ ${STEP_OK[instance]:-} == yes ]]; then INST=$(cat "$WORK/instance"); fi

tree_of() { find "$1" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n'; }
build_dep() {
    local name=$1 tree
    cp -a "$WORK/src/$name" "$INST/build/$name"
    tree=$(tree_of "$INST/build/$name")
    apt_in "$INST" build-dep "/build/$name/$tree"
}
build() {
    local name=$1 tree
    tree=$(tree_of "$INST/build/$name")
    chroot_run "$INST" chown -R builder: "/build/$name"
    # Buildds have no network: unshare -n first, then drop to the builder.
    chroot_run "$INST" timeout -k 10 "$BUILD_TIMEOUT" unshare -n \
        runuser -u builder -- env -u TERM HOME=/home/builder \
        sh -c "cd /build/$name/$tree && dpkg-buildpackage -us -uc"
    ls -l "$INST/build/$name"
    compgen -G "$INST/build/$name/*.changes" >/dev/null
}
lint() {
    local name=$1 changes
    changes=$(compgen -G "$INST/build/$name/*.changes" | head -n 1)
    # --fail-on error: warnings (an ITP to close, a newer Standards-Version) are for the human.
    lintian --fail-on error --no-tag-display-limit "$changes"
}
install_import() {
    local name=$1 module=$2 deb pkg version got
    deb=$(cd "$INST/build/$name" && compgen -G "*.deb" | head -n 1)
    pkg=$(dpkg-deb -f "$INST/build/$name/$deb" Package)
    version=$(dpkg-deb -f "$INST/build/$name/$deb" Version)
    # bookworm may have installed its own build of the same version as a build dependency
    # of another package here (its -2 sorts above our -1).
    apt_in "$INST" install --allow-downgrades "/build/$name/$deb"
    # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
    got=$(chroot_run "$INST" dpkg-query -W -f='${Version}' "$pkg")
    [[ $got == "$version" ]] || { echo "$pkg $got is installed, not the built $version"; return 1; }
    chroot_run "$INST" python3 -c "import $module; print($module.__file__)"
}
for row in "${PROJECTS[@]}"; do
    read -r spec module backend <<<"$row"
    name=${spec%%==*}
    run "bdep-$name" "apt-get build-dep ./TREE installs the Build-Depends of $name ($backend)" \
        "$LOGS/bdep-$name.log" "instance gen-$name" build_dep "$name"
    run "build-$name" "dpkg-buildpackage -us -uc builds $name as a non-root user without network, tests included" \
        "$LOGS/build-$name.log" "bdep-$name" build "$name"
    run - "lintian reports no error on the .changes of $name" \
        "$LOGS/lintian-$name.log" "build-$name" lint "$name"
    run - "the built package of $name installs with apt and \`import $module\` works" \
        "$LOGS/install-$name.log" "build-$name" install_import "$name" "$module"
done
phase_end "build"

# ---------------------------------------------------------------------------------------------
phase_start "rfp"
rfp_missing() {
    p2d rfp "$RFP_MISSING" --target bookworm -o "$WORK/rfp"
    local f=$WORK/rfp/python-pepotron.rfp
    cat "$f"
    grep -q '^Subject: RFP: python-pepotron -- ' "$f"
    grep -q '^Package: wnpp$' "$f"
    grep -q '^\* Package name    : python-pepotron$' "$f"
    grep -q '^  Version         : 1.8.0$' "$f"
    grep -q '^\* License         : Expat$' "$f"
    grep -q '^Dependencies, as bookworm has them:$' "$f"
}
run - "rfp $RFP_MISSING writes the WNPP request (subject, template, license, dependencies on bookworm)" \
    "$LOGS/rfp-missing.log" "" rfp_missing
rfp_packaged() {
    local out
    out=$(p2d rfp "$RFP_PACKAGED" --target bookworm -o "$WORK/rfp-packaged")
    printf '%s\n' "$out"
    grep -q 'is packaged already; no request written' <<<"$out"
    grep -qE '^    bookworm +python3-requests ' <<<"$out"
    [[ -z $(ls -A "$WORK/rfp-packaged") ]] || { echo "a request was written"; return 1; }
}
run - "rfp $RFP_PACKAGED says which package ships it in each suite and writes no request" \
    "$LOGS/rfp-packaged.log" "" rfp_packaged
phase_end "rfp"
