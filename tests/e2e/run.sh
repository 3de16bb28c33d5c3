#!/usr/bin/env bash
# End-to-end suite -- e2e: needs PyPI and the Debian archive.
#
# Builds real projects from PyPI with the py2deb binary, checks the .debs with the
# real Debian tools (dpkg-deb, lintian), checks reproducibility, then installs them
# with apt into a clean bookworm chroot (scripts/chroot.sh) from a local flat
# repository, runs their console scripts and imports, and purges them again.
#
# Usage (as root, the chroot needs it):
#   tests/e2e/run.sh              every category A-D row of the smoke corpus (tests/data/smoke.tsv)
#   tests/e2e/run.sh dunamai ftfy only these rows (any category may be named)
#
# Environment:
#   PY2DEB          binary under test (default: target/release/py2deb)
#   E2E_CORPUS      smoke corpus to read instead of tests/data/smoke.tsv (optional)
#   E2E_WORK        scratch directory, kept for inspection (default: target/e2e)
#   PY2DEB_CHROOT   pristine chroot location, see scripts/chroot.sh
#
# Output: one line per check, `ok - NAME`, `not ok - NAME` (followed by `#` diagnostic
# lines) or `skip - NAME (reason)` when a check cannot run because an earlier one it
# depends on failed; the last line is `N passed, N failed, N skipped`. The exit status
# is non-zero if anything failed. A missing binary is a failure, never a skip.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_DIR=$ROOT/tests/e2e
PY2DEB=${PY2DEB:-$ROOT/target/release/py2deb}
WORK=${E2E_WORK:-$ROOT/target/e2e}
ALLOW_FILE=$E2E_DIR/lintian-allow
# Generous for a pure wheel (download + convert), small enough that a hang cannot eat CI.
BUILD_TIMEOUT=${E2E_BUILD_TIMEOUT:-300}

# shellcheck source=scripts/chroot.sh
source "$ROOT/scripts/chroot.sh"

# ---------------------------------------------------------------------------------------------
# Reporting

# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

trap e2e_finish EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Inputs

# The corpus lives in the repository, so a fresh clone runs the suite with nothing beside it.
CORPUS=${E2E_CORPUS:-$ROOT/tests/data/smoke.tsv}
[[ -f $CORPUS ]] || { echo "e2e: corpus not found: $CORPUS (unset E2E_CORPUS to use tests/data/smoke.tsv)" >&2; exit 1; }

# Import name for a project. Identity (with - -> _) holds for every category A row;
# the table is for projects whose import name differs from the distribution name.
declare -A MODULE_OF=(
    [datadog]=datadog [markdownify]=markdownify [dunamai]=dunamai
    [ftfy]=ftfy [huey]=huey [chevron]=chevron
    [slack-bolt]=slack_bolt [inquirerpy]=InquirerPy [stringcase]=stringcase
    [mammoth]=mammoth [yaspin]=yaspin [pysftp]=pysftp
)
# Applications whose dependencies the target ships too old carry private copies outside
# dist-packages (only their programs see them), so their own module is not importable
# system-wide by design; these modules of their closure must be.
declare -A NO_IMPORT=([pepotron]=1)
declare -A EXTRA_IMPORTS=([pepotron]="rapidfuzz")
# Per-row options. yaspin is a library whose dependency termcolor is too old in bookworm:
# nothing in bookworm needs the old termcolor, so the default (`--conflicts auto`) replaces
# it; with `--conflicts bundle` a library cannot hide a private copy, so that refuses
# (checked below).
declare -A ROW_ARGS=()
module_of() { local n=${1,,}; printf '%s\n' "${MODULE_OF[$n]:-${n//-/_}}"; }
# Debian binary package name for a project, as dh-python names it (PEP 503 normalised).
debname_of() { local n=${1,,}; n=${n//_/-}; printf 'python3-%s\n' "${n//./-}"; }
# An application whose modules are private (it bundles copies) is named after the project.
expected_pkg() {
    local n=${2,,}
    n=${n//_/-}
    if python3 -c 'import json,sys; sys.exit(not json.load(open(sys.argv[1]))["packages"][0]["bundles"])' "$1"; then
        printf '%s\n' "${n//./-}"
    else
        debname_of "$2"
    fi
}

# Rows: category A by default, or exactly the names given on the command line.
NAMES=() VERSIONS=() SCRIPTS=()
# Tabs become \x1f first: a tab in IFS is whitespace, so `read` would merge an empty
# column (a project without console scripts) into its neighbour.
while IFS=$'\x1f' read -r cat name version _tag scripts _rest; do
    [[ $cat == category ]] && continue
    if (($# > 0)); then
        wanted=no
        for want in "$@"; do [[ ${want,,} == "${name,,}" ]] && wanted=yes; done
        [[ $wanted == yes ]] || continue
    else
        [[ $cat == A || $cat == B || $cat == C || $cat == D ]] || continue
    fi
    NAMES+=("$name") VERSIONS+=("$version") SCRIPTS+=("$scripts")
done < <(tr '\t' '\037' <"$CORPUS")
if (($# > 0 && ${#NAMES[@]} != $#)); then
    echo "e2e: some of '$*' are not rows of $CORPUS" >&2
    exit 1
fi

# Allow-listed lintian tags: first word of each non-comment line.
ALLOWED_TAGS=()
if [[ -f $ALLOW_FILE ]]; then
    while read -r tag _; do
        [[ -z $tag || $tag == \#* ]] && continue
        ALLOWED_TAGS+=("$tag")
    done <"$ALLOW_FILE"
fi

# The packages written by one py2deb run, from its --json output: "package version arch path".
json_packages() {
    python3 - "$1" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
pkgs = doc["packages"]
if not isinstance(pkgs, list) or not pkgs:
    sys.exit("'packages' is empty or not a list")
for p in pkgs:
    for key in ("package", "version", "architecture", "path"):
        if not isinstance(p.get(key), str) or not p[key]:
            sys.exit(f"entry {p!r} lacks a string {key!r}")
    print(p["package"], p["version"], p["architecture"], p["path"])
EOF
}

# lintian on some .debs; fails listing every E:/W: whose tag is not allow-listed.
lintian_gate() {
    local out rc=0 line tag bad=0 a allowed
    out=$(lintian --no-cfg --tag-display-limit 0 -- "$@" 2>&1) || rc=$?
    printf '%s\n' "$out"
    # lintian exits 1 when it found error-severity tags, 2 on an internal problem.
    if ((rc > 1)); then echo "lintian itself failed (exit $rc)"; return 1; fi
    while IFS= read -r line; do
        [[ $line =~ ^[EW]:\ [^:]+:\ ([^ ]+) ]] || continue
        tag=${BASH_REMATCH[1]}
        allowed=no
        for a in "${ALLOWED_TAGS[@]}"; do [[ $a == "$tag" ]] && allowed=yes; done
        if [[ $allowed == no ]]; then
            echo "NOT ALLOWED: $line"
            bad=1
        fi
    done <<<"$out"
    return "$bad"
}

# Every member of data.tar must be under usr/ (nothing in /usr/local, /etc stays empty for
# pure libraries), and the Python code must be in dist-packages like dh-python puts it.
check_layout() {
    local deb=$1 list
    list=$(dpkg-deb --fsys-tarfile "$deb" | tar -t)
    printf '%s\n' "$list"
    if grep -vE '^\./(usr/?|usr/bin(/.*)?|usr/lib/?|usr/lib/python3/?|usr/lib/python3/dist-packages(/.*)?|usr/lib/[a-z0-9][a-z0-9.+-]*(/.*)?|usr/share(/.*)?)?$' <<<"$list"; then
        echo "unexpected paths above"
        return 1
    fi
    # Public modules in dist-packages, or an application with private copies in its own
    # directory.
    grep -qE '^\./usr/(lib/python3/dist-packages/.|(share|lib)/[a-z0-9][a-z0-9.+-]*/[^/]+\.dist-info/)' <<<"$list" ||
        { echo "no Python modules in dist-packages or a private directory"; return 1; }
    grep -q '^\./usr/share/doc/[^/]*/copyright$' <<<"$list" || { echo "no copyright file"; return 1; }
    if grep -E '(__pycache__|\.pyc$|/usr/local/)' <<<"$list"; then echo "bytecode or /usr/local in package"; return 1; fi
}

# With SOURCE_DATE_EPOCH set, no member of data.tar may be newer than it.
check_sde_clamp() {
    local deb=$1 sde=$2 limit newer
    limit=$(TZ=UTC date -d "@$sde" '+%Y-%m-%d %H:%M:%S')
    newer=$(dpkg-deb --fsys-tarfile "$deb" | TZ=UTC tar -tv --full-time |
        awk -v lim="$limit" '($4 " " $5) > lim')
    [[ -z $newer ]] || { echo "members newer than $limit:"; printf '%s\n' "$newer"; return 1; }
}

# ---------------------------------------------------------------------------------------------

rm -rf --one-file-system -- "$WORK"
mkdir -p "$WORK/logs" "$WORK/plumbing" "$WORK/repo"
LOGS=$WORK/logs
note "e2e: needs PyPI and the Debian archive"
note "binary: $PY2DEB"
note "corpus: $CORPUS (${NAMES[*]})"

# --- plumbing: prove the chroot / flat repo / apt / lintian path with a hand-made package ---
phase_start "chroot and plumbing"
HAVE_CHROOT=no
if [[ $(id -u) -ne 0 ]]; then
    not_ok "chroot: pristine bookworm chroot (needs root)"
elif check "chroot: pristine bookworm chroot ready" "$LOGS/chroot-ensure.log" chroot_ensure; then
    HAVE_CHROOT=yes
fi

plumbing_hello() {
    local root
    chroot_make_hello_deb "$WORK/plumbing" || return 1
    chroot_new || return 1
    root=$CHROOT_ROOT
    chroot_repo "$root" "$WORK/plumbing" || return 1
    chroot_apt "$root" install python3-hello || return 1
    chroot_run "$root" hello | grep -qx 'hello from python3-hello' || return 1
    chroot_run "$root" python3 -c 'import hello' || return 1
    chroot_apt "$root" purge python3-hello || return 1
    if [[ -e $root/usr/lib/python3/dist-packages/hello ]]; then
        find "$root/usr/lib/python3/dist-packages/hello"
        echo "purge left files behind"
        return 1
    fi
    chroot_destroy "$root"
}
if [[ $HAVE_CHROOT == yes ]]; then
    check "plumbing: hand-made python3-hello installs from the flat repo, runs, purges clean" \
        "$LOGS/plumbing-hello.log" plumbing_hello || true
else
    skip "plumbing: hand-made python3-hello installs from the flat repo" "no chroot"
fi

# The hand-made package deliberately has no copyright file: lintian must flag it,
# which proves that lintian runs here and that the E:/W: gate really rejects things.
plumbing_lintian() {
    if lintian_gate "$WORK/plumbing/python3-hello_1.0-1_all.deb"; then
        echo "the gate accepted a package without a copyright file"
        return 1
    fi
    return 0
}
if [[ -f $WORK/plumbing/python3-hello_1.0-1_all.deb ]] || chroot_make_hello_deb "$WORK/plumbing"; then
    check "plumbing: lintian gate rejects a package lacking a copyright file" \
        "$LOGS/plumbing-lintian.log" plumbing_lintian || true
fi
phase_end "chroot and plumbing"

# --- the binary ----------------------------------------------------------------------------
phase_start "py2deb binary"
HAVE_BIN=no
if [[ -x $PY2DEB ]]; then
    HAVE_BIN=yes
    ok "py2deb binary present: $PY2DEB"
else
    printf '%s\n' "not found or not executable: $PY2DEB" \
        "build it with 'cargo build --release' or point PY2DEB at it" >"$LOGS/binary.log"
    not_ok "py2deb binary present: $PY2DEB" "$LOGS/binary.log"
fi

# PEP 440 order must carry over to dpkg order (the list below is sorted by PEP 440).
check_version_order() {
    local out lines i versions
    versions=(1.0.dev1 1.0a1 1.0a1.post2.dev3 1.0a1.post2 1.0b2 1.0rc1 1.0 1.0.post1.dev1 1.0.post1 1.1 1!0.5)
    out=$("$PY2DEB" version "${versions[@]}")
    printf '%s\n' "$out"
    mapfile -t lines <<<"$out"
    [[ ${#lines[@]} -eq ${#versions[@]} ]] || { echo "expected ${#versions[@]} lines"; return 1; }
    for ((i = 1; i < ${#lines[@]}; i++)); do
        dpkg --compare-versions "${lines[i - 1]}" lt "${lines[i]}" || {
            echo "${versions[i - 1]} < ${versions[i]} in PEP 440 but ${lines[i - 1]} >= ${lines[i]} in dpkg"
            return 1
        }
    done
}
if [[ $HAVE_BIN == yes ]]; then
    check "py2deb version: PEP 440 order is preserved in dpkg order" "$LOGS/version.log" check_version_order || true
else
    skip "py2deb version: PEP 440 order is preserved in dpkg order" "no binary"
fi
phase_end "py2deb binary"

# --- build and check each row ----------------------------------------------------------------
phase_start "build and static checks"
MAINT='py2deb tests <tests@example.invalid>'
STATIC_CHECKS=("json output" "dpkg-deb --info" "dpkg-deb --contents" "file layout" lintian reproducible)
declare -A BUILT=()    # name -> yes when build 1 produced a usable python3-<name>
declare -A MAIN_DEB=() # name -> path of its own .deb
declare -A MAIN_PKG=() # name -> its Debian package name

# py2deb NAME==VERSION into DIR, JSON document on stdout, progress on stderr.
# SOURCE_DATE_EPOCH is unset: the default build must already be reproducible.
build_row() {
    local spec=$1 dir=$2 extra=()
    # shellcheck disable=SC2206 # ROW_ARGS holds a word list
    extra=(${ROW_ARGS[${spec%%==*}]:-})
    mkdir -p "$dir"
    env -u SOURCE_DATE_EPOCH timeout "$BUILD_TIMEOUT" \
        "$PY2DEB" "$spec" --target bookworm -o "$dir" --json --maintainer "$MAINT" "${extra[@]}"
}
build_to_json() {
    build_row "$1" "$2" >"$3" || return 1
    compgen -G "$2/*.deb" >/dev/null || { echo "exit status 0 but no .deb in $2"; return 1; }
}
# The --json document must list python3-<name>; writes "package version arch path" lines.
json_check() {
    local json=$1 pkg=$2 out=$3 path
    json_packages "$json" >"$out"
    cat "$out"
    awk -v p="$pkg" '$1 == p { found = 1 } END { exit !found }' "$out" || { echo "no $pkg in the packages list"; return 1; }
    while read -r _ _ _ path; do
        [[ -f $path ]] || { echo "listed path does not exist: $path"; return 1; }
    done <"$out"
}
info_check() {
    dpkg-deb --info "$1"
    local got
    got=$(dpkg-deb --field "$1" Package)
    [[ $got == "$2" ]] || { echo "Package field is '$got', expected '$2'"; return 1; }
}
# Build a second time into another directory and compare every .deb byte for byte.
repro_check() {
    local spec=$1 dir=$2 f rc=0
    shift 2
    build_row "$spec" "$dir" >/dev/null
    for f in "$@"; do
        echo "cmp $(basename "$f")"
        cmp -- "$f" "$dir/$(basename "$f")" || rc=1
    done
    # If they differ, show where; diffoscope is much clearer than cmp but rarely installed.
    if ((rc != 0)) && command -v diffoscope >/dev/null; then
        diffoscope --text - "$1" "$dir/$(basename "$1")" | head -n 80 || true
    fi
    return "$rc"
}
sde_check() {
    local spec=$1 dir=$2 deb=$3 sde=1600000000
    mkdir -p "$dir"
    SOURCE_DATE_EPOCH=$sde timeout "$BUILD_TIMEOUT" \
        "$PY2DEB" "$spec" --target bookworm -o "$dir" -q --maintainer "$MAINT" || return 1
    [[ -f $dir/$(basename "$deb") ]] || { echo "no $(basename "$deb") written"; return 1; }
    check_sde_clamp "$dir/$(basename "$deb")" "$sde"
}

for i in "${!NAMES[@]}"; do
    name=${NAMES[i]} spec=${NAMES[i]}==${VERSIONS[i]} pkg=$(debname_of "${NAMES[i]}")
    if [[ $HAVE_BIN != yes ]]; then
        not_ok "$name: build $spec (no binary)"
        for c in "${STATIC_CHECKS[@]}"; do skip "$name: $c" "no binary"; done
        continue
    fi
    if ! check "$name: build $spec" "$LOGS/$name.build.log" \
        build_to_json "$spec" "$WORK/build1/$name" "$WORK/$name.json"; then
        for c in "${STATIC_CHECKS[@]}"; do skip "$name: $c" "build failed"; done
        continue
    fi
    pkg=$(expected_pkg "$WORK/$name.json" "$name")
    if ! check "$name: json output lists $pkg and its files exist" "$LOGS/$name.json.log" \
        json_check "$WORK/$name.json" "$pkg" "$WORK/$name.pkgs"; then
        for c in "${STATIC_CHECKS[@]:1}"; do skip "$name: $c" "no usable --json output"; done
        continue
    fi
    deb=$(awk -v p="$pkg" '$1 == p { print $4; exit }' "$WORK/$name.pkgs")
    mapfile -t all_debs < <(awk '{ print $4 }' "$WORK/$name.pkgs")
    MAIN_DEB[$name]=$deb MAIN_PKG[$name]=$pkg BUILT[$name]=yes
    # Every .deb of this run goes into the flat repository (dependencies built alongside too).
    cp -t "$WORK/repo/" -- "${all_debs[@]}"

    check "$name: dpkg-deb --info, Package is $pkg" "$LOGS/$name.info.log" info_check "$deb" "$pkg" || true
    check "$name: dpkg-deb --contents" "$LOGS/$name.contents.log" dpkg-deb --contents "$deb" || true
    check "$name: file layout (dist-packages, no bytecode, copyright)" "$LOGS/$name.layout.log" \
        check_layout "$deb" || true
    check "$name: lintian has no E:/W: outside tests/e2e/lintian-allow" "$LOGS/$name.lintian.log" \
        lintian_gate "${all_debs[@]}" || true
    check "$name: reproducible (second build, SOURCE_DATE_EPOCH unset, cmp)" "$LOGS/$name.repro.log" \
        repro_check "$spec" "$WORK/build2/$name" "${all_debs[@]}" || true
done

# A library cannot hide private copies: the default must refuse it with the options.
library_refusal() {
    local out rc=0
    out=$(timeout "$BUILD_TIMEOUT" "$PY2DEB" "$1" --conflicts bundle --target bookworm -o "$WORK/refusal" --maintainer "$MAINT" 2>&1) || rc=$?
    printf '%s\n' "$out"
    ((rc != 0)) || { echo "expected a refusal"; return 1; }
    grep -q -- '--conflicts replace' <<<"$out" || { echo "the error does not name the options"; return 1; }
    [[ -z $(ls -A "$WORK/refusal" 2>/dev/null) ]] || { echo "files left in the output directory"; return 1; }
}
for i in "${!NAMES[@]}"; do
    [[ ${NAMES[i]} == yaspin && $HAVE_BIN == yes ]] || continue
    check "yaspin: --conflicts bundle refuses a library, naming the options" "$LOGS/yaspin.refusal.log" \
        library_refusal "yaspin==${VERSIONS[i]}" || true
done

# SOURCE_DATE_EPOCH honoured: one extra build of the first built row is enough.
for i in "${!NAMES[@]}"; do
    name=${NAMES[i]}
    [[ ${BUILT[$name]:-} == yes ]] || continue
    check "$name: SOURCE_DATE_EPOCH=1600000000 clamps every file's mtime" "$LOGS/$name.sde.log" \
        sde_check "$name==${VERSIONS[i]}" "$WORK/build-sde/$name" "${MAIN_DEB[$name]}" || true
    break
done
phase_end "build and static checks"

# --- install everything in one fresh chroot ---------------------------------------------------
phase_start "install, run, purge in a clean bookworm chroot"
INSTALL_OK=no
ROOTFS=
install_all() {
    chroot_repo "$ROOTFS" "$WORK/repo" || return 1
    echo "apt-get install $*"
    chroot_apt "$ROOTFS" install "$@"
}
TO_INSTALL=()
for n in "${NAMES[@]}"; do [[ ${BUILT[$n]:-} == yes ]] && TO_INSTALL+=("${MAIN_PKG[$n]}"); done
if ((${#TO_INSTALL[@]} == 0)); then
    skip "install: apt-get install every built package" "nothing was built"
elif [[ $HAVE_CHROOT != yes ]]; then
    not_ok "install: apt-get install every built package (no chroot)"
elif ! chroot_new 2>"$LOGS/install.log"; then
    not_ok "install: could not make a chroot instance" "$LOGS/install.log"
else
    ROOTFS=$CHROOT_ROOT
    t0=$(date +%s)
    if check "install: apt-get install ${TO_INSTALL[*]}" "$LOGS/install.log" install_all "${TO_INSTALL[@]}"; then
        INSTALL_OK=yes
        note "   (apt-get install took $(($(date +%s) - t0))s)"
    fi
fi

# Run a console script the way a user would: --help, or --version for scripts without it.
run_script() {
    local s=$1
    chroot_run "$ROOTFS" timeout 60 "/usr/bin/$s" --help </dev/null && return 0
    echo "--- --help failed, trying --version"
    chroot_run "$ROOTFS" timeout 60 "/usr/bin/$s" --version </dev/null
}

# Purge one package and make sure nothing of it is left in dist-packages: every top-level
# entry it shipped there must be gone, including __pycache__ left by byte-compilation.
purge_check() {
    local pkg=$1 dp=/usr/lib/python3/dist-packages tops=() t rc=0
    mapfile -t tops < <(chroot_run "$ROOTFS" dpkg -L "$pkg" | sed -n "s|^$dp/\([^/]*\).*|\1|p" | sort -u)
    echo "top-level entries: ${tops[*]}"
    if ((${#tops[@]} == 0)); then
        # An application with private copies: its own directory must go away entirely.
        chroot_apt "$ROOTFS" purge "$pkg"
        if [[ -e $ROOTFS/usr/share/$pkg || -e $ROOTFS/usr/lib/$pkg ]]; then
            echo "left behind:"; find "$ROOTFS/usr/share/$pkg" "$ROOTFS/usr/lib/$pkg" 2>/dev/null | head -n 20
            return 1
        fi
        return 0
    fi
    chroot_apt "$ROOTFS" purge "$pkg"
    # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
    if chroot_run "$ROOTFS" dpkg-query -W -f='${db:Status-Status}\n' "$pkg" 2>/dev/null | grep -qv not-installed; then
        echo "$pkg still known to dpkg"; rc=1
    fi
    for t in "${tops[@]}"; do
        if [[ -e $ROOTFS$dp/$t ]]; then
            echo "left behind: $dp/$t"; find "$ROOTFS$dp/$t" | sed "s|^$ROOTFS||" | head -n 20; rc=1
        fi
        # Single-file modules compile into the shared dist-packages/__pycache__.
        if [[ $t == *.py ]] && compgen -G "$ROOTFS$dp/__pycache__/${t%.py}.*.pyc" >/dev/null; then
            echo "left behind: $dp/__pycache__/${t%.py}.*.pyc"; rc=1
        fi
    done
    return "$rc"
}

# The distribution's own package stays: private copies never replace it.
urllib3_check() {
    local v
    # Installing the distribution's urllib3 next to pepotron must give bookworm's 1.26,
    # and pep must keep working with its private copy.
    chroot_apt "$ROOTFS" install python3-urllib3 || return 1
    # Marked automatic so that the final autoremove takes it away again.
    chroot_run "$ROOTFS" apt-mark auto python3-urllib3 || return 1
    # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
    v=$(chroot_run "$ROOTFS" dpkg-query -W -f='${Version}' python3-urllib3)
    echo "python3-urllib3 $v"
    [[ $v == 1.26.* ]] || return 1
    chroot_run "$ROOTFS" python3 -c 'import urllib3, sys; print(urllib3.__version__); sys.exit(not urllib3.__version__.startswith("1.26"))' || return 1
    chroot_run "$ROOTFS" timeout 60 /usr/bin/pep --help >/dev/null
}

for i in "${!NAMES[@]}"; do
    name=${NAMES[i]}
    IFS=, read -r -a scripts <<<"${SCRIPTS[i]}"
    module=$(module_of "$name")
    if [[ $INSTALL_OK != yes ]]; then
        for s in "${scripts[@]}"; do [[ -n $s ]] && skip "$name: console script $s runs" "not installed"; done
        skip "$name: python3 -c 'import $module'" "not installed"
        skip "$name: purge leaves nothing in dist-packages" "not installed"
        continue
    fi
    for s in "${scripts[@]}"; do
        [[ -n $s ]] || continue
        check "$name: console script $s runs (--help or --version)" "$LOGS/$name.script-$s.log" run_script "$s" || true
    done
    if [[ -z ${NO_IMPORT[$name]:-} ]]; then
        check "$name: python3 -c 'import $module'" "$LOGS/$name.import.log" \
            chroot_run "$ROOTFS" python3 -c "import $module" || true
    fi
    for m in ${EXTRA_IMPORTS[$name]:-}; do
        check "$name: python3 -c 'import $m' (a dependency built alongside)" "$LOGS/$name.import-$m.log" \
            chroot_run "$ROOTFS" python3 -c "import $m" || true
    done
    if [[ $name == pepotron ]]; then
        # Private copies must not replace the distribution's packages.
        check "$name: python3-urllib3 is still bookworm's 1.26" "$LOGS/$name.urllib3.log" urllib3_check || true
    fi
    check "$name: purge leaves nothing in dist-packages" "$LOGS/$name.purge.log" purge_check "${MAIN_PKG[$name]}" || true
done

# After purging everything and autoremoving what came in as dependencies, dist-packages must
# look exactly as in the pristine chroot.
pristine_check() {
    chroot_apt "$ROOTFS" autoremove --purge || return 1
    diff -u <(cd "$CHROOT_PRISTINE/usr/lib/python3/dist-packages" && find . | sort) \
        <(cd "$ROOTFS/usr/lib/python3/dist-packages" && find . | sort)
}
if [[ $INSTALL_OK == yes ]]; then
    check "purge: dist-packages back to its pristine state after autoremove" "$LOGS/pristine.log" pristine_check || true
fi
phase_end "install, run, purge in a clean bookworm chroot"
