#!/usr/bin/env bash
# Set up the venv (idempotent) and run the refcloud test suite. Extra args go to pytest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$("$here/setup.sh" | tail -n1)"
cd "$here/.."
exec "$py" -m pytest -p no:cacheprovider -q refcloud "$@"
