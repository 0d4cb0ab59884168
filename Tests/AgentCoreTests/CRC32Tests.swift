import AgentCore
import Testing

@Suite struct CRC32Tests {
  @Test func checkValue() {
    // The standard CRC catalogue check value for CRC-32/ISO-HDLC (zlib's).
    #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
  }

  /// Values from Python's zlib.crc32.
  @Test func matchesZlib() {
    #expect(CRC32.checksum([UInt8]()) == 0)
    #expect(CRC32.checksum(Array("a".utf8)) == 0xE8B7_BE43)
    #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
    #expect(CRC32.checksum((0...255).map { UInt8($0) }) == 0x2905_8C73)
    #expect(CRC32.checksum([UInt8](repeating: 0xFF, count: 32)) == 0xFF6C_AB0B)
    #expect(CRC32.checksum([UInt8](repeating: 0x00, count: 32)) == 0x190A_55AD)
  }

  @Test func incrementalEqualsOneShot() {
    let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    for split in [0, 1, 13, 500, 999, 1000] {
      var crc = CRC32()
      crc.update(bytes[0..<split])
      crc.update(bytes[split...])
      #expect(crc.value == CRC32.checksum(bytes), "split at \(split)")
    }
  }

  @Test func everySingleBitFlipChangesTheValue() {
    let bytes = Array("camera-agent slot".utf8)
    let reference = CRC32.checksum(bytes)
    for index in 0..<bytes.count {
      for bit in 0..<8 {
        var flipped = bytes
        flipped[index] ^= UInt8(1) << UInt8(bit)
        #expect(CRC32.checksum(flipped) != reference)
      }
    }
  }
}
