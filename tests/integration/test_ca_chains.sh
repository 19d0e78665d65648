#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# CA core end to end, for every issuer key type (RSA 2048 PKCS#1 and PSS,
# RSA 4096, P-256, P-384, Ed25519): a root and an intermediate whose keys are
# in a real SoftHSM2 token, a leaf issued through a role, all stored in a real
# SQLite file. Judges: openssl verify, GnuTLS certtool --verify-chain and
# openssl x509 -text. Also: a cross-signed intermediate verifies under both
# roots.
#
# env (set by tests/ca.cmake): HSMCA_CA_TESTTOOL, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_CA_TESTTOOL
need_tool softhsm2-util openssl certtool

W=$(workdir ca_chains)
token_create "$W/token" ca-chains
export HSMCA_TEST_DB="$W/ca.db"
T=$HSMCA_CA_TESTTOOL

run() {
    "$T" "$@" >"$W/out" 2>"$W/err" || { show "$W/err"; die "ca-testtool $1 $2 failed"; }
}
val() {
    sed -n "s/^$1=//p" "$W/out" | head -1
}

# chain_for NAME KEYTYPE BITS [PSS]
chain_for() {
    n=$1 kt=$2 kb=$3 pss=${4:-false}
    d=$W/$n
    mkdir -p "$d"
    run mount "$n"
    run root "$n" "$d/root.pem" "key_type=$kt" "key_bits=$kb" "common_name=hsmca test root $n" \
        "issuer_name=root" "use_pss=$pss" "organization=hsmca tests" "country=NL"
    root_id=$(val issuer_id)
    [ -n "$root_id" ] || die "$n: root has no issuer_id"
    run csr "$n" "$d/int.csr" "key_type=$kt" "key_bits=$kb" "common_name=hsmca test intermediate $n" \
        "key_name=int-key" "use_pss=$pss"
    openssl req -in "$d/int.csr" -verify -noout 2>/dev/null || die "$n: intermediate CSR does not verify"
    run sign-intermediate "$n" root "$d/int.csr" "$d/int.pem" "$d/int-chain.pem" "use_pss=$pss" \
        "common_name=hsmca test intermediate $n" "organization=hsmca tests" \
        "ttl=31536000" "max_path_length=0"
    run import "$n" "$d/int.pem" nokeys
    int_id=$(val imported_issuer)
    [ -n "$int_id" ] || die "$n: set-signed created no issuer"
    run issuer "$n" "$int_id" "$d/int-check.pem" "$d/int-chain2.pem"
    [ "$(val key_id)" != "" ] || die "$n: imported intermediate is not linked to its token key"
    [ "$(val chain_length)" = 2 ] || die "$n: intermediate chain length $(val chain_length), want 2"
    run role "$n" web "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,\"issuer_ref\":\"$int_id\",\"use_pss\":$pss,\"key_type\":\"ec\",\"key_bits\":256}"
    mkdir -p "$d/leaf"
    run issue "$n" web "$d/leaf" common_name=www.example.com alt_names=api.example.com ttl=86400
    # Independent judges
    openssl verify -CAfile "$d/root.pem" -untrusted "$d/int.pem" "$d/leaf/leaf.pem" >"$W/v" 2>&1 ||
        { show "$W/v"; die "$n: openssl verify rejects the chain"; }
    cat "$d/leaf/leaf.pem" "$d/int.pem" "$d/root.pem" >"$d/full.pem"
    certtool --verify-chain --infile "$d/full.pem" >"$W/v" 2>&1 ||
        { show "$W/v"; die "$n: certtool --verify-chain rejects the chain"; }
    grep -q "Chain verification output: Verified" "$W/v" || { show "$W/v"; die "$n: certtool did not verify"; }
    # The extensions the profile promises
    openssl x509 -in "$d/root.pem" -noout -text >"$W/t"
    grep -A1 "Basic Constraints: critical" "$W/t" | grep -q "CA:TRUE" || die "$n: root lacks critical CA:TRUE"
    grep -A1 "Key Usage: critical" "$W/t" | grep -q "Certificate Sign, CRL Sign" || die "$n: root key usage wrong"
    openssl x509 -in "$d/int.pem" -noout -text >"$W/t"
    grep -A1 "Basic Constraints: critical" "$W/t" | grep -q "CA:TRUE, pathlen:0" || die "$n: intermediate pathlen wrong"
    grep -q "Authority Key Identifier" "$W/t" || die "$n: intermediate lacks AKI"
    openssl x509 -in "$d/leaf/leaf.pem" -noout -text >"$W/t"
    grep -q "DNS:www.example.com" "$W/t" && grep -q "DNS:api.example.com" "$W/t" || die "$n: leaf SANs wrong"
    grep -A1 "Extended Key Usage" "$W/t" | grep -q "TLS Web Server Authentication" || die "$n: leaf EKU wrong"
    grep -q "Subject Key Identifier" "$W/t" && grep -q "Authority Key Identifier" "$W/t" || die "$n: leaf SKI/AKI missing"
    if [ "$pss" = true ]; then
        grep -q "Signature Algorithm: rsassaPss" "$W/t" || die "$n: leaf not signed with RSA-PSS"
    fi
    pass "$n: root -> intermediate -> leaf verified by openssl and certtool"
}

chain_for rsa2048 rsa 2048
chain_for rsa2048pss rsa 2048 true
chain_for rsa4096 rsa 4096
chain_for rsa4096pss rsa 4096 true
chain_for p256 ec 256
chain_for p384 ec 384
chain_for ed25519 ed25519 0

# Cross-sign: the p256 intermediate's key, certified again by a second root.
n=p256
d=$W/$n
# (the cross certificate's TTL is below root2's: with both at the default, a
# second ticking over between the two calls puts its notAfter past root2's,
# which leaf_not_after_behavior=err rightly refuses, as OpenBao does)
run root "$n" "$d/root2.pem" key_type=ec key_bits=384 "common_name=hsmca test second root" issuer_name=root2
run csr "$n" "$d/cross.csr" type=existing key_ref=int-key "common_name=hsmca test intermediate $n" \
    "organization=hsmca tests"
run sign-intermediate "$n" root2 "$d/cross.csr" "$d/cross.pem" "$d/cross-chain.pem" use_csr_values=true \
    ttl=2592000
run import "$n" "$d/cross.pem" nokeys
[ -n "$(val imported_issuer)" ] || die "cross-signed certificate not imported"
openssl verify -CAfile "$d/root2.pem" -untrusted "$d/cross.pem" "$d/leaf/leaf.pem" >"$W/v" 2>&1 ||
    { show "$W/v"; die "leaf does not verify through the cross-signed intermediate under root2"; }
openssl verify -CAfile "$d/root.pem" -untrusted "$d/int.pem" "$d/leaf/leaf.pem" >/dev/null 2>&1 ||
    die "leaf no longer verifies under the first root"
pass "cross-signed intermediate verifies under both roots"
