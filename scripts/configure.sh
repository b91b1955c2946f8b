#!/usr/bin/env bash
# The one configuration of each build directory, used by every script (run-studio.sh,
# run-demo.sh, test.sh), so that building for one command never forces a rebuild for another:
# all of them configure build/ with exactly these cache values.
#
#   configure.sh         build/: RelWithDebInfo, warnings as errors, everything
#   configure.sh asan    build-asan/: Debug, ASan + UBSan, core library and its tests only
#
# Warnings are errors for everyone: CI proves the sources compile without one on Debian 12's
# compiler, and a flag that differed between scripts would change every compile command.
# Every option is given explicitly, so that an earlier `-D...` by hand does not linger.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    "")
        exec cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCMAKE_COMPILE_WARNING_AS_ERROR=ON -DZMQRPC_SANITIZE=OFF \
            -DZMQRPC_BUILD_TESTS=ON -DZMQRPC_BUILD_APPS=ON -DZMQRPC_BUILD_STUDIO=ON
        ;;
    asan)
        exec cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
            -DCMAKE_COMPILE_WARNING_AS_ERROR=ON -DZMQRPC_SANITIZE=ON \
            -DZMQRPC_BUILD_TESTS=ON -DZMQRPC_BUILD_APPS=OFF
        ;;
    *)
        echo "usage: $0 [asan]" >&2
        exit 2
        ;;
esac
