/// `camera-agent run [--once-active]`: the daemon (see `Daemon`).
///
/// The daemon is the vault's owner for its whole lifetime (VaultAccess takes
/// the lock before `run` is called; the lock lives in the store, which the
/// daemon keeps): `wipe`, `reauth` and `provision` refuse while it runs
/// instead of being silently undone by its next commit. Before the daemon
/// starts, a destroy that a power cut interrupted is finished, and the
/// vault's session is checked against the configured server
/// (`SessionBinding`): tokens issued by another issuer stop the start with
/// exit 78 and what to do, before any request is made.
struct RunCommand: VaultCommand {
  static var changesVault: Bool { true }
  let onceActive: Bool
  let invocation: Invocation

  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    Self.finishInterruptedDestroy(&vault)
    guard !config.server.isEmpty else {
      Console.err("camera-agent: server is not set in the configuration")
      return ExitCode.config
    }
    if let refused = Self.checkSession(&vault, config: config) { return refused }
    // An unprovisioned board's daemon waits for `provision` and SIGHUP: it
    // must not refuse that provision, so it owns the vault only once it
    // holds an identity (the driver takes it again then).
    if (try? vault.open())??.hasIdentity != true { vault.releaseOwnership() }
    let invocation = self.invocation
    var daemon = Daemon(
      vault: vault, config: config, onceActive: onceActive,
      reloadConfig: {
        do throws(ConfigError) {
          return try AgentCLI.loadConfig(invocation) ?? AgentConfig()
        } catch {
          Console.err("camera-agent: \(error.description)")
          return nil
        }
      })
    return daemon.run()
  }

  /// A vault that does not open is left to the daemon, which reports it. An
  /// empty one may still hold a record a cut wipe retired but did not erase.
  static func finishInterruptedDestroy<S: SlotStore>(_ vault: inout Vault<S>) {
    do throws(VaultError) { _ = try vault.open() } catch { return }
    guard !vault.pendingDestroy.isEmpty else { return }
    do {
      try vault.completePendingDestroy()
      Console.err("camera-agent: finished erasing an older vault record a power cut left behind")
    } catch {
      Console.err("camera-agent: warning: an older vault record could not be erased: \(error.description)")
    }
  }

  /// The start-up half of `SessionBinding`: an exit status when the daemon
  /// must not start, nil to go on. A vault that does not open is left to
  /// the daemon, which reports it in its own words.
  static func checkSession<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32? {
    guard let contents = try? vault.open() else { return nil }
    switch SessionBinding.check(contents, config: config) {
    case .matches:
      return nil
    case .issuerChanged(let recorded, let configured):
      Console.err("camera-agent: \(SessionBinding.refusal(recorded: recorded, configured: configured))")
      return ExitCode.config
    case .apiBaseChanged(let recorded, let configured):
      Console.err(
        "camera-agent: api_base changed from '\(recorded)' to '\(configured)': "
          + "the stored access token is dropped; the session refreshes at the same issuer")
    case .unrecorded:
      break
    }
    guard let updated = SessionBinding.repaired(contents, config: config) else { return nil }
    var random = SystemRandom()
    do {
      try vault.commit(updated, random: &random)
    } catch {
      Console.err("camera-agent: vault commit failed: \(error.description)")
      return ExitCode.failure
    }
    return nil
  }
}
