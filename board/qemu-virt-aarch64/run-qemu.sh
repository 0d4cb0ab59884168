#!/usr/bin/env bash
# Boots the qemu-virt-aarch64 camera board built by build-image.sh.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage="usage: board/qemu-virt-aarch64/run-qemu.sh --cloud-port PORT [--image DIR] [--console SOCK] [--agent-log FILE] [--huk FILE] [--data IMG] [--rtc-base DATE] [--print-command]"
help() {
  echo "$usage"
  cat <<'EOF'

  --cloud-port PORT  the cloud's port on the host's loopback; the guest reaches
                     it as https://192.0.2.100 (guestfwd 192.0.2.100:443 ->
                     127.0.0.1:PORT), and nothing else (restrict=on)
  --image DIR        build-image.sh's output (default <repo>/out/board/qemu-virt-aarch64)
  --console SOCK     unix socket of the serial console (ttyAMA0, a root shell)
                     (default DIR/console.sock); attach with
                     socat -,raw,echo=0 UNIX-CONNECT:SOCK  or  console.py SOCK CMD
  --agent-log FILE   where the guest's /dev/hvc0 (the agent's log) is appended
                     (default DIR/agent.log)
  --huk FILE         the board's hardware-unique key (default DIR/huk.bin),
                     given to the guest as fw_cfg opt/camera/huk
  --data IMG         the persistent data disk (default DIR/data.img)
  --rtc-base DATE    start the board's RTC at DATE (YYYY-MM-DD, e.g. 1970-01-01:
                     a camera whose clock was never set) instead of the host's time
  --print-command    print the qemu command line and exit

Each guest connection to 192.0.2.100:443 runs `socat STDIO TCP4:127.0.0.1:PORT`
on the host (guestfwd cmd:): QEMU 7.2's `guestfwd=...-tcp:` form opens one
host connection at start and cannot carry a second guest connection.

QEMU runs in the foreground (exec: the caller's $! is QEMU itself) and exits
when the guest powers off or reboots (-no-reboot).
EOF
}

image=$repo/out/board/qemu-virt-aarch64 port='' console='' agent_log='' huk='' data='' rtc='' print=no
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) help; exit 0 ;;
    --cloud-port) port=${2:?}; shift 2 ;;
    --image) image=${2:?}; shift 2 ;;
    --console) console=${2:?}; shift 2 ;;
    --agent-log) agent_log=${2:?}; shift 2 ;;
    --huk) huk=${2:?}; shift 2 ;;
    --data) data=${2:?}; shift 2 ;;
    --rtc-base) rtc=${2:?}; shift 2 ;;
    --print-command) print=yes; shift ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
done
die() { echo "run-qemu: error: $*" >&2; exit 1; }

# shellcheck source=board/qemu-virt-aarch64/board.conf
. "$here/board.conf"
console=${console:-$image/console.sock}
agent_log=${agent_log:-$image/agent.log}
huk=${huk:-$image/huk.bin}
data=${data:-$image/data.img}
case "$port" in ""|*[!0-9]*) die "--cloud-port PORT is required (the cloud's loopback port)" ;; esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then die "--cloud-port $port is out of range"; fi
for f in "$image/vmlinuz" "$image/initrd.gz" "$data"; do
  [ -s "$f" ] || die "$f is missing (run board/qemu-virt-aarch64/build-image.sh)"
done
[ -s "$huk" ] || die "HUK file $huk is missing"
[ "$(stat -c %a "$huk")" = 600 ] || die "HUK file $huk must be mode 0600"
[ ${#console} -lt 100 ] || die "console socket path is too long for a unix socket: $console"
command -v qemu-system-aarch64 >/dev/null 2>&1 \
  || die "qemu-system-aarch64 not found (apt-get install qemu-system-arm, or cross/setup-host.sh)"
command -v socat >/dev/null 2>&1 || die "socat not found (apt-get install socat, or cross/setup-host.sh)"
rm -f "$console"

# shellcheck disable=SC2206,SC2054 # QEMU_MACHINE is a list of options; commas are QEMU's
cmd=(qemu-system-aarch64 $QEMU_MACHINE -nodefaults -no-user-config -display none -no-reboot
  -kernel "$image/vmlinuz" -initrd "$image/initrd.gz"
  -append "console=ttyAMA0 rdinit=/init panic=-1 quiet loglevel=4"
  -chardev "socket,id=con,path=$console,server=on,wait=off" -serial chardev:con
  -device virtio-serial-device
  -chardev "file,id=agentlog,path=$agent_log,append=on" -device virtconsole,chardev=agentlog
  -drive "file=$data,if=none,format=raw,id=d0,cache=none" -device virtio-blk-device,drive=d0
  -fw_cfg "name=opt/camera/huk,file=$huk"
  -netdev "user,id=n0,net=192.0.2.0/24,host=192.0.2.2,restrict=on,guestfwd=tcp:$CLOUD_GUEST_ADDR:$CLOUD_GUEST_PORT-cmd:socat STDIO TCP4:127.0.0.1:$port"
  -device virtio-net-device,netdev=n0
  -device virtio-rng-device)
if [ -n "$rtc" ]; then
  case "$rtc" in
    [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) cmd+=(-rtc "base=$rtc") ;;
    *) die "--rtc-base $rtc: expected YYYY-MM-DD" ;;
  esac
fi
if [ "$print" = yes ]; then printf '%q ' "${cmd[@]}"; echo; exit 0; fi
exec "${cmd[@]}"
