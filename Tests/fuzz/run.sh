#!/usr/bin/env bash
# Runs each libFuzzer target briefly (CI) on its committed seeds and the
# kept regression inputs, and prints per target: executions, coverage, and
# findings (crashes, timeouts, leaks, out-of-memory, property failures: each
# leaves an artifact). Exits 1 on any finding. Slow units (libFuzzer's
# slow-unit artifacts: a unit that took over 10 s and finished) are listed
# apart and do not fail the run: a paused or overloaded VM makes them.
set -eu

usage="usage: Tests/fuzz/run.sh [--seconds N] [--corpus-root DIR] [TARGET...]   (default: 10 s, every target)"
seconds=10
corpus_root=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) echo "$usage"; exit 0 ;;
    --seconds) [ $# -ge 2 ] || { echo "$usage" >&2; exit 64; }; seconds=$2; shift ;;
    --corpus-root) [ $# -ge 2 ] || { echo "$usage" >&2; exit 64; }; corpus_root=$2; shift ;;
    -*) echo "$usage" >&2; exit 64 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
case "$seconds" in ''|*[!0-9]*) echo "$usage" >&2; exit 64 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/targets/*.swift; do targets+=("$(basename "$f" .swift)"); done
fi
"$here/build.sh" "${targets[@]}"

# shellcheck source=Tests/fuzz/lib.sh
. "$here/lib.sh"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/camera-agent-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
total_findings=0
for t in "${targets[@]}"; do
  work=${corpus_root:+$corpus_root/$t}
  work=${work:-$scratch/corpus/$t}
  findings="$repo/.build-fuzz/findings/$t"
  mkdir -p "$work" "$findings"
  log="$scratch/$t.log"
  fuzz_once "$t" "$seconds" "$work" "$findings" "$log"
  total_findings=$((total_findings + found))
  printf 'fuzz %-22s %10s execs in %3ss  cov %5s  ft %6s  corpus %5s  findings %s  slow units %s\n' \
    "$t" "$execs" "$seconds" "$cov" "$ft" "$(find "$work" -type f | wc -l)" "$found" "$slow"
  if [ "$found" -gt 0 ]; then
    grep -E "ERROR|property failed|Fatal error|SUMMARY" "$log" | head -5 | sed 's/^/    /'
    find "$findings" -type f ! -name 'slow-unit-*' | sed 's/^/    kept: /'
  fi
  # A slow unit finished (over 10 s on this host): printed for a replay by
  # hand, not a failure; a unit that hangs is a timeout, which is one.
  if [ "$slow" -gt 0 ]; then
    find "$findings" -type f -name 'slow-unit-*' | sed 's/^/    slow unit (not a failure; replay: .build-fuzz\/bin\/'"$t"' FILE): /'
  fi
done
if [ "$total_findings" -gt 0 ]; then
  echo "fuzz: $total_findings finding(s); inputs kept under .build-fuzz/findings/ (replay: .build-fuzz/bin/TARGET FILE)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, 0 findings"
