/// How a record sits in a slot, on raw flash and in a slot file alike, so
/// that a torn or rotted write is recognised before anything is decrypted:
///
///     offset 0   "CASF"                      magic
///            4   payload length              UInt32, little-endian
///            8   CRC-32 of the payload       UInt32, little-endian
///           12   payload
///            …   0xFF up to a multiple of `alignment` (none when it is 1)
///            M   commit marker 5A C3 3C A5   then 0xFF up to `alignment`
///
/// A writer programs everything before M first and the commit marker in a
/// separate, final operation. On flash the marker bytes are erased (0xFF)
/// until that last program, so a cut anywhere earlier leaves no marker, and
/// a cut during it leaves a marker with some bits still 1: every bit pattern
/// a torn program can produce differs from the full marker, and the marker is
/// compared whole. The marker has no 0x00 or 0xFF byte, so neither an erased
/// area nor one a torn erase left at zero can pass for it.
///
/// `alignment` is the flash's program unit: on NAND each page is programmed
/// once, so the marker goes in a page of its own after the body's last page.
public enum SlotFrame {
  public static let magic: [UInt8] = Array("CASF".utf8)
  public static let commitMarker: [UInt8] = [0x5A, 0xC3, 0x3C, 0xA5]
  public static let headerSize = 12

  /// The bytes programmed first: header and payload, padded with 0xFF to a
  /// multiple of `alignment`.
  public static func body(payload: [UInt8], alignment: Int = 1) -> [UInt8] {
    precondition(UInt64(payload.count) <= UInt64(UInt32.max), "payload length must fit in 32 bits")
    var out = magic
    out.reserveCapacity(markerOffset(payloadCount: payload.count, alignment: alignment))
    appendLittleEndian(UInt32(payload.count), to: &out)
    appendLittleEndian(CRC32.checksum(payload), to: &out)
    out.append(contentsOf: payload)
    padErased(&out, to: alignment)
    return out
  }

  /// The bytes programmed last, at `markerOffset`: the marker padded with
  /// 0xFF to a multiple of `alignment`.
  public static func commit(alignment: Int = 1) -> [UInt8] {
    var out = commitMarker
    padErased(&out, to: alignment)
    return out
  }

  /// The whole frame as it reads back once committed.
  public static func encode(payload: [UInt8], alignment: Int = 1) -> [UInt8] {
    body(payload: payload, alignment: alignment) + commit(alignment: alignment)
  }

  public static func markerOffset(payloadCount: Int, alignment: Int = 1) -> Int {
    roundUp(headerSize + payloadCount, to: alignment)
  }

  public static func encodedCount(payloadCount: Int, alignment: Int = 1) -> Int {
    markerOffset(payloadCount: payloadCount, alignment: alignment)
      + roundUp(commitMarker.count, to: alignment)
  }

  /// The largest payload whose frame fits in `areaSize` bytes (0 if none does).
  public static func capacity(areaSize: Int, alignment: Int = 1) -> Int {
    let room = areaSize / alignment * alignment - roundUp(commitMarker.count, to: alignment) - headerSize
    // The length field is 32 bits; on a 32-bit board Int cannot hold UInt32.max.
    let limit = Int(exactly: UInt32.max) ?? Int.max
    return max(0, min(room, limit))
  }

  /// Reads the frame at the start of `area`. An area of nothing but 0xFF is
  /// `.empty` (erased flash). Without an intact commit marker nothing was ever
  /// committed there (a write or erase cut short): `.interrupted`. A frame
  /// whose marker is intact but whose payload fails its CRC was committed and
  /// then damaged: `.damaged`. With `allowTrailingBytes` false (a slot file),
  /// bytes after the frame make it damaged too.
  public static func parse(_ area: [UInt8], alignment: Int = 1, allowTrailingBytes: Bool = true)
    -> SlotContent
  {
    guard !area.isEmpty else { return .interrupted("no bytes at all") }
    if area.allSatisfy({ $0 == 0xFF }) { return .empty }
    guard area.count >= headerSize else {
      return .interrupted("truncated: \(area.count) bytes, less than a frame header")
    }
    guard area[0..<4].elementsEqual(magic) else { return .interrupted("no frame magic") }
    let length = readLittleEndian(area, at: 4)
    let storedCRC = readLittleEndian(area, at: 8)
    // Compared in the field's own width before converting: on a 32-bit board
    // Int(UInt32) traps above Int32.max, and a torn or forged header can hold
    // any length. After this, header + length + padding fits in an Int.
    guard length <= UInt32(clamping: area.count - headerSize) else {
      return .interrupted("length \(length) runs past the end of the \(area.count)-byte area")
    }
    let payloadEnd = headerSize + Int(length)
    let marker = markerOffset(payloadCount: Int(length), alignment: alignment)
    let end = encodedCount(payloadCount: Int(length), alignment: alignment)
    guard end <= area.count else {
      return .interrupted("length \(length) runs past the end of the \(area.count)-byte area")
    }
    let markerBytes = area[marker..<marker + commitMarker.count]
    if markerBytes.allSatisfy({ $0 == 0xFF }) {
      return .interrupted("no commit marker: the write was interrupted before it committed")
    }
    guard markerBytes.elementsEqual(commitMarker) else {
      return .interrupted("commit marker incomplete or corrupted")
    }
    guard area[payloadEnd..<marker].allSatisfy({ $0 == 0xFF }),
      area[marker + commitMarker.count..<end].allSatisfy({ $0 == 0xFF })
    else { return .interrupted("padding around the commit marker is not erased") }
    let payload = Array(area[headerSize..<payloadEnd])
    guard CRC32.checksum(payload) == storedCRC else { return .damaged("payload CRC mismatch") }
    if !allowTrailingBytes && end != area.count {
      return .damaged("\(area.count - end) unexpected bytes after the frame")
    }
    return .record(payload)
  }

  /// Where the commit marker of a committed frame sits in `area`, or nil if
  /// there is no intact marker (nothing committed). Used to retire a record
  /// before its slot is erased, so a torn erase cannot leave it half-valid.
  public static func committedMarkerOffset(_ area: [UInt8], alignment: Int = 1) -> Int? {
    guard area.count >= headerSize, area[0..<4].elementsEqual(magic) else { return nil }
    // Compared before converting: on a 32-bit board Int(UInt32) traps above
    // Int32.max, and a torn header can hold any length.
    let rawLength = readLittleEndian(area, at: 4)
    guard rawLength <= UInt32(clamping: area.count - headerSize) else { return nil }
    let length = Int(rawLength)
    let marker = markerOffset(payloadCount: length, alignment: alignment)
    guard marker + commitMarker.count <= area.count,
      area[marker..<marker + commitMarker.count].elementsEqual(commitMarker)
    else { return nil }
    return marker
  }

  private static func roundUp(_ value: Int, to alignment: Int) -> Int {
    precondition(alignment > 0, "alignment must be positive")
    return (value + alignment - 1) / alignment * alignment
  }

  private static func padErased(_ bytes: inout [UInt8], to alignment: Int) {
    let target = roundUp(bytes.count, to: alignment)
    bytes.append(contentsOf: [UInt8](repeating: 0xFF, count: target - bytes.count))
  }

  private static func appendLittleEndian(_ value: UInt32, to bytes: inout [UInt8]) {
    for shift in stride(from: 0, to: 32, by: 8) {
      bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
    }
  }

  private static func readLittleEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    var value: UInt32 = 0
    for index in 0..<4 { value |= UInt32(bytes[offset + index]) << UInt32(8 * index) }
    return value
  }
}
