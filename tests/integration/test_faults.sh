#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Reliability under injected faults (hsm/fault/hsmca-fault-pkcs11.so in front
# of SoftHSM2), 8 threads signing and every signature verified independently:
#  1. 1% of C_Sign calls fail with recoverable errors, plus a device-removed
#     window: only good signatures or "HSM unavailable", never a bad one;
#  2. a 500 ms outage: normal service within 1 s of the faults stopping;
#  3. corrupted signatures from the token are caught, never returned;
#  4. a token with only raw RSA (CKM_RSA_X_509): PKCS#1 and PSS padding in
#     software, artefacts verify; with no RSA mechanism (or only PSS) the
#     scheme check fails up front, naming what is missing, before any C_Sign.
#
# env (set by tests/CMakeLists.txt): HSMCA_TESTTOOL, HSMCA_FAULT_MODULE,
# HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_TESTTOOL HSMCA_FAULT_MODULE
need_tool softhsm2-util openssl timeout
[ -f "$HSMCA_FAULT_MODULE" ] || die "fault module $HSMCA_FAULT_MODULE is not built"
date +%s%3N | grep -Eq '^[0-9]{13}$' || die "date +%s%3N does not give milliseconds (GNU date needed)"

W=$(workdir faults)
token_create "$W/token" faults
T=$HSMCA_TESTTOOL
"$T" gen ec 256 f-p256 >/dev/null 2>"$W/err" || { show "$W/err"; die "gen ec failed"; }
"$T" gen rsa 2048 f-rsa >/dev/null 2>"$W/err" || { show "$W/err"; die "gen rsa failed"; }
"$T" gen ed25519 0 f-ed >/dev/null 2>"$W/err" || { show "$W/err"; die "gen ed25519 failed"; }

# From here on the testtool talks to the token through the fault module.
HSMCA_TEST_MODULE=$HSMCA_FAULT_MODULE
HSMCA_FAULT_CONFIG=$W/fault.conf
export HSMCA_TEST_MODULE HSMCA_FAULT_CONFIG
COUNTERS=$W/counters

# config LINE...: replace the fault configuration atomically (the module
# re-reads it within 20 ms, at its next call).
config() {
    {
        echo "module = $SOFTHSM_MODULE"
        echo "counters = $COUNTERS"
        for _l in "$@"; do
            echo "$_l"
        done
        # A different file each time, so a reload is never missed.
        echo "# $(date +%s%N)"
    } >"$W/fault.conf.tmp"
    mv "$W/fault.conf.tmp" "$W/fault.conf"
}

counter() {
    sed -n "s/^$1 //p" "$COUNTERS" | grep . || echo 0
}

# check_load LOGFILE WHAT: the load line says bad=0, other=0, ok>0; sets
# the shell variables of its fields.
check_load() {
    line=$(grep '^ok=' "$1" || true)
    [ -n "$line" ] || { show "$1"; show "$1.err"; die "$2: the testtool printed no result"; }
    for f in ok unavailable other bad first_failure_ms last_failure_ms last_ok_ms end_ms t0_epoch_ms; do
        eval "$f=\$(field \"\$line\" $f)"
    done
    # shellcheck disable=SC2154
    [ "$bad" = 0 ] || { show "$1.err"; die "$2: $bad signatures that do not verify were returned ($line)"; }
    # shellcheck disable=SC2154
    [ "$other" = 0 ] || { show "$1.err"; die "$2: $other calls failed with something else than 'HSM unavailable' ($line)"; }
    # shellcheck disable=SC2154
    [ "$ok" -gt 0 ] || { show "$1.err"; die "$2: no signature succeeded ($line)"; }
}

# load_bg LOG ARGS...: the testtool's load in the background; pid in $pid.
load_bg() {
    _log=$1
    shift
    timeout -k 5 60 "$T" load "$@" >"$_log" 2>"$_log.err" &
    pid=$!
}

CKR_LIST=CKR_SESSION_HANDLE_INVALID,CKR_SESSION_CLOSED,CKR_DEVICE_ERROR,CKR_DEVICE_REMOVED,CKR_TOKEN_NOT_PRESENT,CKR_USER_NOT_LOGGED_IN,CKR_OBJECT_HANDLE_INVALID

# ---- 1. probabilistic C_Sign failures and a removal window ----
# Long enough for well over 1000 C_Sign calls per key, so that a 1% rate
# injects failures (0.99^1000 < 5e-5); sanitizer builds sign more slowly and
# scale the time (HSMCA_TEST_TIME_SCALE, set by CMake).
scale=${HSMCA_TEST_TIME_SCALE:-1}
case $scale in *[!0-9]* | "") die "HSMCA_TEST_TIME_SCALE must be an integer" ;; esac
base_ms=$((2500 * scale))
for spec in "f-p256 ecdsa SHA256" "f-rsa pss SHA256" "f-ed eddsa none"; do
    # shellcheck disable=SC2086
    set -- $spec
    # A loaded machine (other builds, sanitizers) may sign too slowly for
    # the run to mean anything: run again, twice as long, up to 3 times.
    run_ms=$base_ms
    attempt=1
    while :; do
        rm -f "$COUNTERS"
        config "fail = C_Sign probability=0.01 rv=$CKR_LIST" "removed = after_ms=700 for_ms=500"
        set +e
        timeout -k 5 240 "$T" load "$1" "$2" "$3" 8 "$((run_ms / 1000)).$((run_ms % 1000 / 100))s" \
            >"$W/load1.out" 2>"$W/load1.out.err"
        rc=$?
        set -e
        [ "$rc" -lt 124 ] || { show "$W/load1.out.err"; die "$1 under faults: hung or crashed (exit $rc)"; }
        check_load "$W/load1.out" "$1 $2 with 1% C_Sign failures and a removal window"
        [ "$(counter C_Sign)" -lt 1000 ] && [ "$attempt" -lt 3 ] || break
        echo "# $1: only $(counter C_Sign) C_Sign calls in $run_ms ms; running again for $((2 * run_ms)) ms"
        run_ms=$((2 * run_ms))
        attempt=$((attempt + 1))
    done
    injected=$(counter injected)
    removed=$(counter removed)
    [ "$(counter C_Sign)" -ge 1000 ] ||
        die "$1: only $(counter C_Sign) C_Sign calls in $run_ms ms after $attempt runs; too few to judge a 1% fault rate (raise HSMCA_TEST_TIME_SCALE)"
    # The faults really happened: otherwise this proves nothing.
    [ "$injected" -gt 0 ] || { show "$COUNTERS"; die "$1: the fault module injected no C_Sign failure"; }
    [ "$removed" -gt 0 ] || { show "$COUNTERS"; die "$1: no call met the removal window"; }
    [ "$rc" -eq 0 ] || { show "$W/load1.out.err"; die "$1 under faults: exit $rc"; }
    pass "$1 $2: $line; $injected C_Sign failures injected, $removed calls during removal"
done

# ---- 2. a 500 ms outage, then normal service within 1 s ----
# The outage is timed by swapping configurations, because a `removed` window
# alone restarts whenever the application calls C_Initialize again (which is
# what hsmca's recovery does, and what a real device removal would not
# undo): `removed` closes every session when the outage starts, and the fail
# line keeps every call failing until the configuration is swapped back.
config
load_bg "$W/load2.out" f-p256 ecdsa SHA256 8 3.5s
sleep 0.7
config "removed = after_ms=0 for_ms=500" "fail = * every=1 rv=CKR_DEVICE_REMOVED"
outage_start=$(date +%s%3N)
sleep 0.5
config
outage_end=$(date +%s%3N)
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -lt 124 ] || { show "$W/load2.out.err"; die "outage run: hung or crashed (exit $rc)"; }
check_load "$W/load2.out" "500 ms outage"
# On the testtool's time line (ms since it started); the module notices a
# new configuration at its first call 20 ms after the previous check.
start_rel=$((outage_start - t0_epoch_ms))
end_rel=$((outage_end - t0_epoch_ms + 20))
# shellcheck disable=SC2154
[ "$unavailable" -gt 0 ] || { show "$W/load2.out.err"; die "the outage was not seen: $line"; }
# shellcheck disable=SC2154
[ "$first_failure_ms" -ge $((start_rel - 100)) ] ||
    die "failures began at $first_failure_ms ms, before the outage ($start_rel ms): $line"
# shellcheck disable=SC2154
[ "$end_ms" -ge $((end_rel + 1500)) ] ||
    die "test timing: the run ended at $end_ms ms, too soon after the outage ($end_rel ms) to judge recovery"
# shellcheck disable=SC2154
[ "$last_failure_ms" -le $((end_rel + 1000)) ] || {
    show "$W/load2.out.err"
    die "service not back within 1 s: last failure at $last_failure_ms ms, faults stopped at $end_rel ms ($line)"
}
# shellcheck disable=SC2154
[ "$last_ok_ms" -ge $((end_ms - 250)) ] || die "signing stopped before the end of the run: $line"
[ "$rc" -eq 0 ] || { show "$W/load2.out.err"; die "outage run: exit $rc"; }
pass "500 ms outage ($start_rel..$end_rel ms): last failure at $last_failure_ms ms (<= $((end_rel + 1000))), $ok good signatures, no bad one"

# ---- 3. corrupted signatures are caught ----
config "corrupt = C_Sign every=7"
for spec in "f-p256 ecdsa SHA384" "f-ed eddsa none" "f-rsa pkcs1 SHA256" "f-rsa pss SHA512"; do
    # shellcheck disable=SC2086
    set -- $spec
    rm -f "$COUNTERS"
    set +e
    HSMCA_TEST_VERIFY=always timeout -k 5 60 "$T" load "$1" "$2" "$3" 8 50 >"$W/load3.out" 2>"$W/load3.out.err"
    set -e
    check_load "$W/load3.out" "$1 $2 with every 7th signature corrupted (verify=always)"
    [ "$(counter corrupted)" -gt 0 ] || { show "$COUNTERS"; die "$1: the fault module corrupted nothing"; }
    [ $((ok + unavailable)) -eq 400 ] || die "$1: $line does not account for 400 signatures"
    pass "$1 $2 (verify=always): $(counter corrupted) corrupted signatures caught; $line"
done
# RSA signatures are re-verified by default (no HSMCA_TEST_VERIFY).
rm -f "$COUNTERS"
set +e
env -u HSMCA_TEST_VERIFY timeout -k 5 60 "$T" load f-rsa pkcs1 SHA384 8 50 >"$W/load3.out" 2>"$W/load3.out.err"
set -e
check_load "$W/load3.out" "RSA with every 7th signature corrupted (default policy)"
[ "$(counter corrupted)" -gt 0 ] || die "RSA default policy: nothing corrupted"
pass "RSA (default verify policy): corrupted signatures caught; $line"

# ---- 4. capability probe and the raw RSA path ----
judge() { # DIR: the artefacts verify with openssl
    openssl verify -CAfile "$1/ca.pem" "$1/ca.pem" "$1/leaf.pem" >"$1/v.out" 2>&1 ||
        { show "$1/v.out"; die "$2: certificates do not verify"; }
    openssl req -verify -noout -in "$1/csr.pem" >"$1/r.out" 2>&1 || { show "$1/r.out"; die "$2: CSR does not verify"; }
    openssl crl -noout -in "$1/crl.pem" -CAfile "$1/ca.pem" >"$1/c.out" 2>&1 || { show "$1/c.out"; die "$2: CRL does not verify"; }
    openssl ocsp -respin "$1/ocsp.der" -CAfile "$1/ca.pem" -issuer "$1/ca.pem" -sha256 -cert "$1/leaf.pem" \
        -no_nonce >"$1/o.out" 2>&1 || { show "$1/o.out"; die "$2: OCSP response rejected"; }
    expect_grep "$1/o.out" "^Response verify OK" "$2: openssl ocsp"
}
caps_of() {
    "$T" info "$1" 2>"$W/err" | sed -n 's/.* caps=//p'
}

config "hide_mechanisms = CKM_RSA_PKCS,CKM_RSA_PKCS_PSS"
[ "$(caps_of f-rsa)" = 0x04 ] || { show "$W/err"; die "raw-RSA-only token: caps '$(caps_of f-rsa)', expected 0x04"; }
for spec in "pkcs1 SHA256" "pss SHA256" "pss SHA384" "pkcs1 SHA512"; do
    # shellcheck disable=SC2086
    set -- $spec
    d="$W/raw-$1-$2"
    mkdir -p "$d"
    "$T" artifacts f-rsa "$1" "$2" "$d" >"$d/tool.out" 2>&1 || { show "$d/tool.out"; die "raw RSA $1 $2: artifacts failed"; }
    judge "$d" "raw RSA $1 $2"
done
openssl x509 -in "$W/raw-pss-SHA384/ca.pem" -noout -text | grep -q "Salt Length: 0x30" ||
    die "raw RSA PSS/SHA-384: salt length is not the hash length"
set +e
timeout -k 5 60 "$T" load f-rsa pss SHA256 8 25 >"$W/load4.out" 2>"$W/load4.out.err"
set -e
check_load "$W/load4.out" "raw RSA PSS under 8 threads"
pass "token with only CKM_RSA_X_509: caps=0x04; PKCS#1 and PSS padded in software verify (openssl); $line"

# Only PSS in the token: PSS works, PKCS#1 v1.5 is refused up front.
config "hide_mechanisms = CKM_RSA_PKCS,CKM_RSA_X_509"
[ "$(caps_of f-rsa)" = 0x02 ] || die "PSS-only token: caps '$(caps_of f-rsa)', expected 0x02"
rm -f "$COUNTERS"
d="$W/pssonly-pkcs1"
mkdir -p "$d"
expect_fail "$d/tool.out" "$T" artifacts f-rsa pkcs1 SHA256 "$d"
expect_grep "$d/tool.out" "CKM_RSA_PKCS" "PSS-only token, PKCS#1 requested: the message names the missing mechanism"
[ "$(counter C_Sign)" = 0 ] || die "PSS-only token, PKCS#1 requested: C_Sign was called $(counter C_Sign) times; must fail before signing"
[ ! -f "$d/ca.pem" ] || die "PSS-only token, PKCS#1 requested: artefacts were written"
d="$W/pssonly-pss"
mkdir -p "$d"
"$T" artifacts f-rsa pss SHA256 "$d" >"$d/tool.out" 2>&1 ||
    { show "$d/tool.out"; die "token with CKM_RSA_PKCS_PSS but without CKM_RSA_PKCS/CKM_RSA_X_509 cannot make PSS signatures (caps=0x02)"; }
judge "$d" "PSS-only token, PSS"
pass "token with only CKM_RSA_PKCS_PSS: caps=0x02; PSS works, PKCS#1 refused before any C_Sign"

# No RSA signing mechanism at all: refused up front, naming the mechanism.
config "hide_mechanisms = CKM_RSA_PKCS,CKM_RSA_PKCS_PSS,CKM_RSA_X_509"
[ "$(caps_of f-rsa)" = 0x00 ] || die "no-RSA token: caps '$(caps_of f-rsa)', expected 0x00"
for scheme in pss pkcs1; do
    rm -f "$COUNTERS"
    d="$W/norsa-$scheme"
    mkdir -p "$d"
    expect_fail "$d/tool.out" "$T" artifacts f-rsa "$scheme" SHA256 "$d"
    [ "$(counter C_Sign)" = 0 ] || die "no RSA mechanism, $scheme: C_Sign was called; the check must come first"
    [ ! -f "$d/ca.pem" ] || die "no RSA mechanism, $scheme: artefacts were written"
done
expect_grep "$W/norsa-pkcs1/tool.out" "CKM_RSA_PKCS.*CKM_RSA_X_509|CKM_RSA_X_509.*CKM_RSA_PKCS" \
    "no RSA mechanism, PKCS#1 requested: the message names the missing mechanisms"
expect_grep "$W/norsa-pss/tool.out" "PSS" "no RSA mechanism, PSS requested: the message is about PSS"
expect_grep "$W/norsa-pss/tool.out" "CKM_RSA_PKCS_PSS|CKM_RSA_X_509" \
    "no RSA mechanism, PSS requested: the message names the missing mechanism"
pass "no RSA mechanism: caps=0x00; PKCS#1 and PSS refused up front, naming the mechanisms"

config "hide_mechanisms = CKM_ECDSA,CKM_EDDSA"
for spec in "f-p256 ecdsa SHA256 CKM_ECDSA" "f-ed eddsa none CKM_EDDSA"; do
    # shellcheck disable=SC2086
    set -- $spec
    [ "$(caps_of "$1")" = 0x00 ] || die "$1 without $4: caps '$(caps_of "$1")', expected 0x00"
    rm -f "$COUNTERS"
    d="$W/no-$4"
    mkdir -p "$d"
    expect_fail "$d/tool.out" "$T" artifacts "$1" "$2" "$3" "$d"
    expect_grep "$d/tool.out" "$4" "$1 without $4"
    [ "$(counter C_Sign)" = 0 ] || die "$1 without $4: C_Sign was called"
done
pass "EC/Ed25519 without CKM_ECDSA/CKM_EDDSA: refused up front, naming the mechanism"
rm -rf "$W"
