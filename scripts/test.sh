#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds and runs every test: the default build, the
# whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer, and
# the concurrency tests under ThreadSanitizer; then every fuzz target for a
# short fixed time, valgrind memcheck over a subset, cppcheck and clang-tidy
# (docs/fuzzing.md). This is the README's test
# command and the only thing .ci/run calls.
set -eu
cd "$(dirname "$0")/.."

scripts/install-deps.sh

JOBS=$(nproc 2>/dev/null || echo 2)
started=$(date +%s)

stage() {
    echo
    echo "=== $* ($(($(date +%s) - started)) s elapsed)"
}

stage "default build"
cmake --preset default >/dev/null
cmake --build --preset default -j"$JOBS"
ctest --preset default -j"$JOBS"

stage "ASan + UBSan build, every test"
cmake --preset debug >/dev/null
cmake --build --preset debug -j"$JOBS"
ctest --preset debug -j"$JOBS"

stage "TSan build, concurrency tests"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j"$JOBS"
ctest --preset tsan -j"$JOBS" -L concurrency

stage "fuzz: every libFuzzer target for 15 s (clang, ASan + UBSan; docs/fuzzing.md)"
HSMCA_SKIP_DEPS=1 FUZZ_SECONDS=15 FUZZ_JOBS="$JOBS" scripts/fuzz.sh

stage "valgrind memcheck: unit tests and the CLI's audit verbs (default build)"
scripts/valgrind.sh

stage "static analysis: clang-tidy (.clang-tidy; cppcheck ran above as lint.cppcheck)"
scripts/lint.sh --tidy-only

stage "all tests passed"
