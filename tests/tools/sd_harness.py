# SPDX-License-Identifier: Apache-2.0
# A stand-in for the parts of systemd the daemon tests need, speaking the real
# protocols (there is no systemd as PID 1 in CI): an sd_notify receiver, a
# socket-activation launcher, and a many-client issuance load for stop tests.
#
#   sd_harness.py notify SOCKET LOG [HOST:PORT]   record datagrams ("@name" = abstract)
#   sd_harness.py activate HOST PORTFILE CMD...   bind+listen, LISTEN_FDS=1, exec CMD
#   sd_harness.py load URL TOKEN CLIENTS OUT      issue until the server goes away
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time


def now_ms():
    return int(time.monotonic() * 1000)


def notify(sock_path, log_path, probe=None):
    """Each datagram becomes one line "<monotonic ms> <fields joined by |>".
    On the first READY=1 the probe connects to the daemon's port at once: the
    protocol promises that READY means the listener accepts."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    addr = "\0" + sock_path[1:] if sock_path.startswith("@") else sock_path
    s.bind(addr)
    probed = False
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s.settimeout(0.2)
    with open(log_path, "a", buffering=1) as log:
        log.write("%d LISTENING\n" % now_ms())
        while not stop:
            try:
                msg = s.recv(4096).decode("utf-8", "replace")
            except socket.timeout:
                continue
            log.write("%d %s\n" % (now_ms(), msg.replace("\n", "|")))
            if probe and not probed and "READY=1" in msg.split("\n"):
                probed = True
                host, port = probe.rsplit(":", 1)
                try:
                    socket.create_connection((host, int(port)), timeout=2).close()
                    log.write("%d PROBE ok\n" % now_ms())
                except OSError as e:
                    log.write("%d PROBE failed %s\n" % (now_ms(), e))


def activate(host, port_file, cmd):
    """What systemd does for hsmcad.socket: the socket is bound and listening
    before the service starts, and handed over as fd 3."""
    ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, 0))
    ls.listen(128)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    if ls.fileno() != 3:
        os.dup2(ls.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())  # exec keeps the pid
    os.environ["LISTEN_FDNAMES"] = "hsmcad"
    os.execv(cmd[0], cmd)


def load(url, token, clients, out_path):
    """CLIENTS threads, each on its own keep-alive connection, issue
    certificates until the server stops answering. Every serial a client
    received with a 200 goes to OUT, one per line; the summary line counts
    the other outcomes."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    got, lock = [], threading.Lock()
    stats = {"ok": 0, "refused": 0, "dropped": 0, "http_error": 0}
    body = json.dumps({"common_name": "load.example.com", "ttl": "1h"})
    headers = {"X-Vault-Token": token, "Content-Type": "application/json"}

    def client(i):
        conn = None
        misses = 0
        while misses < 3:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=60)
                conn.request("POST", "/v1/pki/issue/load", body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                with lock:
                    if r.status == 200:
                        got.append(json.loads(data)["data"]["serial_number"])
                        stats["ok"] += 1
                    else:
                        stats["http_error"] += 1
                misses = 0 if r.status == 200 else misses + 1
                if r.status != 200:
                    time.sleep(0.05)
            except ConnectionRefusedError:
                with lock:
                    stats["refused"] += 1
                misses += 1
                conn = None
                time.sleep(0.05)
            except (OSError, http.client.HTTPException):
                # the request was sent and no answer came: never answered
                with lock:
                    stats["dropped"] += 1
                misses += 1
                conn = None
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out_path, "w") as f:
        for s in got:
            f.write(s + "\n")
    print(" ".join("%s=%d" % kv for kv in sorted(stats.items())))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "notify":
        notify(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    elif len(sys.argv) >= 5 and sys.argv[1] == "activate":
        activate(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 6 and sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.stderr.write(__doc__ or "usage: see the header of sd_harness.py\n")
        sys.exit(64)


if __name__ == "__main__":
    main()
