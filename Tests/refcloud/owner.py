#!/usr/bin/env python3
"""Play the camera owner (and the cloud admin) against a running refcloud.

Standard library only, so it runs with any python3:

    owner.py --state-dir DIR approve USER_CODE      # TOTP computed from DIR/owner_totp_secret
    owner.py --state-dir DIR approve USER_CODE --totp 000000   # a chosen (e.g. wrong) code
    owner.py --state-dir DIR deny USER_CODE
    owner.py --state-dir DIR totp                   # print the current TOTP code
    owner.py --state-dir DIR admin revoke-all       # the mass logout

The server URL and CA come from DIR/server.json and DIR/ca.pem (written by the
server when it is ready); --url overrides the URL. Exit status: 0 on success,
1 when the server refused, 2 on usage or connection errors.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

try:
    from refcloud import totp
except ImportError:  # run as Tests/refcloud/owner.py
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import totp  # type: ignore[no-redef]


def _read(path: Path) -> str:
    return path.read_text().strip()


def call(url: str, ca: Path, path: str, body: dict | None, bearer: str | None = None):
    data = json.dumps(body or {}).encode()
    req = urllib.request.Request(url.rstrip("/") + path, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    if bearer:
        req.add_header("Authorization", "Bearer " + bearer)
    ctx = ssl.create_default_context(cafile=str(ca))
    # No proxies from the environment: the server is on this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx))
    try:
        with opener.open(req, timeout=15) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"raw": raw.decode("utf-8", "replace")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="owner.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--state-dir", required=True, type=Path)
    p.add_argument("--url", help="server base URL (default: from STATE/server.json)")
    sub = p.add_subparsers(dest="cmd", required=True)
    ap = sub.add_parser("approve", help="approve a pending device with TOTP")
    ap.add_argument("user_code")
    ap.add_argument("--owner", help="owner account (default: the server's)")
    ap.add_argument("--totp", help="send this code instead of the computed one")
    dp = sub.add_parser("deny", help="deny a pending device")
    dp.add_argument("user_code")
    sub.add_parser("totp", help="print the current TOTP code")
    adm = sub.add_parser("admin", help="admin actions")
    adm.add_argument("action", choices=["revoke-all"])
    a = p.parse_args(argv)

    sd: Path = a.state_dir
    if a.cmd == "totp":
        print(totp.totp(_read(sd / "owner_totp_secret")))
        return 0
    url = a.url
    info = {}
    if (sd / "server.json").exists():
        info = json.loads((sd / "server.json").read_text())
    url = url or info.get("url")
    if not url:
        print("owner.py: no --url and no STATE/server.json (is the server running?)",
              file=sys.stderr)
        return 2
    ca = sd / "ca.pem"
    try:
        if a.cmd == "approve":
            code = a.totp or totp.totp(_read(sd / "owner_totp_secret"))
            body = {"user_code": a.user_code, "totp": code}
            if a.owner or info.get("owner"):
                body["owner"] = a.owner or info["owner"]
            status, out = call(url, ca, "/owner/approve", body)
        elif a.cmd == "deny":
            status, out = call(url, ca, "/owner/deny", {"user_code": a.user_code})
        else:
            status, out = call(url, ca, "/admin/revoke-all", {},
                               bearer=_read(sd / "admin_token"))
    except (OSError, urllib.error.URLError) as e:
        print(f"owner.py: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
