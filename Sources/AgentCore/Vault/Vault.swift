/// The credential vault: AES-256-GCM records in a two-slot store, with a
/// generation counter.
///
/// Commit protocol: a new record (generation g+1) is always written to the
/// slot that does *not* hold the current record, and the store makes that one
/// write durable before returning. A power cut at any instant therefore
/// leaves the current record intact; `open` picks the newest record that
/// passes the store's framing check and AES-GCM authentication, so it sees
/// exactly the old or the new contents, never a mix.
public struct Vault<Store: SlotStore> {
  public private(set) var store: Store
  private let hardwareKey: SecretBytes
  private var derived: (deviceID: String, key: SecretBytes)? = nil

  /// Slot and generation of the newest good record, once opened.
  public private(set) var current: (slot: Int, generation: UInt64)? = nil
  /// Why other records were passed over at the last `open` (for `status`).
  public private(set) var skipped: [String] = []

  static var salt: [UInt8] { Array("camera-agent vault v1".utf8) }

  public init(store: Store, hardwareKey: SecretBytes) {
    precondition(store.slotCount == 2, "the vault uses exactly two slots")
    self.store = store
    self.hardwareKey = hardwareKey
  }

  /// Loads the newest good record: nil when the vault is empty. Throws
  /// `.noValidRecord` when records exist but none opens.
  public mutating func open() throws(VaultError) -> VaultContents? {
    do { try store.recover() } catch { throw .store(error) }
    current = nil
    skipped = []
    var best: (slot: Int, generation: UInt64, contents: VaultContents)? = nil
    var sawRecord = false
    for slot in 0..<store.slotCount {
      let content: SlotContent
      do { content = try store.read(slot: slot) } catch { throw .store(error) }
      switch content {
      case .empty:
        continue
      case .interrupted(let why):
        skipped.append("slot \(slot): \(why)")
      case .damaged(let why):
        sawRecord = true
        skipped.append("slot \(slot): \(why)")
      case .record(let bytes):
        sawRecord = true
        switch decrypt(bytes, slot: slot) {
        case .success(let (generation, contents)):
          if best == nil || generation > best!.generation {
            if let previous = best {
              skipped.append("slot \(previous.slot): older generation \(previous.generation)")
            }
            best = (slot, generation, contents)
          } else {
            skipped.append("slot \(slot): older generation \(generation)")
          }
        case .failure(let why):
          skipped.append("slot \(slot): \(why)")
        }
      }
    }
    guard let best else {
      if sawRecord { throw .noValidRecord(skipped) }
      return nil
    }
    current = (best.slot, best.generation)
    return best.contents
  }

  /// Writes `contents` as the next generation. Durable when it returns; on
  /// any error the previous record is untouched and still current.
  public mutating func commit<R: RandomSource>(_ contents: VaultContents, random: inout R) throws(VaultError)
  {
    guard DeviceID.isValid(contents.deviceID) else { throw .malformedContents("device id") }
    let slot = current.map { 1 - $0.slot } ?? 0
    let generation = (current?.generation ?? 0) + 1
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
    do { try store.write(slot: slot, record: record) } catch { throw .store(error) }
    current = (slot, generation)
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
  }

  private mutating func vaultKey(for deviceID: String) throws(VaultError) -> SecretBytes {
    if let derived, derived.deviceID == deviceID { return derived.key }
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
    guard contents.deviceID == record.deviceID else {
      return .failure(.malformedContents("device id inside differs from header"))
    }
    return .success((record.generation, contents))
  }
}
