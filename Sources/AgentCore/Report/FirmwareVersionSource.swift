/// Where the board keeps its firmware version. The agent reads exactly one
/// key from that file and nothing else from it: vendor device-info files
/// often hold the camera's nickname or network details next to the version.
public enum FirmwareVersionSource: Equatable {
  /// `VERSION_ID` in an os-release file (the value may be quoted, per os-release(5)).
  case osRelease(path: String)
  /// `KEY=value` lines in a vendor file.
  case keyValue(path: String, key: String)
  /// A U-Boot environment (`UBootEnvironment`): a file or device (e.g.
  /// /dev/mtd2) holding one copy, or two for the redundant layout. With
  /// `layout` nil the whole file is one single-layout copy (a saved image).
  case ubootEnvironment(path: String, key: String, layout: UBootEnvironment? = nil)

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
  /// `keyvalue:/path:KEY`, `uboot-env:/path:KEY[:SIZE[:OFFSET2]]` (SIZE the
  /// environment size, as in fw_env.config; OFFSET2 where the redundant
  /// copy starts; both decimal or 0x hex).
  public static func parse(_ text: String) -> FirmwareVersionSource? {
    let parts = text.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
      .map { String(decoding: $0, as: UTF8.self) }
    func absolute(_ path: String) -> Bool { path.utf8.first == UInt8(ascii: "/") }
    // split(omittingEmptySubsequences: false) gives at least one part.
    switch (Word(parts[0]), parts.count) {
    case ("os-release", 2) where absolute(parts[1]):
      return .osRelease(path: parts[1])
    case ("keyvalue", 3) where absolute(parts[1]) && ConfigFile.isValidKey(lowercasedKey(parts[2])):
      return .keyValue(path: parts[1], key: parts[2])
    case ("uboot-env", 3) where absolute(parts[1]) && ConfigFile.isValidKey(lowercasedKey(parts[2])):
      return .ubootEnvironment(path: parts[1], key: parts[2])
    case ("uboot-env", 4), ("uboot-env", 5):
      guard absolute(parts[1]), ConfigFile.isValidKey(lowercasedKey(parts[2])),
        let layout = UBootEnvironment.parse(size: parts[3], secondOffset: parts.count == 5 ? parts[4] : nil)
      else { return nil }
      return .ubootEnvironment(path: parts[1], key: parts[2], layout: layout)
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
    case .ubootEnvironment(let path, let key, nil): return "uboot-env:\(path):\(key)"
    case .ubootEnvironment(let path, let key, let layout?):
      return "uboot-env:\(path):\(key):\(layout.configText)"
    }
  }

  public func load() throws(Failure) -> FirmwareVersion {
    let path: String
    switch self {
    case .osRelease(let p), .keyValue(let p, _), .ubootEnvironment(let p, _, _): path = p
    }
    let bytes: [UInt8]
    do {
      if case .ubootEnvironment(_, _, let layout?) = self {
        // A partition is usually larger than its environment: read what
        // the layout spans, no more.
        bytes = try FileIO.readPrefix(path, count: layout.span)
      } else {
        bytes = try FileIO.read(path, maxBytes: Self.maximumFileBytes)
      }
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
    case .ubootEnvironment(_, let key, let layout):
      raw = try Self.ubootValue(bytes, key: key, path: path, layout: layout)
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

  static func ubootValue(_ image: [UInt8], key: String, path: String, layout: UBootEnvironment?)
    throws(Failure)
    -> [UInt8]
  {
    guard let environment = layout ?? UBootEnvironment(size: image.count, layout: .single) else {
      throw .malformed(path: path, reason: "shorter than a U-Boot environment")
    }
    let data: ArraySlice<UInt8>
    do throws(UBootEnvironment.Failure) {
      data = try environment.data(image)
    } catch {
      switch error {
      case .short(let have, let need):
        throw .malformed(path: path, reason: "\(have) bytes, the environment layout needs \(need)")
      case .badCRC: throw .malformed(path: path, reason: "environment CRC mismatch")
      case .noValidCopy: throw .malformed(path: path, reason: "environment CRC mismatch in both copies")
      }
    }
    guard let value = UBootEnvironment.value(data, key: key) else { throw .keyMissing(path: path, key: key) }
    return value
  }
}
