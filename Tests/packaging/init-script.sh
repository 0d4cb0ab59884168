#!/bin/sh
# The real board/common/S90camera-agent, as root, with RUN_AS set (user
# nobody on this host; on the emulated armv7 board, the board's own
# camera-agent user, with the S90 the image installed) and a stand-in agent that attacks the supervisor from the
# agent user's side: it plants symlinks under every name the old supervisor
# wrote in the agent's directory (agent.log, camera-agent.pid,
# supervisor.pid, exit, never.pid) pointing at a root-only secret and a
# root-only script, writes the pid of an unrelated root process into the pid
# files, floods stderr, and crashes. Checked: nothing root-owned is touched
# (contents, mode, owner, mtime), the unrelated process survives start,
# reload, restart and stop, the agent really ran as that user with no_new_privs,
# the log stays under LOG_MAX_KB, the state directory is 2750 to the state
# group, and exit 78 and 64 stop the supervisor with the reason logged.
#
# The script's directories come from its settings file
# (CAMERA_AGENT_DEFAULTS), so everything lives in a scratch root; needs root,
# the user and group (INIT_TEST_USER, INIT_TEST_GROUP; default nobody and
# nogroup), start-stop-daemon, setpriv and setsid. POSIX sh: the board runs
# it with BusyBox's (Tests/system/board_boot.py copies it there, with
# INIT_TEST_S90=/etc/init.d/S90camera-agent).
set -eu
usage="usage: [INIT_TEST_USER=U INIT_TEST_GROUP=G INIT_TEST_S90=FILE] Tests/packaging/init-script.sh   (as root)"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  "") ;;
  *) echo "$usage" >&2; exit 64 ;;
esac
s90=${INIT_TEST_S90:-$(cd "$(dirname "$0")/../.." && pwd)/board/common/S90camera-agent}
user=${INIT_TEST_USER:-nobody}
group=${INIT_TEST_GROUP:-nogroup}
[ "$(id -u)" = 0 ] || { echo "init-script: must run as root (it tests a root init script)" >&2; exit 1; }
for tool in start-stop-daemon setpriv setsid mkfifo; do
  command -v "$tool" >/dev/null || { echo "init-script: $tool missing" >&2; exit 1; }
done
uid=$(id -u "$user") || { echo "init-script: no user $user" >&2; exit 1; }
grep -q "^$group:" /etc/group || { echo "init-script: no group $group" >&2; exit 1; }

root=$(mktemp -d)
victim_pid=""
cleanup() {
  [ -n "$victim_pid" ] && kill "$victim_pid" 2>/dev/null
  CAMERA_AGENT_DEFAULTS=$root/etc/default/camera-agent sh "$root/etc/init.d/S90camera-agent" stop >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT
chmod 0755 "$root"
mkdir -p "$root/etc/default" "$root/etc/init.d" "$root/usr/bin" "$root/run" "$root/log" "$root/victim" "$root/sys" "$root/trigger"
cp "$s90" "$root/etc/init.d/S90camera-agent"
chmod 0755 "$root/etc/init.d/S90camera-agent"
script=$root/etc/init.d/S90camera-agent
CAMERA_AGENT_DEFAULTS="$root/etc/default/camera-agent"
export CAMERA_AGENT_DEFAULTS
cat >"$CAMERA_AGENT_DEFAULTS" <<EOF
CAMERA_AGENT_BIN=$root/usr/bin/camera-agent
CONFIG=$root/etc/agent.conf
RUNDIR=$root/run/camera-agent
SUPERVISOR_DIR=$root/run/camera-agent.supervisor
PIDFILE=$root/run/camera-agent.pid
LOG=$root/log/camera-agent.log
LOG_MAX_KB=16
RESPAWN_DELAY=1
STOP_TIMEOUT=10
RUN_AS=$user
STATE_GROUP=$group
KEY_FILE=$root/sys/huk
EOF
echo "mode=plant" >"$root/etc/agent.conf"
chmod 0644 "$root/etc/agent.conf"
head -c 32 /dev/urandom >"$root/sys/huk"
chmod 0400 "$root/sys/huk"

# Root-owned things a confused supervisor could be made to write or signal.
printf 'root secret\n' >"$root/victim/secret"
chmod 0600 "$root/victim/secret"
printf '#!/bin/sh\necho root script\n' >"$root/victim/script"
chmod 0700 "$root/victim/script"
sleep 1000 &
victim_pid=$!
fingerprint() { stat -c '%n %u:%g %a %s %Y' "$root/victim/secret" "$root/victim/script"; sha256sum "$root/victim/secret" "$root/victim/script"; }
before=$(fingerprint)

# The stand-in agent: what a compromised agent user can do.
cat >"$root/usr/bin/camera-agent" <<EOF
#!/bin/sh
run=$root/run/camera-agent
mode=\$(sed -n 's/^mode=//p' $root/etc/agent.conf)
id -u >"\$run/uid"
grep '^NoNewPrivs:' /proc/self/status | tr -d ' \t' >"\$run/nnp"
stat -c '%a %U %G' "\$run" >"\$run/ls"
case "\$mode" in
  exit78) echo "config: $root/etc/agent.conf:1: unknown key 'mode'" >&2; exit 78 ;;
  exit64) echo "unknown option" >&2; exit 64 ;;
esac
for name in agent.log camera-agent.pid supervisor.pid exit never.pid log.fifo; do
  rm -f "\$run/\$name"
  ln -s $root/victim/secret "\$run/\$name"
done
rm -f "\$run/exit"; ln -s $root/victim/script "\$run/exit"
rm -f "\$run/state"; ln -s $root/victim/secret "\$run/state"
# The supervisor's own directory is root's: these must fail.
if echo $victim_pid >$root/run/camera-agent.supervisor/agent.pid 2>/dev/null \\
  || echo $victim_pid >$root/run/camera-agent.pid 2>/dev/null; then
  echo wrote >"\$run/supervisor-files"
else
  echo denied >"\$run/supervisor-files"
fi
trap 'echo hup >>"\$run/signals"' HUP
trap 'echo term >>"\$run/signals"; exit 0' TERM
starts=\$(cat "\$run/starts" 2>/dev/null || echo 0)
# ~30 KiB of stderr, twice the log's limit, so it must rotate. Not on the
# second start: a flood right after the supervisor's "start 2" line could
# rotate that line out of both files before the check reads them.
if [ "\$starts" != 1 ]; then
  i=0
  while [ \$i -lt 400 ]; do
    echo "camera-agent: flood line \$i padding padding padding padding padding padding"
    i=\$((i + 1))
  done >&2
fi
echo "camera-agent: planted" >&2
echo \$((starts + 1)) >"\$run/starts"
# The first agent crashes, but only once the test has seen 'start' report
# OK: crashing at once raced S90's check that the agent is up (a loaded CI
# host saw "Starting camera-agent: FAIL"). The trigger is in a root-owned
# directory the agent can only read.
if [ "\$starts" = 0 ]; then
  while [ ! -e $root/trigger/crash ]; do sleep 0.1; done
  exit 3
fi
while :; do sleep 1 & wait \$!; done
EOF
chmod 0755 "$root/usr/bin/camera-agent"

passed=0
failed=0
check() {
  name=$1
  shift
  if "$@"; then
    echo "ok    $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name"
    failed=$((failed + 1))
  fi
}
log=$root/log/camera-agent.log
# wait_for SECONDS COMMAND...: until COMMAND succeeds (judged from files the
# supervisor and agent write, never from a sleep).
wait_for() {
  limit=$(($1 * 10))
  shift
  n=0
  until "$@"; do
    n=$((n + 1))
    [ $n -lt $limit ] || return 1
    sleep 0.1
  done
}
logged() { grep -qF -- "$1" "$log" "$log.1" 2>/dev/null; }
count_logged() { cat "$log.1" "$log" 2>/dev/null | grep -cF -- "$1" || true; }

check "start" sh "$script" start
: >"$root/trigger/crash"
check "the crashed agent was restarted (start 2 logged)" wait_for 60 logged "starting camera-agent (start 2)"
check "the second agent planted too" wait_for 60 sh -c "[ \"\$(cat '$root/run/camera-agent/starts' 2>/dev/null)\" = 2 ]"
check "agent runs as $user (uid $uid)" grep -qx "$uid" "$root/run/camera-agent/uid"
check "agent has no_new_privs" grep -qx 'NoNewPrivs:1' "$root/run/camera-agent/nnp"
check "agent's directory: 2750, $user:$group" grep -qx "2750 $user $group" "$root/run/camera-agent/ls"
check "the supervisor's files are out of the agent's reach" grep -qx denied "$root/run/camera-agent/supervisor-files"
# The key goes to the agent user's own group (S90: id -gn RUN_AS), which is
# not STATE_GROUP on a board (camera-agent vs camera-pairing).
agent_group=$(id -gn "$user")
check "KEY_FILE given to the agent's group ($agent_group), 0440" sh -c "[ \"\$(stat -c '%a %G' '$root/sys/huk')\" = '440 $agent_group' ]"
check "reload" sh "$script" reload
check "the agent got SIGHUP" wait_for 90 grep -qsx hup "$root/run/camera-agent/signals"
status_out=$(sh "$script" status || true)
check "status: running, and no planted file printed" sh -c "printf '%s\n' '$status_out' | grep -q 'running (pid' && ! printf '%s\n' '$status_out' | grep -q 'root secret'"
check "restart" sh "$script" restart
check "stop" sh "$script" stop
check "the agent got SIGTERM" grep -qx term "$root/run/camera-agent/signals"
check "supervisor gone, its pid file removed" sh -c "[ ! -e '$root/run/camera-agent.pid' ]"
check "the unrelated root process survived" kill -0 "$victim_pid"
check "root-owned secret and script untouched" test "$(fingerprint)" = "$before"
check "no root-owned file in the agent's directory" \
  sh -c "[ -z \"\$(find '$root/run/camera-agent' -mindepth 1 -user root ! -type l)\" ]"
size=$(stat -c %s "$log")
check "log bounded: $size bytes <= 16 KiB, rotated to .1" sh -c "[ $size -le 16384 ] && [ -s '$log.1' ] && [ \$(stat -c %s '$log.1') -le 16384 ]"
check "log holds the agent's lines with the uptime" grep -q '^\[[0-9.]*\] camera-agent: planted' "$log"

for code in 78 64; do
  rm -f "$log" "$log.1"
  echo "mode=exit$code" >"$root/etc/agent.conf"
  sh "$script" start >/dev/null 2>&1 || true
  check "exit $code: the supervisor stops and says why" \
    wait_for 60 sh -c "grep -qF 'camera-agent exited $code (' '$log' && grep -qF 'not restarting' '$log' && [ ! -e '$root/run/camera-agent.pid' ]"
  check "exit $code: started exactly once" test "$(count_logged 'starting camera-agent')" = 1
done
check "the unrelated root process still alive" kill -0 "$victim_pid"
check "root-owned files still untouched" test "$(fingerprint)" = "$before"

echo "init-script: $passed passed, $failed failed"
[ "$failed" = 0 ]
