#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Takes a fresh Debian 12 machine to a running appliance: installs what is
# missing, builds, starts hsmcad in development mode with its state under
# var/dev (a SoftHSM2 token, the SQLite database, the audit log), and sets up
# a root CA (mount "pki") and an intermediate CA (mount "pki_int") whose keys
# are generated inside the token, plus a role "web". Prints the root token and
# a curl line that issues a certificate. Running it again reuses everything
# (and the daemon, if it is still running).
#
#   HSMCA_LISTEN=127.0.0.1:8200   the address to listen on (loopback only)
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j"$(nproc 2>/dev/null || echo 2)"

VAR=$ROOT/var
STATE=$VAR/dev
LISTEN=${HSMCA_LISTEN:-127.0.0.1:8200}
ADDR=http://$LISTEN
HSMCAD=$ROOT/build/default/bin/hsmcad
mkdir -p "$VAR"
chmod 700 "$VAR"

# The root token is chosen here once (random) and kept in a 0600 file; the
# daemon stores only its hash.
if [ ! -f "$VAR/root-token" ]; then
    (umask 077 && printf '%s\n' "$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')" >"$VAR/root-token")
fi
TOKEN=$(cat "$VAR/root-token")

running() {
    [ -f "$VAR/hsmcad.pid" ] && kill -0 "$(cat "$VAR/hsmcad.pid")" 2>/dev/null &&
        curl -sf "$ADDR/v1/sys/health" >/dev/null 2>&1
}

if running; then
    echo "hsmcad is already running (pid $(cat "$VAR/hsmcad.pid"))"
else
    echo "starting hsmcad (state in $STATE, log in $VAR/hsmcad.log)"
    # The root token is read from var/root-token (never an argument: ps
    # would show it); the daemon keeps only its hash.
    nohup "$HSMCAD" -dev -dev-state-dir="$STATE" -dev-listen-address="$LISTEN" \
        -dev-root-token-file="$VAR/root-token" >"$VAR/hsmcad.log" 2>&1 &
    echo $! >"$VAR/hsmcad.pid"
    i=0
    until curl -sf "$ADDR/v1/sys/health" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$(cat "$VAR/hsmcad.pid")" 2>/dev/null; then
            cat "$VAR/hsmcad.log" >&2
            echo "run: hsmcad did not start" >&2
            exit 1
        fi
        sleep 0.1
    done
fi

# api METHOD PATH [JSON]: prints the response body; fails on a 4xx/5xx.
api() {
    if [ $# -ge 3 ]; then
        curl -sf -X "$1" -H "X-Vault-Token: $TOKEN" -H 'Content-Type: application/json' --data-binary "$3" \
            "$ADDR/v1/$2"
    else
        curl -sf -X "$1" -H "X-Vault-Token: $TOKEN" "$ADDR/v1/$2"
    fi
}
exists() { curl -sf -o /dev/null -H "X-Vault-Token: $TOKEN" "$ADDR/v1/$1"; }

if ! exists pki/issuer/default/json; then
    echo "creating the root CA (EC P-384, key generated in the token)"
    api POST sys/mounts/pki/tune '{"max_lease_ttl":"87600h"}' >/dev/null
    api POST pki/root/generate/internal \
        '{"common_name":"hsmca development root","issuer_name":"root","key_type":"ec","key_bits":384,"ttl":"87600h"}' \
        >/dev/null
fi
if ! exists pki_int/issuer/default/json; then
    exists sys/mounts/pki_int || api POST sys/mounts/pki_int '{"type":"pki","config":{"max_lease_ttl":"43800h"}}' >/dev/null
    echo "creating the intermediate CA (EC P-256, key generated in the token, signed by the root)"
    api POST pki_int/intermediate/generate/internal \
        '{"common_name":"hsmca development intermediate","key_type":"ec","key_bits":256}' |
        jq -c '{csr: .data.csr, common_name: "hsmca development intermediate", ttl: "43800h"}' >"$VAR/int-req.json"
    api POST pki/root/sign-intermediate "$(cat "$VAR/int-req.json")" |
        jq -c '{certificate: (.data.certificate + "\n" + .data.issuing_ca)}' >"$VAR/int-signed.json"
    api POST pki_int/intermediate/set-signed "$(cat "$VAR/int-signed.json")" >/dev/null
    rm -f "$VAR/int-req.json" "$VAR/int-signed.json"
fi
if ! exists pki_int/roles/web; then
    api POST pki_int/roles/web \
        '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","key_bits":256,"max_ttl":"720h"}' \
        >/dev/null
fi

# Independent checks of what the appliance serves.
curl -sf "$ADDR/v1/pki/ca/pem" >"$VAR/root.pem"
curl -sf "$ADDR/v1/pki_int/ca/pem" >"$VAR/intermediate.pem"
openssl verify -CAfile "$VAR/root.pem" "$VAR/intermediate.pem"

cat <<EOF

hsmcad is running at $ADDR (pid $(cat "$VAR/hsmcad.pid"); stop it with: kill \$(cat var/hsmcad.pid))
Root token:   $TOKEN   (also in var/root-token)
Root CA:      var/root.pem    Intermediate CA: var/intermediate.pem

Issue a certificate:
  curl -s -H "X-Vault-Token: \$(cat var/root-token)" -d '{"common_name":"www.example.com"}' $ADDR/v1/pki_int/issue/web | jq .

Check it:
  ... | jq -r .data.certificate > cert.pem && openssl verify -CAfile var/root.pem -untrusted var/intermediate.pem cert.pem
EOF
