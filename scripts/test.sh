#!/usr/bin/env bash
# The project's test command.
#
#   scripts/test.sh
#
# 1. installs the Debian tools the tests need, if missing (only under CI=true, or when
#    running as root; otherwise it just says what is missing),
# 2. cargo test --all-targets   (hermetic unit and integration tests),
# 3. cargo build --release      (the binary the end-to-end suite drives),
#    cargo test --test it network_ -- --ignored   (integration tests that need PyPI),
# 4. tests/e2e/run.sh           (real PyPI + Debian archive + lintian + apt in a chroot),
# 5. tests/e2e/repo.sh          (`py2deb repo`: a signed apt repository used from a chroot),
# 6. tests/e2e/sample.sh        (a fixed-seed random sample of PyPI's 5,000 most downloaded
#                                projects: built, installed with apt, imported),
# 7. tests/e2e/debianize.sh     (`py2deb debianize` source packages built with
#                                dpkg-buildpackage in a chroot, and `py2deb rfp`).
#
# Every phase runs even if an earlier one failed, so one run shows everything that is
# broken; the exit status is non-zero if any phase failed. The last line printed is the
# summary of the end-to-end suites together, `N passed, N failed, N skipped`, with every
# failed phase counted as a failure.
#
# Environment: E2E_ARGS (names of corpus rows, to run the e2e suite on a subset), plus
# everything tests/e2e/run.sh, tests/e2e/repo.sh and scripts/chroot.sh accept.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# Tools behind the tests: lintian and dpkg-dev judge the .debs, debootstrap and apt-utils
# (apt-ftparchive) build the install chroot and its flat repository, python3 reads --json
# output, gcc/libc6-dev/pkg-config/make let crates with C parts (liblzma, zstd) build.
APT_PKGS=(lintian debootstrap dpkg-dev apt-utils python3 python3-venv python3-setuptools python3-wheel
    gnupg gpgv xz-utils zstd ca-certificates
    gcc libc6-dev pkg-config make debhelper systemd curl)
# Hard ceiling for the end-to-end suite so a hang is reported instead of killing CI.
E2E_TIMEOUT=${E2E_TIMEOUT:-2700}
E2E_REPO_TIMEOUT=${E2E_REPO_TIMEOUT:-1800}
E2E_SAMPLE_TIMEOUT=${E2E_SAMPLE_TIMEOUT:-2700}

declare -a PHASE_NAMES=() PHASE_SECS=() PHASE_RESULTS=()
FAILED_PHASES=0
# phase NAME CMD...: run and time one phase, remembering whether it failed.
phase() {
    local name=$1 t0 rc=0
    shift
    printf '\n==> %s\n' "$name"
    t0=$(date +%s)
    "$@" || rc=$?
    PHASE_NAMES+=("$name") PHASE_SECS+=($(($(date +%s) - t0)))
    if ((rc == 0)); then PHASE_RESULTS+=(ok); else PHASE_RESULTS+=("FAILED (exit $rc)"); FAILED_PHASES=$((FAILED_PHASES + 1)); fi
    printf '==> %s: %s in %ss\n' "$name" "${PHASE_RESULTS[-1]}" "${PHASE_SECS[-1]}"
}

install_prerequisites() {
    local missing=() p
    for p in "${APT_PKGS[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        echo "all prerequisites present"
        return 0
    fi
    if [[ ${CI:-} != true && $(id -u) -ne 0 ]]; then
        echo "missing Debian packages (not root, not installing): ${missing[*]}" >&2
        echo "install them with: sudo apt-get install ${missing[*]}" >&2
        return 0
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# rustup installs cargo into ~/.cargo/bin, which non-login shells (CI) may not have on PATH.
if ! command -v cargo >/dev/null && [[ -x $HOME/.cargo/bin/cargo ]]; then
    PATH=$HOME/.cargo/bin:$PATH
fi
command -v cargo >/dev/null || { echo "cargo not found: install a Rust toolchain (rustup)" >&2; exit 1; }

# The tests read nothing from the terminal; make that explicit for CI without stdin.
exec </dev/null

phase "prerequisites (apt)" install_prerequisites
phase "cargo test --all-targets" cargo test --all-targets
phase "cargo build --release" cargo build --release
# Tests that need PyPI are #[ignore]d in the hermetic run above; they run here.
phase "cargo tests needing PyPI (--ignored)" cargo test --test it network_ -- --ignored

# Every end-to-end suite prints `N passed, N failed, N skipped` as its last summary line;
# e2e NAME TIMEOUT SCRIPT [ARGS...] runs one as a phase and keeps its log for the total.
E2E_LOGDIR=$(mktemp -d)
trap 'rm -rf "$E2E_LOGDIR"' EXIT
declare -A E2E_LOGS=()
run_suite() {
    local log=$1 timeout=$2
    shift 2
    PY2DEB=$ROOT/target/release/py2deb timeout -k 30 "$timeout" "$@" 2>&1 | tee "$log"
    return "${PIPESTATUS[0]}"
}
e2e() {
    local name="e2e $1" timeout=$2 log
    shift 2
    log=$E2E_LOGDIR/${#E2E_LOGS[@]}.log
    E2E_LOGS[$name]=$log
    phase "$name" run_suite "$log" "$timeout" "$@"
}
# shellcheck disable=SC2086 # E2E_ARGS is a list of corpus row names
e2e "suite (tests/e2e/run.sh)" "$E2E_TIMEOUT" "$ROOT/tests/e2e/run.sh" ${E2E_ARGS:-}
e2e "repo (tests/e2e/repo.sh)" "$E2E_REPO_TIMEOUT" "$ROOT/tests/e2e/repo.sh"
e2e "sample (tests/e2e/sample.sh)" "$E2E_SAMPLE_TIMEOUT" "$ROOT/tests/e2e/sample.sh"
e2e "debianize and rfp (tests/e2e/debianize.sh)" "${E2E_DEBIANIZE_TIMEOUT:-900}" "$ROOT/tests/e2e/debianize.sh"
e2e "install (tests/e2e/install.sh)" "${E2E_INSTALL_TIMEOUT:-1800}" "$ROOT/tests/e2e/install.sh"
e2e "tools on bookworm and trixie (tests/e2e/tools.sh)" "${E2E_TOOLS_TIMEOUT:-1800}" "$ROOT/tests/e2e/tools.sh"

printf '\nTimings:\n'
for i in "${!PHASE_NAMES[@]}"; do
    printf '  %-32s %6ss  %s\n' "${PHASE_NAMES[i]}" "${PHASE_SECS[i]}" "${PHASE_RESULTS[i]}"
done
((FAILED_PHASES == 0)) || printf '%d phase(s) failed\n' "$FAILED_PHASES"

# The closing line adds up the e2e suites' summary lines and counts every other failure too:
# a suite that died before writing one (timeout, crash), or exited non-zero with "0 failed",
# counts as one failure, and so does each failed non-e2e phase (cargo test, the build), so
# the last line never says "0 failed" when the exit status says otherwise.
passed=0 failed=0 skipped=0
for i in "${!PHASE_NAMES[@]}"; do
    case ${PHASE_NAMES[i]} in
    e2e*) ;;
    *) [[ ${PHASE_RESULTS[i]} == ok ]] || failed=$((failed + 1)) ;;
    esac
done
for i in "${!PHASE_NAMES[@]}"; do
    log=${E2E_LOGS[${PHASE_NAMES[i]}]:-}
    [[ -n $log ]] || continue
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1 || true)
    if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
        passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2])) skipped=$((skipped + BASH_REMATCH[3]))
        if [[ ${PHASE_RESULTS[i]} != ok && ${BASH_REMATCH[2]} -eq 0 ]]; then failed=$((failed + 1)); fi
    else
        failed=$((failed + 1))
    fi
done
printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
((FAILED_PHASES == 0))
