#!/usr/bin/env python3
"""Factory provisioning station: gives each board of a batch its identity.

For every board in BATCH.json (reached locally, over its serial console or over
SSH) it checks the board, makes the identity key inside the board's vault
(`camera-agent provision`) unless the board already has one, registers the
public key with the cloud's factory endpoint, proves that the board holds the
registered key (a cloud challenge signed on the board with `camera-agent
attest`, verified by the cloud), runs the board's after_provision command, and
appends one line to the audit log. Nothing secret is written anywhere: the
factory token is read from a file and only ever sent to the cloud.

Idempotent and resumable: JOURNAL.json (replaced atomically) records each
board's progress, so a batch interrupted at any point (Ctrl-C, SIGTERM, a
crash, a power cut) continues where it stopped, without re-keying a board,
registering it twice or writing a second audit line for it.

Python 3 standard library only (urllib + ssl), so a factory station needs
nothing but python3 (3.8 or later).
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import fcntl
import hashlib
import http.client
import json
import os
import re
import secrets
import select
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PROG = "factory-provision"

EXIT_OK = 0
EXIT_BOARDS_FAILED = 1      # at least one board is not provisioned and verified
EXIT_STOPPED = 2            # --stop-after reached; resume with the same journal
EXIT_USAGE = 64             # bad arguments
EXIT_DATAERR = 65           # the batch file or the journal is not valid
EXIT_NOINPUT = 66           # an input file cannot be read
EXIT_IOERR = 74             # the journal or the audit log cannot be written
EXIT_LOCKED = 75            # another run holds the journal
EXIT_NOPERM = 77            # the factory token file is readable by others

DEVICE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")  # same rule as the agent and the cloud
STATION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")
THUMBPRINT_RE = re.compile(r"[A-Za-z0-9_-]{43}")
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
SSH_HOST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,252}|\[[0-9A-Fa-f:.]+\]")
SSH_USER_RE = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")
REMOTE_PATH_RE = re.compile(r"[A-Za-z0-9/._+-]{1,255}")
AGENT_VERSION_RE = re.compile(r"camera-agent (\S{1,64}) \(([a-z]+), ([A-Za-z0-9_]+)\)")

MAX_HTTP_BODY = 64 * 1024
MAX_BOARD_OUTPUT = 256 * 1024
MAX_BOARDS = 10000
STAGES = ("new", "provisioned", "registered", "verified", "after_provision_done", "done")

BOARD_KEYS = {
    "local": ({"device_id", "transport", "binary", "config"}, {"after_provision"}),
    "serial": ({"device_id", "transport", "socket"}, {"after_provision", "binary", "config"}),
    "ssh": ({"device_id", "transport", "host"}, {"after_provision", "binary", "config", "port", "user"}),
}


class BoardError(Exception):
    """This board cannot be done now; the message says why (never a secret)."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM: stop where we are; the journal is already consistent."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class Fatal(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


# ---- output ---------------------------------------------------------------------
_secrets_to_hide: list[str] = []


def redact(text: str) -> str:
    for s in _secrets_to_hide:
        text = text.replace(s, "<redacted>")
    return text


def say(text: str) -> None:
    print(f"{PROG}: {redact(text)}", file=sys.stderr, flush=True)


def clean(text: str, limit: int = 300) -> str:
    """One printable line, bounded: board and cloud text goes into logs as data."""
    text = "".join(c if c.isprintable() else " " for c in str(text)).strip()
    return redact(text[:limit] + ("..." if len(text) > limit else ""))


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---- JOSE helpers ---------------------------------------------------------------------
def b64url_decode(text: str) -> bytes:
    if not B64URL_RE.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_public_jwk(jwk: object) -> dict:
    """An EC P-256 public JWK with exactly crv, kty, x, y (32 bytes each)."""
    if not isinstance(jwk, dict) or set(jwk) != {"crv", "kty", "x", "y"}:
        raise BoardError("the board's JWK is not {crv, kty, x, y}")
    if jwk["kty"] != "EC" or jwk["crv"] != "P-256":
        raise BoardError("the board's JWK is not an EC P-256 key")
    for c in ("x", "y"):
        v = jwk[c]
        if not isinstance(v, str) or len(v) != 43:
            raise BoardError(f"the board's JWK {c} is not 32 bytes of base64url")
        try:
            if len(b64url_decode(v)) != 32:
                raise ValueError
        except ValueError:
            raise BoardError(f"the board's JWK {c} is not 32 bytes of base64url") from None
    return {"crv": "P-256", "kty": "EC", "x": jwk["x"], "y": jwk["y"]}


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638: SHA-256 of the required members in lexicographic order, no spaces."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"),
                           sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


# ---- transports -----------------------------------------------------------------------
class Result:
    def __init__(self, rc: int, out: str, err: str):
        self.rc, self.out, self.err = rc, out, err

    def why(self) -> str:
        lines = [ln for ln in self.err.splitlines() if ln.strip() and "WARNING" not in ln]
        return clean(lines[-1] if lines else f"exit status {self.rc}")


def _decode(data: bytes, what: str) -> str:
    if len(data) > MAX_BOARD_OUTPUT:
        raise BoardError(f"{what}: more than {MAX_BOARD_OUTPUT} bytes of output")
    return data.decode("utf-8", errors="replace")


class LocalBoard:
    """The agent runs on this machine: `binary --config config ...` (bench and tests)."""

    name = "local"

    def __init__(self, board: dict, timeout: float):
        self.binary, self.config, self.timeout = board["binary"], board["config"], timeout
        if not os.access(self.binary, os.X_OK):
            raise BoardError(f"binary {self.binary} is not executable")

    def agent(self, args: list[str]) -> Result:
        return self._run([self.binary, "--config", self.config, *args], "camera-agent " + args[0])

    def shell(self, command: str) -> Result:
        return self._run(["/bin/sh", "-c", command], "after_provision")

    def _run(self, argv: list[str], what: str) -> Result:
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise BoardError(f"{what}: no answer within {self.timeout:g} s") from None
        except OSError as e:
            raise BoardError(f"{what}: cannot run: {e.strerror}") from None
        return Result(p.returncode, _decode(p.stdout, what), _decode(p.stderr, what))

    def close(self) -> None:
        pass


def remote_agent_command(board: dict, args: list[str]) -> str:
    words = [board.get("binary", "camera-agent")]
    if "config" in board:
        words += ["--config", board["config"]]
    return " ".join(shlex.quote(w) for w in words + args)


class SSHBoard:
    """`ssh -o BatchMode=yes` (keys only, never a password prompt); the command
    line holds only the agent's arguments, never a secret."""

    name = "ssh"

    def __init__(self, board: dict, timeout: float):
        self.board, self.timeout = board, timeout
        self.base = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(min(timeout, 30)))}",
                     "-o", "ServerAliveInterval=10", "-p", str(board.get("port", 22)), "-l",
                     board.get("user", "root"), "--", board["host"].strip("[]")]

    def agent(self, args: list[str]) -> Result:
        return self._run(remote_agent_command(self.board, args), "camera-agent " + args[0])

    def shell(self, command: str) -> Result:
        return self._run(command, "after_provision")

    def _run(self, command: str, what: str) -> Result:
        try:
            p = subprocess.run(self.base + [command], stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise BoardError(f"{what} over ssh: no answer within {self.timeout:g} s") from None
        except OSError as e:
            raise BoardError(f"ssh: cannot run: {e.strerror}") from None
        if p.returncode == 255:
            raise BoardError(f"ssh to {self.board['host']} failed: "
                             + Result(255, "", _decode(p.stderr, "ssh")).why())
        return Result(p.returncode, _decode(p.stdout, what), _decode(p.stderr, what))

    def close(self) -> None:
        pass


class SerialBoard:
    """A root shell on the board's serial console, reached through a unix stream
    socket (QEMU `-serial unix:...`, ser2net, a console server).

    Each command is framed by markers that only the shell's output can contain
    (the echoed input has quotes inside them), so a console that echoes input,
    prints a prompt or adds carriage returns does not confuse the parser:

        echo __FPB_"R"__; CMD </dev/null 2>/tmp/.fp-R; echo __FPE_"R"__ $?; cat /tmp/.fp-R; rm -f /tmp/.fp-R; echo __FPX_"R"__

    stdout is what comes between __FPB_R__ and __FPE_R__ N (N = the exit status),
    stderr what comes between that and __FPX_R__. R is random per command.
    """

    name = "serial"

    def __init__(self, board: dict, timeout: float):
        self.board, self.timeout = board, timeout
        self.buf = b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(min(timeout, 10))
            self.sock.connect(board["socket"])
        except OSError as e:
            self.sock.close()
            raise BoardError(f"serial console {board['socket']}: cannot connect: {e.strerror or e}") from None
        self.sock.setblocking(False)
        # A fresh line (the console may hold a half-typed line), then a no-op
        # round trip proves a shell is answering.
        self._send(b"\n")
        r = self._framed("true", "console check")
        if r.rc != 0:
            raise BoardError("serial console: the shell did not run 'true'")

    def agent(self, args: list[str]) -> Result:
        return self._framed(remote_agent_command(self.board, args), "camera-agent " + args[0])

    def shell(self, command: str) -> Result:
        return self._framed(command, "after_provision")

    def _send(self, data: bytes) -> None:
        deadline = time.monotonic() + self.timeout
        while data:
            if time.monotonic() > deadline:
                raise BoardError("serial console: cannot send (console stalled)")
            _, writable, _ = select.select([], [self.sock], [], 0.5)
            if writable:
                try:
                    data = data[self.sock.send(data):]
                except BlockingIOError:
                    pass
                except OSError as e:
                    raise BoardError(f"serial console: send failed: {e.strerror or e}") from None

    def _read_until(self, pattern: re.Pattern, deadline: float, what: str) -> re.Match:
        while True:
            m = pattern.search(self.buf)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise BoardError(f"{what} over the serial console: no answer within {self.timeout:g} s")
            readable, _, _ = select.select([self.sock], [], [], min(left, 0.5))
            if not readable:
                continue
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                raise BoardError(f"serial console: read failed: {e.strerror or e}") from None
            if not chunk:
                raise BoardError("serial console: connection closed by the board side")
            self.buf += chunk
            if len(self.buf) > 2 * MAX_BOARD_OUTPUT:
                raise BoardError(f"{what}: too much output on the serial console")

    def _framed(self, command: str, what: str) -> Result:
        if "\n" in command or "\r" in command:
            raise BoardError("a console command must be one line")
        r = secrets.token_hex(8)
        tmp = f"/tmp/.fp-{r}"
        # eval of one quoted word: a `#` or `;` in the command cannot reach the markers.
        line = (f'echo __FPB_"{r}"__; ( eval {shlex.quote(command)} ) </dev/null 2>{tmp}; '
                f'echo __FPE_"{r}"__ $?; cat {tmp} 2>/dev/null; rm -f {tmp}; echo __FPX_"{r}"__\n')
        self._send(line.encode())
        deadline = time.monotonic() + self.timeout
        begin = self._read_until(re.compile(rb"__FPB_" + r.encode() + rb"__\r*\n"), deadline, what)
        self.buf = self.buf[begin.end():]
        end = self._read_until(re.compile(rb"__FPE_" + r.encode() + rb"__ (\d{1,3})\r*\n"), deadline, what)
        out, rc = self.buf[:end.start()], int(end.group(1))
        self.buf = self.buf[end.end():]
        tail = self._read_until(re.compile(rb"__FPX_" + r.encode() + rb"__\r*\n"), deadline, what)
        err = self.buf[:tail.start()]
        self.buf = self.buf[tail.end():]
        fix = lambda b: _decode(b, what).replace("\r\n", "\n").replace("\r", "")  # noqa: E731
        return Result(rc, fix(out), fix(err))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


TRANSPORTS = {"local": LocalBoard, "serial": SerialBoard, "ssh": SSHBoard}


# ---- the cloud ------------------------------------------------------------------------
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, "redirect refused", headers, fp)


class Cloud:
    """The cloud's factory endpoints over HTTPS, trusting only --ca-file; no
    proxies from the environment, no redirects, bounded answers."""

    def __init__(self, base: str, ca_file: str, token: str, timeout: float):
        self.base, self.token, self.timeout = base, token, timeout
        context = ssl.create_default_context(cafile=ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context), _NoRedirect())

    def post(self, path: str, body: dict | None) -> tuple[int, dict, int | None]:
        """Returns (status, JSON object, server time from Date or None)."""
        data = json.dumps(body).encode() if body is not None else b""
        req = urllib.request.Request(self.base + path, data=data, method="POST", headers={
            "Authorization": "Bearer " + self.token, "Content-Type": "application/json",
            "Accept": "application/json"})
        try:
            resp = self.opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            resp = e
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            reason = getattr(e, "reason", e)
            raise BoardError(f"cloud: POST {path}: {clean(str(reason))}") from None
        try:
            with resp:
                status = resp.code if isinstance(resp, urllib.error.HTTPError) else resp.status
                raw = resp.read(MAX_HTTP_BODY + 1)
                date = resp.headers.get("Date")
        except (OSError, http.client.HTTPException) as e:
            raise BoardError(f"cloud: POST {path}: reading the answer failed: {clean(str(e))}") from None
        if 300 <= status < 400:
            raise BoardError(f"cloud: POST {path}: redirect (HTTP {status}) refused")
        if len(raw) > MAX_HTTP_BODY:
            raise BoardError(f"cloud: POST {path}: answer larger than {MAX_HTTP_BODY} bytes")
        try:
            doc = json.loads(raw)
        except ValueError:
            raise BoardError(f"cloud: POST {path}: HTTP {status}, the body is not JSON") from None
        if not isinstance(doc, dict):
            raise BoardError(f"cloud: POST {path}: HTTP {status}, the body is not a JSON object")
        server_time = None
        if date:
            try:
                server_time = int(email.utils.parsedate_to_datetime(date).timestamp())
            except (TypeError, ValueError):
                server_time = None
        return status, doc, server_time


def cloud_error(path: str, status: int, doc: dict) -> BoardError:
    err, desc = doc.get("error"), doc.get("error_description")
    text = f"cloud: POST {path}: HTTP {status}"
    if isinstance(err, str):
        text += f" {clean(err, 60)}"
    if isinstance(desc, str):
        text += f": {clean(desc)}"
    return BoardError(text)


def want_str(doc: dict, key: str, path: str, pattern: re.Pattern | None = None) -> str:
    v = doc.get(key)
    if not isinstance(v, str) or (pattern is not None and not pattern.fullmatch(v)):
        raise BoardError(f"cloud: POST {path}: '{key}' missing or malformed in the answer")
    return v


# ---- files ----------------------------------------------------------------------------
def write_atomically(path: str, data: bytes, mode: int = 0o640) -> None:
    """Temp file in the same folder, fsync, rename, fsync the folder: after a
    crash or power cut the file is the old or the new version, never a mix."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class Journal:
    """JOURNAL.json: {"version": 1, "boards": {device_id: {stage, jkt, ...}}}."""

    def __init__(self, path: str):
        self.path = path
        self.doc: dict = {"version": 1, "boards": {}}
        if os.path.exists(path):
            try:
                with open(path, "rb") as f:
                    doc = json.loads(f.read())
            except (OSError, ValueError) as e:
                raise Fatal(EXIT_DATAERR, f"journal {path} cannot be read ({clean(str(e))}); "
                                          "it is not changed: move it away to start over") from None
            if not (isinstance(doc, dict) and doc.get("version") == 1 and isinstance(doc.get("boards"), dict)):
                raise Fatal(EXIT_DATAERR, f"journal {path} is not a version 1 journal of this script")
            for did, e in doc["boards"].items():
                if not (isinstance(e, dict) and e.get("stage") in STAGES and
                        (e.get("jkt") is None or (isinstance(e["jkt"], str) and THUMBPRINT_RE.fullmatch(e["jkt"])))):
                    raise Fatal(EXIT_DATAERR, f"journal {path}: entry {clean(did, 80)} is malformed")
            self.doc = doc

    def entry(self, device_id: str) -> dict:
        return self.doc["boards"].get(device_id) or {"stage": "new", "jkt": None}

    def save(self, device_id: str, entry: dict) -> None:
        entry = dict(entry, updated=utc_now())
        self.doc["boards"][device_id] = entry
        write_atomically(self.path, (json.dumps(self.doc, indent=1, sort_keys=True) + "\n").encode())


class AuditLog:
    """AUDIT.jsonl: one JSON line per board outcome, appended and fsynced."""

    def __init__(self, path: str):
        self.path = path

    def has_success(self, device_id: str, jkt: str) -> bool:
        try:
            with open(self.path, "rb") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return False
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line torn by a power cut during an append
            if isinstance(rec, dict) and rec.get("device_id") == device_id and \
                    rec.get("thumbprint") == jkt and rec.get("result") == "ok":
                return True
        return False

    def append(self, record: dict) -> None:
        line = redact(json.dumps(record, sort_keys=True, separators=(",", ":"))) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            size = os.fstat(fd).st_size
            if size:
                # A line torn by a crash must not swallow this one.
                with open(self.path, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        line = "\n" + line
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


# ---- input validation -----------------------------------------------------------------
def validate_board(board: object) -> tuple[str | None, dict | None, str | None]:
    """(device_id or None, the board, or an error message)."""
    if not isinstance(board, dict):
        return None, None, "a board entry is not a JSON object"
    did = board.get("device_id")
    if not isinstance(did, str):
        return None, None, "a board entry has no device_id string"
    shown = json.dumps(did)[1:-1][:80]
    if not DEVICE_ID_RE.fullmatch(did):
        return None, None, (f"device id '{shown}' is malformed: 3-64 of A-Z a-z 0-9 . _ -, "
                            "starting with a letter or digit; the board was not touched")
    transport = board.get("transport")
    if transport not in TRANSPORTS:
        return did, None, f"{did}: transport must be local, serial or ssh"
    required, optional = BOARD_KEYS[transport]
    missing, unknown = required - set(board), set(board) - required - optional
    if missing:
        return did, None, f"{did}: {transport} board needs {', '.join(sorted(missing))}"
    if unknown:
        return did, None, f"{did}: unknown key(s) for a {transport} board: {', '.join(sorted(unknown))}"

    def bad(key: str, rule: str):
        return did, None, f"{did}: '{key}' {rule}"

    for key in ("binary", "config", "socket"):
        if key in board:
            v = board[key]
            if not isinstance(v, str) or not v or "\x00" in v or not v.isprintable():
                return bad(key, "must be a non-empty printable string")
            if transport == "local" and not v.startswith("/"):
                return bad(key, "must be an absolute path")
            if transport != "local" and key != "socket" and not REMOTE_PATH_RE.fullmatch(v):
                return bad(key, "may hold only A-Z a-z 0-9 / . _ + -")
    if transport == "serial" and not board["socket"].startswith("/"):
        return bad("socket", "must be an absolute path")
    if transport == "ssh":
        if not isinstance(board["host"], str) or not SSH_HOST_RE.fullmatch(board["host"]):
            return bad("host", "must be a host name or address")
        port = board.get("port", 22)
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            return bad("port", "must be a whole number 1-65535")
        if not isinstance(board.get("user", "root"), str) or not SSH_USER_RE.fullmatch(board.get("user", "root")):
            return bad("user", "must be a user name")
    if "after_provision" in board:
        v = board["after_provision"]
        if not isinstance(v, str) or not v.strip() or len(v) > 1024 or not v.isprintable():
            return bad("after_provision", "must be one printable line of at most 1024 characters")
    return did, board, None


def load_batch(path: str) -> list:
    try:
        with open(path, "rb") as f:
            raw = f.read(16 << 20)
    except OSError as e:
        raise Fatal(EXIT_NOINPUT, f"batch file {path}: {e.strerror}") from None
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise Fatal(EXIT_DATAERR, f"batch file {path} is not JSON: {clean(str(e))}") from None
    if not isinstance(doc, dict) or set(doc) != {"boards"} or not isinstance(doc["boards"], list):
        raise Fatal(EXIT_DATAERR, f'batch file {path} must be {{"boards": [...]}} and nothing else')
    if not doc["boards"] or len(doc["boards"]) > MAX_BOARDS:
        raise Fatal(EXIT_DATAERR, f"batch file {path} must list 1 to {MAX_BOARDS} boards")
    seen: set = set()
    for b in doc["boards"]:
        did = b.get("device_id") if isinstance(b, dict) else None
        if isinstance(did, str) and DEVICE_ID_RE.fullmatch(did):
            if did in seen:
                raise Fatal(EXIT_DATAERR, f"batch file {path} lists {did} twice")
            seen.add(did)
    return doc["boards"]


def read_token(path: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as e:
        raise Fatal(EXIT_NOINPUT, f"factory token file {path}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o077:
            raise Fatal(EXIT_NOPERM, f"factory token file {path} has mode {st.st_mode & 0o777:04o}: "
                                     "it must not be readable by group or others (chmod 600)")
        raw = os.read(fd, 4097)
    finally:
        os.close(fd)
    token = raw.decode("ascii", errors="replace").strip()
    if not token or len(raw) > 4096 or not all(33 <= ord(c) < 127 for c in token):
        raise Fatal(EXIT_DATAERR, f"factory token file {path} must hold one token of printable ASCII")
    return token


# ---- the board's answers --------------------------------------------------------------
def parse_status(text: str) -> dict:
    """`camera-agent status --json`: one JSON object, schema 1 (camera-agent(8),
    Sources/AgentCore/CLI/VaultStatus.swift). Every member the station uses is
    checked; unknown members are ignored (a newer agent may add some)."""
    lines = text.splitlines()
    if len(lines) != 1:
        raise BoardError(f"status --json printed {len(lines)} lines, expected one JSON object")
    try:
        status = json.loads(lines[0])
    except ValueError:
        raise BoardError("status --json: not JSON") from None
    if not isinstance(status, dict) or status.get("schema") != 1:
        raise BoardError("status --json: not a schema 1 object (agent older or newer than this script)")
    vault = status.get("vault")
    if vault == "unprovisioned":
        return {"provisioned": False}
    if vault != "provisioned":
        raise BoardError("status --json: vault is neither provisioned nor unprovisioned")
    did = status.get("device_id")
    if not isinstance(did, str) or not DEVICE_ID_RE.fullmatch(did):
        raise BoardError("status: device_id missing or malformed")
    identity = status.get("identity_key")
    if identity not in ("present", "absent", "unreadable"):
        raise BoardError("status: identity_key missing or malformed")
    result = {"provisioned": True, "device_id": did, "identity_key": identity}
    if identity == "present":
        thumb = status.get("identity_thumbprint")
        if not isinstance(thumb, str) or not THUMBPRINT_RE.fullmatch(thumb):
            raise BoardError("status: identity_thumbprint missing or malformed")
        if not isinstance(status.get("identity_jwk"), dict):
            raise BoardError("status: identity_jwk missing or not an object")
        jwk = check_public_jwk(status["identity_jwk"])
        if jwk_thumbprint(jwk) != thumb:
            raise BoardError("status: identity_jwk does not match identity_thumbprint")
        result.update(jkt=thumb, jwk=jwk)
    return result


def parse_provision(text: str, device_id: str) -> tuple[dict, str]:
    lines = text.splitlines()
    if len(lines) != 1:
        raise BoardError(f"provision printed {len(lines)} lines, expected one JSON line")
    try:
        doc = json.loads(lines[0])
    except ValueError:
        raise BoardError("provision output is not JSON") from None
    if not isinstance(doc, dict) or set(doc) != {"device_id", "jwk", "thumbprint"}:
        raise BoardError("provision output is not {device_id, jwk, thumbprint}")
    if doc["device_id"] != device_id:
        raise BoardError(f"provision made an identity for '{clean(doc['device_id'], 80)}', not {device_id}")
    jwk = check_public_jwk(doc["jwk"])
    if not isinstance(doc["thumbprint"], str) or jwk_thumbprint(jwk) != doc["thumbprint"]:
        raise BoardError("provision output: thumbprint does not match the JWK")
    return jwk, doc["thumbprint"]


def parse_attest(text: str) -> str:
    lines = text.splitlines()
    if len(lines) != 1:
        raise BoardError(f"attest printed {len(lines)} lines, expected one JWS")
    parts = lines[0].split(".")
    if len(parts) != 3 or not all(B64URL_RE.fullmatch(p) for p in parts) or len(lines[0]) > 4096:
        raise BoardError("attest output is not a compact JWS")
    return lines[0]


# ---- one board ----------------------------------------------------------------------------
class Station:
    def __init__(self, args, cloud: Cloud, journal: Journal, audit: AuditLog):
        self.args, self.cloud, self.journal, self.audit = args, cloud, journal, audit

    def provision(self, device_id: str, board: dict, prefix: str) -> str:
        """Brings one board to done; returns what happened. Raises BoardError."""
        entry = dict(self.journal.entry(device_id))
        if entry["stage"] == "done":
            return "already done (journal)"
        step = lambda text: say(f"{prefix} {text}")  # noqa: E731
        step(f"connecting ({board['transport']})")
        conn = TRANSPORTS[board["transport"]](board, self.args.timeout)
        try:
            return self._provision(conn, device_id, board, entry, step)
        finally:
            conn.close()

    def _provision(self, conn, device_id: str, board: dict, entry: dict, step) -> str:
        force = self.args.force
        r = conn.agent(["version"])
        # The first line names the agent; a second one (since issue 11) its build time.
        lines = r.out.strip().splitlines()
        m = AGENT_VERSION_RE.fullmatch(lines[0].strip()) if r.rc == 0 and lines else None
        if not m:
            raise BoardError(f"camera-agent version failed: {r.why() if r.rc else 'unexpected output'}")
        agent_version = m.group(1)
        status = parse_status(self._status(conn))
        step(f"agent {agent_version} ({m.group(2)}, {m.group(3)}); "
             + (f"provisioned as {status['device_id']}" if status["provisioned"] else "unprovisioned"))

        # Re-key only when needed: a new board, or --force on a board this
        # journal has not already re-keyed (a resumed --force run must not
        # re-key again).
        made_here = (entry.get("jkt") is not None and status.get("jkt") == entry["jkt"]
                     and entry.get("action") in ("new-key", "re-keyed"))
        if status["provisioned"] and status["device_id"] != device_id and not force:
            raise BoardError(f"the board is provisioned as {status['device_id']}, the batch says {device_id}; "
                             "refusing (use --force to re-key it)")
        if status["provisioned"] and status.get("identity_key") != "present" and not force:
            raise BoardError(f"the board's vault has no usable identity key ({status.get('identity_key')}); "
                             "use --force to make a new one")
        action = "existing-key"
        if not status["provisioned"] or (force and not made_here):
            args = ["provision", "--device-id", device_id] + (["--force"] if status["provisioned"] else [])
            step("making the identity key (" + " ".join(args) + ")")
            r = conn.agent(args)
            if r.rc != 0:
                raise BoardError(f"camera-agent provision failed: {r.why()}")
            jwk, jkt = parse_provision(r.out, device_id)
            # Read it back: the key is committed to the vault, not just printed.
            back = parse_status(self._status(conn))
            if back.get("jkt") != jkt or back.get("device_id") != device_id:
                raise BoardError("after provision, status does not show the new identity")
            action = "re-keyed" if status["provisioned"] else "new-key"
            entry = {"stage": "provisioned", "jkt": jkt, "action": action}
            self.journal.save(device_id, entry)
        else:
            jwk, jkt = status["jwk"], status["jkt"]
            if entry.get("jkt") != jkt:
                # A board provisioned earlier: whatever this journal knew is void.
                entry = {"stage": "provisioned", "jkt": jkt, "action": action}
                self.journal.save(device_id, entry)
            action = entry.get("action", action)
        step(f"identity key {jkt}")

        stage = STAGES.index(entry["stage"])
        if stage < STAGES.index("registered"):
            path = "/factory/devices"
            code, doc, _ = self.cloud.post(path, {"device_id": device_id, "jwk": jwk, "force": force})
            if code == 409:
                reg = doc.get("registered_jkt")
                raise BoardError(
                    f"the cloud has another key registered for {device_id} "
                    f"(registered {clean(reg, 60) if isinstance(reg, str) else '?'}, board {jkt}): "
                    "refusing; if this board really replaces the registered one, re-run with --force")
            if code not in (200, 201):
                raise cloud_error(path, code, doc)
            if want_str(doc, "device_id", path) != device_id or want_str(doc, "jkt", path) != jkt or \
                    doc.get("status") not in ("registered", "unchanged"):
                raise BoardError(f"cloud: POST {path}: the answer does not match the board's key")
            step(f"cloud: {doc['status']} (HTTP {code})")
            entry = dict(entry, stage="registered", cloud=doc["status"])
            self.journal.save(device_id, entry)

        if STAGES.index(entry["stage"]) < STAGES.index("verified"):
            self._verify(conn, device_id, jkt, step)
            entry = dict(entry, stage="verified")
            self.journal.save(device_id, entry)

        if STAGES.index(entry["stage"]) < STAGES.index("after_provision_done"):
            if "after_provision" in board:
                step("after_provision")
                r = conn.shell(board["after_provision"])
                if r.rc != 0:
                    raise BoardError(f"after_provision failed: {r.why()}")
            entry = dict(entry, stage="after_provision_done")
            self.journal.save(device_id, entry)

        if self.audit.has_success(device_id, jkt):
            step("audit log already has this board and key")
        else:
            self.audit.append({"time": utc_now(), "station": self.args.station, "device_id": device_id,
                               "thumbprint": jkt, "result": "ok", "action": action,
                               "cloud": entry.get("cloud", "registered"), "verified": True,
                               "agent_version": agent_version})
        self.journal.save(device_id, dict(entry, stage="done"))
        return {"new-key": "provisioned", "re-keyed": "re-keyed"}.get(action, "already provisioned, registered")

    def _status(self, conn) -> str:
        r = conn.agent(["status", "--json"])
        if r.rc != 0:
            raise BoardError(f"camera-agent status failed: {r.why()}")
        return r.out

    CLOCK_TOLERANCE = 30  # seconds; the cloud's assertion skew is larger

    def _set_board_clock(self, conn, now: int, step) -> None:
        """The board's clock within CLOCK_TOLERANCE of the cloud's `now`: read
        with `date +%s`, set with `date -u -s @now` on serial and ssh boards (the
        factory line's RTC step). A local board is this machine: never set."""
        def board_time() -> int:
            r = conn.shell("date +%s")
            text = r.out.strip()
            if r.rc != 0 or not text.isdigit():
                raise BoardError(f"cannot read the board's clock: {r.why()}")
            return int(text)
        off = board_time() - now
        if abs(off) <= self.CLOCK_TOLERANCE:
            return
        if conn.name == "local":
            raise BoardError(f"this machine's clock is {off:+d} s off the cloud's; fix it first")
        r = conn.shell(f"date -u -s @{int(now)} >/dev/null")
        if r.rc != 0:
            raise BoardError(f"cannot set the board's clock: {r.why()}")
        off2 = board_time() - now
        if abs(off2) > self.CLOCK_TOLERANCE:
            raise BoardError(f"the board's clock is still {off2:+d} s off the cloud's after setting it")
        step(f"board clock set from the cloud's Date (was {off:+d} s off)")

    def _verify(self, conn, device_id: str, jkt: str, step) -> None:
        path = f"/factory/devices/{device_id}/challenge"
        code, doc, server_time = self.cloud.post(path, None)
        if code != 200:
            raise cloud_error(path, code, doc)
        nonce = want_str(doc, "nonce", path, NONCE_RE)
        audience = want_str(doc, "audience", path)
        if not (audience.startswith("https://") and audience.endswith(f"/factory/devices/{device_id}/verify")
                and audience.isprintable() and " " not in audience and len(audience) <= 2048):
            raise BoardError(f"cloud: POST {path}: the audience is not this device's https verify URL")
        # attest signs with the board's own clock (a station may not choose iat:
        # it could otherwise pre-date or post-date a proof). A board fresh from
        # the line may still think it is 1970: the station sets its clock first.
        self._set_board_clock(conn, server_time if server_time and server_time > 1_000_000_000
                              else int(time.time()), step)
        r = conn.agent(["attest", "--nonce", nonce, "--audience", audience])
        if r.rc != 0:
            raise BoardError(f"camera-agent attest failed: {r.why()}")
        assertion = parse_attest(r.out)
        path = f"/factory/devices/{device_id}/verify"
        code, doc, _ = self.cloud.post(path, {"assertion": assertion})
        if code == 401 and doc.get("error") == "invalid_assertion":
            raise BoardError("the board's proof does not verify: "
                             + clean(doc.get("error_description") if isinstance(doc.get("error_description"), str)
                                     else "invalid_assertion"))
        if code != 200:
            raise cloud_error(path, code, doc)
        if doc.get("verified") is not True or doc.get("device_id") != device_id or doc.get("jkt") != jkt:
            raise BoardError(f"cloud: POST {path}: the answer does not confirm this board's key")
        step("verified: the board holds the registered key")


# ---- main ---------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def parse_args(argv: list[str]):
    p = _Parser(
        prog="factory-provision.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1],
        epilog="""\
BATCH.json:
  {"boards": [
    {"device_id": "cam-0001", "transport": "local",
     "binary": "/path/camera-agent", "config": "/path/agent.conf"},
    {"device_id": "cam-0002", "transport": "serial", "socket": "/path/console.sock"},
    {"device_id": "cam-0003", "transport": "ssh", "host": "10.0.0.5", "port": 22, "user": "root"}
  ]}
  Optional per board: "after_provision": a shell command run on the board once
  it is verified (e.g. "killall -HUP camera-agent"); for serial and ssh boards
  "binary" (default camera-agent on PATH) and "config" (default the agent's
  /etc/camera-agent/agent.conf). Device ids: 3-64 of A-Z a-z 0-9 . _ -,
  starting with a letter or digit; a malformed one is refused before its
  board is touched, and the other boards still get done.

Serial boards: a unix stream socket to the board's console with a root shell
(no login). SSH boards: ssh -o BatchMode=yes (keys, never a password).

Per board: camera-agent version and status; provision --device-id ID if the
board has no identity (with --force: provision --force, a new key, once per
journal); register the public key at POST CLOUD/factory/devices (201 new,
200 unchanged; 409 = the cloud holds another key for this id: refused unless
--force); POST .../challenge, camera-agent attest on the board, POST
.../verify; after_provision; one audit line. Progress goes to stderr, one
summary line at the end.

Audit log lines (JSON): time (UTC), station, device_id, thumbprint (RFC 7638
of the identity key), result "ok" or "failed" (+ error), action, cloud,
verified, agent_version. Never the factory token or any key material.

exit status:
  0   every board is provisioned, registered and verified
  1   one or more boards failed (the others were done; see the summary)
  2   stopped by --stop-after; run again with the same --journal to go on
  64  bad arguments          65  the batch file or the journal is invalid
  66  an input file cannot be read
  74  the journal or the audit log cannot be written (stopped there)
  75  another run holds this journal
  77  the factory token file is readable by group or others
  130/143  interrupted by SIGINT/SIGTERM (resume with the same --journal)
""")
    p.add_argument("--batch", required=True, metavar="BATCH.json", help="the boards to provision")
    p.add_argument("--cloud", required=True, metavar="URL", help="the cloud's base URL (https://)")
    p.add_argument("--ca-file", required=True, metavar="CA.pem", help="CA the cloud's certificate must chain to")
    p.add_argument("--factory-token-file", required=True, metavar="FILE",
                   help="the factory bearer token (mode 0600 or stricter)")
    p.add_argument("--station", required=True, metavar="NAME", help="this station's name, for the audit log")
    p.add_argument("--audit-log", required=True, metavar="AUDIT.jsonl", help="appended, one line per board")
    p.add_argument("--journal", required=True, metavar="JOURNAL.json",
                   help="progress, replaced atomically; reuse it to resume a batch")
    p.add_argument("--force", action="store_true",
                   help="re-key boards that already have an identity (once per journal) and replace "
                        "the key the cloud holds for them")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="limit for each board command and cloud request (default 60)")
    p.add_argument("--stop-after", type=int, metavar="N",
                   help="test and operations aid: stop (exit 2) once N boards were done in this run")
    args = p.parse_args(argv)
    if not 1 <= args.timeout <= 3600:
        p.error("--timeout must be 1 to 3600 seconds")
    if args.stop_after is not None and args.stop_after < 1:
        p.error("--stop-after must be at least 1")
    if not STATION_RE.fullmatch(args.station):
        p.error("--station must be 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit")
    cloud = args.cloud.rstrip("/")
    if not re.fullmatch(r"https://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?", cloud):
        p.error("--cloud must be an https:// URL without user info, query or fragment")
    args.cloud = cloud
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for path, what in ((args.ca_file, "CA file"), (args.batch, "batch file")):
        if not os.access(path, os.R_OK):
            raise Fatal(EXIT_NOINPUT, f"{what} {path} cannot be read")
    for path in (args.audit_log, args.journal):
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise Fatal(EXIT_NOINPUT, f"folder of {path} does not exist")
    token = read_token(args.factory_token_file)
    _secrets_to_hide.append(token)
    boards = load_batch(args.batch)

    lock_fd = os.open(args.journal + ".lock", os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise Fatal(EXIT_LOCKED, f"another run is using the journal {args.journal}") from None
    journal = Journal(args.journal)
    try:
        cloud = Cloud(args.cloud, args.ca_file, token, args.timeout)
    except (ssl.SSLError, OSError) as e:
        raise Fatal(EXIT_NOINPUT, f"CA file {args.ca_file}: {clean(str(e))}") from None
    station = Station(args, cloud, journal, AuditLog(args.audit_log))

    ok, failed, done_now = [], [], 0
    total = len(boards)
    for index, raw in enumerate(boards, 1):
        did, board, problem = validate_board(raw)
        label = did if did and DEVICE_ID_RE.fullmatch(did) else f"board #{index}"
        prefix = f"[{index}/{total}] {label}:"
        if problem:
            say(f"{prefix} REFUSED: {problem}")
            failed.append(label)
            continue
        try:
            outcome = station.provision(did, board, prefix)
        except OSError as e:
            # Only the station's own files get here (board and cloud errors are BoardError).
            raise Fatal(EXIT_IOERR, f"{label}: cannot write the journal or the audit log: "
                                    f"{e.strerror or e}; stopped") from None
        except BoardError as e:
            message = clean(str(e))
            say(f"{prefix} FAILED: {message}")
            failed.append(did)
            entry = journal.entry(did)
            journal.save(did, dict(entry, last_error=message))
            station.audit.append({"time": utc_now(), "station": args.station, "device_id": did,
                                  "thumbprint": entry.get("jkt"), "result": "failed", "error": message})
            continue
        say(f"{prefix} ok: {outcome}")
        ok.append(did)
        if not outcome.startswith("already done"):
            done_now += 1
        if args.stop_after is not None and done_now >= args.stop_after and index < total:
            say(f"stopping after {done_now} board(s) (--stop-after); run again with the same --journal to go on")
            say(f"summary: {total} boards: {len(ok)} ok, {len(failed)} failed, {total - index} not started")
            return EXIT_STOPPED
    say(f"summary: {total} boards: {len(ok)} ok, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else ""))
    return EXIT_OK if not failed else EXIT_BOARDS_FAILED


def _on_signal(signum, frame):
    raise Interrupted(signum)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        sys.exit(main(sys.argv[1:]))
    except Fatal as e:
        say(f"error: {e}")
        sys.exit(e.code)
    except Interrupted as e:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say(f"interrupted by signal {e.signum}; the journal is consistent: run again with the same --journal")
        sys.exit(128 + e.signum)
