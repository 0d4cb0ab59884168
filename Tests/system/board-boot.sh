#!/usr/bin/env bash
# System test of an emulated camera board (default qemu-virt-aarch64; or
# --board armv7-cortex-a7-camera): image build, boot, provisioning over the
# serial console with the factory station, activation with owner approval,
# report, mass logout and re-activation, clean reboot (vault at the same
# generation, active without the owner). The logic is in board_boot.py
# (Python: timing, the cloud's JSON, cleanup); this wrapper is the entry point.
set -eu
usage="usage: Tests/system/board-boot.sh [--board qemu-virt-aarch64|armv7-cortex-a7-camera]   (prints 'N passed, N failed')"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  "") ;;
  --board)
    case "${2:-}" in
      qemu-virt-aarch64|armv7-cortex-a7-camera) [ $# -eq 2 ] || { echo "$usage" >&2; exit 64; } ;;
      *) echo "$usage" >&2; exit 64 ;;
    esac ;;
  *) echo "$usage" >&2; exit 64 ;;
esac
exec python3 "$(cd "$(dirname "$0")" && pwd)/board_boot.py" "$@"
