import AgentCore
import AgentTestSupport
import Testing

/// Issue 13 item 6 under power cuts: the destroy paths (reauth, the daemon's
/// forced logout, provision --force, wipe) cut at every program and erase in
/// every torn variant, then rebooted. Always the old or the new contents
/// (the new once the call returned); and once the new contents are what
/// opens and the owner has run its start-up recovery (`open` +
/// `completePendingDestroy`, as RunCommand does), no authentic record
/// holding a destroyed secret is left on the chip, even to an attacker who
/// rewrites frame headers, CRCs and commit markers at will.
@Suite struct VaultDestroyPowerCutTests {
  typealias Cut = VaultPowerCutTests
  static let blockSize = Cut.blockSize

  static func session(_ tag: String, identity: String = "A") -> VaultContents {
    var c = VaultContents(deviceID: "cam-cut-01")
    c.identityKey = SecretBytes(Array("identity-\(identity)".utf8))
    c.dpopKey = SecretBytes(Array("dpop-\(tag)".utf8))
    c.refreshToken = SecretBytes(Array("refresh-\(tag)".utf8))
    c.accessToken = SecretBytes(Array("access-\(tag)".utf8))
    return c
  }

  static func loggedOut(identity: String = "A") -> VaultContents {
    var c = VaultContents(deviceID: "cam-cut-01")
    c.identityKey = SecretBytes(Array("identity-\(identity)".utf8))
    return c
  }

  enum Path: CaseIterable, CustomStringConvertible {
    /// `reauth`: tokens and DPoP key removed, `destroying: true`.
    case reauth
    /// The daemon's forced logout: the same removal, the rule decides.
    case forcedLogout
    /// `provision --force`: a new identity, no session.
    case provisionForce
    case wipe

    var description: String {
      switch self {
      case .reauth: return "reauth"
      case .forcedLogout: return "forced logout"
      case .provisionForce: return "provision --force"
      case .wipe: return "wipe"
      }
    }

    var after: VaultContents? {
      switch self {
      case .reauth, .forcedLogout: return loggedOut()
      case .provisionForce: return loggedOut(identity: "B")
      case .wipe: return nil
      }
    }

    /// Runs the path; true when it finished, destroy included (a commit whose
    /// erase the cut stopped returns `.committedDestroyPending`: on a board
    /// the process would be dead by then).
    @discardableResult
    func apply(_ vault: inout Vault<FlashSlotStore<SimulatedNORFlash>>, random: inout SeededRandom)
      throws(VaultError) -> Bool
    {
      let outcome: VaultCommitOutcome
      switch self {
      case .reauth: outcome = try vault.commit(loggedOut(), random: &random, destroying: true)
      case .forcedLogout: outcome = try vault.commit(loggedOut(), random: &random)
      case .provisionForce: outcome = try vault.commit(loggedOut(identity: "B"), random: &random)
      case .wipe:
        try vault.wipe()
        return true
      }
      if case .committedDestroyPending = outcome { return false }
      return true
    }

    /// Secrets that must be gone once the path's result is what opens.
    var destroyed: [[UInt8]] {
      var secrets = ["refresh-s1", "refresh-s2", "access-s1", "access-s2", "dpop-s1"].map { Array($0.utf8) }
      if self == .provisionForce || self == .wipe { secrets.append(Array("identity-A".utf8)) }
      return secrets
    }
  }

  /// Two generations of one session (a rotation): what a forced logout finds.
  static func start() throws -> [UInt8] {
    var vault = try Cut.vault(over: [UInt8](repeating: 0xFF, count: blockSize * 2))
    var random = SeededRandom(seed: 7)
    try vault.commit(session("s1"), random: &random)
    var rotated = session("s2")
    rotated.dpopKey = SecretBytes(Array("dpop-s1".utf8))
    try vault.commit(rotated, random: &random)
    return vault.store.device.cells
  }

  /// What opens, as refresh token / identity, or nil for an empty vault.
  struct Seen: Equatable {
    var identity: [UInt8]?
    var refresh: [UInt8]?
  }

  static func seen(_ contents: VaultContents?) -> Seen? {
    contents.map { Seen(identity: $0.identityKey?.revealCopy(), refresh: $0.refreshToken?.revealCopy()) }
  }

  /// Every record an attacker could make authentic again: each slot's
  /// payload, whatever its length field, CRC and marker say, re-framed
  /// cleanly alone on a fresh chip and opened with the board key.
  static func recoverableSecrets(_ cells: [UInt8]) throws -> [[UInt8]] {
    var found: [[UInt8]] = []
    for slot in 0..<2 {
      let area = Array(cells[slot * blockSize..<(slot + 1) * blockSize])
      guard area[0..<4].elementsEqual(SlotFrame.magic) else { continue }
      var length = 0
      for index in 0..<4 { length |= Int(area[4 + index]) << (8 * index) }
      let end = SlotFrame.headerSize + length
      // A length field the cut damaged: try every length an attacker could try.
      let candidates = end <= area.count - 4 ? [length] : Array(0...(area.count - 4 - SlotFrame.headerSize))
      for candidate in candidates {
        let payload = Array(area[SlotFrame.headerSize..<SlotFrame.headerSize + candidate])
        var image = [UInt8](repeating: 0xFF, count: blockSize * 2)
        let frame = SlotFrame.encode(payload: payload)
        image.replaceSubrange(slot * blockSize..<slot * blockSize + frame.count, with: frame)
        var vault = try Cut.vault(over: image)
        guard let contents = try? vault.open() else { continue }
        for secret in [contents.identityKey, contents.dpopKey, contents.refreshToken, contents.accessToken] {
          if let secret { found.append(secret.revealCopy()) }
        }
        break
      }
    }
    return found
  }

  /// The owner's start-up recovery (RunCommand.finishInterruptedDestroy).
  static func ownerRecovery(_ cells: [UInt8]) throws -> [UInt8] {
    var vault = try Cut.vault(over: cells)
    do { _ = try vault.open() } catch { return cells }
    try vault.completePendingDestroy()
    return vault.store.device.cells
  }

  static func operations(_ path: Path, from cells: [UInt8]) throws -> Int {
    var vault = try Cut.vault(over: cells)
    _ = try vault.open()
    var random = SeededRandom(seed: 99)
    try path.apply(&vault, random: &random)
    return vault.store.device.programOps + vault.store.device.eraseOps
  }

  @Test(arguments: Path.allCases)
  func destroyPathUnderEveryCut(_ path: Path) throws {
    let start = try Self.start()
    var before = try Cut.vault(over: start)
    let old = Self.seen(try before.open())
    let new = Self.seen(path.after)
    let operations = try Self.operations(path, from: start)
    // Without a cut: once the call returns, nothing destroyed is recoverable,
    // before any recovery step runs.
    var uncut = try Cut.vault(over: start)
    _ = try uncut.open()
    var seeded = SeededRandom(seed: 5)
    #expect(try path.apply(&uncut, random: &seeded))
    let leftUncut = try Self.recoverableSecrets(uncut.store.device.cells)
    #expect(!leftUncut.contains { path.destroyed.contains($0) }, "\(path) without a cut")
    #expect(!(try Self.recoverableSecrets(start)).isEmpty, "the attacker model finds the secrets before")
    var covered = 0
    var landed = 0
    for k in 1...operations {
      for mode in SimulatedNORFlash.PowerCut.all {
        var flash = SimulatedNORFlash(cells: start, eraseBlockSize: Self.blockSize)
        flash.cutAfter(operations: k, mode: mode)
        var vault = Vault(store: try FlashSlotStore(device: flash), hardwareKey: Cut.boardKey)
        _ = try vault.open()
        var random = SeededRandom(seed: UInt64(k))
        var completed = false
        do { completed = try path.apply(&vault, random: &random) } catch { completed = false }
        let cells = vault.store.device.cells
        let label = "\(path) cut after op \(k) (\(mode.description))"

        var reader = try Cut.vault(over: cells)
        let seen = Self.seen(try reader.open())
        if completed {
          #expect(seen == new, "\(label): returned, so the new contents")
          let left = try Self.recoverableSecrets(cells)
          #expect(
            !left.contains { path.destroyed.contains($0) },
            "\(label): returned but recoverable: \(left.map { String(decoding: $0, as: UTF8.self) })")
        } else {
          #expect(seen == old || seen == new || (path == .wipe && seen == nil), "\(label)")
        }
        if seen == new {
          let recovered = try Self.ownerRecovery(cells)
          let left = try Self.recoverableSecrets(recovered)
          #expect(!left.contains { path.destroyed.contains($0) }, "\(label): destroyed secret recoverable")
          var after = try Cut.vault(over: recovered)
          #expect(Self.seen(try after.open()) == new, "\(label): recovery changed what opens")
          landed += 1
        }
        covered += 1
      }
    }
    print("vault power cuts, destroy path \(path): \(covered) cut points covered, \(landed) where it landed")
    #expect(landed > 0)
  }

  /// A cut during the owner's recovery itself (depth 2): recovery run again
  /// still ends with nothing recoverable and the new contents opening.
  @Test func cutDuringTheOwnersRecovery() throws {
    let start = try Self.start()
    let path = Path.forcedLogout
    let operations = try Self.operations(path, from: start)
    var covered = 0
    for k in 1...operations {
      var flash = SimulatedNORFlash(cells: start, eraseBlockSize: Self.blockSize)
      flash.cutAfter(operations: k, mode: .clean)
      var vault = Vault(store: try FlashSlotStore(device: flash), hardwareKey: Cut.boardKey)
      _ = try vault.open()
      var random = SeededRandom(seed: UInt64(k))
      try? path.apply(&vault, random: &random)
      let cells = vault.store.device.cells
      var reader = try Cut.vault(over: cells)
      guard Self.seen(try reader.open()) == Self.seen(path.after), !reader.pendingDestroy.isEmpty else {
        continue
      }
      // Recovery erases the leftover; cut it at each of its operations in each mode.
      var probe = try Cut.vault(over: cells)
      _ = try probe.open()
      let before = probe.store.device.programOps + probe.store.device.eraseOps
      try probe.completePendingDestroy()
      let recoveryOps = probe.store.device.programOps + probe.store.device.eraseOps - before
      for j in 1...max(1, recoveryOps) {
        for mode in SimulatedNORFlash.PowerCut.all {
          var chip = SimulatedNORFlash(cells: cells, eraseBlockSize: Self.blockSize)
          chip.cutAfter(operations: j, mode: mode)
          var owner = Vault(store: try FlashSlotStore(device: chip), hardwareKey: Cut.boardKey)
          _ = try owner.open()
          try? owner.completePendingDestroy()
          let recovered = try Self.ownerRecovery(owner.store.device.cells)
          #expect(
            !(try Self.recoverableSecrets(recovered)).contains { path.destroyed.contains($0) },
            "cut \(k), recovery cut \(j) \(mode.description)")
          var after = try Cut.vault(over: recovered)
          #expect(Self.seen(try after.open()) == Self.seen(path.after))
          covered += 1
        }
      }
    }
    print(
      "vault power cuts, depth 2 (cut during the owner's destroy recovery): \(covered) cut points covered")
    #expect(covered > 0)
  }
}
