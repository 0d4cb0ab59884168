#!/usr/bin/env bash
# A long swarm campaign (a bench, not a test): seeds FIRST..LAST of the
# release swarm-sim in chunks of 10,000, JOBS processes at a time (default:
# one per core), each chunk's output kept in DIR/FIRST-LAST.log and its exit
# code in DIR/FIRST-LAST.rc. A chunk that finds a violation stops at once and
# its log ends with the one-line reproduction; the campaign then prints it
# and exits 1. Chunks already finished with exit 0 in DIR are skipped, so a
# campaign stopped half-way (power, the session's end) goes on where it was.
# At the end it prints one line a chunk and the totals, the figures a report
# under reports/ is made of.
#
#   Tests/bench/swarm-campaign.sh 1 1000000 [DIR] [JOBS]
# SWARM_CHUNK=N changes the chunk size (the campaign's tests use small ones).
# SWARM_REPORT_ONLY=1 prints the table of what DIR holds and runs nothing
# (a campaign's summary while another still runs, or after one was stopped).
set -eu
usage() { echo "usage: $0 FIRST LAST [DIR] [JOBS]  (seeds FIRST..LAST, chunks of 10,000)" >&2; exit 64; }
if [ $# -lt 2 ] || [ $# -gt 4 ]; then usage; fi
case $1$2${4:-1} in *[!0-9]*) usage ;; esac
first=$1 last=$2 jobs=${4:-$(nproc)}
if [ "$first" -lt 1 ] || [ "$last" -lt "$first" ] || [ "$jobs" -lt 1 ]; then usage; fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=${3:-$repo/.build/swarm-campaign}
mkdir -p "$dir"
cd "$repo"
# SWARM_BIN: a binary built earlier (a campaign keeps one build while the
# tree changes under it; the report names its commit).
if [ "${SWARM_REPORT_ONLY:-0}" = 1 ]; then
  bin=""
elif [ -n "${SWARM_BIN:-}" ]; then
  bin=$SWARM_BIN
else
  swift build -c release --product swarm-sim >&2
  bin=$repo/.build/release/swarm-sim
fi
chunk=${SWARM_CHUNK:-10000}

ranges=()
for ((a = first; a <= last; a += chunk)); do
  b=$((a + chunk - 1))
  [ "$b" -le "$last" ] || b=$last
  if [ -f "$dir/$a-$b.rc" ] && [ "$(cat "$dir/$a-$b.rc")" = 0 ]; then continue; fi
  ranges+=("$a-$b")
done
echo "swarm-campaign: seeds $first-$last, ${#ranges[@]} chunks to run, $jobs at a time, logs in $dir" >&2

# shellcheck disable=SC2317  # run by xargs through bash -c
run_chunk() {
  local a=${1%-*} b=${1#*-} rc=0 started
  started=$(date +%s)
  "$bin" --first "$a" --seeds $((b - a + 1)) >"$dir/$1.log" 2>&1 || rc=$?
  echo "$rc" >"$dir/$1.rc"
  echo "swarm-campaign: $1 exit $rc after $(($(date +%s) - started)) s" >&2
}
export -f run_chunk
export bin dir
# Stopping the campaign stops its chunks too (xargs would start the next).
trap 'trap - INT TERM; kill 0; exit 143' INT TERM
if [ -n "$bin" ] && [ "${#ranges[@]}" -gt 0 ]; then
  # In the background, so that the trap runs at once (bash runs traps only
  # between foreground commands), and waited for.
  printf '%s\n' "${ranges[@]}" | xargs -P "$jobs" -I{} bash -c 'run_chunk {}' &
  wait $! || true
fi

# The summary: every chunk of FIRST..LAST, from its final line.
status=0 seeds=0 requests=0 cuts=0
printf '%-18s %8s %12s %11s %8s\n' range seeds requests "power cuts" seconds
for ((a = first; a <= last; a += chunk)); do
  b=$((a + chunk - 1))
  [ "$b" -le "$last" ] || b=$last
  log=$dir/$a-$b.log
  rc=$(cat "$dir/$a-$b.rc" 2>/dev/null || echo none)
  line=$(grep -E '^swarm-sim: [0-9]+ seeds \(' "$log" 2>/dev/null | tail -n 1 || true)
  if [ "$rc" != 0 ] || [ -z "$line" ]; then
    printf '%-18s %s\n' "$a-$b" "exit $rc: $(tail -n 1 "$log" 2>/dev/null | tr -cd '[:print:]' | cut -c1-200)"
    status=1
    continue
  fi
  n=$(sed -E 's/^swarm-sim: ([0-9]+) seeds.*/\1/' <<<"$line")
  r=$(sed -E 's/.* ([0-9]+) requests.*/\1/' <<<"$line")
  c=$(sed -E 's/.* ([0-9]+) power cuts.*/\1/' <<<"$line")
  s=$(sed -E 's/.* ([0-9]+) s$/\1/' <<<"$line")
  printf '%-18s %8d %12d %11d %8d\n' "$a-$b" "$n" "$r" "$c" "$s"
  seeds=$((seeds + n)) requests=$((requests + r)) cuts=$((cuts + c))
done
printf '%-18s %8d %12d %11d\n' total "$seeds" "$requests" "$cuts"
if [ "$status" = 0 ]; then
  echo "swarm-campaign: $seeds seeds, 0 invariant violations"
else
  echo "swarm-campaign: some chunks did not finish clean (above); a violation's log ends with its reproduction line"
fi
exit "$status"
