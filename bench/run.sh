#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs hsmca-bench-sign on a throwaway SoftHSM2 token of its own (own
# softhsm2.conf and token directory beside the binary, removed afterwards),
# never the machine's default token store. Builds nothing.
#
#   bench/run.sh build/default/bench/hsmca-bench-sign [--seconds N]
#
# Every argument after the binary goes to it. With the default 3 s per
# measurement, 3 key types x 6 measurements take about 1 minute.
set -eu

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/hsmca-bench-sign [--seconds N]" >&2
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

"$bin" --module "$HSMCA_TEST_MODULE" --token "$HSMCA_TEST_TOKEN" "$@"
