#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# CA and certificate reads and the mount configuration through the real
# daemon (hsmcad -dev): ca, ca/pem, ca_chain, cert/ca, cert/ca_chain,
# cert/:serial(/raw(/pem)) without a token (serials in colon, hyphen and
# upper-case forms), LIST certs with after/limit, If-Modified-Since on the
# CA reads; config/urls and config/cluster (merging writes, and what they put
# into new certificates), config/issuers and config/keys. Judges: openssl
# x509/verify and GnuTLS certtool.
#
# env (set by tests/api.cmake): HSMCAD, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
. "$(dirname "$0")/../lib/daemon.sh"
need_env HSMCAD
need_tool curl jq openssl certtool

W=$(workdir api_certs_config)
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
expect_type() {
    [ "$(header Content-Type)" = "$1" ] || { cat "$W/hdr" >&2; die "$2: Content-Type '$(header Content-Type)', expected $1"; }
}
der_of() {
    openssl x509 -in "$1" -outform DER 2>/dev/null
}

# ---- an empty mount ----
for p in ca ca/pem ca_chain; do
    fetch "pki/$p" "$W/b"
    expect 204 "$p before any issuer (OpenBao: empty 204)"
    [ ! -s "$W/b" ] || die "$p: 204 with a body"
done
for p in cert/ca cert/ca_chain; do
    fetch "pki/$p" "$W/b"
    expect 404 "$p before any issuer"
done
api LIST pki/certs
expect 404 "LIST certs of an empty mount"
pass "an empty mount: raw CA reads 204, JSON CA reads 404, LIST certs 404"

# ---- config/urls ----
api GET pki/config/urls
expect 200 "GET config/urls (never set)"
[ "$(jq -cS .data "$RESP")" = '{"crl_distribution_points":[],"delta_crl_distribution_points":[],"enable_templating":false,"issuing_certificates":[],"ocsp_servers":[]}' ] ||
    { show "$RESP"; die "config/urls defaults"; }
api POST pki/config/urls '{"issuing_certificates":"http://aia.example/ca.der, http://aia2.example/ca.der","crl_distribution_points":["http://crl.example/ca.crl"]}'
expect 200 "POST config/urls"
[ "$(jget '.data.issuing_certificates | join(" ")')" = "http://aia.example/ca.der http://aia2.example/ca.der" ] &&
    [ "$(jget '.data.crl_distribution_points | join(" ")')" = http://crl.example/ca.crl ] || { show "$RESP"; die "POST config/urls answer"; }
api POST pki/config/urls '{"ocsp_servers":"http://ocsp.example"}'
expect 200 "POST config/urls, one field"
[ "$(jget '.data.issuing_certificates | length')" = 2 ] && [ "$(jget '.data.ocsp_servers[0]')" = http://ocsp.example ] ||
    { show "$RESP"; die "config/urls: a write of one field must keep the others"; }
api POST pki/config/urls '{"ocsp_servers":""}'
[ "$(jget '.data.ocsp_servers | length')" = 0 ] && [ "$(jget '.data.crl_distribution_points | length')" = 1 ] ||
    { show "$RESP"; die "config/urls: a blank string clears one list"; }
api GET pki/config/urls
jq -cS .data "$RESP" >"$W/urls.before"
api POST pki/config/urls '{"ocsp_servers":"{{cluster_path}}/ocsp"}'
expect_error 400 "ocsp_servers.*template" "a template without enable_templating"
api POST pki/config/urls '{"crl_distribution_points":"file:///etc/passwd"}'
expect_error 400 "crl_distribution_points" "a non-http URL"
api POST pki/config/urls '{"enable_templating":"perhaps"}'
expect_error 400 "enable_templating" "enable_templating not a boolean"
TOKEN='' api POST pki/config/urls '{"ocsp_servers":"http://x.example"}'
expect 403 "config/urls without a token"
api GET pki/config/urls
jq -cS .data "$RESP" | cmp -s - "$W/urls.before" || die "refused config/urls writes changed it"
pass "config/urls: defaults, merging writes, blank clears, bad URLs and templates refused (unchanged), 403"

# ---- config/cluster ----
api GET pki/config/cluster
[ "$(jq -cS .data "$RESP")" = '{"aia_path":"","path":""}' ] || { show "$RESP"; die "config/cluster defaults"; }
api POST pki/config/cluster '{"path":"https://ca.example:8200/v1/pki"}'
expect 200 "POST config/cluster path"
api POST pki/config/cluster '{"aia_path":"http://cdn.example/pki"}'
expect 200 "POST config/cluster aia_path"
[ "$(jget .data.path)" = https://ca.example:8200/v1/pki ] && [ "$(jget .data.aia_path)" = http://cdn.example/pki ] ||
    { show "$RESP"; die "config/cluster: writes merge"; }
api POST pki/config/cluster '{"path":"not a url"}'
expect_error 400 "path" "config/cluster path not a URL"
api POST pki/config/cluster '{"aia_path":"http://"}'
expect_error 400 "aia_path" "config/cluster aia_path without a host"
api GET pki/config/cluster
[ "$(jget .data.path)" = https://ca.example:8200/v1/pki ] || { show "$RESP"; die "refused cluster write changed it"; }
pass "config/cluster: defaults, merging writes, bad URLs refused"

# ---- a root, its AIA from config/urls ----
api POST pki/root/generate/internal '{"common_name":"hsmca certs root","issuer_name":"root","key_type":"ec","key_name":"root-key"}'
expect 200 "root/generate/internal"
ROOT=$(jget .data.issuer_id)
ROOT_KEY=$(jget .data.key_id)
ROOT_SERIAL=$(jget .data.serial_number)
jget .data.certificate >"$W/root.pem"
openssl x509 -in "$W/root.pem" -noout -text >"$W/root.txt"
expect_grep "$W/root.txt" "CA Issuers - URI:http://aia.example/ca.der" "config/urls issuing_certificates in the root"
expect_grep "$W/root.txt" "URI:http://crl.example/ca.crl" "config/urls crl_distribution_points in the root"
# Templated URLs: expanded from config/cluster and the issuer id.
api POST pki/config/urls '{"enable_templating":true,"issuing_certificates":"{{cluster_aia_path}}/issuer/{{issuer_id}}/der"}'
expect 200 "templated config/urls"
api POST pki/roles/web '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","ttl":"24h"}'
expect 200 "role web"
api POST pki/issue/web '{"common_name":"templ.example.com"}'
expect 200 "issue with templated AIA"
jget .data.certificate | openssl x509 -noout -text >"$W/leaf.txt"
expect_grep "$W/leaf.txt" "CA Issuers - URI:http://cdn.example/pki/issuer/$ROOT/der" "templated AIA expanded in a leaf"
api POST pki/config/urls '{"enable_templating":false,"issuing_certificates":""}'
expect 200 "templating off again"
pass "config/urls and config/cluster reach new certificates (plain and templated AIA)"

# ---- CA reads ----
fetch pki/ca "$W/ca.der"
expect 200 "ca"
expect_type application/pkix-cert "ca"
der_of "$W/root.pem" | cmp -s - "$W/ca.der" || die "ca is not the root's DER"
openssl x509 -inform DER -in "$W/ca.der" -noout >/dev/null || die "ca does not parse as DER"
fetch pki/ca/pem "$W/ca.pem"
expect 200 "ca/pem"
expect_type application/pem-certificate-chain "ca/pem"
der_of "$W/ca.pem" | cmp -s - "$W/ca.der" || die "ca/pem differs from ca"
fetch pki/cert/ca/raw "$W/b"
cmp -s "$W/b" "$W/ca.der" || die "cert/ca/raw differs from ca"
fetch pki/cert/ca/raw/pem "$W/b"
der_of "$W/b" | cmp -s - "$W/ca.der" || die "cert/ca/raw/pem differs from ca"
fetch pki/cert/ca "$W/b"
expect 200 "cert/ca"
jq -r .data.certificate "$W/b" >"$W/certca.pem"
der_of "$W/certca.pem" | cmp -s - "$W/ca.der" || die "cert/ca certificate differs"
[ "$(jq -r .data.revocation_time "$W/b")" = 0 ] || { show "$W/b"; die "cert/ca revocation_time"; }
LM=$(header Last-Modified)
[ -n "$LM" ] || die "no Last-Modified on cert/ca"
sleep 1
for p in ca ca/pem cert/ca ca_chain cert/ca_chain; do
    fetch "pki/$p" "$W/b" -H "If-Modified-Since: $LM"
    expect 304 "$p with If-Modified-Since = Last-Modified"
    [ ! -s "$W/b" ] || die "$p: 304 with a body"
done
pass "ca, ca/pem, cert/ca, cert/ca/raw(/pem): the root, right types; 304 with If-Modified-Since"

# ---- an intermediate becomes the default: ca_chain ----
api POST pki/intermediate/generate/internal '{"common_name":"hsmca certs intermediate","key_type":"ec","key_name":"int-key"}'
expect 200 "intermediate/generate/internal"
body=$(jq -n --arg c "$(jget .data.csr)" '{csr: $c, common_name: "hsmca certs intermediate", ttl: "720h"}')
api POST pki/root/sign-intermediate "$body"
expect 200 "root/sign-intermediate"
INT_SERIAL=$(jget .data.serial_number)
jget .data.certificate >"$W/int.pem"
body=$(jq '{certificate: .data.certificate}' "$RESP")
api POST pki/intermediate/set-signed "$body"
expect 200 "intermediate/set-signed"
INT=$(jget '.data.imported_issuers[0]')
api POST pki/config/issuers "{\"default\":\"$INT\"}"
expect 200 "default -> intermediate"
[ "$(jget .data.default)" = "$INT" ] && [ "$(jget .data.default_follows_latest_issuer)" = false ] ||
    { show "$RESP"; die "config/issuers answer"; }
fetch pki/ca "$W/b" -H "If-Modified-Since: $LM"
expect 200 "ca after the default moved (same If-Modified-Since)"
der_of "$W/int.pem" | cmp -s - "$W/b" || die "ca is not the new default"
fetch pki/ca_chain "$W/chain.pem"
expect 200 "ca_chain"
expect_type application/pkix-cert "ca_chain (OpenBao's label for this PEM body)"
[ "$(grep -c 'BEGIN CERTIFICATE' "$W/chain.pem")" = 2 ] || { show "$W/chain.pem"; die "ca_chain: 2 certificates"; }
openssl verify -CAfile "$W/root.pem" "$W/int.pem" >"$W/v" 2>&1 || { show "$W/v"; die "openssl verify intermediate"; }
certtool --verify-chain --infile "$W/chain.pem" >"$W/v" 2>&1 || { show "$W/v"; die "certtool rejects ca_chain"; }
grep -q "Chain verification output: Verified" "$W/v" || { show "$W/v"; die "certtool did not verify ca_chain"; }
awk '/BEGIN CERTIFICATE/ { n++ } n == 1' "$W/chain.pem" >"$W/first.pem"
der_of "$W/int.pem" >"$W/int.der"
der_of "$W/first.pem" | cmp -s - "$W/int.der" || die "ca_chain does not start with the default issuer"
fetch pki/cert/ca_chain "$W/b"
expect 200 "cert/ca_chain"
jq -j .data.ca_chain "$W/b" | cmp -s - "$W/chain.pem" || die "cert/ca_chain .ca_chain differs from ca_chain"
jq -j .data.certificate "$W/b" | cmp -s - "$W/chain.pem" || die "cert/ca_chain .certificate differs from ca_chain"
api POST pki/config/issuers '{"default":"root"}'
expect 200 "default -> root by name"
[ "$(jget .data.default)" = "$ROOT" ] || { show "$RESP"; die "config/issuers stores the id"; }
pass "ca_chain and cert/ca_chain: default first, verifies (openssl, certtool); ca follows the default despite If-Modified-Since"

# ---- certificates by serial ----
n=0
while [ $n -lt 5 ]; do
    api POST pki/issue/web "{\"common_name\":\"h$n.example.com\"}"
    expect 200 "issue h$n"
    n=$((n + 1))
done
LEAF_SERIAL=$(jget .data.serial_number)
jget .data.certificate >"$W/leaf.pem"
der_of "$W/leaf.pem" >"$W/leaf.der"
upper=$(printf '%s' "$LEAF_SERIAL" | tr 'a-f' 'A-F')
hyphen=$(printf '%s' "$LEAF_SERIAL" | tr ':' '-')
for s in "$LEAF_SERIAL" "$hyphen" "$upper"; do
    TOKEN='' api GET "pki/cert/$s"
    expect 200 "cert/$s without a token"
    [ "$(jget .data.issuer_id)" = "$ROOT" ] && [ "$(jget .data.revocation_time)" = 0 ] &&
        [ "$(jget .data.revocation_time_rfc3339)" = "" ] || { show "$RESP"; die "cert/$s fields"; }
    jget .data.certificate | openssl x509 -outform DER | cmp -s - "$W/leaf.der" ||
        die "cert/$s is not the issued certificate"
done
fetch "pki/cert/$hyphen/raw" "$W/raw.der"
expect 200 "cert/:serial/raw"
expect_type application/pkix-cert "cert/:serial/raw"
openssl x509 -inform DER -in "$W/raw.der" -noout -serial >"$W/s" || die "cert/:serial/raw is not DER"
want=$(printf '%s' "$LEAF_SERIAL" | tr -d ':' | tr 'a-f' 'A-F')
expect_grep "$W/s" "serial=0*$want\$" "cert/:serial/raw has that serial"
cmp -s "$W/raw.der" "$W/leaf.der" || die "cert/:serial/raw differs from the issued certificate"
fetch "pki/cert/$LEAF_SERIAL/raw/pem" "$W/raw.pem"
expect 200 "cert/:serial/raw/pem"
expect_type application/pem-certificate-chain "cert/:serial/raw/pem"
der_of "$W/raw.pem" | cmp -s - "$W/leaf.der" || die "cert/:serial/raw/pem differs"
openssl verify -CAfile "$W/root.pem" "$W/raw.pem" >"$W/v" 2>&1 || { show "$W/v"; die "the leaf does not verify"; }
for p in "cert/01:02:03:04" "cert/01:02:03:04/raw" "cert/01:02:03:04/raw/pem"; do
    fetch "pki/$p" "$W/b"
    expect 404 "$p (unknown serial)"
done
TOKEN='' api GET "pki/cert/zz:01"
expect_error 400 "serial" "a serial that is not hex"
fetch "pki/cert/zz:01/raw" "$W/b"
expect 400 "cert/zz:01/raw"
pass "cert/:serial(/raw(/pem)) without a token in colon, hyphen and upper-case forms; 404 unknown, 400 malformed"

# ---- LIST certs ----
TOKEN='' api LIST pki/certs
expect 403 "LIST certs needs a token"
api LIST pki/certs
expect 200 "LIST certs"
jget '.data.keys[]' >"$W/all"
[ "$(wc -l <"$W/all")" = 8 ] || { show "$RESP"; die "LIST certs: root, intermediate, 6 leaves = 8"; }
for s in "$ROOT_SERIAL" "$INT_SERIAL" "$LEAF_SERIAL"; do
    grep -qx "$s" "$W/all" || { show "$RESP"; die "LIST certs lacks $s"; }
done
: >"$W/paged"
after=
pages=0
while :; do
    api LIST "pki/certs?limit=3${after:+&after=$after}"
    [ "$STATUS" = 404 ] && break
    expect 200 "LIST certs page"
    [ "$(jget '.data.keys | length')" -le 3 ] || { show "$RESP"; die "a page longer than limit"; }
    jget '.data.keys[]' >>"$W/paged"
    after=$(jget '.data.keys[-1]')
    pages=$((pages + 1))
    [ $pages -le 10 ] || die "LIST certs pagination does not end"
done
[ $pages = 3 ] || die "8 certificates in pages of 3 should take 3 pages, took $pages"
cmp -s "$W/paged" "$W/all" || { diff "$W/paged" "$W/all" >&2 || true; die "the pages do not make the whole list"; }
[ "$(sort -u "$W/paged" | wc -l)" = 8 ] || die "pages repeat serials"
api LIST "pki/certs?after=00:00:01&limit=0"
expect 200 "LIST certs after a serial that does not exist"
jget '.data.keys[]' | cmp -s - "$W/all" || die "after a serial that does not exist, limit=0: all"
api LIST "pki/certs?after=not-a-serial"
expect_error 400 "after" "after that is no serial"
api LIST "pki/certs?limit=-1"
expect_error 400 "limit" "negative limit"
pass "LIST certs: token needed, all 8, pages of 3 via after/limit make the whole list, bad after/limit 400"

# ---- config/issuers and config/keys ----
api GET pki/config/issuers
[ "$(jget .data.default)" = "$ROOT" ] && [ "$(jget .data.default_follows_latest_issuer)" = false ] ||
    { show "$RESP"; die "GET config/issuers"; }
api POST pki/config/issuers '{"default":"no-such-issuer"}'
expect_error 400 "default" "an unknown default issuer"
api POST pki/config/issuers '{"default":"default"}'
expect_error 400 "default" "default 'default'"
api POST pki/config/issuers '{"default_follows_latest_issuer":true}'
expect_error 400 "default" "config/issuers without default (OpenBao requires it)"
api GET pki/config/issuers
[ "$(jget .data.default)" = "$ROOT" ] || { show "$RESP"; die "refused writes changed the default issuer"; }
api POST pki/config/issuers "{\"default\":\"$ROOT\",\"default_follows_latest_issuer\":\"true\"}"
expect 200 "default_follows_latest_issuer on"
[ "$(jget .data.default_follows_latest_issuer)" = true ] || { show "$RESP"; die "follows flag"; }
api POST pki/root/generate/internal '{"common_name":"hsmca certs root 2","issuer_name":"root2","key_type":"ec"}'
expect 200 "a second root"
ROOT2=$(jget .data.issuer_id)
api GET pki/config/issuers
[ "$(jget .data.default)" = "$ROOT2" ] && [ "$(jget .data.default_follows_latest_issuer)" = true ] ||
    { show "$RESP"; die "the default did not follow the new root"; }
api POST pki/config/issuers '{"default":"root"}'
expect 200 "default back to root, flag kept"
[ "$(jget .data.default_follows_latest_issuer)" = true ] || { show "$RESP"; die "a write without the flag must keep it"; }
# A key-less issuer as default: OpenBao's warning.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ext.key" -out "$W/ext.pem" \
    -subj "/CN=external CA" -days 30 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
body=$(jq -n --rawfile p "$W/ext.pem" '{pem_bundle: $p}')
api POST pki/issuers/import/cert "$body"
expect 200 "import a key-less CA certificate"
EXT=$(jget '.data.imported_issuers[0]')
api POST pki/config/issuers "{\"default\":\"$EXT\",\"default_follows_latest_issuer\":false}"
expect 200 "a key-less default"
jget '.warnings[0] // ""' >"$W/msg"
expect_grep "$W/msg" "no key" "warning for a key-less default issuer"
api POST pki/config/issuers '{"default":"root"}'
expect 200 "default back to root"
TOKEN='' api GET pki/config/issuers
expect 403 "config/issuers needs a token"

api GET pki/config/keys
[ "$(jget .data.default)" = "$ROOT_KEY" ] || { show "$RESP"; die "GET config/keys: the first key is the default"; }
api POST pki/config/keys '{"default":"int-key"}'
expect 200 "config/keys by name"
INT_KEY=$(jget .data.default)
api GET pki/key/int-key
[ "$(jget .data.key_id)" = "$INT_KEY" ] || { show "$RESP"; die "config/keys stores the id of the named key"; }
api GET pki/key/default
[ "$(jget .data.key_id)" = "$INT_KEY" ] || { show "$RESP"; die "key/default follows config/keys"; }
api POST pki/config/keys '{"default":"no-such-key"}'
expect_error 400 "default" "an unknown default key"
api POST pki/config/keys '{}'
expect_error 400 "default" "config/keys without default"
api GET pki/config/keys
[ "$(jget .data.default)" = "$INT_KEY" ] || { show "$RESP"; die "refused writes changed the default key"; }
pass "config/issuers (ids, follows-latest, key-less warning, 400s) and config/keys (by name, 400s)"

daemon_stop
DAEMON_PID=
pass "test_api_certs_config"
