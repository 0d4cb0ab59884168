/// CRC-32 as in zlib, Ethernet and PNG (IEEE 802.3 polynomial, reflected,
/// initial value and final XOR 0xFFFFFFFF): `checksum("123456789")` is
/// 0xCBF43926. It detects torn and bit-rotted slot frames (SlotFrame); it is
/// not a defence against tampering, which AES-GCM in the vault is.
///
/// Computed bit by bit with no table: records are a few kilobytes, read at
/// start-up and written rarely, so 1 KiB of table would buy nothing here.
public struct CRC32 {
  /// The reflected form of the polynomial 0x04C11DB7.
  static let polynomial: UInt32 = 0xEDB8_8320

  private var state: UInt32 = 0xFFFF_FFFF

  public init() {}

  public mutating func update(_ bytes: some Sequence<UInt8>) {
    var crc = state
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 {
        // All ones when the low bit is set, zero otherwise: no branch.
        let mask = 0 &- (crc & 1)
        crc = (crc >> 1) ^ (CRC32.polynomial & mask)
      }
    }
    state = crc
  }

  /// The checksum of everything passed to `update` so far.
  public var value: UInt32 { state ^ 0xFFFF_FFFF }

  public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc = CRC32()
    crc.update(bytes)
    return crc.value
  }
}
