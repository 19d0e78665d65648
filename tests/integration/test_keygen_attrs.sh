#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every key type hsmca generates lives in the token as a sensitive,
# never-extractable, token-generated key whose private value cannot be read:
# judged by pkcs11-tool, by a raw PKCS#11 client (p11raw) and by hsmca's own
# attribute read-back, which must all agree. Imported keys get the same
# protection (minus "local"/"always sensitive", which only generation gives).
#
# env (set by tests/CMakeLists.txt): HSMCA_TESTTOOL, HSMCA_P11RAW,
# HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_TESTTOOL HSMCA_P11RAW
need_tool pkcs11-tool softhsm2-util openssl

W=$(workdir keygen_attrs)
token_create "$W/token" keygen-attrs
T=$HSMCA_TESTTOOL

raw() {
    "$HSMCA_P11RAW" "$SOFTHSM_MODULE" "$HSMCA_TEST_TOKEN" "$HSMCA_TEST_PIN_FILE" "$@"
}

# The attributes every hsmca private key must carry, as the testtool prints them.
GEN_ATTRS="token=1 private=1 sensitive=1 always_sensitive=1 extractable=0 never_extractable=1 local=1"

# check_sensitive LABEL ATTR...: each private value is refused by the token
# (CKR_ATTRIBUTE_SENSITIVE, length unavailable, nothing written).
check_sensitive() {
    _label=$1
    shift
    raw "$_label" private "$@" >"$W/raw.out" 2>&1 || { show "$W/raw.out"; die "$_label: p11raw could not query the key"; }
    for _a in "$@"; do
        _line=$(grep "^$_a " "$W/raw.out" || true)
        [ "$_line" = "$_a size_rv=CKR_ATTRIBUTE_SENSITIVE value_rv=CKR_ATTRIBUTE_SENSITIVE len=unavailable written=0" ] || {
            show "$W/raw.out"
            die "$_label: C_GetAttributeValue(CKA_$_a) on the private key did not fail with CKR_ATTRIBUTE_SENSITIVE"
        }
    done
}

# check_readable LABEL ATTR [LEN]: a public attribute of the private object
# is readable — the control that shows p11raw really reads attributes (and so
# that the CKR_ATTRIBUTE_SENSITIVE above comes from the token's policy).
check_readable() {
    raw "$1" private "$2" >"$W/raw.out" 2>&1 || { show "$W/raw.out"; die "$1: p11raw could not query the key"; }
    _line=$(grep "^$2 " "$W/raw.out" || true)
    _len=$(field "$_line" len)
    case "$_line" in
        "$2 size_rv=CKR_OK value_rv=CKR_OK len=$_len written="*) ;;
        *) show "$W/raw.out"; die "$1: control read of CKA_$2 did not return CKR_OK" ;;
    esac
    [ "$_len" -gt 0 ] && [ "$(field "$_line" written)" -gt 0 ] && { [ -z "${3:-}" ] || [ "$_len" = "$3" ]; } ||
        { show "$W/raw.out"; die "$1: control read of CKA_$2 returned ${_len} bytes (want ${3:-some})"; }
}

# check_pubkey LABEL TYPE BITS: the public key in the token's public object
# equals the one hsmca exports.
check_pubkey() {
    "$T" pubkey "$1" >"$W/pub-$1.pem" 2>"$W/err" || { show "$W/err"; die "$1: testtool pubkey failed"; }
    openssl pkey -pubin -in "$W/pub-$1.pem" -outform DER -out "$W/pub-$1.der" 2>"$W/err" ||
        { show "$W/err"; die "$1: exported public key is not a valid SubjectPublicKeyInfo"; }
    if [ "$2" = rsa ]; then
        p11tool --read-object --type pubkey --label "$1" -o "$W/p11pub-$1.der" >"$W/err" 2>&1 ||
            { show "$W/err"; die "$1: pkcs11-tool cannot read the public key"; }
        _want=$(od -An -tx1 "$W/pub-$1.der" | tr -d ' \n')
        _got=$(openssl pkey -pubin -inform DER -in "$W/p11pub-$1.der" -outform DER | od -An -tx1 | tr -d ' \n')
    else
        # pkcs11-tool 0.23 can only re-encode P-256 public keys, so compare
        # CKA_EC_POINT (a DER OCTET STRING holding the point) with the point
        # at the end of the SPKI instead.
        case $2-$3 in
            ec-256) _n=65 _len=41 ;; ec-384) _n=97 _len=61 ;; ec-521) _n=133 _len=8185 ;; *) _n=32 _len=20 ;;
        esac
        _want="04$_len$(tail -c $_n "$W/pub-$1.der" | od -An -tx1 | tr -d ' \n')"
        _got=$(p11_block "$W/list" "Public Key" "$1" | sed -n 's/^  EC_POINT: *//p')
    fi
    [ -n "$_got" ] && [ "$_got" = "$_want" ] ||
        die "$1: public key in the token ($_got) differs from the one hsmca exports ($_want)"
}

# check_no_privkey_export LABEL: pkcs11-tool cannot read the private key.
# (OpenSC 0.23 exits 0 after "sorry, reading private keys not (yet)
# supported" for a key it cannot read, so the judge is the file it writes.)
check_no_privkey_export() {
    rm -f "$W/priv.der"
    set +e
    p11tool_login --read-object --type privkey --label "$1" -o "$W/priv.der" >"$W/read.out" 2>&1
    _rc=$?
    set -e
    [ "$_rc" -lt 128 ] || { show "$W/read.out"; die "$1: pkcs11-tool crashed reading the private key"; }
    [ ! -s "$W/priv.der" ] || { show "$W/read.out"; die "$1: pkcs11-tool exported the private key"; }
    expect_grep "$W/read.out" "not .*supported|sensitive|error|fail" "$1: pkcs11-tool --read-object privkey"
}

# check_access LABEL WANT_LOCAL: pkcs11-tool's view of the private object.
check_access() {
    p11_block "$W/list" "Private Key" "$1" >"$W/block"
    [ -s "$W/block" ] || { show "$W/list"; die "$1: pkcs11-tool lists no private key with this label"; }
    _access=$(sed -n 's/^  Access: *//p' "$W/block")
    # Strip the "never extractable" phrase; any other "extractable" is a leak.
    _rest=$(printf '%s' "$_access" | sed 's/never extractable//')
    case ", $_access," in *", sensitive,"*) ;; *) show "$W/block"; die "$1: pkcs11-tool does not show 'sensitive'" ;; esac
    case "$_rest" in *extractable*) show "$W/block"; die "$1: pkcs11-tool shows the key as extractable" ;; esac
    # Generated keys only: an imported key has existed outside the token, so
    # the token rightly reports it neither never-extractable nor local.
    if [ "$2" = yes ]; then
        case "$_access" in *"never extractable"*) ;; *) show "$W/block"; die "$1: pkcs11-tool does not show 'never extractable'" ;; esac
        case "$_access" in *"always sensitive"*) ;; *) show "$W/block"; die "$1: not 'always sensitive'" ;; esac
        case "$_access" in *local*) ;; *) show "$W/block"; die "$1: not 'local' (generated outside the token?)" ;; esac
    fi
    # Signing only: no decrypt, unwrap or derive on an issuer key.
    _usage=$(sed -n 's/^  Usage: *//p' "$W/block")
    [ "$_usage" = sign ] || { show "$W/block"; die "$1: key usage is '$_usage', expected only 'sign'"; }
    # CKA_ID is the key_id (a UUID) in hex.
    _id=$(sed -n 's/^  ID: *//p' "$W/block")
    [ "$_id" = "$(printf '%s' "$3" | tr -d '-')" ] ||
        { show "$W/block"; die "$1: CKA_ID $_id is not the key_id $3"; }
}

set -- "rsa 2048" "rsa 3072" "rsa 4096" "ec 256" "ec 384" "ec 521" "ed25519 0"
for spec in "$@"; do
    # shellcheck disable=SC2086
    set -- $spec
    type=$1 bits=$2 name="k-$1-$2"
    "$T" gen "$type" "$bits" "$name" >"$W/gen.out" 2>"$W/gen.err" || { show "$W/gen.err"; die "gen $type $bits failed"; }
    line=$(cat "$W/gen.out")
    set -- $line
    key_id=$1
    [ "$2 $3 $4" = "$name $type $bits" ] || die "gen $type $bits printed '$line'"
    case $type in
        rsa) want_caps=0x07 ;; ec) want_caps=0x08 ;; ed25519) want_caps=0x10 ;;
    esac
    [ "${5:-}" = "caps=$want_caps" ] || die "$name: capabilities '${5:-}', expected caps=$want_caps on SoftHSM2"

    p11tool_login --list-objects >"$W/list" 2>&1 || { show "$W/list"; die "pkcs11-tool --list-objects failed"; }
    check_access "$name" yes "$key_id"

    attrs=$("$T" attrs "$name" 2>"$W/err") || { show "$W/err"; die "$name: testtool attrs failed"; }
    [ "$attrs" = "$GEN_ATTRS" ] || die "$name: testtool attrs '$attrs', expected '$GEN_ATTRS'"

    case $type in
        rsa)
            check_sensitive "$name" PRIVATE_EXPONENT PRIME_1 PRIME_2 EXPONENT_1 EXPONENT_2 COEFFICIENT
            check_readable "$name" MODULUS $((bits / 8))
            ;;
        ec)
            check_sensitive "$name" VALUE
            check_readable "$name" EC_PARAMS
            ;;
        ed25519)
            check_sensitive "$name" VALUE
            check_readable "$name" EC_PARAMS
            ;;
    esac
    check_no_privkey_export "$name"
    check_pubkey "$name" "$type" "$bits"
    pass "$name: sensitive, never extractable, local, sign-only; private value unreadable"
done

# Imported keys: the same protection. They were not generated in the token,
# so "local" and "always sensitive" are rightly false.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$W/imp-ec.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$W/imp-ed.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/imp-rsa.pem" 2>/dev/null
for k in ec ed rsa; do
    name="imported-$k"
    "$T" import "$name" "$W/imp-$k.pem" >"$W/gen.out" 2>"$W/gen.err" || { show "$W/gen.err"; die "import $k failed"; }
    key_id=$(cut -d' ' -f1 "$W/gen.out")
    attrs=$("$T" attrs "$name" 2>"$W/err") || { show "$W/err"; die "$name: testtool attrs failed"; }
    case "$attrs" in
        "token=1 private=1 sensitive=1 always_sensitive="?" extractable=0 never_extractable="?" local=0") ;;
        *) die "$name: attrs '$attrs' (want token, private, sensitive, not extractable, not local)" ;;
    esac
    p11tool_login --list-objects >"$W/list" 2>&1
    check_access "$name" no "$key_id"
    case $k in
        rsa) check_sensitive "$name" PRIVATE_EXPONENT PRIME_1 PRIME_2 ;;
        *) check_sensitive "$name" VALUE ;;
    esac
    # The public key in the token is that of the imported private key.
    openssl pkey -in "$W/imp-$k.pem" -pubout -out "$W/imp-$k.pub" 2>/dev/null
    "$T" pubkey "$name" 2>/dev/null | cmp -s - "$W/imp-$k.pub" ||
        die "$name: exported public key is not the imported key's public key"
    pass "$name: imported as sensitive and not extractable"
done
rm -rf "$W"
