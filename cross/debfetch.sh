# shellcheck shell=bash
# deb_fetch: Debian packages of another architecture, downloaded through the
# system's own apt sources with a private apt state and unpacked with
# dpkg-deb -x (sourced, not run). Used by board/qemu/build-image.sh,
# Tests/blackbox/mtd-nandsim.sh and Tests/blackbox/faketime.sh; cross/sysroot.sh
# has its own, larger variant (dependency closure, strict mode, a log file).
#
#   deb_fetch [--kernel FLAVOUR] DEBARCH CACHE DEST [PACKAGE...]
#
# CACHE holds apt's private state (CACHE/apt: lists, archives, an empty dpkg
# status; the host's apt configuration is never touched), the downloaded .debs
# (CACHE/debs) and the lock (CACHE/.lock, flock: one fetch per CACHE at a
# time; do not hold it when calling). DEST receives every package unpacked
# (built as DEST.partial, then moved into place) and a stamp, DEST/.debfetch,
# naming the request and the .debs: a second call with the same request does
# nothing. --kernel FLAVOUR adds Debian bookworm's kernel image
# linux-image-6.1.0-N-FLAVOUR, the one linux-image-FLAVOUR depends on (else the
# newest in the index).
#
# The apt sources are the system's /etc/apt/sources.list.d/debian.sources,
# linked (not copied: the mirror's name stays in the system's file), else the
# system's whole apt source configuration. 'apt-get update' is tried 3 times
# (mirrors mid-sync fail transiently with "File has unexpected size"), then
# goes on with a warning if some DEBARCH package index did download. apt's own
# messages name the mirror: they are shown, with URLs elided, only on failure
# and never saved.
#
# Progress lines go to stdout, warnings and errors to stderr, each prefixed
# with "$DEB_FETCH_TAG: " (default "debfetch"). Returns 0, or 1 after an error
# line.
#
# Also here: deb_host_need, the scripts' "install the host packages that are
# missing" step.

# deb_host_need CMD:PACKAGE...: installs with apt-get (as root) the host
# PACKAGE of each CMD not on PATH, running 'apt-get update' only when the
# first try fails. Returns 0, or 1 after an error line (not root: the
# apt-get command to run).
deb_host_need() {
  local tag=${DEB_FETCH_TAG:-debfetch} pair need=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
  done
  [ ${#need[@]} -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "$tag: error: missing ${need[*]}; install with: sudo apt-get install ${need[*]}" >&2
    return 1
  fi
  echo "$tag: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null; } \
    || { echo "$tag: error: could not install ${need[*]}" >&2; return 1; }
}

deb_fetch_nourl() { sed 's#[a-z]*://[^ ]*#<url>#g; s#\[IP: [^]]*\]##g'; }

deb_fetch() {
  local kernel=''
  while [ $# -gt 0 ]; do
    case "$1" in
      --kernel) kernel=${2:?--kernel needs a flavour}; shift 2 ;;
      *) break ;;
    esac
  done
  [ $# -ge 3 ] || { echo "usage: deb_fetch [--kernel FLAVOUR] DEBARCH CACHE DEST [PACKAGE...]" >&2; return 64; }
  local debarch=$1 cache=$2 dest=${3%/}
  shift 3
  if [ -z "$debarch" ] || [ -z "$cache" ] || [ -z "$dest" ]; then
    echo "deb_fetch: empty DEBARCH, CACHE or DEST" >&2
    return 64
  fi
  local tag=${DEB_FETCH_TAG:-debfetch}
  local request="arch=$debarch kernel=${kernel:--} packages=$*"
  local stamp=$dest/.debfetch
  mkdir -p "$cache" || return 1
  # A subshell: the lock (fd 9), apt's options and every exit stay in here.
  (
    fail() { echo "$tag: error: $*" >&2; exit 1; }
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$cache/.lock"
      flock -w 1800 9 || fail "timed out waiting for $cache/.lock"
    fi
    if [ -f "$stamp" ] && [ "$(sed -n 's/^request: //p' "$stamp")" = "$request" ]; then
      echo "$tag: cached in $dest: $(sed -n 's/^deb: //p' "$stamp" | paste -sd ' ')"
      exit 0
    fi
    local tool
    for tool in apt-get apt-cache dpkg-deb; do
      command -v "$tool" >/dev/null 2>&1 || fail "'$tool' not found (deb_fetch needs a Debian-like host with apt)"
    done

    local aptdir=$cache/apt aptout attempt=1
    mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources.list.d" || fail "cannot create $aptdir"
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
      ln -s /etc/apt/sources.list.d/debian.sources "$aptdir/sources.list.d/system.sources" || fail "cannot link the apt sources"
      apt_opts+=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$aptdir/sources.list.d")
    fi
    # apt's _apt download user cannot write into the repository's cache.
    [ "$(id -u)" = 0 ] && apt_opts+=(-o "APT::Sandbox::User=root")

    local what=$*
    [ -z "$kernel" ] || what="linux-image-$kernel's kernel${what:+, $what}"
    echo "$tag: fetching Debian's $debarch $what into $cache (once)"
    until aptout=$(apt-get "${apt_opts[@]}" update 2>&1); do
      echo "$tag: apt-get update failed (attempt $attempt/3): $(printf '%s\n' "$aptout" | grep -m1 '^E:' | deb_fetch_nourl)" >&2
      if [ "$attempt" -ge 3 ]; then
        if ! ls "$aptdir/lists/"*"_binary-${debarch}_Packages"* >/dev/null 2>&1; then
          printf '%s\n' "$aptout" | tail -n 5 | deb_fetch_nourl >&2
          fail "apt-get update failed and no $debarch package index is available"
        fi
        echo "$tag: WARNING: going on with the $debarch package indexes that did download" >&2
        break
      fi
      attempt=$((attempt + 1))
      sleep 5
    done

    local pkgs=("$@") kpkg
    if [ -n "$kernel" ]; then
      kpkg=$(apt-cache "${apt_opts[@]}" depends "linux-image-$kernel" 2>/dev/null \
        | sed -n "s/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-$kernel\)\$/\1/p" | head -n 1)
      if [ -z "$kpkg" ]; then
        kpkg=$(apt-cache "${apt_opts[@]}" search --names-only "^linux-image-6\.1\.0-[0-9]+-$kernel\$" 2>/dev/null \
          | awk '{print $1}' | sort -V | tail -n 1)
      fi
      [ -n "$kpkg" ] || fail "no linux-image-6.1.0-*-$kernel package in the $debarch index"
      echo "$tag: kernel package: $kpkg"
      pkgs=("$kpkg" "${pkgs[@]}")
    fi
    [ ${#pkgs[@]} -gt 0 ] || fail "no package to fetch"

    rm -rf "$cache/debs.partial" "$dest.partial"
    mkdir -p "$cache/debs.partial" "$dest.partial" || fail "cannot create $cache/debs.partial or $dest.partial"
    aptout=$(cd "$cache/debs.partial" && apt-get "${apt_opts[@]}" download "${pkgs[@]}" 2>&1) || {
      printf '%s\n' "$aptout" | tail -n 5 | deb_fetch_nourl >&2
      fail "apt-get download ${pkgs[*]} failed"
    }
    local deb debs=()
    for deb in "$cache/debs.partial/"*.deb; do
      [ -f "$deb" ] || fail "apt-get download left no .deb in $cache/debs.partial"
      echo "$tag: unpacking ${deb##*/}"
      dpkg-deb -x "$deb" "$dest.partial" || fail "dpkg-deb -x ${deb##*/} failed"
      debs+=("${deb##*/}")
    done
    { echo "request: $request"; printf 'deb: %s\n' "${debs[@]}"; } >"$dest.partial/.debfetch" || fail "cannot write the stamp"
    rm -rf "$dest" "$cache/debs"
    mv "$dest.partial" "$dest" || fail "cannot move $dest.partial to $dest"
    mv "$cache/debs.partial" "$cache/debs" || fail "cannot move $cache/debs.partial to $cache/debs"
  )
}
