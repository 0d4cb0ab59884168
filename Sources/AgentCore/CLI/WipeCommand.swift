/// `camera-agent wipe`: erases both vault slots. Works on a vault that no
/// longer opens (that is when it is most needed).
struct WipeCommand: VaultCommand {
  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    // Opening first lets wipe erase the older slot before the current one.
    _ = try? vault.open()
    do {
      try vault.wipe()
    } catch {
      Console.err("camera-agent: wipe failed: \(error.description)")
      return ExitCode.failure
    }
    Console.out("vault wiped: both slots erased")
    return ExitCode.ok
  }
}
