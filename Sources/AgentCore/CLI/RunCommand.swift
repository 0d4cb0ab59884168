/// `camera-agent run [--once-active]`: the daemon (see `Daemon`).
///
/// The daemon is the vault's owner for its whole lifetime (VaultAccess takes
/// the lock before `run` is called; the lock lives in the store, which the
/// daemon keeps): `wipe`, `reauth` and `provision` refuse while it runs
/// instead of being silently undone by its next commit. Before the daemon
/// starts, a destroy that a power cut interrupted is finished.
struct RunCommand: VaultCommand {
  static var changesVault: Bool { true }
  let onceActive: Bool
  let invocation: Invocation

  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    Self.finishInterruptedDestroy(&vault)
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
}
