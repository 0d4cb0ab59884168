import AgentCore
import AgentTestSupport
import Testing

/// Power cut at every single program and erase a vault operation makes, in
/// every torn variant the simulator knows, then reboot and reopen: exactly the
/// old or the new contents, never neither, never a mix; after commit returned,
/// always the new; the generation never goes backwards.
@Suite struct VaultPowerCutTests {
  typealias FlashVault = Vault<FlashSlotStore<SimulatedNORFlash>>

  static let blockSize = 4096
  static var boardKey: SecretBytes { SecretBytes(Array("power-cut test board key 0123456".utf8)) }

  /// What a reopened vault holds, reduced to what the tests compare.
  struct Observed: Equatable {
    var refreshToken: [UInt8]?
    var accessToken: [UInt8]?
    var generation: UInt64
  }

  static func vault(over cells: [UInt8]) throws -> FlashVault {
    let flash = SimulatedNORFlash(cells: cells, eraseBlockSize: blockSize)
    return Vault(store: try FlashSlotStore(device: flash), hardwareKey: boardKey)
  }

  static func contents(_ tag: String) -> VaultContents {
    var c = VaultContents(deviceID: "cam-cut-01")
    c.identityKey = SecretBytes(Array("identity-\(tag)".utf8))
    c.refreshToken = SecretBytes(Array("refresh-\(tag)".utf8))
    c.accessToken = SecretBytes(Array("access-\(tag)".utf8))
    return c
  }

  static func observe(_ cells: [UInt8]) throws -> Observed? {
    var vault = try vault(over: cells)
    guard let contents = try vault.open() else { return nil }
    return Observed(
      refreshToken: contents.refreshToken?.revealCopy(), accessToken: contents.accessToken?.revealCopy(),
      generation: vault.current!.generation)
  }

  enum Action {
    case commit(String)
    case wipe

    func apply(_ vault: inout FlashVault, random: inout SeededRandom) throws(VaultError) {
      switch self {
      case .commit(let tag): try vault.commit(contents(tag), random: &random)
      case .wipe: try vault.wipe()
      }
    }
  }

  /// Runs `action` on a vault over `cells` with a cut after operation `k` in
  /// `mode`; returns the cells after the cut and whether the action returned.
  static func cut(
    _ cells: [UInt8], action: Action, at k: Int, mode: SimulatedNORFlash.PowerCut, seed: UInt64
  ) throws -> (cells: [UInt8], completed: Bool) {
    // Opening only reads, and the simulator counts programs and erases, so the
    // cut can be armed before the vault is built over the chip.
    var flash = SimulatedNORFlash(cells: cells, eraseBlockSize: blockSize)
    flash.cutAfter(operations: k, mode: mode)
    var vault = Vault(store: try FlashSlotStore(device: flash), hardwareKey: boardKey)
    _ = try vault.open()
    var random = SeededRandom(seed: seed)
    var completed = true
    do { try action.apply(&vault, random: &random) } catch { completed = false }
    return (vault.store.device.cells, completed)
  }

  /// Program and erase operations `action` makes from `cells` with no cut.
  static func operationCount(_ cells: [UInt8], action: Action) throws -> Int {
    var vault = try vault(over: cells)
    _ = try vault.open()
    let before = vault.store.device.programOps + vault.store.device.eraseOps
    var random = SeededRandom(seed: 99)
    try action.apply(&vault, random: &random)
    return vault.store.device.programOps + vault.store.device.eraseOps - before
  }

  /// Every cut point and mode of `action` from `start`; returns how many it covered.
  static func exhaustive(
    from start: [UInt8], action: Action, old: Observed?, new: Observed?
  ) throws -> Int {
    let operations = try operationCount(start, action: action)
    #expect(operations > 0)
    var covered = 0
    for k in 1...operations {
      for mode in SimulatedNORFlash.PowerCut.all {
        let (after, completed) = try cut(start, action: action, at: k, mode: mode, seed: UInt64(k))
        let seen = try observe(after)
        if completed {
          #expect(seen == new, "cut after op \(k) (\(mode.description)) once commit returned")
        } else {
          #expect(seen == old || seen == new, "cut after op \(k) (\(mode.description))")
        }
        if let seen, let old { #expect(seen.generation >= old.generation) }
        covered += 1
      }
    }
    return covered
  }

  static func state(after actions: [Action]) throws -> [UInt8] {
    var vault = try vault(over: [UInt8](repeating: 0xFF, count: blockSize * 2))
    var random = SeededRandom(seed: 7)
    for action in actions { try action.apply(&vault, random: &random) }
    return vault.store.device.cells
  }

  static func observed(_ tag: String, generation: UInt64) -> Observed {
    Observed(
      refreshToken: Array("refresh-\(tag)".utf8), accessToken: Array("access-\(tag)".utf8),
      generation: generation)
  }

  @Test func firstWrite() throws {
    let empty = [UInt8](repeating: 0xFF, count: Self.blockSize * 2)
    let covered = try Self.exhaustive(
      from: empty, action: .commit("first"), old: nil, new: Self.observed("first", generation: 1))
    print("vault power cuts, first write: \(covered) cut points covered")
    #expect(covered > 0)
  }

  @Test func tokenRotation() throws {
    // Two generations already, so the rotation overwrites the older slot.
    let start = try Self.state(after: [.commit("g1"), .commit("g2")])
    let covered = try Self.exhaustive(
      from: start, action: .commit("g3"), old: Self.observed("g2", generation: 2),
      new: Self.observed("g3", generation: 3))
    print("vault power cuts, token rotation: \(covered) cut points covered")
  }

  @Test func wipeIsOldOrEmpty() throws {
    let start = try Self.state(after: [.commit("g1"), .commit("g2")])
    let operations = try Self.operationCount(start, action: .wipe)
    var covered = 0
    for k in 1...operations {
      for mode in SimulatedNORFlash.PowerCut.all {
        let (after, completed) = try Self.cut(start, action: .wipe, at: k, mode: mode, seed: 1)
        var seen: Observed?? = nil
        do { seen = .some(try Self.observe(after)) } catch {
          Issue.record("wipe cut after op \(k) (\(mode.description)): reopen failed: \(error)")
        }
        if completed {
          #expect(
            seen == .some(nil), "wipe returned but the vault is not empty (op \(k), \(mode.description))")
        } else {
          // Mid-wipe: the current record, the older one, or empty; never a mix, never an error.
          let allowed: [Observed?] = [
            Self.observed("g2", generation: 2), Self.observed("g1", generation: 1), nil,
          ]
          #expect(seen.map { allowed.contains($0) } == true, "op \(k) (\(mode.description))")
        }
        covered += 1
      }
    }
    print("vault power cuts, wipe (slot erase): \(covered) cut points covered")
  }

  @Test func cutDuringRecoveryFromACut() throws {
    let start = try Self.state(after: [.commit("g1"), .commit("g2")])
    let operations = try Self.operationCount(start, action: .commit("g3"))
    var covered = 0
    for k in 1...operations {
      for mode in SimulatedNORFlash.PowerCut.all {
        let (afterFirst, firstCompleted) = try Self.cut(
          start, action: .commit("g3"), at: k, mode: mode, seed: 3)
        if firstCompleted { continue }
        let middle = try #require(try Self.observe(afterFirst))
        // After the reboot the agent writes again (the retried rotation), and power goes again.
        let retry = Action.commit("g3-retry")
        let retryOperations = try Self.operationCount(afterFirst, action: retry)
        for j in 1...retryOperations {
          for secondMode in [
            SimulatedNORFlash.PowerCut.clean, .tornProgram(.allButOneBit), .tornErase(.someBits),
          ] {
            let (afterSecond, secondCompleted) = try Self.cut(
              afterFirst, action: retry, at: j, mode: secondMode, seed: 4)
            let seen = try Self.observe(afterSecond)
            let retried = Observed(
              refreshToken: Array("refresh-g3-retry".utf8), accessToken: Array("access-g3-retry".utf8),
              generation: middle.generation + 1)
            if secondCompleted {
              #expect(seen == retried)
            } else {
              #expect(
                seen == middle || seen == retried,
                "cut \(k) \(mode.description), then \(j) \(secondMode.description)")
            }
            #expect((seen?.generation ?? 0) >= middle.generation)
            covered += 1
          }
        }
      }
    }
    print("vault power cuts, depth 2 (cut during recovery from a cut): \(covered) cut points covered")
    #expect(covered > 0)
  }

  @Test func flashImageHoldsNoPlaintextSecrets() throws {
    var vault = try Self.vault(over: [UInt8](repeating: 0xFF, count: Self.blockSize * 2))
    var random = SystemRandom()
    let identity = try P256PrivateKey.generate()
    let der = try identity.derRepresentation().revealCopy()
    for round in 0..<3 {
      var c = VaultContents(deviceID: "cam-scan-01")
      c.identityKey = SecretBytes(der)
      c.refreshToken = SecretBytes(Array("RT-CANARY-\(round)-9d8c7b6a".utf8))
      c.accessToken = SecretBytes(Array("AT-CANARY-\(round)-1a2b3c4d".utf8))
      try vault.commit(c, random: &random)
    }
    let image = vault.store.device.cells
    for round in 0..<3 {
      #expect(!image.containsSubsequence(Array("RT-CANARY-\(round)".utf8)))
      #expect(!image.containsSubsequence(Array("AT-CANARY-\(round)".utf8)))
    }
    for start in stride(from: 0, to: der.count - 8, by: 4) {
      #expect(!image.containsSubsequence(Array(der[start..<start + 8])))
    }
  }
}
