#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The TLS certificate auth method's configuration API through the real
# daemon: sys/auth enable/list/disable of several cert mounts, certs/:name
# with every documented field (comma strings and arrays, deprecated
# aliases), crls/:name from a CRL openssl made, config; bad values refused
# naming the field, and nothing changed by a refused write.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD
need_tool curl jq openssl

W=$(workdir api_cert_auth)
daemon_start_dev "$W/dev"

# ---- certificates made by openssl: a client CA and a CRL revoking 0x1234 ----
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$W/ca.key" -out "$W/ca.pem" \
    -subj /CN=client-ca -days 10 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign \
    2>/dev/null
mkdir -p "$W/db"
: >"$W/db/index.txt"
printf '1234\tx\n' >/dev/null
cat >"$W/ca.cnf" <<CNF
[ca]
default_ca = c
[c]
database = $W/db/index.txt
crlnumber = $W/db/crlnumber
default_md = sha256
default_crl_days = 1
CNF
echo 01 >"$W/db/crlnumber"
# index.txt: one revoked entry, serial 0x1234 (= 4660)
printf 'R\t301231235959Z\t250101000000Z\t1234\tunknown\t/CN=gone\n' >"$W/db/index.txt"
openssl ca -config "$W/ca.cnf" -gencrl -keyfile "$W/ca.key" -cert "$W/ca.pem" -out "$W/crl.pem" 2>/dev/null ||
    die "openssl ca -gencrl failed"
openssl crl -in "$W/crl.pem" -noout -text | grep -q "Serial Number: 1234" || die "fixture CRL does not list 1234"
capem=$(jq -Rs . "$W/ca.pem")

# ---- sys/auth ----
api_ok GET sys/auth
[ "$(jget '.data["token/"].type')" = token ] || die "sys/auth does not list token/"
[ "$(jget '.data | has("cert/")')" = false ] || die "cert/ listed before it is enabled"
api_ok POST auth/cert/certs/x "{\"certificate\":$capem}" 404
api_ok POST sys/auth/cert '{"type":"cert"}' 204
api_ok POST sys/auth/cert2/ '{"type":"cert","description":"second"}' 204
api_ok POST sys/auth/cert '{"type":"cert"}' 400
grep -q "already in use" "$RESP" || die "second enable of cert: no 'already in use'"
api_ok POST sys/auth/ldap '{"type":"ldap"}' 400
grep -q "type: 'ldap' is not supported" "$RESP" || die "ldap refusal does not name the field"
api_ok POST sys/auth/token '{"type":"cert"}' 400
api_ok POST sys/auth/pki '{"type":"cert"}' 204 # auth/pki and the PKI mount pki never collide
api_ok DELETE sys/auth/pki '' 204
api_ok GET pki/ca/pem
api_ok GET sys/auth
[ "$(jget '.data["cert/"].type')" = cert ] || die "cert/ not listed"
[ "$(jget '.data["cert2/"].type')" = cert ] || die "cert2/ not listed"
api_ok GET sys/mounts
[ "$(jget '.data | has("auth/cert/")')" = false ] || die "an auth mount is listed in sys/mounts"
api_ok GET sys/auth/cert
[ "$(jget .data.type)" = cert ] || die "sys/auth/cert read"

# ---- certs/:name ----
api_ok POST auth/cert/certs/web "$(jq -n --argjson c "$capem" '{certificate:$c, display_name:"web",
    allowed_common_names:"a.example.com, *.svc.example.com", allowed_dns_sans:["*.example.com"],
    allowed_email_sans:"ops@example.com", allowed_uri_sans:"spiffe://example/*",
    allowed_organizational_units:"eng,ops", allowed_names:"legacy",
    required_extensions:"1.2.3.4:prod*, 1.2.3.5:*", allowed_metadata_extensions:"2.1.1.1,2.1.1.2",
    ocsp_enabled:true, ocsp_servers_override:"http://127.0.0.1:1/ocsp", ocsp_fail_open:true,
    ocsp_query_all_servers:true, token_ttl:"1h", token_max_ttl:"2h", token_policies:"web,ops",
    token_bound_cidrs:["127.0.0.1/32","::1"], token_explicit_max_ttl:7200, token_no_default_policy:true,
    token_num_uses:5, token_period:"30m", token_type:"service"}')" 204
api_ok GET auth/cert/certs/web
for f in '.data.display_name=="web"' '.data.allowed_common_names==["a.example.com","*.svc.example.com"]' \
    '.data.allowed_dns_sans==["*.example.com"]' '.data.allowed_email_sans==["ops@example.com"]' \
    '.data.allowed_uri_sans==["spiffe://example/*"]' '.data.allowed_organizational_units==["eng","ops"]' \
    '.data.allowed_names==["legacy"]' '.data.required_extensions==["1.2.3.4:prod*","1.2.3.5:*"]' \
    '.data.allowed_metadata_extensions==["2.1.1.1","2.1.1.2"]' '.data.ocsp_enabled' \
    '.data.ocsp_servers_override==["http://127.0.0.1:1/ocsp"]' '.data.ocsp_fail_open' '.data.ocsp_query_all_servers' \
    '.data.token_ttl==3600' '.data.token_max_ttl==7200' '.data.token_policies==["web","ops"]' \
    '.data.policies==["web","ops"]' '.data.ttl==3600' '.data.max_ttl==7200' '.data.period==1800' \
    '.data.token_bound_cidrs==["127.0.0.1/32","::1"]' '.data.token_explicit_max_ttl==7200' \
    '.data.token_no_default_policy' '.data.token_num_uses==5' '.data.token_period==1800' \
    '.data.token_type=="service"' '.data.token_strictly_bind_ip==false'; do
    [ "$(jget "$f")" = true ] || { show "$RESP"; die "certs/web read: $f"; }
done
openssl x509 -noout -subject <<PEM | grep -q client-ca || die "stored certificate is not the CA openssl made"
$(jget .data.certificate)
PEM
# an update changes only the fields given; deprecated names fill the new ones
api_ok POST auth/cert/certs/web '{"policies":"old","ttl":"10m"}' 204
api_ok GET auth/cert/certs/web
[ "$(jget '.data.token_policies==["old"] and .data.token_ttl==600 and .data.display_name=="web"')" = true ] ||
    { show "$RESP"; die "update with deprecated names"; }
# ... and the new name wins over the deprecated one
api_ok POST auth/cert/certs/web '{"policies":"dep","token_policies":"new"}' 204
api_ok GET auth/cert/certs/web
[ "$(jget '.data.token_policies')" = '[
  "new"
]' ] || die "token_policies did not win over policies"
# defaults of a minimal role
api_ok POST auth/cert2/certs/min "{\"certificate\":$capem}" 204
api_ok GET auth/cert2/certs/min
[ "$(jget '.data.allowed_common_names==[] and .data.token_type=="default" and .data.ocsp_enabled==false and .data.token_num_uses==0')" = true ] ||
    { show "$RESP"; die "minimal role defaults"; }
# roles are per mount
api_ok GET auth/cert/certs/min '' 404

# refused writes name the field and change nothing
refuse() { # refuse BODY FIELD-TEXT
    api_ok POST auth/cert/certs/web "$1" 400
    grep -q "$2" "$RESP" || { show "$RESP"; die "refusal of $1 does not say '$2'"; }
}
refuse '{"certificate":"not pem"}' 'certificate: not a PEM certificate'
refuse '{"required_extensions":"1.2.3.4"}' "required_extensions: '1.2.3.4' is not 'oid:value'"
refuse '{"required_extensions":"subjectAltName:x"}' 'required_extensions'
refuse '{"allowed_metadata_extensions":"1.2.x"}' 'allowed_metadata_extensions'
refuse '{"token_bound_cidrs":"127.0.0.1/33"}' 'token_bound_cidrs'
refuse '{"token_bound_cidrs":"example.com"}' 'token_bound_cidrs'
refuse '{"token_strictly_bind_ip":true}' 'token_strictly_bind_ip: conflicts with token_bound_cidrs'
refuse '{"token_type":"batch"}' 'token_type'
refuse '{"token_num_uses":-1}' 'token_num_uses'
refuse '{"token_ttl":"3h"}' 'token_ttl'
refuse '{"token_ttl":"soon"}' 'token_ttl'
refuse '{"ocsp_enabled":"maybe"}' 'ocsp_enabled'
refuse '{"allowed_dns_sans":{"a":1}}' 'allowed_dns_sans'
api_ok POST auth/cert/certs/new '{"display_name":"no cert"}' 400
grep -q "certificate: required" "$RESP" || die "role without certificate: message"
api_ok GET auth/cert/certs/new '' 404
api_ok GET auth/cert/certs/web
[ "$(jget '.data.token_policies==["new"] and (.data.token_bound_cidrs|length)==2')" = true ] ||
    die "a refused write changed the role"

# LIST with after/limit
for r in a b c; do api_ok POST "auth/cert/certs/$r" "{\"certificate\":$capem}" 204; done
api_ok LIST auth/cert/certs
[ "$(jget '.data.keys|join(",")')" = "a,b,c,web" ] || { show "$RESP"; die "LIST certs"; }
api_ok GET "auth/cert/certs?list=true&after=a&limit=2"
[ "$(jget '.data.keys|join(",")')" = "b,c" ] || { show "$RESP"; die "LIST certs after/limit"; }
api_ok DELETE auth/cert/certs/b '' 204
api_ok DELETE auth/cert/certs/b '' 204
api_ok GET auth/cert/certs/b '' 404

# ---- crls/:name ----
api_ok POST auth/cert/crls/ca1 "$(jq -n --rawfile c "$W/crl.pem" '{crl:$c, url:"http://ignored.example/crl"}')" 204
api_ok GET auth/cert/crls/ca1
[ "$(jget '.data.serials | keys | join(",")')" = 4660 ] || { show "$RESP"; die "crls/ca1 serials"; }
api_ok POST auth/cert/crls/bad '{"crl":"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"}' 400
grep -q "crl: not a PEM X.509 CRL" "$RESP" || die "bad CRL message"
api_ok POST auth/cert/crls/bad '{}' 400
api_ok LIST auth/cert/crls
[ "$(jget '.data.keys|join(",")')" = ca1 ] || die "LIST crls"
api_ok DELETE auth/cert/crls/ca1 '' 204
api_ok GET auth/cert/crls/ca1 '' 404

# ---- config ----
api_ok GET auth/cert/config
[ "$(jget '.data.disable_binding==false and .data.ocsp_cache_size==100')" = true ] || die "config defaults"
api_ok POST auth/cert/config '{"disable_binding":true,"enable_identity_alias_metadata":true,"ocsp_cache_size":50}' 204
api_ok GET auth/cert/config
[ "$(jget '.data.disable_binding and .data.enable_identity_alias_metadata and .data.ocsp_cache_size==50')" = true ] ||
    die "config write"
api_ok POST auth/cert/config '{"ocsp_cache_size":1}' 400
api_ok GET auth/cert/config
[ "$(jget '.data.ocsp_cache_size')" = 50 ] || die "refused config write changed it"

# ---- everything survives a restart; disabling deletes the mount's data ----
daemon_stop
daemon_start_dev "$W/dev"
api_ok GET auth/cert/certs/web
api_ok GET auth/cert/config
[ "$(jget '.data.ocsp_cache_size')" = 50 ] || die "config lost on restart"
api_ok DELETE sys/auth/cert '' 204
api_ok GET auth/cert/certs/web '' 404
api_ok DELETE sys/auth/cert '' 204
api_ok POST sys/auth/cert '{"type":"cert"}' 204
api_ok LIST auth/cert/certs '' 404
api_ok GET auth/cert2/certs/min
api_ok DELETE sys/auth/token '' 400

# ---- a token without sudo cannot enable methods; one without policy cannot write roles ----
api_ok POST sys/policies/acl/certread "$(jq -n '{policy: ({path: {"auth/cert2/*": {capabilities: ["read"]},
    "sys/auth/*": {capabilities: ["create", "update"]}}} | tojson)}')"
api_ok POST auth/token/create '{"policies":["certread"],"ttl":"1h"}'
T=$(jget .auth.client_token)
TOKEN=$T api_ok POST sys/auth/cert3 '{"type":"cert"}' 403
TOKEN=$T api_ok POST auth/cert2/certs/min "{\"certificate\":$capem}" 403
TOKEN=$T api_ok GET auth/cert2/certs/min
TOKEN= api_ok GET auth/cert2/certs/min '' 403

daemon_stop
echo "ok: cert auth configuration API"
