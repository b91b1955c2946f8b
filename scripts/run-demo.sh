#!/usr/bin/env bash
# Installs what is needed, builds, and runs the bundled demos: the seed README's REQ/REP and
# PUB/SUB examples ported to C++ (both with username/password credentials).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/configure.sh
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target demo_req_rep demo_pub_sub
echo "== demo_req_rep"
./build/app/zmqrpc-demo-req-rep "tcp://127.0.0.1:*"
echo "== demo_pub_sub"
./build/app/zmqrpc-demo-pub-sub "tcp://127.0.0.1:*"
