#!/usr/bin/env bash
# Black-box test of the whole session lifecycle through `camera-agent run`,
# against the reference cloud on loopback over real HTTPS: provision, register
# the identity key at the factory endpoint, first activation (the owner
# approves the published user_code with TOTP), a report, a mass logout at the
# cloud, SIGUSR1 (report -> invalid_token -> refresh -> invalid_grant ->
# tokens destroyed -> re-activation after the spread window), approval again,
# a second report, and SIGTERM. Runs the hosted build or an Embedded binary
# (aarch64 under qemu-aarch64).
#
# DEMO=1 prints the agent's log lines as they come (used by ./demo.sh).
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"
select_target handshake "$@"
python=$("$repo/Tests/refcloud/setup.sh" | tail -n 1)

work=$(mktemp -d)
cloud_pid=""
agent_pid=""
cleanup() {
  # The cloud and the agent may have inherited a blocked SIGTERM: SIGKILL.
  for pid in $agent_pid $cloud_pid; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT


say() { echo "handshake [$arch]: $*"; }
die() { echo "handshake [$arch]: FAIL: $*" >&2; sed 's/^/  agent: /' "$work/agent.err" >&2 || true; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local limit=$(($1 * 5)) what=$2
  shift 2
  local i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt "$limit" ] || die "timed out waiting for $what"
    if [ -n "$agent_pid" ] && ! kill -0 "$agent_pid" 2>/dev/null; then die "the agent exited while waiting for $what"; fi
    sleep 0.2
  done
}

# --- the reference cloud
device=cam-hs-0001
mkdir -p "$work/cloud"
(cd "$repo/Tests" && exec "$python" -m refcloud --state-dir "$work/cloud" --port 0 \
  --port-file "$work/port" --test-controls --interval 1) >"$work/cloud.log" 2>&1 &
cloud_pid=$!
wait_for 30 "the reference cloud" test -s "$work/port"
port=$(cat "$work/port")
url="https://127.0.0.1:$port"
cloud() { curl -sS --noproxy '*' --cacert "$work/cloud/ca.pem" "$@"; }
owner() { "$python" "$repo/Tests/refcloud/owner.py" --state-dir "$work/cloud" "$@"; }
test_state() { cloud "$url/test/state"; }
say "reference cloud at $url"

# --- the board
printf 'NAME=CamOS\nVERSION_ID=4.2.1\n' >"$work/os-release"
cat >"$work/agent.conf" <<CONF
server = $url
ca_file = $work/cloud/ca.pem
vault_backend = file
vault_path = $work/vault
key_source = development
firmware_version_source = os-release:$work/os-release
state_file = $work/run/state
reauth_spread_seconds = 2
backoff_base_ms = 500
backoff_cap_ms = 4000
CONF
state="$work/run/state"

run --config "$work/agent.conf" provision --device-id "$device"
[ "$status" = 0 ] || die "provision exited $status: $(cat "$work/err")"
jwk=$(sed -n 's/.*"jwk":\({[^}]*}\).*/\1/p' "$work/out")
code=$(cloud -o "$work/factory.json" -w '%{http_code}' -X POST "$url/factory/devices" \
  -H "Authorization: Bearer $(cat "$work/cloud/factory_token")" -H 'Content-Type: application/json' \
  --data "{\"device_id\":\"$device\",\"jwk\":$jwk,\"force\":false}")
check "factory endpoint registers the identity key (201)" test "$code" = 201

# --- first activation
# exec, so that $! is the agent itself (or qemu-user, which passes signals on).
start_agent() {
  if [ "$arch" = hosted ]; then exec "$binary" "$@"; fi
  exec "$repo/cross/qemu-run.sh" "$arch" "$binary" "$@"
}
if [ "${DEMO:-0}" = 1 ]; then
  # The log also goes to the terminal; the pipe ends when the agent does.
  # (fd 3: the substitution would otherwise inherit the >agent.out redirection.)
  exec 3>&1
  (start_agent --config "$work/agent.conf" run) >"$work/agent.out" \
    2> >(tee "$work/agent.err" | grep --line-buffered -v WARNING | sed -u 's/^/    | /' >&3) &
else
  (start_agent --config "$work/agent.conf" run) >"$work/agent.out" 2>"$work/agent.err" &
fi
agent_pid=$!
wait_for 60 "a user_code in the state file" grep -q '^user_code=' "$state"
code1=$(sed -n 's/^user_code=//p' "$state")
check "state file: activation_pending with user_code, verification_uri, expires_at" \
  sh -c "grep -qx state=activation_pending '$state' && grep -q '^verification_uri=https://' '$state' && grep -q '^expires_at=[0-9]*$' '$state'"
check "state file is mode 0644" test "$(stat -c %a "$state")" = 644
say "the owner approves $code1"
owner approve "$code1" >"$work/approve1.json"
wait_for 60 "state=active" grep -qx state=active "$state"
reports() { grep -c "\"/v1/devices/$device/report\"" "$work/cloud/requests.jsonl" || true; }
accepted() { grep -q "report accepted" "$work/agent.err" && [ "$(grep -c 'report accepted' "$work/agent.err")" -ge "$1" ]; }
wait_for 30 "the first report" accepted 1
test_state >"$work/state1.json"
check "the cloud holds the report (firmware 4.2.1)" grep -q '"firmware_version": *"4.2.1"' "$work/state1.json"
jkt1=$("$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["devices"][sys.argv[2]]["current_jkt"])' "$work/state1.json" "$device")
run --config "$work/agent.conf" status
gen1=$(sed -n 's/^generation=//p' "$work/out")
check "vault after activation: refresh token, DPoP key, last_activation" \
  sh -c "grep -qx refresh_token=present '$work/out' && grep -qx dpop_key=present '$work/out' && grep -q '^last_activation=' '$work/out'"

# --- mass logout, then SIGUSR1
say "the cloud revokes every session (mass logout)"
owner admin revoke-all >"$work/revoke.json"
kill -USR1 "$agent_pid"
wait_for 60 "a new user_code" sh -c "grep -q '^user_code=' '$state' && ! grep -qx 'user_code=$code1' '$state'"
code2=$(sed -n 's/^user_code=//p' "$state")
check "re-activation publishes a new code in state reauth_pending" grep -qx state=reauth_pending "$state"
say "the owner approves $code2"
owner approve "$code2" >"$work/approve2.json"
wait_for 60 "state=active again" grep -qx state=active "$state"
wait_for 30 "the second report" accepted 2
test_state >"$work/state2.json"
jkt2=$("$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["devices"][sys.argv[2]]["current_jkt"])' "$work/state2.json" "$device")
check "the new session is bound to a new DPoP key (jkt $jkt1 -> $jkt2)" sh -c "[ -n '$jkt2' ] && [ '$jkt1' != '$jkt2' ]"
run --config "$work/agent.conf" status
gen2=$(sed -n 's/^generation=//p' "$work/out")
check "vault generation advanced ($gen1 -> $gen2) and holds new tokens" \
  sh -c "[ '$gen2' -gt '$gen1' ] && grep -qx refresh_token=present '$work/out'"

# --- every transition logged, no token anywhere in the agent's output
for t in "starting -> activation_pending" "activation_pending -> active" "active -> refreshing" \
  "refreshing -> reauth_required" "reauth_required -> reauth_pending" "reauth_pending -> active"; do
  check "log: state $t" grep -q "camera-agent: state $t\$" "$work/agent.err"
done
"$python" -c '
import json, sys
leaks, seen = [], 0
text = open(sys.argv[3], "rb").read() + open(sys.argv[4], "rb").read() + open(sys.argv[5], "rb").read()
for path in sys.argv[1:3]:
    dev = json.load(open(path))["devices"][sys.argv[6]]
    secrets = [t.get("token", "") for t in dev.get("access_tokens", [])]
    for fam in dev.get("families", []):
        secrets += [fam.get("current_rt") or "", fam.get("previous_rt") or ""]
        secrets += fam.get("superseded_rts") or []
    secrets = [s for s in secrets if len(s) >= 16]
    seen += len(secrets)
    leaks += [s for s in secrets if s.encode() in text]
sys.exit(1 if leaks or seen < 4 else 0)
' "$work/state1.json" "$work/state2.json" "$work/agent.err" "$work/agent.out" "$state" "$device" \
  && check "no token in the agent's log, stdout or state file" true \
  || check "no token in the agent's log, stdout or state file" false

# --- SIGTERM
kill -TERM "$agent_pid"
set +e
wait "$agent_pid"
agent_status=$?
set -e
agent_pid=""
check "SIGTERM stops the agent with exit 0" test "$agent_status" = 0
check "state file says stopped" grep -qx state=stopped "$state"

[ "${DEMO:-0}" != 1 ] || sleep 0.5
summary "handshake"
