#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""OCSP truthfulness (issue 9, item 5) against the real hsmcad.

1. --serials random serials that were never issued (1..20 octets, positive,
   none of them a serial of the mount) are sent to pki/ocsp in requests of
   1, 2, 5, 8, 16 and 32 CertIDs, alternating GET and POST, with and without
   a nonce; a few requests also carry a known good and a known revoked
   serial as controls (so a responder answering everything alike fails).
   Every answer is parsed and its signature verified with python3-
   cryptography: 0 `good` for a never-issued serial; the controls right.
   A sample (--sample) is asked again with `openssl ocsp` (8 per request),
   which must verify the response and print no `good` either.
2. Revoked right after a restart: a certificate's good answer is cached
   (asked twice over GET, the second answer byte-identical: served from the
   cache), it is revoked, and as soon as the revoke call returned the daemon
   is stopped, once with SIGTERM and once with SIGKILL, and started again;
   GET (cryptography) and `openssl ocsp` must both answer revoked.

  ocsp_truth.py --workdir DIR [--hsmcad PATH] [--serials N] [--sample M]
Run time: --serials 2000 about 5 s, --serials 10000 about 20 s (2 cores)."""

import argparse
import http.client
import os
import random
import shutil
import time

import ocsp_judge as oj
import rel_common as rc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

SIZES = (1, 2, 5, 8, 16, 32)
MAX_DER = 2048      # HSMCA_OCSP_REQUEST_MAX: a larger request is malformedRequest
MAX_GET_DER = 1536  # base64 of at most 2047 bytes on the GET path


def issue(cl):
    st, _, doc = cl.call("POST", f"{rc.MOUNT}/issue/web", {"common_name": f"t{random.getrandbits(32)}.example.com"})
    if st != 200:
        rc.fail(f"issue: {st} {doc}")
    return x509.load_pem_x509_certificate(doc["data"]["certificate"].encode()).serial_number


def random_serial(rng, taken):
    while True:
        octets = rng.randint(1, 20)
        n = rng.getrandbits(octets * 8 - 1)  # positive: the sign bit of the top octet clear
        if n > 0 and n not in taken:
            return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hsmcad", default=os.environ.get("HSMCAD"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--serials", type=int, default=10000)
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    if not a.hsmcad:
        rc.fail("--hsmcad or $HSMCAD names the daemon")
    seed = a.seed if a.seed is not None else random.SystemRandom().getrandbits(32)
    rng = random.Random(seed)
    rc.log(f"seed {seed}")
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    token = "ocsp-truth-root"
    d = rc.Daemon(a.hsmcad, os.path.join(a.workdir, "state"), rc.free_port(), token)
    d.start()
    root = rc.setup_ca(d.port, token)
    root_pem = os.path.join(a.workdir, "root.pem")
    with open(root_pem, "wb") as fh:
        fh.write(root.public_bytes(serialization.Encoding.PEM))
    cl = rc.Client(d.port, token)

    good_ctl = [issue(cl) for _ in range(4)]
    revoked_ctl = [issue(cl) for _ in range(2)]
    for s in revoked_ctl:
        rc.api_ok(d.port, token, "POST", f"{rc.MOUNT}/revoke", {"serial_number": rc.serial_hex(s)})
    taken = set(good_ctl) | set(revoked_ctl) | {root.serial_number}
    serials = []
    for _ in range(a.serials):  # distinct: each asked once
        serials.append(random_serial(rng, taken))
        taken.add(serials[-1])
    taken -= set(serials)
    want_ctl = {s: "good" for s in good_ctl} | {s: "revoked" for s in revoked_ctl}

    # 1. every never-issued serial, with the cryptography judge
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    counts = {"good": 0, "revoked": 0, "unknown": 0}
    requests = singles = 0
    t0 = time.monotonic()
    i = 0
    while i < len(serials):
        size = SIZES[requests % len(SIZES)]
        controls = requests % 7 == 3 and size > 2  # controls ride along now and then
        batch = serials[i:i + size - (2 if controls else 0)]
        i += len(batch)
        ask = ([good_ctl[requests % 4], revoked_ctl[requests % 2]] if controls else []) + batch
        nonce = oj.new_nonce() if requests % 3 == 1 else None
        der = oj.build_request(root, ask, nonce)
        while len(der) >= MAX_DER:  # long serials: fewer per request, the rest go next
            i -= 1
            ask.pop()
            der = oj.build_request(root, ask, nonce)
        # GET while its base64 fits the responder's bound, else POST
        use_get = requests % 2 == 0 and len(der) < MAX_GET_DER
        st, _, body = (oj.get if use_get else oj.post)(conn, rc.MOUNT, der)
        requests += 1
        singles += len(ask) == 1
        if st != 200:
            rc.fail(f"request {requests} ({len(ask)} CertIDs, {len(der)} bytes): HTTP {st} {body[:200]!r}")
        try:
            got = oj.parse_statuses(body, root, want_nonce=nonce)
        except Exception as e:  # noqa: BLE001 - any parse or signature failure fails the run
            rc.fail(f"request {requests}: the response does not parse or verify: {e}")
        if set(got) != set(ask):
            rc.fail(f"request {requests}: answered {len(got)} serials, asked {len(ask)}")
        for s, status in got.items():
            if s in want_ctl:
                if status != want_ctl[s]:
                    rc.fail(f"control {rc.serial_hex(s)} answered {status}, want {want_ctl[s]}")
                continue
            counts[status] += 1
            if status == "good":
                rc.fail(f"never-issued serial {rc.serial_hex(s)} answered good (request {requests})")
    conn.close()
    secs = time.monotonic() - t0
    if counts["unknown"] != len(serials):
        rc.fail(f"never-issued serials: {counts} (want all {len(serials)} unknown)")
    rc.log(f"ok: {len(serials)} never-issued serials in {requests} requests ({singles} single) in {secs:.1f} s: "
           f"good {counts['good']}, revoked {counts['revoked']}, unknown {counts['unknown']}")

    # the same with openssl ocsp on a sample, 8 per request
    sample = serials[:a.sample]
    openssl_unknown = 0
    for j in range(0, len(sample), 8):
        part = sample[j:j + 8]
        got, verified, text = oj.openssl_ocsp(d.port, rc.MOUNT, root_pem, part, nonce=(j // 8) % 2 == 1)
        if not verified:
            rc.fail(f"openssl ocsp did not verify a response: {text[:400]}")
        for s in part:
            if got.get(s) != "unknown":
                rc.fail(f"openssl ocsp: never-issued {rc.serial_hex(s)} is {got.get(s)}: {text[:400]}")
            openssl_unknown += 1
    got, verified, text = oj.openssl_ocsp(d.port, rc.MOUNT, root_pem, good_ctl[:1] + revoked_ctl[:1])
    if not verified or got.get(good_ctl[0]) != "good" or got.get(revoked_ctl[0]) != "revoked":
        rc.fail(f"openssl ocsp on the controls: {text[:400]}")
    rc.log(f"ok: openssl ocsp: {openssl_unknown} sampled never-issued serials unknown, controls good/revoked")

    # 2. revoked right after a restart, with a good answer cached first
    for how in ("SIGTERM", "SIGKILL"):
        cl = rc.Client(d.port, token)  # the last restart closed the old connection
        s = issue(cl)
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
        req = oj.build_request(root, [s])
        first = oj.get(conn, rc.MOUNT, req)[2]
        second = oj.get(conn, rc.MOUNT, req)[2]
        conn.close()
        if oj.parse_statuses(first, root).get(s) != "good" or first != second:
            rc.fail(f"{how}: the good answer of {rc.serial_hex(s)} was not served twice from the cache")
        rc.api_ok(d.port, token, "POST", f"{rc.MOUNT}/revoke", {"serial_number": rc.serial_hex(s)})
        if how == "SIGTERM":
            d.stop()
        else:
            d.kill9()
        ready = d.start()
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
        st, _, body = oj.get(conn, rc.MOUNT, req)
        conn.close()
        if st != 200 or oj.parse_statuses(body, root).get(s) != "revoked":
            rc.fail(f"{how}: after the restart GET ocsp for {rc.serial_hex(s)} is not revoked ({st})")
        got, verified, text = oj.openssl_ocsp(d.port, rc.MOUNT, root_pem, [s])
        if not verified or got.get(s) != "revoked":
            rc.fail(f"{how}: openssl ocsp after the restart: {text[:400]}")
        rc.log(f"ok: {how} right after revoking {rc.serial_hex(s)} (its good answer cached): revoked after the "
               f"restart (ready in {ready:.2f} s), GET + openssl ocsp")
    d.stop()
    print(f"ok: OCSP truthfulness: {len(serials)} never-issued serials, 0 good ({requests} requests, "
          f"{openssl_unknown} also by openssl ocsp); revoked after SIGTERM and SIGKILL restarts")


if __name__ == "__main__":
    main()
