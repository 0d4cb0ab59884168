import CAgentSys

/// Sends log lines to the local syslog daemon as RFC 3164-style datagrams
/// (`<PRI>camera-agent[PID]: message`, facility daemon), the way glibc's
/// syslog(3) does, but to a configurable socket so that tests can listen.
/// When the socket is missing or refuses a line, the sink says so once on
/// stderr, keeps logging to stderr, and tries the socket again after a minute.
final class SyslogSink {
  let path: String
  private var fd: Int32 = -1
  private var failedAt: Int64? = nil
  private let pid = Int(getpid())

  static let facilityDaemon = 3
  static let retrySeconds: Int64 = 60

  init(path: String) { self.path = path }

  deinit { if fd >= 0 { _ = close(fd) } }

  func send(_ line: String, level: LogLevel, now: Int64) {
    if fd < 0 {
      if let failedAt, now - failedAt < Self.retrySeconds { return }
      fd = ca_syslog_connect(path)
      if fd < 0 {
        report(SystemError.last("connect \(path)"), now: now)
        return
      }
      if failedAt != nil {
        failedAt = nil
        Console.err("camera-agent: syslog at \(path) is back")
      }
    }
    var datagram = "<\(Self.facilityDaemon * 8 + level.severity)>camera-agent[\(pid)]: \(line)"
    let sent = datagram.withUTF8 { buffer in ca_syslog_send(fd, buffer.baseAddress, buffer.count) }
    if sent != 0 {
      let error = SystemError.last("send to \(path)")
      _ = close(fd)
      fd = -1
      report(error, now: now)
    }
  }

  private func report(_ error: SystemError, now: Int64) {
    if failedAt == nil {
      Console.err(
        "camera-agent: warning: syslog unavailable (\(error.description)); logging to stderr only, retrying every \(Self.retrySeconds) s"
      )
    }
    failedAt = now
  }
}
