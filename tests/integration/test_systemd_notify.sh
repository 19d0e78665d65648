#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# hsmcad under a service manager's notify protocol (Type=notify), driven by a
# real datagram socket (tests/tools/sd_harness.py) since CI has no systemd:
#  - READY=1 arrives, and the port accepts at the moment it does;
#  - WATCHDOG=1 at half of WATCHDOG_USEC while the HSM answers, none while
#    the fault module makes the token disappear, and again once it is back;
#  - STOPPING=1 on SIGTERM, then exit 0;
#  - a token that refuses the PIN: no READY=1 ever, a STATUS= saying why,
#    exit 78, which the unit does not restart (no PIN retries);
#  - the PIN (a credential in $CREDENTIALS_DIRECTORY) is in neither
#    /proc/<pid>/environ nor the command line.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/../lib/appliance.sh"
need_env HSMCAD HSMCA_FAULT_MODULE
need_tool softhsm2-util python3 curl

W=$(workdir systemd_notify)
appliance_token "$W"
FAULTS=$W/fault.conf
fault_config() {
    { echo "module = $SOFTHSM_MODULE"; for _l in "$@"; do echo "$_l"; done; echo "# $(date +%s%N)"; } >"$FAULTS.tmp"
    mv "$FAULTS.tmp" "$FAULTS"
}
fault_config
port=$(free_port)
appliance_config "$W/hsmcad.json" "$port" "$HSMCA_FAULT_MODULE"

NLOG=$W/notify.log
SOCK=@hsmca-test-notify-$$
python3 "$HARNESS" notify "$SOCK" "$NLOG" "127.0.0.1:$port" &
HARNESS_PID=$!
until grep -q LISTENING "$NLOG" 2>/dev/null; do sleep 0.05; done

# 400 ms watchdog: pings every 200 ms
appliance_start "$W/hsmcad.json" "$W/hsmcad.log" NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=400000 \
    HSMCA_FAULT_CONFIG="$FAULTS"
i=0
until grep -q 'PROBE' "$NLOG"; do
    i=$((i + 1))
    [ $i -lt 100 ] || { show "$NLOG"; die "no READY=1 within 10 s of the daemon serving"; }
    sleep 0.1
done
grep -q 'PROBE ok' "$NLOG" || { show "$NLOG"; die "READY=1 was sent before the port accepted"; }
# READY is the first READY, and STATUS lines came before it (what it was doing)
grep -q 'STATUS=opening the token' "$NLOG" || { show "$NLOG"; die "no STATUS= line during start"; }
grep 'READY=1' "$NLOG" | head -1 | grep -q 'STATUS=serving' || { show "$NLOG"; die "READY=1 without STATUS=serving"; }
pass "READY=1 after the listener accepts (probe connected at once), STATUS= lines during start"

# watchdog rate: 2 s of pings at 200 ms
pings() { awk -v a="$1" -v b="$2" '$2 == "WATCHDOG=1" && $1 >= a && $1 < b' "$NLOG" | wc -l; }
t0=$(awk 'END { print $1 }' "$NLOG")
sleep 2.2
t1=$((t0 + 2000))
n=$(pings "$t0" "$t1")
[ "$n" -ge 7 ] && [ "$n" -le 13 ] || { show "$NLOG"; die "$n watchdog pings in 2 s; expected about 10 (every 200 ms)"; }
pass "WATCHDOG=1 every ~200 ms for WATCHDOG_USEC=400000 ($n in 2 s)"

# the token disappears for 3 s: no pings while it is away, pings once back
fault_config "removed = after_ms=0 for_ms=3000"
sleep 0.6                       # the module re-reads within 20 ms; one ping period of slack
t_gone=$(python3 -c 'import time; print(int(time.monotonic()*1000))')
sleep 1.5
t_back=$((t_gone + 1500))
n=$(pings "$t_gone" "$t_back")
[ "$n" -eq 0 ] || { show "$NLOG"; die "$n watchdog pings while the token was absent"; }
grep -q 'STATUS=HSM unavailable' "$NLOG" || { show "$NLOG"; die "no STATUS= line saying the HSM is unavailable"; }
grep -q 'watchdog pings withheld' "$W/hsmcad.log" || { show "$W/hsmcad.log"; die "the withheld pings were not logged"; }
sleep 2.5
t_end=$(python3 -c 'import time; print(int(time.monotonic()*1000))')
n=$(pings $((t_end - 1000)) "$t_end")
[ "$n" -ge 3 ] || { show "$NLOG"; die "watchdog pings did not resume after the token came back ($n in the last second)"; }
pass "no WATCHDOG=1 while the token was absent (1.5 s observed), resumed once it was back"

# no secret in the environment or on the command line
tr '\0' '\n' <"/proc/$APP_PID/environ" >"$W/environ"
tr '\0' ' ' <"/proc/$APP_PID/cmdline" >"$W/cmdline"
[ -s "$W/environ" ] || die "cannot read /proc/$APP_PID/environ (the check would prove nothing)"
if grep -qF "$PIN_VALUE" "$W/environ" "$W/cmdline" "$W/hsmcad.log" "$NLOG"; then
    die "the PIN appears in the environment, command line, log or notify messages"
fi
grep -q '^CREDENTIALS_DIRECTORY=' "$W/environ" || die "environ check: CREDENTIALS_DIRECTORY not seen (wrong process?)"
pass "PIN only in the credential file: not in /proc/pid/environ, cmdline, the log or sd_notify messages"

appliance_stop
sleep 0.3
grep -q 'STOPPING=1' "$NLOG" || { show "$NLOG"; die "no STOPPING=1 on SIGTERM"; }
pass "STOPPING=1 on SIGTERM, exit 0"

# READY=1 means logged in: with a PIN the token refuses it never comes
: >"$NLOG.2"
kill "$HARNESS_PID" 2>/dev/null || true
wait "$HARNESS_PID" 2>/dev/null || true
python3 "$HARNESS" notify "$SOCK" "$NLOG.2" &
HARNESS_PID=$!
until grep -q LISTENING "$NLOG.2" 2>/dev/null; do sleep 0.05; done
fault_config    # the token present: only the PIN is wrong
mkdir -p "$W/badcreds"
printf '0000wrong0000\n' >"$W/badcreds/hsmca-pin"
chmod 600 "$W/badcreds/hsmca-pin"
set +e
env CREDENTIALS_DIRECTORY="$W/badcreds" NOTIFY_SOCKET="$SOCK" HSMCA_FAULT_CONFIG="$FAULTS" \
    timeout 60 "$HSMCAD" -config "$W/hsmcad.json" >"$W/badpin.log" 2>&1
rc=$?
set -e
sleep 0.3
# 78: the unit's RestartPreventExitStatus=, so systemd does not present the
# wrong PIN again every RestartSec (a real HSM locks the PIN after a few)
[ "$rc" = 78 ] || { show "$W/badpin.log"; die "a refused PIN: exit $rc, expected 78 (no restart)"; }
if grep -q 'READY=1' "$NLOG.2"; then show "$NLOG.2"; die "READY=1 although the token refused the PIN"; fi
grep -q 'STATUS=start failed' "$NLOG.2" || { show "$NLOG.2"; die "no STATUS= saying why the start failed"; }
grep -qi 'PIN' "$W/badpin.log" || { show "$W/badpin.log"; die "the failure does not say the PIN was refused"; }
if grep -q '0000wrong0000' "$W/badpin.log" "$NLOG.2"; then die "the refused PIN was logged"; fi
pass "a PIN the token refuses: no READY=1, STATUS=start failed, exit $rc"
kill "$HARNESS_PID" 2>/dev/null || true
