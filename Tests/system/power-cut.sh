#!/usr/bin/env bash
# Power cuts during refresh-token rotation on an emulated camera board
# (--board qemu-virt-aarch64, the default, or armv7-cortex-a7-camera): QEMU
# SIGKILLed at seeded random moments, booted again each time; the
# vault must always open, its generation never go back, and the agent return
# to active without the owner. The logic is in power_cut.py (Python: timing,
# the cloud's JSON, cleanup); this wrapper is the entry point.
#   Tests/system/power-cut.sh [--board B] [--cuts N] [--seed S] [--earliest S] [--latest S]
set -eu
case "${1:-}" in
  -h|--help) exec python3 "$(cd "$(dirname "$0")" && pwd)/power_cut.py" --help ;;
esac
exec python3 "$(cd "$(dirname "$0")" && pwd)/power_cut.py" "$@"
