#!/usr/bin/env bash
# Black-box test of the vault's raw MTD backend on a real kernel MTD device:
# Debian's armhf armmp kernel booted under qemu-system-arm (virt, cortex-a7)
# with nandsim (16 MiB SLC NAND, 512-byte pages, 16 KiB erase blocks) as
# /dev/mtd0, running the Embedded armv7 camera-agent from an initramfs.
# The guest's /init runs provision / status / re-provision / --force / wipe,
# and wipe, reauth and provision while the daemon owns /dev/mtd0 (refused
# with 75), and prints CAMTEST result lines on the console; this script
# checks them.
set -eu

usage="usage: Tests/blackbox/mtd-nandsim.sh [BINARY]   (default: out/armv7/camera-agent)"
case "${1:-}" in
  -h|--help)
    echo "$usage"
    cat <<'EOF'

Downloads (once, cached in <repo>/.cache/board/armhf/) Debian's armhf
linux-image-6.1.0-*-armmp and busybox-static through the system's own apt
sources with a private apt state, builds an initramfs with busybox, nandsim,
the armv7 binary and its shared libraries, a random HUK (/etc/huk) and an
agent.conf with vault_backend = mtd, boots it with qemu-system-arm (no
network) and checks the console output. Needs qemu-system-arm and cpio
(installed with apt-get if missing, when run as root).

Environment:
  MTD_TIMEOUT  seconds to wait for the guest to finish (default 180)
EOF
    exit 0 ;;
  -*) echo "$usage" >&2; exit 64 ;;
esac

arch=armv7
repo=$(cd "$(dirname "$0")/../.." && pwd)
binary=${1:-$repo/out/armv7/camera-agent}
[ -x "$binary" ] || { echo "mtd-nandsim: no binary at $binary (run cross/build.sh armv7)" >&2; exit 1; }
sysroot=$repo/.sysroots/armhf
[ -e "$sysroot/lib/ld-linux-armhf.so.3" ] || { echo "mtd-nandsim: no armhf sysroot at $sysroot (run cross/sysroot.sh armhf)" >&2; exit 1; }
timeout_s=${MTD_TIMEOUT:-180}
t_start=$(date +%s)

die() { echo "mtd-nandsim: error: $*" >&2; exit 1; }

# --- host tools -------------------------------------------------------------
# shellcheck source=cross/debfetch.sh
. "$repo/cross/debfetch.sh"
DEB_FETCH_TAG=mtd-nandsim deb_host_need qemu-system-arm:qemu-system-arm cpio:cpio || exit 1
for tool in apt-get apt-cache dpkg-deb readelf gzip od strings; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done

# --- guest kernel and busybox (cached) ---------------------------------------
cache=$repo/.cache/board/armhf
root=$cache/root
if ! ls "$root"/boot/vmlinuz-6.1.0-*-armmp >/dev/null 2>&1 || [ ! -x "$root/bin/busybox" ]; then
  DEB_FETCH_TAG=mtd-nandsim deb_fetch --kernel armmp armhf "$cache" "$root" busybox-static || exit 1
fi
kernel=$(find "$root/boot" -name 'vmlinuz-6.1.0-*-armmp' | sort -V | tail -n 1)
kver=${kernel##*/vmlinuz-}
moddir=$root/lib/modules/$kver
[ -d "$moddir" ] || die "no modules for $kver in $root"

# --- initramfs ---------------------------------------------------------------
work=$(mktemp -d)
qpid=
cleanup() {
  if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=Tests/blackbox/lib.sh
. "$repo/Tests/blackbox/lib.sh"

ird=$work/initramfs
mkdir -p "$ird"/{bin,sbin,proc,sys,dev,tmp,lib/modules,lib/arm-linux-gnueabihf,usr/bin,etc/camera-agent}
cp "$root/bin/busybox" "$ird/bin/busybox"
ln -s busybox "$ird/bin/sh"

# Modules: nandsim and whatever its depends= names, dependencies first.
modorder=()
find_module() { # NAME -> path of NAME.ko ('-' and '_' are the same)
  local n=$1 alt
  alt=$(printf '%s' "$n" | tr '_-' '-_')
  find "$moddir/kernel" \( -name "$n.ko" -o -name "$alt.ko" \) -print -quit
}
add_module() {
  local name=$1 ko deps d m
  for m in "${modorder[@]+"${modorder[@]}"}"; do [ "$m" = "$name" ] && return 0; done
  ko=$(find_module "$name")
  [ -n "$ko" ] || die "module $name not found under $moddir"
  deps=$(strings "$ko" | sed -n 's/^depends=//p' | head -n 1)
  for d in ${deps//,/ }; do add_module "$d"; done
  cp "$ko" "$ird/lib/modules/$name.ko"
  modorder+=("$name")
}
add_module nandsim
echo "kernel $kver; modules (in load order): ${modorder[*]}"

# The binary and its shared libraries (NEEDED, recursively), plus the loader.
cp "$binary" "$ird/usr/bin/camera-agent"
cp -L "$sysroot/lib/ld-linux-armhf.so.3" "$ird/lib/ld-linux-armhf.so.3"
declare -A seen=()
queue=("$binary")
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}; queue=("${queue[@]:1}")
  for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${seen[$lib]:-}" ] && continue
    seen[$lib]=1
    [ "$lib" = ld-linux-armhf.so.3 ] && continue
    src=
    for d in lib/arm-linux-gnueabihf usr/lib/arm-linux-gnueabihf; do
      [ -e "$sysroot/$d/$lib" ] && { src=$sysroot/$d/$lib; break; }
    done
    [ -n "$src" ] || die "shared library $lib (needed by ${f##*/}) not in $sysroot"
    cp -L "$src" "$ird/lib/arm-linux-gnueabihf/$lib"
    queue+=("$src")
  done
done
echo "shared libraries: ${#seen[@]}"

head -c 32 /dev/urandom >"$ird/etc/huk"
chmod 0400 "$ird/etc/huk"
huk_hex=$(od -An -v -tx1 "$ird/etc/huk" | tr -d ' \n')
cat >"$ird/etc/camera-agent/agent.conf" <<'EOF'
vault_backend = mtd
vault_path = /dev/mtd0
key_source = file:/etc/huk
EOF
# The daemon's configuration for the one-owner check: a cloud that is never
# there (no network), so the daemon backs off and keeps running.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" \
  -out "$ird/etc/camera-agent/ca.pem" -subj /CN=mtd-nandsim-test -days 2 2>/dev/null
cat "$ird/etc/camera-agent/agent.conf" - >"$ird/etc/camera-agent/daemon.conf" <<'EOF'
server = https://127.0.0.1:9
ca_file = /etc/camera-agent/ca.pem
state_file = /tmp/state
syslog = no
EOF

{
  cat <<'EOF'
#!/bin/sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "CAMTEST boot uptime=$(cut -d' ' -f1 /proc/uptime)"
EOF
  for m in "${modorder[@]}"; do
    if [ "$m" = nandsim ]; then
      echo '# ST NAND016: 16 MiB SLC NAND, 512-byte pages, 16 KiB erase blocks.'
      echo 'insmod /lib/modules/nandsim.ko first_id_byte=0x20 second_id_byte=0x33'
    else
      echo "insmod /lib/modules/$m.ko"
    fi
    echo "echo \"CAMTEST status=\$? step=insmod-$m\""
  done
  cat <<'EOF'
n=0; while [ ! -c /dev/mtd0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
echo "CAMTEST mtd0=$([ -c /dev/mtd0 ] && echo yes || echo no)"
sed -n 's/^\(mtd0\): \([0-9a-f]*\) \([0-9a-f]*\) .*/CAMTEST mtdinfo size=\2 erasesize=\3/p' /proc/mtd
if [ -r /sys/class/mtd/mtd0/writesize ]; then echo "CAMTEST mtdinfo writesize=$(cat /sys/class/mtd/mtd0/writesize) type=$(cat /sys/class/mtd/mtd0/type)"; fi
# step NAME ARGS...: runs camera-agent; prints its output and exit status.
step() {
  name=$1; shift
  /usr/bin/camera-agent "$@" >/tmp/out 2>/tmp/err
  rc=$?
  sed "s/^/CAMOUT $name /" /tmp/out
  sed "s/^/CAMERR $name /" /tmp/err
  echo "CAMTEST status=$rc step=$name"
}
# rawdump NAME: the first two erase blocks of /dev/mtd0 (both vault slots), as hex.
rawdump() {
  dd if=/dev/mtd0 bs=16k count=2 2>/dev/null | od -An -v -tx1 | sed "s/^/CAMHEX $1 /"
  echo "CAMTEST raw=$1 begin=$(dd if=/dev/mtd0 bs=16k count=2 2>/dev/null | grep -c BEGIN)"
}
step status-empty status
step provision provision --device-id cam-mtd-01
step status-1 status
rawdump gen1
step provision-again provision --device-id cam-mtd-01
step provision-force provision --device-id cam-mtd-01 --force
step status-2 status
rawdump gen2
# One owner at a time: while the daemon holds /dev/mtd0, commands that
# change the vault refuse with 75 and change nothing; status still reads.
/usr/bin/camera-agent --config /etc/camera-agent/daemon.conf run >/tmp/daemon.out 2>/tmp/daemon.err &
daemon=$!
n=0; while ! grep -q 'state starting ->' /tmp/daemon.err && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
echo "CAMTEST daemon-started=$(grep -c 'state starting ->' /tmp/daemon.err) pid=$daemon"
step wipe-busy wipe --local-only
step reauth-busy reauth
step provision-busy provision --device-id cam-mtd-01 --force
step status-busy status
rawdump busy
kill -TERM $daemon; wait $daemon
echo "CAMTEST daemon-exit=$?"
step wipe wipe
step status-wiped status
rawdump wiped
echo "CAMTEST done uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
EOF
} >"$ird/init"
chmod 0755 "$ird/init"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 >"$work/initrd.gz")
echo "initramfs: $(($(stat -c %s "$work/initrd.gz") / 1024)) KiB"

# --- boot --------------------------------------------------------------------
log=$work/console.log
t_boot=$(date +%s.%N)
qemu-system-arm -M virt -cpu cortex-a7 -m 256 -nographic -no-reboot -nic none \
  -kernel "$kernel" -initrd "$work/initrd.gz" \
  -append "console=ttyAMA0 panic=-1 quiet rdinit=/init" \
  </dev/null >"$log" 2>&1 &
qpid=$!
timed_out=0
t_init=
deadline=$(($(date +%s) + timeout_s))
while kill -0 "$qpid" 2>/dev/null; do
  if [ -z "$t_init" ] && grep -q '^CAMTEST boot' "$log" 2>/dev/null; then t_init=$(date +%s.%N); fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    timed_out=1
    kill "$qpid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
wait "$qpid" 2>/dev/null || true
qpid=
t_end=$(date +%s.%N)
[ -n "$t_init" ] || { grep -q '^CAMTEST boot' "$log" && t_init=$t_end; } || true
tr -d '\r' <"$log" >"$log.txt"
log=$log.txt

secs() { awk "BEGIN{printf \"%.1f\", $2 - $1}"; }
if [ -n "$t_init" ]; then
  echo "boot: /init reached after $(secs "$t_boot" "$t_init") s wall ($(sed -n 's/^CAMTEST boot uptime=//p' "$log") s guest uptime); guest run $(secs "$t_boot" "$t_end") s wall (guest uptime at end $(sed -n 's/^CAMTEST done uptime=//p' "$log") s)"
fi

# --- checks ------------------------------------------------------------------
has() { grep -qxF "$1" "$log"; }
out() { sed -n "s/^CAMOUT $1 //p" "$log"; }
err() { sed -n "s/^CAMERR $1 //p" "$log"; }
val() { out "$1" | sed -n "s/^$2=//p"; }
hex() { sed -n "s/^CAMHEX $1 //p" "$log" | tr -d ' \n'; }
thumb_of() { out "$1" | sed -n 's/.*"thumbprint":"\([^"]*\)".*/\1/p'; }

check "guest finished within ${timeout_s} s" test "$timed_out" = 0
check "guest reached the end of /init" grep -q '^CAMTEST done' "$log"
for m in "${modorder[@]}"; do
  check "insmod $m" has "CAMTEST status=0 step=insmod-$m"
done
check "/dev/mtd0 exists" has "CAMTEST mtd0=yes"
check "mtd0 is 16 MiB NAND, 16 KiB erase blocks, 512-byte pages" \
  sh -c "grep -qx 'CAMTEST mtdinfo size=01000000 erasesize=00004000' '$log' && grep -qx 'CAMTEST mtdinfo writesize=512 type=nand' '$log'"

check "status of the empty device: unprovisioned" \
  sh -c "grep -qx 'CAMTEST status=0 step=status-empty' '$log' && grep -qx 'CAMOUT status-empty vault=unprovisioned' '$log'"
check "provision exits 0" has "CAMTEST status=0 step=provision"
check "provision prints device id, JWK and thumbprint" \
  sh -c "sed -n 's/^CAMOUT provision //p' '$log' | grep -q '^{\"device_id\":\"cam-mtd-01\",\"jwk\":{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"[A-Za-z0-9_-]\{43\}\",\"y\":\"[A-Za-z0-9_-]\{43\}\"},\"thumbprint\":\"[A-Za-z0-9_-]\{43\}\"}\$'"
thumb1=$(thumb_of provision)
check "fresh process: provisioned cam-mtd-01, generation 1" \
  sh -c "grep -qx 'CAMTEST status=0 step=status-1' '$log' && grep -qx 'CAMOUT status-1 device_id=cam-mtd-01' '$log' && grep -qx 'CAMOUT status-1 generation=1' '$log'"
check "fresh process: same identity thumbprint" sh -c "[ -n '$thumb1' ] && [ '$(val status-1 identity_thumbprint)' = '$thumb1' ]"
gen1=$(hex gen1)
check "raw device holds a record after provision (not erased)" \
  sh -c "[ \${#1} = 65536 ] && printf '%s' \"\$1\" | grep -q '[0-9a-e]'" _ "$gen1"
check "second provision refused with exit 73" \
  sh -c "grep -qx 'CAMTEST status=73 step=provision-again' '$log' && grep -q '^CAMERR provision-again .*already provisioned as cam-mtd-01' '$log'"
thumb2=$(thumb_of provision-force)
check "provision --force: new identity" \
  sh -c "grep -qx 'CAMTEST status=0 step=provision-force' '$log' && [ -n '$thumb2' ] && [ '$thumb2' != '$thumb1' ]"
check "fresh process after re-key: generation 2, the new thumbprint" \
  sh -c "grep -qx 'CAMOUT status-2 generation=2' '$log' && [ '$(val status-2 identity_thumbprint)' = '$thumb2' ]"
gen2=$(hex gen2)
check "raw device changed with the re-key" sh -c "[ \${#1} = 65536 ] && [ \"\$1\" != \"\$2\" ]" _ "$gen2" "$gen1"
begin_hex=$(printf 'BEGIN' | od -An -v -tx1 | tr -d ' \n')
d_hex=$(printf '"d"' | od -An -v -tx1 | tr -d ' \n')
check "raw device: no 'BEGIN' (guest grep)" \
  sh -c "grep -qx 'CAMTEST raw=gen1 begin=0' '$log' && grep -qx 'CAMTEST raw=gen2 begin=0' '$log'"
check "raw device: no PEM, no JWK private member, no HUK bytes" \
  sh -c "[ \${#1} = 65536 ] && [ \${#2} = 65536 ] || exit 1; for h in \"\$1\" \"\$2\"; do case \"\$h\" in *\"\$3\"*|*\"\$4\"*|*\"\$5\"*) exit 1 ;; esac; done" _ "$gen1" "$gen2" "$begin_hex" "$d_hex" "$huk_hex"
check "status output never contains the HUK (hex) or secrets" \
  sh -c "! sed -n 's/^CAMOUT status-[^ ]* //p' \"\$1\" | grep -qi -e '$huk_hex' -e BEGIN -e '\"d\"'" _ "$log"
# Issue 13 item 6: the re-key destroyed the old identity's slot.
gen2_hex=$(hex gen2)
# one_block_erased HEX: of the two 16 KiB blocks in HEX, one reads all 0xff.
one_block_erased() {
  local first second
  [ "${#1}" = 65536 ] || return 1
  first=${1:0:32768}
  second=${1:32768}
  [ -z "${first//f/}" ] || [ -z "${second//f/}" ]
}
check "after re-key: the old identity's slot is erased (one of the two blocks all 0xff)" \
  one_block_erased "$gen2_hex"
check "after re-key: the new record is there (not both blocks erased)" \
  sh -c "[ \"\$(printf %s \"\$1\" | tr -d f)\" != '' ]" _ "$gen2_hex"
# Issue 13 item 8 on the MTD backend.
daemon_pid=$(sed -n 's/^CAMTEST daemon-started=[1-9][0-9]* pid=//p' "$log")
check "daemon started in the guest" test -n "$daemon_pid"
for s in wipe-busy reauth-busy provision-busy; do
  check "$s: exit 75 naming the daemon's pid $daemon_pid" \
    sh -c "grep -qxF 'CAMTEST status=75 step=$s' '$log' && grep -q 'CAMERR $s .*the daemon is running (pid $daemon_pid).*stop it first' '$log'"
done
check "status beside the daemon: exit 0, generation 2" \
  sh -c "grep -qxF 'CAMTEST status=0 step=status-busy' '$log' && grep -qxF 'CAMOUT status-busy generation=2' '$log'"
check "refused commands changed nothing on the raw device" test "$(hex busy)" = "$gen2_hex"
check "daemon stopped cleanly on SIGTERM" has "CAMTEST daemon-exit=0"
check "wipe exits 0" has "CAMTEST status=0 step=wipe"
check "fresh process after wipe: unprovisioned" \
  sh -c "grep -qx 'CAMTEST status=0 step=status-wiped' '$log' && grep -qx 'CAMOUT status-wiped vault=unprovisioned' '$log'"
wiped=$(hex wiped)
check "after wipe: both vault slots erased (all 0xff)" \
  sh -c "[ \${#1} = 65536 ] && ! printf '%s' \"\$1\" | grep -q '[0-9a-e]'" _ "$wiped"

if [ "$failed" != 0 ] || [ "$timed_out" = 1 ]; then
  echo "---- console log (CAMTEST/CAMOUT/CAMERR lines and kernel messages, hex omitted)"
  grep -v '^CAMHEX' "$log" | tail -n 80
fi
echo "total: $(($(date +%s) - t_start)) s"
summary mtd-nandsim
