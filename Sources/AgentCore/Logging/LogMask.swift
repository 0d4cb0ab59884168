/// Masks anything in a log line that is shaped like a credential, whatever
/// produced it: an error description that quoted a server reply, a URL with
/// a code in its query, a header value. The rule (also in README.md):
///
/// 1. after `Bearer `, `DPoP `, `Basic ` (any case), or after a key named
///    `token`, `access_token`, `refresh_token`, `id_token`, `device_code`,
///    `code`, `assertion`, `client_assertion`, `password`, `secret`, `key` or
///    `psk` followed by `=` (or by `":` / `':`, a quoted JSON-style key),
///    everything up to the next space, quote, `&`, `,` or `;` is replaced
///    by `[masked]`;
/// 2. any run of at least 20 characters from the base64url/JWT alphabet
///    plus base64's padding (`A-Z a-z 0-9 - _ . ~ + =`) that mixes at least two of
///    upper case, lower case and digits is replaced by `[masked]`. Slashes
///    split runs, so a URL path is not eaten whole, but a path segment of
///    20 mixed characters is masked too: a false mask costs a little
///    readability, a missed one leaks.
public enum LogMask {
  static let minimumRun = 20

  static let keywords: [String] = [
    "access_token", "refresh_token", "id_token", "device_code", "client_assertion", "assertion",
    "password", "secret", "token", "code", "key", "psk",
  ]
  static let schemes: [String] = ["bearer ", "dpop ", "basic "]

  public static func apply(_ line: String) -> String {
    let bytes = Array(line.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var index = 0
    while index < bytes.count {
      if let valueStart = credentialValueStart(bytes, at: index) {
        out.append(contentsOf: bytes[index..<valueStart])
        let end = valueEnd(bytes, from: valueStart)
        if end > valueStart { out.append(contentsOf: Array("[masked]".utf8)) }
        index = end
        continue
      }
      if isRunByte(bytes[index]) && (index == 0 || !isRunByte(bytes[index - 1])) {
        var end = index
        while end < bytes.count && isRunByte(bytes[end]) { end += 1 }
        if end - index >= minimumRun && mixesClasses(bytes[index..<end]) {
          out.append(contentsOf: Array("[masked]".utf8))
        } else {
          out.append(contentsOf: bytes[index..<end])
        }
        index = end
        continue
      }
      out.append(bytes[index])
      index += 1
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Where a credential value starts when one of the rule-1 prefixes begins
  /// at `index` (on a word boundary), else nil.
  static func credentialValueStart(_ bytes: [UInt8], at index: Int) -> Int? {
    if index > 0 && isWordByte(bytes[index - 1]) { return nil }
    for scheme in schemes where matchesIgnoringCase(bytes, at: index, scheme) {
      return index + scheme.utf8.count
    }
    for keyword in keywords where matchesIgnoringCase(bytes, at: index, keyword) {
      var cursor = index + keyword.utf8.count
      guard cursor < bytes.count else { return nil }
      var quoted = false
      if bytes[cursor] == UInt8(ascii: "\"") || bytes[cursor] == UInt8(ascii: "'") {
        quoted = true
        cursor += 1
      }
      guard cursor < bytes.count,
        bytes[cursor] == UInt8(ascii: "=") || (quoted && bytes[cursor] == UInt8(ascii: ":"))
      else { continue }
      cursor += 1
      while cursor < bytes.count && bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
      if cursor < bytes.count && (bytes[cursor] == UInt8(ascii: "\"") || bytes[cursor] == UInt8(ascii: "'")) {
        cursor += 1
      }
      return cursor
    }
    return nil
  }

  static func valueEnd(_ bytes: [UInt8], from start: Int) -> Int {
    var end = start
    while end < bytes.count {
      switch bytes[end] {
      case UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "&"), UInt8(ascii: ","),
        UInt8(ascii: ";"):
        return end
      default: end += 1
      }
    }
    return end
  }

  static func matchesIgnoringCase(_ bytes: [UInt8], at index: Int, _ word: String) -> Bool {
    let pattern = Array(word.utf8)
    guard index + pattern.count <= bytes.count else { return false }
    for offset in 0..<pattern.count where ASCII.lowercased(bytes[index + offset]) != pattern[offset] {
      return false
    }
    return true
  }

  static func isAlphanumeric(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
  }

  static func isWordByte(_ byte: UInt8) -> Bool {
    isAlphanumeric(byte) || byte == UInt8(ascii: "_")
  }

  static func isRunByte(_ byte: UInt8) -> Bool {
    if isAlphanumeric(byte) { return true }
    switch byte {
    case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: "+"),
      UInt8(ascii: "="):
      return true
    default: return false
    }
  }

  static func mixesClasses(_ run: ArraySlice<UInt8>) -> Bool {
    var upper = false
    var lower = false
    var digit = false
    for byte in run {
      if byte >= 0x41 && byte <= 0x5a { upper = true }
      if byte >= 0x61 && byte <= 0x7a { lower = true }
      if byte >= 0x30 && byte <= 0x39 { digit = true }
    }
    return (upper ? 1 : 0) + (lower ? 1 : 0) + (digit ? 1 : 0) >= 2
  }
}
