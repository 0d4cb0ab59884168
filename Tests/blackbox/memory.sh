#!/usr/bin/env bash
# Black-box test of issue #13 item 9: secrets do not linger in the daemon's
# memory. `camera-agent run` against the reference cloud over HTTPS on
# loopback, with 6 s access tokens and a 1 s refresh floor, so that the
# refresh token rotates every ~3 s. After at least six rotations (judged from
# the cloud's request log) the running daemon's memory is dumped with gdb's
# gcore (root), and the core is searched for every refresh token the cloud
# issued, in each encoding it crossed the wire in: raw, form-urlencoded (the
# refresh request's body) and JSON-escaped (the token response).
#
# Judged:
#   - no rotated-away refresh token (every one older than the family's
#     previous one) is anywhere in the core: fails otherwise;
#   - the previous one (the last rotated away) is not either: the dump is
#     taken again until no refresh was in flight while it was written (one
#     in flight may legitimately hold it until its vault commit);
#   - figures: tokens searched, full copies found, copies of the live one
#     (it is live in the vault's SecretBytes, so it is expected), copies of
#     old access tokens (reported, not judged).
# Hosted, or an Embedded binary (aarch64 under qemu-aarch64: the core of the
# qemu-user process holds the guest's memory).
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
script=memory
# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"
# shellcheck source=Tests/blackbox/cloud.sh
. "$repo/Tests/blackbox/cloud.sh"
select_target memory "$@"
command -v gcore >/dev/null || { echo "memory: gcore (gdb) is not installed" >&2; exit 1; }

work=$(mktemp -d)
trap 'cloud_cleanup; if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi' EXIT
trap 'exit 130' INT TERM
slack=1
[ "$arch" = hosted ] || slack=3

# refreshes STATUS: how many refresh grants the cloud answered with STATUS.
refreshes() {
  "$python" - "$cloud_dir/requests.jsonl" "$1" <<'PY'
import base64, json, sys, urllib.parse
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        if r["path"].split("?")[0] != "/oauth/token" or str(r["status"]) != sys.argv[2]:
            continue
        form = urllib.parse.parse_qs(base64.b64decode(r["body_b64"]).decode("latin-1"))
        if form.get("grant_type", [""])[0] == "refresh_token":
            n += 1
print(n)
PY
}
refreshes_ge() { [ "$(refreshes 200)" -ge "$1" ]; }
token_requests() { grep -c '"/oauth/token"' "$cloud_dir/requests.jsonl" || true; }
state_is() { grep -qx "state=$1" "$state"; }

cloud_start --interval 1 --access-ttl 6 --nonce-ttl 3600
say "reference cloud at $url"
device=cam-mem-0001
conf=$work/agent.conf
write_config "$conf" board 'startup_delay_ms = 0
refresh_floor_seconds = 1'
state=$work/board/run/state
provision_board "$conf" "$device" || die "factory registration of $device"
start_agent "$work/agent.err" --config "$conf" run
await_code "$state" $((30 * slack))
owner approve "$code" >"$work/approve.json" || die "approve failed: $(cat "$work/approve.json")"
wait_for $((30 * slack)) "state=active" state_is active
wait_for $((60 * slack)) "six refresh rotations" refreshes_ge 6
# The daemon's CPU time so far (utime + stime, clock ticks): the figure for
# the cost of glibc's M_PERTURB (main.c), compared across builds.
cpu=$(awk '{ print $14 + $15 }' "/proc/$agent_pid/stat")
say "$(refreshes 200) refresh rotations answered 200; the agent process used $cpu ticks of CPU ($(getconf CLK_TCK)/s) since its start; dumping the daemon's memory"

# The core: gcore stops the process, writes it and lets it go on. A dump is
# judged only when it was quiet: the agent's state file said active (not
# refreshing) before and after it, no token request reached the cloud while
# it was taken and the family's current refresh token did not change (a refresh
# in flight may legitimately hold the previous token until its vault commit,
# and the agent may not have the new one yet). Otherwise another dump, at
# most 10.
current_rt() { test_state | "$python" -c 'import json, sys; print(json.load(sys.stdin)["devices"][sys.argv[1]]["families"][-1]["current_rt"])' "$device"; }
core=$work/core.$agent_pid
attempt=0
while :; do
  attempt=$((attempt + 1))
  active_before=no
  state_is active && active_before=yes
  before=$(token_requests)
  rt_before=$(current_rt)
  gcore -o "$work/core" "$agent_pid" >"$work/gcore.log" 2>&1 || die "gcore failed: $(cat "$work/gcore.log")"
  [ -s "$core" ] || die "gcore wrote no core at $core"
  test_state >"$work/state.json"
  after=$(token_requests)
  if [ "$active_before" = yes ] && state_is active && [ "$before" = "$after" ] \
    && [ "$rt_before" = "$(current_rt)" ]; then
    break
  fi
  [ "$attempt" -lt 10 ] || die "no quiet dump in 10 attempts (a refresh in flight each time)"
  say "a token request was in flight during dump $attempt: taking another"
  rm -f "$core"
done

# Every refresh token issued to the device: the ones it presented (the
# request log's refresh bodies) and the family's current one.
"$python" - "$cloud_dir/requests.jsonl" "$work/state.json" "$device" "$core" >"$work/found" 2>"$work/copies" <<'PY'
import base64, json, sys, urllib.parse
log, state_path, device, core_path = sys.argv[1:5]
presented = []
with open(log) as f:
    for line in f:
        r = json.loads(line)
        if r["path"].split("?")[0] != "/oauth/token":
            continue
        form = urllib.parse.parse_qs(base64.b64decode(r["body_b64"]).decode("latin-1"))
        if form.get("grant_type", [""])[0] == "refresh_token" and str(r["status"]) == "200":
            rt = form["refresh_token"][0]
            if rt not in presented:
                presented.append(rt)
fam = json.load(open(state_path))["devices"][device]["families"][-1]
current, previous = fam["current_rt"], fam["previous_rt"]
old = [t for t in presented if t not in (current, previous)]
accesses = [a["token"] for a in json.load(open(state_path))["devices"][device]["access_tokens"]]
core = open(core_path, "rb").read()

def encodings(token):
    raw = token.encode()
    return {raw, urllib.parse.quote(token, safe="").encode(), json.dumps(token)[1:-1].encode()}

def copies(token):
    return sum(core.count(e) for e in encodings(token))

old_hits = [copies(t) for t in old]
print(f"searched {len(old)} rotated-away refresh tokens (and the previous and the current one, "
      f"{len(presented)} presented in total) in a {len(core) // 1024} KiB core: "
      f"{sum(1 for h in old_hits if h)} found, {sum(old_hits)} copies")
print(f"old_tokens={len(old)}")
print(f"old_found={sum(1 for h in old_hits if h)}")
print(f"old_copies={sum(old_hits)}")
print(f"previous_copies={copies(previous) if previous else 0}")
print(f"current_copies={copies(current)}")
# Partial copies (a token's first half) of old tokens: a token split across buffers.
print(f"old_half_copies={sum(core.count(t[: len(t) // 2].encode()) for t in old)}")
print(f"old_access_tokens={len(accesses) - 1 if accesses else 0}")
print(f"old_access_copies={sum(core.count(a.encode()) for a in accesses[:-1])}")
# For a failure: what surrounds each copy of an old token (cleaned; stderr).
for t in old + ([previous] if previous else []):
    for e in encodings(t):
        i = core.find(e)
        while i >= 0:
            ctx = core[max(0, i - 64): i + len(e) + 16]
            print("  copy at %#x: %s" % (i, "".join(chr(b) if 32 <= b < 127 else "." for b in ctx)),
                  file=sys.stderr)
            i = core.find(e, i + 1)
PY
sed -n 1p "$work/found" | sed "s/^/$script [$arch]: /"
value() { sed -n "s/^$1=//p" "$work/found"; }
say "copies of the live refresh token: $(value current_copies) (it is in the vault's SecretBytes); of the previous one: $(value previous_copies); dumps taken: $attempt; half-token matches of old ones: $(value old_half_copies); old access tokens: $(value old_access_copies) copies of $(value old_access_tokens)"
rm -f "$core"
[ "$(value old_copies)" = 0 ] || sed "s/^/$script [$arch]: /" "$work/copies"

check "at least 3 rotated-away refresh tokens to look for ($(value old_tokens))" test "$(value old_tokens)" -ge 3
check "no rotated-away refresh token in the daemon's memory ($(value old_found) of $(value old_tokens) found, $(value old_copies) copies)" \
  test "$(value old_copies)" = 0
check "the previous refresh token (the last rotated away) is gone too ($(value previous_copies) copies)" \
  test "$(value previous_copies)" = 0
check "the live refresh token is in the dump (the search finds what is there: $(value current_copies) copies)" \
  test "$(value current_copies)" -ge 1
check "the daemon is still active after the dump" kill -0 "$agent_pid"
stop_agent
summary memory
