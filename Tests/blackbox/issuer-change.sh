#!/usr/bin/env bash
# Black-box test: a session's tokens go only to the issuer that issued them
# (issue 12). Two reference clouds, A and B, on loopback. The board activates
# and reports at A; then its `server =` names B:
#   1. `camera-agent run` refuses to start (exit 78) and says to run
#      `camera-agent reauth`; B's request log shows no request at all;
#   2. `wipe` refuses to revoke at B (exit 78) and erases nothing;
#   3. a running daemon (at A) given server = B by SIGHUP keeps its settings:
#      the next report still goes to A, nothing to B;
#   4. after `camera-agent reauth`, `run` activates at B (the owner approves
#      there), reports at B, and the vault names B as its session's issuer.
# Throughout, B's request log holds none of A's tokens. The user code the
# owner types is the state file's, exactly, and the hook's environment
# carries the same bytes (plain mode's codes are 24 mixed-case characters).
# Runs the hosted build or an Embedded binary (aarch64 under qemu-aarch64);
# CLOUD_MODE=plain runs both clouds in plain mode.
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
script=issuer-change
# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"
# shellcheck source=Tests/blackbox/cloud.sh
. "$repo/Tests/blackbox/cloud.sh"
select_target issuer-change "$@"

work=$(mktemp -d)
top=$work
cloud_b_pid=""
trap 'kill -KILL $cloud_b_pid 2>/dev/null || true; cloud_cleanup; rm -rf "$top"' EXIT
trap 'exit 130' INT TERM
agent_log=$work/agent.err
device=cam-issuer-01

# --- cloud B first (its own state dir and port), then cloud A as "the" cloud
work=$top/b
mkdir -p "$work"
cloud_start --interval 1
cloud_b_pid=$cloud_pid url_b=$url dir_b=$cloud_dir
work=$top port=""
cloud_start --interval 1
url_a=$url dir_a=$cloud_dir
say "cloud A at $url_a, cloud B at $url_b"
[ "$url_a" != "$url_b" ] || die "the two clouds share an address"

# B knows the board too (its factory registered the same key): a server that
# would gladly take A's tokens if the agent sent them.
conf=$work/agent.conf
cat >"$work/hook.sh" <<HOOK
#!/bin/sh
[ -z "\${CAMERA_AGENT_USER_CODE:-}" ] || printf '%s\n' "\$CAMERA_AGENT_USER_CODE" >>"$work/hook-codes.txt"
HOOK
chmod 755 "$work/hook.sh"
settings="hook = $work/hook.sh
reauth_spread_seconds = 1
backoff_base_ms = 300
backoff_cap_ms = 2000"
write_config "$conf" board "$settings"
state=$work/board/run/state
provision_board "$conf" "$device" || die "factory registration at A: $(cat "$work/factory.json")"
jwk=$(sed -n 's/^identity_jwk=//p' <(agent --config "$conf" status))
code=$(curl -sS --noproxy '*' --cacert "$dir_b/ca.pem" -o "$work/factory-b.json" -w '%{http_code}' \
  -X POST "$url_b/factory/devices" -H "Authorization: Bearer $(cat "$dir_b/factory_token")" \
  -H 'Content-Type: application/json' --data "{\"device_id\":\"$device\",\"jwk\":$jwk}")
[ "$code" = 201 ] || die "factory registration at B: $code $(cat "$work/factory-b.json")"

# The clouds' CAs differ: one bundle holds both, so that only server = decides.
cat "$dir_a/ca.pem" "$dir_b/ca.pem" >"$work/both-ca.pem"
use_server() {
  write_config "$conf" board "$settings"
  sed -i "s#^server = .*#server = $1#; s#^ca_file = .*#ca_file = $work/both-ca.pem#" "$conf"
}
# agent_requests_at DIR: requests cloud DIR received other than the harness's own.
agent_requests_at() {
  "$python" - "$1/requests.jsonl" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    if not json.loads(line)["path"].startswith(("/test/", "/owner/", "/admin/", "/factory/")):
        n += 1
print(n)
PY
}

# --- activation and a report at A
use_server "$url_a"
start_agent "$agent_log" --config "$conf" run
await_code "$state" 60
code_a=$code
say "the owner approves $code_a at A"
owner approve "$code_a" >"$work/approve-a.json" || die "approve at A: $(cat "$work/approve-a.json")"
wait_for 60 "state=active at A" grep -qx state=active "$state"
wait_for 30 "the report at A" grep -q "report accepted" "$agent_log"
check "the hook's CAMERA_AGENT_USER_CODE is the state file's code, byte for byte ($code_a)" \
  grep -qxF -- "$code_a" "$work/hook-codes.txt"
stop_agent
run --config "$conf" status
check "the vault names A as the session's issuer and API base" \
  sh -c "grep -qxF 'session_issuer=$url_a' '$work/out' && grep -qxF 'session_api_base=$url_a' '$work/out'"
test_state >"$work/state-a.json"
gen_a=$(sed -n 's/^generation=//p' "$work/out")

# --- 1. server = B: run refuses before any request
use_server "$url_b"
run --config "$conf" run --once-active
check "1 run with server = B: exit 78 (got $status)" test "$status" = 78
check "1 the message names both issuers and says 'camera-agent reauth'" \
  sh -c "grep -qF \"issued by '$url_a'\" '$work/err' && grep -qF \"server = '$url_b'\" '$work/err' && grep -qF \"run 'camera-agent reauth'\" '$work/err'"
say "run said: $(grep -F 'issued by' "$work/err")"
n=$(agent_requests_at "$dir_b")
check "1 cloud B received no request from the agent ($n)" test "$n" = 0

# --- 2. wipe with server = B
run --config "$conf" wipe
check "2 wipe with server = B: exit 78, refuses to send the refresh token there" \
  sh -c "[ $status = 78 ] && grep -qF 'not sent to another server; nothing was wiped' '$work/err'"
run --config "$conf" status
check "2 the vault is untouched (generation $gen_a, refresh token present)" \
  sh -c "grep -qx 'generation=$gen_a' '$work/out' && grep -qx refresh_token=present '$work/out'"
n=$(agent_requests_at "$dir_b")
check "2 cloud B still received nothing ($n)" test "$n" = 0

# --- 3. SIGHUP to server = B under a live session
use_server "$url_a"
start_agent "$work/agent2.err" --config "$conf" run
wait_for 60 "state=active at A again" grep -qx state=active "$state"
kill -USR1 "$agent_pid"
wait_for 30 "a report at A after the restart" grep -q "report accepted" "$agent_log"
use_server "$url_b"
kill -HUP "$agent_pid"
wait_for 30 "the refused reload" grep -qF "keeping the previous settings" "$agent_log"
reports_a=$(grep -c "report accepted" "$agent_log")
at_a=$(grep -c "\"/v1/devices/$device/report\".*\"status\": 200" "$dir_a/requests.jsonl")
kill -USR1 "$agent_pid"
wait_for 30 "the next report" sh -c "[ \$(grep -c 'report accepted' '$agent_log') -gt $reports_a ]"
check "3 SIGHUP with server = B refused with the reauth advice" \
  sh -c "grep -qF \"run 'camera-agent reauth'\" '$agent_log' && grep -qF 'keeping the previous settings' '$agent_log'"
check "3 the next report (SIGUSR1) was accepted by A (A's 200 reports: $at_a -> more)" \
  sh -c "[ \$(grep -c '\"/v1/devices/$device/report\".*\"status\": 200' '$dir_a/requests.jsonl') -gt $at_a ]"
stop_agent
n=$(agent_requests_at "$dir_b")
check "3 cloud B still received nothing ($n)" test "$n" = 0
test_state >"$work/state-a2.json"

# --- 4. reauth, then activation at B
run --config "$conf" reauth
check "4 reauth: exit 0" test "$status" = 0
start_agent "$work/agent3.err" --config "$conf" run
await_code "$state" 60 "$code_a"
code_b=$code
say "the owner approves $code_b at B"
"$python" "$repo/Tests/refcloud/owner.py" --state-dir "$dir_b" approve "$code_b" >"$work/approve-b.json" \
  || die "approve at B: $(cat "$work/approve-b.json")"
wait_for 60 "state=active at B" grep -qx state=active "$state"
wait_for 30 "the report at B" grep -q "report accepted" "$agent_log"
stop_agent
run --config "$conf" status
check "4 after reauth: activated and reported at B; the vault names B" \
  sh -c "grep -qxF 'session_issuer=$url_b' '$work/out' && grep -qx refresh_token=present '$work/out'"
n=$(agent_requests_at "$dir_b")
check "4 cloud B received the agent's requests only after reauth ($n)" test "$n" -gt 0

# --- none of A's tokens ever reached B
check "B's request log holds none of A's tokens" \
  "$python" "$repo/Tests/fixtures/session_tokens.py" --device "$device" --min 2 \
  --state "$work/state-a.json" --state "$work/state-a2.json" "$dir_b/requests.jsonl"

summary issuer-change
