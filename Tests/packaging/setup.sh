#!/usr/bin/env bash
# Installs the packaging checks' Python tools (requirements.txt: oelint-adv,
# reuse, spdx-tools, and check-package's imports), pinned, into
# .venv-packaging/ at the repository root. Idempotent: a venv whose
# requirements stamp matches requirements.txt is left alone.
set -eu
usage="usage: Tests/packaging/setup.sh"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  "") ;;
  *) echo "$usage" >&2; exit 64 ;;
esac
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=$repo/.venv-packaging
requirements=$repo/Tests/packaging/requirements.txt
stamp=$venv/requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "packaging setup: $venv up to date"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
echo "$want" >"$stamp"
echo "packaging setup: installed $(grep -c '==' "$requirements") pinned packages into $venv"
