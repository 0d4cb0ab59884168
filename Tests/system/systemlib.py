"""Shared pieces of the system tests (Tests/system/*.py): the reference
cloud on loopback, an emulated board (board/qemu/ tools with a board
definition from board/<board>/board.conf: qemu-virt-aarch64 or
armv7-cortex-a7-camera), its serial console, its power, and pass/fail
bookkeeping. Standard library only.

Python rather than bash here: the tests time events to the tenth of a
second, read the cloud's JSON state and request log, and must clean up QEMU
and the cloud on every exit, which try/finally does more plainly than traps.
"""

from __future__ import annotations

import calendar
import json
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QEMU_TOOLS = REPO / "board" / "qemu"
sys.path.insert(0, str(QEMU_TOOLS))
sys.path.insert(0, str(REPO / "Tests" / "fixtures"))
from console import Console, ConsoleError  # noqa: E402
from session_tokens import session_tokens  # noqa: E402

BOARDS = ("qemu-virt-aarch64", "armv7-cortex-a7-camera")
DEFAULT_BOARD = "qemu-virt-aarch64"


class BoardDef:
    """The facts of one emulated board, read from its board.conf by the same
    shell that build-image.sh and run-qemu.sh source it with."""

    KEYS = ("BOARD", "ARCH", "VERSION_ID", "VAULT_BACKEND", "VAULT_PATH", "KEY_SOURCE", "HUK_DEVICE",
            "POWER_CUT", "MOUNT_POINTS", "RUN_AS_USER", "MTDPARTS", "NAND_ERASE_KIB", "QEMU_SYSTEM", "TPM")

    def __init__(self, name: str):
        if name not in BOARDS:
            raise ValueError(f"unknown board {name!r} (one of {', '.join(BOARDS)})")
        conf = REPO / "board" / name / "board.conf"
        script = ". \"$1\"; RUN_AS_USER=$(sed -n 's/^RUN_AS=//p' \"$2\")\n" + "".join(
            f'printf "%s=%s\\n" {k} "${{{k}:-}}"\n' for k in self.KEYS)
        out = subprocess.run(["sh", "-c", script, "sh", str(conf), str(conf.parent / "camera-agent.default")],
                             check=True, capture_output=True, text=True).stdout
        facts = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        self.name = name
        self.arch = facts["ARCH"]
        self.version_id = facts["VERSION_ID"]
        self.vault_backend = facts["VAULT_BACKEND"]
        self.vault_path = facts["VAULT_PATH"]
        self.key_source = facts["KEY_SOURCE"]
        self.huk_device = facts["HUK_DEVICE"]
        self.power_cut = facts["POWER_CUT"] or "kill"
        self.data_mount = facts["MOUNT_POINTS"].split()[0]
        self.run_as = facts["RUN_AS_USER"]
        self.mtdparts = facts["MTDPARTS"]
        self.erase_kib = int(facts["NAND_ERASE_KIB"] or 0)
        self.tpm = facts["TPM"] or "none"
        # agent.conf's anti_rollback (the vault bound to the TPM counter), or None.
        bound = re.search(r"^anti_rollback = (tpm:\S+)$", (conf.parent / "agent.conf").read_text(), re.M)
        self.anti_rollback = bound.group(1) if bound else None
        # agent.conf's identity_key: "tpm2..." when the key is made in the TPM.
        identity = re.search(r"^identity_key = (\S+)$", (conf.parent / "agent.conf").read_text(), re.M)
        self.identity_store = "tpm2" if identity and identity.group(1).startswith("tpm2") else "software"
        # The longest wait for the guest's first rcS line before typing
        # anyway (Console.wait_ready ends the wait at that line). Idle, the
        # line comes ~2 s (arm64 kernel) or ~8 s (armmp) after QEMU's start;
        # on a 2-core host with 6 builds beside it (load 12-15), 14 s (arm64)
        # and 65 s (armmp) were seen, and probes typed before it left the
        # UART stuck for the whole boot (an 8 s limit did that on aarch64, a
        # 60 s one on armv7: QEMU then stopped reading the console socket).
        self.first_line_s = 60.0 if self.arch == "aarch64" else 240.0
        # The longest wait from QEMU's start to a shell answer: the armmp
        # kernel reached its first rcS line after 55 s of guest uptime (70 s
        # of host time) on a host loaded 12 by other builds.
        # aarch64's was 90 s until a run with three test lanes and two busy
        # loops beside it: rcS reached "up" at 74 s of guest uptime and the
        # shell had not answered at 89 s.
        self.boot_timeout = 240.0 if self.arch == "aarch64" else 300.0
        if facts["BOARD"] != name or not facts["QEMU_SYSTEM"]:
            raise ValueError(f"{conf} is not an emulated board definition")

    @property
    def key_path(self) -> str:
        """Where the guest reads its hardware-unique key."""
        if self.key_source.startswith("qemu-fw-cfg:"):
            return f"/sys/firmware/qemu_fw_cfg/by_name/{self.key_source.split(':', 1)[1]}/raw"
        return self.key_source.split(":", 1)[1]

    def vault_first_block(self) -> int:
        """The chip erase block where the vault partition starts (NAND boards)."""
        offset = 0
        for part in self.mtdparts.split(","):
            name, size = part.split(":")
            if name == "vault":
                return offset // (self.erase_kib * 1024)
            offset += int(size[:-1]) * (1024 if size.endswith("k") else 1024 * 1024)
        raise ValueError("no vault partition in MTDPARTS")


def board_argument(argv: list[str]) -> tuple[str, list[str]]:
    """`--board NAME` from argv (default qemu-virt-aarch64); the rest."""
    rest, name = [], DEFAULT_BOARD
    i = 0
    while i < len(argv):
        if argv[i] == "--board" and i + 1 < len(argv):
            name = argv[i + 1]
            i += 2
        elif argv[i].startswith("--board="):
            name = argv[i].split("=", 1)[1]
            i += 1
        else:
            rest.append(argv[i])
            i += 1
    if name not in BOARDS:
        print(f"unknown board {name!r}: one of {', '.join(BOARDS)}", file=sys.stderr)
        sys.exit(64)
    return name, rest


def log(msg: str) -> None:
    print(msg, flush=True)


class Fatal(Exception):
    """A step the rest of the test depends on failed."""


class Checks:
    def __init__(self, name: str):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            log(f"  ok    [board] {what}")
        else:
            self.failed += 1
            log(f"  FAIL  [board] {what}" + (f" ({detail})" if detail else ""))
        return ok

    def require(self, what: str, ok: bool, detail: str = "") -> None:
        if not self.check(what, ok, detail):
            raise Fatal(what)

    def summary(self) -> int:
        log(f"{self.name}: {self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1


def wait_for(what: str, predicate, timeout: float, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Fatal(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def install_signal_handlers() -> None:
    """SIGTERM/SIGINT/SIGHUP end the test through the normal cleanup path."""
    def stop(signum, _frame):
        raise SystemExit(128 + signum)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)


def prepare_host(arch: str) -> str:
    """Host packages, the board's agent binary, the cloud's venv; returns the venv python."""
    subprocess.run([str(REPO / "cross" / "setup-host.sh")], check=True, stdout=subprocess.DEVNULL)
    if not (REPO / "out" / arch / "camera-agent").exists():
        log(f"building the {arch} agent (cross/build.sh {arch})")
        subprocess.run([str(REPO / "cross" / "build.sh"), arch], check=True)
    out = subprocess.run([str(REPO / "Tests" / "refcloud" / "setup.sh")], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()
    return out[-1]


class Cloud:
    """The reference cloud on 127.0.0.1, reachable from the guest as https://192.0.2.100."""

    def __init__(self, python: str, state_dir: Path, extra: list[str]):
        self.python = python
        self.dir = state_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        port_file = self.dir.parent / "cloud.port"
        self.log_path = self.dir.parent / "cloud.log"
        args = [python, "-m", "refcloud", "--state-dir", str(self.dir), "--port", "0",
                "--port-file", str(port_file), "--test-controls", "--interval", "1",
                "--issuer-host", "192.0.2.100", "--public-port", "443"] + extra
        self.proc = subprocess.Popen(args, cwd=REPO / "Tests", stdout=open(self.log_path, "wb"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for("the reference cloud's port file", lambda: port_file.exists() and port_file.read_text().strip(), 30)
        self.port = int(port_file.read_text().strip())
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca = self.dir / "ca.pem"
        self._ctx = ssl.create_default_context(cafile=str(self.ca))
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                   urllib.request.HTTPSHandler(context=self._ctx))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _call(self, method: str, path: str, body: dict | None = None, bearer: str | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if bearer:
            req.add_header("Authorization", "Bearer " + bearer)
        try:
            with self._opener.open(req, timeout=15) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def state(self) -> dict:
        status, body = self._call("GET", "/test/state")
        if status != 200:
            raise Fatal(f"/test/state answered {status}")
        return body

    def device(self, device_id: str) -> dict:
        return self.state().get("devices", {}).get(device_id, {})

    def requests(self) -> list[dict]:
        path = self.dir / "requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def count(self, path: str, method: str = "POST", status: int | None = None) -> int:
        return sum(1 for r in self.requests()
                   if r["method"] == method and r["path"].split("?")[0] == path
                   and (status is None or r.get("status") == status))

    def owner(self, *args: str) -> dict:
        out = subprocess.run([self.python, str(REPO / "Tests" / "refcloud" / "owner.py"),
                              "--state-dir", str(self.dir), *args],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise Fatal(f"owner.py {' '.join(args)} exited {out.returncode}: {out.stdout}{out.stderr}")
        return json.loads(out.stdout)

    def secrets(self, device_id: str) -> list[str]:
        """Every token the cloud ever issued to the device (for leak scans)."""
        return session_tokens(self.device(device_id))


class Board:
    """One emulated board: its definition, its image folder (kernel,
    initramfs, data disk, HUK) and, while it runs, one QEMU process and its
    console."""

    def __init__(self, bdef: BoardDef, image: Path, cloud_port: int, work: Path, rtc_base: str | None = None):
        self.bdef = bdef
        self.image = image
        self.rtc_base = rtc_base  # YYYY-MM-DD the RTC starts at on every boot (None: the host's time)
        self.cloud_port = cloud_port
        self.work = work
        self.proc: subprocess.Popen | None = None
        self.con: Console | None = None
        self.boots = 0
        self.t_start = 0.0
        self.shell_up = False  # this boot's shell has answered (so typing is safe)
        self.agent_log: Path | None = None

    @staticmethod
    def build(bdef: BoardDef, ca: Path, image: Path) -> str:
        out = subprocess.run(["nice", "-n", "10", str(QEMU_TOOLS / "build-image.sh"), "--board", bdef.name,
                              "--ca", str(ca), "--out", str(image)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise Fatal(f"build-image.sh failed:\n{out.stdout}{out.stderr}")
        return out.stdout

    def boot(self) -> None:
        assert self.proc is None, "the board is already running"
        self.boots += 1
        self.shell_up = False
        self.agent_log = self.work / f"agent.boot{self.boots}.log"
        self.t_start = time.time()
        # run-qemu.sh execs QEMU (and nice execs it): self.proc.pid is QEMU
        # itself. Niced: the machine's cores are shared with other builds.
        self.proc = subprocess.Popen(
            ["nice", "-n", "10", str(QEMU_TOOLS / "run-qemu.sh"), "--board", self.bdef.name,
             "--image", str(self.image), "--cloud-port", str(self.cloud_port),
             "--console", str(self.work / "console.sock"), "--agent-log", str(self.agent_log),
             "--power", str(self.work / "power.sock"), "--monitor", str(self.work / "qmp.sock")]
            + (["--rtc-base", self.rtc_base] if self.rtc_base else []),
            stdin=subprocess.DEVNULL, stdout=open(self.work / f"qemu.boot{self.boots}.log", "wb"),
            stderr=subprocess.STDOUT)

    def wait_shell(self, timeout: float | None = None) -> float:
        """Connects to the console; returns seconds from QEMU start to a shell
        answer. Early in a boot nothing is typed before the guest's first rcS
        line (see Console.wait_ready), or before bdef.first_line_s after QEMU's
        start."""
        deadline = time.monotonic() + (self.bdef.boot_timeout if timeout is None else timeout)
        while True:
            if self.proc.poll() is not None:
                raise Fatal(f"QEMU exited with {self.proc.returncode} during boot {self.boots}")
            try:
                self.con = Console(str(self.work / "console.sock"), connect_timeout=0.5,
                                   transcript=str(self.work / f"console.boot{self.boots}.log"))
                break
            except ConsoleError:
                if time.monotonic() >= deadline:
                    raise Fatal("the console socket never appeared")
        self.con.wait_ready(max(1.0, deadline - time.monotonic()), probe_every=0.5,
                            quiet_for=max(0.0, self.t_start + self.bdef.first_line_s - time.time()))
        self.shell_up = True
        return time.time() - self.t_start

    def disconnect(self) -> None:
        """Closes the test's console connection (the socket takes one client
        at a time) so another program, e.g. the factory station, can use it."""
        if self.con is not None:
            self.con.close()
            self.con = None

    def reconnect(self, timeout: float = 30) -> None:
        """Opens the console again on a board whose shell has answered
        before in this boot (so no quiet wait: probe right away)."""
        if self.proc is None or self.proc.poll() is not None:
            raise Fatal("the board is not running: cannot reconnect its console")
        self.disconnect()
        self.con = Console(str(self.work / "console.sock"), connect_timeout=10,
                           transcript=str(self.work / f"console.boot{self.boots}.log"))
        self.con.wait_ready(timeout, probe_every=0.5)

    # A liveness bound, not a measure: on a loaded 2-core host the armmp
    # guest ran 3.5x slower than usual (shell after 246 s, not 70 s) and a
    # `camera-agent status` beside the daemon's NAND commit took over 30 s.
    CONSOLE_TIMEOUT = 90.0

    def sh(self, cmd: str, timeout: float = CONSOLE_TIMEOUT) -> tuple[int, str]:
        if self.con is None:
            raise Fatal("no console connection")
        return self.con.run(cmd, timeout=timeout)

    def kv(self, cmd: str, timeout: float = CONSOLE_TIMEOUT) -> dict:
        """key=value lines of CMD's output (status, the state file)."""
        rc, out = self.sh(cmd, timeout)
        if rc != 0:
            raise Fatal(f"'{cmd}' exited {rc}: {out.strip()}")
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def agent_state(self) -> dict:
        return self.kv("cat /run/camera-agent/state 2>/dev/null || echo state=none")

    def vault_status(self) -> dict:
        """`camera-agent status`. File backend: on a copy of the vault
        directory, so the test never touches the files it measures (see
        Tests/system/README.md), read unbound: the copy falls behind the TPM
        counter at the daemon's next commit, which a bound status would
        rightly call a rollback. Raw MTD: on the partition itself (status
        only reads it; a copy would need a second MTD device)."""
        if self.bdef.vault_backend != "file":
            return self.kv("camera-agent status")
        return self.kv(f"rm -rf /tmp/vs && cp -a {self.bdef.vault_path} /tmp/vs"
                       " && sed -e 's#^vault_path = .*#vault_path = /tmp/vs#' -e '/^anti_rollback/d'"
                       " /etc/camera-agent/agent.conf >/tmp/vs.conf"
                       " && camera-agent --config /tmp/vs.conf status")

    def log_text(self) -> str:
        return self.agent_log.read_text(errors="replace").replace("\r", "") if self.agent_log and self.agent_log.exists() else ""

    def last_log_line(self) -> str:
        lines = [line for line in self.log_text().splitlines() if line.strip()]
        return lines[-1] if lines else "(no agent log yet)"

    def _closed(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
        self.proc = None
        self.shell_up = False

    def dump_memory(self, path: Path, timeout: float = 120) -> bytes:
        """The guest's whole RAM, through QMP's dump-guest-memory (an ELF
        core of guest-physical memory, written by QEMU on the host): every
        process's pages and the kernel's, whatever the guest could hide."""
        path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.work / "qmp.sock"))
            f = s.makefile("rwb")

            def call(command: str, **arguments) -> dict:
                f.write(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
                f.flush()
                while True:
                    answer = json.loads(f.readline() or b'{"error": "closed"}')
                    if "return" in answer or "error" in answer:
                        return answer

            json.loads(f.readline())  # the greeting
            for command, arguments in (("qmp_capabilities", {}),
                                       ("dump-guest-memory", {"paging": False, "protocol": f"file:{path}"})):
                answer = call(command, **arguments)
                if "error" in answer:
                    raise Fatal(f"QMP {command}: {answer['error']}")
        return path.read_bytes()

    def poweroff(self, timeout: float = 60) -> int:
        """Clean shutdown from the console (rcK stops the agent, unmounts
        /data); what the console prints meanwhile is kept in console.bootN.log."""
        if self.con is None:
            raise Fatal("no console connection to send poweroff")
        self.con.send_line("poweroff")
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                self.con.read_line(min(deadline, time.monotonic() + 0.5))
            except ConsoleError:
                break
        try:
            rc = self.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.cut()
            raise Fatal(f"the board did not power off within {timeout:.0f} s "
                        f"(console: {self.work}/console.boot{self.boots}.log)")
        self._closed()
        return rc

    def cut(self) -> None:
        """SIGKILL to QEMU, nothing in the guest gets to run. On a board whose
        flash survives only through a save (POWER_CUT=freeze), what the guest
        wrote in this boot is lost: a power cut there is power_cut()."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._closed()

    def power_cut(self, pid: int) -> str:
        """A power cut of the running QEMU `pid` (ignored when that boot is
        already gone). POWER_CUT=kill: SIGKILL at once. POWER_CUT=freeze: the
        guest's power-cut listener freezes the agent (SIGSTOP) the moment it
        reads "cut", saves the vault partition as it is then and answers;
        then SIGKILL. Returns what happened (for the test's report). Safe to
        call from another thread than the one using the console."""
        proc = self.proc
        if proc is None or proc.pid != pid or proc.poll() is not None:
            return "already off"
        said = "killed"
        if self.bdef.power_cut == "freeze" and "camera-agent supervisor: starting" not in self.log_text():
            # The agent has not run in this boot, so the NAND is as the boot
            # restored it from the save: a plain kill loses nothing. (The
            # listener may not be up yet either.)
            said = "before the agent started: killed at once"
        elif self.bdef.power_cut == "freeze":
            t = time.monotonic()
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(60)
                    s.connect(str(self.work / "power.sock"))
                    s.sendall(b"cut\n")
                    buf = b""
                    while b"\n" not in buf:
                        chunk = s.recv(200)
                        if not chunk:
                            break
                        buf += chunk
                said = buf.decode(errors="replace").strip() or "no answer"
            except OSError as e:
                said = f"power listener unreachable: {e}"
            said += f" (answered in {time.monotonic() - t:.2f} s)"
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        return said

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


# ---------------------------------------------------------------------------
# Factory provisioning with the real factory station
# (board/factory/factory-provision.py) over the board's serial console.
# ---------------------------------------------------------------------------
FACTORY_SCRIPT = REPO / "board" / "factory" / "factory-provision.py"
# What the board needs so the waiting daemon opens the new vault: the init
# script's reload (SIGHUP to the agent).
AFTER_PROVISION = "/etc/init.d/S90camera-agent reload"
STATION = "qemu-system-test"
UTC_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _run_station(args: list[str], log_path: Path, timeout: float = 300) -> tuple[int, str, float]:
    """Runs factory-provision.py; returns (exit status, stdout+stderr, seconds)."""
    t = time.time()
    try:
        p = subprocess.run([sys.executable, str(FACTORY_SCRIPT), *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc = 124
        out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
    log_path.write_text(out)
    return rc, out, time.time() - t


def factory_provision(board: Board, cloud: Cloud, checks: Checks, device_id: str,
                      after_provision: str = AFTER_PROVISION) -> str:
    """Provisions the running board with the factory station over its serial
    console: provision, register, challenge -> attest -> verify,
    after_provision (the reload that makes the daemon open the vault), one
    audit line. The console takes one client at a time, so the test's own
    connection is closed while the station runs and opened again after.
    Returns the identity thumbprint."""
    if board.con is None or not board.shell_up:
        # The console contract: nothing is typed before the guest's first rcS
        # line; wait_shell() has waited for it and had the shell answer.
        raise Fatal("factory_provision needs a booted board whose shell answered (wait_shell)")
    fdir = board.work / "factory"
    fdir.mkdir(exist_ok=True)
    batch, audit, journal = fdir / "batch.json", fdir / "audit.jsonl", fdir / "journal.json"
    token_file = cloud.dir / "factory_token"
    token = token_file.read_text().strip()
    batch.write_text(json.dumps({"boards": [{
        "device_id": device_id, "transport": "serial", "socket": str(board.work / "console.sock"),
        "after_provision": after_provision}]}, indent=1) + "\n")
    args = ["--batch", str(batch), "--cloud", cloud.url, "--ca-file", str(cloud.ca),
            "--factory-token-file", str(token_file), "--station", STATION,
            "--audit-log", str(audit), "--journal", str(journal), "--timeout", "60"]
    factory_posts0 = cloud.count("/factory/devices")

    board.disconnect()
    try:
        rc, out, took = _run_station(args, fdir / "run1.log")
        for line in out.splitlines():
            log("  | " + line)
        log(f"board: factory station done in {took:.1f} s (exit {rc})")
        checks.require("factory-provision.py over the serial console exits 0", rc == 0, f"exit {rc}")
        audit1, journal1 = audit.read_bytes(), journal.read_bytes()
        st1 = cloud.device(device_id)
        posts1 = cloud.count("/factory/devices")
        # The same batch and journal again: nothing to do, nothing written.
        rc2, out2, took2 = _run_station(args, fdir / "run2.log")
        said = [ln for ln in out2.splitlines() if device_id in ln] or out2.strip().splitlines() or ["(no output)"]
        log(f"board: factory station re-run in {took2:.1f} s (exit {rc2}): {said[-1]}")
        checks.check("re-running the batch with its journal: exit 0, audit log and journal unchanged, "
                     "no new factory request, the board untouched",
                     rc2 == 0 and audit.read_bytes() == audit1 and journal.read_bytes() == journal1
                     and cloud.count("/factory/devices") == posts1
                     and cloud.count(f"/factory/devices/{device_id}/challenge") == 1
                     and "already done" in out2,
                     out2.strip()[-300:])
    finally:
        board.reconnect()

    st = board.vault_status()
    thumb = st.get("identity_thumbprint", "")
    checks.require("vault status on the board (console): provisioned as the batch's device id with an identity key",
                   st.get("vault") == "provisioned" and st.get("device_id") == device_id
                   and st.get("identity_key") == "present" and bool(thumb), str(st))
    records = [json.loads(line) for line in audit1.decode().splitlines() if line.strip()]
    mine = [r for r in records if r.get("device_id") == device_id]
    checks.check("exactly one audit line for the board", len(mine) == 1, str(records))
    rec = mine[0] if mine else {}
    when = rec.get("time", "")
    fresh = False
    if UTC_RE.fullmatch(when or ""):
        fresh = abs(calendar.timegm(time.strptime(when, "%Y-%m-%dT%H:%M:%SZ")) - time.time()) < 600
    checks.check("audit line: the board's identity thumbprint, the station, UTC time, result ok, verified",
                 rec.get("thumbprint") == thumb and rec.get("station") == STATION and fresh
                 and rec.get("result") == "ok" and rec.get("verified") is True, str(rec))
    leaks = [name for name, blob in (("audit log", audit1), ("journal", journal1),
                                     ("station output", (out + out2).encode()))
             if token.encode() in blob]
    checks.check("the factory token is in neither the audit log, the journal nor the station's output",
                 not leaks and len(token) >= 16, ", ".join(leaks))
    checks.check("the cloud holds the board's key, registered and verified (challenge, attest on the board, verify)",
                 st1.get("identity_jkt") == thumb and bool(st1.get("registered_at"))
                 and bool(st1.get("verified_at")) and posts1 == factory_posts0 + 1
                 and cloud.count(f"/factory/devices/{device_id}/verify", status=200) == 1,
                 f"{st1.get('identity_jkt')} verified_at={st1.get('verified_at')}")
    return thumb


def new_workdir(prefix: str) -> Path:
    # Short path: unix socket names are limited to ~100 bytes.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


class Session:
    """One system test's run (the part board_boot.py and power_cut.py share):
    the host prepared, a work folder, the checks, and the cloud and board the
    test starts (it sets .cloud and .board). Used as `with session:` around the
    test's steps, it ends every run the same way: a Fatal or console error, a
    signal (install_signal_handlers) or a bug in the test becomes a failed
    check; the board and the cloud are always stopped; the work folder is
    removed after a clean pass, else kept and named (with the last lines of
    each agent log when tail_agent_logs)."""

    def __init__(self, name: str, bdef: BoardDef, tail_agent_logs: bool = False):
        self.name = name
        self.bdef = bdef
        self.tail_agent_logs = tail_agent_logs
        self.checks = Checks(name)
        self.t_begin = time.time()
        log(f"{name}: board {bdef.name} ({bdef.arch}; vault {bdef.vault_backend} {bdef.vault_path}; "
            f"HUK {bdef.key_source}; power cut: {bdef.power_cut})")
        self.python = prepare_host(bdef.arch)
        self.work = new_workdir(name + ".")
        self.cloud: Cloud | None = None
        self.board: Board | None = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        handled = True
        if exc_type is None:
            pass
        elif issubclass(exc_type, (Fatal, ConsoleError)):
            self.checks.check(f"stopped: {exc}", False)
        elif issubclass(exc_type, SystemExit):  # SIGTERM/SIGINT/SIGHUP (install_signal_handlers)
            self.checks.check(f"stopped by a signal (exit {exc.code})", False)
        elif issubclass(exc_type, Exception):  # a bug in the test itself: still clean up and count it
            traceback.print_exception(exc_type, exc, tb)
            self.checks.check("stopped: unexpected error (traceback above)", False)
        else:  # e.g. KeyboardInterrupt without the handlers: clean up, then let it go on
            handled = False
        keep = exc_type is not None and handled
        if self.board is not None:
            self.board.cut()
        if self.cloud is not None:
            self.cloud.stop()
        if keep or self.checks.failed:
            log(f"{self.name}: logs kept in {self.work} (agent.boot*.log, qemu.boot*.log, cloud.log)")
            if self.tail_agent_logs:
                for p in sorted(self.work.glob("agent.boot*.log")):
                    log(f"---- {p.name} (last 15 lines)")
                    for line in p.read_text(errors="replace").replace("\r", "").splitlines()[-15:]:
                        log("  " + line)
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        return handled

    def summary(self) -> int:
        """The total time and the pass/fail line; main()'s exit status."""
        log(f"{self.name}: total {time.time() - self.t_begin:.0f} s")
        return self.checks.summary()


def report_time(cloud: Cloud, device_id: str, nth: int) -> float | None:
    """Host time at which the cloud accepted the device's nth report."""
    done = [r for r in cloud.requests()
            if r["method"] == "POST" and r["path"] == f"/v1/devices/{device_id}/report" and r.get("status") == 200]
    return float(done[nth - 1]["time"]) if len(done) >= nth else None


def scan_for(blob: bytes, needles: dict[str, bytes]) -> list[str]:
    return [name for name, needle in needles.items() if needle and needle in blob]
