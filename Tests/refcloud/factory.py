"""Factory proof of possession: the station asks for a challenge, the board signs
it with its identity key (`camera-agent attest`), the cloud checks the signature
against the key registered for that device.

The assertion has the shape of an RFC 7523 client assertion (ES256, iss = sub =
device id, aud = this endpoint's URL, jti = the nonce), verified with joserfc.
Freshness comes from the nonce: issued here for one device, valid for
CHALLENGE_TTL seconds, used once (a replayed or foreign assertion is refused).
"""

from __future__ import annotations

import secrets
import threading
import time

from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey

ALG = "ES256"
CHALLENGE_TTL = 120
MAX_LIFETIME = 600          # exp - iat, seconds
MAX_ASSERTION_BYTES = 8192
MAX_OPEN_CHALLENGES = 16    # per device; the oldest are dropped beyond this


class Refused(Exception):
    """The assertion is refused: `status` and an RFC 6749-style error body."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


class Challenges:
    """Open nonces per device: nonce -> expiry. In memory: a restart only makes
    the station ask again."""

    def __init__(self, ttl: int = CHALLENGE_TTL):
        self.ttl = ttl
        self._open: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def issue(self, device_id: str) -> str:
        nonce = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            live = {n: e for n, e in self._open.get(device_id, {}).items() if e > now}
            while len(live) >= MAX_OPEN_CHALLENGES:
                live.pop(min(live, key=live.get))
            live[nonce] = now + self.ttl
            self._open[device_id] = live
        return nonce

    def consume(self, device_id: str, nonce: str) -> bool:
        """True once for a nonce issued for this device and not expired."""
        with self._lock:
            expiry = self._open.get(device_id, {}).pop(nonce, None)
        return expiry is not None and expiry > time.time()


def verify_assertion(assertion: object, device: dict, audience: str, challenges: Challenges,
                     skew: int) -> str:
    """Checks `assertion` against `device` (the store's record); returns its
    jkt, or raises Refused."""
    if not isinstance(assertion, str) or not assertion:
        raise Refused(400, "invalid_request", "assertion must be a compact JWS string")
    if len(assertion) > MAX_ASSERTION_BYTES or assertion.count(".") != 2:
        raise Refused(401, "invalid_assertion", "not a compact JWS")
    device_id = device["device_id"]
    key = ECKey.import_key(device["jwk"])
    try:
        token = jwt.decode(assertion, key, algorithms=[ALG])
    except BadSignatureError:
        raise Refused(401, "invalid_assertion",
                              "signature does not verify with the registered key") from None
    except (JoseError, ValueError) as e:
        raise Refused(401, "invalid_assertion",
                              "malformed assertion: " + (getattr(e, "description", "") or str(e))) from None
    header, claims = token.header, token.claims
    if header.get("typ") not in (None, "JWT"):
        raise Refused(401, "invalid_assertion", "typ must be JWT")
    jti = claims.get("jti")
    # The nonce is used up by the first assertion that names it and verifies.
    if not isinstance(jti, str) or not challenges.consume(device_id, jti):
        raise Refused(401, "invalid_assertion",
                              "jti is not an open challenge for this device (unknown, used or expired)")
    if claims.get("iss") != device_id or claims.get("sub") != device_id:
        raise Refused(401, "invalid_assertion", "iss and sub must be the device id")
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise Refused(401, "invalid_assertion", f"aud must be {audience}")
    now = time.time()
    iat, exp = claims.get("iat"), claims.get("exp")
    for name, value in (("iat", iat), ("exp", exp)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise Refused(401, "invalid_assertion", f"{name} must be a whole number")
    if abs(now - iat) > skew:
        raise Refused(401, "invalid_assertion",
                              f"iat is more than {skew} s from server time (pass --issued-at)")
    if exp <= now - skew:
        raise Refused(401, "invalid_assertion", "assertion expired")
    if not 0 < exp - iat <= MAX_LIFETIME:
        raise Refused(401, "invalid_assertion", f"exp - iat must be 1..{MAX_LIFETIME} s")
    return device["jkt"]
