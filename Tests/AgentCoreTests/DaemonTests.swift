import Foundation
import Testing

@testable import AgentCore

@Suite struct DaemonTests {
  @Test func runAndReauthParse() throws {
    #expect(try Invocation.parse(["run"]).command == .run(onceActive: false))
    #expect(try Invocation.parse(["run", "--once-active"]).command == .run(onceActive: true))
    #expect(try Invocation.parse(["reauth"]).command == .reauth)
    #expect(throws: Invocation.UsageError.self) { try Invocation.parse(["run", "--forever"]) }
    #expect(throws: Invocation.UsageError.self) { try Invocation.parse(["reauth", "now"]) }
  }

  @Test func daemonConfigKeys() throws {
    let file = try ConfigFile(
      path: "t.conf",
      text: Array(
        """
        state_file = /tmp/x/state
        reauth_spread_seconds = 2
        backoff_base_ms = 500
        backoff_cap_ms = 4000
        """.utf8))
    let config = try AgentConfig(file: file)
    #expect(config.stateFile == "/tmp/x/state")
    #expect(config.stormPolicy.reauthSpreadMilliseconds == 2_000)
    #expect(config.stormPolicy.backoffBaseMilliseconds == 500)
    #expect(config.stormPolicy.backoffCapMilliseconds == 4_000)
    let relative = try ConfigFile(path: "t.conf", text: Array("state_file = run/state".utf8))
    #expect(throws: ConfigError.self) { try AgentConfig(file: relative) }
  }

  @Test func delaysAreLoggedToTheMillisecond() {
    #expect(DurationText.seconds(3_000) == "3")
    #expect(DurationText.seconds(1_234) == "1.234")
    #expect(DurationText.seconds(5) == "0.005")
    #expect(DurationText.seconds(60_050) == "60.050")
  }

  @Test func stateFileShowsTheCodeOnlyWhilePending() {
    var pending = PublishedState(name: "reauth_pending")
    pending.userCode = "BCDF-GHJK"
    pending.verificationURI = "https://cloud.test/device"
    pending.codeExpiresAt = 1_800_000_600_000
    #expect(
      StateFile.render(pending)
        == "state=reauth_pending\nuser_code=BCDF-GHJK\nverification_uri=https://cloud.test/device\n"
        + "expires_at=1800000600\n")
    var refused = PublishedState(name: "identity_refused")
    refused.retryAt = 1_800_000_900_000
    #expect(StateFile.render(refused) == "state=identity_refused\nretry_at=1800000900\n")
    #expect(StateFile.render(PublishedState(name: "active")) == "state=active\n")
    #expect(StateFile.render(nil) == "state=stopped\n")
  }

}
