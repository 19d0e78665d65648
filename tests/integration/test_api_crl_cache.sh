#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# CRLs are served from memory (src/revocation/crl_cache.c), yet every path
# that signs a new CRL is seen by the next read, through the real daemon
# (hsmcad -dev): a revocation, crl/rotate, a config/crl write, tidy, and
# the auto-rebuild job (which no request triggers). Each time the CRL read
# is the new one (openssl: higher CRL number, signature verified, entries
# as expected); Last-Modified / If-Modified-Since answer 304 for the same
# CRL and 200 once a newer one is signed.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/api_pki_lib.sh"

need_tool curl jq openssl awk
W=$(workdir api_crl_cache)
api_start "$W" -crl-check-interval=1s
cd "$W"

# fetch PATH OUT [CURL-ARGS]: unauthenticated GET; STATUS, headers in hdr.
fetch() {
    _p=$1
    _o=$2
    shift 2
    rm -f "$_o"
    # shellcheck disable=SC2086
    STATUS=$(curl -s $CURL_TLS -o "$_o" -D hdr -w '%{http_code}' "$@" "$ADDR/v1/$_p") || STATUS=000
}
last_modified() { sed -n 's/^[Ll]ast-[Mm]odified: *//p' hdr | tr -d '\r'; }

# crl_now: fetches pki/crl (DER) into crl.der, checks it with openssl
# against the root, and prints its CRL number (decimal).
crl_now() {
    fetch pki/crl crl.der
    [ "$STATUS" = 200 ] || die "GET pki/crl: $STATUS"
    openssl crl -inform DER -in crl.der -CAfile root.pem -verify -noout 2>&1 | grep -q 'verify OK' ||
        die "the CRL served does not verify"
    _n=$(openssl crl -inform DER -in crl.der -noout -crlnumber | sed 's/^crlNumber=//')
    printf '%d\n' "$_n"
}
# listed NAME: is NAME's serial on crl.der?
listed() {
    openssl crl -inform DER -in crl.der -noout -text | grep -qi "Serial Number: $(tr -d ':' <"$1.serial")\$"
}
issue() { # NAME TTL
    api POST pki/issue/web "{\"common_name\":\"$1.example.com\",\"ttl\":\"$2\"}"
    expect 200 "issue $1"
    data serial_number >"$1.serial"
}

api POST pki/root/generate/internal "{\"common_name\":\"Root\",\"key_type\":\"ec\",\"key_bits\":256,
    \"issuer_name\":\"root\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root"
data certificate >root.pem
api POST pki/roles/web '{"allowed_domains":"example.com","allow_subdomains":true}'
expect 200 "role web"

n0=$(crl_now)
LM=$(last_modified)
[ -n "$LM" ] || die "no Last-Modified on pki/crl"
cp crl.der crl0.der
n=$(crl_now)
[ "$n" = "$n0" ] && cmp -s crl.der crl0.der || die "two reads with nothing signed between differ"
# (no 304 within the second of Last-Modified: a change may still follow in it)
sleep 1
fetch pki/crl none.der -H "If-Modified-Since: $LM"
[ "$STATUS" = 304 ] || die "If-Modified-Since = Last-Modified: $STATUS, expected 304"
pass "a CRL read twice is the same CRL (number $n0); If-Modified-Since its Last-Modified: 304"

# revocation (rebuilds at once without auto_rebuild)
issue r1 1h
sleep 1 # a new second: Last-Modified must move
api POST pki/revoke "{\"serial_number\":\"$(cat r1.serial)\"}"
expect 200 "revoke r1"
n1=$(crl_now)
[ "$n1" -gt "$n0" ] && listed r1 || die "after revoking r1 the CRL read is not the new one ($n0 -> $n1)"
fetch pki/crl none.der -H "If-Modified-Since: $LM"
[ "$STATUS" = 200 ] || die "If-Modified-Since the old CRL's Last-Modified after a new one: $STATUS, expected 200"
LM=$(last_modified)
sleep 1
fetch pki/crl none.der -H "If-Modified-Since: $LM"
[ "$STATUS" = 304 ] || die "If-Modified-Since the new Last-Modified: $STATUS, expected 304"
# the PEM, JSON and issuer paths see it too
fetch pki/crl/pem crl.pem
openssl crl -in crl.pem -outform DER | cmp -s - crl.der || die "crl/pem differs from crl after the revocation"
fetch pki/issuer/root/crl/der crl.issuer.der
cmp -s crl.issuer.der crl.der || die "issuer/root/crl/der differs from crl after the revocation"
pass "revocation: the next read is CRL $n1 listing r1 (DER, PEM, issuer path); If-Modified-Since 200 then 304"

api GET pki/crl/rotate
expect 200 "crl/rotate"
n2=$(crl_now)
[ "$n2" -gt "$n1" ] && listed r1 || die "after crl/rotate the CRL read is not the new one ($n1 -> $n2)"
api POST pki/config/crl '{"expiry":"48h"}'
expect 200 "config/crl expiry 48h"
n3=$(crl_now)
[ "$n3" -gt "$n2" ] || die "after a config/crl write the CRL read is not the new one ($n2 -> $n3)"
pass "crl/rotate and config/crl: the next read is the new CRL ($n2, $n3)"

# tidy removes an expired revoked entry and rotates
issue r2 2s
api POST pki/revoke "{\"serial_number\":\"$(cat r2.serial)\"}"
expect 200 "revoke r2"
n4=$(crl_now)
listed r2 || die "r2 not on the CRL after its revocation"
sleep 4
api POST pki/tidy '{"tidy_revoked_certs":true,"safety_buffer":"1s"}'
expect 202 "tidy"
i=0
while :; do
    api GET pki/tidy-status
    [ "$(jget .data.state)" = Finished ] && break
    i=$((i + 1))
    [ $i -lt 100 ] || die "tidy never finished"
    sleep 0.2
done
n5=$(crl_now)
[ "$n5" -gt "$n4" ] && ! listed r2 && listed r1 || die "after tidy the CRL read is not the new one ($n4 -> $n5)"
pass "tidy: the next read is CRL $n5 without the expired r2"

# the auto-rebuild job: no request asks for the build
api POST pki/config/crl '{"auto_rebuild":true,"expiry":"10s","auto_rebuild_grace_period":"8s"}'
expect 200 "auto_rebuild"
n6=$(crl_now)
i=0
while :; do
    sleep 0.5
    n7=$(crl_now)
    [ "$n7" -gt "$n6" ] && break
    i=$((i + 1))
    [ $i -lt 40 ] || die "the auto-rebuild job's new CRL was never served (still $n6)"
done
listed r1 || die "the auto-rebuilt CRL lost r1"
pass "auto-rebuild job: its CRL ($n6 -> $n7) is served without any request asking for it"

api_finish
pass "CRL cache"
