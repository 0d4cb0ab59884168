"""Command line, TLS and the HTTP server loop of the reference cloud.

    cd Tests && ../.venv-refcloud/bin/python -m refcloud --state-dir DIR [options]
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import logging
import os
import signal
import ssl
import sys
import threading
from pathlib import Path

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .app import Cloud, Config, create_app
from .pki import issue_server_cert, load_or_create_ca, write_public

log = logging.getLogger("refcloud")


class Handler(WSGIRequestHandler):
    """TLS handshake in the connection's own thread (a client that stalls in the
    handshake does not block the accept loop), and a per-connection timeout."""

    timeout = 30

    def handle(self):
        try:
            self.connection.settimeout(self.timeout)
            self.connection.do_handshake()
        except (ssl.SSLError, OSError) as e:
            log.debug("TLS handshake failed from %s: %s", self.client_address, e)
            return
        super().handle()

    def date_time_string(self, timestamp=None):
        # POST /test/date (test controls only) replaces the Date of every
        # later non-test response.
        override = self.server.app.config.get("REFCLOUD_TEST_DATE")
        if override and timestamp is None and not self.path.startswith("/test/"):
            return override
        return super().date_time_string(timestamp)

    def log_request(self, code="-", size="-"):
        log.info('%s "%s" %s', self.address_string(), self.requestline, code)


class Server(ThreadedWSGIServer):
    daemon_threads = True

    def __init__(self, host, port, app, ctx: ssl.SSLContext):
        super().__init__(host, port, app, handler=Handler)
        self.socket = ctx.wrap_socket(self.socket, server_side=True,
                                      do_handshake_on_connect=False)
        self.ssl_context = ctx

    def handle_error(self, request, client_address):
        log.debug("connection error from %s", client_address, exc_info=True)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="refcloud", description="camera-agent reference cloud")
    p.add_argument("--state-dir", required=True, type=Path,
                   help="CA, certificates, secrets, state.json, requests.jsonl")
    p.add_argument("--bind", default="127.0.0.1", help="loopback address to listen on")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--port-file", type=Path, help="written (atomically) with the port once ready")
    p.add_argument("--issuer-host",
                   help="host name/address the devices use (issuer and endpoint URLs); "
                        "default: the --bind address")
    p.add_argument("--public-port", type=int,
                   help="port the devices use, if forwarded to another one (default: --port)")
    p.add_argument("--san", action="append", default=[],
                   help="extra subjectAltName (IP or DNS) for the server certificate; repeatable")
    p.add_argument("--interval", type=int, default=5, help="device grant polling interval (s)")
    p.add_argument("--device-code-ttl", type=int, default=600, help="device_code expires_in (s)")
    p.add_argument("--access-ttl", type=int, default=300, help="access token lifetime (s)")
    p.add_argument("--skew", type=int, default=60,
                   help="accepted clock skew for assertion/proof iat (s)")
    p.add_argument("--nonce-ttl", type=int, default=300, help="DPoP nonce rotation period (s)")
    p.add_argument("--nonce-grace", type=int, default=30,
                   help="how long the previous DPoP nonce is still accepted (s)")
    p.add_argument("--owner", default="owner@example.test", help="the owner account")
    p.add_argument("--factory-token-file", type=Path,
                   help="file holding the factory bearer token (default: STATE/factory_token)")
    p.add_argument("--cert-not-before", help="YYYY-MM-DD notBefore for CA and server cert "
                   "(default: yesterday, as a real cloud's would be)")
    p.add_argument("--test-controls", action="store_true", help="enable /test/* endpoints")
    p.add_argument("--mode", choices=("default", "plain"), default="default",
                   help="plain: only RFC-registered metadata, RFC 9728 resource metadata, separate "
                        "resource-server nonces with no grace, long case-sensitive user codes, "
                        "errors with extra members, refresh rotation with no grace")
    p.add_argument("--reset", action="store_true",
                   help="forget devices, tokens and reports (keeps CA and secrets)")
    p.add_argument("--log-level", default="WARNING")
    a = p.parse_args(argv)
    a.issuer_host = a.issuer_host or a.bind
    try:
        if not ipaddress.ip_address(a.bind).is_loopback:
            p.error("--bind must be a loopback address")
    except ValueError:
        p.error("--bind must be an IP address")
    if a.interval < 0 or a.access_ttl < 1 or a.device_code_ttl < 1 or a.skew < 0:
        p.error("interval >= 0, ttls >= 1, skew >= 0")
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    logging.basicConfig(level=a.log_level.upper(), stream=sys.stderr,
                        format="refcloud %(levelname)s %(message)s")
    sd: Path = a.state_dir.resolve()
    sd.mkdir(parents=True, exist_ok=True)
    os.chmod(sd, 0o700)
    if a.reset:
        (sd / "state.json").unlink(missing_ok=True)
    if a.cert_not_before:
        not_before = dt.datetime.strptime(a.cert_not_before, "%Y-%m-%d").replace(
            tzinfo=dt.timezone.utc)
    else:
        not_before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)

    sans = list(a.san)
    if a.issuer_host not in sans:
        sans.append(a.issuer_host)
    ca_cert, ca_key = load_or_create_ca(sd, not_before)
    cert, key = issue_server_cert(sd, ca_cert, ca_key, sans, not_before)

    cfg = Config(state_dir=sd, bind=a.bind, port=a.port, issuer_host=a.issuer_host,
                 public_port=a.public_port, interval=a.interval,
                 device_code_ttl=a.device_code_ttl, access_ttl=a.access_ttl, skew=a.skew,
                 nonce_ttl=a.nonce_ttl, nonce_grace=a.nonce_grace, owner=a.owner,
                 factory_token_file=a.factory_token_file, test_controls=a.test_controls,
                 sans=sans, mode=a.mode)
    cloud = Cloud(cfg)
    app = create_app(cloud)
    srv = Server(a.bind, a.port, app, tls_context(cert, key))
    port = srv.server_address[1]
    cloud.set_port(port)
    cloud.open_records()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         name="refcloud-http", daemon=True)
    t.start()

    info = {"url": f"https://{'[' + a.bind + ']' if ':' in a.bind else a.bind}:{port}",
            "issuer": cloud.issuer, "port": port, "pid": os.getpid(),
            "ca": str(sd / "ca.pem"), "test_controls": a.test_controls, "owner": a.owner,
            "mode": a.mode}
    write_public(sd / "server.json", (json.dumps(info, indent=1) + "\n").encode())
    if a.port_file:
        a.port_file.parent.mkdir(parents=True, exist_ok=True)
        write_public(a.port_file, f"{port}\n".encode())
    print(f"refcloud listening on {info['url']} issuer {cloud.issuer} mode {a.mode} state {sd}",
          flush=True)

    stop.wait()
    srv.shutdown()
    srv.server_close()
    t.join(5)
    if a.port_file:
        try:
            a.port_file.unlink()
        except OSError:
            pass
    (sd / "server.json").unlink(missing_ok=True)
    print("refcloud stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
