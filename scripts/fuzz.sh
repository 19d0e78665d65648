#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a
# bounded time: FUZZ_SECONDS per target (default 60; CI does not run this).
#   scripts/fuzz.sh            # 60 s per target
#   FUZZ_SECONDS=600 scripts/fuzz.sh
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
SECONDS_PER=${FUZZ_SECONDS:-60}
B=build/fuzz
cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DHSMCA_SANITIZE=address,undefined -DHSMCA_FUZZ=ON -DHSMCA_BUILD_TESTS=OFF -DHSMCA_BUILD_BENCH=OFF >/dev/null
cmake --build "$B" -j"$(nproc)" --target fuzz_p11_uri fuzz_transcript fuzz_ocsp_request fuzz_role_json fuzz_csr_policy fuzz_daemon_config
for t in p11_uri transcript ocsp_request role_json csr_policy daemon_config; do
    mkdir -p "$B/corpus/$t"
    cp tests/fuzz/corpus/$t/* "$B/corpus/$t/"
    echo "fuzzing $t for $SECONDS_PER s"
    "$B/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER" -max_len=4200 "$B/corpus/$t"
done
