#!/usr/bin/env bash
# Installs what is needed, builds everything with warnings as errors, checks that the build used
# no system package that scripts/install-deps.sh does not install, runs every test suite, then
# builds the core library and its tests again under AddressSanitizer + UndefinedBehaviorSanitizer
# and runs them. Also checks clang-format, and that build/ is configured exactly as run-studio.sh
# and run-demo.sh configure it (one build for all). Exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --tests  # and the test-only packages (deps-test.txt)

jobs=$(nproc 2>/dev/null || echo 2)

echo "== clang-format"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null ||
    find core ui app tests -name '*.[ch]pp')
clang-format --dry-run --Werror "${files[@]}"

echo "== no secret in the repository"
# A CURVE secret key (czmq's certificate line) or a key file's secret half must never be
# committed: keys live in the keys directory, topologies hold references only.
if git ls-files -z 2>/dev/null | xargs -0 grep -lE 'secret-key *= *"[][0-9a-zA-Z.:+=^!/*?&<>(){}@%$#-]{40}"' -- 2>/dev/null ||
    git ls-files 2>/dev/null | grep -E '\.key_secret$'; then
    echo "test.sh: the files above hold a CURVE secret key" >&2
    exit 1
fi
echo "none"

echo "== build (RelWithDebInfo, warnings as errors)"
./scripts/configure.sh
cmake --build build -j "$jobs"

echo "== build/ is the one configuration of every script"
# Configure again exactly as run-studio.sh and run-demo.sh do: nothing may need rebuilding. Not
# `ninja -n`: the CONFIGURE_DEPENDS globs make a dry run always stop at "Re-running CMake..."
# before it looks at any target. A real run is the same check, and it does nothing when the
# configuration is the same.
./scripts/configure.sh >/dev/null
ninja -C build -d explain >build/ninja-recheck.txt 2>&1 || true
if ! grep -q "^ninja: no work to do" build/ninja-recheck.txt; then
    echo "test.sh: configuring build/ as run-studio.sh does makes ninja rebuild:" >&2
    grep -v "VerifyGlobs\|verify_globs\|phony edge with no inputs\|/all is dirty" \
        build/ninja-recheck.txt | head -n 30 >&2
    exit 1
fi
echo "ninja -C build: no work to do"

echo "== dependencies (build)"
./scripts/check-deps.sh build

echo "== tests"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== core tests under ASan + UBSan"
./scripts/configure.sh asan
cmake --build build-asan -j "$jobs"
./scripts/check-deps.sh build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L core --output-on-failure -j "$jobs"
