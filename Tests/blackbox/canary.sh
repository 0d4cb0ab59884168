#!/usr/bin/env bash
# The privacy canary test (issue #5, SPEC "Status report and privacy"): the
# board's files carry canary values for everything the agent must never send
# or log (SSID, BSSID, PSK, IP address, subnet, gateway, MAC address, camera
# nickname, owner e-mail, hostname). The vendor device-info file that holds
# the firmware version holds the nickname, MAC and e-mail too. After a full
# lifecycle through `camera-agent run` against the reference cloud
# (activation, reports, mass logout, forced re-activation, SIGTERM, wipe with
# revocation) no canary may appear in any request the cloud received (request
# line, headers, body), in any log line (stderr and syslog), in any version of
# the state file, in the hook's environment, or in the vault's bytes.
# Also: `report --dry-run` is byte-identical to the body the cloud received,
# and the report's JSON keys are exactly the allowlist.
#
# usage: Tests/blackbox/canary.sh hosted|aarch64 [BINARY]
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"
select_target canary "$@"
script=canary
# shellcheck source=Tests/blackbox/cloud.sh
. "$repo/Tests/blackbox/cloud.sh"
python=$("$repo/Tests/refcloud/setup.sh" | tail -n 1)

work=$(mktemp -d)
sink_pid=""
cleanup() {
  # The sink first: cloud_cleanup waits for every child.
  [ -z "$sink_pid" ] || kill -KILL "$sink_pid" 2>/dev/null || true
  cloud_cleanup
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the board's files, full of canaries
board="$work/board"
mkdir -p "$board/etc/wpa_supplicant" "$board/etc/vendor" "$board/etc/network"
cat >"$work/canaries" <<'C'
CanarySSID-Porch-7731
7c:2b:e1:13:9a:4f
CanaryPSK-hunter2-7731
10.213.77.42
10.213.77.0/24
10.213.77.1
02:5e:c4:aa:19:b7
Canary Porch Cam 7731
canary.owner.7731@example.net
canary-cam-hostname-7731
C
cat >"$board/etc/wpa_supplicant/wpa_supplicant.conf" <<'C'
ctrl_interface=/var/run/wpa_supplicant
network={
    ssid="CanarySSID-Porch-7731"
    bssid=7c:2b:e1:13:9a:4f
    psk="CanaryPSK-hunter2-7731"
    key_mgmt=WPA-PSK
}
C
cat >"$board/etc/vendor/device-info" <<'C'
MODEL=CX-200
NICKNAME=Canary Porch Cam 7731
OWNER_EMAIL=canary.owner.7731@example.net
WLAN_MAC=02:5e:c4:aa:19:b7
FW_VERSION=4.2.1
SSID=CanarySSID-Porch-7731
C
echo canary-cam-hostname-7731 >"$board/etc/hostname"
cat >"$board/etc/network/interfaces" <<'C'
auto wlan0
iface wlan0 inet static
    address 10.213.77.42
    netmask 255.255.255.0
    network 10.213.77.0/24
    gateway 10.213.77.1
    hwaddress ether 02:5e:c4:aa:19:b7
    wpa-ssid CanarySSID-Porch-7731
C

# scan FILE...: prints each canary found in the files, in any of the forms a
# leak could take (as is, any case, percent-encoded, JSON-escaped, base64 of
# a request body is decoded by the caller). Exit 0 when nothing was found.
scan() {
  "$python" - "$work/canaries" "$@" <<'PY'
import sys, urllib.parse
canaries = [c for c in open(sys.argv[1]).read().splitlines() if c]
forms = set()
for c in canaries:
    for v in (c, urllib.parse.quote(c, safe=""), urllib.parse.quote_plus(c), c.replace("/", "\\/"),
              c.replace(":", ""), c.replace(":", "-")):
        forms.add((c, v.lower().encode()))
found = 0
for path in sys.argv[2:]:
    data = open(path, "rb").read().lower()
    for canary, form in sorted(forms):
        if form in data:
            print(f"  leak: {canary!r} (as {form.decode()!r}) in {path}")
            found += 1
sys.exit(1 if found else 0)
PY
}
if scan "$board/etc/wpa_supplicant/wpa_supplicant.conf" "$board/etc/vendor/device-info" "$board/etc/hostname" \
  "$board/etc/network/interfaces" >"$work/control.txt"; then
  check "positive control: the scanner finds the canaries in the board's own files" false
else
  n=$(grep -c 'leak:' "$work/control.txt")
  check "positive control: the scanner finds canaries in the board's own files ($n hits)" test "$n" -ge 10
fi

# --- the cloud, a syslog socket, a hook
device=cam-canary-01
cloud_start --interval 1

"$python" "$repo/Tests/fixtures/syslog_sink.py" "$work/syslog.sock" "$work/syslog.txt" &
sink_pid=$!
wait_for 10 "the syslog socket" test -S "$work/syslog.sock"

cat >"$work/hook.sh" <<HOOK
#!/bin/sh
# Records the whole environment it was given, one block per run.
{ echo "--- run"; env | sort; } >>"$work/hook-env.txt"
cat "$work/run/state" >>"$work/state-versions.txt" 2>/dev/null || true
HOOK
chmod 755 "$work/hook.sh"

cat >"$work/agent.conf" <<CONF
server = $url
ca_file = $work/cloud/ca.pem
vault_backend = file
vault_path = $work/vault
key_source = development
firmware_version_source = keyvalue:$board/etc/vendor/device-info:FW_VERSION
state_file = $work/run/state
reauth_spread_seconds = 2
refresh_floor_seconds = 5
backoff_base_ms = 500
backoff_cap_ms = 4000
log_level = debug
syslog_socket = $work/syslog.sock
hook = $work/hook.sh
report_interval_seconds = 10
report_jitter_seconds = 4
activation_report_delay_seconds = 0
CONF
state="$work/run/state"

provision_board "$work/agent.conf" "$device" || die "factory registration failed: $(cat "$work/factory.json")"
start_agent "$work/agent.err" --config "$work/agent.conf" run
accepted() { [ "$(grep -c 'report accepted' "$work/agent.err")" -ge "$1" ]; }
# signal_agent SIG: a dead agent is a failure with its log, not a silent exit.
signal_agent() { kill -"$1" "$agent_pid" 2>/dev/null || die "the agent is gone (SIG$1 could not be sent)"; }

await_code "$state" 60
first_code=$code
owner approve "$code" >/dev/null
wait_for 60 "state=active" grep -qx state=active "$state"
wait_for 30 "the first report" accepted 1

# --- report --dry-run against what the cloud received
run --config "$work/agent.conf" report --dry-run
cp "$work/out" "$work/dry-run.txt"
cloud "$url/test/state" >"$work/state1.json"
"$python" - "$work/state1.json" "$device" "$work/received.bin" <<'PY'
import base64, json, sys
rep = json.load(open(sys.argv[1]))["devices"][sys.argv[2]]["last_report"]
open(sys.argv[3], "wb").write(base64.b64decode(rep["raw_b64"]))
PY
# The dry run prints the body and a newline.
check "report --dry-run is byte-identical to the body the cloud received" \
  sh -c "printf '%s' \"\$(cat '$work/dry-run.txt')\" | cmp -s - '$work/received.bin'"
check "the report's keys are exactly the allowlist (schema, device_id, firmware_version, last_activation, agent_version)" \
  "$python" -c '
import json, sys
body = json.loads(open(sys.argv[1], "rb").read())
sys.exit(0 if sorted(body) == ["agent_version", "device_id", "firmware_version", "last_activation", "schema"] else 1)' "$work/received.bin"
check "the report's firmware_version comes from the vendor file (4.2.1)" grep -q '"firmware_version":"4.2.1"' "$work/received.bin"

# --- SIGUSR1 report, mass logout, forced re-activation, report
signal_agent USR1
wait_for 30 "the SIGUSR1 report" accepted 2
owner admin revoke-all >/dev/null
signal_agent USR1
wait_for 60 "state=reauth_pending" grep -qx state=reauth_pending "$state"
await_code "$state" 60 "$first_code"
owner approve "$code" >/dev/null
wait_for 60 "state=active again" grep -qx state=active "$state"
wait_for 30 "the report after re-activation" sh -c "[ \$(sed -n '/state reauth_pending -> active\$/,\$p' '$work/agent.err' | grep -c 'report accepted') -ge 1 ]"
# Two periodic reports more, without any signal: every 10 s plus 0..4 s.
wait_for 40 "two periodic reports" sh -c "[ \$(sed -n '/state reauth_pending -> active\$/,\$p' '$work/agent.err' | grep -c 'report accepted') -ge 3 ]"
gaps_ok=yes
"$python" - "$work/cloud/requests.jsonl" "$device" <<'PY' >"$work/gaps.txt" || gaps_ok=no
import json, sys
times = [r["time"] for r in map(json.loads, open(sys.argv[1]))
         if r["path"] == f"/v1/devices/{sys.argv[2]}/report" and r["method"] == "POST" and r["status"] == 200]
gaps = [round(b - a, 1) for a, b in zip(times[-3:], times[-2:])]
print(" ".join(map(str, gaps)))
sys.exit(0 if len(gaps) == 2 and all(9.5 <= g <= 15.5 for g in gaps) else 1)
PY
check "periodic reports came every 10..14 s (+1 s slack): gaps $(cat "$work/gaps.txt")" test "$gaps_ok" = yes
stop_agent
check "the daemon stopped with exit 0 on SIGTERM" test "$agent_status" = 0

# --- hostile firmware-version sources: refused with a clear error, never a malformed body
cp "$board/etc/vendor/device-info" "$work/device-info.good"
# The body for the current state (last_activation moved at the re-activation).
run --config "$work/agent.conf" report --dry-run
cp "$work/out" "$work/dry-run-now.txt"
hostile() {
  local name=$1
  run --config "$work/agent.conf" report --dry-run
  cat "$work/out" "$work/err" >>"$work/cli.txt"
  check "firmware version $name: report --dry-run exits 1, prints no body, says why" \
    sh -c "[ '$status' = 1 ] && [ ! -s '$work/out' ] && grep -q 'firmware' '$work/err'"
}
printf 'FW_VERSION=4.2.1"}, "ssid": "x\n' >"$board/etc/vendor/device-info"
hostile "with quotes and JSON"
printf 'FW_VERSION=4.2\0331\a\n' >"$board/etc/vendor/device-info"
hostile "with control characters"
printf 'FW_VERSION=\n' >"$board/etc/vendor/device-info"
hostile "empty"
{ printf 'FW_VERSION='; head -c 10485760 /dev/zero | tr '\0' '7'; echo; } >"$board/etc/vendor/device-info"
hostile "10 MB long"
printf 'MODEL=CX-200\n' >"$board/etc/vendor/device-info"
hostile "key missing"
rm "$board/etc/vendor/device-info"
hostile "file missing"
cp "$work/device-info.good" "$board/etc/vendor/device-info"
run --config "$work/agent.conf" report --dry-run
check "the restored source gives the same body again" sh -c "[ '$status' = 0 ] && [ -s '$work/out' ] && cmp -s '$work/out' '$work/dry-run-now.txt'"

# --- the vault's bytes, then wipe (which revokes at the cloud first)
cat "$work"/vault/* >"$work/vault-bytes.bin"
check "the vault holds bytes to scan ($(stat -c %s "$work/vault-bytes.bin") B)" test -s "$work/vault-bytes.bin"
run --config "$work/agent.conf" wipe
cat "$work/out" "$work/err" >>"$work/cli.txt"
check "wipe revoked the session at the cloud, then erased the vault" \
  sh -c "grep -q 'session revoked at the cloud' '$work/out' && grep -q 'vault wiped' '$work/out'"
check "the cloud recorded the revocation request" grep -q '"path": "/oauth/revoke"' "$work/cloud/requests.jsonl"

# --- everything the cloud received, decoded
"$python" - "$work/cloud/requests.jsonl" "$work/received-all.txt" <<'PY'
import base64, json, sys
with open(sys.argv[2], "wb") as out:
    for line in open(sys.argv[1]):
        rec = json.loads(line)
        out.write(f"{rec['method']} {rec['path']}\n".encode())
        for name, value in rec["headers"]:
            out.write(f"{name}: {value}\n".encode())
        out.write(base64.b64decode(rec["body_b64"]) + b"\n\n")
PY
nreq=$(grep -c '"seq"' "$work/cloud/requests.jsonl")
nsys=$(wc -l <"$work/syslog.txt")
nerr=$(wc -l <"$work/agent.err")
nhook=$(grep -c -- '--- run' "$work/hook-env.txt" || true)
nstates=$(grep -c '^state=' "$work/state-versions.txt" || true)
check "there is something to scan: $nreq requests, $nerr stderr lines, $nsys syslog lines, $nhook hook runs, $nstates state file versions" \
  sh -c "[ $nreq -ge 15 ] && [ $nsys -ge 10 ] && [ $nerr -ge 10 ] && [ $nhook -ge 6 ] && [ $nstates -ge 6 ]"
check "syslog lines are RFC 3164 datagrams from camera-agent" \
  sh -c "! grep -v '^<[0-9]*>camera-agent\[[0-9]*\]: ' '$work/syslog.txt' | grep -q ."
check "the hook saw every state of the lifecycle" \
  sh -c "for s in activation_pending active refreshing reauth_required reauth_pending stopped; do grep -qx CAMERA_AGENT_STATE=\$s '$work/hook-env.txt' || exit 1; done"
check "the hook's environment holds only CAMERA_AGENT_* and PATH (plus the shell's own PWD/SHLVL/_)" \
  sh -c "! grep -v -e '^--- run' -e '^CAMERA_AGENT_[A-Z_]*=' -e '^PATH=' -e '^PWD=' -e '^SHLVL=' -e '^_=' '$work/hook-env.txt' | grep -q ."

for what in "requests the cloud received:received-all.txt" "stderr:agent.err" "stdout:agent.err.out" \
  "syslog:syslog.txt" "state file versions:state-versions.txt" "hook environment:hook-env.txt" \
  "vault bytes:vault-bytes.bin" "CLI output (dry run, wipe):cli.txt"; do
  name=${what%%:*}
  file=$work/${what#*:}
  touch "$file"
  cat "$work/dry-run.txt" >>"$work/cli.txt"
  if scan "$file" >"$work/scan.txt"; then
    check "no canary in $name" true
  else
    cat "$work/scan.txt"
    check "no canary in $name" false
  fi
done

# Tokens: none of the session's tokens in any log line, syslog, state or hook env.
cloud "$url/test/state" >"$work/state-final.json" 2>/dev/null || cp "$work/state1.json" "$work/state-final.json"
check "no token of the session in stderr, syslog, hook env or state file" \
  "$python" "$repo/Tests/fixtures/session_tokens.py" --device "$device" --min 2 --state "$work/state-final.json" \
  "$work/agent.err" "$work/syslog.txt" "$work/hook-env.txt" "$work/state-versions.txt"

summary canary
