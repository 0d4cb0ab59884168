# shellcheck shell=bash
# Shared helpers for the black-box scripts (sourced, not run).
# The sourcing script sets the variables named below and reads the counters.
# shellcheck disable=SC2154,SC2034
# Needs: $arch (hosted|x86_64|aarch64|armv7), $binary, $repo, $work.

passed=0
failed=0

# check NAME COMMAND...: counts and prints one line; never exits.
check() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "  ok    [$arch] $name"
  else
    failed=$((failed + 1))
    echo "  FAIL  [$arch] $name"
  fi
}

agent() {
  if [ "$arch" = hosted ]; then
    "$binary" "$@"
  else
    "$repo/cross/qemu-run.sh" "$arch" "$binary" "$@"
  fi
}

# run ARGS...: runs the agent; sets $status, leaves stdout in $work/out and stderr in $work/err.
run() {
  set +e
  agent "$@" >"$work/out" 2>"$work/err"
  status=$?
  set -e
}

# summary NAME: prints the closing line and fails if anything failed.
summary() {
  echo "$1 [$arch${cloud_mode:+, $cloud_mode cloud}]: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

# select_target NAME ARGS...: parses `hosted|x86_64|aarch64|armv7 [BINARY]`
# for the script NAME; sets $arch and $binary (default: the hosted debug
# build, or cross/build.sh's out/ARCH binary). Needs $repo.
select_target() {
  local name=$1
  shift
  local usage="usage: Tests/blackbox/$name.sh hosted|x86_64|aarch64|armv7 [BINARY]"
  case "${1:-}" in
    -h|--help) echo "$usage"; exit 0 ;;
    hosted|x86_64|aarch64|armv7) ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
  arch=$1
  if [ "$arch" = hosted ]; then
    binary=${2:-$repo/.build/debug/camera-agent}
  else
    binary=${2:-$repo/out/$arch/camera-agent}
  fi
  [ -x "$binary" ] || { echo "$name: no binary at $binary" >&2; exit 1; }
}
