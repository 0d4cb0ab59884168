import Foundation
import Testing

@testable import AgentCore

@Suite struct LogMaskTests {
  @Test func masksTokenShapedRuns() {
    let jwt =
      "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJjYW0tMDAwMSJ9.MEUCIQD3x9_kq-Zp1A2b3C4d5E6f7G8h9I0j"
    #expect(LogMask.apply("refresh failed for \(jwt) today") == "refresh failed for [masked] today")
    let opaque = "Xk3Jq9_Lm2Vb7Rt5Wz8Np4Hs6Df1Ga0"
    #expect(LogMask.apply("got \(opaque)") == "got [masked]")
    // 64 hex characters (a digest or a raw key in hex) are masked too.
    let hex = String(repeating: "0123456789abcdef", count: 4)
    #expect(LogMask.apply("key \(hex)") == "key [masked]")
  }

  @Test func masksAfterSchemesAndKeys() {
    #expect(LogMask.apply("Authorization: DPoP abc.def") == "Authorization: DPoP [masked]")
    #expect(LogMask.apply("header bearer x1") == "header bearer [masked]")
    #expect(LogMask.apply("sent refresh_token=short&x=1") == "sent refresh_token=[masked]&x=1")
    #expect(
      LogMask.apply(#"body {"access_token": "tok", "n":1}"#) == #"body {"access_token": "[masked]", "n":1}"#)
    #expect(LogMask.apply("wpa psk=hunter2 ok") == "wpa psk=[masked] ok")
    #expect(LogMask.apply("device_code=abc") == "device_code=[masked]")
  }

  @Test func leavesOrdinaryLinesAlone() {
    for line in [
      "state activation_pending -> active",
      "waiting for the owner to approve the pairing code (valid 600 s)",
      "GET https://cloud.example/.well-known/oauth-authorization-server",
      "POST /v1/devices/cam-hs-0001/report",
      "token poll: HTTP 503 (temporarily_unavailable)",
      "exit code: 3",
      "session key: generation failed",
      "retrying in 4 s",
      "firmware 4.2.1-rc1+build.7",
    ] {
      #expect(LogMask.apply(line) == line)
    }
  }

  @Test func renderIsOneLineOfPrintableASCII() {
    let forged = "bad\ncamera-agent: state active -> active\r\u{1b}[2J"
    let out = Logger.render("server said \(forged)")
    #expect(!out.contains("\n") && !out.contains("\r") && !out.contains("\u{1b}"))
    #expect(Logger.render("\(String(repeating: "ab ", count: 2_000))").utf8.count == Logger.lineLimit)
  }

  @Test func levels() {
    #expect(LogLevel.error.isKept(under: .info))
    #expect(LogLevel.info.isKept(under: .info))
    #expect(!LogLevel.debug.isKept(under: .info))
    #expect(!LogLevel.notice.isKept(under: .warning))
    for level in [LogLevel.error, .warning, .notice, .info, .debug] {
      #expect(LogLevel.parse(level.name) == level)
    }
    #expect(LogLevel.parse("verbose") == nil)
  }
}

@Suite(.serialized) struct SyslogTests {
  /// A datagram socket standing in for /dev/log.
  final class Listener {
    let path: String
    let fd: Int32

    init() throws {
      path = NSTemporaryDirectory() + "ca-syslog-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
      fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
      var address = sockaddr_un()
      address.sun_family = sa_family_t(AF_UNIX)
      withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
      }
      let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
      }
      guard rc == 0 else { throw POSIXError(.EADDRINUSE) }
      var timeout = timeval(tv_sec: 2, tv_usec: 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
      close(fd)
      unlink(path)
    }

    func receive() -> String? {
      var buffer = [UInt8](repeating: 0, count: 4096)
      let n = recv(fd, &buffer, buffer.count, 0)
      return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }
  }

  @Test func sendsRFC3164DatagramsWithMaskingAndLevel() throws {
    let listener = try Listener()
    let logger = Logger(level: .info, syslogPath: listener.path, clock: { 1_800_000_000 })
    logger.warning("refresh failed: Bearer abcdef")
    let datagram = try #require(listener.receive())
    #expect(datagram == "<28>camera-agent[\(getpid())]: refresh failed: Bearer [masked]")
    logger.debug("dropped below the level")
    logger.notice("state a -> b")
    #expect(listener.receive() == "<29>camera-agent[\(getpid())]: state a -> b")
  }

  @Test func missingSocketIsNotFatal() {
    let logger = Logger(level: .info, syslogPath: "/nonexistent/dev/log", clock: { 0 })
    logger.info("still goes to stderr")
    logger.info("and again")
  }
}

@Suite struct TransitionHookTests {
  @Test func environmentIsTheStateFileAndAFixedPath() {
    let text =
      "state=reauth_pending\nuser_code=BCDF-GHJK\nverification_uri=https://c.test/device\nexpires_at=17\n"
    #expect(
      TransitionHook.environment(stateFileText: text) == [
        "CAMERA_AGENT_STATE=reauth_pending", "CAMERA_AGENT_USER_CODE=BCDF-GHJK",
        "CAMERA_AGENT_VERIFICATION_URI=https://c.test/device", "CAMERA_AGENT_EXPIRES_AT=17",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
      ])
  }

  @Test func runsWithOnlyThatEnvironmentAndNoExtraDescriptors() throws {
    let dir = NSTemporaryDirectory() + "ca-hook-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = dir + "/hook"
    try writeExecutable(script, "#!/bin/sh\nenv | sort > \(dir)/env\nls /proc/self/fd > \(dir)/fds\nexit 3\n")
    // A descriptor the agent holds must not reach the hook.
    let held = open("/dev/null", O_RDONLY)
    defer { close(held) }
    setenv("CAMERA_AGENT_TEST_LEAK", "must-not-reach-the-hook", 1)
    defer { unsetenv("CAMERA_AGENT_TEST_LEAK") }
    let hook = TransitionHook(path: script, timeoutMilliseconds: 5_000)
    let outcome = hook.run(environment: TransitionHook.environment(stateFileText: "state=active\n"))
    #expect(outcome == .exited(3))
    let env = try String(contentsOfFile: dir + "/env", encoding: .utf8)
      .split(separator: "\n").filter {
        !$0.hasPrefix("PWD=") && !$0.hasPrefix("SHLVL=") && !$0.hasPrefix("_=")
      }
    #expect(env == ["CAMERA_AGENT_STATE=active", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    let fds = try String(contentsOfFile: dir + "/fds", encoding: .utf8).split(separator: "\n")
    // 0, 1, 2, and the one ls opened to read /proc/self/fd.
    #expect(fds.count == 4)
  }

  @Test func aHangingHookIsKilled() throws {
    let dir = NSTemporaryDirectory() + "ca-hook-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = dir + "/hook"
    try writeExecutable(script, "#!/bin/sh\nexec sleep 30\n")
    let hook = TransitionHook(path: script, timeoutMilliseconds: 200)
    #expect(hook.run(environment: ["PATH=/usr/bin:/bin"]) == .killedAfterTimeout)
    let missing = TransitionHook(path: dir + "/absent", timeoutMilliseconds: 200)
    guard case .notStarted = missing.run(environment: []) else {
      Issue.record("a missing hook must be reported as not started")
      return
    }
  }

  /// The state of process `pid` from /proc (`R`, `S`, `Z`...), nil once it is gone.
  static func processState(_ pid: Int32) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    return stat[stat.index(close, offsetBy: 2)]
  }

  /// A hook that leaves a child behind (`sleep &`, then waits itself): the
  /// timeout kills the hook's process group, so the child dies with it and
  /// cannot hold the agent's stderr or pile up one per state change.
  @Test func aTimedOutHookIsKilledWithItsChildren() throws {
    let dir = NSTemporaryDirectory() + "ca-hook-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = dir + "/hook"
    try "#!/bin/sh\nsleep 300 &\necho $! > \(dir)/child.tmp\nmv \(dir)/child.tmp \(dir)/child\nwait\n".write(
      toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    // Long enough for the hook to fork on a loaded machine; the child's pid is
    // written before the hook waits, so its file exists once we time out.
    let hook = TransitionHook(path: script, timeoutMilliseconds: 3_000)
    #expect(hook.run(environment: ["PATH=/usr/bin:/bin"]) == .killedAfterTimeout)
    let text = try String(contentsOfFile: dir + "/child", encoding: .utf8)
    let child = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    // SIGKILL went to the group before run() returned; the orphan is then
    // reaped by init. Dead means gone or a zombie, never sleeping on.
    var state = Self.processState(child)
    var waited = 0
    while let s = state, s != "Z", waited < 10_000 {
      usleep(10_000)
      waited += 10
      state = Self.processState(child)
    }
    #expect(
      state == nil || state == "Z",
      "the hook's child \(child) survived the timeout: state \(String(describing: state))")
  }

  @Test func configKeys() throws {
    let file = try ConfigFile(
      path: "t.conf",
      text: Array(
        """
        log_level = debug
        syslog_socket = /tmp/log.sock
        hook = /usr/libexec/camera-agent/hook
        hook_timeout_ms = 250
        report_interval_seconds = 3600
        """.utf8))
    let config = try AgentConfig(file: file)
    #expect(config.logLevel == .debug)
    #expect(config.syslogSocket == "/tmp/log.sock")
    #expect(config.hook == "/usr/libexec/camera-agent/hook")
    #expect(config.hookTimeoutMs == 250)
    #expect(config.reportIntervalSeconds == 3_600)
    #expect(config.effectiveReportJitterSeconds == 360)
    let off = try AgentConfig(file: try ConfigFile(path: "t.conf", text: Array("syslog = no".utf8)))
    #expect(off.syslogSocket == nil)
    for bad in ["log_level = loud", "report_interval_seconds = 9", "hook = relative/hook", "syslog = maybe"] {
      let file = try ConfigFile(path: "t.conf", text: Array(bad.utf8))
      #expect(throws: ConfigError.self) { try AgentConfig(file: file) }
    }
  }
}
