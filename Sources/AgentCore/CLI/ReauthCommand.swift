/// `camera-agent reauth`: ends this device's session locally. Removes the
/// access token, its expiry, the refresh token and the DPoP session key from
/// the vault in one commit (a new generation); the identity key, device id and
/// last-activation time stay. Nothing is sent to the cloud: the old tokens
/// are worthless without the destroyed session key, and the next `run`
/// starts a new device grant that the owner must approve. Stop the daemon
/// first: a running daemon keeps the session it holds in memory.
struct ReauthCommand: VaultCommand {
  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    let unprovisioned = "not provisioned: there is no session to end"
    guard var contents = VaultAccess.openProvisioned(&vault, unprovisioned: unprovisioned) else {
      return ExitCode.failure
    }
    guard contents.identityKey != nil else {
      Console.err("camera-agent: \(unprovisioned)")
      return ExitCode.failure
    }
    contents.accessToken = nil
    contents.accessTokenExpiry = nil
    contents.refreshToken = nil
    contents.dpopKey = nil
    SessionBinding.record(&contents, config: config)
    var random = SystemRandom()
    do {
      try vault.commit(contents, random: &random)
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.failure
    }
    Console.out("session tokens and DPoP key destroyed; the next 'camera-agent run' re-activates")
    return ExitCode.ok
  }
}
