#!/usr/bin/env python3
"""Run shell commands on an emulated camera board over its serial console.

Standard library only. The console (run-qemu.sh --console SOCK) is a unix
stream socket carrying the guest's ttyAMA0, where a root BusyBox shell runs
with terminal echo off and empty prompts (see board/qemu/README.md, "serial console").
A command is sent as one line

    echo __BEGIN_<id>__; { CMD ; } </dev/null 2>&1; echo __END_<id>__ $?

and its output is what comes between the two marker lines; <id> is random,
so output left over from an earlier command or connection never matches.

As a module:

    with Console("/path/console.sock") as con:
        con.wait_ready(timeout=60)           # seconds until the shell answered
        rc, out = con.run("camera-agent status", timeout=30)

From the command line (exit status: the command's, or 124 on timeout,
125 when the console cannot be reached):

    console.py SOCK [--timeout S] [--wait-ready S [--booting]] -- CMD...
"""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
import time


class ConsoleError(Exception):
    """The console could not be reached or did not answer in time."""


class Console:
    def __init__(self, path: str, connect_timeout: float = 10.0, transcript: str | None = None):
        """Connects to the console socket; `transcript`, when given, is a
        file every byte read from the console is appended to."""
        self.path = path
        self._buf = b""
        self._transcript = open(transcript, "ab") if transcript else None
        deadline = time.monotonic() + connect_timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except OSError as e:
                sock.close()
                if time.monotonic() >= deadline:
                    raise ConsoleError(f"cannot connect to {path}: {e}") from e
                time.sleep(0.1)
        self._sock = sock

    def close(self) -> None:
        self._sock.close()
        if self._transcript is not None:
            self._transcript.close()

    def __enter__(self) -> "Console":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(self, line: str) -> None:
        self._sock.settimeout(10.0)
        try:
            self._sock.sendall(line.encode() + b"\n")
        except OSError as e:
            raise ConsoleError(f"{self.path}: cannot send to the console: {e}") from e

    def send_line(self, line: str) -> None:
        """Sends a line without waiting for anything (e.g. `poweroff`)."""
        if "\n" in line or "\r" in line:
            raise ValueError("one line only")
        self._send(line)

    def interrupt(self) -> None:
        """Sends ^C (SIGINT to the shell's foreground job) and a newline."""
        self._sock.settimeout(10.0)
        try:
            self._sock.sendall(b"\x03\n")
        except OSError as e:
            raise ConsoleError(f"{self.path}: cannot send to the console: {e}") from e

    def read_line(self, deadline: float) -> str | None:
        """One line (without CR/LF), or None at the deadline (time.monotonic())."""
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(4096)
            except socket.timeout:
                return None
            except OSError as e:
                raise ConsoleError(f"{self.path}: cannot read the console: {e}") from e
            if not chunk:
                raise ConsoleError(f"{self.path}: the console closed (guest gone?)")
            if self._transcript is not None:
                self._transcript.write(chunk)
                self._transcript.flush()
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("utf-8", "replace").replace("\r", "")

    def wait_ready(self, timeout: float = 120.0, probe_every: float = 1.0, quiet_for: float = 0.0) -> float:
        """Probes until the shell answers; returns the seconds it took.

        quiet_for > 0: the board is booting. Nothing is sent until the guest
        has printed its first "rcS:" line, or for at most quiet_for seconds:
        bytes that reach the emulated PL011 UART before Linux has opened it
        can leave its receive path stuck for the whole boot (seen with
        QEMU 7.2 and Debian's 6.1 kernel in 3 boots of 20 when probing from
        QEMU's start; none in 25 when waiting for the rcS line)."""
        start = time.monotonic()
        deadline = start + timeout
        if quiet_for > 0:
            quiet_until = start + quiet_for
            while time.monotonic() < min(deadline, quiet_until):
                line = self.read_line(min(deadline, quiet_until))
                if line is not None and line.startswith("rcS:"):
                    break
        while time.monotonic() < deadline:
            token = "__READY_%s__" % secrets.token_hex(4)
            self._send("echo " + token)
            probe_deadline = min(deadline, time.monotonic() + probe_every)
            while True:
                line = self.read_line(probe_deadline)
                if line is None:
                    break
                if line.strip() == token:
                    return time.monotonic() - start
        raise ConsoleError(f"{self.path}: no shell answered within {timeout:.0f} s")

    def run(self, cmd: str, timeout: float = 30.0) -> tuple[int, str]:
        """Runs CMD (one line); returns (exit status, output with stderr)."""
        if "\n" in cmd or "\r" in cmd:
            raise ValueError("the command must be a single line")
        tag = secrets.token_hex(6)
        begin, end = f"__BEGIN_{tag}__", f"__END_{tag}__ "
        self._send(f"echo {begin}; {{ {cmd} ; }} </dev/null 2>&1; echo {end}$?")
        deadline = time.monotonic() + timeout
        out: list[str] = []
        started = False
        while True:
            line = self.read_line(deadline)
            if line is None:
                # A hung command would swallow the next ones: interrupt it.
                try:
                    self.interrupt()
                except ConsoleError:
                    pass
                raise ConsoleError(f"timed out after {timeout:.0f} s running: {cmd}")
            if not started:
                started = line.strip() == begin
                continue
            if line.startswith(end) and line[len(end):].strip().isdigit():
                return int(line[len(end):].strip()), "\n".join(out) + ("\n" if out else "")
            out.append(line)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="console.py", usage="console.py SOCK [--timeout S] [--wait-ready S [--booting]] [-- CMD...]", description=__doc__.split("\n\n")[0])
    p.add_argument("socket", help="the console's unix socket")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds for the command (default 30)")
    p.add_argument("--wait-ready", type=float, metavar="S", help="first wait up to S seconds for the shell")
    p.add_argument("--booting", action="store_true",
                   help="the board is just starting: type nothing before its first rcS line (max 240 s: the armv7 board took 65 s on a loaded host)")
    argv = sys.argv[1:] if argv is None else argv
    cmd = argv[argv.index("--") + 1:] if "--" in argv else []
    a = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    try:
        with Console(a.socket) as con:
            if a.wait_ready is not None:
                con.wait_ready(a.wait_ready, quiet_for=240.0 if a.booting else 0.0)
            if not cmd:
                return 0
            rc, out = con.run(" ".join(cmd), timeout=a.timeout)
    except ConsoleError as e:
        print(f"console.py: {e}", file=sys.stderr)
        return 124 if "timed out" in str(e) or "no shell answered" in str(e) else 125
    sys.stdout.write(out)
    return rc


if __name__ == "__main__":
    sys.exit(main())
