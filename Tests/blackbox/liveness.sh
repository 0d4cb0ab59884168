#!/usr/bin/env bash
# Black-box liveness tests of `camera-agent run` (issue #10): the failures
# found from outside, each through the real binary against the reference
# cloud over HTTPS on loopback, judged from the cloud's request log
# (requests.jsonl) and the agent's log, never from a snapshot that races
# the agent. Hosted, or an Embedded binary (aarch64 under qemu-aarch64).
#
#   1. token lifetimes 1, 20, 30 and 45 s with the shipped refresh floor
#      (60 s): one refresh a minute at most, not a hot loop (four boards and
#      four clouds at once)
#   2. a restart with a valid session: the periodic report goes on, with
#      no new device grant
#   3. one transient invalid_client on refresh: the session is kept
#      (identity_refused, a slow retry), no owner re-approval
#   4. an API that rejects fresh tokens: one refresh per report attempt, the
#      report backs off, and SIGTERM still stops the agent within seconds
#   5. slow_down at refresh: the refresh waits at least 10 s
#   6. 429 with Retry-After 2: a floor, with jitter drawn on top
#   7. slow_down at device authorization: the next request waits >= 10 s
#   8. an abandoned device (the owner never approves): waits between codes
#      grow, polls per code shrink, its load decays; SIGUSR1 (a button) gets
#      a fresh code within the trigger cooldown, and so does `camera-agent
#      pair` (the pairing UI's command), which names the daemon's pid
#   9. (as root) `pair` refuses a vault lock held by another uid than the
#      vault's owner (a nobody holder on root's directory, a root holder on
#      nobody's): exit 77, and the holder got no signal (its own log); run
#      while case 8's pair waits out the trigger cooldown
#  10. `pair` with no agent running: exit 69, nothing sent to the cloud
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
script=liveness
# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"
# shellcheck source=Tests/blackbox/cloud.sh
. "$repo/Tests/blackbox/cloud.sh"
select_target liveness "$@"

top=$(mktemp -d)
work=$top
trap 'cloud_cleanup; if [ "${KEEP:-0}" = 1 ]; then echo "kept $top"; else rm -rf "$top"; fi' EXIT
trap 'exit 130' INT TERM
started=$(date +%s)
slack=1
[ "$arch" = hosted ] || slack=3

# times PATH [GRANT]: "time status" of each request to PATH so far (for
# /oauth/token only grant_type GRANT when given: device_code, refresh_token).
times() {
  "$python" - "$cloud_dir/requests.jsonl" "$1" "${2:-}" "${3:-0}" <<'PY'
import base64, json, sys, urllib.parse
path, want, grant, since = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
with open(path) as f:
    for line in f:
        r = json.loads(line)
        if r["time"] < since or not r["path"].split("?")[0].startswith(want):
            continue
        if grant:
            form = urllib.parse.parse_qs(base64.b64decode(r["body_b64"]).decode("latin-1"))
            if not form.get("grant_type", [""])[0].endswith(grant):
                continue
        print(f'{r["time"]:.3f} {r["status"]}')
PY
}
count() { times "$@" | wc -l; }
now() { "$python" -c 'import time; print(f"{time.time():.3f}")'; }
gaps() { awk 'NR > 1 { printf "%.2f\n", $1 - prev } { prev = $1 }'; }
logged() { grep -qF -- "$1" "$agent_log"; }
log_count() { grep -cF -- "$1" "$agent_log" || true; }
state_is() { grep -qx "state=$1" "$state"; }
count_ge() { [ "$(count "$1" "$2" "$3")" -ge "$4" ]; }
# awk_true EXPR VAR=VALUE...: exit status of an awk condition.
awk_true() {
  local expr=$1
  shift
  local args=()
  for a in "$@"; do args+=(-v "$a"); done
  awk "${args[@]}" "BEGIN { exit !($expr) }"
}

activate() {
  await_code "$state" 60
  say "the owner approves $code"
  owner approve "$code" >"$work/approve.json" || die "approve failed: $(cat "$work/approve.json")"
  wait_for 60 "state=active" state_is active
}

# --- 1. short token lifetimes with the shipped floor, four at once
lifetime_case() {
  local ttl=$1
  work=$top/ttl$ttl
  mkdir -p "$work"
  passed=0
  failed=0
  agent_pid=""
  cloud_pid=""
  trap 'cloud_cleanup' EXIT
  cloud_start --interval 1 --access-ttl "$ttl" --nonce-ttl 3600
  local conf=$work/agent.conf device=cam-ttl-$ttl
  write_config "$conf" board 'startup_delay_ms = 0'
  state=$work/board/run/state
  provision_board "$conf" "$device" || die "factory registration of $device"
  start_agent "$work/agent.err" --config "$conf" run
  activate
  local t0 window=75 refreshes first gen
  t0=$(times /oauth/token device_code | awk '$2 == 200 { print $1 }' | tail -n 1)
  sleep "$window"
  refreshes=$(times /oauth/token refresh_token "$t0")
  first=$(printf '%s\n' "$refreshes" | awk -v t="$t0" 'NF { printf "%.1f", $1 - t; exit }')
  run --config "$conf" status
  gen=$(sed -n 's/^generation=//p' "$work/out")
  say "expires_in $ttl s: $(printf '%s\n' "$refreshes" | grep -c . || true) refreshes in ${window} s after activation (first after ${first:-none} s), vault generation $gen"
  check "1 expires_in $ttl s: at most 2 refreshes in $window s (the old agent: hundreds a second)" \
    test "$(printf '%s\n' "$refreshes" | grep -c . || true)" -le 2
  check "1 expires_in $ttl s: the first refresh no sooner than the 60 s floor (${first:-none} s)" \
    awk_true "f == \"\" || f >= 59.5" "f=$first"
  check "1 expires_in $ttl s: at most 4 vault commits (generation $gen)" test "${gen:-99}" -le 4
  check "1 expires_in $ttl s: logged once that the lifetime is below the floor" \
    test "$(log_count "is below 60 s: refreshing no more than the floor allows")" = 1
  stop_agent
  echo "$passed $failed" >"$top/ttl$ttl.result"
}

say "1: four boards with token lifetimes 1, 20, 30, 45 s (75 s each, in parallel)"
pids=()
for ttl in 1 20 30 45; do
  (lifetime_case "$ttl") &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
work=$top
for ttl in 1 20 30 45; do
  if [ -s "$top/ttl$ttl.result" ]; then
    read -r p f <"$top/ttl$ttl.result"
    passed=$((passed + p))
    failed=$((failed + f))
  else
    check "1 expires_in $ttl s: the case ran to its end (see $top/ttl$ttl)" false
  fi
done

# --- the main board for 2-6: hour-long tokens, a 5 s refresh floor so the
# refresh-driven cases do not wait a minute each, a 10 s report interval.
cloud_start --interval 1 --access-ttl 3600 --nonce-ttl 3600
say "reference cloud at $url"
device=cam-live-0001
conf=$work/agent.conf
write_config "$conf" board 'startup_delay_ms = 0
refresh_floor_seconds = 5
report_interval_seconds = 10
report_jitter_seconds = 0
backoff_base_ms = 300
backoff_cap_ms = 2000
identity_retry_base_seconds = 3
identity_retry_cap_seconds = 6'
state=$work/board/run/state
provision_board "$conf" "$device" || die "factory registration of $device"
start_agent "$work/agent.err" --config "$conf" run
activate
wait_for 30 "the first report" logged "report accepted"
report_path=/v1/devices/$device/report

# A report now whose token the API refuses once: the agent refreshes.
refuse_report_once() {
  cloud_fault "{\"path\": \"$report_path\", \"status\": 401, \"headers\": {\"WWW-Authenticate\": \"DPoP error=\\\"invalid_token\\\", algs=\\\"ES256\\\"\"}, \"body\": \"\"}"
  kill -USR1 "$agent_pid"
}

# --- 2. restart with a valid session: the periodic report goes on
scenario_restart_report() {
  stop_agent
  local t
  t=$(now)
  start_agent "$work/agent2.err" --config "$conf" run
  wait_for $((15 * slack)) "a report after the restart" count_ge "$report_path" "" "$t" 1
  wait_for $((25 * slack)) "a second, periodic report" count_ge "$report_path" "" "$t" 2
  check "2 restart with a session: periodic reports go on ($(count "$report_path" "" "$t") since the restart)" \
    count_ge "$report_path" "" "$t" 2
  check "2 restart with a session: no new device grant" test "$(count /oauth/device_authorization "" "$t")" = 0
}

# --- 3. one transient invalid_client on refresh
scenario_invalid_client() {
  local t
  t=$(now)
  sleep 5  # past the refresh floor
  cloud_fault '{"path": "/oauth/token", "status": 401, "body": "{\"error\": \"invalid_client\"}"}'
  refuse_report_once
  wait_for $((20 * slack)) "the refused refresh" logged "state refreshing -> identity_refused"
  wait_for $((30 * slack)) "a good refresh after the slow retry" count_ge /oauth/token refresh_token "$t" 2
  wait_for $((20 * slack)) "state=active" state_is active
  local statuses
  statuses=$(times /oauth/token refresh_token "$t" | awk '{print $2}' | tr '\n' ' ')
  say "refreshes after one invalid_client: $statuses"
  check "3 invalid_client once: refused, then the same session refreshed (401 then 200: $statuses)" \
    sh -c "printf '%s' '$statuses' | grep -q '^401 200'"
  check "3 invalid_client once: the session was kept (nothing destroyed, no device grant)" \
    sh -c "! grep -qF 'session tokens and key destroyed' '$agent_log' && [ $(count /oauth/device_authorization "" "$t") = 0 ]"
}

# --- 4. an API that rejects every token, fresh ones too
scenario_rejecting_api() {
  local t refreshes reports stop_started stop_s
  sleep 5
  t=$(now)
  cloud_fault "{\"path\": \"$report_path\", \"count\": 500, \"status\": 401, \"headers\": {\"WWW-Authenticate\": \"DPoP error=\\\"invalid_token\\\", algs=\\\"ES256\\\"\"}, \"body\": \"\"}"
  kill -USR1 "$agent_pid"
  sleep 20
  refreshes=$(count /oauth/token refresh_token "$t")
  reports=$(count "$report_path" "" "$t")
  say "an API rejecting every token for 20 s: $refreshes refreshes, $reports report attempts"
  check "4 rejected fresh tokens: at most one refresh per 5 s floor ($refreshes in 20 s)" test "$refreshes" -le 5
  check "4 rejected fresh tokens: the report backs off ($reports attempts in 20 s)" test "$reports" -le 16
  check "4 rejected fresh tokens: the session is kept" sh -c "! grep -qF 'session tokens and key destroyed' '$agent_log'"
  stop_started=$(now)
  stop_agent
  stop_s=$("$python" -c "import time; print(f'{time.time() - $stop_started:.2f}')")
  say "SIGTERM to exit: $stop_s s"
  check "4 rejected fresh tokens: SIGTERM stops the agent within $((2 * slack)) s ($stop_s s), exit $agent_status" \
    sh -c "[ $agent_status = 0 ] && awk -v s=$stop_s -v l=$((2 * slack)) 'BEGIN { exit !(s <= l) }'"
  cloud -f -o /dev/null -X DELETE "$url/test/faults"
  start_agent "$work/agent3.err" --config "$conf" run
  wait_for $((20 * slack)) "a report after the faults" logged "report accepted"
}

# --- 5. slow_down answering a refresh
scenario_refresh_slow_down() {
  local t g statuses
  sleep 5
  t=$(now)
  cloud_fault '{"path": "/oauth/token", "status": 400, "body": "{\"error\": \"slow_down\"}"}'
  refuse_report_once
  wait_for $((40 * slack)) "a good refresh after slow_down" count_ge /oauth/token refresh_token "$t" 2
  g=$(times /oauth/token refresh_token "$t" | head -n 2 | gaps)
  statuses=$(times /oauth/token refresh_token "$t" | head -n 2 | awk '{print $2}' | tr '\n' ' ')
  check "5 slow_down at refresh: the refresh waits >= 10 s (${g} s), then 200 ($statuses)" \
    sh -c "[ '$statuses' = '400 200 ' ] && awk -v g=$g 'BEGIN { exit !(g >= 10) }'"
  wait_for $((20 * slack)) "state=active" state_is active
}

# --- 6. Retry-After is a floor with jitter on top
scenario_retry_after_jitter() {
  local round t g drawn all_drawn=""
  for round in 1 2 3; do
    sleep 5
    t=$(now)
    cloud_fault '{"path": "/oauth/token", "status": 429, "retry_after": 2}'
    refuse_report_once
    wait_for $((30 * slack)) "a good refresh after the 429" count_ge /oauth/token refresh_token "$t" 2
    g=$(times /oauth/token refresh_token "$t" | head -n 2 | gaps)
    drawn=$(grep -o 'refresh: retrying in [0-9.]* s' "$agent_log" | tail -n 1 | awk '{print $4}')
    all_drawn="$all_drawn $drawn"
    check "6 Retry-After 2 (round $round): drawn $drawn s >= 2, and the cloud saw the retry $g s later" \
      awk_true "d >= 2 && d <= 2.3 && g >= d - 0.05" "d=$drawn" "g=$g"
    wait_for $((20 * slack)) "state=active" state_is active
  done
  check "6 Retry-After 2: jitter on top (three rounds drew$all_drawn s)" \
    test "$(printf '%s\n' "$all_drawn" | tr ' ' '\n' | grep . | sort -u | wc -l)" -ge 2
}

# --- 6b. the pairing button on an active camera: `pair` (SIGUSR2) checks
# the session with one refresh (after the 5 s floor), where the next
# scheduled refresh of an hour-long token is ~an hour away.
scenario_pair_on_active() {
  local t g
  sleep 5  # past the refresh floor
  t=$(now)
  run --config "$conf" pair
  check "6b pair on an active camera: exit 0 ($status: $(cat "$work/err"))" test "$status" = 0
  wait_for $((15 * slack)) "the refresh pair asked for" count_ge /oauth/token refresh_token "$t" 1
  g=$(times /oauth/token refresh_token "$t" | head -n 1 | awk -v t="$t" '{ printf "%.1f", $1 - t }')
  check "6b pair on an active camera: one refresh checks the session (${g} s after pair)" \
    awk_true "g <= 5 + $slack" "g=$g"
  wait_for $((20 * slack)) "state=active" state_is active
  check "6b pair on an active camera: the session was kept (no device grant)" \
    test "$(count /oauth/device_authorization "" "$t")" = 0
  check "6b the agent logged the pairing request" grep -qF 'pairing requested (SIGUSR2)' "$agent_log"
}

scenario_restart_report
scenario_invalid_client
scenario_rejecting_api
scenario_refresh_slow_down
scenario_retry_after_jitter
scenario_pair_on_active
stop_agent

# 9. Another uid holds the vault lock: pair, run as root, must not signal
# it. The holder flocks the directory itself (so /proc/locks names it) and
# logs every SIGUSR2 it gets; its SIGTERM line comes after any SIGUSR2 that
# was queued before (the lower signal is delivered first), so its log is
# the verdict, read once it has exited.
foreign_holder() {
  local dir=$1 log=$2
  shift 2
  : >"$log"
  chown nobody "$log"
  "$@" /usr/bin/python3 -c '
import fcntl, os, signal, sys
log = open(sys.argv[2], "a", buffering=1)
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(fd, fcntl.LOCK_EX)
signal.signal(signal.SIGUSR2, lambda *_: log.write("USR2\n"))
def term(*_):
    log.write("TERM\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
log.write("locked %d\n" % os.getpid())
while True:
    signal.pause()
' "$dir" "$log" &
  holder_pid=$!
  wait_for 20 "the holder's lock" grep -q "^locked $holder_pid\$" "$log"
}
scenario_foreign_holders() {
  if ! [ "$(id -u)" = 0 ] || ! command -v setpriv >/dev/null || ! [ -x /usr/bin/python3 ]; then
    say "9 skipped: needs root, setpriv and /usr/bin/python3"
    return
  fi
  local sec case vault holder_status
  sec=$work/foreign
  mkdir -p "$sec"
  chmod 0711 "$top" "$sec"
  for case in nobody-on-root root-on-nobody; do
    vault=$sec/$case
    mkdir -m 0755 "$vault"
    printf 'server = %s\nvault_backend = file\nvault_path = %s\nstate_file = %s/state\n' "$url" "$vault" "$sec" >"$sec/$case.conf"
    if [ "$case" = nobody-on-root ]; then
      foreign_holder "$vault" "$sec/$case.log" setpriv --reuid nobody --regid nogroup --clear-groups
    else
      chown nobody "$vault"
      foreign_holder "$vault" "$sec/$case.log" env
    fi
    run --config "$sec/$case.conf" pair
    check "9 $case: pair refuses with 77 ($status: $(cat "$work/err"))" test "$status" = 77
    check "9 $case: the refusal names the holder (pid $holder_pid)" grep -qF "pid $holder_pid holds the vault" "$work/err"
    kill -TERM "$holder_pid"
    set +e
    wait "$holder_pid"
    holder_status=$?
    set -e
    check "9 $case: the holder lived until told to stop, and got no SIGUSR2 ($(tr '\n' ' ' <"$sec/$case.log"))" \
      sh -c "[ '$holder_status' = 0 ] && [ \"\$(cat '$sec/$case.log')\" = \"\$(printf 'locked %s\nTERM' '$holder_pid')\" ]"
  done
}

# --- 7 and 8: a board whose owner never comes: device codes live 20 s.
cloud_stop
cloud_start --interval 1 --device-code-ttl 20 --access-ttl 3600 --nonce-ttl 3600
device=cam-live-0002
conf=$work/agent-abandoned.conf
write_config "$conf" board2 'startup_delay_ms = 0
pairing_backoff_base_seconds = 2
pairing_backoff_cap_seconds = 16'
state=$work/board2/run/state
provision_board "$conf" "$device" || die "factory registration of $device"
t7=$(now)
cloud_fault '{"path": "/oauth/device_authorization", "status": 400, "body": "{\"error\": \"slow_down\"}"}'
start_agent "$work/agent4.err" --config "$conf" run
wait_for $((40 * slack)) "the second device authorization" count_ge /oauth/device_authorization "" "$t7" 2
g7=$(times /oauth/device_authorization "" "$t7" | head -n 2 | gaps)
check "7 slow_down at device authorization: the next request waits >= 10 s ($g7 s)" awk_true "g >= 10" "g=$g7"

# 8. Nobody approves: watch 100 s of codes.
t8=$(times /oauth/device_authorization "" "$t7" | sed -n 2p | awk '{print $1}')
sleep 100
auths=$(times /oauth/device_authorization "" "$t8")
auth_gaps=$(printf '%s\n' "$auths" | gaps | tr '\n' ' ')
polls_total=$(count /oauth/token device_code "$t8")
first_half=$( (times /oauth/device_authorization "" "$t8"; times /oauth/token device_code "$t8") | awk -v t="$t8" '$1 < t + 50' | wc -l)
second_half=$( (times /oauth/device_authorization "" "$t8"; times /oauth/token device_code "$t8") | awk -v t="$t8" '$1 >= t + 50 && $1 < t + 100' | wc -l)
say "abandoned device: device authorizations $(printf '%s\n' "$auths" | wc -l) (gaps $auth_gaps s), $polls_total polls; requests in the first 50 s: $first_half, in the next 50 s: $second_half"
check "8 abandoned: the waits between codes grow (gaps $auth_gaps s)" \
  sh -c "printf '%s\n' $auth_gaps | awk 'NR == 1 { first = \$1 } { last = \$1 } END { exit !(NR >= 2 && last > first) }'"
check "8 abandoned: the load decays ($first_half requests in the first 50 s, $second_half in the next)" \
  test "$second_half" -lt "$first_half"
# Polls per code: the first code (interval 1 s) against the last whole one
# (its interval stretched for an unattended device).
per_code=$( (printf '%s\n' "$auths" | awk '{print $1, "A"}'; times /oauth/token device_code "$t8" | awk '{print $1, "P"}') \
  | sort -n | awk '$2 == "A" { if (n) print polls; n++; polls = 0; next } { polls++ }' | tr '\n' ' ')
say "abandoned device: polls per code $per_code"
check "8 abandoned: later codes are polled less, but still polled (polls per code: $per_code)" \
  sh -c "printf '%s\n' $per_code | awk 'NR == 1 { first = \$1 } { last = \$1 } END { exit !(NR >= 2 && last < first && last >= 2) }'"
# A person at the camera: SIGUSR1 (the pairing button) gets a code at once
# (within the 10 s trigger cooldown of the last code request).
t9=$(now)
kill -USR1 "$agent_pid"
wait_for $((14 * slack)) "a fresh code after SIGUSR1" count_ge /oauth/device_authorization "" "$t9" 1
g9=$(times /oauth/device_authorization "" "$t9" | head -n 1 | awk -v t="$t9" '{ printf "%.1f", $1 - t }')
check "8 a local trigger gets a fresh code within the 10 s cooldown (${g9} s)" awk_true "g <= 10.5 + $slack" "g=$g9"
# The pairing UI's way: `camera-agent pair` finds the daemon as the vault
# lock's holder, and sends SIGUSR2. Right after the SIGUSR1 code, so this one waits out the
# cooldown (the code is due 10 s after the last code request).
t10=$(now)
run --config "$conf" pair
check "8 pair: exit 0 ($status: $(cat "$work/err"))" test "$status" = 0
check "8 pair: its line names the daemon's pid $agent_pid ($(cat "$work/out"))" grep -qF "(pid $agent_pid)" "$work/out"
scenario_foreign_holders
wait_for $((14 * slack)) "a fresh code after pair" count_ge /oauth/device_authorization "" "$t10" 1
g10=$(times /oauth/device_authorization "" "$t10" | head -n 1 | awk -v t="$t10" '{ printf "%.1f", $1 - t }')
check "8 pair gets a fresh code within the 10 s cooldown (${g10} s)" awk_true "g <= 10.5 + $slack" "g=$g10"
wait_for $((10 * slack)) "the agent's log of the pairing request" grep -qF 'pairing requested (SIGUSR2)' "$agent_log"
stop_agent

# 10. No agent running: pair says so, exits 69, and nothing reaches the cloud.
requests_before=$(wc -l <"$cloud_dir/requests.jsonl")
run --config "$conf" pair
check "10 pair with no agent: exit 69 ($status)" test "$status" = 69
check "10 pair with no agent: a clear message ($(cat "$work/err"))" \
  grep -qF "no running camera-agent holds the vault" "$work/err"
check "10 pair with no agent: nothing sent to the cloud" \
  test "$(wc -l <"$cloud_dir/requests.jsonl")" = "$requests_before"

say "done in $(($(date +%s) - started)) s"
summary "liveness"
