#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Storage failure (issue 9, item 2): a SQLite trigger, added to the live
database of a running hsmcad, aborts the final certificate insert for one
test domain (fail.example.com) while other domains keep being issued.

Pass criteria, checked here:
  - a request for the test domain (sign and issue) gets an error and no
    certificate (no "certificate" or "private_key" in the body);
  - each such request left exactly one intent record without a certificate;
  - other domains are issued and stored as usual meanwhile;
  - revoking such a serial (POST pki/revoke) puts it on the CRL (pki/crl,
    judged by python3-cryptography). OCSP is checked once the responder
    exists (pki/ocsp answers); until then that part is reported as waiting.

  storage_failure.py --workdir DIR [--hsmcad PATH] [--rounds N]
Run time: a few seconds (--rounds 5), under a minute at --rounds 50."""

import argparse
import os
import shutil
import sqlite3
import time

import rel_common as rc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

TRIGGER = ("CREATE TRIGGER fail_cert BEFORE INSERT ON certs "
           "WHEN instr(NEW.der, CAST('fail.example.com' AS BLOB)) > 0 "
           "BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END")


def orphans(db, since):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    rows = c.execute(
        "SELECT serial, serial_len, role FROM intents i WHERE i.mount = ? AND i.created >= ? AND NOT EXISTS "
        "(SELECT 1 FROM certs c WHERE c.mount = i.mount AND c.serial = i.serial)", (rc.MOUNT, since)).fetchall()
    c.close()
    return [(bytes(s[20 - n:]), r) for s, n, r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hsmcad", default=os.environ.get("HSMCAD"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--require-revocation", action="store_true",
                    help="fail (not just report) when an intent-only serial cannot be revoked")
    a = ap.parse_args()
    if not a.hsmcad:
        rc.fail("--hsmcad or $HSMCAD names the daemon")
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    token = "storage-root"
    d = rc.Daemon(a.hsmcad, os.path.join(a.workdir, "state"), rc.free_port(), token)
    d.start()
    root = rc.setup_ca(d.port, token)
    csr_fail = rc.make_csrs(1, "fail.example.com")[0]
    cl = rc.Client(d.port, token)

    st, _, doc = cl.call("POST", f"{rc.MOUNT}/issue/web", {"common_name": "ok.example.com"})
    if st != 200:
        rc.fail(f"issue before the trigger: {st} {doc}")

    since = int(time.time()) - 1
    db = sqlite3.connect(d.db_path, timeout=30)
    db.execute(TRIGGER)
    db.commit()
    db.close()

    failed = 0
    good = []
    for i in range(a.rounds):
        for path, body in ((f"{rc.MOUNT}/issue/web", {"common_name": "fail.example.com"}),
                           (f"{rc.MOUNT}/sign/web", {"csr": csr_fail, "common_name": "fail.example.com"})):
            st, _, doc = cl.call("POST", path, body)
            text = repr(doc)
            if i == 0:
                rc.log(f"{path} for the failing domain: {st} {text[:200]}")
            if st < 500 or "BEGIN CERTIFICATE" in text or "PRIVATE KEY" in text:
                rc.fail(f"{path} for the failing domain answered {st} with {text[:300]}")
            failed += 1
        st, _, doc = cl.call("POST", f"{rc.MOUNT}/issue/web", {"common_name": f"ok{i}.example.com"})
        if st != 200:
            rc.fail(f"issue of another domain with the trigger in place: {st} {doc}")
        good.append((doc["data"]["serial_number"],
                     x509.load_pem_x509_certificate(doc["data"]["certificate"].encode())
                     .public_bytes(serialization.Encoding.DER)))
    orph = orphans(d.db_path, since)
    if len(orph) != failed:
        rc.fail(f"{failed} failed insertions left {len(orph)} intents without a certificate (want one each)")
    with open(f"{d.state_dir}.log.1", errors="replace") as fh:
        logtext = fh.read()
    for serial, _ in orph:
        if f"{rc.serial_hex(int.from_bytes(serial, 'big'))} (intent kept" not in logtext:
            rc.fail(f"the daemon log does not name the kept intent {serial.hex()}")
    rc.log(f"ok: {failed} failed insertions, no certificate returned, {len(orph)} intents kept")
    figures, problems = rc.judge(d.db_path, good, root)
    if problems:
        rc.fail("other domains under the trigger: " + "; ".join(problems[:5]))

    # revoking a serial whose certificate was never stored
    serial = orph[0][0]
    sn = rc.serial_hex(int.from_bytes(serial, "big"))
    st, _, doc = cl.call("POST", f"{rc.MOUNT}/revoke", {"serial_number": sn})
    revoke = "waiting"
    if st == 404 and doc is not None and "errors" in doc and "revoke" not in repr(doc):
        rc.log("pki/revoke is not served: the revocation part waits on issue 5")
    elif st != 200:
        # Known gap (docs/reliability.md): revocation needs a stored
        # certificate, so a serial whose certificate never reached the
        # database cannot be put on the CRL yet.
        msg = f"revoking {sn} (intent kept, certificate not stored) answered {st}: {doc}"
        if a.require_revocation:
            rc.fail(msg)
        rc.log("PENDING: " + msg)
        revoke = f"PENDING (pki/revoke answers {st} for an intent-only serial)"
    else:
        import http.client
        h = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
        h.request("GET", f"/v1/{rc.MOUNT}/crl")
        r = h.getresponse()
        der = r.read()
        if r.status != 200:
            rc.fail(f"GET pki/crl: {r.status}")
        crl = x509.load_der_x509_crl(der)
        if crl.get_revoked_certificate_by_serial_number(int.from_bytes(serial, "big")) is None:
            rc.fail(f"serial {sn} was revoked but is not on the CRL")
        if not crl.is_signature_valid(root.public_key()):
            rc.fail("the CRL does not verify under the root")
        revoke = "crl"
        h.request("GET", f"/v1/{rc.MOUNT}/ocsp")
        r = h.getresponse()
        r.read()
        ocsp = "waiting on issue 5 (no OCSP responder)" if r.status == 404 else f"pki/ocsp answers {r.status}: add the check"
        rc.log(f"ok: revoked {sn} is on the CRL; OCSP: {ocsp}")
    d.stop()
    print(f"ok: storage failure: {failed} aborted inserts, 0 certificates returned, "
          f"{len(orph)} intents kept, other domains stored; revocation: {revoke}")


if __name__ == "__main__":
    main()
