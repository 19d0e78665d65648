#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bad input against the real hsmcad: every case of bad_input_corpus.txt
# (malformed JSON and UTF-8, duplicate keys, wrong field types on many
# endpoints, NUL, path traversal, unknown references, bad CSRs, PEM and
# serials, wrong methods, size limits, bad tokens, ambiguous framing,
# malformed HTTP) must get the status the corpus says -- a 4xx, never a 5xx
# or a dropped connection unless the case allows it -- with OpenBao's
# {"errors":[...]} body naming the field, and change nothing: the database
# row counts and the token's objects are the same after the corpus, the
# daemon keeps running and answers sys/health. Then one slow client
# (headers dripping in) and one slow body hold connections open while other
# clients must be served promptly, and the daemon must still stop cleanly.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/token.sh"
. "$here/../lib/daemon.sh"

need_env HSMCAD
need_tool curl jq openssl sqlite3 perl pkcs11-tool

# BAD_INPUT_CORPUS: another corpus file (to run a few cases while debugging)
CORPUS=${BAD_INPUT_CORPUS:-$here/bad_input_corpus.txt}
W=$(workdir api_bad_input)
mkdir -p "$W/case"
BODY=$W/case/body
CFG=$W/case/curl.cfg
HDRS=$W/case/headers

daemon_start_dev "$W/dev"
HOSTPORT=${ADDR#http://}

# ---- state the corpus refers to ----
api_ok POST pki/root/generate/internal \
    '{"common_name":"bad-input root","key_type":"ec","key_bits":256,"ttl":"768h","issuer_name":"root1","key_name":"rootkey"}'
api_ok POST pki/roles/web \
    '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","key_bits":256,"ttl":"1h","max_ttl":"2h"}'
api_ok POST pki/issue/web '{"common_name":"setup.example.com"}'
SERIAL=$(jget .data.serial_number)
[ -n "$SERIAL" ] || die "setup: no serial from issue"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/csr.key" \
    -subj "/CN=csr.example.com" -out "$W/good.csr" 2>/dev/null || die "openssl req"
openssl req -in "$W/good.csr" -outform DER -out "$W/good.der"
openssl req -new -newkey rsa:1024 -nodes -keyout "$W/rsa1024.key" -subj "/CN=rsa.example.com" \
    -out "$W/rsa1024.csr" 2>/dev/null || die "openssl req rsa:1024"
openssl req -new -key "$W/csr.key" -subj "/CN=www.not-example.org" -out "$W/outside.csr" 2>/dev/null
openssl req -x509 -key "$W/csr.key" -subj "/CN=not-a-csr.example.com" -days 1 -out "$W/cert.pem" 2>/dev/null
# A CSR whose signature does not verify: one bit of the signature flipped.
n=$(wc -c <"$W/good.der")
cp "$W/good.der" "$W/badsig.der"
b=$(od -An -tu1 -j $((n - 2)) -N1 "$W/good.der" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 1)))" | dd of="$W/badsig.der" bs=1 seek=$((n - 2)) conv=notrunc 2>/dev/null
openssl req -inform DER -in "$W/badsig.der" -out "$W/badsig.csr" 2>/dev/null || die "cannot re-encode the bad CSR"
# (openssl 3.0's `req -verify` exits 0 either way: read what it says.)
openssl req -in "$W/badsig.csr" -noout -verify 2>&1 | grep -q "verify failure" ||
    die "setup: the bad-signature CSR verifies"
openssl req -in "$W/good.csr" -noout -verify 2>&1 | grep -q "verify OK" || die "setup: the good CSR does not verify"

# ---- what must not change ----
DB=$DAEMON_DIR/hsmca.db
db_counts() {
    sqlite3 -readonly "$DB" "select (select count(*) from certs) || ' ' || (select count(*) from intents) \
        || ' ' || (select count(*) from docs) || ' ' || (select count(*) from mounts)"
}
token_objects() {
    SOFTHSM2_CONF=$DAEMON_DIR/softhsm2.conf pkcs11-tool --module "$SOFTHSM_MODULE" --token-label hsmca-dev \
        --login --pin "$(cat "$DAEMON_DIR/pin")" --list-objects 2>/dev/null | grep -c 'Object;' || true
}
BASE_DB=$(db_counts)
BASE_OBJ=$(token_objects)
[ -n "$BASE_DB" ] && [ "$BASE_OBJ" -gt 0 ] || die "setup: cannot read the database or the token ($BASE_DB, $BASE_OBJ)"
echo "baseline: certs/intents/docs/mounts = $BASE_DB; token objects = $BASE_OBJ"

# ---- body generators (gen_NAME for @NAME) ----
# A body generator writes $BODY; it may add curl options to $CFG (curl -K
# syntax) and set NO_TOKEN=1 to send its own token header.
repeat() { # N STRING: STRING N times
    head -c "$1" /dev/zero | tr '\0' "$2"
}
csr_body() { # FILE [common_name]
    jq -n --rawfile csr "$1" --arg cn "${2:-csr.example.com}" '{csr: $csr, common_name: $cn}' >"$BODY"
}
csr_text_body() { # TEXT: a "csr" string made of TEXT
    jq -n --arg csr "$1" '{csr: $csr, common_name: "csr.example.com"}' >"$BODY"
}
gen_deep_array() { repeat 20000 '[' >"$BODY"; }
# An OCSP request body just over the responder's 2048-byte bound.
gen_ocsp_oversized() { repeat 2100 0 >"$BODY"; }
gen_deep_object() {
    i=0
    : >"$BODY"
    while [ $i -lt 40 ]; do
        repeat 100 x | sed 's/x/{"a":/g' >>"$BODY"
        i=$((i + 1))
    done
    printf '1' >>"$BODY"
    repeat 4000 '}' >>"$BODY"
}
gen_csr_good() { csr_body "$W/good.csr"; }
gen_csr_truncated() { head -c 200 "$W/good.csr" >"$W/trunc.csr"; csr_body "$W/trunc.csr"; }
gen_csr_badsig() { csr_body "$W/badsig.csr"; }
gen_csr_cert() { csr_body "$W/cert.pem"; }
gen_csr_privkey() { csr_body "$W/csr.key"; }
gen_csr_garbage() {
    csr_text_body "$(printf -- '-----BEGIN CERTIFICATE REQUEST-----\n!!!!not base64!!!!\n-----END CERTIFICATE REQUEST-----\n')"
}
gen_csr_empty_pem() {
    csr_text_body "$(printf -- '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n')"
}
gen_csr_base64_der() { csr_text_body "$(base64 -w0 "$W/good.der")"; }
gen_csr_trailing_der() {
    { cat "$W/good.der"; printf 'trailing garbage after the DER'; } >"$W/trail.der"
    csr_text_body "$(printf -- '-----BEGIN CERTIFICATE REQUEST-----\n%s\n-----END CERTIFICATE REQUEST-----\n' \
        "$(base64 -w64 "$W/trail.der")")"
}
gen_csr_rsa1024() { csr_body "$W/rsa1024.csr" rsa.example.com; }
gen_csr_outside_role() { csr_body "$W/outside.csr" www.not-example.org; }
gen_pem_cert_truncated() {
    head -c 300 "$W/cert.pem" >"$W/trunc-cert.pem"
    jq -n --rawfile b "$W/trunc-cert.pem" '{pem_bundle: $b}' >"$BODY"
}
gen_pem_cert_garbage() {
    jq -n '{pem_bundle: "-----BEGIN CERTIFICATE-----\nMIIBzzzz\n-----END CERTIFICATE-----\n"}' >"$BODY"
}
gen_long_cn() {
    jq -n --arg cn "$(repeat 10000 a).example.com" '{common_name: $cn}' >"$BODY"
}
gen_big_body() {
    { printf '{"allowed_domains":"'; repeat 1100000 a; printf '"}'; } >"$BODY"
}
gen_big_chunked() {
    { printf '{"allowed_domains":"'; repeat 1500000 a; printf '"}'; } >"$BODY"
    echo 'header = "Transfer-Encoding: chunked"' >>"$CFG"
}
gen_huge_chunked() {
    { printf '{"allowed_domains":"'; repeat 5000000 a; printf '"}'; } >"$BODY"
    echo 'header = "Transfer-Encoding: chunked"' >>"$CFG"
}
gen_big_header() {
    : >"$BODY"
    echo "header = \"X-Big: $(repeat 20000 h)\"" >>"$CFG"
}
gen_huge_header() {
    : >"$BODY"
    echo "header = \"X-Big: $(repeat 100000 h)\"" >>"$CFG"
}
gen_many_headers() {
    : >"$BODY"
    i=0
    while [ $i -lt 3000 ]; do
        echo "header = \"X-H$i: v\""
        i=$((i + 1))
    done >>"$CFG"
}
names_list() { # N FORMAT: a JSON array of N strings; FORMAT takes i/256 and i%256
    i=0
    printf '['
    while [ $i -lt "$1" ]; do
        [ $i -gt 0 ] && printf ','
        # shellcheck disable=SC2059
        printf "\"$2\"" $((i / 256)) $((i % 256))
        i=$((i + 1))
    done
    printf ']'
}
gen_huge_alt_names() {
    { printf '{"common_name":"a.example.com","alt_names":'; names_list 5000 'h%d-%d.example.com'; printf '}'; } >"$BODY"
}
gen_huge_ip_sans() {
    { printf '{"common_name":"a.example.com","ip_sans":'; names_list 2000 '10.0.%d.%d'; printf '}'; } >"$BODY"
}
gen_huge_uri_sans() {
    { printf '{"common_name":"a.example.com","uri_sans":'; names_list 2000 'https://u%d.example.com/%d'; printf '}'; } >"$BODY"
}
gen_huge_allowed_domains() {
    { printf '{"allowed_domains":'; names_list 5000 'd%d-%d.example.com'; printf '}'; } >"$BODY"
}
gen_many_unknown_fields() { # 40,000 unknown fields and no common_name
    i=0
    printf '{' >"$BODY"
    while [ $i -lt 40000 ]; do
        printf '"f%d":1,' $i
        i=$((i + 1))
    done >>"$BODY"
    printf '"ttl":"1h"}' >>"$BODY"
}
gen_long_token() {
    : >"$BODY"
    NO_TOKEN=1
    echo "header = \"X-Vault-Token: $(repeat 10000 t)\"" >>"$CFG"
}
gen_utf8_token() {
    : >"$BODY"
    NO_TOKEN=1
    printf 'header = "X-Vault-Token: \377\376-not-utf8"\n' >>"$CFG"
}
gen_empty_token() {
    printf '{"allowed_domains":"example.com"}' >"$BODY"
    NO_TOKEN=1
    echo 'header = "X-Vault-Token:"' >>"$CFG"
}

# unescape_bytes: \r \n \t \\ and \xHH to bytes (stdin to stdout)
unescape_bytes() {
    perl -pe 's/\\(r|n|t|\\|x([0-9A-Fa-f]{2}))/$1 eq "r" ? "\r" : $1 eq "n" ? "\n" : $1 eq "t" ? "\t" : $1 eq "\\" ? "\\" : chr(hex($2))/ge'
}

# raw_request FILE: sends FILE over a plain socket, prints the answer
# (an empty answer is a dropped connection).
raw_request() {
    perl -MIO::Socket::INET -e '
        my ($hp, $file) = @ARGV;
        open(my $fh, "<:raw", $file) or die "$file: $!";
        my $req = do { local $/; <$fh> };
        my $s = IO::Socket::INET->new(PeerAddr => $hp, Timeout => 10) or die "connect $hp: $!";
        $s->autoflush(1);
        print $s $req;
        my $resp = "";
        my $rin = ""; vec($rin, fileno($s), 1) = 1;
        while (select(my $rout = $rin, undef, undef, 15)) {
            my $n = sysread($s, my $buf, 65536);
            last unless $n;
            $resp .= $buf;
        }
        binmode STDOUT; print $resp;' "$HOSTPORT" "$1"
}

# ---- the corpus ----
total=0
failed=0
xfailed=0
FAILS=$W/failures
: >"$FAILS"
# fail_case WHY: the current case broke a rule (reported once the case is
# done: a failure, or XFAIL for a case marked as a known daemon bug).
fail_case() {
    case_failed=true
    echo "case $total (corpus line $lineno): $method $shown_path -> $STATUS: $*" >>"$W/case/why"
    return 0
}

lineno=0
while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    case $line in '#'* | '') continue ;; esac
    IFS=' |' read -r method path expect field rule body <<EOF
$line
EOF
    [ -n "$body" ] || die "corpus line $lineno has fewer than six fields"
    total=$((total + 1))
    NO_TOKEN=
    case_failed=false
    : >"$W/case/why"
    # +xfail: a daemon bug known when the case was written (see the corpus)
    xfail=false
    case $expect in *+xfail) xfail=true expect=${expect%+xfail} ;; esac
    # +ocsp: an OCSP endpoint, whose errors are DER OCSP responses
    ocsp=false
    case $expect in *+ocsp) ocsp=true expect=${expect%+ocsp} ;; esac
    : >"$CFG"
    rm -f "$BODY" "$RESP" "$HDRS"
    case $path in
    *'{'*)
        path=$(printf '%s' "$path" | sed -e "s/{serial}/$SERIAL/g" -e "s/{long_role_name}/$(repeat 300 r)/g" \
            -e "s/{long_serial}/$(repeat 200 a)/g" -e "s/{long_url}/$(repeat 5000 u)/g")
        ;;
    esac
    shown_path=$(printf '%s' "$path" | cut -c1-80)

    # the request
    dropped=false
    if [ "$method" = RAW ]; then
        printf '%s' "$body" | sed "s/{token}/$ROOT_TOKEN/g" | unescape_bytes >"$BODY"
        shown_path=$(head -n 1 "$BODY" | tr -d '\r' | cut -c1-60)
        raw_request "$BODY" >"$W/case/raw" 2>"$W/case/raw.err" || true
        if [ ! -s "$W/case/raw" ]; then
            STATUS=000
        else
            STATUS=$(head -n 1 "$W/case/raw" | sed -n 's/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p')
            [ -n "$STATUS" ] || STATUS=bad
            # headers up to the first blank line; the body after it
            tr -d '\r' <"$W/case/raw" | sed '/^$/q' >"$HDRS"
            tr -d '\r' <"$W/case/raw" | sed '1,/^$/d' >"$RESP"
        fi
    else
        set -- -s --path-as-is --max-time 30 -o "$RESP" -D "$HDRS" -w '%{http_code}'
        if [ "$method" = HEAD ]; then set -- "$@" --head; else set -- "$@" -X "$method"; fi
        [ -n "$NO_TOKEN" ] || set -- "$@" -H "X-Vault-Token: $ROOT_TOKEN"
        case $body in
        -) ;;
        @*) "gen_${body#@}" ;;
        x:*) printf '%s' "${body#x:}" | unescape_bytes >"$BODY" ;;
        *) printf '%s' "$body" >"$BODY" ;;
        esac
        # a generator may have set NO_TOKEN: rebuild the token option
        if [ -n "$NO_TOKEN" ]; then
            set -- -s --path-as-is --max-time 30 -o "$RESP" -D "$HDRS" -w '%{http_code}'
            if [ "$method" = HEAD ]; then set -- "$@" --head; else set -- "$@" -X "$method"; fi
        fi
        if [ -s "$BODY" ]; then
            set -- "$@" -H 'Content-Type: application/json' --data-binary "@$BODY"
        fi
        [ -s "$CFG" ] && set -- "$@" -K "$CFG"
        STATUS=$(curl "$@" "$ADDR/v1/$path") || true
        [ -n "$STATUS" ] || STATUS=000
    fi
    [ "$STATUS" = 000 ] && dropped=true

    # the status
    mhd=false
    ok=false
    for alt in $(echo "$expect" | tr '/' ' '); do
        want=${alt%+mhd}
        case $want in
        drop) $dropped && ok=true ;;
        4xx) case $STATUS in 4[0-9][0-9]) ok=true ;; esac ;;
        *) [ "$STATUS" = "$want" ] && ok=true ;;
        esac
        if $ok; then
            [ "$want" != "$alt" ] && mhd=true
            break
        fi
    done
    if ! $ok; then
        if $dropped; then fail_case "connection dropped, expected $expect"; else fail_case "expected $expect"; fi
    elif $ocsp; then
        # the body: an OCSP response carrying the error status FIELD
        if ! grep -qi '^content-type: application/ocsp-response' "$HDRS"; then
            fail_case "OCSP error without Content-Type: application/ocsp-response"
        elif ! openssl ocsp -respin "$RESP" -resp_text -noverify 2>&1 | grep -qi "^Responder Error: $field"; then
            fail_case "body is not an OCSP response with status '$field'"
        fi
    elif ! $dropped && ! $mhd && [ "$method" != HEAD ] && [ "$STATUS" != 204 ]; then
        # the body: OpenBao's error envelope with a message
        if ! jq -e '(.errors | type == "array") and (.errors | length > 0)
                and all(.errors[]; type == "string" and length > 0)' "$RESP" >/dev/null 2>&1; then
            fail_case "body is not {\"errors\":[\"message\"...]}"
        elif ! grep -qi '^content-type: application/json' "$HDRS"; then
            fail_case "error without Content-Type: application/json"
        elif [ "$field" != - ] && ! jq -r '.errors | join(" ")' "$RESP" | grep -qiF -- "$field"; then
            fail_case "message does not name '$field'"
        fi
    fi

    # nothing changed, nothing crashed
    kill -0 "$DAEMON_PID" 2>/dev/null || { show "$DAEMON_LOG"; die "hsmcad died at corpus line $lineno ($method $shown_path)"; }
    now=$(db_counts)
    if [ "$now" != "$BASE_DB" ]; then
        fail_case "database row counts changed: $BASE_DB -> $now (certs intents docs mounts)"
        BASE_DB=$now
    fi
    if $case_failed && $xfail; then
        # Known bug: reported, not counted; whatever it left behind (rows,
        # token objects) becomes the new baseline.
        xfailed=$((xfailed + 1))
        sed 's/^/XFAIL (known daemon bug) /' "$W/case/why" | tee -a "$W/xfails" >&2
        BASE_OBJ=$(token_objects)
    elif $case_failed; then
        failed=$((failed + 1))
        sed 's/^/FAIL /' "$W/case/why" | tee -a "$FAILS" >&2
        [ -s "$RESP" ] && head -c 400 "$RESP" | sed 's/^/    | /' >&2 && echo >&2
    elif $xfail; then
        echo "XPASS case $total (corpus line $lineno): $method $shown_path: the known bug is fixed; drop +xfail" >&2
    fi
    if [ $((total % 25)) -eq 0 ]; then
        h=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$ADDR/v1/sys/health") || true
        [ "$h" = 200 ] || { show "$DAEMON_LOG"; die "sys/health $h after corpus line $lineno"; }
    fi
    printf 'case %3d %-5s %-10s %-8s %s %s\n' "$total" "$STATUS" "$rule" "$method" "$shown_path" \
        "$(jq -r '.errors[0]? // empty' "$RESP" 2>/dev/null | cut -c1-90)" >>"$W/corpus.log"
done <"$CORPUS"

echo "corpus: $total cases, $((total - failed - xfailed)) passed, $failed failed, $xfailed known daemon bugs (XFAIL) (each case: $W/corpus.log)"
[ "$total" -ge 100 ] || die "the corpus has only $total cases"

# the state after the corpus: same rows, same token objects, mount and CA intact
[ "$(db_counts)" = "$BASE_DB" ] || die "database row counts changed"
after_obj=$(token_objects)
if [ "$after_obj" != "$BASE_OBJ" ]; then
    failed=$((failed + 1))
    echo "FAIL: the token's objects changed during the corpus: $BASE_OBJ -> $after_obj" | tee -a "$FAILS" >&2
fi
api_ok GET pki/issuer/default/json
[ "$(jget .data.issuer_name)" = root1 ] || die "the default issuer is no longer root1"
api_ok GET pki/roles/web
[ "$(jget '.data.allowed_domains[0]')" = example.com ] || die "role web changed"
TOKEN= api GET sys/health
[ "$STATUS" = 200 ] || die "sys/health $STATUS after the corpus"
[ "$failed" -eq 0 ] &&
    pass "corpus: $total bad requests refused as listed; database rows, token objects, CA and role unchanged; daemon healthy"

# ---- slow clients: one request whose headers drip in, one whose body does ----
# Each sends a little every second and never finishes (the daemon's request
# timeout is 60 s in development mode); while they hang on, other clients
# must be served, each request within curl's 5 s (a liveness bound, not a
# speed claim: a server held by the slow clients would take 60 s). The slow clients are this script's children,
# stopped by their PIDs.
slow_client() { # MODE SECONDS
    perl -MIO::Socket::INET -e '
        my ($hp, $mode, $secs, $token) = @ARGV;
        my $s = IO::Socket::INET->new(PeerAddr => $hp) or die "connect: $!";
        $s->autoflush(1);
        $SIG{PIPE} = "IGNORE";
        if ($mode eq "headers") {
            print $s "GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n";
            for (1 .. $secs) { print $s "X-Slow-$_: a\r\n" or exit 0; sleep 1; }
        } else {
            print $s "POST /v1/pki/roles/slow HTTP/1.1\r\nHost: x\r\nX-Vault-Token: $token\r\n",
                     "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
            my $part = "{\"allowed_domains\":\"slow.example.com\"";
            for my $i (1 .. $secs) { print $s substr($part, $i - 1, 1) or exit 0; sleep 1; }
        }
        exit 0;' "$HOSTPORT" "$1" "$2" "$ROOT_TOKEN"
}
slow_client headers 20 &
slow1=$!
slow_client body 20 &
slow2=$!
sleep 2
i=0
max_ms=0
while [ $i -lt 10 ]; do
    t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$ADDR/v1/sys/health") || true
    [ "${t%% *}" = 200 ] || die "sys/health not served while slow clients hang on ($t)"
    ms=$(echo "${t#* }" | awk '{printf "%d", $1 * 1000}')
    [ "$ms" -gt "$max_ms" ] && max_ms=$ms
    api_ok LIST pki/roles
    api_ok POST pki/issue/web '{"common_name":"during-slowloris.example.com","ttl":"5m"}'
    i=$((i + 1))
    sleep 0.3
done
kill -0 $slow1 2>/dev/null || die "the slow header client was cut before the test ended (request timeout is 60 s)"
kill -0 $slow2 2>/dev/null || die "the slow body client was cut before the test ended"
kill $slow1 $slow2 2>/dev/null || true
wait $slow1 $slow2 2>/dev/null || true
api GET pki/roles/slow
[ "$STATUS" = 404 ] || die "the unfinished slow body created a role ($STATUS)"
TOKEN= api GET sys/health
[ "$STATUS" = 200 ] || die "sys/health $STATUS after the slow clients"
pass "slow clients: 10 rounds of health/list/issue served (slowest health ${max_ms} ms) while two connections dripped; nothing half-made"

daemon_stop
pass "hsmcad stopped cleanly (exit 0)"

if [ "$failed" -gt 0 ]; then
    echo "failed cases:" >&2
    cat "$FAILS" >&2
    die "$failed of $total bad-input cases failed"
fi
