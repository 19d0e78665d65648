#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The certificate auth method's OCSP client, judged by independent
# responders: `openssl ocsp -index ...` answering on 127.0.0.1 through
# tests/tools/ocsp_loopback.py (good, revoked, unknown; a
# responder signing with a key that has no authority; a delegated
# responder with id-kp-OCSPSigning), hsmcad's own responder (a certificate
# it issued, revoked through its API, refused at login), an unreachable
# responder with ocsp_fail_open false/true, ocsp_query_all_servers with one
# good and one revoked server, and the answer cache (kept until
# nextUpdate, bounded by ocsp_cache_size, nothing cached without one).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD
need_tool curl jq openssl python3

W=$(workdir api_cert_ocsp)
daemon_start_dev "$W/dev" -dev-tls
RESPONDERS=
cleanup() {
    for _p in $RESPONDERS; do kill "$_p" 2>/dev/null || true; done
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
mkca() { # mkca NAME CN
    key "$W/$1.key"
    openssl req -x509 -new -key "$W/$1.key" -out "$W/$1.pem" -subj "/CN=$2" -days 30 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature \
        2>/dev/null || die "mkca $1"
}
P_GOOD=$(freeport); P_REV=$(freeport); P_WRONG=$(freeport); P_DELEG=$(freeport); P_NONEXT=$(freeport)
leaf() { # leaf NAME CA SERIAL EXTS
    key "$W/$1.key"
    printf '%b\n' "$4" >"$W/$1.ext"
    openssl req -new -key "$W/$1.key" -subj "/CN=$1.example.com" -out "$W/$1.csr" 2>/dev/null
    openssl x509 -req -in "$W/$1.csr" -CA "$W/$2.pem" -CAkey "$W/$2.key" -set_serial "$3" -days 5 \
        -extfile "$W/$1.ext" -out "$W/$1.pem" 2>/dev/null || die "leaf $1"
}
CLIENT='basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth'
mkca ca ocsp-test-ca
mkca other other-ca
leaf good ca 0x2001 "$CLIENT\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:$P_GOOD/"
leaf revoked ca 0x2002 "$CLIENT\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:$P_GOOD/"
leaf unknown ca 0x2003 "$CLIENT\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:$P_GOOD/"
leaf noaia ca 0x2004 "$CLIENT"
leaf c5 ca 0x2005 "$CLIENT"
leaf c6 ca 0x2006 "$CLIENT"
leaf c7 ca 0x2007 "$CLIENT"
# a delegated responder (RFC 6960 4.2.2.2) and a CA-issued certificate without id-kp-OCSPSigning
leaf deleg ca 0x3001 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=OCSPSigning'
leaf nodeleg ca 0x3002 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth'

exp=$(date -u -d '+5 days' +%y%m%d%H%M%SZ)
idx() { # idx FILE then "STATE SERIAL" pairs
    _f=$1; shift
    : >"$_f"
    while [ $# -gt 0 ]; do
        case $1 in
        V) printf 'V\t%s\t\t%s\tunknown\t/CN=x%s\n' "$exp" "$2" "$2" >>"$_f" ;;
        R) printf 'R\t%s\t250101000000Z\t%s\tunknown\t/CN=x%s\n' "$exp" "$2" "$2" >>"$_f" ;;
        esac
        shift 2
    done
    echo "unique_subject = no" >"$_f.attr"
}
idx "$W/good.idx" V 2001 R 2002 V 2004 V 2005 V 2006 V 2007
idx "$W/rev.idx" R 2001 R 2002 V 2004
# responder PORT INDEX SIGNER-CERT SIGNER-KEY [extra]: openssl ocsp's
# answers served on 127.0.0.1:PORT (`openssl ocsp -port` would bind every
# interface), in the background
responder() {
    # shellcheck disable=SC2086
    python3 "$here/../tools/ocsp_loopback.py" "$1" -- -index "$2" -CA "$W/ca.pem" -rsigner "$3" -rkey "$4" ${5:-} \
        >>"$W/responder-$1.log" 2>&1 &
    RESPONDERS="$RESPONDERS $!"
    eval "PID_$1=$!"
    _i=0
    until openssl ocsp -issuer "$W/ca.pem" -serial 0x2004 -url "http://127.0.0.1:$1/" -noverify \
        >/dev/null 2>&1; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] || { show "$W/responder-$1.log"; die "openssl ocsp on port $1 did not start"; }
        sleep 0.1
    done
}
stop_responder() { eval "kill \$PID_$1"; eval "wait \$PID_$1 2>/dev/null || true"; }
responder "$P_GOOD" "$W/good.idx" "$W/ca.pem" "$W/ca.key" "-nmin 1"
responder "$P_REV" "$W/rev.idx" "$W/ca.pem" "$W/ca.key" "-nmin 1"
responder "$P_WRONG" "$W/good.idx" "$W/other.pem" "$W/other.key" "-nmin 1"
responder "$P_DELEG" "$W/good.idx" "$W/deleg.pem" "$W/deleg.key" "-nmin 1"
# the independent judge agrees on the fixtures
openssl ocsp -issuer "$W/ca.pem" -cert "$W/good.pem" -url "http://127.0.0.1:$P_GOOD/" -CAfile "$W/ca.pem" 2>/dev/null |
    grep -q ': good' || die "openssl ocsp: good.pem is not good"
openssl ocsp -issuer "$W/ca.pem" -cert "$W/revoked.pem" -url "http://127.0.0.1:$P_GOOD/" -CAfile "$W/ca.pem" \
    2>/dev/null | grep -q ': revoked' || die "openssl ocsp: revoked.pem is not revoked"
openssl ocsp -issuer "$W/ca.pem" -cert "$W/unknown.pem" -url "http://127.0.0.1:$P_GOOD/" -CAfile "$W/ca.pem" \
    2>/dev/null | grep -q ': unknown' || die "openssl ocsp: unknown.pem is not unknown"

api_ok POST sys/auth/cert '{"type":"cert"}'
capem=$(jq -Rs . "$W/ca.pem")
role() { api_ok DELETE "auth/cert/certs/$1" '' 204; api_ok POST "auth/cert/certs/$1" "$2" 204; }
login() { # login ROLE CERT
    STATUS=$(curl -s -o "$RESP" -w '%{http_code}' $CURL_TLS --cert "$W/$2.pem" --key "$W/$2.key" \
        -X POST --data-binary "{\"name\":\"$1\"}" "$ADDR/v1/auth/cert/login") || STATUS=000
}
ok_login() {
    login "$@"
    [ "$STATUS" = 200 ] || { show "$RESP"; tail -3 "$DAEMON_LOG"; die "login $1 as $2: status $STATUS, expected 200"; }
}
no_login() { # no_login ROLE CERT REASON
    login "$1" "$2"
    [ "$STATUS" = 403 ] || { show "$RESP"; die "login $1 as $2: status $STATUS, expected 403"; }
    [ "$(jq -c .errors "$RESP")" = '["permission denied"]' ] || { show "$RESP"; die "login $1 as $2: says more"; }
    grep -F "$3" "$DAEMON_LOG" | grep -q "certificate login refused" ||
        { tail -5 "$DAEMON_LOG"; die "login $1 as $2: reason '$3' not logged"; }
}
ocsprole() { # ocsprole NAME EXTRA-JSON
    role "$1" "$(jq -n --argjson c "$capem" --argjson x "$2" '{certificate:$c, ocsp_enabled:true} + $x')"
}

# ---- bad input: a responder that is not an http(s) URL, refused and nothing stored ----
api POST auth/cert/certs/badurl "$(jq -n --argjson c "$capem" '{certificate:$c, ocsp_enabled:true,
    ocsp_servers_override:"http://127.0.0.1:1/, file:///etc/passwd"}')"
[ "$STATUS" = 400 ] || { show "$RESP"; die "ocsp_servers_override file://: status $STATUS, expected 400"; }
jq -r '.errors[0]' "$RESP" | grep -q "ocsp_servers_override: 'file:///etc/passwd'" || { show "$RESP"; die "message"; }
api GET auth/cert/certs/badurl
[ "$STATUS" = 404 ] || die "a refused role was stored"

# ---- AIA: good, revoked, unknown ----
ocsprole aia '{}'
ok_login aia good
no_login aia revoked "says the certificate is revoked"
no_login aia unknown "status is unknown"
ocsprole aiaopen '{"ocsp_fail_open":true}'
ok_login aiaopen unknown
[ "$(jq -r '.warnings|join(" ")' "$RESP")" != "" ] || die "fail-open login without a warning"
no_login aiaopen revoked "says the certificate is revoked"   # revoked is final even when failing open
# no AIA and no override: nothing to ask
no_login aia noaia "no OCSP responder"

# ---- unreachable responder ----
P_DOWN=$(freeport)
ocsprole down "{\"ocsp_servers_override\":\"http://127.0.0.1:$P_DOWN/\"}"
no_login down good "ocsp_fail_open is false"
ocsprole downopen "{\"ocsp_servers_override\":\"http://127.0.0.1:$P_DOWN/\",\"ocsp_fail_open\":true}"
ok_login downopen good
# a responder that answers garbage, or too much, is as good as down
P_JUNK=$(freeport)
python3 - "$P_JUNK" >"$W/junk.log" 2>&1 <<'PY' &
import sys, http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b"not an OCSP response" if self.path == "/junk" else b"x" * (2 * 1024 * 1024)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
RESPONDERS="$RESPONDERS $!"
# ready when it answers (a fixed sleep flaked on a loaded machine)
_i=0
until curl -sf -o /dev/null -X POST --data-binary x "http://127.0.0.1:$P_JUNK/junk"; do
    _i=$((_i + 1)); [ $_i -lt 100 ] || { show "$W/junk.log"; die "the junk responder did not start"; }; sleep 0.1
done
ocsprole junk "{\"ocsp_servers_override\":\"http://127.0.0.1:$P_JUNK/junk\"}"
no_login junk good "not a DER OCSP response"
ocsprole big "{\"ocsp_servers_override\":\"http://127.0.0.1:$P_JUNK/big\"}"
no_login big good "larger than 65536 bytes"

# ---- who may sign (RFC 6960 4.2.2.2) ----
ocsprole wrong "{\"ocsp_servers_override\":\"http://127.0.0.1:$P_WRONG/\"}"
no_login wrong good "signature or signer is not trusted"
ocsprole deleg "{\"ocsp_servers_override\":\"http://127.0.0.1:$P_DELEG/\"}"
ok_login deleg good
no_login deleg revoked "says the certificate is revoked"
# the wrong signer becomes acceptable only when the role trusts it explicitly
ocsprole wrongtrusted "$(jq -n --rawfile o "$W/other.pem" --arg u "http://127.0.0.1:$P_WRONG/" \
    '{ocsp_servers_override:$u, ocsp_ca_certificates:$o}')"
ok_login wrongtrusted good
# a certificate the CA issued without id-kp-OCSPSigning is no responder
P_NODELEG=$(freeport)
responder "$P_NODELEG" "$W/good.idx" "$W/nodeleg.pem" "$W/nodeleg.key" "-nmin 1"
ocsprole nodeleg "{\"ocsp_servers_override\":\"http://127.0.0.1:$P_NODELEG/\"}"
no_login nodeleg good "signature or signer is not trusted"

# ---- ocsp_query_all_servers: one good server, one that says revoked ----
ocsprole first "{\"ocsp_servers_override\":[\"http://127.0.0.1:$P_GOOD/\",\"http://127.0.0.1:$P_REV/\"]}"
ok_login first good                       # the first definite answer decides
ocsprole all "{\"ocsp_servers_override\":[\"http://127.0.0.1:$P_GOOD/\",\"http://127.0.0.1:$P_REV/\"],\"ocsp_query_all_servers\":true}"
no_login all good "127.0.0.1:$P_REV/ says the certificate is revoked"
ocsprole all2 "{\"ocsp_servers_override\":[\"http://127.0.0.1:$P_GOOD/\",\"http://127.0.0.1:$P_DOWN/\"],\"ocsp_query_all_servers\":true}"
no_login all2 good "ocsp_fail_open is false"
ocsprole all3 "{\"ocsp_servers_override\":[\"http://127.0.0.1:$P_GOOD/\",\"http://127.0.0.1:$P_DELEG/\"],\"ocsp_query_all_servers\":true}"
ok_login all3 good

# ---- the cache: until nextUpdate, bounded by ocsp_cache_size ----
responder "$P_NONEXT" "$W/good.idx" "$W/ca.pem" "$W/ca.key"      # no nextUpdate: never cached
ocsprole nonext "{\"ocsp_servers_override\":\"http://127.0.0.1:$P_NONEXT/\"}"
ok_login nonext good
stop_responder "$P_NONEXT"
no_login nonext good "ocsp_fail_open is false"
api_ok POST auth/cert/config '{"ocsp_cache_size":2}' 204
P_CACHE=$(freeport)
responder "$P_CACHE" "$W/good.idx" "$W/ca.pem" "$W/ca.key" "-nmin 1"
ocsprole cache "{\"ocsp_servers_override\":\"http://127.0.0.1:$P_CACHE/\"}"
ok_login cache c5
ok_login cache c6
ok_login cache c7                           # evicts c5's answer (size 2)
t7=$(date +%s)                              # c7's answer: nextUpdate <= t7 + 60
stop_responder "$P_CACHE"
ok_login cache c7                           # answered from the cache
ok_login cache c6
no_login cache c5 "ocsp_fail_open is false" # evicted: the responder is asked, and it is gone
# past nextUpdate (-nmin 1) the cached answers are no longer used
_left=$((t7 + 62 - $(date +%s)))
[ "$_left" -le 0 ] || sleep "$_left"
no_login cache c7 "ocsp_fail_open is false"

# ---- hsmcad's own responder ----
api_ok POST pki/root/generate/internal '{"common_name":"hsm root","key_type":"ec","key_bits":256,"ttl":"100h"}'
jget .data.certificate >"$W/hsmroot.pem"
api_ok POST pki/config/urls "$(jq -n --arg u "$ADDR/v1/pki/ocsp" '{ocsp_servers:[$u]}')"
api_ok POST pki/config/crl '{"ocsp_expiry":"0"}'   # no nextUpdate: every login asks afresh
api_ok POST pki/roles/client '{"allowed_domains":"svc.example.com","allow_subdomains":true,"client_flag":true,"server_flag":false,"key_type":"ec","key_bits":256,"ttl":"1h"}'
api_ok POST pki/issue/client '{"common_name":"a.svc.example.com"}'
jget .data.certificate >"$W/hsmleaf.pem"
jget .data.private_key >"$W/hsmleaf.key"
openssl x509 -in "$W/hsmleaf.pem" -noout -ocsp_uri | grep -q "/v1/pki/ocsp" || die "hsmcad's certificate has no OCSP URI"
role hsm "$(jq -n --rawfile c "$W/hsmroot.pem" '{certificate:$c, ocsp_enabled:true}')"
ok_login hsm hsmleaf
serial=$(openssl x509 -in "$W/hsmleaf.pem" -noout -serial | sed 's/serial=//;s/../&:/g;s/:$//' | tr A-F a-f)
api_ok POST pki/revoke "$(jq -n --arg s "$serial" '{serial_number:$s}')"
# the independent judge sees the revocation at hsmcad's responder too
cat "$W/hsmroot.pem" "$W/dev/tls-ca.pem" >"$W/judge-ca.pem"
openssl ocsp -issuer "$W/hsmroot.pem" -cert "$W/hsmleaf.pem" -url "$ADDR/v1/pki/ocsp" -CAfile "$W/judge-ca.pem" \
    >"$W/judge.out" 2>&1 || true
grep -q ': revoked' "$W/judge.out" || { show "$W/judge.out"; die "openssl ocsp does not see hsmleaf revoked"; }
no_login hsm hsmleaf "says the certificate is revoked"

daemon_stop
echo "ok: certificate login with OCSP"
