#!/usr/bin/env bash
# The test command: everything CI runs, in order. Installs what is missing on a
# fresh Debian 12 machine with Swift (Debian packages, arm64/armhf sysroots,
# the reference cloud's Python packages), then:
#   1. swift format lint over the sources
#   2. hosted build and `swift test` (Swift Testing)
#   3. the Embedded builds for aarch64, armv7 and x86_64 (a size report per
#      target), and each stripped size held to cross/size-budget
#   3b. packaging (Tests/packaging/run.sh): shellcheck on every script,
#      Buildroot's check-package (vendored), oelint-adv (pinned, venv), reuse
#      lint, systemd-analyze verify and security (exposure printed), the man
#      page, the real S90camera-agent as root against a hostile stand-in
#      agent, an SPDX SBOM per binary (cross/sbom.sh) validated by pyspdxtools
#   4. black-box CLI + selftest of each Embedded binary: x86_64 natively,
#      aarch64 under qemu-aarch64, armv7 under qemu-arm
#   4b. fuzzing: every libFuzzer target in Tests/fuzz/ for 10 s (hosted,
#      -sanitize=fuzzer,address; execs, coverage and findings printed, any
#      finding fails), the flash decoders' properties on armv7 under
#      qemu-arm, and the factory station's parsers (hypothesis)
#   5. the vault through the CLI (hosted, and aarch64 under qemu-aarch64)
#   6. the vault's raw MTD backend on a real kernel MTD device: the armv7
#      binary on Debian's armmp kernel with nandsim, under qemu-system-arm
#   7. the session lifecycle through `camera-agent run` against the reference
#      cloud (activation, report, mass logout, re-activation, SIGTERM): hosted,
#      and the aarch64 binary under qemu-aarch64
#   8. faults through the daemon (hosted and aarch64): slow_down,
#      access_denied, expired_token, 429, 503, connection refused, another
#      CA, a 1970 clock, SIGKILL between token rotation and vault commit, a
#      stolen access token, malformed/huge/mistyped responses and redirects,
#      and hostile server/config text through the CLI (wipe, status)
#   8a. the clock (Tests/blackbox/clock.sh: hosted, aarch64, armv7): a board
#      at 1970 with a normally dated certificate, server Dates of 9999 and
#      1980 on a synced clock, the armv7 binary in 2038 and 2040
#   8b. the privacy canary test through `camera-agent run` (hosted and aarch64)
#   8c. liveness through `camera-agent run` (hosted and aarch64): token
#      lifetimes 1-45 s under the refresh floor, report after restart, one
#      invalid_client, an API rejecting fresh tokens (SIGTERM still stops it),
#      slow_down at refresh and device authorization, Retry-After with
#      jitter, an abandoned device's decaying load, the pairing trigger
#      (SIGUSR1, and SIGUSR2 through `camera-agent pair`, which refuses a
#      foreign lock holder)
#   8c'. the identity key in a TPM (swtpm, tpm2-openssl): the same lifecycle
#      with identity_key = tpm2, hosted; the cloud verifies the assertions
#      with the JWK provision printed, and a gcore of the daemon holds no
#      software form of the key (the software run's dump finds it: control)
#   8d. a changed `server =`: the old session's tokens never reach the new
#      server (hosted and aarch64)
#   8e. secrets in memory (Tests/blackbox/memory.sh, hosted and aarch64
#      under qemu-aarch64, whose core holds the guest's memory): after six
#      refresh rotations a gcore of the running daemon holds none of the
#      rotated-away refresh tokens (raw, form-urlencoded or JSON-escaped)
#   7, 8 and 8b run twice: against the reference cloud's own mode, and
#   against its strict "plain" mode (CLOUD_MODE=plain: only RFC-registered
#   metadata, RFC 9728 resource metadata, separate resource-server nonces,
#   long case-sensitive user codes, errors with extra members, rotation
#   without grace), as an independent OAuth 2.0 server would behave
#   9. the factory provisioning station (board/factory/factory-provision.py)
#      driving hosted and aarch64 boards against the reference cloud
#  10. the emulated camera boards (board/qemu/, network only to the cloud on
#      loopback, provisioned over the serial console by the factory station,
#      activation, reports, mass logout, re-activation, reboot; then power
#      cuts during token rotations): qemu-virt-aarch64 (Debian arm64 kernel, RTC at 1970,
#      HUK from fw_cfg, vault on an ext4 data disk; 20 cuts, SIGKILL of QEMU)
#      and armv7-cortex-a7-camera (Debian armmp kernel, vault on raw NAND
#      /dev/mtd4 in nandsim, OTP key at the board's sysfs path, the agent
#      unprivileged; 8 cuts: the agent frozen, NAND saved, QEMU SIGKILLed)
#  11. the vault bench (prints figures)
#  12. the reference cloud's own test suite
set -eu

case "${1:-}" in
  -h|--help) echo "usage: ./test.sh   (no options; see the header of this file)"; exit 0 ;;
  "") ;;
  *) echo "usage: ./test.sh" >&2; exit 64 ;;
esac

cd "$(dirname "$0")"
# Each stage's wall time is printed when the next begins: CI's limit is 90
# minutes, and the log then says where they go.
start=$(date +%s)
stage_at=$start
stage_name=""
stage() {
  local now
  now=$(date +%s)
  [ -z "$stage_name" ] || printf '==== (%s: %d s; %d s in all)\n' "$stage_name" $((now - stage_at)) $((now - start))
  stage_at=$now
  stage_name=$*
  printf '\n==== %s\n' "$*"
}

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

stage "embedded: stripped sizes within cross/size-budget (issue 14's goal: 262,144 B)"
cross/check-size.sh

stage "packaging: shellcheck, check-package, oelint-adv, reuse, systemd-analyze, man page, init script, SBOMs"
Tests/packaging/run.sh

stage "embedded: black-box CLI and selftest on each target"
for arch in x86_64 aarch64 armv7; do
  Tests/blackbox/embedded-cli.sh "$arch"
done

stage "fuzzing: libFuzzer targets 10 s each, flash decoders on armv7 under qemu-arm, factory parsers (hypothesis)"
Tests/fuzz/run.sh --seconds 10
Tests/fuzz/armv7/run.sh --mutations 2000
HYPOTHESIS_EXAMPLES=300 Tests/fuzz/factory/run.sh

stage "vault through the CLI: hosted build, and the aarch64 binary under qemu-aarch64"
Tests/blackbox/vault-cli.sh hosted
Tests/blackbox/vault-cli.sh aarch64

stage "vault on a real kernel MTD device: armv7 binary on Debian's armmp kernel with nandsim, under qemu-system-arm"
Tests/blackbox/mtd-nandsim.sh

for mode in default plain; do
  export CLOUD_MODE=$mode
  stage "session lifecycle through 'camera-agent run' against the reference cloud ($mode mode): hosted, and aarch64 under qemu-aarch64"
  Tests/blackbox/handshake.sh hosted
  Tests/blackbox/handshake.sh aarch64

  stage "faults through 'camera-agent run' ($mode cloud): slow_down, denial, expiry, 429, 503, cloud down, another CA, 1970 clock, power cut at rotation, stolen token, bad responses"
  Tests/blackbox/faults.sh hosted
  Tests/blackbox/faults.sh aarch64

  stage "privacy canaries ($mode cloud): nothing from the board's network files in requests, logs, syslog, state, hook env or vault"
  Tests/blackbox/canary.sh hosted
  Tests/blackbox/canary.sh aarch64
done
unset CLOUD_MODE

stage "the identity key in a TPM (swtpm on loopback, tpm2-openssl): the session lifecycle with identity_key = tpm2 (hosted)"
IDENTITY_KEY=tpm2 Tests/blackbox/handshake.sh hosted

stage "a changed server =: the old session's tokens never reach the new server (hosted and aarch64)"
Tests/blackbox/issuer-change.sh hosted
Tests/blackbox/issuer-change.sh aarch64

stage "secrets in memory: a gcore of the daemon after six rotations holds no rotated-away refresh token (hosted and aarch64)"
Tests/blackbox/memory.sh hosted
Tests/blackbox/memory.sh aarch64

stage "liveness: short lifetimes, restart, invalid_client, rejecting API, slow_down, Retry-After, abandoned device, pair"
Tests/blackbox/liveness.sh hosted
Tests/blackbox/liveness.sh aarch64

stage "clock: a 1970 board, hostile server Dates on a synced clock, armv7 past 2038 (issue 11)"
Tests/blackbox/clock.sh hosted
Tests/blackbox/clock.sh aarch64
Tests/blackbox/clock.sh armv7

stage "factory provisioning station: hosted boards, and aarch64 boards under qemu-aarch64"
Tests/blackbox/factory.sh hosted
Tests/blackbox/factory.sh aarch64

stage "the emulated aarch64 camera board: boot, factory provisioning over the serial console, lifecycle, reboot"
Tests/system/board-boot.sh --board qemu-virt-aarch64

stage "the emulated aarch64 camera board: 20 power cuts during token rotations"
Tests/system/power-cut.sh --board qemu-virt-aarch64 --cuts 20

stage "the emulated armv7 camera board (raw NAND vault, OTP key, unprivileged agent): boot, factory provisioning, lifecycle, reboot"
Tests/system/board-boot.sh --board armv7-cortex-a7-camera

# 8 cuts, not 20: each armv7 boot costs 15-60 s of emulation (20 cuts: see
# board/armv7-cortex-a7-camera/README.md for a measured run).
stage "the emulated armv7 camera board: 8 power cuts during token rotations on raw NAND"
Tests/system/power-cut.sh --board armv7-cortex-a7-camera --cuts 8

stage "vault bench (figures, not assertions)"
swift build -c release --product vault-bench
.build/release/vault-bench 2000

stage "reference cloud: test suite"
Tests/refcloud/run-tests.sh

stage "all stages passed in $(($(date +%s) - start)) s"
