import AgentCore
import Foundation
import Testing

/// Drives the real hosted `camera-agent` binary.
@Suite struct CLITests {
  @Test func unknownCommandOrFlagIsUsageError() throws {
    for arguments in [["frobnicate"], ["--frobnicate"], ["version", "--frobnicate"], []] {
      let run = try AgentRun.run(arguments)
      #expect(run.status == 64, "\(arguments)")
      #expect(run.stdout.isEmpty)
      #expect(run.stderr.contains("usage: camera-agent"))
    }
  }

  @Test func helpGoesToStdoutAndExitsZero() throws {
    let run = try AgentRun.run(["--help"])
    #expect(run.status == 0)
    #expect(run.stdout.contains("usage: camera-agent"))
    #expect(run.stdout.contains("selftest"))
    #expect(run.stderr.isEmpty)
  }

  @Test func versionNamesModeAndArchitecture() throws {
    let run = try AgentRun.run(["version"])
    #expect(run.status == 0)
    let built =
      AgentVersion.buildTime.map { "built \(TimeText.utc($0)) (SOURCE_DATE_EPOCH \($0))" }
      ?? "built at an unrecorded time; time floor \(TimeText.utc(AgentVersion.buildFloor))"
    #expect(run.stdout == "camera-agent \(AgentVersion.string) (hosted, x86_64)\n\(built)\n")
    // `--version` (GNU convention) is the same command, with or without --config.
    for arguments in [["--version"], ["--config", "/nonexistent.conf", "--version"]] {
      let flag = try AgentRun.run(arguments)
      #expect(flag.status == 0)
      #expect(flag.stdout == run.stdout)
    }
    #expect(try AgentRun.run(["--version", "status"]).status == 64)
  }

  @Test func explicitMissingConfigIsConfigError() throws {
    let run = try AgentRun.run(["selftest", "--config", "/nonexistent/agent.conf"])
    #expect(run.status == 78)
    #expect(run.stderr.contains("/nonexistent/agent.conf"))
  }

  @Test func invalidConfigIsConfigError() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID()).conf")
    try "server = https://x\nwifi_ssid = canary\n".write(to: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: path) }
    let run = try AgentRun.run(["--config", path.path, "selftest"])
    #expect(run.status == 78)
    #expect(run.stderr.contains(":2: unknown key 'wifi_ssid'"))
  }

  @Test func selftestPassesAgainstLoopbackTLS() throws {
    let fixture = try TLSFixture()
    let run = try AgentRun.run([
      "selftest", "--tls-url", fixture.url("/"), "--ca-file", fixture.caFile,
      "--wrong-ca-file", fixture.otherCAFile,
    ])
    #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
    #expect(run.stdout.hasSuffix("selftest: 7 passed, 0 failed, 0 skipped\n"))
  }

  @Test func selftestFailsWhenTheWrongCAIsSwapped() throws {
    let fixture = try TLSFixture()
    // Swapped: the "right" CA did not issue the certificate, so both TLS checks fail.
    let run = try AgentRun.run([
      "selftest", "--tls-url", fixture.url("/"), "--ca-file", fixture.otherCAFile,
      "--wrong-ca-file", fixture.caFile,
    ])
    #expect(run.status == 1)
    #expect(run.stdout.contains("FAIL  https-verified: server certificate rejected"))
    #expect(run.stdout.contains("FAIL  https-wrong-ca: request succeeded"))
    #expect(run.stdout.hasSuffix("selftest: 5 passed, 2 failed, 0 skipped\n"))
  }

  @Test func selftestWithoutTLSIsNotAPass() throws {
    let run = try AgentRun.run(["selftest"])
    #expect(run.status == 1)
    #expect(run.stdout.contains("skip  https-verified"))
  }
}
