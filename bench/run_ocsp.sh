#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs hsmca-bench-ocsp against a throwaway `hsmcad -dev` of its own (state
# in a temporary directory beside the binary, removed afterwards): makes a
# mount with a root of KEY_TYPE (ec by default; rsa, ed25519) and 16 leaves,
# then measures OCSP over loopback. Builds nothing.
#
#   [KEY_TYPE=rsa] bench/run_ocsp.sh build/default/bench/hsmca-bench-ocsp [--seconds N] [--threads N]
#
# The API token is random, in a 0600 file; the bench reads the token's PIN
# from the state directory's `pin` file: neither is ever on a command line.
set -eu

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/hsmca-bench-ocsp [--seconds N] [--threads N]" >&2
    exit 2
fi
bin=$1
shift
bindir=$(cd "$(dirname "$bin")" && pwd)
hsmcad=${HSMCAD:-$bindir/../bin/hsmcad}
[ -x "$hsmcad" ] || { echo "$0: no hsmcad at $hsmcad (build it, or set HSMCAD)" >&2; exit 2; }
module=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
key_type=${KEY_TYPE:-ec}
for t in curl jq; do command -v $t >/dev/null || { echo "$0: needs $t" >&2; exit 2; }; done

umask 077
work=$(mktemp -d "$bindir/bench-ocsp.XXXXXX")
pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$work/root-token"
"$hsmcad" -dev -dev-state-dir="$work/dev" -dev-root-token-file="$work/root-token" \
    -dev-listen-address=127.0.0.1:0 -log-level=warning >"$work/hsmcad.log" 2>&1 &
pid=$!
addr=
i=0
while [ -z "$addr" ] && [ $i -lt 300 ]; do
    kill -0 "$pid" 2>/dev/null || { sed 's/^/    | /' "$work/hsmcad.log" >&2; exit 1; }
    sleep 0.1
    addr=$(sed -n 's/^Address: //p' "$work/hsmcad.log" | head -1)
    i=$((i + 1))
done
[ -n "$addr" ] || { echo "$0: hsmcad -dev printed no address" >&2; exit 1; }
until curl -sf -o /dev/null "$addr/v1/sys/health"; do sleep 0.1; done

# api METHOD PATH [JSON]: the response body on stdout; a non-2xx fails.
api() {
    curl -sf -X "$1" -H "X-Vault-Token: $(cat "$work/root-token")" ${3:+-d "$3"} "$addr/v1/$2" ||
        { echo "$0: $1 $2 failed" >&2; exit 1; }
}
api POST sys/mounts/bench-ocsp '{"type":"pki"}' >/dev/null
api POST bench-ocsp/root/generate/internal "{\"common_name\":\"bench OCSP root\",\"key_type\":\"$key_type\",
    \"not_after\":\"2036-01-01T00:00:00Z\"}" >"$work/root.json"
jq -r .data.certificate "$work/root.json" >"$work/issuer.pem"
key_id=$(jq -r .data.key_id "$work/root.json")
api POST bench-ocsp/roles/leaf '{"allow_any_name":true,"key_type":"ec","ttl":"24h"}' >/dev/null
n=0
while [ $n -lt 16 ]; do
    api POST bench-ocsp/issue/leaf "{\"common_name\":\"l$n.bench.example.com\"}" | jq -r .data.certificate >>"$work/certs.pem"
    n=$((n + 1))
done
echo "run_ocsp.sh: hsmcad pid $pid at $addr, $key_type root key $key_id" >&2

set +e
SOFTHSM2_CONF=$work/dev/softhsm2.conf "$bin" --url "$addr/v1/bench-ocsp/ocsp" --issuer "$work/issuer.pem" \
    --certs "$work/certs.pem" --key-id "$key_id" --module "$module" --token hsmca-dev --pin-file "$work/dev/pin" --daemon-pid "$pid" "$@"
status=$?
set -e
exit "$status"
