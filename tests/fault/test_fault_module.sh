#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# End-to-end test of hsmca-fault-pkcs11.so through pkcs11-tool and openssl on a throwaway SoftHSM2 token.
#
# usage: test_fault_module.sh <hsmca-fault-pkcs11.so> [work-dir] [test_fault_threads]
#
# Everything (softhsm2.conf, token directory, PIN file, fault configs) lives in
# a fresh directory under <work-dir> (default: $TMPDIR or /tmp) that is removed
# on exit; the machine's default token store is never touched. With the third
# argument, the multi-threaded C driver runs against the same token as well.
# Set HSMCA_TEST_REAL_MODULE to wrap another module than SoftHSM2's default path.
set -eu

usage="usage: $0 <hsmca-fault-pkcs11.so> [work-dir] [test_fault_threads]"
so=${1:?$usage}
base=${2:-${TMPDIR:-/tmp}}
driver=${3:-}
real=${HSMCA_TEST_REAL_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

# pkcs11-tool dlopen()s the module by path, so make it absolute.
case $so in /*) ;; *) so=$PWD/$so ;; esac
for f in "$so" "$real"; do
    if [ ! -f "$f" ]; then
        echo "FAIL: $f does not exist" >&2
        exit 1
    fi
done
for tool in pkcs11-tool softhsm2-util openssl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool is not installed" >&2
        exit 1
    fi
done

mkdir -p "$base"
work=$(mktemp -d "$base/fault-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

# Test-only PINs for a token that exists for the length of this script.
so_pin=87654321
user_pin=123456
conf=$work/fault.conf
out=$work/out
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
pass() {
    echo "ok: $*"
}
# Shows what the tool printed when a check on it failed.
show() {
    sed 's/^/    | /' "$out" >&2
}

mkdir "$work/tokens"
cat >"$work/softhsm2.conf" <<EOF
directories.tokendir = $work/tokens
objectstore.backend = file
log.level = ERROR
EOF
SOFTHSM2_CONF=$work/softhsm2.conf
export SOFTHSM2_CONF
softhsm2-util --init-token --free --label faulttest --so-pin "$so_pin" --pin "$user_pin" >"$out" 2>&1 ||
    { show; echo "FAIL: softhsm2-util could not create the test token" >&2; exit 1; }
(umask 077 && printf '%s\n' "$user_pin" >"$work/pin")

# config [line...]: writes the fault config (module + counters + the lines),
# replacing the file atomically as README.md recommends.
config() {
    {
        echo "module = $real"
        echo "counters = $work/counters"
        for line in "$@"; do
            echo "$line"
        done
    } >"$conf.new"
    mv "$conf.new" "$conf"
}

# p11 args...: pkcs11-tool through the fault module; output in $out.
p11() {
    HSMCA_FAULT_CONFIG=$conf pkcs11-tool --module "$so" "$@" >"$out" 2>&1
}

# ---- configuration errors --------------------------------------------------

config
if (unset HSMCA_FAULT_CONFIG && pkcs11-tool --module "$so" -L) >"$out" 2>&1; then
    fail "C_Initialize succeeded without HSMCA_FAULT_CONFIG"
elif ! grep -q 'HSMCA_FAULT_CONFIG is not set' "$out" || ! grep -q CKR_GENERAL_ERROR "$out"; then
    show; fail "unset HSMCA_FAULT_CONFIG: expected CKR_GENERAL_ERROR and a message naming it"
else
    pass "unset HSMCA_FAULT_CONFIG fails C_Initialize with a message"
fi

config "frobnicate = 1"
if p11 -L; then
    fail "C_Initialize accepted an unknown key"
elif ! grep -q "fault.conf:3: unknown key 'frobnicate'" "$out"; then
    show; fail "unknown key: message should name line 3 and the key"
else
    pass "unknown key fails C_Initialize naming the line"
fi

config "fail = C_Sign every=0 rv=CKR_DEVICE_ERROR"
if p11 -L; then
    fail "C_Initialize accepted every=0"
elif ! grep -q "fault.conf:3: fail: every=0" "$out"; then
    show; fail "every=0: message should name line 3 and the value"
else
    pass "invalid value fails C_Initialize naming the line"
fi

# ---- plain forwarding ------------------------------------------------------

config
if ! p11 -L || ! grep -q 'token label *: faulttest' "$out"; then
    show; fail "-L through the fault module does not show the token"
else
    pass "-L forwards"
fi
if ! p11 -M || ! grep -q '^ *ECDSA,' "$out" || ! grep -q '^ *RSA-PKCS,' "$out"; then
    show; fail "-M through the fault module lacks ECDSA or RSA-PKCS"
else
    pass "-M forwards"
fi
if ! p11 --login --pin "$user_pin" --keypairgen --key-type EC:prime256v1 --id 01 --label k1 --usage-sign; then
    show; fail "EC key pair generation through the fault module failed"
else
    pass "key pair generation forwards"
fi

dd if=/dev/urandom of="$work/data" bs=1000 count=1 2>/dev/null
if ! p11 --read-object --type pubkey --id 01 -o "$work/pub.der" ||
    ! openssl pkey -pubin -inform DER -in "$work/pub.der" -out "$work/pub.pem" >"$out" 2>&1; then
    show; fail "cannot export the public key"
fi

# sign NAME: ECDSA signature (DER) of SHA-256($work/data) into $work/NAME.sig.
# SoftHSM2 2.6 has no CKM_ECDSA_SHA256, so the token signs the digest with
# CKM_ECDSA, which is what `openssl dgst -sha256 -verify` checks.
openssl dgst -sha256 -binary -out "$work/data.sha256" "$work/data"
sign() {
    p11 --login --pin "$user_pin" --sign --id 01 -m ECDSA --signature-format openssl \
        -i "$work/data.sha256" -o "$work/$1.sig"
}
verifies() {
    openssl dgst -sha256 -verify "$work/pub.pem" -signature "$work/$1.sig" "$work/data" >"$out" 2>&1
}

if ! sign plain; then
    show; fail "signing through the fault module failed"
elif ! verifies plain; then
    show; fail "openssl rejects a signature made through the fault module without faults"
else
    pass "signing forwards; openssl verifies the signature"
fi

# ---- hide_mechanisms -------------------------------------------------------

config "hide_mechanisms = CKM_RSA_PKCS, CKM_ECDSA"
if ! p11 -M; then
    show; fail "-M with hide_mechanisms failed"
elif grep -q '^ *RSA-PKCS,' "$out" || grep -q '^ *ECDSA,' "$out"; then
    show; fail "hide_mechanisms: hidden mechanisms still listed by -M"
elif ! grep -q '^ *RSA-X-509,' "$out" || ! grep -q '^ *RSA-PKCS-PSS,' "$out"; then
    show; fail "hide_mechanisms: mechanisms that are not hidden went missing"
else
    pass "hide_mechanisms removes RSA-PKCS from -M, keeps RSA-X-509"
fi
if sign hidden; then
    fail "hide_mechanisms: signing with hidden CKM_ECDSA succeeded"
else
    pass "hide_mechanisms: signing with a hidden mechanism fails"
fi

# ---- token_flags_add -------------------------------------------------------

config
if ! p11 -T || grep -q 'final user PIN try' "$out"; then
    show; fail "control: token should not report 'final user PIN try' without faults"
fi
config "token_flags_add = CKF_USER_PIN_FINAL_TRY,CKF_USER_PIN_COUNT_LOW"
if ! p11 -T; then
    show; fail "-T with token_flags_add failed"
elif ! grep 'token flags' "$out" | grep -q 'final user PIN try' ||
    ! grep 'token flags' "$out" | grep -q 'user PIN count low' ||
    ! grep 'token flags' "$out" | grep -q 'token initialized'; then
    show; fail "token_flags_add: -T does not show the added (and the real) flags"
else
    pass "token_flags_add shows in -T"
fi

# ---- fail ------------------------------------------------------------------

# pkcs11-tool retries a failed C_Sign with C_SignUpdate, which then gets
# CKR_OPERATION_NOT_INITIALIZED (the fault ended the real operation, as
# PKCS#11 requires); so the injected fault is checked in the counters file.
config "fail = C_Sign every=1 rv=CKR_DEVICE_ERROR"
rm -f "$work/counters"
if sign failed; then
    show; fail "fail = C_Sign every=1: signing succeeded"
elif ! grep -q '^C_Sign 1$' "$work/counters" || ! grep -q '^injected 1$' "$work/counters"; then
    show; sed 's/^/    | /' "$work/counters" >&2; fail "fail = C_Sign every=1: expected 'C_Sign 1' and 'injected 1'"
elif [ -s "$work/failed.sig" ]; then
    fail "fail = C_Sign every=1: pkcs11-tool still wrote a signature"
else
    pass "fail = C_Sign every=1 rv=CKR_DEVICE_ERROR makes signing fail"
fi
config "fail = * probability=1 rv=0x30"
if p11 -L; then
    show; fail "fail = * probability=1: -L succeeded"
elif ! grep -q CKR_DEVICE_ERROR "$out"; then
    show; fail "fail = * probability=1 rv=0x30: error is not CKR_DEVICE_ERROR"
else
    pass "fail = * probability=1 with a hex rv"
fi

# ---- counters --------------------------------------------------------------

config
rm -f "$work/counters"
if ! p11 -L; then
    show; fail "-L failed"
elif grep -q '^C_Login ' "$work/counters" || ! grep -q '^C_Initialize 1$' "$work/counters"; then
    sed 's/^/    | /' "$work/counters" >&2; fail "control: counters after -L should have C_Initialize 1, no C_Login"
fi
rm -f "$work/counters"
if ! p11 --login --pin "$user_pin" -O; then
    show; fail "-O with login failed"
elif ! grep -q '^C_Login 1$' "$work/counters" || ! grep -q '^C_Finalize 1$' "$work/counters" ||
    ! grep -q '^injected 0$' "$work/counters"; then
    sed 's/^/    | /' "$work/counters" >&2; fail "counters: expected 'C_Login 1', 'C_Finalize 1', 'injected 0'"
else
    pass "counters file shows C_Login 1 after one login"
fi
ls "$work"/counters.*.tmp >/dev/null 2>&1 && fail "counters: temporary file left behind"

# ---- removed ---------------------------------------------------------------

config "removed = after_ms=0 for_ms=60000"
if ! p11 -L; then
    show; fail "-L in a removed window failed"
elif grep -q faulttest "$out" || ! grep -q '(empty)' "$out"; then
    show; fail "removed window: -L still shows the token"
else
    pass "removed window: -L shows no token"
fi
if p11 -T && grep -q faulttest "$out"; then
    show; fail "removed window: -T still shows the token"
fi
config "removed = after_ms=60000 for_ms=1000"
if ! p11 -L || ! grep -q 'token label *: faulttest' "$out"; then
    show; fail "removed window that has not started yet hides the token"
else
    pass "removed window: token present before the window starts"
fi

# ---- corrupt ---------------------------------------------------------------

config "corrupt = C_Sign every=1"
rm -f "$work/counters"
if ! sign corrupt; then
    show; fail "corrupt: signing failed (it should succeed with a wrong signature)"
elif verifies corrupt; then
    fail "corrupt: openssl verified a signature that should have a flipped bit"
elif ! grep -q '^corrupted 1$' "$work/counters"; then
    sed 's/^/    | /' "$work/counters" >&2; fail "corrupt: counters file lacks 'corrupted 1'"
else
    pass "corrupt = C_Sign every=1 makes openssl reject the signature"
fi

# ---- the C driver: operation endings, reloads, 16 threads ------------------

if [ -n "$driver" ]; then
    config
    if "$driver" "$so" "$work/driver.conf" "$real" "$work/pin" "$work" >"$out" 2>&1; then
        pass "test_fault_threads"
    else
        show; fail "test_fault_threads"
    fi
fi

if [ "$failures" -ne 0 ]; then
    echo "test_fault_module: $failures check(s) failed" >&2
    exit 1
fi
echo "test_fault_module: all checks passed"
