#!/usr/bin/env bash
# Runs a binary built by cross/build.sh: ARM ones under qemu-user with the
# target's sysroot as the library root, x86_64 ones natively.
set -eu

usage_line="usage: cross/qemu-run.sh aarch64|armv7|x86_64 BINARY [ARGS...]"
usage() {
    echo "$usage_line"
    cat <<'EOF'

Runs BINARY with ARGS; its exit status is this script's exit status.

  aarch64  qemu-aarch64-static -L SYSROOT (default SYSROOT: <repo>/.sysroots/arm64)
  armv7    qemu-arm-static -L SYSROOT -E LD_LIBRARY_PATH=<its multiarch lib folders>
           (default SYSROOT: <repo>/.sysroots/armhf)
  x86_64   natively
A target that matches the host's own architecture also runs natively.

Environment:
  SYSROOT_AARCH64, SYSROOT_ARMV7   sysroot folders (as for cross/build.sh)
  TRIPLE_AARCH64, TRIPLE_ARMV7     multiarch folder names (default aarch64-linux-gnu,
                                   arm-linux-gnueabihf)
  QEMU_CPU_AARCH64, QEMU_CPU_ARMV7 CPU to emulate (default cortex-a53, cortex-a7)
EOF
}

die() { echo "qemu-run.sh: error: $*" >&2; exit 125; }

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") echo "$usage_line" >&2; exit 125 ;;
esac
[ $# -ge 2 ] || { echo "$usage_line" >&2; die "missing BINARY"; }
arch=$1
binary=$2
shift 2

repo=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$binary" ] || die "no such file: $binary"
case "$binary" in
    */*) ;;
    *) binary="./$binary" ;;
esac

host=$(uname -m)
case "$arch" in
    aarch64|arm64)
        [ "$host" = aarch64 ] && exec "$binary" "$@"
        debarch=arm64; qemu="qemu-aarch64"
        sysroot=${SYSROOT_AARCH64:-}; gnu=${TRIPLE_AARCH64:-aarch64-linux-gnu}
        cpu=${QEMU_CPU_AARCH64:-cortex-a53}
        ;;
    armv7|armhf)
        case "$host" in armv7*|armv8l) exec "$binary" "$@" ;; esac
        debarch=armhf; qemu="qemu-arm"
        sysroot=${SYSROOT_ARMV7:-}; gnu=${TRIPLE_ARMV7:-arm-linux-gnueabihf}
        cpu=${QEMU_CPU_ARMV7:-cortex-a7}
        ;;
    x86_64|amd64)
        [ "$host" = x86_64 ] || die "cannot run an x86_64 binary on $host"
        exec "$binary" "$@"
        ;;
    *) echo "$usage_line" >&2; die "unknown architecture '$arch'" ;;
esac

if [ -z "$sysroot" ]; then
    sysroot="$repo/.sysroots/$debarch"
    if [ ! -f "$sysroot/.sysroot-stamp" ]; then
        echo "qemu-run.sh: no sysroot at $sysroot: running cross/sysroot.sh $debarch" >&2
        "$repo/cross/sysroot.sh" "$debarch" >&2 || die "cross/sysroot.sh $debarch failed"
    fi
fi
[ -d "$sysroot" ] || die "sysroot folder $sysroot does not exist"

qemu_bin=$(command -v "$qemu-static" || command -v "$qemu" || true)
[ -n "$qemu_bin" ] || die "$qemu-static not found: apt-get install qemu-user-static"

# The armhf loader does not search the multiarch folders by itself under
# qemu (there is no ld.so.cache in the sysroot): name them.
libpath=""
for d in "$sysroot/lib/$gnu" "$sysroot/usr/lib/$gnu" "$sysroot/lib" "$sysroot/usr/lib"; do
    [ -d "$d" ] && libpath="${libpath:+$libpath:}$d"
done

exec "$qemu_bin" -cpu "$cpu" -L "$sysroot" -E "LD_LIBRARY_PATH=$libpath" "$binary" "$@"
