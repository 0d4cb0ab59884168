"""Tests of the reference cloud, driven over real HTTPS by a Python "device"
(device_client.Device). Run:  Tests/refcloud/run-tests.sh  (or pytest Tests/refcloud)."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from cryptography import x509
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey

from refcloud import totp
from refcloud.device_client import DEVICE_CODE, Device, new_key, public_jwk

HERE = Path(__file__).resolve().parent
TESTS_DIR = HERE.parent


# ---- server fixtures ---------------------------------------------------------------
class Cloud:
    def __init__(self, state: Path, proc: subprocess.Popen, port: int):
        self.state, self.proc, self.port = state, proc, port
        self.url = f"https://127.0.0.1:{port}"
        self.ca = str(state / "ca.pem")
        self.http = requests.Session()
        self.http.verify = self.ca
        self.http.trust_env = False

    def secret(self, name: str) -> str:
        return (self.state / name).read_text().strip()

    def get(self, path, **kw):
        return self.http.get(self.url + path, timeout=15, **kw)

    def post(self, path, **kw):
        return self.http.post(self.url + path, timeout=15, **kw)

    def fault(self, **f):
        r = self.post("/test/faults", json=f)
        assert r.status_code == 200, r.text
        return r.json()["queued"][0]

    def state_of(self, device_id):
        return self.get("/test/state").json()["devices"][device_id]

    def register(self, dev: Device, force=None):
        body = {"device_id": dev.device_id, "jwk": public_jwk(dev.identity)}
        if force is not None:
            body["force"] = force
        return self.post("/factory/devices", json=body,
                         headers={"Authorization": "Bearer " + self.secret("factory_token")})

    def approve(self, user_code, code=None, owner=None):
        body = {"user_code": user_code,
                "totp": code or totp.totp(self.secret("owner_totp_secret"))}
        if owner:
            body["owner"] = owner
        return self.post("/owner/approve", json=body)

    def device(self, prefix="cam") -> Device:
        return Device(self.url, self.ca, f"{prefix}-{uuid.uuid4().hex[:10]}")

    def activate(self, dev: Device, register=True) -> Device:
        """Factory registration + device grant + owner approval -> tokens."""
        if register:
            assert self.register(dev).status_code in (200, 201)
        r = dev.device_authorization()
        assert r.status_code == 200, r.text
        da = r.json()
        assert self.approve(da["user_code"]).status_code == 200
        r = dev.poll(da["device_code"])
        assert r.status_code == 200, r.text
        return dev


def start_cloud(state: Path, *args: str) -> Cloud:
    port_file = state / "port"
    port_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "refcloud", "--state-dir", str(state), "--port", "0",
           "--port-file", str(port_file), *args]
    proc = subprocess.Popen(cmd, cwd=TESTS_DIR, stdout=subprocess.DEVNULL,
                            stderr=open(state.parent / (state.name + ".log"), "ab"))
    deadline = time.time() + 20
    while not port_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"refcloud exited with {proc.returncode}")
        if time.time() > deadline:
            proc.kill()
            raise RuntimeError("refcloud did not start")
        time.sleep(0.05)
    return Cloud(state, proc, int(port_file.read_text()))


def stop_cloud(c: Cloud) -> int:
    c.proc.send_signal(signal.SIGTERM)
    return c.proc.wait(10)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("cloud") / "state"
    c = start_cloud(state, "--test-controls", "--interval", "3", "--access-ttl", "120",
                    "--san", "192.0.2.100", "--san", "camera-cloud.test")
    yield c
    assert stop_cloud(c) == 0
    assert not (state / "port").exists()


@pytest.fixture(scope="session")
def plain_cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("plain") / "state"
    c = start_cloud(state, "--test-controls", "--mode", "plain", "--interval", "1")
    yield c
    assert stop_cloud(c) == 0


@pytest.fixture(autouse=True)
def _no_leftover_faults(cloud):
    yield
    cloud.http.delete(cloud.url + "/test/faults", timeout=10)


def err(r: requests.Response) -> str:
    return r.json().get("error")


def www_error(r: requests.Response) -> str | None:
    h = r.headers.get("WWW-Authenticate", "")
    assert h.startswith("DPoP"), h
    for part in h[4:].split(","):
        k, _, v = part.strip().partition("=")
        if k == "error":
            return v.strip('"')
    return None


# ---- transport and discovery ------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated")
def test_metadata_tls_and_date(cloud):
    r = cloud.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    md = r.json()
    iss = cloud.url
    assert md["issuer"] == iss
    assert md["device_authorization_endpoint"] == iss + "/oauth/device_authorization"
    assert md["token_endpoint"] == iss + "/oauth/token"
    assert md["revocation_endpoint"] == iss + "/oauth/revoke"
    assert md["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert md["token_endpoint_auth_signing_alg_values_supported"] == ["ES256"]
    assert md["dpop_signing_alg_values_supported"] == ["ES256"]
    assert set(md["grant_types_supported"]) == {DEVICE_CODE, "refresh_token"}
    # The maker's old private member: still published here, read by nobody.
    assert md["camera_report_endpoint"] == iss + "/v1/devices/"
    assert cloud.get("/.well-known/oauth-protected-resource").status_code == 404
    page = cloud.get("/device", params={"user_code": "ABCD-EFGH"})
    assert page.status_code == 200 and 'value="ABCD-EFGH"' in page.text
    # Date on every response, errors included
    for resp in (r, cloud.get("/nope"), cloud.post("/oauth/token", data={})):
        assert "Date" in resp.headers
        assert abs(time.mktime(time.strptime(resp.headers["Date"], "%a, %d %b %Y %H:%M:%S GMT"))
                   - time.mktime(time.gmtime())) < 5

    # Certificate: SANs, CA
    cert = x509.load_pem_x509_certificates((cloud.state / "server.pem").read_bytes())[0]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(i) for i in san.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "::1", "192.0.2.100"} <= ips
    assert {"localhost", "camera-cloud.test"} <= set(san.get_values_for_type(x509.DNSName))

    # TLS 1.1 refused, 1.2 and 1.3 accepted
    def handshake(maxv):
        ctx = ssl.create_default_context(cafile=cloud.ca)
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = maxv
        with socket.create_connection(("127.0.0.1", cloud.port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                return t.version()
    assert handshake(ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert handshake(ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    with pytest.raises((ssl.SSLError, OSError)):
        handshake(ssl.TLSVersion.TLSv1_1)

    # Secrets are 0600 and the state dir 0700
    for name in ("admin_token", "factory_token", "owner_totp_secret", "ca.key", "server.key",
                 "signing_key.json", "state.json", "requests.jsonl"):
        assert (cloud.state / name).stat().st_mode & 0o777 == 0o600, name
    assert cloud.state.stat().st_mode & 0o777 == 0o700


def test_chosen_date_header(cloud):
    """POST /test/date: exactly one Date, the chosen one, on every later
    non-test response (requests joins repeated headers with ", ")."""
    far = "Fri, 31 Dec 9999 23:59:59 GMT"
    try:
        assert cloud.post("/test/date", json={"date": far}).status_code == 200
        for resp in (cloud.get("/.well-known/oauth-authorization-server"), cloud.post("/oauth/token", data={})):
            assert resp.headers["Date"] == far
        assert cloud.get("/test/faults").headers["Date"] != far
        assert cloud.post("/test/date", json={"date": "x\ny"}).status_code == 400
    finally:
        assert cloud.post("/test/date", json={"date": None}).status_code == 200
    real = cloud.get("/.well-known/oauth-authorization-server").headers["Date"]
    assert real != far and "," not in real.split(",", 1)[1]


def test_stalled_tls_client_does_not_block_others(cloud):
    with socket.create_connection(("127.0.0.1", cloud.port), timeout=5):
        # connected, never handshakes; another client still gets served
        assert cloud.get("/.well-known/oauth-authorization-server").status_code == 200


# ---- factory --------------------------------------------------------------------------
def test_factory_registration(cloud):
    dev = cloud.device()
    r = cloud.register(dev)
    assert r.status_code == 201, r.text
    assert r.json()["jkt"] == dev.identity.thumbprint()
    assert cloud.register(dev).status_code == 200            # idempotent
    other = Device(cloud.url, cloud.ca, dev.device_id)        # same id, new key
    r = cloud.register(other)
    assert r.status_code == 409 and r.json()["registered_jkt"] == dev.identity.thumbprint()
    r = cloud.register(other, force=True)
    assert r.status_code == 201 and r.json()["jkt"] == other.identity.thumbprint()

    tok = {"Authorization": "Bearer " + cloud.secret("factory_token")}
    good = public_jwk(new_key())
    bad_cases = [
        ({"device_id": "ab", "jwk": good}, "invalid_device_id"),
        ({"device_id": "-cam-1", "jwk": good}, "invalid_device_id"),
        ({"device_id": "cam/1", "jwk": good}, "invalid_device_id"),
        ({"device_id": "c" * 65, "jwk": good}, "invalid_device_id"),
        ({"device_id": "cam-ok-1", "jwk": dict(good, crv="P-384")}, "invalid_jwk"),
        ({"device_id": "cam-ok-1", "jwk": dict(good, kty="RSA")}, "invalid_jwk"),
        ({"device_id": "cam-ok-1", "jwk": new_key().as_dict(private=True)}, "invalid_jwk"),
        ({"device_id": "cam-ok-1", "jwk": dict(good, y=good["x"])}, "invalid_jwk"),  # off curve
        ({"device_id": "cam-ok-1", "jwk": dict(good, x="AAAA")}, "invalid_jwk"),
        ({"device_id": "cam-ok-1"}, "invalid_jwk"),
    ]
    for body, want in bad_cases:
        r = cloud.post("/factory/devices", json=body, headers=tok)
        assert r.status_code == 400 and err(r) == want, (body, r.text)
    assert cloud.post("/factory/devices", json={"device_id": "cam-x1", "jwk": good}
                      ).status_code == 401
    assert cloud.post("/factory/devices", json={"device_id": "cam-x1", "jwk": good},
                      headers={"Authorization": "Bearer nope"}).status_code == 401
    assert "cam.ok_1-2" not in cloud.get("/test/state").json()["devices"]
    r = cloud.post("/factory/devices", json={"device_id": "cam.ok_1-2", "jwk": good}, headers=tok)
    assert r.status_code == 201


def test_factory_device_id_with_trailing_newline_is_refused(cloud):
    tok = {"Authorization": "Bearer " + cloud.secret("factory_token")}
    r = cloud.post("/factory/devices", json={"device_id": "cam-nl-1\n", "jwk": public_jwk(new_key())},
                   headers=tok)
    assert r.status_code == 400 and err(r) == "invalid_device_id"


def _challenge(cloud, device_id, token=None):
    tok = token if token is not None else cloud.secret("factory_token")
    return cloud.post(f"/factory/devices/{device_id}/challenge",
                      headers={"Authorization": "Bearer " + tok} if tok else {})


def _verify(cloud, device_id, body, token=None):
    tok = token if token is not None else cloud.secret("factory_token")
    return cloud.post(f"/factory/devices/{device_id}/verify", json=body,
                      headers={"Authorization": "Bearer " + tok} if tok else {})


def test_factory_challenge_and_verify(cloud):
    dev = cloud.device()
    assert cloud.register(dev).status_code == 201
    r = _challenge(cloud, dev.device_id)
    assert r.status_code == 200, r.text
    ch = r.json()
    assert set(ch) == {"nonce", "audience", "expires_in"} and ch["expires_in"] == 120
    assert ch["audience"] == f"{cloud.url}/factory/devices/{dev.device_id}/verify"
    assert 16 <= len(ch["nonce"]) <= 128 and set(ch["nonce"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assertion = dev.assertion(aud=ch["audience"], jti=ch["nonce"], exp=dev.now() + 300)
    r = _verify(cloud, dev.device_id, {"assertion": assertion})
    assert r.status_code == 200, r.text
    assert r.json() == {"device_id": dev.device_id, "jkt": dev.identity.thumbprint(), "verified": True}
    assert cloud.state_of(dev.device_id)["verified_at"] is not None
    # single use
    r = _verify(cloud, dev.device_id, {"assertion": assertion})
    assert r.status_code == 401 and err(r) == "invalid_assertion" and "jti" in r.json()["error_description"]


def test_factory_verify_refusals(cloud):
    dev = cloud.device()
    assert cloud.register(dev).status_code == 201
    other = cloud.device()
    assert cloud.register(other).status_code == 201

    def fresh(**claims):
        ch = _challenge(cloud, dev.device_id).json()
        body = {"aud": ch["audience"], "jti": ch["nonce"], "exp": dev.now() + 300}
        body.update(claims)
        return ch, body

    # a key other than the registered one
    ch, claims = fresh()
    r = _verify(cloud, dev.device_id, {"assertion": dev.assertion(key=new_key(), **claims)})
    assert r.status_code == 401 and r.json() == {
        "error": "invalid_assertion",
        "error_description": "signature does not verify with the registered key"}
    # ... which did not use up the nonce: the right key still works with it
    assert _verify(cloud, dev.device_id, {"assertion": dev.assertion(**claims)}).status_code == 200

    cases = [
        (dict(aud="https://elsewhere.test/verify"), "aud"),
        (dict(iss="cam-someone-else"), "iss"),
        (dict(sub="cam-someone-else"), "iss"),
        (dict(iat=dev.now() - 3600, exp=dev.now() - 3300), "iat"),
        (dict(exp=dev.now() + 3600), "exp - iat"),
        (dict(jti="x" * 43), "jti"),
    ]
    for extra, word in cases:
        ch, claims = fresh(**extra)
        r = _verify(cloud, dev.device_id, {"assertion": dev.assertion(**claims)})
        assert r.status_code == 401 and err(r) == "invalid_assertion", (extra, r.text)
        assert word in r.json()["error_description"], (extra, r.text)
    # a nonce issued for another device
    ch_other = _challenge(cloud, other.device_id).json()
    r = _verify(cloud, dev.device_id, {"assertion": dev.assertion(
        aud=f"{cloud.url}/factory/devices/{dev.device_id}/verify", jti=ch_other["nonce"])})
    assert r.status_code == 401 and "jti" in r.json()["error_description"]
    # not ES256, not a JWS, no assertion
    ch, claims = fresh()
    hs = jose_jwt.encode({"alg": "HS256"}, claims, jose_oct_key())
    assert _verify(cloud, dev.device_id, {"assertion": hs}).status_code == 401
    assert _verify(cloud, dev.device_id, {"assertion": "not.a.jws"}).status_code == 401
    assert _verify(cloud, dev.device_id, {"assertion": "x"}).status_code == 401
    r = _verify(cloud, dev.device_id, {})
    assert r.status_code == 400 and err(r) == "invalid_request"
    r = _verify(cloud, dev.device_id, {"assertion": 42})
    assert r.status_code == 400 and err(r) == "invalid_request"
    # tokens, unknown and malformed ids
    assert _challenge(cloud, dev.device_id, token="").status_code == 401
    assert _challenge(cloud, dev.device_id, token="nope").status_code == 401
    assert _verify(cloud, dev.device_id, {"assertion": "a.b.c"}, token="nope").status_code == 401
    r = _challenge(cloud, "cam-never-registered")
    assert r.status_code == 404 and err(r) == "unknown_device"
    assert _verify(cloud, "cam-never-registered", {"assertion": "a.b.c"}).status_code == 404
    r = _challenge(cloud, "-bad")
    assert r.status_code == 400 and err(r) == "invalid_device_id"


def test_factory_challenges_expire_and_are_bounded():
    from refcloud.factory import MAX_OPEN_CHALLENGES, Challenges
    expired = Challenges(ttl=-1)
    assert not expired.consume("cam-1", expired.issue("cam-1"))
    c = Challenges()
    first = c.issue("cam-1")
    for _ in range(MAX_OPEN_CHALLENGES):
        c.issue("cam-1")
    assert not c.consume("cam-1", first)          # the oldest was dropped
    n = c.issue("cam-1")
    assert not c.consume("cam-2", n)
    assert c.consume("cam-1", n) and not c.consume("cam-1", n)


def jose_oct_key():
    from joserfc.jwk import OctKey
    return OctKey.import_key("a-shared-secret-that-is-long-enough-0123456789")


# ---- device grant + TOTP -------------------------------------------------------------------
def test_device_grant_pending_slow_down_totp_and_tokens(cloud):
    dev = cloud.device()
    cloud.register(dev)
    r = dev.device_authorization()
    assert r.status_code == 200 and "no-store" in r.headers.get("Cache-Control", "")
    da = r.json()
    assert da["verification_uri"] == cloud.url + "/device"
    assert da["verification_uri_complete"] == cloud.url + "/device?user_code=" + da["user_code"]
    assert da["interval"] == 3 and da["expires_in"] == 600

    # the very first token request has no nonce: 400 use_dpop_nonce + DPoP-Nonce
    r = dev.token_request({"grant_type": DEVICE_CODE, "device_code": da["device_code"]},
                          retry_nonce=False)
    assert r.status_code == 400 and err(r) == "use_dpop_nonce" and r.headers["DPoP-Nonce"]

    r = dev.poll(da["device_code"])
    assert err(r) == "authorization_pending"
    r = dev.poll(da["device_code"])                       # too fast
    assert err(r) == "slow_down"
    st = cloud.state_of(dev.device_id)["pending"][0]
    assert st["interval"] == 8 and st["status"] == "pending"

    # the owner: wrong TOTP refused, wrong owner refused, right one approves
    secret = cloud.secret("owner_totp_secret")
    wrong = next(c for c in ("000000", "111111", "222222") if not totp.verify(secret, c))
    r = cloud.approve(da["user_code"], code=wrong)
    assert r.status_code == 401 and err(r) == "invalid_totp"
    assert cloud.approve(da["user_code"], owner="mallory@example.test").status_code == 401
    assert cloud.state_of(dev.device_id)["pending"][0]["status"] == "pending"
    assert err(dev.poll(da["device_code"])) == "slow_down"  # still not approved
    r = cloud.post("/owner/approve", data={"user_code": da["user_code"].lower().replace("-", " "),
                                           "totp": totp.totp(secret)})   # form + normalization
    assert r.status_code == 200 and r.json()["device_id"] == dev.device_id

    r = dev.poll(da["device_code"])
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers.get("Cache-Control", "")
    tok = r.json()
    assert tok["token_type"] == "DPoP" and tok["expires_in"] == 120 and tok["refresh_token"]
    claims = jose_jwt.decode(tok["access_token"], _server_key(cloud), algorithms=["ES256"]).claims
    assert claims["cnf"]["jkt"] == dev.session_key.thumbprint()
    assert claims["sub"] == dev.device_id
    assert cloud.state_of(dev.device_id)["current_jkt"] == dev.session_key.thumbprint()
    # a device_code works once
    assert err(dev.poll(da["device_code"])) == "invalid_grant"
    # approving again is refused
    assert cloud.approve(da["user_code"]).status_code == 409


def _server_key(cloud):
    return ECKey.import_key(json.loads((cloud.state / "signing_key.json").read_text()))


def test_device_grant_denied_expired_and_too_many_totp(cloud):
    dev = cloud.device()
    cloud.register(dev)
    da = dev.device_authorization().json()
    assert cloud.post("/owner/deny", json={"user_code": da["user_code"]}).status_code == 200
    assert err(dev.poll(da["device_code"])) == "access_denied"

    da = dev.device_authorization().json()
    assert cloud.post("/test/expire", json={"device_id": dev.device_id,
                                            "what": "device_codes"}).json()["expired"] == 1
    assert err(dev.poll(da["device_code"])) == "expired_token"
    assert cloud.approve(da["user_code"]).status_code == 410

    da = dev.device_authorization().json()
    for _ in range(5):
        assert cloud.approve(da["user_code"], code="12345a").status_code == 401
    assert cloud.approve(da["user_code"]).status_code == 429
    assert cloud.post("/owner/approve", json={"user_code": "NOPE-NOPE", "totp": "1"}
                      ).status_code == 404
    # another device cannot poll this device's code
    thief = cloud.device()
    cloud.register(thief)
    r = thief.poll(da["device_code"])
    assert r.status_code == 400 and err(r) == "unauthorized_client"


# ---- client authentication (RFC 7523) ---------------------------------------------------------
def test_private_key_jwt_checks(cloud):
    dev = cloud.device()
    cloud.register(dev)
    ok = lambda **kw: dev.device_authorization(**kw)  # noqa: E731
    assert ok().status_code == 200                                   # aud = issuer
    assert ok(aud=dev.meta["token_endpoint"]).status_code == 200     # aud = token endpoint
    bad = [dict(aud="https://elsewhere.test"), dict(aud=None), dict(iat=0, exp=int(time.time()) + 60),
           dict(iat=int(time.time()) + 300, exp=int(time.time()) + 360), dict(exp=int(time.time()) - 120),
           dict(exp=int(time.time()) + 7200), dict(iss="someone-else"), dict(jti=None), dict(iat=None),
           dict(key=new_key())]
    for kw in bad:
        r = ok(**kw)
        assert r.status_code == 401 and err(r) == "invalid_client", (kw, r.text)
    # skew within 60 s is fine
    assert ok(iat=int(time.time()) - 50, exp=int(time.time()) + 30).status_code == 200
    assert ok(iat=int(time.time()) + 50, exp=int(time.time()) + 100).status_code == 200
    # replayed jti
    a = dev.assertion()
    form = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": a}
    assert dev.http.post(dev.meta["device_authorization_endpoint"], data=form).status_code == 200
    r = dev.http.post(dev.meta["device_authorization_endpoint"], data=form)
    assert r.status_code == 401 and err(r) == "invalid_client"
    # unregistered client, no authentication, HS256 with the public key as secret
    stranger = cloud.device()
    assert err(stranger.device_authorization()) == "invalid_client"
    r = dev.http.post(dev.meta["device_authorization_endpoint"], data={"client_id": dev.device_id})
    assert r.status_code == 401 and err(r) == "invalid_client"
    from joserfc.jwk import OctKey
    hs = jose_jwt.encode({"alg": "HS256"}, {"iss": dev.device_id, "sub": dev.device_id,
                                             "aud": cloud.url, "iat": int(time.time()),
                                             "exp": int(time.time()) + 60, "jti": "x1"},
                         OctKey.import_key(json.dumps(public_jwk(dev.identity)).encode()),
                         algorithms=["HS256"])
    r = dev.http.post(dev.meta["device_authorization_endpoint"],
                      data=dict(form, client_assertion=hs))
    assert r.status_code == 401 and err(r) == "invalid_client"


# ---- DPoP proofs ---------------------------------------------------------------------
def test_dpop_proof_checks(cloud):
    dev = cloud.activate(cloud.device())
    url = dev.api + "/v1/devices/" + dev.device_id + "/report"
    tok = dev.access_token
    body = {"schema": 1}

    def send(proof, scheme="DPoP", token=tok):
        return dev.http.post(url, json=body, headers={"Authorization": f"{scheme} {token}",
                                                      "DPoP": proof})
    assert send(dev.proof("POST", url, access_token=tok)).status_code == 200
    assert send(dev.proof("POST", url + "?a=b#frag", access_token=tok)).status_code == 200
    cases = {
        "htm": dev.proof("GET", url, access_token=tok),
        "htu": dev.proof("POST", cloud.url + "/v1/devices/other/report", access_token=tok),
        "ath": dev.proof("POST", url, access_token="something-else"),
        "no ath": dev.proof("POST", url),
        "old iat": dev.proof("POST", url, access_token=tok, iat=int(time.time()) - 300),
        "1970 iat": dev.proof("POST", url, access_token=tok, iat=5),
        "typ": dev.proof("POST", url, access_token=tok, header={"typ": "JWT"}),
        "private jwk": dev.proof("POST", url, access_token=tok,
                                 header={"jwk": dev.session_key.as_dict(private=True)}),
        "no jti": dev.proof("POST", url, access_token=tok, jti=None),
    }
    for name, p in cases.items():
        r = send(p)
        assert r.status_code == 401 and www_error(r) == "invalid_dpop_proof", (name, r.text)
    # replayed proof
    p = dev.proof("POST", url, access_token=tok)
    assert send(p).status_code == 200
    r = send(p)
    assert r.status_code == 401 and "already used" in r.json()["error_description"]
    # two proofs in one DPoP header field (what two header lines are folded into)
    r = send(dev.proof("POST", url, access_token=tok) + ", " + dev.proof("POST", url, access_token=tok))
    assert r.status_code == 401 and www_error(r) == "invalid_dpop_proof"
    # nonces: missing / rotated (previous still accepted) / expired
    r = send(dev.proof("POST", url, access_token=tok, nonce=None))
    assert r.status_code == 401 and www_error(r) == "use_dpop_nonce" and r.headers["DPoP-Nonce"]
    old = dev.nonce
    new = cloud.post("/test/dpop-nonce/rotate", json={}).json()["dpop_nonce"]
    assert new != old
    assert send(dev.proof("POST", url, access_token=tok, nonce=old)).status_code == 200
    cloud.post("/test/dpop-nonce/rotate", json={"expire_previous": True})
    r = send(dev.proof("POST", url, access_token=tok, nonce=old))
    assert r.status_code == 401 and www_error(r) == "use_dpop_nonce"
    dev.nonce = r.headers["DPoP-Nonce"]
    assert send(dev.proof("POST", url, access_token=tok)).status_code == 200
    # Bearer presentation of a DPoP-bound token
    r = send(dev.proof("POST", url, access_token=tok), scheme="Bearer")
    assert r.status_code == 401 and www_error(r) == "invalid_token"
    # no credentials at all
    r = dev.http.post(url, json=body)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("DPoP")
    # token endpoint: missing proof / bad proof -> invalid_dpop_proof
    r = dev.http.post(dev.meta["token_endpoint"], data={"grant_type": "refresh_token",
                                                        "refresh_token": dev.refresh_token,
                                                        **dev.client_auth()})
    assert r.status_code == 400 and err(r) == "invalid_dpop_proof"
    r = dev.http.post(dev.meta["token_endpoint"], data={"grant_type": "refresh_token",
                                                        "refresh_token": dev.refresh_token,
                                                        **dev.client_auth()},
                      headers={"DPoP": dev.proof("POST", cloud.url + "/oauth/revoke")})
    assert r.status_code == 400 and err(r) == "invalid_dpop_proof"


# ---- report API --------------------------------------------------------------------------
def test_report_accepted_and_validated(cloud):
    dev = cloud.activate(cloud.device())
    r = dev.report()
    assert r.status_code == 200 and r.headers.get("DPoP-Nonce")
    last = cloud.state_of(dev.device_id)["last_report"]
    assert last["report"]["firmware_version"] == "1.2.3" and last["schema_problems"] == []
    r = dev.report({"schema": 1, "device_id": dev.device_id, "ssid": "HomeWifi"})
    assert r.status_code == 200
    problems = cloud.state_of(dev.device_id)["last_report"]["schema_problems"]
    assert "unexpected field ssid" in problems
    # another device's URL
    other = cloud.activate(cloud.device())
    r = dev.report(device_id=other.device_id)
    assert r.status_code == 403 and www_error(r) == "insufficient_scope"
    # not JSON
    url = dev.api + "/v1/devices/" + dev.device_id + "/report"
    r = dev.http.post(url, data=b"not json{", headers={
        "Authorization": "DPoP " + dev.access_token, "Content-Type": "application/json",
        "DPoP": dev.proof("POST", url, access_token=dev.access_token)})
    assert r.status_code == 400
    # expired access token
    cloud.post("/test/expire", json={"device_id": dev.device_id, "what": "access_tokens"})
    r = dev.report()
    assert r.status_code == 401 and www_error(r) == "invalid_token"
    assert dev.refresh().status_code == 200 and dev.report().status_code == 200


def test_stolen_tokens_are_useless_without_the_key(cloud):
    dev = cloud.activate(cloud.device())
    stolen_at = cloud.state_of(dev.device_id)["access_tokens"][-1]["token"]
    assert stolen_at == dev.access_token
    thief = Device(cloud.url, cloud.ca, dev.device_id, identity=dev.identity)
    # even with the identity key (worst case) but another DPoP key
    r = thief.report(token=stolen_at)
    assert r.status_code == 401 and www_error(r) == "invalid_token"
    # stolen refresh token with another DPoP key: refused, and the real device is unaffected
    r = thief.refresh(dev.refresh_token)
    assert r.status_code == 400 and err(r) == "invalid_grant"
    assert "DPoP key" in r.json()["error_description"]
    assert dev.refresh().status_code == 200
    assert dev.report().status_code == 200


# ---- refresh rotation, grace, reuse ------------------------------------------------------------
def test_refresh_rotation(cloud):
    dev = cloud.activate(cloud.device())
    seen = {dev.refresh_token}
    for _ in range(3):
        r = dev.refresh()
        assert r.status_code == 200, r.text
        assert r.json()["token_type"] == "DPoP"
        assert dev.refresh_token not in seen
        seen.add(dev.refresh_token)
        assert dev.report().status_code == 200
    fam = cloud.state_of(dev.device_id)["families"][-1]
    assert fam["rotations"] == 3 and not fam["revoked"]


def test_grace_rule_for_the_previous_refresh_token(cloud):
    dev = cloud.activate(cloud.device())
    rt1 = dev.refresh_token
    assert dev.refresh().status_code == 200          # server issued rt2 ...
    rt2 = dev.refresh_token                           # ... the device lost power before commit
    r = dev.refresh(rt1)                              # accepted once more (grace)
    assert r.status_code == 200, r.text
    rt3 = dev.refresh_token
    assert rt3 not in (rt1, rt2)
    r = dev.refresh(rt1)                              # still uncommitted: grace again
    assert r.status_code == 200
    rt4 = dev.refresh_token
    assert dev.refresh(rt4).status_code == 200        # the new one is used: grace over
    rt5 = dev.refresh_token
    r = dev.refresh(rt1)                              # now rt1 is reuse -> family revoked
    assert r.status_code == 400 and err(r) == "invalid_grant"
    assert dev.refresh(rt5).status_code == 400
    fam = cloud.state_of(dev.device_id)["families"][-1]
    assert fam["revoked"] and fam["revoked_reason"] == "refresh token reuse"
    assert fam["grace_uses"] == 2
    assert rt2 in fam["superseded_rts"]


def test_grace_ends_when_the_new_access_token_is_used(cloud):
    dev = cloud.activate(cloud.device())
    rt1 = dev.refresh_token
    assert dev.refresh().status_code == 200
    assert dev.report().status_code == 200            # AT issued with rt2 used
    r = dev.refresh(rt1)
    assert r.status_code == 400 and err(r) == "invalid_grant"
    assert www_error(dev.report()) == "invalid_token"  # whole family gone


def test_reuse_of_an_older_token_kills_the_family(cloud):
    dev = cloud.activate(cloud.device())
    rt1 = dev.refresh_token
    dev.refresh()
    dev.refresh()                                      # rt3 current, rt2 previous
    r = dev.refresh(rt1)
    assert r.status_code == 400 and err(r) == "invalid_grant"
    assert "reuse" in r.json()["error_description"]
    assert err(dev.refresh()) == "invalid_grant"       # current one dead too
    assert www_error(dev.report()) == "invalid_token"
    # re-activation gives a fresh session
    dev.session_key = new_key()
    cloud.activate(dev, register=False)
    assert dev.report().status_code == 200


# ---- revocation -------------------------------------------------------------------------------
def test_revocation(cloud):
    dev = cloud.activate(cloud.device())
    at = dev.access_token
    # access token only
    r = dev.revoke(at, "access_token")
    assert r.status_code == 200
    assert www_error(dev.report(token=at)) == "invalid_token"
    assert dev.refresh().status_code == 200 and dev.report().status_code == 200
    # refresh token: the family and its access tokens
    r = dev.revoke(dev.refresh_token, "refresh_token")
    assert r.status_code == 200
    assert err(dev.refresh()) == "invalid_grant"
    assert www_error(dev.report()) == "invalid_token"
    # unknown token: 200; no client auth: 401; another client's token: 200 but not revoked
    assert dev.revoke("no-such-token").status_code == 200
    r = dev.http.post(dev.meta["revocation_endpoint"], data={"token": "x"})
    assert r.status_code == 401 and err(r) == "invalid_client"
    other = cloud.activate(cloud.device())
    assert dev.revoke(other.refresh_token).status_code == 200
    assert other.refresh().status_code == 200
    assert err(dev.revoke("x", "weird_hint")) == "unsupported_token_type"


# ---- mass logout -----------------------------------------------------------------------------
def test_mass_logout(cloud):
    devs = [cloud.activate(cloud.device("fleet")) for _ in range(3)]
    assert cloud.post("/admin/revoke-all").status_code == 401
    assert cloud.post("/admin/revoke-all", headers={"Authorization": "Bearer x"}).status_code == 401
    r = cloud.post("/admin/revoke-all",
                   headers={"Authorization": "Bearer " + cloud.secret("admin_token")})
    assert r.status_code == 200 and r.json()["families"] >= 3
    for d in devs:
        assert www_error(d.report()) == "invalid_token"
        r = d.refresh()
        assert r.status_code == 400 and err(r) == "invalid_grant"
    # they come back through the device grant with a new session key
    for d in devs:
        old = d.session_key.thumbprint()
        d.session_key = new_key()
        cloud.activate(d, register=False)
        assert d.report().status_code == 200
        assert cloud.state_of(d.device_id)["current_jkt"] not in (None, old)


# ---- faults ------------------------------------------------------------------------------------
def test_fault_status_and_retry_after(cloud):
    dev = cloud.activate(cloud.device())
    cloud.fault(path="/oauth/token", status=503, count=2)
    assert dev.refresh().status_code == 503
    assert dev.refresh().status_code == 503
    assert dev.refresh().status_code == 200
    cloud.fault(path="/v1/devices/*", status=429, retry_after=7)
    r = dev.report()
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert dev.report().status_code == 200
    # method filter: a GET fault does not hit POSTs
    cloud.fault(path="/oauth/token", method="GET", status=500)
    assert dev.refresh().status_code == 200
    assert len(cloud.get("/test/faults").json()["faults"]) == 1


def test_fault_bodies_big_body_redirect_delay_drop(cloud):
    dev = cloud.device()
    cloud.fault(path="/.well-known/oauth-authorization-server", body="not json{", status=200)
    r = cloud.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200 and r.content == b"not json{"

    cloud.fault(path="/.well-known/oauth-authorization-server", big_body_bytes=10 * 1024 * 1024)
    r = cloud.get("/.well-known/oauth-authorization-server")
    assert int(r.headers["Content-Length"]) == 10485760 and len(r.content) == 10485760
    assert r.content.startswith(b'{"pad":"')

    cloud.fault(path="/oauth/token", redirect="https://other.invalid/x")
    r = cloud.post("/oauth/token", data={}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "https://other.invalid/x"

    cloud.fault(path="/oauth/device_authorization", delay=0.5)
    cloud.register(dev)
    t0 = time.time()
    assert dev.device_authorization().status_code == 200
    assert time.time() - t0 >= 0.5

    cloud.fault(path="/oauth/device_authorization", drop=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        dev.device_authorization()
    assert dev.device_authorization().status_code == 200


def test_fault_delay_after_holds_an_answer_already_issued(cloud):
    """The rotation power-cut: the server has issued (and stored) a new refresh
    token, the device never sees it, and the previous one still works (grace)."""
    import threading
    dev = cloud.activate(cloud.device())
    rt1 = dev.refresh_token
    fam = cloud.state_of(dev.device_id)["families"][-1]
    assert fam["rotations"] == 0
    cloud.fault(path="/oauth/token", delay_after=1.5)
    answers = []
    started = time.time()
    t = threading.Thread(target=lambda: answers.append(dev.refresh()))
    t.start()
    # While the answer is held, the rotation is already done at the server.
    deadline = time.time() + 1.2
    rotated = False
    while time.time() < deadline and not rotated:
        rotated = cloud.state_of(dev.device_id)["families"][-1]["rotations"] == 1
        time.sleep(0.05)
    assert rotated and not answers
    t.join(10)
    assert answers[0].status_code == 200 and time.time() - started >= 1.5
    # The device "lost power" before committing rt2: rt1 is accepted once more.
    dev.refresh_token = rt1
    r = dev.refresh()
    assert r.status_code == 200, r.text
    fam = cloud.state_of(dev.device_id)["families"][-1]
    assert fam["grace_uses"] == 1 and not fam["revoked"]
    assert cloud.post("/test/faults", json={"path": "/x", "delay_after": 61}).status_code == 400


def test_fault_slow_down_and_deny(cloud):
    dev = cloud.device()
    cloud.register(dev)
    da = dev.device_authorization().json()
    cloud.fault(path="/oauth/token", slow_down=True)
    dev.nonce = None   # the nonce round trip must not consume the fault
    r = dev.poll(da["device_code"])
    assert err(r) == "slow_down"
    assert cloud.state_of(dev.device_id)["pending"][0]["interval"] == 8
    cloud.fault(path="/oauth/token", deny=True)
    assert err(dev.poll(da["device_code"])) == "access_denied"
    assert err(dev.poll(da["device_code"])) == "access_denied"
    r = cloud.post("/test/faults", json={"path": "/x", "bogus": 1})
    assert r.status_code == 400


# ---- records ---------------------------------------------------------------------------
def test_requests_are_recorded(cloud):
    dev = cloud.activate(cloud.device())
    since = cloud.get("/test/requests").json()["requests"][-1]["seq"]
    assert dev.report().status_code == 200
    recs = cloud.get("/test/requests", params={"since": since,
                                               "path_prefix": "/v1/devices/"}).json()["requests"]
    assert recs, "report not recorded"
    rec = recs[-1]
    assert rec["method"] == "POST" and rec["path"] == f"/v1/devices/{dev.device_id}/report"
    assert rec["status"] == 200
    hdrs = {k.lower(): v for k, v in rec["headers"]}
    assert hdrs["authorization"] == "DPoP " + dev.access_token and "dpop" in hdrs
    assert json.loads(base64.b64decode(rec["body_b64"]))["device_id"] == dev.device_id
    lines = (cloud.state / "requests.jsonl").read_text().splitlines()
    assert any(json.loads(line)["seq"] == rec["seq"] for line in lines[-50:])
    # admin/factory secrets are not written to the record
    admin = cloud.secret("admin_token")
    assert cloud.post("/admin/nothing", headers={"Authorization": "Bearer " + admin}
                      ).status_code == 404
    assert admin not in (cloud.state / "requests.jsonl").read_text()
    assert cloud.secret("factory_token") not in (cloud.state / "requests.jsonl").read_text()


# ---- owner CLI --------------------------------------------------------------------------
def test_owner_cli(cloud):
    dev = cloud.device()
    cloud.register(dev)
    da = dev.device_authorization().json()
    cli = [sys.executable, str(HERE / "owner.py"), "--state-dir", str(cloud.state)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    secret = cloud.secret("owner_totp_secret")
    wrong = next(c for c in ("000000", "111111", "222222") if not totp.verify(secret, c))
    r = subprocess.run(cli + ["approve", da["user_code"], "--totp", wrong], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "invalid_totp" in r.stdout
    r = subprocess.run(cli + ["approve", da["user_code"]], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert dev.poll(da["device_code"]).status_code == 200
    assert subprocess.run(cli + ["totp"], capture_output=True, text=True, env=env
                          ).stdout.strip().isdigit()
    da = dev.device_authorization().json()
    r = subprocess.run(cli + ["deny", da["user_code"]], env=env, capture_output=True, text=True)
    assert r.returncode == 0 and err(dev.poll(da["device_code"])) == "access_denied"


def test_owner_cli_admin_revoke_all(cloud):
    dev = cloud.activate(cloud.device())
    cli = [sys.executable, str(HERE / "owner.py"), "--state-dir", str(cloud.state)]
    r = subprocess.run(cli + ["admin", "revoke-all"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and json.loads(r.stdout)["revoked"] is True
    assert err(dev.refresh()) == "invalid_grant"


# ---- a second server: no test controls, restart keeps state -------------------------------
def test_without_test_controls_and_restart_keeps_state(tmp_path):
    state = tmp_path / "state2"
    (tmp_path / "factory.secret").write_text("factory-secret-from-file\n")
    args = ["--interval", "1", "--factory-token-file", str(tmp_path / "factory.secret"),
            "--issuer-host", "localhost"]
    c = start_cloud(state, *args)
    try:
        assert c.get("/test/state").status_code == 404
        assert c.get("/test/requests").status_code == 404
        assert "factory_token" not in os.listdir(state)
        dev = Device(c.url, c.ca, "cam-restart-1")
        assert dev.meta["issuer"] == f"https://localhost:{c.port}"
        r = c.post("/factory/devices", json={"device_id": dev.device_id,
                                             "jwk": public_jwk(dev.identity)},
                   headers={"Authorization": "Bearer factory-secret-from-file"})
        assert r.status_code == 201
        # htu may use the host the request was sent to (127.0.0.1) or the issuer's name
        c.activate(dev, register=False)
        assert dev.report().status_code == 200
    finally:
        assert stop_cloud(c) == 0
    ca_before = (state / "ca.pem").read_bytes()
    c = start_cloud(state, *args)
    try:
        assert (state / "ca.pem").read_bytes() == ca_before      # CA reused
        dev.base = c.url
        dev.meta = dev.http.get(c.url + "/.well-known/oauth-authorization-server").json()
        dev.nonce = None
        r = dev.refresh()
        assert r.status_code == 200, r.text
        assert dev.report().status_code == 200
    finally:
        stop_cloud(c)


def test_totp_rfc6238_vectors():
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"   # "12345678901234567890"
    for t, code8 in [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"),
                     (2000000000, "69279037")]:
        assert totp.totp(secret, at=t) == code8[-6:]
        assert totp.verify(secret, code8[-6:], at=t + 30)       # one step of drift
        assert not totp.verify(secret, code8[-6:], at=t + 95)


# ---- plain mode: what an independent server may do within the RFCs ------------------------
# Members registered in IANA's "OAuth Authorization Server Metadata" registry
# (RFC 8414 §7.1.2, plus RFC 8628, RFC 9449, RFC 7009 and RFC 9728 entries).
RFC8414_REGISTERED = {
    "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint",
    "scopes_supported", "response_types_supported", "response_modes_supported",
    "grant_types_supported", "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported", "service_documentation",
    "ui_locales_supported", "op_policy_uri", "op_tos_uri", "revocation_endpoint",
    "revocation_endpoint_auth_methods_supported", "revocation_endpoint_auth_signing_alg_values_supported",
    "introspection_endpoint", "introspection_endpoint_auth_methods_supported",
    "introspection_endpoint_auth_signing_alg_values_supported", "code_challenge_methods_supported",
    "device_authorization_endpoint", "dpop_signing_alg_values_supported",
    "protected_resources",
}
RFC9728_REGISTERED = {
    "resource", "authorization_servers", "jwks_uri", "scopes_supported", "bearer_methods_supported",
    "resource_signing_alg_values_supported", "resource_name", "resource_documentation",
    "resource_policy_uri", "resource_tos_uri", "tls_client_certificate_bound_access_tokens",
    "authorization_details_types_supported", "dpop_signing_alg_values_supported",
    "dpop_bound_access_tokens_required",
}


def test_plain_metadata_has_only_registered_members(plain_cloud):
    md = plain_cloud.get("/.well-known/oauth-authorization-server").json()
    assert set(md) <= RFC8414_REGISTERED, set(md) - RFC8414_REGISTERED
    assert "camera_report_endpoint" not in md
    prm = plain_cloud.get("/.well-known/oauth-protected-resource").json()
    assert set(prm) <= RFC9728_REGISTERED, set(prm) - RFC9728_REGISTERED
    assert prm["resource"] == plain_cloud.url
    assert prm["authorization_servers"] == [md["issuer"]]
    assert prm["dpop_bound_access_tokens_required"] is True
    assert plain_cloud.get("/test/state").json()["mode"] == "plain"


def test_plain_user_codes_are_long_mixed_case_and_exact(plain_cloud):
    dev = plain_cloud.device()
    assert plain_cloud.register(dev).status_code == 201
    codes = []
    for _ in range(5):
        da = dev.device_authorization().json()
        code = da["user_code"]
        assert len(code) == 24 and code.isalnum(), code
        codes.append(code)
    # Over the codes, upper case, lower case and digits all occur.
    joined = "".join(codes)
    assert any(c.isupper() for c in joined) and any(c.islower() for c in joined)
    assert any(c.isdigit() for c in joined)
    # Case-sensitive: another spelling is another (unknown) code.
    wrong = codes[-1].swapcase()
    assert plain_cloud.approve(wrong).status_code == 404
    assert plain_cloud.approve(codes[-1]).status_code == 200


def test_plain_lifecycle_separate_nonces_and_rotation_without_grace(plain_cloud):
    dev = plain_cloud.activate(plain_cloud.device())
    assert dev.report().status_code == 200
    state = plain_cloud.get("/test/state").json()
    assert state["dpop_nonce"] != state["resource_dpop_nonce"]
    # The authorization server's nonce is no good at the resource server.
    url = dev.api + "/v1/devices/" + dev.device_id + "/report"
    r = dev.http.post(url, json={"schema": 1}, headers={
        "Authorization": "DPoP " + dev.access_token,
        "DPoP": dev.proof("POST", url, access_token=dev.access_token, nonce=state["dpop_nonce"])})
    assert r.status_code == 401 and www_error(r) == "use_dpop_nonce"
    assert r.headers["DPoP-Nonce"] == state["resource_dpop_nonce"]
    # A proof without a nonce is refused at both servers.
    r = dev.http.post(dev.meta["token_endpoint"], data={"grant_type": "refresh_token",
                      "refresh_token": dev.refresh_token, **dev.client_auth()},
                      headers={"DPoP": dev.proof("POST", dev.meta["token_endpoint"], nonce=None)})
    assert r.status_code == 400 and err(r) == "use_dpop_nonce"
    # Rotation on every use; the previous token is reuse at once (no grace).
    rt1 = dev.refresh_token
    assert dev.refresh().status_code == 200
    rt2 = dev.refresh_token
    assert rt2 != rt1
    r = dev.refresh(rt1)
    assert r.status_code == 400 and err(r) == "invalid_grant"
    assert err(dev.refresh(rt2)) == "invalid_grant"
    fam = plain_cloud.state_of(dev.device_id)["families"][-1]
    assert fam["revoked"] and fam["grace_uses"] == 0


def test_plain_errors_carry_extra_members(plain_cloud):
    dev = plain_cloud.device()
    assert plain_cloud.register(dev).status_code == 201
    r = dev.device_authorization(aud="https://elsewhere.example")
    assert r.status_code == 401
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    body = r.json()
    assert body["error"] == "invalid_client"
    assert {"error_uri", "trace_id", "details"} <= set(body)
    assert isinstance(body["details"], dict)
    r = dev.report(token="not-a-token")
    assert r.status_code == 401 and www_error(r) == "invalid_token"
    assert r.json()["error"] == "invalid_token" and "trace_id" in r.json()
