"""A Python stand-in for a camera, for the refcloud test suite and for harnesses:
ES256 identity key (private_key_jwt), a DPoP session key, server nonces.

It is deliberately written by hand from the RFCs (no OAuth client library), so the
bytes it sends are easy to compare with what camera-agent sends.
"""

from __future__ import annotations

import json
import time
import uuid

import requests
from joserfc import jws, jwt
from joserfc.jwk import ECKey

from .dpop import ath_of

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def new_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


def public_jwk(key: ECKey) -> dict:
    d = key.as_dict(private=False)
    return {k: d[k] for k in ("kty", "crv", "x", "y")}


class Device:
    def __init__(self, base_url: str, ca: str, device_id: str, identity: ECKey | None = None,
                 clock_offset: float = 0.0):
        self.base = base_url.rstrip("/")
        self.device_id = device_id
        self.identity = identity or new_key()
        self.session_key = new_key()
        self.http = requests.Session()
        self.http.verify = ca
        self.http.trust_env = False  # no proxies, no REQUESTS_CA_BUNDLE override
        self.clock_offset = clock_offset
        self.nonce: str | None = None
        self.rs_nonce: str | None = None      # the report API's (RFC 9449 §9)
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.meta = self.http.get(self.base + "/.well-known/oauth-authorization-server",
                                  timeout=10).json()

    @property
    def api(self) -> str:
        """The report API's base, as the agent's api_base defaults: the server's origin."""
        return self.base

    # ---- JOSE pieces -----------------------------------------------------------------
    def now(self) -> int:
        return int(time.time() + self.clock_offset)

    def assertion(self, key: ECKey | None = None, alg: str = "ES256", **claims) -> str:
        now = self.now()
        body = {"iss": self.device_id, "sub": self.device_id, "aud": self.meta["issuer"],
                "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode({"alg": alg, "typ": "JWT"}, body, key or self.identity,
                          algorithms=[alg])

    def proof(self, method: str, url: str, key: ECKey | None = None, access_token: str | None = None,
              nonce: str | None = "auto", header: dict | None = None, **claims) -> str:
        key = key or self.session_key
        body = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": self.now()}
        n = self.nonce if nonce == "auto" else nonce
        if n is not None:
            body["nonce"] = n
        if access_token is not None:
            body["ath"] = ath_of(access_token)
        body.update(claims)
        hdr = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(key)}
        hdr.update(header or {})
        return jws.serialize_compact(hdr, json.dumps(body), key, algorithms=["ES256"])

    def client_auth(self, **kw) -> dict:
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion(**kw)}

    def _learn(self, r: requests.Response) -> requests.Response:
        if r.headers.get("DPoP-Nonce"):
            self.nonce = r.headers["DPoP-Nonce"]
        return r

    # ---- endpoints -----------------------------------------------------------------
    def device_authorization(self, **kw) -> requests.Response:
        return self.http.post(self.meta["device_authorization_endpoint"],
                              data=self.client_auth(**kw), timeout=10)

    def token_request(self, form: dict, key: ECKey | None = None, retry_nonce: bool = True,
                      auth: dict | None = None) -> requests.Response:
        url = self.meta["token_endpoint"]
        for _ in range(2):
            data = dict(form, **(auth or self.client_auth()))
            r = self._learn(self.http.post(url, data=data, timeout=10,
                                           headers={"DPoP": self.proof("POST", url, key=key)}))
            if r.status_code == 400 and retry_nonce and \
                    r.json().get("error") == "use_dpop_nonce":
                continue
            return r
        return r

    def poll(self, device_code: str, **kw) -> requests.Response:
        r = self.token_request({"grant_type": DEVICE_CODE, "device_code": device_code}, **kw)
        self._keep(r)
        return r

    def refresh(self, refresh_token: str | None = None, **kw) -> requests.Response:
        r = self.token_request({"grant_type": "refresh_token",
                                "refresh_token": refresh_token or self.refresh_token}, **kw)
        self._keep(r)
        return r

    def _keep(self, r: requests.Response) -> None:
        if r.status_code == 200:
            j = r.json()
            self.access_token, self.refresh_token = j["access_token"], j.get("refresh_token")

    def report(self, body: dict | None = None, token: str | None = None, key: ECKey | None = None,
               retry_nonce: bool = True, device_id: str | None = None,
               scheme: str = "DPoP") -> requests.Response:
        did = device_id or self.device_id
        url = self.api + "/v1/devices/" + did + "/report"
        tok = token or self.access_token
        if body is None:
            body = {"schema": 1, "device_id": did, "firmware_version": "1.2.3",
                    "last_activation": "2026-11-28T09:41Z", "agent_version": "0.1.0"}
        for _ in range(2):
            r = self.http.post(url, json=body, timeout=10, headers={
                "Authorization": f"{scheme} {tok}",
                "DPoP": self.proof("POST", url, key=key, access_token=tok, nonce=self.rs_nonce)})
            if r.headers.get("DPoP-Nonce"):
                self.rs_nonce = r.headers["DPoP-Nonce"]
            if r.status_code == 401 and retry_nonce and \
                    'error="use_dpop_nonce"' in r.headers.get("WWW-Authenticate", ""):
                continue
            return r
        return r

    def revoke(self, token: str, hint: str | None = None, **kw) -> requests.Response:
        data = {"token": token, **self.client_auth(**kw)}
        if hint:
            data["token_type_hint"] = hint
        return self.http.post(self.meta["revocation_endpoint"], data=data, timeout=10)
