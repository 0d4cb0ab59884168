import AgentCore
import AgentTestSupport
import Testing

/// The time floor through the vault: across restarts and power cuts at
/// every flash operation of a commit, the floor a restart reads is never
/// earlier than one read before, nor than what a completed commit wrote.
@Suite struct TimeFloorTests {
  typealias FlashVault = Vault<FlashSlotStore<SimulatedNORFlash>>
  static let build: Int64 = 1_767_225_600
  static var boardKey: SecretBytes { SecretBytes(Array("time floor test board key 012345".utf8)) }

  @Test func raiseNeverLowers() {
    var floor = TimeFloor(buildTime: Self.build, stored: nil)
    #expect(floor.seconds == Self.build)
    let moved1 = floor.raise(to: Self.build - 1)
    #expect(!moved1)
    #expect(floor.witnessed == nil)
    let moved2 = floor.raise(to: Self.build + 10)
    #expect(moved2)
    let moved3 = floor.raise(to: Self.build + 5)
    #expect(!moved3)
    #expect(floor.seconds == Self.build + 10)
    // A stored value below the build time counts for nothing.
    #expect(TimeFloor(buildTime: Self.build, stored: 5).seconds == Self.build)
  }

  @Test func storedInTheVaultRecord() throws {
    var vault = Vault(
      store: try FlashSlotStore(device: SimulatedNORFlash(size: 8192, eraseBlockSize: 4096)),
      hardwareKey: Self.boardKey)
    _ = try vault.open()
    var contents = VaultContents(deviceID: "cam-floor-01")
    contents.timeFloor = Self.build + 123
    var random = SeededRandom(seed: 3)
    try vault.commit(contents, random: &random)
    var reopened = Vault(store: vault.store, hardwareKey: Self.boardKey)
    #expect(try reopened.open()?.timeFloor == Self.build + 123)
  }

  /// A random life: the board's clock and servers' Dates move the floor,
  /// commits carry it (some cut by power loss at a random flash operation,
  /// torn or clean), restarts read it back.
  @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
  func neverBackwardsAcrossRestartsAndPowerCuts(seed: UInt64) throws {
    var random = SeededRandom(seed: seed)
    var cells = SimulatedNORFlash(size: 8192, eraseBlockSize: 4096).cells
    var committed: Int64 = Self.build
    var lastRead: Int64 = Self.build
    var wall: Int64 = Self.build + Int64(random.next() % 10_000_000)
    for _ in 0..<40 {
      // Restart: read the floor back.
      var vault = Vault(
        store: try FlashSlotStore(device: SimulatedNORFlash(cells: cells, eraseBlockSize: 4096)),
        hardwareKey: Self.boardKey)
      let opened = try vault.open()
      var contents = opened ?? VaultContents(deviceID: "cam-floor-02")
      let floor = TimeFloor(buildTime: Self.build, stored: contents.timeFloor)
      #expect(floor.seconds >= lastRead)
      #expect(floor.seconds >= committed)
      lastRead = floor.seconds
      // Run: the clock (sometimes at 1970) and a verified server.
      if random.next() % 3 == 0 { wall = Int64(random.next() % 100_000) }
      var clock = ClockCorrection(clock: SteppedClock(wall: wall * 1_000), floor: floor)
      let real = max(lastRead, wall) + Int64(random.next() % 100_000)
      let date = random.next() % 4 == 0 ? Int64(random.next() % 300_000_000_000) : real
      clock.observe(serverTime: date, validity: PeerValidity(notBefore: 0, notAfter: real + 400 * 86_400))
      let lowered = clock.takeNotices().contains { if case .floorFromTheFuture = $0 { true } else { false } }
      #expect(!lowered)
      #expect(clock.floor.seconds >= lastRead)
      wall = real
      // Commit, maybe cut.
      contents.timeFloor = clock.floor.valueToStore()
      contents.refreshToken = SecretBytes(Array("rt-\(random.next() % 1000)".utf8))
      var device = SimulatedNORFlash(cells: cells, eraseBlockSize: 4096)
      if random.next() % 2 == 0 {
        device.cutAfter(
          operations: 1 + Int(random.next() % 12),
          mode: random.next() % 2 == 0 ? .clean : .tornProgram(.firstHalf))
      }
      var writer = Vault(store: try FlashSlotStore(device: device), hardwareKey: Self.boardKey)
      _ = try? writer.open()
      var commitRandom = SeededRandom(seed: random.next())
      do {
        try writer.commit(contents, random: &commitRandom)
        committed = max(committed, contents.timeFloor!)
      } catch {}
      cells = writer.store.device.cells
    }
  }
}
