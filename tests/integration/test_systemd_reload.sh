#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# SIGHUP (ExecReload= in hsmcad.service): the configuration is read again.
#  - a lowered limits.max_body takes effect for new requests while a
#    keep-alive connection opened before the reload keeps being served;
#  - the log level changes, and the log line reports what changed and what
#    would need a restart (a changed listen address);
#  - a broken file (bad JSON, an unknown key, a bad log level) is rejected
#    with a logged reason and the running configuration is kept;
#  - policy files named in "policies" are written at start and re-written
#    on SIGHUP when they change (audited, in force for the next request); a
#    policy file that does not parse rejects the reload;
#  - RELOADING=1 then READY=1 reach the notify socket (a path socket here).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/../lib/appliance.sh"
need_env HSMCAD
need_tool softhsm2-util python3 curl

W=$(workdir systemd_reload)
appliance_token "$W"
port=$(free_port)
CFG=$W/hsmcad.json
appliance_config "$CFG" "$port" "" '{"max_body": 1048576}'
NLOG=$W/notify.log
python3 "$HARNESS" notify "$W/notify.sock" "$NLOG" &
HARNESS_PID=$!
until grep -q LISTENING "$NLOG" 2>/dev/null; do sleep 0.05; done
appliance_start "$CFG" "$W/hsmcad.log" NOTIFY_SOCKET="$W/notify.sock"
RESP=$W/resp
TOKEN=$(root_token "$W")
pad=$(head -c 4000 /dev/zero | tr '\0' a)
app_api POST pki/roles/r "{\"allowed_domains\":\"example.com\",\"pad\":\"$pad\"}"
[ "$STATUS" = 200 ] || { show "$RESP"; die "a 4 KB body before the reload: $STATUS"; }

# reloads: wait for the n-th "reload" log line
reloads() { grep -c 'reload' "$W/hsmcad.log" || true; }
hup_and_wait() {
    _before=$(reloads)
    kill -HUP "$APP_PID"
    _i=0
    while [ "$(reloads)" -le "$_before" ]; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] || { show "$W/hsmcad.log"; die "no reload logged within 10 s of SIGHUP"; }
        sleep 0.1
    done
}

# one keep-alive connection across the reload: same local port before and after
cat >"$W/keepalive.py" <<'PY'
import http.client, os, signal, sys, time
port, pid, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", "/v1/sys/health"); r = c.getresponse(); r.read()
assert r.status == 200, r.status
before = c.sock.getsockname()
n = open(log).read().count("reload:")
os.kill(pid, signal.SIGHUP)
for _ in range(100):
    if open(log).read().count("reload:") > n:
        break
    time.sleep(0.1)
else:
    sys.exit("no reload logged")
c.request("GET", "/v1/sys/health"); r = c.getresponse(); r.read()
assert r.status == 200, r.status
assert c.sock is not None and c.sock.getsockname() == before, "the connection was dropped by the reload"
print("same connection", before[1])
PY
appliance_config "$CFG" "$port" "" '{"max_body": 2048}' debug
python3 "$W/keepalive.py" "$APP_PORT" "$APP_PID" "$W/hsmcad.log" >"$W/keepalive.out" 2>&1 ||
    { show "$W/keepalive.out"; show "$W/hsmcad.log"; die "keep-alive connection across the reload"; }
grep -q 'reload: .*log_level info -> debug.*limits.max_body changed' "$W/hsmcad.log" ||
    { show "$W/hsmcad.log"; die "the reload did not report the changed log level and limit"; }
app_api POST pki/roles/r "{\"allowed_domains\":\"example.com\",\"pad\":\"$pad\"}"
[ "$STATUS" = 413 ] || { show "$RESP"; die "a 4 KB body after max_body 2048 was reloaded: $STATUS, expected 413"; }
app_api POST pki/roles/r '{"allowed_domains":"example.com"}'
[ "$STATUS" = 200 ] || { show "$RESP"; die "a small body after the reload: $STATUS"; }
pass "SIGHUP: max_body 2048 in force for new requests, $(cat "$W/keepalive.out") kept, log level and limit reported"

# changes that need a restart are reported, not pretended
appliance_config "$CFG" "$(free_port)" "" '{"max_body": 2048, "max_connections": 10}' debug
hup_and_wait
grep -q 'needs a restart to apply: limits.max_connections listen' "$W/hsmcad.log" ||
    { show "$W/hsmcad.log"; die "a changed listen address / connection limit was not reported as needing a restart"; }
curl -sf -o /dev/null "$APP_URL/v1/sys/health" || die "not served on the original port after the reload"
pass "a changed listen address and connection limit are reported as needing a restart; the old port serves"

# broken configurations are rejected and the running one kept
for broken in '{"listen": [' '{"limits": {"max_body": 2048}, "no_such_key": 1}' bad-level; do
    if [ "$broken" = bad-level ]; then
        appliance_config "$CFG" "$port" "" '{"max_body": 1048576}' loud
    else
        printf '%s\n' "$broken" >"$CFG"
    fi
    hup_and_wait
    tail -n 3 "$W/hsmcad.log" | grep -q 'reload rejected, the running configuration is kept' ||
        { show "$W/hsmcad.log"; die "broken configuration ($broken) not rejected"; }
    kill -0 "$APP_PID" || die "hsmcad died on a broken configuration"
    app_api POST pki/roles/r "{\"allowed_domains\":\"example.com\",\"pad\":\"$pad\"}"
    [ "$STATUS" = 413 ] || die "after a rejected reload the limit changed ($STATUS, expected 413)"
done
grep -q "unknown key 'no_such_key'" "$W/hsmcad.log" || die "the rejection does not name the unknown key"
grep -q "log_level 'loud'" "$W/hsmcad.log" || die "the rejection does not name the bad log level"
grep -q 'STATUS=serving; last reload rejected' "$NLOG" || { show "$NLOG"; die "no STATUS= for the rejected reload"; }
grep -q 'RELOADING=1' "$NLOG" || { show "$NLOG"; die "no RELOADING=1 on the notify socket"; }
pass "broken configurations (bad JSON, unknown key, bad log level) rejected with the reason; old limits kept"

# ---- policy files ----
POL="\"policies\": {\"ops\": \"$W/ops.json\"},"
echo '{"path": {"sys/mounts": {"capabilities": ["deny"]}}}' >"$W/ops.json"
appliance_config "$CFG" "$port" "" '{"max_body": 1048576}' info "$POL"
hup_and_wait
grep -q 'reload: .*policy ops written' "$W/hsmcad.log" || { show "$W/hsmcad.log"; die "policy file not written on reload"; }
app_api POST auth/token/create '{"policies":["ops"],"no_default_policy":true}'
[ "$STATUS" = 200 ] || { show "$RESP"; die "token create: $STATUS"; }
ops_token=$(jq -r .auth.client_token "$RESP")
TOKEN=$ops_token app_api GET sys/mounts
[ "$STATUS" = 403 ] || die "policy ops (deny sys/mounts): GET sys/mounts gave $STATUS, expected 403"
echo '{"path": {"sys/mounts": {"capabilities": ["read"]}}}' >"$W/ops.json"
hup_and_wait
TOKEN=$ops_token app_api GET sys/mounts
[ "$STATUS" = 200 ] || { show "$W/hsmcad.log"; die "after the policy file granted read: GET sys/mounts gave $STATUS"; }
grep '"sys/policies/acl/ops"' "$W/audit.log" | grep -q '"configuration"' ||
    die "the policy write from the configuration is not in the audit log"
echo '{"path": {"sys/mounts": {"capabilities": ["fly"]}}}' >"$W/ops.json"
hup_and_wait
tail -n 3 "$W/hsmcad.log" | grep -q 'reload rejected.*policies.ops' || { show "$W/hsmcad.log"; die "a bad policy file was not rejected"; }
TOKEN=$ops_token app_api GET sys/mounts
[ "$STATUS" = 200 ] || die "a rejected policy file changed the stored policy ($STATUS)"
pass "policy files: written on SIGHUP (audited, in force for the next request); a bad one rejects the reload"

appliance_stop
kill "$HARNESS_PID" 2>/dev/null || true
