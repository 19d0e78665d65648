#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Eight threads sign at once through the session pool (RSA-2048 PKCS#1 and
# PSS, P-256, Ed25519), also with fewer sessions than threads; every signature
# is verified independently by the testtool with the default provider. A
# forked child re-initialises the module and signs, with SoftHSM2's default
# configuration and with library.reset_on_fork = true.
#
# env (set by tests/CMakeLists.txt): HSMCA_TESTTOOL, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_TESTTOOL
need_tool softhsm2-util timeout

W=$(workdir concurrency)
token_create "$W/token" concurrency
T=$HSMCA_TESTTOOL

"$T" gen rsa 2048 c-rsa >/dev/null 2>"$W/err" || { show "$W/err"; die "gen rsa failed"; }
"$T" gen ec 256 c-p256 >/dev/null 2>"$W/err" || { show "$W/err"; die "gen ec failed"; }
"$T" gen ed25519 0 c-ed >/dev/null 2>"$W/err" || { show "$W/err"; die "gen ed25519 failed"; }

# load KEY SCHEME MD THREADS N: every one of THREADS*N signatures is good.
load() {
    set +e
    timeout -k 5 120 "$T" load "$1" "$2" "$3" "$4" "$5" >"$W/load.out" 2>"$W/load.err"
    rc=$?
    set -e
    [ "$rc" -ne 124 ] || die "load $1 $2: still running after 120 s (deadlock?)"
    [ "$rc" -lt 128 ] || { show "$W/load.err"; die "load $1 $2: crashed (exit $rc)"; }
    line=$(head -n 1 "$W/load.out")
    want=$(($4 * $5))
    for f in ok unavailable other bad threads; do
        eval "$f=\$(field \"\$line\" $f)"
    done
    # shellcheck disable=SC2154
    [ "$bad" = 0 ] || { show "$W/load.err"; die "load $1 $2: $bad signatures did not verify ($line)"; }
    # shellcheck disable=SC2154
    [ "$ok" = "$want" ] && [ "$unavailable" = 0 ] && [ "$other" = 0 ] && [ "$threads" = "$4" ] || {
        show "$W/load.err"
        die "load $1 $2 ($4 threads x $5): '$line', expected ok=$want and no errors"
    }
    [ "$rc" -eq 0 ] || { show "$W/load.err"; die "load $1 $2: exit $rc despite '$line'"; }
    pass "$1 $2: $4 threads x $5 signatures, all verified ($line)"
}

load c-rsa pkcs1 SHA256 8 40
load c-rsa pss SHA384 8 40
load c-p256 ecdsa SHA256 8 150
load c-ed eddsa none 8 150
# Fewer sessions than threads: threads wait for a session instead of failing.
HSMCA_TEST_SESSIONS=2
export HSMCA_TEST_SESSIONS
load c-p256 ecdsa SHA256 8 100
HSMCA_TEST_SESSIONS=1
load c-ed eddsa none 8 50
unset HSMCA_TEST_SESSIONS

# The pool is bounded: after a load, health reports at most the configured sessions.
health=$(env HSMCA_TEST_SESSIONS=3 "$T" health 2>/dev/null)
[ "$(field "$health" max)" = 3 ] && [ "$(field "$health" present)" = 1 ] &&
    [ "$(field "$health" logged_in)" = 1 ] && [ "$(field "$health" in_use)" = 0 ] ||
    die "health after opening: '$health' (want present=1 logged_in=1 in_use=0 max=3)"

# fork KEY SCHEME MD: the child re-initialises the module and signs; the
# parent signs again afterwards.
fork_test() {
    set +e
    timeout -k 5 30 "$T" fork "$1" "$2" "$3" >"$W/fork.out" 2>"$W/fork.err"
    rc=$?
    set -e
    [ "$rc" -ne 124 ] || { show "$W/fork.out"; show "$W/fork.err"; die "fork $1 ($4): hung for 30 s (child or parent deadlocked)"; }
    [ "$rc" -eq 0 ] || { show "$W/fork.out"; show "$W/fork.err"; die "fork $1 ($4): exit $rc"; }
    expect_grep "$W/fork.out" "^child signed and verified" "fork $1 ($4)"
    expect_grep "$W/fork.out" "^parent signed and verified after fork" "fork $1 ($4)"
    pass "fork $1 $2 ($4): the child re-initialised and signed; the parent still signs"
}

for k in "c-rsa pkcs1 SHA256" "c-p256 ecdsa SHA256" "c-ed eddsa none"; do
    # shellcheck disable=SC2086
    fork_test $k "default softhsm2.conf"
done

# SoftHSM2 re-initialises itself in a forked child when told to; hsmca's
# own C_Initialize in the child must cope with that as well.
sed '/^library.reset_on_fork/d' "$SOFTHSM2_CONF" >"$W/reset.conf"
echo "library.reset_on_fork = true" >>"$W/reset.conf"
SOFTHSM2_CONF=$W/reset.conf
export SOFTHSM2_CONF
for k in "c-rsa pss SHA256" "c-p256 ecdsa SHA384" "c-ed eddsa none"; do
    # shellcheck disable=SC2086
    fork_test $k "library.reset_on_fork = true"
done
rm -rf "$W"
