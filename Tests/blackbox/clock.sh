#!/usr/bin/env bash
# Black-box tests of the agent's clock (issue 11) through `camera-agent run`
# against the reference cloud over real HTTPS, with certificates dated like a
# real cloud's (notBefore a day before the cloud's own now). Hosted, or an
# Embedded binary under qemu-user (aarch64, armv7).
#
#   1. a board clock at 1970 (libfaketime; for armv7 Tests/fixtures/fakeclock64.c,
#      since Debian's armhf libfaketime cannot fake a 64-bit-time binary):
#      activation, a report; the correction is logged once with the 1970
#      system clock; last_activation and the time floor in the vault are now
#   2. a synced board whose server sends a Date of year 9999, then of 1980:
#      neither is adopted (logged once), reports keep flowing, the access
#      token is refreshed, and every time in the vault stays within a day of
#      now, also after a restart against a server with a correct Date
#   3. armv7 only: the binary imports __clock_gettime64 (llvm-nm -D), and in
#      a world at 2038-02-01 and one at 2040-01-01 (the cloud under
#      libfaketime, the agent under fakeclock64.c, the same offset) it
#      activates, refreshes and reports
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
script=clock
# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"
# shellcheck source=Tests/blackbox/cloud.sh
. "$repo/Tests/blackbox/cloud.sh"
# shellcheck source=Tests/blackbox/faketime.sh
. "$repo/Tests/blackbox/faketime.sh"
select_target clock "$@"

root=$(mktemp -d)
work=$root/real
mkdir -p "$work"
# KEEP=1 leaves the logs and the clouds' state in $root for a look.
trap 'cloud_cleanup; if [ "${KEEP:-0}" = 1 ]; then echo "kept $root"; else rm -rf "$root"; fi' EXIT
trap 'exit 130' INT TERM
started=$(date +%s)

# The host-side environment of a world whose clock is shifted by $world
# seconds (empty for the real world): the cloud and every tool that talks to
# it (curl, the owner's TOTP) live in it.
world=0
world_env=()
cloud() { env "${world_env[@]}" curl -sS --noproxy '*' --cacert "$cloud_dir/ca.pem" "$@"; }
owner() { env "${world_env[@]}" "$python" "$repo/Tests/refcloud/owner.py" --state-dir "$cloud_dir" "$@"; }
world_now() { echo $(($(date +%s) + world)); }

logged() { grep -qF -- "$1" "$agent_log"; }
log_count() { grep -cF -- "$1" "$agent_log" || true; }
state_is() { grep -qx "state=$1" "$state"; }

# vault_value CONFIG KEY: the KEY= line of `camera-agent status`.
vault_value() {
  run --config "$1" status
  [ "$status" = 0 ] || die "status exited $status: $(cat "$work/err")"
  sed -n "s/^$2=//p" "$work/out"
}

# near A B SECONDS: |A - B| < SECONDS.
near() { [ -n "$1" ] && [ $(($1 - $2)) -lt "$3" ] && [ $(($2 - $1)) -lt "$3" ]; }

# reports DEVICE: how many reports the cloud accepted from DEVICE.
reports() {
  "$python" - "$cloud_dir/requests.jsonl" "$1" <<'PY'
import json, sys
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        if r["path"] == f"/v1/devices/{sys.argv[2]}/report" and r["status"] == 200:
            n += 1
print(n)
PY
}

# refreshes: accepted refresh_token grants.
refreshes() {
  "$python" - "$cloud_dir/requests.jsonl" <<'PY'
import base64, json, sys, urllib.parse
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        form = urllib.parse.parse_qs(base64.b64decode(r["body_b64"]).decode("latin-1"))
        if r["path"] == "/oauth/token" and form.get("grant_type") == ["refresh_token"] and r["status"] == 200:
            n += 1
print(n)
PY
}

# await_report DEVICE COUNT: waits (60 s) until DEVICE has more than COUNT reports.
await_report() {
  local i=0
  while [ "$(reports "$1")" -le "$2" ]; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || return 0
    kill -0 "$agent_pid" 2>/dev/null || die "the agent exited while waiting for a report"
    sleep 0.2
  done
}

more_refreshes_than() { [ "$(refreshes)" -gt "$1" ]; }

# clock_env SHIFT: agent_env for a board clock shifted by SHIFT seconds.
fakeclock=""
clock_env() {
  if [ "$arch" = armv7 ]; then
    [ -n "$fakeclock" ] || build_fakeclock
    agent_env=("LD_PRELOAD=$fakeclock" "FAKECLOCK_OFFSET=$1")
  else
    local lib
    lib=$(faketime_lib "$arch") || die "libfaketime for $arch"
    agent_env=("LD_PRELOAD=$lib" "FAKETIME=$(printf '%+d' "$1")" "DONT_FAKE_MONOTONIC=1" "FAKETIME_DONT_FAKE_MONOTONIC=1")
  fi
}

build_fakeclock() {
  local bindir sysroot gcclib
  bindir=$(dirname "$(readlink -f "$(command -v swiftc)")")
  sysroot=${SYSROOT_ARMV7:-$repo/.sysroots/armhf}
  gcclib=$(find "$sysroot/usr/lib/gcc/arm-linux-gnueabihf" -mindepth 1 -maxdepth 1 -type d | sort | tail -n 1)
  fakeclock=$root/fakeclock64.so
  "$bindir/clang" --target=arm-linux-gnueabihf --sysroot="$sysroot" -mfloat-abi=hard -mcpu=cortex-a7 -O2 \
    -fPIC -shared -fuse-ld=lld -B"$gcclib" -L"$gcclib" -o "$fakeclock" "$repo/Tests/fixtures/fakeclock64.c" \
    || die "could not build Tests/fixtures/fakeclock64.c for armhf"
}

# new_board NAME DEVICE: config in $work/NAME.conf, registered with the cloud;
# sets $conf and $state.
new_board() {
  conf=$work/$1.conf
  # refresh_floor_seconds = 5: case 2 expires the access token and waits
  # ~60 s for the report after the refresh; the default floor (60 s after
  # the last grant) would leave that refresh at the edge of the wait.
  write_config "$conf" "$1" 'reauth_spread_seconds = 1
refresh_floor_seconds = 5
backoff_base_ms = 300
backoff_cap_ms = 2000
report_interval_seconds = 0'
  state=$work/$1/run/state
  provision_board "$conf" "$2" || die "factory registration of $2: $(cat "$work/factory.json")"
}

# activate DEVICE LOG: starts the agent ($agent_env), approves its code, waits
# for the first report.
activate() {
  start_agent "$work/$2.err" --config "$conf" run
  agent_env=()
  await_code "$state" 90
  owner approve "$code" >"$work/approve.json" || die "approve failed: $(cat "$work/approve.json")"
  wait_for 90 "state=active" state_is active
  wait_for 60 "the first report" logged "report accepted"
}

# --- 1. a board clock at 1970
scenario_1970() {
  local dev=cam-clock-1970-$arch
  new_board board1970 "$dev"
  clock_env $((172800 - $(date +%s)))
  activate "$dev" agent1970
  local line learned learned_s=0 now
  line=$(grep -F "clock corrected from the server's Date" "$agent_log" | head -n 1)
  say "1970 board: ${line:-no correction logged}"
  learned=$(printf '%s\n' "$line" | sed -n 's/.* -> \([0-9T:-]*Z\) (system clock 1970-.*/\1/p')
  [ -z "$learned" ] || learned_s=$(date -u -d "$learned" +%s)
  now=$(date +%s)
  corrected_once() { near "$learned_s" "$now" 600 && [ "$(log_count "clock corrected from the server's Date")" = 1 ]; }
  check "1 1970: the system clock read 1970 and the server's Date set the time to now (${learned:-none}), logged once" \
    corrected_once
  check "1 1970: activated and the cloud accepted a report" sh -c "[ $(reports "$dev") -ge 1 ]"
  stop_agent
  check "1 1970: SIGTERM exit 0 (got $agent_status)" test "$agent_status" = 0
  local activated floor
  activated=$(vault_value "$conf" last_activation)
  floor=$(vault_value "$conf" time_floor)
  check "1 1970: last_activation in the vault is now ($activated), not 1970" near "$activated" "$now" 600
  check "1 1970: the vault's time floor is now ($floor)" near "$floor" "$now" 600
}

# --- 2. hostile Dates on a synced clock
scenario_hostile_dates() {
  local dev=cam-clock-dates-$arch before after
  new_board boarddates "$dev"
  activate "$dev" agentdates
  local year
  for year in 9999 1980; do
    case $year in
      9999) cloud -f -o /dev/null -X POST "$url/test/date" -H 'Content-Type: application/json' \
        --data '{"date":"Fri, 31 Dec 9999 23:59:59 GMT"}' || die "could not set the Date" ;;
      1980) cloud -f -o /dev/null -X POST "$url/test/date" -H 'Content-Type: application/json' \
        --data '{"date":"Tue, 01 Jan 1980 00:00:00 GMT"}' || die "could not set the Date" ;;
    esac
    before=$(reports "$dev")
    kill -USR1 "$agent_pid"
    await_report "$dev" "$before"
    after=$(reports "$dev")
    check "2 Date $year on a synced clock: the next report was accepted ($before -> $after)" test "$after" -gt "$before"
    kept_clock() {
      grep -F 'disagrees with the synced system clock' "$agent_log" | grep -qF "Date $1-" \
        && ! logged "clock corrected from the server's Date"
    }
    # Logged once for a server ahead, once for one behind.
    check "2 Date $year on a synced clock: not adopted; the log says the system clock is kept" kept_clock "$year"
    # Refresh under the hostile Date: the access token is expired at the cloud.
    local refreshed
    refreshed=$(refreshes)
    cloud -f -o /dev/null -X POST "$url/test/expire" -H 'Content-Type: application/json' \
      --data "{\"device_id\":\"$dev\",\"what\":\"access_tokens\"}" || die "could not expire tokens"
    before=$(reports "$dev")
    kill -USR1 "$agent_pid"
    await_report "$dev" "$before"
    check "2 Date $year on a synced clock: the refused token was refreshed and the report went through" \
      sh -c "[ $(refreshes) -gt $refreshed ] && [ $(reports "$dev") -gt $before ]"
  done
  cloud -f -o /dev/null -X POST "$url/test/date" -H 'Content-Type: application/json' --data '{"date":null}' \
    || die "could not restore the Date"
  stop_agent
  local now key value
  now=$(date +%s)
  for key in last_activation access_token_expires time_floor; do
    value=$(vault_value "$conf" "$key")
    check "2 hostile Dates: vault $key ($value) within a day of now" near "$value" "$now" 86400
  done
  # A restart against a correct server: the token's expiry was never year 9999.
  start_agent "$work/agentdates2.err" --config "$conf" run
  before=$(reports "$dev")
  # Signals only once the loop runs (state=active): SIGUSR1 kills a process
  # that has not blocked it yet.
  wait_for 60 "state=active after restart" state_is active
  kill -USR1 "$agent_pid"
  await_report "$dev" "$before"
  check "2 after a restart against a correct Date: reports still flow" test "$(reports "$dev")" -gt "$before"
  stop_agent
  value=$(vault_value "$conf" access_token_expires)
  check "2 after the restart: access_token_expires ($value) is minutes away, not years" near "$value" "$now" 3600
}

# --- 3. armv7 in 2038 and 2040
scenario_future() {
  local nm
  nm=$(dirname "$(readlink -f "$(command -v swiftc)")")/llvm-nm
  [ -x "$nm" ] || nm=$(command -v llvm-nm)
  check "3 armv7 binary imports __clock_gettime64 (llvm-nm -D)" \
    sh -c "'$nm' -D '$binary' | grep -q ' U __clock_gettime64'"
  local lib target label dev
  lib=$(faketime_lib hosted) || die "libfaketime for the cloud"
  for label in 2038-02-01 2040-01-01; do
    target=$(date -u -d "$label" +%s)
    world=$((target - $(date +%s)))
    world_env=("LD_PRELOAD=$lib" "FAKETIME=$(printf '%+d' "$world")" "DONT_FAKE_MONOTONIC=1" "FAKETIME_DONT_FAKE_MONOTONIC=1")
    work=$root/world-$label
    mkdir -p "$work"
    port=0
    LD_PRELOAD=$lib FAKETIME=$(printf '%+d' "$world") DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
      cloud_start --interval 1 --access-ttl 35 --nonce-ttl 3600
    dev=cam-clock-${label%%-*}
    new_board "board$label" "$dev"
    clock_env "$world"
    activate "$dev" "agent$label"
    local refreshed
    refreshed=$(refreshes)
    # access-ttl 35 s and the agent's 30 s margin: a refresh within ~5 s.
    wait_for 90 "a refresh ($label)" more_refreshes_than "$refreshed"
    check "3 $label: activated, reported and refreshed the access token" \
      sh -c "[ $(reports "$dev") -ge 1 ] && [ $(refreshes) -gt $refreshed ]"
    stop_agent
    check "3 $label: SIGTERM exit 0 (got $agent_status)" test "$agent_status" = 0
    local activated floor
    activated=$(vault_value "$conf" last_activation)
    floor=$(vault_value "$conf" time_floor)
    world_times() { near "$activated" "$(world_now)" 600 && near "$floor" "$(world_now)" 600; }
    check "3 $label: last_activation ($activated) and the time floor ($floor) are the world's now" world_times
    cloud_stop
  done
  world=0
  world_env=()
}

cloud_start --interval 1 --access-ttl 300 --nonce-ttl 3600
say "reference cloud at $url"
scenario_1970
scenario_hostile_dates
cloud_stop
[ "$arch" != armv7 ] || scenario_future

say "took $(($(date +%s) - started)) s"
if [ "$failed" != 0 ]; then
  for f in "$root"/*/agent*.err; do [ -f "$f" ] && sed "s#^#  ${f##*/}: #" "$f"; done
fi
summary clock
