#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# CA core checks that need a token and a database: the lint gate (the
# negative corpus gets no signature from the token, counted by the fault
# module), imports (a key in a PEM bundle ends up in the token,
# non-extractable, and its bytes are nowhere in the database file), the
# storage-failure path (a trigger fails the final certificate insert: nothing
# returned, the intent kept) and bad input (clear errors, nothing stored).
#
# env (set by tests/ca.cmake): HSMCA_CA_TESTTOOL, HSMCA_CA_LINT_GATE,
# HSMCA_FAULT_MODULE, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_CA_TESTTOOL HSMCA_CA_LINT_GATE HSMCA_CA_SERIALS HSMCA_CA_CACHE HSMCA_FAULT_MODULE
need_tool softhsm2-util openssl sqlite3 pkcs11-tool

W=$(workdir ca_core)
token_create "$W/token" ca-core
T=$HSMCA_CA_TESTTOOL

# ---- lint gate ----
cat >"$W/fault.conf" <<CONF
module = $SOFTHSM_MODULE
counters = $W/counters
count_flush = C_Sign
CONF
HSMCA_TEST_MODULE=$HSMCA_FAULT_MODULE HSMCA_FAULT_CONFIG=$W/fault.conf HSMCA_TEST_COUNTERS=$W/counters \
    HSMCA_TEST_DB=$W/gate.db "$HSMCA_CA_LINT_GATE" >"$W/gate.out" 2>&1 || { show "$W/gate.out"; die "lint gate"; }
pass "lint gate: the negative corpus got no C_Sign; a baseline did"

# ---- the signing-issuer cache follows every change, in one process ----
HSMCA_TEST_DB=$W/cache.db "$HSMCA_CA_CACHE" >"$W/cache.out" 2>&1 || { show "$W/cache.out"; die "issuer cache"; }
pass "issuer cache: default, URLs, revocation and deletion seen by the next issuance"

# ---- serial quality: 100,000 serials from the token ----
"$HSMCA_CA_SERIALS" >"$W/serials.out" 2>&1 || { show "$W/serials.out"; die "serial quality"; }
pass "serials: 100,000 without collision, positive, <= 20 octets, bits 0.5 +- 0.01"

export HSMCA_TEST_DB="$W/ca.db"
run() {
    "$T" "$@" >"$W/out" 2>"$W/err" || { show "$W/err"; die "ca-testtool $1 $2 failed"; }
}
val() {
    sed -n "s/^$1=//p" "$W/out" | head -1
}
# refused DESCRIPTION PATTERN ARGS...: the command must fail, say PATTERN,
# not crash, and leave the database rows unchanged.
rows() {
    sqlite3 "$HSMCA_TEST_DB" "SELECT (SELECT count(*) FROM docs)||'/'||(SELECT count(*) FROM intents)||'/'||(SELECT count(*) FROM certs)"
}
refused() {
    what=$1 pattern=$2
    shift 2
    before=$(rows)
    set +e
    "$T" "$@" >"$W/out" 2>"$W/err"
    rc=$?
    set -e
    [ "$rc" -ne 0 ] || die "$what: accepted"
    [ "$rc" -lt 128 ] || { show "$W/err"; die "$what: crashed (exit $rc)"; }
    # a leak or UB on the refusal path also exits non-zero: not a clean refusal
    if grep -Eq "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W/err"; then
        show "$W/err"
        die "$what: sanitizer report on the refusal path"
    fi
    grep -qi -- "$pattern" "$W/err" || { show "$W/err"; die "$what: message does not say '$pattern'"; }
    [ "$(rows)" = "$before" ] || die "$what: the database changed ($before -> $(rows))"
    pass "$what refused: $(grep -o 'ca-testtool: .*' "$W/err" | head -1 | cut -c1-150)"
}

run mount pki
run root pki "$W/root.pem" key_type=ec key_bits=256 "common_name=core root" issuer_name=root

# ---- import: the key goes into the token, never into the database ----
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/imp.key" 2>/dev/null
openssl req -x509 -new -key "$W/imp.key" -subj "/CN=imported CA" -days 365 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$W/imp.pem" 2>/dev/null
cat "$W/imp.key" "$W/imp.pem" >"$W/bundle.pem"
run import pki "$W/bundle.pem" keys
imp_key=$(val imported_key)
[ -n "$imp_key" ] && [ -n "$(val imported_issuer)" ] || die "import created no key or issuer"
openssl pkey -in "$W/imp.key" -outform DER -out "$W/imp.der" 2>/dev/null
# The private scalar (and the whole DER) must appear nowhere in the database
# or its WAL.
scalar=$(openssl pkey -in "$W/imp.key" -text -noout 2>/dev/null |
    awk '/^priv:/ { p = 1; next } /^pub:/ { p = 0 } p' | tr -d ' :\n' | sed 's/^00//')
[ ${#scalar} -ge 60 ] || die "could not read the private scalar of the test key (got '$scalar')"
# Positive control: the scan finds the scalar where it is.
od -An -tx1 -v "$W/imp.der" | tr -d ' \n' | grep -q "$scalar" || die "scalar scan cannot find the scalar in the key's own DER"
for f in "$HSMCA_TEST_DB" "$HSMCA_TEST_DB-wal"; do
    [ -f "$f" ] || continue
    od -An -tx1 -v "$f" | tr -d ' \n' >"$W/db.hex"
    if grep -q "$scalar" "$W/db.hex"; then die "the imported private key is in $f"; fi
    if grep -q "$(od -An -tx1 -v "$W/imp.der" | tr -d ' \n')" "$W/db.hex"; then die "the key DER is in $f"; fi
done
p11tool_login --list-objects --type privkey >"$W/objs" 2>&1
# The imported key's object (label pki:<key_id> is not used: unnamed keys are
# labelled with their id) must be sensitive and not extractable.
awk -v id="pki:imported" 'BEGIN{RS="Private Key Object"} /label/ {print}' "$W/objs" >"$W/objs2"
grep -q "Access:.*sensitive" "$W/objs" || { show "$W/objs"; die "imported key is not sensitive in the token"; }
if grep "Access:" "$W/objs" | grep -v "never extractable" | grep -q "extractable"; then
    show "$W/objs"; die "a private key in the token is extractable"
fi
pass "import: key in the token (sensitive), no key bytes in the database"
run import pki "$W/bundle.pem" keys
[ "$(val existing_key)" = "$imp_key" ] && [ -n "$(val existing_issuer)" ] || die "re-import not recognised as existing"
pass "import: a second import reports existing issuer and key"

# ---- storage failure: the final certificate insert fails ----
run role pki web '{"allowed_domains":"example.com","allow_subdomains":true}'
mkdir -p "$W/leaf"
run issue pki web "$W/leaf" common_name=ok.example.com
intents_before=$(sqlite3 "$HSMCA_TEST_DB" "SELECT count(*) FROM intents")
sqlite3 "$HSMCA_TEST_DB" "CREATE TRIGGER fail_cert BEFORE INSERT ON certs BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END;"
set +e
"$T" issue pki web "$W/leaf2" common_name=fail.example.com >"$W/out" 2>"$W/err"
rc=$?
set -e
[ "$rc" -ne 0 ] || die "issuance succeeded although the certificate could not be stored"
[ ! -s "$W/out" ] || grep -q "^serial_number=$" "$W/out" || die "a certificate was returned: $(cat "$W/out")"
grep -q "injected storage failure\|intent kept" "$W/err" || { show "$W/err"; die "storage failure not reported"; }
intents_after=$(sqlite3 "$HSMCA_TEST_DB" "SELECT count(*) FROM intents")
[ "$intents_after" -eq $((intents_before + 1)) ] || die "intent not kept ($intents_before -> $intents_after)"
orphans=$(sqlite3 "$HSMCA_TEST_DB" "SELECT count(*) FROM intents i WHERE NOT EXISTS (SELECT 1 FROM certs c WHERE c.mount=i.mount AND c.serial=i.serial)")
[ "$orphans" -ge 1 ] || die "no intent without certificate after the failure"
sqlite3 "$HSMCA_TEST_DB" "DROP TRIGGER fail_cert;"
pass "storage failure: nothing returned, the intent record kept"

# ---- bad input ----
printf -- "-----BEGIN CERTIFICATE REQUEST-----\nMIIBnotbase64\n-----END CERTIFICATE REQUEST-----\n" >"$W/bad.csr"
refused "malformed CSR" "certificate request" sign pki web "$W/bad.csr" "$W/x.pem" common_name=a.example.com
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/c.key" -subj /CN=b.example.com \
    -out "$W/good.csr" 2>/dev/null
# flip one byte of the signature: the self-signature no longer verifies
openssl req -in "$W/good.csr" -outform DER -out "$W/good.der"
size=$(wc -c <"$W/good.der")
printf '\001' | dd of="$W/good.der" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
{ echo "-----BEGIN CERTIFICATE REQUEST-----"; base64 -w64 "$W/good.der"; echo "-----END CERTIFICATE REQUEST-----"; } >"$W/badsig.csr"
refused "CSR with a bad self-signature" "self-signature" sign pki web "$W/badsig.csr" "$W/x.pem" common_name=b.example.com
openssl req -new -newkey rsa:1024 -nodes -keyout "$W/small.key" -subj /CN=c.example.com -out "$W/small.csr" 2>/dev/null
refused "CSR key too small" "key_bits\|1024\|bits" sign pki web "$W/small.csr" "$W/x.pem" common_name=c.example.com
refused "unknown role" "role" issue pki nosuchrole "$W/leaf" common_name=d.example.com
refused "unknown issuer" "issuer" sign-intermediate pki nosuchissuer "$W/good.csr" "$W/x.pem" "$W/y.pem" common_name=x
refused "unknown key reference" "key" csr pki "$W/x.csr" type=existing key_ref=nosuchkey common_name=x
refused "issuer name conflict" "already used" root pki "$W/x.pem" key_type=ec common_name=dup issuer_name=root
refused "exported type" "never export" root pki "$W/x.pem" type=exported key_type=ec common_name=exp
refused "name outside the role" "example.com\|allowed" issue pki web "$W/leaf" common_name=evil.test

# ---- keys, issuers, defaults, manual chains ----
run keys pki
root_key=$(sed -n 's/^key=\([^ ]*\) .*/\1/p' "$W/out" | head -1)
[ -n "$root_key" ] || die "no keys listed"
refused "deleting a key an issuer uses" "used by an issuer" key-delete pki "$root_key"
run root pki "$W/root-b.pem" key_type=ec key_bits=384 "common_name=core root b" issuer_name=root-b
run config-get pki issuers
def_before=$(sed -n 's/.*"default":"\([^"]*\)".*/\1/p' "$W/out")
run config-set pki issuers '{"default":"root-b"}'
run config-get pki issuers
def_after=$(sed -n 's/.*"default":"\([^"]*\)".*/\1/p' "$W/out")
[ -n "$def_after" ] && [ "$def_after" != "$def_before" ] && [ "$def_after" != "root-b" ] ||
    die "config/issuers default not stored as the issuer id (before $def_before, after $def_after)"
refused "default issuer that does not exist" "no issuer" config-set pki issuers '{"default":"nope"}'
refused "URL that is not http(s)/ldap" "URL" config-set pki urls '{"issuing_certificates":["ftp://x/ca"]}'
run config-set pki urls '{"issuing_certificates":["http://ca.test/v1/pki/issuer/{{issuer_id}}/der"],"crl_distribution_points":["http://ca.test/crl"],"ocsp_servers":["http://ca.test/ocsp"],"enable_templating":true}'
run issue pki web "$W/leaf" common_name=urls.example.com
openssl x509 -in "$W/leaf/leaf.pem" -noout -text >"$W/t"
grep -q "CA Issuers - URI:http://ca.test/v1/pki/issuer/$(val issuer_id)/der" "$W/t" ||
    { show "$W/t"; die "AIA caIssuers URL not templated with the issuer id"; }
grep -q "OCSP - URI:http://ca.test/ocsp" "$W/t" && grep -q "URI:http://ca.test/crl" "$W/t" ||
    { show "$W/t"; die "AIA OCSP or CRL distribution point missing"; }
pass "config: default issuer by name stored as id; AIA/CDP templated from config/urls"
# manual_chain must start with the issuer itself
refused "manual_chain not starting with the issuer" "must start" manual-chain pki root root-b
run manual-chain pki root-b root-b root
run issuer pki root-b "$W/rb.pem" "$W/rb-chain.pem"
[ "$(val chain_length)" = 2 ] || die "manual_chain not used for ca_chain (length $(val chain_length))"
pass "manual_chain builds the issuer's ca_chain"
# ---- sign-verbatim and sign-self-issued ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/v.key" -subj "/O=Verbatim Org/CN=verbatim.test" \
    -addext "subjectAltName=DNS:verbatim.test,DNS:other.invalid" -addext "certificatePolicies=1.3.6.1.4.1.99999.1" \
    -out "$W/v.csr" 2>/dev/null
run verbatim pki "$W/v.csr" "$W/v.pem" ext_key_usage=ClientAuth
openssl x509 -in "$W/v.pem" -noout -text >"$W/t"
grep -q "O = Verbatim Org, CN = verbatim.test" "$W/t" && grep -q "DNS:other.invalid" "$W/t" &&
    grep -q "1.3.6.1.4.1.99999.1" "$W/t" && grep -q "TLS Web Client Authentication" "$W/t" ||
    { show "$W/t"; die "sign-verbatim did not keep the CSR's subject and extensions (or the default EKU)"; }
openssl verify -partial_chain -CAfile "$W/root-b.pem" "$W/v.pem" >/dev/null 2>&1 || die "verbatim certificate does not verify"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/vca.key" -subj "/CN=sneaky CA" \
    -addext "basicConstraints=critical,CA:TRUE" -out "$W/vca.csr" 2>/dev/null
refused "sign-verbatim of a CA request" "CA certificate" verbatim pki "$W/vca.csr" "$W/x.pem"
# regression: an unknown key usage name once leaked the keyUsage bit string
# (the ASan build's leak check fails this refusal if it comes back)
refused "sign-verbatim with an unknown key usage" "not a key usage name" verbatim pki "$W/v.csr" "$W/x.pem" \
    key_usage=NotAUsage
pass "sign-verbatim: subject and extensions from the CSR, CA requests refused"
run self-issued pki root "$W/root-b.pem" "$W/rb-by-root.pem"
openssl verify -CAfile "$W/root.pem" "$W/rb-by-root.pem" >"$W/v" 2>&1 || { show "$W/v"; die "self-issued re-sign does not verify under the signing root"; }
[ "$(openssl x509 -in "$W/rb-by-root.pem" -noout -subject)" = "$(openssl x509 -in "$W/root-b.pem" -noout -subject)" ] ||
    die "sign-self-issued changed the subject"
refused "sign-self-issued of a non-self-issued certificate" "self-issued" self-issued pki root "$W/leaf/leaf.pem" "$W/x.pem"
pass "sign-self-issued: root-b re-signed by root verifies"

# ---- CSRs of every kind through the request parser ----
run role pki anykey '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"any"}'
csr_ok() { # NAME OPENSSL-REQ-ARGS...: the CSR is signed; the certificate carries the CSR's key
    name=$1
    shift
    openssl req -new -nodes -keyout "$W/$name.key" -subj "/CN=$name.example.com" "$@" -out "$W/$name.csr" 2>/dev/null ||
        die "openssl could not make the $name CSR"
    run sign pki anykey "$W/$name.csr" "$W/$name.pem"
    [ "$(openssl x509 -in "$W/$name.pem" -noout -pubkey)" = "$(openssl req -in "$W/$name.csr" -noout -pubkey)" ] ||
        die "$name: the certificate's key is not the CSR's"
    openssl x509 -in "$W/$name.pem" -noout -subject | grep -q "$name.example.com" || die "$name: subject lost"
}
csr_ok p256 -newkey ec -pkeyopt ec_paramgen_curve:P-256
csr_ok p384 -newkey ec -pkeyopt ec_paramgen_curve:P-384
csr_ok p521 -newkey ec -pkeyopt ec_paramgen_curve:P-521
csr_ok rsa2048 -newkey rsa:2048
csr_ok rsapss -newkey rsa:2048 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32
csr_ok ed25519 -newkey ed25519
csr_ok withext -newkey ec -pkeyopt ec_paramgen_curve:P-256 -addext "subjectAltName=DNS:withext.example.com,DNS:alt.example.com"
openssl x509 -in "$W/withext.pem" -noout -text | grep -q "DNS:alt.example.com" || die "CSR SANs (attributes) lost"
# a compressed EC point (the cheap key comparison cannot show it; the full one does)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/cp.key" 2>/dev/null
openssl ec -in "$W/cp.key" -conv_form compressed -out "$W/cpc.key" 2>/dev/null
openssl req -new -key "$W/cpc.key" -subj /CN=cp.example.com -out "$W/cp.csr" 2>/dev/null
openssl req -in "$W/cp.csr" -noout -text | grep -A1 "pub:" | tail -1 | grep -q "^ *0[23]:" ||
    die "openssl did not make a compressed-point CSR"
run sign pki anykey "$W/cp.csr" "$W/cp.pem"
[ "$(openssl x509 -in "$W/cp.pem" -noout -pubkey)" = "$(openssl req -in "$W/cp.csr" -noout -pubkey)" ] ||
    die "compressed point: the certificate's key is not the CSR's"
# a key type the fast parser does not build goes through OpenSSL's parser, and the role decides
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:brainpoolP256r1 -keyout "$W/bp.key" \
    -subj /CN=bp.example.com -out "$W/bp.csr" 2>/dev/null
refused "brainpool CSR key" "curve\|key" sign pki anykey "$W/bp.csr" "$W/x.pem"
pass "CSRs: P-256/384/521 (incl. a compressed point), RSA (PKCS#1 and PSS-signed), Ed25519, with SANs; others parsed by OpenSSL and refused by policy"

# ---- stored certificates read back; keys renamed; issuers deleted ----
serial=$(openssl x509 -in "$W/leaf/leaf.pem" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//')
run certs pki
grep -q "^serial=$serial\$" "$W/out" || { show "$W/out"; die "certs list lacks the issued serial $serial"; }
run cert pki "$serial" "$W/stored.der"
openssl x509 -in "$W/leaf/leaf.pem" -outform DER | cmp -s - "$W/stored.der" || die "stored DER differs from the returned certificate"
[ "$(val role)" = web ] || die "stored certificate lacks its role"
refused "unknown serial" "no certificate" cert pki 01:02:03:04:05:06:07:08 "$W/x.der"
refused "malformed serial" "serial" cert pki zz:top "$W/x.der"
run keys pki
some_key=$(sed -n 's/^key=\([^ ]*\) .*/\1/p' "$W/out" | head -1)
run key-rename pki "$some_key" renamed-key
run keys pki
grep -q " renamed-key " "$W/out" || die "key rename not visible"
p11tool_login --list-objects --type privkey | grep -q "label:.*pki:renamed-key" || die "token label not updated by rename"
refused "renaming to a reserved name" "reserved" key-rename pki renamed-key default
pass "certificates read back byte for byte; keys renamed in store and token"

# ---- 2050: UTCTime before, GeneralizedTime from (RFC 5280 4.1.2.5) ----
run root pki "$W/root-2051.pem" key_type=ec key_bits=256 "common_name=long root" issuer_name=long not_after=2051-01-01T00:00:00Z
openssl asn1parse -in "$W/root-2051.pem" >"$W/asn1"
grep -q "UTCTIME" "$W/asn1" && grep -q "GENERALIZEDTIME.*20510101000000Z" "$W/asn1" ||
    { show "$W/asn1"; die "validity encoding around 2050 wrong"; }
pass "validity: notBefore UTCTime, notAfter 2051 GeneralizedTime"

# ---- revoking an issuer stops it issuing ----
run issuer-revoke pki long
[ "$(val revoked)" = 1 ] || die "issuer not marked revoked"
run role pki longrole '{"allowed_domains":"example.com","allow_subdomains":true,"issuer_ref":"long"}'
refused "issuing from a revoked issuer" "revoked\|issuing-certificates" issue pki longrole "$W/leaf" common_name=r.example.com
pass "revoked issuer cannot issue"

run delete-all pki
run keys pki
[ ! -s "$W/out" ] || die "keys remain after DELETE root: $(cat "$W/out")"
refused "issuing after DELETE root" "issuer" issue pki web "$W/leaf" common_name=gone.example.com
pass "DELETE root removes every issuer and key of the mount"
