#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Intermediates sent by the client at login: a role holding only the root
# accepts a leaf issued by an intermediate the client presents in its TLS
# chain (curl --cert chain.pem, and GnuTLS's gnutls-cli as the judge of a
# second, independent TLS stack), but an intermediate the client sends is
# path material only: a rogue CA sent along never becomes a trust anchor.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD
need_tool curl jq openssl gnutls-cli

W=$(workdir api_cert_chain)
daemon_start_dev "$W/dev" -dev-tls

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key "$W/root.key"
openssl req -x509 -new -key "$W/root.key" -out "$W/root.pem" -subj /CN=chain-root -days 30 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
# sign NAME ISSUER SUBJECT EXTS
sign() {
    key "$W/$1.key"
    printf '%b\n' "$4" >"$W/$1.ext"
    openssl req -new -key "$W/$1.key" -subj "$3" -out "$W/$1.csr" 2>/dev/null
    openssl x509 -req -in "$W/$1.csr" -CA "$W/$2.pem" -CAkey "$W/$2.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days 5 -extfile "$W/$1.ext" -out "$W/$1.pem" 2>/dev/null || die "sign $1"
}
CAEXT='basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign'
CLIENT='basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:c.example.com'
sign inter root /CN=chain-intermediate "$CAEXT"
sign leaf inter /CN=c.example.com "$CLIENT"
cat "$W/leaf.pem" "$W/inter.pem" >"$W/chain.pem"
# a rogue CA (self-signed) the client sends along with a leaf it issued
key "$W/rogue.key"
openssl req -x509 -new -key "$W/rogue.key" -out "$W/rogue.pem" -subj /CN=chain-intermediate -days 30 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
sign bad rogue /CN=c.example.com "$CLIENT"
cat "$W/bad.pem" "$W/rogue.pem" >"$W/badchain.pem"
openssl verify -CAfile "$W/root.pem" -untrusted "$W/inter.pem" "$W/leaf.pem" >/dev/null || die "fixture chain"

api_ok POST sys/auth/cert '{"type":"cert"}'
api_ok POST sys/policies/acl/reader "$(jq -n '{policy: ({path: {"auth/cert/certs/*": {capabilities: ["read"]}}} | tojson)}')"
api_ok POST auth/cert/certs/root "$(jq -n --rawfile c "$W/root.pem" '{certificate:$c, token_policies:"reader",
    allowed_dns_sans:"c.example.com"}')" 204

login() { # login CERTFILE KEYFILE: $STATUS
    STATUS=$(curl -s -o "$RESP" -w '%{http_code}' $CURL_TLS --cert "$1" --key "$2" -X POST \
        --data-binary '{"name":"root"}' "$ADDR/v1/auth/cert/login") || STATUS=000
}
# the leaf alone does not chain to the root: the intermediate is missing
login "$W/leaf.pem" "$W/leaf.key"
[ "$STATUS" = 403 ] || { show "$RESP"; die "leaf without its intermediate: $STATUS, expected 403"; }
grep -q "unable to get local issuer certificate" "$DAEMON_LOG" || die "missing-intermediate reason not logged"
# with the intermediate in the TLS chain it does
login "$W/chain.pem" "$W/leaf.key"
[ "$STATUS" = 200 ] || { show "$RESP"; die "leaf with its intermediate (curl): $STATUS, expected 200"; }
T=$(jget .auth.client_token)
TOKEN=$T api_ok GET auth/cert/certs/root
# a CA sent by the client is never an anchor
login "$W/badchain.pem" "$W/bad.key"
[ "$STATUS" = 403 ] || { show "$RESP"; die "leaf with a rogue CA in its chain: $STATUS, expected 403"; }

# GnuTLS as the client: gnutls-cli with the chain file and key
hp=${ADDR#https://}
req='POST /v1/auth/cert/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{"name":"root"}'
# shellcheck disable=SC2059
{ printf "$req" "$hp"; sleep 3; } | gnutls-cli --x509cafile "$DAEMON_DIR/tls-ca.pem" --x509certfile "$W/chain.pem" \
    --x509keyfile "$W/leaf.key" -p "${hp##*:}" "${hp%:*}" >"$W/gnutls.out" 2>&1 || true
grep -q '"client_token":"s\.' "$W/gnutls.out" || { show "$W/gnutls.out"; die "gnutls-cli login with the chain"; }
# shellcheck disable=SC2059
{ printf "$req" "$hp"; sleep 3; } | gnutls-cli --x509cafile "$DAEMON_DIR/tls-ca.pem" --x509certfile "$W/leaf.pem" \
    --x509keyfile "$W/leaf.key" -p "${hp##*:}" "${hp%:*}" >"$W/gnutls2.out" 2>&1 || true
grep -q 'HTTP/1.1 403' "$W/gnutls2.out" || { show "$W/gnutls2.out"; die "gnutls-cli login without the intermediate"; }

daemon_stop
echo "ok: certificate login with client-sent intermediates"
