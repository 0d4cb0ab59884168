#!/usr/bin/env bash
# Idempotently install swtpm (the TPM 2.0 emulator the NV-counter tests talk to
# over its TCP server port) on a Debian 12 machine.
# Usage: Tests/tpm/setup-nv.sh        (prints the swtpm path on the last line)
set -euo pipefail

if [ "$#" -ne 0 ]; then
    echo "usage: Tests/tpm/setup-nv.sh" >&2
    exit 64
fi

# Parallel test processes may call this at once on a fresh machine: one
# installs while the others wait (dpkg takes its own lock, but a second
# apt-get would fail on it rather than wait).
lock="${TMPDIR:-/tmp}/camera-agent-setup-nv.lock"
exec 9>"$lock"
flock 9

if ! command -v swtpm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "setup-nv.sh: installing swtpm swtpm-tools" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q --no-install-recommends swtpm swtpm-tools >/dev/null \
            || { apt-get update -q >/dev/null \
                 && apt-get install -y -q --no-install-recommends swtpm swtpm-tools >/dev/null; }
    else
        echo "setup-nv.sh: swtpm missing (apt-get install --no-install-recommends swtpm swtpm-tools)" >&2
        exit 1
    fi
fi

command -v swtpm
