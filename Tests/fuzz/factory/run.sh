#!/usr/bin/env bash
# Property tests (hypothesis) of the factory station's parsers of board output
# (board/factory/factory-provision.py): status, provision and attest output,
# the serial console's framing, the JWK check and the log cleaner. Makes its
# own small venv (.venv-fuzz-factory, idempotent) so the reference cloud's
# pinned venv is left alone. HYPOTHESIS_EXAMPLES sets examples per property
# (default 2000).
set -eu

usage="usage: Tests/fuzz/factory/run.sh [PYTEST-ARGS...]"
case "${1:-}" in -h|--help) echo "$usage"; exit 0 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
venv="${FUZZ_FACTORY_VENV:-$repo/.venv-fuzz-factory}"
req="$here/requirements.txt"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null || true)" != "$want" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$venv/.requirements.sha256"
fi
exec 9>&-
cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q test_factory_parsers.py "$@"
