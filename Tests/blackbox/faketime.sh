# shellcheck shell=bash
# libfaketime for the black-box scripts (sourced, not run): a board whose
# clock starts at 1970 is the agent under LD_PRELOAD=libfaketime.so.1.
# Needs: $repo.
#
# Hosted: Debian's libfaketime on this machine (installed with apt-get when
# missing and run as root). aarch64: the arm64 build of the same package,
# fetched once into <repo>/.cache/faketime/arm64/ through the system's own apt
# sources with a private apt state (cross/debfetch.sh), and loaded by
# the guest's dynamic loader under qemu-user.

# shellcheck source=cross/debfetch.sh
. "${repo:?faketime.sh needs \$repo}/cross/debfetch.sh"

# faketime_lib hosted|aarch64: prints the path of libfaketime.so.1 for that
# target, fetching it first if needed; returns 1 (with a reason on stderr)
# when it cannot be had.
faketime_lib() {
  case "$1" in
    hosted) faketime_host_lib ;;
    aarch64) faketime_foreign_lib arm64 aarch64-linux-gnu ;;
    *) echo "faketime: no libfaketime recipe for $1" >&2; return 1 ;;
  esac
}

faketime_host_lib() {
  local ma lib
  ma=$(gcc -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
  lib=/usr/lib/$ma/faketime/libfaketime.so.1
  if [ ! -f "$lib" ]; then
    [ "$(id -u)" = 0 ] || { echo "faketime: $lib missing; install with: sudo apt-get install libfaketime" >&2; return 1; }
    echo "faketime: installing libfaketime" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libfaketime >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libfaketime >/dev/null 2>&1; } \
      || { echo "faketime: could not install libfaketime" >&2; return 1; }
  fi
  echo "$lib"
}

# faketime_foreign_lib DEBARCH MULTIARCH
faketime_foreign_lib() {
  local debarch=$1 ma=$2
  local cache=$repo/.cache/faketime/$debarch
  local lib=$cache/root/usr/lib/$ma/faketime/libfaketime.so.1
  if [ ! -f "$lib" ]; then
    # stdout is the library's path: the fetch's progress lines go to stderr.
    DEB_FETCH_TAG=faketime deb_fetch "$debarch" "$cache" "$cache/root" "libfaketime:$debarch" >&2 || return 1
  fi
  [ -f "$lib" ] || { echo "faketime: $lib missing after unpacking" >&2; return 1; }
  echo "$lib"
}
