#!/usr/bin/env bash
# Builds the camera-agent executable in Embedded Swift for Linux boards with
# SwiftPM: one generated toolset per target, one scratch folder per triple.
set -eu

usage_line="usage: cross/build.sh [--package DIR] [--product NAME] [aarch64|armv7|x86_64|all]...    (default: all)"
usage() {
    echo "$usage_line"
    sed "s/\$default_levers/$default_levers/" <<'EOF'

Builds the product (default camera-agent) of the SwiftPM package (default: the
repository root) in Embedded Swift, release, for each target:

  aarch64  --triple aarch64-none-none-elf,  linked against the arm64 sysroot
  armv7    --triple armv7-none-none-eabi,   hard-float, against the armhf sysroot
  x86_64   --triple x86_64-unknown-linux-gnu, against the host's libraries

Results: DIR/out/<target>/NAME (stripped) and NAME.debug (unstripped), the
link map DIR/.build-<target>/NAME.map, and a size report (cross/size-report.sh:
stripped size, sections, biggest components).
Scratch folders: DIR/.build-<target>. Toolsets: <repo>/.build-cross/toolsets/.

Options:
  --package DIR   SwiftPM package to build (default: the repository root)
  --product NAME  product to build (default: camera-agent)
  -h, --help      show this help

Environment (for a vendor's own sysroot, e.g. a Buildroot or Yocto SDK):
  SYSROOT_AARCH64, SYSROOT_ARMV7    sysroot folders (default: <repo>/.sysroots/arm64,
                                    <repo>/.sysroots/armhf, made or brought up to date
                                    by cross/sysroot.sh first)
  TRIPLE_AARCH64, TRIPLE_ARMV7      GNU triple = multiarch folder name and clang link
                                    target (default: aarch64-linux-gnu, arm-linux-gnueabihf)
  GCC_LIB_AARCH64, GCC_LIB_ARMV7    folder with crtbegin.o and libgcc.a (default: found
                                    under SYSROOT/usr/lib/gcc/TRIPLE/*)
  DYNAMIC_LINKER_AARCH64, DYNAMIC_LINKER_ARMV7
                                    program interpreter (default: /lib/ld-linux-aarch64.so.1,
                                    /lib/ld-linux-armhf.so.3)
  CPU_ARMV7                         -mcpu for armv7 (default: cortex-a7)
  SWIFT_BUILD_FLAGS                 extra arguments for 'swift build' (word-split)
  SIZE_LEVERS                       the size options to apply (word list; default:
                                    "$default_levers"; "none" for none):
                                      sections  Swift -function-sections, C -ffunction-sections
                                                -fdata-sections (SwiftPM links with --gc-sections)
                                      icf       lld --icf=all (identical code folded)
                                      lldopt    lld -O2 (string tail merging; measured: 0 B)
                                      relr      -z pack-relative-relocs (DT_RELR): only when
                                                the sysroot's libc.so.6 defines GLIBC_ABI_DT_RELR
                                                (glibc >= 2.36), which the binary then requires
                                      thumb     armv7 only: Thumb-2 (-mthumb, Swift and C)
                                      outline   armv7 only: LLVM's machine outliner for Swift
                                                (aarch64 has it on by default at -Osize)
                                      lto       swift build --experimental-lto-mode full
  SECURE_ELEMENT_AARCH64, SECURE_ELEMENT_ARMV7, SECURE_ELEMENT_X86_64
                                    tpm2 (the TPM anti-rollback counter and identity
                                    key: anti_rollback = tpm:..., identity_key = tpm2)
                                    or none (that code left out; such a configuration
                                    is refused with exit 78). Default: tpm2 for
                                    aarch64 and x86_64, none for armv7 (the boards:
                                    qemu-virt-aarch64 has a TPM, armv7-cortex-a7-camera
                                    has none)
  SOURCE_DATE_EPOCH                 the build's time (seconds since 1970) for the agent's
                                    time floor and 'version'; default: the commit time of
                                    HEAD (git log -1 --format=%ct), none outside a checkout

armv7 is built with -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64 (glibc >= 2.34): 64-bit
time_t and off_t, so nothing wraps in January 2038; the build checks that the
binary imports the 64-bit entry points (__clock_gettime64).
EOF
}

die() { echo "build.sh: error: $*" >&2; exit 1; }

# The size levers kept (issue 14): each measured alone and together, and kept
# only because the binaries still pass selftest, the vault, handshake and
# clock suites under qemu. The README's size table gives the figures.
default_levers="sections icf relr thumb outline"
levers=" ${SIZE_LEVERS:-$default_levers} "
for l in $levers; do
    case "$l" in
        sections|icf|lldopt|relr|thumb|outline|lto|none) ;;
        *) echo "build.sh: error: SIZE_LEVERS: unknown lever '$l' (see --help)" >&2; exit 64 ;;
    esac
done
lever() { case "$levers" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# Whether the libc.so.6 in one of the folders defines GLIBC_ABI_DT_RELR: a
# loader older than glibc 2.36 ignores DT_RELR and would run the binary with
# its pointers unrelocated. With the definition present, lld makes the binary
# require that version, so such a loader refuses it by name instead.
libc_has_relr() {
    local d
    for d in "$@"; do
        if [ -f "$d/libc.so.6" ]; then
            "$readelf" -V "$d/libc.so.6" 2>/dev/null | grep -q 'Name: GLIBC_ABI_DT_RELR'
            return
        fi
    done
    return 1
}

# Linker options of the levers, as swiftc arguments. args: libc folders.
lever_link_flags() {
    if lever icf; then printf '%s\n' -Xlinker --icf=all; fi
    if lever lldopt; then printf '%s\n' -Xlinker -O2; fi
    if lever relr; then
        if libc_has_relr "$@"; then
            printf '%s\n' -Xlinker -z -Xlinker pack-relative-relocs
        else
            echo "build.sh: note: no GLIBC_ABI_DT_RELR in the libc.so.6 of $*: linking without RELR" >&2
        fi
    fi
    return 0
}

repo=$(cd "$(dirname "$0")/.." && pwd)
package="$repo"
product=camera-agent
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --package)
            [ $# -ge 2 ] || die "--package needs a folder"
            package="$2"; shift ;;
        --package=*) package="${1#--package=}" ;;
        --product)
            [ $# -ge 2 ] || die "--product needs a name"
            product="$2"; shift ;;
        --product=*) product="${1#--product=}" ;;
        aarch64|arm64) targets+=(aarch64) ;;
        armv7|armhf) targets+=(armv7) ;;
        x86_64|amd64) targets+=(x86_64) ;;
        all) targets+=(aarch64 armv7 x86_64) ;;
        *) echo "$usage_line" >&2; die "unknown argument '$1' (try --help)" ;;
    esac
    shift
done
[ ${#targets[@]} -gt 0 ] || targets=(aarch64 armv7 x86_64)

[ -d "$package" ] || die "package folder '$package' does not exist"
package=$(cd "$package" && pwd)
[ -f "$package/Package.swift" ] || die "no Package.swift in $package"

# The toolchain: everything is taken from the folder that holds swiftc.
swiftc_path=$(command -v swiftc) || die "swiftc not found on PATH (install a Swift 6.3 toolchain)"
bindir=$(dirname "$(readlink -f "$swiftc_path")")
toolchain_usr=$(dirname "$bindir")
swift="$bindir/swift"
[ -x "$swift" ] || die "no 'swift' next to $swiftc_path"
lld="$bindir/ld.lld"
[ -x "$lld" ] || die "no ld.lld in $bindir (the toolchain's linker is needed for ARM targets)"
readelf=$(command -v readelf || command -v llvm-readelf || true)
[ -n "$readelf" ] || die "no readelf or llvm-readelf on PATH (binutils)"
objcopy="$bindir/llvm-objcopy"
[ -x "$objcopy" ] || objcopy=$(command -v llvm-objcopy || true)
[ -n "$objcopy" ] || die "no llvm-objcopy in $bindir or on PATH"

toolset_dir="$repo/.build-cross/toolsets"
mkdir -p "$toolset_dir"

# The build's own time (SOURCE_DATE_EPOCH convention): the agent never
# believes it is earlier than this (Sources/AgentCore/Cloud/TimeFloor.swift).
build_time=${SOURCE_DATE_EPOCH:-}
if [ -z "$build_time" ] && git -C "$package" rev-parse --git-dir >/dev/null 2>&1; then
    build_time=$(git -C "$package" log -1 --format=%ct 2>/dev/null || true)
fi
case "$build_time" in
    ''|*[!0-9]*) [ -z "$build_time" ] || die "SOURCE_DATE_EPOCH='$build_time' is not a number of seconds"
        build_define=() ;;
    *) build_define=("-DCA_BUILD_TIME=$build_time") ;;
esac

# Secure-element support per target: "none" compiles the TPM entry points
# out (Swift condition CAMERA_AGENT_NO_SECURE_ELEMENT), so the TPM command
# code, the provider key code and their texts are dead-stripped.
secure_element() {
    local v
    case "$1" in
        aarch64) v=${SECURE_ELEMENT_AARCH64:-tpm2} ;;
        armv7) v=${SECURE_ELEMENT_ARMV7:-none} ;;
        x86_64) v=${SECURE_ELEMENT_X86_64:-tpm2} ;;
    esac
    case "$v" in
        tpm2|none) echo "$v" ;;
        *) die "SECURE_ELEMENT for $1 must be tpm2 or none, not '$v'" ;;
    esac
}
secure_element_flags() {
    [ "$(secure_element "$1")" = tpm2 ] || echo "-DCAMERA_AGENT_NO_SECURE_ELEMENT"
}

# JSON string for one argument.
json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}
json_list() {
    local first=1 a
    printf '['
    for a in "$@"; do
        [ $first = 1 ] || printf ','
        first=0
        printf '\n            %s' "$(json_str "$a")"
    done
    printf '\n        ]'
}

unicode_tables() {
    local f="$toolchain_usr/lib/swift/embedded/$1/libswiftUnicodeDataTables.a"
    [ -f "$f" ] || die "$f not found: this toolchain lacks Embedded Swift support for $1"
    echo "$f"
}

# Writes the toolset for an ARM target and prints its path.
# args: name swift-triple sysroot gnu-triple gcc-lib dynamic-linker [extra C flags...]
arm_toolset() {
    local name=$1 triple=$2 sysroot=$3 gnu=$4 gcclib=$5 interp=$6
    shift 6
    local cflags=("$@")
    local tables; tables=$(unicode_tables "$triple")

    local inc=() d
    [ -d "$sysroot/usr/include/$gnu" ] && inc+=("$sysroot/usr/include/$gnu")
    inc+=("$sysroot/usr/include")
    local libdirs=()
    for d in "$sysroot/lib/$gnu" "$sysroot/usr/lib/$gnu"; do
        [ -d "$d" ] && libdirs+=("$d")
    done
    # Buildroot and Yocto keep libraries in plain lib/ and usr/lib/.
    for d in "$sysroot/lib" "$sysroot/usr/lib"; do
        [ -d "$d" ] && libdirs+=("$d")
    done

    local swiftflags=(-enable-experimental-feature Embedded -Osize)
    local se; se=$(secure_element_flags "$name")
    [ -z "$se" ] || swiftflags+=("$se")
    local cc=()
    if lever sections; then
        # -function-sections also gives Swift's globals their own sections.
        swiftflags+=(-Xfrontend -function-sections)
        cflags+=(-ffunction-sections -fdata-sections)
    fi
    if [ "$name" = armv7 ] && lever outline; then
        swiftflags+=(-Xllvm -enable-machine-outliner)
    fi
    for d in "${inc[@]}"; do
        swiftflags+=(-Xcc -isystem -Xcc "$d")
        cc+=(-isystem "$d")
    done
    for d in -D__linux__ -D__gnu_linux__ -D__unix__ "${build_define[@]}" "${cflags[@]}"; do
        swiftflags+=(-Xcc "$d")
        cc+=("$d")
    done
    swiftflags+=(-Xclang-linker "--target=$gnu" -Xclang-linker "--sysroot=$sysroot"
                 -Xclang-linker -fuse-ld=lld)
    if [ -n "$gcclib" ]; then
        swiftflags+=(-Xclang-linker "-B$gcclib" -Xclang-linker "-L$gcclib")
    fi
    for d in "${libdirs[@]}"; do
        swiftflags+=(-Xclang-linker "-L$d")
    done
    # SwiftPM already links Embedded products with --gc-sections. clang derives
    # the same interpreter from a Debian triple; spelled out for vendor triples.
    # A build ID ties out/<target>/NAME to NAME.debug (x86_64 gets one by default).
    swiftflags+=(-Xlinker "$tables" -Xlinker "--dynamic-linker=$interp" -Xlinker --build-id=sha1)
    # The link map feeds the size report.
    swiftflags+=(-Xlinker "-Map=$map_path")
    local f
    while IFS= read -r f; do swiftflags+=("$f"); done < <(lever_link_flags "${libdirs[@]}")

    local out="$toolset_dir/$name.json"
    {
        printf '{\n    "schemaVersion": "1.0",\n'
        printf '    "swiftCompiler": {\n        "extraCLIOptions": %s\n    },\n' "$(json_list "${swiftflags[@]}")"
        printf '    "cCompiler": {\n        "extraCLIOptions": %s\n    },\n' "$(json_list "${cc[@]}")"
        printf '    "linker": {\n        "path": %s\n    }\n}\n' "$(json_str "$lld")"
    } > "$out"
    echo "$out"
}

x86_64_toolset() {
    local tables; tables=$(unicode_tables x86_64-unknown-linux-gnu)
    local out="$toolset_dir/x86_64.json" xcc=() cc=() d f
    for d in "${build_define[@]}"; do xcc+=(-Xcc "$d"); done
    local se; se=$(secure_element_flags x86_64)
    [ -z "$se" ] || xcc+=("$se")
    if lever sections; then
        xcc+=(-Xfrontend -function-sections -Xcc -ffunction-sections -Xcc -fdata-sections)
        cc+=(-ffunction-sections -fdata-sections)
    fi
    # lld, as on ARM: the same map format for the size report, and the levers.
    local link=(-use-ld=lld -Xlinker "$tables" -Xlinker "-Map=$map_path")
    while IFS= read -r f; do link+=("$f"); done < <(lever_link_flags /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64)
    {
        printf '{\n    "schemaVersion": "1.0",\n'
        printf '    "swiftCompiler": {\n        "extraCLIOptions": %s\n    }' \
            "$(json_list -enable-experimental-feature Embedded -Osize "${xcc[@]}" "${link[@]}")"
        # SwiftPM refuses a tool with an empty option list.
        if [ ${#cc[@]} -gt 0 ]; then
            printf ',\n    "cCompiler": {\n        "extraCLIOptions": %s\n    }' "$(json_list "${cc[@]}")"
        fi
        printf '\n}\n'
    } > "$out"
    echo "$out"
}

# Prints the sysroot for a Debian arch, building the default one if needed.
sysroot_for() {
    local debarch=$1 override=$2 envname=$3
    if [ -n "$override" ]; then
        [ -d "$override" ] || die "$envname=$override: no such folder"
        (cd "$override" && pwd)
        return
    fi
    # Builds the sysroot if missing or out of date; "up to date" costs nothing.
    "$repo/cross/sysroot.sh" "$debarch" >&2 || die "cross/sysroot.sh $debarch failed"
    echo "$repo/.sysroots/$debarch"
}

gcc_lib_for() {
    local sysroot=$1 gnu=$2 override=$3 d found=""
    if [ -n "$override" ]; then
        [ -f "$override/crtbegin.o" ] || die "no crtbegin.o in $override"
        echo "$override"; return
    fi
    # Debian: usr/lib/gcc/TRIPLE/VER; Yocto: usr/lib/TRIPLE/VER.
    for d in "$sysroot"/usr/lib/gcc/"$gnu"/* "$sysroot"/lib/gcc/"$gnu"/* "$sysroot"/usr/lib/"$gnu"/*; do
        [ -f "$d/crtbegin.o" ] && found="$d"
    done
    [ -n "$found" ] || echo "build.sh: warning: no crtbegin.o under $sysroot/usr/lib/gcc/$gnu/: set GCC_LIB_* if linking fails" >&2
    echo "$found"
}

summary=()
build_one() {
    local t=$1 triple toolset interp="" start
    start=$(date +%s)
    local scratch="$package/.build-$t"
    map_path="$scratch/$product.map"
    # Not removed first: when nothing changed SwiftPM does not relink, and the
    # map of the last link still describes the binary (only that link writes either).
    mkdir -p "$scratch"
    local armv7_thumb=()
    lever thumb && armv7_thumb=(-mthumb)
    case "$t" in
        aarch64)
            triple=aarch64-none-none-elf
            local sysroot; sysroot=$(sysroot_for arm64 "${SYSROOT_AARCH64:-}" SYSROOT_AARCH64)
            local gnu=${TRIPLE_AARCH64:-aarch64-linux-gnu}
            local gcclib; gcclib=$(gcc_lib_for "$sysroot" "$gnu" "${GCC_LIB_AARCH64:-}")
            interp=${DYNAMIC_LINKER_AARCH64:-/lib/ld-linux-aarch64.so.1}
            toolset=$(arm_toolset aarch64 "$triple" "$sysroot" "$gnu" "$gcclib" "$interp")
            ;;
        armv7)
            triple=armv7-none-none-eabi
            local sysroot; sysroot=$(sysroot_for armhf "${SYSROOT_ARMV7:-}" SYSROOT_ARMV7)
            local gnu=${TRIPLE_ARMV7:-arm-linux-gnueabihf}
            local gcclib; gcclib=$(gcc_lib_for "$sysroot" "$gnu" "${GCC_LIB_ARMV7:-}")
            interp=${DYNAMIC_LINKER_ARMV7:-/lib/ld-linux-armhf.so.3}
            # Hard-float: armhf glibc passes doubles in VFP registers. 64-bit
            # time_t and off_t: the clock must not wrap in 2038.
            toolset=$(arm_toolset armv7 "$triple" "$sysroot" "$gnu" "$gcclib" "$interp" \
                -mfloat-abi=hard "-mcpu=${CPU_ARMV7:-cortex-a7}" -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64 \
                "${armv7_thumb[@]}")
            ;;
        x86_64)
            triple=x86_64-unknown-linux-gnu
            toolset=$(x86_64_toolset)
            ;;
    esac

    local lto=()
    lever lto && lto=(--experimental-lto-mode full)
    echo "== $t: swift build -c release --triple $triple --product $product ${lto[*]} (toolset $toolset; levers:$levers)"
    # shellcheck disable=SC2086
    if ! "$swift" build --package-path "$package" -c release --triple "$triple" \
            --toolset "$toolset" --product "$product" --scratch-path "$scratch" \
            "${lto[@]}" ${SWIFT_BUILD_FLAGS:-}; then
        local hint=""
        [ "$t" = x86_64 ] && hint="; x86_64 uses the host's headers and libraries (apt-get install libcurl4-openssl-dev libssl-dev)"
        die "$t: swift build failed (toolset: $toolset, scratch: $scratch)$hint"
    fi
    local bin; bin=$("$swift" build --package-path "$package" -c release --triple "$triple" \
            --toolset "$toolset" --scratch-path "$scratch" --show-bin-path)/$product
    [ -f "$bin" ] || die "$t: swift build succeeded but $bin does not exist"

    local outdir="$package/out/$t"
    mkdir -p "$outdir"
    cp "$bin" "$outdir/$product.debug"
    "$objcopy" --strip-all "$outdir/$product.debug" "$outdir/$product.tmp"
    mv "$outdir/$product.tmp" "$outdir/$product"
    chmod +x "$outdir/$product"

    # Check what a board's loader will see.
    if command -v readelf >/dev/null 2>&1; then
        if [ -n "$interp" ]; then
            local got
            got=$(readelf -l "$outdir/$product" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
            [ "$got" = "$interp" ] || die "$t: program interpreter is '$got', expected '$interp'"
        fi
        if [ "$t" = armv7 ] && ! readelf -A "$outdir/$product" | grep -q 'Tag_ABI_VFP_args: VFP registers'; then
            die "armv7: binary is not hard-float (no 'Tag_ABI_VFP_args: VFP registers'): it would break on armhf glibc"
        fi
    fi
    # A packed-relocation binary must name the glibc version that applies
    # them (see libc_has_relr).
    if "$readelf" -d "$outdir/$product" | grep -q '(RELR)' \
            && ! "$readelf" -V "$outdir/$product" | grep -q 'GLIBC_ABI_DT_RELR'; then
        die "$t: the binary has DT_RELR but does not require GLIBC_ABI_DT_RELR: an older loader would run it unrelocated"
    fi
    if [ "$t" = armv7 ]; then
        # The importer must have bound glibc's 64-bit time entry points; a
        # 32-bit clock_gettime here would wrap in January 2038.
        local nm="$bindir/llvm-nm"
        [ -x "$nm" ] || nm=$(command -v llvm-nm || true)
        [ -n "$nm" ] || die "no llvm-nm in $bindir or on PATH"
        # The agent reads the clock, so it must import the 64-bit entry point;
        # another product (Tests/fuzz/armv7's flash-replay) may not read the
        # clock at all, and with --gc-sections nothing of it is left to import.
        if [ "$product" = camera-agent ]; then
            "$nm" -D "$outdir/$product" | grep -q ' U __clock_gettime64' \
                || die "armv7: the binary does not import __clock_gettime64 (built without -D_TIME_BITS=64?)"
        fi
        if "$nm" -D "$outdir/$product" | grep -Eq ' U (clock_gettime|time|gettimeofday|lstat|stat|fstat|readdir|lseek|pread|pwrite)(@|$)'; then
            die "armv7: the binary imports a 32-bit time or file offset entry point: $("$nm" -D "$outdir/$product" | grep -E ' U (clock_gettime|time|gettimeofday|lstat|stat|fstat|readdir|lseek|pread|pwrite)(@|$)' | tr '\n' ' ')"
        fi
    fi

    local rel="${outdir#"$package"/}/$product"
    local size; size=$(wc -c < "$outdir/$product")
    local dsize; dsize=$(wc -c < "$outdir/$product.debug")
    local se; se=$(secure_element "$t")
    local line="$t $rel $size bytes (stripped; $dsize unstripped, secure element $se, $(( $(date +%s) - start ))s)"
    echo "$line"
    command -v file >/dev/null 2>&1 && file -b "$outdir/$product" | sed 's/^/   /'
    [ -f "$map_path" ] || die "$t: the link wrote no map ($map_path): the size report needs it"
    "$repo/cross/size-report.sh" --sources "$package/Sources" "$t" "$outdir/$product" "$map_path" \
        | sed 's/^/   /'
    summary+=("$line")
}

for t in "${targets[@]}"; do
    build_one "$t"
done
if [ ${#summary[@]} -gt 1 ]; then
    echo "== built:"
    printf '%s\n' "${summary[@]}"
fi
