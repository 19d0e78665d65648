#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# CRLs of the certificate auth method from a distribution point (crls/:name
# with url): hsmcad's own /v1/pki/crl as the distribution point (https),
# fetched and verified at POST, refreshed in the background before its
# nextUpdate (a certificate revoked and the CRL rotated is refused at login
# after the refresh), the last good CRL kept when the distribution point
# fails, kept across a restart, and bad URLs refused with 400 changing
# nothing (wrong scheme, unreachable, not a CRL, a CRL no role's CA signed).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD
need_tool curl jq openssl python3

W=$(workdir api_cert_crl_url)
daemon_start_dev "$W/dev" -dev-tls
WEB_PID=
trap 'kill "$WEB_PID" 2>/dev/null || true; kill -KILL "$DAEMON_PID" 2>/dev/null || true' EXIT

api_ok POST pki/root/generate/internal '{"common_name":"hsm root","key_type":"ec","key_bits":256,"ttl":"100h"}'
jget .data.certificate >"$W/hsmroot.pem"
api_ok POST pki/config/crl '{"expiry":"20s"}'
api_ok POST pki/roles/client '{"allowed_domains":"svc.example.com","allow_subdomains":true,"client_flag":true,"server_flag":false,"key_type":"ec","key_bits":256,"ttl":"1h"}'
issue() { # issue NAME
    api_ok POST pki/issue/client "{\"common_name\":\"$1.svc.example.com\"}"
    jget .data.certificate >"$W/$1.pem"
    jget .data.private_key >"$W/$1.key"
}
issue a
issue b
serial_of() { openssl x509 -in "$W/$1.pem" -noout -serial | sed 's/serial=//;s/../&:/g;s/:$//' | tr A-F a-f; }
dec_of() { python3 -c "print(int('$(openssl x509 -in "$W/$1.pem" -noout -serial | sed 's/serial=//')', 16))"; }
api_ok GET pki/crl/rotate

api_ok POST sys/auth/cert '{"type":"cert"}'
api_ok POST auth/cert/certs/hsm "$(jq -n --rawfile c "$W/hsmroot.pem" '{certificate:$c}')" 204
login() { # login CERT: $STATUS
    STATUS=$(curl -s -o "$RESP" -w '%{http_code}' $CURL_TLS --cert "$W/$1.pem" --key "$W/$1.key" -X POST \
        --data-binary '{"name":"hsm"}' "$ADDR/v1/auth/cert/login") || STATUS=000
}
expect_login() { # expect_login STATUS CERT
    login "$2"
    [ "$STATUS" = "$1" ] || { show "$RESP"; die "login as $2: status $STATUS, expected $1"; }
}

# ---- bad URLs: 400, nothing stored ----
bad_url() { # bad_url URL MESSAGE-PART
    api POST auth/cert/crls/bad "$(jq -n --arg u "$1" '{url:$u}')"
    [ "$STATUS" = 400 ] || { show "$RESP"; die "crls url $1: status $STATUS, expected 400"; }
    jq -r '.errors[0]' "$RESP" | grep -qF "$2" || { show "$RESP"; die "crls url $1: message lacks '$2'"; }
    api GET auth/cert/crls/bad
    [ "$STATUS" = 404 ] || die "crls url $1: something was stored"
}
bad_url "file:///etc/passwd" "only http:// and https://"
bad_url "http://127.0.0.1:9/crl" "127.0.0.1:9"
bad_url "$ADDR/v1/pki/ca/pem" "not an X.509 CRL"
# a CRL signed by a CA no role of the mount holds
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/other.key" 2>/dev/null
openssl req -x509 -new -key "$W/other.key" -out "$W/other.pem" -subj /CN=other -days 5 2>/dev/null
mkdir -p "$W/web" "$W/odb"
: >"$W/odb/index.txt"
printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/odb/index.txt\ncrlnumber=%s/odb/crlnumber\ndefault_md=sha256\ndefault_crl_days=1\n' \
    "$W" "$W" >"$W/o.cnf"
echo 01 >"$W/odb/crlnumber"
openssl ca -config "$W/o.cnf" -gencrl -keyfile "$W/other.key" -cert "$W/other.pem" -out "$W/web/other.crl" 2>/dev/null ||
    die "other CRL"
P_WEB=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$W/web" "$P_WEB" >"$W/web.log" 2>&1 &
WEB_PID=$!
_i=0
until curl -sf -o /dev/null "http://127.0.0.1:$P_WEB/other.crl"; do
    _i=$((_i + 1)); [ $_i -lt 100 ] || die "python http.server did not start"; sleep 0.1
done
bad_url "http://127.0.0.1:$P_WEB/other.crl" "not signed by a CA certificate of any role"

# ---- hsmcad's own CRL endpoint (https) as the distribution point ----
api_ok POST auth/cert/crls/hsm "$(jq -n --arg u "$ADDR/v1/pki/crl" '{url:$u}')" 204
api_ok GET auth/cert/crls/hsm
[ "$(jget '.data.serials | length')" = 0 ] || { show "$RESP"; die "fresh CRL lists serials"; }
expect_login 200 a
api_ok POST pki/revoke "$(jq -n --arg s "$(serial_of a)" '{serial_number:$s}')"
api_ok GET pki/crl/rotate
# the openssl judge sees it on hsmcad's CRL ...
curl -sf $CURL_TLS -o "$W/hsm.crl" "$ADDR/v1/pki/crl"
openssl crl -inform DER -in "$W/hsm.crl" -noout -text | grep -qi "$(openssl x509 -in "$W/a.pem" -noout -serial | sed 's/serial=//')" ||
    die "openssl: a's serial is not on hsmcad's CRL"
# ... and the method picks it up by itself before the old CRL's nextUpdate (20 s)
_i=0
while :; do
    login a
    [ "$STATUS" = 403 ] && break
    [ "$STATUS" = 200 ] || { show "$RESP"; die "login as a while waiting for the refresh: $STATUS"; }
    _i=$((_i + 1))
    [ $_i -lt 60 ] || die "the CRL was not refreshed within 60 s"
    sleep 1
done
grep -q "CRL 'hsm' refreshed from" "$DAEMON_LOG" || die "the refresh is not logged"
grep -F "revoked by CRL 'hsm'" "$DAEMON_LOG" | grep -q "certificate login refused" || die "refusal reason not logged"
api_ok GET auth/cert/crls/hsm
[ "$(jget ".data.serials | has(\"$(dec_of a)\")")" = true ] || { show "$RESP"; die "GET crls/hsm lacks a's serial"; }
expect_login 200 b

# ---- the distribution point fails: the last good CRL stays ----
curl -sf $CURL_TLS -o "$W/web/hsm.crl" "$ADDR/v1/pki/crl"
api_ok POST auth/cert/crls/copy "$(jq -n --arg u "http://127.0.0.1:$P_WEB/hsm.crl" '{url:$u}')" 204
api_ok DELETE auth/cert/crls/hsm '' 204
expect_login 403 a
# a CRL past its refresh point (its CA has not re-issued) is asked for
# again after a pause, not on every tick of the refresher
sleep 21
n0=$(grep -c 'GET /hsm.crl' "$W/web.log")
sleep 10
n1=$(grep -c 'GET /hsm.crl' "$W/web.log")
[ $((n1 - n0)) -le 1 ] || die "a CRL past its nextUpdate was fetched $((n1 - n0)) times in 10 s"
kill "$WEB_PID"
wait "$WEB_PID" 2>/dev/null || true
WEB_PID=
_i=0
until grep -q "CRL 'copy' could not be refreshed.*keeping the last good CRL" "$DAEMON_LOG"; do
    _i=$((_i + 1)); [ $_i -lt 60 ] || die "no failed refresh within 60 s"; sleep 1
done
expect_login 403 a
api_ok GET auth/cert/crls/copy
[ "$(jget ".data.serials | has(\"$(dec_of a)\")")" = true ] || { show "$RESP"; die "the kept CRL lost a's serial"; }
# ... and across a restart, with the distribution point still down
daemon_stop
daemon_start_dev "$W/dev" -dev-tls
expect_login 403 a
expect_login 200 b

daemon_stop
echo "ok: certificate auth CRLs from a distribution point"
