#!/usr/bin/env bash
# The test command: everything CI runs, in order. Installs what is missing on a
# fresh Debian 12 machine with Swift (Debian packages, arm64/armhf sysroots,
# the reference cloud's Python packages), then:
#   1. swift format lint over the sources
#   2. hosted build and `swift test` (Swift Testing)
#   3. the Embedded builds for aarch64, armv7 and x86_64 (stripped sizes printed)
#   4. black-box CLI + selftest of each Embedded binary: x86_64 natively,
#      aarch64 under qemu-aarch64, armv7 under qemu-arm
#   5. the vault through the CLI (hosted, and aarch64 under qemu-aarch64)
#   6. the vault's raw MTD backend on a real kernel MTD device: the armv7
#      binary on Debian's armmp kernel with nandsim, under qemu-system-arm
#   7. the session lifecycle through `camera-agent run` against the reference
#      cloud (activation, report, mass logout, re-activation, SIGTERM): hosted,
#      and the aarch64 binary under qemu-aarch64
#   8. faults through the daemon (hosted and aarch64): slow_down,
#      access_denied, expired_token, 429, 503, connection refused, another
#      CA, a 1970 clock, SIGKILL between token rotation and vault commit, a
#      stolen access token, malformed/huge/mistyped responses and redirects
#   8a. the clock (Tests/blackbox/clock.sh: hosted, aarch64, armv7): a board
#      at 1970 with a normally dated certificate, server Dates of 9999 and
#      1980 on a synced clock, the armv7 binary in 2038 and 2040
#   8b. the privacy canary test through `camera-agent run` (hosted and aarch64)
#   9. the factory provisioning station (board/factory/factory-provision.py)
#      driving hosted and aarch64 boards against the reference cloud
#  10. the emulated camera (qemu-system-aarch64, Debian arm64 kernel, RTC at 1970,
#      busybox init, HUK from fw_cfg, ext4 data disk, network only to the
#      cloud on loopback): provisioned over its serial console by the factory
#      station, activation, reports, mass logout, re-activation, reboot; then
#      20 power cuts (SIGKILL of QEMU) during token rotations
#  11. the vault bench (prints figures)
#  12. the reference cloud's own test suite
set -eu

case "${1:-}" in
  -h|--help) echo "usage: ./test.sh   (no options; see the header of this file)"; exit 0 ;;
  "") ;;
  *) echo "usage: ./test.sh" >&2; exit 64 ;;
esac

cd "$(dirname "$0")"
stage() { printf '\n==== %s\n' "$*"; }
start=$(date +%s)

stage "setup: Debian packages"
cross/setup-host.sh

stage "setup: the reference cloud's Python packages (before any test uses them)"
Tests/refcloud/setup.sh

stage "swift format lint"
swift format lint --strict --recursive Package.swift Sources Tests
echo "lint clean"

stage "hosted: swift test"
# The build's time for the agent's time floor and `version` (cross/build.sh does the same).
hosted_flags=(-Xcc "-DCA_BUILD_TIME=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}")
swift build --build-tests "${hosted_flags[@]}"
swift test "${hosted_flags[@]}"

stage "embedded: sysroots and cross builds"
cross/build.sh all

stage "embedded: black-box CLI and selftest on each target"
for arch in x86_64 aarch64 armv7; do
  Tests/blackbox/embedded-cli.sh "$arch"
done

stage "vault through the CLI: hosted build, and the aarch64 binary under qemu-aarch64"
Tests/blackbox/vault-cli.sh hosted
Tests/blackbox/vault-cli.sh aarch64

stage "vault on a real kernel MTD device: armv7 binary on Debian's armmp kernel with nandsim, under qemu-system-arm"
Tests/blackbox/mtd-nandsim.sh

stage "session lifecycle through 'camera-agent run' against the reference cloud: hosted, and aarch64 under qemu-aarch64"
Tests/blackbox/handshake.sh hosted
Tests/blackbox/handshake.sh aarch64

stage "faults through 'camera-agent run': slow_down, denial, expiry, 429, 503, cloud down, another CA, 1970 clock, power cut at rotation, stolen token, bad responses"
Tests/blackbox/faults.sh hosted
Tests/blackbox/faults.sh aarch64

stage "clock: a 1970 board, hostile server Dates on a synced clock, armv7 past 2038 (issue 11)"
Tests/blackbox/clock.sh hosted
Tests/blackbox/clock.sh aarch64
Tests/blackbox/clock.sh armv7

stage "privacy canaries: nothing from the board's network files in requests, logs, syslog, state, hook env or vault"
Tests/blackbox/canary.sh hosted
Tests/blackbox/canary.sh aarch64

stage "factory provisioning station: hosted boards, and aarch64 boards under qemu-aarch64"
Tests/blackbox/factory.sh hosted
Tests/blackbox/factory.sh aarch64

stage "the emulated camera board: boot, factory provisioning over the serial console, lifecycle, reboot"
Tests/system/board-boot.sh

stage "the emulated camera board: 20 power cuts during token rotations"
Tests/system/power-cut.sh --cuts 20

stage "vault bench (figures, not assertions)"
swift build -c release --product vault-bench
.build/release/vault-bench 2000

stage "reference cloud: test suite"
Tests/refcloud/run-tests.sh

stage "all stages passed in $(($(date +%s) - start)) s"
