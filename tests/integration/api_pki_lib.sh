# SPDX-License-Identifier: Apache-2.0
# Sourced by the PKI API tests (test_api_issue.sh, test_api_generate.sh),
# after tests/lib/token.sh and tests/lib/daemon.sh: the development daemon
# (its own SoftHSM2 token, database and audit log under the test directory)
# and helpers to judge its OpenBao answers with jq, its token with
# pkcs11-tool and its certificates with openssl and certtool.
#
#   . tests/lib/token.sh; . tests/lib/daemon.sh; . tests/integration/api_pki_lib.sh
#   api_start "$W"                 # ADDR, TOKEN, STATE; api() from daemon.sh
#   api POST pki/issue/web '{"common_name":"a.example.com"}'   # or @file.json
#   expect 200 "issue"; data certificate >leaf.pem
#   api_finish

# api_start DIR [HSMCAD-FLAGS...]: the daemon (tests/lib/daemon.sh) with its
# state in DIR/state; sets STATE and points SOFTHSM2_CONF at its token. api
# (from daemon.sh) answers into $RESP and $STATUS.
api_start() {
    API_DIR=$1
    shift
    need_env HSMCAD
    daemon_start_dev "$API_DIR/state" "$@"
    STATE=$DAEMON_DIR
    SOFTHSM2_CONF=$STATE/softhsm2.conf
    export SOFTHSM2_CONF
    # The daemon dies with the test, also when a signal ends it (sh runs no
    # EXIT trap then).
    trap 'kill "$DAEMON_PID" 2>/dev/null || true' EXIT
    trap 'kill "$DAEMON_PID" 2>/dev/null; exit 1' HUP INT PIPE TERM
}

# api_finish: the daemon must stop cleanly (exit 0, no sanitizer report).
api_finish() {
    trap - EXIT HUP INT PIPE TERM
    daemon_stop
}

# as TOKEN METHOD PATH [BODY]: one request with another token.
as() {
    _saved=$TOKEN
    TOKEN=$1
    shift
    api "$@"
    TOKEN=$_saved
}

# expect STATUS [what]: the last answer had this status.
expect() {
    if [ "$STATUS" != "$1" ]; then
        show "$RESP"
        die "${2:-request}: status $STATUS, expected $1"
    fi
}

# data FIELD: a string field of the last answer's data (raw).
data() {
    jq -r ".data.$1 // empty" "$RESP"
}

# expect_error STATUS TEXT what: a 4xx whose message contains TEXT.
expect_error() {
    expect "$1" "$3"
    _msg=$(jq -r '.errors[0] // empty' "$RESP")
    case $_msg in
    *"$2"*) ;;
    *) show "$RESP"; die "$3: the error does not mention '$2'" ;;
    esac
}

# has_warning TEXT: a warning of the last answer contains TEXT.
has_warning() {
    jq -e --arg t "$1" '(.warnings // []) | map(contains($t)) | any' "$RESP" >/dev/null
}

# json_body FILE KEY=@PEMFILE|KEY=VALUE...: a JSON object of strings.
json_body() {
    _out=$1
    shift
    printf '{}' >"$_out"
    for _kv in "$@"; do
        _k=${_kv%%=*}
        _v=${_kv#*=}
        case $_v in
        @*) jq --arg k "$_k" --rawfile v "${_v#@}" '. + {($k): $v}' "$_out" >"$_out.tmp" ;;
        *) jq --arg k "$_k" --arg v "$_v" '. + {($k): $v}' "$_out" >"$_out.tmp" ;;
        esac
        mv "$_out.tmp" "$_out"
    done
}

# count_of PATH: entries a LIST answers (0 for OpenBao's empty 404).
count_of() {
    api LIST "$1"
    if [ "$STATUS" = 404 ]; then
        echo 0
    else
        jq -r '.data.keys | length' "$RESP"
    fi
}

# p11 ARGS...: pkcs11-tool logged in to the daemon's token.
p11() {
    pkcs11-tool --module "$SOFTHSM_MODULE" --token-label hsmca-dev --login --pin "$(cat "$STATE/pin")" "$@"
}

# token_privkeys: private-key objects in the daemon's token.
token_privkeys() {
    p11 --list-objects --type privkey 2>/dev/null | grep -c '^Private Key Object' || true
}

# key_access KEY_ID: the Access line pkcs11-tool shows for the token's
# private key whose CKA_ID is the key_id (a UUID) of an hsmca key.
key_access() {
    _id=$(echo "$1" | tr -d -)
    p11 --list-objects --type privkey 2>/dev/null |
        awk -v id="$_id" '/^Private Key Object/{inobj=0} $1=="ID:" && $2==id{inobj=1} inobj && /Access:/{print; exit}'
}

# key_label KEY_ID: the CKA_LABEL pkcs11-tool shows for that key's private
# key object ("" when it has none).
key_label() {
    _id=$(echo "$1" | tr -d -)
    p11 --list-objects --type privkey 2>/dev/null |
        awk -v id="$_id" '/^Private Key Object/{label=""} $1=="label:"{sub(/^[ \t]*label:[ \t]*/, ""); label=$0}
                          $1=="ID:" && $2==id{print label; exit}'
}

# hex_of FILE: the file's bytes as one line of lower-case hex.
hex_of() {
    od -An -v -tx1 "$1" | tr -d ' \n'
}

# store_contains HEX: the database files hold these bytes somewhere.
store_contains() {
    for _f in "$STATE"/hsmca.db "$STATE"/hsmca.db-wal "$STATE"/hsmca.db-shm; do
        [ -f "$_f" ] || continue
        hex_of "$_f" | grep -q "$1" && return 0
    done
    return 1
}

# mount_pki NAME: enables a PKI mount.
mount_pki() {
    api POST "sys/mounts/$1" '{"type":"pki"}'
    case $STATUS in
    200 | 204) ;;
    *) show "$RESP"; die "could not mount $1" ;;
    esac
}

# Roots outlive every leaf of the tests (a ttl could not: the mount's
# max_ttl, 768h by default, bounds it). Used by the sourcing scripts.
# shellcheck disable=SC2034
ROOT_NOT_AFTER=2036-01-01T00:00:00Z

# verified CA CHAIN what: openssl and GnuTLS both build and accept the path
# from the first certificate of CHAIN (the rest are intermediates) to CA.
verified() {
    _ca=$1
    _chain=$2
    awk 'BEGIN{n=0} /BEGIN CERTIFICATE/{n++} n==1' "$_chain" >"$API_DIR/v.leaf.pem"
    awk 'BEGIN{n=0} /BEGIN CERTIFICATE/{n++} n>1' "$_chain" >"$API_DIR/v.untrusted.pem"
    if [ -s "$API_DIR/v.untrusted.pem" ]; then
        openssl verify -x509_strict -CAfile "$_ca" -untrusted "$API_DIR/v.untrusted.pem" "$API_DIR/v.leaf.pem" \
            >"$API_DIR/v.out" 2>&1 || { show "$API_DIR/v.out"; die "$3: openssl verify refused"; }
    else
        openssl verify -x509_strict -CAfile "$_ca" "$API_DIR/v.leaf.pem" >"$API_DIR/v.out" 2>&1 ||
            { show "$API_DIR/v.out"; die "$3: openssl verify refused"; }
    fi
    certtool --verify --load-ca-certificate "$_ca" --infile "$_chain" >"$API_DIR/v.out" 2>&1
    grep -q 'Chain verification output: Verified' "$API_DIR/v.out" ||
        { show "$API_DIR/v.out"; die "$3: certtool --verify refused"; }
}

# serial_hex PEMFILE: the certificate's serial as OpenBao writes it.
serial_of() {
    openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//'
}

# not_after_of PEMFILE: notAfter in unix seconds.
not_after_of() {
    date -u -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')" +%s
}

# pubkey_of FILE [req|x509|pkey]: the public key (PEM) of a certificate, request or private key.
pubkey_of() {
    case ${2:-x509} in
    x509) openssl x509 -in "$1" -noout -pubkey ;;
    req) openssl req -in "$1" -noout -pubkey ;;
    pkey) openssl pkey -in "$1" -pubout ;;
    esac
}
