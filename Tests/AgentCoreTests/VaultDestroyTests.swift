import AgentCore
import AgentTestSupport
import CAgentSys
import Testing

/// Issue 13 items 6 and 7 at the vault level: destroy commits erase the
/// older slot (and only they do); an unreadable slot is skipped.
@Suite struct VaultDestroyTests {
  static var boardKey: SecretBytes { VaultTests.boardKey }

  /// A memory store whose reads or erases of chosen slots fail with EIO.
  struct FlakyStore: SlotStore {
    var inner = MemorySlotStore()
    var unreadable: Set<Int> = []
    var failingErases: Set<Int> = []
    var slotCount: Int { 2 }
    var recordCapacity: Int { inner.recordCapacity }
    mutating func recover() throws(StoreError) {}
    mutating func read(slot: Int) throws(StoreError) -> SlotContent {
      if unreadable.contains(slot) { throw .system(SystemError("read slot \(slot)", errno: EIO)) }
      return try inner.read(slot: slot)
    }
    mutating func write(slot: Int, record: [UInt8]) throws(StoreError) {
      try inner.write(slot: slot, record: record)
    }
    mutating func erase(slot: Int) throws(StoreError) {
      if failingErases.contains(slot) { throw .system(SystemError("erase slot \(slot)", errno: EIO)) }
      try inner.erase(slot: slot)
    }
    mutating func takeOwnership() throws(StoreError) {}
  }

  /// A session's contents; `nil` parts are absent.
  static func contents(identity: String?, dpop: String?, refresh: String?, access: String?) -> VaultContents {
    var c = VaultContents(deviceID: "cam-destroy-1")
    c.identityKey = identity.map { SecretBytes(Array("id-\($0)".utf8)) }
    c.dpopKey = dpop.map { SecretBytes(Array("dpop-\($0)".utf8)) }
    c.refreshToken = refresh.map { SecretBytes(Array("rt-\($0)".utf8)) }
    c.accessToken = access.map { SecretBytes(Array("at-\($0)".utf8)) }
    return c
  }

  /// Property over random histories: a commit erases the other slot exactly
  /// when VaultDestroyRule says it destroys; otherwise the other slot still
  /// opens as the previous generation. Reopening always gives the latest.
  @Test func onlyDestroyCommitsEraseTheOlderSlot() throws {
    var random = SeededRandom(seed: 0x13_06)
    var destroyCommits = 0
    var keptCommits = 0
    for history in 0..<40 {
      var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
      var previous: VaultContents? = nil
      for step in 0..<12 {
        // Identity from a small set, so it sometimes changes; the rest present or not at random.
        func pick(_ options: Int) -> String? {
          let n = Int(random.next() % UInt64(options + 1))
          return n == 0 ? nil : "\(n)"
        }
        let next = Self.contents(
          identity: pick(2).map { _ in "\(random.next() % 2)" } ?? "0", dpop: pick(2), refresh: pick(3),
          access: pick(3))
        let outcome = try vault.commit(next, random: &random)
        let expected = previous.map { VaultDestroyRule.destroys(replacing: $0, with: next) } ?? true
        let other = 1 - vault.current!.slot
        if expected {
          #expect(vault.store.slots[other] == nil, "history \(history) step \(step)")
          if previous != nil {
            #expect(outcome == .committedAndDestroyedOlder)
            destroyCommits += 1
          }
        } else {
          #expect(outcome == .committed, "history \(history) step \(step)")
          var older = vault.store
          older.slots[vault.current!.slot] = nil
          var reopenedOlder = Vault(store: older, hardwareKey: Self.boardKey)
          let opened = try #require(try reopenedOlder.open())
          #expect(opened.refreshToken?.revealCopy() == previous?.refreshToken?.revealCopy())
          keptCommits += 1
        }
        var reopened = Vault(store: vault.store, hardwareKey: Self.boardKey)
        let latest = try #require(try reopened.open())
        #expect(latest.refreshToken?.revealCopy() == next.refreshToken?.revealCopy())
        #expect(latest.dpopKey?.revealCopy() == next.dpopKey?.revealCopy())
        #expect(reopened.pendingDestroy.isEmpty)
        previous = next
      }
    }
    print(
      "vault destroy property: \(destroyCommits) destroy commits erased the older slot, \(keptCommits) kept it"
    )
    #expect(destroyCommits > 20 && keptCommits > 20)
  }

  /// The rule itself, case by case: rotation keeps, everything that ends a
  /// session or an identity destroys.
  @Test func destroyRuleCases() {
    let session = Self.contents(identity: "A", dpop: "1", refresh: "r1", access: "a1")
    let rotated = Self.contents(identity: "A", dpop: "1", refresh: "r2", access: "a2")
    let loggedOut = Self.contents(identity: "A", dpop: nil, refresh: nil, access: nil)
    let reactivated = Self.contents(identity: "A", dpop: "2", refresh: "r3", access: "a3")
    let reprovisioned = Self.contents(identity: "B", dpop: nil, refresh: nil, access: nil)
    let provisioned = Self.contents(identity: "A", dpop: nil, refresh: nil, access: nil)
    #expect(!VaultDestroyRule.destroys(replacing: session, with: rotated))
    #expect(!VaultDestroyRule.destroys(replacing: provisioned, with: session))
    #expect(VaultDestroyRule.destroys(replacing: session, with: loggedOut))
    #expect(VaultDestroyRule.destroys(replacing: session, with: reactivated))
    #expect(VaultDestroyRule.destroys(replacing: session, with: reprovisioned))
    #expect(VaultDestroyRule.destroys(replacing: provisioned, with: reprovisioned))
    var otherDevice = rotated
    otherDevice.deviceID = "cam-destroy-2"
    #expect(VaultDestroyRule.destroys(replacing: session, with: otherDevice))
  }

  /// A cut between a destroy commit and its erase leaves the older record:
  /// `open` (a reader, as `status`) reports it in `pendingDestroy` without
  /// erasing; the owner's `completePendingDestroy()` erases it.
  @Test func interruptedDestroyIsFoundAndFinishedByTheOwner() throws {
    var random = SeededRandom(seed: 61)
    var vault = Vault(store: MemorySlotStore(), hardwareKey: Self.boardKey)
    try vault.commit(Self.contents(identity: "A", dpop: "1", refresh: "r1", access: "a1"), random: &random)
    let sessionSlot = vault.current!.slot
    let withSession = vault.store.slots[sessionSlot]
    try vault.commit(Self.contents(identity: "A", dpop: nil, refresh: nil, access: nil), random: &random)
    #expect(vault.store.slots[sessionSlot] == nil)
    // The state a cut before the erase leaves: put the session record back.
    var store = vault.store
    store.slots[sessionSlot] = withSession
    var reader = Vault(store: store, hardwareKey: Self.boardKey)
    let opened = try #require(try reader.open())
    #expect(opened.refreshToken == nil)
    #expect(reader.pendingDestroy == [sessionSlot])
    #expect(reader.store.slots[sessionSlot] != nil)
    try reader.completePendingDestroy()
    #expect(reader.store.slots[sessionSlot] == nil)
    #expect(reader.pendingDestroy.isEmpty)
  }

  /// The erase after a destroy commit fails: the commit stands (the new
  /// record is current), the outcome says the older record survived, and the
  /// next commit to that slot erases it before writing.
  @Test func failedDestroyEraseIsReportedAndRetried() throws {
    var random = SeededRandom(seed: 62)
    var vault = Vault(store: FlakyStore(), hardwareKey: Self.boardKey)
    try vault.commit(Self.contents(identity: "A", dpop: "1", refresh: "r1", access: nil), random: &random)
    var store = vault.store
    store.failingErases = [0]
    vault = Vault(store: store, hardwareKey: Self.boardKey)
    _ = try vault.open()
    let outcome = try vault.commit(
      Self.contents(identity: "A", dpop: nil, refresh: nil, access: nil), random: &random)
    guard case .committedDestroyPending = outcome else {
      Issue.record("expected a pending destroy, got \(outcome)")
      return
    }
    #expect(vault.current?.slot == 1)
    #expect(vault.pendingDestroy == [0])
    store = vault.store
    store.failingErases = []
    var retry = Vault(store: store, hardwareKey: Self.boardKey)
    _ = try retry.open()
    #expect(retry.pendingDestroy == [0])
    try retry.commit(Self.contents(identity: "A", dpop: "2", refresh: "r2", access: nil), random: &random)
    var final = Vault(store: retry.store, hardwareKey: Self.boardKey)
    let opened = try #require(try final.open())
    #expect(opened.dpopKey?.revealCopy() == Array("dpop-2".utf8))
    #expect(final.skipped.allSatisfy { !$0.contains("generation 1") })
  }

  /// Item 7: one unreadable slot is skipped and reported; with nothing
  /// readable the store's error is thrown, never "empty".
  @Test func unreadableSlotIsSkipped() throws {
    var random = SeededRandom(seed: 63)
    var vault = Vault(store: FlakyStore(), hardwareKey: Self.boardKey)
    try vault.commit(Self.contents(identity: "A", dpop: "1", refresh: "r1", access: nil), random: &random)
    try vault.commit(Self.contents(identity: "A", dpop: "1", refresh: "r2", access: nil), random: &random)
    for bad in 0..<2 {
      var store = vault.store
      store.unreadable = [bad]
      var reopened = Vault(store: store, hardwareKey: Self.boardKey)
      let opened = try #require(try reopened.open())
      #expect(reopened.current?.slot == 1 - bad)
      #expect(opened.refreshToken?.revealCopy() == Array((bad == 1 ? "rt-r1" : "rt-r2").utf8))
      #expect(reopened.skipped.contains { $0.hasPrefix("slot \(bad): unreadable") })
    }
    var store = vault.store
    store.unreadable = [0, 1]
    var none = Vault(store: store, hardwareKey: Self.boardKey)
    #expect(throws: VaultError.store(.system(SystemError("read slot 0", errno: EIO)))) { _ = try none.open() }
    store.unreadable = [0]
    store.inner.slots[1] = nil
    var halfEmpty = Vault(store: store, hardwareKey: Self.boardKey)
    #expect(throws: VaultError.self) { _ = try halfEmpty.open() }
  }
}
