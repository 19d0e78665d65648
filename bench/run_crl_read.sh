#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# CRL reads over loopback: a throwaway `hsmcad -dev` (its own SoftHSM2
# token, database and audit log in a temporary directory, removed
# afterwards), a P-256 root with N revoked entries (rows written straight
# into the dev database by python3's sqlite3, then one crl/rotate signs the CRL in
# the token), then R sequential GET /v1/pki/crl by one keep-alive curl.
# Prints the CRL size and the requests per second. Builds nothing.
#
#   bench/run_crl_read.sh build/default/bin/hsmcad [N [R]]
set -eu

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/hsmcad [revoked-entries [requests]]" >&2
    exit 2
fi
HSMCAD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
N=${2:-100000}
R=${3:-200}
command -v sqlite3 >/dev/null && command -v curl >/dev/null && command -v python3 >/dev/null && command -v bc >/dev/null ||
    { echo "$0: needs sqlite3, curl, python3 and bc" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hsmca-crl-read.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

"$HSMCAD" -dev -dev-state-dir="$work/state" -dev-root-token-id=bench-root \
    -dev-listen-address=127.0.0.1:0 >"$work/log" 2>&1 &
pid=$!
i=0
addr=
while [ -z "$addr" ]; do
    addr=$(sed -n 's/^Address: //p' "$work/log" | head -1)
    i=$((i + 1))
    [ $i -lt 300 ] || { cat "$work/log" >&2; echo "$0: hsmcad did not start" >&2; exit 1; }
    sleep 0.1
done
api() { curl -sf -H 'X-Vault-Token: bench-root' -X "$1" ${3:+--data-binary "$3"} "$addr/v1/$2"; }
sleep 1
api POST pki/root/generate/internal '{"common_name":"Bench Root","key_type":"ec","key_bits":256}' >/dev/null
iid=$(sqlite3 "$work/state/hsmca.db" "SELECT id FROM docs WHERE mount='pki' AND kind='issuer' LIMIT 1")
# N revoked rows: positive 16-octet serials (first octet 0x01) in the
# store's 20-octet key form; the CRL build reads only these columns.
python3 - "$work/state/hsmca.db" "$iid" "$N" <<'EOF'
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
iid, n, now = sys.argv[2], int(sys.argv[3]), int(time.time())
keys = [bytes(4) + b"\x01" + os.urandom(15) for _ in range(n)]
with db:
    db.executemany("INSERT INTO intents (mount, serial, serial_len, issuer_id, role, request_digest, created)"
                   " VALUES ('pki', ?, 16, ?, 'bench', zeroblob(32), ?)", ((k, iid, now) for k in keys))
    db.executemany("INSERT INTO certs (mount, serial, serial_len, issuer_id, role, der, not_before, not_after,"
                   " created, revoked_at, revocation_reason) VALUES ('pki', ?, 16, ?, 'bench', x'30', 0, ?, ?, ?, 0)",
                   ((k, iid, now + 86400, now, now) for k in keys))
EOF
api GET pki/crl/rotate >/dev/null
size=$(curl -sf "$addr/v1/pki/crl" | wc -c)
# One curl, one keep-alive connection, R requests in a row.
urls=
i=0
while [ $i -lt "$R" ]; do urls="$urls -o /dev/null $addr/v1/pki/crl"; i=$((i + 1)); done
t0=$(date +%s.%N)
# shellcheck disable=SC2086
curl -sf $urls
t1=$(date +%s.%N)
echo "$N revoked, CRL $size bytes: $R reads in $(echo "$t1 - $t0" | bc) s, $(echo "scale=1; $R / ($t1 - $t0)" | bc) reads/s"
