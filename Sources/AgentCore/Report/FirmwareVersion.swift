/// A firmware version as the report may carry it.
///
/// The rule (also in board/agent.conf.example): 1 to 64 characters from
/// `A-Z a-z 0-9 . _ + - ~`. That covers semantic versions, Debian-style
/// versions and vendor build tags, and admits nothing that needs escaping in
/// JSON or could carry a sentence (an SSID, a nickname, an e-mail address:
/// no spaces, no `@`, no quotes). A value outside the rule is refused with a
/// clear error rather than escaped or truncated, so what the cloud receives
/// is always exactly what the board's file says.
public struct FirmwareVersion: Equatable {
  public let text: String
  public static let maximumLength = 64

  public enum Invalid: Error, Equatable, CustomStringConvertible {
    case empty
    case tooLong(Int)
    case character(position: Int)

    public var description: String {
      switch self {
      case .empty: return "firmware version is empty"
      case .tooLong(let length):
        return "firmware version is \(length) bytes, more than \(FirmwareVersion.maximumLength)"
      case .character(let position):
        return "firmware version has a character outside A-Z a-z 0-9 . _ + - ~ at byte \(position + 1)"
      }
    }
  }

  public init(validating text: String) throws(Invalid) {
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty else { throw .empty }
    guard bytes.count <= Self.maximumLength else { throw .tooLong(bytes.count) }
    for (index, byte) in bytes.enumerated() where !Self.isAllowed(byte) {
      throw .character(position: index)
    }
    self.text = text
  }

  static func isAllowed(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"):
      return true
    case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "~"):
      return true
    default:
      return false
    }
  }
}
