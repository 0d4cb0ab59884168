#!/usr/bin/env bash
# The factory station's tests: the hosted camera-agent (built if missing), the
# reference cloud's venv (set up if missing), then pytest. Extra args go to pytest.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
py=$("$repo/Tests/refcloud/setup.sh" | tail -n 1)
if [ -z "${CAMERA_AGENT:-}" ]; then
  (cd "$repo" && swift build --product camera-agent >/dev/null)
fi
cd "$repo/Tests"
exec "$py" -m pytest -p no:cacheprovider -q factory "$@"
