/// The `key = value` file format: one setting a line, `#` starts a comment
/// line, blank lines ignored, values taken verbatim after trimming (no quoting
/// rules to get wrong). Unknown and repeated keys are errors, not ignored, so a
/// typo in the field cannot silently fall back to a default.
public struct ConfigFile {
  public struct Entry: Equatable {
    public var key: String
    public var value: String
    public var line: Int
  }

  public let path: String
  public let entries: [Entry]

  public static let maxBytes = 64 * 1024

  public init(path: String, text: [UInt8]) throws(ConfigError) {
    self.path = path
    var entries: [Entry] = []
    var lineNumber = 0
    for rawLine in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      lineNumber += 1
      guard let lineText = String(validating: rawLine, as: UTF8.self) else {
        throw .syntax(path: path, line: lineNumber, message: "not valid UTF-8")
      }
      let line = ASCII.trimmed(lineText)
      if line.isEmpty || line.utf8.first == UInt8(ascii: "#") { continue }
      let bytes = Array(line.utf8)
      guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else {
        throw .syntax(path: path, line: lineNumber, message: "expected 'key = value'")
      }
      let key = ASCII.trimmed(String(decoding: bytes[0..<equals], as: UTF8.self))
      let value = ASCII.trimmed(String(decoding: bytes[(equals + 1)...], as: UTF8.self))
      guard Self.isValidKey(key) else {
        throw .syntax(path: path, line: lineNumber, message: "invalid key '\(ConfigError.quoted(key))'")
      }
      for existing in entries where Word(existing.key) == Word(key) {
        throw .duplicateKey(path: path, line: lineNumber, key: key)
      }
      for byte in value.utf8 where byte < 0x20 || byte == 0x7f {
        throw .invalidValue(
          path: path, line: lineNumber, key: key, reason: "control character in value")
      }
      entries.append(Entry(key: key, value: value, line: lineNumber))
    }
    self.entries = entries
  }

  public static func load(path: String) throws(ConfigError) -> ConfigFile {
    let text: [UInt8]
    do {
      text = try FileIO.read(path, maxBytes: maxBytes)
    } catch {
      throw .unreadable(path: path, reason: error.description)
    }
    return try ConfigFile(path: path, text: text)
  }

  static func isValidKey(_ key: String) -> Bool {
    guard !key.isEmpty else { return false }
    for byte in key.utf8 {
      let ok =
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
      if !ok { return false }
    }
    return true
  }
}
