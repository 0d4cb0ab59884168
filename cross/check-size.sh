#!/usr/bin/env bash
# Holds each stripped Embedded binary to its byte budget (cross/size-budget).
# Sizes are deterministic for a given tree and toolchain, so this is a check,
# not a measurement: a change that grows a binary past its budget fails here
# and must either shrink it back or raise the budget in the same commit, with
# the reason in the commit message.
set -eu

usage_line="usage: cross/check-size.sh [--budget FILE] [--out DIR] [TARGET...]"
usage() {
    echo "$usage_line"
    cat <<'EOT'

Compares OUT/<target>/camera-agent (default OUT: <repo>/out, as cross/build.sh
writes it) with the budget for <target> in FILE (default cross/size-budget:
lines "TARGET BYTES", # comments). Without TARGETs, every target in FILE.
Prints one line per target with the headroom, and one saying whether the
stdlib's Unicode machinery is linked (read from OUT/<target>/camera-agent.debug
when it exists); exits 1 if any binary is missing, over its budget or links
that machinery, 64 on bad usage.
EOT
}

repo=$(cd "$(dirname "$0")/.." && pwd)
budget_file="$repo/cross/size-budget"
out="$repo/out"
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --budget) [ $# -ge 2 ] || { echo "$usage_line" >&2; exit 64; }; budget_file=$2; shift ;;
        --out) [ $# -ge 2 ] || { echo "$usage_line" >&2; exit 64; }; out=$2; shift ;;
        -*) echo "$usage_line" >&2; exit 64 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
[ -f "$budget_file" ] || { echo "check-size.sh: no budget file $budget_file" >&2; exit 1; }

# TARGET -> budget, refusing a malformed line rather than skipping it.
declare -A budget=()
order=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    line=${line%%#*}
    read -r t b extra <<< "$line" || true
    [ -n "${t:-}" ] || continue
    case "${b:-}" in
        ''|*[!0-9]*) echo "check-size.sh: $budget_file:$lineno: want 'TARGET BYTES', got '$line'" >&2; exit 1 ;;
    esac
    [ -z "${extra:-}" ] || { echo "check-size.sh: $budget_file:$lineno: trailing '$extra'" >&2; exit 1; }
    budget[$t]=$b
    order+=("$t")
done < "$budget_file"
[ ${#order[@]} -gt 0 ] || { echo "check-size.sh: $budget_file holds no budget" >&2; exit 1; }
[ ${#targets[@]} -gt 0 ] || targets=("${order[@]}")

failed=0
for t in "${targets[@]}"; do
    if [ -z "${budget[$t]:-}" ]; then
        echo "check-size.sh: no budget for '$t' in $budget_file" >&2; failed=1; continue
    fi
    bin="$out/$t/camera-agent"
    if [ ! -f "$bin" ]; then
        echo "size $t: FAIL: $bin does not exist (cross/build.sh $t first)"; failed=1; continue
    fi
    size=$(wc -c < "$bin")
    max=${budget[$t]}
    if [ "$size" -gt "$max" ]; then
        echo "size $t: FAIL: $size bytes > budget $max (+$((size - max)) B; cross/size-report.sh shows where)"
        failed=1
    else
        echo "size $t: ok: $size bytes <= budget $max ($((max - size)) B headroom)"
    fi
done

# The stdlib's Unicode machinery (normalization and grapheme breaking, about
# 37 KB with its tables) comes back with one String ==, switch on a String,
# hasSuffix or String.count in device code; names are compared as bytes
# (Sources/AgentCore/Support/Word.swift). Deterministic, so a check: it reads
# the symbols of the unstripped binary cross/build.sh keeps beside each one.
nm="$(dirname "$(readlink -f "$(command -v swiftc)")")/llvm-nm"
[ -x "$nm" ] || nm=$(command -v llvm-nm || true)
unicode='_swift_stdlib_|_GraphemeBreakingState|_NFCNormalizer|_NFDNormalizer|_stringCompareSlow'
for t in "${targets[@]}"; do
    debug="$out/$t/camera-agent.debug"
    [ -f "$debug" ] || continue
    if [ -z "$nm" ]; then
        echo "unicode $t: FAIL: no llvm-nm to read $debug"; failed=1; continue
    fi
    found=$("$nm" "$debug" | grep -E "$unicode" | head -n 5 || true)
    if [ -n "$found" ]; then
        echo "unicode $t: FAIL: the stdlib's Unicode machinery is linked (a String comparison or Character walk in device code; use Word or utf8):"
        printf '%s\n' "$found" | sed 's/^/    /'
        failed=1
    else
        echo "unicode $t: ok: no Unicode normalization or grapheme-breaking code linked"
    fi
done
exit $failed
