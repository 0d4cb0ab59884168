#!/usr/bin/env bash
# Checks each board's systemd unit with `systemd-analyze verify` and prints
# its `systemd-analyze security` exposure score, offline: the units are
# copied into a scratch root holding the host's own unit files and the
# programs the units name (systemd checks that they exist), so neither the
# host's systemd nor a running board is needed.
set -eu
usage="usage: board/common/verify-units.sh   (needs systemd-analyze: apt-get install systemd)"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  "") ;;
  *) echo "$usage" >&2; exit 64 ;;
esac
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v systemd-analyze >/dev/null 2>&1 || { echo "verify-units: systemd-analyze not found; $usage" >&2; exit 1; }
units=$(ls "$repo"/board/*/camera-agent.service)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd/system" "$root/usr/bin" "$root/bin"
cp -a /lib/systemd/system/. "$root/usr/lib/systemd/system/"
# Stand-ins for the programs the units run (only their existence is checked).
for prog in /usr/bin/camera-agent /bin/kill /bin/chgrp /bin/chmod; do
  printf '#!/bin/sh\nexit 0\n' >"$root$prog"
  chmod 0755 "$root$prog"
done
# Documentation=man:camera-agent(8) is checked with man(1): the project's page.
mkdir -p "$root/man/man8"
cp "$repo/board/common/camera-agent.8" "$root/man/man8/camera-agent.8"
export MANPATH="$root/man"
failed=0
for unit in $units; do
  board=$(basename "$(dirname "$unit")")
  cp "$unit" "$root/usr/lib/systemd/system/camera-agent.service"
  if out=$(systemd-analyze verify --root="$root" camera-agent.service 2>&1) && [ -z "$out" ]; then
    echo "verify-units: $board: systemd-analyze verify: clean"
  else
    echo "verify-units: $board: systemd-analyze verify FAILED:"; printf '%s\n' "$out" | sed 's/^/  /'
    failed=$((failed + 1))
  fi
  score=$(systemd-analyze security --offline=true --root="$root" camera-agent.service 2>/dev/null \
    | sed -n 's/.*Overall exposure level for camera-agent.service: \(.*\)$/\1/p' | LC_ALL=C tr -cd '\40-\176')
  echo "verify-units: $board: systemd-analyze security exposure: ${score:-unknown} (0 = locked down, 10 = exposed)"
done
[ "$failed" = 0 ]
