"""The Flask application: every HTTP endpoint of the reference cloud, the request
recorder and the fault injector."""

from __future__ import annotations

import base64
import html
import io
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Response, g, jsonify, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from . import factory, totp
from .dpop import NonceManager, ProofError, ReplayCache, import_public_p256, thumbprint, validate_proof
from .oauth import CloudAuthorizationServer, build_metadata, new_jti
from .pki import write_private
from .store import Store

log = logging.getLogger("refcloud")

DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
MAX_REQUEST_BYTES = 1 << 20          # requests larger than 1 MiB are refused (413)
MAX_REPORT_BYTES = 16 << 10
MAX_BIG_BODY = 256 << 20
REPORT_FIELDS = {"schema", "device_id", "firmware_version", "last_activation", "agent_version"}
FAULT_KEYS = {"path", "method", "count", "status", "retry_after", "body", "content_type",
              "headers", "big_body_bytes", "redirect", "slow_down", "deny", "delay", "delay_after",
              "drop"}
GRANT_FAULTS = ("slow_down", "deny")


@dataclass
class Config:
    state_dir: Path
    bind: str = "127.0.0.1"
    port: int = 0
    issuer_host: str = "127.0.0.1"
    public_port: int | None = None
    interval: int = 5
    device_code_ttl: int = 600
    access_ttl: int = 300
    skew: int = 60
    nonce_ttl: int = 300
    nonce_grace: int = 30
    owner: str = "owner@example.test"
    factory_token_file: Path | None = None
    test_controls: bool = False
    sans: list[str] = field(default_factory=list)
    # "plain": behave as an independent server may within the RFCs (README "Modes").
    mode: str = "default"

    @property
    def plain(self) -> bool:
        return self.mode == "plain"


def _read_or_create_secret(path: Path, make) -> str:
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        value = path.read_text().strip()
        if value:
            return value
    value = make()
    write_private(path, (value + "\n").encode())
    return value


class Cloud:
    """Configuration plus all shared server-side objects."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        sd = cfg.state_dir
        self.store = Store(sd / "state.json")
        self.nonces = NonceManager(cfg.nonce_ttl, 0 if cfg.plain else cfg.nonce_grace)
        # RFC 9449 §9: the resource server may run its own nonces. Plain mode does,
        # with no grace for a rotated one; the default mode shares one.
        self.rs_nonces = NonceManager(cfg.nonce_ttl, 0) if cfg.plain else self.nonces
        self.replay = ReplayCache()
        self.admin_token = _read_or_create_secret(sd / "admin_token", lambda: secrets.token_urlsafe(32))
        self.factory_token = _read_or_create_secret(
            cfg.factory_token_file or sd / "factory_token", lambda: secrets.token_urlsafe(32))
        self.owner_secret = _read_or_create_secret(sd / "owner_totp_secret", totp.new_secret)
        key_path = sd / "signing_key.json"
        if key_path.exists():
            self.signing_key = ECKey.import_key(json.loads(key_path.read_text()))
        else:
            self.signing_key = ECKey.generate_key("P-256", private=True)
            write_private(key_path, json.dumps(self.signing_key.as_dict(private=True)).encode())
        self.kid = self.signing_key.thumbprint()
        self.port = cfg.port
        self._faults: list[dict] = []
        self._faults_lock = threading.Lock()
        self._rec_lock = threading.Lock()
        self._records: list[dict] = []
        self._seq = 0
        self._rec_file = None

    # ---- addresses -----------------------------------------------------------
    def set_port(self, port: int) -> None:
        self.port = port
        host = self.cfg.issuer_host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        pport = self.cfg.public_port or port
        self.issuer = f"https://{host}" + ("" if pport == 443 else f":{pport}")
        self.token_endpoint = self.issuer + "/oauth/token"
        self.report_base = self.issuer + "/v1/devices/"
        self.metadata = build_metadata(self.issuer, self.report_base, plain=self.cfg.plain)
        # RFC 9728 §2; the resource identifier is the API base the devices default to.
        self.resource_metadata = {
            "resource": self.issuer, "authorization_servers": [self.issuer],
            "bearer_methods_supported": ["header"], "dpop_signing_alg_values_supported": ["ES256"],
            "dpop_bound_access_tokens_required": True}

    def assertion_audiences(self) -> list[str]:
        return [self.issuer, self.issuer + "/", self.token_endpoint]

    def accepted_htu(self, path: str) -> list[str]:
        """htu may name the server as the issuer does or as the request's Host did."""
        return [self.issuer + path, f"https://{request.host}{path}"]

    # ---- access tokens (RFC 9068-style JWTs bound with cnf.jkt) ----------------
    def make_access_token(self, client_id: str, jkt: str) -> tuple[str, dict]:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": client_id, "client_id": client_id,
                  "aud": self.report_base, "iat": now, "exp": now + self.cfg.access_ttl,
                  "jti": new_jti(), "cnf": {"jkt": jkt}}
        header = {"alg": "ES256", "typ": "at+jwt", "kid": self.kid}
        return jwt.encode(header, claims, self.signing_key, algorithms=["ES256"]), claims

    def peek_access_claims(self, token: str) -> dict:
        return dict(jwt.decode(token, self.signing_key, algorithms=["ES256"]).claims)

    def verify_access_token(self, token: str) -> tuple[dict | None, str]:
        try:
            claims = self.peek_access_claims(token)
        except (JoseError, ValueError):
            return None, "access token is malformed or was not issued here"
        rec = self.store.lookup_access(token)
        if rec is None:
            return None, "access token unknown"
        if rec["revoked"]:
            return None, "access token revoked"
        fam = self.store.families.get(rec["fid"])
        if fam is None or fam["revoked"]:
            return None, "session revoked"
        if min(rec["exp"], claims.get("exp", 0)) <= time.time():
            return None, "access token expired"
        return rec, ""

    # ---- faults ----------------------------------------------------------------
    def add_fault(self, f: dict) -> dict:
        bad = set(f) - FAULT_KEYS
        if bad:
            raise ValueError(f"unknown fault keys: {sorted(bad)}")
        if not isinstance(f.get("path"), str) or not f["path"].startswith("/"):
            raise ValueError("fault needs a path starting with /")
        f = dict(f)
        f["count"] = int(f.get("count", 1))
        if f["count"] < 1:
            raise ValueError("count must be >= 1")
        if "big_body_bytes" in f and not 0 <= int(f["big_body_bytes"]) <= MAX_BIG_BODY:
            raise ValueError(f"big_body_bytes must be 0..{MAX_BIG_BODY}")
        for key in ("delay", "delay_after"):
            if key in f and not 0 <= float(f[key]) <= 60:
                raise ValueError(f"{key} must be 0..60 s")
        f["id"] = secrets.token_hex(4)
        with self._faults_lock:
            self._faults.append(f)
        return f

    def take_fault(self, method: str, path: str, grant: bool) -> dict | None:
        with self._faults_lock:
            for f in self._faults:
                is_grant = any(f.get(k) for k in GRANT_FAULTS)
                if is_grant != grant:
                    continue
                p = f["path"]
                if not (path == p or (p.endswith("*") and path.startswith(p[:-1]))):
                    continue
                if f.get("method") and f["method"].upper() != method:
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self._faults.remove(f)
                return f
        return None

    def list_faults(self) -> list[dict]:
        with self._faults_lock:
            return [dict(f) for f in self._faults]

    def clear_faults(self) -> int:
        with self._faults_lock:
            n = len(self._faults)
            self._faults.clear()
            return n

    # ---- request records -----------------------------------------------------------
    def open_records(self) -> None:
        path = self.cfg.state_dir / "requests.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._rec_file = open(fd, "a", buffering=1, encoding="utf-8")

    def _redact(self, value: str) -> str:
        for s in (self.admin_token, self.factory_token):
            if s and s in value:
                value = value.replace(s, "<redacted>")
        return value

    def record(self, environ: dict, body: bytes, started: float, status: int) -> None:
        headers = []
        for k, v in environ.items():
            if k.startswith("HTTP_"):
                name = k[5:]
            elif k in ("CONTENT_TYPE", "CONTENT_LENGTH") and v != "":
                name = k
            else:
                continue
            headers.append(["-".join(p.capitalize() for p in name.split("_")), self._redact(v)])
        with self._rec_lock:
            self._seq += 1
            rec = {"seq": self._seq, "time": started,
                   "time_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                   "remote": environ.get("REMOTE_ADDR"), "method": environ.get("REQUEST_METHOD"),
                   "path": environ.get("RAW_URI") or environ.get("PATH_INFO", ""),
                   "headers": headers, "body_b64": base64.b64encode(body).decode("ascii"),
                   "status": status}
            self._records.append(rec)
            if len(self._records) > 50000:
                del self._records[:10000]
            if self._rec_file is not None:
                self._rec_file.write(json.dumps(rec) + "\n")
                self._rec_file.flush()

    def records(self, since: int = 0, prefix: str = "") -> list[dict]:
        with self._rec_lock:
            return [r for r in self._records
                    if r["seq"] > since and r["path"].startswith(prefix)]


class Recorder:
    """WSGI middleware: buffers the body (bounded), then records the request with the
    status the application answered."""

    def __init__(self, app, cloud: Cloud):
        self.app, self.cloud = app, cloud

    def __call__(self, environ, start_response):
        started = time.time()
        body = b""
        stream = environ.get("wsgi.input")
        too_big = False
        if environ.get("wsgi.input_terminated"):
            body = stream.read(MAX_REQUEST_BYTES + 1)
        else:
            try:
                n = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                n = 0
            if n > MAX_REQUEST_BYTES:
                too_big = True
            elif n > 0:
                body = stream.read(n)
        if len(body) > MAX_REQUEST_BYTES:
            too_big, body = True, body[:MAX_REQUEST_BYTES]
        environ.pop("wsgi.input_terminated", None)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        done = []

        def sr(status, headers, exc_info=None):
            if not done:
                done.append(1)
                self.cloud.record(environ, body, started, int(status.split()[0]))
            return start_response(status, headers, exc_info)

        if too_big:
            resp = Response(json.dumps({"error": "request_too_large"}), 413,
                            content_type="application/json")
            return resp(environ, sr)
        return self.app(environ, sr)


# ---- helpers ---------------------------------------------------------------------
def _json_error(status: int, error: str, description: str = "", headers=None) -> Response:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return Response(json.dumps(body), status, headers=headers or {},
                    content_type="application/json")


def _dpop_401(cloud: Cloud, error: str | None, description: str = "", status: int = 401) -> Response:
    """A refusal at the report API (the resource server's nonce, RFC 9449 §9)."""
    parts = []
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append('error_description="' + description.replace('"', "'") + '"')
    parts.append('algs="ES256"')
    headers = {"WWW-Authenticate": "DPoP " + ", ".join(parts)}
    if error == "use_dpop_nonce":
        headers["DPoP-Nonce"] = cloud.rs_nonces.current()
    body = {"error": error or "invalid_request"}
    if description:
        body["error_description"] = description
    return Response(json.dumps(body), status, headers=headers, content_type="application/json")


def _decorate_error(resp: Response) -> None:
    """Plain mode: an error body as a server built on another stack may send it
    (RFC 6749 §5.2 allows members beyond error, error_description and error_uri):
    the OAuth error stays, with more around it, and a charset on the type."""
    if resp.direct_passthrough or not (resp.mimetype or "").endswith("json"):
        return
    try:
        body = json.loads(resp.get_data())
    except ValueError:
        return
    if not isinstance(body, dict) or "error" not in body:
        return
    body.setdefault("error_uri", "https://errors.example/oauth/" + str(body["error"]))
    body["trace_id"] = secrets.token_hex(8)
    body["details"] = {"status": resp.status_code, "retryable": resp.status_code >= 500,
                       "hints": ["see error_description"]}
    resp.set_data(json.dumps(body))
    resp.headers["Content-Type"] = "application/json; charset=utf-8"


def _is_loopback(addr: str | None) -> bool:
    try:
        return ipaddress.ip_address((addr or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def _bearer(value: str | None) -> str:
    scheme, _, tok = (value or "").partition(" ")
    return tok.strip() if scheme.lower() == "bearer" else ""


def _payload() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    if data is None:
        data = request.form.to_dict()
    return data if isinstance(data, dict) else {}


DEVICE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Activate a camera</title></head>
<body><h1>Activate a camera</h1>
<form method="post" action="/owner/approve">
<p><label>Code <input name="user_code" value="{code}" autocomplete="off"></label></p>
<p><label>Account <input name="owner" value="{owner}"></label></p>
<p><label>Authenticator code <input name="totp" inputmode="numeric" autocomplete="one-time-code"></label></p>
<p><button type="submit">Approve</button></p></form>
<form method="post" action="/owner/deny"><input type="hidden" name="user_code" value="{code}">
<button type="submit">Deny</button></form></body></html>"""


def create_app(cloud: Cloud) -> Flask:
    app = Flask("refcloud")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.json.sort_keys = False
    server = CloudAuthorizationServer(app, cloud)
    store = cloud.store

    # ---- guards, faults, nonce header -------------------------------------------------
    @app.before_request
    def _before():
        path = request.path
        if path.startswith(("/admin/", "/owner/", "/test/", "/factory/")) and \
                not _is_loopback(request.remote_addr):
            return _json_error(403, "forbidden", "loopback only")
        if path.startswith("/test/"):
            if not cloud.cfg.test_controls:
                return _json_error(404, "not_found", "start the server with --test-controls")
            return None
        f = cloud.take_fault(request.method, path, grant=False)
        if f is None:
            return None
        log.info("fault %s applied to %s %s", f["id"], request.method, path)
        if "delay" in f:
            time.sleep(float(f["delay"]))
        if "delay_after" in f:
            # Held in _after: the endpoint has run (and saved what it issued) by then.
            g.delay_after = float(f["delay_after"])
        extra = {str(k): str(v) for k, v in (f.get("headers") or {}).items()}
        if "retry_after" in f:
            extra["Retry-After"] = str(f["retry_after"])
        if f.get("drop"):
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return Response(b"", 500)
        if "redirect" in f:
            extra["Location"] = f["redirect"]
            return Response(b"", int(f.get("status", 302)), headers=extra)
        if "big_body_bytes" in f:
            n = int(f["big_body_bytes"])

            def gen():
                head, tail = b'{"pad":"', b'"}'
                if n < len(head) + len(tail):
                    yield b"a" * n
                    return
                yield head
                left = n - len(head) - len(tail)
                chunk = b"a" * 65536
                while left > 0:
                    yield chunk[:min(left, 65536)]
                    left -= 65536
                yield tail
            extra["Content-Length"] = str(n)
            return Response(gen(), int(f.get("status", 200)), headers=extra,
                            content_type=f.get("content_type", "application/json"),
                            direct_passthrough=True)
        if "body" in f:
            return Response(str(f["body"]).encode(), int(f.get("status", 200)), headers=extra,
                            content_type=f.get("content_type", "application/json"))
        if "status" in f:
            st = int(f["status"])
            err = {429: "rate_limited", 503: "temporarily_unavailable"}.get(st, "fault_injected")
            return Response(json.dumps({"error": err}), st, headers=extra,
                            content_type="application/json")
        return None  # delay or delay_after only: go on normally

    # /test/date: the Date header every non-test response carries instead of
    # the real one (a server with a broken or hostile clock). The HTTP server
    # writes Date itself (server.Handler.date_time_string reads this).
    app.config["REFCLOUD_TEST_DATE"] = None

    @app.after_request
    def _after(resp: Response):
        if request.path == "/oauth/token":
            resp.headers.setdefault("DPoP-Nonce", cloud.nonces.current())
        elif request.path.startswith("/v1/"):
            resp.headers.setdefault("DPoP-Nonce", cloud.rs_nonces.current())
        if cloud.cfg.plain and resp.status_code >= 400 and not request.path.startswith("/test/"):
            _decorate_error(resp)
        held = g.pop("delay_after", None)
        if held:
            # The answer is ready and whatever it issued is in the store: a power
            # cut of the client now loses that answer (the rotation crash test).
            log.info("holding the answer to %s %s for %.1f s", request.method, request.path, held)
            time.sleep(held)
        return resp

    # ---- discovery -------------------------------------------------------------------
    @app.get("/.well-known/oauth-authorization-server")
    def metadata():
        return jsonify(cloud.metadata)

    @app.get("/.well-known/oauth-protected-resource")
    def resource_metadata():
        # Published in plain mode only: the default mode shows the agent's
        # configured API base working without it (RFC 9728 is optional).
        if not cloud.cfg.plain:
            return _json_error(404, "not_found")
        return jsonify(cloud.resource_metadata)

    # ---- OAuth endpoints ----------------------------------------------------------
    @app.post("/oauth/device_authorization")
    def device_authorization():
        with store.lock:
            return server.create_endpoint_response("device_authorization")

    @app.post("/oauth/token")
    def token():
        try:
            g.dpop_jkt = validate_proof(request.headers, "POST", cloud.accepted_htu("/oauth/token"),
                                        nonces=cloud.nonces, replay=cloud.replay, skew=cloud.cfg.skew)
        except ProofError as e:
            hdr = {"DPoP-Nonce": cloud.nonces.current()} if e.error == "use_dpop_nonce" else {}
            return _json_error(400, e.error, e.description, hdr)
        f = cloud.take_fault("POST", "/oauth/token", grant=True) \
            if request.form.get("grant_type", "").endswith("device_code") else None
        g.grant_fault = ("deny" if f.get("deny") else "slow_down") if f else None
        with store.lock:
            return server.create_token_response()

    @app.post("/oauth/revoke")
    def revoke():
        with store.lock:
            return server.create_endpoint_response("revocation")

    # ---- factory -------------------------------------------------------------------
    @app.post("/factory/devices")
    def factory_register():
        tok = _bearer(request.headers.get("Authorization"))
        if not tok or not secrets.compare_digest(tok, cloud.factory_token):
            return _json_error(401, "unauthorized", "factory token required",
                               {"WWW-Authenticate": 'Bearer realm="factory"'})
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return _json_error(400, "invalid_request", "JSON object body required")
        device_id = data.get("device_id")
        # fullmatch: `$` would also accept a trailing newline.
        if not isinstance(device_id, str) or not DEVICE_ID_RE.fullmatch(device_id):
            return _json_error(400, "invalid_device_id",
                               "device_id must match ^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
        try:
            key = import_public_p256(data.get("jwk"))
        except ValueError as e:
            return _json_error(400, "invalid_jwk", str(e))
        force = data.get("force", False)
        if not isinstance(force, bool):
            return _json_error(400, "invalid_request", "force must be a boolean")
        jkt = thumbprint(key)
        jwk = {"kty": "EC", "crv": "P-256", "x": data["jwk"]["x"], "y": data["jwk"]["y"]}
        status = store.register_device(device_id, jwk, jkt, force)
        if status == 409:
            return Response(json.dumps({"error": "conflict", "error_description":
                                        "device_id is registered with another key; send force",
                                        "device_id": device_id,
                                        "registered_jkt": store.devices[device_id]["jkt"]}),
                            409, content_type="application/json")
        return Response(json.dumps({"device_id": device_id, "jkt": jkt,
                                    "status": "registered" if status == 201 else "unchanged"}),
                        status, content_type="application/json")

    challenges = factory.Challenges()

    def _factory_device(device_id: str) -> tuple[dict | None, Response | None]:
        """The factory token check and the registered device, or an error response."""
        tok = _bearer(request.headers.get("Authorization"))
        if not tok or not secrets.compare_digest(tok, cloud.factory_token):
            return None, _json_error(401, "unauthorized", "factory token required",
                                     {"WWW-Authenticate": 'Bearer realm="factory"'})
        if not DEVICE_ID_RE.fullmatch(device_id):
            return None, _json_error(400, "invalid_device_id",
                                     "device_id must match ^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
        with store.lock:
            dev = store.devices.get(device_id)
            dev = dict(dev) if dev is not None else None
        if dev is None:
            return None, _json_error(404, "unknown_device", "no key is registered for this device_id")
        return dev, None

    def _verify_url(device_id: str) -> str:
        return f"{cloud.issuer}/factory/devices/{device_id}/verify"

    @app.post("/factory/devices/<device_id>/challenge")
    def factory_challenge(device_id):
        dev, err = _factory_device(device_id)
        if err is not None:
            return err
        return Response(json.dumps({"nonce": challenges.issue(device_id),
                                    "audience": _verify_url(device_id),
                                    "expires_in": challenges.ttl}),
                        200, content_type="application/json", headers={"Cache-Control": "no-store"})

    @app.post("/factory/devices/<device_id>/verify")
    def factory_verify(device_id):
        dev, err = _factory_device(device_id)
        if err is not None:
            return err
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return _json_error(400, "invalid_request", "JSON object body required")
        try:
            jkt = factory.verify_assertion(data.get("assertion"), dev, _verify_url(device_id),
                                           challenges, cloud.cfg.skew)
        except factory.Refused as e:
            return _json_error(e.status, e.error, e.description)
        with store.lock:
            cur = store.devices.get(device_id)
            if cur is not None and cur["jkt"] == jkt:
                cur["verified_at"] = time.time()
                store.save()
        return Response(json.dumps({"device_id": device_id, "jkt": jkt, "verified": True}),
                        200, content_type="application/json")

    # ---- owner (the phone app, with TOTP as second factor) --------------------------
    @app.get("/device")
    def device_page():
        return Response(DEVICE_PAGE.format(code=html.escape(request.args.get("user_code", "")),
                                           owner=html.escape(cloud.cfg.owner)),
                        content_type="text/html; charset=utf-8")

    @app.post("/owner/approve")
    def owner_approve():
        data = _payload()
        owner = str(data.get("owner") or cloud.cfg.owner)
        with store.lock:
            rec = store.find_user_code(str(data.get("user_code", "")), exact=cloud.cfg.plain)
            if rec is None:
                return _json_error(404, "unknown_user_code")
            if rec["status"] == "pending" and rec["expires_at"] <= time.time():
                rec["status"] = "expired"
            if rec["status"] != "pending":
                return _json_error(409 if rec["status"] != "expired" else 410, "not_pending",
                                   f"request is {rec['status']}")
            if rec["failed_totp"] >= 5:
                return _json_error(429, "too_many_attempts", "deny and start again")
            if owner != cloud.cfg.owner or not totp.verify(cloud.owner_secret,
                                                           str(data.get("totp", ""))):
                rec["failed_totp"] += 1
                store.save()
                return _json_error(401, "invalid_totp", "second factor rejected")
            rec.update(status="approved", owner=owner, approved_at=time.time())
            dev = store.devices.get(rec["client_id"])
            if dev is not None:
                dev["owner"] = owner
            store.save()
            return jsonify({"approved": True, "device_id": rec["client_id"], "owner": owner})

    @app.post("/owner/deny")
    def owner_deny():
        data = _payload()
        with store.lock:
            rec = store.find_user_code(str(data.get("user_code", "")), exact=cloud.cfg.plain)
            if rec is None:
                return _json_error(404, "unknown_user_code")
            if rec["status"] != "pending":
                return _json_error(409, "not_pending", f"request is {rec['status']}")
            rec["status"] = "denied"
            store.save()
            return jsonify({"denied": True, "device_id": rec["client_id"]})

    # ---- admin -------------------------------------------------------------------------
    @app.post("/admin/revoke-all")
    def admin_revoke_all():
        tok = _bearer(request.headers.get("Authorization"))
        if not tok or not secrets.compare_digest(tok, cloud.admin_token):
            return _json_error(401, "unauthorized", "admin token required",
                               {"WWW-Authenticate": 'Bearer realm="admin"'})
        ev = store.revoke_all()
        log.warning("revoke-all: %s", ev)
        return jsonify({"revoked": True, **ev})

    # ---- the maker's API ---------------------------------------------------------------
    @app.post("/v1/devices/<device_id>/report")
    def report(device_id):
        auth = request.headers.get("Authorization", "")
        scheme, _, tok = auth.partition(" ")
        tok = tok.strip()
        if not auth:
            return _dpop_401(cloud, None)
        if scheme.lower() == "bearer":
            return _dpop_401(cloud, "invalid_token", "a DPoP-bound token must use the DPoP scheme")
        if scheme.lower() != "dpop" or not tok:
            return _dpop_401(cloud, "invalid_request", "Authorization: DPoP <token> required", 400)
        try:
            jkt = validate_proof(request.headers, "POST", cloud.accepted_htu(request.path),
                                 nonces=cloud.rs_nonces, replay=cloud.replay, skew=cloud.cfg.skew,
                                 access_token=tok)
        except ProofError as e:
            return _dpop_401(cloud, e.error, e.description)
        with store.lock:
            rec, why = cloud.verify_access_token(tok)
            if rec is None:
                return _dpop_401(cloud, "invalid_token", why)
            if rec["jkt"] != jkt:
                return _dpop_401(cloud, "invalid_token", "the access token is bound to another key")
            if rec["client_id"] != device_id:
                return _dpop_401(cloud, "insufficient_scope",
                                 "the token belongs to another device", 403)
            raw = request.get_data()
            if len(raw) > MAX_REPORT_BYTES:
                return _json_error(413, "report_too_large")
            try:
                body = json.loads(raw)
            except ValueError:
                return _json_error(400, "invalid_request", "body must be JSON")
            if not isinstance(body, dict):
                return _json_error(400, "invalid_request", "body must be a JSON object")
            problems = sorted(f"unexpected field {k}" for k in set(body) - REPORT_FIELDS)
            problems += sorted(f"missing field {k}" for k in REPORT_FIELDS - set(body))
            if body.get("device_id") not in (None, device_id):
                problems.append("device_id differs from the URL")
            store.note_access_token_used(rec)
            store.put_report(device_id, {"received_at": time.time(), "report": body,
                                         "raw_b64": base64.b64encode(raw).decode("ascii"),
                                         "content_type": request.content_type,
                                         "schema_problems": problems})
        return jsonify({"status": "accepted"})

    # ---- test controls (only with --test-controls; the guard is in _before) -------------
    @app.post("/test/faults")
    def test_add_faults():
        data = request.get_json(silent=True)
        items = data.get("faults") if isinstance(data, dict) and "faults" in data else [data]
        if not items or not all(isinstance(i, dict) for i in items):
            return _json_error(400, "invalid_request", "a fault object or {faults: [...]}")
        try:
            added = [cloud.add_fault(i) for i in items]
        except (ValueError, TypeError) as e:
            return _json_error(400, "invalid_fault", str(e))
        return jsonify({"queued": added})

    @app.get("/test/faults")
    def test_list_faults():
        return jsonify({"faults": cloud.list_faults()})

    @app.delete("/test/faults")
    def test_clear_faults():
        return jsonify({"cleared": cloud.clear_faults()})

    @app.get("/test/requests")
    def test_requests():
        since = request.args.get("since", "0")
        return jsonify({"requests": cloud.records(int(since) if since.isdigit() else 0,
                                                  request.args.get("path_prefix", ""))})

    @app.get("/test/state")
    def test_state():
        snap = store.snapshot()
        snap["dpop_nonce"] = cloud.nonces.current()
        snap["resource_dpop_nonce"] = cloud.rs_nonces.current()
        snap["issuer"] = cloud.issuer
        snap["mode"] = cloud.cfg.mode
        return jsonify(snap)

    @app.post("/test/date")
    def test_date():
        """{"date": "Fri, 31 Dec 9999 23:59:59 GMT"}: send that Date header from now on;
        {"date": null} or {}: the real one again."""
        data = request.get_json(silent=True)
        value = data.get("date") if isinstance(data, dict) else None
        if value is not None and (not isinstance(value, str) or not value.isprintable()
                                  or len(value) > 64):
            return _json_error(400, "invalid_request", "date must be a short printable string")
        app.config["REFCLOUD_TEST_DATE"] = value
        return jsonify({"date": value})

    @app.post("/test/dpop-nonce/rotate")
    def test_rotate_nonce():
        data = request.get_json(silent=True) or {}
        expire = bool(data.get("expire_previous"))
        rs = cloud.rs_nonces.rotate(expire) if cloud.rs_nonces is not cloud.nonces else None
        return jsonify({"dpop_nonce": cloud.nonces.rotate(expire),
                        "resource_dpop_nonce": rs or cloud.nonces.current()})

    @app.post("/test/expire")
    def test_expire():
        """{"device_id": ..., "what": "access_tokens" | "device_codes"}: make them expired now."""
        data = request.get_json(silent=True) or {}
        did, what = data.get("device_id"), data.get("what", "access_tokens")
        n = 0
        with store.lock:
            past = time.time() - 1
            if what == "access_tokens":
                for rec in store.access_tokens.values():
                    if rec["client_id"] == did and rec["exp"] > past:
                        rec["exp"], n = past, n + 1
            elif what == "device_codes":
                for rec in store.device_codes.values():
                    if rec["client_id"] == did and rec["status"] == "pending":
                        rec["expires_at"], n = past, n + 1
            else:
                return _json_error(400, "invalid_request", "what: access_tokens | device_codes")
            store.save()
        return jsonify({"expired": n})

    @app.errorhandler(404)
    def _nf(e):
        return _json_error(404, "not_found")

    @app.errorhandler(405)
    def _na(e):
        return _json_error(405, "method_not_allowed")

    @app.errorhandler(413)
    def _tl(e):
        return _json_error(413, "request_too_large")

    app.wsgi_app = Recorder(app.wsgi_app, cloud)
    return app
