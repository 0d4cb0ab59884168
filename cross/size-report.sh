#!/usr/bin/env bash
# Where a binary's bytes go: the stripped size, the loaded sections, and the
# biggest components, read from the linker's map of that very link (lld
# -Map, which cross/build.sh asks for). Sizes are deterministic for a given
# source tree and toolchain, which is why cross/check-size.sh can hold them to
# a budget.
set -eu

usage_line="usage: cross/size-report.sh [--top N] [--sources DIR] TARGET STRIPPED MAP"
usage() {
    echo "$usage_line"
    cat <<'EOF'

Prints, for one build of TARGET (aarch64, armv7, x86_64):
  size TARGET stripped BYTES
  section TARGET NAME BYTES            every allocated output section
  component TARGET NAME BYTES          allocated bytes per component, biggest first
  object TARGET NAME BYTES             the N biggest objects (default 12)

A component is a folder of Sources/AgentCore (Daemon, Vault, ...), another
Swift module (camera_agent), the Embedded Unicode tables, the C runtime (crt
objects, libgcc, libc_nonshared), or what the linker makes itself (dynamic
symbol and string tables, relocations, PLT/GOT, .eh_frame_hdr).

STRIPPED is the stripped binary; MAP is lld's -Map output for the link.
  --sources DIR   the package's Sources folder (default: <repo>/Sources)
  --top N         how many objects to list
EOF
}

repo=$(cd "$(dirname "$0")/.." && pwd)
sources="$repo/Sources"
top=12
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --top) [ $# -ge 2 ] || { echo "$usage_line" >&2; exit 64; }; top=$2; shift ;;
        --sources) [ $# -ge 2 ] || { echo "$usage_line" >&2; exit 64; }; sources=$2; shift ;;
        --) shift; break ;;
        -*) echo "$usage_line" >&2; exit 64 ;;
        *) break ;;
    esac
    shift
done
[ $# -eq 3 ] || { echo "$usage_line" >&2; exit 64; }
case "$top" in ''|*[!0-9]*) echo "$usage_line" >&2; exit 64 ;; esac
target=$1 stripped=$2 map=$3
[ -f "$stripped" ] || { echo "size-report.sh: no such file: $stripped" >&2; exit 1; }
[ -f "$map" ] || { echo "size-report.sh: no link map: $map" >&2; exit 1; }

echo "size $target stripped $(wc -c < "$stripped")"

# Source file name -> folder under Sources/AgentCore, for the objects' names
# (SwiftPM names them FILE.swift.o). Two files of one name in two folders
# would be ambiguous; SwiftPM refuses that within a module anyway.
folders=$(mktemp)
trap 'rm -f "$folders"' EXIT
if [ -d "$sources/AgentCore" ]; then
    (cd "$sources/AgentCore" && find . -name '*.swift' -o -name '*.c') |
        sed 's|^\./||' | awk -F/ '{ d = (NF > 1) ? $1 : "(top level)"; print $NF "\t" d }' > "$folders"
fi

# lld's map: "VMA LMA Size Align Out In Symbol". An output section line has
# its name in column 5; an input section line has "FILE:(SECTION)" there;
# symbol lines have a size of 0 here. Only allocated sections count: they
# are what a stripped binary keeps (.debug_*, .comment, .symtab, .strtab are
# not allocated and lld places them at address 0).
awk -v target="$target" -v top="$top" -v folders="$folders" '
    BEGIN {
        while ((getline line < folders) > 0) {
            split(line, f, "\t"); folder[f[1]] = f[2]
        }
    }
    function hex(s,   i, c, v) {
        v = 0; s = tolower(s)
        for (i = 1; i <= length(s); i++) {
            c = index("0123456789abcdef", substr(s, i, 1)) - 1
            v = v * 16 + c
        }
        return v
    }
    function component(file,   base, n, parts) {
        if (file ~ /^<internal>/) return "linker (dynsym, dynstr, relocations, PLT/GOT, eh_frame_hdr)"
        if (file ~ /libswiftUnicodeDataTables\.a/) return "Embedded Swift Unicode tables"
        if (file ~ /lto\.tmp|ld-temp\.o|\.lto\.o$/) return "LTO output (all Swift and C objects, merged)"
        if (file ~ /crt[^\/]*\.o$|libgcc|libc_nonshared|Scrt1|crti|crtn/) return "C runtime (crt, libgcc, libc_nonshared)"
        n = split(file, parts, "/"); base = parts[n]
        if (file ~ /\/AgentCore\.build\//) {
            sub(/\.o$/, "", base)
            if (base in folder) return "AgentCore/" folder[base]
            return "AgentCore (other)"
        }
        if (match(file, /\/[^\/]+\.build\//)) return substr(file, RSTART + 1, RLENGTH - 8)
        return "other: " base
    }
    function objname(file,   n, parts) {
        if (file ~ /^<internal>/) return "<linker>"
        n = split(file, parts, "/"); return parts[n]
    }
    NR == 1 { next }
    {
        size = hex($3)
        if ($5 ~ /:\(/) {
            if (!alloc || size == 0) next
            file = $5; sub(/:\(.*$/, "", file)
            comp[component(file)] += size
            obj[objname(file)] += size
            next
        }
        if ($5 ~ /^\./ && NF == 5) {
            # An output section: allocated ones have a non-zero address.
            # NOBITS ones (.bss, .tbss, the RELRO padding) take no file bytes.
            alloc = (hex($1) != 0) && $5 !~ /^\.(bss|tbss|sbss|relro_padding)/
            if (alloc) sect[$5] += size
        }
    }
    END {
        for (s in sect) printf "section %s %s %d\n", target, s, sect[s] | "sort -k4,4nr"
        close("sort -k4,4nr")
        for (c in comp) printf "component\t%s\t%s\t%d\n", target, c, comp[c] | "sort -t \"\t\" -k4,4nr"
        close("sort -t \"\t\" -k4,4nr")
        for (o in obj) printf "object %s %s %d\n", target, o, obj[o] | "sort -k4,4nr | head -n " top
        close("sort -k4,4nr | head -n " top)
    }
' "$map" | sed 's/^component\t\([^\t]*\)\t\([^\t]*\)\t/component \1 "\2" /'
