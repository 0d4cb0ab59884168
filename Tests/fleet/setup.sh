#!/usr/bin/env bash
# Idempotently create <repo>/.venv-fleet with matplotlib (Tests/fleet/requirements.txt)
# for plot.py. Usage: Tests/fleet/setup.sh   (prints the venv's python path on the last line)
set -eu
case "${1:-}" in
  "") ;;
  *) echo "usage: Tests/fleet/setup.sh" >&2; exit 64 ;;
esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${FLEET_VENV:-$repo/.venv-fleet}"
req="$here/requirements.txt"
py="${PYTHON:-python3}"

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9

if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
    echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
