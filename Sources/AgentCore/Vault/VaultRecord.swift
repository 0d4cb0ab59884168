/// One encrypted vault record, as stored in a slot (inside the store's framing).
///
///     magic "CAVR" | version u8 | slot u8 | reserved u16 = 0 | generation u64 LE
///     | device id length u8 | device id | nonce (12) | ciphertext length u32 LE
///     | ciphertext | GCM tag (16)
///
/// The associated data is every byte before the nonce, with the slot byte set
/// to the slot the record is read from (not what the record claims), so a
/// record copied to the other slot, to another device id, or rolled back to
/// another generation fails authentication.
struct VaultRecord {
  static let magic: [UInt8] = Array("CAVR".utf8)
  static let formatVersion: UInt8 = 1

  var slot: UInt8
  var generation: UInt64
  var deviceID: String
  var nonce: [UInt8]
  var sealed: AESGCM.Sealed

  /// The generation a commit after `current` writes, or nil when `current`
  /// is 2^64 - 1: the counter never wraps (a wrapped generation would lose to
  /// every older record) and never traps. Vault.commit must use this instead
  /// of `+ 1` (issue 17).
  static func generation(after current: UInt64?) -> UInt64? {
    guard let current else { return 1 }
    let (next, overflow) = current.addingReportingOverflow(1)
    return overflow ? nil : next
  }

  static func associatedData(slot: UInt8, generation: UInt64, deviceID: String) -> [UInt8] {
    var out = magic
    out.append(formatVersion)
    out.append(slot)
    out.append(contentsOf: [0, 0])
    for shift in stride(from: 0, to: 64, by: 8) {
      out.append(UInt8(truncatingIfNeeded: generation >> UInt64(shift)))
    }
    let id = Array(deviceID.utf8)
    out.append(UInt8(id.count))
    out.append(contentsOf: id)
    return out
  }

  func serialized() -> [UInt8] {
    var out = Self.associatedData(slot: slot, generation: generation, deviceID: deviceID)
    out.append(contentsOf: nonce)
    let length = UInt32(sealed.ciphertext.count)
    for shift in stride(from: 0, to: 32, by: 8) {
      out.append(UInt8(truncatingIfNeeded: length >> UInt32(shift)))
    }
    out.append(contentsOf: sealed.ciphertext)
    out.append(contentsOf: sealed.tag)
    return out
  }

  /// Parses the header; authenticity is checked later by opening the ciphertext.
  static func parse(_ bytes: [UInt8]) -> VaultRecord? {
    var reader = ByteReader(bytes)
    guard reader.take(4) == magic, reader.byte() == formatVersion,
      let slot = reader.byte(), reader.take(2) == [0, 0],
      let generation = reader.uint64(), let idLength = reader.byte(),
      let idBytes = reader.take(Int(idLength)), let deviceID = String(validating: idBytes, as: UTF8.self),
      DeviceID.isValid(deviceID),
      let nonce = reader.take(AESGCM.nonceSize), let length = reader.uint32(),
      let ciphertext = reader.take(length: length), let tag = reader.take(AESGCM.tagSize), reader.atEnd
    else { return nil }
    return VaultRecord(
      slot: slot, generation: generation, deviceID: deviceID, nonce: nonce,
      sealed: AESGCM.Sealed(ciphertext: ciphertext, tag: tag))
  }
}

/// Bounds-checked little-endian reading of bytes from flash (untrusted: a
/// CRC is not a MAC). No arithmetic here can overflow on a 32-bit board:
/// counts are compared with what is left, never added to the index first.
struct ByteReader {
  let bytes: [UInt8]
  var index = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  var atEnd: Bool { index == bytes.count }

  /// Bytes not yet read; never negative.
  var remaining: Int { bytes.count - index }

  mutating func take(_ count: Int) -> [UInt8]? {
    guard count >= 0, count <= remaining else { return nil }
    defer { index += count }
    return Array(bytes[index..<index + count])
  }

  /// Takes a count read from the record itself. It is compared with what is
  /// left in its own width before it becomes an `Int`: on armv7 `Int(UInt32)`
  /// traps above `Int32.max`, and a crafted record can hold any length.
  mutating func take(length: UInt32) -> [UInt8]? {
    guard length <= UInt32(clamping: remaining) else { return nil }
    return take(Int(length))
  }

  mutating func byte() -> UInt8? { take(1)?[0] }

  mutating func uint32() -> UInt32? {
    guard let raw = take(4) else { return nil }
    var value: UInt32 = 0
    for (offset, byte) in raw.enumerated() { value |= UInt32(byte) << UInt32(8 * offset) }
    return value
  }

  mutating func uint64() -> UInt64? {
    guard let raw = take(8) else { return nil }
    var value: UInt64 = 0
    for (offset, byte) in raw.enumerated() { value |= UInt64(byte) << UInt64(8 * offset) }
    return value
  }
}
