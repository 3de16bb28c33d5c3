# shellcheck shell=bash
# Reporting shared by the end-to-end suites: one line per check (`ok - NAME`,
# `not ok - NAME` with `#` diagnostics, `skip - NAME (reason)`), counters for the final
# `N passed, N failed, N skipped` line, and phase timing notes.

PASSED=0 FAILED=0 SKIPPED=0
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
