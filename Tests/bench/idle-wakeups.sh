#!/usr/bin/env bash
# Bench (not a timed test): how often an idle, active `camera-agent run`
# wakes up. Activates a board against the reference cloud with hour-long
# tokens, then counts the daemon's poll(2) returns under strace for
# MINUTES (default 10) and prints them beside what the work needs
# (2 + reports + refreshes in that time, from the cloud's request log).
set -eu

usage="usage: Tests/bench/idle-wakeups.sh [MINUTES] [BINARY]   (default 10 minutes, the hosted debug build)"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
esac
minutes=${1:-10}
case "$minutes" in ''|*[!0-9]*) echo "$usage" >&2; exit 64 ;; esac

repo=$(cd "$(dirname "$0")/../.." && pwd)
script=idle-wakeups
arch=hosted
binary=${2:-$repo/.build/debug/camera-agent}
[ -x "$binary" ] || { echo "$script: no binary at $binary (swift build first)" >&2; exit 1; }
command -v strace >/dev/null || apt-get install -y strace >/dev/null
# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"
# shellcheck source=Tests/blackbox/cloud.sh
. "$repo/Tests/blackbox/cloud.sh"
work=$(mktemp -d)
trap 'kill "$tracer" 2>/dev/null || true; cloud_cleanup; rm -rf "$work"' EXIT
tracer=""

cloud_start --interval 1 --access-ttl 3600 --nonce-ttl 86400
conf=$work/agent.conf
write_config "$conf" board 'startup_delay_ms = 0'
state=$work/board/run/state
provision_board "$conf" cam-idle-0001 || die "factory registration failed"
start_agent "$work/agent.err" --config "$conf" run
await_code "$state" 60
owner approve "$code" >/dev/null
wait_for 60 "active" grep -qx state=active "$state"
wait_for 30 "the first report" grep -qF "report accepted" "$work/agent.err"
sleep 2
before=$(wc -l <"$cloud_dir/requests.jsonl")
strace -f -qq -e trace=poll,ppoll -o "$work/trace" -p "$agent_pid" &
tracer=$!
sleep 1
say "watching the idle daemon for $minutes min"
sleep $((minutes * 60))
kill "$tracer"
wait "$tracer" 2>/dev/null || true
# The loop's own waits (timeout -1); the zero-timeout polls between steps
# check for SIGTERM and are not wake-ups.
wakeups=$(grep -c 'poll(.*, -1)' "$work/trace" || true)
requests=$(($(wc -l <"$cloud_dir/requests.jsonl") - before))
echo "idle-wakeups: $wakeups wake-ups in $minutes min with hour-long tokens ($requests requests to the cloud meanwhile); budget 2 + reports + refreshes = $((2 + requests))"
[ "$wakeups" -le $((2 + requests)) ]
