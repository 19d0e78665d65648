#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The OpenBao issuing endpoints through the real daemon (hsmcad -dev):
# issue/:role (the leaf key returned once, in every format, never stored),
# sign/:role with openssl CSRs, sign-verbatim, sign-self-issued (sudo) and
# the per-issuer variants, which must sign with the issuer the path names.
# Certificates are judged by openssl and GnuTLS certtool; bad input must
# get a 4xx naming the field and store nothing.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/api_pki_lib.sh"

need_tool curl jq openssl certtool pkcs11-tool od awk base64
W=$(workdir api_issue)
api_start "$W"
cd "$W"

# ---- two roots on the dev mount "pki": root-a (EC, default), root-b (RSA) ----
api POST pki/root/generate/internal "{\"common_name\":\"Root A\",\"key_type\":\"ec\",\"issuer_name\":\"root-a\",
    \"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root A"
data certificate >root-a.pem
api POST pki/root/generate/internal "{\"common_name\":\"Root B\",\"key_type\":\"rsa\",\"issuer_name\":\"root-b\",
    \"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root B"
data certificate >root-b.pem
api GET pki/config/issuers
[ "$(data default)" != "" ] || die "no default issuer"
for r in 'web {"allowed_domains":"example.com","allow_subdomains":true}' \
    'ecweb {"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","key_bits":384}' \
    'edweb {"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ed25519"}' \
    'leased {"allowed_domains":"example.com","allow_subdomains":true,"generate_lease":true,"key_type":"ec"}' \
    'any {"allow_any_name":true,"key_type":"any","use_csr_sans":true}'; do
    api POST "pki/roles/${r%% *}" "${r#* }"
    expect 200 "role ${r%% *}"
done

# ---- issue: RSA role, pem ----
api POST pki/issue/web '{"common_name":"www.example.com","alt_names":"a.example.com","ip_sans":"192.0.2.7","ttl":"2h"}'
expect 200 "issue/web"
data certificate >web.pem
data private_key >web.key
serial=$(data serial_number)
[ "$(data private_key_type)" = rsa ] || die "issue: private_key_type is not rsa"
head -n 1 web.key | grep -q 'BEGIN RSA PRIVATE KEY' || die "issue: private_key is not PKCS#1 PEM (der default)"
[ "$(pubkey_of web.key pkey)" = "$(pubkey_of web.pem)" ] || die "issue: the private key does not match the certificate"
[ "$(data issuing_ca)" = "$(cat root-a.pem)" ] || die "issue: issuing_ca is not root A"
jq -e --rawfile r root-a.pem '.data.ca_chain == [$r | rtrimstr("\n")]' "$RESP" >/dev/null || die "issue: ca_chain"
[ "$serial" = "$(serial_of web.pem)" ] || die "issue: serial_number"
[ "$(jq .data.expiration "$RESP")" = "$(not_after_of web.pem)" ] || die "issue: expiration"
[ "$(jget .lease_id)" = "" ] && [ "$(jget .lease_duration)" = 0 ] || die "issue: a lease without generate_lease"
openssl x509 -in web.pem -noout -ext subjectAltName >web.san
for n in DNS:www.example.com DNS:a.example.com 'IP Address:192.0.2.7'; do
    grep -q "$n" web.san || die "issue: SAN $n missing"
done
verified root-a.pem web.pem "issued certificate"
api GET "pki/cert/$serial"
expect 200 "the issued certificate is stored"
jq -e --arg s "$serial" 'select(.path == "pki/issue/web" and .details.serial_number == $s) |
    .details | .role == "web" and .common_name == "www.example.com" and (.issuer_id | length) == 36' \
    "$STATE/audit.log" >/dev/null || die "issue: no audit entry with serial, role, common_name and issuer_id"
grep -q "$(sed -n 2p web.key)" "$STATE/audit.log" && die "issue: the private key is in the audit log"
pass "issue/web: RSA key (PKCS#1) matches, chain verified, stored, audited by serial"

# ---- the leaf key is never stored: an EC key's scalar is nowhere in the database ----
api POST pki/issue/ecweb '{"common_name":"ec.example.com"}'
expect 200 "issue/ecweb"
data certificate >ec.pem
data private_key >ec.key
[ "$(data private_key_type)" = ec ] || die "issue ec: private_key_type"
head -n 1 ec.key | grep -q 'BEGIN EC PRIVATE KEY' || die "issue ec: private_key is not SEC1 PEM"
[ "$(pubkey_of ec.key pkey)" = "$(pubkey_of ec.pem)" ] || die "issue ec: key and certificate differ"
openssl x509 -in ec.pem -noout -text | grep -q 'NIST CURVE: P-384' || die "issue ec: key_bits 384 not used"
openssl ec -in ec.key -outform DER -out ec.sec1.der 2>/dev/null
sec1=$(hex_of ec.sec1.der)
case $sec1 in 3081a40201010430*) ;; *) die "unexpected SEC1 encoding of a P-384 key" ;; esac
scalar=$(echo "$sec1" | cut -c17-112)
openssl x509 -in ec.pem -outform DER -out ec.der
store_contains "$(hex_of ec.der | cut -c41-200)" || die "store_contains cannot find the issued certificate"
store_contains "$scalar" && die "the issued private key is in the SQLite database"
grep -q "$(sed -n 2p ec.key)" "$STATE/audit.log" && die "the EC private key is in the audit log"
verified root-a.pem ec.pem "EC leaf"
api POST pki/issue/edweb '{"common_name":"ed.example.com"}'
expect 200 "issue/edweb"
data certificate >ed.pem
data private_key >ed.key
[ "$(data private_key_type)" = ed25519 ] || die "issue ed25519: private_key_type"
head -n 1 ed.key | grep -q 'BEGIN PRIVATE KEY' || die "issue ed25519: private_key is not PKCS#8 PEM"
[ "$(pubkey_of ed.key pkey)" = "$(pubkey_of ed.pem)" ] || die "issue ed25519: key and certificate differ"
verified root-a.pem ed.pem "Ed25519 leaf"
pass "issue ec/ed25519: SEC1 / PKCS#8 keys that match; the key is in neither database nor audit log"

# ---- formats ----
api POST pki/issue/web '{"common_name":"p8.example.com","private_key_format":"pkcs8"}'
expect 200 "issue pkcs8"
data private_key >p8.key
head -n 1 p8.key | grep -q 'BEGIN PRIVATE KEY' || die "pkcs8: not PKCS#8 PEM"
data certificate >p8.pem
[ "$(pubkey_of p8.key pkey)" = "$(pubkey_of p8.pem)" ] || die "pkcs8: key and certificate differ"
api POST pki/issue/web '{"common_name":"der.example.com","format":"der"}'
expect 200 "issue der"
data certificate | base64 -d >der.crt
data private_key | base64 -d >der.key
data issuing_ca | base64 -d >der-ca.crt
jq -r '.data.ca_chain[0]' "$RESP" | base64 -d >der-chain0.crt
openssl x509 -inform DER -in der.crt -out der.pem || die "der: certificate is not base64 DER"
openssl rsa -inform DER -in der.key -noout 2>/dev/null || die "der: private_key is not base64 PKCS#1 DER"
[ "$(openssl pkey -inform DER -in der.key -pubout)" = "$(pubkey_of der.pem)" ] || die "der: key and certificate"
cmp -s der-ca.crt der-chain0.crt || die "der: issuing_ca and ca_chain[0] differ"
openssl x509 -inform DER -in der-ca.crt | cmp -s - root-a.pem || die "der: issuing_ca is not root A"
api POST pki/issue/web '{"common_name":"der8.example.com","format":"der","private_key_format":"pkcs8"}'
expect 200 "issue der pkcs8"
data private_key | base64 -d >der8.key
openssl pkey -inform DER -in der8.key -noout 2>/dev/null || die "der+pkcs8: not base64 PKCS#8 DER"
openssl rsa -inform DER -in der8.key -traditional -noout 2>/dev/null || die "der+pkcs8: unreadable"
od -An -tx1 -N32 der8.key | tr -d ' \n' | grep -q '020100300d06092a864886f70d010101' ||
    die "der+pkcs8: no PKCS#8 PrivateKeyInfo header"
api POST pki/issue/web '{"common_name":"bundle.example.com","format":"pem_bundle","private_key_format":"pkcs8"}'
expect 200 "issue pem_bundle"
data certificate >bundle.pem
[ "$(grep -c 'BEGIN CERTIFICATE' bundle.pem)" = 2 ] || die "pem_bundle: not leaf + root"
grep -q 'BEGIN RSA PRIVATE KEY' bundle.pem || die "pem_bundle: the key in the bundle is not PKCS#1"
data private_key | head -n 1 | grep -q 'BEGIN PRIVATE KEY' || die "pem_bundle: private_key ignores pkcs8"
openssl x509 -in bundle.pem -out bundle-leaf.pem
[ "$(pubkey_of bundle.pem pkey)" = "$(pubkey_of bundle-leaf.pem)" ] || die "pem_bundle: key and certificate"
api POST pki/issue/web '{"common_name":"noroot.example.com","remove_roots_from_chain":true}'
expect 200 "issue remove_roots_from_chain"
jq -e '.data | has("ca_chain") | not' "$RESP" >/dev/null || die "remove_roots_from_chain: the root is still there"
pass "formats: pkcs8, der (PKCS#1 and PKCS#8), pem_bundle, remove_roots_from_chain"

# ---- the issuer named in the path signs ----
api POST pki/issuer/root-b/issue/web '{"common_name":"b.example.com"}'
expect 200 "issuer/root-b/issue/web"
data certificate >b.pem
[ "$(data issuing_ca)" = "$(cat root-b.pem)" ] || die "issuer/root-b/issue: issuing_ca is not root B"
openssl x509 -in b.pem -noout -issuer | grep -q 'CN = Root B' || die "issuer/root-b/issue: not issued by root B"
verified root-b.pem b.pem "leaf of root B"
openssl verify -CAfile root-a.pem b.pem >/dev/null 2>&1 && die "root B's leaf verifies under root A (judge broken)"
pass "issuer/:ref/issue signs with the named issuer"

# ---- leases and ignored key parameters ----
api POST pki/issue/leased '{"common_name":"lease.example.com","ttl":"1h"}'
expect 200 "issue/leased"
case $(jget .lease_id) in pki/issue/leased/*-*-*-*-*) ;; *) die "generate_lease: lease_id $(jget .lease_id)" ;; esac
ld=$(jget .lease_duration)
[ "$ld" -gt 3500 ] && [ "$ld" -le 3600 ] || die "generate_lease: lease_duration $ld"
[ "$(jget .renewable)" = false ] || die "generate_lease: renewable"
api POST pki/issue/web '{"common_name":"kt.example.com","key_type":"ec","key_bits":256}'
expect 200 "issue with key_type on a fixed role"
has_warning "key_type and key_bits ignored" || die "no warning for ignored key_type/key_bits"
[ "$(data private_key_type)" = rsa ] || die "key_type of the request overrode the role's"
pass "generate_lease gives OpenBao's lease; key_type/key_bits ignored with a warning"

# ---- sign/:role with openssl CSRs ----
openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -subj "/CN=csr.example.com" -out rsa.csr 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ecc.key -subj "/CN=ecc.example.com" \
    -out ecc.csr 2>/dev/null
openssl req -new -newkey ed25519 -nodes -keyout edc.key -subj "/CN=edc.example.com" -out edc.csr 2>/dev/null
json_body sign.json csr=@rsa.csr common_name=csr.example.com
api POST pki/sign/web @sign.json
expect 200 "sign/web"
data certificate >signed.pem
jq -e '.data | has("private_key") | not' "$RESP" >/dev/null || die "sign: a private_key field"
[ "$(pubkey_of signed.pem)" = "$(pubkey_of rsa.csr req)" ] || die "sign: not the CSR's key"
openssl x509 -in signed.pem -noout -subject | grep -q 'CN = csr.example.com' || die "sign: subject"
verified root-a.pem signed.pem "signed CSR"
json_body sign-b.json csr=@rsa.csr common_name=csr.example.com format=der
api POST pki/issuer/root-b/sign/web @sign-b.json
expect 200 "issuer/root-b/sign/web"
data certificate | base64 -d | openssl x509 -inform DER -out signed-b.pem
openssl x509 -in signed-b.pem -noout -issuer | grep -q 'CN = Root B' || die "issuer/root-b/sign: not root B"
verified root-b.pem signed-b.pem "CSR signed by root B"
for k in ecc edc; do
    json_body sign-$k.json csr=@$k.csr
    api POST pki/sign/any @sign-$k.json
    expect 200 "sign/any ($k CSR)"
    data certificate >signed-$k.pem
    [ "$(pubkey_of signed-$k.pem)" = "$(pubkey_of $k.csr req)" ] || die "sign $k: not the CSR's key"
    verified root-a.pem signed-$k.pem "signed $k CSR"
done
pass "sign/:role: RSA, EC and Ed25519 CSRs signed with their own keys; issuer/:ref/sign uses that issuer"

# ---- sign-verbatim ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout vb.key \
    -subj "/CN=verbatim.example.org/O=Verbatim Org" \
    -addext "subjectAltName=DNS:verbatim.example.org,DNS:alt.example.org" -out vb.csr 2>/dev/null
jq -n --rawfile csr vb.csr '{csr: $csr, ext_key_usage: ["ServerAuth"], ttl: "3h"}' >vb.json
api POST pki/sign-verbatim @vb.json
expect 200 "sign-verbatim"
data certificate >vb.pem
openssl x509 -in vb.pem -noout -subject | grep -q 'O = Verbatim Org' || die "sign-verbatim: subject not verbatim"
openssl x509 -in vb.pem -noout -ext subjectAltName | grep -q 'DNS:alt.example.org' || die "sign-verbatim: SAN"
openssl x509 -in vb.pem -noout -ext extendedKeyUsage | grep -q 'TLS Web Server Authentication' ||
    die "sign-verbatim: ext_key_usage default not applied"
openssl x509 -in vb.pem -noout -ext keyUsage | grep -q 'Digital Signature, Key Encipherment, Key Agreement' ||
    die "sign-verbatim: OpenBao's default key_usage not applied"
verified root-a.pem vb.pem "sign-verbatim"
api POST pki/sign-verbatim/web @vb.json
expect 200 "sign-verbatim/web"
api POST pki/issuer/root-b/sign-verbatim @vb.json
expect 200 "issuer/root-b/sign-verbatim"
data certificate >vb-b.pem
verified root-b.pem vb-b.pem "sign-verbatim by root B"
api POST pki/issuer/root-b/sign-verbatim/web @vb.json
expect 200 "issuer/root-b/sign-verbatim/web"
data certificate >vb-bw.pem
openssl x509 -in vb-bw.pem -noout -issuer | grep -q 'CN = Root B' || die "issuer/root-b/sign-verbatim/web: issuer"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj "/CN=Sneaky CA" \
    -addext basicConstraints=critical,CA:TRUE -out ca.csr 2>/dev/null
json_body vbca.json csr=@ca.csr
c0=$(count_of pki/certs)
api POST pki/sign-verbatim @vbca.json
expect_error 400 "CA" "sign-verbatim of a CA request"
[ "$(count_of pki/certs)" = "$c0" ] || die "a refused sign-verbatim stored a certificate"
pass "sign-verbatim: subject and SANs from the CSR, default usages, per-issuer paths; CA requests refused"

# ---- sign-self-issued (sudo on root/, not on issuer/:ref/) ----
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout self.key -subj "/CN=Next Root" \
    -days 365 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out self.pem 2>/dev/null
json_body self.json certificate=@self.pem
api POST pki/root/sign-self-issued @self.json
expect 200 "root/sign-self-issued"
data certificate >resigned.pem
[ "$(data issuing_ca)" = "$(cat root-a.pem)" ] || die "sign-self-issued: issuing_ca"
openssl x509 -in resigned.pem -noout -subject | grep -q 'CN = Next Root' || die "sign-self-issued: subject changed"
openssl x509 -in resigned.pem -noout -issuer | grep -q 'CN = Root A' || die "sign-self-issued: issuer not root A"
[ "$(pubkey_of resigned.pem)" = "$(pubkey_of self.pem)" ] || die "sign-self-issued: public key changed"
[ "$(data serial_number)" = "$(serial_of resigned.pem)" ] || die "sign-self-issued: serial_number"
verified root-a.pem resigned.pem "re-signed self-issued CA"
api POST pki/issuer/root-b/sign-self-issued @self.json
expect 200 "issuer/root-b/sign-self-issued"
data certificate >resigned-b.pem
verified root-b.pem resigned-b.pem "self-issued CA re-signed by root B"
openssl req -x509 -new -newkey rsa:2048 -nodes -keyout rself.key -subj "/CN=RSA Next" -days 30 \
    -addext basicConstraints=critical,CA:TRUE -out rself.pem 2>/dev/null
jq -n --rawfile c rself.pem '{certificate: $c, require_matching_certificate_algorithms: true}' >rself.json
api POST pki/root/sign-self-issued @rself.json
expect_error 400 "key type" "require_matching_certificate_algorithms with an RSA certificate under an EC root"
json_body notca.json certificate=@web.pem
api POST pki/root/sign-self-issued @notca.json
expect_error 400 "CA" "sign-self-issued of a leaf"
api POST pki/root/sign-self-issued '{"certificate":"garbage"}'
expect_error 400 "certificate" "sign-self-issued of garbage"
api POST pki/root/sign-self-issued '{}'
expect_error 400 "certificate" "sign-self-issued without certificate"
jq -n '{policy: ({path: {"pki/*": {capabilities: ["create", "read", "update", "list"]}}} | tojson)}' >pol.json
api POST sys/policies/acl/pki-ops @pol.json
case $STATUS in 200 | 204) ;; *) show "$RESP"; die "could not write policy pki-ops" ;; esac
api POST auth/token/create '{"policies":["pki-ops"]}'
expect 200 "token create"
ops=$(jget .auth.client_token)
as "$ops" POST pki/root/sign-self-issued @self.json
expect 403 "root/sign-self-issued without sudo"
as "$ops" POST pki/issuer/root-a/sign-self-issued @self.json
expect 200 "issuer/root-a/sign-self-issued without sudo"
as "$ops" POST pki/issue/web '{"common_name":"ops.example.com"}'
expect 200 "issue with the non-sudo token"
pass "sign-self-issued: issuer and AKI replaced, subject and key kept; sudo on root/ only"

# ---- sign-intermediate under a named issuer ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sub.key -subj "/CN=Sub CA" \
    -out sub.csr 2>/dev/null
json_body sub.json csr=@sub.csr common_name="Sub CA" ttl=24h
api POST pki/issuer/root-b/sign-intermediate @sub.json
expect 200 "issuer/root-b/sign-intermediate"
jq -r '.data.ca_chain[0]' "$RESP" >sub.pem
jq -e --rawfile r root-b.pem '.data.ca_chain[1] == ($r | rtrimstr("\n"))' "$RESP" >/dev/null ||
    die "sign-intermediate: ca_chain is not [certificate, root B]"
openssl x509 -in sub.pem -noout -text | grep -q 'CA:TRUE' || die "sign-intermediate: not a CA"
verified root-b.pem sub.pem "intermediate signed by root B"
pass "issuer/:ref/sign-intermediate"

# ---- bad input: a 4xx naming the field, and nothing stored ----
c0="$(count_of pki/certs) $(token_privkeys)"
api POST pki/issue/nope '{"common_name":"x.example.com"}'
expect_error 400 "unknown role" "issue with an unknown role"
api POST pki/issuer/nope/issue/web '{"common_name":"x.example.com"}'
expect_error 400 "nope" "issue by an unknown issuer"
api POST pki/issue/web '{"common_name":"www.evil.com"}'
expect_error 400 "common_name" "issue of a name the role does not allow"
api POST pki/issue/web '{"common_name":"x.example.com","ttl":true}'
expect_error 400 "ttl" "ttl as a boolean"
api POST pki/issue/web '{"common_name":"x.example.com","alt_names":5}'
expect_error 400 "alt_names" "alt_names as a number"
api POST pki/issue/web '{"common_name":"x.example.com","exclude_cn_from_sans":"maybe"}'
expect_error 400 "exclude_cn_from_sans" "exclude_cn_from_sans not a boolean"
api POST pki/issue/web '{"common_name":"x.example.com","format":"xml"}'
expect_error 400 "format" "format xml"
api POST pki/issue/web '{"common_name":"x.example.com","private_key_format":"ssh"}'
expect_error 400 "private_key_format" "private_key_format ssh"
api POST pki/issue/web '{"common_name":"x.example.com","not_after":"next week"}'
expect_error 400 "not_after" "not_after not RFC 3339"
api POST pki/issue/web '{"common_name":"x.example.com","ip_sans":"999.1.1.1"}'
expect_error 400 "999.1.1.1" "a bad IP SAN"
api POST pki/sign/web '{"common_name":"x.example.com"}'
expect_error 400 "csr" "sign without csr"
api POST pki/sign/web '{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"}'
expect_error 400 "csr" "sign with a malformed csr"
# a CSR whose signature does not match its content
sed '2s/^\(.\{20\}\)./\1A/' rsa.csr >bad.csr
cmp -s bad.csr rsa.csr && sed '2s/^\(.\{20\}\)./\1B/' rsa.csr >bad.csr
json_body bad.json csr=@bad.csr common_name=csr.example.com
api POST pki/sign/web @bad.json
expect_error 400 "csr" "sign with a tampered csr"
api POST pki/sign/nope @sign.json
expect_error 400 "unknown role" "sign with an unknown role"
api POST pki/sign/web '{"csr":["a"]}'
expect_error 400 "csr" "csr as an array"
api POST pki/sign-verbatim '{}'
expect_error 400 "csr" "sign-verbatim without csr"
api POST pki/sign-verbatim/nope @vb.json
expect_error 400 "unknown role" "sign-verbatim with an unknown role"
api POST pki/issuer/nope/sign-verbatim @vb.json
expect_error 400 "nope" "sign-verbatim by an unknown issuer"
jq -n --rawfile csr vb.csr '{csr: $csr, signature_bits: 7}' >vb7.json
api POST pki/sign-verbatim @vb7.json
expect_error 400 "signature_bits" "signature_bits 7"
jq -n --rawfile csr vb.csr '{csr: $csr, key_usage: ["Teleport"]}' >vbku.json
api POST pki/sign-verbatim @vbku.json
expect_error 400 "key_usage 'Teleport'" "an unknown key usage"
jq -n --rawfile csr vb.csr '{csr: $csr, ext_key_usage: "ServerAuth,Warp"}' >vbeku.json
api POST pki/sign-verbatim @vbeku.json
expect_error 400 "ext_key_usage 'Warp'" "an unknown extended key usage"
jq -n --rawfile csr vb.csr '{csr: $csr, ext_key_usage_oids: ["1.2.x"]}' >vboid.json
api POST pki/sign-verbatim @vboid.json
expect_error 400 "ext_key_usage_oids" "a malformed OID"
api POST pki/root/sign-intermediate '{"common_name":"x"}'
expect_error 400 "csr" "sign-intermediate without csr"
api POST pki/issuer/nope/sign-self-issued @self.json
expect_error 400 "nope" "sign-self-issued by an unknown issuer"
api POST pki/issue/web '{"common_name":"x.example.com"'
expect 400 "malformed JSON"
[ "$(count_of pki/certs) $(token_privkeys)" = "$c0" ] || die "bad input stored a certificate or a key"
pass "bad input: 400 naming the field or value; nothing stored"

api_finish
echo "test_api_issue: all passed"
