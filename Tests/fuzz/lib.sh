# shellcheck shell=bash
# Shared by run.sh and campaign.sh (sourced, not run): one libFuzzer run of a
# target and the figures read from its output.

# The dictionary for a target, if it has one.
fuzz_dict() {
  case "$1" in
    json) echo json ;;
    token-response|device-authorization|server-metadata|oauth-error|endpoint-url) echo oauth ;;
    key-import|base64url) echo jose ;;
    www-authenticate|http-date|retry-after) echo http ;;
    config-file) echo config ;;
    firmware-version) echo firmware ;;
    log-mask) echo log-mask ;;
    *) echo "" ;;
  esac
}

# fuzz_once TARGET SECONDS WORK_CORPUS FINDINGS_DIR LOG: runs the target, new
# inputs go to WORK_CORPUS, the committed seeds and regressions are read too.
# Sets execs, cov, ft, found (crash, timeout, leak, oom and property-failure
# artifacts written by this run, plus one if libFuzzer failed without leaving
# one) and slow (slow-unit artifacts: libFuzzer keeps a unit that took over
# 10 s yet finished; on a shared or paused VM that is the host, not the code,
# so it is reported apart and replayed by hand, not counted as a failure).
fuzz_once() {
  local t=$1 seconds=$2 work=$3 findings=$4 log=$5 dict rc=0 extra=()
  dict=$(fuzz_dict "$t")
  [ -z "$dict" ] || extra+=("-dict=$here/dict/$dict.dict")
  # A log line is cut at 1,024 characters: longer inputs add time, not paths.
  local max_len=4096
  [ "$t" = log-mask ] && max_len=1400
  local seeds=()
  [ -d "$here/corpus/$t" ] && seeds+=("$here/corpus/$t")
  [ -d "$here/regressions/$t" ] && seeds+=("$here/regressions/$t")
  local before before_slow
  before=$(find "$findings" -type f ! -name 'slow-unit-*' | wc -l)
  before_slow=$(find "$findings" -type f -name 'slow-unit-*' | wc -l)
  nice -n "${FUZZ_NICE:-10}" "${FUZZ_BIN_DIR:-$repo/.build-fuzz/bin}/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
    -print_final_stats=1 -artifact_prefix="$findings/" "${extra[@]}" "$work" "${seeds[@]}" \
    >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  found=$(( $(find "$findings" -type f ! -name 'slow-unit-*' | wc -l) - before ))
  # shellcheck disable=SC2034  # read by the caller, like execs and found
  slow=$(( $(find "$findings" -type f -name 'slow-unit-*' | wc -l) - before_slow ))
  if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi
  execs=${execs:-0}
  cov=${cov:-0}
  ft=${ft:-0}
}
