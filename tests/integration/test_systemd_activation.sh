#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Socket activation (hsmcad.socket): the listening socket is made by the
# manager and passed as fd 3 with LISTEN_FDS/LISTEN_PID; hsmcad serves on it
# instead of binding the configured addresses. The launcher is
# tests/tools/sd_harness.py, doing what systemd does before exec.
# A socket that is not a listening stream socket is refused at start.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/../lib/appliance.sh"
need_env HSMCAD
need_tool softhsm2-util python3 curl

W=$(workdir systemd_activation)
appliance_token "$W"
cfg_port=$(free_port)
appliance_config "$W/hsmcad.json" "$cfg_port"
env CREDENTIALS_DIRECTORY="$CREDS" python3 "$HARNESS" activate 127.0.0.1 "$W/port" "$HSMCAD" -config "$W/hsmcad.json" \
    >"$W/hsmcad.log" 2>&1 &
APP_PID=$!
APP_LOG=$W/hsmcad.log
trap 'kill -KILL "$APP_PID" 2>/dev/null || true' EXIT
appliance_wait "$W/hsmcad.log"
sock_port=$(cat "$W/port")
grep -q 'socket-activated' "$W/hsmcad.log" || { show "$W/hsmcad.log"; die "hsmcad did not say it was socket-activated"; }
[ "$APP_PORT" = "$sock_port" ] || die "hsmcad reports port $APP_PORT, the passed socket has $sock_port"
curl -sf -o /dev/null "http://127.0.0.1:$sock_port/v1/sys/health" || die "not served on the passed socket"
if curl -s -o /dev/null "http://127.0.0.1:$cfg_port/v1/sys/health"; then
    die "the configured address was bound as well: the socket unit must decide where hsmcad listens"
fi
appliance_stop
pass "socket activation: served on the passed fd 3 ($sock_port), configured address not bound, exit 0"

# LISTEN_FDS naming a descriptor that is no listening socket: refused, exit 78
python3 -c '
import os, sys
fd = os.open("/dev/null", os.O_RDONLY)
os.dup2(fd, 3); os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execv(sys.argv[1], sys.argv[1:])' "$HSMCAD" -config "$W/hsmcad.json" >"$W/bad.log" 2>&1 && die "a non-socket fd 3 was accepted" || rc=$?
[ "$rc" = 78 ] || { show "$W/bad.log"; die "a non-socket fd 3: exit $rc, expected 78"; }
grep -q 'not a listening stream socket' "$W/bad.log" || { show "$W/bad.log"; die "no reason given for the bad fd"; }
# LISTEN_PID of another process: not ours, so hsmcad binds the configured address
env LISTEN_FDS=1 LISTEN_PID=1 CREDENTIALS_DIRECTORY="$CREDS" "$HSMCAD" -config "$W/hsmcad.json" >"$W/other.log" 2>&1 &
APP_PID=$!
APP_LOG=$W/other.log
appliance_wait "$W/other.log"
[ "$APP_PORT" = "$cfg_port" ] || die "LISTEN_PID of another process was honoured"
appliance_stop
pass "a non-socket fd is refused (exit 78, reason logged); LISTEN_PID of another process is ignored"
