#!/usr/bin/env bash
# Builds the libFuzzer targets: AgentCore's real sources compiled once, hosted,
# with -sanitize=fuzzer,address (coverage + AddressSanitizer) and -enable-testing
# (the targets reach internal decoders through @testable import), then one
# binary per file in Tests/fuzz/targets/, linked with libcurl and libcrypto.
set -eu

usage="usage: Tests/fuzz/build.sh [TARGET...]   (default: every target in Tests/fuzz/targets/)"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  -*) echo "$usage" >&2; exit 64 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/.build-fuzz"
mkdir -p "$out/lib" "$out/bin"

all_targets() { for f in "$here"/targets/*.swift; do basename "$f" .swift; done; }
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(all_targets); fi
for t in "${targets[@]}"; do
  [ -f "$here/targets/$t.swift" ] || { echo "build.sh: no target '$t' (have: $(all_targets | tr '\n' ' '))" >&2; exit 64; }
done

swiftc=$(command -v swiftc) || { echo "build.sh: swiftc not on PATH" >&2; exit 1; }
# -O keeps Swift's overflow and bounds traps (only -Ounchecked drops them).
flags=(-O "-sanitize=fuzzer,address" -parse-as-library -I "$repo/Sources/CAgentSys")

mapfile -t sources < <(find "$repo/Sources/AgentCore" -name '*.swift' | LC_ALL=C sort)
stamp=$( (cat "${sources[@]}" "$repo"/Sources/CAgentSys/*.h "$repo/Sources/CAgentSys/module.modulemap"; "$swiftc" --version 2>&1) | sha256sum | cut -c1-16)
if [ "$(cat "$out/lib/stamp" 2>/dev/null || true)" != "$stamp" ]; then
  echo "fuzz build: AgentCore (${#sources[@]} files) with -sanitize=fuzzer,address"
  rm -f "$out/lib/stamp"
  "$swiftc" "${flags[@]}" -module-name AgentCore -wmo -enable-testing \
    -emit-module -emit-module-path "$out/lib/AgentCore.swiftmodule" \
    -emit-library -static -o "$out/lib/libAgentCore.a" "${sources[@]}"
  echo "$stamp" > "$out/lib/stamp"
fi

for t in "${targets[@]}"; do
  bin="$out/bin/$t"
  # A target's oracle (oracles/TARGET.swift, optional) is its own module,
  # built with AddressSanitizer but without libFuzzer's coverage: it checks
  # the property and is not the code under test, so its comparisons would
  # only cost time (see oracles/log-mask.swift).
  oracle="$here/oracles/$t.swift"
  oracle_link=()
  if [ -f "$oracle" ]; then
    olib="$out/lib/oracle-$t"
    if [ ! -f "$olib/libOracle.a" ] || [ "$oracle" -nt "$olib/libOracle.a" ]; then
      echo "fuzz build: $t's oracle (AddressSanitizer, no coverage)"
      mkdir -p "$olib"
      "$swiftc" -O -sanitize=address -parse-as-library -module-name "Oracle_${t//-/_}" -wmo \
        -emit-module -emit-module-path "$olib/Oracle_${t//-/_}.swiftmodule" \
        -emit-library -static -o "$olib/libOracle.a" "$oracle"
    fi
    oracle_link=("$olib/libOracle.a")
  fi
  if [ -x "$bin" ] && [ "$bin" -nt "$out/lib/libAgentCore.a" ] && [ "$bin" -nt "$here/targets/$t.swift" ] \
    && [ "$bin" -nt "$here/support/FuzzSupport.swift" ] && [ "$bin" -nt "$here/checks/FlashDecoders.swift" ] \
    && { [ ! -f "$oracle" ] || [ "$bin" -nt "$out/lib/oracle-$t/libOracle.a" ]; }; then
    continue
  fi
  echo "fuzz build: $t"
  # gold warns about ASan's local symbols on every link; the warnings are noise.
  # Archives after the sources that use them (a static link resolves in order).
  "$swiftc" "${flags[@]}" -module-name "Fuzz_${t//-/_}" -I "$out/lib" -I "$out/lib/oracle-$t" \
    "$here/targets/$t.swift" "$here/support/FuzzSupport.swift" "$here/checks/FlashDecoders.swift" \
    "${oracle_link[@]}" "$out/lib/libAgentCore.a" -lcurl -lcrypto -o "$bin" 2> >(grep -v "Cannot export local symbol" >&2)
done
