/// ASCII-only text helpers: protocol tokens are ASCII, and locale-aware case
/// mapping is neither needed nor available in Embedded Swift.
public enum ASCII {
  public static func lowercased(_ byte: UInt8) -> UInt8 {
    (byte >= 65 && byte <= 90) ? byte + 32 : byte
  }

  public static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    for index in 0..<x.count where lowercased(x[index]) != lowercased(y[index]) {
      return false
    }
    return true
  }

  public static func hasPrefixIgnoringCase(_ text: String, _ prefix: String) -> Bool {
    let x = Array(text.utf8)
    let p = Array(prefix.utf8)
    guard x.count >= p.count else { return false }
    for index in 0..<p.count where lowercased(x[index]) != lowercased(p[index]) {
      return false
    }
    return true
  }

  /// The bytes after `prefix` when `bytes` start with it and go on past it
  /// (nil otherwise: a bare prefix names nothing). Case-sensitive: the
  /// TCTI and storage names it splits are written one way only.
  public static func remainder(of bytes: [UInt8], after prefix: String) -> ArraySlice<UInt8>? {
    let head = Array(prefix.utf8)
    guard bytes.count > head.count, bytes.starts(with: head) else { return nil }
    return bytes[head.count...]
  }

  /// Strips spaces and tabs (and CR/LF) from both ends.
  public static func trimmed(_ text: String) -> String {
    let bytes = Array(text.utf8)
    var start = 0
    var end = bytes.count
    while start < end, isBlank(bytes[start]) { start += 1 }
    while end > start, isBlank(bytes[end - 1]) { end -= 1 }
    return String(decoding: bytes[start..<end], as: UTF8.self)
  }

  static func isAlphanumeric(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
  }

  static func isBlank(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0d || byte == 0x0a
  }
}
