import CAgentSys

/// The service manager's readiness protocol (sd_notify(3)), in the few lines
/// it takes rather than libsystemd: `KEY=value` datagrams to the AF_UNIX
/// socket named by `NOTIFY_SOCKET`. With `Type=notify` systemd counts the
/// service as started at `READY=1` (after the vault is loaded), shows
/// `STATUS=` in `systemctl status`, and knows a stop is under way at
/// `STOPPING=1`. Without `NOTIFY_SOCKET` (BusyBox init, a shell) every call
/// does nothing. A lost datagram costs only the status line, so sends are
/// not retried and never block.
struct ServiceNotify {
  /// The socket path, or nil when no service manager listens.
  let socketPath: String?

  /// The manager this process runs under, from its environment.
  static func fromEnvironment() -> ServiceNotify {
    guard let raw = getenv("NOTIFY_SOCKET") else { return ServiceNotify(socketPath: nil) }
    return ServiceNotify(socketPath: String(cString: raw))
  }

  /// The service is up: the vault is loaded and the session started.
  @discardableResult func ready() -> Bool { send("READY=1") }

  /// One line for `systemctl status`: the session state name, the same
  /// word as in the state file and the hook.
  @discardableResult func status(_ text: String) -> Bool {
    // One datagram carries newline-separated assignments: keep it one line.
    let clean = String(
      decoding: text.utf8.map { $0 < 0x20 || $0 > 0x7e ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    return send("STATUS=" + clean)
  }

  /// A stop (SIGTERM) is under way.
  @discardableResult func stopping() -> Bool { send("STOPPING=1") }

  /// Sends `message`; true when a manager listens and took it.
  func send(_ message: String) -> Bool {
    guard let socketPath else { return false }
    var text = message
    return text.withUTF8 { bytes in ca_notify_send(socketPath, bytes.baseAddress, bytes.count) } == 0
  }
}
