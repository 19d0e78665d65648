# SPDX-License-Identifier: Apache-2.0
# Sourced by integration tests: creates a throwaway SoftHSM2 token with its own
# configuration and token directory (never the machine's default store) and
# exports what hsmca-testtool and the provider need to find it.
#
#   . tests/lib/token.sh
#   token_create "$WORKDIR" mylabel      # sets SOFTHSM2_CONF, HSMCA_TEST_*
#
# The PIN lives in a 0600 file; only its path is exported.

SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

die() {
    echo "FAIL: $*" >&2
    exit 1
}

pass() {
    echo "ok: $*"
}

token_create() {
    _dir=$1
    _label=${2:-hsmca-test}
    rm -rf "$_dir"
    mkdir -p "$_dir/tokens"
    cat >"$_dir/softhsm2.conf" <<CONF
directories.tokendir = $_dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
    SOFTHSM2_CONF="$_dir/softhsm2.conf"
    export SOFTHSM2_CONF
    ( umask 077; printf '%s' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$_dir/user.pin" )
    ( umask 077; printf '%s' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$_dir/so.pin" )
    # softhsm2-util only takes PINs as arguments; this is a test token whose
    # PINs are random and die with the test directory.
    softhsm2-util --init-token --free --label "$_label" \
        --so-pin "$(cat "$_dir/so.pin")" --pin "$(cat "$_dir/user.pin")" >/dev/null ||
        die "softhsm2-util could not create token $_label"
    HSMCA_TEST_MODULE=$SOFTHSM_MODULE
    HSMCA_TEST_TOKEN=$_label
    HSMCA_TEST_PIN_FILE=$_dir/user.pin
    export HSMCA_TEST_MODULE HSMCA_TEST_TOKEN HSMCA_TEST_PIN_FILE
}

# pkcs11-tool with the test token's PIN (test use only).
p11tool() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$HSMCA_TEST_TOKEN" "$@"
}

p11tool_login() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$HSMCA_TEST_TOKEN" \
        --login --pin "$(cat "$HSMCA_TEST_PIN_FILE")" "$@"
}
