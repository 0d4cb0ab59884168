#!/usr/bin/env bash
# The flash decoders' fuzz properties on a 32-bit board: builds flash-replay
# (this package: AgentCore's real sources and ../checks/FlashDecoders.swift,
# Embedded Swift, armv7 hard-float) with cross/build.sh and runs it under
# qemu-arm over the committed seeds and regressions of the slot-frame,
# vault-record and vault-contents targets, each followed by N random
# mutations. A trap (Int(UInt32) above Int32.max, an overflowing sum) kills
# it with SIGILL; a property failure exits 1. Either fails this script.
set -eu

usage="usage: Tests/fuzz/armv7/run.sh [--mutations N]   (default 2000 per input)"
mutations=2000
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) echo "$usage"; exit 0 ;;
    --mutations) [ $# -ge 2 ] || { echo "$usage" >&2; exit 64; }; mutations=$2; shift ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
  shift
done
case "$mutations" in ''|*[!0-9]*) echo "$usage" >&2; exit 64 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
"$repo/cross/build.sh" --package "$here" --product flash-replay armv7 >/dev/null
files=()
for t in slot-frame vault-record vault-contents; do
  for d in "$repo/Tests/fuzz/corpus/$t" "$repo/Tests/fuzz/regressions/$t"; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do files+=("$f"); done
  done
done
[ ${#files[@]} -gt 0 ] || { echo "armv7/run.sh: no inputs found" >&2; exit 1; }
file "$here/out/armv7/flash-replay" | grep -q "ARM, EABI5" || { echo "armv7/run.sh: not an armv7 binary" >&2; exit 1; }
rc=0
"$repo/cross/qemu-run.sh" armv7 "$here/out/armv7/flash-replay" --mutations "$mutations" "${files[@]}" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "armv7/run.sh: flash-replay failed under qemu-arm (exit $rc; 132 = SIGILL, a trap)" >&2
  exit 1
fi
