#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Certificate-login latency of the auth/cert method against a throwaway
# `hsmcad -dev -dev-tls`: N sequential `curl --cert` logins per role —
# no OCSP, OCSP answered from the cache (responder nextUpdate 10 min), and
# OCSP asked every time (responder without nextUpdate) — against an
# `openssl ocsp` responder. Prints ms per login (curl's process start and
# TLS handshake included, the same in every row). Builds nothing. Runs in a
# private network namespace (`unshare -n`, needs root or user namespaces)
# and refuses to run without one: `openssl ocsp -port` binds every
# interface, and nothing here may listen beyond loopback.
#
#   HSMCAD=build/default/bin/hsmcad bench/run_cert_login.sh [N]
set -eu
if [ -z "${HSMCA_IN_NETNS:-}" ]; then
    if unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
        HSMCA_IN_NETNS=1 exec unshare -n sh -c 'ip link set lo up && exec sh "$0" "$@"' "$0" "$@"
    fi
    echo "$0: needs a private network namespace (unshare -n and ip): openssl ocsp -port would listen on every interface" >&2
    exit 2
fi
N=${1:-50}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/lib/token.sh"
. "$here/../tests/lib/daemon.sh"
need_env HSMCAD
W=$(workdir bench_cert_login)
daemon_start_dev "$W/dev" -dev-tls
PIDS=
trap 'for p in $PIDS; do kill $p 2>/dev/null || true; done; kill -KILL "$DAEMON_PID" 2>/dev/null || true; rm -rf "$W"' EXIT
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key "$W/ca.key"
openssl req -x509 -new -key "$W/ca.key" -out "$W/ca.pem" -subj /CN=bench-ca -days 5 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature 2>/dev/null
key "$W/c.key"
openssl req -new -key "$W/c.key" -subj /CN=c -out "$W/c.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$W/c.ext"
openssl x509 -req -in "$W/c.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -set_serial 0x4001 -days 5 -extfile "$W/c.ext" \
    -out "$W/c.pem" 2>/dev/null
printf 'V\t%s\t\t4001\tunknown\t/CN=c\n' "$(date -u -d '+5 days' +%y%m%d%H%M%SZ)" >"$W/idx"
echo "unique_subject = no" >"$W/idx.attr"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(port); P2=$(port)
openssl ocsp -index "$W/idx" -port "$P1" -CA "$W/ca.pem" -rsigner "$W/ca.pem" -rkey "$W/ca.key" -nmin 10 \
    >/dev/null 2>&1 &
PIDS="$PIDS $!"
openssl ocsp -index "$W/idx" -port "$P2" -CA "$W/ca.pem" -rsigner "$W/ca.pem" -rkey "$W/ca.key" >/dev/null 2>&1 &
PIDS="$PIDS $!"
sleep 1
api_ok POST sys/auth/cert '{"type":"cert"}'
c=$(jq -Rs . "$W/ca.pem")
api_ok POST auth/cert/certs/plain "$(jq -n --argjson c "$c" '{certificate:$c}')" 204
api_ok POST auth/cert/certs/cached "$(jq -n --argjson c "$c" --arg u "http://127.0.0.1:$P1/" \
    '{certificate:$c, ocsp_enabled:true, ocsp_servers_override:$u}')" 204
api_ok POST auth/cert/certs/fresh "$(jq -n --argjson c "$c" --arg u "http://127.0.0.1:$P2/" \
    '{certificate:$c, ocsp_enabled:true, ocsp_servers_override:$u}')" 204
for role in plain cached fresh; do
    t0=$(date +%s%N)
    i=0
    while [ $i -lt "$N" ]; do
        st=$(curl -s -o /dev/null -w '%{http_code}' $CURL_TLS --cert "$W/c.pem" --key "$W/c.key" -X POST \
            --data-binary "{\"name\":\"$role\"}" "$ADDR/v1/auth/cert/login")
        [ "$st" = 200 ] || die "login $role: $st"
        i=$((i + 1))
    done
    t1=$(date +%s%N)
    echo "$role: $N logins, $(( (t1 - t0) / N / 1000 )) us per login"
done
daemon_stop
