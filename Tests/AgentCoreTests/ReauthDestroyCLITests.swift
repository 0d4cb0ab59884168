import AgentCore
import AgentTestSupport
import Foundation
import Testing

/// Issue 13 item 6 through the real binary: `reauth` on a vault holding two
/// generations of a session leaves one record without tokens or DPoP key,
/// and no file in the directory from which the session can be recovered
/// (the shell suite cannot make a session without a cloud; this test writes
/// it with the library, under the same key file the binary reads).
@Suite struct ReauthDestroyCLITests {
  @Test func reauthDestroysTheOlderGenerations() throws {
    let sandbox = try FileSlotStoreTests.Sandbox()
    let keyPath = sandbox.parent + "/huk"
    let key = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    sandbox.put(key, at: keyPath)
    let configPath = sandbox.parent + "/agent.conf"
    sandbox.put(
      Array("vault_backend = file\nvault_path = \(sandbox.directory)\nkey_source = file:\(keyPath)\n".utf8),
      at: configPath)

    var vault = Vault(store: FileSlotStore(directory: sandbox.directory), hardwareKey: SecretBytes(key))
    var random = SeededRandom(seed: 14)
    _ = try vault.open()
    for round in 1...2 {
      var contents = VaultContents(deviceID: "cam-reauth-1")
      contents.identityKey = SecretBytes(Array("identity-der-reauth".utf8))
      contents.dpopKey = SecretBytes(Array("dpop-der-session-1".utf8))
      contents.refreshToken = SecretBytes(Array("refresh-token-round-\(round)".utf8))
      contents.accessToken = SecretBytes(Array("access-token-round-\(round)".utf8))
      try vault.commit(contents, random: &random)
    }
    #expect(try sandbox.entries() == ["slot0.rec", "slot1.rec"])

    let run = try AgentRun.run(["--config", configPath, "reauth"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(try sandbox.entries().count == 1)

    // Whatever is left, re-framed into either slot, never opens with a session.
    for name in try sandbox.entries() {
      let bytes = try #require(sandbox.contents(sandbox.directory + "/" + name))
      let payload = Array(bytes[SlotFrame.headerSize..<bytes.count - SlotFrame.commitMarker.count])
      for slot in 0..<2 {
        var store = MemorySlotStore()
        store.slots[slot] = payload
        var probe = Vault(store: store, hardwareKey: SecretBytes(key))
        guard let opened = try? probe.open() else { continue }
        #expect(opened.refreshToken == nil && opened.accessToken == nil && opened.dpopKey == nil)
        #expect(opened.identityKey?.revealCopy() == Array("identity-der-reauth".utf8))
      }
    }
    let status = try AgentRun.run(["--config", configPath, "status"])
    #expect(status.status == 0)
    #expect(status.stdout.contains("generation=3"))
  }
}
