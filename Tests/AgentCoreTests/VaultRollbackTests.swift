import AgentCore
import AgentTestSupport
import Foundation
import Testing

/// The vault bound to a TPM counter (issue 16, RollbackRule.swift): a record
/// carries the counter value it was written with, a commit writes c + 1 and
/// then increments, and `open` accepts r = c, finishes r = c + 1, and
/// refuses everything else. The counter is `MemoryTPM` (byte-compatible
/// with swtpm, `TPMMemorySimulatorTests`), so cuts can land on every TPM
/// command as well as every flash operation.
@Suite struct VaultRollbackTests {
  static var boardKey: SecretBytes { SecretBytes(Array("rollback test board key 01234567".utf8)) }
  static let blockSize = 4096

  static func contents(_ tag: String) -> VaultContents {
    var c = VaultContents(deviceID: "cam-rb-0001")
    c.identityKey = SecretBytes(Array("identity-der".utf8))
    c.dpopKey = SecretBytes(Array("dpop-der".utf8))
    c.refreshToken = SecretBytes(Array("refresh-\(tag)".utf8))
    c.accessToken = SecretBytes(Array("access-\(tag)".utf8))
    return c
  }

  static func refresh(_ contents: VaultContents?) -> String? {
    contents?.refreshToken.map { String(decoding: $0.revealCopy(), as: UTF8.self) }
  }

  /// A vault over `store` bound to the counter on `tpm`.
  static func bound<S: SlotStore>(_ store: S, _ tpm: MemoryTPM) -> Vault<S> {
    Vault(store: store, hardwareKey: boardKey, counter: TPMRollbackCounter(transport: tpm))
  }

  /// The counter's value as the TPM holds it.
  static func tpmValue(_ tpm: MemoryTPM) -> UInt64? {
    tpm.value(at: TPMMonotonicCounter<MemoryTPM>.defaultIndex)
  }

  @Test func ruleTable() {
    #expect(RollbackRule.verdict(recorded: 7, counter: 7) == .current)
    #expect(RollbackRule.verdict(recorded: 8, counter: 7) == .incrementPending)
    #expect(RollbackRule.verdict(recorded: 6, counter: 7) == .refused(recorded: 6, counter: 7))
    #expect(RollbackRule.verdict(recorded: 9, counter: 7) == .refused(recorded: 9, counter: 7))
    #expect(RollbackRule.verdict(recorded: 0, counter: .max) == .refused(recorded: 0, counter: .max))
    #expect(RollbackRule.verdict(recorded: .max, counter: .max) == .current)
    #expect(RollbackRule.verdict(recorded: nil, counter: 3) == .unbound(counter: 3))
    #expect(RollbackRule.valueToWrite(counter: 3) == 4)
    #expect(RollbackRule.valueToWrite(counter: .max) == nil)
  }

  @Test func everyCommitCarriesTheCounterAndIncrementsIt() throws {
    let tpm = MemoryTPM()
    var vault = Self.bound(MemorySlotStore(), tpm)
    try vault.takeOwnership()
    var random = SeededRandom(seed: 1)
    #expect(try vault.open() == nil)
    for step in 1...5 {
      try vault.commit(Self.contents("g\(step)"), random: &random)
      var reopened = Self.bound(vault.store, tpm)
      let opened = try #require(try reopened.open())
      #expect(Self.refresh(opened) == "refresh-g\(step)")
      #expect(opened.rollbackCounter != nil && opened.rollbackCounter == Self.tpmValue(tpm))
      #expect(!vault.counterIncrementPending && !reopened.counterIncrementPending)
    }
  }

  /// The board test's case in miniature: a thief images the flash, the
  /// session rotates three times, the image is written back.
  @Test func anImageFromThreeRotationsEarlierIsRefused() throws {
    let tpm = MemoryTPM()
    var vault = Self.bound(MemorySlotStore(), tpm)
    var random = SeededRandom(seed: 2)
    try vault.commit(Self.contents("g1"), random: &random)
    try vault.commit(Self.contents("g2"), random: &random)
    let image = vault.store
    let imaged = try #require(Self.tpmValue(tpm))
    for step in 3...5 { try vault.commit(Self.contents("g\(step)"), random: &random) }
    let now = try #require(Self.tpmValue(tpm))
    #expect(now == imaged + 3)

    var restored = Self.bound(image, tpm)
    try restored.takeOwnership()
    #expect(throws: VaultError.rolledBack(recorded: imaged, counter: now)) { try restored.open() }
    #expect(Self.tpmValue(tpm) == now, "a refused open writes nothing to the counter")
    #expect(restored.store.slots == image.slots, "nor to the flash")

    // Without the counter the same image opens: this is what the binding adds.
    var unbound = Vault(store: image, hardwareKey: Self.boardKey)
    #expect(Self.refresh(try unbound.open()) == "refresh-g2")

    // The newest slot destroyed by hand: the older record is older still.
    var damaged = vault.store
    damaged.slots[vault.current!.slot] = nil
    var fallback = Self.bound(damaged, tpm)
    #expect(throws: VaultError.rolledBack(recorded: now - 1, counter: now)) { try fallback.open() }
  }

  @Test func anUnboundRecordOrAnotherTPMIsRefused() throws {
    var random = SeededRandom(seed: 3)
    var plain = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    try plain.commit(Self.contents("plain"), random: &random)
    let tpm = MemoryTPM()
    let value = try TPMRollbackCounter(transport: tpm).value(create: true)
    var bound = Self.bound(plain.store, tpm)
    #expect(throws: VaultError.unbound(counter: value)) { try bound.open() }

    // A record bound to TPM A, several commits ahead, opened against TPM B.
    let tpmA = MemoryTPM()
    var onA = Self.bound(MemorySlotStore(), tpmA)
    for step in 1...4 { try onA.commit(Self.contents("a\(step)"), random: &random) }
    var onB = Self.bound(onA.store, MemoryTPM())
    #expect(throws: VaultError.self) { try onB.open() }
    // And a board with a counter but no TPM index at all: an error, not a fallback.
    var absent = Self.bound(onA.store, MemoryTPM())
    do {
      _ = try absent.open()
      Issue.record("opened against a TPM without the counter")
    } catch .antiRollback(.counterAbsent) {
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  /// A lost increment (the TPM refused or the power went after the write):
  /// a reader accepts without touching the counter, the owner finishes it,
  /// and a commit in the same process finishes it before writing.
  @Test func aLostIncrementIsFinishedOnlyByTheOwner() throws {
    let tpm = MemoryTPM()
    var vault = Self.bound(MemorySlotStore(), tpm)
    var random = SeededRandom(seed: 4)
    try vault.commit(Self.contents("g1"), random: &random)
    tpm.cut = { $0 == TPMConstant.ccNVIncrement ? .beforeExecution : nil }
    try vault.commit(Self.contents("g2"), random: &random)
    tpm.cut = { _ in nil }
    tpm.powerOn()
    #expect(vault.counterIncrementPending)
    let behind = try #require(Self.tpmValue(tpm))

    var reader = Self.bound(vault.store, tpm)
    #expect(Self.refresh(try reader.open()) == "refresh-g2")
    #expect(reader.counterIncrementPending)
    #expect(Self.tpmValue(tpm) == behind, "a reader beside the daemon never increments")

    // The same process commits again: increment first, then c + 1.
    try vault.commit(Self.contents("g3"), random: &random)
    #expect(Self.tpmValue(tpm) == behind + 2)
    var owner = Self.bound(vault.store, tpm)
    try owner.takeOwnership()
    let opened = try #require(try owner.open())
    #expect(Self.refresh(opened) == "refresh-g3" && opened.rollbackCounter == behind + 2)

    // A fresh owner after a cut between write and increment finishes it at open.
    tpm.cut = { $0 == TPMConstant.ccNVIncrement ? .beforeExecution : nil }
    try owner.commit(Self.contents("g4"), random: &random)
    tpm.cut = { _ in nil }
    tpm.powerOn()
    var rebooted = Self.bound(owner.store, tpm)
    try rebooted.takeOwnership()
    #expect(Self.refresh(try rebooted.open()) == "refresh-g4")
    #expect(Self.tpmValue(tpm) == behind + 3 && !rebooted.counterIncrementPending)
  }

  // MARK: Power cuts on both devices

  enum Cut: CustomStringConvertible {
    case flash(Int, SimulatedNORFlash.PowerCut)
    case tpm(Int, MemoryTPM.Cut)

    var description: String {
      switch self {
      case .flash(let k, let mode): return "flash op \(k) (\(mode.description))"
      case .tpm(let k, let how):
        return "TPM command \(k) (\(how == .beforeExecution ? "before" : "after") it runs)"
      }
    }
  }

  /// A bound vault over simulated NOR after `tags` were committed, and its TPM.
  static func board(after tags: [String]) throws -> (cells: [UInt8], tpm: MemoryTPM) {
    let tpm = MemoryTPM()
    let flash = SimulatedNORFlash(
      cells: [UInt8](repeating: 0xFF, count: blockSize * 2), eraseBlockSize: blockSize)
    var vault = Self.bound(try FlashSlotStore(device: flash), tpm)
    var random = SeededRandom(seed: 5)
    for tag in tags { try vault.commit(contents(tag), random: &random) }
    return (vault.store.device.cells, tpm)
  }

  /// Boots the board as the daemon does (owner, then open) and returns what
  /// it opened; the TPM must then hold exactly the record's counter value.
  static func boot(_ cells: [UInt8], _ tpm: MemoryTPM) throws -> String? {
    let flash = SimulatedNORFlash(cells: cells, eraseBlockSize: blockSize)
    var vault = Self.bound(try FlashSlotStore(device: flash), tpm)
    try vault.takeOwnership()
    let opened = try vault.open()
    #expect(opened?.rollbackCounter == tpmValue(tpm), "after boot the counter matches the record")
    return refresh(opened)
  }

  /// Commits `tag` with `cut`; returns the flash cells after it and whether
  /// the commit returned.
  static func commit(_ tag: String, over cells: [UInt8], _ tpm: MemoryTPM, cut: Cut?) throws -> (
    [UInt8], Bool
  ) {
    var flash = SimulatedNORFlash(cells: cells, eraseBlockSize: blockSize)
    // Opening only reads the flash, so its cut can be armed first; the TPM's
    // is armed after the open, so it counts the commit's commands only.
    if case .flash(let k, let mode)? = cut { flash.cutAfter(operations: k, mode: mode) }
    var vault = Self.bound(try FlashSlotStore(device: flash), tpm)
    try vault.takeOwnership()
    _ = try vault.open()
    if case .tpm(let k, let how)? = cut {
      var commands = 0
      tpm.cut = { _ in
        commands += 1
        return commands == k ? how : nil
      }
    }
    defer {
      tpm.cut = { _ in nil }
      tpm.powerOn()
    }
    var random = SeededRandom(seed: 6)
    do {
      try vault.commit(contents(tag), random: &random)
      return (vault.store.device.cells, true)
    } catch {
      return (vault.store.device.cells, false)
    }
  }

  /// A rotation cut at every flash operation in every torn mode and at every
  /// TPM command before and after it runs, then booted: the old or the new
  /// session, never a refusal (a cut must not strand the owner), the new one
  /// once the commit returned, and the counter equal to the record's value.
  /// A clean flash cut at the last program lets the simulated increment run;
  /// the TPM cuts cover a board that lost power between the two.
  @Test func everyCutDuringARotationBootsToTheOldOrTheNewRecord() throws {
    let start = try Self.board(after: ["g1", "g2"])
    // How many flash operations and TPM commands an uncut rotation makes.
    var flash = SimulatedNORFlash(cells: start.cells, eraseBlockSize: Self.blockSize)
    let countingTPM = start.tpm
    var counted = Self.bound(try FlashSlotStore(device: flash), countingTPM)
    try counted.takeOwnership()
    _ = try counted.open()
    let commandsBefore = countingTPM.executed.count
    var random = SeededRandom(seed: 6)
    try counted.commit(Self.contents("g3"), random: &random)
    flash = counted.store.device
    let flashOperations = flash.programOps + flash.eraseOps
    let tpmCommands = countingTPM.executed.count - commandsBefore
    #expect(flashOperations > 0 && tpmCommands >= 3)

    var cuts: [Cut] = []
    for k in 1...flashOperations {
      for mode in SimulatedNORFlash.PowerCut.all { cuts.append(.flash(k, mode)) }
    }
    for k in 1...tpmCommands {
      for how in [MemoryTPM.Cut.beforeExecution, .afterExecution] { cuts.append(.tpm(k, how)) }
    }
    var sawPending = 0
    for cut in cuts {
      let board = try Self.board(after: ["g1", "g2"])
      let (after, completed) = try Self.commit("g3", over: board.cells, board.tpm, cut: cut)
      let recordedAhead = try Self.peekCounter(after) == (Self.tpmValue(board.tpm) ?? 0) + 1
      if recordedAhead { sawPending += 1 }
      let seen: String?
      do {
        seen = try Self.boot(after, board.tpm)
      } catch {
        Issue.record("\(cut): boot refused: \(error)")
        continue
      }
      if completed {
        #expect(seen == "refresh-g3", "\(cut) after the commit returned")
      } else {
        #expect(seen == "refresh-g2" || seen == "refresh-g3", "\(cut)")
      }
    }
    print(
      "vault rollback power cuts, rotation: \(cuts.count) cuts (\(flashOperations) flash operations x \(SimulatedNORFlash.PowerCut.all.count) modes, \(tpmCommands) TPM commands x 2), \(sawPending) left the record one ahead of the counter"
    )
    #expect(sawPending > 0, "some cut must land between the write and the increment")
  }

  /// The newest record's counter value, read without the rollback check.
  static func peekCounter(_ cells: [UInt8]) throws -> UInt64? {
    let flash = SimulatedNORFlash(cells: cells, eraseBlockSize: blockSize)
    var vault = Vault(store: try FlashSlotStore(device: flash), hardwareKey: boardKey)
    return try vault.open()?.rollbackCounter
  }

  /// A cut between the write and the increment, then a second cut while the
  /// booting owner finishes that increment: the next boot still opens the
  /// new record, and a reader in between never moved the counter.
  @Test func aCutWhileTheOwnerFinishesTheIncrement() throws {
    for how in [MemoryTPM.Cut.beforeExecution, .afterExecution] {
      let board = try Self.board(after: ["g1", "g2"])
      // The rotation's increment is lost: the record is left one ahead.
      board.tpm.cut = { $0 == TPMConstant.ccNVIncrement ? .beforeExecution : nil }
      var flash = SimulatedNORFlash(cells: board.cells, eraseBlockSize: Self.blockSize)
      var vault = Self.bound(try FlashSlotStore(device: flash), board.tpm)
      _ = try vault.open()
      var random = SeededRandom(seed: 7)
      try vault.commit(Self.contents("g3"), random: &random)
      board.tpm.cut = { _ in nil }
      board.tpm.powerOn()
      flash = vault.store.device
      let behind = try #require(Self.tpmValue(board.tpm))
      #expect(try Self.peekCounter(flash.cells) == behind + 1)

      board.tpm.cut = { $0 == TPMConstant.ccNVIncrement ? how : nil }
      var owner = Self.bound(
        try FlashSlotStore(
          device: SimulatedNORFlash(cells: flash.cells, eraseBlockSize: Self.blockSize)), board.tpm)
      try owner.takeOwnership()
      #expect(throws: VaultError.self) { try owner.open() }
      board.tpm.cut = { _ in nil }
      board.tpm.powerOn()
      #expect(try Self.boot(flash.cells, board.tpm) == "refresh-g3", "second cut \(how)")
    }
  }

  /// Commits through `owner` the first time the reader asks for the value,
  /// then answers: the daemon's commit landing between a reader's slot
  /// reads and its counter read.
  final class CommitsOnFirstRead: AntiRollbackCounter {
    let inner: TPMRollbackCounter<MemoryTPM>
    var commit: (() -> Void)?
    init(_ inner: TPMRollbackCounter<MemoryTPM>, commit: @escaping () -> Void) {
      self.inner = inner
      self.commit = commit
    }
    func value(create: Bool) throws(TPMError) -> UInt64 {
      if let pending = commit {
        commit = nil
        pending()
      }
      return try inner.value(create: create)
    }
    func increment() throws(TPMError) -> UInt64 { try inner.increment() }
  }

  /// `status` beside the running daemon must not call a commit it raced a
  /// rollback: the reader reads the slots again and finds the new record.
  @Test func aReaderThatRacesTheDaemonsCommitReadsAgain() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("vault-race-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let tpm = MemoryTPM()
    var daemon = Self.bound(FileSlotStore(directory: directory), tpm)
    try daemon.takeOwnership()
    var random = SeededRandom(seed: 8)
    try daemon.commit(Self.contents("g1"), random: &random)
    try daemon.commit(Self.contents("g2"), random: &random)
    var failure: VaultError? = nil
    let racing = CommitsOnFirstRead(TPMRollbackCounter(transport: tpm)) {
      do throws(VaultError) {
        try daemon.commit(Self.contents("g3"), random: &random)
      } catch {
        failure = error
      }
    }
    var reader = Vault(
      store: FileSlotStore(directory: directory), hardwareKey: Self.boardKey, counter: racing)
    #expect(Self.refresh(try reader.open()) == "refresh-g3")
    #expect(failure == nil && racing.commit == nil, "the daemon's commit ran inside the reader's open")
  }
}
