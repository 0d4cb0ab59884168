import AgentCore
import Testing

@Suite struct InvocationTests {
  @Test func globalConfigBeforeOrAfterCommand() throws {
    let before = try Invocation.parse(["--config", "/tmp/a.conf", "version"])
    #expect(before.command == .version)
    #expect(before.configPath == "/tmp/a.conf")
    #expect(before.configExplicit)
    let after = try Invocation.parse(["version", "--config=/tmp/b.conf"])
    #expect(after.configPath == "/tmp/b.conf")
    let none = try Invocation.parse(["version"])
    #expect(none.configPath == AgentConfig.defaultPath)
    #expect(!none.configExplicit)
  }

  @Test func helpWinsAnywhere() throws {
    #expect(try Invocation.parse(["--help"]).command == .help)
    #expect(try Invocation.parse(["selftest", "-h"]).command == .help)
    #expect(try Invocation.parse(["--bogus", "--help"]).command == .help)
    #expect(try Invocation.parse(["help"]).command == .help)
  }

  @Test func selftestOptions() throws {
    let parsed = try Invocation.parse([
      "selftest", "--tls-url", "https://127.0.0.1:1/", "--ca-file", "/a", "--wrong-ca-file", "/b",
    ])
    var expected = SelfTestOptions()
    expected.tlsURL = "https://127.0.0.1:1/"
    expected.caFile = "/a"
    expected.wrongCAFile = "/b"
    #expect(parsed.command == .selftest(expected))
  }

  @Test func usageErrors() {
    for arguments in [
      [], ["bogus"], ["--bogus", "version"], ["version", "extra"], ["--config"],
      ["selftest", "--tls-url"], ["selftest", "--tls-url", "https://x/"], ["selftest", "--nope", "x"],
      ["selftest", "--ca-file", "/a"],
    ] {
      #expect(throws: Invocation.UsageError.self, "\(arguments)") {
        _ = try Invocation.parse(arguments)
      }
    }
  }
}

@Suite struct PairInvocationTests {
  @Test func pairTakesOnlyTheGlobalFlags() throws {
    #expect(try Invocation.parse(["pair"]).command == .pair)
    let configured = try Invocation.parse(["pair", "--config", "/etc/x.conf"])
    #expect(configured.command == .pair)
    #expect(configured.configPath == "/etc/x.conf")
    #expect(try Invocation.parse(["pair", "--help"]).command == .help)
    for arguments in [["pair", "now"], ["pair", "--force"], ["pair", "--pid", "1"]] {
      #expect(throws: Invocation.UsageError.self, "\(arguments)") { _ = try Invocation.parse(arguments) }
    }
  }
}
