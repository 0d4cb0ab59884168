/// How important a log line is. The order is syslog's: `error` is the most
/// severe, `debug` the least; a configured level keeps itself and everything
/// more severe.
public enum LogLevel: Int, Equatable {
  case error = 3
  case warning = 4
  case notice = 5
  case info = 6
  case debug = 7

  /// The syslog severity (RFC 5424 §6.2.1).
  public var severity: Int { rawValue }

  /// The word used in the configuration file and on stderr.
  public var name: String {
    switch self {
    case .error: return "error"
    case .warning: return "warning"
    case .notice: return "notice"
    case .info: return "info"
    case .debug: return "debug"
    }
  }

  public static func parse(_ text: String) -> LogLevel? {
    switch Word(text) {
    case "error": return .error
    case "warning": return .warning
    case "notice": return .notice
    case "info": return .info
    case "debug": return .debug
    default: return nil
    }
  }

  /// Whether a line at this level is kept when `configured` is the level set.
  public func isKept(under configured: LogLevel) -> Bool { rawValue <= configured.rawValue }
}
