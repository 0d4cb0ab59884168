"""RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s steps) and RFC 4226 HOTP, stdlib only.

Kept dependency-free so that owner.py runs with a bare python3.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time

STEP = 30
DIGITS = 6


def new_secret() -> str:
    """A fresh 160-bit base32 secret (no padding), as authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret_b32: str) -> bytes:
    s = secret_b32.strip().replace(" ", "").upper()
    s += "=" * (-len(s) % 8)
    return base64.b32decode(s)


def hotp(secret_b32: str, counter: int, digits: int = DIGITS) -> str:
    mac = hmac.new(_key(secret_b32), struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return str(code).zfill(digits)


def totp(secret_b32: str, at: float | None = None, step: int = STEP) -> str:
    t = time.time() if at is None else at
    return hotp(secret_b32, int(t // step))


def verify(secret_b32: str, code: str, at: float | None = None, window: int = 1,
           step: int = STEP) -> bool:
    """True if `code` matches the step at `at` or within +-window steps."""
    code = (code or "").strip()
    if len(code) != DIGITS or not code.isdigit():
        return False
    t = time.time() if at is None else at
    counter = int(t // step)
    ok = False
    for c in range(counter - window, counter + window + 1):
        ok |= hmac.compare_digest(hotp(secret_b32, c), code)
    return ok


def provisioning_uri(secret_b32: str, account: str, issuer: str = "refcloud") -> str:
    from urllib.parse import quote
    return (f"otpauth://totp/{quote(issuer)}:{quote(account)}"
            f"?secret={secret_b32}&issuer={quote(issuer)}&algorithm=SHA1&digits=6&period=30")
