#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and run zmqrpc Studio: the ones listed in
# scripts/deps.txt (the only list; scripts/check-deps.sh reads it through `--list`). No prompts:
# apt-get runs with -y and DEBIAN_FRONTEND=noninteractive. Skips apt entirely when everything is
# already installed.
#
#   install-deps.sh          install what is missing
#   install-deps.sh --tests  the same, and the test-only packages of scripts/deps-test.txt
#                            (scripts/test.sh; promtool, systemd-analyze)
#   install-deps.sh --list   print the package list (deps.txt only), one a line, and exit
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

read_list() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1"; }
mapfile -t packages < <(read_list "$here/deps.txt")
if [ ${#packages[@]} -eq 0 ]; then
    echo "install-deps: no packages in $here/deps.txt" >&2
    exit 1
fi

case "${1:-}" in
    --list) printf '%s\n' "${packages[@]}"; exit 0 ;;
    --tests) mapfile -t -O ${#packages[@]} packages < <(read_list "$here/deps-test.txt") ;;
    "") ;;
    *) echo "usage: $0 [--list | --tests]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
