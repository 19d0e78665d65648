#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The OCSP responder's HTTP side through the real daemon (hsmcad -dev):
# - RFC 5019 6.2 caching headers on successful GET answers (Cache-Control
#   max-age up to nextUpdate, public, no-transform, must-revalidate;
#   Last-Modified = thisUpdate and Expires = nextUpdate as openssl reads
#   them; ETag = SHA-256 of the body), no-store on POST answers, on error
#   statuses (malformedRequest, unauthorized) and on every response that
#   carries a secret (issue's private key, a token create's client_token);
# - the OCSP counters of sys/metrics, each moved by exactly the requests
#   that should move it;
# - an intent-only serial (its certificate insert failed) answers unknown,
#   and revoked once revoked, by serial or by its PEM (the storage-failure
#   harness covers the CRLs).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/api_pki_lib.sh"

need_tool curl jq openssl awk base64 sha256sum date sqlite3
W=$(workdir api_ocsp_http)
api_start "$W"
cd "$W"

M=ocsph
mount_pki "$M"
api POST "$M/root/generate/internal" "{\"common_name\":\"OCSP HTTP Root\",\"key_type\":\"ec\",
    \"issuer_name\":\"root\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root"
data certificate >root.pem
api POST "$M/roles/leaf" '{"allow_any_name":true,"key_type":"ec","ttl":"24h"}'
expect 200 "role"
api POST "$M/issue/leaf" '{"common_name":"a.example.com"}'
expect 200 "issue a"
data certificate >a.pem
api POST "$M/issue/leaf" '{"common_name":"b.example.com"}'
expect 200 "issue b"
data certificate >b.pem

# metric NAME{LABELS}: its value in the last scrape (metrics.txt).
scrape() {
    api GET sys/metrics
    expect 200 "sys/metrics"
    cp "$RESP" metrics.txt
}
metric() {
    awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "MISSING" }' metrics.txt
}
# delta NAME WANT: the metric moved by WANT since the scrape saved in before.txt.
delta() {
    _b=$(awk -v k="$1" '$1 == k { print $2 }' before.txt)
    _a=$(metric "$1")
    [ -n "$_b" ] && [ "$_a" != MISSING ] || { cat metrics.txt; die "sys/metrics has no $1"; }
    [ $((_a - _b)) = "$2" ] || die "$1 moved by $((_a - _b)) (from $_b to $_a), expected $2"
}
snapshot() {
    scrape
    cp metrics.txt before.txt
}

# get_req CERT OUT: a one-CertID request without nonce, for GET.
get_req() {
    openssl ocsp -no_nonce -issuer root.pem -cert "$1" -reqout "$2" >/dev/null 2>&1 || die "openssl ocsp -reqout $1"
}
urlenc() {
    base64 -w0 "$1" | sed 's/%/%25/g; s/+/%2B/g; s#/#%2F#g; s/=/%3D/g'
}
# ocsp_get REQ OUT: GET; status in ST, headers in OUT.hdr.
ocsp_get() {
    ST=$(curl -s -D "$2.hdr" -o "$2" -w '%{http_code}' "$ADDR/v1/$M/ocsp/$(urlenc "$1")") || ST=000
}
ocsp_post() {
    ST=$(curl -s -D "$2.hdr" -o "$2" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
        --data-binary "@$1" "$ADDR/v1/$M/ocsp") || ST=000
}
hdr() {
    tr -d '\r' <"$1" | awk -v h="$2" 'tolower($0) ~ "^" tolower(h) ":" { sub(/^[^:]*: */, ""); print }'
}
cert_status() {
    openssl ocsp -respin "$1" -resp_text -noverify 2>/dev/null | sed -n 's/^ *Cert Status: //p' | head -1
}
# resp_time FILE FIELD: "This Update" / "Next Update" as unix seconds.
resp_time() {
    _t=$(openssl ocsp -respin "$1" -resp_text -noverify 2>/dev/null | sed -n "s/^ *$2: //p" | head -1)
    date -u -d "$_t" +%s
}
http_time() {
    date -u -d "$1" +%s
}
no_store() {
    [ "$(hdr "$1" Cache-Control)" = no-store ] || { cat "$1"; die "$2: Cache-Control is not exactly no-store"; }
    [ -z "$(hdr "$1" ETag)" ] || die "$2: an ETag on a response that may not be cached"
    [ -z "$(hdr "$1" Expires)" ] || die "$2: Expires on a response that may not be cached"
}

get_req a.pem a.req
get_req b.pem b.req

# ---- 1. RFC 5019 headers on a successful GET ----
snapshot
ocsp_get a.req a1.der
[ "$ST" = 200 ] || die "GET a: $ST"
[ "$(cert_status a1.der)" = good ] || die "GET a: not good"
cc=$(hdr a1.der.hdr Cache-Control)
echo "GET Cache-Control: $cc"
case $cc in
"max-age="*", public, no-transform, must-revalidate") ;;
*) cat a1.der.hdr; die "GET: Cache-Control '$cc' is not RFC 5019's" ;;
esac
maxage=${cc#max-age=}
maxage=${maxage%%,*}
tu=$(resp_time a1.der "This Update")
nu=$(resp_time a1.der "Next Update")
now=$(date -u +%s)
# max-age: the seconds until nextUpdate (12h by default), never past it
[ "$maxage" -gt 0 ] && [ $((now + maxage)) -le $((nu + 1)) ] && [ $((now + maxage)) -ge $((nu - 5)) ] ||
    die "max-age $maxage does not end at nextUpdate ($nu, now $now)"
[ "$(http_time "$(hdr a1.der.hdr Last-Modified)")" = "$tu" ] || die "Last-Modified is not thisUpdate ($tu)"
[ "$(http_time "$(hdr a1.der.hdr Expires)")" = "$nu" ] || die "Expires is not nextUpdate ($nu)"
etag=$(hdr a1.der.hdr ETag)
[ "$etag" = "\"$(sha256sum a1.der | cut -d' ' -f1)\"" ] || die "ETag $etag is not the SHA-256 of the body"
# the second GET comes from the responder's cache: same bytes, same headers
ocsp_get a.req a2.der
cmp -s a1.der a2.der || die "the second GET was not the cached answer"
[ "$(hdr a2.der.hdr ETag)" = "$etag" ] || die "the cached answer has another ETag"
[ "$(hdr a1.der.hdr Content-Type)" = application/ocsp-response ] || die "GET: Content-Type"

# ---- 2. not cacheable: POST, malformed, unauthorized ----
ocsp_post a.req p.der
[ "$ST" = 200 ] && [ "$(cert_status p.der)" = good ] || die "POST a: $ST"
no_store p.der.hdr "POST"
printf 'garbage' >garbage.req
ocsp_post garbage.req bad.der
[ "$ST" = 400 ] || die "POST garbage: $ST"
no_store bad.der.hdr "malformed POST"
ST=$(curl -s -D badget.hdr -o badget.der -w '%{http_code}' "$ADDR/v1/$M/ocsp/%21%21notbase64") || ST=000
[ "$ST" = 400 ] || die "GET bad base64: $ST"
no_store badget.hdr "malformed GET"

scrape
delta 'hsmca_ocsp_requests_total{method="get"}' 3
delta 'hsmca_ocsp_requests_total{method="post"}' 2
delta 'hsmca_ocsp_responses_total{status="successful"}' 3
delta 'hsmca_ocsp_responses_total{status="malformedRequest"}' 2
delta 'hsmca_ocsp_cert_status_total{status="good"}' 3
# one CertID without a nonce is served from the cache whatever the method:
# the first GET missed and was signed, the second GET and the POST hit
delta 'hsmca_ocsp_cache_total{result="hit"}' 2
delta 'hsmca_ocsp_cache_total{result="miss"}' 1
delta 'hsmca_ocsp_signatures_total' 1

# ---- 3. revoked, unknown, several CertIDs, a nonce ----
cp metrics.txt before.txt
api POST "$M/revoke" "{\"serial_number\":\"$(serial_of a.pem)\"}"
expect 200 "revoke a"
ocsp_get a.req a3.der
[ "$(cert_status a3.der)" = revoked ] || die "GET a after revoking: $(cert_status a3.der)"
[ -n "$(hdr a3.der.hdr ETag)" ] && [ "$(hdr a3.der.hdr ETag)" != "$etag" ] || die "the revoked answer kept the old ETag"
openssl ocsp -issuer root.pem -cert b.pem -serial 0x7777777777777777 -reqout two.req >/dev/null 2>&1 ||
    die "openssl ocsp -reqout two"
ocsp_post two.req two.der
[ "$ST" = 200 ] || die "POST two: $ST"
openssl ocsp -respin two.der -resp_text -noverify >two.txt 2>&1
grep -q 'Cert Status: good' two.txt && grep -q 'Cert Status: unknown' two.txt || { cat two.txt; die "two: good + unknown"; }
no_store two.der.hdr "POST with a nonce"
scrape
delta 'hsmca_ocsp_cert_status_total{status="revoked"}' 1
delta 'hsmca_ocsp_cert_status_total{status="good"}' 1
delta 'hsmca_ocsp_cert_status_total{status="unknown"}' 1
delta 'hsmca_ocsp_signatures_total' 2
delta 'hsmca_ocsp_cache_total{result="miss"}' 1

# ---- 4. ocsp_disable: unauthorized, not cacheable, counted ----
cp metrics.txt before.txt
api POST "$M/config/crl" '{"ocsp_disable":true}'
expect 200 "ocsp_disable"
ocsp_get b.req un.der
[ "$ST" = 401 ] || die "GET with ocsp_disable: $ST"
no_store un.der.hdr "unauthorized GET"
api POST "$M/config/crl" '{"ocsp_disable":false}'
expect 200 "ocsp_disable off"
scrape
delta 'hsmca_ocsp_responses_total{status="unauthorized"}' 1
delta 'hsmca_ocsp_signatures_total' 0

# ---- 5. secrets stay no-store ----
API_OPTS="-D issue.hdr" api POST "$M/issue/leaf" '{"common_name":"k.example.com"}'
expect 200 "issue with a key"
[ -n "$(data private_key)" ] || die "issue returned no private key"
no_store issue.hdr "issue (private key)"
API_OPTS="-D tok.hdr" api POST auth/token/create '{"policies":["default"]}'
expect 200 "token create"
[ -n "$(jget .auth.client_token)" ] || die "token create returned no token"
no_store tok.hdr "token create (client_token)"
# and ordinary JSON reads keep no-store too
API_OPTS="-D read.hdr" api GET "$M/cert/$(serial_of b.pem)"
expect 200 "cert read"
no_store read.hdr "cert read"

# ---- 6. an intent whose certificate was never stored ----
# A trigger makes the insert fail for one name (as the storage-failure
# harness does); the serial is in the daemon log and the intents table.
sqlite3 "$STATE/hsmca.db" "CREATE TRIGGER fail_cert BEFORE INSERT ON certs WHEN instr(NEW.der, CAST('lost.example.com' AS BLOB)) > 0 BEGIN SELECT RAISE(ABORT, 'injected'); END" ||
    die "adding the trigger"
api POST "$M/issue/leaf" '{"common_name":"lost.example.com"}'
[ "$STATUS" -ge 500 ] || die "issue with the trigger: $STATUS"
sqlite3 "$STATE/hsmca.db" "DROP TRIGGER fail_cert"
lost=$(sqlite3 "$STATE/hsmca.db" "SELECT hex(substr(serial, 21 - serial_len)) FROM intents i WHERE mount = '$M' AND NOT EXISTS (SELECT 1 FROM certs c WHERE c.mount = i.mount AND c.serial = i.serial)")
[ -n "$lost" ] && [ "$(printf '%s\n' "$lost" | wc -l)" = 1 ] || die "expected one intent without a certificate, got '$lost'"
openssl ocsp -no_nonce -issuer root.pem -serial "0x$lost" -reqout lost.req >/dev/null 2>&1 || die "openssl ocsp -reqout lost"
ocsp_get lost.req lost1.der
[ "$(cert_status lost1.der)" = unknown ] || die "an intent-only serial answered $(cert_status lost1.der), expected unknown"
lost_colon=$(printf '%s' "$lost" | sed 's/../&:/g; s/:$//')
api POST "$M/revoke" "{\"serial_number\":\"$lost_colon\"}"
expect 200 "revoke the intent-only serial"
[ "$(data revocation_time)" -gt 0 ] 2>/dev/null || [ "$(jget .data.revocation_time)" -gt 0 ] || die "no revocation_time"
ocsp_get lost.req lost2.der
[ "$(cert_status lost2.der)" = revoked ] || die "the revoked intent-only serial answered $(cert_status lost2.der)"
api LIST "$M/certs/revoked"
expect 200 "certs/revoked"
jget '.data.keys[]' | grep -qix "$lost_colon" || { show "$RESP"; die "certs/revoked does not list $lost_colon"; }
# a serial nobody reserved stays a clear 400
api POST "$M/revoke" '{"serial_number":"7a:11:00:00:00:00:00:01"}'
expect_error 400 "no reserved serial" "revoking a serial never reserved"

# ---- 7. by certificate: the PEM of a serial whose certificate row is missing ----
# (the signed certificate turned up after its insert failed): stored with
# its revocation, so cert/:serial shows it and OCSP answers revoked.
api POST "$M/issue/leaf" '{"common_name":"pem.example.com"}'
expect 200 "issue pem"
data certificate >pem.pem
sqlite3 "$STATE/hsmca.db" "DELETE FROM certs WHERE mount = '$M' AND instr(der, CAST('pem.example.com' AS BLOB)) > 0" ||
    die "deleting the certificate row"
api GET "$M/cert/$(serial_of pem.pem)"
expect 404 "cert read of the lost row"
get_req pem.pem pem.req
ocsp_get pem.req pem1.der
[ "$(cert_status pem1.der)" = unknown ] || die "the lost certificate answered $(cert_status pem1.der), expected unknown"
api POST "$M/revoke" "$(jq -n --rawfile c pem.pem '{certificate: $c}')"
expect 200 "revoke by PEM"
api GET "$M/cert/$(serial_of pem.pem)"
expect 200 "cert read after revoking by PEM"
[ "$(jget .data.revocation_time)" -gt 0 ] || die "the stored certificate is not revoked"
ocsp_get pem.req pem2.der
[ "$(cert_status pem2.der)" = revoked ] || die "revoked by PEM, OCSP answered $(cert_status pem2.der)"

api_finish
echo "ok: OCSP GET RFC 5019 headers, no-store elsewhere, sys/metrics OCSP counters, intent-only serials"
