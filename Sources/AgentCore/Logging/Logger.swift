/// The daemon's log: every line goes to stderr and, when configured, to
/// syslog, at or above the configured level. A line is a `LogMessage` (which
/// cannot hold a `SecretBytes`), then `LogSafeText.line` keeps it to one line
/// of printable ASCII with anything shaped like a credential masked (`LogMask`),
/// at most 1,024 characters: the same rule as every CLI diagnostic on stderr.
///
/// stderr lines read `camera-agent: message`, with `error: ` or `warning: `
/// before the message for those levels; syslog carries the level itself.
public final class Logger {
  public static let lineLimit = LogSafeText.lineLimit

  public var level: LogLevel
  private var syslog: SyslogSink?
  private let clock: () -> Int64

  public init(level: LogLevel, syslogPath: String?, clock: @escaping () -> Int64) {
    self.level = level
    self.syslog = syslogPath.map { SyslogSink(path: $0) }
    self.clock = clock
  }

  /// Applies a reloaded configuration.
  public func configure(level: LogLevel, syslogPath: String?) {
    self.level = level
    if syslogPath != syslog?.path { syslog = syslogPath.map { SyslogSink(path: $0) } }
  }

  /// The text a message becomes on every sink.
  public static func render(_ message: LogMessage) -> String {
    LogSafeText.line(message.text)
  }

  public func log(_ level: LogLevel, _ message: LogMessage) {
    guard level.isKept(under: self.level) else { return }
    let line = Self.render(message)
    switch level {
    // `line` is clean already; Console.err would clean it a second time.
    case .error, .warning: Console.write(fd: 2, "camera-agent: \(level.name): \(line)\n")
    default: Console.write(fd: 2, "camera-agent: \(line)\n")
    }
    syslog?.send(line, level: level, now: clock())
  }

  public func error(_ message: LogMessage) { log(.error, message) }
  public func warning(_ message: LogMessage) { log(.warning, message) }
  public func notice(_ message: LogMessage) { log(.notice, message) }
  public func info(_ message: LogMessage) { log(.info, message) }
  public func debug(_ message: LogMessage) { log(.debug, message) }
}
