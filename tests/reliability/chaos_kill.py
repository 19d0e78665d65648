#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kill -9 chaos (issue 9, item 1): concurrent HTTP clients issue
certificates through pki/sign/web and pki/issue/web while hsmcad is killed
with SIGKILL at random moments and restarted on the same state directory.

Pass criteria, checked here:
  - 0 duplicate serials (among everything clients received and in the database);
  - every certificate a client received is in the database, byte for byte
    (the client-side logs are compared with the certs table);
  - every stored or received serial has its intent record;
  - PRAGMA integrity_check = ok after every restart;
  - ready (sys/health 200) within 5 s of every restart.
Client logs (one JSON line per certificate received) are kept in the work
directory as evidence.

  chaos_kill.py --hsmcad PATH --workdir DIR [--kills N] [--clients N]
                [--min-gap S] [--max-gap S] [--seed N]
Run time is about kills x mean gap plus a few seconds per restart."""

import argparse
import base64
import json
import os
import random
import shutil
import threading
import time

import rel_common as rc
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def client_loop(idx, port, token, csrs, stop, logdir, seed, stats, lock):
    rnd = random.Random(seed * 1000 + idx)
    cl = rc.Client(port, token)
    out = open(os.path.join(logdir, f"client{idx}.jsonl"), "w")
    n = 0
    local = {}
    while not stop.is_set():
        n += 1
        if rnd.random() < 0.5:
            path = f"{rc.MOUNT}/sign/web"
            body = {"csr": rnd.choice(csrs), "common_name": f"s{idx}-{n}.example.com"}
        else:
            path = f"{rc.MOUNT}/issue/web"
            body = {"common_name": f"i{idx}-{n}.example.com"}
        try:
            st, _, doc = cl.call("POST", path, body)
        except Exception as e:  # noqa: BLE001 - the daemon died under us: expected
            local["conn_error"] = local.get("conn_error", 0) + 1
            local[type(e).__name__] = local.get(type(e).__name__, 0) + 1
            time.sleep(0.05)
            continue
        local[st] = local.get(st, 0) + 1
        if st != 200:
            time.sleep(0.02)
            continue
        pem = doc["data"]["certificate"]
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
        out.write(json.dumps({"path": path, "serial_number": doc["data"]["serial_number"],
                              "der": base64.b64encode(der).decode()}) + "\n")
    out.close()
    with lock:
        for k, v in local.items():
            stats[k] = stats.get(k, 0) + v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hsmcad", default=os.environ.get("HSMCAD"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--min-gap", type=float, default=0.5)
    ap.add_argument("--max-gap", type=float, default=3.0)
    ap.add_argument("--ready-within", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    if not a.hsmcad:
        rc.fail("--hsmcad or $HSMCAD names the daemon")

    rnd = random.Random(a.seed)
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    logdir = os.path.join(a.workdir, "clients")
    os.makedirs(logdir)
    rc.log(f"seed {a.seed}, {a.kills} kills every {a.min_gap}-{a.max_gap} s, {a.clients} clients")
    token = "chaos-root"
    d = rc.Daemon(a.hsmcad, os.path.join(a.workdir, "state"), rc.free_port(), token)
    d.start()
    root = rc.setup_ca(d.port, token)
    csrs = rc.make_csrs(8)

    stop = threading.Event()
    stats, lock = {}, threading.Lock()
    threads = [threading.Thread(target=client_loop, daemon=True,
                                args=(i, d.port, token, csrs, stop, logdir, a.seed, stats, lock))
               for i in range(a.clients)]
    for t in threads:
        t.start()
    t_start = time.monotonic()
    ready = []
    for k in range(a.kills):
        time.sleep(rnd.uniform(a.min_gap, a.max_gap))
        d.kill9()
        ready.append(d.start(ready_within=a.ready_within))
        chk = rc.integrity_check(d.db_path)
        if chk != ["ok"]:
            stop.set()
            rc.fail(f"integrity_check after restart {k + 1}: {chk[:5]}")
    # a little load after the last restart, so it is judged too
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t_start
    d.stop()

    def received():
        """The client logs, read lazily (the full run holds a million)."""
        for f in sorted(os.listdir(logdir)):
            with open(os.path.join(logdir, f)) as fh:
                for line in fh:
                    r = json.loads(line)
                    yield r["serial_number"], base64.b64decode(r["der"])

    if next(iter(received()), None) is None:
        rc.fail("no client received any certificate: nothing was tested")
    figures = rc.judge_or_fail(d.db_path, received, root)
    chk = rc.integrity_check(d.db_path)
    if chk != ["ok"]:
        rc.fail(f"integrity_check after the final stop: {chk[:5]}")
    figures.update({
        "kills": a.kills, "clients": a.clients, "seconds": round(elapsed, 1), "seed": a.seed,
        "ready_max_s": round(max(ready), 2), "ready_mean_s": round(sum(ready) / len(ready), 2),
        "responses": {str(k): v for k, v in sorted(stats.items(), key=lambda kv: str(kv[0]))},
    })
    print("figures " + json.dumps(figures), flush=True)
    print(f"ok: kill -9 chaos: {a.kills} kills, {figures['received']} certificates received, "
          f"all stored byte for byte, 0 duplicates, integrity ok, ready within {figures['ready_max_s']} s")


if __name__ == "__main__":
    main()
