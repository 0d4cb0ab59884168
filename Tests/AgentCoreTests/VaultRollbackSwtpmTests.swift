import AgentCore
import AgentTestSupport
import Foundation
import Testing

/// The vault bound to the counter of a real TPM 2.0 (swtpm over TCP), on the
/// file backend the hosted agent uses: a thief's copy of the slot files from
/// three rotations earlier is refused, the current vault opens across a TPM
/// power cut (swtpm SIGKILLed and restarted on its NV state), and a power
/// cut between a record's write and its increment is finished at the next
/// owner's open. swtpm serves one TCP connection at a time, so each test
/// shares one transport per swtpm power-on (a second would wait forever).
@Suite struct VaultRollbackSwtpmTests {
  static var boardKey: SecretBytes { SecretBytes(Array("swtpm rollback board key 0123456".utf8)) }

  // One record shape for both suites.
  static func contents(_ tag: String) -> VaultContents { VaultRollbackTests.contents(tag) }
  static func refresh(_ contents: VaultContents?) -> String? { VaultRollbackTests.refresh(contents) }

  static func slotFiles(_ directory: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".rec") {
      files[name] = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name))
    }
    return files
  }

  @Test func aCopyOfTheSlotFilesFromThreeRotationsEarlierIsRefused() throws {
    let tpm = try Swtpm()
    defer { withExtendedLifetime(tpm) {} }
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("vault-rollback-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var link = try tpm.transport()
    func vault() -> Vault<FileSlotStore<PosixFileSystem>> {
      Vault(
        store: FileSlotStore(directory: directory),
        hardwareKey: Self.boardKey, counter: TPMRollbackCounter(transport: link))
    }
    var random = SeededRandom(seed: 11)
    var owner = vault()
    try owner.takeOwnership()
    #expect(try owner.open() == nil)
    try owner.commit(Self.contents("g1"), random: &random)
    try owner.commit(Self.contents("g2"), random: &random)
    let image = try Self.slotFiles(directory)
    #expect(image.count == 2)
    for step in 3...5 { try owner.commit(Self.contents("g\(step)"), random: &random) }
    owner.releaseOwnership()

    // The TPM loses power (no TPM2_Shutdown) and comes back: the count is NV.
    tpm.powerCut()
    try tpm.start()
    link = try tpm.transport()
    var rebooted = vault()
    try rebooted.takeOwnership()
    let current = try #require(try rebooted.open())
    #expect(Self.refresh(current) == "refresh-g5")
    let counter = try #require(current.rollbackCounter)
    rebooted.releaseOwnership()

    // The thief writes the old slot files back.
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".rec") {
      try FileManager.default.removeItem(atPath: directory + "/" + name)
    }
    for (name, data) in image { try data.write(to: URL(fileURLWithPath: directory + "/" + name)) }
    var restored = vault()
    try restored.takeOwnership()
    #expect(throws: VaultError.rolledBack(recorded: counter - 3, counter: counter)) { try restored.open() }
    // Nothing was changed by the refusal: the files are still the image.
    #expect(try Self.slotFiles(directory) == image)
    #expect(try TPMRollbackCounter(transport: link).value(create: false) == counter)
  }

  /// swtpm is SIGKILLed when the increment is sent: the record is on the
  /// medium, the count one behind, as on a board that lost power between.
  final class CutAtIncrement: TPMTransport {
    let inner: SwtpmTransport
    let tpm: Swtpm
    init(_ tpm: Swtpm, _ inner: SwtpmTransport) {
      self.tpm = tpm
      self.inner = inner
    }
    func transmit(_ command: [UInt8]) throws(TPMError) -> [UInt8] {
      let code = command.count >= 10 ? command[6..<10].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } : 0
      if code == TPMConstant.ccNVIncrement {
        tpm.powerCut()
        throw .transport(SystemError("swtpm killed before NV_Increment", errno: 5))
      }
      return try inner.transmit(command)
    }
  }

  @Test func aCutBetweenTheWriteAndTheIncrementIsFinishedAtTheNextBoot() throws {
    let tpm = try Swtpm()
    defer { withExtendedLifetime(tpm) {} }
    var random = SeededRandom(seed: 12)
    var link = try tpm.transport()
    var vault = Vault(
      store: MemorySlotStore(), hardwareKey: Self.boardKey, counter: TPMRollbackCounter(transport: link))
    try vault.commit(Self.contents("g1"), random: &random)
    let before = try TPMRollbackCounter(transport: link).value(create: false)

    var cut = Vault(
      store: vault.store, hardwareKey: Self.boardKey,
      counter: TPMRollbackCounter(transport: CutAtIncrement(tpm, link)))
    _ = try cut.open()
    // Durable before the increment: the commit returns, the increment pending.
    try cut.commit(Self.contents("g2"), random: &random)
    #expect(cut.counterIncrementPending)

    try tpm.start()
    link = try tpm.transport()
    let check = TPMRollbackCounter(transport: link)
    #expect(try check.value(create: false) == before)
    var reader = Vault(
      store: cut.store, hardwareKey: Self.boardKey, counter: TPMRollbackCounter(transport: link))
    #expect(Self.refresh(try reader.open()) == "refresh-g2")
    #expect(reader.counterIncrementPending)
    #expect(try check.value(create: false) == before, "a reader never increments")
    var owner = Vault(
      store: cut.store, hardwareKey: Self.boardKey, counter: TPMRollbackCounter(transport: link))
    try owner.takeOwnership()
    let opened = try #require(try owner.open())
    #expect(Self.refresh(opened) == "refresh-g2" && !owner.counterIncrementPending)
    #expect(try check.value(create: false) == before + 1)
    #expect(opened.rollbackCounter == before + 1)
  }
}
