#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The OCSP responder through the real daemon (hsmcad -dev): `openssl ocsp`
# over POST and GET (the request made with -reqout, sent with curl), with
# and without a nonce, good / unknown / revoked answers, several serials in
# one request, for RSA, RSA-PSS, P-256 and Ed25519 issuers, signed directly
# and by a delegated responder; GnuTLS ocsptool must agree. Bad requests
# (garbage, truncated, oversized, too many CertIDs, unknown issuer) get the
# OCSP error statuses OpenBao gives, and the daemon stays healthy.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/api_pki_lib.sh"

need_tool curl jq openssl ocsptool od awk base64 cmp
W=$(workdir api_ocsp)
api_start "$W"
cd "$W"

# ocsp_post MOUNT OUT ARGS...: openssl ocsp over POST; its output in OUT.
ocsp_post() {
    _m=$1
    _o=$2
    shift 2
    openssl ocsp -url "$ADDR/v1/$_m/ocsp" "$@" -resp_text >"$_o" 2>&1 || { show "$_o"; die "openssl ocsp against $_m failed"; }
}

# urlencode TEXT: base64 text as a path segment (RFC 6960 A.1: URL-encoded).
urlencode() {
    printf '%s' "$1" | sed 's/%/%25/g; s/+/%2B/g; s#/#%2F#g; s/=/%3D/g'
}

# ocsp_get MOUNT REQ.der RESP.der: GET with the request in the path; the
# HTTP status in GET_STATUS.
ocsp_get() {
    _b64=$(base64 -w0 "$2")
    GET_STATUS=$(curl -s -o "$3" -w '%{http_code}' -D "$3.hdr" "$ADDR/v1/$1/ocsp/$(urlencode "$_b64")") || GET_STATUS=000
}

# post_raw MOUNT FILE OUT: a raw POST body; HTTP status in POST_STATUS.
post_raw() {
    POST_STATUS=$(curl -s -o "$3" -w '%{http_code}' -D "$3.hdr" -H 'Content-Type: application/ocsp-request' \
        --data-binary "@$2" "$ADDR/v1/$1/ocsp") || POST_STATUS=000
}

# get_request MOUNT NONCEFLAG CERT OUT: a request for CERT; GET_HASH is the
# CertID hash option it used.
get_request() {
    openssl ocsp $2 -sha1 -issuer "$1.root.pem" -cert "$3" -reqout "$4" >/dev/null 2>&1 ||
        die "$1: openssl ocsp -reqout"
    GET_HASH=-sha1
}

# resp_status FILE: the responseStatus openssl reads from a DER response.
# (openssl prints "Responder Error: <status> (n)" for the error statuses)
resp_status() {
    openssl ocsp -respin "$1" -resp_text -noverify 2>&1 |
        sed -n 's/^ *OCSP Response Status: \([a-zA-Z]*\).*/\1/p; s/^Responder Error: \([a-zA-Z]*\).*/\1/p' | head -1
}

# ocsp content type of the last response headers file.
is_ocsp_ct() {
    grep -qi '^content-type: application/ocsp-response' "$1" || { show "$1"; die "$2: Content-Type is not application/ocsp-response"; }
}

# ---- one mount per issuer key type: a root, a role and two leaves ----
# mount key_type extra-root-fields expected-signature-algorithm
setup_mount() {
    mount_pki "$1"
    api POST "$1/root/generate/internal" "{\"common_name\":\"OCSP $1 Root\",\"key_type\":\"$2\",$3
        \"issuer_name\":\"root\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
    expect 200 "$1 root"
    data certificate >"$1.root.pem"
    api POST "$1/roles/leaf" '{"allow_any_name":true,"key_type":"ec","ttl":"24h"}'
    expect 200 "$1 role"
    for n in 1 2; do
        api POST "$1/issue/leaf" "{\"common_name\":\"l$n.$1.example.com\"}"
        expect 200 "$1 issue $n"
        data certificate >"$1.leaf$n.pem"
    done
}

# check_direct MOUNT SIGALG: good answers, signature algorithm, nonce,
# several serials, GET, unknown, and GnuTLS agreeing.
check_direct() {
    _m=$1
    _alg=$2
    # POST with a nonce (openssl's default), two certificates in one request
    ocsp_post "$_m" "$_m.post.txt" -issuer "$_m.root.pem" -cert "$_m.leaf1.pem" -cert "$_m.leaf2.pem" \
        -CAfile "$_m.root.pem" -respout "$_m.post.der"
    grep -q 'Response verify OK' "$_m.post.txt" || { show "$_m.post.txt"; die "$_m: openssl did not verify the response"; }
    grep -q "^$_m.leaf1.pem: good" "$_m.post.txt" && grep -q "^$_m.leaf2.pem: good" "$_m.post.txt" ||
        { show "$_m.post.txt"; die "$_m: both leaves must be good in one response"; }
    [ "$(grep -c 'Cert Status: good' "$_m.post.txt")" = 2 ] || { show "$_m.post.txt"; die "$_m: expected two SingleResponses"; }
    grep -q 'OCSP Nonce' "$_m.post.txt" || { show "$_m.post.txt"; die "$_m: the nonce was not echoed"; }
    grep -q 'WARNING' "$_m.post.txt" && { show "$_m.post.txt"; die "$_m: openssl warned (nonce or times)"; }
    grep -q "Signature Algorithm: $_alg" "$_m.post.txt" || { show "$_m.post.txt"; die "$_m: not signed with $_alg"; }
    grep -q 'Next Update' "$_m.post.txt" || die "$_m: no nextUpdate with the default ocsp_expiry 12h"
    # direct signing: no certificate in the response (the client has the issuer)
    grep -q 'BEGIN CERTIFICATE' "$_m.post.txt" && { show "$_m.post.txt"; die "$_m: certificates in a direct response"; }
    grep -q 'Responder Id: ' "$_m.post.txt" || die "$_m: no responder id"
    # GnuTLS reads and verifies the same response
    ocsptool --response-info --infile "$_m.post.der" >"$_m.gnutls.txt" 2>&1 || { show "$_m.gnutls.txt"; die "$_m: ocsptool cannot read the response"; }
    grep -q 'Certificate Status: good' "$_m.gnutls.txt" || { show "$_m.gnutls.txt"; die "$_m: ocsptool does not see good"; }
    ocsptool -e --load-signer "$_m.root.pem" --infile "$_m.post.der" >"$_m.gnutls.v" 2>&1 ||
        { show "$_m.gnutls.v"; die "$_m: ocsptool -e refused the signature"; }
    grep -q 'Verifying OCSP Response: Success' "$_m.gnutls.v" || { show "$_m.gnutls.v"; die "$_m: ocsptool -e did not verify"; }

    # GnuTLS as the client too: ocsptool asks the responder itself (with
    # its nonce) and checks the answer against the issuer
    ocsptool --ask="$ADDR/v1/$_m/ocsp" --nonce --load-issuer "$_m.root.pem" --load-cert "$_m.leaf1.pem" \
        --load-signer "$_m.root.pem" >"$_m.ask.txt" 2>&1 || { show "$_m.ask.txt"; die "$_m: ocsptool --ask failed"; }
    grep -q 'Response Status: Successful' "$_m.ask.txt" && grep -q 'Certificate Status: good' "$_m.ask.txt" &&
        grep -q 'Verifying OCSP Response: Success' "$_m.ask.txt" || { show "$_m.ask.txt"; die "$_m: ocsptool --ask"; }

    # without a nonce: none echoed
    ocsp_post "$_m" "$_m.nn.txt" -no_nonce -issuer "$_m.root.pem" -cert "$_m.leaf1.pem" -CAfile "$_m.root.pem"
    grep -q "^$_m.leaf1.pem: good" "$_m.nn.txt" && grep -q 'Response verify OK' "$_m.nn.txt" || { show "$_m.nn.txt"; die "$_m: no-nonce request"; }
    grep -q 'OCSP Nonce' "$_m.nn.txt" && die "$_m: a nonce in the answer to a request without one"

    # GET: the same request base64 + URL-encoded in the path, with and
    # without nonce
    for nonce in -no_nonce -nonce; do
        get_request "$_m" "$nonce" "$_m.leaf2.pem" "$_m.get.req"
        ocsp_get "$_m" "$_m.get.req" "$_m.get.der"
        [ "$GET_STATUS" = 200 ] || die "$_m: GET $nonce answered $GET_STATUS"
        is_ocsp_ct "$_m.get.der.hdr" "$_m GET"
        # (-cert would make openssl build a new request with another nonce:
        # the nonce is compared by hand below)
        openssl ocsp -no_nonce $GET_HASH -respin "$_m.get.der" -issuer "$_m.root.pem" -cert "$_m.leaf2.pem" \
            -CAfile "$_m.root.pem" -resp_text >"$_m.get.txt" 2>&1 || { show "$_m.get.txt"; die "$_m: GET response refused"; }
        grep -q "^$_m.leaf2.pem: good" "$_m.get.txt" && grep -q 'Response verify OK' "$_m.get.txt" ||
            { show "$_m.get.txt"; die "$_m: GET $nonce"; }
        _qn=$(openssl ocsp -reqin "$_m.get.req" -req_text 2>/dev/null | grep -A1 'OCSP Nonce' | tail -1 | tr -d ' ')
        _rn=$(grep -A1 'OCSP Nonce' "$_m.get.txt" | tail -1 | tr -d ' ')
        [ "$_qn" = "$_rn" ] || die "$_m: GET $nonce: response nonce '$_rn' is not the request's '$_qn'"
        if [ "$nonce" = -nonce ]; then [ -n "$_rn" ] || die "$_m: GET -nonce: no nonce echoed"; fi
    done

    # unknown: a serial this issuer never issued
    ocsp_post "$_m" "$_m.unk.txt" -issuer "$_m.root.pem" -serial 0x1234567890abcdef -CAfile "$_m.root.pem"
    grep -q '^0x1234567890abcdef: unknown' "$_m.unk.txt" && grep -q 'Response verify OK' "$_m.unk.txt" ||
        { show "$_m.unk.txt"; die "$_m: a never-issued serial must be unknown"; }
    # SHA-256 CertIDs are matched too
    ocsp_post "$_m" "$_m.sha256.txt" -sha256 -issuer "$_m.root.pem" -cert "$_m.leaf1.pem" -CAfile "$_m.root.pem"
    grep -q "^$_m.leaf1.pem: good" "$_m.sha256.txt" || { show "$_m.sha256.txt"; die "$_m: SHA-256 CertID"; }
    pass "$_m: good x2 in one response, nonce echoed, GET and POST, unknown, SHA-256 CertID; openssl and ocsptool (reading and asking) verify $_alg"
}

setup_mount ocsp-rsa rsa ''
setup_mount ocsp-pss rsa '"use_pss":true,'
setup_mount ocsp-ec ec '"key_bits":256,'
setup_mount ocsp-ed ed25519 ''
check_direct ocsp-rsa sha256WithRSAEncryption
check_direct ocsp-pss rsassaPss
check_direct ocsp-ec ecdsa-with-SHA256
check_direct ocsp-ed ED25519

# ---- GET whose base64 ends in '/' (the HTTP layer drops a trailing '/';
# the responder restores it). Without a nonce the request ends with the
# serial's last byte: 0x3f ends the base64 in '/' when the DER length is a
# multiple of 3, which one of three serial lengths gives. ----
found=
for h in -sha1 -sha256 -sha384 -sha512; do
    for sn in 0x3f 0x013f 0x01013f 0x0101013f 0x010101013f 0x01010101013f; do
        openssl ocsp -no_nonce $h -issuer ocsp-ec.root.pem -serial $sn -reqout slash.req >/dev/null 2>&1
        case $(base64 -w0 slash.req) in *//*) ;; */) found=$sn found_h=$h; break 2 ;; esac
    done
done
[ -n "$found" ] || die "no request whose base64 ends in '/'"
ocsp_get ocsp-ec slash.req slash.der
[ "$GET_STATUS" = 200 ] || die "GET with base64 ending in '/': $GET_STATUS"
openssl ocsp -no_nonce $found_h -respin slash.der -issuer ocsp-ec.root.pem -serial $found -CAfile ocsp-ec.root.pem \
    >slash.txt 2>&1 && grep -q "^$found: unknown" slash.txt && grep -q 'Response verify OK' slash.txt ||
    { show slash.txt; die "GET trailing '/'"; }
pass "GET: base64 ending in '/' answered (trailing slash restored)"

# ---- GET whose base64 holds "//" (about 1 request in 30): sent %-encoded
# (RFC 6960 A.1) and with the slashes as they are; both reach the responder.
# Serials of many one bits put "//" into the base64 of their last bytes.
found=
for sn in 0x3fffff 0x7fffff 0x01ffffff 0x3fffffff 0x0fffffff 0x7fff; do
    openssl ocsp -no_nonce -sha1 -issuer ocsp-ec.root.pem -serial "$sn" -reqout dslash.req >/dev/null 2>&1
    case $(base64 -w0 dslash.req) in *//*) found=$sn; break ;; esac
done
[ -n "$found" ] || die "no request whose base64 holds '//'"
ocsp_get ocsp-ec dslash.req dslash.der
[ "$GET_STATUS" = 200 ] || { show dslash.der; die "GET with '//' in the base64 (%-encoded): $GET_STATUS"; }
openssl ocsp -no_nonce -respin dslash.der -issuer ocsp-ec.root.pem -serial "$found" -CAfile ocsp-ec.root.pem \
    >dslash.txt 2>&1 && grep -q "^$found: unknown" dslash.txt && grep -q 'Response verify OK' dslash.txt ||
    { show dslash.txt; die "GET '//' (%-encoded)"; }
_st=$(curl -s --path-as-is -o dslash2.der -w '%{http_code}' "$ADDR/v1/ocsp-ec/ocsp/$(base64 -w0 dslash.req | sed 's/+/%2B/g; s/=/%3D/g')")
[ "$_st" = 200 ] && openssl ocsp -no_nonce -respin dslash2.der -issuer ocsp-ec.root.pem -serial "$found" \
    -CAfile ocsp-ec.root.pem 2>&1 | grep -q "^$found: unknown" || die "GET with a raw '//' in the base64: $_st"
# elsewhere an empty segment is still refused
_st=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' -H "X-Vault-Token: $ROOT_TOKEN" "$ADDR/v1/ocsp-ec//roles")
[ "$_st" = 400 ] || die "an empty segment outside the OCSP tail answered $_st"
pass "GET: base64 holding '//' answered, %-encoded and raw; empty segments elsewhere still 400"

# ---- unknown issuer: a CertID naming another CA is answered unknown,
# signed by the mount's default issuer (OpenBao) ----
ocsp_post ocsp-ec ec.other.txt -issuer ocsp-rsa.root.pem -cert ocsp-rsa.leaf1.pem -VAfile ocsp-ec.root.pem
grep -q '^ocsp-rsa.leaf1.pem: unknown' ec.other.txt && grep -q 'Response verify OK' ec.other.txt ||
    { show ec.other.txt; die "unknown issuer: expected unknown signed by the mount's default issuer"; }
pass "unknown issuer hash: unknown, signed by the default issuer"

# ---- two issuers in one mount, asked about together: one response, signed
# by the first CertID's issuer; the other issuer's certificate is unknown in
# it (its issuer did not sign) and good when asked on its own ----
api POST ocsp-rsa/root/generate/internal "{\"common_name\":\"OCSP second root\",\"key_type\":\"ec\",
    \"issuer_name\":\"root2\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "second root"
data certificate >root2.pem
api POST ocsp-rsa/issuer/root2/issue/leaf '{"common_name":"r2.example.com"}'
expect 200 "issue under root2"
data certificate >root2.leaf.pem
ocsp_post ocsp-rsa two.txt -issuer ocsp-rsa.root.pem -cert ocsp-rsa.leaf1.pem -issuer root2.pem -cert root2.leaf.pem \
    -VAfile ocsp-rsa.root.pem
grep -q '^ocsp-rsa.leaf1.pem: good' two.txt && grep -q '^root2.leaf.pem: unknown' two.txt &&
    grep -q 'Response verify OK' two.txt || { show two.txt; die "two issuers in one request"; }
ocsp_post ocsp-rsa two2.txt -issuer root2.pem -cert root2.leaf.pem -CAfile root2.pem
grep -q '^root2.leaf.pem: good' two2.txt && grep -q 'Response verify OK' two2.txt || { show two2.txt; die "second issuer alone"; }
pass "two issuers in one mount: each signs for its own certificates"

# ---- an issuer without the ocsp-signing usage may not answer: unauthorized ----
api PATCH ocsp-rsa/issuer/root2 '{"usage":"read-only,issuing-certificates,crl-signing"}'
expect 200 "usage without ocsp-signing"
openssl ocsp -no_nonce -issuer root2.pem -cert root2.leaf.pem -reqout nousage.req >/dev/null 2>&1
post_raw ocsp-rsa nousage.req nousage.der
[ "$POST_STATUS" = 401 ] && [ "$(resp_status nousage.der)" = unauthorized ] ||
    die "issuer without ocsp-signing: $POST_STATUS $(resp_status nousage.der)"
api PATCH ocsp-rsa/issuer/root2 '{"usage":"read-only,issuing-certificates,crl-signing,ocsp-signing"}'
expect 200 "usage back"
post_raw ocsp-rsa nousage.req nousage2.der
[ "$POST_STATUS" = 200 ] || die "ocsp-signing usage restored: $POST_STATUS"
pass "issuer usage without ocsp-signing: 401 unauthorized; restored: answered"

# ---- cache: a request without nonce is answered from the cache (ECDSA
# signatures are randomised: equal bytes mean one signature); with a
# nonce, a fresh signature each time ----
openssl ocsp -no_nonce -issuer ocsp-ec.root.pem -cert ocsp-ec.leaf1.pem -reqout cache.req >/dev/null 2>&1
post_raw ocsp-ec cache.req cache1.der
post_raw ocsp-ec cache.req cache2.der
[ "$POST_STATUS" = 200 ] || die "cache: status $POST_STATUS"
cmp -s cache1.der cache2.der || die "cache: a repeated no-nonce request was signed again"
openssl ocsp -nonce -issuer ocsp-ec.root.pem -cert ocsp-ec.leaf1.pem -reqout nonce.req >/dev/null 2>&1
post_raw ocsp-ec nonce.req nonce1.der
post_raw ocsp-ec nonce.req nonce2.der
cmp -s nonce1.der nonce2.der && die "cache: a request with a nonce was served a cached answer"
pass "cache: repeated request served the same signed bytes; nonce requests signed afresh"

# ---- revoked, as the store records it: the revoke endpoint is issue #5's
# revocation part; until it lands the row is marked with sqlite3 as that
# path will mark it (revoked_at, revocation_reason), and asked with a nonce
# (nothing cached: the direct write cannot invalidate the daemon's cache) ----
if command -v sqlite3 >/dev/null 2>&1; then
    der=$(openssl x509 -in ocsp-pss.leaf2.pem -outform DER | od -An -v -tx1 | tr -d ' \n')
    rev_at=$(($(date +%s) - 3600))
    sqlite3 "$STATE/hsmca.db" "PRAGMA busy_timeout=5000; UPDATE certs SET revoked_at=$rev_at, revocation_reason=1
        WHERE mount='ocsp-pss' AND der=X'$der'; SELECT changes();" >sql.out 2>&1 || { show sql.out; die "sqlite3 update"; }
    [ "$(tail -1 sql.out)" = 1 ] || { show sql.out; die "sqlite3: leaf2 row not found"; }
    ocsp_post ocsp-pss store-rev.txt -issuer ocsp-pss.root.pem -cert ocsp-pss.leaf1.pem -cert ocsp-pss.leaf2.pem \
        -CAfile ocsp-pss.root.pem -respout store-rev.der
    grep -q '^ocsp-pss.leaf1.pem: good' store-rev.txt && grep -q '^ocsp-pss.leaf2.pem: revoked' store-rev.txt &&
        grep -q 'Reason: keyCompromise' store-rev.txt && grep -q 'Response verify OK' store-rev.txt ||
        { show store-rev.txt; die "store revocation: expected good + revoked (keyCompromise) in one response"; }
    want=$(date -u -d "@$rev_at" '+%b %e %H:%M:%S %Y GMT' | tr -s ' ')
    grep 'Revocation Time' store-rev.txt | tr -s ' ' | grep -q "$want" || { show store-rev.txt; die "revocation time is not $want"; }
    ocsptool --response-info --infile store-rev.der >store-rev.gnutls 2>&1 || { show store-rev.gnutls; die "ocsptool revoked"; }
    grep -q 'Certificate Status: revoked' store-rev.gnutls || { show store-rev.gnutls; die "ocsptool does not see revoked"; }
    pass "revoked (store row): revoked with time and reason beside good, openssl and ocsptool agree"
fi

# ---- revoked through POST revoke ----
serial=$(serial_of ocsp-ec.leaf2.pem)
# leaf2 alone, no nonce: its "good" answer is now in the response cache
ocsp_post ocsp-ec pre-rev.txt -no_nonce -issuer ocsp-ec.root.pem -cert ocsp-ec.leaf2.pem -CAfile ocsp-ec.root.pem
grep -q '^ocsp-ec.leaf2.pem: good' pre-rev.txt || { show pre-rev.txt; die "before revoke: leaf2 not good"; }
ocsp_post ocsp-ec pre-rev2.txt -no_nonce -issuer ocsp-ec.root.pem -cert ocsp-ec.leaf2.pem -CAfile ocsp-ec.root.pem
api POST ocsp-ec/revoke "{\"serial_number\":\"$serial\"}"
expect 200 "revoke leaf2"
{
    # the cached "good" of leaf2 must not survive the revocation
    ocsp_post ocsp-ec rev.txt -no_nonce -issuer ocsp-ec.root.pem -cert ocsp-ec.leaf2.pem -CAfile ocsp-ec.root.pem
    grep -q '^ocsp-ec.leaf2.pem: revoked' rev.txt && grep -q 'Revocation Time' rev.txt ||
        { show rev.txt; die "revoked: expected revoked with a time (cached good must be invalidated)"; }
    ocsp_post ocsp-ec rev2.txt -issuer ocsp-ec.root.pem -cert ocsp-ec.leaf1.pem -cert ocsp-ec.leaf2.pem -CAfile ocsp-ec.root.pem
    grep -q '^ocsp-ec.leaf1.pem: good' rev2.txt && grep -q '^ocsp-ec.leaf2.pem: revoked' rev2.txt ||
        { show rev2.txt; die "revoked: one good and one revoked in one response"; }
    pass "revoked: status, time, cache invalidated at once"
}

# ---- delegated signing (config/ocsp, hsmca extension) ----
for m in ocsp-rsa ocsp-pss ocsp-ec ocsp-ed; do
    api POST "$m/config/ocsp" '{"delegated_signing":true,"delegated_ttl":"48h"}'
    expect 200 "$m config/ocsp"
    [ "$(jget .data.delegated_signing)" = true ] && [ "$(jget .data.delegated_ttl)" = 172800 ] || { show "$RESP"; die "$m: config/ocsp echo"; }
    ocsp_post "$m" "$m.del.txt" -issuer "$m.root.pem" -cert "$m.leaf1.pem" -CAfile "$m.root.pem" -respout "$m.del.der"
    grep -q "^$m.leaf1.pem: good" "$m.del.txt" && grep -q 'Response verify OK' "$m.del.txt" ||
        { show "$m.del.txt"; die "$m: delegated response refused"; }
    # the signer certificate travels in the response: OCSP Signing, nocheck,
    # issued by the root, not the root itself
    awk '/BEGIN CERTIFICATE/{p=1} p{print} /END CERTIFICATE/{exit}' "$m.del.txt" >"$m.signer.pem"
    [ -s "$m.signer.pem" ] || { show "$m.del.txt"; die "$m: no responder certificate in the delegated response"; }
    openssl x509 -in "$m.signer.pem" -noout -text >"$m.signer.txt"
    grep -q 'OCSP Signing' "$m.signer.txt" && grep -q 'OCSP No Check' "$m.signer.txt" ||
        { show "$m.signer.txt"; die "$m: responder certificate lacks OCSPSigning or nocheck"; }
    openssl verify -CAfile "$m.root.pem" "$m.signer.pem" >/dev/null 2>&1 || die "$m: responder certificate not issued by the root"
    cmp -s "$m.signer.pem" "$m.root.pem" && die "$m: delegated response signed by the root"
    # its key is a token key (the issuer's is too: one more private key object)
    ocsptool -e --load-trust "$m.root.pem" --infile "$m.del.der" >"$m.del.v" 2>&1 ||
        { show "$m.del.v"; die "$m: ocsptool refused the delegated response"; }
    grep -q 'Verifying OCSP Response: Success' "$m.del.v" || { show "$m.del.v"; die "$m: ocsptool delegated"; }
    # GET, no nonce, unknown, through the delegated signer too
    for _h in -sha1 -sha256 -sha384 -sha512; do
        openssl ocsp -no_nonce $_h -issuer "$m.root.pem" -serial 0x42 -reqout "$m.del.req" >/dev/null 2>&1
        case $(base64 -w0 "$m.del.req") in *//*) ;; *) break ;; esac
    done
    ocsp_get "$m" "$m.del.req" "$m.delget.der"
    [ "$GET_STATUS" = 200 ] || die "$m: delegated GET answered $GET_STATUS"
    openssl ocsp $_h -respin "$m.delget.der" -issuer "$m.root.pem" -serial 0x42 -CAfile "$m.root.pem" >"$m.delget.txt" 2>&1 ||
        { show "$m.delget.txt"; die "$m: delegated GET refused"; }
    grep -q '^0x42: unknown' "$m.delget.txt" || { show "$m.delget.txt"; die "$m: delegated unknown"; }
    # the responder certificate is a stored certificate of the mount
    api GET "$m/cert/$(serial_of "$m.signer.pem")"
    expect 200 "$m: the responder certificate is stored"
    pass "$m: delegated signer (token key, OCSPSigning + nocheck) verified by openssl and ocsptool"
done
# back to direct signing: the issuer signs again
api POST ocsp-ec/config/ocsp '{"delegated_signing":false}'
expect 200 "config/ocsp off"
ocsp_post ocsp-ec direct-again.txt -issuer ocsp-ec.root.pem -cert ocsp-ec.leaf1.pem -CAfile ocsp-ec.root.pem
grep -q 'BEGIN CERTIFICATE' direct-again.txt && { show direct-again.txt; die "delegation off: a certificate in the response"; }
grep -q 'Response verify OK' direct-again.txt || { show direct-again.txt; die "delegation off: not verified"; }
api POST ocsp-ec/config/ocsp '{"delegated_ttl":"10m"}'
expect_error 400 delegated_ttl "config/ocsp delegated_ttl below 1h"
pass "delegation off: direct again; delegated_ttl bounds enforced"

# ---- ocsp_disable and ocsp_expiry through config/crl ----
api POST ocsp-rsa/config/crl '{"ocsp_disable":true}'
expect 200 "config/crl ocsp_disable"
openssl ocsp -no_nonce -issuer ocsp-rsa.root.pem -cert ocsp-rsa.leaf1.pem -reqout dis.req >/dev/null 2>&1
post_raw ocsp-rsa dis.req dis.der
[ "$POST_STATUS" = 401 ] && [ "$(resp_status dis.der)" = unauthorized ] ||
    die "ocsp_disable: expected 401 unauthorized, got $POST_STATUS $(resp_status dis.der)"
# ocsp_expiry: nextUpdate = thisUpdate + 1h; "0" leaves it out (applied at once)
api POST ocsp-rsa/config/crl '{"ocsp_disable":false,"ocsp_expiry":"1h"}'
expect 200 "config/crl ocsp_expiry 1h"
ocsp_post ocsp-rsa exp1h.txt -issuer ocsp-rsa.root.pem -cert ocsp-rsa.leaf1.pem -CAfile ocsp-rsa.root.pem
tu=$(date -u -d "$(sed -n 's/^ *This Update: //p' exp1h.txt | head -1)" +%s)
nu=$(date -u -d "$(sed -n 's/^ *Next Update: //p' exp1h.txt | head -1)" +%s)
[ $((nu - tu)) = 3600 ] || { show exp1h.txt; die "ocsp_expiry 1h: nextUpdate - thisUpdate = $((nu - tu))"; }
api POST ocsp-rsa/config/crl '{"ocsp_expiry":"0"}'
expect 200 "config/crl ocsp_expiry 0"
ocsp_post ocsp-rsa exp0.txt -issuer ocsp-rsa.root.pem -cert ocsp-rsa.leaf1.pem -CAfile ocsp-rsa.root.pem
grep -q 'Next Update' exp0.txt && { show exp0.txt; die "ocsp_expiry 0: nextUpdate present"; }
grep -q '^ocsp-rsa.leaf1.pem: good' exp0.txt || { show exp0.txt; die "ocsp_expiry 0: not good"; }
api POST ocsp-rsa/config/crl '{}'
expect 200 "config/crl defaults"
pass "ocsp_disable -> 401 unauthorized; ocsp_expiry 1h -> nextUpdate +1h, 0 -> none (config/crl, applied at once)"

# ---- bad input: OpenBao's statuses with a DER OCSP body ----
openssl ocsp -no_nonce -issuer ocsp-rsa.root.pem -cert ocsp-rsa.leaf1.pem -reqout good.req >/dev/null 2>&1
head -c 20 good.req >trunc.req
printf 'this is not DER at all' >garbage.req
head -c 3000 /dev/urandom >big.req
cat good.req good.req >trailing.req
: >empty.req
for f in trunc garbage big trailing empty; do
    post_raw ocsp-rsa "$f.req" "$f.der"
    [ "$POST_STATUS" = 400 ] || die "bad input $f: status $POST_STATUS, expected 400"
    is_ocsp_ct "$f.der.hdr" "bad input $f"
    [ "$(resp_status "$f.der")" = malformedrequest ] || die "bad input $f: not malformedRequest"
done
# too many CertIDs in one request
set --
i=0
while [ $i -lt 33 ]; do set -- "$@" -serial $((i + 1)); i=$((i + 1)); done
openssl ocsp -no_nonce -issuer ocsp-rsa.root.pem "$@" -reqout many.req >/dev/null 2>&1
post_raw ocsp-rsa many.req many.der
[ "$POST_STATUS" = 400 ] && [ "$(resp_status many.der)" = malformedrequest ] || die "33 CertIDs: $POST_STATUS"
# GET: bad base64, oversized
GET_STATUS=$(curl -s -o getbad.der -w '%{http_code}' "$ADDR/v1/ocsp-rsa/ocsp/%21%21notbase64") || GET_STATUS=000
[ "$GET_STATUS" = 400 ] && [ "$(resp_status getbad.der)" = malformedrequest ] || die "GET bad base64: $GET_STATUS"
long=$(head -c 1800 /dev/zero | tr '\0' 'A')
GET_STATUS=$(curl -s -o getbig.der -w '%{http_code}' "$ADDR/v1/ocsp-rsa/ocsp/$long") || GET_STATUS=000
case $GET_STATUS in 4??) ;; *) die "GET oversized: $GET_STATUS" ;; esac
# unknown issuer on a mount without issuers: unauthorized (nobody can sign)
mount_pki ocsp-empty
post_raw ocsp-empty good.req empty-mount.der
[ "$POST_STATUS" = 401 ] && [ "$(resp_status empty-mount.der)" = unauthorized ] || die "mount without issuers: $POST_STATUS"
# unauthenticated: no token needed, a bad token changes nothing
curl -s -o /dev/null -w '%{http_code}' -H 'X-Vault-Token: nonsense' --data-binary @good.req "$ADDR/v1/ocsp-rsa/ocsp" >tok.status
[ "$(cat tok.status)" = 200 ] || die "ocsp with a bogus token: $(cat tok.status)"
curl -sf "$ADDR/v1/sys/health" >/dev/null || die "daemon unhealthy after bad input"
pass "bad input: truncated, garbage, oversized, trailing bytes, empty, 33 CertIDs, bad base64 -> 400 malformedRequest; no issuer -> 401 unauthorized"

api_finish
