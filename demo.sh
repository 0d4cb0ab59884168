#!/usr/bin/env bash
# The run command: builds camera-agent for aarch64, armv7 and x86_64 (Embedded)
# and runs `selftest` on each (the ARM binaries under qemu-user) against a
# throwaway-CA HTTPS server on loopback; then runs the aarch64 binary as the
# daemon (`camera-agent run`, under qemu-aarch64) against the reference cloud
# through a whole session lifecycle: activation approved by the owner with
# TOTP, a report, a mass logout, re-activation, a second report, SIGTERM.
# Installs what is missing first; ends by itself and cleans up.
set -eu
case "${1:-}" in
  -h|--help) echo "usage: ./demo.sh   (no options; see the header of this file)"; exit 0 ;;
  "") ;;
  *) echo "usage: ./demo.sh" >&2; exit 64 ;;
esac
cd "$(dirname "$0")"
cross/setup-host.sh
cross/build.sh all
for arch in x86_64 aarch64 armv7; do
  echo
  echo "==== $arch: camera-agent version && selftest"
  Tests/blackbox/embedded-cli.sh "$arch"
done

echo
echo "==== aarch64: camera-agent run against the reference cloud (each state change printed)"
DEMO=1 Tests/blackbox/handshake.sh aarch64
