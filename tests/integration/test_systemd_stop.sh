#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# SIGTERM while 16 clients issue certificates as fast as they can (the stop
# systemd sends on `systemctl stop` or a package upgrade): hsmcad stops
# accepting, finishes what is in flight and exits 0. Every certificate a
# client received must be in the database (checked through the restarted
# daemon and, independently, with the sqlite3 CLI): an issuance is either
# completed and stored, or never answered. The restarted daemon serves again.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/../lib/appliance.sh"
need_env HSMCAD
need_tool softhsm2-util python3 curl jq sqlite3

W=$(workdir systemd_stop)
appliance_token "$W"
port=$(free_port)
appliance_config "$W/hsmcad.json" "$port"
appliance_start "$W/hsmcad.json" "$W/hsmcad.log"
RESP=$W/resp
TOKEN=$(root_token "$W")
app_api POST pki/root/generate/internal '{"common_name":"Stop Test Root","key_type":"ec","ttl":"48h"}'
[ "$STATUS" = 200 ] || { show "$RESP"; die "root generate: $STATUS"; }
app_api POST pki/roles/load '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","ttl":"1h"}'
[ "$STATUS" = 200 ] || { show "$RESP"; die "role: $STATUS"; }

python3 "$HARNESS" load "$APP_URL" "$TOKEN" 16 "$W/received" >"$W/load.out" 2>&1 &
load_pid=$!
# let the load build up, then stop the daemon in the middle of it
i=0
until [ "$(sqlite3 "$W/hsmca.db" "select count(*) from certs where role='load'" 2>/dev/null || echo 0)" -ge 50 ]; do
    i=$((i + 1))
    [ $i -lt 300 ] || { show "$W/hsmcad.log"; die "no issuance load after 30 s"; }
    sleep 0.1
done
echo "stopping after $i polls with $(sqlite3 "$W/hsmca.db" "select count(*) from certs where role='load'") stored"
appliance_stop
grep -q 'finishing requests in flight' "$W/hsmcad.log" || die "no stop message logged"
set +e
timeout 60 sh -c "wait $load_pid" 2>/dev/null
wait "$load_pid"
set -e
cat "$W/load.out"
grep -q '^dropped=' "$W/load.out" || die "the load client did not finish"
received=$(wc -l <"$W/received")
[ "$received" -ge 50 ] || die "clients received only $received certificates"
stored=$(sqlite3 "$W/hsmca.db" "select count(*) from certs where role='load'")
[ "$stored" -ge "$received" ] || die "$received certificates received but only $stored stored"

# every received serial is in the database: sqlite3 (independent of hsmca)...
sort -u "$W/received" >"$W/received.sorted"
[ "$(wc -l <"$W/received.sorted")" = "$received" ] || die "a serial was received twice"
sqlite3 "$W/hsmca.db" "select lower(hex(substr(serial, 21 - serial_len))) from certs where role='load'" |
    sed 's/../&:/g; s/:$//' | sort >"$W/stored.sorted"
missing=$(comm -23 "$W/received.sorted" "$W/stored.sorted" | head -5)
[ -z "$missing" ] || die "certificates a client received are not in the database: $missing"

# ... and through the restarted daemon, which serves again
appliance_start "$W/hsmcad.json" "$W/hsmcad2.log"
n=0
while read -r serial; do
    app_api GET "pki/cert/$serial"
    [ "$STATUS" = 200 ] || { show "$RESP"; die "received certificate $serial: GET cert after restart gives $STATUS"; }
    n=$((n + 1))
    [ $n -lt 100 ] || break   # the sqlite3 check above covered them all
done <"$W/received.sorted"
app_api POST pki/issue/load '{"common_name":"after.example.com"}'
[ "$STATUS" = 200 ] || { show "$RESP"; die "issue after restart: $STATUS"; }
pass "SIGTERM under 16-client load: exit 0; all $received received certificates stored ($stored stored); restart serves"
appliance_stop
