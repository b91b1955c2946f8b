#!/usr/bin/env bash
# check_systemd_unit.sh UNIT ZMQRPC WORKDIR: the package_systemd_unit test.
#
# `systemd-analyze verify` checks that the command of ExecStart exists, so it runs on a copy of
# UNIT (in WORKDIR) whose ExecStart names ZMQRPC, this build's program, instead of /usr/bin/zmqrpc.
# Any output of verify fails the test: it reports unknown keys and bad values only as warnings,
# with exit status 0. Then `systemd-analyze security --offline=yes` must rate the unit's exposure
# at 2.0 or less (it is 1.4: "OK"). Exit 77 (skipped) without systemd-analyze.
set -euo pipefail
unit=$1 zmqrpc=$2 work=$3
analyze=$(command -v systemd-analyze || true)
if [ -z "$analyze" ]; then
    echo "SKIP: systemd-analyze not found (Debian's systemd package; scripts/install-deps.sh --tests installs it)"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"
copy=$work/$(basename "$unit")
grep -q '^ExecStart=/usr/bin/zmqrpc run ' "$unit" || {
    echo "FAIL: $unit: ExecStart does not run /usr/bin/zmqrpc run" >&2
    exit 1
}
sed "s#^ExecStart=/usr/bin/zmqrpc #ExecStart=$zmqrpc #" "$unit" >"$copy"

# A template: verify checks it as the instance "i" (zmqrpc-runner@i.service).
set +e
out=$(cd "$work" && "$analyze" verify --man=no "./$(basename "$copy")" 2>&1)
rc=$?
set -e
if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify $copy (exit $rc):" >&2
    echo "$out" >&2
    exit 1
fi
echo "systemd-analyze verify: no complaint"

out=$(cd "$work" && "$analyze" security --offline=yes --man=no "./$(basename "$copy")" 2>&1) || true
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$level" ]; then
    echo "FAIL: systemd-analyze security printed no exposure level:" >&2
    echo "$out" >&2
    exit 1
fi
echo "systemd-analyze security: exposure $level"
if ! awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
    echo "FAIL: exposure $level is above 2.0:" >&2
    echo "$out" >&2
    exit 1
fi
