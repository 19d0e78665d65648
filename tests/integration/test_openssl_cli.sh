#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The stock openssl command uses token keys through the hsmca provider module,
# both configured in openssl.cnf (tests/integration/openssl-hsmca.cnf.in, the
# example docs/hsm.md shows) and loaded with -provider-path/-provider. What it
# signs is verified by openssl WITHOUT the provider; the private key cannot be
# exported, and a PIN in the URI is refused.
#
# env (set by tests/CMakeLists.txt): HSMCA_TESTTOOL, HSMCA_PROVIDER (the
# hsmca.so module), HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_TESTTOOL HSMCA_PROVIDER
if [ "${HSMCA_TEST_OPENSSL_PROVIDER:-yes}" = no ]; then
    echo "skip: this build's provider cannot be loaded into the stock openssl command (ThreadSanitizer)"
    exit 77
fi
need_tool openssl softhsm2-util

W=$(workdir openssl_cli)
token_create "$W/token" cli-token
T=$HSMCA_TESTTOOL
PROVIDER_DIR=$(dirname "$HSMCA_PROVIDER")
TOKEN=$HSMCA_TEST_TOKEN
[ -f "$HSMCA_PROVIDER" ] || die "provider module $HSMCA_PROVIDER does not exist"

# The openssl.cnf the documentation shows, with this test's paths.
sed -e "s|@HSMCA_PROVIDER@|$HSMCA_PROVIDER|" -e "s|@PKCS11_MODULE@|$SOFTHSM_MODULE|" \
    -e "s|@PIN_FILE@|$HSMCA_TEST_PIN_FILE|" \
    "$(dirname "$0")/openssl-hsmca.cnf.in" >"$W/openssl.cnf"
grep -Eq "@[A-Z0-9_]+@" "$W/openssl.cnf" && die "openssl-hsmca.cnf.in has a placeholder this test does not fill"
# An empty configuration: the judge runs without the provider.
: >"$W/plain.cnf"

# In sanitizer builds the provider needs the ASan runtime loaded first in
# the (uninstrumented) openssl process; CMake names it in HSMCA_OPENSSL_PRELOAD.
# Used unquoted: empty means no assignment at all.
P=${HSMCA_OPENSSL_PRELOAD:+LD_PRELOAD=$HSMCA_OPENSSL_PRELOAD}

# with_cnf: the openssl command configured by openssl.cnf only.
with_cnf() {
    # shellcheck disable=SC2086
    env -u HSMCA_PKCS11_MODULE OPENSSL_CONF="$W/openssl.cnf" $P openssl "$@"
}
# plain: openssl without hsmca (the independent judge).
plain() {
    env -u HSMCA_PKCS11_MODULE OPENSSL_CONF="$W/plain.cnf" openssl "$@"
}
# with_args: provider loaded from the command line, module from the
# environment, PIN from the URI's pin-source.
with_args() {
    _cmd=$1
    shift
    # shellcheck disable=SC2086
    env OPENSSL_CONF="$W/plain.cnf" HSMCA_PKCS11_MODULE="$SOFTHSM_MODULE" $P \
        openssl "$_cmd" -provider-path "$PROVIDER_DIR" -provider hsmca -provider default "$@"
}

"$T" gen rsa 2048 cli-rsa >/dev/null 2>"$W/err" || { show "$W/err"; die "gen rsa failed"; }
"$T" gen ec 384 cli-ec >/dev/null 2>"$W/err" || { show "$W/err"; die "gen ec failed"; }
"$T" gen ed25519 0 cli-ed >/dev/null 2>"$W/err" || { show "$W/err"; die "gen ed25519 failed"; }

for k in cli-rsa cli-ec cli-ed; do
    uri="pkcs11:token=$TOKEN;object=$k"
    d="$W/$k"
    mkdir -p "$d"
    "$T" pubkey "$k" >"$d/token-pub.pem" 2>"$W/err" || { show "$W/err"; die "$k: testtool pubkey failed"; }

    # openssl pkey -pubout from the URI = the public key hsmca exports.
    with_cnf pkey -in "$uri" -pubout -out "$d/uri-pub.pem" >"$d/pkey.out" 2>&1 ||
        { show "$d/pkey.out"; die "$k: openssl pkey -pubout from $uri failed"; }
    cmp -s "$d/uri-pub.pem" "$d/token-pub.pem" ||
        die "$k: openssl pkey -pubout ($uri) differs from the testtool's public key"

    # CSR through openssl.cnf, verified without the provider.
    with_cnf req -new -key "$uri" -subj "/CN=openssl cli $k" -out "$d/req.pem" >"$d/req.out" 2>&1 ||
        { show "$d/req.out"; die "$k: openssl req -new -key $uri failed"; }
    plain req -verify -noout -in "$d/req.pem" >"$d/req-verify.out" 2>&1 ||
        { show "$d/req-verify.out"; die "$k: the CSR made with the token key does not verify"; }
    expect_grep "$d/req-verify.out" "verify OK" "$k: openssl req -verify"
    plain req -in "$d/req.pem" -noout -pubkey >"$d/req-pub.pem"
    cmp -s "$d/req-pub.pem" "$d/token-pub.pem" || die "$k: the CSR does not carry the token key"

    # Self-signed certificate through openssl.cnf, verified without the provider.
    with_cnf req -x509 -new -key "$uri" -subj "/CN=openssl cli CA $k" -days 2 -out "$d/ca.pem" \
        >"$d/x509.out" 2>&1 || { show "$d/x509.out"; die "$k: openssl req -x509 -key $uri failed"; }
    plain verify -CAfile "$d/ca.pem" "$d/ca.pem" >"$d/verify.out" 2>&1 ||
        { show "$d/verify.out"; die "$k: the self-signed certificate does not verify"; }
    expect_grep "$d/verify.out" "ca.pem: OK" "$k: openssl verify"
    plain x509 -in "$d/ca.pem" -noout -pubkey >"$d/ca-pub.pem"
    cmp -s "$d/ca-pub.pem" "$d/token-pub.pem" || die "$k: the certificate does not carry the token key"

    # The same with the provider named on the command line, the module from
    # HSMCA_PKCS11_MODULE and the PIN from the URI's pin-source.
    furi="$uri?pin-source=file:$HSMCA_TEST_PIN_FILE"
    with_args req -new -key "$furi" -subj "/CN=provider args $k" -out "$d/req2.pem" >"$d/req2.out" 2>&1 ||
        { show "$d/req2.out"; die "$k: openssl req -provider hsmca -key $furi failed"; }
    plain req -verify -noout -in "$d/req2.pem" >"$d/req2-verify.out" 2>&1 ||
        { show "$d/req2-verify.out"; die "$k: CSR made with -provider hsmca does not verify"; }
    expect_grep "$d/req2-verify.out" "verify OK" "$k: openssl req -verify (-provider hsmca)"
    with_args pkey -in "$furi" -pubout -out "$d/uri-pub2.pem" >"$d/pkey2.out" 2>&1 ||
        { show "$d/pkey2.out"; die "$k: openssl pkey -provider hsmca -pubout failed"; }
    cmp -s "$d/uri-pub2.pem" "$d/token-pub.pem" || die "$k: pkey -pubout (-provider hsmca) differs"

    # The private key cannot be exported: no PEM private key comes out, and
    # the provider says why.
    rm -f "$d/priv.pem"
    expect_fail "$d/export.out" with_cnf pkey -in "$uri" -out "$d/priv.pem"
    [ ! -s "$d/priv.pem" ] || die "$k: openssl pkey wrote a private key file"
    expect_no_grep "$d/export.out" "BEGIN.*PRIVATE KEY" "$k: private key export"
    expect_fail "$d/export2.out" with_cnf pkey -in "$uri" -outform DER -out "$d/priv.der"
    [ ! -s "$d/priv.der" ] || die "$k: openssl pkey wrote a DER private key"
    pass "$k: openssl req -new / -x509 / pkey -pubout through the provider; private key not exportable"
done

# RSA-PSS requested through -sigopt reaches the provider.
with_cnf req -x509 -new -key "pkcs11:token=$TOKEN;object=cli-rsa" -sha384 \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
    -subj "/CN=pss" -days 2 -out "$W/pss.pem" >"$W/pss.out" 2>&1 ||
    { show "$W/pss.out"; die "openssl req -x509 -sigopt rsa_padding_mode:pss failed"; }
plain verify -CAfile "$W/pss.pem" "$W/pss.pem" >"$W/pss-verify.out" 2>&1 ||
    { show "$W/pss-verify.out"; die "RSA-PSS certificate made with the token key does not verify"; }
plain x509 -in "$W/pss.pem" -noout -text >"$W/pss.txt"
expect_grep "$W/pss.txt" "Signature Algorithm: rsassaPss" "openssl req -sigopt pss"
expect_grep "$W/pss.txt" "Salt Length: 0x30" "openssl req -sigopt pss (salt = SHA-384 length)"
pass "RSA-PSS/SHA-384 through -sigopt"

# A PIN in the URI is refused with a message, before any login.
uri="pkcs11:token=$TOKEN;object=cli-ec?pin-value=$(cat "$HSMCA_TEST_PIN_FILE")"
expect_fail "$W/pinvalue.out" with_args pkey -in "$uri" -pubout
expect_grep "$W/pinvalue.out" "pin-value" "pin-value in the URI"
expect_grep "$W/pinvalue.out" "refused|not allowed|never" "pin-value in the URI"
expect_no_grep "$W/pinvalue.out" "BEGIN PUBLIC KEY" "pin-value in the URI"
expect_fail "$W/pinvalue2.out" with_cnf req -new -key "$uri" -subj /CN=x -out "$W/pinvalue.csr"
expect_grep "$W/pinvalue2.out" "pin-value" "pin-value in the URI (openssl.cnf)"
pass "pin-value in a pkcs11: URI is refused"

# No module configured anywhere: a clear message.
# shellcheck disable=SC2086
expect_fail "$W/nomodule.out" env -u HSMCA_PKCS11_MODULE OPENSSL_CONF="$W/plain.cnf" $P openssl pkey \
    -provider-path "$PROVIDER_DIR" -provider hsmca -provider default \
    -in "pkcs11:token=$TOKEN;object=cli-ec?pin-source=file:$HSMCA_TEST_PIN_FILE" -pubout
expect_grep "$W/nomodule.out" "pkcs11-module-path|HSMCA_PKCS11_MODULE" "no module configured"

# A wrong PIN in the pin-source file: refused, and said so.
printf 'wrong-%s\n' "$(cat "$HSMCA_TEST_PIN_FILE")" >"$W/wrong.pin"
chmod 600 "$W/wrong.pin"
expect_fail "$W/wrongpin.out" with_args pkey -in "pkcs11:token=$TOKEN;object=cli-ec?pin-source=file:$W/wrong.pin" -pubout
expect_grep "$W/wrongpin.out" "PIN" "wrong PIN in pin-source"

# An object the token does not hold.
expect_fail "$W/noobj.out" with_cnf pkey -in "pkcs11:token=$TOKEN;object=no-such-key" -pubout
expect_no_grep "$W/noobj.out" "BEGIN PUBLIC KEY" "unknown object"
pass "missing module, wrong PIN and unknown object are refused"

# The openssl.cnf template the project ships (config/, written by
# scripts/run.sh) works as well.
shipped="$(dirname "$0")/../../config/openssl-hsmca.cnf.in"
if [ -f "$shipped" ]; then
    sed -e "s|@PROVIDER_DIR@|$PROVIDER_DIR|" -e "s|@MODULE@|$SOFTHSM_MODULE|" \
        -e "s|@PIN_FILE@|$HSMCA_TEST_PIN_FILE|" "$shipped" >"$W/shipped.cnf"
    # shellcheck disable=SC2086
    env -u HSMCA_PKCS11_MODULE OPENSSL_CONF="$W/shipped.cnf" $P openssl req -new \
        -key "pkcs11:token=$TOKEN;object=cli-ec" -subj /CN=shipped -out "$W/shipped.csr" >"$W/shipped.out" 2>&1 ||
        { show "$W/shipped.out"; die "config/openssl-hsmca.cnf.in: openssl req -new with a token key failed"; }
    plain req -verify -noout -in "$W/shipped.csr" >"$W/shipped-verify.out" 2>&1 ||
        { show "$W/shipped-verify.out"; die "config/openssl-hsmca.cnf.in: CSR does not verify"; }
    pass "config/openssl-hsmca.cnf.in works"
fi

# The refusal to export a private key says why (checked here, after the
# functional checks above, so that those still run when it does not).
for k in cli-rsa cli-ec cli-ed; do
    expect_grep "$W/$k/export.out" "cannot be exported|not exportable|inside the token" \
        "$k: openssl pkey -in <private key URI> must fail with a message saying the key cannot leave the token"
done
pass "exporting a private key fails with a clear message"

# Provider order must not matter. A distribution's openssl.cnf already lists
# "default" first, and an administrator appends hsmca after it; on OpenSSL 3.0
# the signature is then fetched from the default provider, and signing works
# only if the hsmca key manager refuses to export the key pair to it (so that
# OpenSSL falls back to the key's own provider) instead of handing over the
# public half, which makes the default provider fail with "missing private key".
sed -e '/^hsmca = hsmca_sect$/d' -e 's/^default = default_sect$/default = default_sect\
hsmca = hsmca_sect/' "$W/openssl.cnf" >"$W/default-first.cnf"
order=$(sed -n 's/^\(default\|hsmca\) = .*_sect$/\1/p' "$W/default-first.cnf" | tr '\n' ' ')
[ "$order" = "default hsmca " ] || die "could not write an openssl.cnf with default listed first (got '$order')"
for k in cli-rsa cli-ec cli-ed; do
    # shellcheck disable=SC2086
    env -u HSMCA_PKCS11_MODULE OPENSSL_CONF="$W/default-first.cnf" $P openssl req -new \
        -key "pkcs11:token=$TOKEN;object=$k" -subj "/CN=default first $k" -out "$W/df-$k.csr" >"$W/df.out" 2>&1 ||
        { show "$W/df.out"; die "$k: with 'default' listed before 'hsmca' in openssl.cnf, openssl req -new cannot sign (provider order must not matter; see hsm/provider/keymgmt.c km_export)"; }
    plain req -verify -noout -in "$W/df-$k.csr" >/dev/null 2>&1 || die "$k: CSR (default listed first) does not verify"
    with_args_rev() {
        # shellcheck disable=SC2086
        env OPENSSL_CONF="$W/plain.cnf" HSMCA_PKCS11_MODULE="$SOFTHSM_MODULE" $P openssl req \
            -provider-path "$PROVIDER_DIR" -provider default -provider hsmca "$@"
    }
    with_args_rev -new -key "pkcs11:token=$TOKEN;object=$k?pin-source=file:$HSMCA_TEST_PIN_FILE" \
        -subj "/CN=rev $k" -out "$W/rev-$k.csr" >"$W/rev.out" 2>&1 ||
        { show "$W/rev.out"; die "$k: openssl req -provider default -provider hsmca cannot sign (provider order must not matter)"; }
    plain req -verify -noout -in "$W/rev-$k.csr" >/dev/null 2>&1 || die "$k: CSR (-provider default first) does not verify"
done
pass "provider order does not matter (default listed before hsmca)"
rm -rf "$W"
