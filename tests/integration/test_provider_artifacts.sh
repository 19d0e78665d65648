#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every key type and signature scheme signs, through the hsmca provider and
# the token, a self-signed CA certificate, a leaf certificate, a CSR, a CRL and
# an OCSP response; each artefact is judged by the openssl command and GnuTLS
# (certtool/ocsptool), and its signature AlgorithmIdentifier must match the
# scheme.
#
# env (set by tests/CMakeLists.txt): HSMCA_TESTTOOL, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_TESTTOOL
need_tool openssl certtool ocsptool softhsm2-util

W=$(workdir provider_artifacts)
token_create "$W/token" artifacts
T=$HSMCA_TESTTOOL

gen() {
    "$T" gen "$1" "$2" "$3" >"$W/gen.out" 2>&1 || { show "$W/gen.out"; die "gen $1 $2 failed"; }
}

# judge NAME SCHEME MD: produce the artefacts with key NAME and check them.
judge() {
    name=$1 scheme=$2 md=$3
    d="$W/$name-$scheme-$md"
    mkdir -p "$d"
    "$T" artifacts "$name" "$scheme" "$md" "$d" >"$d/tool.out" 2>&1 ||
        { show "$d/tool.out"; die "$name $scheme $md: testtool artifacts failed"; }
    for f in ca.pem leaf.pem csr.pem crl.pem ocsp.der pub.pem; do
        [ -s "$d/$f" ] || die "$name $scheme $md: $f was not written"
    done

    # The certificates carry the token key: CA and CSR public key = hsmca's.
    "$T" pubkey "$name" >"$d/token-pub.pem" 2>/dev/null
    openssl x509 -in "$d/ca.pem" -noout -pubkey >"$d/ca-pub.pem"
    openssl req -in "$d/csr.pem" -noout -pubkey >"$d/csr-pub.pem"
    cmp -s "$d/ca-pub.pem" "$d/token-pub.pem" || die "$name: CA certificate does not carry the token key"
    cmp -s "$d/csr-pub.pem" "$d/token-pub.pem" || die "$name: CSR does not carry the token key"

    # openssl: chain, CSR self-signature, CRL, OCSP.
    openssl verify -x509_strict -CAfile "$d/ca.pem" "$d/ca.pem" "$d/leaf.pem" >"$d/verify.out" 2>&1 ||
        { show "$d/verify.out"; die "$name $scheme $md: openssl verify rejected the certificates"; }
    expect_grep "$d/verify.out" "leaf.pem: OK" "$name $scheme $md: openssl verify (leaf)"
    expect_grep "$d/verify.out" "ca.pem: OK" "$name $scheme $md: openssl verify (CA)"
    openssl req -verify -noout -in "$d/csr.pem" >"$d/req.out" 2>&1 ||
        { show "$d/req.out"; die "$name $scheme $md: openssl req -verify rejected the CSR"; }
    expect_grep "$d/req.out" "verify OK" "$name $scheme $md: openssl req -verify"
    openssl crl -noout -in "$d/crl.pem" -CAfile "$d/ca.pem" >"$d/crl.out" 2>&1 ||
        { show "$d/crl.out"; die "$name $scheme $md: openssl crl -verify rejected the CRL"; }
    expect_grep "$d/crl.out" "verify OK" "$name $scheme $md: openssl crl"
    openssl ocsp -respin "$d/ocsp.der" -CAfile "$d/ca.pem" -issuer "$d/ca.pem" -sha256 \
        -cert "$d/leaf.pem" -no_nonce >"$d/ocsp.out" 2>&1 ||
        { show "$d/ocsp.out"; die "$name $scheme $md: openssl ocsp rejected the response"; }
    expect_grep "$d/ocsp.out" "^Response verify OK" "$name $scheme $md: openssl ocsp"
    expect_grep "$d/ocsp.out" "leaf.pem: good" "$name $scheme $md: openssl ocsp status"

    # GnuTLS: certificates, CRL and OCSP response.
    certtool --verify --load-ca-certificate "$d/ca.pem" --infile "$d/leaf.pem" >"$d/certtool.out" 2>&1 ||
        { show "$d/certtool.out"; die "$name $scheme $md: certtool --verify rejected the leaf"; }
    expect_grep "$d/certtool.out" "Chain verification output: Verified" "$name $scheme $md: certtool --verify"
    expect_no_grep "$d/certtool.out" "Not verified|signature failure" "$name $scheme $md: certtool --verify"
    certtool --verify --load-ca-certificate "$d/ca.pem" --infile "$d/ca.pem" >"$d/certtool-ca.out" 2>&1 ||
        { show "$d/certtool-ca.out"; die "$name $scheme $md: certtool --verify rejected the CA"; }
    expect_grep "$d/certtool-ca.out" "Chain verification output: Verified" "$name $scheme $md: certtool --verify CA"
    certtool --verify-crl --load-ca-certificate "$d/ca.pem" --infile "$d/crl.pem" >"$d/certtool-crl.out" 2>&1 ||
        { show "$d/certtool-crl.out"; die "$name $scheme $md: certtool --verify-crl rejected the CRL"; }
    expect_grep "$d/certtool-crl.out" "Verified" "$name $scheme $md: certtool --verify-crl"
    expect_no_grep "$d/certtool-crl.out" "Not verified" "$name $scheme $md: certtool --verify-crl"
    # GnuTLS 3.7's OCSP code reads RSA-PSS as RSA-PSS-SHA256 whatever the
    # parameters say: it rejects a PSS/SHA-384 response made by OpenSSL with a
    # software key just the same, so only PSS/SHA-256 is judged by ocsptool.
    if [ "$scheme" != pss ] || [ "$md" = SHA256 ]; then
        ocsptool --verify-response --load-signer "$d/ca.pem" --infile "$d/ocsp.der" --inder \
            >"$d/ocsptool.out" 2>&1 ||
            { show "$d/ocsptool.out"; die "$name $scheme $md: ocsptool rejected the OCSP response"; }
        expect_grep "$d/ocsptool.out" "Verifying OCSP Response: Success" "$name $scheme $md: ocsptool"
    fi

    # The signature AlgorithmIdentifier matches the scheme, in every artefact.
    openssl x509 -in "$d/ca.pem" -noout -text >"$d/ca.txt"
    openssl x509 -in "$d/leaf.pem" -noout -text >"$d/leaf.txt"
    openssl req -in "$d/csr.pem" -noout -text >"$d/csr.txt"
    openssl crl -in "$d/crl.pem" -noout -text >"$d/crl.txt"
    openssl ocsp -respin "$d/ocsp.der" -resp_text -noverify >"$d/ocsp.txt" 2>&1
    lmd=$(echo "$md" | tr 'A-Z' 'a-z')
    case $scheme in
        pkcs1) alg="${lmd}WithRSAEncryption" ;;
        pss) alg="rsassaPss" ;;
        ecdsa) alg="ecdsa-with-$md" ;;
        eddsa) alg="ED25519" ;;
    esac
    for f in ca leaf csr crl ocsp; do
        # The first "Signature Algorithm" line is the one inside the signed
        # data (tbsCertificate etc.); the outer one must agree with it.
        sigalgs=$(grep -E "Signature Algorithm:" "$d/$f.txt" | sed 's/.*Signature Algorithm: *//; s/ *$//' | sort -u)
        [ "$sigalgs" = "$alg" ] || {
            show "$d/$f.txt"
            die "$name $scheme $md: $f signature algorithm is '$sigalgs', expected '$alg'"
        }
    done
    if [ "$scheme" = pss ]; then
        case $md in SHA256) salt=0x20 ;; SHA384) salt=0x30 ;; SHA512) salt=0x40 ;; esac
        for f in ca leaf csr crl ocsp; do
            expect_grep "$d/$f.txt" "Hash Algorithm: $lmd" "$name PSS $md: $f hash"
            expect_grep "$d/$f.txt" "Mask Algorithm: mgf1 with $lmd" "$name PSS $md: $f MGF1 hash"
            expect_grep "$d/$f.txt" "Salt Length: $salt" "$name PSS $md: $f salt length"
        done
    fi
    pass "$name $scheme $md: CA, leaf, CSR, CRL and OCSP response verify (openssl, GnuTLS); AlgorithmIdentifier $alg"
}

gen rsa 2048 rsa2048
gen rsa 3072 rsa3072
gen rsa 4096 rsa4096
gen ec 256 p256
gen ec 384 p384
gen ec 521 p521
gen ed25519 0 ed25519

judge rsa2048 pkcs1 SHA256
judge rsa2048 pss SHA256
judge rsa3072 pkcs1 SHA384
judge rsa3072 pss SHA384
judge rsa2048 pkcs1 SHA512
judge rsa4096 pkcs1 SHA512
judge p256 ecdsa SHA256
judge p384 ecdsa SHA384
judge p521 ecdsa SHA512
judge ed25519 eddsa none

# The judges can fail: a certificate whose signature was altered by one bit,
# and a CRL signed by another key, are rejected.
d="$W/rsa2048-pss-SHA256"
openssl x509 -in "$d/leaf.pem" -outform DER -out "$d/leaf.der"
size=$(wc -c <"$d/leaf.der")
last=$(tail -c 1 "$d/leaf.der" | od -An -tu1 | tr -d ' ')
{
    head -c $((size - 1)) "$d/leaf.der"
    # shellcheck disable=SC2059
    printf "\\$(printf '%03o' $(((last + 1) % 256)))"
} >"$d/bad.der"
cmp -s "$d/leaf.der" "$d/bad.der" && die "could not alter the certificate"
openssl x509 -inform DER -in "$d/bad.der" -out "$d/bad.pem"
expect_fail "$d/bad.out" openssl verify -CAfile "$d/ca.pem" "$d/bad.pem"
expect_grep "$d/bad.out" "signature failure|bad signature" "altered certificate"
expect_fail "$d/bad2.out" certtool --verify --load-ca-certificate "$d/ca.pem" --infile "$d/bad.pem"
expect_fail "$d/crl-other.out" openssl crl -noout -in "$W/p256-ecdsa-SHA256/crl.pem" -CAfile "$d/ca.pem"
pass "an altered certificate and a CRL from another issuer are rejected"
rm -rf "$W"
