/// A parsed command line.
public struct Invocation: Equatable {
  public enum Command: Equatable {
    case help
    case version
    case selftest(SelfTestOptions)
    case provision(deviceID: String, force: Bool)
    /// `json`: one JSON object (VaultStatus schema 1) instead of key=value lines.
    case status(json: Bool)
    /// `localOnly`: erase without revoking the session at the cloud.
    case wipe(localOnly: Bool)
    case reportDryRun
    /// The daemon; `onceActive` exits 0 once active and a report was accepted.
    case run(onceActive: Bool)
    case reauth
    /// The pairing button: SIGUSR2 to the running daemon (PairCommand).
    case pair
    /// The factory's proof of possession; see AttestCommand.
    case attest(nonce: String, audience: String)
  }

  public var command: Command
  public var configPath: String
  /// True when `--config` was given: then a missing file is an error, not "use defaults".
  public var configExplicit: Bool

  public struct UsageError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
  }

  /// Parses argv without the program name. Global flags (`--config`, `--help`)
  /// may come before or after the subcommand.
  public static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
    var configPath = AgentConfig.defaultPath
    var configExplicit = false
    var commandName: String? = nil
    var rest: [String] = []
    var wantsHelp = false
    var wantsVersion = false
    var misplaced: String? = nil
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      if Word(argument) == "--config" {
        index += 1
        guard index < arguments.count, !arguments[index].isEmpty else {
          throw UsageError(message: "--config needs a value")
        }
        configPath = arguments[index]
        configExplicit = true
      } else if ASCII.hasPrefixIgnoringCase(argument, "--config=") {
        configPath = String(decoding: Array(argument.utf8).dropFirst(9), as: UTF8.self)
        guard !configPath.isEmpty else { throw UsageError(message: "--config needs a value") }
        configExplicit = true
      } else if Word(argument) == "--help" || Word(argument) == "-h" {
        wantsHelp = true
      } else if Word(argument) == "--version" && commandName == nil {
        wantsVersion = true
      } else if commandName == nil {
        if argument.utf8.first == UInt8(ascii: "-") {
          if misplaced == nil { misplaced = argument }
        } else {
          commandName = argument
        }
      } else {
        rest.append(argument)
      }
      index += 1
    }
    if wantsHelp { return Invocation(command: .help, configPath: configPath, configExplicit: configExplicit) }
    // `camera-agent --version`, the GNU convention, is the `version` command.
    if wantsVersion {
      if let name = commandName { throw UsageError(message: "--version takes no command (got '\(name)')") }
      return Invocation(command: .version, configPath: configPath, configExplicit: configExplicit)
    }
    if let misplaced { throw UsageError(message: "unknown option '\(misplaced)'") }
    guard let name = commandName else { throw UsageError(message: "no command given") }
    let command: Command
    switch Word(name) {
    case "help":
      try noArguments(name, rest)
      command = .help
    case "version":
      try noArguments(name, rest)
      command = .version
    case "selftest":
      command = .selftest(try SelfTestOptions.parse(rest))
    case "provision":
      command = try parseProvision(rest)
    case "status":
      guard rest.isEmpty || Word.isOnly(rest, "--json") else {
        let unknown = rest.first { Word($0) != "--json" } ?? rest[0]
        throw UsageError(message: "status: unknown option '\(unknown)'")
      }
      command = .status(json: !rest.isEmpty)
    case "wipe":
      guard rest.isEmpty || Word.isOnly(rest, "--local-only") else {
        let unknown = rest.first { Word($0) != "--local-only" } ?? rest[0]
        throw UsageError(message: "wipe: unknown option '\(unknown)'")
      }
      command = .wipe(localOnly: !rest.isEmpty)
    case "report":
      guard Word.isOnly(rest, "--dry-run") else {
        throw UsageError(
          message:
            "report: only 'report --dry-run' is available; reports are sent by the daemon, not yet in this build"
        )
      }
      command = .reportDryRun
    case "run":
      guard rest.isEmpty || Word.isOnly(rest, "--once-active") else {
        let unknown = rest.first { Word($0) != "--once-active" } ?? rest[0]
        throw UsageError(message: "run: unexpected argument '\(unknown)'")
      }
      command = .run(onceActive: !rest.isEmpty)
    case "reauth":
      try noArguments(name, rest)
      command = .reauth
    case "pair":
      try noArguments(name, rest)
      command = .pair
    case "attest":
      command = try parseAttest(rest)
    default:
      throw UsageError(message: "unknown command '\(name)'")
    }
    return Invocation(command: command, configPath: configPath, configExplicit: configExplicit)
  }

  private static func parseProvision(_ rest: [String]) throws(UsageError) -> Command {
    var deviceID: String? = nil
    var force = false
    var index = 0
    while index < rest.count {
      switch Word(rest[index]) {
      case "--force": force = true
      case "--device-id":
        index += 1
        guard index < rest.count else { throw UsageError(message: "provision: --device-id needs a value") }
        deviceID = rest[index]
      default: throw UsageError(message: "provision: unknown option '\(rest[index])'")
      }
      index += 1
    }
    guard let deviceID else { throw UsageError(message: "provision: --device-id is required") }
    guard DeviceID.isValid(deviceID) else {
      throw UsageError(
        message: "provision: invalid device id (3-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)")
    }
    return .provision(deviceID: deviceID, force: force)
  }

  private static func noArguments(_ command: String, _ rest: [String]) throws(UsageError) {
    if let first = rest.first { throw UsageError(message: "\(command): unexpected argument '\(first)'") }
  }
}
