#!/usr/bin/env bash
# A long fuzzing campaign (bench, not CI): every target in turn, --jobs
# processes at a time (default: one per core; never two on one target) at
# nice 19, in slices of at most 10 minutes until the time is spent, each
# continuing the target's own persistent corpus (seeded from the
# committed seeds and regressions). Prints, and keeps in
# .build-fuzz/campaign/summary.txt after every slice: executions, coverage,
# features, corpus size and findings per target. At the end each corpus is
# merged (libFuzzer -merge=1) into a minimal one.
#
# --execs N: a target that has run N executions gets no more slices, and the
# campaign ends when every target has (or the time is spent).
# --resume: the totals continue from the last campaign's ledger, but only
# for the same build of the same code: the ledger is keyed by a hash of the
# target binaries, so executions against older code are never counted.
set -eu

usage="usage: Tests/fuzz/campaign.sh --hours H [--until HH:MM] [--execs N] [--jobs N] [--resume] [--nice N] [TARGET...]   (H may be a fraction: 0.5; --jobs defaults to the number of cores)"
hours=""
until_hm=""
goal=0
resume=0
nice_level=19
jobs=$(nproc)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) echo "$usage"; exit 0 ;;
    --hours) [ $# -ge 2 ] || { echo "$usage" >&2; exit 64; }; hours=$2; shift ;;
    --until) [ $# -ge 2 ] || { echo "$usage" >&2; exit 64; }; until_hm=$2; shift ;;
    --execs)
      if [ $# -lt 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then echo "$usage" >&2; exit 64; fi
      goal=$2; shift ;;
    --nice)
      if [ $# -lt 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -gt 19 ]; then echo "$usage" >&2; exit 64; fi
      nice_level=$2; shift ;;
    --jobs)
      if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then echo "$usage" >&2; exit 64; fi
      jobs=$2; shift ;;
    --resume) resume=1 ;;
    -*) echo "$usage" >&2; exit 64 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[ -n "$hours" ] || { echo "$usage" >&2; exit 64; }
budget=$(awk -v h="$hours" 'BEGIN { if (h !~ /^[0-9]+(\.[0-9]+)?$/) exit 1; printf "%d", h * 3600 }') \
  || { echo "$usage" >&2; exit 64; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/targets/*.swift; do targets+=("$(basename "$f" .swift)"); done
fi
"$here/build.sh" "${targets[@]}"
# shellcheck source=Tests/fuzz/lib.sh
. "$here/lib.sh"

start=$(date +%s)
deadline=$((start + budget))
if [ -n "$until_hm" ]; then
  stop=$(date -d "$until_hm" +%s) || { echo "$usage" >&2; exit 64; }
  [ "$stop" -gt "$start" ] || stop=$((stop + 86400))
  [ "$stop" -ge "$deadline" ] || deadline=$stop
fi

base="$repo/.build-fuzz/campaign"
mkdir -p "$base/bin" "$base/logs"
# The campaign runs its own copies: a rebuild meanwhile cannot pull a binary
# out from under it.
for t in "${targets[@]}"; do cp "$repo/.build-fuzz/bin/$t" "$base/bin/$t"; done

# Per-target totals live in files (state/TARGET: "execs seconds cov ft
# found"), so the parallel workers below can share them under one lock.
state="$base/state"
running="$base/running"
rm -rf "$state" "$running"
mkdir -p "$state" "$running"
declare -A build_id
for t in "${targets[@]}"; do
  build_id[$t]=$(sha256sum "$base/bin/$t" | cut -c1-16)
  mkdir -p "$base/corpus/$t" "$base/findings/$t"
  echo "0 0 0 0 $(find "$base/findings/$t" -type f ! -name 'slow-unit-*' | wc -l) $(find "$base/findings/$t" -type f -name 'slow-unit-*' | wc -l)" > "$state/$t"
done
# The ledger: one line per target, "target build execs seconds cov ft".
ledger="$base/ledger"
if [ "$resume" = 1 ] && [ -f "$ledger" ]; then
  while read -r t id e sec c f; do
    [ -n "${build_id[$t]:-}" ] || continue
    if [ "$id" = "${build_id[$t]}" ]; then
      read -r _ _ _ _ n w < "$state/$t"
      echo "$e $sec ${c:-0} ${f:-0} $n $w" > "$state/$t"
      echo "resume $t: $e execs in $sec s so far (build $id)"
    else
      echo "resume $t: the binary changed since the ledger (build $id, now ${build_id[$t]}): starting from 0"
    fi
  done < "$ledger"
fi
write_ledger() {
  local t e s c f n w
  for t in "${targets[@]}"; do
    read -r e s c f n w < "$state/$t"
    echo "$t ${build_id[$t]} $e $s $c $f"
  done > "$ledger.new"
  mv "$ledger.new" "$ledger"
}
# short EXECS: a target with that many executions has not reached the goal
# (always true without --execs).
short() { [ "$goal" = 0 ] || [ "$1" -lt "$goal" ]; }

summary() {
  local t e s c f n w
  # findings: crash, timeout, leak, oom, property failure; slow: slow-unit
  # artifacts (over 10 s yet finished), apart because a paused VM makes them.
  printf '%-22s %12s %8s %6s %7s %7s %8s %5s\n' target execs seconds cov ft corpus findings slow
  for t in "${targets[@]}"; do
    read -r e s c f n w < "$state/$t"
    printf '%-22s %12s %8s %6s %7s %7s %8s %5s\n' "$t" "$e" "$s" "$c" "$f" \
      "$(find "$base/corpus/$t" -type f | wc -l)" "$n" "$w"
  done
}

# claim (under the lock): prints "TARGET SECONDS" for the next slice, or
# nothing when every target short of the goal is already running (or the
# time is spent). A target runs on one worker at a time, since each has one
# corpus. With a goal, a target not yet measured goes first (its first slice,
# 60 s, measures its rate), then the one with the most time still needed:
# longest-first keeps the slowest target from running alone at the end.
# Without a goal, the target with the least time so far.
claim() {
  local t e s c f n key best="" best_key=-1 best_e=0 best_s=0 n_short=0 now left slice need
  now=$(date +%s)
  left=$((deadline - now))
  [ "$left" -gt 5 ] || return 0
  for t in "${targets[@]}"; do
    read -r e s c f n < "$state/$t"
    short "$e" || continue
    n_short=$((n_short + 1))
    [ ! -e "$running/$t" ] || continue
    if [ "$goal" = 0 ]; then
      key=$((1000000000 - s))
    elif [ "$s" = 0 ]; then
      key=1000000000000
    elif [ "$e" = 0 ]; then
      key=0   # ran and executed nothing: its log says why; last in line
    else
      key=$(( (goal - e) * s / e ))
    fi
    if [ "$key" -gt "$best_key" ]; then best=$t; best_key=$key; best_e=$e; best_s=$s; fi
  done
  [ -n "$best" ] || return 0
  e=$best_e
  s=$best_s
  if [ "$goal" = 0 ]; then
    # The time left, shared by the targets over the workers.
    slice=$(( left * jobs / n_short ))
  elif [ "$s" = 0 ] || [ "$e" = 0 ]; then
    slice=60
  else
    # No longer than the target's own rate so far needs (plus a margin).
    need=$(( (goal - e) * s * 11 / (e * 10) + 5 ))
    slice=$need
  fi
  [ "$slice" -le 600 ] || slice=600
  [ "$slice" -le "$left" ] || slice=$left
  [ "$slice" -ge 5 ] || slice=5
  touch "$running/$best"
  echo "$best $slice"
}

# worker ID: slices until claim has nothing left for it.
worker() {
  local id=$1 job t slice e s c f n w log
  while :; do
    job=$( { flock -x 9; claim; } 9>"$base/lock" )
    [ -n "$job" ] || break
    t=${job% *}
    slice=${job#* }
    log="$base/logs/$t.$(date +%s).$id.log"
    FUZZ_NICE=$nice_level FUZZ_BIN_DIR="$base/bin" fuzz_once "$t" "$slice" "$base/corpus/$t" "$base/findings/$t" "$log"
    {
      flock -x 9
      read -r e s c f n w < "$state/$t"
      e=$((e + execs)); s=$((s + slice)); n=$((n + found)); w=$((w + slow))
      echo "$e $s $cov $ft $n $w" > "$state/$t"
      write_ledger
      summary > "$base/summary.txt"
      rm -f "$running/$t"
    } 9>"$base/lock"
    echo "worker $id $t: +$execs execs in $slice s, $e in all (cov $cov, findings $n, slow units $w)"
  done
}

goal_text=""
[ "$goal" = 0 ] || goal_text=", goal $goal execs each"
echo "campaign: ${#targets[@]} targets, $jobs worker(s) at nice $nice_level$goal_text, until $(date -d "@$deadline" +%H:%M)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; exit 130' INT TERM
for i in $(seq 1 "$jobs"); do
  worker "$i" &
  pids+=($!)
done
wait "${pids[@]}"
trap - INT TERM

echo "merging corpora"
for t in "${targets[@]}"; do
  rm -rf "$base/merged/$t"; mkdir -p "$base/merged/$t"
  nice -n 19 "$base/bin/$t" -merge=1 -rss_limit_mb=2048 "$base/merged/$t" "$base/corpus/$t" \
    >"$base/logs/$t.merge.log" 2>&1 || echo "merge of $t failed (see $base/logs/$t.merge.log)"
done
summary | tee "$base/summary.txt"
echo "campaign: $(( $(date +%s) - start )) s; minimized corpora in $base/merged/, findings in $base/findings/"
