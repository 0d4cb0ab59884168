#!/usr/bin/env bash
# Reproduces issue 16's known limit and checks the planned fix, against a
# software TPM (swtpm, libtpms defaults: maxTries 3, recoveryTime 1000 s):
#   - a P-256 key made by tpm2-openssl (what `identity_key = tpm2` makes
#     today: fixed attributes without noDA) signs after 1, 2 and 3 power
#     cuts (swtpm SIGKILLed: an unorderly shutdown after a signature counts
#     a dictionary-attack failure at the next TPM start-up) and then fails
#     with TPM_RC_LOCKOUT;
#   - a key made with noDA and an authValue (TPM2_CreatePrimary, persistent
#     at 0x81000CA1, loaded through the provider as handle:0x81000CA1?pass)
#     signs after every cut, in lockout or not.
# A bench, not a CI check: prints one line per boot and the TPM's DA state;
# exit 0 when both behave as stated. Needs Tests/tpm/setup.sh's packages.
set -eu
case "${1:-}" in
  -h|--help) echo "usage: Tests/tpm/da-lockout.sh [CUTS]   (default 6)"; exit 0 ;;
esac
cuts=${1:-6}
case "$cuts" in ''|*[!0-9]*) echo "usage: Tests/tpm/da-lockout.sh [CUTS]" >&2; exit 64 ;; esac
repo=$(cd "$(dirname "$0")/../.." && pwd)
sh "$repo/Tests/tpm/setup.sh" >/dev/null
work=$(mktemp -d)
pid=""
trap '[ -z "$pid" ] || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 39000))
start() {
  swtpm socket --tpm2 --tpmstate "dir=$work" --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
    --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" --flags not-need-init,startup-clear \
    </dev/null >>"$work/swtpm.log" 2>&1 &
  pid=$!
  local _
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "da-lockout: swtpm did not start" >&2
  exit 1
}
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port" TPM2OPENSSL_TCTI="swtpm:host=127.0.0.1,port=$port"
start
# The planned identity key: noDA, an authValue (in the agent, random and kept in the vault).
auth=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
tpm2_createprimary -Q -C o -G ecc256:ecdsa-sha256:null \
  -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|sign" -p "$auth" -c "$work/noda.ctx"
tpm2_evictcontrol -Q -C o -c "$work/noda.ctx" 0x81000CA1 >/dev/null
tpm2_flushcontext -t
# Today's identity key: made by the provider.
openssl genpkey -provider tpm2 -provider default -algorithm EC -pkeyopt group:P-256 -out "$work/da.pem" 2>/dev/null
echo "message" >"$work/m"
sign() { openssl pkeyutl -provider tpm2 -provider default -sign -rawin -digest sha256 -in "$work/m" "$@" \
  >/dev/null 2>"$work/err" && echo signed || echo "refused ($(grep -o 'ErrorCode (0x[0-9a-f]*)' "$work/err" | head -1))"; }
da_signed=0 noda_signed=0
for boot in $(seq 1 $((cuts + 1))); do
  da=$(sign -inkey "$work/da.pem")
  noda=$(sign -inkey "handle:0x81000CA1?pass" -passin "pass:$auth")
  echo "da-lockout: boot $boot: provider key (no noDA): $da; noDA key with authValue: $noda"
  [ "$da" = signed ] && da_signed=$((da_signed + 1))
  [ "$noda" = signed ] && noda_signed=$((noda_signed + 1))
  [ "$boot" -gt "$cuts" ] && break
  kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
  start
done
tpm2_getcap properties-variable | grep -E "inLockout|LOCKOUT_COUNTER|MAX_AUTH_FAIL" | sed 's/^/da-lockout: TPM /'
kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""
echo "da-lockout: $((cuts + 1)) boots: the provider key signed $da_signed times, the noDA key $noda_signed times"
[ "$noda_signed" = $((cuts + 1)) ] && [ "$da_signed" -lt $((cuts + 1)) ]
