#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The issuer endpoints through the real daemon (hsmcad -dev): LIST issuers
# (unauthenticated, key_info, after/limit), GET/PATCH (merge)/POST
# (overwrite with defaults)/DELETE issuer/:issuer_ref, and the
# unauthenticated issuer/:ref/json|der|pem with Last-Modified and
# If-Modified-Since -> 304. A root and an intermediate are made through the
# API; judges: openssl x509/verify and GnuTLS certtool on what comes back.
#
# env (set by tests/api.cmake): HSMCAD, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
. "$(dirname "$0")/../lib/daemon.sh"
need_env HSMCAD
need_tool curl jq openssl certtool

W=$(workdir api_issuers)
daemon_start_dev "$W/dev"
# A failing check exits at once: the daemon must not outlive the test.
trap '[ -z "${DAEMON_PID:-}" ] || kill "$DAEMON_PID" 2>/dev/null || true' EXIT

expect() {
    [ "$STATUS" = "$1" ] || { show "$RESP"; die "$2: status $STATUS, expected $1"; }
}
expect_error() {
    expect "$1" "$3"
    jget '.errors[0] // ""' >"$W/msg"
    expect_grep "$W/msg" "$2" "$3"
}
# fetch PATH OUT [curl options...]: an unauthenticated GET; the body goes to
# OUT, the headers to $W/hdr, the status to $STATUS.
fetch() {
    _p=$1
    _o=$2
    shift 2
    rm -f "$_o" # curl leaves OUT alone when there is no body
    # shellcheck disable=SC2086
    STATUS=$(curl -s $CURL_TLS -o "$_o" -D "$W/hdr" -w '%{http_code}' "$@" "$ADDR/v1/$_p") || STATUS=000
}
header() {
    sed -n "s/^$1: *//Ip" "$W/hdr" | tr -d '\r' | head -1
}
# The issuer as GET issuer/:ref shows it (token), compact, for comparisons.
snapshot() {
    api GET "pki/issuer/$1"
    expect 200 "GET issuer/$1"
    jq -cS .data "$RESP" >"$2"
}

# ---- a root and an intermediate, through the API ----
api POST pki/root/generate/internal '{"common_name":"hsmca issuers root","issuer_name":"root-x1","key_type":"ec","key_name":"root-key"}'
expect 200 "root/generate/internal"
ROOT=$(jget .data.issuer_id)
ROOT_KEY=$(jget .data.key_id)
jget .data.certificate >"$W/root.pem"
api POST pki/intermediate/generate/internal '{"common_name":"hsmca issuers intermediate","key_type":"ec","key_name":"int-key"}'
expect 200 "intermediate/generate/internal"
INT_KEY=$(jget .data.key_id)
body=$(jq -n --arg c "$(jget .data.csr)" '{csr: $c, common_name: "hsmca issuers intermediate", ttl: "720h"}')
api POST pki/root/sign-intermediate "$body"
expect 200 "root/sign-intermediate"
body=$(jq '{certificate: .data.certificate}' "$RESP")
api POST pki/intermediate/set-signed "$body"
expect 200 "intermediate/set-signed"
INT=$(jget '.data.imported_issuers[0]')
[ -n "$INT" ] && [ "$INT" != null ] || { show "$RESP"; die "set-signed imported no issuer"; }
api PATCH "pki/issuer/$INT" '{"issuer_name":"int-x1"}'
expect 200 "PATCH issuer_name"
[ "$(jget .data.issuer_name)" = int-x1 ] || { show "$RESP"; die "PATCH did not name the intermediate"; }
pass "root and intermediate made through the API; intermediate named by PATCH"

# ---- LIST issuers: unauthenticated, key_info, pages ----
TOKEN='' api LIST pki/issuers
expect 200 "LIST issuers without a token"
jget '.data.keys[]' >"$W/ids"
[ "$(wc -l <"$W/ids")" = 2 ] && grep -qx "$ROOT" "$W/ids" && grep -qx "$INT" "$W/ids" || { show "$RESP"; die "LIST issuers: ids"; }
sort "$W/ids" | cmp -s - "$W/ids" || die "LIST issuers is not in id order"
root_serial=$(openssl x509 -in "$W/root.pem" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//; s/^\(00:\)*//')
[ "$(jget ".data.key_info[\"$ROOT\"].issuer_name")" = root-x1 ] &&
    [ "$(jget ".data.key_info[\"$ROOT\"].is_default")" = true ] &&
    [ "$(jget ".data.key_info[\"$INT\"].is_default")" = false ] &&
    [ "$(jget ".data.key_info[\"$ROOT\"].key_id")" = "$ROOT_KEY" ] &&
    [ "$(jget ".data.key_info[\"$INT\"].key_id")" = "$INT_KEY" ] &&
    [ "$(jget ".data.key_info[\"$ROOT\"].serial_number")" = "$root_serial" ] ||
    { show "$RESP"; die "LIST issuers: key_info (want serial $root_serial)"; }
TOKEN='' api LIST "pki/issuers?limit=1"
expect 200 "LIST issuers limit=1"
first=$(jget '.data.keys[0]')
[ "$(jget '.data.keys | length')" = 1 ] && [ "$first" = "$(head -1 "$W/ids")" ] || { show "$RESP"; die "limit=1"; }
TOKEN='' api LIST "pki/issuers?after=$first"
expect 200 "LIST issuers after"
[ "$(jget '.data.keys | join(",")')" = "$(sed -n 2p "$W/ids")" ] || { show "$RESP"; die "after=first"; }
TOKEN='' api GET "pki/issuers?list=true&after=$(tail -1 "$W/ids")"
expect 404 "nothing after the last issuer (an empty LIST is 404)"
pass "LIST issuers: no token needed, key_info (name, default, serial, key_id), after/limit"

# ---- GET issuer/:ref (authenticated) ----
api GET pki/issuer/int-x1
expect 200 "GET issuer by name"
jget .data.certificate >"$W/int.pem"
[ "$(jget .data.issuer_id)" = "$INT" ] && [ "$(jget .data.key_id)" = "$INT_KEY" ] &&
    [ "$(jget .data.manual_chain)" = null ] && [ "$(jget .data.leaf_not_after_behavior)" = err ] &&
    [ "$(jget .data.usage)" = "read-only,issuing-certificates,crl-signing,ocsp-signing" ] &&
    [ "$(jget .data.revoked)" = false ] && [ "$(jget '.data.ca_chain | length')" = 2 ] &&
    [ "$(jget '.data.issuing_certificates | length')" = 0 ] &&
    [ "$(jget '.data.delta_crl_distribution_points | length')" = 0 ] &&
    [ "$(jget .data.revocation_signature_algorithm)" = "" ] || { show "$RESP"; die "GET issuer: fields"; }
openssl x509 -in "$W/int.pem" -noout -subject | grep -q "hsmca issuers intermediate" || die "GET issuer: certificate"
api GET "pki/issuer/$ROOT"
[ "$(jget .data.issuer_name)" = root-x1 ] || { show "$RESP"; die "GET issuer by id"; }
api GET pki/issuer/default
[ "$(jget .data.issuer_id)" = "$ROOT" ] || { show "$RESP"; die "GET issuer/default"; }
TOKEN='' api GET pki/issuer/int-x1
expect 403 "GET issuer/:ref needs a token"
api GET pki/issuer/no-such-issuer
expect 404 "GET unknown issuer"
pass "GET issuer/:ref by name, id and default; 403 without a token; 404 unknown"

# ---- issuer/:ref/json|der|pem: unauthenticated, judged by openssl/certtool ----
for ref in int-x1 "$INT"; do
    fetch "pki/issuer/$ref/der" "$W/int.der"
    expect 200 "issuer/$ref/der"
    [ "$(header Content-Type)" = application/pkix-cert ] || { cat "$W/hdr" >&2; die "der content type"; }
    openssl x509 -inform DER -in "$W/int.der" -noout -subject >"$W/subj" 2>&1 || { show "$W/subj"; die "issuer/$ref/der is not DER"; }
    expect_grep "$W/subj" "hsmca issuers intermediate" "issuer/$ref/der is the intermediate"
    fetch "pki/issuer/$ref/pem" "$W/int-raw.pem"
    expect 200 "issuer/$ref/pem"
    [ "$(header Content-Type)" = application/pem-certificate-chain ] || { cat "$W/hdr" >&2; die "pem content type"; }
    openssl x509 -in "$W/int-raw.pem" -outform DER -out "$W/int-pem.der" || die "issuer/$ref/pem is not PEM"
    cmp -s "$W/int.der" "$W/int-pem.der" || die "issuer/$ref: pem and der differ"
    fetch "pki/issuer/$ref/json" "$W/int.json"
    expect 200 "issuer/$ref/json"
    [ "$(jq -r .data.issuer_id "$W/int.json")" = "$INT" ] && [ "$(jq -r .data.issuer_name "$W/int.json")" = int-x1 ] &&
        [ "$(jq -r .data.revocation_time "$W/int.json")" = 0 ] || { show "$W/int.json"; die "issuer/$ref/json fields"; }
    jq -r .data.certificate "$W/int.json" | openssl x509 -outform DER -out "$W/int-json.der" || die "json certificate"
    cmp -s "$W/int.der" "$W/int-json.der" || die "issuer/$ref: json and der differ"
done
jq -r '.data.ca_chain[]' "$W/int.json" >"$W/chain.pem"
openssl verify -CAfile "$W/root.pem" "$W/int.pem" >"$W/v" 2>&1 || { show "$W/v"; die "openssl verify: intermediate under root"; }
[ "$(grep -c 'BEGIN CERTIFICATE' "$W/chain.pem")" = 2 ] || die "json ca_chain: 2 certificates"
certtool --verify-chain --infile "$W/chain.pem" >"$W/v" 2>&1 || { show "$W/v"; die "certtool rejects ca_chain"; }
grep -q "Chain verification output: Verified" "$W/v" || { show "$W/v"; die "certtool did not verify ca_chain"; }
fetch pki/issuer/default/der "$W/def.der"
openssl x509 -in "$W/root.pem" -outform DER | cmp -s - "$W/def.der" || die "issuer/default/der is not the root"
for f in json der pem; do
    fetch "pki/issuer/no-such-issuer/$f" "$W/body"
    expect 404 "issuer/no-such-issuer/$f"
done
pass "issuer/:ref/json|der|pem without a token, by name and id: DER/PEM/JSON agree, chain verifies (openssl, certtool), 404"

# ---- If-Modified-Since / Last-Modified ----
fetch pki/issuer/int-x1/der "$W/b"
LM=$(header Last-Modified)
[ -n "$LM" ] || { cat "$W/hdr" >&2; die "no Last-Modified on issuer/:ref/der"; }
sleep 1 # a change in the current second is never answered with 304
for f in der pem json; do
    fetch "pki/issuer/int-x1/$f" "$W/b" -H "If-Modified-Since: $LM"
    expect 304 "issuer/int-x1/$f with If-Modified-Since = Last-Modified"
    [ ! -s "$W/b" ] || die "a 304 carried a body"
    [ "$(header Last-Modified)" = "$LM" ] || die "304 without the same Last-Modified"
done
fetch pki/issuer/int-x1/der "$W/b" -H "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT"
expect 200 "If-Modified-Since long ago"
fetch pki/issuer/int-x1/der "$W/b" -H "If-Modified-Since: Saturday, 01-Jan-00 00:00:00 GMT"
expect 200 "If-Modified-Since in RFC 850 form, long ago"
fetch pki/issuer/int-x1/der "$W/b" -H "If-Modified-Since: Sat Jan  1 00:00:00 2000"
expect 200 "If-Modified-Since in asctime form, long ago"
fetch pki/issuer/int-x1/der "$W/b" -H "If-Modified-Since: Fri Dec 31 23:59:59 9999"
expect 304 "If-Modified-Since in asctime form, in the future"
fetch pki/issuer/int-x1/der "$W/b" -H "If-Modified-Since: not a date"
expect 200 "an invalid If-Modified-Since is ignored"
fetch pki/issuer/int-x1/der "$W/b" -H "If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT"
expect 304 "If-Modified-Since in the future"
api PATCH pki/issuer/int-x1 '{"leaf_not_after_behavior":"truncate"}'
expect 200 "PATCH changes the issuer"
fetch pki/issuer/int-x1/der "$W/b" -H "If-Modified-Since: $LM"
expect 200 "issuer/int-x1/der with the old Last-Modified after a change in a later second"
LM2=$(header Last-Modified)
[ "$(date -d "$LM2" +%s)" -gt "$(date -d "$LM" +%s)" ] || die "Last-Modified did not move forward ($LM -> $LM2)"
# issuer/default follows config/issuers: moving the default to an older
# issuer still changes what issuer/default/der is.
fetch pki/issuer/default/der "$W/b"
LMD=$(header Last-Modified)
sleep 1
api POST pki/config/issuers "{\"default\":\"$INT\"}"
expect 200 "default -> intermediate"
fetch pki/issuer/default/der "$W/b" -H "If-Modified-Since: $LMD"
expect 200 "issuer/default/der after the default moved"
cmp -s "$W/b" "$W/int.der" || die "issuer/default/der is not the new default"
api POST pki/config/issuers "{\"default\":\"root-x1\"}"
expect 200 "default -> root again"
pass "Last-Modified on issuer reads; If-Modified-Since -> 304 (3 date forms), 200 after a change and after the default moved"

# ---- PATCH merges, POST overwrites ----
snapshot int-x1 "$W/s0"
api PATCH pki/issuer/int-x1 '{"usage":"read-only,issuing-certificates"}'
expect 200 "PATCH usage"
[ "$(jget .data.usage)" = "read-only,issuing-certificates" ] && [ "$(jget .data.issuer_name)" = int-x1 ] &&
    [ "$(jget .data.leaf_not_after_behavior)" = truncate ] || { show "$RESP"; die "PATCH usage did not merge"; }
api PATCH pki/issuer/int-x1 '{"issuing_certificates":"http://a.example/ca,http://b.example/ca","ocsp_servers":["http://ocsp.example"]}'
expect 200 "PATCH AIA"
[ "$(jget '.data.issuing_certificates | join(" ")')" = "http://a.example/ca http://b.example/ca" ] &&
    [ "$(jget '.data.ocsp_servers[0]')" = http://ocsp.example ] && [ "$(jget .data.usage)" = "read-only,issuing-certificates" ] ||
    { show "$RESP"; die "PATCH AIA"; }
api PATCH pki/issuer/int-x1 '{"manual_chain":"self,root-x1"}'
expect 200 "PATCH manual_chain"
[ "$(jget '.data.manual_chain | join(",")')" = "$INT,$ROOT" ] && [ "$(jget '.data.ca_chain | length')" = 2 ] ||
    { show "$RESP"; die "manual_chain resolved to ids"; }
api PATCH pki/issuer/int-x1 '{"some_unknown_field":1}'
expect 200 "PATCH with an unknown field"
jget '.warnings | join(" ")' >"$W/msg"
expect_grep "$W/msg" "some_unknown_field" "the unknown field is named in a warning"
api POST pki/issuer/int-x1 '{"leaf_not_after_behavior":"permit"}'
expect 200 "POST overwrites"
[ "$(jget .data.issuer_name)" = "" ] && [ "$(jget .data.leaf_not_after_behavior)" = permit ] &&
    [ "$(jget .data.usage)" = "read-only,issuing-certificates,crl-signing,ocsp-signing" ] &&
    [ "$(jget .data.manual_chain)" = null ] && [ "$(jget '.data.issuing_certificates | length')" = 0 ] &&
    [ "$(jget '.data.ocsp_servers | length')" = 0 ] || { show "$RESP"; die "POST did not reset absent fields to the defaults"; }
jget '.warnings | join(" ")' >"$W/msg"
expect_grep "$W/msg" "issuer_name" "POST warns that the name went"
api GET pki/issuer/int-x1
expect 404 "the name is gone after POST without issuer_name"
api POST "pki/issuer/$INT" '{"issuer_name":"int-x1"}'
expect 200 "POST the name back"
[ "$(jget .data.leaf_not_after_behavior)" = err ] || { show "$RESP"; die "POST: leaf_not_after_behavior default"; }
api PUT pki/issuer/int-x1 '{"issuer_name":"int-x1","usage":["read-only","issuing-certificates","crl-signing","ocsp-signing"]}'
expect 200 "PUT (as POST) with usage as an array"
pass "PATCH merges (usage, AIA, manual_chain with self); POST/PUT overwrite with OpenBao's defaults"

# ---- bad input: 400 naming the field, and nothing changes ----
snapshot int-x1 "$W/before"
bad() {
    api "$1" pki/issuer/int-x1 "$2"
    expect_error 400 "$3" "$1 $2"
}
bad PATCH '{"usage":"read-only,bogus"}' "usage.*bogus"
bad PATCH '{"leaf_not_after_behavior":"later"}' "leaf_not_after_behavior"
bad PATCH '{"revocation_signature_algorithm":"MD5WithRSA"}' "revocation_signature_algorithm"
bad PATCH '{"issuer_name":"root-x1"}' "root-x1"
bad PATCH '{"issuer_name":"default"}' "default"
bad PATCH '{"manual_chain":"root-x1"}' "manual_chain"
bad PATCH '{"manual_chain":"self,no-such-issuer"}' "manual_chain"
bad PATCH '{"issuing_certificates":"{{cluster_aia_path}}/ca"}' "issuing_certificates"
bad PATCH '{"crl_distribution_points":"ftp://x.example/crl"}' "crl_distribution_points"
bad PATCH '{"delta_crl_distribution_points":"http://x.example/delta"}' "delta_crl_distribution_points"
bad PATCH '{"enable_aia_url_templating":"maybe"}' "enable_aia_url_templating"
bad PATCH '{"usage":7}' "usage"
bad POST '{"issuer_name":"int-x1","usage":"x"}' "usage"
bad POST '{"issuer_name":"int-x1",' "JSON|json|parse|invalid"
snapshot int-x1 "$W/after"
cmp -s "$W/before" "$W/after" || { diff "$W/before" "$W/after" >&2 || true; die "refused writes changed the issuer"; }
api PATCH pki/issuer/no-such-issuer '{"usage":"read-only"}'
expect 404 "PATCH unknown issuer"
TOKEN='' api PATCH pki/issuer/int-x1 '{"usage":"read-only"}'
expect 403 "PATCH without a token"
# Templated AIA URLs are fine with templating on.
api PATCH pki/issuer/int-x1 '{"enable_aia_url_templating":true,"issuing_certificates":"{{cluster_aia_path}}/issuer/{{issuer_id}}/der"}'
expect 200 "templated AIA with templating on"
[ "$(jget .data.enable_aia_url_templating)" = true ] || { show "$RESP"; die "enable_aia_url_templating"; }
pass "bad usage/behaviour/algorithm/name/chain/URLs/types refused with 400 naming the field; issuer unchanged; 404; 403"

# ---- DELETE ----
TOKEN='' api DELETE pki/issuer/int-x1
expect 403 "DELETE without a token"
api DELETE pki/issuer/int-x1
expect 204 "DELETE a non-default issuer"
api DELETE pki/issuer/int-x1
expect 204 "DELETE an issuer that is gone (OpenBao: no error)"
fetch "pki/issuer/$INT/der" "$W/b"
expect 404 "the deleted issuer's der"
api GET "pki/key/$INT_KEY"
expect 200 "deleting an issuer keeps its key"
TOKEN='' api LIST pki/issuers
[ "$(jget '.data.keys | join(",")')" = "$ROOT" ] || { show "$RESP"; die "LIST after delete"; }
api DELETE pki/issuer/root-x1
expect 200 "DELETE the default issuer answers with a warning"
jget '.warnings[0] // ""' >"$W/msg"
expect_grep "$W/msg" "default issuer" "warning on deleting the default issuer"
api GET pki/config/issuers
[ "$(jget .data.default)" = "" ] || { show "$RESP"; die "config/issuers still names the deleted default"; }
TOKEN='' api LIST pki/issuers
expect 404 "LIST issuers of an empty mount"
fetch pki/issuer/default/der "$W/b"
expect 404 "issuer/default/der with no default"
pass "DELETE: 204, again 204, key kept, default deleted with a warning and config/issuers cleared"

daemon_stop
DAEMON_PID=
pass "test_api_issuers"
