#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds hsmca, creates a local development SoftHSM2
# token under var/ (once) and runs the appliance's current main job: a root
# key generated in the token and a self-signed root certificate signed by it
# through the hsmca OpenSSL provider, checked by openssl and GnuTLS.
# (The hsmcad daemon and its SQLite database join this command with issue #4.)
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j"$(nproc 2>/dev/null || echo 2)"

VAR=$ROOT/var
MODULE=${HSMCA_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
TOKEN=hsmca-dev
HSMCA=$ROOT/build/default/bin/hsmca
mkdir -p "$VAR"
chmod 700 "$VAR"

export SOFTHSM2_CONF="$VAR/softhsm2.conf"
if [ ! -f "$SOFTHSM2_CONF" ]; then
    mkdir -p "$VAR/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$VAR/tokens" >"$SOFTHSM2_CONF"
    (umask 077
     od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$VAR/user.pin"
     od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$VAR/so.pin")
    # softhsm2-util takes PINs only as arguments; this is a local development
    # token. Production tokens are initialised with `hsmca token init`.
    softhsm2-util --init-token --free --label "$TOKEN" \
        --so-pin "$(cat "$VAR/so.pin")" --pin "$(cat "$VAR/user.pin")" >/dev/null
    echo "created development token '$TOKEN' in $VAR/tokens (PIN in $VAR/user.pin)"
fi

h() {
    "$HSMCA" --module "$MODULE" --token "$TOKEN" --pin-file "$VAR/user.pin" "$@"
}

if ! h key info dev-root >/dev/null 2>&1; then
    h key generate ec 384 dev-root
fi
echo
h token info
echo
h key info dev-root

sed -e "s|@PROVIDER_DIR@|$ROOT/build/default/providers|" -e "s|@MODULE@|$MODULE|" \
    -e "s|@PIN_FILE@|$VAR/user.pin|" config/openssl-hsmca.cnf.in >"$VAR/openssl-hsmca.cnf"

echo
echo "signing a self-signed root in the token through the hsmca provider..."
OPENSSL_CONF="$VAR/openssl-hsmca.cnf" openssl req -x509 -new -sha384 -days 3650 \
    -key "pkcs11:token=$TOKEN;object=dev-root;type=private" \
    -subj "/O=hsmca development/CN=hsmca dev root" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$VAR/dev-root.pem"
openssl verify -CAfile "$VAR/dev-root.pem" "$VAR/dev-root.pem"
certtool --verify --load-ca-certificate "$VAR/dev-root.pem" --infile "$VAR/dev-root.pem" | grep -E "Verified|Not verified"
openssl x509 -in "$VAR/dev-root.pem" -noout -subject -fingerprint -sha256
echo
echo "root certificate: $VAR/dev-root.pem (key never left token '$TOKEN')"
