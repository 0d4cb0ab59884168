#!/usr/bin/env python3
"""Power cuts during refresh-token rotation on an emulated board (run through
Tests/system/power-cut.sh [--board qemu-virt-aarch64|armv7-cortex-a7-camera]).

The reference cloud issues 35-second access tokens, so the agent (which
refreshes 30 s before expiry) rotates its refresh token about every 5 s and
once at most boots. The board is activated once; then QEMU is SIGKILLed at
seeded random moments (seconds after the agent started in that boot) and
booted again, N times.
Checked throughout: the vault always opens; its generation never goes back;
the agent returns to state=active with no owner approval (no user_code, no
new device_authorization request at the cloud); the cloud's refresh-token
family is never revoked (no reuse detection); a report is accepted at the
end with the surviving session.

How a cut is made depends on the board (board.conf POWER_CUT, see
Board.power_cut): on qemu-virt-aarch64 QEMU is SIGKILLed (the vault's disk
image holds what the guest wrote); on armv7-cortex-a7-camera, whose NAND is
nandsim in the guest's RAM, the guest's power-cut listener freezes the agent
at the cut, saves the vault partition as it is at that instant, and QEMU is
then SIGKILLed. There the kernel's erase log (nandsim) gives erase counts per
block, printed at the end; only the vault's two slot blocks may be erased.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import random
import re
import shutil
import sys
import threading
import time

from systemlib import (BOARDS, DEFAULT_BOARD, Board, BoardDef, Cloud, ConsoleError, Fatal, Session,
                       factory_provision, install_signal_handlers, log, report_time, wait_for)

DEVICE = "cam-cut-0001"
ACCESS_TTL = 35
# Per architecture: the random-cut window and how long a targeted cut waits
# for a refresh, both counted from the agent's start in that boot (the
# supervisor's "starting camera-agent" line in the agent log). Not from
# QEMU's start: on a 2-core host loaded 10 by other builds the arm64 kernel
# took 18-25 s and the armmp one 40-120 s to reach the agent, and a window of
# 1.5-15 s after QEMU's start then put 17 of 20 cuts on qemu-virt-aarch64
# before the agent ran (2 rotations in the whole run: little tested). The
# refresh wait is long because a loaded host took 10-25 s from the agent's
# start to its first refresh.
WINDOWS = {"aarch64": (0.0, 13.5, 45.0), "armv7": (0.5, 20.0, 45.0)}
AGENT_START_TIMEOUT = 300.0


def parse_args(argv):
    p = argparse.ArgumentParser(prog="Tests/system/power-cut.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--board", default=DEFAULT_BOARD, choices=BOARDS, help=f"the board (default {DEFAULT_BOARD})")
    p.add_argument("--cuts", type=int, default=20, help="number of power cuts (default 20)")
    p.add_argument("--seed", type=int, help="random seed (default: from the clock, printed)")
    p.add_argument("--earliest", type=float,
                   help="earliest cut, s after the agent's start in that boot (default 0; armv7 0.5)")
    p.add_argument("--latest", type=float,
                   help="latest cut, s after the agent's start in that boot (default 13.5; armv7 20)")
    p.add_argument("--targeted-every", type=int, default=2, metavar="K",
                   help="every Kth cut waits for the cloud to answer a refresh, then cuts 0-150 ms later "
                        "(aiming between the cloud issuing a token and the vault committing it); 0: none (default 2)")
    a = p.parse_args(argv)
    a.bdef = BoardDef(a.board)
    earliest, latest, a.refresh_wait = WINDOWS[a.bdef.arch]
    a.earliest = earliest if a.earliest is None else a.earliest
    a.latest = latest if a.latest is None else a.latest
    if not 1 <= a.cuts <= 500:
        p.error("--cuts must be 1 to 500")
    if not 0 <= a.earliest < a.latest <= 120:
        p.error("need 0 <= --earliest < --latest <= 120")
    if a.targeted_every < 0:
        p.error("--targeted-every must be 0 or more")
    return a


def refresh_answered(cloud: Cloud, offset: int) -> tuple[bool, int]:
    """Whether requests.jsonl, read from byte `offset`, records a successful
    refresh (POST /oauth/token, grant_type=refresh_token, 200); new offset."""
    path = cloud.dir / "requests.jsonl"
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines():
        rec = json.loads(line)
        if (rec["method"] == "POST" and rec["path"] == "/oauth/token" and rec.get("status") == 200
                and b"grant_type=refresh_token" in base64.b64decode(rec["body_b64"])):
            return True, offset + end
    return False, offset + end


def agent_started(board: Board, pid: int) -> float | None:
    """Host time at which this boot's agent log first shows the supervisor
    starting the agent (the log is stamped in the guest; the host sees the
    line when QEMU writes it), or None if the boot ends or never gets there."""
    deadline = time.time() + AGENT_START_TIMEOUT
    while time.time() < deadline:
        if board.proc is None or board.proc.pid != pid or board.proc.poll() is not None:
            return None
        if "camera-agent supervisor: starting" in board.log_text():
            return time.time()
        time.sleep(0.05)
    return None


def cut_after_agent_start(board: Board, pid: int, delay: float, result: dict) -> None:
    """Cuts the power `delay` s after the agent started in this boot."""
    result["delay"] = delay
    started = agent_started(board, pid)
    if started is not None:
        result["agent_at"] = started - board.t_start
        time.sleep(max(0.0, started + delay - time.time()))
    result["cut"] = board.power_cut(pid)


def cut_on_refresh(board: Board, pid: int, cloud: Cloud, extra: float, wait: float, result: dict) -> None:
    """Cuts the power `extra` s after the cloud answers the next refresh, or
    `wait` s after the agent's start in this boot if none comes by then."""
    try:
        offset = (cloud.dir / "requests.jsonl").stat().st_size
    except OSError:
        offset = 0
    started = agent_started(board, pid)
    if started is None:
        result["cut"] = board.power_cut(pid)
        return
    result["agent_at"] = started - board.t_start
    deadline = started + wait
    while time.time() < deadline:
        try:
            seen, offset = refresh_answered(cloud, offset)
        except OSError:  # the test is ending and its folder is gone
            return
        if seen:
            result["refresh_seen"] = True
            time.sleep(extra)
            break
        time.sleep(0.002)
    result["cut"] = board.power_cut(pid)


def erase_counts(board: Board) -> collections.Counter:
    """Erases per chip erase block over every boot, from the kernel's log
    (nandsim log=1, saved per boot by the board's init; this boot's saved now)."""
    rc, out = board.sh("/etc/init.d/board save && cat /backing/nand/erases.boot*", timeout=60)
    if rc != 0:
        raise Fatal(f"reading the erase log failed: {out.strip()[-200:]}")
    return collections.Counter(int(x) for x in out.split() if x.isdigit())


class Watch:
    """What one boot showed before its cut."""

    def __init__(self):
        self.shell_at: float | None = None
        self.active_at: float | None = None
        self.generations: list[int] = []
        self.states: list[str] = []
        self.user_code_seen = False


def observe(board: Board, watch: Watch, until: float) -> None:
    """Polls the board (state file, vault snapshot) until the host time
    `until` or until the board is gone (the cut). A console error before
    then (the shell not up yet) is retried; one from the cut ends the poll."""
    while time.time() < until and board.running():
        try:
            if board.con is None:
                board.wait_shell(timeout=max(0.2, until - time.time()))
                if watch.shell_at is None:
                    watch.shell_at = time.time() - board.t_start
            state = board.agent_state()
            name = state.get("state", "?")
            if not watch.states or watch.states[-1] != name:
                watch.states.append(name)
            if "user_code" in state:
                watch.user_code_seen = True
            if name == "active" and watch.active_at is None:
                watch.active_at = time.time() - board.t_start
            gen = board.vault_status().get("generation")
            if gen is not None:
                watch.generations.append(int(gen))
            time.sleep(0.3)
        except (Fatal, ConsoleError, OSError):
            if board.con is not None:
                board.con.close()
                board.con = None
            time.sleep(0.1)


def rollback_check(board: Board, cloud: Cloud, checks, work, snapshot_gen: int) -> None:
    """The data disk as cut 1 left it is written back (a thief replaying an
    old refresh token; the TPM keeps its count) and the board boots: every
    start of the agent refuses the vault with both counter values, and the
    cloud sees no token request from it. Then the real disk goes back."""
    # At least 3 commits past the image. The cut boots make many (each boot
    # refreshes its expired token); a loaded host that cut most boots before
    # the agent ran waits here for steady-state rotations (35 s tokens).
    wait_for("3 vault generations past the image",
             lambda: int(board.vault_status().get("generation", "0")) >= snapshot_gen + 3, 300)
    live = board.kv("camera-agent status")
    checks.check(f"after the last cut the vault is bound ({board.bdef.anti_rollback}) and agrees with the TPM",
                 live.get("anti_rollback") == board.bdef.anti_rollback and live.get("rollback_counter", "").isdigit()
                 and "rollback_increment_pending" not in live, str(live))
    rc = board.poweroff()
    checks.check("poweroff before the rollback: QEMU exits 0", rc == 0, f"exit {rc}")
    disk = work / "img" / "data.img"
    shutil.move(disk, work / "data.current.img")
    shutil.copyfile(work / "data.rollback.img", disk)
    tokens_before = cloud.count("/oauth/token")
    log(f"power-cut: rollback: the data disk of cut 1 (vault generation about {snapshot_gen}) written back under "
        f"the TPM count {live.get('rollback_counter')} (generation {live.get('generation')}); booting")
    board.boot()
    board.wait_shell()
    refused = wait_for("the agent to refuse the rolled-back vault",
                       lambda: "anti-rollback count" in board.log_text() and board.log_text(), 120)
    line = next((ln for ln in refused.splitlines() if "anti-rollback count" in ln), "")
    log(f"power-cut: rollback: {line.strip()[:220]}")
    rc_s, out_s = board.sh("camera-agent status 2>&1")
    counts = re.search(r"anti-rollback count (\d+) but the counter is at (\d+)", line)
    behind = int(counts.group(2)) - int(counts.group(1)) if counts else 0
    checks.check(f"the vault from {behind} commits earlier (at least 3) is refused at start and by status "
                 "(both counter values named, nothing changed)",
                 behind >= 3 and str(counts.group(2) if counts else "?") == live.get("rollback_counter")
                 and rc_s == 1 and "anti-rollback count" in out_s, f"{line} / {out_s.strip()[:200]}")
    checks.check("no token request from the rolled-back board reached the cloud (the old refresh token is never sent)",
                 cloud.count("/oauth/token") == tokens_before, f"{tokens_before} -> {cloud.count('/oauth/token')}")
    board.cut()
    shutil.move(work / "data.current.img", disk)


def main(argv=None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    rng = random.Random(seed)
    log(f"power-cut: seed {seed} (rerun with --seed {seed}), {args.cuts} cuts, "
        f"each {args.earliest}-{args.latest} s after the agent's start in that boot")
    bdef = args.bdef
    session = Session("power-cut", bdef)
    checks, work = session.checks, session.work
    with session:
        cloud = session.cloud = Cloud(session.python, work / "cloud", ["--access-ttl", str(ACCESS_TTL)])
        Board.build(bdef, cloud.ca, work / "img")
        board = session.board = Board(bdef, work / "img", cloud.port, work)

        # --- one activation, as on the factory line and at the owner's home ----------
        board.boot()
        first_shell = board.wait_shell()
        factory_provision(board, cloud, checks, DEVICE)  # the factory station; its after_provision is SIGHUP
        st = wait_for("a user_code", lambda: (s := board.agent_state()).get("user_code") and s, 60)
        cloud.owner("approve", st["user_code"])
        wait_for("the first report", lambda: report_time(cloud, DEVICE, 1), 60)
        wait_for("state=active", lambda: board.agent_state().get("state") == "active", 30)
        devauth = cloud.count("/oauth/device_authorization")
        families0 = len(cloud.device(DEVICE).get("families", []))
        gen_start = int(board.vault_status()["generation"])
        max_gen = gen_start
        log(f"power-cut: active at generation {gen_start}; {devauth} device authorization request(s) so far")

        # --- the cuts ---------------------------------------------------------------
        rows = []
        targeted_hits = 0
        regressions = []
        approvals = []
        for i in range(1, args.cuts + 1):
            if i == 1:
                # The first boot is already up: cut it within the next few rotations.
                delay = rng.uniform(0, args.latest - args.earliest)
            else:
                board.boot()
                delay = rng.uniform(args.earliest, args.latest)
            watch = Watch()
            if i == 1:
                watch.shell_at = first_shell
            targeted = args.targeted_every > 0 and i % args.targeted_every == 0
            result: dict = {}
            pid = board.proc.pid
            if targeted:
                extra = rng.uniform(0, 0.150)
                killer = threading.Thread(target=cut_on_refresh, daemon=True,
                                          args=(board, pid, cloud, extra, args.refresh_wait, result))
            else:
                killer = threading.Thread(target=cut_after_agent_start, daemon=True,
                                          args=(board, pid, delay, result))
            # Observe until the cut ends the boot (a killer whose agent never
            # starts cuts after AGENT_START_TIMEOUT).
            moment = AGENT_START_TIMEOUT + max(args.latest, args.refresh_wait) + 60
            killer.start()
            observe(board, watch, board.t_start + moment)
            killer.join()
            cut_at = time.time() - board.t_start
            board.cut()
            if i == 1 and bdef.anti_rollback:
                # The thief's image: the data disk as this cut left it (the
                # TPM's NV state, beside it in data.tpm/, is not copied).
                shutil.copyfile(work / "img" / "data.img", work / "data.rollback.img")
                snapshot_gen = max(watch.generations, default=gen_start)
            doing = board.last_log_line()
            for g in watch.generations:
                if g < max_gen:
                    regressions.append(f"cut {i}: generation {g} after {max_gen}")
                max_gen = max(max_gen, g)
            if watch.user_code_seen:
                approvals.append(f"boot before cut {i} published a user_code")
            gens = f"{watch.generations[0]}..{watch.generations[-1]}" if watch.generations else "-"
            how = "random moment"
            if targeted:
                how = (f"{extra * 1000:3.0f} ms after the cloud answered a refresh" if result.get("refresh_seen")
                       else "no refresh seen: at the deadline")
                targeted_hits += 1 if result.get("refresh_seen") else 0
            if "delay" in result:
                how += f" {result['delay']:.1f} s after the agent's start"
            if "agent_at" in result:
                how += f", the agent's start seen {result['agent_at']:.1f} s after boot"
            rows.append(f"  cut {i:2}/{args.cuts}: {cut_at:5.1f} s after boot ({how}); "
                        f"shell {'%.1f s' % watch.shell_at if watch.shell_at else '-'}, "
                        f"active {'%.1f s' % watch.active_at if watch.active_at else '-'}, "
                        f"vault generation {gens}; states {'/'.join(watch.states) or '-'}; "
                        f"agent's last line: {doing.strip()[:110]}"
                        + (f"; cut: {result.get('cut', '-')}" if bdef.power_cut == "freeze" else ""))
            log(rows[-1])

        # --- after the last cut ---------------------------------------------------------
        board.boot()
        board.wait_shell()
        wait_for("state=active after the last cut", lambda: board.agent_state().get("state") == "active", 90)
        final = board.vault_status()
        gen_final = int(final["generation"])
        reports_before = sum(1 for r in cloud.requests() if r["path"] == f"/v1/devices/{DEVICE}/report"
                             and r.get("status") == 200)
        board.sh("killall -USR1 camera-agent")
        try:
            wait_for("a report after the last cut", lambda: report_time(cloud, DEVICE, reports_before + 1), 60)
        except Fatal:
            pass
        reported = report_time(cloud, DEVICE, reports_before + 1) is not None
        dev = cloud.device(DEVICE)
        families = dev.get("families", [])
        live = families[-1] if families else {}
        logs = "".join(p.read_text(errors="replace") for p in sorted(work.glob("agent.boot*.log"))
                       if p.name != "agent.boot1.log")
        erases = erase_counts(board) if bdef.vault_backend == "mtd" else None

        log("")
        checks.check(f"the vault opened at every boot (no 'vault:' error in {args.cuts} boots' logs)",
                     "camera-agent: vault" not in logs, [ln for ln in logs.splitlines() if "camera-agent: vault" in ln][:3].__str__())
        checks.check(f"the vault generation never went back (start {gen_start}, max seen {max_gen}, final {gen_final})",
                     not regressions and gen_final >= max_gen, "; ".join(regressions[:5]))
        checks.check("the agent rotated its refresh token during the run (the generation grew)",
                     gen_final > gen_start, f"{gen_start} -> {gen_final}")
        checks.check("after the last cut: state=active, refresh token in the vault",
                     final.get("refresh_token") == "present")
        checks.check("no owner approval needed: no user_code published after the first activation",
                     not approvals and "waiting for the owner" not in logs, "; ".join(approvals[:5]))
        checks.check(f"no new device_authorization request at the cloud ({devauth} before and after)",
                     cloud.count("/oauth/device_authorization") == devauth)
        checks.check("the refresh-token family is the original one and still valid (no reuse revocation)",
                     len(families) == families0 and live and not live.get("revoked_reason"), str(live.get("revoked_reason")))
        checks.check("a report was accepted with the surviving session after the last cut (SIGUSR1)", reported)
        checks.check("the agent never exited with an error (no supervisor restart)",
                     "exited with status" not in logs,
                     [ln for ln in logs.splitlines() if "exited with status" in ln][:3].__str__())
        if erases is not None:
            first = bdef.vault_first_block()
            vault_blocks = range(first, first + 4)
            log("power-cut: erase counts per block of the vault partition (chip block: erases), from the kernel's "
                "nandsim log over every boot: " + ", ".join(f"{b} (vault block {b - first}): {erases[b]}"
                                                            for b in vault_blocks))
            outside = {b: n for b, n in erases.items() if b not in vault_blocks}
            checks.check("no erase outside the vault partition (the agent erases only its own NAND partition)",
                         not outside, str(outside))
            checks.check("only the two slot blocks (vault blocks 0 and 1) were erased, both of them",
                         erases[first + 2] == 0 and erases[first + 3] == 0 and erases[first] > 0 and erases[first + 1] > 0,
                         str(dict(erases)))
            frozen = [r for r in rows if "saved=yes" in r]
            checks.check("every cut of a running agent froze it and saved the NAND (no 'saved=no')",
                         not any("saved=no" in r or "unreachable" in r for r in rows), "")
            log(f"power-cut: {len(frozen)} of {args.cuts} cuts froze a running agent and saved the NAND"
                + (f"; {args.cuts - len(frozen)} came before the agent had started in that boot (QEMU killed at once)"
                   if len(frozen) < args.cuts else ""))
        if bdef.anti_rollback:
            rollback_check(board, cloud, checks, work, snapshot_gen)
        refreshes = cloud.count("/oauth/token", status=200) - 1
        log(f"power-cut: figures: {args.cuts} cuts ({targeted_hits} right after a refresh answer); refresh-token rotations at the cloud {live.get('rotations')} "
            f"(grace uses {live.get('grace_uses')}: cuts between the cloud issuing a token and the vault "
            f"committing it); {refreshes} successful refreshes; vault generation {gen_start} -> {gen_final}; "
            f"credentials lost: {0 if final.get('refresh_token') == 'present' and not (live or {}).get('revoked_reason') else 'SOME'}; "
            f"owner re-approvals: {len(approvals) + cloud.count('/oauth/device_authorization') - devauth}; seed {seed}")
        log(f"power-cut: total test time {time.time() - session.t_begin:.0f} s")
    return session.summary()


if __name__ == "__main__":
    sys.exit(main())
