#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Revocation and CRLs through the real daemon (hsmcad -dev): revoke,
# revoke-with-key, certs/revoked, issuer/:ref/revoke, config/crl, every CRL
# read path, rotate and rotate-delta, sign-revocation-list and resign-crls,
# for an RSA and a P-256 issuer. The judges are openssl (crl -verify,
# verify -crl_check_all) and GnuTLS certtool --crl-info.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/api_pki_lib.sh"

need_tool curl jq openssl certtool awk base64 cmp
W=$(workdir api_revocation)
# The CRL job looks every second, so the auto-rebuild cases below need not
# wait a minute.
api_start "$W" -crl-check-interval=1s
cd "$W"

# crl_ok CRLFILE CA what: openssl and certtool accept the CRL (DER or PEM).
crl_ok() {
    _form=PEM
    head -c 10 "$1" | grep -q -- '-----' || _form=DER
    openssl crl -inform "$_form" -in "$1" -CAfile "$2" -verify -noout >crl.out 2>&1 ||
        { show crl.out; die "$3: openssl crl -verify refused"; }
    grep -q 'verify OK' crl.out || { show crl.out; die "$3: openssl crl did not say verify OK"; }
    openssl crl -inform "$_form" -in "$1" -out "$1.pem.tmp" 2>/dev/null
    certtool --crl-info --infile "$1.pem.tmp" >crl.info 2>&1 || { show crl.info; die "$3: certtool --crl-info refused"; }
    grep -q 'Version: 2' crl.info || { show crl.info; die "$3: not a version 2 CRL"; }
}

# crl_serials CRLFILE: its entries' serials, OpenBao-style, sorted.
crl_serials() {
    _form=PEM
    head -c 10 "$1" | grep -q -- '-----' || _form=DER
    openssl crl -inform "$_form" -in "$1" -noout -text | awk '/Serial Number:/{print $3}' |
        tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//' | sort
}

# crl_field CRLFILE TEXT: the line after an extension's name in -text.
crl_ext() {
    _form=PEM
    head -c 10 "$1" | grep -q -- '-----' || _form=DER
    openssl crl -inform "$_form" -in "$1" -noout -text | grep -A1 "$2" | tail -n 1 | tr -d ' '
}

# ---- two roots: RSA (default) and P-256; a role for each ----
api POST pki/root/generate/internal "{\"common_name\":\"Root RSA\",\"key_type\":\"rsa\",\"issuer_name\":\"rsa\",
    \"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root RSA"
data certificate >rsa.pem
api POST pki/root/generate/internal "{\"common_name\":\"Root EC\",\"key_type\":\"ec\",\"key_bits\":256,
    \"issuer_name\":\"ec\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root EC"
data certificate >ec.pem
api POST pki/roles/rsaweb '{"allowed_domains":"example.com","allow_subdomains":true,"issuer_ref":"rsa"}'
expect 200 "role rsaweb"
api POST pki/roles/ecweb '{"allowed_domains":"example.com","allow_subdomains":true,"issuer_ref":"ec",
    "key_type":"ec"}'
expect 200 "role ecweb"
api POST pki/roles/nostore '{"allowed_domains":"example.com","allow_subdomains":true,"issuer_ref":"rsa",
    "no_store":true}'
expect 200 "role nostore"
for n in a b c f; do
    api POST pki/issue/rsaweb "{\"common_name\":\"$n.example.com\",\"ttl\":\"2h\"}"
    expect 200 "issue $n"
    data certificate >$n.pem
    data private_key >$n.key
done
for n in d e; do
    api POST pki/issue/ecweb "{\"common_name\":\"$n.example.com\",\"ttl\":\"2h\"}"
    expect 200 "issue $n"
    data certificate >$n.pem
    data private_key >$n.key
done
api POST pki/issue/nostore '{"common_name":"n.example.com","ttl":"2h"}'
expect 200 "issue n (no_store)"
data certificate >n.pem

# ---- config/crl: OpenBao's defaults and rules ----
api GET pki/config/crl
expect 200 "config/crl"
jq -e '.data | .expiry == "72h" and .disable == false and .ocsp_disable == false and .ocsp_expiry == "12h"
    and .auto_rebuild == false and .auto_rebuild_grace_period == "12h" and .enable_delta == false
    and .delta_rebuild_interval == "15m"' "$RESP" >/dev/null || { show "$RESP"; die "config/crl defaults"; }
api POST pki/config/crl '{"enable_delta":true}'
expect_error 400 "auto_rebuild" "enable_delta without auto_rebuild"
api POST pki/config/crl '{"auto_rebuild":true,"auto_rebuild_grace_period":"80h"}'
expect_error 400 "auto_rebuild_grace_period" "grace period longer than expiry"
api POST pki/config/crl '{"expiry":"0s"}'
expect_error 400 "expiry" "zero expiry"
api POST pki/config/crl '{"expiry":"soon"}'
expect 400 "expiry not a duration"
api GET pki/config/crl
jq -e '.data.auto_rebuild == false and .data.expiry == "72h"' "$RESP" >/dev/null || die "a refused config changed it"
api POST pki/config/crl '{"expiry":"48h"}'
expect 200 "config/crl expiry"
[ "$(data expiry)" = 48h ] || die "config/crl: expiry not stored"
pass "config/crl: defaults, validation, partial update"

# ---- CRLs before any revocation: every read path, empty, signed ----
TOKEN_SAVED=$TOKEN
TOKEN=
api GET pki/crl
expect 200 "GET crl without a token"
cp "$RESP" rsa0.der
crl_ok rsa0.der rsa.pem "empty RSA CRL"
[ -z "$(crl_serials rsa0.der)" ] || die "a new CRL has entries"
openssl crl -inform DER -in rsa0.der -noout -text >rsa0.txt
grep -q 'X509v3 CRL Number' rsa0.txt || die "CRL Number missing"
grep -q 'X509v3 Authority Key Identifier' rsa0.txt || die "Authority Key Identifier missing"
grep -q 'sha256WithRSAEncryption' rsa0.txt || die "RSA CRL not sha256WithRSA"
for p in crl/pem issuer/rsa/crl/pem issuer/default/crl/pem; do
    api GET "pki/$p"
    expect 200 "GET $p"
    head -n 1 "$RESP" | grep -q 'BEGIN X509 CRL' || die "$p: not PEM"
done
api GET pki/issuer/rsa/crl/der
cmp -s "$RESP" rsa0.der || die "issuer/rsa/crl/der is not the default CRL"
api GET pki/cert/crl
expect 200 "cert/crl"
data certificate >certcrl.pem
crl_ok certcrl.pem rsa.pem "cert/crl (certificate field)"
api GET pki/issuer/ec/crl
expect 200 "issuer/ec/crl"
data crl >ec0.pem
crl_ok ec0.pem ec.pem "empty P-256 CRL"
grep -q 'ecdsa-with-SHA256' "$(openssl crl -in ec0.pem -noout -text >ec0.txt && echo ec0.txt)" ||
    die "P-256 CRL not ecdsa-with-SHA256"
api GET pki/crl/delta
expect 404 "delta without enable_delta"
api GET pki/config/crl
expect 403 "config/crl needs a token"
api GET pki/crl/rotate
expect 403 "crl/rotate needs a token"
TOKEN=$TOKEN_SAVED
pass "empty CRLs on every read path, without a token; verified by openssl and certtool"

# ---- If-Modified-Since ----
lm=$(curl -s -D - -o /dev/null $CURL_TLS "$ADDR/v1/pki/crl" | tr -d '\r' | awk -F': ' 'tolower($1)=="last-modified"{print $2}')
[ -n "$lm" ] || die "crl: no Last-Modified"
sleep 1
code=$(curl -s -o /dev/null -w '%{http_code}' $CURL_TLS -H "If-Modified-Since: $lm" "$ADDR/v1/pki/crl")
[ "$code" = 304 ] || die "crl: If-Modified-Since answered $code, not 304"
pass "CRL reads: Last-Modified and 304 on If-Modified-Since"

# ---- revoke by serial; twice; cert/:serial shows it ----
sa=$(serial_of a.pem)
api POST pki/revoke "{\"serial_number\":\"$sa\"}"
expect 200 "revoke a"
t_a=$(jq -r .data.revocation_time "$RESP")
[ "$t_a" -gt 0 ] || die "revoke: no revocation_time"
api GET "pki/cert/$sa"
[ "$(jq -r .data.revocation_time "$RESP")" = "$t_a" ] || die "cert/:serial: revocation_time"
[ -n "$(data revocation_time_rfc3339)" ] || die "cert/:serial: revocation_time_rfc3339 empty"
sleep 1
api POST pki/revoke "{\"serial_number\":\"$(echo "$sa" | tr : -)\"}"
expect 200 "revoke a twice"
[ "$(jq -r .data.revocation_time "$RESP")" = "$t_a" ] || die "revoking twice changed the time"
has_warning "already revoked" || die "revoking twice: no warning"
api POST pki/revoke '{"serial_number":"01:02:03:04"}'
expect_error 400 "no certificate" "revoke an unknown serial"
api POST pki/revoke '{}'
expect_error 400 "exactly one" "revoke without serial or certificate"
api POST pki/revoke "{\"serial_number\":\"$(serial_of rsa.pem)\"}"
expect_error 400 "issuer" "revoke an issuer by serial"
json_body rev.json certificate=@ec.pem
api POST pki/revoke @rev.json
expect_error 400 "issuer" "revoke an issuer by certificate"
api GET pki/crl/pem
cp "$RESP" rsa1.pem
crl_ok rsa1.pem rsa.pem "CRL after revoking a"
[ "$(crl_serials rsa1.pem)" = "$sa" ] || die "the rebuilt CRL does not list exactly a"
[ "$(crl_ext rsa1.pem 'CRL Number')" != "$(crl_ext rsa0.der 'CRL Number')" ] || die "CRL Number did not change"
cat rsa.pem >chain.pem
openssl verify -crl_check_all -CAfile rsa.pem -CRLfile rsa1.pem a.pem >v.out 2>&1 && die "openssl verify accepted revoked a"
grep -q 'certificate revoked' v.out || { show v.out; die "openssl verify: not 'certificate revoked'"; }
openssl verify -crl_check_all -CAfile rsa.pem -CRLfile rsa1.pem b.pem >v.out 2>&1 || { show v.out; die "openssl verify refused b"; }
pass "revoke by serial rebuilds the CRL; twice keeps the first time; issuers refused; openssl verify -crl_check_all"

# ---- revoke-with-key ----
sc=$(serial_of c.pem)
json_body rwk.json serial_number="$sc" private_key=@b.key
api POST pki/revoke-with-key @rwk.json
expect_error 400 "private_key" "revoke-with-key with the wrong key"
api GET "pki/cert/$sc"
[ "$(jq -r .data.revocation_time "$RESP")" = 0 ] || die "a wrong key revoked c"
json_body rwk.json serial_number="$sc"
api POST pki/revoke-with-key @rwk.json
expect_error 400 "private_key" "revoke-with-key without a key"
json_body rwk.json certificate=@c.pem private_key=@c.key
api POST pki/revoke-with-key @rwk.json
expect 200 "revoke-with-key with c's key"
json_body rwk.json certificate=@e.pem private_key=@d.key
api POST pki/revoke-with-key @rwk.json
expect_error 400 "private_key" "revoke-with-key: EC certificate, another EC key"
grep -q "$(sed -n 2p c.key)" "$STATE/audit.log" && die "revoke-with-key: the private key is in the audit log"
pass "revoke-with-key: a wrong key revokes nothing (400), the right one revokes"

# ---- revoke by certificate: P-256 issuer; a no_store certificate ----
json_body rev.json certificate=@d.pem
api POST pki/revoke @rev.json
expect 200 "revoke d by certificate"
api GET pki/issuer/ec/crl/pem
cp "$RESP" ec1.pem
crl_ok ec1.pem ec.pem "P-256 CRL after revoking d"
[ "$(crl_serials ec1.pem)" = "$(serial_of d.pem)" ] || die "P-256 CRL does not list exactly d"
openssl verify -crl_check_all -CAfile ec.pem -CRLfile ec1.pem d.pem >/dev/null 2>&1 && die "verify accepted revoked d"
openssl verify -crl_check_all -CAfile ec.pem -CRLfile ec1.pem e.pem >/dev/null 2>&1 || die "verify refused e"
json_body rev.json certificate=@n.pem
api POST pki/revoke @rev.json
expect 200 "revoke a no_store certificate by PEM"
json_body rev.json certificate=@a.pem
sed 's/MII/MIJ/' a.pem >bad.pem
json_body rev.json certificate=@bad.pem
api POST pki/revoke @rev.json
expect 400 "revoke a garbled certificate"
pass "revoke by PEM (P-256 issuer, no_store certificate)"

# ---- certs/revoked ----
api LIST pki/certs/revoked
expect 200 "LIST certs/revoked"
jq -r '.data.keys[]' "$RESP" | sort >revoked.list
printf '%s\n' "$sa" "$sc" "$(serial_of d.pem)" "$(serial_of n.pem)" | sort >want.list
cmp -s revoked.list want.list || { show revoked.list; die "certs/revoked is not a, c, d, n"; }
first=$(jq -r '.data.keys[0]' "$RESP")
api LIST "pki/certs/revoked?after=$first&limit=2"
[ "$(jq -r '.data.keys | length' "$RESP")" = 2 ] || die "certs/revoked limit"
[ "$(jq -r '.data.keys[0]' "$RESP")" != "$first" ] || die "certs/revoked after"
pass "LIST certs/revoked with after/limit"

# ---- auto_rebuild + deltas: a revocation records only; rotate-delta lists exactly what came since ----
# Where deltas are published: complete CRLs then name it (Freshest CRL).
api POST pki/config/urls '{"delta_crl_distribution_points":["http://127.0.0.1/v1/pki/crl/delta"]}'
expect 200 "config/urls delta_crl_distribution_points"
api POST pki/config/crl '{"auto_rebuild":true,"enable_delta":true,"auto_rebuild_grace_period":"1h",
    "delta_rebuild_interval":"10m"}'
expect 200 "config/crl auto_rebuild + enable_delta"
api GET pki/crl
cp "$RESP" base.der
crl_ok base.der rsa.pem "complete CRL after config/crl"
api GET pki/crl/delta
expect 200 "crl/delta"
cp "$RESP" delta0.der
crl_ok delta0.der rsa.pem "empty delta"
[ -z "$(crl_serials delta0.der)" ] || die "a fresh delta has entries"
base_no=$(crl_ext base.der 'X509v3 CRL Number')
[ "$(crl_ext delta0.der 'Delta CRL Indicator')" = "$base_no" ] || die "delta: Delta CRL Indicator is not the base's number"
openssl crl -inform DER -in delta0.der -noout -text | grep -A0 'Delta CRL Indicator' | grep -q critical ||
    die "delta: the Delta CRL Indicator is not critical"
sb=$(serial_of b.pem)
sf=$(serial_of f.pem)
api POST pki/revoke "{\"serial_number\":\"$sb\"}"
expect 200 "revoke b (auto_rebuild)"
api POST pki/revoke "{\"serial_number\":\"$sf\"}"
expect 200 "revoke f (auto_rebuild)"
api GET pki/crl
cmp -s "$RESP" base.der || die "auto_rebuild: a revocation rebuilt the complete CRL"
api GET pki/crl/delta
cmp -s "$RESP" delta0.der || die "auto_rebuild: a revocation rebuilt the delta"
api GET pki/crl/rotate-delta
expect 200 "crl/rotate-delta"
[ "$(jq -r .data.success "$RESP")" = true ] || die "rotate-delta: success"
api GET pki/crl/delta/pem
cp "$RESP" delta1.pem
crl_ok delta1.pem rsa.pem "delta after two revocations"
printf '%s\n' "$sb" "$sf" | sort >want.delta
crl_serials delta1.pem >got.delta
cmp -s got.delta want.delta || { show got.delta; die "delta is not exactly b and f"; }
[ "$(crl_ext delta1.pem 'Delta CRL Indicator')" = "$base_no" ] || die "delta 1: wrong base"
api GET pki/cert/delta-crl
[ "$(data certificate)" = "$(cat delta1.pem)" ] || die "cert/delta-crl differs from crl/delta/pem"
api GET pki/issuer/rsa/crl/delta/der
crl_ok "$RESP" rsa.pem "issuer/rsa/crl/delta/der"
api GET pki/issuer/ec/crl/delta
expect 200 "issuer/ec/crl/delta"
data crl >ecdelta.pem
crl_ok ecdelta.pem ec.pem "P-256 delta"
[ -z "$(crl_serials ecdelta.pem)" ] || die "P-256 delta lists RSA revocations"
# b is revoked in the delta only: openssl accepts it with the base alone
# and rejects it once the delta is used with its base.
openssl crl -inform DER -in base.der -out base.pem
openssl verify -crl_check_all -CAfile rsa.pem -CRLfile base.pem b.pem >/dev/null 2>&1 ||
    die "b is revoked only in the delta, yet the base alone rejects it"
openssl verify -crl_check_all -use_deltas -CAfile rsa.pem -CRLfile base.pem -CRLfile delta1.pem b.pem >v.out 2>&1 &&
    die "openssl verify -use_deltas accepted b, revoked in the delta"
grep -q 'certificate revoked' v.out || { show v.out; die "-use_deltas: not 'certificate revoked'"; }
openssl crl -inform DER -in base.der -noout -text | grep -A3 'Freshest CRL' | grep -q 'URI:http://127.0.0.1/v1/pki/crl/delta' ||
    die "base CRL: no Freshest CRL naming the delta"
api GET pki/crl/rotate
expect 200 "crl/rotate"
api GET pki/crl
cp "$RESP" full2.der
crl_ok full2.der rsa.pem "complete CRL after rotate"
printf '%s\n' "$sa" "$sc" "$sb" "$sf" "$(serial_of n.pem)" | sort >want.full
crl_serials full2.der >got.full
cmp -s got.full want.full || { show got.full; die "rotated complete CRL is not a, b, c, f, n"; }
api GET pki/crl/delta
crl_ok "$RESP" rsa.pem "delta after rotate"
[ -z "$(crl_serials "$RESP")" ] || die "the delta did not clear with the new complete CRL"
pass "auto_rebuild: revocation only records; rotate-delta lists exactly the new revocations; rotate folds them in"

# ---- issuer/:ref/revoke: an intermediate of the RSA root lands on the root's CRL ----
api POST pki/intermediate/generate/internal '{"common_name":"Int CA","key_type":"ec"}'
expect 200 "intermediate/generate"
data csr >int.csr
json_body sign.json csr=@int.csr ttl=240h issuer_ref=rsa
api POST pki/root/sign-intermediate @sign.json
expect 200 "sign-intermediate"
data certificate >int.pem
json_body setsigned.json certificate=@int.pem
api POST pki/intermediate/set-signed @setsigned.json
expect 200 "set-signed"
int_id=$(jq -r '.data.imported_issuers[0]' "$RESP")
api POST pki/revoke "{\"serial_number\":\"$(serial_of int.pem)\"}"
expect_error 400 "issuer" "revoke an intermediate issuer via revoke"
api POST "pki/issuer/$int_id/revoke"
expect 200 "issuer/:ref/revoke"
[ "$(jq -r .data.revoked "$RESP")" = true ] || die "issuer revoke: not revoked"
api GET pki/crl/rotate
api GET pki/crl
crl_serials "$RESP" | grep -qx "$(serial_of int.pem)" || die "the revoked intermediate is not on its parent's CRL"
pass "issuer/:ref/revoke puts the intermediate on the parent's CRL"

# ---- sign-revocation-list and resign-crls ----
api POST pki/issuer/rsa/sign-revocation-list '{"crl_number":"10","next_update":"24h","revoked_certs":[
    {"serial_number":"39:dd:2e","revocation_time":"2009-11-10T23:00:00Z",
     "extensions":[{"id":"2.5.29.21","critical":false,"value":"CgEB"}]},
    {"serial_number":"40:33:2e","revocation_time":"1257894000"}]}'
expect 200 "sign-revocation-list"
data crl >signed.pem
crl_ok signed.pem rsa.pem "sign-revocation-list"
[ "$(crl_ext signed.pem 'X509v3 CRL Number')" = 10 ] || die "sign-revocation-list: CRL number"
openssl crl -in signed.pem -noout -text | grep -q 'Key Compromise' || die "sign-revocation-list: reason code lost"
api POST pki/issuer/rsa/sign-revocation-list '{"crl_number":1,"extensions":[{"id":"2.5.29.20","value":"AgEB"}]}'
expect_error 400 "2.5.29.20" "sign-revocation-list with a CRL Number extension"
json_body resign.json crl_number=11
jq --rawfile a signed.pem --rawfile b rsa1.pem '. + {crls: [$a, $b], delta_crl_base_number: 3, format: "der"}' \
    resign.json >resign2.json
api POST pki/issuer/rsa/resign-crls @resign2.json
expect 200 "resign-crls"
data crl | base64 -d >resigned.der
crl_ok resigned.der rsa.pem "resign-crls"
[ "$(crl_serials resigned.der | wc -l)" = 3 ] || die "resign-crls: not the three distinct entries"
[ "$(crl_ext resigned.der 'Delta CRL Indicator')" = 3 ] || die "resign-crls: delta base"
jq --rawfile a ec1.pem '. + {crls: [$a]}' resign.json >resign3.json
api POST pki/issuer/rsa/resign-crls @resign3.json
expect_error 400 "not signed by issuer" "resign-crls with another issuer's CRL"
pass "sign-revocation-list and resign-crls sign in the token; foreign CRLs refused"

# ---- issuers without crl-signing do not sign ----
api GET pki/issuer/ec/crl/pem
cp "$RESP" ec2.pem
api PATCH pki/issuer/ec '{"usage":"read-only,issuing-certificates"}'
expect 200 "ec usage without crl-signing"
api GET pki/crl/rotate
api GET pki/issuer/ec/crl/pem
cmp -s "$RESP" ec2.pem || die "an issuer without crl-signing got a new CRL"
api POST pki/issuer/ec/sign-revocation-list '{"crl_number":1}'
expect_error 400 "crl-signing" "sign-revocation-list by an issuer without crl-signing"
pass "issuers without crl-signing usage do not sign CRLs"

# ---- the background job: deltas every delta_rebuild_interval, complete CRLs before expiry - grace ----
api PATCH pki/issuer/ec '{"usage":"read-only,issuing-certificates,crl-signing"}'
expect 200 "ec usage with crl-signing again"
api POST pki/config/crl '{"delta_rebuild_interval":"1s"}'
expect 200 "delta_rebuild_interval 1s"
api GET pki/issuer/ec/crl/der
cp "$RESP" ecbase.der
se=$(serial_of e.pem)
api POST pki/revoke "{\"serial_number\":\"$se\"}"
expect 200 "revoke e (auto_rebuild)"
i=0
while :; do
    api GET pki/issuer/ec/crl/delta/pem
    [ "$(crl_serials "$RESP")" = "$se" ] && break
    i=$((i + 1))
    [ $i -lt 50 ] || die "the CRL job did not put e in the P-256 delta within 10 s"
    sleep 0.2
done
crl_ok "$RESP" ec.pem "delta built by the CRL job"
api GET pki/issuer/ec/crl/der
cmp -s "$RESP" ecbase.der || die "the delta job rebuilt the complete CRL before it was due"
# grace = expiry - 2s: the complete CRL falls due two seconds after it is built
api POST pki/config/crl '{"expiry":"48h","auto_rebuild_grace_period":"47h59m58s"}'
expect 200 "grace period close to expiry"
api GET pki/issuer/ec/crl/der
cp "$RESP" ecfull.der
n0=$(crl_ext ecfull.der 'X509v3 CRL Number')
i=0
while :; do
    sleep 0.5
    api GET pki/issuer/ec/crl/der
    [ "$(crl_ext "$RESP" 'X509v3 CRL Number')" != "$n0" ] && break
    i=$((i + 1))
    [ $i -lt 20 ] || die "the CRL job did not rebuild the complete CRL within 10 s of expiry - grace"
done
crl_ok "$RESP" ec.pem "complete CRL rebuilt by the CRL job"
crl_serials "$RESP" | grep -qx "$se" || die "the rebuilt complete CRL lacks e"
pass "the CRL job: deltas on their interval, complete CRLs at expiry - grace"

# ---- signature algorithms: Ed25519 issuer, RSA-PSS and ECDSA-SHA384 by revocation_signature_algorithm ----
api POST pki/root/generate/internal "{\"common_name\":\"Root Ed\",\"key_type\":\"ed25519\",\"issuer_name\":\"ed\",
    \"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root Ed25519"
data certificate >ed.pem
api POST pki/roles/edweb '{"allowed_domains":"example.com","allow_subdomains":true,"issuer_ref":"ed",
    "key_type":"ed25519"}'
expect 200 "role edweb"
api POST pki/issue/edweb '{"common_name":"g.example.com","ttl":"2h"}'
expect 200 "issue g (Ed25519)"
data certificate >g.pem
api POST pki/revoke "{\"serial_number\":\"$(serial_of g.pem)\"}"
expect 200 "revoke g"
api GET pki/crl/rotate
expect 200 "rotate with an Ed25519 issuer"
api GET pki/issuer/ed/crl/pem
cp "$RESP" ed.crl
crl_ok ed.crl ed.pem "Ed25519 CRL"
openssl crl -in ed.crl -noout -text | grep -q 'ED25519' || die "Ed25519 CRL: signature algorithm"
[ "$(crl_serials ed.crl)" = "$(serial_of g.pem)" ] || die "Ed25519 CRL does not list exactly g"
openssl verify -crl_check_all -CAfile ed.pem -CRLfile ed.crl g.pem >/dev/null 2>&1 && die "verify accepted revoked g"
api PATCH pki/issuer/rsa '{"revocation_signature_algorithm":"SHA256WithRSAPSS"}'
expect 200 "rsa: revocation_signature_algorithm SHA256WithRSAPSS"
api PATCH pki/issuer/ec '{"revocation_signature_algorithm":"ECDSAWithSHA384"}'
expect 200 "ec: revocation_signature_algorithm ECDSAWithSHA384"
api GET pki/crl/rotate
expect 200 "rotate with PSS and SHA-384"
api GET pki/issuer/rsa/crl/pem
cp "$RESP" pss.crl
crl_ok pss.crl rsa.pem "RSA-PSS CRL"
openssl crl -in pss.crl -noout -text | grep -q 'rsassaPss' || die "RSA-PSS CRL: signature algorithm"
api GET pki/issuer/ec/crl/pem
cp "$RESP" ec384.crl
crl_ok ec384.crl ec.pem "ECDSA-SHA384 CRL"
openssl crl -in ec384.crl -noout -text | grep -q 'ecdsa-with-SHA384' || die "ECDSA CRL: not SHA-384"
api PATCH pki/issuer/ed '{"revocation_signature_algorithm":"SHA256WithRSA"}'
if [ "$STATUS" = 200 ]; then
    api GET pki/issuer/ed/crl/pem
    cp "$RESP" ed2.crl
    api GET pki/crl/rotate
    expect_error 400 "revocation_signature_algorithm" "rotate: an algorithm that does not fit the key"
    api GET pki/issuer/ed/crl/pem
    cmp -s "$RESP" ed2.crl || die "a refused CRL replaced the last good one"
else
    expect_error 400 "revocation_signature_algorithm" "PATCH: an algorithm that does not fit the key"
fi
pass "CRLs signed with Ed25519, RSA-PSS and ECDSA-SHA384 verify; a misfit algorithm is refused"

# ---- concurrent revocations without auto_rebuild: every one is on the CRL they leave behind ----
mount_pki par
api POST par/root/generate/internal "{\"common_name\":\"Par Root\",\"key_type\":\"ec\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "par root"
data certificate >par.pem
api POST par/roles/web '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec"}'
expect 200 "par role"
: >par.want
for i in 1 2 3 4 5 6 7 8; do
    api POST par/issue/web "{\"common_name\":\"p$i.example.com\",\"ttl\":\"1h\"}"
    expect 200 "par issue $i"
    data serial_number >>par.want
done
pids=
for s in $(cat par.want); do
    curl -s -o "par.$s.out" -w '%{http_code}' $CURL_TLS -H "X-Vault-Token: $TOKEN" -X POST \
        --data "{\"serial_number\":\"$s\"}" "$ADDR/v1/par/revoke" >"par.$s.code" &
    pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids # not a bare wait: the daemon is a background job of this shell too
for s in $(cat par.want); do
    [ "$(cat "par.$s.code")" = 200 ] || { show "par.$s.out"; die "parallel revoke of $s"; }
done
api GET par/crl/pem
cp "$RESP" par.crl
crl_ok par.crl par.pem "CRL after parallel revocations"
sort par.want >par.want.sorted
crl_serials par.crl >par.got
cmp -s par.got par.want.sorted || { show par.got; die "the CRL after 8 parallel revocations misses some"; }
pass "8 parallel revocations (auto_rebuild off) all on the CRL they leave"

# ---- revocations of an issuer that is gone go on the default issuer's CRL (OpenBao) ----
api POST par/root/generate/internal "{\"common_name\":\"Gone Root\",\"key_type\":\"ec\",\"issuer_name\":\"gone\",
    \"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "second par root"
api POST par/roles/gone '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","issuer_ref":"gone"}'
expect 200 "role on the second root"
api POST par/issue/gone '{"common_name":"o1.example.com","ttl":"1h"}'
expect 200 "issue o1"
o1=$(data serial_number)
api POST par/issue/gone '{"common_name":"o2.example.com","ttl":"1h"}'
expect 200 "issue o2"
o2=$(data serial_number)
api POST par/revoke "{\"serial_number\":\"$o1\"}"
expect 200 "revoke o1"
api GET par/crl/pem
crl_serials "$RESP" | grep -qx "$o1" && die "o1 is on the default issuer's CRL while its issuer exists"
api DELETE par/issuer/gone
expect 204 "delete issuer gone"
api POST par/revoke "{\"serial_number\":\"$o2\"}"
expect 200 "revoke o2 (its issuer is gone)"
has_warning "not rebuilt" && die "revoking o2: the default issuer's CRL was not rebuilt"
api GET par/crl/pem
cp "$RESP" par2.crl
crl_ok par2.crl par.pem "default CRL with an unknown issuer's revocations"
crl_serials par2.crl >par2.got
grep -qx "$o1" par2.got && grep -qx "$o2" par2.got || { show par2.got; die "o1, o2 not on the default issuer's CRL"; }
[ "$(wc -l <par2.got)" = 10 ] || die "the default CRL is not the 8 parallel ones plus o1, o2"
pass "revocations of a deleted issuer go on the default issuer's CRL"

api_finish
pass "revocation and CRLs"
