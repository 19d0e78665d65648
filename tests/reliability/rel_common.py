# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the reliability harnesses (tests/reliability/): starting
hsmcad -dev on a fixed port, HTTP clients that keep one connection each,
CSRs made by an independent library (python3-cryptography), and the
database-side judge that compares what clients received with what is stored.

Nothing here imports hsmca code: the database is read with Python's sqlite3,
certificates are parsed and verified with cryptography."""

import atexit
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

MOUNT = "pki"


def log(msg):
    print(f"# {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


# Every daemon a harness started: a failing check or an exception must not
# leave one running (killed at exit; one stopped cleanly is left alone).
DAEMONS = []


def _kill_daemons():
    for p in DAEMONS:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_daemons)


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    """One hsmcad -dev on a fixed state directory and port, restartable."""

    def __init__(self, hsmcad, state_dir, port, token, extra_args=(), env=None):
        self.hsmcad = hsmcad
        self.state_dir = state_dir
        self.port = port
        self.token = token
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.starts = 0

    def start(self, ready_within=30.0):
        """Starts hsmcad and returns the seconds until sys/health said 200,
        or fails when that takes longer than ready_within."""
        self.starts += 1
        logf = open(f"{self.state_dir}.log.{self.starts}", "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.hsmcad, "-dev", f"-dev-state-dir={self.state_dir}",
             f"-dev-root-token-id={self.token}",
             f"-dev-listen-address=127.0.0.1:{self.port}"] + self.extra_args,
            stdout=logf, stderr=subprocess.STDOUT, env=self.env)
        DAEMONS.append(self.proc)
        logf.close()
        while True:
            if self.proc.poll() is not None:
                fail(f"hsmcad exited {self.proc.returncode} during start "
                     f"(log {self.state_dir}.log.{self.starts})")
            st = self.health()
            if st == 200:
                return time.monotonic() - t0
            if time.monotonic() - t0 > ready_within:
                fail(f"hsmcad not healthy within {ready_within:.0f} s of start {self.starts} "
                     f"(last status {st}; log {self.state_dir}.log.{self.starts})")
            time.sleep(0.05)

    def health(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/v1/sys/health")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status
        except OSError:
            return 0

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        """SIGTERM: the daemon must exit 0 within 30 s."""
        self.proc.terminate()
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("hsmcad did not stop within 30 s of SIGTERM")
        if rc != 0:
            fail(f"hsmcad exited {rc} after SIGTERM")

    @property
    def db_path(self):
        return os.path.join(self.state_dir, "hsmca.db")


class Client:
    """One keep-alive connection; reconnects after any connection error."""

    def __init__(self, port, token, timeout=30):
        self.port = port
        self.token = token
        self.timeout = timeout
        self.conn = None

    def call(self, method, path, body=None):
        """(status, headers, parsed JSON or None). Raises OSError and
        http.client exceptions on connection trouble (after dropping the
        connection, so the next call reconnects)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        hdrs = {"X-Vault-Token": self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            self.conn.request(method, "/v1/" + path, body=data, headers=hdrs)
            r = self.conn.getresponse()
            raw = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return r.status, r.headers, doc


def api_ok(port, token, method, path, body=None):
    st, _, doc = Client(port, token).call(method, path, body)
    if st not in (200, 204):
        fail(f"{method} {path}: status {st}: {doc}")
    return doc


def setup_ca(port, token):
    """An EC root on the dev mount and a role for sign and issue. Returns
    the root certificate (cryptography object)."""
    doc = api_ok(port, token, "POST", f"{MOUNT}/root/generate/internal",
                 {"common_name": "Reliability Root", "key_type": "ec", "ttl": "700h"})
    root = x509.load_pem_x509_certificate(doc["data"]["certificate"].encode())
    api_ok(port, token, "POST", f"{MOUNT}/roles/web",
           {"allowed_domains": "example.com", "allow_subdomains": True,
            "key_type": "ec", "key_bits": 256, "ttl": "24h"})
    return root


def make_csrs(n, cn=None):
    out = []
    for i in range(n):
        k = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn or f"c{i}.example.com")]))
               .sign(k, hashes.SHA256()))
        out.append(csr.public_bytes(serialization.Encoding.PEM).decode())
    return out


def serial_hex(n):
    """OpenBao's serial_number form: lower-case hex octets joined by ':'."""
    b = n.to_bytes((n.bit_length() + 7) // 8 or 1, "big")
    return ":".join(f"{x:02x}" for x in b)


def integrity_check(db_path):
    """PRAGMA integrity_check through a read-only connection (the daemon may
    be running; WAL lets a reader in)."""
    c = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = c.execute("PRAGMA integrity_check").fetchall()
    finally:
        c.close()
    return [r[0] for r in rows]


def judge(db_path, received, root, quiet=False):
    """Compares what clients received with the database. received: an
    iterable of (serial_number string, DER bytes). Returns (figures,
    problems); an empty problem list means every pass criterion held.
    Memory is bounded by the serial sets, not the DER: the full chaos run
    judges over a million certificates."""
    c = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    certs = set()
    for serial, slen in c.execute("SELECT serial, serial_len FROM certs WHERE mount = ?", (MOUNT,)):
        certs.add(bytes(serial[20 - slen:]))
    intents = set()
    for serial, slen in c.execute("SELECT serial, serial_len FROM intents WHERE mount = ?", (MOUNT,)):
        intents.add(bytes(serial[20 - slen:]))
    no_intent = c.execute(
        "SELECT count(*) FROM certs c WHERE NOT EXISTS (SELECT 1 FROM intents i "
        "WHERE i.mount = c.mount AND i.serial = c.serial)").fetchone()[0]

    problems = []
    if no_intent:
        problems.append(f"{no_intent} stored certificates have no intent")
    seen = set()
    n_received = handed_twice = missing = mismatched = 0
    root_pub = root.public_key()
    for sn, der in received:
        n_received += 1
        cert = x509.load_der_x509_certificate(der)
        if serial_hex(cert.serial_number) != sn:
            problems.append(f"serial_number {sn} is not the certificate's ({serial_hex(cert.serial_number)})")
        try:
            root_pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        except Exception as e:  # noqa: BLE001 - any verification failure is a finding
            problems.append(f"certificate {sn} does not verify under the root: {e!r}")
        key = bytes.fromhex(sn.replace(":", ""))
        if key in seen:
            handed_twice += 1
            problems.append(f"serial {sn} was handed out twice")
        seen.add(key)
        row = c.execute("SELECT der FROM certs WHERE mount = ? AND serial = ?",
                        (MOUNT, key.rjust(20, b"\0"))).fetchone()
        if row is None:
            missing += 1
            if missing <= 5:
                problems.append(f"certificate {sn} a client received is not in the database")
        elif bytes(row[0]) != der:
            mismatched += 1
            if mismatched <= 5:
                problems.append(f"certificate {sn} in the database differs from what the client received")
        if key not in intents:
            problems.append(f"serial {sn} has no intent")
    # serials unique in the database are enforced by its primary key; check
    # the DER serials too (a serial column out of step with the DER).
    der_serials = set()
    dup_db = 0
    for serial, slen, der in c.execute("SELECT serial, serial_len, der FROM certs WHERE mount = ?", (MOUNT,)):
        key = bytes(serial[20 - slen:])
        n = x509.load_der_x509_certificate(bytes(der)).serial_number
        if n in der_serials:
            dup_db += 1
        der_serials.add(n)
        if n.to_bytes(len(key), "big") != key:
            problems.append(f"stored serial {key.hex()} is not its certificate's serial {n:x}")
            break
    c.close()
    if dup_db:
        problems.append(f"{dup_db} duplicate serials among stored certificates")
    figures = {
        "received": n_received, "stored": len(certs), "intents": len(intents),
        "orphan_intents": len(intents - certs), "missing": missing,
        "mismatched": mismatched, "duplicates": dup_db + handed_twice,
        "stored_not_received": len(certs - seen),
    }
    if not quiet:
        for p in problems[:20]:
            print(f"problem: {p}", flush=True)
    return figures, problems


def judge_or_fail(db_path, received, root):
    """judge, failing on any problem, then the judge's own negative control.
    received: a function returning a fresh iterable (read twice)."""
    figures, problems = judge(db_path, received(), root)
    if problems:
        fail(f"{len(problems)} problems; figures {json.dumps(figures)}")
    # The judge must be able to fail: on a copy of the database with one
    # received certificate deleted and another's bytes altered, it has to
    # report exactly those two.
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "copy.db")
        src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        first = []
        for sn, _ in received():
            first.append(bytes.fromhex(sn.replace(":", "")).rjust(20, b"\0"))
            if len(first) == 2:
                break
        keys = first
        dst.execute("PRAGMA foreign_keys = OFF")
        dst.execute("DELETE FROM certs WHERE mount = ? AND serial = ?", (MOUNT, keys[0]))
        if len(keys) > 1:
            der = bytearray(dst.execute("SELECT der FROM certs WHERE mount = ? AND serial = ?",
                                        (MOUNT, keys[1])).fetchone()[0])
            der[-1] ^= 1  # the signature's last octet: still parses, differs
            dst.execute("UPDATE certs SET der = ? WHERE mount = ? AND serial = ?", (bytes(der), MOUNT, keys[1]))
        dst.commit()
        dst.close()
        f2, _ = judge(copy, received(), root, quiet=True)
        if f2["missing"] != 1 or f2["mismatched"] != (1 if len(keys) > 1 else 0):
            fail(f"the judge missed a deleted or altered certificate: {json.dumps(f2)}")
        shutil.rmtree(tmp, ignore_errors=True)
    return figures
