"""All server state: devices, device codes, token families, tokens, reports.

One re-entrant lock guards everything; every mutation is persisted to
<state-dir>/state.json (mode 0600, atomic replace) so a restarted cloud keeps
its registrations and sessions. Replay caches and DPoP nonces are not persisted.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import uuid
from pathlib import Path

from .pki import write_private

STATE_VERSION = 1


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def normalize_user_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


class Store:
    def __init__(self, path: Path | None):
        self.path = path
        self.lock = threading.RLock()
        self.devices: dict[str, dict] = {}
        self.device_codes: dict[str, dict] = {}
        self.families: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}   # token_hash -> record
        self.reports: dict[str, dict] = {}
        self.revoke_all_events: list[dict] = []
        if path is not None and path.exists():
            self._load()
        self.save()

    # ---- persistence -------------------------------------------------------
    def _load(self) -> None:
        data = json.loads(self.path.read_text())
        if data.get("version") != STATE_VERSION:
            return
        for name in ("devices", "device_codes", "families", "refresh_tokens",
                     "access_tokens", "reports", "revoke_all_events"):
            setattr(self, name, data.get(name, getattr(self, name)))

    def save(self) -> None:
        if self.path is None:
            return
        with self.lock:
            data = {"version": STATE_VERSION, "devices": self.devices,
                    "device_codes": self.device_codes, "families": self.families,
                    "refresh_tokens": self.refresh_tokens, "access_tokens": self.access_tokens,
                    "reports": self.reports, "revoke_all_events": self.revoke_all_events}
            write_private(self.path, json.dumps(data, sort_keys=True).encode())

    # ---- factory -----------------------------------------------------------
    def register_device(self, device_id: str, jwk: dict, jkt: str, force: bool) -> int:
        """Return 201 (new), 200 (same key again) or 409 (other key, no force)."""
        with self.lock:
            cur = self.devices.get(device_id)
            if cur is not None and cur["jkt"] == jkt:
                return 200
            if cur is not None and not force:
                return 409
            if cur is not None:
                # A re-provisioned board: its old identity's sessions end.
                for fid, fam in self.families.items():
                    if fam["client_id"] == device_id:
                        self._revoke_family_locked(fid, "identity key replaced")
            self.devices[device_id] = {
                "device_id": device_id, "jwk": jwk, "jkt": jkt,
                "registered_at": time.time(), "owner": (cur or {}).get("owner"),
                "key_replacements": (cur or {}).get("key_replacements", -1) + 1,
            }
            self.save()
            return 201

    # ---- device authorization grant -----------------------------------------
    def create_device_code(self, client_id: str, scope, data: dict, ttl: int, interval: int) -> None:
        now = time.time()
        with self.lock:
            self.device_codes[data["device_code"]] = {
                "device_code": data["device_code"], "user_code": data["user_code"],
                "client_id": client_id, "scope": scope, "created_at": now,
                "expires_at": now + ttl, "interval": interval, "last_poll": None,
                "polls": 0, "status": "pending", "owner": None, "failed_totp": 0,
            }
            self.save()

    def find_user_code(self, user_code: str, exact: bool = False) -> dict | None:
        """The newest device code with this user code: ignoring case, dashes and
        spaces (RFC 8628 §6.1), or, with `exact` (plain mode), byte for byte."""
        norm = (lambda c: c) if exact else normalize_user_code
        want = norm(user_code or "")
        if not want:
            return None
        with self.lock:
            best = None
            for rec in self.device_codes.values():
                if norm(rec["user_code"]) == want:
                    if best is None or rec["created_at"] > best["created_at"]:
                        best = rec
            return best

    # ---- token families ----------------------------------------------------
    def new_family(self, client_id: str, jkt: str, owner: str | None) -> dict:
        with self.lock:
            fid = "fam-" + uuid.uuid4().hex[:16]
            fam = {"fid": fid, "client_id": client_id, "jkt": jkt, "owner": owner,
                   "created_at": time.time(), "revoked": False, "revoked_reason": None,
                   "revoked_at": None, "current_rt": None, "previous_rt": None,
                   "grace_open": False, "generation": 0, "rotations": 0, "grace_uses": 0,
                   "superseded_rts": []}
            self.families[fid] = fam
            return fam

    def add_refresh_token(self, fam: dict, rt: str, via: str) -> None:
        """Make `rt` the family's current refresh token. `via` is 'grant', 'rotate'
        (presented token was current) or 'grace' (presented token was previous)."""
        with self.lock:
            fam["generation"] += 1
            if via == "rotate":
                fam["previous_rt"] = fam["current_rt"]
                fam["grace_open"] = True
                fam["rotations"] += 1
            elif via == "grace":
                # The current token was never used (lost by the device): supersede it.
                if fam["current_rt"]:
                    fam["superseded_rts"].append(fam["current_rt"])
                fam["grace_uses"] += 1
            fam["current_rt"] = rt
            self.refresh_tokens[rt] = {"fid": fam["fid"], "generation": fam["generation"],
                                       "issued_at": time.time()}

    def add_access_token(self, fam: dict, token: str, claims: dict, rt: str | None) -> dict:
        with self.lock:
            rec = {"token": token, "jti": claims["jti"], "client_id": fam["client_id"],
                   "fid": fam["fid"], "jkt": fam["jkt"], "rt": rt, "iat": claims["iat"],
                   "exp": claims["exp"], "revoked": False, "uses": 0}
            self.access_tokens[token_hash(token)] = rec
            return rec

    def _revoke_family_locked(self, fid: str, reason: str) -> None:
        fam = self.families[fid]
        if not fam["revoked"]:
            fam.update(revoked=True, revoked_reason=reason, revoked_at=time.time(),
                       grace_open=False)
        for rec in self.access_tokens.values():
            if rec["fid"] == fid:
                rec["revoked"] = True

    def revoke_family(self, fid: str, reason: str) -> None:
        with self.lock:
            self._revoke_family_locked(fid, reason)
            self.save()

    def revoke_access_token(self, rec: dict) -> None:
        with self.lock:
            rec["revoked"] = True
            self.save()

    def revoke_all(self) -> dict:
        """The mass logout: every access and refresh token is invalid from now on."""
        with self.lock:
            now = time.time()
            fams = [fid for fid, f in self.families.items() if not f["revoked"]]
            ats = 0
            for rec in self.access_tokens.values():
                if not rec["revoked"]:
                    rec["revoked"] = True
                    ats += rec["exp"] > now
            for fid in fams:
                self._revoke_family_locked(fid, "revoke-all")
            ev = {"at": now, "families": len(fams), "live_access_tokens": ats}
            self.revoke_all_events.append(ev)
            self.save()
            return ev

    def lookup_refresh(self, rt: str) -> tuple[dict, dict] | None:
        with self.lock:
            rec = self.refresh_tokens.get(rt)
            if rec is None:
                return None
            return rec, self.families[rec["fid"]]

    def lookup_access(self, token: str) -> dict | None:
        with self.lock:
            return self.access_tokens.get(token_hash(token))

    def note_access_token_used(self, rec: dict) -> None:
        """An access token issued together with the family's current refresh token
        proves the device has that refresh token: close the grace window."""
        with self.lock:
            rec["uses"] += 1
            fam = self.families.get(rec["fid"])
            if fam and fam["grace_open"] and rec["rt"] == fam["current_rt"]:
                fam["grace_open"] = False
            self.save()

    # ---- reports -----------------------------------------------------------
    def put_report(self, device_id: str, rec: dict) -> None:
        with self.lock:
            prev = self.reports.get(device_id, {})
            rec["count"] = prev.get("count", 0) + 1
            self.reports[device_id] = rec
            self.save()

    # ---- views -------------------------------------------------------------
    def snapshot(self) -> dict:
        """Everything a test may want to look at (GET /test/state)."""
        now = time.time()
        with self.lock:
            per_dev: dict[str, dict] = {}
            for did, dev in self.devices.items():
                per_dev[did] = {"identity_jkt": dev["jkt"], "registered_at": dev["registered_at"],
                                "owner": dev["owner"], "current_jkt": None,
                                "access_tokens": [], "families": [], "pending": [],
                                "last_report": self.reports.get(did),
                                "verified_at": dev.get("verified_at")}
            for fam in sorted(self.families.values(), key=lambda f: f["created_at"]):
                d = per_dev.setdefault(fam["client_id"], {"access_tokens": [], "families": [],
                                                          "pending": []})
                d["families"].append(dict(fam))
                if not fam["revoked"]:
                    d["current_jkt"] = fam["jkt"]
            for rec in sorted(self.access_tokens.values(), key=lambda r: r["iat"]):
                d = per_dev.get(rec["client_id"])
                if d is not None:
                    d["access_tokens"].append(dict(rec, expired=rec["exp"] <= now))
            for dc in self.device_codes.values():
                d = per_dev.get(dc["client_id"])
                if d is not None and dc["status"] in ("pending", "approved", "denied"):
                    d["pending"].append({k: dc[k] for k in ("user_code", "status", "interval",
                                                            "expires_at", "polls", "created_at")})
            return {"now": now, "devices": per_dev,
                    "revoke_all_events": list(self.revoke_all_events)}


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
