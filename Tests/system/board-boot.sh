#!/usr/bin/env bash
# System test of the qemu-virt-aarch64 camera board: image build, boot,
# provisioning over the serial console with the factory station, activation with owner approval,
# report, mass logout and re-activation, clean reboot (vault at the same
# generation, active without the owner). The logic is in board_boot.py
# (Python: timing, the cloud's JSON, cleanup); this wrapper is the entry point.
set -eu
case "${1:-}" in
  -h|--help) echo "usage: Tests/system/board-boot.sh   (no options; prints 'N passed, N failed')"; exit 0 ;;
  "") ;;
  *) echo "usage: Tests/system/board-boot.sh" >&2; exit 64 ;;
esac
exec python3 "$(cd "$(dirname "$0")" && pwd)/board_boot.py"
