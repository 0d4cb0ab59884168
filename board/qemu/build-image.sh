#!/usr/bin/env bash
# Builds the image of an emulated camera board (one tool for every board;
# the board's facts come from board/<board>/board.conf): Debian bookworm's
# kernel for the board's architecture, a gzip'd newc initramfs (busybox-static,
# BusyBox init, the kernel modules the board needs, camera-agent with exactly
# the shared libraries it needs, the shared rootfs of board/qemu/rootfs and
# the board's own files), a persistent ext4 data disk and a per-board HUK.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage="usage: board/qemu/build-image.sh --board BOARD --ca CA.pem [--out DIR] [--binary PATH] [--version-id V] [--data-size MiB] [--new-data-disk] [--fetch-only]"
help() {
  echo "$usage"
  cat <<'EOF2'

  --board BOARD     a folder under board/ with a board.conf that has the
                    emulated-board section (qemu-virt-aarch64,
                    armv7-cortex-a7-camera)
  --ca CA.pem       CA bundle the cloud's certificate chains to; baked into the
                    image as /etc/camera-agent/ca.pem (required unless --fetch-only)
  --out DIR         output folder (default <repo>/out/board/BOARD)
  --binary PATH     the board's camera-agent (default out/ARCH/camera-agent;
                    built with cross/build.sh ARCH when missing)
  --version-id V    the firmware version in the image (default: board.conf)
  --data-size MiB   size of a new data disk (default 64)
  --new-data-disk   replace an existing data disk (erases the vault!)
  --fetch-only      only download and unpack the kernel and busybox (cached)

Writes DIR/vmlinuz, DIR/initrd.gz, DIR/data.img (only when missing: it holds
the vault, or on a NAND board the saved vault partition, and survives
rebuilds) and DIR/huk.bin (32 random bytes, mode 0600, only when missing: the
board's hardware-unique key, given to QEMU as a fw_cfg blob or a read-only
OTP disk, never put in the image). The kernel and busybox-static .debs are
downloaded once through the system's own apt sources with a private apt
state and cached in <repo>/.cache/board/KERNEL_CACHE.
EOF2
}

board='' ca='' out='' binary=''
version_id='' data_mib=64 new_disk=no fetch_only=no
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) help; exit 0 ;;
    --board) board=${2:?--board needs a name}; shift 2 ;;
    --ca) ca=${2:?--ca needs a file}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --version-id) version_id=${2:?--version-id needs a value}; shift 2 ;;
    --data-size) data_mib=${2:?--data-size needs MiB}; shift 2 ;;
    --new-data-disk) new_disk=yes; shift ;;
    --fetch-only) fetch_only=yes; shift ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
done

say() { echo "build-image: $*"; }
die() { echo "build-image: error: $*" >&2; exit 1; }

case "$board" in
  ""|*/*|.*) echo "$usage" >&2; exit 64 ;;
esac
bdir=$repo/board/$board
[ -r "$bdir/board.conf" ] || die "no board definition $bdir/board.conf"
BOARD='' EXTRA_MODULES='' EMU_DEFAULT_APPEND='' MOUNT_POINTS=''
# shellcheck source=board/qemu-virt-aarch64/board.conf
. "$bdir/board.conf"
[ "$BOARD" = "$board" ] || die "$bdir/board.conf names board '$BOARD'"
for v in ARCH DEB_ARCH MULTIARCH LOADER ELF_MACHINE QEMU_SYSTEM KERNEL_FLAVOUR KERNEL_CACHE EMU_DIR \
  HUK_DEVICE MODULES VAULT_BACKEND VAULT_PATH KEY_SOURCE FIRMWARE_VERSION_SOURCE VERSION_ID; do
  eval "[ -n \"\${$v:-}\" ]" || die "$bdir/board.conf has no $v: not an emulated board"
done
emu=$bdir/$EMU_DIR
out=${out:-$repo/out/board/$BOARD}
binary=${binary:-$repo/out/$ARCH/camera-agent}
version_id=${version_id:-$VERSION_ID}
case "$version_id" in
  ""|*[!A-Za-z0-9._+~-]*) die "--version-id must be 1-64 of A-Z a-z 0-9 . _ + - ~ (the agent refuses anything else)" ;;
esac
[ ${#version_id} -le 64 ] || die "--version-id is longer than 64 characters"
case "$data_mib" in ""|*[!0-9]*) die "--data-size must be a number of MiB" ;; esac
[ "$data_mib" -ge 16 ] || die "--data-size must be at least 16 MiB"
if [ "$fetch_only" = no ]; then
  [ -n "$ca" ] || die "--ca is required (the cloud's CA bundle); see --help"
  [ -s "$ca" ] || die "CA bundle $ca is missing or empty"
  grep -q 'BEGIN CERTIFICATE' "$ca" || die "$ca holds no PEM certificate"
fi

# --- host tools --------------------------------------------------------------
# shellcheck source=cross/debfetch.sh
. "$repo/cross/debfetch.sh"
DEB_FETCH_TAG=build-image deb_host_need cpio:cpio mkfs.ext4:e2fsprogs readelf:binutils gzip:gzip || exit 1
for tool in apt-get apt-cache dpkg-deb strings find sort stat; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done

# --- guest kernel and busybox (downloaded once, cached) -------------------------
cache=$repo/.cache/board/$KERNEL_CACHE
root=$cache/root
if ! ls "$root"/boot/vmlinuz-6.1.0-*-"$KERNEL_FLAVOUR" >/dev/null 2>&1 || [ ! -x "$root/bin/busybox" ]; then
  DEB_FETCH_TAG=build-image deb_fetch --kernel "$KERNEL_FLAVOUR" "$DEB_ARCH" "$cache" "$root" busybox-static || exit 1
else
  say "kernel and busybox: cached in $cache"
fi
kernel=$(find "$root/boot" -name "vmlinuz-6.1.0-*-$KERNEL_FLAVOUR" | sort -V | tail -n 1)
kver=${kernel##*/vmlinuz-}
moddir=$root/lib/modules/$kver
[ -d "$moddir" ] || die "no modules for $kver in $root"
[ "$fetch_only" = no ] || { say "fetched: kernel $kver, busybox $root/bin/busybox"; exit 0; }

# --- the agent -----------------------------------------------------------------
sysroot=$repo/.sysroots/$DEB_ARCH
if [ ! -x "$binary" ]; then
  [ "$binary" = "$repo/out/$ARCH/camera-agent" ] || die "no binary at $binary"
  say "no $binary: building it (cross/build.sh $ARCH)"
  "$repo/cross/build.sh" "$ARCH" >/dev/null || die "cross/build.sh $ARCH failed"
fi
[ -e "$sysroot$LOADER" ] || die "no $DEB_ARCH sysroot at $sysroot (run cross/sysroot.sh $DEB_ARCH)"
machine=$(readelf -h "$binary" | sed -n 's/^ *Machine: *//p')
[ "$machine" = "$ELF_MACHINE" ] || die "$binary is not an $ELF_MACHINE binary (readelf: $machine)"

# The emulated board's agent.conf must name the board definition's vault, key
# and firmware-version source (only the cloud and test timings may differ).
conf_value() { sed -n "s/^$1 *= *//p" "$emu/agent.conf" | tail -n 1; }
for pair in vault_backend:VAULT_BACKEND vault_path:VAULT_PATH key_source:KEY_SOURCE \
  firmware_version_source:FIRMWARE_VERSION_SOURCE; do
  key=${pair%%:*} var=${pair#*:} want=''
  eval "want=\$$var"
  [ "$(conf_value "$key")" = "$want" ] \
    || die "$emu/agent.conf: $key is '$(conf_value "$key")', the board definition says '$want'"
done

# --- initramfs -----------------------------------------------------------------
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ird=$work/initramfs
mkdir -p "$ird"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,root,lib/modules,"lib/$MULTIARCH",etc/camera-agent,etc/default,var/log}
for m in $MOUNT_POINTS; do mkdir -p "$ird$m"; done
chmod 1777 "$ird/tmp"
chmod 0700 "$ird/root"
cp "$root/bin/busybox" "$ird/bin/busybox"
ln -s busybox "$ird/bin/sh"
# BusyBox init as PID 1: the kernel runs /init, busybox sees argv[0] "init".
ln -s bin/busybox "$ird/init"

# Modules, dependencies first ('-' and '_' are the same in module names).
modorder=()
find_module() {
  local n=$1 alt
  alt=$(printf '%s' "$n" | tr '_-' '-_')
  find "$moddir/kernel" \( -name "$n.ko" -o -name "$alt.ko" \) -print -quit
}
add_module() {
  local name=$1 ko deps d m
  for m in "${modorder[@]+"${modorder[@]}"}"; do
    [ "$(printf '%s' "$m" | tr - _)" = "$(printf '%s' "$name" | tr - _)" ] && return 0
  done
  ko=$(find_module "$name")
  [ -n "$ko" ] || die "module $name not found under $moddir"
  deps=$(strings "$ko" | sed -n 's/^depends=//p' | head -n 1)
  for d in ${deps//,/ }; do add_module "$d"; done
  cp "$ko" "$ird/lib/modules/$name.ko"
  modorder+=("$name")
}
for m in $MODULES; do add_module "$m"; done
printf '%s\n' "${modorder[@]}" >"$ird/lib/modules/load-order"
say "kernel $kver; modules in load order: ${modorder[*]}"
if [ -n "$EXTRA_MODULES" ]; then
  # Loaded by the board's own init (with parameters); their dependencies, if
  # any, must be in MODULES.
  for m in $EXTRA_MODULES; do
    ko=$(find_module "$m")
    [ -n "$ko" ] || die "module $m not found under $moddir"
    cp "$ko" "$ird/lib/modules/$m.ko"
  done
  say "modules loaded by the board's init: $EXTRA_MODULES"
fi

# The loader and each shared library the binary needs (NEEDED, recursively);
# the binary itself is installed by the Buildroot package's recipe below.
cp -L "$sysroot$LOADER" "$ird$LOADER"
declare -A seen=()
libs=()
queue=("$binary")
# A board whose agent.conf keeps the identity key in its TPM (identity_key =
# tpm2...) also gets OpenSSL 3's tpm2 provider, where libcrypto looks for
# modules, and the TSS TCTI the provider loads by name for /dev/tpmrm0 (a
# dlopen, so no NEEDED names it); their own libraries follow below.
if grep -Eq '^[[:space:]]*identity_key[[:space:]]*=[[:space:]]*tpm2' "$bdir/agent.conf"; then
  provider=$sysroot/usr/lib/$MULTIARCH/ossl-modules/tpm2.so
  tcti=$sysroot/usr/lib/$MULTIARCH/libtss2-tcti-device.so.0
  if [ ! -e "$provider" ] || [ ! -e "$tcti" ]; then
    die "no tpm2-openssl in $sysroot (cross/sysroot.sh $DEB_ARCH)"
  fi
  mkdir -p "$ird/usr/lib/$MULTIARCH/ossl-modules"
  cp -L "$provider" "$ird/usr/lib/$MULTIARCH/ossl-modules/tpm2.so"
  cp -L "$tcti" "$ird/lib/$MULTIARCH/libtss2-tcti-device.so.0"
  seen[libtss2-tcti-device.so.0]=1
  libs+=(libtss2-tcti-device.so.0)
  queue+=("$provider" "$tcti")
  say "identity_key = tpm2: the tpm2 provider ($(stat -c %s "$provider") bytes) and the device TCTI are in the image"
fi
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}; queue=("${queue[@]:1}")
  for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${seen[$lib]:-}" ] && continue
    seen[$lib]=1
    [ "$lib" = "${LOADER##*/}" ] && continue
    src=
    for d in "lib/$MULTIARCH" "usr/lib/$MULTIARCH" lib usr/lib; do
      [ -e "$sysroot/$d/$lib" ] && { src=$sysroot/$d/$lib; break; }
    done
    [ -n "$src" ] || die "shared library $lib (needed by ${f##*/}) is not in $sysroot"
    cp -L "$src" "$ird/lib/$MULTIARCH/$lib"
    libs+=("$lib")
    queue+=("$src")
  done
done
lib_bytes=0
for lib in "${libs[@]}"; do lib_bytes=$((lib_bytes + $(stat -c %s "$ird/lib/$MULTIARCH/$lib"))); done
lib_bytes=$((lib_bytes + $(stat -c %s "$ird$LOADER")))
say "shared libraries (${#libs[@]} + loader, $((lib_bytes / 1024)) KiB): $(printf '%s\n' "${libs[@]}" | sort | tr '\n' ' ')"
say "camera-agent: $(stat -c %s "$binary") bytes"

# Board files: the shared rootfs (with the skeleton's passwd, group and
# shadow, root only, as Buildroot's skeleton), then the board's own (its
# storage and key init), then the board definition's files.
cp -R "$here/rootfs/." "$ird/"
cp -R "$emu/rootfs/." "$ird/"
chmod 0600 "$ird/etc/shadow"
[ ! -e "$bdir/mdev.conf" ] || cp "$bdir/mdev.conf" "$ird/etc/board-mdev.conf"
cp "$bdir/board.conf" "$ird/etc/board.conf"
chmod 0755 "$ird"/etc/init.d/* "$ird/usr/share/udhcpc/default.script"
cp "$ca" "$ird/etc/camera-agent/ca.pem"
chmod 0644 "$ird/etc/camera-agent/ca.pem" "$ird/etc/board.conf"
printf 'NAME="CamOS"\nID=camos\nPRETTY_NAME="CamOS %s (%s)"\nVERSION_ID=%s\n' \
  "$version_id" "$BOARD" "$version_id" >"$ird/etc/os-release"
# A vendor key=value firmware file when the board reads its version from one.
case "$FIRMWARE_VERSION_SOURCE" in
  keyvalue:*)
    kv=${FIRMWARE_VERSION_SOURCE#keyvalue:}
    kv_file=${kv%:*} kv_key=${kv##*:}
    mkdir -p "$ird$(dirname "$kv_file")"
    printf '# Written by the image build.\n%s=%s\nBOARD=%s\n' "$kv_key" "$version_id" "$BOARD" >"$ird$kv_file"
    chmod 0644 "$ird$kv_file"
    ;;
esac
printf '%s\n' "$BOARD" >"$ird/etc/hostname"

# The test bench's stand-in for systemd's notify socket (BusyBox init has
# none): Tests/system/notify-listener.c, built for the board with the Swift
# toolchain's clang against the sysroot, started by rcS before the agent; the
# agent gets NOTIFY_SOCKET through the emulated board's defaults. A real
# board's image has neither.
clang_bin=$(dirname "$(readlink -f "$(command -v swiftc)")")/clang
gcclib=$(find "$sysroot/usr/lib/gcc/$MULTIARCH" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)
cpu_flags=()
[ "$ARCH" != armv7 ] || cpu_flags=(-mfloat-abi=hard -mcpu=cortex-a7)
build_c() {  # OUT SOURCE
  "$clang_bin" --target="$MULTIARCH" --sysroot="$sysroot" "${cpu_flags[@]+"${cpu_flags[@]}"}" -O2 -Wall -Werror \
    -fuse-ld=lld -B"$gcclib" -L"$gcclib" -o "$ird$1" "$repo/$2" || die "could not build $2 for $ARCH"
}
build_c /usr/sbin/notify-listener Tests/system/notify-listener.c
# The emulated board's TPM bus (board/qemu/tpm-relay.c says why a relay):
# boards whose definition says TPM=swtpm.
case "${TPM:-none}" in
  swtpm) build_c /usr/sbin/tpm-relay board/qemu/tpm-relay.c; say "TPM: swtpm through the vTPM proxy (tpm-relay)" ;;
  none) ;;
  *) die "board.conf: unknown TPM $TPM (swtpm or none)" ;;
esac

# The agent, installed the Buildroot way: the package's own recipe
# (board/buildroot/package/camera-agent/camera-agent.mk) through
# buildroot-install.mk, whose PKG_DIR stands for Buildroot's build folder of
# the package ($(@D): the binary in out/ARCH/, the project's board/). It
# installs the binary, agent.conf (the emulated board's), the board's
# /etc/default/camera-agent, S90camera-agent, /var/lib/camera-agent and the
# man page, makes every file 0:0, creates the package's users with
# Buildroot's mkusers and applies its permissions with Buildroot's makedevs.
# Not root: under fakeroot, as Buildroot does, kept for the cpio below.
pkg=$work/camera-agent-pkg
mkdir -p "$pkg/out/$ARCH" "$work/br"
ln -s "$(readlink -f "$binary")" "$pkg/out/$ARCH/camera-agent"
ln -s "$repo/board" "$pkg/board"
fakeroot=()
[ "$(id -u)" = 0 ] || fakeroot=(fakeroot -s "$work/fakeroot.state" --)
if ! "${fakeroot[@]}" make -s -f "$here/buildroot-install.mk" REPO="$repo" BOARD="$BOARD" ARCH="$ARCH" \
  TARGET_DIR="$ird" PKG_DIR="$pkg" WORK="$work/br" CAMERA_AGENT_CONF="$emu/agent.conf" >"$work/br/install.log" 2>&1; then
  cat "$work/br/install.log" >&2
  die "the Buildroot package's install (board/qemu/buildroot-install.mk) failed"
fi
say "installed by camera-agent.mk (buildroot-install.mk): users $(sed -n 's/^\([^:]*\):x:\([0-9]*\):\([0-9]*\):.*/\1=\2:\3/p' "$ird/etc/passwd" | tr '\n' ' ')"
if [ -n "$EMU_DEFAULT_APPEND" ]; then
  printf '# Added by board/qemu/build-image.sh for the emulated board (board.conf EMU_DEFAULT_APPEND):\n%s\n' \
    "$EMU_DEFAULT_APPEND" >>"$ird/etc/default/camera-agent"
fi

# NOTIFY_SOCKET for the test bench's notify listener (built above).
printf '# Added by board/qemu/build-image.sh for the test bench: the notify listener rcS starts.\nexport NOTIFY_SOCKET=/run/camera-agent.notify\n' \
  >>"$ird/etc/default/camera-agent"

# The owners as installed (0:0 but for the package's PERMISSIONS), read
# under the same fakeroot when not root.
fakeroot=()
[ "$(id -u)" = 0 ] || fakeroot=(fakeroot -i "$work/fakeroot.state" --)
(cd "$ird" && find . | LC_ALL=C sort | "${fakeroot[@]}" cpio -o -H newc --quiet | gzip -9 >"$work/initrd.gz")
mv "$work/initrd.gz" "$out/initrd.gz"
cp "$kernel" "$out/vmlinuz"
say "initramfs: $out/initrd.gz $(stat -c %s "$out/initrd.gz") bytes ($(du -sk "$ird" | cut -f1) KiB unpacked); kernel: $out/vmlinuz $(stat -c %s "$out/vmlinuz") bytes"

# --- persistent data disk and the board's HUK ------------------------------------
if [ "$new_disk" = yes ] || [ ! -e "$out/data.img" ]; then
  rm -f "$out/data.img.partial"
  truncate -s "${data_mib}M" "$out/data.img.partial"
  mkfs.ext4 -q -F -L camdata -E root_owner=0:0 "$out/data.img.partial" >/dev/null \
    || die "mkfs.ext4 failed"
  mv "$out/data.img.partial" "$out/data.img"
  say "data disk: $out/data.img (new, ${data_mib} MiB ext4)"
else
  say "data disk: $out/data.img (kept: it holds the vault)"
fi
if [ ! -e "$out/huk.bin" ]; then
  # An OTP board's key comes as a 512-byte fuse bank on a read-only virtio
  # disk (a disk is whole sectors): the key is its first 32 bytes.
  (umask 077 && head -c 32 /dev/urandom >"$out/huk.bin.partial" \
    && { [ "$HUK_DEVICE" != virtio-otp ] || truncate -s 512 "$out/huk.bin.partial"; } \
    && mv "$out/huk.bin.partial" "$out/huk.bin")
  say "HUK: $out/huk.bin (new, 32 random bytes$([ "$HUK_DEVICE" != virtio-otp ] || echo ' in a 512-byte OTP bank'), mode 0600)"
else
  [ "$(stat -c %a "$out/huk.bin")" = 600 ] || die "$out/huk.bin must be mode 0600"
  say "HUK: $out/huk.bin (kept)"
fi
say "done: $out"
