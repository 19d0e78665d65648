#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `hsmca audit verify` (the real CLI) on logs written through src/audit:
# an intact log and a rotated pair verify; every kind of tampering — one
# character changed, a line deleted, two lines swapped, a line copied in,
# the last line truncated — fails and names the line where it happened.
# The token's HMAC key is judged by pkcs11-tool and by a raw
# C_GetAttributeValue (p11raw): sensitive, never extractable, value
# unreadable. A token without the key, or with another key, verifies nothing.
#
# env (set by tests/audit.cmake): HSMCA_CLI, HSMCA_AUDIT_TESTTOOL,
# HSMCA_P11RAW, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_CLI HSMCA_AUDIT_TESTTOOL HSMCA_P11RAW
need_tool pkcs11-tool softhsm2-util awk sed

W=$(workdir audit_verify)
token_create "$W/token" audit-verify
T=$HSMCA_AUDIT_TESTTOOL
export HSMCA_TEST_MODULE=$SOFTHSM_MODULE

hsmca() {
    "$HSMCA_CLI" --module "$SOFTHSM_MODULE" --token "$HSMCA_TEST_TOKEN" --pin-file "$HSMCA_TEST_PIN_FILE" "$@"
}

# verify_ok FILE ENTRIES [ARGS...]: verifies and says "ok: ENTRIES entries".
verify_ok() {
    _f=$1 _n=$2
    shift 2
    hsmca audit verify "$_f" "$@" >"$W/v.out" 2>&1 || { show "$W/v.out"; die "verify $_f $*: failed"; }
    [ "$(head -n 1 "$W/v.out")" = "ok: $_n entries" ] || { show "$W/v.out"; die "verify $_f: not 'ok: $_n entries'"; }
}

# verify_broken FILE K WHAT [ARGS...]: verify fails with exit 65 (data
# error) and names line K as the first broken line — and no other.
verify_broken() {
    _f=$1 _k=$2 _what=$3
    shift 3
    expect_fail "$W/v.out" hsmca audit verify "$_f" "$@"
    set +e
    hsmca audit verify "$_f" "$@" >/dev/null 2>&1
    _rc=$?
    set -e
    [ "$_rc" -eq 65 ] || { show "$W/v.out"; die "$_what: exit $_rc, expected 65"; }
    expect_grep "$W/v.out" "^hsmca: audit: line $_k: " "$_what"
    expect_no_grep "$W/v.out" "^ok:" "$_what"
    pass "$_what: line $_k: $(sed -n "s/^hsmca: audit: line $_k: //p" "$W/v.out" | cut -c1-70)"
}

# flip FILE K OFFSET OUT: OUT is FILE with the character at OFFSET (1-based;
# negative: from the end of the line) of line K replaced by another one of
# the same kind (digit, hex letter, other).
flip() {
    awk -v k="$2" -v off="$3" '
        NR == k {
            i = off > 0 ? off : length($0) + off + 1
            c = substr($0, i, 1)
            r = (c ~ /[0-8]/) ? c + 1 : (c == "9") ? "0" : (c == "a") ? "b" : (c ~ /[b-z]/) ? "a" : (c == "\"") ? "x" : "\""
            $0 = substr($0, 1, i - 1) r substr($0, i + 1)
        }
        { print }' "$1" >"$4"
    cmp -s "$1" "$4" && die "flip $2 $3 changed nothing"
    return 0
}

# ---- an intact log ----
"$T" write "$W/a.log" 20 >"$W/write.out" 2>"$W/write.err" || { show "$W/write.err"; die "writing a log failed"; }
[ "$(wc -l <"$W/a.log")" -eq 21 ] || die "a.log has $(wc -l <"$W/a.log") lines, expected 21"
[ "$(stat -c %a "$W/a.log")" = 600 ] || die "a.log has mode $(stat -c %a "$W/a.log"), expected 600"
verify_ok "$W/a.log" 21
expect_grep "$W/v.out" "^first prev: 0{64} \(genesis\)$" "intact log"
last=$(sed -n 's/^last hmac: //p' "$W/v.out")
[ "$last" = "$(field "$(cat "$W/write.out")" last_hmac)" ] || die "verify's last hmac differs from the writer's"
# An independent reading of the format: every line is a JSON object whose
# last two members are prev and hmac, and each prev is the hmac before it.
awk -F'"prev":"|","hmac":"|"}$' '
    { if (NR > 1 && $2 != h) { print "line " NR ": prev is not the previous hmac"; bad = 1 }
      if (length($2) != 64 || length($3) != 64) { print "line " NR ": prev/hmac not 64 hex"; bad = 1 }
      h = $3 }
    END { exit bad }' "$W/a.log" >"$W/awk.out" || { show "$W/awk.out"; die "chain links read by awk"; }
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys
for n, l in enumerate(open(sys.argv[1]), 1):
    o = json.loads(l)
    assert list(o)[-2:] == ["prev", "hmac"] and o["seq"] == n and o["v"] == 1, n' "$W/a.log" ||
        die "a.log is not one JSON object per line ending in prev, hmac"
fi
pass "intact log of 21 entries verifies; mode 0600; links agree with awk"

# ---- tampering: each fails at the line it touched ----
flip "$W/a.log" 7 40 "$W/t.log"
verify_broken "$W/t.log" 7 "one character changed in line 7 (time)"
sed '7s|pki/issue/web|pki/issue/wex|' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 7 "one character changed in line 7 (path)"
flip "$W/a.log" 9 -5 "$W/t.log"
verify_broken "$W/t.log" 9 "one character changed in line 9 (its hmac)"
flip "$W/a.log" 9 -100 "$W/t.log"
verify_broken "$W/t.log" 9 "one character changed in line 9 (its prev)"
# The hmac member is outside its own MAC: an upper-case digit must not pass.
awk 'NR == 3 { i = index($0, "\"hmac\":\"") + 8; s = substr($0, i); j = match(s, /[a-f]/)
               $0 = substr($0, 1, i + j - 2) toupper(substr(s, j, 1)) substr(s, j + 1) } { print }' \
    "$W/a.log" >"$W/t.log"
cmp -s "$W/a.log" "$W/t.log" && die "upper-casing changed nothing"
verify_broken "$W/t.log" 3 "a hex digit of line 3's hmac upper-cased"
flip "$W/a.log" 1 3 "$W/t.log"
verify_broken "$W/t.log" 1 "one character changed in the start entry"
sed '5d' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 5 "line 5 deleted"
sed '1d' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 1 "line 1 (the start entry) deleted"
sed '1,4d' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 1 "lines 1-4 deleted"
awk 'NR == 8 { held = $0; next } NR == 9 { print; print held; next } { print }' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 8 "lines 8 and 9 swapped"
awk 'NR == 3 { copy = $0 } NR == 12 { print copy } { print }' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 12 "line 3 copied in before line 12"
awk 'NR == 4 { print } { print }' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 5 "line 4 duplicated"
awk '{ print } END { print first } NR == 1 { first = $0 }' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 22 "the start entry appended again"
awk 'NR == 6 { print "{\"v\":1,\"seq\":6}" } { print }' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 6 "a made-up line inserted at 6"
head -c -10 "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 21 "last line truncated"
head -c -1 "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 21 "final newline removed"
awk 'NR == 10 { printf "%s", $0; next } { print }' "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 10 "lines 10 and 11 joined"
# A line of another log made with the same key and with the same seq: only
# the prev link tells it apart.
"$T" write "$W/c.log" 20 >/dev/null 2>"$W/write.err" || { show "$W/write.err"; die "writing a second log failed"; }
awk 'NR == FNR { if (FNR == 7) other = $0; next } FNR == 7 { print other; next } { print }' \
    "$W/c.log" "$W/a.log" >"$W/t.log"
verify_broken "$W/t.log" 7 "line 7 replaced by line 7 of another log with the same key"
expect_grep "$W/v.out" "prev does not match" "a line of another log"
: >"$W/t.log"
verify_broken "$W/t.log" 1 "empty file"
# The untampered original still verifies (nothing above changed it).
verify_ok "$W/a.log" 21

# ---- rotation: the new file's start entry links to the old file's end ----
"$T" rotate "$W/r.log" 5 4 >"$W/rot.out" 2>"$W/rot.err" || { show "$W/rot.err"; die "rotate failed"; }
verify_ok "$W/r.log.1" 6
old_last=$(sed -n 's/^last hmac: //p' "$W/v.out")
verify_ok "$W/r.log" 5
expect_grep "$W/v.out" "^first prev: $old_last$" "rotated file"
expect_grep "$W/v.out" "^seq: 7\.\.11$" "rotated file"
verify_ok "$W/r.log" 5 --prev "$old_last"
verify_ok "$W/r.log" 5 "--prev=$(printf '%s' "$old_last" | tr a-f A-F)"
verify_broken "$W/r.log" 1 "rotated file against the wrong --prev" --prev "$last"
sed '1d' "$W/r.log" >"$W/t.log"
verify_broken "$W/t.log" 1 "rotated file without its start entry" --prev "$old_last"
verify_broken "$W/t.log" 1 "rotated file without its start entry, no --prev"
expect_fail "$W/v.out" hsmca audit verify "$W/r.log" --prev 1234
expect_grep "$W/v.out" "not 64 hex digits" "a malformed --prev"
expect_fail "$W/v.out" hsmca audit verify "$W/missing.log"
expect_grep "$W/v.out" "missing.log" "a missing file"
expect_fail "$W/v.out" hsmca audit verify
expect_grep "$W/v.out" "usage: hsmca audit verify" "no file"
pass "rotated pair verifies, linked by --prev; wrong or malformed anchors refused"

# ---- the key: sensitive, never extractable, value unreadable ----
p11tool_login --list-objects >"$W/list" 2>&1 || { show "$W/list"; die "pkcs11-tool --list-objects failed"; }
awk '/Object;/ { inb = index($0, "Secret Key Object;") == 1 } inb' "$W/list" >"$W/block"
expect_grep "$W/block" "^  label: *hsmca-audit-hmac$" "pkcs11-tool: the audit key"
expect_grep "$W/block" "Secret Key Object; Generic secret length 32" "pkcs11-tool: a 32-byte generic secret"
[ "$(grep -c 'Secret Key Object' "$W/block")" -eq 1 ] || { show "$W/block"; die "more than one secret key"; }
access=$(sed -n 's/^  Access: *//p' "$W/block")
case ", $access," in *", sensitive,"*) ;; *) show "$W/block"; die "pkcs11-tool does not show 'sensitive'" ;; esac
case "$access" in *"never extractable"*) ;; *) show "$W/block"; die "not 'never extractable'" ;; esac
case "$(printf '%s' "$access" | sed 's/never extractable//')" in
    *extractable*) show "$W/block"; die "pkcs11-tool shows the audit key as extractable" ;;
esac
expect_no_grep "$W/block" "^  Usage:.*(encrypt|decrypt|wrap|unwrap|derive)" "audit key usage"
raw() {
    "$HSMCA_P11RAW" "$SOFTHSM_MODULE" "$HSMCA_TEST_TOKEN" "$HSMCA_TEST_PIN_FILE" hsmca-audit-hmac secret "$@"
}
raw VALUE SENSITIVE EXTRACTABLE NEVER_EXTRACTABLE ALWAYS_SENSITIVE VALUE_LEN LABEL >"$W/raw.out" 2>&1 ||
    { show "$W/raw.out"; die "p11raw could not query the audit key"; }
for want in \
    "VALUE size_rv=CKR_ATTRIBUTE_SENSITIVE value_rv=CKR_ATTRIBUTE_SENSITIVE len=unavailable written=0" \
    "SENSITIVE size_rv=CKR_OK value_rv=CKR_OK len=1 written=1" \
    "EXTRACTABLE size_rv=CKR_OK value_rv=CKR_OK len=1 written=0" \
    "NEVER_EXTRACTABLE size_rv=CKR_OK value_rv=CKR_OK len=1 written=1" \
    "ALWAYS_SENSITIVE size_rv=CKR_OK value_rv=CKR_OK len=1 written=1" \
    "LABEL size_rv=CKR_OK value_rv=CKR_OK len=16 written=16"; do
    grep -qxF "$want" "$W/raw.out" || { show "$W/raw.out"; die "p11raw: expected '$want'"; }
done
rm -f "$W/key.bin"
set +e
p11tool_login --read-object --type secrkey --label hsmca-audit-hmac -o "$W/key.bin" >"$W/read.out" 2>&1
set -e
[ ! -s "$W/key.bin" ] || die "pkcs11-tool read the audit key's value"
pass "audit key: sensitive, always sensitive, never extractable; CKA_VALUE refused (CKR_ATTRIBUTE_SENSITIVE)"

# ---- other tokens verify nothing ----
cp "$W/a.log" "$W/copy.log"
token_create "$W/token2" audit-other
expect_fail "$W/v.out" hsmca audit verify "$W/copy.log"
expect_grep "$W/v.out" "no HMAC key labelled 'hsmca-audit-hmac'" "a token without the audit key"
p11tool_login --list-objects >"$W/list2" 2>&1 || true
expect_no_grep "$W/list2" "Secret Key Object" "verify must not create a key"
"$T" write "$W/b.log" 1 >/dev/null 2>"$W/write.err" || { show "$W/write.err"; die "writing on token 2 failed"; }
verify_ok "$W/b.log" 2
verify_broken "$W/copy.log" 1 "a log checked with another token's key"
expect_grep "$W/v.out" "HMAC does not match" "another token's key"
pass "a token without the key, or with another key, verifies nothing"
rm -rf "$W"
