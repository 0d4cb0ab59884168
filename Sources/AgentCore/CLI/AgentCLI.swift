import CAgentSys

/// The `camera-agent` command: parses argv, loads configuration, dispatches.
public enum AgentCLI {
  public static func main(arguments: [String]) -> Int32 {
    // Secrets live in this process: no core dumps, no ptrace by same-uid processes.
    if ca_set_not_dumpable() != 0 {
      Console.err("camera-agent: prctl(PR_SET_DUMPABLE, 0) failed: \(SystemError.last("prctl").description)")
      return ExitCode.software
    }
    let invocation: Invocation
    do {
      invocation = try Invocation.parse(arguments)
    } catch {
      Console.err("camera-agent: \(error.message)")
      Console.write(fd: 2, Usage.text + "\n")
      return ExitCode.usage
    }
    switch invocation.command {
    case .help:
      Console.write(fd: 1, Usage.text + "\n")
      return ExitCode.ok
    case .version:
      Console.out(
        "camera-agent \(AgentVersion.string) (\(AgentVersion.buildMode), \(AgentVersion.architecture))")
      if let built = AgentVersion.buildTime {
        Console.out("built \(TimeText.utc(built)) (SOURCE_DATE_EPOCH \(built))")
      } else {
        Console.out("built at an unrecorded time; time floor \(TimeText.utc(AgentVersion.buildFloor))")
      }
      return ExitCode.ok
    case .selftest(let options):
      return runSelfTest(options, invocation)
    case .provision(let deviceID, let force):
      var command = ProvisionCommand(deviceID: deviceID, force: force)
      return withConfig(invocation) { VaultAccess.run(&command, config: $0) }
    case .status(let json):
      var command = StatusCommand(json: json)
      return withConfig(invocation) { VaultAccess.run(&command, config: $0) }
    case .wipe(let localOnly):
      var command = WipeCommand(revoke: !localOnly)
      return withConfig(invocation) { VaultAccess.run(&command, config: $0) }
    case .reportDryRun:
      var command = ReportDryRunCommand()
      return withConfig(invocation) { VaultAccess.run(&command, config: $0) }
    case .run(let onceActive):
      var command = RunCommand(onceActive: onceActive, invocation: invocation)
      return withConfig(invocation) { VaultAccess.run(&command, config: $0) }
    case .reauth:
      var command = ReauthCommand()
      return withConfig(invocation) { VaultAccess.run(&command, config: $0) }
    case .pair:
      return withConfig(invocation) { PairCommand.run(config: $0) }
    case .attest(let nonce, let audience):
      var command = AttestCommand(nonce: nonce, audience: audience)
      return withConfig(invocation) { VaultAccess.run(&command, config: $0) }
    }
  }

  /// Loads the configuration. A missing default file means defaults; a missing
  /// file named with --config, or any invalid file, is an error.
  static func loadConfig(_ invocation: Invocation) throws(ConfigError) -> AgentConfig? {
    if !invocation.configExplicit && !FileIO.exists(invocation.configPath) { return nil }
    return try AgentConfig(file: try ConfigFile.load(path: invocation.configPath))
  }

  /// Runs `body` with the loaded configuration (defaults if the default file is absent).
  static func withConfig(_ invocation: Invocation, _ body: (AgentConfig) -> Int32) -> Int32 {
    do {
      return body(try loadConfig(invocation) ?? AgentConfig())
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.config
    }
  }

  static func runSelfTest(_ options: SelfTestOptions, _ invocation: Invocation) -> Int32 {
    do {
      if try loadConfig(invocation) != nil {
        Console.out("ok    config: \(invocation.configPath) is valid")
      }
    } catch {
      Console.err("camera-agent: \(error.description)")
      return ExitCode.config
    }
    let outcomes = SelfTest(options: options).run { Console.out($0.line) }
    var passed = 0
    var failed = 0
    var skipped = 0
    for outcome in outcomes {
      switch outcome.verdict {
      case .passed: passed += 1
      case .failed: failed += 1
      case .skipped: skipped += 1
      }
    }
    Console.out("selftest: \(passed) passed, \(failed) failed, \(skipped) skipped")
    return failed == 0 && skipped == 0 ? ExitCode.ok : ExitCode.failure
  }
}

/// Called from the C `main` in Sources/camera-agent/main.c.
@_cdecl("camera_agent_run")
public func cameraAgentRun(
  _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> Int32 {
  var arguments: [String] = []
  var index = 1
  while index < Int(argc) {
    if let pointer = argv[index] { arguments.append(String(cString: pointer)) }
    index += 1
  }
  return AgentCLI.main(arguments: arguments)
}
