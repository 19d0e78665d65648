#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Key ceremonies end to end (issue #6) with the sample files of
# config/ceremonies/: token init/list, an offline root on token A, an
# intermediate key + CSR on token B signed by the root on A, root CRLs and
# an OCSP signer; judged by openssl (verify, crl -verify, a leaf signed
# through the provider with the intermediate's key) and GnuTLS certtool.
# Transcripts verify, and tampering (an artefact byte, a transcript line, a
# swapped key, a removed signature) is named, and hsmcad imports a
# ceremony-made issuer only with a transcript that vouches for it. Bad ceremony files, a wrong
# PIN, a taken label, a forged CSR and a lint failure change nothing on the
# token and write nothing.
#
# env (set by tests/CMakeLists.txt): HSMCA_CLI, HSMCA_PROVIDER, HSMCAD, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_CLI HSMCA_PROVIDER HSMCAD
need_tool pkcs11-tool softhsm2-util openssl certtool curl jq

W=$(workdir ceremony)
HERE=$(cd "$(dirname "$0")" && pwd)
SAMPLES=$HERE/../../config/ceremonies
H=$HSMCA_CLI
M=$SOFTHSM_MODULE

# ---- tokens: A through softhsm2-util (token.sh), B through hsmca token init
token_create "$W/token" offline-root
mkdir -p "$W/c/pins"
cp "$HSMCA_TEST_PIN_FILE" "$W/c/pins/offline-root.pin"
( umask 077; printf 'int-%s' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" >"$W/c/pins/online-int.pin" )
"$H" --module "$M" token init online-int --so-pin-file "$W/token/so.pin" --user-pin-file "$W/c/pins/online-int.pin" \
    >"$W/init.out" 2>&1 || { show "$W/init.out"; die "hsmca token init"; }
"$H" --module "$M" token list >"$W/list.out" 2>&1 || { show "$W/list.out"; die "hsmca token list"; }
expect_grep "$W/list.out" "offline-root .* ready" "token list shows token A"
expect_grep "$W/list.out" "online-int .* ready" "token list shows token B"
expect_fail "$W/init2.out" "$H" --module "$M" token init online-int --so-pin-file "$W/token/so.pin" \
    --user-pin-file "$W/c/pins/online-int.pin"
expect_grep "$W/init2.out" "already exists" "token init refuses an existing label"
expect_fail "$W/init3.out" "$H" --module "$M" token init other --so-pin 12345678
expect_grep "$W/init3.out" "never taken as arguments" "token init refuses a PIN argument"
expect_fail "$W/init4.out" setsid "$H" --module "$M" token init other </dev/null
expect_grep "$W/init4.out" "no terminal to prompt" "token init without PIN files needs a terminal"
pass "token init (PIN files, refusals) and token list"

# hsmca key info: the attributes read back and the SPKI fingerprint, which
# openssl recomputes from the exported public key.
A() { "$H" --module "$M" --token offline-root --pin-file "$W/c/pins/offline-root.pin" "$@"; }
B() { "$H" --module "$M" --token online-int --pin-file "$W/c/pins/online-int.pin" "$@"; }
A key generate ec 256 taken >/dev/null
A key info taken >"$W/info.out"
for a in "CKA_LOCAL: *true" "CKA_SENSITIVE: *true" "CKA_ALWAYS_SENSITIVE: *true" "CKA_EXTRACTABLE: *false" \
    "CKA_NEVER_EXTRACTABLE: *true"; do
    expect_grep "$W/info.out" "^$a$" "key info"
done
fp=$(A key pubkey taken | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -c1-64)
got=$(sed -n 's/^SPKI SHA-256: *//p' "$W/info.out" | tr -d ':')
[ "$fp" = "$got" ] || die "key info SPKI SHA-256 $got is not openssl's $fp"
pass "key info shows the attributes and the SPKI SHA-256 openssl computes"

# ---- the sample ceremony files, as shipped
cp "$SAMPLES"/root.json "$SAMPLES"/intermediate-csr.json "$SAMPLES"/intermediate-sign.json "$W/c/"
cd "$W/c"

# objects_A/objects_B FILE: each token's objects (for "nothing changed")
objects_A() { HSMCA_TEST_TOKEN=offline-root HSMCA_TEST_PIN_FILE=$W/c/pins/offline-root.pin p11_objects "$1"; }
objects_B() { HSMCA_TEST_TOKEN=online-int HSMCA_TEST_PIN_FILE=$W/c/pins/online-int.pin p11_objects "$1"; }

# refused NAME FILE ERE WHAT: the ceremony fails with a message matching
# ERE, and neither token nor the output directory changes.
refused() {
    objects_A "$W/a.before"
    objects_B "$W/b.before"
    ls -R "$W/c" >"$W/files.before"
    expect_fail "$W/$1.out" "$H" ceremony run "$2" --operator Tester
    expect_grep "$W/$1.out" "$3" "$4"
    objects_A "$W/a.after"
    objects_B "$W/b.after"
    ls -R "$W/c" >"$W/files.after"
    cmp -s "$W/a.before" "$W/a.after" || die "$4: token A changed"
    cmp -s "$W/b.before" "$W/b.after" || die "$4: token B changed"
    cmp -s "$W/files.before" "$W/files.after" || { diff "$W/files.before" "$W/files.after" >&2; die "$4: files written"; }
    pass "refused, nothing changed: $4"
}

sed 's/"kind": "root-cert"/"kind": "root-certificate"/' root.json >bad-kind.json
refused kind bad-kind.json "steps\[1\]\.kind: unknown kind 'root-certificate'" "unknown step kind"
sed 's/"path_length": 1/"path_lenght": 1/' root.json >bad-field.json
refused field bad-field.json "steps\[1\]: unknown field 'path_lenght'" "unknown field"
sed 's/"key": "example-root-2026", "output": "root.pem",/"key": "example-root-2026",/' root.json >bad-missing.json
refused missing bad-missing.json "steps\[1\]: missing field 'output'" "missing field"
sed 's/"token": {"label": "offline-root"},/"token": {},/' root.json >bad-token.json
refused token bad-token.json "ceremony.token: give 'label' or 'serial'" "token not named"
printf 'not-the-pin' >pins/wrong.pin
chmod 600 pins/wrong.pin
sed 's|pins/offline-root.pin|pins/wrong.pin|' root.json >bad-pin.json
refused pin bad-pin.json "PIN" "wrong PIN"
# pin "prompt" asks on the terminal only (setsid: no controlling terminal).
sed 's|"pin": {"file": "pins/offline-root.pin"}|"pin": {"prompt": true}|' root.json >prompt.json
objects_A "$W/a.before"
expect_fail "$W/prompt.out" setsid "$H" ceremony run prompt.json --operator Tester </dev/null
expect_grep "$W/prompt.out" "no terminal to prompt on" "a PIN prompt without a terminal"
objects_A "$W/a.after"
cmp -s "$W/a.before" "$W/a.after" || die "a refused PIN prompt changed token A"
sed 's|"pin": {"file": "pins/offline-root.pin"}|"pin": {"file": "pins/offline-root.pin", "prompt": true}|' root.json >pin2.json
refused pin2 pin2.json "ceremony.pin: give exactly one of" "two PIN sources"
sed 's/"label": "example-root-2026", "key_type"/"label": "taken", "key_type"/' root.json >bad-label.json
refused label bad-label.json "a key labelled 'taken' already exists" "label collision"
expect_fail "$W/noop.out" "$H" ceremony run root.json
expect_grep "$W/noop.out" "--operator" "a real run names its operators"

# --dry-run: every step and its lint result; nothing generated or signed.
objects_A "$W/a.before"
"$H" ceremony run root.json --dry-run >"$W/dry.out" 2>&1 || { show "$W/dry.out"; die "dry run"; }
objects_A "$W/a.after"
cmp -s "$W/a.before" "$W/a.after" || die "dry run changed token A"
[ ! -e out ] || die "dry run wrote files"
for n in 1 2 3 4; do expect_grep "$W/dry.out" "step $n " "dry run shows step $n"; done
expect_grep "$W/dry.out" "step 2 \(root-cert\): lint passed" "dry run shows the root's lint"
expect_grep "$W/dry.out" "step 4 \(crl\): lint passed" "dry run shows the CRL's lint"
pass "dry run: every step and lint result, nothing touched"

# ---- the root ceremony on A, the intermediate key on B, signed on A
"$H" ceremony run root.json --operator "Alice Root" --operator Bob >"$W/root.out" 2>&1 ||
    { show "$W/root.out"; die "root ceremony"; }
"$H" ceremony run intermediate-csr.json --operator Alice >"$W/ikey.out" 2>&1 ||
    { show "$W/ikey.out"; die "intermediate key ceremony"; }

# A forged CSR (one signature byte changed) and a lint failure (validity
# past the root's) are refused before the root signs anything.
openssl req -in out/int-key/issuing-2026.csr -outform DER -out "$W/csr.der"
size=$(wc -c <"$W/csr.der")
last=$(tail -c 1 "$W/csr.der" | od -An -tu1 | tr -d ' ')
if [ "$last" = 1 ]; then new='\002'; else new='\001'; fi
printf "$new" | dd of="$W/csr.der" bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
openssl req -inform DER -in "$W/csr.der" -out forged.csr
sed 's|out/int-key/issuing-2026.csr|forged.csr|' intermediate-sign.json >bad-csr.json
refused csr bad-csr.json "csr 'forged.csr'.*(signature|verify)" "CSR with an invalid signature"
sed 's/"issuer_key": "example-root-2026"/"issuer_key": "example-root-2026-ocsp"/' intermediate-sign.json >bad-issuer.json
refused issuer bad-issuer.json "issuer_cert 'out/root/root.pem' does not certify the token key 'example-root-2026-ocsp'" \
    "issuer certificate and token key do not match"
sed 's/"validity": "1826d"/"validity": "9000d"/' intermediate-sign.json >bad-lint.json
refused lint bad-lint.json "lint validity.beyond_issuer" "lint failure (intermediate outlives the root)"
expect_grep "$W/lint.out" "lint FAILED: validity.beyond_issuer.*nothing signed" "lint failure is shown"

"$H" ceremony run intermediate-sign.json --operator Alice >"$W/isign.out" 2>&1 ||
    { show "$W/isign.out"; die "intermediate signing ceremony"; }
ROOT=out/root/root.pem
INT=out/int-cert/issuing-2026.pem
pass "root ceremony on token A, intermediate key + CSR on token B, signed by the root on A"

# The keys are where they belong, and nowhere else.
objects_A "$W/a.objs"
objects_B "$W/b.objs"
grep -q "^Private Key|example-root-2026|" "$W/a.objs" || die "root key not on token A"
grep -q "^Private Key|example-root-2026-ocsp|" "$W/a.objs" || die "OCSP signer key not on token A"
grep -q "^Private Key|example-issuing-2026|" "$W/b.objs" || die "intermediate key not on token B"
grep -q "example-issuing-2026" "$W/a.objs" && die "intermediate key on token A"

# ---- independent judges
openssl verify -x509_strict -CAfile "$ROOT" "$INT" >"$W/v.out" 2>&1 || { show "$W/v.out"; die "openssl verify root -> intermediate"; }
openssl verify -x509_strict -CAfile "$ROOT" out/root/root-ocsp.pem >"$W/v.out" 2>&1 || { show "$W/v.out"; die "openssl verify OCSP signer"; }
openssl x509 -in out/root/root-ocsp.pem -noout -text >"$W/ocsp.txt"
expect_grep "$W/ocsp.txt" "OCSP Signing" "OCSP signer EKU"
expect_grep "$W/ocsp.txt" "OCSP No Check" "OCSP signer id-pkix-ocsp-nocheck"
openssl crl -in out/root/root-1.crl -CAfile "$ROOT" -noout -verify >"$W/crl.out" 2>&1 || { show "$W/crl.out"; die "openssl crl -verify"; }
expect_grep "$W/crl.out" "verify OK" "root CRL signature"
cat "$INT" "$ROOT" >"$W/chain.pem"
certtool --verify-chain --infile "$W/chain.pem" >"$W/certtool.out" 2>&1 || { show "$W/certtool.out"; die "certtool --verify-chain"; }
expect_grep "$W/certtool.out" "Chain verification output: Verified" "certtool agrees"
pass "openssl verify (root -> intermediate, OCSP signer), openssl crl -verify, certtool --verify-chain"

# A leaf signed by stock openssl with the intermediate's key on token B
# through the hsmca provider; judged without the provider.
sed -e "s|@HSMCA_PROVIDER@|$HSMCA_PROVIDER|" -e "s|@PKCS11_MODULE@|$M|" -e "s|@PIN_FILE@|$W/c/pins/online-int.pin|" \
    "$HERE/openssl-hsmca.cnf.in" >"$W/openssl.cnf"
: >"$W/plain.cnf"
P=${HSMCA_OPENSSL_PRELOAD:+LD_PRELOAD=$HSMCA_OPENSSL_PRELOAD}
if [ "${HSMCA_TEST_OPENSSL_PROVIDER:-yes}" != no ]; then
    OPENSSL_CONF="$W/plain.cnf" openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$W/leaf.key" -subj "/CN=leaf.example.org" -out "$W/leaf.csr" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=DNS:leaf.example.org\nauthorityKeyIdentifier=keyid\n' >"$W/leaf.ext"
    env $P OPENSSL_CONF="$W/openssl.cnf" openssl x509 -req -in "$W/leaf.csr" -CA "$INT" \
        -CAkey "pkcs11:token=online-int;object=example-issuing-2026;type=private" -set_serial 0x1234567890abcdef01 \
        -days 30 -extfile "$W/leaf.ext" -out "$W/leaf.pem" >"$W/leaf.out" 2>&1 || { show "$W/leaf.out"; die "openssl x509 -req with the intermediate's token key"; }
    OPENSSL_CONF="$W/plain.cnf" openssl verify -x509_strict -CAfile "$ROOT" -untrusted "$INT" "$W/leaf.pem" >"$W/v.out" 2>&1 ||
        { show "$W/v.out"; die "openssl verify root -> intermediate -> leaf"; }
    pass "a leaf signed with the intermediate's token key verifies root -> intermediate -> leaf"
fi

# ---- a second root CRL that revokes the intermediate
cat >crl-revoke.json <<EOF
{"version": 1, "name": "revoke-issuing-2026", "module": "$M", "token": {"label": "offline-root"},
 "pin": {"file": "pins/offline-root.pin"}, "output_dir": "out/crl-2",
 "steps": [{"kind": "crl", "issuer_cert": "out/root/root.pem", "issuer_key": "example-root-2026",
            "output": "root-2.crl", "number": 2, "next_update_in": "30d",
            "revoked": [{"cert": "out/int-cert/issuing-2026.pem", "reason": "keyCompromise"}]}]}
EOF
"$H" ceremony run crl-revoke.json --operator Alice >"$W/crl2.out" 2>&1 || { show "$W/crl2.out"; die "revoking CRL ceremony"; }
openssl crl -in out/crl-2/root-2.crl -CAfile "$ROOT" -noout -verify >"$W/crl.out" 2>&1 || { show "$W/crl.out"; die "openssl crl -verify (revoking)"; }
cat "$ROOT" out/crl-2/root-2.crl >"$W/crlstore.pem"
if openssl verify -crl_check -CAfile "$W/crlstore.pem" "$INT" >"$W/rev.out" 2>&1; then
    show "$W/rev.out"
    die "the revoked intermediate still verifies with the root CRL"
fi
expect_grep "$W/rev.out" "certificate revoked" "the intermediate is on the root CRL"
pass "root CRL listing the revoked intermediate verifies, and openssl sees the intermediate revoked"

# ---- a new root, cross-signed by the old one (root rotation's first half)
cat >cross.json <<EOF
{"version": 1, "name": "root-2027-cross", "module": "$M", "token": {"label": "offline-root"},
 "pin": {"file": "pins/offline-root.pin"}, "output_dir": "out/cross",
 "steps": [{"kind": "root-key", "label": "example-root-2027", "key_type": "rsa", "key_bits": 3072},
           {"kind": "root-cert", "key": "example-root-2027", "output": "root-2027.pem", "validity": "7305d",
            "path_length": 1, "subject": {"common_name": "Example Root CA 2027", "organization": "Example Org"}},
           {"kind": "cross-sign", "cert": "root-2027.pem", "issuer_cert": "out/root/root.pem",
            "issuer_key": "example-root-2026", "output": "root-2027-by-2026.pem", "validity": "1826d",
            "path_length": 0}]}
EOF
"$H" ceremony run cross.json --operator Alice >"$W/cross.out" 2>&1 || { show "$W/cross.out"; die "cross-sign ceremony"; }
openssl verify -x509_strict -CAfile "$ROOT" out/cross/root-2027-by-2026.pem >"$W/v.out" 2>&1 ||
    { show "$W/v.out"; die "openssl verify old root -> cross-signed new root"; }
for f in root-2027.pem root-2027-by-2026.pem; do
    openssl x509 -in "out/cross/$f" -noout -subject -pubkey >"$W/$f.id"
done
cmp -s "$W/root-2027.pem.id" "$W/root-2027-by-2026.pem.id" || die "the cross-certificate's subject or key differs from the new root's"
pass "cross-sign: the new root's subject and key certified by the old root, openssl verifies it"

# ---- one token, one ceremony: Ed25519 root, RSA intermediate generated and
# signed in the same run, a CRL of the intermediate revoking a serial.
cat >dev.json <<EOF
{"version": 1, "name": "dev-pki", "module": "$M", "token": {"label": "offline-root"},
 "pin": {"file": "pins/offline-root.pin"}, "output_dir": "out/dev",
 "steps": [
  {"kind": "root-key", "label": "dev-root", "key_type": "ed25519"},
  {"kind": "root-cert", "key": "dev-root", "output": "root.pem", "validity": "3650d", "path_length": 1,
   "subject": {"common_name": "Dev Root"}},
  {"kind": "intermediate", "mode": "generate", "label": "dev-int", "key_type": "rsa", "key_bits": 2048,
   "subject": {"common_name": "Dev Intermediate"}, "csr_output": "int.csr"},
  {"kind": "intermediate", "mode": "sign", "csr": "int.csr", "issuer_cert": "root.pem", "issuer_key": "dev-root",
   "output": "int.pem", "validity": "365d"},
  {"kind": "crl", "issuer_cert": "int.pem", "issuer_key": "dev-int", "output": "int.crl", "number": 1,
   "next_update_in": "7d", "revoked": [{"serial": "01:02:03", "reason": "superseded"}]}]}
EOF
"$H" ceremony run dev.json --operator Dev >"$W/dev.out" 2>&1 || { show "$W/dev.out"; die "one-token ceremony"; }
openssl verify -x509_strict -CAfile out/dev/root.pem out/dev/int.pem >"$W/v.out" 2>&1 || { show "$W/v.out"; die "Ed25519 root -> RSA intermediate"; }
cat out/dev/int.pem out/dev/root.pem >"$W/dev-chain.pem"
openssl crl -in out/dev/int.crl -CAfile "$W/dev-chain.pem" -noout -verify -text >"$W/crl.out" 2>&1 || { show "$W/crl.out"; die "intermediate CRL"; }
expect_grep "$W/crl.out" "Serial Number: 010203" "the CRL lists the revoked serial"
expect_grep "$W/crl.out" "Superseded" "the CRL gives the reason"
# The same output_dir twice: refused in the plan, nothing touched.
sed 's/"dev-root"/"dev-root-2"/g; s/"dev-int"/"dev-int-2"/g; s/"root.pem"/"root2.pem"/g; s/"int.csr"/"int2.csr"/g; s/"int.pem"/"int2.pem"/g; s/"int.crl"/"int2.crl"/g' dev.json >dev-again.json
refused devagain dev-again.json "transcript.jsonl' exists; each ceremony needs its own output_dir" "a second ceremony into the same output_dir"
pass "one-token ceremony: Ed25519 root, RSA intermediate made and signed in one run, intermediate CRL"

# ---- a token that stops signing mid-ceremony (fault module): the run stops,
# says which keys it made, and its transcript ends "aborted", unsigned.
if [ -n "${HSMCA_FAULT_MODULE:-}" ]; then
    printf 'module = %s\nfail = C_Sign every=1 rv=CKR_FUNCTION_FAILED\n' "$M" >"$W/fault.conf"
    cat >aborted.json <<EOF
{"version": 1, "name": "aborted", "module": "$HSMCA_FAULT_MODULE", "token": {"label": "offline-root"},
 "pin": {"file": "pins/offline-root.pin"}, "output_dir": "out/aborted",
 "steps": [{"kind": "root-key", "label": "doomed-root", "key_type": "ec", "key_bits": 256},
           {"kind": "root-cert", "key": "doomed-root", "output": "doomed.pem", "validity": "365d",
            "subject": {"common_name": "Doomed Root"}}]}
EOF
    expect_fail "$W/aborted.out" env HSMCA_FAULT_CONFIG="$W/fault.conf" "$H" ceremony run aborted.json --operator Alice
    expect_grep "$W/aborted.out" "steps\[1\] \(root-cert\).*CKR_FUNCTION_FAILED.*keys it generated remain on the token \('doomed-root'\)" \
        "an aborted run names the step and the keys it made"
    [ ! -e out/aborted/doomed.pem ] || die "an aborted run wrote the certificate"
    expect_fail "$W/aborted-v.out" "$H" ceremony verify out/aborted/transcript.jsonl
    expect_grep "$W/aborted-v.out" "line 3: the ceremony was aborted: steps\[1\]" "verify reports the aborted run"
    pass "a token failure mid-run: nothing signed, the transcript ends aborted and verify says so"
fi

# ---- transcripts
for t in out/root out/int-cert out/crl-2 out/cross out/dev; do
    A ceremony verify "$t/transcript.jsonl" >"$W/tv.out" 2>&1 || { show "$W/tv.out"; die "verify $t with token A"; }
    expect_grep "$W/tv.out" "^ok: .*non-extractable on token 'offline-root'" "verify $t"
done
B ceremony verify out/int-key/transcript.jsonl >"$W/tv.out" 2>&1 || { show "$W/tv.out"; die "verify int-key with token B"; }
"$H" ceremony verify out/root/transcript.jsonl >"$W/tv.out" 2>&1 || { show "$W/tv.out"; die "verify without a token"; }
expect_grep "$W/tv.out" "keys not checked" "verify without a token says so"
# --signer: the transcript's signing key must be that certificate's.
"$H" ceremony verify out/int-cert/transcript.jsonl --signer "$ROOT" >"$W/tv.out" 2>&1 ||
    { show "$W/tv.out"; die "verify --signer root (the root signed the intermediate's ceremony)"; }
expect_fail "$W/tv.out" "$H" ceremony verify out/int-key/transcript.jsonl --signer "$ROOT"
expect_grep "$W/tv.out" "signed by 'example-issuing-2026', whose key is not the key of --signer" "verify --signer names the signer"
T=out/root/transcript.jsonl
expect_grep "$T" '"operators":\["Alice Root","Bob"\]' "transcript operators"
expect_grep "$T" '"CKA_NEVER_EXTRACTABLE":true' "transcript key attributes"
expect_grep "$T" '"lint":\{"gate":"hsmca_lint_certificate","result":"pass"' "transcript lint results"
expect_grep "$T" "\"ceremony_sha256\":\"$(openssl dgst -sha256 -r root.json | cut -c1-64)\"" "transcript ceremony file hash"
expect_grep "$T" "\"sha256\":\"$(openssl dgst -sha256 -r "$ROOT" | cut -c1-64)\"" "transcript artefact hash"
pass "transcripts verify (with and without the token) and record operators, attributes, lint, hashes"

# Tampering, one thing at a time; each is named.
cp "$ROOT" "$W/root.keep"
sed '2s/^MII/MIJ/' "$W/root.keep" >"$ROOT"
cmp -s "$ROOT" "$W/root.keep" && die "tamper: root.pem unchanged"
expect_fail "$W/t1.out" A ceremony verify "$T"
expect_grep "$W/t1.out" "artefact 'root.pem' changed" "one byte of an artefact"
cp "$W/root.keep" "$ROOT"

cp "$T" "$W/t.keep"
sed '1s/"Bob"/"Eve"/' "$W/t.keep" >"$T"
expect_fail "$W/t2.out" A ceremony verify "$T"
expect_grep "$W/t2.out" "line 2: chain broken.*line 1 was changed" "one transcript line"
sed '$d' "$W/t.keep" >"$T"
expect_fail "$W/t3.out" A ceremony verify "$T"
expect_grep "$W/t3.out" "no signature line" "signature line removed"
cp "$W/t.keep" "$T"
A ceremony verify "$T" >/dev/null 2>&1 || die "restored transcript no longer verifies"

# A swapped key: the intermediate's key replaced by a new one of the same label.
B key delete example-issuing-2026 >/dev/null
B key generate ec 256 example-issuing-2026 >/dev/null
expect_fail "$W/t4.out" B ceremony verify out/int-key/transcript.jsonl
expect_grep "$W/t4.out" "key 'example-issuing-2026' \(key_id [0-9a-f-]+\) is no longer on the token" "swapped key"
pass "tampering named: artefact byte, transcript line, removed signature, swapped key"

# ---- the daemon's issuer import takes a transcript and checks it
. "$HERE/../lib/daemon.sh"
need_tool curl jq
daemon_start_dev "$W/dev"
trap '[ -z "${DAEMON_PID:-}" ] || kill "$DAEMON_PID" 2>/dev/null || true' EXIT
# import CERT TRANSCRIPT: issuers/import/bundle with the transcript's text.
import() {
    jq -n --rawfile p "$1" --rawfile t "$2" '{pem_bundle: $p, transcript: $t}' >"$W/import.json"
    api POST pki/issuers/import/bundle "$(cat "$W/import.json")"
}
issuers() {
    api GET "pki/issuers?list=true"
    jget '.data.keys // [] | length'
}
# refused_import CERT TRANSCRIPT ERE WHAT: 400 naming the problem, no issuer added.
refused_import() {
    _n=$(issuers)
    import "$1" "$2"
    [ "$STATUS" = 400 ] || { show "$RESP"; die "$4: status $STATUS, expected 400"; }
    jget '.errors[0] // ""' >"$W/import.msg"
    expect_grep "$W/import.msg" "$3" "$4"
    [ "$(issuers)" = "$_n" ] || die "$4: an issuer was imported anyway"
    pass "import refused, nothing imported: $4"
}
refused_import "$INT" out/root/transcript.jsonl "not one that ceremony 'example-root-2026' made" \
    "a transcript that does not record the certificate"
refused_import out/cross/root-2027-by-2026.pem out/cross/transcript.jsonl \
    "not signed by the key that signed ceremony 'root-2027-cross'" "a certificate not signed by the transcript's signer"
sed '1s/"Bob"/"Eve"/' out/root/transcript.jsonl >"$W/tampered.jsonl"
refused_import "$ROOT" "$W/tampered.jsonl" "line 2: chain broken" "a tampered transcript"
import "$ROOT" out/root/transcript.jsonl
[ "$STATUS" = 200 ] || { show "$RESP"; die "import of the root with its transcript: status $STATUS"; }
[ "$(jget '.data.imported_issuers | length')" = 1 ] || { show "$RESP"; die "the root was not imported"; }
import "$INT" out/int-cert/transcript.jsonl
[ "$STATUS" = 200 ] || { show "$RESP"; die "import of the intermediate with its transcript: status $STATUS"; }
[ "$(jget '.data.imported_issuers | length')" = 1 ] || { show "$RESP"; die "the intermediate was not imported"; }
daemon_stop
pass "hsmcad imports ceremony-made issuers only with a transcript that verifies and records them"

# ---- the issue's scenario end to end: the online intermediate's key made by
# a ceremony in the daemon's own token, signed by the offline root, imported
# with its transcript (the key is adopted) and issuing leaves through the API.
DEVCONF=$W/dev/softhsm2.conf
cat >online-key.json <<EOF
{"version": 1, "name": "online-issuing-key", "module": "$M", "token": {"label": "hsmca-dev"},
 "pin": {"file": "$W/dev/pin"}, "output_dir": "out/online-key",
 "steps": [{"kind": "intermediate", "mode": "generate", "label": "online-issuing-2026", "key_type": "ec",
            "key_bits": 256, "subject": {"common_name": "Example Online Issuing CA", "organization": "Example Org"},
            "csr_output": "online.csr"}]}
EOF
cat >online-sign.json <<EOF
{"version": 1, "name": "online-issuing-sign", "module": "$M", "token": {"label": "offline-root"},
 "pin": {"file": "pins/offline-root.pin"}, "output_dir": "out/online-sign",
 "steps": [{"kind": "intermediate", "mode": "sign", "csr": "out/online-key/online.csr",
            "issuer_cert": "out/root/root.pem", "issuer_key": "example-root-2026", "output": "online.pem",
            "validity": "365d", "path_length": 0}]}
EOF
SOFTHSM2_CONF=$DEVCONF "$H" ceremony run online-key.json --operator Alice >"$W/online1.out" 2>&1 ||
    { show "$W/online1.out"; die "intermediate key ceremony on the daemon's token"; }
"$H" ceremony run online-sign.json --operator Alice >"$W/online2.out" 2>&1 ||
    { show "$W/online2.out"; die "the root signs the online intermediate"; }
# A leaf-type certificate (an OCSP signer) whose key is also in the daemon's
# token: its transcript verifies, but a non-CA import is refused, and the
# refusal must not adopt its key either.
cat >dev-ocsp.json <<EOF
{"version": 1, "name": "dev-token-ocsp", "module": "$M", "token": {"label": "hsmca-dev"},
 "pin": {"file": "$W/dev/pin"}, "output_dir": "out/dev-ocsp",
 "steps": [{"kind": "root-key", "label": "dev-token-root", "key_type": "ec", "key_bits": 256},
           {"kind": "root-cert", "key": "dev-token-root", "output": "root.pem", "validity": "365d",
            "subject": {"common_name": "Dev Token Root"}},
           {"kind": "ocsp-signer", "label": "dev-token-ocsp", "key_type": "ec", "key_bits": 256,
            "issuer_cert": "root.pem", "issuer_key": "dev-token-root", "output": "ocsp.pem", "validity": "30d",
            "subject": {"common_name": "Dev Token OCSP"}}]}
EOF
SOFTHSM2_CONF=$DEVCONF "$H" ceremony run dev-ocsp.json --operator Alice >"$W/devocsp.out" 2>&1 ||
    { show "$W/devocsp.out"; die "OCSP signer ceremony on the daemon's token"; }
daemon_start_dev "$W/dev"
trap '[ -z "${DAEMON_PID:-}" ] || kill "$DAEMON_PID" 2>/dev/null || true' EXIT
mount_keys() {
    api GET "pki/keys?list=true"
    jget '.data.keys // [] | length'
}
nkeys=$(mount_keys)
import out/dev-ocsp/ocsp.pem out/dev-ocsp/transcript.jsonl
[ "$STATUS" = 400 ] || { show "$RESP"; die "import of a non-CA certificate with its transcript: status $STATUS"; }
[ "$(mount_keys)" = "$nkeys" ] || die "a refused import adopted a token key"
pass "a refused import (not a CA) adopts no key"
import out/online-sign/online.pem out/online-sign/transcript.jsonl
[ "$STATUS" = 200 ] || { show "$RESP"; die "import of the online intermediate: status $STATUS"; }
ONLINE=$(jget '.data.imported_issuers[0]')
key=$(jget ".data.mapping[\"$ONLINE\"]")
[ -n "$key" ] && [ "$key" != null ] || { show "$RESP"; die "the ceremony-made key was not adopted for the imported issuer"; }
api POST pki/roles/web "{\"allowed_domains\":\"example.org\",\"allow_subdomains\":true,\"issuer_ref\":\"$ONLINE\",\"key_type\":\"ec\"}"
[ "$STATUS" = 200 ] || [ "$STATUS" = 204 ] || { show "$RESP"; die "role: status $STATUS"; }
api POST pki/issue/web '{"common_name":"www.example.org","ttl":"24h"}'
[ "$STATUS" = 200 ] || { show "$RESP"; die "issue through the API: status $STATUS"; }
jget .data.certificate >"$W/api-leaf.pem"
openssl verify -x509_strict -CAfile "$ROOT" -untrusted out/online-sign/online.pem "$W/api-leaf.pem" >"$W/v.out" 2>&1 ||
    { show "$W/v.out"; die "openssl verify root -> ceremony intermediate -> API leaf"; }
daemon_stop
SOFTHSM2_CONF=$DEVCONF "$H" --module "$M" --token hsmca-dev --pin-file "$W/dev/pin" \
    ceremony verify out/online-key/transcript.jsonl >"$W/tv.out" 2>&1 ||
    { show "$W/tv.out"; die "the online key's transcript after adoption (label and key unchanged)"; }
pass "ceremony-made online intermediate: imported with its transcript, key adopted, API leaf verifies to the offline root"

echo "all ceremony checks passed"
