#!/usr/bin/env bash
# Black-box test of factory provisioning: board/factory/factory-provision.py
# drives camera-agent boards (the hosted build, or an Embedded binary: aarch64
# and armv7 under qemu-user through a wrapper) against the reference cloud on
# loopback. The cases are Tests/factory/test_factory.py (pytest): a batch
# stopped and killed mid-way and resumed, re-runs that change nothing,
# malformed ids, a key the cloud does not hold, --force, the factory token kept
# out of logs, argv and the journal, a wrong key failing verification, and a
# serial console (a pty shell behind a unix socket).
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"
select_target factory "$@"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$arch" = hosted ]; then
  agent_path=$binary
else
  agent_path="$work/camera-agent"
  printf '#!/bin/sh\nexec "%s" %s "%s" "$@"\n' "$repo/cross/qemu-run.sh" "$arch" "$binary" >"$agent_path"
  chmod 755 "$agent_path"
fi
echo "factory [$arch]: $binary"
CAMERA_AGENT=$agent_path "$repo/Tests/factory/run-tests.sh"
