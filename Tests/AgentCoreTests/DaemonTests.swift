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
    #expect(Daemon<FileSlotStore<PosixFileSystem>>.secondsText(3_000) == "3")
    #expect(Daemon<FileSlotStore<PosixFileSystem>>.secondsText(1_234) == "1.234")
    #expect(Daemon<FileSlotStore<PosixFileSystem>>.secondsText(5) == "0.005")
    #expect(Daemon<FileSlotStore<PosixFileSystem>>.secondsText(60_050) == "60.050")
  }

  @Test func stateFileShowsTheCodeOnlyWhilePending() {
    let pending = PendingApproval(
      userCode: "BCDF-GHJK", verificationURI: "https://cloud.test/device", expiresAt: 1_800_000_600_000,
      interval: 5_000, nextPollAt: 1_800_000_005_000)
    #expect(
      StateFile.render(.reauthPending(pending))
        == "state=reauth_pending\nuser_code=BCDF-GHJK\nverification_uri=https://cloud.test/device\n"
        + "expires_at=1800000600\n")
    #expect(
      StateFile.render(.backoff(retryAt: 9, attempt: 1, resume: .activationPending(pending)))
        .hasPrefix("state=backoff\nuser_code=BCDF-GHJK\n"))
    #expect(StateFile.render(.active(accessExpiresAt: 5)) == "state=active\n")
    #expect(StateFile.render(nil) == "state=stopped\n")
  }

}
