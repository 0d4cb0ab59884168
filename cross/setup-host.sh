#!/usr/bin/env bash
# Installs, on a Debian 12 build host that already has Swift, the Debian
# packages the build and the tests need. Idempotent: installs only what is
# missing, and runs `apt-get update` only when something is.
set -eu

usage="usage: cross/setup-host.sh [--check]   (--check: list what is missing, install nothing)"
check_only=no
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  --check) check_only=yes ;;
  "") ;;
  *) echo "$usage" >&2; exit 64 ;;
esac

# libcurl/OpenSSL headers for the hosted build; qemu-user for running the ARM
# binaries; file/binutils for checking them; openssl + python3-venv for the
# test servers; libfaketime for the board whose clock starts at 1970
# (Tests/blackbox/faults.sh; the arm64 one comes from Tests/blackbox/faketime.sh);
# socat and e2fsprogs (mkfs.ext4) for the QEMU camera board; the packaging
# checks: shellcheck (every script), systemd (systemd-analyze verify/security
# on the units), u-boot-tools (mkenvimage images for the U-Boot environment
# reader) and libubootenv-tool (libubootenv's fw_printenv, the reference that
# reader is checked against), mandoc (lints the camera-agent(8) man page);
# gdb (gcore: Tests/blackbox/memory.sh dumps the running daemon's memory);
# swtpm (the aarch64 board's TPM 2.0, board/qemu/run-qemu.sh, and the TPM
# suites of swift test), tpm2-openssl with the TSS's swtpm TCTI (the identity
# key in a TPM, TPMKeyTests) and tpm2-tools (that suite's factory-made
# persistent key); Tests/tpm/setup.sh installs the same when run alone.
packages="libcurl4-openssl-dev libssl-dev qemu-user-static file binutils openssl qemu-system-arm cpio
socat e2fsprogs gdb swtpm swtpm-tools tpm2-openssl libtss2-tcti-swtpm0 tpm2-tools
python3 python3-venv ca-certificates libfaketime
shellcheck systemd u-boot-tools libubootenv-tool mandoc"

missing=""
for package in $packages; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  case "$status" in
    "install ok installed") ;;
    *) missing="$missing $package" ;;
  esac
done

command -v swift >/dev/null 2>&1 || {
  echo "setup-host: 'swift' is not on PATH; install the Swift 6.3 toolchain first" >&2
  exit 1
}

if [ -z "$missing" ]; then
  echo "setup-host: all build and test packages present"
  exit 0
fi
if [ "$check_only" = yes ]; then
  echo "setup-host: missing:$missing"
  exit 1
fi
[ "$(id -u)" = 0 ] || { echo "setup-host: need root to install:$missing" >&2; exit 1; }
echo "setup-host: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "setup-host: done"
