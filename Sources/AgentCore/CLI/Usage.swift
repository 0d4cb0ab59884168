/// The text `--help` prints. Lists only what this build implements.
public enum Usage {
  public static let text = """
    usage: camera-agent [--config PATH] <command> [options]

    camera-agent keeps this camera's cloud credentials and reports its status.

    commands:
      version       print the agent version, build mode and CPU architecture
      selftest      check AES-256-GCM, HKDF-SHA256, ECDSA P-256, SHA-256, that
                    the process is not dumpable, and (with --tls-url) libcurl
                    HTTPS on this board; one line per check, exit 0 only if
                    every check ran and passed
          --tls-url URL         an https:// URL to fetch
          --ca-file PATH        CA the server must chain to (the fetch must succeed)
          --wrong-ca-file PATH  a CA the server does not chain to (the fetch must fail)
      provision --device-id ID [--force]
                    make this board's identity key inside the vault and print
                    the public key (JWK and RFC 7638 thumbprint) as JSON;
                    refuses an already provisioned board unless --force
      status [--json]
                    show what the vault holds (never the secret values):
                    vault=provisioned|unprovisioned, device id, generation,
                    identity thumbprint and public JWK, which tokens are
                    present; --json: one JSON object (schema 1, camera-agent(8))
      wipe [--local-only]
                    revoke the session at the cloud (RFC 7009), then erase both
                    vault slots; if the revocation fails nothing is erased.
                    --local-only: erase without telling the cloud
      report --dry-run
                    print exactly the bytes the status report would send
                    (schema 1: device id, firmware version, last activation,
                    agent version) and send nothing
      run [--once-active]
                    the daemon: activates this camera with the cloud (the owner
                    approves the user_code published in state_file), keeps the
                    tokens fresh, re-activates after the cloud ends the session,
                    reports after each activation and every
                    report_interval_seconds; SIGTERM/SIGINT stop, SIGHUP
                    reloads the configuration, SIGUSR1 reports now, SIGUSR2
                    is the pairing button (a fresh code). Logs to
                    stderr and syslog (tokens masked); runs the configured
                    hook on each state change. --once-active: exit 0 once
                    active and a report was accepted
      reauth        destroy the session (access and refresh tokens, DPoP key)
                    in the vault, keeping the identity; the next run asks the
                    owner to approve again. Sends nothing to the cloud
      pair          the pairing button or the pairing UI (often run as root):
                    SIGUSR2 to the running daemon, found as the holder of the
                    vault lock (never from a pid file), through a pidfd, only
                    if it is no more privileged than the vault (camera-agent(8)).
                    Pairing: a fresh code within seconds, in state_file;
                    active: one refresh checks the session. Prints the pid it
                    asked; sends
                    nothing to the cloud. 69: no running agent holds the vault
                    (none runs, or its vault has no identity); 77: the holder
                    is not the agent's user, or may not be signalled
      attest --nonce NONCE --audience URL
                    print one line: a JWS (ES256, RFC 7523 client assertion
                    shape) signed with the identity key: iss = sub = device
                    id, aud = URL, jti = NONCE (16-128 of A-Z a-z 0-9 - _),
                    iat = this board's clock, exp = iat + 300. URL must be
                    this board's factory verify URL (.../factory/devices/ID/
                    verify), never the issuer or a token endpoint (exit 65).
                    For the factory station's check; sends nothing
      help          show this text

    options:
      --config PATH   configuration file (default /etc/camera-agent/agent.conf)
      -h, --help      show this text
      --version       the same as the version command

    exit status: 0 success, 1 failure (message on stderr), 64 usage error,
                 65 refused argument, 69 no agent to pair, 70 internal error,
                 73 already provisioned, 75 vault busy, 77 pair refused,
                 78 configuration error
    """
}
