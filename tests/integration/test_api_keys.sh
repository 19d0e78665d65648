#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The keys endpoints through the real daemon (hsmcad -dev): LIST keys with
# key_info and after/limit, keys/generate/internal (exported and kms refused
# with the reason, nothing made), keys/import (the key goes into the token as
# a sensitive, non-extractable object and its bytes are nowhere in the
# database, its WAL or the audit log), key/:key_ref read, rename (POST
# overwrites), delete (refused while an issuer uses the key, then the token
# object is gone). Judges: pkcs11-tool on the daemon's token, openssl for
# the public halves, od over every state file.
#
# env (set by tests/api.cmake): HSMCAD, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
. "$(dirname "$0")/../lib/daemon.sh"
need_env HSMCAD
need_tool curl jq openssl pkcs11-tool od

W=$(workdir api_keys)
daemon_start_dev "$W/dev"
# A failing check exits at once: the daemon must not outlive the test.
trap '[ -z "${DAEMON_PID:-}" ] || kill "$DAEMON_PID" 2>/dev/null || true' EXIT
SOFTHSM2_CONF=$DAEMON_DIR/softhsm2.conf
HSMCA_TEST_TOKEN=hsmca-dev
HSMCA_TEST_PIN_FILE=$DAEMON_DIR/pin
export SOFTHSM2_CONF HSMCA_TEST_TOKEN HSMCA_TEST_PIN_FILE

# expect STATUS WHAT: the last api call answered STATUS.
expect() {
    [ "$STATUS" = "$1" ] || { show "$RESP"; die "$2: status $STATUS, expected $1"; }
}
# expect_error STATUS ERE WHAT: an error answer whose message matches.
expect_error() {
    expect "$1" "$3"
    jget '.errors[0] // ""' >"$W/msg"
    expect_grep "$W/msg" "$2" "$3"
}
uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

# ---- generate ----
api POST pki/keys/generate/internal '{"key_type":"ec","key_bits":384,"key_name":"gen-ec"}'
expect 200 "generate ec"
GEN_EC=$(jget .data.key_id)
printf '%s\n' "$GEN_EC" | grep -Eq "$uuid_re" || die "generate: key_id '$GEN_EC' is not a UUID"
[ "$(jget .data.key_name)" = gen-ec ] && [ "$(jget .data.key_type)" = ec ] || { show "$RESP"; die "generate: fields"; }
api POST pki/keys/generate/internal '{"key_type":"rsa","key_bits":"2048"}'
expect 200 "generate rsa (weakly typed key_bits)"
GEN_RSA=$(jget .data.key_id)
[ "$(jget .data.key_name)" = "" ] && [ "$(jget .data.key_type)" = rsa ] || { show "$RESP"; die "generate rsa: fields"; }
pass "keys/generate/internal: ec P-384 named, rsa 2048 unnamed"

p11_objects "$W/objs.before"
api POST pki/keys/generate/exported '{"key_type":"ec"}'
expect_error 400 "exported.*(never|HSM)" "keys/generate/exported"
api POST pki/keys/generate/kms '{"managed_key_name":"x"}'
expect_error 400 "kms" "keys/generate/kms"
api POST pki/keys/generate/internal '{"key_type":"rsa","key_bits":1024}'
expect_error 400 "key_bits" "rsa 1024"
api POST pki/keys/generate/internal '{"key_type":"dsa"}'
expect_error 400 "key_type|dsa" "key_type dsa"
api POST pki/keys/generate/internal '{"key_type":"ec","key_name":"gen-ec"}'
expect_error 400 "gen-ec" "a key_name in use (OpenBao answers 400)"
api POST pki/keys/generate/internal '{"key_type":"ec","key_name":"default"}'
expect_error 400 "default" "key_name default"
api POST pki/keys/generate/internal '{"key_type":"ec","key_bits":[256]}'
expect_error 400 "key_bits" "key_bits of the wrong type"
api POST pki/keys/generate/internal '{"key_type":"ec","key_type":"rsa"}'
expect 400 "duplicate JSON keys"
TOKEN='' api POST pki/keys/generate/internal '{"key_type":"ec"}'
expect 403 "generate without a token"
p11_objects "$W/objs.after"
cmp -s "$W/objs.before" "$W/objs.after" || { diff "$W/objs.before" "$W/objs.after" >&2 || true; die "refused generate requests changed the token"; }
pass "exported/kms/bad sizes/names/types refused with 400 naming the field; the token is unchanged"

# ---- import ----
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/imp-ec.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/imp-rsa.pem" 2>/dev/null
openssl pkey -in "$W/imp-rsa.pem" -traditional -out "$W/imp-rsa-trad.pem"
body=$(jq -n --rawfile p "$W/imp-ec.pem" '{pem_bundle: $p, key_name: "imp-ec"}')
api POST pki/keys/import "$body"
expect 200 "import ec"
IMP_EC=$(jget .data.key_id)
[ "$(jget .data.key_name)" = imp-ec ] && [ "$(jget .data.key_type)" = ec ] || { show "$RESP"; die "import ec: fields"; }
body=$(jq -n --rawfile p "$W/imp-rsa-trad.pem" '{pem_bundle: $p, key_name: "imp-rsa"}')
api POST pki/keys/import "$body"
expect 200 "import rsa (PKCS#1 PEM)"
IMP_RSA=$(jget .data.key_id)
[ "$(jget .data.key_type)" = rsa ] || { show "$RESP"; die "import rsa: key_type"; }
# The same key again, unnamed: the existing key (OpenBao), nothing new.
body=$(jq -n --rawfile p "$W/imp-ec.pem" '{pem_bundle: $p}')
api POST pki/keys/import "$body"
expect 200 "import the same key again"
[ "$(jget .data.key_id)" = "$IMP_EC" ] || { show "$RESP"; die "re-import gave a new key_id"; }
api POST pki/keys/import '{"pem_bundle":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}'
expect_error 400 "pem_bundle" "import of garbage"
api POST pki/keys/import '{"key_name":"nothing"}'
expect_error 400 "pem_bundle" "import without pem_bundle"
cert_only=$(openssl req -x509 -new -key "$W/imp-ec.pem" -subj /CN=x -days 1 2>/dev/null)
body=$(jq -n --arg p "$cert_only" '{pem_bundle: $p}')
api POST pki/keys/import "$body"
expect_error 400 "pem_bundle|private key" "import of a certificate"
pass "keys/import: EC PKCS#8 and RSA PKCS#1, re-import returns the key, bad bundles refused"

# The token holds the imported keys as sensitive, non-extractable private
# keys whose CKA_ID is the key_id, and the public half is the one openssl has.
p11tool_login --list-objects >"$W/list" 2>/dev/null
for pair in "pki:imp-ec:$IMP_EC:$W/imp-ec.pem" "pki:imp-rsa:$IMP_RSA:$W/imp-rsa.pem"; do
    label=$(printf '%s' "$pair" | cut -d: -f1-2)
    id=$(printf '%s' "$pair" | cut -d: -f3)
    pem=$(printf '%s' "$pair" | cut -d: -f4-)
    p11_block "$W/list" "Private Key" "$label" >"$W/block"
    [ -s "$W/block" ] || { show "$W/list"; die "no private key object labelled $label on the token"; }
    expect_grep "$W/block" "Access: .*sensitive" "$label is sensitive"
    # pkcs11-tool prints "extractable" only for CKA_EXTRACTABLE=TRUE.
    sed -n 's/^ *Access: *//p' "$W/block" | sed 's/never extractable//' >"$W/access"
    expect_no_grep "$W/access" "extractable" "$label is not extractable"
    want_id=$(printf '%s' "$id" | tr -d '-')
    expect_grep "$W/block" "ID: *$want_id" "$label carries CKA_ID = key_id"
    if p11tool_login --read-object --type privkey --label "$label" -o "$W/leak.der" >"$W/read" 2>&1 &&
        [ -s "$W/leak.der" ]; then
        die "$label: pkcs11-tool could read the private key out of the token"
    fi
    p11tool --read-object --type pubkey --label "$label" -o "$W/tok-pub.der" >/dev/null 2>&1 ||
        die "$label: no public key object on the token"
    openssl pkey -pubin -inform DER -in "$W/tok-pub.der" -outform DER -out "$W/tok-pub.n.der" 2>/dev/null ||
        die "$label: the token's public key does not parse"
    openssl pkey -in "$pem" -pubout -outform DER -out "$W/want-pub.der"
    cmp -s "$W/tok-pub.n.der" "$W/want-pub.der" || die "$label: the token's public key is not the imported key's"
done
pass "imported keys: sensitive, not extractable, unreadable, CKA_ID = key_id, public halves match"

# The imported key material is nowhere outside the token: not the private
# scalar / exponent, not the PKCS#8 DER, not a line of the PEM.
priv_hex() {
    openssl pkey -in "$1" -text -noout 2>/dev/null |
        awk -v f="$2" '$0 ~ "^"f":" {on=1; next} /^[a-zA-Z]/ {on=0} on' | tr -d ' :\n' | sed 's/^00//'
}
ec_scalar=$(priv_hex "$W/imp-ec.pem" priv)
rsa_d=$(priv_hex "$W/imp-rsa.pem" privateExponent)
rsa_p=$(priv_hex "$W/imp-rsa.pem" prime1)
[ ${#ec_scalar} -ge 60 ] && [ ${#rsa_d} -ge 500 ] && [ ${#rsa_p} -ge 250 ] ||
    die "could not extract the private values to look for (${#ec_scalar} ${#rsa_d} ${#rsa_p})"
ec_der=$(openssl pkey -in "$W/imp-ec.pem" -outform DER | od -An -v -tx1 | tr -d ' \n')
pem_line=$(sed -n 2p "$W/imp-ec.pem")
rsa_line=$(sed -n 5p "$W/imp-rsa-trad.pem")
# Let the store checkpoint nothing away: the WAL is scanned too.
find "$DAEMON_DIR" -type f ! -path "$DAEMON_DIR/tokens/*" >"$W/files"
[ -s "$W/files" ] || die "no state files to scan"
grep -q 'hsmca.db$' "$W/files" || { show "$W/files"; die "the database file is not in the state directory"; }
while read -r f; do
    od -An -v -tx1 "$f" | tr -d ' \n' >"$W/hex"
    for needle in "$ec_scalar" "$rsa_d" "$rsa_p" "$ec_der"; do
        if grep -q "$needle" "$W/hex"; then
            die "private key bytes found in $f"
        fi
    done
    if grep -qF -e "$pem_line" -e "$rsa_line" "$f"; then
        die "private key PEM text found in $f"
    fi
done <"$W/files"
pass "no imported key bytes (scalar, exponent, prime, PKCS#8 DER, PEM) in $(wc -l <"$W/files") state files"

# ---- LIST keys ----
api LIST pki/keys
expect 200 "LIST keys"
jget '.data.keys[]' >"$W/keys"
for k in "$GEN_EC" "$GEN_RSA" "$IMP_EC" "$IMP_RSA"; do
    grep -qx "$k" "$W/keys" || { show "$RESP"; die "LIST keys lacks $k"; }
done
[ "$(wc -l <"$W/keys")" = 4 ] || { show "$RESP"; die "LIST keys: expected 4 keys"; }
sort "$W/keys" | cmp -s - "$W/keys" || die "LIST keys is not in key_id order"
[ "$(jget ".data.key_info[\"$IMP_RSA\"].key_name")" = imp-rsa ] || { show "$RESP"; die "key_info key_name"; }
[ "$(jget '[.data.key_info[] | select(.is_default)] | length')" = 1 ] || { show "$RESP"; die "key_info: one default"; }
[ "$(jget ".data.key_info[\"$GEN_EC\"].is_default")" = true ] || { show "$RESP"; die "the first key is the default"; }
api GET "pki/keys?list=true&limit=2"
expect 200 "GET ?list=true&limit=2"
[ "$(jget '.data.keys | length')" = 2 ] || { show "$RESP"; die "limit=2"; }
last=$(jget '.data.keys[1]')
api LIST "pki/keys?after=$last"
expect 200 "LIST after"
jget '.data.keys[]' >"$W/page2"
head -2 "$W/keys" | cat - "$W/page2" | cmp -s - "$W/keys" || die "pages (limit=2, then after) do not make the whole list"
api LIST "pki/keys?after=ffffffff-ffff-ffff-ffff-ffffffffffff"
expect 404 "LIST after the last key (OpenBao: empty list is 404)"
api LIST "pki/keys?limit=x"
expect_error 400 "limit" "limit=x"
TOKEN='' api LIST pki/keys
expect 403 "LIST keys without a token"
pass "LIST keys: key_info (key_name, is_default), id order, after/limit pages"

# ---- key/:key_ref ----
api GET pki/key/imp-ec
expect 200 "GET key by name"
[ "$(jget .data.key_id)" = "$IMP_EC" ] && [ "$(jget .data.key_type)" = ec ] || { show "$RESP"; die "GET key fields"; }
api GET "pki/key/$IMP_RSA"
expect 200 "GET key by id"
[ "$(jget .data.key_name)" = imp-rsa ] || { show "$RESP"; die "GET key by id: name"; }
api GET pki/key/default
[ "$(jget .data.key_id)" = "$GEN_EC" ] || { show "$RESP"; die "key/default"; }
api GET pki/key/no-such-key
expect 404 "GET unknown key"
TOKEN='' api GET pki/key/imp-ec
expect 403 "GET key without a token"

api POST pki/key/imp-ec '{"key_name":"renamed-ec"}'
expect 200 "rename"
[ "$(jget .data.key_name)" = renamed-ec ] && [ "$(jget .data.key_id)" = "$IMP_EC" ] || { show "$RESP"; die "rename answer"; }
api GET pki/key/imp-ec
expect 404 "the old name no longer resolves"
p11tool --list-objects >"$W/list" 2>/dev/null
expect_grep "$W/list" "label: *pki:renamed-ec" "the token label follows the rename"
api POST pki/key/renamed-ec '{"key_name":"imp-rsa"}'
expect_error 400 "imp-rsa" "rename to a name in use"
api POST pki/key/renamed-ec '{}'
expect 200 "POST without key_name (overwrite: the name goes)"
[ "$(jget .data.key_name)" = "" ] || { show "$RESP"; die "POST {} kept the name"; }
jget '.warnings[0] // ""' >"$W/msg"
expect_grep "$W/msg" "$IMP_EC" "a warning says to use the id"
api POST "pki/key/$IMP_EC" '{"key_name":"imp-ec"}'
expect 200 "name it again"
api POST pki/key/no-such-key '{"key_name":"x"}'
expect 404 "rename an unknown key"
pass "key/:key_ref: read by name/id/default, 404, rename (token label too), overwrite clears the name"

# ---- delete: refused while an issuer uses the key ----
api POST pki/root/generate/existing '{"common_name":"keys test root","key_ref":"imp-rsa","issuer_name":"r1"}'
expect 200 "a root on the imported RSA key"
api DELETE pki/key/imp-rsa
expect_error 400 "issuer" "deleting a key an issuer uses"
api GET pki/key/imp-rsa
expect 200 "the refused delete left the key"
p11tool --list-objects >"$W/list" 2>/dev/null
expect_grep "$W/list" "label: *pki:imp-rsa" "the refused delete left the token object"
api DELETE pki/issuer/r1
expect 200 "delete the issuer (the default: 200 with a warning)"
api DELETE pki/key/imp-rsa
expect 204 "delete the key once no issuer uses it"
api GET pki/key/imp-rsa
expect 404 "the deleted key is gone"
p11tool --list-objects >"$W/list" 2>/dev/null
expect_no_grep "$W/list" "label: *pki:imp-rsa" "the token object is destroyed"
api DELETE pki/key/imp-rsa
expect 204 "deleting an unknown key (OpenBao: no error)"
# The default key: deleted with OpenBao's warning, and config/keys empties.
api DELETE pki/key/gen-ec
expect 200 "delete the default key"
jget '.warnings[0] // ""' >"$W/msg"
expect_grep "$W/msg" "default key" "warning on deleting the default key"
api GET pki/config/keys
[ "$(jget .data.default)" = "" ] || { show "$RESP"; die "config/keys still names the deleted default"; }
TOKEN='' api DELETE pki/key/imp-ec
expect 403 "DELETE without a token"
pass "key delete: 400 while in use (nothing removed), then 204 and the token object is gone; default warning"

daemon_stop
DAEMON_PID=
pass "test_api_keys"
