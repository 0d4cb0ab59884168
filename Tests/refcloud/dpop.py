"""RFC 9449 DPoP proof checking, server nonces, replay caches, and EC P-256 JWK checks.

Authlib has no DPoP support, so this uses joserfc (same author) for the JOSE work.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

ALG = "ES256"
MAX_JTI_LEN = 256


class ProofError(Exception):
    """A DPoP proof problem. `error` is invalid_dpop_proof or use_dpop_nonce."""

    def __init__(self, error: str, description: str):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def ath_of(token: str) -> str:
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def import_public_p256(jwk: object) -> ECKey:
    """Validate an EC P-256 *public* JWK (valid point, no private part) and import it."""
    if not isinstance(jwk, dict):
        raise ValueError("jwk must be a JSON object")
    if jwk.get("kty") != "EC":
        raise ValueError("jwk kty must be EC")
    if jwk.get("crv") != "P-256":
        raise ValueError("jwk crv must be P-256")
    if "d" in jwk:
        raise ValueError("jwk must not contain a private key")
    for c in ("x", "y"):
        v = jwk.get(c)
        if not isinstance(v, str) or not v:
            raise ValueError(f"jwk {c} missing")
        try:
            raw = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
        except (ValueError, TypeError) as e:
            raise ValueError(f"jwk {c} is not base64url") from e
        if len(raw) != 32 or b64url(raw) != v:
            raise ValueError(f"jwk {c} must be 32 bytes, base64url without padding")
    try:
        key = ECKey.import_key({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]})
        key.public_key  # noqa: B018 - forces point validation (on-curve check)
    except (JoseError, ValueError, TypeError) as e:
        raise ValueError(f"jwk is not a valid P-256 point: {e}") from e
    return key


def thumbprint(key: ECKey) -> str:
    """RFC 7638 SHA-256 JWK thumbprint, base64url."""
    return key.thumbprint()


def normalize_url(url: str) -> str:
    """Scheme/host lowercase, default port dropped, query and fragment removed."""
    p = urlsplit(url)
    scheme = p.scheme.lower()
    host = (p.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = p.port
    if port and not ((scheme == "https" and port == 443) or (scheme == "http" and port == 80)):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, p.path or "/", "", ""))


class ReplayCache:
    """Remembers (scope, jti) until an expiry; thread-safe; pruned lazily."""

    def __init__(self):
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._last_prune = 0.0

    def check_and_add(self, scope: str, jti: str, keep_until: float) -> bool:
        now = time.time()
        with self._lock:
            if now - self._last_prune > 30:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
                self._last_prune = now
            k = (scope, jti)
            if k in self._seen and self._seen[k] > now:
                return False
            self._seen[k] = keep_until
            return True


class NonceManager:
    """One server nonce at a time; rotates every `ttl` s; the previous one stays
    valid for `grace` s after a rotation."""

    def __init__(self, ttl: float = 300, grace: float = 30):
        self.ttl, self.grace = ttl, grace
        self._lock = threading.Lock()
        self._current = secrets.token_urlsafe(24)
        self._rotated_at = time.time()
        self._previous: str | None = None
        self._previous_until = 0.0

    def _rotate_locked(self, expire_previous: bool) -> None:
        now = time.time()
        self._previous = None if expire_previous else self._current
        self._previous_until = 0.0 if expire_previous else now + self.grace
        self._current = secrets.token_urlsafe(24)
        self._rotated_at = now

    def current(self) -> str:
        with self._lock:
            if time.time() - self._rotated_at >= self.ttl:
                self._rotate_locked(False)
            return self._current

    def rotate(self, expire_previous: bool = False) -> str:
        with self._lock:
            self._rotate_locked(expire_previous)
            return self._current

    def is_valid(self, nonce: str) -> bool:
        cur = self.current()
        with self._lock:
            if secrets.compare_digest(nonce, cur):
                return True
            return bool(self._previous and time.time() < self._previous_until
                        and secrets.compare_digest(nonce, self._previous))


def validate_proof(headers, method: str, accepted_urls: list[str], *, nonces: NonceManager,
                   replay: ReplayCache, skew: int, access_token: str | None = None) -> str:
    """Check the DPoP proof of a request (RFC 9449 section 4.3) and return the
    thumbprint of its key. Raises ProofError."""
    values = headers.getlist("DPoP") if hasattr(headers, "getlist") else (
        [headers["DPoP"]] if "DPoP" in headers else [])
    if not values:
        raise ProofError("invalid_dpop_proof", "DPoP proof required")
    if len(values) != 1 or "," in values[0]:
        raise ProofError("invalid_dpop_proof", "exactly one DPoP header required")
    proof = values[0].strip()
    try:
        unverified = jws.extract_compact(proof.encode("ascii"))
        header = unverified.headers()
    except (JoseError, ValueError, UnicodeError) as e:
        raise ProofError("invalid_dpop_proof", "malformed DPoP proof") from e
    if header.get("typ") != "dpop+jwt":
        raise ProofError("invalid_dpop_proof", "typ must be dpop+jwt")
    if header.get("alg") != ALG:
        raise ProofError("invalid_dpop_proof", "alg must be ES256")
    jwk = header.get("jwk")
    try:
        key = import_public_p256(jwk)
    except ValueError as e:
        raise ProofError("invalid_dpop_proof", "jwk header: " + str(e).replace('"', "'")) from e
    try:
        obj = jws.deserialize_compact(proof, key, algorithms=[ALG])
        claims = json.loads(obj.payload)
    except (JoseError, ValueError) as e:
        raise ProofError("invalid_dpop_proof", "bad DPoP proof signature or payload") from e
    if not isinstance(claims, dict):
        raise ProofError("invalid_dpop_proof", "payload must be a JSON object")

    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LEN:
        raise ProofError("invalid_dpop_proof", "jti missing or invalid")
    if claims.get("htm") != method:
        raise ProofError("invalid_dpop_proof", "htm does not match the request method")
    htu = claims.get("htu")
    if not isinstance(htu, str):
        raise ProofError("invalid_dpop_proof", "htu missing")
    try:
        htu_n = normalize_url(htu)
    except ValueError as e:
        raise ProofError("invalid_dpop_proof", "htu is not a URL") from e
    if htu_n not in {normalize_url(u) for u in accepted_urls}:
        raise ProofError("invalid_dpop_proof", "htu does not match the request URI")
    iat = claims.get("iat")
    now = time.time()
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        raise ProofError("invalid_dpop_proof", "iat missing")
    if abs(now - iat) > skew:
        raise ProofError("invalid_dpop_proof",
                         f"iat outside the acceptable window (+-{skew} s of the Date header)")
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not secrets.compare_digest(ath, ath_of(access_token)):
            raise ProofError("invalid_dpop_proof", "ath does not match the access token")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonces.is_valid(nonce):
        raise ProofError("use_dpop_nonce", "Authorization server requires nonce in DPoP proof"
                         if nonce is None else "DPoP nonce is stale or invalid")
    jkt = thumbprint(key)
    if not replay.check_and_add("dpop:" + jkt, jti, now + 2 * skew + 5):
        raise ProofError("invalid_dpop_proof", "DPoP proof jti was already used")
    return jkt
