#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs a benchmark program (hsmca-bench-sign or hsmca-bench-issue) on a
# throwaway SoftHSM2 token of its own (own softhsm2.conf and token directory
# beside the binary, removed afterwards), never the machine's default token
# store. Builds nothing.
#
#   bench/run.sh build/default/bench/hsmca-bench-sign [--seconds N]
#   bench/run.sh build/default/bench/hsmca-bench-issue [--seconds N]
#
# Every argument after the binary goes to it. With the default 3 s per
# measurement, each takes about 1 minute: hsmca-bench-sign makes 3 key types
# x 6 measurements, hsmca-bench-issue 2 issuers x 3 thread counts x 3. The
# issuance bench's SQLite database goes into the same throwaway directory,
# on the build tree's disk (a later --dir overrides it).
set -eu

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/hsmca-bench-{sign,issue} [--seconds N]" >&2
    exit 2
fi
bin=$1
shift

here=$(cd "$(dirname "$0")" && pwd)
# token_create, SOFTHSM_MODULE (overridable) and die() come from here.
# shellcheck source=tests/lib/token.sh
. "$here/../tests/lib/token.sh"

work=$(mktemp -d "$(cd "$(dirname "$bin")" && pwd)/bench-token.XXXXXX")
cleanup() {
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

token_create "$work" hsmca-bench
HSMCA_BENCH_PIN_FILE=$HSMCA_TEST_PIN_FILE
export HSMCA_BENCH_PIN_FILE

case $(basename "$bin") in
hsmca-bench-issue* | hsmca-bench-crl*)
    # fsync latency is half of what it measures: keep the database off a
    # tmpfs /tmp, on the disk the build tree is on.
    "$bin" --module "$HSMCA_TEST_MODULE" --token "$HSMCA_TEST_TOKEN" --dir "$work" "$@"
    ;;
*)
    "$bin" --module "$HSMCA_TEST_MODULE" --token "$HSMCA_TEST_TOKEN" "$@"
    ;;
esac
