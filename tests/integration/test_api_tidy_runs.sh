#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# What a tidy run does beyond removing rows, through the real daemon
# (hsmcad -dev): an OCSP answer cached for a certificate that tidy removed is
# not served again (openssl ocsp reads "unknown"); maintain_stored_
# certificate_counts shows in tidy-status and publish_... in sys/metrics,
# equal to sqlite3's own counts after concurrent issuance, revocation and
# tidy; tidy_revoked_cert_issuer_associations gives a revoked certificate
# whose issuer was deleted and imported again back to that issuer (its CRL,
# judged by openssl, lists it again), never to a same-named CA that did not
# sign it; every run -- manual, cancelled, auto-tidy -- leaves a start and an
# end entry in the audit log, which `hsmca audit verify` accepts.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
. "$HERE/../lib/daemon.sh"
. "$HERE/api_pki_lib.sh"

need_tool curl jq openssl awk sqlite3 cmp
need_env HSMCA_CLI
W=$(workdir api_tidy_runs)
api_start "$W" -crl-check-interval=1s
cd "$W"
DB=$STATE/hsmca.db
LOG=$STATE/audit.log

# issue MOUNT ROLE NAME TTL: NAME.serial and NAME.pem.
issue() {
    api POST "$1/issue/$2" "{\"common_name\":\"$3.example.com\",\"ttl\":\"$4\"}"
    expect 200 "issue $3"
    data serial_number >"$3.serial"
    data certificate >"$3.pem"
}

revoke() { # MOUNT NAME
    api POST "$1/revoke" "{\"serial_number\":\"$(cat "$2.serial")\"}"
    expect 200 "revoke $2"
}

# tidy_wait MOUNT STATE what: polls tidy-status until state is STATE.
tidy_wait() {
    _i=0
    while :; do
        api GET "$1/tidy-status"
        expect 200 "tidy-status ($3)"
        [ "$(jget .data.state)" = "$2" ] && return 0
        _i=$((_i + 1))
        [ $_i -lt 150 ] || { show "$RESP"; die "$3: tidy state never became $2"; }
        sleep 0.2
    done
}

# ocsp_ask REQ OUT: POST an OCSP request to pki.
ocsp_ask() {
    _st=$(curl -s -o "$2" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
        --data-binary "@$1" "$ADDR/v1/pki/ocsp") || _st=000
    [ "$_st" = 200 ] || die "OCSP POST answered $_st"
}

# ocsp_status RESP CERT: good, revoked or unknown, as openssl reads it
# (signature checked against the root).
ocsp_status() {
    openssl ocsp -respin "$1" -issuer root.pem -cert "$2" -CAfile root.pem 2>ocsp.err |
        sed -n "s|^$2: \([a-z]*\).*|\1|p" | head -1
}

sql() { sqlite3 -readonly "$DB" "$1"; }

api POST pki/root/generate/internal "{\"common_name\":\"Root\",\"key_type\":\"ec\",\"key_bits\":256,
    \"issuer_name\":\"root\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
expect 200 "root"
data certificate >root.pem
api POST pki/roles/web '{"allowed_domains":"example.com","allow_subdomains":true}'
expect 200 "role web"

# ---- a cached OCSP answer does not outlive tidy ----
issue pki web a1 2s
issue pki web a2 2s
issue pki web k1 1h
openssl ocsp -no_nonce -issuer root.pem -cert a1.pem -reqout a1.req >/dev/null 2>&1 || die "openssl ocsp -reqout"
ocsp_ask a1.req a1.first.der
ocsp_ask a1.req a1.second.der
# ECDSA signatures are randomised: equal bytes are one cached signature.
cmp -s a1.first.der a1.second.der || die "precondition: the answer for a1 was not cached"
[ "$(ocsp_status a1.first.der a1.pem)" = good ] || { show ocsp.err; die "a1 is not good before tidy"; }
sleep 4
api POST pki/tidy '{"tidy_cert_store":true,"safety_buffer":"1s"}'
expect 202 "tidy a1, a2"
tidy_wait pki Finished "tidy a1, a2"
[ "$(jget .data.cert_store_deleted_count)" = 2 ] || { show "$RESP"; die "tidy: cert_store_deleted_count is not 2"; }
ocsp_ask a1.req a1.after.der
cmp -s a1.first.der a1.after.der && die "the cached answer for a1 was served after tidy removed a1"
[ "$(ocsp_status a1.after.der a1.pem)" = unknown ] ||
    { show ocsp.err; die "after tidy removed a1, OCSP does not answer unknown"; }
pass "an OCSP answer cached for a certificate is dropped when tidy removes it (openssl: unknown)"

# ---- maintain/publish stored certificate counts ----
api GET pki/tidy-status
jget '.data | has("current_cert_store_count")' | grep -qx false ||
    { show "$RESP"; die "tidy-status shows counts while they are not maintained"; }
curl -s -H "X-Vault-Token: $TOKEN" "$ADDR/v1/sys/metrics" >metrics.txt
grep -q 'hsmca_pki_certificates_stored' metrics.txt && die "sys/metrics publishes counts that are off"
api POST pki/config/auto-tidy '{"maintain_stored_certificate_counts":true}'
expect 200 "maintain counts"
api GET pki/tidy-status
[ "$(jget .data.current_cert_store_count)" = "$(sql "SELECT count(*) FROM certs WHERE mount='pki'")" ] ||
    { show "$RESP"; die "current_cert_store_count differs from sqlite3's count"; }
curl -s -H "X-Vault-Token: $TOKEN" "$ADDR/v1/sys/metrics" >metrics.txt
grep -q 'hsmca_pki_certificates_stored' metrics.txt && die "sys/metrics publishes counts without publish_..."
api POST pki/config/auto-tidy '{"publish_stored_certificate_count_metrics":true}'
expect 200 "publish counts"

# Concurrently: 3 clients issue 12 each, one revokes 10 certificates, and a
# tidy removes 20 expired ones (pausing between batches so that it
# overlaps the rest).
i=0
while [ $i -lt 20 ]; do issue pki web x$i 2s; i=$((i + 1)); done
i=0
while [ $i -lt 10 ]; do issue pki web v$i 1h; i=$((i + 1)); done
before=$(sql "SELECT count(*) FROM certs WHERE mount='pki'")
# ttl 2s + safety_buffer 1s in whole seconds: 3 s can leave the newest
# certificates inside the buffer on a fast machine.
sleep 5
api POST pki/tidy '{"tidy_cert_store":true,"tidy_revoked_certs":true,"safety_buffer":"1s","pause_duration":"300ms"}'
expect 202 "tidy during issuance and revocation"
pids=
for w in 1 2 3; do
    (
        j=0
        while [ $j -lt 12 ]; do
            curl -s -H "X-Vault-Token: $TOKEN" --data-binary "{\"common_name\":\"p$w-$j.example.com\",\"ttl\":\"1h\"}" \
                "$ADDR/v1/pki/issue/web" | jq -r '.data.serial_number // "FAILED"'
            j=$((j + 1))
        done
    ) >par$w.serials &
    pids="$pids $!"
done
(
    i=0
    while [ $i -lt 10 ]; do
        curl -s -o /dev/null -w '%{http_code}\n' -H "X-Vault-Token: $TOKEN" \
            --data-binary "{\"serial_number\":\"$(cat v$i.serial)\"}" "$ADDR/v1/pki/revoke"
        i=$((i + 1))
    done
) >revokes.status &
pids="$pids $!"
for p in $pids; do wait "$p"; done
tidy_wait pki Finished "tidy during issuance and revocation"
cat par1.serials par2.serials par3.serials | grep -q FAILED && die "an issuance failed during tidy"
[ "$(grep -c '^200$' revokes.status)" = 10 ] || { show revokes.status; die "a revocation failed during tidy"; }
stored=$(sql "SELECT count(*) FROM certs WHERE mount='pki'")
revoked=$(sql "SELECT count(*) FROM certs WHERE mount='pki' AND revoked_at IS NOT NULL")
# 36 issued, the 20 x gone, the 10 v revoked.
[ "$stored" = $((before + 36 - 20)) ] && [ "$revoked" = 10 ] ||
    die "sqlite3: $stored stored, $revoked revoked (expected $((before + 36 - 20)), 10)"
[ "$(jget .data.current_cert_store_count)" = "$stored" ] && [ "$(jget .data.current_revoked_cert_count)" = "$revoked" ] ||
    { show "$RESP"; die "tidy-status counts differ from sqlite3 ($stored, $revoked)"; }
curl -s -H "X-Vault-Token: $TOKEN" "$ADDR/v1/sys/metrics" >metrics.txt
grep -qx "hsmca_pki_certificates_stored{mount=\"pki\"} $stored" metrics.txt &&
    grep -qx "hsmca_pki_revoked_certificates_stored{mount=\"pki\"} $revoked" metrics.txt ||
    { show metrics.txt; die "sys/metrics counts differ from sqlite3 ($stored, $revoked)"; }
pass "maintained counts (tidy-status) and published counts (sys/metrics) equal sqlite3's after concurrent issue/revoke/tidy: $stored stored, $revoked revoked"

# ---- tidy_revoked_cert_issuer_associations ----
# Mount pki2: r0 (the default, stays), and two roots with the same name:
# l2 of r2 and l3 of r3, both revoked. Both are deleted; r2's certificate
# is imported again (its key is still in the token), under a new issuer_id.
# Until tidy, l2 names a gone issuer, so (as OpenBao does) it is listed on
# the default r0's CRL -- a CA that never signed it -- and not on r2's.
api POST sys/mounts/pki2 '{"type":"pki"}'
expect 204 "mount pki2"
for n in r0 r2 r3; do
    api POST pki2/root/generate/internal "{\"common_name\":\"Same Name Root\",\"key_type\":\"ec\",\"key_bits\":256,
        \"issuer_name\":\"$n\",\"not_after\":\"$ROOT_NOT_AFTER\"}"
    expect 200 "root $n"
    data certificate >$n.pem
    data issuer_id >$n.id
    api POST pki2/roles/$n "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,\"issuer_ref\":\"$n\"}"
    expect 200 "role $n"
done
issue pki2 r2 l2 1h
issue pki2 r3 l3 1h
revoke pki2 l2
revoke pki2 l3
for n in r2 r3; do
    api DELETE "pki2/issuer/$n"
    # 200 with a warning for the default issuer, 204 otherwise
    case $STATUS in 200 | 204) ;; *) show "$RESP"; die "delete issuer $n: status $STATUS" ;; esac
done
jq -n --rawfile p r2.pem '{pem_bundle: $p}' >import.json
api POST pki2/issuers/import/cert "$(cat import.json)"
expect 200 "import r2 again"
new=$(jget '.data.imported_issuers[0]')
[ -n "$new" ] && [ "$new" != null ] && [ "$new" != "$(cat r2.id)" ] || { show "$RESP"; die "r2 not imported under a new id"; }
api GET pki2/crl/rotate
expect 200 "rotate pki2's CRLs"
api GET "pki2/issuer/$new/crl/pem"
expect 200 "CRL of the imported r2"
cp "$RESP" before.crl
on_crl() { # CRL NAME: is NAME's serial on the CRL?
    openssl crl -in "$1" -noout -text | grep -qi "Serial Number: $(tr -d ':' <"$2.serial")\$"
}
on_crl before.crl l2 && die "precondition: l2 already on the imported r2's CRL"
api GET pki2/issuer/r0/crl/pem
cp "$RESP" r0.before.crl
on_crl r0.before.crl l2 || die "precondition: l2 (issuer gone) is not on the default issuer's CRL"
api POST pki2/tidy '{"tidy_revoked_cert_issuer_associations":true}'
expect 202 "tidy associations"
tidy_wait pki2 Finished "tidy associations"
[ "$(jget .data.missing_issuer_cert_count)" = 2 ] || { show "$RESP"; die "missing_issuer_cert_count is not 2 (l2, l3)"; }
api GET "pki2/issuer/$new/crl/pem"
cp "$RESP" after.crl
openssl crl -in after.crl -CAfile r2.pem -verify -noout 2>&1 | grep -q 'verify OK' || die "r2's CRL after tidy does not verify"
on_crl after.crl l2 || die "l2 is not on the imported r2's CRL after tidy_revoked_cert_issuer_associations"
on_crl after.crl l3 && die "l3 (signed by r3, same name as r2) was associated with r2"
api GET pki2/issuer/r0/crl/pem
cp "$RESP" r0.after.crl
on_crl r0.after.crl l2 && die "l2 is still on the default r0's CRL after it was associated with r2"
on_crl r0.after.crl l3 || die "l3 (issuer still gone) left the default issuer's CRL"
[ "$(sql "SELECT issuer_id FROM certs WHERE mount='pki2' AND serial_len > 0 AND issuer_id = '$new'" | wc -l)" = 1 ] ||
    die "sqlite3: not exactly one certificate now names the imported r2"
api POST pki2/tidy '{"tidy_revoked_cert_issuer_associations":true}'
expect 202 "tidy associations again"
tidy_wait pki2 Finished "tidy associations again"
[ "$(jget .data.missing_issuer_cert_count)" = 1 ] || { show "$RESP"; die "second run: missing_issuer_cert_count is not 1 (l3)"; }
pass "tidy_revoked_cert_issuer_associations: l2 back on its re-imported issuer's CRL (openssl-verified), l3 (same-named CA) left alone"

# ---- a cancelled run and an auto-tidy run ----
i=0
while [ $i -lt 20 ]; do issue pki web c$i 2s; i=$((i + 1)); done
# Past notAfter (ttl 2s) plus the 1s safety buffer with whole seconds on
# both sides: 3 s was too short on an idle machine (all 20 issued in one
# second were still within the buffer, so the tidy found nothing, finished
# at once and the cancel below got 400). More than 16 (one batch) must be
# eligible so that the run pauses.
sleep 5
api POST pki/tidy '{"tidy_cert_store":true,"safety_buffer":"1s","pause_duration":"5s"}'
expect 202 "tidy to cancel"
api POST pki/tidy-cancel
expect 200 "tidy-cancel"
tidy_wait pki Cancelled "cancel"
issue pki web z 2s
api POST pki/config/auto-tidy '{"enabled":true,"interval_duration":"2s","tidy_cert_store":true,"safety_buffer":"1s"}'
expect 200 "auto-tidy on"
i=0
while :; do
    api GET pki/tidy-status
    jget .data.last_auto_tidy_finished | grep -q '^20' && [ "$(jget .data.state)" = Finished ] && break
    i=$((i + 1))
    [ $i -lt 60 ] || { show "$RESP"; die "auto-tidy never ran"; }
    sleep 0.5
done
api POST pki/config/auto-tidy '{"enabled":false}'
expect 200 "auto-tidy off"
tidy_wait pki Finished "auto-tidy settled"

# ---- the audit log ----
api_finish
# audit_has FILTER: some entry of the log matches the jq condition.
audit_has() { [ -n "$(jq -c "select($1)" "$LOG")" ]; }
runs=$(jq -r 'select(.details.phase == "tidy-start") | .details.run_id' "$LOG" | sort)
ends=$(jq -r 'select(.details.phase == "tidy-end") | .details.run_id' "$LOG" | sort)
[ -n "$runs" ] && [ "$runs" = "$ends" ] || die "audit: tidy-start and tidy-end entries do not pair up"
[ "$(printf '%s\n' "$runs" | sort -u | wc -l)" = "$(printf '%s\n' "$runs" | wc -l)" ] || die "audit: a run id repeats"
audit_has '.details.phase == "tidy-end" and .mount == "pki" and .path == "pki/tidy" and
        .details.trigger == "manual" and .details.state == "Finished" and .details.cert_store_deleted_count == 2
        and .details.tidy_cert_store == true and .details.safety_buffer == 1 and .status == 200' ||
    die "audit: no end entry of the first manual tidy with its parameters and count"
audit_has '.details.phase == "tidy-end" and .details.state == "Finished" and .details.revoked_cert_deleted_count == 0
        and .details.cert_store_deleted_count == 20 and .details.pause_ms == 300' ||
    die "audit: no end entry of the tidy during issuance (20 removed, pause 300ms)"
audit_has '.details.phase == "tidy-end" and .mount == "pki2" and .details.missing_issuer_cert_count == 2
        and .details.issuer_associations_fixed_count == 1' ||
    die "audit: no end entry of the association run (2 missing, 1 associated)"
audit_has '.details.phase == "tidy-end" and .details.state == "Cancelled"' ||
    die "audit: no end entry of the cancelled run"
audit_has '.details.phase == "tidy-start" and .details.trigger == "auto-tidy"' &&
    audit_has '.details.phase == "tidy-end" and .details.trigger == "auto-tidy" and .details.state == "Finished"' ||
    die "audit: no start and end entries of the auto-tidy run"
grep -qF "$TOKEN" "$LOG" && die "audit: the root token is in the log"
SOFTHSM2_CONF=$STATE/softhsm2.conf "$HSMCA_CLI" --module "$(sed -n 's/.*through .\(.*softhsm2.so\).*/\1/p' "$DAEMON_LOG" | head -1)" \
    --token hsmca-dev --pin-file "$STATE/pin" audit verify "$LOG" >verify.out 2>&1 ||
    { show verify.out; die "hsmca audit verify refused the log with tidy entries"; }
grep -q "^ok: " verify.out || { show verify.out; die "audit verify did not say ok"; }
pass "every tidy run (manual, cancelled, auto-tidy, associations) has start and end audit entries; $(cat verify.out)"

pass "tidy runs"
