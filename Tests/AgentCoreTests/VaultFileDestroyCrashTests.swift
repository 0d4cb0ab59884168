import AgentCore
import AgentTestSupport
import Foundation
import Testing

/// Issue 13 item 6 on the file backend: a destroy commit (a forced logout,
/// `provision --force`) and `wipe`, with the process dying after each of the
/// file-system calls they make in turn. Afterwards the vault opens as the old
/// or the new contents (the new once the call returned), and once the new
/// contents open and the owner's recovery has run, no file in the vault
/// directory holds a record that decrypts to a destroyed secret, whatever
/// its frame header says.
@Suite struct VaultFileDestroyCrashTests {
  typealias Store = FileSlotStore<FaultyFileSystem>
  typealias Sandbox = FileSlotStoreTests.Sandbox
  typealias Session = VaultDestroyPowerCutTests
  static var boardKey: SecretBytes { VaultPowerCutTests.boardKey }

  static func vault(_ directory: String, _ fs: FaultyFileSystem = FaultyFileSystem()) -> Vault<Store> {
    Vault(
      store: FileSlotStore(directory: directory, recordCapacity: 4096, fileSystem: fs), hardwareKey: boardKey)
  }

  /// Secrets in any file of `directory` that an attacker could re-frame
  /// into an authentic record of either slot.
  static func recoverableSecrets(_ directory: String) throws -> [[UInt8]] {
    var found: [[UInt8]] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
      guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
      let bytes = Array(data)
      guard bytes.count > SlotFrame.headerSize + 4 else { continue }
      let payload = Array(bytes[SlotFrame.headerSize..<bytes.count - 4])
      for slot in 0..<2 {
        let probe = try Sandbox()
        try FileManager.default.createDirectory(atPath: probe.directory, withIntermediateDirectories: false)
        probe.put(SlotFrame.encode(payload: payload), at: probe.directory + "/slot\(slot).rec")
        var vault = vault(probe.directory)
        guard let contents = try? vault.open() else { continue }
        for secret in [contents.identityKey, contents.dpopKey, contents.refreshToken, contents.accessToken] {
          if let secret { found.append(secret.revealCopy()) }
        }
      }
    }
    return found
  }

  static func copy(_ from: String, to: String) throws {
    try? FileManager.default.removeItem(atPath: to)
    try FileManager.default.copyItem(atPath: from, toPath: to)
  }

  @Test(arguments: [Session.Path.forcedLogout, .provisionForce, .wipe])
  func destroyWithACrashAfterEveryCall(_ path: Session.Path) throws {
    let sandbox = try Sandbox()
    let template = sandbox.parent + "/template"
    do {
      var vault = Self.vault(template)
      var random = SeededRandom(seed: 8)
      _ = try vault.open()
      try vault.commit(Session.session("s1"), random: &random)
      var rotated = Session.session("s2")
      rotated.dpopKey = SecretBytes(Array("dpop-s1".utf8))
      try vault.commit(rotated, random: &random)
    }
    #expect(!(try Self.recoverableSecrets(template)).isEmpty, "the attacker model finds the secrets before")
    var probe = Self.vault(template)
    let old = Session.seen(try probe.open())
    let new = Session.seen(path.after)

    // The calls the path makes with no crash.
    try Self.copy(template, to: sandbox.directory)
    // Counted from a fresh process's first call: its open, then the path.
    var recorder = Self.vault(sandbox.directory)
    _ = try recorder.open()
    var random = SeededRandom(seed: 9)
    try Self.apply(path, &recorder, &random)
    let calls = recorder.store.fileSystem.log.count
    #expect(!(try Self.recoverableSecrets(sandbox.directory)).contains { path.destroyed.contains($0) })

    var landed = 0
    for crash in 0..<calls {
      try Self.copy(template, to: sandbox.directory)
      var faults = FaultyFileSystem()
      faults.crash(afterCalls: crash)
      var vault = Self.vault(sandbox.directory, faults)
      var random = SeededRandom(seed: UInt64(crash))
      var completed = false
      do {
        _ = try vault.open()
        completed = try Self.apply(path, &vault, &random)
      } catch {
        completed = false
      }
      let label = "\(path), crash after call \(crash) of \(calls)"
      var reader = Self.vault(sandbox.directory)
      let seen = Session.seen(try reader.open())
      if completed {
        #expect(seen == new, "\(label)")
      } else {
        #expect(seen == old || seen == new, "\(label)")
      }
      guard seen == new else { continue }
      var owner = Self.vault(sandbox.directory)
      _ = try owner.open()
      try owner.completePendingDestroy()
      let left = try Self.recoverableSecrets(sandbox.directory)
      #expect(!left.contains { path.destroyed.contains($0) }, "\(label): destroyed secret recoverable")
      landed += 1
    }
    print(
      "vault file backend, destroy path \(path): crash after each of \(calls) calls, \(landed) where it landed"
    )
    #expect(landed > 0)
  }

  @discardableResult
  static func apply(_ path: Session.Path, _ vault: inout Vault<Store>, _ random: inout SeededRandom)
    throws(VaultError) -> Bool
  {
    let outcome: VaultCommitOutcome
    switch path {
    case .reauth: outcome = try vault.commit(Session.loggedOut(), random: &random, destroying: true)
    case .forcedLogout: outcome = try vault.commit(Session.loggedOut(), random: &random)
    case .provisionForce: outcome = try vault.commit(Session.loggedOut(identity: "B"), random: &random)
    case .wipe:
      try vault.wipe()
      return true
    }
    if case .committedDestroyPending = outcome { return false }
    return true
  }
}
