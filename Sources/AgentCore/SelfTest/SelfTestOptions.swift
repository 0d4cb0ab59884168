/// Options of `camera-agent selftest`.
public struct SelfTestOptions: Equatable {
  public var tlsURL: String? = nil
  public var caFile: String? = nil
  public var wrongCAFile: String? = nil

  public init() {}

  static func parse(_ arguments: [String]) throws(Invocation.UsageError) -> SelfTestOptions {
    var options = SelfTestOptions()
    var index = 0
    while index < arguments.count {
      let flag = arguments[index]
      guard index + 1 < arguments.count else {
        throw Invocation.UsageError(message: "selftest: unknown option or missing value: '\(flag)'")
      }
      let value = arguments[index + 1]
      switch Word(flag) {
      case "--tls-url": options.tlsURL = value
      case "--ca-file": options.caFile = value
      case "--wrong-ca-file": options.wrongCAFile = value
      default: throw Invocation.UsageError(message: "selftest: unknown option '\(flag)'")
      }
      index += 2
    }
    if options.tlsURL != nil && (options.caFile == nil || options.wrongCAFile == nil) {
      throw Invocation.UsageError(message: "selftest: --tls-url needs --ca-file and --wrong-ca-file")
    }
    if options.tlsURL == nil && (options.caFile != nil || options.wrongCAFile != nil) {
      throw Invocation.UsageError(message: "selftest: --ca-file and --wrong-ca-file need --tls-url")
    }
    return options
  }
}
