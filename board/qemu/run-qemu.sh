#!/usr/bin/env bash
# Boots an emulated camera board built by board/qemu/build-image.sh (one tool
# for every board; the board's facts come from board/<board>/board.conf).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage="usage: board/qemu/run-qemu.sh --board BOARD --cloud-port PORT [--image DIR] [--console SOCK] [--agent-log FILE] [--huk FILE] [--data IMG] [--power SOCK] [--tpm-state DIR] [--rtc-base DATE] [--monitor SOCK] [--print-command]"
help() {
  echo "$usage"
  cat <<'EOF2'

  --board BOARD      qemu-virt-aarch64 or armv7-cortex-a7-camera (board/BOARD/board.conf)
  --cloud-port PORT  the cloud's port on the host's loopback; the guest reaches
                     it as https://192.0.2.100 (guestfwd 192.0.2.100:443 ->
                     127.0.0.1:PORT), and nothing else (restrict=on)
  --image DIR        build-image.sh's output (default <repo>/out/board/BOARD)
  --console SOCK     unix socket of the serial console (ttyAMA0, a root shell)
                     (default DIR/console.sock); attach with
                     socat -,raw,echo=0 UNIX-CONNECT:SOCK  or  console.py SOCK CMD
  --agent-log FILE   where the guest's /dev/hvc0 (the agent's log) is appended
                     (default DIR/agent.log)
  --huk FILE         the board's hardware-unique key (default DIR/huk.bin): a
                     fw_cfg blob opt/camera/huk (HUK_DEVICE=fw_cfg) or a
                     read-only virtio disk with serial vendor-otp (virtio-otp)
  --data IMG         the persistent data disk (default DIR/data.img), virtio
                     serial camdata
  --power SOCK       boards with POWER_CUT=freeze: unix socket of the guest's
                     power-cut listener (default DIR/power.sock); send "cut",
                     read the answer, then kill QEMU
  --tpm-state DIR    boards with TPM=swtpm: the TPM's state (its NV memory,
                     kept across boots; default the data disk's path with
                     .tpm for .img, e.g. DIR/data.tpm). Each boot starts a
                     new swtpm on it (a power-on) that ends with QEMU
  --rtc-base DATE    start the board's RTC at DATE (YYYY-MM-DD, e.g. 1970-01-01:
                     a camera whose clock was never set) instead of the host's time
  --monitor SOCK     a QMP socket (unix, server) for tests: e.g.
                     dump-guest-memory, to scan the guest's RAM from the host
  --print-command    print the qemu command line and exit

Each guest connection to 192.0.2.100:443 runs `socat STDIO TCP4:127.0.0.1:PORT`
on the host (guestfwd cmd:): QEMU 7.2's `guestfwd=...-tcp:` form opens one
host connection at start and cannot carry a second guest connection.

QEMU runs in the foreground (exec: the caller's $! is QEMU itself) and exits
when the guest powers off or reboots (-no-reboot).
EOF2
}

board='' image='' port='' console='' agent_log='' huk='' data='' power='' tpm_state='' rtc='' monitor='' print=no
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) help; exit 0 ;;
    --board) board=${2:?}; shift 2 ;;
    --cloud-port) port=${2:?}; shift 2 ;;
    --image) image=${2:?}; shift 2 ;;
    --console) console=${2:?}; shift 2 ;;
    --agent-log) agent_log=${2:?}; shift 2 ;;
    --huk) huk=${2:?}; shift 2 ;;
    --data) data=${2:?}; shift 2 ;;
    --power) power=${2:?}; shift 2 ;;
    --tpm-state) tpm_state=${2:?}; shift 2 ;;
    --rtc-base) rtc=${2:?}; shift 2 ;;
    --monitor) monitor=${2:?}; shift 2 ;;
    --print-command) print=yes; shift ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
done
die() { echo "run-qemu: error: $*" >&2; exit 1; }

case "$board" in ""|*/*|.*) echo "$usage" >&2; exit 64 ;; esac
[ -r "$repo/board/$board/board.conf" ] || die "no board definition board/$board/board.conf"
POWER_CUT='kill'
# shellcheck source=board/qemu-virt-aarch64/board.conf
. "$repo/board/$board/board.conf"
if [ -z "${QEMU_SYSTEM:-}" ] || [ -z "${HUK_DEVICE:-}" ]; then
  die "board/$board/board.conf has no emulated-board section"
fi
image=${image:-$repo/out/board/$BOARD}
console=${console:-$image/console.sock}
agent_log=${agent_log:-$image/agent.log}
huk=${huk:-$image/huk.bin}
data=${data:-$image/data.img}
power=${power:-$image/power.sock}
tpm_state=${tpm_state:-${data%.img}.tpm}
# Absolute: swtpm --daemon leaves the working directory.
case "$tpm_state" in /*) ;; *) tpm_state=$PWD/$tpm_state ;; esac
case "$port" in ""|*[!0-9]*) die "--cloud-port PORT is required (the cloud's loopback port)" ;; esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then die "--cloud-port $port is out of range"; fi
for f in "$image/vmlinuz" "$image/initrd.gz" "$data"; do
  [ -s "$f" ] || die "$f is missing (run board/qemu/build-image.sh --board $BOARD)"
done
[ -s "$huk" ] || die "HUK file $huk is missing"
[ "$(stat -c %a "$huk")" = 600 ] || die "HUK file $huk must be mode 0600"
for s in "$console" "$power" ${monitor:+"$monitor"}; do
  [ ${#s} -lt 100 ] || die "socket path is too long for a unix socket: $s"
done
command -v "$QEMU_SYSTEM" >/dev/null 2>&1 \
  || die "$QEMU_SYSTEM not found (apt-get install qemu-system-arm, or cross/setup-host.sh)"
command -v socat >/dev/null 2>&1 || die "socat not found (apt-get install socat, or cross/setup-host.sh)"
rm -f "$console"

# shellcheck disable=SC2054 # commas are QEMU's option separators
case "$HUK_DEVICE" in
  fw_cfg) key=(-fw_cfg "name=opt/camera/huk,file=$huk") ;;
  virtio-otp)
    [ "$(stat -c %s "$huk")" -ge 512 ] || die "HUK file $huk must be a 512-byte OTP bank on this board"
    key=(-drive "file=$huk,if=none,format=raw,readonly=on,id=otp" -device virtio-blk-device,drive=otp,serial=vendor-otp) ;;
  *) die "board.conf: unknown HUK_DEVICE $HUK_DEVICE" ;;
esac
powercut=()
if [ "$POWER_CUT" = freeze ]; then
  rm -f "$power"
  # shellcheck disable=SC2054 # commas are QEMU's option separators
  powercut=(-chardev "socket,id=power,path=$power,server=on,wait=off"
    -device virtserialport,chardev=power,name=org.camera-agent.power)
fi

# shellcheck disable=SC2206,SC2054 # QEMU_MACHINE is a list of options; commas are QEMU's
cmd=("$QEMU_SYSTEM" $QEMU_MACHINE -nodefaults -no-user-config -display none -no-reboot
  -kernel "$image/vmlinuz" -initrd "$image/initrd.gz"
  -append "console=ttyAMA0 rdinit=/init panic=-1 quiet loglevel=4"
  -chardev "socket,id=con,path=$console,server=on,wait=off" -serial chardev:con
  -device virtio-serial-device
  -chardev "file,id=agentlog,path=$agent_log,append=on" -device virtconsole,chardev=agentlog
  "${powercut[@]}"
  -drive "file=$data,if=none,format=raw,id=d0,cache=none" -device virtio-blk-device,drive=d0,serial=camdata
  "${key[@]}"
  -netdev "user,id=n0,net=192.0.2.0/24,host=192.0.2.2,restrict=on,guestfwd=tcp:$CLOUD_GUEST_ADDR:$CLOUD_GUEST_PORT-cmd:socat STDIO TCP4:127.0.0.1:$port"
  -device virtio-net-device,netdev=n0
  -device virtio-rng-device)
if [ -n "$monitor" ]; then
  rm -f "$monitor"
  cmd+=(-qmp "unix:$monitor,server=on,wait=off")
fi
case "${TPM:-none}" in
  none) ;;
  swtpm)
    # shellcheck disable=SC2054 # commas are QEMU's option separators
    cmd+=(-chardev "socket,id=tpm,path=$tpm_state/server.sock"
      -device virtserialport,chardev=tpm,name=org.camera-agent.tpm) ;;
  *) die "board.conf: unknown TPM $TPM (swtpm or none)" ;;
esac
if [ -n "$rtc" ]; then
  case "$rtc" in
    [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) cmd+=(-rtc "base=$rtc") ;;
    *) die "--rtc-base $rtc: expected YYYY-MM-DD" ;;
  esac
fi
if [ "$print" = yes ]; then printf '%q ' "${cmd[@]}"; echo; exit 0; fi
if [ "${TPM:-none}" = swtpm ]; then
  # Power-on of the board's TPM: a new swtpm on the kept state. The last
  # boot's swtpm ends when its QEMU's connection drops (--terminate); after
  # a SIGKILL of QEMU that can take a moment, and two on one state would
  # fight over it, so wait for it (and end it if it lingers).
  command -v swtpm >/dev/null 2>&1 || die "swtpm not found (apt-get install swtpm, or cross/setup-host.sh)"
  [ ${#tpm_state} -lt 88 ] || die "--tpm-state path is too long for its unix sockets: $tpm_state"
  mkdir -p "$tpm_state"
  chmod 0700 "$tpm_state"
  pidfile=$tpm_state/swtpm.pid
  old=$(cat "$pidfile" 2>/dev/null || true)
  case "$old" in
    ''|*[!0-9]*) ;;
    *)
      n=0
      while kill -0 "$old" 2>/dev/null && grep -q swtpm "/proc/$old/cmdline" 2>/dev/null && [ $n -lt 100 ]; do
        sleep 0.1; n=$((n + 1))
      done
      if kill -0 "$old" 2>/dev/null && grep -q swtpm "/proc/$old/cmdline" 2>/dev/null; then
        echo "run-qemu: the last boot's swtpm ($old) is still running after 10 s: ending it" >&2
        kill -9 "$old" 2>/dev/null || true
        sleep 0.2
      fi ;;
  esac
  rm -f "$pidfile" "$tpm_state/server.sock"
  swtpm socket --tpm2 --tpmstate "dir=$tpm_state" \
    --server "type=unixio,path=$tpm_state/server.sock" \
    --flags not-need-init,startup-clear --terminate --daemon \
    --pid "file=$pidfile" --log "file=$tpm_state/swtpm.log,level=1" \
    || die "swtpm did not start on $tpm_state (see $tpm_state/swtpm.log)"
  n=0
  while [ ! -S "$tpm_state/server.sock" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  [ -S "$tpm_state/server.sock" ] || die "swtpm made no socket at $tpm_state/server.sock in 10 s"
fi
exec "${cmd[@]}"
