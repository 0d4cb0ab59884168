#!/usr/bin/env bash
# Builds Debian 12 (bookworm) sysroots for cross-compiling camera-agent.
#
# The packages come from the archive named in the machine's own apt sources;
# the host's apt configuration (architectures, lists, dpkg status) is never
# touched: apt runs with private lists/cache/status folders under .cache/.
set -eu

usage_line="usage: cross/sysroot.sh [--refresh] [arm64|armhf|all]    (default: all)"
usage() {
    echo "$usage_line"
    cat <<'EOF'

Builds <repo>/.sysroots/<arch> from Debian packages (libc6-dev,
libcurl4-openssl-dev, libssl-dev, libgcc-12-dev and their dependencies, plus
tpm2-openssl and libtss2-tcti-device0: not linked against, but the emulated
boards' images carry them for identity_key = tpm2), downloaded into <repo>/.cache/sysroot/<arch>/ and unpacked with dpkg -x.

  --refresh   re-read the package index even if the sysroot is up to date
              (rebuilds only if a package version changed)
  -h, --help  show this help

Environment:
  SYSROOT_EXTRA_PACKAGES  extra Debian packages to add (space-separated)
  SYSROOT_STRICT=1        fail if any package index fails to download (default:
                          warn and go on with the indexes that did download)
  SYSROOT_APT_SOURCES     apt sources file to use (.sources or .list format);
                          default: /etc/apt/sources.list.d/debian.sources,
                          else the system's whole apt source configuration
EOF
}

die() { echo "sysroot.sh: error: $*" >&2; exit 1; }

refresh=0
target=all
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --refresh) refresh=1 ;;
        arm64|armhf|all) target="$1" ;;
        aarch64) target=arm64 ;;
        armv7) target=armhf ;;
        *) echo "$usage_line" >&2; die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done

repo=$(cd "$(dirname "$0")/.." && pwd)
base_packages="libc6-dev libcurl4-openssl-dev libssl-dev libgcc-12-dev"
# Run time only, for a board whose identity key is in its TPM: OpenSSL 3's
# tpm2 provider (loaded by libcrypto from ossl-modules/) and the TSS TCTI it
# loads for /dev/tpmrm0. Nothing is linked against them.
base_packages="$base_packages tpm2-openssl libtss2-tcti-device0"
# Bump when the way a sysroot is laid out changes: forces a rebuild.
recipe_version=1

for tool in apt-get apt-cache dpkg-deb realpath sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (this script needs a Debian-like host with apt)"
done

# Which apt sources to read. Only the Debian archive by default: third-party
# repositories configured on the host rarely carry arm64/armhf packages.
sources_file="${SYSROOT_APT_SOURCES:-}"
if [ -z "$sources_file" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sources_file=/etc/apt/sources.list.d/debian.sources
fi
if [ -n "$sources_file" ]; then
    [ -f "$sources_file" ] || die "apt sources file '$sources_file' does not exist"
    sources_file=$(realpath "$sources_file")
    sources_desc="$sources_file"
    sources_hash=$(sha256sum < "$sources_file" | cut -c1-16)
else
    sources_desc="the system's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/)"
    sources_hash=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null | sha256sum | cut -c1-16)
fi

multiarch_of() {
    case "$1" in
        arm64) echo aarch64-linux-gnu ;;
        armhf) echo arm-linux-gnueabihf ;;
    esac
}
loader_of() {
    case "$1" in
        arm64) echo lib/ld-linux-aarch64.so.1 ;;
        armhf) echo lib/ld-linux-armhf.so.3 ;;
    esac
}

# Runs apt-get/apt-cache for $arch with private state. Sets the global apt_opts.
setup_apt() {
    local arch=$1 aptdir=$2
    mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources.list.d"
    : > "$aptdir/status"
    apt_opts=(
        -o "APT::Architecture=$arch"
        -o "APT::Architectures=$arch"
        -o "Dir::State::Lists=$aptdir/lists"
        -o "Dir::Cache=$aptdir/cache"
        -o "Dir::State::status=$aptdir/status"
        -o "Dir::State::extended_states=$aptdir/extended_states"
        -o "APT::Get::List-Cleanup=1"
        -o "Acquire::Retries=3"
        -q
    )
    if [ -n "$sources_file" ]; then
        # A symlink, not a copy: the mirror's name stays in the system's file.
        rm -f "$aptdir/sources.list.d/"*
        case "$sources_file" in
            *.sources) ln -s "$sources_file" "$aptdir/sources.list.d/system.sources" ;;
            *.list)    ln -s "$sources_file" "$aptdir/sources.list.d/system.list" ;;
            *) die "SYSROOT_APT_SOURCES must end in .sources or .list: $sources_file" ;;
        esac
        apt_opts+=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$aptdir/sources.list.d")
    fi
    if [ "$(id -u)" = 0 ]; then
        # apt's _apt download user cannot write into the repo's cache folder.
        apt_opts+=(-o "APT::Sandbox::User=root")
    fi
}

# Lists the Packages indexes apt has for $arch.
package_indexes() {
    local f
    for f in "$1/lists/"*"_binary-${2}_Packages"*; do
        [ -f "$f" ] && basename "$f"
    done
    return 0
}

# Fixes absolute symlinks so they point inside the sysroot.
relativize_links() {
    local root=$1 link target rel n=0
    while IFS= read -r -d '' link; do
        target=$(readlink "$link")
        case "$target" in
            /*)
                rel=$(realpath -m -s --relative-to="$(dirname "$link")" "$root$target")
                ln -sfn "$rel" "$link"
                n=$((n + 1))
                ;;
        esac
    done < <(find "$root" -type l -print0)
    echo "$n"
}

build_one() {
    local arch=$1
    local ma; ma=$(multiarch_of "$arch")
    local cache="$repo/.cache/sysroot/$arch"
    local debs="$cache/debs"
    local dest="$repo/.sysroots/$arch"
    local stamp="$dest/.sysroot-stamp"
    local work="$repo/.sysroots/.$arch.partial"
    local packages="$base_packages ${SYSROOT_EXTRA_PACKAGES:-}"
    packages=$(tr -s ' \t' '\n' <<< "$packages" | grep -v '^$' | sort -u | tr '\n' ' ')
    packages=${packages% }
    local request="recipe=$recipe_version sources=$sources_hash packages=$packages"

    # One build per arch at a time (e.g. two build.sh runs at once).
    mkdir -p "$cache" "$repo/.sysroots"
    if command -v flock >/dev/null 2>&1; then
        exec 9> "$cache/.lock"
        if ! flock -n 9; then
            echo "[$arch] waiting for another sysroot.sh run to finish"
            flock -w 1800 9 || die "[$arch] timed out waiting for $cache/.lock"
        fi
    fi

    if [ "$refresh" = 0 ] && [ -f "$stamp" ] && [ "$(sed -n 's/^request: //p' "$stamp")" = "$request" ] \
        && [ -e "$dest/$(loader_of "$arch")" ]; then
        echo "[$arch] up to date: $dest ($(grep -c '^pkg ' "$stamp") packages)"
        if grep -q '^degraded: 1' "$stamp"; then
            echo "[$arch] note: built while some package indexes failed to download; 'cross/sysroot.sh --refresh $arch' retries"
        fi
        return 0
    fi

    local t0; t0=$(date +%s)
    local aptdir="$cache/apt"
    setup_apt "$arch" "$aptdir"
    local log="$cache/apt.log"

    echo "[$arch] updating package index from $sources_desc"
    # Mirrors mid-sync ("File has unexpected size") fail transiently: retry.
    local attempt=1 degraded=0
    until apt-get "${apt_opts[@]}" update > "$log" 2>&1; do
        echo "[$arch] apt-get update failed (attempt $attempt/3): $(grep -m1 '^E:' "$log" || tail -n1 "$log")" >&2
        if [ "$attempt" -ge 3 ]; then
            # apt keeps the indexes it did fetch. Going on without, say, one
            # suite's index beats failing the whole build, unless asked not to.
            if [ "${SYSROOT_STRICT:-0}" != 0 ] || [ -z "$(package_indexes "$aptdir" "$arch")" ]; then
                sed 's/^/    /' "$log" >&2
                die "[$arch] 'apt-get update' failed $attempt times for architecture $arch (log: $log). Is the network up and does the archive carry $arch?"
            fi
            echo "[$arch] WARNING: going on with the package indexes that did download:" >&2
            package_indexes "$aptdir" "$arch" | sed 's/^/    /' >&2
            echo "[$arch] WARNING: packages of the failed suite(s) are missing or older (set SYSROOT_STRICT=1 to fail instead)" >&2
            degraded=1
            break
        fi
        echo "[$arch] retrying in 10s" >&2
        attempt=$((attempt + 1))
        sleep 10
    done
    if [ -z "$(package_indexes "$aptdir" "$arch")" ]; then
        die "[$arch] the apt sources ($sources_desc) provide no $arch package index"
    fi

    echo "[$arch] resolving dependencies of: $packages"
    local names
    # shellcheck disable=SC2086
    if ! names=$(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests \
            --no-conflicts --no-breaks --no-replaces --no-enhances $packages 2> "$log.err"); then
        sed 's/^/    /' "$log.err" >&2
        die "[$arch] 'apt-cache depends' failed: a package name is wrong or missing from the $arch archive"
    fi
    # Top-level lines are package names; <name> entries are virtual packages.
    names=$(printf '%s\n' "$names" | grep -v '^ ' | grep -v '^<' | sed 's/:.*$//' | sort -u)
    [ -n "$names" ] || die "[$arch] dependency resolution returned no packages"
    local want
    for want in $packages; do
        printf '%s\n' "$names" | grep -qxF "$want" || {
            sed 's/^/    /' "$log.err" >&2
            die "[$arch] package '$want' is not in the $arch archive (or is only a virtual package: name a real one)"
        }
    done

    # name version architecture, for the candidate version of each package.
    local manifest
    # shellcheck disable=SC2086
    if ! manifest=$(apt-cache "${apt_opts[@]}" show --no-all-versions $names 2> "$log.err" \
            | awk '/^Package:/{p=$2} /^Version:/{v=$2} /^Architecture:/{a=$2} /^$/{if(p!="")print p" "v" "a; p=""} END{if(p!="")print p" "v" "a}' \
            | sort -u); then
        sed 's/^/    /' "$log.err" >&2
        die "[$arch] 'apt-cache show' failed"
    fi
    local count; count=$(printf '%s\n' "$manifest" | wc -l)

    local new_stamp
    new_stamp=$(printf 'request: %s\narch: %s\nmultiarch: %s\ndegraded: %s\n' "$request" "$arch" "$ma" "$degraded"
                printf '%s\n' "$manifest" | sed 's/^/pkg /')
    if [ -f "$stamp" ] && [ -e "$dest/$(loader_of "$arch")" ] && [ "$(cat "$stamp")" = "$new_stamp" ]; then
        echo "[$arch] up to date: $dest ($count packages, same versions as the archive)"
        return 0
    fi

    # Download what the cache does not have yet. apt verifies each file against
    # the index; files land in a partial folder first so an interrupted
    # download never leaves a truncated .deb in the cache.
    mkdir -p "$debs"
    local missing=() p v a file
    while read -r p v a; do
        file="${p}_${v//:/%3a}_${a}.deb"
        [ -f "$debs/$file" ] || missing+=("$p=$v")
    done <<< "$manifest"
    if [ ${#missing[@]} -gt 0 ]; then
        echo "[$arch] downloading ${#missing[@]} packages ($((count - ${#missing[@]})) of $count already cached)"
        rm -rf "$debs/.partial"; mkdir -p "$debs/.partial"
        if ! (cd "$debs/.partial" && apt-get "${apt_opts[@]}" download "${missing[@]}") > "$log" 2>&1; then
            sed 's/^/    /' "$log" >&2
            die "[$arch] 'apt-get download' failed (log: $log)"
        fi
        mv "$debs/.partial/"*.deb "$debs/"
        rmdir "$debs/.partial"
    else
        echo "[$arch] all $count packages already downloaded"
    fi

    # Unpack into a scratch folder, renamed into place only when complete.
    rm -rf "$work"
    mkdir -p "$work"
    local i=0
    while read -r p v a; do
        i=$((i + 1))
        file="${p}_${v//:/%3a}_${a}.deb"
        echo "[$arch] extracting $i/$count $p $v"
        dpkg-deb -x "$debs/$file" "$work" || die "[$arch] could not unpack $debs/$file (delete it and rerun)"
    done <<< "$manifest"

    # Documentation is of no use to a compiler.
    rm -rf "$work/usr/share/doc" "$work/usr/share/man" "$work/usr/share/info" \
           "$work/usr/share/lintian" "$work/usr/share/locale" "$work/usr/share/bug"

    local nlinks; nlinks=$(relativize_links "$work")
    echo "[$arch] made $nlinks absolute symlinks relative"

    local f
    for f in "$(loader_of "$arch")" "usr/include/$ma/bits/types.h" "usr/include/$ma/curl/curl.h" \
             usr/include/openssl/evp.h "usr/lib/$ma/libc.so" "usr/lib/$ma/libcurl.so" \
             "usr/lib/$ma/libcrypto.so" "usr/lib/gcc/$ma/12/crtbegin.o"; do
        [ -e "$work/$f" ] || die "[$arch] sysroot is missing $f after unpacking"
    done

    printf '%s\n' "$new_stamp" > "$work/.sysroot-stamp"
    rm -rf "$dest.old"
    [ -e "$dest" ] && mv "$dest" "$dest.old"
    mv "$work" "$dest"
    rm -rf "$dest.old"
    local glibc; glibc=$(printf '%s\n' "$manifest" | awk '$1=="libc6"{print $2}')
    echo "[$arch] done: $dest ($count packages, glibc $glibc, $(du -sh "$dest" | cut -f1), $(( $(date +%s) - t0 ))s)"
}

case "$target" in
    all) build_one arm64; build_one armhf ;;
    *) build_one "$target" ;;
esac
