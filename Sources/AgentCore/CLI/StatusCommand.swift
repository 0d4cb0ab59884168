/// `camera-agent status [--json]`: what the vault holds (`VaultStatus`), as
/// `key=value` lines or one JSON object. Secret values are never shown.
struct StatusCommand: VaultCommand {
  var json = false

  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    let contents: VaultContents?
    do {
      contents = try vault.open()
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.failure
    }
    let status = VaultStatus(vault: vault, contents: contents, config: config)
    if json {
      Console.out(status.json)
    } else {
      for line in status.lines { Console.out(line) }
    }
    return ExitCode.ok
  }
}
