#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An OCSP responder on 127.0.0.1 whose answers are made by `openssl ocsp`.

`openssl ocsp -port N` binds every interface and takes no address, and test
servers here listen on loopback only. This serves HTTP on 127.0.0.1:PORT and
hands each request to `openssl ocsp ARGS -reqin REQ -respout RESP`, so the
answers are still OpenSSL's own responder logic (index file, signer, -nmin),
not ours.

    ocsp_loopback.py PORT -- -index idx -CA ca.pem -rsigner r.pem -rkey r.key [-nmin 1]

POST bodies (application/ocsp-request) and RFC 6960 A.1 GET paths are
answered; a request over 64 KiB gets 413. One line per request goes to stderr.
"""
import base64
import http.server
import os
import subprocess
import sys
import tempfile
import urllib.parse

MAX_REQUEST = 64 * 1024


def main():
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        sys.exit("usage: ocsp_loopback.py PORT -- OPENSSL-OCSP-ARGS...")
    port = int(sys.argv[1])
    ossl_args = sys.argv[3:]
    work = tempfile.mkdtemp(prefix="ocsp-loopback.")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def answer(self, req):
            reqf = os.path.join(work, "req.der")
            respf = os.path.join(work, "resp.der")
            with open(reqf, "wb") as f:
                f.write(req)
            if os.path.exists(respf):
                os.unlink(respf)
            r = subprocess.run(["openssl", "ocsp", *ossl_args, "-reqin", reqf, "-respout", respf],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
            if r.returncode != 0 or not os.path.exists(respf):
                sys.stderr.write("openssl ocsp failed: %s\n" % r.stderr.decode(errors="replace"))
                self.send_error(500)
                return
            with open(respf, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0") or 0)
            if n <= 0 or n > MAX_REQUEST:
                self.send_error(413 if n > MAX_REQUEST else 400)
                return
            self.answer(self.rfile.read(n))

        def do_GET(self):
            tail = urllib.parse.unquote(self.path.lstrip("/"))
            try:
                req = base64.b64decode(tail, validate=True)
            except ValueError:
                self.send_error(400)
                return
            if not req or len(req) > MAX_REQUEST:
                self.send_error(400)
                return
            self.answer(req)

        def log_message(self, fmt, *args):
            sys.stderr.write("ocsp_loopback %d: %s\n" % (port, fmt % args))

    # One request at a time: the answers share one work directory.
    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
