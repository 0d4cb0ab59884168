# shellcheck shell=bash
# A software TPM 2.0 (swtpm) on loopback for a black-box test: sourced after
# lib.sh and cloud.sh. swtpm_start DIR starts one on a free port pair with its
# state in DIR and sets $swtpm_pid and $swtpm_tcti (the tpm2-openssl TCTI
# naming it); swtpm_stop stops it by PID (a clean TPM shutdown first). The
# test's EXIT trap must call swtpm_stop as well. Needs $repo (lib.sh's caller).
# shellcheck disable=SC2034  # swtpm_tcti is for the sourcing script
swtpm_pid=""
swtpm_port=""
swtpm_tcti=""
: "${repo:?swtpm.sh needs \$repo}"

swtpm_start() {
  local dir=$1 try port i
  sh "$repo/Tests/tpm/setup.sh" >/dev/null || die "Tests/tpm/setup.sh failed (swtpm, tpm2-openssl)"
  mkdir -p "$dir"
  for try in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 39000))
    swtpm socket --tpm2 --tpmstate "dir=$dir" \
      --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
      --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
      --flags not-need-init,startup-clear </dev/null >"$dir/swtpm.log" 2>&1 &
    swtpm_pid=$!
    # Ready when the server port accepts; a swtpm that exits first could
    # not bind that pair (or failed): another pair.
    for i in $(seq 1 150); do
      if ! kill -0 "$swtpm_pid" 2>/dev/null; then break; fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        swtpm_port=$port
        # shellcheck disable=SC2034  # read by the sourcing script
        swtpm_tcti="swtpm:host=127.0.0.1,port=$port"
        return 0
      fi
      sleep 0.2
    done
    kill -KILL "$swtpm_pid" 2>/dev/null || true
    wait "$swtpm_pid" 2>/dev/null || true
    swtpm_pid=""
    [ "$try" -lt 10 ] || die "swtpm did not start: $(tail -3 "$dir/swtpm.log")"
  done
}

# swtpm's control channel: CMD_SHUTDOWN (3) saves the TPM's state; then the
# process is stopped by PID, and killed if it is still there after 10 s.
swtpm_stop() {
  [ -n "$swtpm_pid" ] || return 0
  if kill -0 "$swtpm_pid" 2>/dev/null; then
    (exec 3<>"/dev/tcp/127.0.0.1/$((swtpm_port + 1))" && printf '\0\0\0\3' >&3 && head -c 4 <&3 >/dev/null) \
      2>/dev/null || true
    kill -TERM "$swtpm_pid" 2>/dev/null || true
    local _
    for _ in $(seq 1 50); do kill -0 "$swtpm_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$swtpm_pid" 2>/dev/null || true
  fi
  wait "$swtpm_pid" 2>/dev/null || true
  swtpm_pid=""
}
