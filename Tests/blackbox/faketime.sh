# shellcheck shell=bash
# libfaketime for the black-box scripts (sourced, not run): a board whose
# clock starts at 1970 is the agent under LD_PRELOAD=libfaketime.so.1.
# Needs: $repo.
#
# Hosted: Debian's libfaketime on this machine (installed with apt-get when
# missing and run as root). aarch64: the arm64 build of the same package,
# fetched once into <repo>/.cache/faketime/arm64/ through the system's own apt
# sources with a private apt state (as cross/sysroot.sh does), and loaded by
# the guest's dynamic loader under qemu-user.

faketime_nourl() { sed 's#[a-z]*://[^ ]*#<url>#g; s#\[IP: [^]]*\]##g'; }

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
  if [ -f "$lib" ]; then
    echo "$lib"
    return 0
  fi
  mkdir -p "$cache"
  (
    set -e
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$cache/.lock"
      flock -w 600 9
    fi
    [ -f "$lib" ] && exit 0
    local aptdir=$cache/apt aptout attempt=1
    mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources.list.d"
    : >"$aptdir/status"
    local apt_opts=(
      -o "APT::Architecture=$debarch" -o "APT::Architectures=$debarch"
      -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
      -o "Dir::State::status=$aptdir/status"
      -o "Dir::State::extended_states=$aptdir/extended_states"
      -o "Acquire::Retries=3" -q
    )
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      # A symlink: the mirror's name stays in the system's own file.
      rm -f "$aptdir/sources.list.d/"*
      ln -s /etc/apt/sources.list.d/debian.sources "$aptdir/sources.list.d/system.sources"
      apt_opts+=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$aptdir/sources.list.d")
    fi
    [ "$(id -u)" = 0 ] && apt_opts+=(-o "APT::Sandbox::User=root")
    echo "faketime: fetching the $debarch libfaketime into $cache" >&2
    # apt's messages name the mirror: shown (URLs elided) on failure, never saved.
    until aptout=$(apt-get "${apt_opts[@]}" update 2>&1); do
      if [ "$attempt" -ge 3 ]; then
        ls "$aptdir/lists/"*"_binary-${debarch}_Packages"* >/dev/null 2>&1 || {
          printf '%s\n' "$aptout" | tail -n 5 | faketime_nourl >&2
          echo "faketime: apt-get update failed for $debarch" >&2
          exit 1
        }
        break
      fi
      attempt=$((attempt + 1))
      sleep 5
    done
    rm -rf "$cache/debs.partial" "$cache/root.partial"
    mkdir -p "$cache/debs.partial" "$cache/root.partial"
    aptout=$(cd "$cache/debs.partial" && apt-get "${apt_opts[@]}" download "libfaketime:$debarch" 2>&1) || {
      printf '%s\n' "$aptout" | tail -n 5 | faketime_nourl >&2
      echo "faketime: apt-get download libfaketime:$debarch failed" >&2
      exit 1
    }
    for deb in "$cache/debs.partial/"*.deb; do dpkg-deb -x "$deb" "$cache/root.partial"; done
    rm -rf "$cache/root" "$cache/debs"
    mv "$cache/root.partial" "$cache/root"
    mv "$cache/debs.partial" "$cache/debs"
  ) || return 1
  [ -f "$lib" ] || { echo "faketime: $lib missing after unpacking" >&2; return 1; }
  echo "$lib"
}
