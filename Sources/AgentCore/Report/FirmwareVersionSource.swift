/// Where the board keeps its firmware version. The agent reads exactly one
/// key from that file and nothing else from it: vendor device-info files
/// often hold the camera's nickname or network details next to the version.
public enum FirmwareVersionSource: Equatable {
  /// `VERSION_ID` in an os-release file (the value may be quoted, per os-release(5)).
  case osRelease(path: String)
  /// `KEY=value` lines in a vendor file.
  case keyValue(path: String, key: String)
  /// A U-Boot environment image: CRC-32 (little-endian) over the data, then
  /// NUL-terminated `key=value` strings, ending in an empty string.
  case ubootEnvironment(path: String, key: String)

  public static let maximumFileBytes = 64 * 1024

  public enum Failure: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case keyMissing(path: String, key: String)
    case malformed(path: String, reason: String)
    case invalid(FirmwareVersion.Invalid)

    public var description: String {
      switch self {
      case .unreadable(let why): return "firmware version source: \(why)"
      case .keyMissing(let path, let key): return "firmware version source: \(path) has no \(key)"
      case .malformed(let path, let reason): return "firmware version source: \(path): \(reason)"
      case .invalid(let why): return why.description
      }
    }
  }

  /// Parses the config form: `os-release:/etc/os-release`,
  /// `keyvalue:/path:KEY`, `uboot-env:/path:KEY`.
  public static func parse(_ text: String) -> FirmwareVersionSource? {
    let parts = text.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
      .map { String(decoding: $0, as: UTF8.self) }
    func absolute(_ path: String) -> Bool { path.utf8.first == UInt8(ascii: "/") }
    switch (parts.first, parts.count) {
    case ("os-release", 2) where absolute(parts[1]):
      return .osRelease(path: parts[1])
    case ("keyvalue", 3) where absolute(parts[1]) && ConfigFile.isValidKey(lowercasedKey(parts[2])):
      return .keyValue(path: parts[1], key: parts[2])
    case ("uboot-env", 3) where absolute(parts[1]) && ConfigFile.isValidKey(lowercasedKey(parts[2])):
      return .ubootEnvironment(path: parts[1], key: parts[2])
    default:
      return nil
    }
  }

  private static func lowercasedKey(_ key: String) -> String {
    String(decoding: key.utf8.map { ASCII.lowercased($0) }, as: UTF8.self)
  }

  public var description: String {
    switch self {
    case .osRelease(let path): return "os-release:\(path)"
    case .keyValue(let path, let key): return "keyvalue:\(path):\(key)"
    case .ubootEnvironment(let path, let key): return "uboot-env:\(path):\(key)"
    }
  }

  public func load() throws(Failure) -> FirmwareVersion {
    let path: String
    switch self {
    case .osRelease(let p), .keyValue(let p, _), .ubootEnvironment(let p, _): path = p
    }
    let bytes: [UInt8]
    do {
      bytes = try FileIO.read(path, maxBytes: Self.maximumFileBytes)
    } catch {
      throw .unreadable(error.description)
    }
    let raw: [UInt8]
    switch self {
    case .osRelease:
      guard let value = Self.lineValue(bytes, key: "VERSION_ID") else {
        throw .keyMissing(path: path, key: "VERSION_ID")
      }
      raw = Self.unquoted(value)
    case .keyValue(_, let key):
      guard let value = Self.lineValue(bytes, key: key) else { throw .keyMissing(path: path, key: key) }
      raw = value
    case .ubootEnvironment(_, let key):
      raw = try Self.ubootValue(bytes, key: key, path: path)
    }
    guard let text = String(validating: raw, as: UTF8.self) else {
      throw .invalid(.character(position: 0))
    }
    do {
      return try FirmwareVersion(validating: text)
    } catch {
      throw .invalid(error)
    }
  }

  /// The value of the first `KEY=value` line (no spaces around `=`, as in
  /// os-release and fw_printenv output).
  static func lineValue(_ bytes: [UInt8], key: String) -> [UInt8]? {
    let prefix = Array(key.utf8) + [UInt8(ascii: "=")]
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
      var line = Array(line)
      if line.last == 0x0d { line.removeLast() }
      if line.starts(with: prefix) { return Array(line[prefix.count...]) }
    }
    return nil
  }

  /// os-release(5) allows one pair of single or double quotes around a value.
  static func unquoted(_ value: [UInt8]) -> [UInt8] {
    guard value.count >= 2, let first = value.first, first == value.last,
      first == UInt8(ascii: "\"") || first == UInt8(ascii: "'")
    else { return value }
    return Array(value[1..<value.count - 1])
  }

  static func ubootValue(_ image: [UInt8], key: String, path: String) throws(Failure) -> [UInt8] {
    guard image.count > 4 else {
      throw .malformed(path: path, reason: "shorter than a U-Boot environment header")
    }
    let stored = UInt32(image[0]) | UInt32(image[1]) << 8 | UInt32(image[2]) << 16 | UInt32(image[3]) << 24
    let data = Array(image[4...])
    guard CRC32.checksum(data) == stored else {
      throw .malformed(path: path, reason: "environment CRC mismatch")
    }
    let prefix = Array(key.utf8) + [UInt8(ascii: "=")]
    for entry in data.split(separator: 0, omittingEmptySubsequences: false) {
      if entry.isEmpty { break }
      if entry.starts(with: prefix) { return Array(entry.dropFirst(prefix.count)) }
    }
    throw .keyMissing(path: path, key: key)
  }
}
