#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Login to the TLS certificate auth method over mutual TLS with curl
# --cert/--key against the real daemon (-dev-tls), with certificates made
# by openssl: every role constraint positive and negative, CRLs (also
# right after a restart), token use and renewal bound to the login's
# certificate, source-address binding on 127.0.0.2 vs 127.0.0.1, and the
# regression tests for CVE-2024-2048, CVE-2025-6037, CVE-2026-39388 and
# CVE-2022-41316. Every refusal is 403 "permission denied" for the client,
# with the reason in the audit log.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD
need_tool curl jq openssl

W=$(workdir api_cert_login)
daemon_start_dev "$W/dev" -dev-tls
case $ADDR in https:*) ;; *) die "-dev-tls did not give an https address: $ADDR" ;; esac

# ---- certificates (openssl) ----
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# mkca NAME SUBJECT [extra -addext]
mkca() {
    key "$W/$1.key"
    openssl req -x509 -new -key "$W/$1.key" -out "$W/$1.pem" -subj "$2" -days 30 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "${@:3}" 2>/dev/null ||
        die "mkca $1"
}
# leaf NAME CA SUBJECT SERIAL EXTS [KEY]: a leaf signed by CA.
leaf() {
    _k=${6:-$W/$1.key}
    [ -f "$_k" ] || key "$_k"
    printf '%b\n' "$5" >"$W/$1.ext"
    openssl req -new -key "$_k" -subj "$3" -out "$W/$1.csr" 2>/dev/null
    openssl x509 -req -in "$W/$1.csr" -CA "$W/$2.pem" -CAkey "$W/$2.key" -set_serial "$4" -days 5 \
        -extfile "$W/$1.ext" -out "$W/$1.pem" 2>/dev/null || die "leaf $1"
    [ "$_k" = "$W/$1.key" ] || cp "$_k" "$W/$1.key"
}
CLIENT='basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
key "$W/ca.key"
openssl req -x509 -new -key "$W/ca.key" -out "$W/ca.pem" -subj /CN=login-ca -days 30 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
key "$W/other.key"
openssl req -x509 -new -key "$W/other.key" -out "$W/other.pem" -subj /CN=other-ca -days 30 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
# a forger's CA: same subject and same key identifier as login-ca, another key
ski=$(openssl x509 -in "$W/ca.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :')
key "$W/forge.key"
openssl req -x509 -new -key "$W/forge.key" -out "$W/forge.pem" -subj /CN=login-ca -days 30 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -addext "subjectKeyIdentifier=$ski" 2>/dev/null

leaf good ca /O=acme/OU=eng/CN=a.example.com 0x1001 \
    "$CLIENT\nsubjectAltName=DNS:a.example.com,email:ops@example.com,URI:spiffe://example/web\n1.2.3.4=ASN1:UTF8String:prod-eu\n2.1.1.1=ASN1:UTF8String:team-a"
leaf sibling ca /O=acme/OU=eng/CN=a.example.com 0x1002 \
    "$CLIENT\nsubjectAltName=DNS:a.example.com,email:ops@example.com,URI:spiffe://example/web\n1.2.3.4=ASN1:UTF8String:prod-eu"
leaf deep ca /OU=eng/CN=a.b.example.com 0x1003 "$CLIENT\nsubjectAltName=DNS:a.b.example.com"
leaf server ca /OU=eng/CN=a.example.com 0x1004 \
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:a.example.com'
leaf untrusted other /OU=eng/CN=a.example.com 0x1005 "$CLIENT\nsubjectAltName=DNS:a.example.com"
# same serial and authority key id as "good", another key and another CA key
leaf forged forge /O=acme/OU=eng/CN=a.example.com 0x1001 \
    "$CLIENT\nsubjectAltName=DNS:a.example.com\n1.2.3.4=ASN1:UTF8String:prod-eu"
leaf subca ca /CN=sub-ca 0x1006 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,digitalSignature\nextendedKeyUsage=clientAuth'
printf '[req]\ndistinguished_name=dn\n[dn]\n' >"$W/bare.cnf"
openssl req -x509 -new -config "$W/bare.cnf" -key "$W/good.key" -out "$W/self.pem" -subj /CN=a.example.com -days 5 \
    -addext basicConstraints=CA:FALSE -addext extendedKeyUsage=clientAuth -addext subjectAltName=DNS:a.example.com \
    2>/dev/null
cp "$W/good.key" "$W/self.key"
# expired: openssl ca with explicit dates
mkdir -p "$W/cadb"
: >"$W/cadb/index.txt"
echo 2000 >"$W/cadb/serial"
echo 01 >"$W/cadb/crlnumber"
cat >"$W/ca.cnf" <<CNF
[ca]
default_ca = c
[c]
database = $W/cadb/index.txt
serial = $W/cadb/serial
crlnumber = $W/cadb/crlnumber
new_certs_dir = $W/cadb
default_md = sha256
default_crl_days = 1
policy = any
unique_subject = no
[any]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = DNS:a.example.com
CNF
key "$W/expired.key"
openssl req -new -key "$W/expired.key" -subj /CN=a.example.com -out "$W/expired.csr" 2>/dev/null
openssl ca -batch -config "$W/ca.cnf" -cert "$W/ca.pem" -keyfile "$W/ca.key" -in "$W/expired.csr" \
    -out "$W/expired.pem" -startdate 20200101000000Z -enddate 20200201000000Z -extensions ext -notext 2>/dev/null ||
    die "expired certificate"
# a NUL inside the CN ("a.example.com\0.evil"): openssl's config cannot
# write one, so the DER of a cert with a same-length CN is patched and
# re-signed by openssl.
leaf nulcn ca "/CN=a.example.comX.evil" 0x1007 "$CLIENT"
openssl x509 -in "$W/nulcn.pem" -outform DER -out "$W/nulcn.der"
python3 - "$W" <<'PY' || die "NUL CN fixture"
import sys, subprocess
w = sys.argv[1]
tbs_hex = subprocess.run(["openssl", "asn1parse", "-in", w + "/nulcn.der", "-inform", "DER", "-strparse", "4",
                          "-noout", "-out", w + "/nulcn.tbs"], check=True)
tbs = open(w + "/nulcn.tbs", "rb").read()
tbs = tbs.replace(b"a.example.comX.evil", b"a.example.com\x00.evil")
open(w + "/nulcn.tbs", "wb").write(tbs)
PY
openssl asn1parse -in "$W/nulcn.der" -inform DER >/dev/null
# re-sign the patched TBS with the CA key and rebuild the certificate
openssl dgst -sha256 -sign "$W/ca.key" -out "$W/nulcn.sig" "$W/nulcn.tbs"
python3 - "$W" <<'PY' || die "NUL CN assembly"
import sys
w = sys.argv[1]
def tlv(tag, body):
    n = len(body)
    if n < 128: l = bytes([n])
    elif n < 256: l = bytes([0x81, n])
    else: l = bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + l + body
tbs = open(w + "/nulcn.tbs", "rb").read()
sig = open(w + "/nulcn.sig", "rb").read()
alg = bytes.fromhex("300a06082a8648ce3d040302")
open(w + "/nulcn.der", "wb").write(tlv(0x30, tbs + alg + tlv(0x03, b"\x00" + sig)))
PY
openssl x509 -inform DER -in "$W/nulcn.der" -out "$W/nulcn.pem"
openssl verify -CAfile "$W/ca.pem" "$W/nulcn.pem" >/dev/null 2>&1 || die "NUL CN fixture does not verify"

# ---- the method ----
api_ok POST sys/auth/cert '{"type":"cert"}'
capem=$(jq -Rs . "$W/ca.pem")
api_ok POST sys/policies/acl/reader "$(jq -n '{policy: ({path: {"pki/ca/pem": {capabilities: ["read"]},
    "auth/cert/certs/*": {capabilities: ["read"]}}} | tojson)}')"
role() { api_ok POST "auth/cert/certs/$1" "$2" 204; }
role web "$(jq -n --argjson c "$capem" '{certificate:$c, token_policies:"reader", token_ttl:"1h",
    display_name:"web"}')"

# login NAME CERT [EXTRA-CURL]: POST auth/cert/login as CERT; status in $STATUS.
login() {
    _body=$( [ -n "$1" ] && printf '{"name":"%s"}' "$1" || printf '{}')
    # shellcheck disable=SC2086
    STATUS=$(curl -s -o "$RESP" -w '%{http_code}' $CURL_TLS --cert "$W/$2.pem" --key "$W/$2.key" ${3:-} \
        -X POST --data-binary "$_body" "$ADDR/v1/auth/cert/login") || STATUS=000
}
ok_login() {
    login "$@"
    [ "$STATUS" = 200 ] || { show "$RESP"; die "login $1 as $2: status $STATUS, expected 200"; }
}
no_login() { # no_login ROLE CERT REASON-IN-AUDIT [EXTRA-CURL]
    login "$1" "$2" "${4:-}"
    [ "$STATUS" = 403 ] || { show "$RESP"; die "login $1 as $2: status $STATUS, expected 403"; }
    [ "$(jq -c .errors "$RESP")" = '["permission denied"]' ] || { show "$RESP"; die "login $1 as $2: says more"; }
    grep -F "$3" "$DAEMON_DIR"/audit* 2>/dev/null | grep -q login_error ||
        grep -F "$3" "$DAEMON_LOG" | grep -q "certificate login refused" ||
        { tail -5 "$DAEMON_LOG"; die "login $1 as $2: reason '$3' not logged"; }
}

# ---- positive: token, policies, metadata, use ----
ok_login web good
T=$(jget .auth.client_token)
[ -n "$T" ] && [ "$T" != null ] || die "no client_token"
# the token a login hands out is never written to the audit log
! grep -qF "$T" "$DAEMON_DIR"/audit* 2>/dev/null || die "the login's client_token is in the audit log"
[ "$(jget '.auth.policies|join(",")')" = "default,reader" ] || { show "$RESP"; die "policies"; }
[ "$(jget '.auth.renewable')" = true ] || die "not renewable"
[ "$(jget '.auth.lease_duration')" = 3600 ] || die "lease_duration"
[ "$(jget '.auth.metadata.cert_name')" = web ] || die "metadata.cert_name"
[ "$(jget '.auth.metadata.common_name')" = a.example.com ] || die "metadata.common_name"
TOKEN=$T api_ok GET pki/ca/pem
TOKEN=$T api_ok GET sys/policies/acl/reader '' 403
# the same login from openssl s_client (an independent TLS stack's client certificate)
hp=${ADDR#https://}
printf 'POST /v1/auth/cert/login HTTP/1.1\r\nHost: %s\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{"name":"web"}\n' "$hp" |
    openssl s_client -quiet -connect "$hp" -CAfile "$DAEMON_DIR/tls-ca.pem" -cert "$W/good.pem" -key "$W/good.key" \
        2>/dev/null >"$W/s_client.out" || true
grep -q '"client_token":"s\.' "$W/s_client.out" || { cat "$W/s_client.out"; die "openssl s_client login"; }
# login without name tries every role
ok_login "" good
# no certificate: 400 as OpenBao
STATUS=$(curl -s -o "$RESP" -w '%{http_code}' $CURL_TLS -X POST --data-binary '{}' "$ADDR/v1/auth/cert/login")
[ "$STATUS" = 400 ] || die "login without a certificate: $STATUS"
# the token is stored hashed: its text is nowhere in the database
! grep -qa "$T" "$DAEMON_DIR"/*.db 2>/dev/null || die "token text found in the database"

# ---- a certificate issued by hsmcad itself (its PKI mount, key in the token) ----
api_ok POST pki/root/generate/internal '{"common_name":"hsm root","key_type":"ec","key_bits":256,"ttl":"100h"}'
jget .data.certificate >"$W/hsmroot.pem"
api_ok POST pki/roles/client '{"allowed_domains":"svc.example.com","allow_subdomains":true,"client_flag":true,"server_flag":false,"key_type":"ec","key_bits":256,"ttl":"1h"}'
api_ok POST pki/issue/client '{"common_name":"a.svc.example.com"}'
jget .data.certificate >"$W/hsmleaf.pem"
jget .data.private_key >"$W/hsmleaf.key"
openssl verify -CAfile "$W/hsmroot.pem" -purpose sslclient "$W/hsmleaf.pem" >/dev/null || die "hsmcad's client certificate"
role hsm "$(jq -n --rawfile c "$W/hsmroot.pem" '{certificate:$c, allowed_dns_sans:"*.svc.example.com", token_policies:"reader"}')"
ok_login hsm hsmleaf
[ "$(jget .auth.metadata.common_name)" = a.svc.example.com ] || die "hsmcad-issued login metadata"
no_login hsm good "role 'hsm'"
# revoked in hsmcad's PKI mount, its CRL pushed to the method: refused
api_ok POST pki/revoke "$(jq -n --arg s "$(openssl x509 -in "$W/hsmleaf.pem" -noout -serial | sed 's/serial=//;s/../&:/g;s/:$//' | tr A-F a-f)" '{serial_number:$s}')"
api_ok GET pki/crl/pem
cp "$RESP" "$W/hsmcrl.pem"
api_ok POST auth/cert/crls/hsm "$(jq -n --rawfile c "$W/hsmcrl.pem" '{crl:$c}')" 204
no_login hsm hsmleaf "revoked by CRL 'hsm'"
api_ok DELETE auth/cert/crls/hsm '' 204

# ---- refused certificates ----
no_login web untrusted "unable to get local issuer certificate"
no_login web self "self-signed certificate"
no_login web subca "is a CA certificate"
# the CA itself (keyCertSign only): the TLS handshake or the login refuses it
login web ca
[ "$STATUS" = 403 ] || [ "$STATUS" = 000 ] || { show "$RESP"; die "login as the CA: status $STATUS"; }
no_login web server "unsuitable certificate purpose"
no_login web expired "certificate has expired"
no_login web nulcn "holds a NUL"
no_login web forged "role 'web'"              # CVE-2024-2048, chain case
no_login nosuch good "no such role"

# ---- constraints ----
each() { # each FIELD VALUE-OK VALUE-BAD [CERT-BAD]
    api_ok DELETE auth/cert/certs/c "" 204 # writes merge: start from a fresh role
    role c "$(jq -n --argjson c "$capem" --arg f "$1" --argjson v "$2" '{certificate:$c} + {($f):$v}')"
    ok_login c good
    role c "$(jq -n --argjson c "$capem" --arg f "$1" --argjson v "$3" '{certificate:$c} + {($f):$v}')"
    no_login c "${4:-good}" "$1"
}
each allowed_common_names '"x.example.com, a.example.*"' '"b.example.com"'
each allowed_common_names '"*.example.com"' '"*.example.com"' deep  # '*' stays in one label
each allowed_dns_sans '["*.example.com"]' '["*.example.org"]'
each allowed_email_sans '"*@example.com"' '"root@example.com"'
each allowed_uri_sans '"spiffe://example/*"' '"spiffe://other/*"'
each allowed_organizational_units '"ops,eng"' '"ops"'
each required_extensions '"1.2.3.4:prod-*"' '"1.2.3.4:dev-*"'
each required_extensions '"1.2.3.4:*"' '"1.2.3.9:*"'
each allowed_names '"a.example.com"' '"b.example.com"'
# metadata extensions: dots -> dashes
role m "$(jq -n --argjson c "$capem" '{certificate:$c, allowed_metadata_extensions:"2.1.1.1,2.1.1.9"}')"
ok_login m good
[ "$(jget '.auth.metadata["2-1-1-1"]')" = team-a ] || { show "$RESP"; die "metadata extension"; }
[ "$(jget '.auth.metadata | has("2-1-1-9")')" = false ] || die "absent metadata extension listed"

# ---- pinned leaf: whole certificate, and names still checked ----
goodpem=$(jq -Rs . "$W/good.pem")
role pin "$(jq -n --argjson c "$goodpem" '{certificate:$c}')"
ok_login pin good
no_login pin sibling "role 'pin'"
no_login pin forged "role 'pin'"                 # CVE-2024-2048: same serial + AKID, other key
role pin "$(jq -n --argjson c "$goodpem" '{certificate:$c, allowed_common_names:"b.example.com"}')"
no_login pin good "allowed_common_names"         # CVE-2025-6037

# ---- source address binding ----
role cidr "$(jq -n --argjson c "$capem" '{certificate:$c, token_bound_cidrs:"127.0.0.2/32", token_policies:"reader"}')"
no_login cidr good "outside token_bound_cidrs"
ok_login cidr good "--interface 127.0.0.2"
# ... and the token stays bound on every later use (src/auth checks the
# address of each request): from 127.0.0.1 it is refused, from 127.0.0.2 not
TB=$(jget .auth.client_token)
use() { # use FROM-ADDR METHOD PATH [CURL-EXTRA]: $STATUS
    # shellcheck disable=SC2086
    STATUS=$(curl -s -o "$RESP" -w '%{http_code}' $CURL_TLS --interface "$1" ${4:-} -H "X-Vault-Token: $TB" \
        -X "$2" $( [ "$2" = POST ] && printf -- '--data-binary {}' ) "$ADDR/v1/$3") || STATUS=000
}
expect_use() { # expect_use STATUS FROM METHOD PATH [CURL-EXTRA]
    _want=$1; shift
    use "$@"
    [ "$STATUS" = "$_want" ] || { show "$RESP"; die "bound token: $2 $3 from $1: status $STATUS, expected $_want"; }
}
expect_use 200 127.0.0.2 GET auth/token/lookup-self
expect_use 403 127.0.0.1 GET auth/token/lookup-self
[ "$(jq -c .errors "$RESP")" = '["permission denied"]' ] || { show "$RESP"; die "bound token refusal says more"; }
expect_use 200 127.0.0.2 GET auth/cert/certs/web
expect_use 403 127.0.0.1 GET auth/cert/certs/web
expect_use 403 127.0.0.1 POST auth/token/renew-self "--cert $W/good.pem --key $W/good.key"
expect_use 200 127.0.0.2 POST auth/token/renew-self "--cert $W/good.pem --key $W/good.key"
grep -q "denied (token used outside its bound CIDRs)" "$DAEMON_LOG" || die "the bound-address refusal is not logged"
# a refused use spends none of a limited-use token's uses
role cidrn "$(jq -n --argjson c "$capem" '{certificate:$c, token_bound_cidrs:["127.0.0.2/32"], token_num_uses:2,
    token_policies:"reader"}')"
ok_login cidrn good "--interface 127.0.0.2"
TB=$(jget .auth.client_token)
expect_use 403 127.0.0.1 GET auth/cert/certs/web
expect_use 403 127.0.0.1 GET auth/cert/certs/web
expect_use 403 127.0.0.1 GET auth/cert/certs/web
expect_use 200 127.0.0.2 GET auth/cert/certs/web
expect_use 200 127.0.0.2 GET auth/cert/certs/web
expect_use 403 127.0.0.2 GET auth/cert/certs/web        # two uses, both spent from the right address
# token_strictly_bind_ip: bound to the very address of the login
role strict "$(jq -n --argjson c "$capem" '{certificate:$c, token_strictly_bind_ip:true, token_policies:"reader"}')"
ok_login strict good "--interface 127.0.0.2"
TB=$(jget .auth.client_token)
TB_STRICT2=$TB
expect_use 200 127.0.0.2 GET auth/cert/certs/web
expect_use 403 127.0.0.1 GET auth/cert/certs/web
ok_login strict good "--interface 127.0.0.1"
TB=$(jget .auth.client_token)
expect_use 200 127.0.0.1 GET auth/cert/certs/web
expect_use 403 127.0.0.2 GET auth/cert/certs/web

# ---- OCSP: an unreachable responder (the full client: test_api_cert_ocsp.sh) ----
role o "$(jq -n --argjson c "$capem" '{certificate:$c, ocsp_enabled:true, ocsp_servers_override:"http://127.0.0.1:9/"}')"
no_login o good "ocsp_fail_open is false"
role o "$(jq -n --argjson c "$capem" '{certificate:$c, ocsp_enabled:true, ocsp_fail_open:true}')"
ok_login o good

# ---- renewal bound to the login's certificate (CVE-2026-39388) ----
ok_login web good
T=$(jget .auth.client_token)
renew() { # renew CERT|none
    set -- "$1"
    _c=
    [ "$1" = none ] || _c="--cert $W/$1.pem --key $W/$1.key"
    # shellcheck disable=SC2086
    STATUS=$(curl -s -o "$RESP" -w '%{http_code}' $CURL_TLS $_c -H "X-Vault-Token: $T" -X POST \
        --data-binary '{}' "$ADDR/v1/auth/token/renew-self") || STATUS=000
}
renew good
[ "$STATUS" = 200 ] || { show "$RESP"; die "renewal with the login's certificate: $STATUS"; }
renew sibling
[ "$STATUS" = 403 ] || { show "$RESP"; die "renewal with a sibling certificate: $STATUS"; }
renew none
[ "$STATUS" = 403 ] || { show "$RESP"; die "renewal without a certificate: $STATUS"; }
api_ok POST auth/cert/config '{"disable_binding":true}' 204
renew sibling
[ "$STATUS" = 200 ] || { show "$RESP"; die "renewal with disable_binding: $STATUS"; }
api_ok POST auth/cert/config '{"disable_binding":false}' 204

# ---- CRL, also right after a restart (CVE-2022-41316) ----
openssl x509 -in "$W/good.pem" -noout -serial | grep -q '=1001$' || die "fixture serial"
printf 'R\t301231235959Z\t250101000000Z\t1001\tunknown\t/CN=a.example.com\n' >"$W/cadb/index.txt"
openssl ca -config "$W/ca.cnf" -gencrl -keyfile "$W/ca.key" -cert "$W/ca.pem" -out "$W/crl.pem" 2>/dev/null
api_ok POST auth/cert/crls/login-ca "$(jq -n --rawfile c "$W/crl.pem" '{crl:$c}')" 204
no_login web good "revoked by CRL 'login-ca'"
ok_login web sibling
daemon_stop
daemon_start_dev "$W/dev" -dev-tls
no_login web good "revoked by CRL 'login-ca'"
# the binding is in the stored token: still enforced after the restart
TB=$TB_STRICT2
expect_use 403 127.0.0.1 GET auth/cert/certs/web
expect_use 200 127.0.0.2 GET auth/cert/certs/web
api_ok DELETE auth/cert/crls/login-ca '' 204
ok_login web good

daemon_stop
echo "ok: certificate login"
