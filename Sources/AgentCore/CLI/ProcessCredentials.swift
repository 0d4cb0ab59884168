/// Who a process is, from its /proc/PID/status: the four user ids and four
/// group ids (real, effective, saved set, file system) and its effective
/// capability set. `camera-agent pair` reads them for the vault lock's
/// holder before it signals it (PairPermission decides).
public struct ProcessCredentials: Equatable {
  /// Real, effective, saved set-user-ID and file-system uid, in that order.
  public var uids: [UInt32]
  /// The same four for the group.
  public var gids: [UInt32]
  /// The `CapEff` mask: nonzero means the process holds capabilities.
  public var effectiveCapabilities: UInt64

  public init(uids: [UInt32], gids: [UInt32], effectiveCapabilities: UInt64) {
    self.uids = uids
    self.gids = gids
    self.effectiveCapabilities = effectiveCapabilities
  }

  /// The credentials in the text of /proc/PID/status, or nil unless it has
  /// exactly one `Uid:` and one `Gid:` line of four decimal ids each and one
  /// `CapEff:` line of hexadecimal digits. The kernel escapes a newline in
  /// the process name (the `Name:` line), so a process cannot forge a line;
  /// anything malformed is refused, never guessed.
  public static func parse(status text: [UInt8]) -> ProcessCredentials? {
    var uids: [UInt32]? = nil
    var gids: [UInt32]? = nil
    var capabilities: UInt64? = nil
    for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
      guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
      let key = String(decoding: line[line.startIndex..<colon], as: UTF8.self)
      let fields = line[(colon + 1)...].split(whereSeparator: {
        $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: " ")
      })
      switch Word(key) {
      case "Uid":
        guard uids == nil, let ids = ids(fields) else { return nil }
        uids = ids
      case "Gid":
        guard gids == nil, let ids = ids(fields) else { return nil }
        gids = ids
      case "CapEff":
        guard capabilities == nil, fields.count == 1, let mask = hex(fields[0]) else { return nil }
        capabilities = mask
      default:
        continue
      }
    }
    guard let uids, let gids, let capabilities else { return nil }
    return ProcessCredentials(uids: uids, gids: gids, effectiveCapabilities: capabilities)
  }

  private static func ids(_ fields: [ArraySlice<UInt8>]) -> [UInt32]? {
    guard fields.count == 4 else { return nil }
    var out: [UInt32] = []
    for field in fields {
      guard !field.isEmpty, field.count <= 10, field.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
        return nil
      }
      var value: UInt64 = 0
      for digit in field { value = value * 10 + UInt64(digit - 0x30) }
      guard value <= UInt64(UInt32.max) else { return nil }
      out.append(UInt32(value))
    }
    return out
  }

  private static func hex(_ field: ArraySlice<UInt8>) -> UInt64? {
    guard !field.isEmpty, field.count <= 16 else { return nil }
    var value: UInt64 = 0
    for byte in field {
      let digit: UInt8
      switch byte {
      case 0x30...0x39: digit = byte - 0x30
      case 0x61...0x66: digit = byte - 0x61 + 10
      case 0x41...0x46: digit = byte - 0x41 + 10
      default: return nil
      }
      value = value << 4 | UInt64(digit)
    }
    return value
  }
}
