#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, and opens zmqrpc Studio on the
# bundled sampler-to-cloud example (File > Save As keeps your changes elsewhere; the example in
# the repository is not touched). Press F5 (Run > Start All) to run it.
#
# The example's uplink is encrypted with CURVE: the cloud bridge's key pair is the key file
# sampler-to-cloud-bridge in your keys directory (~/.config/zmqrpc/keys, or $ZMQRPC_KEYS). It is
# made here with `zmqrpc keygen` the first time; the secret half is yours alone (mode 0600).
# Without a display (ssh, CI), the same example runs headless with `zmqrpc run` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/configure.sh
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target zmqrpc_studio zmqrpc_cli
config="${XDG_CONFIG_HOME:-}"
case "$config" in /*) ;; *) config="$HOME/.config" ;; esac
keys="${ZMQRPC_KEYS:-$config/zmqrpc/keys}"
if [ ! -e "$keys/sampler-to-cloud-bridge.key_secret" ]; then
    echo "run-studio: making the example's key pair (zmqrpc keygen sampler-to-cloud-bridge)"
    ./build/app/zmqrpc keygen sampler-to-cloud-bridge >/dev/null
fi
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" != "offscreen" ]; then
    echo "run-studio: no display; running the example headless instead (Ctrl-C stops it)"
    exec ./build/app/zmqrpc run resources/examples/sampler-to-cloud.json --status-interval 5
fi
exec ./build/app/zmqrpc-studio --example sampler-to-cloud "$@"
