#!/bin/sh
# Installs what the TPM key tests (TPMKeyTests) need on Debian 12, idempotently:
#   swtpm, swtpm-tools     the software TPM 2.0 the tests start on loopback
#   tpm2-openssl           the OpenSSL 3 provider (tpm2.so in ossl-modules)
#   libtss2-tcti-swtpm0    the TCTI the provider uses to reach swtpm over TCP
#   tpm2-tools             tests only: plays the factory station that makes a
#                          persistent key (tpm2_evictcontrol) for the handle: URI
#                          test; the agent itself uses libcrypto only
# Run as root (or through sudo). Packages already installed are left alone.
set -eu

packages="swtpm swtpm-tools tpm2-openssl libtss2-tcti-swtpm0 tpm2-tools"

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo "$0" "$@"
  fi
  echo "setup.sh: missing:$missing; run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Other jobs on the machine may hold the dpkg lock: wait for it rather than fail.
apt-get -o DPkg::Lock::Timeout=900 update
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends $missing
