#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Real npm Vault clients (node-vault, hashi-vault-js) against the real
# hsmcad: each enables its own PKI mount, generates an internal root, makes a
# role, issues a certificate, signs a CSR made by `openssl req`, reads and
# lists certificates and reads the CA chain (tests/clients/drive_clients.mjs).
# Everything the clients were handed is then judged here by openssl against
# the root fetched independently with curl from /v1/<mount>/ca/pem.
#
# The clients are installed with `npm ci` from the committed lockfile into
# the build tree ($HSMCA_TEST_WORKDIR), never into the source tree; the npm
# registry is the only thing reached outside this machine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
clients=$here/../clients
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD
need_tool curl jq openssl sqlite3
for t in node npm; do
    command -v "$t" >/dev/null 2>&1 ||
        die "$t is not installed: the API client tests need Node.js >= 18 and npm (run scripts/install-deps.sh)"
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || die "Node.js $(node --version) is too old: the npm clients need >= 18"

W=$(workdir api_clients)

# ---- the clients, from the lockfile, in the build tree ----
mkdir -p "$W/npm"
cp "$clients/package.json" "$clients/package-lock.json" "$clients/drive_clients.mjs" "$W/npm/"
(cd "$W/npm" && npm ci --no-audit --no-fund --loglevel=error) >"$W/npm.log" 2>&1 ||
    { show "$W/npm.log"; die "npm ci failed in $W/npm (the npm registry must be reachable)"; }
for p in node-vault hashi-vault-js; do
    want=$(jq -r ".dependencies[\"$p\"]" "$clients/package.json")
    got=$(jq -r .version "$W/npm/node_modules/$p/package.json")
    [ "$want" = "$got" ] || die "$p: lockfile installed $got, package.json pins $want"
done
[ ! -e "$clients/node_modules" ] || die "node_modules appeared in the source tree ($clients)"
pass "npm ci: node-vault $(jq -r .version "$W/npm/node_modules/node-vault/package.json"), hashi-vault-js $(jq -r .version "$W/npm/node_modules/hashi-vault-js/package.json") from the lockfile in the build tree"

# ---- CSRs made by openssl, one per client (EC for node-vault, RSA for hashi-vault-js) ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/nv-csr.key" \
    -subj "/CN=nv-sign.example.com" -out "$W/nv.csr" 2>"$W/req.err" || { show "$W/req.err"; die "openssl req (EC)"; }
openssl req -new -newkey rsa:2048 -nodes -keyout "$W/hvj-csr.key" \
    -subj "/CN=hvj-sign.example.com" -out "$W/hvj.csr" 2>"$W/req.err" || { show "$W/req.err"; die "openssl req (RSA)"; }

daemon_start_dev "$W/dev"

# ---- the clients' run ----
OUT=$W/out
rm -rf "$OUT"
mkdir -p "$OUT"
if ! VAULT_ADDR=$ADDR VAULT_TOKEN=$ROOT_TOKEN NV_MOUNT=nv-pki HVJ_MOUNT=hvj-pki \
    NV_CSR=$W/nv.csr HVJ_CSR=$W/hvj.csr node "$W/npm/drive_clients.mjs" "$OUT" >"$W/clients.log" 2>&1; then
    show "$W/clients.log"
    show "$DAEMON_LOG"
    die "the npm clients failed against hsmcad"
fi
sed 's/^/    /' "$W/clients.log"
grep -q '^clients: all steps passed$' "$W/clients.log" || die "the client driver did not finish"

# ---- independent judgement of what each client got ----
# pubkey_of KIND FILE: the SubjectPublicKeyInfo in PEM, from a key, cert or CSR
pubkey_of() {
    case $1 in
    key) openssl pkey -in "$2" -pubout ;;
    cert) openssl x509 -in "$2" -noout -pubkey ;;
    csr) openssl req -in "$2" -noout -pubkey ;;
    esac
}
# serial_hex FILE: the certificate's serial as lower-case hex without colons
serial_hex() {
    openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/^0*//'
}
api_serial_hex() {
    tr -d ':\n-' <"$1" | tr 'A-F' 'a-f' | sed 's/^0*//'
}

for pair in node-vault:nv-pki:nv hashi-vault-js:hvj-pki:hvj; do
    client=${pair%%:*}
    rest=${pair#*:}
    mount=${rest%%:*}
    tag=${rest#*:}
    d=$OUT/$client
    # The trust anchor comes from the daemon, not from the client.
    # (It ends without a newline, as OpenBao's does; the files the driver
    # wrote end with one.)
    curl -sf "$ADDR/v1/$mount/ca/pem" -o "$W/$tag-anchor.raw" || die "$mount/ca/pem: curl failed"
    sed '$a\' "$W/$tag-anchor.raw" >"$W/$tag-anchor.pem"
    openssl x509 -in "$W/$tag-anchor.pem" -noout 2>/dev/null || die "$mount/ca/pem is not a certificate"
    cmp -s "$W/$tag-anchor.pem" "$d/root.pem" ||
        die "$client: the root from generate/internal differs from $mount/ca/pem"
    cmp -s "$W/$tag-anchor.pem" "$d/ca.pem" || die "$client: the CA read through the client differs from curl's"
    openssl verify -CAfile "$W/$tag-anchor.pem" "$W/$tag-anchor.pem" >/dev/null 2>&1 ||
        die "$client: the root is not a valid self-signed CA"
    [ "$(serial_hex "$d/root.pem")" = "$(api_serial_hex "$d/root.serial")" ] ||
        die "$client: root serial_number does not match the certificate"

    for f in issue sign read-issue read-sign; do
        openssl verify -CAfile "$W/$tag-anchor.pem" -purpose sslserver "$d/$f.pem" >"$W/verify.out" 2>&1 ||
            { show "$W/verify.out"; die "$client: $f.pem does not verify against $mount/ca/pem"; }
    done
    cmp -s "$d/issue.pem" "$d/read-issue.pem" || die "$client: cert/<serial> of the issued cert differs from what issue returned"
    cmp -s "$d/sign.pem" "$d/read-sign.pem" || die "$client: cert/<serial> of the signed cert differs from what sign returned"
    for f in issue sign; do
        [ "$(serial_hex "$d/$f.pem")" = "$(api_serial_hex "$d/$f.serial")" ] ||
            die "$client: serial_number of $f does not match the certificate"
    done

    # the issued key is the issued certificate's key
    pubkey_of key "$d/issue.key" >"$W/k.pub" 2>/dev/null || die "$client: issued private_key does not parse"
    pubkey_of cert "$d/issue.pem" >"$W/c.pub"
    cmp -s "$W/k.pub" "$W/c.pub" || die "$client: issued private_key does not match the certificate's public key"
    # the signed certificate carries the CSR's key (and not a new one)
    pubkey_of csr "$W/$tag.csr" >"$W/r.pub"
    pubkey_of cert "$d/sign.pem" >"$W/s.pub"
    cmp -s "$W/r.pub" "$W/s.pub" || die "$client: the signed certificate does not carry the CSR's public key"

    # names
    openssl x509 -in "$d/issue.pem" -noout -subject -nameopt RFC2253 | grep -q "CN=$tag-issue.example.com" ||
        die "$client: issued subject CN"
    openssl x509 -in "$d/issue.pem" -noout -ext subjectAltName | grep -q "DNS:alt.$tag-issue.example.com" ||
        die "$client: issued alt_names missing from subjectAltName"
    openssl x509 -in "$d/sign.pem" -noout -subject -nameopt RFC2253 | grep -q "CN=$tag-sign.example.com" ||
        die "$client: signed subject CN"

    # chains: issuing_ca is the root, ca_chain and the ca_chain endpoints hold it
    cmp -s "$d/issue.issuing_ca.pem" "$W/$tag-anchor.pem" || die "$client: issuing_ca is not the mount's CA"
    for c in issue.ca_chain ca_chain cert_ca_chain; do
        openssl x509 -in "$d/$c.pem" -noout -fingerprint -sha256 >"$W/fp1"
        openssl x509 -in "$W/$tag-anchor.pem" -noout -fingerprint -sha256 >"$W/fp2"
        cmp -s "$W/fp1" "$W/fp2" || die "$client: $c does not start with the mount's CA"
        openssl verify -CAfile "$d/$c.pem" "$d/issue.pem" >/dev/null 2>&1 ||
            die "$client: the issued certificate does not verify against $c"
    done

    # the list holds both leaves and nothing unknown to the database
    for f in issue sign; do
        grep -qx "$(cat "$d/$f.serial")" "$d/list.txt" || die "$client: certs list lacks the $f serial"
    done
    n_db=$(sqlite3 -readonly "$DAEMON_DIR/hsmca.db" "select count(*) from certs") || die "cannot read the database"
    [ "$(wc -l <"$d/list.txt")" -le "$n_db" ] || die "$client: certs list is longer than the certs table"
    pass "$client: root, issued and signed certificates verify against $mount/ca/pem; key/cert and CSR/cert keys match; serials, names, chains, list"
done

# Negative control: one mount's certificates must not verify under the other's root.
if openssl verify -CAfile "$W/hvj-anchor.pem" "$OUT/node-vault/issue.pem" >/dev/null 2>&1; then
    die "a node-vault certificate verified under the hashi-vault-js mount's root"
fi
pass "negative control: a certificate does not verify under the other mount's root"

daemon_stop
pass "hsmcad stopped cleanly"
