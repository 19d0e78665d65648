#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# hsmca's token objects are standard PKCS#11 objects, and standard objects are
# hsmca keys:
#  (a) the stock libp11 engine (libengine-pkcs11-openssl) signs with keys hsmca
#      generated; the signatures verify against the public keys hsmca exports;
#  (b) keys made by pkcs11-tool --keypairgen are listed by hsmca and sign
#      certificates, CSRs, CRLs and OCSP responses that openssl accepts.
#
# env (set by tests/CMakeLists.txt): HSMCA_TESTTOOL, HSMCA_TEST_WORKDIR;
# optional HSMCA_LIBP11_ENGINE (path of libp11's pkcs11.so engine).
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_TESTTOOL
need_tool openssl pkcs11-tool softhsm2-util

W=$(workdir interop)
token_create "$W/token" interop
T=$HSMCA_TESTTOOL
TOKEN=$HSMCA_TEST_TOKEN

# ---- (a) the libp11 engine signs with hsmca's keys ----
ENGINE=${HSMCA_LIBP11_ENGINE:-}
if [ -z "$ENGINE" ]; then
    ENGINE=$(find /usr/lib/*/engines-3 /usr/lib/engines-3 /usr/lib64/engines-3 -name pkcs11.so 2>/dev/null | head -n 1)
fi
[ -n "$ENGINE" ] && [ -f "$ENGINE" ] ||
    die "libp11's OpenSSL engine (pkcs11.so) is not installed (libengine-pkcs11-openssl)"
cat >"$W/engine.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $SOFTHSM_MODULE
init = 0
EOF
engine() {
    OPENSSL_CONF="$W/engine.cnf" openssl "$@"
}

"$T" gen rsa 2048 interop-rsa >/dev/null 2>"$W/err" || { show "$W/err"; die "gen rsa failed"; }
"$T" gen ec 256 interop-p256 >/dev/null 2>"$W/err" || { show "$W/err"; die "gen ec 256 failed"; }
"$T" gen ec 384 interop-p384 >/dev/null 2>"$W/err" || { show "$W/err"; die "gen ec 384 failed"; }
head -c 4096 /dev/urandom >"$W/data"

for k in interop-rsa interop-p256 interop-p384; do
    "$T" pubkey "$k" >"$W/$k.pub" 2>"$W/err" || { show "$W/err"; die "$k: testtool pubkey failed"; }
    # libp11 reads the PIN from the file named in the URI (pin-source).
    uri="pkcs11:token=$TOKEN;object=$k;type=private?pin-source=file:$HSMCA_TEST_PIN_FILE"
    for md in sha256 sha384; do
        rm -f "$W/$k.$md.sig"
        engine dgst -"$md" -engine pkcs11 -keyform engine -sign "$uri" -out "$W/$k.$md.sig" "$W/data" \
            >"$W/sign.out" 2>&1 || { show "$W/sign.out"; die "$k: the libp11 engine could not sign ($md)"; }
        [ -s "$W/$k.$md.sig" ] || die "$k: the libp11 engine wrote no signature"
        openssl dgst -"$md" -verify "$W/$k.pub" -signature "$W/$k.$md.sig" "$W/data" >"$W/verify.out" 2>&1 ||
            { show "$W/verify.out"; die "$k: libp11's $md signature does not verify with hsmca's public key"; }
        expect_grep "$W/verify.out" "^Verified OK" "$k: openssl dgst -verify ($md)"
    done
    # pkeyutl on a precomputed digest, the other path through the engine.
    openssl dgst -sha256 -binary -out "$W/digest" "$W/data"
    engine pkeyutl -engine pkcs11 -keyform engine -inkey "$uri" -sign -in "$W/digest" \
        -pkeyopt digest:sha256 -out "$W/$k.pkeyutl.sig" >"$W/sign.out" 2>&1 ||
        { show "$W/sign.out"; die "$k: openssl pkeyutl -sign through the libp11 engine failed"; }
    openssl pkeyutl -verify -pubin -inkey "$W/$k.pub" -in "$W/digest" -sigfile "$W/$k.pkeyutl.sig" \
        -pkeyopt digest:sha256 >"$W/verify.out" 2>&1 ||
        { show "$W/verify.out"; die "$k: pkeyutl signature from libp11 does not verify"; }
    expect_grep "$W/verify.out" "Signature Verified Successfully" "$k: openssl pkeyutl -verify"
    pass "$k: the libp11 engine signs with the hsmca key; verifies with hsmca's exported public key"
done

# RSA-PSS through the engine as well.
engine dgst -sha256 -engine pkcs11 -keyform engine \
    -sign "pkcs11:token=$TOKEN;object=interop-rsa;type=private?pin-source=file:$HSMCA_TEST_PIN_FILE" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -out "$W/pss.sig" "$W/data" >"$W/sign.out" 2>&1 ||
    { show "$W/sign.out"; die "interop-rsa: RSA-PSS through the libp11 engine failed"; }
openssl dgst -sha256 -verify "$W/interop-rsa.pub" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
    -signature "$W/pss.sig" "$W/data" >"$W/verify.out" 2>&1 ||
    { show "$W/verify.out"; die "interop-rsa: libp11's RSA-PSS signature does not verify"; }
pass "interop-rsa: RSA-PSS through the libp11 engine verifies"

# The judge can fail: a signature checked against another key, or over other
# data, is rejected.
expect_fail "$W/neg.out" openssl dgst -sha256 -verify "$W/interop-p384.pub" \
    -signature "$W/interop-p256.sha256.sig" "$W/data"
expect_grep "$W/neg.out" "Verification failure" "signature under the wrong key"
printf x >>"$W/data"
expect_fail "$W/neg2.out" openssl dgst -sha256 -verify "$W/interop-rsa.pub" \
    -signature "$W/interop-rsa.sha256.sig" "$W/data"
pass "signatures do not verify under another key or over other data"

# ---- (b) keys made by pkcs11-tool are hsmca keys ----
p11tool_login --keypairgen --key-type EC:prime256v1 --id 01 --label foreign-ec >"$W/kp.out" 2>&1 ||
    { show "$W/kp.out"; die "pkcs11-tool --keypairgen EC failed"; }
p11tool_login --keypairgen --key-type rsa:2048 --id 0203 --label foreign-rsa >"$W/kp.out" 2>&1 ||
    { show "$W/kp.out"; die "pkcs11-tool --keypairgen RSA failed"; }

"$T" list >"$W/list.out" 2>"$W/err" || { show "$W/err"; die "testtool list failed"; }
ec_line=$(awk '$2 == "foreign-ec"' "$W/list.out")
rsa_line=$(awk '$2 == "foreign-rsa"' "$W/list.out")
[ -n "$ec_line" ] || { show "$W/list.out"; die "testtool list does not show the pkcs11-tool key foreign-ec"; }
[ -n "$rsa_line" ] || { show "$W/list.out"; die "testtool list does not show the pkcs11-tool key foreign-rsa"; }
set -- $ec_line
[ "$3 $4" = "ec 256" ] || die "foreign-ec listed as '$ec_line' (want ec 256)"
ec_id=$1
set -- $rsa_line
[ "$3 $4" = "rsa 2048" ] || die "foreign-rsa listed as '$rsa_line' (want rsa 2048)"
[ "$(wc -l <"$W/list.out")" -eq 5 ] || { show "$W/list.out"; die "testtool list should show exactly 5 keys"; }
# A foreign key's key_id is derived from its CKA_ID: stable, and usable as a reference.
"$T" list >"$W/list2.out" 2>/dev/null
cmp -s "$W/list.out" "$W/list2.out" || die "key_ids of foreign keys are not stable between runs"
info=$("$T" info "$ec_id" 2>"$W/err") || { show "$W/err"; die "foreign-ec cannot be looked up by its key_id $ec_id"; }
[ "$(echo "$info" | cut -d' ' -f2)" = foreign-ec ] || die "info $ec_id printed '$info'"

# hsmca's view of the public key = pkcs11-tool's.
"$T" pubkey foreign-ec >"$W/foreign-ec.pub" 2>/dev/null
p11tool --read-object --type pubkey --label foreign-ec -o "$W/foreign-ec.p11.der" >/dev/null 2>&1 ||
    die "pkcs11-tool cannot read foreign-ec's public key"
openssl pkey -pubin -inform DER -in "$W/foreign-ec.p11.der" -out "$W/foreign-ec.p11.pem"
cmp -s "$W/foreign-ec.pub" "$W/foreign-ec.p11.pem" || die "hsmca exports a different public key for foreign-ec"

judge_artifacts() {
    d="$W/art-$1-$2"
    mkdir -p "$d"
    "$T" artifacts "$1" "$2" "$3" "$d" >"$d/tool.out" 2>&1 ||
        { show "$d/tool.out"; die "$1: testtool artifacts $2 $3 failed"; }
    openssl verify -CAfile "$d/ca.pem" "$d/ca.pem" "$d/leaf.pem" >"$d/v.out" 2>&1 ||
        { show "$d/v.out"; die "$1 $2: certificates do not verify"; }
    expect_grep "$d/v.out" "leaf.pem: OK" "$1 $2: openssl verify"
    openssl req -verify -noout -in "$d/csr.pem" >"$d/r.out" 2>&1 ||
        { show "$d/r.out"; die "$1 $2: CSR does not verify"; }
    openssl crl -noout -in "$d/crl.pem" -CAfile "$d/ca.pem" >"$d/c.out" 2>&1 ||
        { show "$d/c.out"; die "$1 $2: CRL does not verify"; }
    expect_grep "$d/c.out" "verify OK" "$1 $2: openssl crl"
    openssl ocsp -respin "$d/ocsp.der" -CAfile "$d/ca.pem" -issuer "$d/ca.pem" -sha256 \
        -cert "$d/leaf.pem" -no_nonce >"$d/o.out" 2>&1 || { show "$d/o.out"; die "$1 $2: OCSP response rejected"; }
    expect_grep "$d/o.out" "^Response verify OK" "$1 $2: openssl ocsp"
    expect_grep "$d/o.out" "leaf.pem: good" "$1 $2: openssl ocsp"
    cmp -s "$d/pub.pem" "$W/$1.pub" || die "$1 $2: the artefacts were not signed with $1"
    pass "$1 ($2 $3): certificate, CSR, CRL and OCSP response made with the pkcs11-tool key verify"
}
"$T" pubkey foreign-rsa >"$W/foreign-rsa.pub" 2>/dev/null
judge_artifacts foreign-ec ecdsa SHA256
judge_artifacts foreign-rsa pkcs1 SHA256
judge_artifacts foreign-rsa pss SHA384
rm -rf "$W"
