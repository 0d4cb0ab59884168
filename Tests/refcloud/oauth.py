"""The OAuth 2.0 authorization server, built from Authlib's RFC implementations:

* RFC 8628 device authorization endpoint + device_code grant
* RFC 7523 private_key_jwt client authentication (ES256, jti replay cache)
* RFC 6749 section 6 refresh grant, here with rotation, reuse detection and a
  grace rule for the immediately previous refresh token
* RFC 7009 revocation endpoint
* RFC 8414 metadata (validated with Authlib's AuthorizationServerMetadata)

DPoP (RFC 9449) is checked in app.py before Authlib sees the request; the
thumbprint of the proof key arrives here through flask.g.dpop_jkt.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (AccessDeniedError, ClientMixin, InvalidClientError,
                                    InvalidGrantError)
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oauth2.rfc8628 import (DEVICE_CODE_GRANT_TYPE, AuthorizationPendingError,
                                    DeviceAuthorizationEndpoint, DeviceCodeGrant,
                                    DeviceCredentialMixin, ExpiredTokenError, SlowDownError)
from flask import g
from joserfc import jwt
from joserfc.errors import JoseError

from .store import Store, new_token

log = logging.getLogger("refcloud.oauth")

AUTH_METHOD = "private_key_jwt"
ALG = "ES256"
GRANT_TYPES = [DEVICE_CODE_GRANT_TYPE, "refresh_token"]
# Mixed case and digits; no 0/O, 1/l/I that an owner would misread.
PLAIN_USER_CODE_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# ---- models ------------------------------------------------------------------
class Client(ClientMixin):
    """A registered camera: client_id is the device id, authenticated with its
    factory identity key (private_key_jwt)."""

    def __init__(self, device: dict):
        self.device = device

    def get_client_id(self):
        return self.device["device_id"]

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return scope or ""

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return False

    def check_endpoint_auth_method(self, method, endpoint):
        return method == AUTH_METHOD

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in GRANT_TYPES


class DeviceCredential(DeviceCredentialMixin):
    def __init__(self, rec: dict):
        self.rec = rec

    def get_client_id(self):
        return self.rec["client_id"]

    def get_scope(self):
        return self.rec.get("scope")

    def get_user_code(self):
        return self.rec["user_code"]

    def is_expired(self):
        return self.rec["expires_at"] <= time.time()


class RefreshCredential:
    def __init__(self, rt: str, rec: dict, fam: dict, via: str):
        self.rt, self.rec, self.fam, self.via = rt, rec, fam, via

    def check_client(self, client):
        return self.fam["client_id"] == client.get_client_id()

    def get_scope(self):
        return None


class RevocableToken:
    """What the revocation endpoint found: a refresh token (its family) or an access token."""

    def __init__(self, kind: str, client_id: str, fid: str | None = None, at: dict | None = None):
        self.kind, self.client_id, self.fid, self.at = kind, client_id, fid, at

    def check_client(self, client):
        return self.client_id == client.get_client_id()


# ---- client authentication ---------------------------------------------------
class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = AUTH_METHOD

    def __init__(self, cloud):
        super().__init__(validate_jti=True, leeway=cloud.cfg.skew)
        self.cloud = cloud

    def get_audiences(self):
        return self.cloud.assertion_audiences()

    def resolve_client_public_key(self, client):
        from joserfc.jwk import ECKey
        return ECKey.import_key(client.device["jwk"])

    def process_assertion_claims(self, assertion, resolve_key):
        # Like Authlib's, but only ES256 is acceptable.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=[ALG])
        except JoseError as e:
            raise InvalidClientError(description="client assertion: " + (e.description or e.error)) from e
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims):
        now = time.time()
        skew = self.cloud.cfg.skew
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or isinstance(iat, bool):
            raise InvalidClientError(description="client assertion: missing iat")
        if abs(now - iat) > skew:
            raise InvalidClientError(description=f"client assertion: iat outside +-{skew} s "
                                                 "of server time (see the Date header)")
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp > now + 600 + skew:
            raise InvalidClientError(description="client assertion: exp too far in the future")
        super().verify_claims(claims)

    def validate_jti(self, claims, jti):
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            return False
        keep = float(claims.get("exp", time.time())) + 2 * self.cloud.cfg.skew
        return self.cloud.replay.check_and_add("assertion:" + str(claims["sub"]), jti, keep)


# ---- device authorization ------------------------------------------------------
class DeviceAuthorization(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = [AUTH_METHOD]

    def __init__(self, server, cloud):
        super().__init__(server)
        self.cloud = cloud
        self.EXPIRES_IN = cloud.cfg.device_code_ttl
        self.INTERVAL = cloud.cfg.interval

    def get_verification_uri(self):
        return self.cloud.issuer + "/device"

    def generate_user_code(self):
        # Plain mode: RFC 8628 §6.1 only recommends short codes; a server may use
        # long, case-sensitive ones, which the owner must see exactly as issued.
        if self.cloud.cfg.plain:
            return "".join(secrets.choice(PLAIN_USER_CODE_ALPHABET) for _ in range(24))
        return super().generate_user_code()

    def save_device_credential(self, client_id, scope, data):
        self.cloud.store.create_device_code(client_id, scope, data, self.EXPIRES_IN,
                                            self.INTERVAL)


class DeviceGrant(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [AUTH_METHOD]

    @property
    def cloud(self):
        return self.server.cloud

    def query_device_credential(self, device_code):
        rec = self.cloud.store.device_codes.get(device_code)
        return DeviceCredential(rec) if rec else None

    def validate_device_credential(self, credential):
        """RFC 8628 section 3.5, in this order: expired, already used, test-fault,
        denied, approved, polled too fast (slow_down: interval += 5), pending."""
        rec = credential.rec
        now = time.time()
        last, rec["last_poll"] = rec["last_poll"], now
        rec["polls"] += 1
        try:
            if rec["status"] == "used":
                raise InvalidGrantError("device_code was already used")
            if credential.is_expired():
                rec["status"] = "expired"
                raise ExpiredTokenError()
            fault = getattr(g, "grant_fault", None)
            if fault == "deny":
                rec["status"] = "denied"
            elif fault == "slow_down":
                rec["interval"] += 5
                raise SlowDownError(description=f"interval is now {rec['interval']} s")
            if rec["status"] == "denied":
                raise AccessDeniedError("the owner denied the request")
            if rec["status"] == "approved":
                return rec["owner"]
            if last is not None and now - last + 0.25 < rec["interval"]:
                rec["interval"] += 5
                raise SlowDownError(description=f"interval is now {rec['interval']} s")
            raise AuthorizationPendingError()
        finally:
            self.cloud.store.save()

    def query_user_grant(self, user_code):  # not used: validate_device_credential is overridden
        raise NotImplementedError

    def should_slow_down(self, credential):  # not used
        raise NotImplementedError


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [AUTH_METHOD]
    INCLUDE_NEW_REFRESH_TOKEN = True

    @property
    def cloud(self):
        return self.server.cloud

    def authenticate_refresh_token(self, refresh_token):
        store = self.cloud.store
        found = store.lookup_refresh(refresh_token)
        if found is None:
            raise InvalidGrantError("unknown refresh token")
        rec, fam = found
        if fam["client_id"] != self.request.client.get_client_id():
            raise InvalidGrantError("refresh token was issued to another client")
        if fam["revoked"]:
            raise InvalidGrantError(f"refresh token revoked ({fam['revoked_reason']})")
        # The DPoP key binding is checked before reuse detection, so that somebody
        # holding a leaked token but not the device's key cannot end its session.
        if g.dpop_jkt != fam["jkt"]:
            raise InvalidGrantError("DPoP key does not match the refresh token's binding")
        if refresh_token == fam["current_rt"]:
            return RefreshCredential(refresh_token, rec, fam, "rotate")
        # Plain mode rotates with no grace (RFC 9700 §4.14.2 allows either).
        if refresh_token == fam["previous_rt"] and fam["grace_open"] and not self.cloud.cfg.plain:
            return RefreshCredential(refresh_token, rec, fam, "grace")
        store.revoke_family(fam["fid"], "refresh token reuse")
        log.warning("refresh token reuse by %s: family %s revoked", fam["client_id"], fam["fid"])
        raise InvalidGrantError("refresh token reuse detected; the session is revoked")

    def authenticate_user(self, refresh_token):
        return refresh_token.fam["owner"] or "unknown-owner"

    def revoke_old_credential(self, refresh_token):
        pass  # rotation bookkeeping happens in save_token


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = [AUTH_METHOD]

    @property
    def cloud(self):
        return self.server.cloud

    def query_token(self, token_string, token_type_hint):
        store = self.cloud.store
        found = store.lookup_refresh(token_string)
        if found is not None:
            _, fam = found
            return RevocableToken("refresh_token", fam["client_id"], fid=fam["fid"])
        at = store.lookup_access(token_string)
        if at is not None:
            return RevocableToken("access_token", at["client_id"], at=at)
        return None

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        # RFC 7009 section 2.2: another client's token is not revoked, and the answer
        # is the same 200 as for an unknown token (its existence is not disclosed).
        if token is not None and not token.check_client(client):
            return None
        return token

    def revoke_token(self, token, request):
        store = self.cloud.store
        if token.kind == "refresh_token":
            store.revoke_family(token.fid, "revoked by client (RFC 7009)")
        else:
            store.revoke_access_token(token.at)


# ---- the server ----------------------------------------------------------------
class CloudAuthorizationServer(AuthorizationServer):
    def __init__(self, app, cloud):
        self.cloud = cloud
        super().__init__(app, query_client=self._query_client, save_token=self._save_token)
        self.register_token_generator("default", self._generate_token)
        self.register_client_auth_method(AUTH_METHOD, PrivateKeyJWT(cloud))
        self.register_grant(DeviceGrant)
        self.register_grant(RefreshGrant)
        self.register_endpoint(DeviceAuthorization(self, cloud))
        self.register_endpoint(Revocation)

    def _query_client(self, client_id):
        dev = self.cloud.store.devices.get(client_id)
        return Client(dev) if dev else None

    def handle_error_response(self, request, error):
        # invalid_client is answered with 401 (RFC 6749 section 5.2 allows it).
        if error.error == "invalid_client":
            error.status_code = 401
        return super().handle_error_response(request, error)

    def _generate_token(self, grant_type, client, user=None, scope=None, expires_in=None,
                        include_refresh_token=True):
        token, _ = self.cloud.make_access_token(client.get_client_id(), g.dpop_jkt)
        out = {"access_token": token, "token_type": "DPoP",
               "expires_in": self.cloud.cfg.access_ttl}
        if include_refresh_token:
            out["refresh_token"] = new_token(32)
        return out

    def _save_token(self, token, request):
        store: Store = self.cloud.store
        claims = self.cloud.peek_access_claims(token["access_token"])
        with store.lock:
            if request.payload.grant_type == DEVICE_CODE_GRANT_TYPE:
                rec = request.credential.rec
                rec["status"] = "used"
                fam = store.new_family(request.client.get_client_id(), g.dpop_jkt, rec["owner"])
                store.add_refresh_token(fam, token["refresh_token"], "grant")
            else:
                cred: RefreshCredential = request.refresh_token
                fam = cred.fam
                store.add_refresh_token(fam, token["refresh_token"], cred.via)
            store.add_access_token(fam, token["access_token"], claims, token["refresh_token"])
            store.save()


def build_metadata(issuer: str, report_base: str, plain: bool = False) -> dict:
    """RFC 8414 metadata. The default mode also carries the maker's old private
    member camera_report_endpoint (the agent ignores it); plain mode has only
    members the RFCs register."""
    md = {
        "issuer": issuer,
        "device_authorization_endpoint": issuer + "/oauth/device_authorization",
        "token_endpoint": issuer + "/oauth/token",
        "revocation_endpoint": issuer + "/oauth/revoke",
        "grant_types_supported": GRANT_TYPES,
        "token_endpoint_auth_methods_supported": [AUTH_METHOD],
        "token_endpoint_auth_signing_alg_values_supported": [ALG],
        "revocation_endpoint_auth_methods_supported": [AUTH_METHOD],
        "revocation_endpoint_auth_signing_alg_values_supported": [ALG],
        "dpop_signing_alg_values_supported": [ALG],
    }
    if not plain:
        md["camera_report_endpoint"] = report_base
    checked = AuthorizationServerMetadata(md)
    for key in checked.REGISTRY_KEYS:
        # response_types_supported is REQUIRED by RFC 8414 but meaningless for a
        # server with no authorization endpoint; it is left out on purpose.
        if key != "response_types_supported":
            getattr(checked, "validate_" + key)()
    return md


def new_jti() -> str:
    return uuid.uuid4().hex

