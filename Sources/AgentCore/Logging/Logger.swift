import CAgentSys

/// The daemon's log: every line goes to stderr and, when configured (and
/// stderr is not the journal), to syslog, at or above the configured level.
/// A line is a `LogMessage` (which cannot hold a `SecretBytes`), then
/// `LogSafeText.line` keeps it to one line of printable ASCII with anything
/// shaped like a credential masked (`LogMask`), at most 1,024 characters:
/// the same rule as every CLI diagnostic on stderr.
///
/// stderr lines read `camera-agent: message`, with `error: ` or `warning: `
/// before the message for those levels; syslog carries the level itself.
public final class Logger {
  public static let lineLimit = LogSafeText.lineLimit

  public var level: LogLevel
  private var syslog: SyslogSink?
  private let clock: () -> Int64

  /// stderr is systemd's journal stream (JOURNAL_STREAM matches fd 2): the
  /// journal already has every line, with its level from a `<N>` prefix
  /// (sd-daemon(3)), so the syslog copy is left out and nothing is logged
  /// twice. Under BusyBox init stderr goes to the supervisor's log and
  /// syslog gets its copy as configured.
  public let stderrIsJournal: Bool

  public init(level: LogLevel, syslogPath: String?, clock: @escaping () -> Int64) {
    self.level = level
    self.stderrIsJournal = ca_stderr_is_journal() == 1
    self.clock = clock
    self.syslog = nil
    self.syslog = sink(for: syslogPath)
  }

  private func sink(for path: String?) -> SyslogSink? {
    stderrIsJournal ? nil : path.map { SyslogSink(path: $0) }
  }

  /// Applies a reloaded configuration.
  public func configure(level: LogLevel, syslogPath: String?) {
    self.level = level
    if stderrIsJournal { return }
    if !Word.same(syslogPath, syslog?.path) { syslog = sink(for: syslogPath) }
  }

  /// The text a message becomes on every sink.
  public static func render(_ message: LogMessage) -> String {
    LogSafeText.line(message.text)
  }

  public func log(_ level: LogLevel, _ message: LogMessage) {
    guard level.isKept(under: self.level) else { return }
    let line = Self.render(message)
    let prefix = stderrIsJournal ? "<\(level.severity)>" : ""
    switch level {
    // `line` is clean already; Console.err would clean it a second time.
    case .error, .warning: Console.write(fd: 2, "\(prefix)camera-agent: \(level.name): \(line)\n")
    default: Console.write(fd: 2, "\(prefix)camera-agent: \(line)\n")
    }
    syslog?.send(line, level: level, now: clock())
  }

  public func error(_ message: LogMessage) { log(.error, message) }
  public func warning(_ message: LogMessage) { log(.warning, message) }
  public func notice(_ message: LogMessage) { log(.notice, message) }
  public func info(_ message: LogMessage) { log(.info, message) }
  public func debug(_ message: LogMessage) { log(.debug, message) }
}
