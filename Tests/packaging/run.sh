#!/usr/bin/env bash
# The packaging checks, each with the ecosystem's own tool (issue 15):
#   - shellcheck on every shell script in the repository (git ls-files: *.sh
#     and files whose #! names a shell), following sourced files (-x);
#   - Buildroot's check-package (vendored, pinned: buildroot-check-package/)
#     on every file of board/buildroot/ and on board/common/S90camera-agent;
#   - oelint-adv (pinned, .venv-packaging/) on the Yocto recipe and the
#     meta-swift bbappend, for kirkstone and scarthgap;
#   - reuse lint (every file has a licence and copyright: REUSE.toml);
#   - systemd-analyze verify and security on each board's unit (exposure
#     printed; board/common/verify-units.sh);
#   - the man page: mandoc -Tlint, and every command of the README's table
#     and of `camera-agent --help` described in it;
#   - the real S90camera-agent as root with a hostile stand-in agent
#     (init-script.sh);
#   - an SPDX SBOM for each built binary in out/ (cross/sbom.sh), validated
#     by pyspdxtools.
# Prints one line per check and "packaging: N passed, N failed".
set -eu
usage="usage: Tests/packaging/run.sh   (after cross/build.sh; as root for the init-script test)"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  "") ;;
  *) echo "$usage" >&2; exit 64 ;;
esac
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
"$repo/Tests/packaging/setup.sh"
venv=$repo/.venv-packaging
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
# check NAME COMMAND...: the command's output is shown only when it fails.
check() {
  local name=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    echo "ok    $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name"
    sed 's/^/      /' "$work/out" | head -n 60
    failed=$((failed + 1))
  fi
}

# Every shell script git knows: by name or by #! line.
scripts=()
while IFS= read -r f; do
  [ -f "$f" ] || continue
  case "$f" in
    *.sh) scripts+=("$f") ;;
    *) if head -n 1 "$f" | grep -qE '^#!.*/(env )?(ba|da|busybox )?sh( |$)'; then scripts+=("$f"); fi ;;
  esac
done < <(git ls-files)
check "shellcheck -x: ${#scripts[@]} scripts clean" shellcheck -x "${scripts[@]}"

buildroot_files=()
while IFS= read -r f; do buildroot_files+=("$repo/$f"); done < <(git ls-files board/buildroot)
buildroot_check() {
  local out
  out=$(cd "$repo/Tests/packaging/buildroot-check-package" \
    && "$venv/bin/python" check-package -b "$@" "$repo/board/common/S90camera-agent" 2>&1)
  printf '%s\n' "$out"
  printf '%s\n' "$out" | grep -qx '0 warnings generated'
}
check "Buildroot check-package: ${#buildroot_files[@]} files of board/buildroot and S90camera-agent, 0 warnings" \
  buildroot_check "${buildroot_files[@]}"

layer=board/yocto/meta-camera-agent
recipes=("$layer/recipes-core/camera-agent/camera-agent_0.1.bb"
  "$layer/dynamic-layers/swift-layer/recipes-core/camera-agent/camera-agent_%.bbappend")
for release in kirkstone scarthgap; do
  check "oelint-adv $("$venv/bin/oelint-adv" --version 2>&1 | tr -cd '0-9.') ($release): recipe and meta-swift bbappend clean" \
    "$venv/bin/oelint-adv" --release "$release" --quiet "${recipes[@]}"
done

check "reuse lint: every file has a licence and copyright (REUSE.toml)" "$venv/bin/reuse" lint

check "systemd units: systemd-analyze verify clean" board/common/verify-units.sh
grep 'exposure' "$work/out" | sed 's/^verify-units: /      /'

man=board/common/camera-agent.8
check "man page: mandoc -Tlint clean" mandoc -Tlint -W warning "$man"
# The commands of the README's table (| `cmd ...` | under "Using the
# binary") and of --help.
man_covers() {
  local binary=$1 missing=0 cmd
  local commands
  commands=$({
    # shellcheck disable=SC2016 # the backticks are Markdown, not a command
    awk '/^## /{on = ($0 == "## Using the binary")} on' README.md | sed -n 's/^| `\([a-z][a-z-]*\)[ `].*/\1/p'
    "$binary" --help | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p'
  } | sort -u)
  [ -n "$commands" ] || { echo "no commands found"; return 1; }
  for cmd in $commands; do
    if ! grep -qE "^\.(B|BR) $cmd( |$)" "$man"; then
      echo "camera-agent.8 does not describe '$cmd'"
      missing=1
    fi
  done
  echo "commands: $(echo "$commands" | tr '\n' ' ')"
  return $missing
}
check "man page: describes every command of the README and --help" man_covers "$repo/.build/debug/camera-agent"

if [ "$(id -u)" = 0 ]; then
  check "S90camera-agent as root against a hostile agent (Tests/packaging/init-script.sh)" Tests/packaging/init-script.sh
  grep -E '^init-script:' "$work/out" | sed 's/^/      /'
else
  echo "FAIL  S90camera-agent test needs root"
  failed=$((failed + 1))
fi

sboms=0
for arch in x86_64 aarch64 armv7; do
  [ -f "out/$arch/camera-agent" ] || continue
  sboms=$((sboms + 1))
  check "SBOM for out/$arch/camera-agent (cross/sbom.sh)" cross/sbom.sh "$arch"
  sed 's/^sbom.sh: /      /' "$work/out"
  check "SBOM out/$arch/camera-agent.spdx.json is valid SPDX 2.3 (pyspdxtools)" \
    "$venv/bin/pyspdxtools" -i "out/$arch/camera-agent.spdx.json"
done
[ "$sboms" -gt 0 ] || { echo "FAIL  no binary in out/: run cross/build.sh first"; failed=$((failed + 1)); }

echo "packaging: $passed passed, $failed failed"
[ "$failed" = 0 ]
