"""schemathesis hooks for scripts/api-fuzz (API_FUZZ_SIGNED=1): every request is signed as an
enrolled terminal signs it (protocol/src/auth.rs, docs/PLATFORM-API.md), so generated bodies
reach the terminal endpoints' handlers instead of stopping at the signature check.

The terminal enrolls once, at import, with the token in API_FUZZ_TOKEN at API_FUZZ_URL. The
signature covers the final bytes on the wire, so it is added in requests' Session.send, after
schemathesis has serialised the body."""

import hashlib
import json
import os
import secrets
import time
import urllib.request

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SCHEME = "LYB-ED25519-V2"
_HEADERS = ("X-Terminal-Id", "X-Timestamp", "X-Nonce", "X-Signature")
_key = Ed25519PrivateKey.generate()
_public = _key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _enroll():
    body = json.dumps({
        "token": os.environ["API_FUZZ_TOKEN"],
        "hardware_serial": os.environ.get("API_FUZZ_SERIAL", "api-fuzz-1"),
        "public_key": _public,
    }).encode()
    request = urllib.request.Request(
        os.environ["API_FUZZ_URL"] + "/v1/enroll", data=body,
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["terminal_id"]


_terminal_id = _enroll()
_send = requests.Session.send


def _covered(request, name):
    """A header scheme V2 signs: `name:value` as sent, the bare name when absent."""
    value = request.headers.get(name)
    if value is None:
        return name
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return f"{name}:{value}"


def _signed_send(self, request, **kwargs):
    # A request generated without one of the headers (a negative case) goes as it is: the
    # platform must refuse it.
    if not all(h in request.headers for h in _HEADERS):
        return _send(self, request, **kwargs)
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    text = "\n".join([SCHEME, _terminal_id, request.method.upper(), request.path_url, timestamp,
                      nonce, _covered(request, "content-type"),
                      _covered(request, "idempotency-key"), hashlib.sha256(body).hexdigest()])
    request.headers["X-Signature-Scheme"] = SCHEME
    request.headers["X-Terminal-Id"] = _terminal_id
    request.headers["X-Timestamp"] = timestamp
    request.headers["X-Nonce"] = nonce
    request.headers["X-Signature"] = _key.sign(text.encode()).hex()
    return _send(self, request, **kwargs)


requests.Session.send = _signed_send
