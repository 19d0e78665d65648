#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs hsmca-bench-http against a throwaway `hsmcad -dev` of its own: state
# directory (SoftHSM2 token, SQLite database, audit log) in a temporary
# directory beside the binary, on the build tree's disk, removed afterwards.
# Builds nothing.
#
#   bench/run_http.sh build/default/bench/hsmca-bench-http [--seconds N] [--threads LIST] ...
#
# Every argument after the binary goes to it. hsmcad is $HSMCAD, else the
# build tree's bin/hsmcad beside the bench directory. With the defaults (10 s
# per measurement, 2 issuers x 3 measurements) it takes about 70 s.
#
# The API token is random, in a 0600 file (-dev-root-token-file), and the
# bench reads the token's user PIN from the state directory's `pin` file:
# neither is ever on a command line. hsmcad's pid is printed on stderr, so a
# profiler can attach while the bench runs (perf record -g -p PID).
set -eu

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/hsmca-bench-http [--seconds N] [--threads LIST] [--issuers LIST]" >&2
    exit 2
fi
bin=$1
shift
bindir=$(cd "$(dirname "$bin")" && pwd)
hsmcad=${HSMCAD:-$bindir/../bin/hsmcad}
[ -x "$hsmcad" ] || { echo "$0: no hsmcad at $hsmcad (build it, or set HSMCAD)" >&2; exit 2; }
# hsmcad -dev finds SoftHSM2 itself; the bench loads the same library.
module=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

umask 077
work=$(mktemp -d "$bindir/bench-http.XXXXXX")
pid=
stop_daemon() {
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    _i=0
    while kill -0 "$pid" 2>/dev/null && [ $_i -lt 300 ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$0: hsmcad (pid $pid) did not stop within 30 s of SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    set +e
    wait "$pid"
    _rc=$?
    set -e
    pid=
    if [ "$_rc" -ne 0 ]; then
        echo "$0: hsmcad exited $_rc after SIGTERM; its log:" >&2
        sed 's/^/    | /' "$work/hsmcad.log" >&2
    fi
    return "$_rc"
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    stop_daemon || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 32 random bytes as hex: the root token of this throwaway daemon.
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$work/root-token"
echo >>"$work/root-token"

"$hsmcad" -dev -dev-state-dir="$work/dev" -dev-root-token-file="$work/root-token" \
    -dev-listen-address=127.0.0.1:0 -log-level=warning >"$work/hsmcad.log" 2>&1 &
pid=$!
addr=
i=0
while [ $i -lt 300 ]; do
    addr=$(sed -n 's/^Address: //p' "$work/hsmcad.log" | head -1)
    [ -n "$addr" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
        sed 's/^/    | /' "$work/hsmcad.log" >&2
        echo "$0: hsmcad -dev exited during start" >&2
        exit 1
    fi
    sleep 0.1
    i=$((i + 1))
done
[ -n "$addr" ] || { echo "$0: hsmcad -dev printed no address within 30 s" >&2; exit 1; }
i=0
until curl -sf -o /dev/null "$addr/v1/sys/health"; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "$0: hsmcad at $addr is not healthy" >&2; exit 1; }
    sleep 0.1
done
echo "run_http.sh: hsmcad pid $pid at $addr, state in $work/dev" >&2

# The bench opens the daemon's token itself for the raw C_Sign baseline.
set +e
SOFTHSM2_CONF=$work/dev/softhsm2.conf "$bin" --addr "$addr" --vault-token-file "$work/root-token" \
    --daemon-pid "$pid" --module "$module" --token hsmca-dev --pin-file "$work/dev/pin" "$@"
status=$?
set -e
if ! stop_daemon && [ "$status" -eq 0 ]; then
    status=1
fi
exit "$status"
