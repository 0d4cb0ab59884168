#!/usr/bin/env bash
# A long fuzzing campaign (bench, not CI): every target in turn, one process
# at a time at nice 19, in slices of at most 10 minutes until the time is
# spent, each continuing the target's own persistent corpus (seeded from the
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

usage="usage: Tests/fuzz/campaign.sh --hours H [--until HH:MM] [--execs N] [--resume] [--nice N] [TARGET...]   (H may be a fraction: 0.5)"
hours=""
until_hm=""
goal=0
resume=0
nice_level=19
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

declare -A total_execs total_seconds last_cov last_ft total_found build_id
for t in "${targets[@]}"; do
  total_execs[$t]=0; total_seconds[$t]=0; last_cov[$t]=0; last_ft[$t]=0
  build_id[$t]=$(sha256sum "$base/bin/$t" | cut -c1-16)
  mkdir -p "$base/corpus/$t" "$base/findings/$t"
  total_found[$t]=$(find "$base/findings/$t" -type f | wc -l)
done
# The ledger: one line per target, "target build execs seconds cov ft".
ledger="$base/ledger"
if [ "$resume" = 1 ] && [ -f "$ledger" ]; then
  while read -r t id e sec c f; do
    [ -n "${build_id[$t]:-}" ] || continue
    if [ "$id" = "${build_id[$t]}" ]; then
      total_execs[$t]=$e; total_seconds[$t]=$sec; last_cov[$t]=${c:-0}; last_ft[$t]=${f:-0}
      echo "resume $t: $e execs in $sec s so far (build $id)"
    else
      echo "resume $t: the binary changed since the ledger (build $id, now ${build_id[$t]}): starting from 0"
    fi
  done < "$ledger"
fi
write_ledger() {
  local t
  for t in "${targets[@]}"; do echo "$t ${build_id[$t]} ${total_execs[$t]} ${total_seconds[$t]} ${last_cov[$t]} ${last_ft[$t]}"; done > "$ledger.new"
  mv "$ledger.new" "$ledger"
}
# short TARGET: it has not reached the goal (always true without --execs).
short() { [ "$goal" = 0 ] || [ "${total_execs[$1]}" -lt "$goal" ]; }
# How many targets are still short of the goal.
short_of_goal() {
  local t n=0
  for t in "${targets[@]}"; do
    if short "$t"; then n=$((n + 1)); fi
  done
  echo "$n"
}

summary() {
  local t
  printf '%-22s %12s %8s %6s %7s %7s %8s\n' target execs seconds cov ft corpus findings
  for t in "${targets[@]}"; do
    printf '%-22s %12s %8s %6s %7s %7s %8s\n' "$t" "${total_execs[$t]}" "${total_seconds[$t]}" \
      "${last_cov[$t]}" "${last_ft[$t]}" "$(find "$base/corpus/$t" -type f | wc -l)" "${total_found[$t]}"
  done
}

round=0
while [ "$(date +%s)" -lt "$deadline" ] && [ "$(short_of_goal)" -gt 0 ]; do
  round=$((round + 1))
  pending=$(short_of_goal)
  for t in "${targets[@]}"; do
    short "$t" || continue
    now=$(date +%s)
    left=$((deadline - now))
    [ "$left" -gt 5 ] || break
    # What is left shared by the targets not yet run this round, so a slow
    # start (the build) cannot leave the last targets without a turn.
    slice=$(( left / pending ))
    pending=$((pending - 1))
    [ "$slice" -le 600 ] || slice=600
    # With a goal, no longer than the target's own rate so far needs for it
    # (plus a margin): a fast target's spare time goes to the slow ones.
    # Its first slice measures that rate.
    if [ "$goal" != 0 ] && [ "${total_seconds[$t]}" = 0 ] && [ "$slice" -gt 60 ]; then slice=60; fi
    if [ "$goal" != 0 ] && [ "${total_seconds[$t]}" -gt 0 ] && [ "${total_execs[$t]}" -gt 0 ]; then
      need=$(( (goal - total_execs[$t]) * total_seconds[$t] * 11 / (total_execs[$t] * 10) + 5 ))
      [ "$slice" -le "$need" ] || slice=$need
    fi
    [ "$slice" -le "$left" ] || slice=$left
    [ "$slice" -ge 5 ] || slice=5
    log="$base/logs/$t.$round.log"
    FUZZ_NICE=$nice_level FUZZ_BIN_DIR="$base/bin" fuzz_once "$t" "$slice" "$base/corpus/$t" "$base/findings/$t" "$log"
    total_execs[$t]=$(( ${total_execs[$t]} + execs ))
    total_seconds[$t]=$(( ${total_seconds[$t]} + slice ))
    last_cov[$t]=$cov; last_ft[$t]=$ft
    total_found[$t]=$(( ${total_found[$t]} + found ))
    summary > "$base/summary.txt"
    write_ledger
    echo "round $round $t: +$execs execs (cov $cov, findings ${total_found[$t]})"
  done
done

echo "merging corpora"
for t in "${targets[@]}"; do
  rm -rf "$base/merged/$t"; mkdir -p "$base/merged/$t"
  nice -n 19 "$base/bin/$t" -merge=1 -rss_limit_mb=2048 "$base/merged/$t" "$base/corpus/$t" \
    >"$base/logs/$t.merge.log" 2>&1 || echo "merge of $t failed (see $base/logs/$t.merge.log)"
done
summary | tee "$base/summary.txt"
echo "campaign: $(( $(date +%s) - start )) s; minimized corpora in $base/merged/, findings in $base/findings/"
