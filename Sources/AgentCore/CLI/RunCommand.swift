/// `camera-agent run [--once-active]`: the daemon (see `Daemon`).
///
/// Before the daemon starts, the vault's session is checked against the
/// configured server (`SessionBinding`): tokens issued by another issuer
/// stop the start with exit 78 and what to do, before any request is made.
struct RunCommand: VaultCommand {
  let onceActive: Bool
  let invocation: Invocation

  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    guard !config.server.isEmpty else {
      Console.err("camera-agent: server is not set in the configuration")
      return ExitCode.config
    }
    if let refused = Self.checkSession(&vault, config: config) { return refused }
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
