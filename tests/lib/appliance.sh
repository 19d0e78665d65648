# SPDX-License-Identifier: Apache-2.0
# Sourced by the appliance tests (after tests/lib/token.sh): hsmcad started
# the way systemd starts it — from a configuration file, the PIN as a
# credential in $CREDENTIALS_DIRECTORY — with the sd_notify/socket-activation
# stand-in tests/tools/sd_harness.py.
#
#   appliance_token "$W"                  # token + credential dir; sets CREDS, PIN_VALUE
#   appliance_config "$W/hsmcad.json" PORT [MODULE] [LIMITS-JSON]
#   appliance_start "$W/hsmcad.json" LOG  # sets APP_PID, waits for "serving"
#   appliance_port LOG                    # the port hsmcad logged
#   appliance_stop                        # SIGTERM, must exit 0

HARNESS=${HARNESS:-$(cd "$(dirname "$0")/../tools" && pwd)/sd_harness.py}

appliance_token() {
    token_create "$1/token" appliance
    CREDS=$1/creds
    mkdir -p "$CREDS"
    chmod 700 "$CREDS"
    cp "$HSMCA_TEST_PIN_FILE" "$CREDS/hsmca-pin"
    PIN_VALUE=$(cat "$HSMCA_TEST_PIN_FILE")
    export CREDS  # PIN_VALUE stays a shell variable: exported, every child would carry it
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# appliance_config FILE PORT [MODULE] [LIMITS] [LOG-LEVEL] [EXTRA-MEMBERS]  (EXTRA: '"k": v,')
appliance_config() {
    _dir=$(dirname "$1")
    _lim=${4:-}
    [ -n "$_lim" ] || _lim='{}'
    cat >"$1.tmp" <<JSON
{
  ${6:-}
  "listen": ["127.0.0.1:$2"],
  "tls": {"disable": true},
  "pkcs11": {"module": "${3:-$HSMCA_TEST_MODULE}", "token_label": "$HSMCA_TEST_TOKEN",
             "pin_credential": "hsmca-pin", "max_sessions": 16},
  "storage": {"path": "$_dir/hsmca.db"},
  "audit": {"path": "$_dir/audit.log"},
  "limits": $_lim,
  "workers": 32,
  "mounts": ["pki"],
  "log_level": "${5:-info}"
}
JSON
    mv "$1.tmp" "$1"
}

appliance_port() {
    sed -n 's/.*serving (.*port \([0-9]*\).*/\1/p' "$1" | head -n 1
}

# appliance_wait LOG: until hsmcad logged that it serves (30 s).
appliance_wait() {
    _i=0
    until grep -q 'serving (' "$1" 2>/dev/null; do
        kill -0 "$APP_PID" 2>/dev/null || { show "$1"; die "hsmcad exited during start"; }
        _i=$((_i + 1))
        [ $_i -lt 300 ] || { show "$1"; die "hsmcad did not start within 30 s"; }
        sleep 0.1
    done
    APP_PORT=$(appliance_port "$1")
    APP_URL=http://127.0.0.1:$APP_PORT
    export APP_PORT APP_URL
}

# appliance_start CONFIG LOG [ENV=VALUE...]: hsmcad -config, PIN as a credential.
appliance_start() {
    _cfg=$1
    _log=$2
    shift 2
    env CREDENTIALS_DIRECTORY="$CREDS" "$@" "$HSMCAD" -config "$_cfg" >"$_log" 2>&1 &
    APP_PID=$!
    APP_LOG=$_log
    trap 'kill -KILL "$APP_PID" 2>/dev/null || true; [ -z "${HARNESS_PID:-}" ] || kill "$HARNESS_PID" 2>/dev/null || true' EXIT
    appliance_wait "$_log"
}

# appliance_stop: SIGTERM; exit 0 within 30 s, no sanitizer report.
appliance_stop() {
    kill -TERM "$APP_PID" 2>/dev/null || die "hsmcad (pid $APP_PID) is not running"
    set +e
    timeout 40 sh -c "while kill -0 $APP_PID 2>/dev/null; do sleep 0.1; done"
    wait "$APP_PID"
    _rc=$?
    set -e
    if grep -Eq "ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:" "$APP_LOG"; then
        show "$APP_LOG"
        die "sanitizer report from hsmcad"
    fi
    [ "$_rc" -eq 0 ] || { show "$APP_LOG"; die "hsmcad exited $_rc after SIGTERM"; }
}

# app_api METHOD PATH [BODY]: like api (daemon.sh) against APP_URL; status in STATUS, body in RESP.
app_api() {
    CURL_TLS=${CURL_TLS:-}
    set -- "$1" "$2" "${3-}"
    ADDR=$APP_URL api "$@"
}

# root_token DIR: the token a first start wrote (stdout is not a terminal).
root_token() {
    cat "$1/hsmca.db.root-token"
}
