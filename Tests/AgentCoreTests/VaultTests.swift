import AgentCore
import AgentTestSupport
import Testing

@Suite struct VaultTests {
  static var boardKey: SecretBytes { SecretBytes(Array("board-A hardware unique key 0123".utf8)) }
  static var otherBoardKey: SecretBytes { SecretBytes(Array("board-B hardware unique key 4567".utf8)) }

  func contents(_ id: String = "cam-0001", refresh: String, access: String = "at") -> VaultContents {
    var c = VaultContents(deviceID: id)
    c.identityKey = SecretBytes(Array("identity-der-\(id)".utf8))
    c.refreshToken = SecretBytes(Array(refresh.utf8))
    c.accessToken = SecretBytes(Array(access.utf8))
    c.accessTokenExpiry = 1_800_000_000
    c.lastActivation = 1_790_000_000
    return c
  }

  @Test func emptyThenAlternatingSlotsAndGenerations() throws {
    var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    var random = SeededRandom(seed: 1)
    #expect(try vault.open() == nil)
    for generation in 1...5 {
      try vault.commit(contents(refresh: "rt-\(generation)"), random: &random)
      #expect(vault.current?.generation == UInt64(generation))
      #expect(vault.current?.slot == (generation - 1) % 2)
      var reopened = Vault(store: vault.store, hardwareKey: Self.boardKey)
      let opened = try #require(try reopened.open())
      #expect(opened.refreshToken?.revealCopy() == Array("rt-\(generation)".utf8))
      #expect(opened.accessTokenExpiry == 1_800_000_000)
      #expect(opened.lastActivation == 1_790_000_000)
      #expect(reopened.current?.generation == UInt64(generation))
    }
  }

  @Test func everyBitFlipOfTheNewestRecordFallsBackToThePrevious() throws {
    var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    var random = SeededRandom(seed: 2)
    try vault.commit(contents(refresh: "old-token"), random: &random)
    try vault.commit(contents(refresh: "new-token"), random: &random)
    let newestSlot = try #require(vault.current?.slot)
    let newest = try #require(vault.store.slots[newestSlot])
    var flips = 0
    for bit in 0..<(newest.count * 8) {
      var store = vault.store
      store.slots[newestSlot]![bit / 8] ^= UInt8(1 << (bit % 8))
      var damaged = Vault(store: store, hardwareKey: Self.boardKey)
      let opened = try #require(try damaged.open(), "bit \(bit)")
      #expect(opened.refreshToken?.revealCopy() == Array("old-token".utf8), "bit \(bit)")
      #expect(damaged.current?.generation == 1)
      #expect(damaged.skipped.count == 1)
      flips += 1
    }
    #expect(flips == newest.count * 8)
    print("vault bit flips: \(flips) single-bit modifications of the newest record, all fell back")
  }

  @Test func onlyRecordDamagedIsAClearErrorNotEmpty() throws {
    var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    var random = SeededRandom(seed: 3)
    try vault.commit(contents(refresh: "only"), random: &random)
    var store = vault.store
    store.slots[0]![40] ^= 0x01
    var damaged = Vault(store: store, hardwareKey: Self.boardKey)
    #expect(throws: VaultError.self) { _ = try damaged.open() }
  }

  @Test func recordMovedToTheOtherSlotIsRejected() throws {
    var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    var random = SeededRandom(seed: 4)
    try vault.commit(contents(refresh: "gen1"), random: &random)
    var store = vault.store
    store.slots[1] = store.slots[0]
    store.slots[0] = nil
    var moved = Vault(store: store, hardwareKey: Self.boardKey)
    #expect(throws: VaultError.self) { _ = try moved.open() }
    // Rewriting the slot byte to match does not help: the AAD had the original slot.
    store.slots[1]![5] = 1
    var relabelled = Vault(store: store, hardwareKey: Self.boardKey)
    #expect(throws: VaultError.self) { _ = try relabelled.open() }
  }

  @Test func recordFromAnotherBoardIsRejected() throws {
    var theirs = Vault(store: MemorySlotStore(), hardwareKey: Self.otherBoardKey)
    var random = SeededRandom(seed: 5)
    try theirs.commit(contents(refresh: "their-token"), random: &random)
    var mine = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    try mine.commit(contents(refresh: "my-token"), random: &random)
    // Their newer-looking record spliced into my free slot.
    var store = mine.store
    var spliced = try #require(theirs.store.slots[0])
    spliced[5] = 1  // claim slot 1
    spliced[6 + 2] = 9  // claim generation 9
    store.slots[1] = spliced
    var opened = Vault(store: store, hardwareKey: Self.boardKey)
    let result = try #require(try opened.open())
    #expect(result.refreshToken?.revealCopy() == Array("my-token".utf8))
    #expect(opened.skipped.count == 1)
    // The whole vault copied to this board does not open at all.
    var copied = Vault(store: theirs.store, hardwareKey: Self.boardKey)
    #expect(throws: VaultError.self) { _ = try copied.open() }
  }

  @Test func differentDeviceIDUnderTheSameBoardKeyIsRejected() throws {
    var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    var random = SeededRandom(seed: 6)
    try vault.commit(contents("cam-0001", refresh: "x"), random: &random)
    var store = vault.store
    // Rewrite the header's device id ("cam-0001" -> "cam-0002"), same length.
    let idOffset = 4 + 1 + 1 + 2 + 8 + 1
    store.slots[0]![idOffset + 7] = UInt8(ascii: "2")
    var renamed = Vault(store: store, hardwareKey: Self.boardKey)
    #expect(throws: VaultError.self) { _ = try renamed.open() }
  }

  @Test func noPlaintextSecretInStoredBytes() throws {
    var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    var random = SystemRandom()
    let identity = try P256PrivateKey.generate()
    let der = try identity.derRepresentation().revealCopy()
    var c = VaultContents(deviceID: "cam-0001")
    c.identityKey = SecretBytes(der)
    c.refreshToken = SecretBytes(Array("REFRESH-CANARY-5f1d2a".utf8))
    c.accessToken = SecretBytes(Array("ACCESS-CANARY-77ab90".utf8))
    try vault.commit(c, random: &random)
    try vault.commit(c, random: &random)
    let image = (vault.store.slots[0] ?? []) + (vault.store.slots[1] ?? [])
    #expect(!image.isEmpty)
    #expect(!image.containsSubsequence(Array("REFRESH-CANARY".utf8)))
    #expect(!image.containsSubsequence(Array("ACCESS-CANARY".utf8)))
    // Any 8-byte window of the private key DER (the scalar lives inside it).
    for start in stride(from: 0, to: der.count - 8, by: 4) {
      #expect(!image.containsSubsequence(Array(der[start..<start + 8])))
    }
    // The device id is deliberately in the clear (it is the public client_id).
    #expect(image.containsSubsequence(Array("cam-0001".utf8)))
  }

  @Test func wipeLeavesNothing() throws {
    var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    var random = SeededRandom(seed: 7)
    try vault.commit(contents(refresh: "a"), random: &random)
    try vault.commit(contents(refresh: "b"), random: &random)
    try vault.wipe()
    #expect(vault.store.slots == [nil, nil])
    #expect(try vault.open() == nil)
  }

  @Test func contentsEncodingRejectsGarbage() throws {
    var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    var random = SeededRandom(seed: 8)
    #expect(throws: VaultError.self) {
      try vault.commit(VaultContents(deviceID: "bad id with spaces"), random: &random)
    }
  }
}
