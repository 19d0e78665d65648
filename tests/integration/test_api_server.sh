#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The HTTP server through the real hsmcad: OpenBao's wire format (envelope,
# errors, LIST and ?list=true, 404/405, security headers), request limits
# and path rules, development mode over plain HTTP and over TLS (TLS 1.2+
# only, client certificates requested), and the configuration-file mode with
# the listener key inside the token and short limits (slowloris cut).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD HSMCA_CLI
need_tool curl jq openssl softhsm2-util

W=$(workdir api_server)

# ---- development mode, plain HTTP ----
daemon_start_dev "$W/dev"
case $ADDR in http://127.0.0.1:*) ;; *) die "dev address '$ADDR' is not plain HTTP on 127.0.0.1" ;; esac
grep -q "^Root Token: $ROOT_TOKEN\$" "$DAEMON_LOG" || die "dev mode did not print the chosen root token"
for f in softhsm2.conf pin so-pin hsmca.db audit.log; do
    [ -e "$DAEMON_DIR/$f" ] || die "dev state directory lacks $f"
done
[ "$(stat -c %a "$DAEMON_DIR/pin")" = 600 ] || die "dev PIN file is not 0600"
pass "hsmcad -dev: token, database, audit log and PIN files in the state directory"

# sys/health: unauthenticated, bare object
TOKEN= api GET sys/health
[ "$STATUS" = 200 ] && [ "$(jget .initialized)" = true ] && [ "$(jget .sealed)" = false ] ||
    { show "$RESP"; die "sys/health"; }

# the envelope
api_ok POST pki/roles/web '{"allowed_domains":"example.com","allow_subdomains":true,"bogus_field":1}'
for k in request_id lease_id renewable lease_duration data wrap_info warnings auth; do
    jq -e "has(\"$k\")" "$RESP" >/dev/null || { show "$RESP"; die "envelope lacks '$k'"; }
done
jget '.warnings[]' | grep -q "ignored these unrecognized parameters.*bogus_field" ||
    { show "$RESP"; die "unknown field not named in a warning"; }
pass "envelope fields; unknown fields ignored with OpenBao's warning naming them"

# LIST verb, ?list=true, trailing slash
api_ok LIST pki/roles
[ "$(jget '.data.keys[0]')" = web ] || { show "$RESP"; die "LIST roles"; }
api_ok GET "pki/roles?list=true"
[ "$(jget '.data.keys[0]')" = web ] || { show "$RESP"; die "GET ?list=true"; }
api_ok LIST pki/roles/
pass "LIST, ?list=true and a trailing slash list the same"

# errors
api GET pki/nonexistent/path
[ "$STATUS" = 404 ] && jq -e '.errors | length == 1' "$RESP" >/dev/null || { show "$RESP"; die "unknown route: $STATUS"; }
api GET nomount/roles
[ "$STATUS" = 404 ] || die "unknown mount: $STATUS"
api PATCH pki/roles
[ "$STATUS" = 405 ] || { show "$RESP"; die "unsupported method on a known path: $STATUS, expected 405"; }
TOKEN= api GET pki/roles/web
[ "$STATUS" = 403 ] && [ "$(jget '.errors[0]')" = "permission denied" ] || die "no token: $STATUS"
TOKEN=not-a-token api GET pki/roles/web
[ "$STATUS" = 403 ] || die "bad token: $STATUS"
printf 'Authorization: Bearer %s\n' "$ROOT_TOKEN" >"$W/bearer.hdr"
STATUS=$(curl -s -o "$RESP" -w '%{http_code}' -H "@$W/bearer.hdr" "$ADDR/v1/pki/roles/web")
[ "$STATUS" = 200 ] || { show "$RESP"; die "Authorization: Bearer not accepted ($STATUS)"; }
pass "404 unknown route/mount, 405 wrong method, 403 without or with a bad token, Bearer accepted"

# security headers on every response (a 404 too)
curl -s -D "$W/h1" -o /dev/null "$ADDR/v1/sys/health"
curl -s -D "$W/h2" -o /dev/null "$ADDR/v1/pki/does/not/exist"
for h in "$W/h1" "$W/h2"; do
    for want in "Cache-Control: no-store" "X-Content-Type-Options: nosniff" "X-Frame-Options: DENY" \
        "Content-Security-Policy: default-src 'none'" "Referrer-Policy: no-referrer"; do
        grep -qi "^$want" "$h" || { show "$h"; die "missing header '$want'"; }
    done
done
pass "security headers on success and error responses"

# limits and path rules: each a 4xx with an errors message, server healthy after
big=$W/big.json
head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"x":"/; s/$/"}/' >"$big"
STATUS=$(curl -s -o "$RESP" -w '%{http_code}' -H "X-Vault-Token: $ROOT_TOKEN" -X POST --data-binary "@$big" \
    "$ADDR/v1/pki/roles/big")
[ "$STATUS" = 413 ] && jq -e '.errors[0]' "$RESP" >/dev/null || { show "$RESP"; die "oversized body: $STATUS"; }
long=$(head -c 5000 /dev/zero | tr '\0' 'a')
STATUS=$(curl -s -o "$RESP" -w '%{http_code}' "$ADDR/v1/pki/roles/$long")
[ "$STATUS" = 414 ] || { show "$RESP"; die "overlong URL: $STATUS"; }
hdr=$(head -c 20000 /dev/zero | tr '\0' 'h')
STATUS=$(curl -s -o "$RESP" -w '%{http_code}' -H "X-Big: $hdr" "$ADDR/v1/sys/health")
[ "$STATUS" = 431 ] || { show "$RESP"; die "oversized headers: $STATUS"; }
for bad in "pki/roles/%00x" "pki/roles/%zz" "pki/../sys/health" "pki//roles" "pki/./roles"; do
    STATUS=$(curl -s --path-as-is -o "$RESP" -w '%{http_code}' -H "X-Vault-Token: $ROOT_TOKEN" "$ADDR/v1/$bad")
    [ "$STATUS" = 400 ] && jq -e '.errors[0]' "$RESP" >/dev/null || { show "$RESP"; die "path '$bad': $STATUS"; }
done
api POST pki/roles/dup '{"allowed_domains":"a.com","allowed_domains":"b.com"}'
[ "$STATUS" = 400 ] && jget '.errors[0]' | grep -qi duplicate || { show "$RESP"; die "duplicate JSON keys: $STATUS"; }
printf '{"allowed_domains":"\377"}' >"$W/badutf8.json"
STATUS=$(curl -s -o "$RESP" -w '%{http_code}' -H "X-Vault-Token: $ROOT_TOKEN" -X POST --data-binary "@$W/badutf8.json" \
    "$ADDR/v1/pki/roles/utf")
[ "$STATUS" = 400 ] || { show "$RESP"; die "invalid UTF-8: $STATUS"; }
api POST pki/roles/nul '{"allowed_domains":"a\u0000b"}'
[ "$STATUS" = 400 ] || { show "$RESP"; die "NUL in a JSON string: $STATUS"; }
api GET pki/roles/dup
[ "$STATUS" = 404 ] || die "a refused role was stored"
TOKEN= api GET sys/health
[ "$STATUS" = 200 ] || die "server unhealthy after the limits"
pass "413 body, 414 URL, 431 headers, 400 for %00/%zz/../'//'/'.', duplicate keys, bad UTF-8 and NUL; nothing stored"

# audit: the role write is in the log, the denial too, never the token
grep -q '"path":"pki/roles/web"' "$DAEMON_DIR/audit.log" || die "role write not audited"
grep -q '"outcome":"denied"' "$DAEMON_DIR/audit.log" || die "denial not audited"
if grep -q "$ROOT_TOKEN" "$DAEMON_DIR/audit.log"; then die "the root token is in the audit log"; fi
pass "audit log: writes and denials recorded, token never"

daemon_stop
pass "SIGTERM: clean exit"

# the same state directory again: everything reused
ROOT_TOKEN=ignored-now daemon_start_dev "$W/dev"
TOKEN=test-root-$$ api_ok GET pki/roles/web
daemon_stop
pass "restart on the same state directory keeps token, database and root token"

# ---- development mode over TLS ----
ROOT_TOKEN=tlsroot daemon_start_dev "$W/devtls" -dev-tls
case $ADDR in https://127.0.0.1:*) ;; *) die "-dev-tls address '$ADDR' is not https" ;; esac
api_ok GET sys/mounts
openssl verify -CAfile "$DAEMON_DIR/tls-ca.pem" "$DAEMON_DIR/tls.pem" >/dev/null || die "listener cert does not verify"
hp=${ADDR#https://}
echo | openssl s_client -connect "$hp" -tls1_2 -CAfile "$DAEMON_DIR/tls-ca.pem" >"$W/tls12" 2>&1 ||
    { show "$W/tls12"; die "TLS 1.2 handshake failed"; }
grep -q "Verify return code: 0" "$W/tls12" || { show "$W/tls12"; die "TLS 1.2: certificate not verified"; }
grep -q "Acceptable client certificate CA names" "$W/tls12" || { show "$W/tls12"; die "no client certificate request"; }
# gnutls-cli can offer exactly one protocol version or cipher: the server
# must take TLS 1.3 and 1.2 with AEAD, and refuse TLS 1.1 and CBC ciphers.
gtls() { # PRIORITY: handshake only
    gnutls-cli --x509cafile "$DAEMON_DIR/tls-ca.pem" --priority "$1" --port "${hp##*:}" 127.0.0.1 \
        </dev/null >"$W/gnutls" 2>&1
}
gtls "NORMAL:-VERS-ALL:+VERS-TLS1.3" || { show "$W/gnutls"; die "TLS 1.3 refused"; }
gtls "NORMAL:-VERS-ALL:+VERS-TLS1.2" || { show "$W/gnutls"; die "TLS 1.2 refused"; }
gtls "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0" && { show "$W/gnutls"; die "TLS 1.1/1.0 accepted"; }
gtls "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1:+SHA256" &&
    { show "$W/gnutls"; die "a CBC cipher was accepted"; }
gtls "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA" && { show "$W/gnutls"; die "a key exchange without forward secrecy was accepted"; }
daemon_stop
pass "-dev-tls: HTTPS verified by openssl and gnutls-cli; TLS 1.3/1.2 AEAD only (1.1, CBC, RSA kx refused); client certs requested"

# ---- configuration file: TLS key in the token, short limits ----
token_create "$W/cfgtoken" hsmcad-cfg
"$HSMCA_CLI" --module "$HSMCA_TEST_MODULE" --token "$HSMCA_TEST_TOKEN" --pin-file "$HSMCA_TEST_PIN_FILE" \
    key generate ec 256 tls-listener >"$W/keygen" 2>&1 || { show "$W/keygen"; die "hsmca key generate"; }
"$HSMCA_CLI" --module "$HSMCA_TEST_MODULE" --token "$HSMCA_TEST_TOKEN" --pin-file "$HSMCA_TEST_PIN_FILE" \
    key pubkey tls-listener >"$W/tls-pub.pem" 2>"$W/pubkey.err" || { show "$W/pubkey.err"; die "hsmca key pubkey"; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" -out "$W/ca.pem" \
    -subj "/CN=test listener CA" -days 2 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$W/ext.cnf"
openssl x509 -new -force_pubkey "$W/tls-pub.pem" -subj "/CN=127.0.0.1" -CA "$W/ca.pem" -CAkey "$W/ca.key" \
    -days 2 -extfile "$W/ext.cnf" -out "$W/listener.pem" 2>"$W/x509.err" ||
    { show "$W/x509.err"; die "cannot make the listener certificate"; }
port=$((20000 + $$ % 20000))
cat >"$W/hsmcad.json" <<JSON
{
  "listen": ["127.0.0.1:$port"],
  "tls": {"cert_file": "$W/listener.pem", "key": "pkcs11:object=tls-listener;type=private"},
  "pkcs11": {"module": "$HSMCA_TEST_MODULE", "token_label": "$HSMCA_TEST_TOKEN", "pin_file": "$HSMCA_TEST_PIN_FILE"},
  "storage": {"path": "$W/cfg.db"},
  "audit": {"path": "$W/cfg-audit.log"},
  "limits": {"request_timeout": 3, "idle_timeout": 10, "max_per_client": 8},
  "mounts": ["pki"]
}
JSON
"$HSMCAD" -config "$W/hsmcad.json" >"$W/cfg.out" 2>&1 &
pid=$!
i=0
until curl -s --cacert "$W/ca.pem" -o /dev/null "https://127.0.0.1:$port/v1/sys/health"; do
    i=$((i + 1))
    [ $i -lt 100 ] || { show "$W/cfg.out"; die "configured hsmcad did not come up over TLS"; }
    kill -0 $pid 2>/dev/null || { show "$W/cfg.out"; die "configured hsmcad exited"; }
    sleep 0.1
done
[ -f "$W/cfg.db.root-token" ] || { show "$W/cfg.out"; die "first start did not write the root token file"; }
[ "$(stat -c %a "$W/cfg.db.root-token")" = 600 ] || die "root token file is not 0600"
rt=$(cat "$W/cfg.db.root-token")
if grep -q "$rt" "$W/cfg.out"; then die "the root token was logged"; fi
STATUS=$(curl -s --cacert "$W/ca.pem" -o "$RESP" -w '%{http_code}' -H "X-Vault-Token: $rt" \
    "https://127.0.0.1:$port/v1/sys/mounts")
[ "$STATUS" = 200 ] || { show "$RESP"; die "configured hsmcad: sys/mounts $STATUS"; }
pass "configuration mode: TLS with the listener key in the token (verified by curl), root token file 0600"

# per-client connection limit (8 here): a ninth connection from the same
# address is refused while eight are open, and served once they close
holders=""
i=0
while [ $i -lt 8 ]; do
    sleep 30 2>/dev/null </dev/null | openssl s_client -quiet -connect "127.0.0.1:$port" >/dev/null 2>&1 &
    holders="$holders $!"
    i=$((i + 1))
done
sleep 2
if curl -s --max-time 5 --cacert "$W/ca.pem" -o /dev/null "https://127.0.0.1:$port/v1/sys/health"; then
    die "a ninth connection from one client was served (max_per_client is 8)"
fi
# shellcheck disable=SC2086
kill $holders 2>/dev/null || true
pkill -f "openssl s_client -quiet -connect 127.0.0.1:$port" 2>/dev/null || true
sleep 1
curl -sf --cacert "$W/ca.pem" -o /dev/null "https://127.0.0.1:$port/v1/sys/health" ||
    die "not served again after the held connections closed"
pass "per-client connection limit: the ninth connection refused, served again afterwards"

# slowloris: a request whose headers trickle in (one line a second, never
# finished) is cut after request_timeout (3 s), not held for the 20 s it asks
start=$(date +%s)
(
    printf 'GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n'
    i=0
    while [ $i -lt 20 ]; do
        printf 'X-a: b\r\n'
        sleep 1
        i=$((i + 1))
    done
) 2>/dev/null | timeout 30 openssl s_client -quiet -connect "127.0.0.1:$port" >/dev/null 2>&1 || true
elapsed=$(($(date +%s) - start))
[ "$elapsed" -lt 12 ] || die "slowloris connection held for ${elapsed} s (request_timeout is 3 s)"
echo "cut after ${elapsed} s" >"$W/slow"
curl -sf --cacert "$W/ca.pem" -o /dev/null "https://127.0.0.1:$port/v1/sys/health" || die "unhealthy after slowloris"
pass "slowloris: $(cat "$W/slow"), server healthy"

kill -TERM $pid
wait $pid || { show "$W/cfg.out"; die "configured hsmcad did not exit cleanly"; }
pass "configured hsmcad: clean exit"

# hsmca init: the root token of a new database, once; the daemon then makes none
expect_fail "$W/init0" "$HSMCA_CLI" init --db "$W/cfg.db"
grep -q "never made twice" "$W/init0" || { show "$W/init0"; die "init on an initialised database"; }
"$HSMCA_CLI" init --db "$W/new.db" >"$W/init1" 2>&1 || { show "$W/init1"; die "hsmca init"; }
it=$(sed -n 's/^Root Token: //p' "$W/init1")
[ -n "$it" ] || { show "$W/init1"; die "hsmca init printed no root token"; }
expect_fail "$W/init2" "$HSMCA_CLI" init --db "$W/new.db"
sed "s|$W/cfg.db|$W/new.db|; s|$W/cfg-audit.log|$W/new-audit.log|" "$W/hsmcad.json" >"$W/new.json"
"$HSMCAD" -config "$W/new.json" >"$W/new.out" 2>&1 &
pid=$!
i=0
until curl -s --cacert "$W/ca.pem" -o /dev/null "https://127.0.0.1:$port/v1/sys/health"; do
    i=$((i + 1))
    [ $i -lt 100 ] && kill -0 $pid 2>/dev/null || { show "$W/new.out"; die "hsmcad on the init'ed database"; }
    sleep 0.1
done
[ ! -e "$W/new.db.root-token" ] || die "the daemon made a second root token after hsmca init"
STATUS=$(curl -s --cacert "$W/ca.pem" -o "$RESP" -w '%{http_code}' -H "X-Vault-Token: $it" \
    "https://127.0.0.1:$port/v1/sys/mounts")
[ "$STATUS" = 200 ] || { show "$RESP"; die "the token from hsmca init is refused ($STATUS)"; }
kill -TERM $pid
wait $pid || die "hsmcad did not exit cleanly"
pass "hsmca init: root token printed once, second init refused, the daemon makes none and accepts it"
