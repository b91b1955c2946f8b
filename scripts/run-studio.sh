#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, and opens zmqrpc Studio on the
# bundled sampler-to-cloud example (File > Save As keeps your changes elsewhere; the example in
# the repository is not touched). Press F5 (Run > Start All) to run it.
#
# The example's uplink names its password by the environment variable ZMQRPC_BRIDGE_PASSWORD;
# both ends run here, so any value works: a demo one is set when you have none.
# Without a display (ssh, CI), the same example runs headless with `zmqrpc run` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/configure.sh
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target zmqrpc_studio zmqrpc_cli
export ZMQRPC_BRIDGE_PASSWORD="${ZMQRPC_BRIDGE_PASSWORD:-demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')}"
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" != "offscreen" ]; then
    echo "run-studio: no display; running the example headless instead (Ctrl-C stops it)"
    exec ./build/app/zmqrpc run resources/examples/sampler-to-cloud.json --status-interval 5
fi
exec ./build/app/zmqrpc-studio --example sampler-to-cloud "$@"
