#!/usr/bin/env bash
# test-under-load.sh [RUNS] [BUILD_DIR]  (defaults: 10 and build/ of this checkout)
#
# Runs the whole test suite RUNS times beside a CPU hog: one busy loop per core (nproc), so that
# every test competes for the processor as on a loaded CI machine. The timing checks of the
# suites must hold there too (tests/support/testutil.hpp, kWakeupSlackMs).
#
#   CTEST_ARGS='-L core'  extra ctest arguments (split on blanks), e.g. -L/-LE/-R/-E
#
# Each run is `ctest --test-dir BUILD_DIR --output-on-failure -j2 --no-tests=error $CTEST_ARGS`;
# its output goes to a log file. One line per run (passed or failed, the failing tests, seconds),
# then "N of RUNS runs passed" and where the logs are. Exit status 0 only if every run passed.
# The busy loops (and a run in progress) are killed on exit, whatever ends the script: a failure,
# Ctrl-C or SIGTERM.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

usage() {
    echo "usage: $0 [RUNS] [BUILD_DIR]   (env CTEST_ARGS: extra ctest arguments)" >&2
    exit 2
}
[ $# -le 2 ] || usage
runs=${1:-10}
build=${2:-$root/build}
case "$runs" in
    '' | *[!0-9]* | 0*) usage ;;
esac
if [ ! -f "$build/CTestTestfile.cmake" ]; then
    echo "$0: $build is not a configured build directory (no CTestTestfile.cmake)" >&2
    exit 2
fi
build=$(cd "$build" && pwd)
extra=()
read -r -a extra <<<"${CTEST_ARGS:-}"

cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
logs=$(mktemp -d "${TMPDIR:-/tmp}/test-under-load.XXXXXX")
hogs=()
ctest_pid=

cleanup() {
    trap - EXIT INT TERM
    # The run in progress: ctest leads its own process group (setsid), which holds the tests.
    if [ -n "$ctest_pid" ]; then
        kill -TERM -- "-$ctest_pid" 2>/dev/null || true
        wait "$ctest_pid" 2>/dev/null || true
    fi
    for pid in "${hogs[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${hogs[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'echo "terminated" >&2; exit 143' TERM

for ((i = 0; i < cores; i++)); do
    sh -c 'while :; do :; done' &
    hogs+=($!)
done
echo "CPU hog: $cores busy loop(s) (pids ${hogs[*]}); ctest -j2${extra[*]:+ ${extra[*]}} in $build"

# Names of the failed tests in a ctest log ("  35 - package_install (Failed)").
failed_tests() {
    sed -n '/^The following tests FAILED:/,$ s/^[[:space:]]*[0-9][0-9]* - \(.*\) ([^)]*)$/\1/p' "$1" |
        tr '\n' ' ' | sed 's/ $//'
}

passed=0
for ((run = 1; run <= runs; run++)); do
    log=$logs/run-$run.log
    started=$(date +%s%N)
    # In the background and waited for, so that a signal to this script is handled at once;
    # in its own session, so that cleanup() can end it together with the tests it started.
    setsid ctest --test-dir "$build" --output-on-failure -j2 --no-tests=error "${extra[@]}" \
        >"$log" 2>&1 &
    ctest_pid=$!
    status=0
    wait "$ctest_pid" || status=$?
    ctest_pid=
    seconds=$(awk -v ns=$(($(date +%s%N) - started)) 'BEGIN { printf "%.1f", ns / 1e9 }')
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        echo "run $run: passed (${seconds} s)"
    else
        names=$(failed_tests "$log")
        echo "run $run: failed: ${names:-ctest exit status $status} (${seconds} s; $log)"
    fi
done

echo "$passed of $runs runs passed (logs in $logs)"
[ "$passed" -eq "$runs" ]
