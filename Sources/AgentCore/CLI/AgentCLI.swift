import CAgentSys

/// The `camera-agent` command: parses argv, loads configuration, dispatches.
public enum AgentCLI {
  public static func main(arguments: [String]) -> Int32 {
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
      return ExitCode.ok
    case .selftest(let options):
      return runSelfTest(options, invocation)
    }
  }

  /// Loads the configuration. A missing default file means defaults; a missing
  /// file named with --config, or any invalid file, is an error.
  static func loadConfig(_ invocation: Invocation) throws(ConfigError) -> AgentConfig? {
    if !invocation.configExplicit && !FileIO.exists(invocation.configPath) { return nil }
    return try AgentConfig(file: try ConfigFile.load(path: invocation.configPath))
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
