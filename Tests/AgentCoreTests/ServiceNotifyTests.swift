import Foundation
import Testing

@testable import AgentCore

/// `camera-agent run` under a service manager, driven as systemd would: a
/// notify socket (sd_notify protocol) and stderr as the journal stream.
@Suite(.serialized) struct ServiceNotifyTests {
  final class Daemon {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "ca-notify-\(UUID().uuidString)")
    let process = Process()
    var stderrPath: String { directory.appendingPathComponent("stderr").path }

    /// An unprovisioned board: the daemon loads the (empty) vault and waits.
    init(environment: [String: String], syslog: String) throws {
      try FileManager.default.createDirectory(
        at: directory.appendingPathComponent("vault"), withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700])
      let huk = directory.appendingPathComponent("huk").path
      _ = FileManager.default.createFile(atPath: huk, contents: Data(repeating: 7, count: 32))
      let config = directory.appendingPathComponent("agent.conf")
      try """
      server = https://127.0.0.1:9
      vault_path = \(directory.path)/vault
      key_source = file:\(huk)
      state_file = \(directory.path)/run/state
      startup_delay_ms = 0
      syslog_socket = \(syslog)
      """.write(to: config, atomically: true, encoding: .utf8)
      _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
      process.executableURL = TestPaths.agentBinary
      process.arguments = ["--config", config.path, "run"]
      process.standardError = FileHandle(forWritingAtPath: stderrPath)
      let attributes = try FileManager.default.attributesOfItem(atPath: stderrPath)
      let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value ?? 0
      let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
      var env = environment
      if env["JOURNAL_STREAM"] == "match" { env["JOURNAL_STREAM"] = "\(device):\(inode)" }
      process.environment = env
      try process.run()
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func stop() -> Int32 {
      kill(process.processIdentifier, SIGTERM)
      process.waitUntilExit()
      return process.terminationStatus
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
  }

  /// Datagrams until `last` arrives (or 60 s pass).
  static func collect(_ listener: SyslogTests.Listener, until last: String) -> [String] {
    var got: [String] = []
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline, !got.contains(last) {
      if let datagram = listener.receive() { got.append(datagram) }
    }
    return got
  }

  /// READY=1 once the vault is open and the session core started (with no
  /// start-up delay, `unprovisioned` is published first), STATUS= with the
  /// state file's word at each change, STATUS=stopped and STOPPING=1 at SIGTERM; the
  /// syslog copy still goes out (no journal).
  @Test func readyStatusAndStoppingThroughTheNotifySocket() throws {
    let notify = try SyslogTests.Listener()
    let syslog = try SyslogTests.Listener()
    let daemon = try Daemon(environment: ["NOTIFY_SOCKET": notify.path], syslog: syslog.path)
    #expect(Self.collect(notify, until: "READY=1") == ["STATUS=unprovisioned", "READY=1"])
    #expect(daemon.stop() == 0)
    #expect(Self.collect(notify, until: "STOPPING=1") == ["STATUS=stopped", "STOPPING=1"])
    var datagrams: [String] = []
    while let datagram = syslog.receive() { datagrams.append(datagram) }
    #expect(datagrams.contains { $0.hasSuffix("]: state starting -> unprovisioned") }, "\(datagrams)")
    #expect(!daemon.stderr.contains("<5>"))
  }

  /// With stderr as the journal stream, each line is logged once: on stderr
  /// with its `<N>` level prefix, and no syslog datagram.
  @Test func oneLogPathUnderTheJournal() throws {
    let notify = try SyslogTests.Listener()
    let syslog = try SyslogTests.Listener()
    let daemon = try Daemon(
      environment: ["NOTIFY_SOCKET": notify.path, "JOURNAL_STREAM": "match"], syslog: syslog.path)
    _ = Self.collect(notify, until: "READY=1")
    #expect(daemon.stop() == 0)
    // Every line was written before the process ended: an empty socket now
    // means none was sent, not that one is late.
    #expect(syslog.receive() == nil)
    #expect(daemon.stderr.contains("<5>camera-agent: state starting -> unprovisioned\n"), "\(daemon.stderr)")
    // A JOURNAL_STREAM that is not this stderr (inherited by a child) is ignored.
    let other = try Daemon(environment: ["JOURNAL_STREAM": "1:2"], syslog: syslog.path)
    var seen: String? = nil
    let deadline = Date().addingTimeInterval(60)
    while seen == nil, Date() < deadline { seen = syslog.receive() }
    #expect(seen != nil)
    #expect(other.stop() == 0)
  }
}
