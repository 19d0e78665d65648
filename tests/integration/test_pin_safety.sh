#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# PIN safety, counted by the fault-injecting PKCS#11 module (which forwards
# to SoftHSM2 and counts calls): a wrong PIN reaches the token exactly once per
# configuration load (one process of the testtool or of openssl with the
# provider), and while the token reports CKF_USER_PIN_FINAL_TRY or
# CKF_USER_PIN_LOCKED no login is attempted at all — hsmca never causes a
# lockout. Each refusal comes with a clear message.
#
# env (set by tests/CMakeLists.txt): HSMCA_TESTTOOL, HSMCA_FAULT_MODULE,
# HSMCA_PROVIDER, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_TESTTOOL HSMCA_FAULT_MODULE HSMCA_PROVIDER
need_tool softhsm2-util openssl
[ -f "$HSMCA_FAULT_MODULE" ] || die "fault module $HSMCA_FAULT_MODULE is not built"

W=$(workdir pin_safety)
token_create "$W/token" pin-safety
T=$HSMCA_TESTTOOL
FAULT=$HSMCA_FAULT_MODULE
GOOD_PIN=$HSMCA_TEST_PIN_FILE
P=${HSMCA_OPENSSL_PRELOAD:+LD_PRELOAD=$HSMCA_OPENSSL_PRELOAD}

# The key is made straight on SoftHSM2; everything after goes through the
# fault module.
"$T" gen ec 256 pin-key >/dev/null 2>"$W/err" || { show "$W/err"; die "gen failed"; }
( umask 077; printf 'wrong-%s\n' "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" >"$W/wrong.pin" )

HSMCA_FAULT_CONFIG=$W/fault.conf
export HSMCA_FAULT_CONFIG
COUNTERS=$W/counters

# config [LINE...]: the fault configuration, counting calls into $COUNTERS.
config() {
    {
        echo "module = $SOFTHSM_MODULE"
        echo "counters = $COUNTERS"
        for _l in "$@"; do
            echo "$_l"
        done
    } >"$W/fault.conf.tmp"
    mv "$W/fault.conf.tmp" "$W/fault.conf"
}

# logins: C_Login calls the last process made (0 when none).
logins() {
    [ -f "$COUNTERS" ] || die "the fault module wrote no counters file (was it loaded?)"
    grep -q '^C_Initialize ' "$COUNTERS" || { show "$COUNTERS"; die "the fault module was never initialised"; }
    sed -n 's/^C_Login //p' "$COUNTERS" | grep . || echo 0
}

# run_tool PINFILE LOG ARGS...: the testtool through the fault module.
run_tool() {
    _pin=$1 _log=$2
    shift 2
    rm -f "$COUNTERS"
    set +e
    HSMCA_TEST_MODULE=$FAULT HSMCA_TEST_PIN_FILE=$_pin "$T" "$@" >"$_log" 2>&1
    _rc=$?
    set -e
    [ "$_rc" -lt 128 ] || { show "$_log"; die "testtool $* crashed (exit $_rc)"; }
    return "$_rc"
}

no_pin_in() {
    if grep -qF -- "$(head -n 1 "$1")" "$2" 2>/dev/null; then
        show "$2"
        die "the PIN appears in the output"
    fi
}

# ---- a correct PIN: one login for the whole process, 8 threads included ----
config
run_tool "$GOOD_PIN" "$W/good.out" load pin-key ecdsa SHA256 8 20 ||
    { show "$W/good.out"; die "signing through the fault module (no faults) failed"; }
expect_grep "$W/good.out" "^ok=160 " "load through the fault module"
[ "$(logins)" = 1 ] || { show "$COUNTERS"; die "correct PIN, 8 threads: $(logins) C_Login calls, expected 1"; }
pass "correct PIN: exactly one C_Login for a process signing from 8 threads"

# ---- a wrong PIN: exactly one C_Login per configuration load ----
for cmd in "list" "gen ec 256 never-made" "load pin-key ecdsa SHA256 8 10" "artifacts pin-key ecdsa SHA256 $W"; do
    # shellcheck disable=SC2086
    if run_tool "$W/wrong.pin" "$W/wrong.out" $cmd; then
        show "$W/wrong.out"
        die "testtool $cmd succeeded with a wrong PIN"
    fi
    expect_grep "$W/wrong.out" "PIN.*(rejected|incorrect)|(rejected|incorrect).*PIN" "wrong PIN ($cmd)"
    no_pin_in "$W/wrong.pin" "$W/wrong.out"
    n=$(logins)
    [ "$n" = 1 ] || { show "$COUNTERS"; die "wrong PIN, testtool $cmd: $n C_Login calls, expected exactly 1"; }
done
pass "wrong PIN: exactly one C_Login per testtool run, with a clear message"

# openssl with the provider (not in ThreadSanitizer builds, whose provider
# cannot be loaded into the uninstrumented openssl command).
WITH_OPENSSL=${HSMCA_TEST_OPENSSL_PROVIDER:-yes}
[ "$WITH_OPENSSL" != no ] || echo "skip: openssl with the provider (not loadable in this build)"
for cmd in "pkey -in" "req -key"; do
    [ "$WITH_OPENSSL" != no ] || break
    # shellcheck disable=SC2086
    set -- $cmd
    if [ "$1" = req ]; then
        extra="-new -subj /CN=x -out $W/never.csr"
    else
        extra="-pubout -out $W/never.pem"
    fi
    rm -f "$COUNTERS"
    set +e
    # shellcheck disable=SC2086
    env OPENSSL_CONF=/dev/null HSMCA_PKCS11_MODULE="$FAULT" $P openssl "$1" \
        -provider-path "$(dirname "$HSMCA_PROVIDER")" -provider hsmca -provider default \
        "$2" "pkcs11:token=$HSMCA_TEST_TOKEN;object=pin-key?pin-source=file:$W/wrong.pin" $extra \
        >"$W/ossl.out" 2>&1 </dev/null
    rc=$?
    set -e
    [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || { show "$W/ossl.out"; die "openssl $1 with a wrong PIN: exit $rc"; }
    expect_grep "$W/ossl.out" "PIN" "openssl $1 with a wrong PIN"
    no_pin_in "$W/wrong.pin" "$W/ossl.out"
    n=$(logins)
    [ "$n" = 1 ] || { show "$COUNTERS"; die "wrong PIN, openssl $1 through the provider: $n C_Login calls, expected exactly 1"; }
done
[ "$WITH_OPENSSL" = no ] || pass "wrong PIN: exactly one C_Login per openssl process using the provider"

# ---- final try / locked: no login at all, whatever the PIN ----
for flag in CKF_USER_PIN_FINAL_TRY CKF_USER_PIN_LOCKED; do
    config "token_flags_add = $flag"
    case $flag in
        *FINAL_TRY) words="final try|final.*PIN|PIN.*final" ;;
        *) words="locked" ;;
    esac
    for pin in "$W/wrong.pin" "$GOOD_PIN"; do
        if run_tool "$pin" "$W/flag.out" list; then
            show "$W/flag.out"
            die "$flag: testtool list succeeded although the token reports $flag"
        fi
        expect_grep "$W/flag.out" "$words" "$flag"
        expect_grep "$W/flag.out" "PIN" "$flag"
        n=$(logins)
        [ "$n" = 0 ] || { show "$COUNTERS"; die "$flag reported: $n C_Login calls, expected none"; }
    done
    if [ "$WITH_OPENSSL" != no ]; then
        rm -f "$COUNTERS"
        set +e
        # shellcheck disable=SC2086
        env OPENSSL_CONF=/dev/null HSMCA_PKCS11_MODULE="$FAULT" $P openssl pkey \
            -provider-path "$(dirname "$HSMCA_PROVIDER")" -provider hsmca -provider default \
            -in "pkcs11:token=$HSMCA_TEST_TOKEN;object=pin-key?pin-source=file:$GOOD_PIN" -pubout \
            >"$W/ossl.out" 2>&1 </dev/null
        rc=$?
        set -e
        [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || { show "$W/ossl.out"; die "$flag: openssl pkey through the provider: exit $rc"; }
        expect_grep "$W/ossl.out" "$words" "$flag (openssl with the provider)"
        n=$(logins)
        [ "$n" = 0 ] || { show "$COUNTERS"; die "$flag, openssl with the provider: $n C_Login calls, expected none"; }
    fi
    pass "$flag: no C_Login attempted (wrong or right PIN, testtool or openssl), and the reason is given"
done

# A count-low warning is not final: logging in with the right PIN still works.
config "token_flags_add = CKF_USER_PIN_COUNT_LOW"
run_tool "$GOOD_PIN" "$W/low.out" list || { show "$W/low.out"; die "CKF_USER_PIN_COUNT_LOW alone must not stop a login"; }
expect_grep "$W/low.out" "pin-key" "list with CKF_USER_PIN_COUNT_LOW"
[ "$(logins)" = 1 ] || { show "$COUNTERS"; die "CKF_USER_PIN_COUNT_LOW: $(logins) C_Login calls, expected 1"; }
pass "CKF_USER_PIN_COUNT_LOW alone: one login, key listed"
# ---- the PIN changes under a running process ----
# The process logged in with the then-right PIN; the token's PIN is changed
# by someone else; a removal then drops the login. The one re-login is
# rejected, and that PIN is never presented again however many signing
# requests follow: exactly two C_Login calls in all.
config
rm -f "$COUNTERS"
HSMCA_TEST_MODULE=$FAULT timeout -k 5 60 "$T" load pin-key ecdsa SHA256 8 2s >"$W/change.out" 2>"$W/change.err" &
pid=$!
sleep 0.4
new_pin=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
# pkcs11-tool takes PINs as arguments only; these are throwaway test PINs.
p11tool_login --change-pin --new-pin "$new_pin" >"$W/chpin.out" 2>&1 || { show "$W/chpin.out"; die "could not change the PIN"; }
sleep 0.2
config "removed = after_ms=0 for_ms=150"
sleep 0.3
config
set +e
wait "$pid"
set -e
line=$(grep '^ok=' "$W/change.out" || true)
[ -n "$line" ] || { show "$W/change.err"; die "PIN change: the testtool printed no result"; }
[ "$(field "$line" bad)" = 0 ] || die "PIN change: bad signatures: $line"
[ "$(field "$line" ok)" -gt 0 ] || die "PIN change: nothing was signed before the change: $line"
expect_grep "$W/change.err" "rejected the PIN|PIN_INCORRECT" "re-login after the PIN changed"
n=$(logins)
[ "$n" = 2 ] || { show "$COUNTERS"; die "PIN changed under a running process: $n C_Login calls, expected 2 (the first, and one rejected re-login never retried)"; }
pass "PIN changed under a running process: one rejected re-login, never retried ($line)"
rm -rf "$W"
