#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `hsmca rotate plan|start|promote|retire|finish` against the real hsmcad
# (-dev, its own SoftHSM2 token) while a client keeps issuing: root rotation
# (root/rotate, cross-sign, root/replace, usage transitions, delete) and
# intermediate rotation signed online by a root mount and offline by a key
# ceremony on a second token. Judges: openssl verify (each root, and the
# cross-signed path), openssl crl -verify, openssl ocsp, the audit log.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/api_pki_lib.sh"

need_env HSMCA_CLI
need_tool curl jq openssl awk cmp
W=$(workdir rotate)

# Token A: the offline root of the ceremony case (its own softhsm2.conf).
token_create "$W/tokA" offline-root
TOKA_CONF=$SOFTHSM2_CONF
mkdir -p "$W/c/pins"
cp "$HSMCA_TEST_PIN_FILE" "$W/c/pins/offline-root.pin"

api_start "$W"
cd "$W"
# A failing check must also stop the live-traffic clients below.
trap 'touch "$W/live-root.txt.stop" "$W/live-int.txt.stop"; kill "$DAEMON_PID" 2>/dev/null || true' EXIT
( umask 077; printf '%s\n' "$ROOT_TOKEN" >token )
# rot ARGS...: the CLI against this daemon (the token from a file only).
rot() { "$HSMCA_CLI" rotate "$@" --addr "$ADDR" --token-file "$W/token"; }

# ---- a root mount with a role; leaves issued before the rotation
api POST pki/root/generate/internal "{\"common_name\":\"Rotate Root G1\",\"key_type\":\"ec\",\"issuer_name\":\"g1\",
    \"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root G1"
data certificate >g1.pem
OLD=$(data issuer_id)
api POST pki/roles/web '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","ttl":"1h"}'
expect 200 "role web"
for n in a b; do
    api POST pki/issue/web "{\"common_name\":\"$n.example.com\"}"
    expect 200 "issue $n"
    data certificate >old-$n.pem
done
verified g1.pem old-a.pem "a leaf of G1 before the rotation"

# ---- live traffic: a client issuing the whole time; every status recorded
traffic() {
    _m=$1
    _out=$2
    : >"$_out"
    while [ ! -f "$_out.stop" ] && kill -0 "$DAEMON_PID" 2>/dev/null; do
        curl -s -o /dev/null -w '%{http_code}\n' -H "X-Vault-Token: $ROOT_TOKEN" -H 'Content-Type: application/json' \
            --data '{"common_name":"live.example.com"}' "$ADDR/v1/$_m/issue/web" >>"$_out" || echo 000 >>"$_out"
    done
}
traffic_stop() {
    touch "$1.stop"
    wait "$2" || true
    _n=$(wc -l <"$1")
    _bad=$(grep -vc '^200$' "$1" || true)
    [ "$_bad" = 0 ] || { sort "$1" | uniq -c >&2; die "live traffic on $3: $_bad of $_n requests failed"; }
    [ "$_n" -ge 20 ] || die "live traffic on $3: only $_n requests during the rotation"
    pass "live traffic on $3: $_n issue requests during the rotation, all 200"
}
traffic pki live-root.txt &
LIVE=$!

# state_same FILE WHAT: the state file is unchanged since $FILE.keep
default_issuer() { api GET pki/config/issuers; jq -r .data.default "$RESP"; }
usage_of() { api GET "$1/issuer/$2"; jq -r .data.usage "$RESP"; }

# ---- plan, and refusals before any state exists
rot plan >plan.out 2>&1 || { show plan.out; die "rotate plan"; }
expect_grep plan.out "state idle" "plan in idle"
expect_grep plan.out "POST +/v1/pki/root/rotate/internal" "plan lists the API calls"
expect_grep plan.out "DELETE /v1/pki/issuer/" "plan lists every step"
expect_fail promote0.out rot promote
expect_grep promote0.out "promote refused: .*state 'idle'.*next step is 'start'" "promote before start"
[ ! -e hsmca-rotation-pki.json ] || die "a refused promote wrote a state file"
[ "$(default_issuer)" = "$OLD" ] || die "a refused promote changed the default issuer"
expect_fail force0.out rot retire --force
expect_grep force0.out "--force needs --reason" "--force without a reason"
expect_fail argv.out "$HSMCA_CLI" rotate plan --addr "$ADDR" --token "$ROOT_TOKEN"
expect_grep argv.out "unknown option" "a token on the command line is not an option"
pass "rotate: plan in idle; out-of-order promote and --force without reason refused, nothing changed"

# Bad input: a sentence, a non-zero exit, no state file.
printf '' >empty-token
bad() { # NAME ERE ARGS...
    _n=$1
    _re=$2
    shift 2
    expect_fail "bad-$_n.out" "$HSMCA_CLI" rotate "$@"
    expect_grep "bad-$_n.out" "$_re" "bad input: $_n"
}
bad verb "'rollback' is not one of plan, start" rollback --addr "$ADDR" --token-file token
bad addr "must start with http:// or https://" start --common-name x --addr "ftp://127.0.0.1:1" --token-file token
bad notoken "no client token" start --common-name x --addr "$ADDR"
bad tokfile "--token-file $W/nope: cannot be opened" start --common-name x --addr "$ADDR" --token-file "$W/nope"
bad emptytok "holds no token" start --common-name x --addr "$ADDR" --token-file empty-token
bad kind "--kind 'leaf' is not one of root, intermediate" start --kind leaf --common-name x --addr "$ADDR" --token-file token
bad nocn "--common-name is required" start --addr "$ADDR" --token-file token
bad bits "--key-bits 'lots' is not a key size" start --common-name x --key-bits lots --addr "$ADDR" --token-file token
bad rootcsr "--root-mount and --csr-out are for intermediates" start --common-name x --root-mount r --addr "$ADDR" --token-file token
bad conn "cannot connect to 127.0.0.1:1" start --common-name x --addr http://127.0.0.1:1 --token-file token
bad reason "--reason is only for --force" retire --reason why --addr "$ADDR" --token-file token
bad nomount "GET /v1/nomount/issuer/default: status 404" start --common-name x --mount nomount --addr "$ADDR" --token-file token
[ ! -e hsmca-rotation-nomount.json ] || die "a refused start on an unknown mount wrote a state file"
[ ! -e hsmca-rotation-pki.json ] || die "bad input wrote a state file"
[ "$(count_of pki/issuers)" = 1 ] || die "bad input made an issuer"
pass "rotate bad input: unknown verb, address, token file, kind, CN, key bits, options -> a sentence, nothing made"

# ---- start: the new root, cross-signed by the old
rot start --kind root --common-name "Rotate Root G2" --issuer-name g2 >start.out 2>&1 ||
    { show start.out; die "rotate start"; }
# What it will do comes before what it did.
w=$(grep -n '^will do:' start.out | cut -d: -f1)
d=$(grep -n 'new root issuer' start.out | cut -d: -f1)
[ -n "$w" ] && [ -n "$d" ] && [ "$w" -lt "$d" ] || { show start.out; die "start did not print its plan first"; }
[ "$(jq -r .state hsmca-rotation-pki.json)" = overlap ] || die "start: state is not overlap"
NEW=$(jq -r .new_issuer hsmca-rotation-pki.json)
CROSS=$(jq -r .cross_issuer hsmca-rotation-pki.json)
[ "$(jq -r .old_issuer hsmca-rotation-pki.json)" = "$OLD" ] || die "start: old issuer not recorded"
[ "$(default_issuer)" = "$OLD" ] || die "start changed the default issuer"
api GET pki/issuer/g2
expect 200 "the new root by name"
[ "$(data issuer_id)" = "$NEW" ] || die "issuer g2 is not the recorded new issuer"
data certificate >g2.pem
api GET "pki/issuer/$CROSS"
data certificate >cross.pem
[ "$(usage_of pki "$CROSS")" = read-only ] || die "the cross-signed issuer is not read-only"
[ "$(openssl x509 -in cross.pem -noout -subject)" = "$(openssl x509 -in g2.pem -noout -subject)" ] ||
    die "the cross-signed certificate's subject is not the new root's"
[ "$(openssl x509 -in cross.pem -noout -pubkey)" = "$(openssl x509 -in g2.pem -noout -pubkey)" ] ||
    die "the cross-signed certificate's key is not the new root's"
openssl verify -x509_strict -CAfile g1.pem cross.pem >v.out 2>&1 || { show v.out; die "cross.pem does not verify with G1"; }
pass "start: root G2 in the token, cross-signed by G1, default unchanged"

# ---- overlap: both chains verify
api POST pki/issue/web '{"common_name":"during.example.com"}'
expect 200 "issue during the overlap"
data certificate >during-old.pem
openssl x509 -in during-old.pem -noout -issuer | grep -q 'Rotate Root G1' || die "overlap: the default is not G1"
verified g1.pem during-old.pem "overlap: a G1 leaf with G1"
api POST pki/issuer/g2/issue/web '{"common_name":"during-new.example.com"}'
expect 200 "issue from G2 during the overlap"
data certificate >during-new.pem
verified g2.pem during-new.pem "overlap: a G2 leaf with G2"
openssl verify -x509_strict -CAfile g1.pem -untrusted cross.pem during-new.pem >v.out 2>&1 ||
    { show v.out; die "overlap: a G2 leaf does not verify with G1 through the cross-signed certificate"; }
cat during-new.pem cross.pem >cross-chain.pem
verified g1.pem cross-chain.pem "overlap: G2 leaf + cross-signed certificate with G1"
if openssl verify -CAfile g1.pem during-new.pem >/dev/null 2>&1; then die "a G2 leaf verified with G1 alone"; fi
pass "overlap: G1 leaves verify with G1; G2 leaves with G2 and, through the cross-signed certificate, with G1"

# Out of order in overlap: retire and finish refused, nothing changed.
cp hsmca-rotation-pki.json state.keep
for s in retire finish start; do
    expect_fail "$s-early.out" rot "$s" --kind root --common-name x
    expect_grep "$s-early.out" "$s refused: .*state 'overlap'.*next step is 'promote'" "$s during the overlap"
    cmp -s state.keep hsmca-rotation-pki.json || die "a refused $s changed the state file"
done
[ "$(usage_of pki "$OLD")" = "read-only,issuing-certificates,crl-signing,ocsp-signing" ] ||
    die "a refused step changed the old issuer's usage: $(usage_of pki "$OLD")"
[ "$(default_issuer)" = "$OLD" ] || die "a refused step changed the default"
pass "overlap: retire, finish and a second start refused with the next step named, nothing changed"

# --dry-run: the plan and the checks, nothing changed.
rot promote --dry-run >dry.out 2>&1 || { show dry.out; die "promote --dry-run"; }
expect_grep dry.out "POST +/v1/pki/root/replace +[{]default: $NEW[}]" "dry run prints the calls"
expect_grep dry.out "dry run, nothing changed" "dry run says so"
cmp -s state.keep hsmca-rotation-pki.json || die "promote --dry-run changed the state file"
[ "$(default_issuer)" = "$OLD" ] || die "promote --dry-run changed the default"
pass "promote --dry-run prints the API calls and changes nothing"

# ---- promote
rot promote >promote.out 2>&1 || { show promote.out; die "rotate promote"; }
[ "$(default_issuer)" = "$NEW" ] || die "promote: the default is not G2"
[ "$(usage_of pki "$OLD")" = "read-only,crl-signing,ocsp-signing" ] || die "promote: old usage $(usage_of pki "$OLD")"
api POST pki/issue/web '{"common_name":"after.example.com"}'
expect 200 "issue after promote"
data certificate >after.pem
openssl x509 -in after.pem -noout -issuer | grep -q 'Rotate Root G2' || die "after promote: a leaf not from G2"
verified g2.pem after.pem "after promote: new leaf with G2"
api POST pki/issuer/g1/issue/web '{"common_name":"no.example.com"}'
[ "$STATUS" -ge 400 ] && [ "$STATUS" -lt 500 ] || { show "$RESP"; die "the old root still issues: $STATUS"; }
pass "promote: new leaves come from G2; G1 no longer issues"

# Old leaves: revoked, on G1's CRL and OCSP.
sb=$(serial_of old-b.pem)
api POST pki/revoke "{\"serial_number\":\"$sb\"}"
expect 200 "revoke a G1 leaf after promote"
api GET "pki/issuer/$OLD/crl/pem"
expect 200 "G1's CRL"
cp "$RESP" g1.crl
openssl crl -in g1.crl -CAfile g1.pem -verify -noout >crl.out 2>&1 && grep -q 'verify OK' crl.out ||
    { show crl.out; die "G1's CRL does not verify with G1"; }
openssl crl -in g1.crl -noout -text | tr 'A-F' 'a-f' | tr -d ':' | grep -q "$(echo "$sb" | tr -d ':')" ||
    die "the revoked G1 leaf is not on G1's CRL"
openssl ocsp -url "$ADDR/v1/pki/ocsp" -issuer g1.pem -cert old-b.pem -cert old-a.pem -CAfile g1.pem >ocsp.out 2>&1 ||
    { show ocsp.out; die "openssl ocsp for G1 leaves"; }
expect_grep ocsp.out "old-b.pem: revoked" "OCSP: the revoked G1 leaf"
expect_grep ocsp.out "old-a.pem: good" "OCSP: a G1 leaf still good"
expect_grep ocsp.out "Response verify OK" "OCSP response from G1 verifies"
pass "after promote: a G1 leaf revoked, on G1's CRL (openssl crl -verify) and OCSP (openssl ocsp)"

# ---- retire refused while G1 has unexpired leaves
cp hsmca-rotation-pki.json state.keep
expect_fail retire1.out rot retire
expect_grep retire1.out "retire refused: issuer $OLD still has unexpired certificates" "retire while G1 is needed"
cmp -s state.keep hsmca-rotation-pki.json || die "a refused retire changed the state file"
[ "$(usage_of pki "$OLD")" = "read-only,crl-signing,ocsp-signing" ] || die "a refused retire changed the usage"
expect_fail finish1.out rot finish
expect_grep finish1.out "finish refused: .*state 'promoted'.*next step is 'retire'" "finish before retire"
pass "retire refused while G1's leaves are unexpired; finish out of order refused; nothing changed"

# --force with a reason: done, and the audit log says so.
rot retire --force --reason "test: G1 leaves are short-lived" >retire2.out 2>&1 ||
    { show retire2.out; die "rotate retire --force"; }
[ "$(usage_of pki "$OLD")" = read-only ] || die "retire --force: usage $(usage_of pki "$OLD")"
jq -c --arg p "pki/issuer/$OLD" --arg re 'step=retire .*force=yes reason="test: G1 leaves are short-lived"' \
    'select(.path == $p and .operation == "patch" and .status == 200)
     | select((.details.rotation // "") | test($re))' \
    "$DAEMON_DIR/audit.log" >forced.txt
[ -s forced.txt ] || { tail -5 "$DAEMON_DIR/audit.log" >&2; die "no audit entry for the forced retire"; }
jq -r .details.rotation "$DAEMON_DIR/audit.log" | grep -q "step=promote" || die "the promote step is not in the audit log"
pass "retire --force --reason: G1 read-only, the audit log has the step, force=yes and the reason"

rot finish --force --reason "test: delete G1 now" >finish.out 2>&1 || { show finish.out; die "rotate finish"; }
api GET "pki/issuer/$OLD"
expect 404 "G1 after finish"
[ "$(jq -r .state hsmca-rotation-pki.json)" = finished ] || die "finish: state is not finished"
rot plan >plan2.out 2>&1 || { show plan2.out; die "plan after finish"; }
expect_grep plan2.out "state finished" "plan after finish"
traffic_stop live-root.txt "$LIVE" "the root mount"

# The audit header is bounded text: bytes that are not UTF-8 are recorded as such.
curl -s -o /dev/null -H "X-Vault-Token: $ROOT_TOKEN" -H "$(printf 'X-Hsmca-Rotation: step=x\377\376')" \
    -H 'Content-Type: application/json' --data '{"allowed_domains":"example.org"}' "$ADDR/v1/pki/roles/utf8"
jq -r 'select(.path == "pki/roles/utf8") | .details.rotation' "$DAEMON_DIR/audit.log" | grep -qx '(not UTF-8)' ||
    die "a non-UTF-8 X-Hsmca-Rotation header is not recorded as (not UTF-8)"
pass "X-Hsmca-Rotation that is not UTF-8 is recorded as '(not UTF-8)'"

# ---- intermediate rotation signed online by a root mount
mount_pki root
api POST root/root/generate/internal "{\"common_name\":\"Int Test Root\",\"key_type\":\"ec\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "the root of the intermediates"
data certificate >iroot.pem
mount_pki int
api POST int/intermediate/generate/internal '{"common_name":"Rotate Int G1","key_type":"ec"}'
expect 200 "intermediate G1 CSR"
data csr >i1.csr
json_body i1.json csr=@i1.csr common_name="Rotate Int G1" ttl=700h
api POST root/root/sign-intermediate @i1.json
expect 200 "sign intermediate G1"
data certificate >i1.pem
json_body i1s.json certificate=@i1.pem
api POST int/intermediate/set-signed @i1s.json
expect 200 "set-signed G1"
IOLD=$(jq -r '.data.imported_issuers[0]' "$RESP")
api POST int/roles/web '{"allowed_domains":"example.com","allow_subdomains":true,"key_type":"ec","ttl":"12s"}'
expect 200 "int role"
api POST int/issue/web '{"common_name":"x.example.com"}'
expect 200 "int leaf before rotation"
data certificate >ix.pem
cat ix.pem i1.pem >ix-chain.pem
verified iroot.pem ix-chain.pem "a G1 intermediate leaf"
traffic int live-int.txt &
LIVE=$!

IR() { rot "$@" --mount int --state "$W/int.json"; }
expect_fail ikind.out IR start --kind intermediate --common-name "Rotate Int G2"
expect_grep ikind.out "exactly one of --root-mount" "intermediate start without a signer"
[ ! -e int.json ] || die "a refused start wrote a state file"
IR start --kind intermediate --common-name "Rotate Int G2" --issuer-name ig2 --root-mount root --ttl 700h \
    >istart.out 2>&1 || { show istart.out; die "intermediate rotate start"; }
[ "$(jq -r .state int.json)" = overlap ] || die "intermediate start: state is not overlap"
INEW=$(jq -r .new_issuer int.json)
[ "$(jq -r .old_issuer int.json)" = "$IOLD" ] || die "intermediate start: old issuer is not G1"
api GET int/issuer/ig2
expect 200 "int G2 by name"
data certificate >i2.pem
[ "$(data issuer_id)" = "$INEW" ] || die "ig2 is not the recorded issuer"
api POST int/issuer/ig2/issue/web '{"common_name":"y.example.com"}'
expect 200 "G2 intermediate leaf in the overlap"
data certificate >iy.pem
cat iy.pem i2.pem >iy-chain.pem
verified iroot.pem iy-chain.pem "overlap: a G2 intermediate leaf"
api POST int/issue/web '{"common_name":"z.example.com"}'
data certificate >iz.pem
openssl x509 -in iz.pem -noout -issuer | grep -q 'Rotate Int G1' || die "overlap: int default is not G1"
pass "intermediate start (online root): G2 signed by the root mount; both intermediates issue and verify"

IR promote >ipromote.out 2>&1 || { show ipromote.out; die "intermediate promote"; }
PROMOTED_AT=$(date +%s)
api GET int/config/issuers
[ "$(jq -r .data.default "$RESP")" = "$INEW" ] || die "intermediate promote: default is not G2"
api POST int/issue/web '{"common_name":"w.example.com"}'
data certificate >iw.pem
openssl x509 -in iw.pem -noout -issuer | grep -q 'Rotate Int G2' || die "after promote: int leaf not from G2"
sx=$(serial_of ix.pem)
api POST int/revoke "{\"serial_number\":\"$sx\"}"
expect 200 "revoke a G1 intermediate leaf"
api GET "int/issuer/$IOLD/crl/pem"
cp "$RESP" i1.crl
openssl crl -in i1.crl -CAfile i1.pem -verify -noout >crl.out 2>&1 && grep -q 'verify OK' crl.out ||
    { show crl.out; die "G1 intermediate CRL does not verify"; }
openssl crl -in i1.crl -noout -text | tr 'A-F' 'a-f' | tr -d ':' | grep -q "$(echo "$sx" | tr -d ':')" ||
    die "the revoked leaf is not on the old intermediate's CRL"
cat i1.pem iroot.pem >i1-ca.pem
openssl ocsp -url "$ADDR/v1/int/ocsp" -issuer i1.pem -cert ix.pem -CAfile i1-ca.pem >ocsp.out 2>&1 ||
    { show ocsp.out; die "openssl ocsp for the old intermediate's leaf"; }
expect_grep ocsp.out "ix.pem: revoked" "OCSP: revoked leaf of the old intermediate"
expect_fail iretire1.out IR retire
expect_grep iretire1.out "retire refused: issuer $IOLD still has unexpired certificates" "intermediate retire early"
pass "intermediate promote: new leaves from G2; old leaf revoked on G1's CRL and OCSP; retire refused"

# The old intermediate's leaves live 12 s: once they are past, retire and
# finish go through without --force.
# (live traffic went to G1 until promote, with the role's 12 s ttl)
last=$((PROMOTED_AT + 12))
for f in ix.pem iz.pem; do t=$(not_after_of "$f"); [ "$t" -gt "$last" ] && last=$t; done
now=$(date +%s)
[ "$last" -lt "$now" ] || sleep $((last - now + 2))
IR retire >iretire.out 2>&1 || { show iretire.out; die "intermediate retire after the leaves expired"; }
[ "$(usage_of int "$IOLD")" = read-only ] || die "intermediate retire: usage"
IR finish >ifinish.out 2>&1 || { show ifinish.out; die "intermediate finish"; }
api GET "int/issuer/$IOLD"
expect 404 "old intermediate after finish"
jq -r '.details.rotation // empty' "$DAEMON_DIR/audit.log" | grep -q "step=finish mount=int kind=intermediate old=$IOLD" ||
    die "the intermediate finish is not in the audit log"
pass "intermediate retire and finish without --force once the old leaves expired"

# ---- intermediate rotation signed in an offline ceremony (token A)
cat >c/root.json <<EOF
{"version": 1, "name": "rotate-offline-root", "module": "$SOFTHSM_MODULE", "token": {"label": "offline-root"},
 "pin": {"file": "pins/offline-root.pin"}, "output_dir": "out/root",
 "steps": [{"kind": "root-key", "label": "rotate-root", "key_type": "ec", "key_bits": 256},
           {"kind": "root-cert", "key": "rotate-root", "output": "root.pem",
            "subject": {"common_name": "Rotate Offline Root"}, "validity": "3650d", "path_length": 1}]}
EOF
SOFTHSM2_CONF=$TOKA_CONF "$HSMCA_CLI" ceremony run c/root.json --operator Alice >croot.out 2>&1 ||
    { show croot.out; die "offline root ceremony"; }
IR start --kind intermediate --common-name "Rotate Int G3" --issuer-name ig3 --csr-out "$W/c/g3.csr" \
    >ioff1.out 2>&1 || { show ioff1.out; die "intermediate start --csr-out"; }
[ "$(jq -r .state int.json)" = csr-pending ] || die "start --csr-out: state is not csr-pending"
openssl req -in c/g3.csr -verify -noout >/dev/null 2>&1 || die "the rotation's CSR does not verify"
cp int.json state.keep
expect_fail ioff-promote.out IR promote
expect_grep ioff-promote.out "promote refused: .*state 'csr-pending'" "promote while the CSR is out"
expect_fail ioff-nocert.out IR start
expect_grep ioff-nocert.out "give --certificate" "resume without a certificate"
cmp -s state.keep int.json || die "a refused step changed the csr-pending state"
cat >c/sign.json <<EOF
{"version": 1, "name": "rotate-int-g3", "module": "$SOFTHSM_MODULE", "token": {"label": "offline-root"},
 "pin": {"file": "pins/offline-root.pin"}, "output_dir": "out/g3", "transcript_key": "rotate-root",
 "steps": [{"kind": "intermediate", "mode": "sign", "csr": "g3.csr", "issuer_cert": "out/root/root.pem",
            "issuer_key": "rotate-root", "output": "g3.pem", "validity": "365d", "path_length": 0}]}
EOF
SOFTHSM2_CONF=$TOKA_CONF "$HSMCA_CLI" ceremony run c/sign.json --operator Alice >csign.out 2>&1 ||
    { show csign.out; die "offline signing ceremony"; }
# A certificate that is not for this CSR is refused and the state stays.
cat iroot.pem >wrong.pem
expect_fail ioff-wrong.out IR start --certificate "$W/wrong.pem"
expect_grep ioff-wrong.out "not for this rotation's CSR" "a certificate for another key"
cmp -s state.keep int.json || die "a refused certificate changed the state"
cat c/out/g3/g3.pem c/out/root/root.pem >g3-bundle.pem
IR start --certificate "$W/g3-bundle.pem" --transcript "$W/c/out/g3/transcript.jsonl" >ioff2.out 2>&1 ||
    { show ioff2.out; die "intermediate start --certificate (offline-signed)"; }
[ "$(jq -r .state int.json)" = overlap ] || die "offline start: state is not overlap"
api GET int/issuer/ig3
expect 200 "offline-signed G3 by name"
data certificate >i3.pem
api POST int/issuer/ig3/issue/web '{"common_name":"v.example.com"}'
expect 200 "a G3 leaf"
data certificate >iv.pem
cat iv.pem i3.pem >iv-chain.pem
verified c/out/root/root.pem iv-chain.pem "a leaf of the offline-signed intermediate"
IR promote >ioff3.out 2>&1 || { show ioff3.out; die "promote the offline-signed intermediate"; }
api POST int/issue/web '{"common_name":"u.example.com"}'
data certificate >iu.pem
openssl x509 -in iu.pem -noout -issuer | grep -q 'Rotate Int G3' || die "after promote: not from G3"
pass "intermediate rotation with an offline ceremony: CSR out, signed on token A, set-signed with its transcript"
traffic_stop live-int.txt "$LIVE" "the intermediate mount"

api_finish

# The client token never reaches any output of the CLI.
if grep -l "$ROOT_TOKEN" ./*.out; then die "the client token appears in hsmca rotate output"; fi
pass "the client token is in no output of hsmca rotate"

# ---- over https (-dev-tls): the listener is verified with --ca-cert
mkdir -p "$W/tls"
api_start "$W/tls" -dev-tls
cd "$W"
case $ADDR in https:*) ;; *) die "-dev-tls did not listen on https ($ADDR)" ;; esac
api POST pki/root/generate/internal "{\"common_name\":\"TLS Root G1\",\"key_type\":\"ec\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "TLS root"
TR() { "$HSMCA_CLI" rotate "$@" --addr "$ADDR" --token-file "$W/token" --state "$W/tls.json"; }
expect_fail tls-noca.out TR start --common-name "TLS Root G2"
expect_grep tls-noca.out "cannot connect to 127.0.0.1:[0-9]+ over TLS" "https without the listener's CA"
[ ! -e tls.json ] || die "a refused TLS connection wrote a state file"
TR start --kind root --common-name "TLS Root G2" --cross-ttl 10s --ca-cert "$DAEMON_DIR/tls-ca.pem" >tls-start.out 2>&1 ||
    { show tls-start.out; die "rotate start over https"; }
TR promote --ca-cert "$DAEMON_DIR/tls-ca.pem" >tls-promote.out 2>&1 || { show tls-promote.out; die "promote over https"; }
[ "$(jq -r .state tls.json)" = promoted ] || die "over https: state is not promoted"
pass "over https: refused without the listener's CA, start and promote with --ca-cert"

# The cross-signed certificate is the old root's only certificate here: it
# alone keeps the old root needed (retire refused) until it expires;
# --cross-ttl bounded it to 10 s, and then retire and finish need no --force.
jq -r .cross_certificate tls.json >tls-cross.pem
cross_end=$(not_after_of tls-cross.pem)
[ $((cross_end - $(date +%s))) -le 12 ] || die "--cross-ttl 10s: the cross-signed certificate lives longer"
expect_fail tls-retire1.out TR retire --ca-cert "$DAEMON_DIR/tls-ca.pem"
expect_grep tls-retire1.out "still has unexpired certificates" "retire while the cross-signed certificate is valid"
now=$(date +%s)
[ "$cross_end" -lt "$now" ] || sleep $((cross_end - now + 2))
TR retire --ca-cert "$DAEMON_DIR/tls-ca.pem" >tls-retire.out 2>&1 || { show tls-retire.out; die "root retire after the cross expired"; }
TR finish --ca-cert "$DAEMON_DIR/tls-ca.pem" >tls-finish.out 2>&1 || { show tls-finish.out; die "root finish"; }
[ "$(jq -r .state tls.json)" = finished ] || die "root rotation over https did not finish"
api_finish
pass "root rotation: the cross-signed certificate holds retire back until it expires; then retire and finish without --force"
pass "rotation"
