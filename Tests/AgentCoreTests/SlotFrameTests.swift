import AgentCore
import Testing

@Suite struct SlotFrameTests {
  static let payload: [UInt8] = (0..<37).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) }

  /// Not a record: torn (`.interrupted`) or committed-then-damaged.
  static func isDamaged(_ content: SlotContent) -> Bool {
    switch content {
    case .damaged, .interrupted: return true
    case .empty, .record: return false
    }
  }

  @Test func layoutIsAsDocumented() {
    let frame = SlotFrame.encode(payload: Array("hi".utf8))
    let crc = CRC32.checksum(Array("hi".utf8))
    let crcBytes = (0..<4).map { UInt8(truncatingIfNeeded: crc >> UInt32(8 * $0)) }
    #expect(
      frame == Array("CASF".utf8) + [2, 0, 0, 0] + crcBytes + Array("hi".utf8) + [0x5A, 0xC3, 0x3C, 0xA5])
    #expect(SlotFrame.encodedCount(payloadCount: 2) == frame.count)
    #expect(SlotFrame.markerOffset(payloadCount: 2) == 14)
  }

  @Test(arguments: [1, 16, 256])
  func roundTrip(alignment: Int) {
    for size in [0, 1, 2, 37, 300] {
      let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
      let frame = SlotFrame.encode(payload: payload, alignment: alignment)
      #expect(frame.count % alignment == 0)
      #expect(frame.count == SlotFrame.encodedCount(payloadCount: size, alignment: alignment))
      #expect(SlotFrame.body(payload: payload, alignment: alignment).count % alignment == 0)
      #expect(SlotFrame.parse(frame, alignment: alignment, allowTrailingBytes: false) == .record(payload))
      // On flash the rest of the slot is erased.
      let area = frame + [UInt8](repeating: 0xFF, count: 3 * alignment)
      #expect(SlotFrame.parse(area, alignment: alignment) == .record(payload))
    }
  }

  @Test func commitMarkerIsInItsOwnPageWhenAligned() {
    let body = SlotFrame.body(payload: Self.payload, alignment: 16)
    #expect(body.count == 64)  // 12 + 37 = 49, rounded up to 64
    #expect(body[49...].allSatisfy { $0 == 0xFF })
    #expect(
      SlotFrame.commit(alignment: 16) == [0x5A, 0xC3, 0x3C, 0xA5] + [UInt8](repeating: 0xFF, count: 12))
    #expect(SlotFrame.markerOffset(payloadCount: 37, alignment: 16) == 64)
  }

  @Test func erasedAreaIsEmpty() {
    #expect(SlotFrame.parse([UInt8](repeating: 0xFF, count: 4096)) == .empty)
    #expect(SlotFrame.parse([UInt8](repeating: 0xFF, count: 1)) == .empty)
    #expect(Self.isDamaged(SlotFrame.parse([])))
    #expect(Self.isDamaged(SlotFrame.parse([UInt8](repeating: 0x00, count: 4096))))
  }

  @Test(arguments: [1, 16])
  func everyTruncationIsDamaged(alignment: Int) {
    let frame = SlotFrame.encode(payload: Self.payload, alignment: alignment)
    for length in 0..<frame.count {
      let prefix = Array(frame[0..<length])
      // A short file.
      let asFile = SlotFrame.parse(prefix, alignment: alignment, allowTrailingBytes: false)
      #expect(Self.isDamaged(asFile), "file cut at \(length)")
      // A program that stopped at `length` on erased flash.
      let onFlash = SlotFrame.parse(
        prefix + [UInt8](repeating: 0xFF, count: frame.count + 64 - length), alignment: alignment)
      let markerEnd = SlotFrame.markerOffset(payloadCount: Self.payload.count, alignment: alignment) + 4
      if length == 0 {
        #expect(onFlash == .empty)
      } else if length >= markerEnd {
        // Only the marker page's 0xFF padding is missing: that is the whole frame.
        #expect(onFlash == .record(Self.payload))
      } else {
        // Prefixes that happen to end in 0xFF are the same as a shorter cut.
        #expect(Self.isDamaged(onFlash) || onFlash == .empty, "flash cut at \(length)")
        #expect(onFlash != .record(Self.payload))
      }
    }
  }

  @Test(arguments: [1, 16])
  func everySingleBitFlipIsDamaged(alignment: Int) {
    let frame = SlotFrame.encode(payload: Self.payload, alignment: alignment)
    for index in 0..<frame.count {
      for bit in 0..<8 {
        var flipped = frame
        flipped[index] ^= UInt8(1) << UInt8(bit)
        #expect(
          Self.isDamaged(SlotFrame.parse(flipped, alignment: alignment, allowTrailingBytes: false)),
          "file: byte \(index) bit \(bit)")
        let area = flipped + [UInt8](repeating: 0xFF, count: 256)
        #expect(
          Self.isDamaged(SlotFrame.parse(area, alignment: alignment)), "flash: byte \(index) bit \(bit)")
      }
    }
  }

  /// Every state a torn program of the commit marker can leave (each subset
  /// of its 0 bits cleared) other than the full marker is rejected.
  @Test func everyPartialCommitMarkerIsDamaged() {
    let body = SlotFrame.body(payload: Self.payload)
    let marker = SlotFrame.commitMarker
    var zeroBits: [(byte: Int, mask: UInt8)] = []
    for byte in 0..<4 {
      for bit in 0..<8 where marker[byte] & (UInt8(1) << UInt8(bit)) == 0 {
        zeroBits.append((byte, UInt8(1) << UInt8(bit)))
      }
    }
    #expect(zeroBits.count == 16)
    var records = 0
    for subset in 0..<(1 << zeroBits.count) {
      var partial: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
      for (index, zero) in zeroBits.enumerated() where subset & (1 << index) != 0 {
        partial[zero.byte] &= ~zero.mask
      }
      let content = SlotFrame.parse(body + partial + [0xFF, 0xFF])
      if content == .record(Self.payload) {
        records += 1
        #expect(partial == marker)
      } else {
        #expect(Self.isDamaged(content))
      }
    }
    #expect(records == 1)
  }

  @Test func badHeadersAreDamagedNotTraps() {
    var frame = SlotFrame.encode(payload: Self.payload)
    frame[4] = 0xFF
    frame[5] = 0xFF
    frame[6] = 0xFF
    frame[7] = 0xFF
    #expect(Self.isDamaged(SlotFrame.parse(frame)))
    #expect(Self.isDamaged(SlotFrame.parse(Array("CASF".utf8))))
    #expect(Self.isDamaged(SlotFrame.parse(Array("CASF".utf8) + [0, 0, 0, 0])))
  }

  @Test func nonErasedPaddingIsDamaged() {
    var frame = SlotFrame.encode(payload: Self.payload, alignment: 16)
    frame[60] = 0x00  // between the payload's end (49) and the marker page (64)
    #expect(Self.isDamaged(SlotFrame.parse(frame, alignment: 16)))
  }

  @Test func trailingBytesOnlyMatterForFiles() {
    let frame = SlotFrame.encode(payload: Self.payload)
    #expect(Self.isDamaged(SlotFrame.parse(frame + [0x00], allowTrailingBytes: false)))
    #expect(SlotFrame.parse(frame + [0x00]) == .record(Self.payload))
  }

  @Test func capacityIsTheLargestPayloadThatFits() {
    for (area, alignment) in [(4096, 1), (4096, 16), (65_536, 2048), (100, 1), (100, 16)] {
      let capacity = SlotFrame.capacity(areaSize: area, alignment: alignment)
      #expect(SlotFrame.encodedCount(payloadCount: capacity, alignment: alignment) <= area)
      #expect(SlotFrame.encodedCount(payloadCount: capacity + 1, alignment: alignment) > area)
    }
    #expect(SlotFrame.capacity(areaSize: 4096) == 4096 - 16)
    #expect(SlotFrame.capacity(areaSize: 10) == 0)
  }

  /// Lengths above Int32.max must be rejected before any Int conversion (a
  /// trap on armv7; this hosted test only pins the result).
  @Test func tornHeaderWithHugeLengthHasNoMarker() {
    for length: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF], [0x00, 0x00, 0x00, 0x80], [0x40, 0x00, 0x00, 0x00]] {
      let area = SlotFrame.magic + length + [UInt8](repeating: 0xFF, count: 56)
      #expect(SlotFrame.committedMarkerOffset(area) == nil)
      #expect(Self.isDamaged(SlotFrame.parse(area)))
    }
  }
}
