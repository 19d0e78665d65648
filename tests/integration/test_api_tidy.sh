#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Tidy through the real daemon (hsmcad -dev): tidy removes only what its
# parameters say and only past the safety buffer; tidy-status and
# tidy-cancel answer as OpenBao documents; a tidy during concurrent issuance
# loses no certificate a client received; the CRL after tidy still lists
# the unexpired revoked certificates (judged by openssl crl -verify);
# config/auto-tidy runs on its interval. Expired certificates are honest
# ones: issued with ttl 2s and waited out (OpenBao's minimum safety_buffer
# is one second, so no clock is faked).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/api_pki_lib.sh"

need_tool curl jq openssl awk
W=$(workdir api_tidy)
# The job that starts auto-tidy looks every second.
api_start "$W" -crl-check-interval=1s
cd "$W"

# crl_serials FILE: a PEM CRL's entries, OpenBao-style, sorted.
crl_serials() {
    openssl crl -in "$1" -noout -text | awk '/Serial Number:/{print $3}' |
        tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//' | sort
}

# issue NAME TTL: a certificate of role web; its serial in NAME.serial.
issue() {
    api POST pki/issue/web "{\"common_name\":\"$1.example.com\",\"ttl\":\"$2\"}"
    expect 200 "issue $1"
    data serial_number >"$1.serial"
}

# stored NAME: pki/cert/<serial> answers 200.
stored() {
    api GET "pki/cert/$(cat "$1.serial")"
    [ "$STATUS" = 200 ] && [ -n "$(data certificate)" ]
}

# tidy_wait STATE what: polls tidy-status until state is STATE (20 s at most).
tidy_wait() {
    _i=0
    while :; do
        api GET pki/tidy-status
        expect 200 "tidy-status ($2)"
        [ "$(jget .data.state)" = "$1" ] && return 0
        _i=$((_i + 1))
        [ $_i -lt 100 ] || { show "$RESP"; die "$2: tidy state never became $1"; }
        sleep 0.2
    done
}

api POST pki/root/generate/internal "{\"common_name\":\"Root\",\"key_type\":\"ec\",\"key_bits\":256,
    \"issuer_name\":\"root\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root"
data certificate >root.pem
api POST pki/roles/web '{"allowed_domains":"example.com","allow_subdomains":true}'
expect 200 "role web"

# ---- status before any run; bad input changes nothing ----
api GET pki/tidy-status
expect 200 "tidy-status before any tidy"
[ "$(jget .data.state)" = Inactive ] || { show "$RESP"; die "tidy-status: state before any tidy is not Inactive"; }
jget '.data | has("cert_store_deleted_count") and has("revoked_cert_deleted_count") and
      has("missing_issuer_cert_count") and has("time_started") and has("time_finished") and
      has("last_auto_tidy_finished") and has("pause_duration")' | grep -qx true ||
    { show "$RESP"; die "tidy-status: a documented field is missing"; }
api POST pki/tidy-cancel
expect_error 400 "no tidy operation is running" "tidy-cancel with nothing running"
api POST pki/tidy '{"tidy_cert_store":true,"safety_buffer":"0s"}'
expect_error 400 "safety_buffer" "tidy with safety_buffer 0s"
api POST pki/tidy '{"tidy_cert_store":true,"pause_duration":"soon"}'
expect_error 400 "pause_duration" "tidy with pause_duration soon"
api POST pki/tidy '{"tidy_cert_store":"maybe"}'
expect_error 400 "tidy_cert_store" "tidy with tidy_cert_store maybe"
api POST pki/tidy '{"tidy_expired_issuers":true,"issuer_safety_buffer":"0s"}'
expect_error 400 "issuer_safety_buffer" "tidy with issuer_safety_buffer 0s"
api GET pki/tidy-status
[ "$(jget .data.state)" = Inactive ] || { show "$RESP"; die "a refused tidy changed tidy-status"; }
pass "tidy-status before any run; bad tidy input refused (400 naming the field), nothing started"

# ---- what each flag removes, after the buffer ----
issue x1 2s
issue x2 2s
issue r1 2s
issue k1 2h
issue rk 2h
for n in r1 rk; do
    api POST pki/revoke "{\"serial_number\":\"$(cat $n.serial)\"}"
    expect 200 "revoke $n"
done
sleep 4
api POST pki/tidy '{"tidy_cert_store":true,"safety_buffer":"1h"}'
expect 202 "tidy with a 1h buffer"
has_warning "Tidy operation successfully started" || { show "$RESP"; die "tidy: no started warning"; }
tidy_wait Finished "1h buffer"
[ "$(jget .data.cert_store_deleted_count)" = 0 ] || { show "$RESP"; die "tidy removed certificates inside the safety buffer"; }
for n in x1 x2 r1 k1 rk; do stored $n || die "$n gone after a tidy whose safety buffer covers it"; done
pass "tidy_cert_store with safety_buffer 1h removes nothing that expired 4 s ago"

api POST pki/tidy '{"tidy_cert_store":true,"safety_buffer":"1s"}'
expect 202 "tidy_cert_store"
tidy_wait Finished "tidy_cert_store"
[ "$(jget .data.cert_store_deleted_count)" = 2 ] || { show "$RESP"; die "tidy_cert_store: deleted count is not 2"; }
[ "$(jget .data.revoked_cert_deleted_count)" = 0 ] || { show "$RESP"; die "tidy_cert_store removed revoked entries"; }
[ "$(jget .data.tidy_cert_store)" = true ] && [ "$(jget .data.safety_buffer)" = 1 ] ||
    { show "$RESP"; die "tidy-status does not show the run's parameters"; }
jget .data.time_finished | grep -q '^20..-..-..T' || { show "$RESP"; die "tidy-status: no time_finished"; }
for n in x1 x2; do stored $n && die "$n (expired, not revoked) survived tidy_cert_store"; done
for n in r1 k1 rk; do stored $n || die "$n removed by tidy_cert_store"; done
pass "tidy_cert_store removes exactly the expired unrevoked certificates; status shows counts and parameters"

api POST pki/tidy '{"tidy_revoked_certs":true,"safety_buffer":"1s"}'
expect 202 "tidy_revoked_certs"
tidy_wait Finished "tidy_revoked_certs"
[ "$(jget .data.revoked_cert_deleted_count)" = 1 ] || { show "$RESP"; die "tidy_revoked_certs: count is not 1"; }
stored r1 && die "r1 (revoked, expired) survived tidy_revoked_certs"
for n in k1 rk; do stored $n || die "$n removed by tidy_revoked_certs"; done
api GET pki/crl/pem
cp "$RESP" after.crl
openssl crl -in after.crl -CAfile root.pem -verify -noout 2>&1 | grep -q 'verify OK' ||
    die "the CRL after tidy does not verify"
crl_serials after.crl >after.got
grep -qx "$(cat rk.serial)" after.got || { show after.got; die "the unexpired revoked rk left the CRL"; }
grep -qx "$(cat r1.serial)" after.got && die "r1 is still on the CRL after tidy removed it"
api LIST pki/certs/revoked
jget '.data.keys[]' | grep -qx "$(cat r1.serial)" && die "r1 still listed in certs/revoked"
pass "tidy_revoked_certs removes the expired revoked entry; the CRL (openssl-verified) keeps the unexpired one"

# ---- cancel; a second tidy while one runs ----
i=0
while [ $i -lt 40 ]; do issue c$i 2s; i=$((i + 1)); done
# ttl 2s + safety_buffer 1s in whole seconds: 3 s can leave the newest
# certificates inside the buffer on a fast machine.
sleep 5
api POST pki/tidy '{"tidy_cert_store":true,"safety_buffer":"1s","pause_duration":"5s"}'
expect 202 "tidy with a 5s pause"
api POST pki/tidy '{"tidy_cert_store":true,"safety_buffer":"1s"}'
expect 200 "a second tidy while one runs"
has_warning "already in progress" || { show "$RESP"; die "second tidy: no 'already in progress' warning"; }
api POST pki/tidy-cancel
expect 200 "tidy-cancel"
[ "$(jget .data.state)" = Cancelling ] || { show "$RESP"; die "tidy-cancel: state is not Cancelling"; }
tidy_wait Cancelled "cancel"
n=$(jget .data.cert_store_deleted_count)
[ "$n" -lt 40 ] || { show "$RESP"; die "cancel: the tidy went on to the end ($n deleted)"; }
[ "$(jget .data.pause_duration)" = 5s ] || { show "$RESP"; die "tidy-status: pause_duration is not 5s"; }
left=0
i=0
while [ $i -lt 40 ]; do stored c$i && left=$((left + 1)); i=$((i + 1)); done
[ $((left + n)) = 40 ] || die "cancel: $n deleted but $left of 40 left"
pass "tidy-cancel stops a paused tidy at its checkpoint ($n of 40 removed), state Cancelling then Cancelled"

# ---- tidy during concurrent issuance loses nothing ----
api POST pki/tidy '{"tidy_cert_store":true,"safety_buffer":"1s","pause_duration":"50ms"}'
expect 202 "tidy during issuance"
for w in 1 2 3; do
    (
        j=0
        while [ $j -lt 15 ]; do
            curl $CURL_TLS -s -H "X-Vault-Token: $TOKEN" -H 'Content-Type: application/json' \
                --data-binary "{\"common_name\":\"p$w-$j.example.com\",\"ttl\":\"1h\"}" \
                "$ADDR/v1/pki/issue/web" | jq -r '.data.serial_number // "FAILED"'
            j=$((j + 1))
        done
    ) >par$w.serials &
    pids="${pids:-} $!"
done
# Only the issuers: a bare wait would wait for the daemon too.
for p in $pids; do wait "$p"; done
tidy_wait Finished "tidy during issuance"
cat par1.serials par2.serials par3.serials >par.serials
grep -q FAILED par.serials && die "an issuance failed during tidy"
[ "$(wc -l <par.serials)" = 45 ] || die "not 45 serials issued during tidy"
while read -r s; do
    api GET "pki/cert/$s"
    expect 200 "certificate $s issued during tidy"
done <par.serials
i=0
while [ $i -lt 40 ]; do stored c$i && die "c$i (expired) survived the finished tidy"; i=$((i + 1)); done
pass "a tidy during 45 concurrent issuances loses none of them and removes the rest of the expired ones"

# ---- config/auto-tidy ----
api GET pki/config/auto-tidy
expect 200 "config/auto-tidy read"
[ "$(jget '[.data.enabled, .data.interval_duration, .data.safety_buffer, .data.issuer_safety_buffer,
           .data.pause_duration, .data.tidy_cert_store] | map(tostring) | join(",")')" = \
    "false,43200,259200,31536000,0s,false" ] || { show "$RESP"; die "config/auto-tidy: not OpenBao's defaults"; }
api POST pki/config/auto-tidy '{"enabled":true,"interval_duration":"0s"}'
expect_error 400 "interval_duration" "auto-tidy interval 0s"
api POST pki/config/auto-tidy '{"publish_stored_certificate_count_metrics":true}'
expect_error 400 "maintain_stored_certificate_counts" "auto-tidy metrics without counts"
api GET pki/config/auto-tidy
[ "$(jget .data.enabled)" = false ] || die "a refused config/auto-tidy changed it"
issue z 2s
api POST pki/config/auto-tidy '{"enabled":true,"interval_duration":"2s","tidy_cert_store":true,"safety_buffer":"1s"}'
expect 200 "config/auto-tidy write"
[ "$(jget .data.interval_duration)" = 2 ] && [ "$(jget .data.tidy_cert_store)" = true ] ||
    { show "$RESP"; die "config/auto-tidy write did not answer the new settings"; }
i=0
while stored z; do
    i=$((i + 1))
    [ $i -lt 60 ] || die "auto-tidy never removed z"
    sleep 0.5
done
api GET pki/tidy-status
jget .data.last_auto_tidy_finished | grep -q '^20..-..-..T' || { show "$RESP"; die "no last_auto_tidy_finished"; }
api POST pki/config/auto-tidy '{"enabled":false}'
expect 200 "auto-tidy off"
pass "config/auto-tidy: OpenBao's defaults, validation, and a run on its interval"

# ---- expired issuers ----
# e1 expires and goes; e2 expires but signed a leaf that outlives it
# (leaf_not_after_behavior permit) and stays; e3 expires but is the default
# and stays; root never expires here.
# Room for three key generations on a loaded machine before they expire.
soon_s=$(($(date +%s) + 10))
soon=$(date -u -d "@$soon_s" +%Y-%m-%dT%H:%M:%SZ)
for n in e1 e2 e3; do
    api POST pki/root/generate/internal "{\"common_name\":\"Root $n\",\"key_type\":\"ec\",\"key_bits\":256,
        \"issuer_name\":\"$n\",\"not_after\":\"$soon\"}"
    expect 200 "root $n"
done
api PATCH pki/issuer/e2 '{"leaf_not_after_behavior":"permit"}'
expect 200 "e2 permits leaves that outlive it"
api POST pki/roles/e2web '{"allowed_domains":"example.com","allow_subdomains":true,"issuer_ref":"e2"}'
expect 200 "role e2web"
api POST pki/issue/e2web '{"common_name":"long.example.com","ttl":"1h"}'
expect 200 "a leaf of e2 that outlives it"
api POST pki/config/issuers '{"default":"e3"}'
expect 200 "e3 is the default"
while [ "$(date +%s)" -le $((soon_s + 2)) ]; do sleep 0.5; done
api POST pki/tidy '{"tidy_expired_issuers":true,"issuer_safety_buffer":"1h"}'
expect 202 "tidy_expired_issuers with a 1h buffer"
tidy_wait Finished "expired issuers, 1h buffer"
api GET pki/issuer/e1
expect 200 "e1 kept inside its issuer_safety_buffer"
api POST pki/tidy '{"tidy_expired_issuers":true,"issuer_safety_buffer":"1s"}'
expect 202 "tidy_expired_issuers"
tidy_wait Finished "expired issuers"
[ "$(jget .data.tidy_expired_issuers)" = true ] && [ "$(jget .data.issuer_safety_buffer)" = 1 ] ||
    { show "$RESP"; die "tidy-status does not show tidy_expired_issuers and its buffer"; }
api GET pki/issuer/e1
expect 404 "e1 (expired, no valid leaves, not default) removed"
for n in e2 e3 root; do
    api GET "pki/issuer/$n"
    expect 200 "issuer $n kept"
done
pass "tidy_expired_issuers removes an expired issuer past its buffer, never the default or one with valid leaves"

# ---- audit ----
grep -q '"pki/tidy"' "$STATE/audit.log" && grep -q '"pki/tidy-cancel"' "$STATE/audit.log" &&
    grep -q '"pki/config/auto-tidy"' "$STATE/audit.log" || die "tidy requests are not in the audit log"
pass "tidy, tidy-cancel and config/auto-tidy are audited"

api_finish
pass "tidy"
