#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and run zmqrpc Studio. No prompts.
# Skips apt entirely when everything is already installed.
set -euo pipefail
packages=(
    build-essential cmake ninja-build pkg-config clang-format
    libzmq3-dev cppzmq-dev nlohmann-json3-dev libcli11-dev libsimdjson-dev
    qt6-base-dev qt6-charts-dev qt6-svg-dev qtkeychain-qt6-dev
    python3 python3-zmq fonts-dejavu-core
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
