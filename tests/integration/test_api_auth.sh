#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The authorisation matrix: every endpoint of the daemon x (no token, a
# token whose policy grants everything on that path except the capability
# the operation needs, a token whose policy grants exactly that capability)
# -> 403, 403, and the endpoint's own answer. Endpoints OpenBao documents as
# unauthenticated answer without a token. Capabilities follow OpenBao's
# mapping: GET read, LIST list (path with a trailing '/'), POST/PUT update
# (create for a new role or policy), PATCH patch, DELETE delete, plus sudo on
# root-protected paths.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD
need_tool curl jq openssl base64

W=$(workdir api_auth)
daemon_start_dev "$W/dev"
ROOT=$ROOT_TOKEN

# ---- fixtures (root token) ----
api_ok POST sys/mounts/pki/tune '{"max_lease_ttl":"87600h"}'
api_ok POST pki/root/generate/internal '{"common_name":"authz root","issuer_name":"root","key_type":"ec","key_bits":256,"ttl":"8760h"}'
jget .data.certificate >"$W/root.pem"
api_ok POST pki/roles/web '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","key_bits":256}'
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$W/leaf.key" -subj /CN=a.example.com \
    -out "$W/leaf.csr" 2>/dev/null
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$W/int.key" -subj /CN=authz-int \
    -out "$W/int.csr" 2>/dev/null
api_ok POST pki/issue/web '{"common_name":"b.example.com"}'
SERIAL=$(jget .data.serial_number)
api_ok POST pki/keys/generate/internal '{"key_type":"ec","key_bits":256,"key_name":"spare"}'
api_ok POST pki/intermediate/generate/internal '{"common_name":"authz intermediate","key_type":"ec","key_bits":256}'
jget .data.csr >"$W/int2.csr"
api_ok POST pki/root/sign-intermediate "$(jq -n --rawfile c "$W/int2.csr" '{csr:$c, common_name:"authz intermediate", ttl:"100h"}')"
jget .data.certificate >"$W/int2.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/import.key" 2>/dev/null

csr=$(jq -Rs . "$W/leaf.csr")
intcsr=$(jq -Rs . "$W/int.csr")
rootpem=$(jq -Rs . "$W/root.pem")
int2pem=$(jq -Rs . "$W/int2.pem")
importkey=$(jq -Rs . "$W/import.key")

# throwaway tokens the token endpoints act on
mktoken() {
    TOKEN=$ROOT api_ok POST auth/token/create '{"policies":["default"],"ttl":"1h"}'
}

# ---- the matrix ----
n=0
none_n=0
policy_n=0

# grant NAME PATH CAPS...: writes policy NAME granting CAPS on PATH.
grant() {
    _name=$1
    _path=$2
    shift 2
    _caps=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
    _doc=$(jq -n -c --arg p "$_path" --argjson c "$_caps" '{path: {($p): {capabilities: $c}}}')
    TOKEN=$ROOT api_ok POST "sys/policies/acl/$_name" "$(jq -n -c --arg d "$_doc" '{policy:$d}')"
}

# token_for POLICY: a fresh token with only that policy (no default policy).
token_for() {
    TOKEN=$ROOT api_ok POST auth/token/create "$(jq -n -c --arg p "$1" '{policies:[$p], no_default_policy:true, ttl:"1h"}')"
    jget .auth.client_token
}

ALL="create read update patch delete list sudo"

# row METHOD PATH NEED EXPECT [BODY]
#   NEED: the capabilities the operation needs ("none" = unauthenticated;
#   "update sudo" = update and sudo). EXPECT: the status with them.
row() {
    r_m=$1
    r_p=$2
    r_need=$3
    r_expect=$4
    r_body=${5-}
    n=$((n + 1))
    r_acl=$r_p
    [ "$r_m" = LIST ] && r_acl="$r_p/"
    r_acl=${r_acl%%\?*}
    if [ "$r_need" = none ]; then
        none_n=$((none_n + 1))
        TOKEN= api "$r_m" "$r_p" "$r_body"
        [ "$STATUS" = "$r_expect" ] || { show "$RESP"; die "#$n $r_m $r_p without a token: $STATUS, expected $r_expect"; }
        return 0
    fi
    # 1. no token
    TOKEN= api "$r_m" "$r_p" "$r_body"
    [ "$STATUS" = 403 ] || { show "$RESP"; die "#$n $r_m $r_p without a token: $STATUS, expected 403"; }
    # 2. everything on the path but (one of) what it needs
    policy_n=$((policy_n + 1))
    r_lack=${r_need%% *}
    # shellcheck disable=SC2086
    grant "without$policy_n" "$r_acl" $(printf '%s\n' $ALL | grep -vx "$r_lack")
    r_t=$(token_for "without$policy_n")
    TOKEN=$r_t api "$r_m" "$r_p" "$r_body"
    [ "$STATUS" = 403 ] ||
        { show "$RESP"; die "#$n $r_m $r_p with every capability but '$r_lack': $STATUS, expected 403"; }
    # 3. exactly what it needs
    # shellcheck disable=SC2086
    grant "with$policy_n" "$r_acl" $r_need
    r_t=$(token_for "with$policy_n")
    TOKEN=$r_t api "$r_m" "$r_p" "$r_body"
    [ "$STATUS" = "$r_expect" ] ||
        { show "$RESP"; die "#$n $r_m $r_p with capabilities [$r_need]: $STATUS, expected $r_expect"; }
    LAST_TOKEN=$r_t
}

# sys/
row GET sys/health none 200
row GET sys/mounts read 200
row POST sys/mounts/pki2 update 204 '{"type":"pki"}'
row GET sys/mounts/pki2 read 200
row GET sys/mounts/pki2/tune read 200
row POST sys/mounts/pki2/tune update 204 '{"max_lease_ttl":"1000h"}'
row DELETE sys/mounts/pki2 delete 204
row LIST sys/policies/acl list 200
row POST sys/policies/acl/newpol create 204 '{"policy":"{\"path\":{\"x/*\":{\"capabilities\":[\"read\"]}}}"}'
row POST sys/policies/acl/newpol update 204 '{"policy":"{\"path\":{\"y/*\":{\"capabilities\":[\"read\"]}}}"}'
row GET sys/policies/acl/newpol read 200
row DELETE sys/policies/acl/newpol delete 204
row POST sys/capabilities-self update 200 '{"paths":["pki/roles/web"]}'
row GET sys/metrics read 200

# auth/token/
row POST auth/token/create update 200 '{"ttl":"10m"}'
row GET auth/token/lookup-self read 200
mktoken
other=$(jget .auth.client_token)
other_acc=$(jget .auth.accessor)
row POST auth/token/lookup update 200 "$(jq -n -c --arg t "$other" '{token:$t}')"
row POST auth/token/lookup-accessor update 200 "$(jq -n -c --arg a "$other_acc" '{accessor:$a}')"
row POST auth/token/renew-self update 200 '{"increment":"30m"}'
row POST auth/token/renew-accessor update 200 "$(jq -n -c --arg a "$other_acc" '{accessor:$a}')"
row LIST auth/token/accessors "list sudo" 200
row POST auth/token/tidy "update sudo" 202
row POST auth/token/revoke-self update 204
row POST auth/token/revoke-accessor update 204 "$(jq -n -c --arg a "$other_acc" '{accessor:$a}')"
mktoken
row POST auth/token/revoke-orphan "update sudo" 204 "$(jq -n -c --arg t "$(jget .auth.client_token)" '{token:$t}')"
mktoken
row POST auth/token/revoke update 204 "$(jq -n -c --arg t "$(jget .auth.client_token)" '{token:$t}')"

# pki roles
row LIST pki/roles list 200
row GET pki/roles/web read 200
row POST pki/roles/newrole create 200 '{"allowed_domains":"example.org"}'
row POST pki/roles/newrole update 200 '{"allowed_domains":"example.net"}'
row PATCH pki/roles/newrole patch 200 '{"allow_subdomains":true}'
row DELETE pki/roles/newrole delete 204

# issuance
row POST pki/issue/web update 200 '{"common_name":"c.example.com"}'
row POST pki/issuer/root/issue/web update 200 '{"common_name":"d.example.com"}'
row POST pki/sign/web update 200 "{\"csr\":$csr}"
row POST pki/issuer/root/sign/web update 200 "{\"csr\":$csr}"
row POST pki/sign-verbatim update 200 "{\"csr\":$csr}"
row POST pki/sign-verbatim/web update 200 "{\"csr\":$csr}"
row POST pki/issuer/root/sign-verbatim update 200 "{\"csr\":$csr}"
row POST pki/issuer/root/sign-verbatim/web update 200 "{\"csr\":$csr}"
row POST pki/root/sign-intermediate update 200 "{\"csr\":$intcsr,\"common_name\":\"authz-int\",\"ttl\":\"10h\"}"
row POST pki/issuer/root/sign-intermediate update 200 "{\"csr\":$intcsr,\"common_name\":\"authz-int\",\"ttl\":\"10h\"}"
row POST pki/root/sign-self-issued "update sudo" 200 "{\"certificate\":$rootpem}"
row POST pki/issuer/root/sign-self-issued update 200 "{\"certificate\":$rootpem}"

# CA generation and import
row POST pki/root/generate/internal update 200 '{"common_name":"r2","issuer_name":"r2","key_type":"ec","ttl":"100h"}'
row POST pki/issuers/generate/root/internal update 200 '{"common_name":"r3","issuer_name":"r3","key_type":"ec","ttl":"100h"}'
row POST pki/root/rotate/internal update 200 '{"common_name":"r4","issuer_name":"r4","key_type":"ec","ttl":"100h"}'
row POST pki/root/replace update 200 '{"default":"root"}'
row POST pki/intermediate/generate/internal update 200 '{"common_name":"i2","key_type":"ec"}'
row POST pki/issuers/generate/intermediate/internal update 200 '{"common_name":"i3","key_type":"ec"}'
row POST pki/intermediate/set-signed update 200 "{\"certificate\":$int2pem}"
row POST pki/config/ca update 200 "{\"pem_bundle\":$rootpem}"
row POST pki/issuers/import/cert update 200 "{\"pem_bundle\":$rootpem}"
row POST pki/issuers/import/bundle update 200 "{\"pem_bundle\":$importkey}"

# issuers and reads
row LIST pki/issuers none 200
row GET pki/issuer/root read 200
row POST pki/issuer/root update 200 '{"issuer_name":"root","leaf_not_after_behavior":"err"}'
row PATCH pki/issuer/root patch 200 '{"leaf_not_after_behavior":"truncate"}'
row GET pki/issuer/root/json none 200
row GET pki/issuer/root/der none 200
row GET pki/issuer/root/pem none 200
row GET pki/ca none 200
row GET pki/ca/pem none 200
row GET pki/ca_chain none 200
row GET pki/cert/ca none 200
row GET pki/cert/ca_chain none 200
row GET "pki/cert/$SERIAL" none 200
row GET "pki/cert/$SERIAL/raw" none 200
row GET "pki/cert/$SERIAL/raw/pem" none 200
row LIST pki/certs list 200

# revocation and CRLs: the CRL reads are unauthenticated, as in OpenBao
row GET pki/crl none 200
row GET pki/crl/pem none 200
row GET pki/cert/crl none 200
row GET pki/crl/delta none 404
row GET pki/crl/delta/pem none 404
row GET pki/cert/delta-crl none 404
row GET pki/issuer/root/crl none 200
row GET pki/issuer/root/crl/der none 200
row GET pki/issuer/root/crl/pem none 200
row GET pki/issuer/root/crl/delta none 404
row GET pki/issuer/root/crl/delta/der none 404
row GET pki/issuer/root/crl/delta/pem none 404
row GET pki/config/crl read 200
row POST pki/config/crl update 200 '{"expiry":"72h"}'
row GET pki/crl/rotate read 200
row GET pki/crl/rotate-delta read 200
row POST pki/revoke update 200 "{\"serial_number\":\"$SERIAL\"}"
row POST pki/revoke-with-key update 400 "{\"serial_number\":\"$SERIAL\",\"private_key\":\"x\"}"
row LIST pki/certs/revoked list 200
row POST pki/issuer/root/sign-revocation-list update 200 '{"crl_number":1}'
row POST pki/issuer/root/resign-crls update 400 '{"crl_number":1,"crls":["x"]}'
# tidy: cancel first (nothing runs yet, so an allowed cancel is the
# handler's 400); a tidy with the default 72h buffer removes nothing here
row POST pki/tidy-cancel update 400
row POST pki/tidy update 202 '{"tidy_cert_store":true}'
row GET pki/tidy-status read 200
row GET pki/config/auto-tidy read 200
row POST pki/config/auto-tidy update 200 '{"enabled":false}'

# configuration
row GET pki/config/urls read 200
row POST pki/config/urls update 200 '{"issuing_certificates":["http://127.0.0.1:8200/v1/pki/ca"]}'
row GET pki/config/cluster read 200
row POST pki/config/cluster update 200 '{"path":"http://127.0.0.1:8200/v1/pki"}'
row GET pki/config/issuers read 200
row POST pki/config/issuers update 200 '{"default":"root"}'
row GET pki/config/keys read 200
row POST pki/config/keys update 200 '{"default":"spare"}'
row GET pki/config/ocsp read 200
row POST pki/config/ocsp update 200 '{"delegated_ttl":"24h"}'
# OCSP is unauthenticated (OpenBao): a request about the default issuer's
# serial 1 over GET (base64 without '//', which the HTTP layer refuses),
# and malformed ones over both methods, answered without a token.
TOKEN=$ROOT api_ok GET pki/ca/pem
cp "$RESP" "$W/ocsp-ca.pem"
for h in -sha1 -sha256 -sha384 -sha512; do
    openssl ocsp -no_nonce $h -issuer "$W/ocsp-ca.pem" -serial 1 -reqout "$W/ocsp.req" >/dev/null 2>&1 ||
        die "openssl ocsp -reqout failed"
    ocsp_b64=$(base64 -w0 "$W/ocsp.req")
    case $ocsp_b64 in *//*) ;; *) break ;; esac
done
row GET "pki/ocsp/$(printf '%s' "$ocsp_b64" | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g')" none 200
row GET pki/ocsp/MAA%3D none 400
row POST pki/ocsp none 400 'not an OCSP request'

# keys
row LIST pki/keys list 200
row POST pki/keys/generate/internal update 200 '{"key_type":"ec","key_name":"k2"}'
row POST pki/keys/import update 200 "{\"pem_bundle\":$importkey,\"key_name\":\"imported2\"}"
row GET pki/key/k2 read 200
row POST pki/key/k2 update 200 '{"key_name":"k2renamed"}'
row DELETE pki/key/k2renamed delete 204

row POST pki/issuer/r3/revoke update 200

# TLS certificate auth (sys/auth is root-protected, as in OpenBao)
api_ok GET pki/crl/pem
crlpem=$(jq -Rs . "$RESP")
row GET sys/auth read 200
row POST sys/auth/cert "update sudo" 204 '{"type":"cert"}'
row GET sys/auth/cert "read sudo" 200
row POST auth/cert/certs/r1 create 204 "{\"certificate\":$rootpem}"
row POST auth/cert/certs/r1 update 204 '{"display_name":"x"}'
row GET auth/cert/certs/r1 read 200
row LIST auth/cert/certs list 200
row POST auth/cert/crls/c1 update 204 "{\"crl\":$crlpem}"
row GET auth/cert/crls/c1 read 200
row LIST auth/cert/crls list 200
row DELETE auth/cert/crls/c1 delete 204
row POST auth/cert/config update 204 '{"disable_binding":false}'
row GET auth/cert/config read 200
row DELETE auth/cert/certs/r1 delete 204
row POST auth/cert/login none 400 '{}'
row DELETE sys/auth/cert "delete sudo" 204

# deletions last
row DELETE pki/issuer/r2 delete 204
row DELETE pki/root "delete sudo" 200

pass "authorisation matrix: $n endpoints x (no token, all-but-the-capability, the capability)"

# nothing was done by a refused request: every refused write is a denial in
# the audit log, and each allowed write has its request and response entries
denied=$(grep -c '"outcome":"denied"' "$DAEMON_DIR/audit.log" || true)
# Two denials a row (no token; all but the capability), none for the
# unauthenticated rows.
[ "$denied" -ge $(((n - none_n) * 2)) ] || die "only $denied denials audited for $n rows ($none_n unauthenticated)"
pass "denials audited ($denied)"

daemon_stop
