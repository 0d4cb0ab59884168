"""The factory station (board/factory/factory-provision.py) driving real hosted
camera-agent binaries ("local" boards: each its own config, file vault and
random 32-byte key file) and a serial console (a pty shell behind a unix
socket), against the reference cloud on loopback over HTTPS.

Run:  Tests/factory/run-tests.sh   (builds the hosted agent if needed)
  or: .venv-refcloud/bin/python -m pytest -q Tests/factory
CAMERA_AGENT=/path/to/camera-agent picks another binary.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "board" / "factory" / "factory-provision.py"
AGENT = Path(os.environ.get("CAMERA_AGENT", REPO / ".build" / "debug" / "camera-agent"))


# ---- the reference cloud ----------------------------------------------------------
class Cloud:
    def __init__(self, state: Path, proc: subprocess.Popen, port: int):
        self.state, self.proc = state, proc
        self.url = f"https://127.0.0.1:{port}"
        self.ca = str(state / "ca.pem")
        self.token_file = state / "factory_token"
        self.token = self.token_file.read_text().strip()
        self.http = requests.Session()
        self.http.verify = self.ca
        self.http.trust_env = False

    def post(self, path, **kw):
        return self.http.post(self.url + path, timeout=15,
                              headers={"Authorization": "Bearer " + self.token}, **kw)

    def devices(self) -> dict:
        return self.http.get(self.url + "/test/state", timeout=15).json()["devices"]

    def registrations(self, device_id: str) -> int:
        reqs = self.http.get(self.url + "/test/requests", params={"path_prefix": "/factory/devices"},
                             timeout=15).json()["requests"]
        n = 0
        for r in reqs:
            if r["path"] == "/factory/devices":
                import base64
                body = json.loads(base64.b64decode(r["body_b64"]) or b"{}")
                n += body.get("device_id") == device_id
        return n


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    if not os.access(AGENT, os.X_OK):
        pytest.fail(f"no camera-agent at {AGENT}: run swift build first")
    state = tmp_path_factory.mktemp("cloud") / "state"
    state.mkdir(mode=0o700)
    port_file = state / "port"
    log = open(state.parent / "cloud.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "refcloud", "--state-dir", str(state), "--port", "0",
                             "--port-file", str(port_file), "--test-controls"],
                            cwd=REPO / "Tests", stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 30
    while not port_file.exists():
        assert proc.poll() is None, "refcloud exited"
        assert time.time() < deadline, "refcloud did not start"
        time.sleep(0.05)
    c = Cloud(state, proc, int(port_file.read_text()))
    yield c
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


# ---- boards and the station -----------------------------------------------------------
def make_board(root: Path, device_id: str, binary: Path = AGENT, **extra) -> dict:
    d = root / ("board-" + device_id.replace("/", "_"))
    d.mkdir(parents=True, exist_ok=True)
    huk = d / "huk"
    fd = os.open(huk, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, secrets.token_bytes(32))
    os.close(fd)
    conf = d / "agent.conf"
    conf.write_text(f"vault_backend = file\nvault_path = {d}/vault\nkey_source = file:{huk}\n")
    return {"device_id": device_id, "transport": "local", "binary": str(binary), "config": str(conf), **extra}


def agent(board: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([board["binary"], "--config", board["config"], *args], capture_output=True,
                          text=True, timeout=60)


def thumbprint(board: dict) -> str | None:
    out = agent(board, "status").stdout
    for line in out.splitlines():
        if line.startswith("identity_thumbprint="):
            return line.split("=", 1)[1]
    return None


class Station:
    def __init__(self, cloud: Cloud, work: Path, name: str = "st1"):
        self.cloud, self.work = cloud, work
        self.batch, self.journal, self.audit = work / "batch.json", work / "journal.json", work / "audit.jsonl"
        self.name = name

    def args(self, *extra: str) -> list[str]:
        return [sys.executable, str(SCRIPT), "--batch", str(self.batch), "--cloud", self.cloud.url,
                "--ca-file", self.cloud.ca, "--factory-token-file", str(self.cloud.token_file),
                "--station", self.name, "--audit-log", str(self.audit), "--journal", str(self.journal),
                "--timeout", "30", *extra]

    def write(self, boards: list) -> None:
        self.batch.write_text(json.dumps({"boards": boards}))

    def run(self, *extra: str) -> subprocess.CompletedProcess:
        p = subprocess.run(self.args(*extra), capture_output=True, text=True, timeout=300)
        self.check_no_secret(p.stdout + p.stderr)
        return p

    def audit_lines(self) -> list[dict]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines()]

    def ok_lines(self) -> list[dict]:
        return [r for r in self.audit_lines() if r["result"] == "ok"]

    def journal_doc(self) -> dict:
        return json.loads(self.journal.read_text())

    def check_no_secret(self, text: str = "") -> None:
        token = self.cloud.token
        for path in (self.audit, self.journal):
            if path.exists():
                assert token not in path.read_text()
        assert token not in text


def done_count(station: Station) -> int:
    try:
        return sum(e["stage"] == "done" for e in station.journal_doc()["boards"].values())
    except (OSError, ValueError):
        return 0


def check_three_done(cloud: Cloud, st: Station, boards: list[dict]) -> None:
    ok = st.ok_lines()
    assert sorted(r["device_id"] for r in ok) == sorted(b["device_id"] for b in boards)
    devices = cloud.devices()
    for b in boards:
        jkt = thumbprint(b)
        assert jkt, b
        line = next(r for r in ok if r["device_id"] == b["device_id"])
        assert line["thumbprint"] == jkt and line["station"] == st.name and line["verified"] is True
        assert line["time"].endswith("Z") and "T" in line["time"]
        assert devices[b["device_id"]]["identity_jkt"] == jkt
        assert devices[b["device_id"]]["verified_at"] is not None
        assert cloud.registrations(b["device_id"]) == 1, b["device_id"]
        assert st.journal_doc()["boards"][b["device_id"]]["stage"] == "done"
    st.check_no_secret()


# ---- the must-show cases -------------------------------------------------------------
def test_batch_stopped_after_two_resumes_then_reruns_change_nothing(cloud, tmp_path):
    st = Station(cloud, tmp_path)
    boards = [make_board(tmp_path, f"cam-stop-{i}") for i in range(1, 4)]
    st.write(boards)
    p = st.run("--stop-after", "2")
    assert p.returncode == 2, p.stderr
    assert "stopping after 2 board(s)" in p.stderr
    assert done_count(st) == 2 and len(st.ok_lines()) == 2
    assert thumbprint(boards[2]) is None          # the third board was not touched

    started = time.monotonic()
    p = st.run()
    resume_s = time.monotonic() - started
    assert p.returncode == 0, p.stderr
    assert "already done (journal)" in p.stderr
    assert "summary: 3 boards: 3 ok, 0 failed" in p.stderr
    check_three_done(cloud, st, boards)
    print(f"resume (1 new board, 2 skipped): {resume_s:.2f} s")

    # The same batch again, same journal: nothing happens.
    before = [thumbprint(b) for b in boards]
    audit_before = st.audit.read_text()
    p = st.run()
    assert p.returncode == 0, p.stderr
    assert [thumbprint(b) for b in boards] == before
    assert st.audit.read_text() == audit_before
    check_three_done(cloud, st, boards)

    # A new journal (another station, a lost journal): the boards are recognised
    # as provisioned and registered; no re-key, no new audit line.
    st.journal = tmp_path / "journal-2.json"
    p = st.run()
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("ok: already provisioned, registered") == 3
    assert p.stderr.count("audit log already has this board and key") == 3
    assert [thumbprint(b) for b in boards] == before
    assert st.audit.read_text() == audit_before
    assert all(cloud.devices()[b["device_id"]]["identity_jkt"] == t for b, t in zip(boards, before))


def test_batch_killed_mid_board_resumes(cloud, tmp_path):
    """SIGTERM, then SIGKILL, while the third board runs its after_provision."""
    st = Station(cloud, tmp_path)
    flag = tmp_path / "release"
    boards = [make_board(tmp_path, f"cam-kill-{i}") for i in range(1, 3)]
    boards.append(make_board(tmp_path, "cam-kill-3", after_provision=f"[ -e {flag} ] || sleep 60"))
    st.write(boards)

    def start_and_wait() -> subprocess.Popen:
        proc = subprocess.Popen(st.args(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        deadline = time.time() + 120
        while not (done_count(st) == 2 and
                   st.journal_doc()["boards"].get("cam-kill-3", {}).get("stage") == "verified"):
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline
            time.sleep(0.05)
        time.sleep(0.3)                                   # inside after_provision's sleep
        return proc

    proc = start_and_wait()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "interrupted by signal 15" in err
    assert len(st.ok_lines()) == 2

    proc = start_and_wait()                               # resumes at after_provision
    os.killpg(proc.pid, signal.SIGKILL)                   # a crash: no handler runs
    proc.communicate(timeout=30)
    assert len(st.ok_lines()) == 2

    flag.touch()
    p = st.run()
    assert p.returncode == 0, p.stderr
    check_three_done(cloud, st, boards)
    assert p.stderr.count("ok: already done (journal)") == 2
    assert "cam-kill-3: after_provision" in p.stderr and "making the identity key" not in p.stderr


def test_malformed_device_ids_are_refused_and_the_others_done(cloud, tmp_path):
    st = Station(cloud, tmp_path)
    good = [make_board(tmp_path, "cam-mal-1"), make_board(tmp_path, "cam-mal-2")]
    bad_ids = ["-cam-3", "ab", "cam/4", "cam-5\n", "c" * 65, "cam 6"]
    bad = [make_board(tmp_path, f"bad{i}") | {"device_id": d} for i, d in enumerate(bad_ids)]
    st.write([good[0], *bad, good[1], {"device_id": "cam-mal-7", "transport": "telnet"},
              make_board(tmp_path, "cam-mal-8") | {"colour": "red"}, 42])
    p = st.run()
    assert p.returncode == 1, p.stderr
    assert "device id '-cam-3' is malformed" in p.stderr
    assert "device id 'cam-5\\n' is malformed" in p.stderr
    assert p.stderr.count("is malformed: 3-64 of A-Z a-z 0-9 . _ -") == len(bad_ids)
    assert "the board was not touched" in p.stderr
    assert "cam-mal-7: transport must be local, serial or ssh" in p.stderr
    assert "unknown key(s) for a local board: colour" in p.stderr
    assert "summary: 11 boards: 2 ok, 9 failed" in p.stderr
    for i in range(len(bad_ids)):
        assert not (tmp_path / f"board-bad{i}" / "vault").exists()
    assert not (tmp_path / "board-cam-mal-8" / "vault").exists()
    assert sorted(r["device_id"] for r in st.ok_lines()) == ["cam-mal-1", "cam-mal-2"]
    devices = cloud.devices()
    assert "cam-mal-1" in devices and "cam-mal-2" in devices and "ab" not in devices


def test_key_mismatch_with_the_cloud_is_refused_until_forced(cloud, tmp_path):
    st = Station(cloud, tmp_path)
    board = make_board(tmp_path, "cam-mismatch-1")
    other = make_board(tmp_path, "cam-mismatch-1-other")
    jwk = json.loads(agent(other, "provision", "--device-id", "cam-mismatch-1").stdout)
    r = cloud.post("/factory/devices", json={"device_id": "cam-mismatch-1", "jwk": jwk["jwk"]})
    assert r.status_code == 201
    st.write([board])
    p = st.run()
    assert p.returncode == 1, p.stderr
    assert "the cloud has another key registered for cam-mismatch-1" in p.stderr
    assert f"registered {jwk['thumbprint']}" in p.stderr and "re-run with --force" in p.stderr
    assert cloud.devices()["cam-mismatch-1"]["identity_jkt"] == jwk["thumbprint"]
    assert st.ok_lines() == []
    failed = [r for r in st.audit_lines() if r["result"] == "failed"]
    assert len(failed) == 1 and failed[0]["thumbprint"] == thumbprint(board)

    # Same journal, no --force: still refused, and the board keeps its key.
    key = thumbprint(board)
    assert st.run().returncode == 1
    assert thumbprint(board) == key
    # --force: the cloud's key is replaced by the board's (made in this journal, so not re-keyed again).
    p = st.run("--force")
    assert p.returncode == 0, p.stderr
    assert thumbprint(board) == key
    assert cloud.devices()["cam-mismatch-1"]["identity_jkt"] == key
    assert [r["thumbprint"] for r in st.ok_lines()] == [key]


def test_force_rekeys_once_per_journal(cloud, tmp_path):
    st = Station(cloud, tmp_path)
    board = make_board(tmp_path, "cam-force-1")
    st.write([board])
    assert st.run().returncode == 0
    first = thumbprint(board)
    st.journal = tmp_path / "journal-force.json"
    p = st.run("--force")
    assert p.returncode == 0, p.stderr
    second = thumbprint(board)
    assert second != first and cloud.devices()["cam-force-1"]["identity_jkt"] == second
    p = st.run("--force")                              # resumed/re-run --force: no second re-key
    assert p.returncode == 0 and thumbprint(board) == second
    assert [(r["thumbprint"], r["action"]) for r in st.ok_lines()] == [(first, "new-key"), (second, "re-keyed")]


def test_board_provisioned_as_another_id_is_refused(cloud, tmp_path):
    st = Station(cloud, tmp_path)
    board = make_board(tmp_path, "cam-other-1")
    assert agent(board, "provision", "--device-id", "cam-other-999").returncode == 0
    st.write([board])
    p = st.run()
    assert p.returncode == 1
    assert "the board is provisioned as cam-other-999, the batch says cam-other-1" in p.stderr
    assert "cam-other-1" not in cloud.devices()


def test_token_never_reaches_children_logs_or_journal(cloud, tmp_path):
    log = tmp_path / "argv-env.log"
    wrapper = tmp_path / "camera-agent-wrapper"
    wrapper.write_text(f'#!/bin/sh\n{{ echo "ARGV: $*"; env; }} >>{log}\nexec {AGENT} "$@"\n')
    wrapper.chmod(0o755)
    st = Station(cloud, tmp_path)
    board = make_board(tmp_path, "cam-secret-1", binary=wrapper, after_provision=f"env >>{log}")
    st.write([board])
    p = st.run()
    assert p.returncode == 0, p.stderr
    text = log.read_text()
    assert " attest --nonce " in text and "ARGV: --config" in text
    assert "--issued-at" not in text       # iat is the board's own clock
    assert cloud.token not in text
    st.check_no_secret(p.stdout + p.stderr)
    assert cloud.token not in (tmp_path / "journal.json").read_text()


def test_attest_with_a_wrong_key_fails_verification(cloud, tmp_path):
    """The real agent's attestation verifies with joserfc against the registered
    key, and not against another."""
    registered = make_board(tmp_path, "cam-attest-1")
    impostor = make_board(tmp_path, "cam-attest-1-impostor")
    jwk = json.loads(agent(registered, "provision", "--device-id", "cam-attest-1").stdout)["jwk"]
    assert agent(impostor, "provision", "--device-id", "cam-attest-1").returncode == 0
    assert cloud.post("/factory/devices", json={"device_id": "cam-attest-1", "jwk": jwk}).status_code == 201

    def attempt(board):
        ch = cloud.post("/factory/devices/cam-attest-1/challenge").json()
        a = agent(board, "attest", "--nonce", ch["nonce"], "--audience", ch["audience"])
        assert a.returncode == 0, a.stderr
        return cloud.post("/factory/devices/cam-attest-1/verify", json={"assertion": a.stdout.strip()})

    r = attempt(impostor)
    assert r.status_code == 401 and r.json() == {
        "error": "invalid_assertion", "error_description": "signature does not verify with the registered key"}
    r = attempt(registered)
    assert r.status_code == 200 and r.json()["verified"] is True


def test_bad_usage_and_inputs(cloud, tmp_path):
    st = Station(cloud, tmp_path)
    st.write([make_board(tmp_path, "cam-usage-1")])
    p = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--factory-token-file" in p.stdout and "exit status" in p.stdout
    p = subprocess.run([sys.executable, str(SCRIPT), "--batch", str(st.batch)], capture_output=True, text=True)
    assert p.returncode == 64 and "required" in p.stderr
    assert st.run("--timeout", "0").returncode == 64
    p = subprocess.run([a if a != st.cloud.url else "http://127.0.0.1:1" for a in st.args()],
                       capture_output=True, text=True)
    assert p.returncode == 64 and "https://" in p.stderr
    p = subprocess.run([a if a != "st1" else "bad station" for a in st.args()], capture_output=True, text=True)
    assert p.returncode == 64

    loose = tmp_path / "token-loose"
    loose.write_text(cloud.token + "\n")
    loose.chmod(0o644)
    p = subprocess.run([a if a != str(cloud.token_file) else str(loose) for a in st.args()],
                       capture_output=True, text=True)
    assert p.returncode == 77 and "must not be readable by group or others" in p.stderr
    assert cloud.token not in p.stderr

    for text, code in (("{not json", 65), ('{"boards": []}', 65), ('{"boards": [], "x": 1}', 65),
                       ('[1, 2]', 65)):
        st.batch.write_text(text)
        assert st.run().returncode == code, text
    dup = make_board(tmp_path, "cam-dup-1")
    st.write([dup, dup])
    p = st.run()
    assert p.returncode == 65 and "lists cam-dup-1 twice" in p.stderr
    st.write([make_board(tmp_path, "cam-usage-2")])
    st.journal.write_text("{garbage")
    p = st.run()
    assert p.returncode == 65 and "move it away" in p.stderr
    assert st.journal.read_text() == "{garbage"


def test_cloud_with_the_wrong_ca_fails_every_board(cloud, tmp_path):
    st = Station(cloud, tmp_path)
    st.write([make_board(tmp_path, "cam-ca-1")])
    other_ca = REPO / "Tests" / "refcloud" / "__init__.py"  # not a CA at all
    p = subprocess.run([a if a != cloud.ca else str(other_ca) for a in st.args()], capture_output=True,
                       text=True)
    assert p.returncode == 66
    wrong = tmp_path / "wrong-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(tmp_path / "k.pem"), "-out", str(wrong), "-subj", "/CN=x",
                    "-days", "1"], check=True, capture_output=True)
    p = subprocess.run([a if a != cloud.ca else str(wrong) for a in st.args()], capture_output=True, text=True)
    assert p.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in p.stderr


# ---- the serial transport against a fake console ---------------------------------------
class FakeConsole:
    """A unix socket whose peer is /bin/sh on a pty (so input is echoed and a
    prompt printed, like a real serial console)."""

    def __init__(self, path: Path, env: dict):
        self.path, self.env = path, env
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(4)
        self.procs: list[subprocess.Popen] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            master, slave = pty.openpty()
            proc = subprocess.Popen(["/bin/sh", "-i"], stdin=slave, stdout=slave, stderr=slave,
                                    env=self.env, start_new_session=True, close_fds=True)
            os.close(slave)
            self.procs.append(proc)
            threading.Thread(target=self._pump, args=(conn, master, proc), daemon=True).start()

    @staticmethod
    def _pump(conn, master, proc):
        import select
        try:
            while True:
                r, _, _ = select.select([conn, master], [], [], 0.5)
                if conn in r:
                    data = conn.recv(4096)
                    if not data:
                        break
                    os.write(master, data)
                if master in r:
                    data = os.read(master, 4096)   # EIO once the shell is gone
                    conn.sendall(data)
        except OSError:
            pass                                   # either side hung up: end the session
        finally:
            conn.close()
            os.close(master)
            proc.kill()
            proc.wait()

    def close(self):
        self.server.close()
        for p in self.procs:
            p.kill()


def load_script():
    spec = importlib.util.spec_from_file_location("factory_provision", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def console(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    board = make_board(tmp_path, "cam-serial-1")
    (bindir / "camera-agent").write_text(f'#!/bin/sh\nexec {AGENT} --config {board["config"]} "$@"\n')
    (bindir / "camera-agent").chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "PS1": "~ # ", "HOME": str(tmp_path), "TERM": "dumb"}
    c = FakeConsole(tmp_path / "console.sock", env)
    yield c, board
    c.close()


def test_serial_transport_framing(console):
    c, _ = console
    fp = load_script()
    s = fp.SerialBoard({"socket": str(c.path)}, timeout=10)
    try:
        r = s.shell("echo hello; echo oops >&2; exit 3")
        assert (r.rc, r.out, r.err) == (3, "hello\n", "oops\n")
        r = s.shell("printf 'no newline'")                     # output glued to the end marker
        assert (r.rc, r.out) == (0, "no newline")
        r = s.shell("echo '__FPE_\"x\"__ 0' # a comment; and a fake marker")
        assert (r.rc, r.out) == (0, '__FPE_"x"__ 0\n')
        r = s.shell("cat")                                    # stdin is /dev/null, not the console
        assert (r.rc, r.out) == (0, "")
        r = s.agent(["version"])
        assert r.rc == 0 and r.out.startswith("camera-agent ")
        with pytest.raises(fp.BoardError, match="one line"):
            s.shell("echo a\necho b")
    finally:
        s.close()
    slow = fp.SerialBoard({"socket": str(c.path)}, timeout=1)
    try:
        with pytest.raises(fp.BoardError, match="no answer within 1 s"):
            slow.shell("sleep 3")
    finally:
        slow.close()
    with pytest.raises(fp.BoardError, match="cannot connect"):
        fp.SerialBoard({"socket": str(c.path) + ".missing"}, timeout=1)


def test_serial_board_is_provisioned_through_the_console(cloud, console, tmp_path):
    c, board = console
    st = Station(cloud, tmp_path)
    st.write([{"device_id": "cam-serial-1", "transport": "serial", "socket": str(c.path),
               "after_provision": "echo reloaded > " + str(tmp_path / "after") + "  # like killall -HUP"}])
    p = st.run()
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "after").read_text() == "reloaded\n"
    jkt = thumbprint(board)
    assert [r["thumbprint"] for r in st.ok_lines()] == [jkt]
    assert cloud.devices()["cam-serial-1"]["identity_jkt"] == jkt
    p = st.run()
    assert p.returncode == 0 and len(st.ok_lines()) == 1


def test_ssh_command_line_holds_no_secret_and_quotes_arguments():
    fp = load_script()
    s = fp.SSHBoard({"host": "192.0.2.7", "port": 2222, "user": "root", "config": "/etc/ca/agent.conf"}, 30)
    assert s.base[:4] == ["ssh", "-o", "BatchMode=yes", "-o"]
    assert s.base[-4:] == ["-l", "root", "--", "192.0.2.7"] and "2222" in s.base
    cmd = fp.remote_agent_command(s.board, ["attest", "--nonce", "abc'; reboot #", "--audience", "https://x"])
    assert cmd == "camera-agent --config /etc/ca/agent.conf attest --nonce 'abc'\"'\"'; reboot #' --audience https://x"


FAKE_DATE = """#!/bin/sh
# The board's clock for the station: `date +%s` reads CLOCK, `date -u -s @N` sets it.
clock={clock}
case "$*" in
  "+%s") cat "$clock" ;;
  "-u -s @"*) [ -e {clock}.readonly ] && {{ echo "date: cannot set date: Operation not permitted" >&2; exit 1; }}
              echo "${{3#@}}" >"$clock" ;;
  *) exec /bin/date "$@" ;;
esac
"""


def test_station_sets_a_1970_board_clock_before_attest(cloud, tmp_path):
    """attest takes no --issued-at: a board whose clock says 1970 gets its
    clock set from the cloud's Date first (and the station stops when it
    cannot be set)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    board = make_board(tmp_path, "cam-clock-1")
    (bindir / "camera-agent").write_text(f'#!/bin/sh\nexec {AGENT} --config {board["config"]} "$@"\n')
    (bindir / "camera-agent").chmod(0o755)
    clock = tmp_path / "board-clock"
    clock.write_text("5\n")
    (bindir / "date").write_text(FAKE_DATE.format(clock=clock))
    (bindir / "date").chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "PS1": "~ # ", "HOME": str(tmp_path), "TERM": "dumb"}
    c = FakeConsole(tmp_path / "console.sock", env)
    try:
        st = Station(cloud, tmp_path)
        st.write([{"device_id": "cam-clock-1", "transport": "serial", "socket": str(c.path)}])
        (tmp_path / "board-clock.readonly").write_text("")
        p = st.run()
        assert p.returncode == 1 and "cannot set the board's clock" in p.stderr, p.stderr
        (tmp_path / "board-clock.readonly").unlink()
        p = st.run()
        assert p.returncode == 0, p.stderr
        assert "board clock set from the cloud's Date" in p.stderr + p.stdout
        assert abs(int(clock.read_text()) - time.time()) < 60
    finally:
        c.close()
