/// `camera-agent reauth`: ends this device's session locally. Removes the
/// access token, its expiry, the refresh token and the DPoP session key from
/// the vault in one commit (a new generation); the identity key, device id and
/// last-activation time stay. Nothing is sent to the cloud: the old tokens
/// are worthless without the destroyed session key, and the next `run`
/// starts a new device grant that the owner must approve. The older slot is
/// erased once the new record is durable, so the destroyed session cannot
/// come back from it. Refused (exit 75) while the daemon runs: it owns the
/// vault and would write the session it holds in memory back.
struct ReauthCommand: VaultCommand {
  static var changesVault: Bool { true }
  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    let unprovisioned = "not provisioned: there is no session to end"
    guard var contents = VaultAccess.openProvisioned(&vault, unprovisioned: unprovisioned) else {
      return ExitCode.failure
    }
    guard contents.hasIdentity else {
      Console.err("camera-agent: \(unprovisioned)")
      return ExitCode.failure
    }
    contents.accessToken = nil
    contents.accessTokenExpiry = nil
    contents.refreshToken = nil
    contents.dpopKey = nil
    SessionBinding.record(&contents, config: config)
    var random = SystemRandom()
    let outcome: VaultCommitOutcome
    do {
      outcome = try vault.commit(contents, random: &random, destroying: true)
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.failure
    }
    if case .committedDestroyPending(let why) = outcome {
      Console.err(
        "camera-agent: the session was removed from the current record, but the older record still holding it"
          + " could not be erased (\(why)); run reauth again")
      return ExitCode.failure
    }
    Console.out("session tokens and DPoP key destroyed; the next 'camera-agent run' re-activates")
    return ExitCode.ok
  }
}
