#!/usr/bin/env bash
# Black-box test of the credential vault through the CLI, on the hosted build
# or an Embedded binary (aarch64 under qemu-aarch64): provision, restart and
# read back, refuse a second provision, re-key with --force, wipe; and bad
# input (missing or short key source, another board's vault, truncated slots,
# read-only flash, full disk) gives a clear error and changes nothing.
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"
select_target vault-cli "$@"

work=$(mktemp -d)
mounts=()
cleanup() {
  for m in "${mounts[@]+"${mounts[@]}"}"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT


head -c 32 /dev/urandom >"$work/huk-a"
head -c 32 /dev/urandom >"$work/huk-b"
printf 'short' >"$work/huk-short"

config() { # NAME VAULT_DIR KEY_SOURCE
  printf 'vault_backend = file\nvault_path = %s\nkey_source = %s\n' "$2" "$3" >"$work/$1.conf"
}
config a "$work/vault" "file:$work/huk-a"
config b "$work/vault" "file:$work/huk-b"
config missing "$work/vault" "file:$work/no-such-huk"
config short "$work/vault" "file:$work/huk-short"
printf 'vault_path = %s\n' "$work/vault" >"$work/nokey.conf"

fingerprint() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) }
# newest_file DIR: the name of the most recently modified slot file in DIR.
newest_file() { find "$1" -maxdepth 1 -name 'slot*.rec' -printf '%T@ %f\n' | sort -n | tail -n 1 | cut -d' ' -f2; }
value() { sed -n "s/^$1=//p" "$work/out"; }

run --config "$work/a.conf" status
check "status of an empty vault: unprovisioned" sh -c "[ $status = 0 ] && grep -qx vault=unprovisioned '$work/out'"

run --config "$work/a.conf" provision --device-id cam-0001
check "provision exits 0" test "$status" = 0
check "provision prints device id, JWK and thumbprint" \
  grep -q '^{"device_id":"cam-0001","jwk":{"crv":"P-256","kty":"EC","x":"[A-Za-z0-9_-]\{43\}","y":"[A-Za-z0-9_-]\{43\}"},"thumbprint":"[A-Za-z0-9_-]\{43\}"}$' "$work/out"
thumb1=$(sed -n 's/.*"thumbprint":"\([^"]*\)".*/\1/p' "$work/out")
cp -a "$work/vault" "$work/vault-g1"
check "vault directory is 0700" test "$(stat -c %a "$work/vault")" = 700
check "vault record files are 0600" \
  sh -c "[ -n \"\$(ls '$work/vault')\" ] && [ -z \"\$(find '$work/vault' -type f ! -perm 0600)\" ]"

run --config "$work/a.conf" status
check "after restart: provisioned cam-0001, generation 1" \
  sh -c "[ $status = 0 ] && grep -qx device_id=cam-0001 '$work/out' && grep -qx generation=1 '$work/out'"
check "after restart: same identity thumbprint" test "$(value identity_thumbprint)" = "$thumb1"
check "status shows no secret values" sh -c "! grep -qi 'BEGIN\|\"d\"' '$work/out'"

before=$(fingerprint "$work/vault")
run --config "$work/a.conf" provision --device-id cam-0001
check "second provision refused with exit 73" \
  sh -c "[ $status = 73 ] && grep -q 'already provisioned as cam-0001' '$work/err'"
check "second provision changed nothing" test "$(fingerprint "$work/vault")" = "$before"

run --config "$work/a.conf" provision --device-id cam-0001 --force
thumb2=$(sed -n 's/.*"thumbprint":"\([^"]*\)".*/\1/p' "$work/out")
check "provision --force makes a new identity" sh -c "[ $status = 0 ] && [ -n '$thumb2' ] && [ '$thumb2' != '$thumb1' ]"
run --config "$work/a.conf" status
check "after re-key: generation 2 and the new thumbprint" \
  sh -c "grep -qx generation=2 '$work/out' && [ \"\$(sed -n 's/^identity_thumbprint=//p' '$work/out')\" = '$thumb2' ]"

# Item 6: the re-key destroyed the old identity; deleting (or corrupting) the
# newest slot must not bring it back.
check "after re-key: one slot file left (the old identity's erased)" \
  test "$(find "$work/vault" -name 'slot*.rec' | wc -l)" = 1
cp -a "$work/vault" "$work/vault-destroyed"
config destroyed "$work/vault-destroyed" "file:$work/huk-a"
rm -f "$work/vault-destroyed/$(newest_file "$work/vault-destroyed")"
run --config "$work/destroyed.conf" status
check "after re-key, newest slot deleted: the old identity does not come back" \
  sh -c "[ $status = 0 ] && grep -qx vault=unprovisioned '$work/out' && ! grep -q '$thumb1' '$work/out'"

# Item 7: an odd thing at the other slot's name is reported and skipped.
newest_slot=$(newest_file "$work/vault")
odd_slot=slot0.rec
[ "$newest_slot" != slot0.rec ] || odd_slot=slot1.rec
for odd in symlink directory fifo; do
  cp -a "$work/vault" "$work/vault-odd"
  config odd "$work/vault-odd" "file:$work/huk-a"
  rm -f "$work/vault-odd/$odd_slot"
  case $odd in
    symlink) ln -s "$work/huk-a" "$work/vault-odd/$odd_slot" ;;
    directory) mkdir "$work/vault-odd/$odd_slot" ;;
    fifo) mkfifo "$work/vault-odd/$odd_slot" ;;
  esac
  run --config "$work/odd.conf" status
  check "a $odd at $odd_slot: skipped and reported, generation 2 opens" \
    sh -c "[ $status = 0 ] && grep -qx generation=2 '$work/out' && grep -q '^skipped=slot' '$work/out'"
  run --config "$work/odd.conf" provision --device-id cam-0001 --force
  check "a $odd at $odd_slot: provision --force writes past it" test "$status" = 0
  run --config "$work/odd.conf" status
  check "a $odd at $odd_slot: then generation 3, nothing skipped" \
    sh -c "grep -qx generation=3 '$work/out' && ! grep -q '^skipped=' '$work/out'"
  check "a $odd at $odd_slot: the symlink's target untouched" test "$(stat -c %s "$work/huk-a")" = 32
  rm -rf "$work/vault-odd"
done

before=$(fingerprint "$work/vault")
run --config "$work/missing.conf" status
check "missing key source: exit 1 naming the path" \
  sh -c "[ $status = 1 ] && grep -q 'no-such-huk' '$work/err'"
run --config "$work/short.conf" provision --device-id cam-0001 --force
check "too-short key source refused" sh -c "[ $status = 1 ] && grep -q 'need at least 16' '$work/err'"
run --config "$work/nokey.conf" status
check "unset key_source is a configuration error (78)" test "$status" = 78
run --config "$work/b.conf" status
check "another board's key: vault does not open, clear error" \
  sh -c "[ $status = 1 ] && grep -q 'none can be opened' '$work/err'"
run --config "$work/b.conf" provision --device-id cam-0002
check "another board's key: provision refused" sh -c "[ $status = 1 ] && grep -q 'nothing was changed' '$work/err'"
check "bad key sources changed nothing" test "$(fingerprint "$work/vault")" = "$before"

run --config "$work/a.conf" provision --device-id "bad id"
check "malformed device id is a usage error" test "$status" = 64

# Truncated newest slot: falls back to the previous generation. The CLI only
# makes destroy commits (a re-key erases the old identity), so the older
# generation the daemon's token rotations leave behind is restored here by
# copying generation 1's file back beside generation 2.
cp -a "$work/vault-g1" "$work/vault-trunc"
cp -a "$work/vault"/slot*.rec "$work/vault-trunc/"
config trunc "$work/vault-trunc" "file:$work/huk-a"
newest=$work/vault-trunc/$(newest_file "$work/vault-trunc")
truncate -s 40 "$newest"
before=$(fingerprint "$work/vault-trunc")
run --config "$work/trunc.conf" status
check "truncated newest slot: falls back to generation 1" \
  sh -c "[ $status = 0 ] && grep -qx generation=1 '$work/out' && grep -q '^skipped=slot' '$work/out'"
check "truncated newest slot: the old identity" test "$(value identity_thumbprint)" = "$thumb1"
for f in "$work/vault-trunc"/*; do truncate -s 10 "$f"; done
before=$(fingerprint "$work/vault-trunc")
run --config "$work/trunc.conf" status
check "both slots truncated: clear error" sh -c "[ $status = 1 ] && grep -q 'none can be opened' '$work/err'"
check "both slots truncated: nothing overwritten" test "$(fingerprint "$work/vault-trunc")" = "$before"

if [ "$(id -u)" = 0 ]; then
  # Read-only flash.
  mkdir "$work/ro"
  mount -t tmpfs -o size=1m,mode=0700 tmpfs "$work/ro" && mounts+=("$work/ro")
  config ro "$work/ro/vault" "file:$work/huk-a"
  run --config "$work/ro.conf" provision --device-id cam-0003
  ro_thumb=$(sed -n 's/.*"thumbprint":"\([^"]*\)".*/\1/p' "$work/out")
  mount -o remount,ro "$work/ro"
  before=$(fingerprint "$work/ro/vault")
  run --config "$work/ro.conf" provision --device-id cam-0003 --force
  check "read-only flash: clear error" sh -c "[ $status = 1 ] && grep -qi 'read-only' '$work/err'"
  run --config "$work/ro.conf" status
  check "read-only flash: old identity still readable" test "$(value identity_thumbprint)" = "$ro_thumb"
  check "read-only flash: nothing changed" test "$(fingerprint "$work/ro/vault")" = "$before"

  # Full disk.
  mkdir "$work/full"
  mount -t tmpfs -o size=64k,mode=0700 tmpfs "$work/full" && mounts+=("$work/full")
  config full "$work/full/vault" "file:$work/huk-a"
  run --config "$work/full.conf" provision --device-id cam-0004
  full_thumb=$(sed -n 's/.*"thumbprint":"\([^"]*\)".*/\1/p' "$work/out")
  dd if=/dev/zero of="$work/full/filler" bs=1k count=128 2>/dev/null || true
  before=$(fingerprint "$work/full/vault")
  run --config "$work/full.conf" provision --device-id cam-0004 --force
  check "full disk: clear error" sh -c "[ $status = 1 ] && grep -qi 'no space' '$work/err'"
  rm -f "$work/full/filler"
  run --config "$work/full.conf" status
  check "full disk: old identity still readable" test "$(value identity_thumbprint)" = "$full_thumb"
  check "full disk: no temporary file left behind" sh -c "! ls '$work/full/vault' | grep -q tmp"
else
  echo "  skip  [$arch] read-only and full-disk checks need root (tmpfs mounts)"
fi

config dev "$work/vault-dev" development
run --config "$work/dev.conf" status
check "development key source warns loudly" grep -q "WARNING: key_source = development" "$work/err"

# Item 8: one owner at a time. While the daemon runs (the cloud unreachable,
# so it backs off and keeps running), commands that change the vault refuse
# with exit 75 and the daemon's pid, and change nothing; status still works.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" \
  -out "$work/ca.pem" -subj /CN=vault-cli-test -days 2 2>/dev/null
printf 'server = https://127.0.0.1:9\nca_file = %s\nstate_file = %s\nsyslog = no\n' \
  "$work/ca.pem" "$work/state" | cat "$work/a.conf" - >"$work/daemon.conf"
(if [ "$arch" = hosted ]; then exec "$binary" --config "$work/daemon.conf" run; fi
 exec "$repo/cross/qemu-run.sh" "$arch" "$binary" --config "$work/daemon.conf" run) \
  >"$work/daemon.out" 2>"$work/daemon.err" &
daemon=$!
# The daemon takes the vault before it starts, so its first state change means it holds it.
for _ in $(seq 1 600); do
  grep -q 'state starting ->' "$work/daemon.err" && break
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.1
done
check "daemon started (state change logged)" grep -q 'state starting ->' "$work/daemon.err"
before=$(fingerprint "$work/vault")
for cmd in "wipe --local-only" "reauth" "provision --device-id cam-0001 --force" "run"; do
  # shellcheck disable=SC2086 # the words of $cmd are separate arguments
  run --config "$work/daemon.conf" $cmd
  holder=$(sed -n 's/.*the daemon is running (pid \([0-9]*\)).*/\1/p' "$work/err")
  check "$cmd while the daemon runs: exit 75, 'stop it first'" \
    sh -c "[ $status = 75 ] && grep -q 'stop it first' '$work/err'"
  check "$cmd while the daemon runs: names the daemon's pid" \
    sh -c "[ -n '$holder' ] && tr '\\0' ' ' </proc/$holder/cmdline | grep -q camera-agent"
done
check "refused commands changed nothing" test "$(fingerprint "$work/vault")" = "$before"
run --config "$work/daemon.conf" status
check "status works beside the daemon" sh -c "[ $status = 0 ] && grep -qx vault=provisioned '$work/out'"
kill -TERM "$daemon" 2>/dev/null || true
wait "$daemon" || true
run --config "$work/daemon.conf" reauth
check "after the daemon stopped: reauth runs" test "$status" = 0

# Item 4: the vault path is swapped, atomically and over and over, between
# the real directory and a symlink to a victim directory while commands that
# write run. None may write, remove or chmod anything in the victim.
mkdir "$work/victim"
chmod 0755 "$work/victim"
printf precious >"$work/victim/slot0.rec"
printf precious >"$work/victim/slot1.rec"
chmod 0644 "$work/victim"/*
victim_state() { stat -c '%a' "$work/victim"; fingerprint "$work/victim"; ls -A "$work/victim"; }
victim_before=$(victim_state)
config race "$work/race" "file:$work/huk-a"
run --config "$work/race.conf" provision --device-id cam-race
ln -s "$work/victim" "$work/race.lnk"
touch "$work/race.go"
python3 -c '
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
a, b, go = (os.fsencode(p) for p in sys.argv[1:])
swaps = 0
while os.path.exists(go):
    if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
        sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
    swaps += 1
    time.sleep(0.0005)
if swaps % 2:
    libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
print(swaps, "swaps")
' "$work/race" "$work/race.lnk" "$work/race.go" >"$work/swapper.out" &
swapper=$!
rounds=40
[ "$arch" = hosted ] || rounds=15
for _ in $(seq 1 "$rounds"); do
  run --config "$work/race.conf" provision --device-id cam-race --force
  run --config "$work/race.conf" wipe --local-only
done
rm -f "$work/race.go"
wait "$swapper"
check "swapped vault path: the swapper ran ($(cat "$work/swapper.out"))" grep -q '[1-9][0-9]* swaps' "$work/swapper.out"
check "swapped vault path: the victim directory untouched ($rounds rounds)" \
  test "$(victim_state)" = "$victim_before"
check "swapped vault path: the real vault is still a directory of its own" \
  sh -c "[ -d '$work/race' ] && [ ! -L '$work/race' ]"

run --config "$work/a.conf" wipe
check "wipe exits 0" test "$status" = 0
run --config "$work/a.conf" status
check "after wipe: unprovisioned" grep -qx vault=unprovisioned "$work/out"
check "after wipe: no record files" sh -c "[ -z \"\$(ls -A '$work/vault')\" ]"

summary vault-cli
