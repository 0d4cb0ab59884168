/// The credential vault: AES-256-GCM records in a two-slot store, with a
/// generation counter.
///
/// Commit protocol: a new record (generation g+1) is always written to the
/// slot that does *not* hold the current record, and the store makes that one
/// write durable before returning. A power cut at any instant therefore
/// leaves the current record intact; `open` picks the newest record that
/// passes the store's framing check and AES-GCM authentication, so it sees
/// exactly the old or the new contents, never a mix.
///
/// Destroy (VaultDestroy.swift): when a commit removes secrets, the older
/// slot is erased after the new record is durable. A cut between the two
/// leaves the older record behind; `open` notices it (`pendingDestroy`) and
/// the owner's `completePendingDestroy()` (or the next commit) erases it.
///
/// A slot that cannot be read (EIO, a symlink or directory in its place) or
/// that fails its checks is reported in `skipped` and passed over; `open`
/// fails only when no slot yields a good record.
///
/// Anti-rollback (with a `counter`, RollbackRule.swift): every record holds
/// the counter value it was written with; a commit writes counter + 1 and
/// then increments, and `open` refuses a newest record that is not the
/// counter's value or one ahead of it, so a restored image of the flash
/// from before a later commit does not open.
public struct Vault<Store: SlotStore> {
  public private(set) var store: Store
  private let hardwareKey: SecretBytes
  /// The board's monotonic counter, when the vault is bound to one.
  private let counter: (any AntiRollbackCounter)?
  /// Set by `takeOwnership`: only the owner finishes a lost increment at
  /// `open`; a reader beside the daemon must never write to the counter (the
  /// daemon may be between its write and its increment).
  private var owned = false
  /// The current record is one ahead of the counter (its increment was lost
  /// to a cut or a TPM error, or this process is a reader and left it to the
  /// owner). The owner's next commit increments first.
  public private(set) var counterIncrementPending = false
  private var derived: (deviceID: String, key: SecretBytes)? = nil

  /// Slot and generation of the newest good record, once opened.
  public private(set) var current: (slot: Int, generation: UInt64)? = nil
  /// Why other records were passed over at the last `open` (for `status`).
  public private(set) var skipped: [String] = []
  /// Slots other than the current one that still hold what an earlier
  /// destroy commit meant to erase (a cut came between its commit and its
  /// erase), or a retired or half-written record. Found by `open`, cleared
  /// by `completePendingDestroy()` or the next commit.
  public private(set) var pendingDestroy: [Int] = []
  /// The current record's contents, to tell whether the next commit destroys.
  private var currentContents: VaultContents? = nil

  static var salt: [UInt8] { Array("camera-agent vault v1".utf8) }

  public init(store: Store, hardwareKey: SecretBytes, counter: (any AntiRollbackCounter)? = nil) {
    precondition(store.slotCount == 2, "the vault uses exactly two slots")
    self.store = store
    self.hardwareKey = hardwareKey
    self.counter = counter
  }

  /// Whether the vault is bound to an anti-rollback counter.
  public var isBound: Bool { counter != nil }

  /// Makes this process the vault's only writer (`SlotStore.takeOwnership`).
  /// The daemon calls it once before it starts and keeps the vault for its
  /// lifetime; `wipe`, `reauth` and `provision` call it before they open.
  /// Throws `.store(.busy(holder:))` when another process owns the vault.
  public mutating func takeOwnership() throws(VaultError) {
    do { try store.takeOwnership() } catch { throw .store(error) }
    owned = true
  }

  /// Gives ownership up: the daemon of an unprovisioned board, until SIGHUP
  /// finds the identity `provision` made.
  public mutating func releaseOwnership() {
    store.releaseOwnership()
    owned = false
  }

  /// Loads the newest good record: nil when the vault is empty. Throws
  /// `.noValidRecord` when records exist but none opens, and the store's
  /// error when no slot could be read at all. Reads only: safe beside the
  /// running daemon.
  public mutating func open() throws(VaultError) -> VaultContents? {
    // A reader beside the daemon can read the slots, then the daemon
    // commits (new record, then increment), then the reader reads the
    // counter: the record it holds is one behind. The daemon's new record
    // was durable before its increment, so reading the slots again finds
    // it; only a record still behind after that is a rollback.
    var attempt = 0
    while true {
      attempt += 1
      do {
        return try openOnce()
      } catch .rolledBack(let recorded, let counter) where !owned && recorded < counter && attempt < 3 {
        continue
      }
    }
  }

  private mutating func openOnce() throws(VaultError) -> VaultContents? {
    do { try store.recover() } catch { throw .store(error) }
    current = nil
    currentContents = nil
    skipped = []
    pendingDestroy = []
    counterIncrementPending = false
    var good: [(slot: Int, generation: UInt64, contents: VaultContents)] = []
    var unfinished: [Int] = []
    var sawRecord = false
    var firstReadError: StoreError? = nil
    var allFailuresAreReadErrors = true
    for slot in 0..<store.slotCount {
      let content: SlotContent
      do {
        content = try store.read(slot: slot)
      } catch {
        if error == .powerLost { throw .store(error) }
        // One unreadable slot must not cost the other one.
        if firstReadError == nil { firstReadError = error }
        skipped.append("slot \(slot): unreadable: \(error.description)")
        continue
      }
      switch content {
      case .empty:
        continue
      case .interrupted(let why):
        unfinished.append(slot)
        skipped.append("slot \(slot): \(why)")
      case .damaged(let why):
        sawRecord = true
        allFailuresAreReadErrors = false
        skipped.append("slot \(slot): \(why)")
      case .record(let bytes):
        sawRecord = true
        switch decrypt(bytes, slot: slot) {
        case .success(let (generation, contents)):
          good.append((slot, generation, contents))
        case .failure(let why):
          allFailuresAreReadErrors = false
          skipped.append("slot \(slot): \(why)")
        }
      }
    }
    guard let best = good.max(by: { $0.generation < $1.generation }) else {
      if let firstReadError, !sawRecord || allFailuresAreReadErrors { throw .store(firstReadError) }
      if sawRecord || firstReadError != nil { throw .noValidRecord(skipped) }
      // An empty vault whose last record was retired (its marker zeroed) by a
      // wipe the power cut short: the ciphertext is still there to erase.
      pendingDestroy = unfinished
      return nil
    }
    // Judged on the newest record alone: an older slot is older still, and
    // falling back to it is exactly the rollback the counter is there for.
    if let counter { try checkRollback(best.contents, counter: counter) }
    for older in good where older.slot != best.slot {
      skipped.append("slot \(older.slot): older generation \(older.generation)")
      if older.generation >= best.generation
        || VaultDestroyRule.destroys(replacing: older.contents, with: best.contents)
      {
        unfinished.append(older.slot)
      }
    }
    current = (best.slot, best.generation)
    currentContents = best.contents
    pendingDestroy = unfinished.filter { $0 != best.slot }.sorted()
    return best.contents
  }

  /// Writes `contents` as the next generation. Durable when it returns; on
  /// any error the previous record is untouched and still current.
  ///
  /// When the commit destroys secrets (`VaultDestroyRule` against the
  /// current contents, or `destroying` true, or nothing known about the
  /// other slot), the older slot is erased once the new record is durable.
  /// A failure of that erase does not undo the commit: the outcome says so.
  @discardableResult
  public mutating func commit<R: RandomSource>(
    _ contents: VaultContents, random: inout R, destroying: Bool = false
  ) throws(VaultError) -> VaultCommitOutcome {
    guard DeviceID.isValid(contents.deviceID) else { throw .malformedContents("device id") }
    var contents = contents
    if let counter { contents.rollbackCounter = try counterValueToWrite(counter) }
    let slot = current.map { 1 - $0.slot } ?? 0
    // A generation read from flash may be 2^64 - 1: no successor, no trap.
    guard let generation = VaultRecord.generation(after: current?.generation) else {
      throw .store(.unusable("vault generation counter exhausted"))
    }
    let key = try vaultKey(for: contents.deviceID)
    let nonce: [UInt8]
    let sealed: AESGCM.Sealed
    do {
      nonce = try random.bytes(AESGCM.nonceSize)
      sealed = try AESGCM.seal(
        contents.encoded(), key: key, nonce: nonce,
        aad: VaultRecord.associatedData(
          slot: UInt8(slot), generation: generation, deviceID: contents.deviceID))
    } catch {
      throw .crypto(error)
    }
    let record = VaultRecord(
      slot: UInt8(slot), generation: generation, deviceID: contents.deviceID, nonce: nonce, sealed: sealed
    ).serialized()
    guard record.count <= store.recordCapacity else {
      throw .tooLarge(size: record.count, capacity: store.recordCapacity)
    }
    // A slot still holding destroyed secrets is erased on its own first: a
    // file store's rename would only unlink it, leaving its blocks behind.
    if pendingDestroy.contains(slot) {
      do { try store.erase(slot: slot) } catch { throw .store(error) }
      pendingDestroy.removeAll { $0 == slot }
    }
    do { try store.write(slot: slot, record: record) } catch { throw .store(error) }
    // Durable from here: a lost increment (a cut now, a TPM error) leaves
    // the record one ahead, which `open` and the next commit finish.
    if let counter {
      do {
        _ = try counter.increment()
        counterIncrementPending = false
      } catch {
        counterIncrementPending = true
      }
    }
    let destroys =
      destroying || currentContents.map { VaultDestroyRule.destroys(replacing: $0, with: contents) } ?? true
    current = (slot, generation)
    currentContents = contents
    var older = (0..<store.slotCount).filter { $0 != slot }
    if !destroys { older = older.filter { pendingDestroy.contains($0) } }
    guard !older.isEmpty else { return .committed }
    pendingDestroy = older
    do {
      try completePendingDestroy()
    } catch {
      return .committedDestroyPending(error.description)
    }
    return .committedAndDestroyedOlder
  }

  /// Erases every slot in `pendingDestroy`. The owner calls it after `open`
  /// (RunCommand does before the daemon starts): it finishes a destroy a
  /// power cut interrupted. Never touches the current record.
  public mutating func completePendingDestroy() throws(VaultError) {
    while let slot = pendingDestroy.first {
      if let current, current.slot == slot {
        pendingDestroy.removeFirst()
        continue
      }
      // An empty slot has nothing left to destroy; skip the erase (and its wear).
      let content: SlotContent
      do { content = try store.read(slot: slot) } catch { content = .damaged("unreadable") }
      if content != .empty {
        do { try store.erase(slot: slot) } catch { throw .store(error) }
      }
      pendingDestroy.removeFirst()
    }
  }

  /// Erases both slots, the older first, so a cut midway leaves at worst the
  /// current record, and running wipe again finishes the job.
  public mutating func wipe() throws(VaultError) {
    let order = current.map { [1 - $0.slot, $0.slot] } ?? [0, 1]
    do {
      for slot in order { try store.erase(slot: slot) }
    } catch {
      throw .store(error)
    }
    current = nil
    currentContents = nil
    pendingDestroy = []
  }

  /// `RollbackRule` on the newest record: returns when it may be used, having
  /// finished a lost increment if this process owns the vault.
  private mutating func checkRollback(_ contents: VaultContents, counter: any AntiRollbackCounter)
    throws(VaultError)
  {
    let value: UInt64
    do { value = try counter.value(create: false) } catch { throw .antiRollback(error) }
    switch RollbackRule.verdict(recorded: contents.rollbackCounter, counter: value) {
    case .current:
      counterIncrementPending = false
    case .incrementPending:
      guard owned else {
        counterIncrementPending = true
        return
      }
      do { _ = try counter.increment() } catch { throw .antiRollback(error) }
      counterIncrementPending = false
    case .refused(let recorded, let value):
      throw .rolledBack(recorded: recorded, counter: value)
    case .unbound(let value):
      throw .unbound(counter: value)
    }
  }

  /// The counter value the next record carries: the counter's value plus
  /// one, after finishing the current record's lost increment (otherwise the
  /// new record would be two ahead, and refused).
  private mutating func counterValueToWrite(_ counter: any AntiRollbackCounter) throws(VaultError) -> UInt64 {
    var value: UInt64
    // A commit writes anyway; the first one (provisioning) defines the counter.
    do { value = try counter.value(create: true) } catch { throw .antiRollback(error) }
    if let recorded = currentContents?.rollbackCounter,
      RollbackRule.verdict(recorded: recorded, counter: value) == .incrementPending
    {
      do { value = try counter.increment() } catch { throw .antiRollback(error) }
      counterIncrementPending = false
    }
    guard let next = RollbackRule.valueToWrite(counter: value) else {
      throw .store(.unusable("anti-rollback counter exhausted"))
    }
    return next
  }

  private mutating func vaultKey(for deviceID: String) throws(VaultError) -> SecretBytes {
    if let derived, Word(derived.deviceID) == Word(deviceID) { return derived.key }
    do {
      let key = try HKDF.deriveSHA256(
        inputKeyMaterial: hardwareKey, salt: Self.salt, info: Array(("vault-key:" + deviceID).utf8),
        outputLength: AESGCM.keySize)
      derived = (deviceID, key)
      return key
    } catch {
      throw .crypto(error)
    }
  }

  private mutating func decrypt(_ bytes: [UInt8], slot: Int) -> Result<(UInt64, VaultContents), VaultError> {
    guard let record = VaultRecord.parse(bytes) else {
      return .failure(.malformedContents("unrecognised record header"))
    }
    guard record.slot == UInt8(slot) else {
      return .failure(.malformedContents("record claims slot \(record.slot)"))
    }
    let key: SecretBytes
    do { key = try vaultKey(for: record.deviceID) } catch { return .failure(error) }
    let aad = VaultRecord.associatedData(
      slot: UInt8(slot), generation: record.generation, deviceID: record.deviceID)
    let plaintext: SecretBytes
    do {
      plaintext = try AESGCM.open(record.sealed, key: key, nonce: record.nonce, aad: aad)
    } catch {
      return .failure(.crypto(error))
    }
    let contents: VaultContents
    do { contents = try VaultContents.decode(plaintext) } catch { return .failure(error) }
    guard Word(contents.deviceID) == Word(record.deviceID) else {
      return .failure(.malformedContents("device id inside differs from header"))
    }
    return .success((record.generation, contents))
  }
}
