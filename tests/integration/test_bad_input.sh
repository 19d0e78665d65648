#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bad input is refused with a clear message and a non-zero exit, never a
# crash, and changes nothing on the token: missing or non-PKCS#11 module,
# wrong PIN, unknown token, unknown key reference, unsupported key type or
# size, duplicate or reserved key name, empty or missing PIN file, bad PEM.
#
# env (set by tests/CMakeLists.txt): HSMCA_TESTTOOL, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_TESTTOOL
need_tool pkcs11-tool softhsm2-util openssl

W=$(workdir bad_input)
token_create "$W/token" bad-input
T=$HSMCA_TESTTOOL
GOOD_MODULE=$HSMCA_TEST_MODULE
GOOD_PIN=$HSMCA_TEST_PIN_FILE

"$T" gen ec 256 existing >/dev/null 2>"$W/err" || { show "$W/err"; die "gen failed"; }
"$T" gen ed25519 0 other >/dev/null 2>"$W/err" || { show "$W/err"; die "gen failed"; }
p11_objects "$W/objects.before"
[ "$(wc -l <"$W/objects.before")" -eq 4 ] || { show "$W/objects.before"; die "expected 4 objects on the token"; }
n=0

# bad NAME ERE CMD...: CMD fails cleanly, its output matches ERE (the key
# words of a clear message), and the token's objects are unchanged.
bad() {
    _name=$1 _re=$2
    shift 2
    n=$((n + 1))
    expect_fail "$W/case$n.out" "$@"
    expect_grep "$W/case$n.out" "$_re" "$_name"
    # A message that names nothing ("error", "failed") is not clear enough.
    [ "$(wc -c <"$W/case$n.out")" -gt 20 ] || { show "$W/case$n.out"; die "$_name: message too short"; }
    # The PIN never appears in a message.
    if grep -qF -- "$(cat "$GOOD_PIN")" "$W/case$n.out"; then
        show "$W/case$n.out"
        die "$_name: the message contains the PIN"
    fi
    p11_objects "$W/objects.after"
    cmp -s "$W/objects.before" "$W/objects.after" || {
        diff "$W/objects.before" "$W/objects.after" >&2 || true
        die "$_name: the token's objects changed"
    }
    pass "$_name: refused ($(grep -v '^<' "$W/case$n.out" | head -n 1 | cut -c1-150))"
}

# tt VAR=VALUE... -- ARGS: the testtool with a modified environment.
tt() {
    _env=""
    while [ "$1" != "--" ]; do
        _env="$_env $1"
        shift
    done
    shift
    # shellcheck disable=SC2086
    env $_env "$T" "$@"
}

# ---- the module ----
bad "missing module file" "module.*(No such file|does not exist|cannot)" \
    tt HSMCA_TEST_MODULE="$W/no-such-module.so" -- gen ec 256 new-key
NOT_P11=""
for f in /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/*/libz.so.1 /lib/*/libz.so.1; do
    if [ -f "$f" ]; then
        NOT_P11=$f
        break
    fi
done
[ -n "$NOT_P11" ] || die "no libz.so.1 found to use as a non-PKCS#11 shared object"
bad "shared object that is not a PKCS#11 module" "not a PKCS#11 module|C_GetFunctionList" \
    tt HSMCA_TEST_MODULE="$NOT_P11" -- gen ec 256 new-key
echo "this is not a shared object" >"$W/text.so"
bad "module file that is not a shared object" "(cannot|invalid|ELF|load).*module|module.*(cannot|invalid|ELF|load)" \
    tt HSMCA_TEST_MODULE="$W/text.so" -- list
bad "module path is a directory" "(cannot|directory|load).*module|module.*(cannot|directory|load)" \
    tt HSMCA_TEST_MODULE="$W" -- list

# ---- the token and the PIN ----
printf 'not-the-pin-%s\n' "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" >"$W/wrong.pin"
chmod 600 "$W/wrong.pin"
bad "wrong PIN" "PIN.*(incorrect|rejected|wrong)|(incorrect|rejected|wrong).*PIN" \
    tt HSMCA_TEST_PIN_FILE="$W/wrong.pin" -- gen ec 256 new-key
bad "unknown token label" "token.*no-such-token|no-such-token.*token" \
    tt HSMCA_TEST_TOKEN=no-such-token -- gen ec 256 new-key
bad "missing PIN file" "PIN file.*(No such file|cannot open)" \
    tt HSMCA_TEST_PIN_FILE="$W/no-such.pin" -- gen ec 256 new-key
: >"$W/empty.pin"
chmod 600 "$W/empty.pin"
bad "empty PIN file" "PIN.*empty|empty.*PIN" \
    tt HSMCA_TEST_PIN_FILE="$W/empty.pin" -- gen ec 256 new-key
printf '\n\n' >"$W/blank.pin"
chmod 600 "$W/blank.pin"
bad "PIN file with an empty first line" "PIN.*empty|empty.*PIN" \
    tt HSMCA_TEST_PIN_FILE="$W/blank.pin" -- gen ec 256 new-key
bad "PIN file that is a directory" "PIN.*(not a regular file|directory)" \
    tt HSMCA_TEST_PIN_FILE="$W" -- gen ec 256 new-key
bad "no PIN source at all" "PIN" \
    env -u HSMCA_TEST_PIN_FILE "$T" gen ec 256 new-key

# ---- key references ----
bad "unknown key name (info)" "no-such-key.*(not found|no key|unknown)|(not found|no key|unknown).*no-such-key" \
    "$T" info no-such-key
bad "unknown key_id (pubkey)" "(not found|no key|unknown)" \
    "$T" pubkey 00000000-0000-4000-8000-000000000000
bad "unknown key (artifacts)" "(not found|no key|unknown)" \
    "$T" artifacts no-such-key ecdsa SHA256 "$W"
bad "unknown key (delete)" "(not found|no key|unknown)" \
    "$T" delete no-such-key
bad "unknown key (rename)" "(not found|no key|unknown)" \
    "$T" rename no-such-key fresh-name

# ---- key types and sizes ----
bad "rsa 1024" "1024" "$T" gen rsa 1024 new-key
bad "rsa 8192" "8192" "$T" gen rsa 8192 new-key
bad "rsa 2047" "2047" "$T" gen rsa 2047 new-key
bad "ec 224" "224" "$T" gen ec 224 new-key
bad "ec 255" "255" "$T" gen ec 255 new-key
bad "ed25519 with bits 448" "448" "$T" gen ed25519 448 new-key
bad "key type dsa" "key_type.*dsa|dsa.*(not|unsupported)" "$T" gen dsa 2048 new-key
bad "key type ed448" "ed448" "$T" gen ed448 0 new-key

# ---- key names ----
bad "duplicate key name (generate)" "existing.*(exists|already|taken|in use)|(exists|already|taken|in use).*existing" \
    "$T" gen ec 256 existing
bad "duplicate key name (rename)" "existing.*(exists|already|taken|in use)|(exists|already|taken|in use).*existing" \
    "$T" rename other existing
bad "key name 'default' (generate)" "default.*reserved|reserved.*default" "$T" gen ec 256 default
bad "key name 'default' (rename)" "default.*reserved|reserved.*default" "$T" rename other default
bad "key name shaped like a key_id" "key_id|UUID" "$T" gen ec 256 12345678-1234-4234-8234-123456789abc
bad "key name with '/'" "/" "$T" gen ec 256 "a/b"
long=$(printf '%0129d' 0)
bad "key name of 129 bytes" "128" "$T" gen ec 256 "$long"

# ---- imports ----
echo "-----BEGIN PRIVATE KEY-----
bm90IGEga2V5
-----END PRIVATE KEY-----" >"$W/garbage.pem"
bad "import of a PEM that is not a key" "(PEM|key|parse|decode)" "$T" import imported "$W/garbage.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$W/rsa1024.pem" 2>/dev/null
bad "import of RSA-1024" "1024" "$T" import imported "$W/rsa1024.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-224 -out "$W/p224.pem" 2>/dev/null
bad "import of a P-224 key" "secp224r1|P-224|curve" "$T" import imported "$W/p224.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes128 -pass pass:test-only -out "$W/enc.pem" 2>/dev/null
bad "import of an encrypted PEM" "(encrypted|passphrase|password|PEM|decode)" "$T" import imported "$W/enc.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/ok.pem" 2>/dev/null
bad "import under an existing name" "existing.*(exists|already|taken|in use)|(exists|already|taken|in use).*existing" \
    "$T" import existing "$W/ok.pem"

# The same checks pass a valid request: the refusals above are about the input.
"$T" gen ec 256 new-key >"$W/good.out" 2>&1 || { show "$W/good.out"; die "a valid gen after the bad ones failed"; }
"$T" info new-key >/dev/null 2>&1 || die "the key made by the valid gen is not found"
pass "after $n refused requests, a valid one still works"
rm -rf "$W"
