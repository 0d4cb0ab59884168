# shellcheck shell=bash
# The variables below are the sourcing script's (see Needs:), and the ones
# this file sets are read there: shellcheck cannot see across the boundary.
# shellcheck disable=SC2154,SC2034
# The reference cloud and `camera-agent run` for the black-box session
# scripts (sourced after lib.sh, not run): start and stop the cloud, talk to
# it as the owner, the factory and the test controls, provision a board, and
# start the agent. Needs: $repo, $arch, $binary, $work, $script (the name
# used in messages). Leaves $cloud_pid and $agent_pid for the caller's trap.
#
# CLOUD_MODE=plain runs the reference cloud as a strict, independent-looking
# server (refcloud --mode plain: RFC-registered metadata only, RFC 9728
# resource metadata, separate resource-server nonces, long case-sensitive
# user codes, errors with extra members, rotation without grace); the
# default is the reference cloud's own mode.

cloud_pid=""
agent_pid=""
python=""

cloud_mode=${CLOUD_MODE:-default}
case "$cloud_mode" in
  default|plain) ;;
  *) echo "CLOUD_MODE must be default or plain, not '$cloud_mode'" >&2; exit 64 ;;
esac

say() { echo "$script [$arch, $cloud_mode cloud]: $*"; }

# skip_in_plain REASON: true (and prints why) when the cloud runs in plain
# mode, for a scenario that depends on the reference cloud's own rules.
skip_in_plain() {
  [ "$cloud_mode" = plain ] || return 1
  say "SKIP in plain mode: $*"
}

# die MESSAGE: the agent's current log ($agent_log) goes with the failure.
die() {
  echo "$script [$arch, $cloud_mode cloud]: FAIL: $*" >&2
  [ -f "${agent_log:-}" ] && sed 's/^/  agent: /' "$agent_log" >&2
  exit 1
}

# cloud_cleanup: for the caller's EXIT trap. The cloud and the agent may have
# inherited a blocked SIGTERM from the parent: SIGKILL.
cloud_cleanup() {
  local pid
  for pid in $agent_pid $cloud_pid; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s; dies
# when the time is up or the agent ($agent_pid, when set) has exited.
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

# await_code STATE_FILE SECONDS [OLD_CODE]: waits until the state file shows
# a user_code other than OLD_CODE and sets $code to it. One read per look: a
# test that reads the file twice can see the old code, then the moment
# between two codes (no user_code at all), and take "" for a new code.
await_code() {
  local file=$1 limit=$(($2 * 5)) old=${3:-} i=0 seen
  while :; do
    seen=$(sed -n 's/^user_code=//p' "$file" 2>/dev/null || true)
    if [ -n "$seen" ] && [ "$seen" != "$old" ]; then
      code=$seen
      return 0
    fi
    i=$((i + 1))
    [ "$i" -lt "$limit" ] || die "timed out waiting for a user_code other than '$old' in $file"
    if [ -n "$agent_pid" ] && ! kill -0 "$agent_pid" 2>/dev/null; then
      die "the agent exited while waiting for a user_code"
    fi
    sleep 0.2
  done
}

# cloud_start ARGS...: starts the reference cloud with its state in
# $work/cloud on ${port:-0} (the same port again after cloud_stop), with test
# controls; ARGS are further refcloud options. Sets $cloud_pid, $port, $url.
cloud_start() {
  [ -n "$python" ] || python=$("$repo/Tests/refcloud/setup.sh" | tail -n 1)
  cloud_dir=$work/cloud
  mkdir -p "$cloud_dir"
  rm -f "$work/port"
  (cd "$repo/Tests" && exec "$python" -m refcloud --state-dir "$cloud_dir" --port "${port:-0}" \
    --port-file "$work/port" --test-controls --mode "$cloud_mode" "$@") >>"$work/cloud.log" 2>&1 &
  cloud_pid=$!
  local saved=$agent_pid
  agent_pid=""
  wait_for 30 "the reference cloud" test -s "$work/port"
  agent_pid=$saved
  port=$(cat "$work/port")
  url="https://127.0.0.1:$port"
}

# cloud_stop: the cloud dies at once (SIGKILL); its state.json was saved at
# every change, so a restart with the same state dir keeps the sessions.
cloud_stop() {
  kill -KILL "$cloud_pid" 2>/dev/null || true
  wait "$cloud_pid" 2>/dev/null || true
  cloud_pid=""
}

cloud() { curl -sS --noproxy '*' --cacert "$cloud_dir/ca.pem" "$@"; }
owner() { "$python" "$repo/Tests/refcloud/owner.py" --state-dir "$cloud_dir" "$@"; }
test_state() { cloud "$url/test/state"; }

# cloud_fault JSON: queues a fault (see Tests/refcloud/README.md).
cloud_fault() {
  cloud -f -o /dev/null -X POST "$url/test/faults" -H 'Content-Type: application/json' --data "$1" \
    || die "could not queue fault $1"
}

# write_config FILE NAME [EXTRA_LINES]: an agent configuration whose vault,
# state file and os-release live in $work/NAME/. The report after an
# activation goes at once (the tests wait for it; the random delay a board
# uses is the core's, shown by SessionCoreTests and the fleet simulation).
write_config() {
  local file=$1 dir=$work/$2
  mkdir -p "$dir"
  printf 'NAME=CamOS\nVERSION_ID=4.2.1\n' >"$dir/os-release"
  cat >"$file" <<CONF
server = $url
ca_file = $cloud_dir/ca.pem
vault_backend = file
vault_path = $dir/vault
key_source = development
firmware_version_source = os-release:$dir/os-release
state_file = $dir/run/state
syslog = no
activation_report_delay_seconds = 0
${3:-}
CONF
}

# provision_board CONFIG DEVICE_ID: `camera-agent provision` (dies if it
# fails), then the factory registers the public key with the cloud; returns 1
# unless the cloud answered 201 (its answer is in $work/factory.json).
provision_board() {
  run --config "$1" provision --device-id "$2"
  [ "$status" = 0 ] || die "provision $2 exited $status: $(cat "$work/err")"
  local jwk code
  jwk=$(sed -n 's/.*"jwk":\({[^}]*}\).*/\1/p' "$work/out")
  code=$(cloud -o "$work/factory.json" -w '%{http_code}' -X POST "$url/factory/devices" \
    -H "Authorization: Bearer $(cat "$cloud_dir/factory_token")" -H 'Content-Type: application/json' \
    --data "{\"device_id\":\"$2\",\"jwk\":$jwk,\"force\":false}")
  [ "$code" = 201 ]
}

# start_agent LOG ARGS...: `camera-agent ARGS` in the background, stderr to
# LOG (also $agent_log), stdout to LOG.out; sets $agent_pid. The array
# agent_env (VAR=value words) goes into the agent's environment only: under
# qemu-user through QEMU_SET_ENV, so that the host's shell and qemu never see
# it (values must not hold commas). exec, so that $! is the agent itself (or
# qemu-user, which passes signals on).
agent_env=()
start_agent() {
  agent_log=$1
  shift
  if [ "$arch" = hosted ]; then
    (exec env "${agent_env[@]}" "$binary" "$@") >"$agent_log.out" 2>"$agent_log" &
  elif [ ${#agent_env[@]} = 0 ]; then
    (exec "$repo/cross/qemu-run.sh" "$arch" "$binary" "$@") >"$agent_log.out" 2>"$agent_log" &
  else
    local IFS=,
    (QEMU_SET_ENV="${agent_env[*]}" exec "$repo/cross/qemu-run.sh" "$arch" "$binary" "$@") \
      >"$agent_log.out" 2>"$agent_log" &
  fi
  agent_pid=$!
}

# stop_agent: SIGTERM, then the exit status in $agent_status.
stop_agent() {
  kill -TERM "$agent_pid"
  set +e
  wait "$agent_pid"
  agent_status=$?
  set -e
  agent_pid=""
}
