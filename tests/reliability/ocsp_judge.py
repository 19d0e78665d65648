# SPDX-License-Identifier: Apache-2.0
"""Independent judges of hsmcad's revocation artefacts for the reliability
harnesses: OCSP requests built here (DER by hand, several CertIDs per
request, as python3-cryptography's builder allows only one), responses
parsed and their signatures verified with python3-cryptography, and the
stock `openssl ocsp` / `openssl crl` command line as a second judge.
Nothing here imports hsmca code."""

import base64
import hashlib
import http.client
import os
import re
import secrets
import subprocess
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

SHA1_ALG = bytes.fromhex("300906052b0e03021a0500")  # AlgorithmIdentifier sha1, NULL params
NONCE_OID = bytes.fromhex("06092b0601050507300102")  # id-pkix-ocsp-nonce


def _len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag, body):
    return bytes([tag]) + _len(len(body)) + body


def _int(n):
    b = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")  # a leading 0 keeps it positive
    return _tlv(0x02, b)


def issuer_hashes(issuer):
    """(issuerNameHash, issuerKeyHash) with SHA-1, RFC 6960 4.1.1: the key
    hash covers the subjectPublicKey BIT STRING's value only."""
    key = issuer.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    elif isinstance(key, rsa.RSAPublicKey):
        bits = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    else:
        bits = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha1(issuer.subject.public_bytes()).digest(), hashlib.sha1(bits).digest()


def build_request(issuer, serials, nonce=None):
    """DER OCSPRequest asking about every serial (one CertID each)."""
    nh, kh = issuer_hashes(issuer)
    reqs = b""
    for s in serials:
        certid = _tlv(0x30, SHA1_ALG + _tlv(0x04, nh) + _tlv(0x04, kh) + _int(s))
        reqs += _tlv(0x30, certid)
    tbs = _tlv(0x30, _tlv(0x30, reqs))
    if nonce is not None:
        ext = _tlv(0x30, NONCE_OID + _tlv(0x04, _tlv(0x04, nonce)))
        tbs = _tlv(0x30, _tlv(0x30, reqs) + _tlv(0xA2, _tlv(0x30, ext)))
    return _tlv(0x30, tbs)


def post(conn, mount, der):
    conn.request("POST", f"/v1/{mount}/ocsp", body=der, headers={"Content-Type": "application/ocsp-request"})
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def get(conn, mount, der):
    conn.request("GET", f"/v1/{mount}/ocsp/" + urllib.parse.quote(base64.b64encode(der).decode(), safe=""))
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def verify_signature(resp, issuer):
    """The response is signed by the issuer or by a certificate it carries
    that the issuer signed (delegated signing)."""
    signer = issuer.public_key()
    for c in resp.certificates:
        signer = c.public_key()
        _verify(issuer.public_key(), c.signature, c.tbs_certificate_bytes, c.signature_hash_algorithm)
    _verify(signer, resp.signature, resp.tbs_response_bytes, resp.signature_hash_algorithm)


def _verify(key, sig, data, alg):
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(sig, data, ec.ECDSA(alg))
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(sig, data, padding.PKCS1v15(), alg)
    else:
        key.verify(sig, data)


def parse_statuses(der, issuer, want_nonce=None):
    """{serial: "good"|"revoked"|"unknown"} of a successful response, after
    checking its signature and nonce; raises ValueError otherwise."""
    resp = ocsp.load_der_ocsp_response(der)
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise ValueError(f"response status {resp.response_status}")
    verify_signature(resp, issuer)
    if want_nonce is not None:
        got = resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        if got != want_nonce:
            raise ValueError("nonce not echoed")
    out = {}
    for single in resp.responses:
        out[single.serial_number] = single.certificate_status.name.lower()
    return out


def new_nonce():
    return secrets.token_bytes(16)


def openssl_ocsp(port, mount, issuer_pem_path, serials, nonce=False):
    """`openssl ocsp` over POST: {serial: status} and whether it printed
    "Response verify OK" (the signature checked against the issuer)."""
    cmd = ["openssl", "ocsp", "-issuer", issuer_pem_path, "-CAfile", issuer_pem_path,
           "-url", f"http://127.0.0.1:{port}/v1/{mount}/ocsp"]
    if not nonce:
        cmd.append("-no_nonce")
    for s in serials:
        cmd += ["-serial", f"0x{s:X}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    out = {}
    for m in re.finditer(r"^0x([0-9A-Fa-f]+): (good|revoked|unknown)$", p.stdout, re.M):
        out[int(m.group(1), 16)] = m.group(2)
    return out, "Response verify OK" in p.stderr + p.stdout, p.stdout + p.stderr


def openssl_crl(der, issuer_pem_path, workdir, name):
    """(serials on the CRL per `openssl crl -text`, verified by `openssl crl
    -verify`, is it a delta CRL)."""
    path = os.path.join(workdir, name + ".der")
    with open(path, "wb") as fh:
        fh.write(der)
    p = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", path, "-noout", "-text",
                        "-CAfile", issuer_pem_path, "-verify"], capture_output=True, text=True, timeout=60)
    serials = {int(m, 16) for m in re.findall(r"Serial Number: ([0-9A-Fa-f]+)", p.stdout)}
    return serials, "verify OK" in p.stderr + p.stdout, "Delta CRL Indicator" in p.stdout, p.stdout + p.stderr


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body
