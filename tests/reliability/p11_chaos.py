#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PKCS#11 chaos (issue 9, item 3): hsmcad started from a configuration
file whose PKCS#11 module is hsm/fault/hsmca-fault-pkcs11.so in front of
SoftHSM2, under 16 client threads issuing via sign and issue.

  run 1: 1% of all PKCS#11 calls fail with CKR_SESSION_HANDLE_INVALID,
         CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_USER_NOT_LOGGED_IN
         or CKR_OBJECT_HANDLE_INVALID;
  run 2: the SoftHSM2 token directory is moved away mid-run and back.

Pass criteria, checked here:
  - 0 crashes (the same hsmcad process serves to the end, exits 0 on SIGTERM);
  - 0 unsigned, unverifiable or half-stored certificates: every certificate
    received verifies under the root and is stored byte for byte, every
    stored certificate verifies;
  - every failure is 503 with a Retry-After header (no 500s);
  - service resumes without a restart within 5 s of the token returning;
  - sys/health answers 503 (sealed) while the token is away.

  p11_chaos.py --workdir DIR --fault-module SO [--hsmcad PATH] [--seconds N]
Run time: about 2 x --seconds plus a few seconds (CI: --seconds 15)."""

import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time

import rel_common as rc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
FAULT_RVS = ("CKR_SESSION_HANDLE_INVALID,CKR_DEVICE_REMOVED,CKR_TOKEN_NOT_PRESENT,"
             "CKR_USER_NOT_LOGGED_IN,CKR_OBJECT_HANDLE_INVALID")


class Appliance:
    def __init__(self, a):
        self.w = a.workdir
        self.hsmcad = a.hsmcad
        self.fault_conf = os.path.join(self.w, "fault.conf")
        self.counters = os.path.join(self.w, "fault.counters")
        self.tokens = os.path.join(self.w, "tokens")
        os.makedirs(self.tokens)
        conf = os.path.join(self.w, "softhsm2.conf")
        with open(conf, "w") as f:
            f.write(f"directories.tokendir = {self.tokens}\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n")
        self.env = dict(os.environ, SOFTHSM2_CONF=conf, HSMCA_FAULT_CONFIG=self.fault_conf)
        pin = os.urandom(8).hex()
        so = os.urandom(8).hex()
        self.pin_file = os.path.join(self.w, "user.pin")
        fd = os.open(self.pin_file, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, pin.encode())
        os.close(fd)
        # softhsm2-util takes PINs only as arguments; a throwaway test token.
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "chaos",
                        "--so-pin", so, "--pin", pin], env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.faults()
        self.port = rc.free_port()
        self.cfg = os.path.join(self.w, "hsmcad.json")
        with open(self.cfg, "w") as f:
            json.dump({"listen": [f"127.0.0.1:{self.port}"], "tls": {"disable": True},
                       "pkcs11": {"module": a.fault_module, "token_label": "chaos",
                                  "pin_file": self.pin_file, "max_sessions": 16},
                       "storage": {"path": os.path.join(self.w, "hsmca.db")},
                       "audit": {"path": os.path.join(self.w, "audit.log")},
                       "workers": 32, "mounts": ["pki"], "log_level": "info"}, f)
        self.db_path = os.path.join(self.w, "hsmca.db")
        self.proc = None

    def faults(self, *lines):
        """Replaces the fault configuration atomically (re-read within 20 ms)."""
        tmp = self.fault_conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"module = {SOFTHSM}\ncounters = {self.counters}\n")
            for ln in lines:
                f.write(ln + "\n")
            f.write(f"# {time.time_ns()}\n")
        os.rename(tmp, self.fault_conf)

    def counter(self, name):
        try:
            with open(self.counters) as f:
                for ln in f:
                    k, _, v = ln.partition(" ")
                    if k == name:
                        return int(v)
        except OSError:
            pass
        return 0

    def start(self):
        self.log = os.path.join(self.w, "hsmcad.log")
        lf = open(self.log, "wb")
        self.proc = subprocess.Popen([self.hsmcad, "-config", self.cfg], stdout=lf,
                                     stderr=subprocess.STDOUT, env=self.env)
        rc.DAEMONS.append(self.proc)
        lf.close()
        t0 = time.monotonic()
        tokfile = self.db_path + ".root-token"
        while True:
            if self.proc.poll() is not None:
                rc.fail(f"hsmcad exited {self.proc.returncode} during start (log {self.log})")
            if os.path.exists(tokfile) and self.health() == 200:
                break
            if time.monotonic() - t0 > 30:
                rc.fail(f"hsmcad not healthy within 30 s (log {self.log})")
            time.sleep(0.05)
        with open(tokfile) as f:
            self.token = f.read().strip()

    def health(self):
        return rc.Daemon.health(self)

    def alive(self):
        return self.proc.poll() is None


def client_loop(idx, app, csrs, stop, results, lock):
    rnd = random.Random(idx)
    cl = rc.Client(app.port, app.token)
    local = {"codes": {}, "received": [], "no_retry_after": 0, "errors500": [], "t_ok": [], "t_fail": []}
    n = 0
    while not stop.is_set():
        n += 1
        if rnd.random() < 0.5:
            path, body = f"{rc.MOUNT}/sign/web", {"csr": rnd.choice(csrs)}
        else:
            path, body = f"{rc.MOUNT}/issue/web", {"common_name": f"p{idx}-{n}.example.com"}
        try:
            st, hdrs, doc = cl.call("POST", path, body)
        except Exception as e:  # noqa: BLE001 - hsmcad must never drop a connection here
            local["codes"]["conn:" + type(e).__name__] = local["codes"].get("conn:" + type(e).__name__, 0) + 1
            time.sleep(0.05)
            continue
        now = time.monotonic()
        local["codes"][st] = local["codes"].get(st, 0) + 1
        if st == 200:
            pem = doc["data"]["certificate"]
            local["received"].append((doc["data"]["serial_number"], x509.load_pem_x509_certificate(pem.encode())
                                      .public_bytes(serialization.Encoding.DER)))
            local["t_ok"].append(now)
        else:
            local["t_fail"].append(now)
            if st == 503 and not hdrs.get("Retry-After"):
                local["no_retry_after"] += 1
            if st != 503 and len(local["errors500"]) < 3:
                local["errors500"].append(f"{st} {doc}")
            text = repr(doc)
            if "BEGIN CERTIFICATE" in text or "PRIVATE KEY" in text:
                local["errors500"].append(f"a failure carried a certificate or key: {text[:200]}")
            time.sleep(0.01)
    with lock:
        results.append(local)


def run_load(app, csrs, seconds, during=None):
    stop = threading.Event()
    results, lock = [], threading.Lock()
    threads = [threading.Thread(target=client_loop, daemon=True, args=(i, app, csrs, stop, results, lock)) for i in range(16)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    extra = during(t0) if during else None
    while time.monotonic() - t0 < seconds:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    agg = {"codes": {}, "received": [], "no_retry_after": 0, "errors500": [], "t_ok": [], "t_fail": []}
    for r in results:
        for k, v in r["codes"].items():
            agg["codes"][str(k)] = agg["codes"].get(str(k), 0) + v
        for k in ("received", "errors500", "t_ok", "t_fail"):
            agg[k] += r[k]
        agg["no_retry_after"] += r["no_retry_after"]
    return agg, extra


def check_run(name, app, agg, root):
    if not app.alive():
        rc.fail(f"{name}: hsmcad died (exit {app.proc.returncode}; log {app.log})")
    bad = [k for k in agg["codes"] if k not in ("200", "503")]
    if bad:
        rc.fail(f"{name}: answers other than 200/503: {agg['codes']}; e.g. {agg['errors500'][:3]}")
    if agg["errors500"]:
        rc.fail(f"{name}: {agg['errors500'][:3]}")
    if agg["no_retry_after"]:
        rc.fail(f"{name}: {agg['no_retry_after']} of {agg['codes'].get('503', 0)} 503 answers had no Retry-After")
    if not agg["received"]:
        rc.fail(f"{name}: no certificate issued at all")
    figures, problems = rc.judge(app.db_path, agg["received"], root)
    if problems:
        rc.fail(f"{name}: " + "; ".join(problems[:5]))
    return figures


def all_stored_verify(db_path, root):
    import sqlite3
    c = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    n = 0
    for (der,) in c.execute("SELECT der FROM certs WHERE mount = ? AND issuer_id != ''", (rc.MOUNT,)):
        cert = x509.load_der_x509_certificate(bytes(der))
        if cert.issuer != root.subject:
            continue
        try:
            root.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                     ec.ECDSA(cert.signature_hash_algorithm))
        except Exception:  # noqa: BLE001
            rc.fail(f"stored certificate {cert.serial_number:x} does not verify under the root")
        n += 1
    c.close()
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hsmcad", default=os.environ.get("HSMCAD"))
    ap.add_argument("--fault-module", default=os.environ.get("HSMCA_FAULT_MODULE"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--away", type=float, default=3.0, help="seconds the token directory stays away")
    a = ap.parse_args()
    if a.seconds / 3 + a.away + 2 > a.seconds:
        rc.fail(f"--seconds {a.seconds} leaves no time to judge the resumption (need >= (--away + 2) * 1.5)")
    if not a.hsmcad or not a.fault_module:
        rc.fail("--hsmcad/$HSMCAD and --fault-module/$HSMCA_FAULT_MODULE are needed")
    if not os.path.exists(SOFTHSM):
        print(f"skip: {SOFTHSM} is not installed")
        sys.exit(77)
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    app = Appliance(a)
    app.start()
    root = rc.setup_ca(app.port, app.token)
    csrs = rc.make_csrs(8)
    out = {}

    # ---- run 1: 1% of every PKCS#11 call fails ----
    if os.environ.get("P11_CHAOS_SKIP_FAULTS"):
        a.seconds_faults = 0.5
    else:
        a.seconds_faults = a.seconds
    app.faults(f"fail = * probability=0.01 rv={FAULT_RVS}")
    agg, _ = run_load(app, csrs, a.seconds_faults)
    app.faults()
    injected = app.counter("injected") or app.counter("failed")
    f1 = check_run("1% faults", app, agg, root)
    out["faults"] = {"codes": agg["codes"], "received": f1["received"], "orphan_intents": f1["orphan_intents"],
                     "injected": injected}
    if agg["codes"].get("503", 0) == 0:
        rc.fail(f"1% faults: not one request failed ({agg['codes']}; counters {open(app.counters).read()!r}):"
                " the faults proved nothing")
    rc.log(f"run 1 ok: {json.dumps(out['faults'])}")

    # ---- run 2: the token directory moved away and back ----
    moves = {}

    def mover(t0):
        def go():
            time.sleep(a.seconds / 3)
            os.rename(app.tokens, app.tokens + ".away")
            moves["away"] = time.monotonic()
            health = []
            while time.monotonic() - moves["away"] < a.away:
                health.append(app.health())
                time.sleep(0.2)
            os.rename(app.tokens + ".away", app.tokens)
            moves["back"] = time.monotonic()
            moves["health_away"] = health
            t = time.monotonic()
            while app.health() != 200 and time.monotonic() - t < 10:
                time.sleep(0.05)
            moves["health_back_s"] = time.monotonic() - moves["back"]
        th = threading.Thread(target=go)
        th.start()
        return th

    agg, th = run_load(app, csrs, a.seconds, mover)
    th.join()
    fails_in = [t for t in agg["t_fail"] if moves["away"] <= t]
    oks_after = [t for t in agg["t_ok"] if t > moves["back"]]
    last_fail = max(agg["t_fail"]) if agg["t_fail"] else None
    resume = (min(oks_after) - moves["back"]) if oks_after else None
    out["token_moved"] = {"codes": agg["codes"], "received": len(agg["received"]),
                          "health_while_away": sorted(set(moves["health_away"])),
                          "health_200_after_s": round(moves["health_back_s"], 2),
                          "first_ok_after_return_s": None if resume is None else round(resume, 2),
                          "last_failure_after_return_s": None if last_fail is None or last_fail < moves["back"]
                          else round(last_fail - moves["back"], 2),
                          "failures_while_away": len(fails_in)}
    rc.log(f"run 2: {json.dumps(out['token_moved'])}")
    check_run("token directory moved", app, agg, root)
    if resume is None or resume > 5:
        rc.fail(f"token moved: service did not resume within 5 s of the token returning ({resume})")
    if moves["health_back_s"] > 5:
        rc.fail(f"token moved: sys/health not 200 within 5 s of the token returning")
    if 503 not in moves["health_away"]:
        rc.fail(f"token moved: sys/health never reported the outage (saw {sorted(set(moves['health_away']))})")
    if out["token_moved"]["last_failure_after_return_s"] is not None and \
            out["token_moved"]["last_failure_after_return_s"] > 5:
        rc.fail("token moved: failures went on more than 5 s after the token returned")

    out["stored_verified"] = all_stored_verify(app.db_path, root)
    app.proc.terminate()
    if app.proc.wait(30) != 0:
        rc.fail(f"hsmcad exited {app.proc.returncode} after SIGTERM")
    print("figures " + json.dumps(out), flush=True)
    print(f"ok: PKCS#11 chaos: 0 crashes, {out['stored_verified']} stored certificates verify, "
          f"every failure 503 + Retry-After, resumed {out['token_moved']['first_ok_after_return_s']} s "
          "after the token returned")


if __name__ == "__main__":
    main()
