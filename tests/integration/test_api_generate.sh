#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The OpenBao CA-creation endpoints through the real daemon (hsmcad -dev):
# roots per key type, rotate/replace, intermediate generate -> sign ->
# set-signed, cross-sign, bundle imports whose keys end in the token and
# never in the database, DELETE root, the refusal of "exported", and bad
# input that changes nothing. Every certificate is judged by openssl and
# GnuTLS certtool, every key by pkcs11-tool.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/api_pki_lib.sh"

need_tool curl jq openssl certtool pkcs11-tool od awk
W=$(workdir api_generate)
api_start "$W"
cd "$W"

# counts MOUNT: "issuers keys token-keys" -- what bad input must not change.
counts() {
    echo "$(count_of "$1/issuers") $(count_of "$1/keys") $(token_privkeys)"
}

# ---- a root per key type ----
for spec in "rsa 2048 rsaEncryption" "ec 256 id-ecPublicKey" "ed25519 0 ED25519"; do
    # shellcheck disable=SC2086 # three words, split on purpose
    set -- $spec
    kt=$1
    kb=$2
    alg=$3
    m=root-$kt
    mount_pki "$m"
    before=$(token_privkeys)
    api POST "$m/root/generate/internal" "{\"common_name\":\"Root $kt\",\"key_type\":\"$kt\",\"key_bits\":$kb,
        \"issuer_name\":\"r1\",\"key_name\":\"k1\",\"not_after\":\"$ROOT_NOT_AFTER\",\"max_path_length\":2,
        \"ou\":\"Ops\",\"organization\":\"Example\",\"country\":\"DE\"}"
    expect 200 "root/generate/internal ($kt)"
    data certificate >"$m.pem"
    [ "$(data issuing_ca)" = "$(cat "$m.pem")" ] || die "$kt root: issuing_ca is not the certificate"
    [ "$(data issuer_name)" = r1 ] || die "$kt root: issuer_name not echoed"
    [ "$(data key_name)" = k1 ] || die "$kt root: key_name not echoed"
    key_id=$(data key_id)
    if [ "$kt" = ec ]; then
        root_ec_issuer=$(data issuer_id)
        root_ec_key=$key_id
    fi
    jq -e '.data.expiration | type == "number"' "$RESP" >/dev/null || die "$kt root: expiration is not a number"
    [ "$(jq .data.expiration "$RESP")" = "$(not_after_of "$m.pem")" ] || die "$kt root: expiration != notAfter"
    [ "$(data serial_number)" = "$(serial_of "$m.pem")" ] || die "$kt root: serial_number != the certificate's"
    jq -e '.data | has("private_key") | not' "$RESP" >/dev/null || die "$kt root: a private_key field"
    verified "$m.pem" "$m.pem" "$kt root"
    openssl x509 -in "$m.pem" -noout -text >"$m.txt"
    grep -q "Public Key Algorithm: $alg" "$m.txt" || die "$kt root: key algorithm is not $alg"
    grep -q 'CA:TRUE, pathlen:2' "$m.txt" || die "$kt root: no CA:TRUE, pathlen:2"
    grep -q 'Certificate Sign, CRL Sign' "$m.txt" || die "$kt root: key usage"
    openssl x509 -in "$m.pem" -noout -subject | grep -q 'O = Example' || die "$kt root: organization missing"
    [ "$(token_privkeys)" = $((before + 1)) ] || die "$kt root: the token did not gain one private key"
    case $(key_access "$key_id") in
    *sensitive*never\ extractable*) ;;
    *) die "$kt root: key $key_id is not a sensitive, never-extractable token object" ;;
    esac
    pass "root/generate/internal $kt: verified, key $key_id in the token"
done

# format der: base64 DER that openssl parses; issuers/generate/root is the
# same operation.
mount_pki der
api POST der/issuers/generate/root/internal "{\"common_name\":\"Der Root\",\"key_type\":\"ec\",\"format\":\"der\",
    \"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "issuers/generate/root format der"
data certificate | base64 -d >der.der
openssl x509 -inform DER -in der.der -noout -subject | grep -q 'CN = Der Root' || die "format der: not a DER certificate"
[ "$(data issuing_ca)" = "$(data certificate)" ] || die "format der: issuing_ca differs"
pass "issuers/generate/root format der"

# ---- exported and kms are refused, before anything is made ----
c0=$(counts der)
for p in root/generate/exported issuers/generate/root/exported root/rotate/exported \
    intermediate/generate/exported issuers/generate/intermediate/exported; do
    api POST "der/$p" '{"common_name":"Never","key_type":"ec"}'
    expect_error 400 "HSM" "$p"
    expect_error 400 "exported" "$p"
    api POST "der/$p" '{}'
    expect_error 400 "HSM" "$p without common_name"
done
for p in root/generate/kms intermediate/generate/kms; do
    api POST "der/$p" '{"common_name":"Never"}'
    expect_error 400 "HSM" "$p"
done
api POST der/root/generate/bogus '{"common_name":"Never"}'
expect_error 400 "type 'bogus'" "root/generate/bogus"
[ "$(counts der)" = "$c0" ] || die "a refused type changed issuers, keys or the token ($c0 -> $(counts der))"
pass "exported and kms refused with the HSM message; nothing made"

# ---- rotate and replace ----
m=root-ec
api POST "$m/root/rotate/internal" "{\"common_name\":\"Root ec G2\",\"key_type\":\"ec\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root/rotate/internal"
[ "$(data issuer_name)" = next ] || die "root/rotate: issuer_name is not 'next'"
next_id=$(data issuer_id)
api GET "$m/config/issuers"
[ "$(data default)" = "$root_ec_issuer" ] || die "root/rotate changed the default issuer"
api POST "$m/root/rotate/internal" "{\"common_name\":\"Root ec G3\",\"key_type\":\"ec\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "second root/rotate"
[ "$(data issuer_name)" = "" ] || die "root/rotate reused the name 'next'"
api POST "$m/root/replace" '{}'
expect 200 "root/replace"
[ "$(data default)" = "$next_id" ] || die "root/replace did not answer the 'next' issuer"
api GET "$m/config/issuers"
[ "$(data default)" = "$next_id" ] || die "root/replace did not make 'next' the default"
api POST "$m/root/replace" '{"default":"r1"}'
expect 200 "root/replace default=r1"
[ "$(data default)" = "$root_ec_issuer" ] || die "root/replace default=r1"
api POST "$m/root/replace" '{"default":"nope"}'
expect_error 400 "nope" "root/replace to an unknown issuer"
api POST "$m/root/replace" '{"default":"default"}'
expect_error 400 "default" "root/replace default=default"
# existing: a second root on the first root's key
api POST "$m/issuers/generate/root/existing" "{\"common_name\":\"Root ec same key\",\"key_ref\":\"k1\",
    \"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "issuers/generate/root/existing"
[ "$(data key_id)" = "$root_ec_key" ] || die "type existing did not use key_ref k1"
data certificate >same-key.pem
[ "$(pubkey_of same-key.pem)" = "$(pubkey_of root-ec.pem)" ] || die "type existing: a different public key"
pass "root/rotate names 'next', root/replace switches the default, existing reuses the key"

# ---- intermediate: generate -> root/sign-intermediate -> set-signed ----
mount_pki int
before=$(token_privkeys)
api POST int/intermediate/generate/internal '{"common_name":"Int CA","key_type":"ec","key_name":"intkey",
    "organization":"Example"}'
expect 200 "intermediate/generate/internal"
int_key=$(data key_id)
data csr >int.csr
jq -e '.data | has("private_key") | not' "$RESP" >/dev/null || die "intermediate/generate: a private_key field"
openssl req -in int.csr -noout -verify >/dev/null 2>&1 || die "intermediate CSR: self-signature does not verify"
openssl req -in int.csr -noout -subject | grep -q 'CN = Int CA' || die "intermediate CSR: subject"
[ "$(token_privkeys)" = $((before + 1)) ] || die "intermediate/generate: no new token key"
api GET int/issuers?list=true
[ "$STATUS" = 404 ] || die "intermediate/generate created an issuer before set-signed"
# no common_name: OpenBao takes the CSR's
json_body sign.json csr=@int.csr format=pem_bundle ttl=240h
api POST root-rsa/root/sign-intermediate @sign.json
expect 200 "root/sign-intermediate"
data certificate >int-bundle.pem
[ "$(grep -c 'BEGIN CERTIFICATE' int-bundle.pem)" = 2 ] || die "sign-intermediate pem_bundle: not certificate + root"
jq -r '.data.ca_chain[0]' "$RESP" >int.pem
jq -r '.data.ca_chain[1]' "$RESP" >int-chain-root.pem
cmp -s int-chain-root.pem root-rsa.pem || die "sign-intermediate: ca_chain[1] is not the root"
[ "$(data issuing_ca)" = "$(cat root-rsa.pem)" ] || die "sign-intermediate: issuing_ca is not the root"
openssl x509 -in int.pem -noout -subject | grep -q 'CN = Int CA' || die "signed intermediate: CN not from the CSR"
openssl x509 -in int.pem -noout -text | grep -q 'CA:TRUE, pathlen:1' || die "signed intermediate: pathlen not 1"
[ "$(pubkey_of int.pem)" = "$(pubkey_of int.csr req)" ] || die "signed intermediate: not the CSR's key"
verified root-rsa.pem int.pem "intermediate under the RSA root"
json_body setsigned.json certificate=@int-bundle.pem
api POST int/intermediate/set-signed @setsigned.json
expect 200 "intermediate/set-signed"
int_issuer=$(jq -r --arg k "$int_key" '.data.mapping | to_entries[] | select(.value == $k) | .key' "$RESP")
[ -n "$int_issuer" ] || die "set-signed: no issuer mapped to key $int_key"
jq -e --arg i "$int_issuer" '.data.imported_issuers | index($i) != null' "$RESP" >/dev/null ||
    die "set-signed: the intermediate is not in imported_issuers"
jq -e '.data.imported_keys == [] and .data.existing_keys == []' "$RESP" >/dev/null ||
    die "set-signed: keys reported"
api POST int/intermediate/set-signed @setsigned.json
expect 200 "set-signed again"
jq -e --arg i "$int_issuer" '(.data.existing_issuers | index($i) != null) and .data.imported_issuers == []' \
    "$RESP" >/dev/null || die "set-signed again: not reported as existing"
api GET int/config/issuers
[ "$(data default)" = "$int_issuer" ] || die "set-signed: the intermediate did not become the default issuer"
api POST int/roles/web '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec"}'
expect 200 "role on the intermediate"
api POST int/issue/web '{"common_name":"leaf.example.com","ttl":"1h"}'
expect 200 "issue under the intermediate"
data certificate >int-leaf.pem
cat int-leaf.pem int.pem >int-leaf-chain.pem
verified root-rsa.pem int-leaf-chain.pem "leaf under the intermediate"
pass "intermediate generate -> sign-intermediate -> set-signed -> issue: verified"

# existing key: the same key in a new CSR
api POST int/issuers/generate/intermediate/existing '{"common_name":"Int CA","key_ref":"intkey"}'
expect 200 "issuers/generate/intermediate/existing"
[ "$(data key_id)" = "$int_key" ] || die "intermediate/existing: another key"
data csr >int2.csr
[ "$(pubkey_of int2.csr req)" = "$(pubkey_of int.csr req)" ] || die "intermediate/existing: another public key"
pass "issuers/generate/intermediate/existing reuses the key"

# ---- cross-sign: the intermediate's key under the EC root too (same subject as
# the signed intermediate: sign-intermediate took only the CN from its CSR) ----
api POST int/intermediate/cross-sign '{"common_name":"Int CA","key_ref":"intkey"}'
expect 200 "intermediate/cross-sign"
[ "$(data key_id)" = "$int_key" ] || die "cross-sign: not the intermediate's key"
data csr >cross.csr
json_body cross.json csr=@cross.csr use_csr_values=true
api POST root-ec/issuer/r1/sign-intermediate @cross.json
expect 200 "issuer/r1/sign-intermediate (cross-sign)"
jq -r '.data.ca_chain[0]' "$RESP" >cross.pem
verified root-ec.pem cross.pem "cross-signed intermediate under the EC root"
json_body cross-import.json pem_bundle=@cross.pem
api POST int/issuers/import/cert @cross-import.json
expect 200 "issuers/import/cert (cross-signed)"
jq -e --arg k "$int_key" '[.data.mapping[]] == [$k]' "$RESP" >/dev/null ||
    die "cross-signed issuer not linked to the intermediate's key"
cat int-leaf.pem cross.pem >cross-leaf-chain.pem
verified root-ec.pem cross-leaf-chain.pem "leaf under the cross-signed intermediate (EC root)"
verified root-rsa.pem int-leaf-chain.pem "same leaf under the RSA root"
pass "cross-sign: one leaf verifies under both roots"

# ---- import a bundle with a key: the key goes into the token ----
mount_pki imp
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out imp.key 2>/dev/null
openssl req -x509 -new -key imp.key -subj "/CN=Imported CA" -days 365 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out imp.pem 2>/dev/null
cat imp.key imp.pem >imp.bundle
openssl ec -in imp.key -outform DER -out imp.sec1.der 2>/dev/null
sec1=$(hex_of imp.sec1.der)
case $sec1 in 30770201010420*) ;; *) die "unexpected SEC1 encoding of the test key" ;; esac
scalar=$(echo "$sec1" | cut -c15-78)
store_contains "$scalar" && die "the test key is in the store before the import (test broken)"
before=$(token_privkeys)
json_body imp.json pem_bundle=@imp.bundle
api POST imp/issuers/import/bundle @imp.json
expect 200 "issuers/import/bundle with a key"
jq -e '(.data.imported_keys | length) == 1 and (.data.imported_issuers | length) == 1 and
       .data.existing_keys == [] and .data.existing_issuers == []' "$RESP" >/dev/null || die "import: counts"
imp_key=$(jq -r '.data.imported_keys[0]' "$RESP")
imp_issuer=$(jq -r '.data.imported_issuers[0]' "$RESP")
[ "$(jq -r --arg i "$imp_issuer" '.data.mapping[$i]' "$RESP")" = "$imp_key" ] || die "import: mapping"
[ "$(token_privkeys)" = $((before + 1)) ] || die "import: the token did not gain the key"
# An imported key cannot be "never extractable", but it is sensitive and
# not extractable (pkcs11-tool would list "extractable").
access=$(key_access "$imp_key")
case $access in
*sensitive*) ;;
*) die "imported key: not a sensitive token object ($access)" ;;
esac
echo "$access" | tr ',' '\n' | grep -qx ' *extractable' && die "imported key is extractable ($access)"
# The judge works: the imported certificate's DER is found in the store.
openssl x509 -in imp.pem -outform DER -out imp.der
store_contains "$(hex_of imp.der | cut -c41-200)" || die "store_contains cannot find the stored certificate"
store_contains "$scalar" && die "the imported private key is in the SQLite database"
grep -q "$(sed -n 2p imp.key)" "$STATE/audit.log" && die "the imported key's PEM text is in the audit log"
api POST imp/roles/any '{"allow_any_name":true,"key_type":"ec"}'
expect 200 "role on the imported issuer"
api POST imp/issue/any '{"common_name":"imported.example.net","ttl":"1h"}'
expect 200 "issue under the imported issuer"
data certificate >imp-leaf.pem
verified imp.pem imp-leaf.pem "leaf signed with the imported key in the token"
api POST imp/issuers/import/bundle @imp.json
expect 200 "import the same bundle again"
jq -e --arg k "$imp_key" --arg i "$imp_issuer" '.data.existing_keys == [$k] and .data.existing_issuers == [$i] and
       .data.imported_keys == [] and .data.imported_issuers == []' "$RESP" >/dev/null ||
    die "re-import: not reported as existing"
[ "$(token_privkeys)" = $((before + 1)) ] || die "re-import added a token key"
# An unnamed imported key is labelled "<mount>:<key_id>" on the token, as a
# generated one is (it had an empty CKA_LABEL).
[ "$(key_label "$imp_key")" = "imp:$imp_key" ] ||
    die "imported key: token label is '$(key_label "$imp_key")', not 'imp:$imp_key'"
pass "issuers/import/bundle: key in the token (sensitive, unreadable), not in the database; re-import is idempotent"

# `openssl ecparam -genkey` output (EC PARAMETERS block before the key) is
# a bundle people have; explicit curve parameters are refused by name.
mount_pki ecp
openssl ecparam -name secp384r1 -genkey -out ecp.key 2>/dev/null
grep -q 'BEGIN EC PARAMETERS' ecp.key || die "ecparam did not write an EC PARAMETERS block (test broken)"
openssl req -x509 -new -key ecp.key -subj "/CN=Ecparam CA" -days 365 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ecp.pem 2>/dev/null
cat ecp.key ecp.pem >ecp.bundle
json_body ecp.json pem_bundle=@ecp.bundle
api POST ecp/issuers/import/bundle @ecp.json
expect 200 "issuers/import/bundle with an EC PARAMETERS block"
jq -e '(.data.imported_keys | length) == 1 and (.data.imported_issuers | length) == 1' "$RESP" >/dev/null ||
    die "ecparam bundle: counts"
openssl ecparam -name secp384r1 -param_enc explicit -genkey -out ecx.key 2>/dev/null
cat ecx.key ecp.pem >ecx.bundle
json_body ecx.json pem_bundle=@ecx.bundle
c0=$(counts ecp)
api POST ecp/issuers/import/bundle @ecx.json
expect_error 400 "EC PARAMETERS" "bundle with explicit EC parameters"
[ "$(counts ecp)" = "$c0" ] || die "a refused ecparam bundle changed the mount"
pass "issuers/import/bundle: 'openssl ecparam -genkey' output imports; explicit parameters refused"

# config/ca is the same import
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out cfg.key 2>/dev/null
openssl req -x509 -new -key cfg.key -subj "/CN=Config CA" -days 365 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out cfg.pem 2>/dev/null
mount_pki cfg
cat cfg.pem cfg.key >cfg.bundle
json_body cfg.json pem_bundle=@cfg.bundle
api POST cfg/config/ca @cfg.json
expect 200 "config/ca"
jq -e '(.data.imported_keys | length) == 1 and (.data.imported_issuers | length) == 1' "$RESP" >/dev/null ||
    die "config/ca: counts"
pass "config/ca imports a certificate and its key"

# ---- bad input: 4xx naming the field, nothing stored ----
c0=$(counts imp)
api POST imp/issuers/import/cert @imp.json
expect_error 400 "pem_bundle" "issuers/import/cert with a key"
expect_error 400 "private key" "issuers/import/cert with a key"
api POST imp/issuers/import/bundle '{}'
expect_error 400 "pem_bundle" "import without pem_bundle"
api POST imp/issuers/import/bundle '{"pem_bundle":"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"}'
expect_error 400 "pem_bundle" "import of a malformed PEM"
json_body leafimp.json pem_bundle=@imp-leaf.pem
api POST imp/issuers/import/cert @leafimp.json
expect_error 400 "CA" "import of a leaf certificate"
api POST imp/intermediate/set-signed '{}'
expect_error 400 "certificate" "set-signed without certificate"
api POST imp/intermediate/set-signed '{"certificate":"garbage"}'
expect_error 400 "certificate" "set-signed with garbage"
api POST imp/issuers/import/bundle '{"pem_bundle":42}'
expect_error 400 "pem_bundle" "pem_bundle as a number"
api POST imp/root/generate/internal '{"key_type":"ec"}'
expect_error 400 "common_name" "root without common_name"
api POST imp/root/generate/internal '{"common_name":"X","ttl":true}'
expect_error 400 "ttl" "ttl as a boolean"
api POST imp/root/generate/internal '{"common_name":"X","key_bits":"many"}'
expect_error 400 "key_bits" "key_bits not a number"
api POST imp/root/generate/internal '{"common_name":"X","key_type":"dsa"}'
expect_error 400 "key_type" "key_type dsa"
api POST imp/root/generate/internal '{"common_name":"X","key_type":"ec","key_bits":224}'
expect_error 400 "key_bits" "P-224"
api POST imp/root/generate/internal '{"common_name":"X","format":"xml"}'
expect_error 400 "format" "format xml"
api POST imp/root/generate/internal '{"common_name":"X","max_path_length":-5}'
expect_error 400 "max_path_length" "max_path_length -5"
api POST imp/root/generate/internal '{"common_name":"X","signature_bits":123}'
expect_error 400 "signature_bits" "signature_bits 123"
api POST imp/root/generate/internal '{"common_name":"X","issuer_name":"default"}'
expect_error 400 "issuer_name" "issuer_name default"
api POST imp/root/generate/existing '{"common_name":"X","key_ref":"no-such-key"}'
expect_error 400 "no-such-key" "existing with an unknown key_ref"
api POST imp/root/generate/internal '{"common_name":"X","not_after":"tomorrow"}'
expect_error 400 "not_after" "not_after not RFC 3339"
api POST imp/intermediate/generate/internal '{"key_type":"ec"}'
expect_error 400 "common_name" "intermediate without common_name"
api POST imp/root/sign-intermediate '{"common_name":"X"}'
expect_error 400 "csr" "sign-intermediate without csr"
api POST imp/root/sign-intermediate '{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"}'
expect_error 400 "csr" "sign-intermediate with a malformed csr"
api POST imp/issuer/no-such-issuer/sign-intermediate @sign.json
expect_error 400 "no-such-issuer" "sign-intermediate by an unknown issuer"
api POST imp/root/generate/internal '{"common_name":"X",'
expect 400 "malformed JSON"
[ "$(counts imp)" = "$c0" ] || die "bad input changed issuers, keys or the token ($c0 -> $(counts imp))"
pass "bad input: 400 naming the field; no issuer, key or token object made"

# ---- DELETE root needs sudo, then removes every issuer and key ----
m=root-ed25519
jq -n --arg m "$m" '{policy: ({path: {($m + "/*"): {capabilities: ["create", "read", "update", "delete", "list"]},
                                    ($m + "/root"): {capabilities: ["delete", "update"]}}} | tojson)}' >pol.json
api POST sys/policies/acl/pki-admin @pol.json
case $STATUS in 200 | 204) ;; *) show "$RESP"; die "could not write policy pki-admin" ;; esac
api POST auth/token/create '{"policies":["pki-admin"]}'
expect 200 "token create"
admin=$(jq -r .auth.client_token "$RESP")
before=$(token_privkeys)
as "$admin" DELETE "$m/root"
expect 403 "DELETE root without sudo"
[ "$(count_of "$m/issuers")" = 1 ] || die "a refused DELETE root removed issuers"
as "$admin" POST "$m/roles/x" '{"allow_any_name":true}'
expect 200 "the non-sudo token can write roles (policy works)"
api DELETE "$m/root"
expect 200 "DELETE root"
has_warning "DELETE /root deletes all keys and issuers" || die "DELETE root: OpenBao's warning missing"
[ "$(count_of "$m/issuers")" = 0 ] || die "DELETE root left issuers"
[ "$(count_of "$m/keys")" = 0 ] || die "DELETE root left keys"
[ "$(token_privkeys)" = $((before - 1)) ] || die "DELETE root did not destroy the token key"
api GET "$m/roles/x"
expect 200 "roles survive DELETE root"
pass "DELETE root: sudo required; issuers, keys and the token key removed, roles kept"

api_finish
echo "test_api_generate: all passed"
