#!/usr/bin/env bash
# Installs what is needed, builds everything with warnings, runs every test suite, then builds the
# core library and its tests again under AddressSanitizer + UndefinedBehaviorSanitizer and runs
# them. Also checks clang-format. Exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== clang-format"
files=$(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null || find core app tests -name '*.[ch]pp')
clang-format --dry-run --Werror $files

echo "== build (RelWithDebInfo, warnings as errors)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_COMPILE_WARNING_AS_ERROR=ON
cmake --build build -j "$jobs"

echo "== tests"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== core tests under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DZMQRPC_SANITIZE=ON \
    -DZMQRPC_BUILD_APPS=OFF -DCMAKE_COMPILE_WARNING_AS_ERROR=ON
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L core --output-on-failure -j "$jobs"
