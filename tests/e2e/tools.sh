#!/usr/bin/env bash
# End-to-end suite -- e2e: popular command-line tools beside Debian's own packages, on
# bookworm and trixie. Needs PyPI and the Debian archive.
#
# For each suite (bookworm, then trixie; `PY2DEB_CHROOT_SUITE` selects the chroot) every
# row of tests/data/tools.tsv is built with `--target SUITE` (two at a time), every .deb is
# checked with lintian (the host's: no E: tag outside tests/e2e/lintian-allow), and each
# tool is installed with apt in a fresh chroot of the suite and run with --version. Rows
# marked `beside` first get the suite's own package of the project, then the converted one:
# apt must succeed, the new version run, `dpkg --audit` and `apt-get check` stay clean, and
# everything is purged. Sphinx is also installed beside the suite's python3-sphinx-rtd-theme,
# and both must keep working.
#
# Usage (as root, the chroots need it):
#   tests/e2e/tools.sh                every row, both suites
#   tests/e2e/tools.sh black mypy     only these rows
#
# Environment:
#   PY2DEB            binary under test (default: target/release/py2deb)
#   E2E_TOOLS_SUITES  suites to run (default: "bookworm trixie")
#   E2E_WORK          scratch directory, kept for inspection (default: target/e2e-tools)
#
# Failures whose cause is recorded in tests/e2e/tools-known-failures are reported as skips
# with the cause (a listed one that passes is reported so its line can go; rows known to
# fail an install stage are left out of that stage's single apt run). Lintian tags
# listed there (`tag:NAME`) are known failures of every row that has them. The closing
# lines give, per suite, the tools passing and the lintian error and warning counts, then
# `N passed, N failed, N skipped`.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY2DEB=${PY2DEB:-$ROOT/target/release/py2deb}
WORK=${E2E_WORK:-$ROOT/target/e2e-tools}
TOOLS=$ROOT/tests/data/tools.tsv
KNOWN_FILE=$ROOT/tests/e2e/tools-known-failures
ALLOW_FILE=$ROOT/tests/e2e/lintian-allow
BUILD_TIMEOUT=${E2E_TOOLS_BUILD_TIMEOUT:-600}
JOBS=2
MAINT='py2deb tests <tests@example.invalid>'

# One suite per run of this script: chroot.sh reads the suite when it is sourced.
if [[ -z ${E2E_TOOLS_SUITE:-} ]]; then
    rc=0 passed=0 failed=0 skipped=0
    rm -rf --one-file-system -- "$WORK"
    mkdir -p "$WORK"
    for suite in ${E2E_TOOLS_SUITES:-bookworm trixie}; do
        E2E_TOOLS_SUITE=$suite PY2DEB_CHROOT_SUITE=$suite "$0" "$@" | tee "$WORK/$suite.out" || rc=1
        if line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$WORK/$suite.out" | tail -n 1); then
            read -r p _ f _ s _ <<<"${line//,/}"
            passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
        else
            failed=$((failed + 1))
        fi
    done
    grep -h '^# tools: ' "$WORK"/*.out || true
    printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
    ((rc == 0 && failed == 0))
    exit
fi

SUITE=$E2E_TOOLS_SUITE
WORK=$WORK/$SUITE
# shellcheck source=scripts/chroot.sh
source "$ROOT/scripts/chroot.sh"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
E2E_SUITE_NAME=$SUITE

trap e2e_finish EXIT
trap 'exit 130' INT TERM

[[ -x $PY2DEB ]] || { echo "e2e tools: no binary at $PY2DEB (cargo build --release)" >&2; exit 1; }
command -v lintian >/dev/null || { echo "e2e tools: lintian is not installed" >&2; exit 1; }

# Known failures: name, suite (or *), stage, cause; or tag:NAME, suite, -, cause.
declare -A KNOWN=() KNOWN_TAG=()
while IFS=$'\t' read -r kname ksuite kstage kreason; do
    [[ -z $kname || $kname == \#* ]] && continue
    [[ $ksuite == "*" || $ksuite == "$SUITE" ]] || continue
    if [[ $kname == tag:* ]]; then
        KNOWN_TAG[${kname#tag:}]=$kreason
    else
        KNOWN["$kname $kstage"]=$kreason
    fi
done <"$KNOWN_FILE"
ALLOWED_TAGS=()
while read -r tag _; do
    [[ -z $tag || $tag == \#* ]] && continue
    ALLOWED_TAGS+=("$tag")
done <"$ALLOW_FILE"

# outcome NAME STAGE LOG CMD...: one check; a failure listed in the known failures is a skip.
# A CMD that exits 3 failed only for known lintian tags; its log's last line says which.
outcome() {
    local name=$1 stage=$2 log=$3 rc=0 known
    shift 3
    ("$@") >"$log" 2>&1 </dev/null &
    wait "$!" || rc=$?
    known=${KNOWN["$name $stage"]:-}
    if ((rc == 0)); then
        if [[ -n $known ]]; then
            ok "$SUITE $name: $stage (listed as a known failure, now passes: remove it from tools-known-failures)"
        else
            ok "$SUITE $name: $stage"
        fi
        return 0
    fi
    if [[ -n $known ]]; then
        skip "$SUITE $name: $stage" "known: $known"
    elif ((rc == 3)); then
        skip "$SUITE $name: $stage" "known: $(tail -n 1 "$log")"
    else
        not_ok "$SUITE $name: $stage" "$log"
    fi
    return 1
}

NAMES=() VERSIONS=() PROGS=() EXPECTS=() DISTS=() TRAITS=() ARGS=()
while IFS=$'\t' read -r name version prog expect dist traits args; do
    [[ -z $name || $name == \#* || $name == name ]] && continue
    if (($# > 0)); then
        wanted=no
        for w in "$@"; do [[ ${w,,} == "${name,,}" ]] && wanted=yes; done
        [[ $wanted == yes ]] || continue
    fi
    NAMES+=("$name") VERSIONS+=("$version") PROGS+=("$prog") EXPECTS+=("$expect")
    DISTS+=("$dist") TRAITS+=("$traits") ARGS+=("$args")
done <"$TOOLS"

mkdir -p "$WORK/logs" "$WORK/debs"
LOGS=$WORK/logs
note "e2e tools on $SUITE: ${#NAMES[@]} tools from $TOOLS"

# --- build, two at a time -------------------------------------------------------------------
phase_start "$SUITE: build"
build() {
    local i=$1 dir=$WORK/debs/${NAMES[$1]} extra=()
    [[ ${ARGS[i]} == - ]] || read -r -a extra <<<"${ARGS[i]}"
    mkdir -p "$dir"
    # gzip: compression is not what this suite checks, and xz on the compiled tools (uv,
    # ruff, mypy: tens of MB each) would take most of its time on two cores.
    timeout "$BUILD_TIMEOUT" "$PY2DEB" "${NAMES[i]}==${VERSIONS[i]}" --target "$SUITE" -o "$dir" \
        --json --compression gzip --maintainer "$MAINT" "${extra[@]}" >"$dir.json" 2>"$LOGS/${NAMES[i]}.build.log"
    echo $? >"$dir.rc"
}
for i in "${!NAMES[@]}"; do
    while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
    build "$i" &
done
wait || true
declare -A BUILT=()
built_ok() { [[ $(cat "$1.rc" 2>/dev/null) == 0 ]] && compgen -G "$1/*.deb" >/dev/null; }
for i in "${!NAMES[@]}"; do
    name=${NAMES[i]}
    # The build already ran; this only reports it.
    if outcome "$name" build "$LOGS/$name.build-check.log" \
        sh -c 'cat "$1"; exit "$(cat "$2" 2>/dev/null || echo 1)"' _ "$LOGS/$name.build.log" "$WORK/debs/$name.rc" &&
        built_ok "$WORK/debs/$name"; then
        BUILT[$name]=yes
    fi
done
phase_end "$SUITE: build"

# The requested project's own package: the first in py2deb's --json output.
main_package() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"][0]["package"])' "$1"
}

# --- lintian, once over every distinct .deb, while the installs run ----------------------
mkdir -p "$WORK/lint"
for name in "${!BUILT[@]}"; do
    for deb in "$WORK/debs/$name"/*.deb; do
        ln -f "$deb" "$WORK/lint/$(basename "$deb")" 2>/dev/null || cp -f "$deb" "$WORK/lint/"
    done
done
LINT=$WORK/lintian.txt
: >"$LINT"
LINT_T0=$(date +%s)
LINT_PID=
if compgen -G "$WORK/lint/*.deb" >/dev/null; then
    lintian --no-cfg --tag-display-limit 0 -j "$JOBS" -- "$WORK"/lint/*.deb >"$LINT" 2>&1 &
    LINT_PID=$!
fi

# lint_gate NAME: no E: tag on any of NAME's packages outside lintian-allow; exit 3 when the
# only ones left are known (tools-known-failures `tag:`), naming them on the last line.
lint_gate() {
    local dir=$WORK/debs/$1 deb pkg line tag a allowed bad=0 known=()
    for deb in "$dir"/*.deb; do
        pkg=$(dpkg-deb --field "$deb" Package)
        while IFS= read -r line; do
            [[ $line =~ ^E:\ ([^:]+):\ ([^ ]+) ]] || continue
            [[ ${BASH_REMATCH[1]} == "$pkg" ]] || continue
            tag=${BASH_REMATCH[2]}
            allowed=no
            for a in "${ALLOWED_TAGS[@]}"; do [[ $a == "$tag" ]] && allowed=yes; done
            [[ $allowed == yes ]] && continue
            echo "$line"
            if [[ -n ${KNOWN_TAG[$tag]:-} ]]; then
                known+=("$tag: ${KNOWN_TAG[$tag]}")
            else
                bad=1
            fi
        done <"$LINT"
    done
    ((bad == 0)) || return 1
    ((${#known[@]} == 0)) && return 0
    printf '%s\n' "${known[@]}" | sort -u | paste -sd ';' -
    return 3
}

# --- install and run ------------------------------------------------------------------------
phase_start "$SUITE: install and run in a clean $SUITE chroot"
HAVE_CHROOT=no
if outcome chroot "pristine chroot ready" "$LOGS/chroot.log" chroot_ensure; then
    HAVE_CHROOT=yes
fi

run_version() {
    local root=$1 prog=$2 want=$3 out
    out=$(chroot_run "$root" timeout 60 "/usr/bin/$prog" --version </dev/null 2>&1) || { echo "$out"; return 1; }
    echo "$prog --version: $out"
    grep -qF -- "$want" <<<"$out" || { echo "expected $want"; return 1; }
}

# A wheel's own man page is installed gzipped, and no stub is generated beside it.
own_man() {
    local deb=$1 prog=$2 list
    list=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | grep "^\./usr/share/man/man1/$prog\.1" || true)
    echo "$list"
    [[ $list == "./usr/share/man/man1/$prog.1.gz" ]] || { echo "expected exactly $prog.1.gz"; return 1; }
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/share/man/man1/$prog.1.gz" | gzip -dc | head -n 3 |
        grep -q 'User Commands" *$' && { echo "the generated stub, not the wheel's page"; return 1; }
    return 0
}

# The suite's package of a row, if the suite has one (checked in the pristine chroot).
suite_has() { chroot_run "$CHROOT_PRISTINE_INST" apt-cache show --no-all-versions "$1" >/dev/null 2>&1; }

# batch_install KIND DIR: every converted package at once in a fresh instance (KIND fresh),
# or after the suite's own packages of the same projects (KIND beside, plus the suite's
# python3-sphinx-rtd-theme when sphinx is a row); each program is then run and its result
# left in DIR/NAME (0 or the reason). One apt run per kind keeps the suite within minutes.
batch_install() {
    local kind=$1 dir=$2 root i pkgs=() dists=() name out
    mkdir -p "$dir"
    for i in "${!NAMES[@]}"; do
        name=${NAMES[i]}
        [[ -n ${BUILT[$name]:-} ]] || continue
        # A row whose failure here is known stays out of the batch, which would fail with it.
        [[ -z ${KNOWN["$name $kind"]:-} ]] || continue
        if [[ $kind == beside ]]; then
            [[ ${DISTS[i]} != - && -n ${HAS_DIST[$name]:-} ]] || continue
            dists+=("${DISTS[i]}")
        fi
        pkgs+=("$(main_package "$WORK/debs/$name.json")")
        echo "$i" >>"$dir/rows"
    done
    ((${#pkgs[@]} > 0)) || return 0
    [[ $kind == beside && -n ${BUILT[sphinx]:-} && -z ${KNOWN["sphinx beside"]:-} ]] &&
        dists+=(python3-sphinx-rtd-theme)
    chroot_new || return 1
    root=$CHROOT_ROOT
    if ((${#dists[@]} > 0)); then
        echo "== $SUITE's own: ${dists[*]}"
        chroot_apt "$root" install "${dists[@]}" || return 1
    fi
    chroot_repo "$root" "$WORK/lint" || return 1
    echo "== converted: ${pkgs[*]}"
    chroot_apt "$root" install "${pkgs[@]}" || return 1
    while read -r i; do
        if out=$(run_version "$root" "${PROGS[i]}" "${EXPECTS[i]}" 2>&1); then
            echo 0 >"$dir/${NAMES[i]}"
        else
            printf '%s\n' "$out" >"$dir/${NAMES[i]}"
        fi
        echo "$out"
    done <"$dir/rows"
    if [[ $kind == beside ]]; then
        [[ -z $(chroot_run "$root" dpkg --audit) ]] || { echo "dpkg --audit is not clean"; return 1; }
        chroot_run "$root" apt-get check || return 1
        if [[ -n ${BUILT[sphinx]:-} && -z ${KNOWN["sphinx beside"]:-} ]]; then
            chroot_run "$root" python3 -c 'import sphinx, sphinx_rtd_theme; print("the distribution'"'"'s sphinx", sphinx.__version__, "and its theme import")' \
                >"$dir/sphinx-rtd" 2>&1 && echo 0 >>"$dir/sphinx-rtd"
            cat "$dir/sphinx-rtd"
        fi
        chroot_apt "$root" purge "${pkgs[@]}" "${dists[@]}" || return 1
        [[ -z $(chroot_run "$root" dpkg --audit) ]] || { echo "dpkg --audit is not clean after the purge"; return 1; }
    fi
    chroot_destroy "$root"
}
# row_result DIR NAME: the batch's verdict for one row (a known failure was left out of it).
row_result() {
    [[ -f $1/$2 ]] || { echo "not run: left out of the batch, or the batch install failed (see its log)"; return 1; }
    [[ $(cat "$1/$2") == 0 ]] || { cat "$1/$2"; return 1; }
}

declare -A PASS=() HAS_DIST=()
if [[ $HAVE_CHROOT == yes ]]; then
    chroot_new && CHROOT_PRISTINE_INST=$CHROOT_ROOT
    for i in "${!NAMES[@]}"; do
        [[ ${DISTS[i]} != - ]] && suite_has "${DISTS[i]}" && HAS_DIST[${NAMES[i]}]=yes
    done
    chroot_destroy "$CHROOT_PRISTINE_INST"
    outcome batch "fresh chroot: apt installs every converted tool at once" "$LOGS/batch-fresh.log" \
        batch_install fresh "$WORK/fresh" || true
    outcome batch "over or beside $SUITE's own packages: apt, dpkg --audit, apt-get check, purge" \
        "$LOGS/batch-beside.log" batch_install beside "$WORK/beside" || true
fi
for i in "${!NAMES[@]}"; do
    name=${NAMES[i]}
    if [[ -z ${BUILT[$name]:-} || $HAVE_CHROOT != yes ]]; then
        skip "$SUITE $name: installs and runs" "not built or no chroot"
        continue
    fi
    deb=$(compgen -G "$WORK/debs/$name/$(main_package "$WORK/debs/$name.json")_*.deb" | head -n 1)
    if [[ ,${TRAITS[i]}, == *,own-man,* ]]; then
        outcome "$name" man "$LOGS/$name.man.log" own_man "$deb" "${PROGS[i]}" || true
    fi
    outcome "$name" install "$LOGS/$name.install.log" row_result "$WORK/fresh" "$name" && PASS[$name]=yes
    if [[ ${DISTS[i]} != - && -n ${HAS_DIST[$name]:-} ]]; then
        outcome "$name" beside "$LOGS/$name.beside.log" row_result "$WORK/beside" "$name" || unset 'PASS[$name]'
    elif [[ ${DISTS[i]} != - ]]; then
        skip "$SUITE $name: beside ${DISTS[i]}" "$SUITE does not ship it"
    fi
done
if [[ -n ${BUILT[sphinx]:-} && $HAVE_CHROOT == yes && -n ${KNOWN["sphinx beside"]:-} ]]; then
    skip "$SUITE sphinx: beside python3-sphinx-rtd-theme" \
        "needs the converted sphinx in the beside batch, which leaves it out as a known failure"
elif [[ -n ${BUILT[sphinx]:-} && $HAVE_CHROOT == yes ]]; then
    outcome sphinx "beside python3-sphinx-rtd-theme" "$LOGS/sphinx.rtd.log" \
        sh -c 'cat "$1" && [ "$(tail -n 1 "$1")" = 0 ]' _ "$WORK/beside/sphinx-rtd" || true
fi
phase_end "$SUITE: install and run in a clean $SUITE chroot"

phase_start "$SUITE: lintian (run beside the installs)"
[[ -n $LINT_PID ]] && { wait "$LINT_PID" || true; }
note "$SUITE lintian took $(($(date +%s) - LINT_T0))s in all"
LINT_E=$(grep -c '^E: ' "$LINT" || true)
LINT_W=$(grep -c '^W: ' "$LINT" || true)
note "$SUITE lintian: $LINT_E errors, $LINT_W warnings over $(find "$WORK/lint" -name '*.deb' | wc -l) packages"
grep -oE '^[EW]: [^:]+: [^ ]+' "$LINT" | awk '{print $1, $3}' | sort | uniq -c | sort -rn | sed 's/^/#   /' || true
for i in "${!NAMES[@]}"; do
    name=${NAMES[i]}
    [[ -n ${BUILT[$name]:-} ]] || { skip "$SUITE $name: lintian" "not built"; continue; }
    outcome "$name" lintian "$LOGS/$name.lintian.log" lint_gate "$name" || true
done
phase_end "$SUITE: lintian (run beside the installs)"

note "tools: $SUITE: ${#NAMES[@]} tools, ${#BUILT[@]} built, ${#PASS[@]} installed and ran; lintian $LINT_E errors, $LINT_W warnings"
