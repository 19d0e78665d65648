#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The audit log as the daemon writes it: every state-changing request has
# its request and response entries (matched by request_id), every denial is
# there, no secret is (tokens, private keys), `hsmca audit verify` accepts
# the file with the token's key, and tampering with one line makes it fail
# at that line.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD HSMCA_CLI
need_tool curl jq openssl

W=$(workdir api_audit)
daemon_start_dev "$W/dev"
LOG=$DAEMON_DIR/audit.log
ids=""
write() { # METHOD PATH BODY: a write that must succeed; its request_id is kept
    api_ok "$@"
    ids="$ids $(jget .request_id)"
}

api_ok POST sys/mounts/pki/tune '{"max_lease_ttl":"8760h"}'
write POST pki/root/generate/internal '{"common_name":"audit root","key_type":"ec","ttl":"1000h"}'
write POST pki/roles/web '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","key_bits":256}'
write POST pki/issue/web '{"common_name":"a.example.com"}'
jget .data.private_key >"$W/leaf.key"
serial=$(jget .data.serial_number)
write POST auth/token/create '{"policies":["default"],"ttl":"1h"}'
child=$(jget .auth.client_token)
write POST sys/policies/acl/readers '{"policy":"{\"path\":{\"pki/roles/*\":{\"capabilities\":[\"read\"]}}}"}'
api_ok DELETE pki/roles/web 204
TOKEN=$child api GET pki/roles/web
[ "$STATUS" = 403 ] || die "child token should be refused"
TOKEN=wrong api POST pki/issue/web '{"common_name":"b.example.com"}'
[ "$STATUS" = 403 ] || die "a bad token should be refused"

for id in $ids; do
    grep "\"request_id\":\"$id\"" "$LOG" | grep -q '"phase":"request"' || die "request $id: no request entry"
    grep "\"request_id\":\"$id\"" "$LOG" | grep -q '"phase":"response"' || die "request $id: no response entry"
done
grep '"path":"pki/issue/web"' "$LOG" | grep -q "\"serial_number\":\"$serial\"" ||
    die "the issue's response entry does not name the serial"
[ "$(grep -c '"outcome":"denied"' "$LOG")" -ge 2 ] || die "denials not audited"
pass "every write has request and response entries; the issue names its serial; denials recorded"

if grep -q "$ROOT_TOKEN" "$LOG" || grep -q "$child" "$LOG"; then die "a token is in the audit log"; fi
keyline=$(sed -n 2p "$W/leaf.key")
[ -n "$keyline" ] || die "no private key came back from issue"
if grep -qF "$keyline" "$LOG"; then die "the issued private key is in the audit log"; fi
if grep -q "PRIVATE KEY" "$LOG"; then die "a PEM private key is in the audit log"; fi
pass "no token and no private key in the audit log"

verify() { # FILE: hsmca audit verify with the dev token
    SOFTHSM2_CONF=$DAEMON_DIR/softhsm2.conf "$HSMCA_CLI" --module "$(sed -n 's/.*through .\(.*softhsm2.so\).*/\1/p' "$DAEMON_LOG" | head -1)" \
        --token hsmca-dev --pin-file "$DAEMON_DIR/pin" audit verify "$1"
}
daemon_stop
verify "$LOG" >"$W/verify.out" 2>&1 || { show "$W/verify.out"; die "hsmca audit verify refused the daemon's log"; }
grep -q "^ok: " "$W/verify.out" || { show "$W/verify.out"; die "verify did not say ok"; }
pass "hsmca audit verify: $(cat "$W/verify.out")"

lines=$(wc -l <"$LOG")
k=$((lines / 2))
sed "${k}s/\"status\":200/\"status\":201/; ${k}s/\"outcome\":\"success\"/\"outcome\":\"error\"/" "$LOG" >"$W/edited.log"
cmp -s "$LOG" "$W/edited.log" && sed "${k}s/\"seq\":/\"seq\":1/" "$LOG" >"$W/edited.log"
expect_fail "$W/v1" verify "$W/edited.log"
grep -q "line $k" "$W/v1" || { show "$W/v1"; die "edited line $k not named"; }
sed "${k}d" "$LOG" >"$W/deleted.log"
expect_fail "$W/v2" verify "$W/deleted.log"
grep -q "line $k" "$W/v2" || { show "$W/v2"; die "deleted line $k not named"; }
pass "tampering: an edited or deleted line $k of $lines makes verify fail at line $k"
