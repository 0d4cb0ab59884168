import AgentCore
import Testing

@Suite struct ConfigTests {
  func parse(_ text: String) throws(ConfigError) -> AgentConfig {
    try AgentConfig(file: try ConfigFile(path: "agent.conf", text: Array(text.utf8)))
  }

  @Test func parsesCommentsBlanksAndValues() throws {
    let config = try parse(
      """
      # a comment
        server = https://cloud.example.test

      ca_file=/etc/camera-agent/ca.pem
      connect_timeout_ms = 2500
      """)
    #expect(config.server == "https://cloud.example.test")
    #expect(config.caFile == "/etc/camera-agent/ca.pem")
    #expect(config.connectTimeoutMs == 2500)
    #expect(config.totalTimeoutMs == 30_000)
  }

  @Test func refusesUnknownDuplicateAndInvalid() {
    #expect(throws: ConfigError.unknownKey(path: "agent.conf", line: 2, key: "sevrer")) {
      _ = try parse("\nsevrer = https://x")
    }
    #expect(throws: ConfigError.duplicateKey(path: "agent.conf", line: 2, key: "ca_file")) {
      _ = try parse("ca_file = /a\nca_file = /b")
    }
    #expect(throws: ConfigError.syntax(path: "agent.conf", line: 1, message: "expected 'key = value'")) {
      _ = try parse("server https://x")
    }
    #expect(
      throws: ConfigError.invalidValue(
        path: "agent.conf", line: 1, key: "connect_timeout_ms", reason: "'fast' is not a whole number")
    ) {
      _ = try parse("connect_timeout_ms = fast")
    }
    #expect(
      throws: ConfigError.invalidValue(
        path: "agent.conf", line: 1, key: "connect_timeout_ms", reason: "5 is outside 100...120000")
    ) {
      _ = try parse("connect_timeout_ms = 5")
    }
    #expect(throws: ConfigError.self) { _ = try parse("ca_file = relative/path") }
    #expect(throws: ConfigError.self) { _ = try parse("server = ftp://x") }
    #expect(throws: ConfigError.self) { _ = try parse("server = http://cloud.test") }
    #expect(throws: ConfigError.self) { _ = try parse("server = https://a\u{7}b") }
  }

  @Test func plainHTTPOnlyWithDevelopmentFlag() throws {
    let config = try parse("server = http://127.0.0.1:8080\nallow_insecure_http = yes")
    #expect(config.allowInsecureHTTP)
    #expect(config.httpPolicy.allowPlainHTTP)
  }

  @Test func shippedExampleConfigIsValid() throws {
    let path = TestPaths.repository.appendingPathComponent("board/agent.conf.example").path
    let file = try ConfigFile.load(path: path)
    #expect(!file.entries.isEmpty)
    _ = try AgentConfig(file: file)
  }

  @Test func activationReportDelayReachesTheCore() throws {
    #expect(try parse("").sessionSettings.activationReportDelayMs == 3_600_000)
    #expect(try parse("activation_report_delay_seconds = 0").sessionSettings.activationReportDelayMs == 0)
    #expect(
      throws: ConfigError.invalidValue(
        path: "agent.conf", line: 1, key: "activation_report_delay_seconds",
        reason: "86401 is outside 0...86400")
    ) {
      _ = try parse("activation_report_delay_seconds = 86401")
    }
  }

  @Test func unreadableFileIsAClearError() {
    #expect(throws: ConfigError.self) { _ = try ConfigFile.load(path: "/nonexistent/agent.conf") }
  }
}
