/// A U-Boot environment read the way U-Boot and libubootenv (`fw_printenv`)
/// read it, so the agent agrees with the bootloader about which copy counts.
///
/// The board definition gives what fw_env.config would: the environment
/// size (`CONFIG_ENV_SIZE`) and, for the redundant layout, the offset of the
/// second copy. Each copy is exactly `size` bytes:
///
/// - single:    CRC-32 (little-endian) | data[size - 4]
/// - redundant: CRC-32 (little-endian) | flags (1 byte) | data[size - 5]
///
/// The CRC covers the data and only the data, over its whole configured
/// length (the unused tail is part of it), never the partition. The data is
/// `key=value` strings, each NUL-terminated, ending at an empty string.
/// With two copies, a copy whose CRC fails is ignored; when both are good the
/// one with the newer flags wins, by U-Boot's rule (env_check_redund): 0
/// follows 255 (the counter wrapped), otherwise the greater, the first copy
/// when they are equal.
public struct UBootEnvironment: Equatable {
  public enum Layout: Equatable {
    case single
    /// The second copy starts `secondOffset` bytes into the file or device.
    case redundant(secondOffset: Int)
  }

  /// Smallest and largest environment sizes accepted (U-Boot's are 4 KiB to
  /// a few hundred KiB); the reader never holds more than 2 x the maximum.
  public static let minimumSize = 16
  public static let maximumSize = 1024 * 1024
  public static let maximumSecondOffset = 16 * 1024 * 1024

  public let size: Int
  public let layout: Layout

  public init?(size: Int, layout: Layout) {
    guard size >= Self.minimumSize, size <= Self.maximumSize else { return nil }
    if case .redundant(let offset) = layout {
      guard offset >= size, offset <= Self.maximumSecondOffset else { return nil }
    }
    self.size = size
    self.layout = layout
  }

  /// Bytes of the file the environment spans.
  public var span: Int {
    switch layout {
    case .single: return size
    case .redundant(let offset): return offset + size
    }
  }

  public enum Failure: Error, Equatable {
    case short(have: Int, need: Int)
    case badCRC
    case noValidCopy
  }

  /// The data area of the copy that counts, up to (not including) the end
  /// marker. `image` holds the file from its start (at least `span` bytes).
  public func data(_ image: [UInt8]) throws(Failure) -> ArraySlice<UInt8> {
    guard image.count >= span else { throw .short(have: image.count, need: span) }
    switch layout {
    case .single:
      guard let data = Self.checked(image[0..<size], header: 4) else { throw .badCRC }
      return data
    case .redundant(let offset):
      let first = Self.checked(image[0..<size], header: 5)
      let second = Self.checked(image[offset..<offset + size], header: 5)
      switch (first, second) {
      case (nil, nil): throw .noValidCopy
      case (let data?, nil): return data
      case (nil, let data?): return data
      case (let one?, let two?):
        return Self.firstIsCurrent(flags: image[4], image[offset + 4]) ? one : two
      }
    }
  }

  /// U-Boot's env_check_redund for two good copies.
  static func firstIsCurrent(flags first: UInt8, _ second: UInt8) -> Bool {
    if first == 255 && second == 0 { return false }
    if second == 255 && first == 0 { return true }
    return first >= second
  }

  /// The data of one copy when its CRC checks out.
  static func checked(_ copy: ArraySlice<UInt8>, header: Int) -> ArraySlice<UInt8>? {
    let base = copy.startIndex
    let stored =
      UInt32(copy[base]) | UInt32(copy[base + 1]) << 8 | UInt32(copy[base + 2]) << 16
      | UInt32(copy[base + 3]) << 24
    let data = copy[(base + header)...]
    return CRC32.checksum(Array(data)) == stored ? data : nil
  }

  /// The value of `key` in an environment's data: the first `key=` entry
  /// before the end marker (an empty string).
  public static func value(_ data: ArraySlice<UInt8>, key: String) -> [UInt8]? {
    let prefix = Array(key.utf8) + [UInt8(ascii: "=")]
    for entry in data.split(separator: 0, omittingEmptySubsequences: false) {
      if entry.isEmpty { return nil }
      if entry.starts(with: prefix) { return Array(entry.dropFirst(prefix.count)) }
    }
    return nil
  }

  /// `SIZE` or `SIZE:OFFSET` of the config form, each decimal or `0x` hex.
  static func parse(size: String, secondOffset: String?) -> UBootEnvironment? {
    guard let size = number(size) else { return nil }
    guard let secondOffset else { return UBootEnvironment(size: size, layout: .single) }
    guard let offset = number(secondOffset) else { return nil }
    return UBootEnvironment(size: size, layout: .redundant(secondOffset: offset))
  }

  static func number(_ text: String) -> Int? {
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty, bytes.count <= 10 else { return nil }
    if bytes.count > 2, bytes[0] == UInt8(ascii: "0"),
      bytes[1] == UInt8(ascii: "x") || bytes[1] == UInt8(ascii: "X")
    {
      return Int(String(decoding: bytes[2...], as: UTF8.self), radix: 16)
    }
    guard bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
    return Int(text)
  }

  /// `size[:offset]` as the config form writes it.
  var configText: String {
    switch layout {
    case .single: return "0x" + String(size, radix: 16)
    case .redundant(let offset): return "0x" + String(size, radix: 16) + ":0x" + String(offset, radix: 16)
    }
  }
}
