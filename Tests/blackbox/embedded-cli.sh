#!/usr/bin/env bash
# Black-box checks of an Embedded camera-agent binary on its target (natively
# for x86_64, under qemu-user for aarch64 and armv7): the CLI contract and the
# on-target selftest against a throwaway-CA TLS server on loopback.
set -eu

usage="usage: Tests/blackbox/embedded-cli.sh aarch64|armv7|x86_64 [BINARY]"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  aarch64|armv7|x86_64) ;;
  *) echo "$usage" >&2; exit 64 ;;
esac
arch=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
binary=${2:-$repo/out/$arch/camera-agent}
[ -x "$binary" ] || { echo "embedded-cli: no binary at $binary (run cross/build.sh $arch)" >&2; exit 1; }

work=$(mktemp -d)
fixture_pid=
cleanup() {
  [ -n "$fixture_pid" ] && kill "$fixture_pid" 2>/dev/null && wait "$fixture_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"

run --help
check "--help exits 0 with usage on stdout" test "$status" = 0 -a ! -s "$work/err"
check "--help lists selftest" grep -q "selftest" "$work/out"
run frobnicate
check "unknown subcommand exits 64" test "$status" = 64
check "unknown subcommand prints usage to stderr" grep -q "^usage: camera-agent" "$work/err"
run version --frobnicate
check "unknown flag exits 64 with usage on stderr" \
  sh -c "[ $status = 64 ] && grep -q '^usage: camera-agent' '$work/err'"
run version
check "version names embedded $arch" grep -qx "camera-agent [0-9.]* (embedded, $arch)" "$work/out"
run selftest --config "$work/missing.conf"
check "named but missing config exits 78" test "$status" = 78

# The build's secure element (cross/build.sh SECURE_ELEMENT_*; the same
# defaults): a build without one refuses the TPM settings as configuration
# errors, never runs without them; one with it parses them.
case "$arch" in
  aarch64) se=${SECURE_ELEMENT_AARCH64:-tpm2} ;;
  armv7) se=${SECURE_ELEMENT_ARMV7:-none} ;;
  x86_64) se=${SECURE_ELEMENT_X86_64:-tpm2} ;;
esac
printf 'vault_backend = file\nvault_path = %s/se-vault\nkey_source = development\n' "$work" >"$work/se.conf"
for setting in "identity_key = tpm2:device:/dev/tpmrm0" "anti_rollback = tpm:$work/no-tpmrm0"; do
  { cat "$work/se.conf"; echo "$setting"; } >"$work/se-setting.conf"
  run --config "$work/se-setting.conf" status
  if [ "$se" = none ]; then
    check "secure element none: '$setting' is refused (exit 78: this build has no TPM support)" \
      sh -c "[ $status = 78 ] && grep -q 'this build has no TPM support' '$work/err'"
  else
    check "secure element $se: '$setting' is a valid setting (exit $status, not 78)" test "$status" != 78
  fi
done

python3 "$repo/Tests/fixtures/tls_fixture.py" --dir "$work/pki" --port-file "$work/port" 2>"$work/fixture.log" &
fixture_pid=$!
for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "embedded-cli: TLS fixture did not start" >&2; cat "$work/fixture.log" >&2; exit 1; }
port=$(cat "$work/port")

cp "$repo/board/agent.conf.example" "$work/agent.conf"
run --config "$work/agent.conf" selftest --tls-url "https://127.0.0.1:$port/" \
  --ca-file "$work/pki/ca.pem" --wrong-ca-file "$work/pki/other-ca.pem"
sed "s/^/    | /" "$work/out"
check "selftest exits 0" test "$status" = 0
check "selftest ran all seven checks and all passed" \
  grep -qx "selftest: 7 passed, 0 failed, 0 skipped" "$work/out"
check "selftest verified the HTTPS certificate" grep -q "^ok    https-verified" "$work/out"
check "selftest saw the other CA refused" grep -q "^ok    https-wrong-ca: certificate rejected" "$work/out"

summary embedded-cli
