/// `camera-agent wipe [--local-only]`: ends the session at the cloud, then
/// erases both vault slots (and, with `identity_key = tpm2`, evicts the TPM
/// identity key). Works on a vault that no longer opens (that is
/// when it is most needed): with nothing readable there is nothing to revoke.
///
/// When the vault holds a refresh token, it is revoked first (RFC 7009, with
/// the identity key's client assertion); the cloud ends the whole grant, so
/// the access token issued with it dies too. If that fails, nothing is
/// erased: a wiped board whose tokens still work at the cloud is worse than
/// a board that says so. The refresh token only ever goes to the issuer that
/// issued it (`SessionBinding`). `--local-only` erases without asking the cloud (a
/// board with no network), and says that the session may still be live.
///
/// Refused (exit 75) while the daemon runs: it owns the vault and would
/// write its identity and a new session back at its next step.
struct WipeCommand: VaultCommand {
  static var changesVault: Bool { true }
  let revoke: Bool

  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    // Opening first lets wipe erase the older slot before the current one.
    let opened = try? vault.open()
    if let contents = opened ?? nil, let refreshToken = contents.refreshToken {
      if revoke {
        guard !config.server.isEmpty else {
          Console.err(
            "camera-agent: the vault holds a session but server is not set, so it cannot be revoked; nothing was wiped (wipe --local-only erases without revoking)"
          )
          return ExitCode.config
        }
        if case .issuerChanged(let recorded, let configured) = SessionBinding.check(contents, config: config)
        {
          Console.err(
            "camera-agent: the vault's session was issued by '\(LogSafeText.sanitize(recorded, limit: 200))', but server = '\(LogSafeText.sanitize(configured, limit: 200))': its refresh token is not sent to another server; nothing was wiped (set server back to revoke it there, or wipe --local-only)"
          )
          return ExitCode.config
        }
        switch Self.revokeAtCloud(contents: contents, refreshToken: refreshToken, config: config) {
        case .success:
          Console.out("session revoked at the cloud (RFC 7009)")
        case .failure(let error):
          Console.err(
            "camera-agent: could not revoke the session at the cloud: \(error.description); nothing was wiped (wipe --local-only erases without revoking)"
          )
          return ExitCode.failure
        }
      } else {
        Console.err(
          "camera-agent: warning: --local-only: the session was not revoked at the cloud; its tokens stay valid there until they expire or are revoked"
        )
      }
    }
    do {
      try vault.wipe()
    } catch {
      Console.err("camera-agent: wipe failed: \(error.description)")
      return ExitCode.failure
    }
    Console.out("vault wiped: both slots erased")
    if case .tpm2 = config.identityKeyStorage {
      // The authValue died with the vault, so the key could no longer sign;
      // evicting it also frees its handle for the next owner's provisioning.
      do {
        try config.identityKeyStorage.retire(keeping: nil)
        Console.out("TPM identity key evicted")
      } catch {
        Console.err(
          "camera-agent: warning: \(error.description) (the key is unusable without the wiped vault)")
      }
    }
    return ExitCode.ok
  }

  enum RevokeFailure: Error {
    case key(CryptoError)
    case cloud(CloudError)

    var description: String {
      switch self {
      case .key(let error): return "vault keys: \(error.description)"
      case .cloud(let error): return error.description
      }
    }
  }

  static func revokeAtCloud(contents: VaultContents, refreshToken: SecretBytes, config: AgentConfig)
    -> Result<Void, RevokeFailure>
  {
    guard contents.hasIdentity else { return .failure(.cloud(.notDiscovered)) }
    let identityKey: P256PrivateKey
    let sessionKey: P256PrivateKey
    do throws(CryptoError) {
      identityKey = try config.identityKeyStorage.load(contents)
      if let der = contents.dpopKey {
        sessionKey = try P256PrivateKey.fromDER(der)
      } else {
        sessionKey = try P256PrivateKey.generate()
      }
    } catch {
      return .failure(.key(error))
    }
    // The vault's time floor: an unsynced board judges the cloud's certificate there.
    var client = BoardCloudClient(
      config: config, deviceID: contents.deviceID, identityKey: identityKey, sessionKey: sessionKey,
      clock: ClockCorrection(
        clock: SystemWallClock(),
        floor: TimeFloor(buildTime: AgentVersion.buildFloor, stored: contents.timeFloor)))
    do throws(CloudError) {
      try client.discover()
      try client.revoke(refreshToken: refreshToken)
    } catch {
      return .failure(.cloud(error))
    }
    return .success(())
  }
}
