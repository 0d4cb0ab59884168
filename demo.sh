#!/usr/bin/env bash
# The run command: builds camera-agent for aarch64, armv7 and x86_64 (Embedded)
# and runs `selftest` on each (the ARM binaries under qemu-user) against a
# throwaway-CA HTTPS server on loopback. Installs what is missing first.
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
