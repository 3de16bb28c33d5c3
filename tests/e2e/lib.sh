# shellcheck shell=bash
# The harness every end-to-end suite sources: one line per check (`ok - NAME`,
# `not ok - NAME` with `#` diagnostics, `skip - NAME (reason)`), the checks themselves
# (`check`, and `run` for checks that depend on earlier steps), phase timing notes, and the
# end of a suite (`e2e_finish`: stop what a check left running, clean up, and print the
# `N passed, N failed, N skipped` line that scripts/test.sh sums).
#
# A suite sources scripts/chroot.sh first when it uses chroots, then this file, optionally
# defines `suite_cleanup` (its own servers, keys, temporary trees), and sets
#   trap e2e_finish EXIT; trap 'exit 130' INT TERM

PASSED=0 FAILED=0 SKIPPED=0
T_START=$(date +%s)
ok() { PASSED=$((PASSED + 1)); printf 'ok - %s\n' "$1"; }
skip() { SKIPPED=$((SKIPPED + 1)); printf 'skip - %s (%s)\n' "$1" "$2"; }
# not_ok NAME [LOGFILE]: the tail of the log explains the failure without opening files.
not_ok() {
    FAILED=$((FAILED + 1))
    printf 'not ok - %s\n' "$1"
    if [[ -n ${2:-} && -s $2 ]]; then
        tail -n 25 -- "$2" | sed 's/^/#   /'
        printf '#   (full log: %s)\n' "$2"
    fi
}
note() { printf '# %s\n' "$*"; }
phase_start() { PHASE_T0=$(date +%s); note "== $1"; }
phase_end() { note "   ($1 took $(($(date +%s) - PHASE_T0))s)"; }

# check NAME LOGFILE CMD...: one test case; returns non-zero when it failed (callers that go
# on anyway write `check … || true`). CMD runs as a background subshell that is waited for:
# inside `if`/`||` bash suspends `set -e` for a whole function body, which would let a
# multi-step check pass after a failing middle step, so multi-step CMD functions end each
# step with `|| return 1`. Being a subshell, CMD cannot set variables here: what later
# steps need it leaves in files; chroot instances it makes are still cleaned up through
# the chroot.sh registry.
CHECK_OK=no CHECK_PID=
check() {
    local name=$1 log=$2 rc=0
    shift 2
    ("$@") >"$log" 2>&1 </dev/null &
    CHECK_PID=$!
    wait "$CHECK_PID" || rc=$?
    CHECK_PID=
    if ((rc == 0)); then
        CHECK_OK=yes
        ok "$name"
        return 0
    fi
    CHECK_OK=no
    printf 'exit status %d\n' "$rc" >>"$log"
    not_ok "$name" "$log"
    return 1
}

# run STEP NAME LOG "NEEDS" CMD...: the check NAME, skipped unless every step in NEEDS
# passed; STEP (or -) is marked as passed for the checks that depend on it.
declare -A STEP_OK=()
run() {
    local step=$1 name=$2 log=$3 needs=$4 n
    shift 4
    for n in $needs; do
        if [[ ${STEP_OK[$n]:-} != yes ]]; then
            skip "$name" "needs: $n"
            return 0
        fi
    done
    check "$name" "$log" "$@" || true
    if [[ $CHECK_OK == yes && $step != - ]]; then STEP_OK[$step]=yes; fi
    return 0
}
# have STEP...: did all these steps pass?
have() {
    local n
    for n in "$@"; do [[ ${STEP_OK[$n]:-} == yes ]] || return 1; done
}

# Signal a process and everything below it, deepest first (an interrupted check may be
# running apt in a chroot, which must stop before the chroot can be unmounted).
children_of() {
    local f line fields
    # pgrep (procps) is missing from minimal images; /proc/PID/stat has the parent too.
    if command -v pgrep >/dev/null; then
        pgrep -P "$1" || true
        return 0
    fi
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        read -r -a fields <<<"${line##*) }"
        if [[ ${fields[1]:-} == "$1" ]]; then f=${f#/proc/}; printf '%s\n' "${f%/stat}"; fi
    done
}
kill_tree() {
    local child
    for child in $(children_of "$1"); do kill_tree "$child"; done
    kill -TERM "$1" 2>/dev/null || true
}

# The EXIT trap of every suite. A suite that stops early (bad input, a crash, a signal) has
# failed even if no check did: the summary line never says "0 failed" when the exit status
# says otherwise.
e2e_finish() {
    local rc=$?
    if [[ -n $CHECK_PID ]]; then
        kill_tree "$CHECK_PID"
        wait "$CHECK_PID" 2>/dev/null || true
    fi
    ((rc == 0)) || not_ok "${E2E_SUITE_NAME:-the suite} ended early (exit status $rc)"
    if declare -F suite_cleanup >/dev/null; then suite_cleanup || true; fi
    if declare -F chroot_cleanup_all >/dev/null; then chroot_cleanup_all || true; fi
    note "total: $(($(date +%s) - T_START))s"
    printf '%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
    if ((FAILED > 0 || rc != 0)); then exit 1; fi
    exit 0
}
