/// `camera-agent run [--once-active]`: the daemon (see `Daemon`).
struct RunCommand: VaultCommand {
  let onceActive: Bool
  let invocation: Invocation

  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
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
}
