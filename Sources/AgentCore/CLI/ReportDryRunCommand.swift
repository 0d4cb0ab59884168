/// `camera-agent report --dry-run`: writes exactly the body the report would
/// carry to stdout (no trailing newline, nothing else), and sends nothing.
struct ReportDryRunCommand: VaultCommand {
  func run<S: SlotStore>(_ vault: inout Vault<S>, config: AgentConfig) -> Int32 {
    guard let source = config.firmwareVersionSource else {
      Console.err("camera-agent: firmware_version_source is not set in the configuration")
      return ExitCode.config
    }
    guard
      let contents = VaultAccess.openProvisioned(
        &vault, unprovisioned: "not provisioned: there is no device id to report")
    else { return ExitCode.failure }
    guard let lastActivation = contents.lastActivation else {
      Console.err("camera-agent: not activated yet: a report needs the time of the last activation")
      return ExitCode.failure
    }
    let firmware: FirmwareVersion
    do {
      firmware = try source.load()
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.failure
    }
    let report = StatusReport(
      deviceID: contents.deviceID, firmwareVersion: firmware, lastActivation: lastActivation,
      agentVersion: AgentVersion.string)
    guard let body = report.body() else {
      Console.err("camera-agent: last activation time is out of range")
      return ExitCode.failure
    }
    Console.write(fd: 1, String(decoding: body, as: UTF8.self))
    return ExitCode.ok
  }
}
