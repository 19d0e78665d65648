#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the reliability harnesses (tests/reliability/, docs/reliability.md)
# against the default build: the short CI versions, or with --full the long
# ones (about 40 minutes in all on 2 cores). Names pick harnesses.
#   scripts/reliability.sh                 # every harness, CI length
#   scripts/reliability.sh --full chaos_kill
set -eu
cd "$(dirname "$0")/.."
FULL=
if [ "${1:-}" = --full ]; then FULL=1; shift; fi
NAMES=${*:-chaos_kill storage_failure p11_chaos serial_quality ocsp_truth}
cmake --preset default >/dev/null
cmake --build --preset default -j"$(nproc)" >/dev/null
B=$PWD/build/default
HSMCAD=$B/bin/hsmcad
export HSMCAD
W=${RELIABILITY_WORKDIR:-$B/tests/work/reliability-manual}
R=tests/reliability
for n in $NAMES; do
    echo "== $n ${FULL:+(full)}"
    case $n in
    chaos_kill)
        if [ -n "$FULL" ]; then
            # >= 100 kills every 5-30 s: about 30 minutes
            python3 $R/chaos_kill.py --workdir "$W/$n" --kills 100 --clients 32 --min-gap 5 --max-gap 30
        else
            python3 $R/chaos_kill.py --workdir "$W/$n" --kills 12 --clients 32 --min-gap 0.5 --max-gap 3
        fi ;;
    storage_failure)
        python3 $R/storage_failure.py --workdir "$W/$n" --require-revocation ${FULL:+--rounds 50} ;;
    ocsp_truth)
        # CI: 10,000 never-issued serials (~5 s); full: 100,000 (~30 s)
        if [ -n "$FULL" ]; then
            python3 $R/ocsp_truth.py --workdir "$W/$n" --serials 100000 --sample 2000
        else
            python3 $R/ocsp_truth.py --workdir "$W/$n" --serials 10000 --sample 200
        fi ;;
    p11_chaos)
        python3 $R/p11_chaos.py --workdir "$W/$n" --fault-module "$B/hsm/fault/hsmca-fault-pkcs11.so" \
            ${FULL:+--seconds 300} ;;
    serial_quality)
        HSMCA_SERIAL_QUALITY=$B/tests/serial_quality HSMCA_TEST_WORKDIR=$W/$n \
            sh $R/serial_quality.sh ${FULL:+10000000} ;;
    *) echo "unknown harness $n" >&2; exit 2 ;;
    esac
done
