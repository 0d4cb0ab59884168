/// The character rules for values the server issues and the agent later
/// puts into headers, form bodies and the local state file. Checking them on
/// receipt means a hostile value is refused once, at the edge, instead of
/// being escaped (or not) at every place it is used.
public enum TokenSyntax {
  /// Non-empty, at most `maxLength` bytes, every byte a VSCHAR (%x20-7E, RFC
  /// 6749 Appendix A): no control characters, no line breaks, ASCII only.
  public static func isVisibleASCII(_ value: String, maxLength: Int) -> Bool {
    isVisibleASCII(bytes: value.utf8, maxLength: maxLength)
  }

  /// The same over bytes (a secret's, without a `String` copy).
  public static func isVisibleASCII<C: Collection>(bytes: C, maxLength: Int) -> Bool
  where C.Element == UInt8 {
    guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
    for byte in bytes where byte < 0x20 || byte > 0x7e { return false }
    return true
  }

  /// RFC 9110 §11.2 `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
  /// "+" / "/" ) *"="`, the syntax of the credential in `Authorization: DPoP`.
  public static func isToken68(_ value: String, maxLength: Int) -> Bool {
    Array(value.utf8).withUnsafeBytes { isToken68(bytes: $0, maxLength: maxLength) }
  }

  /// The same over bytes (a secret's, without a `String` copy).
  public static func isToken68(bytes: UnsafeRawBufferPointer, maxLength: Int) -> Bool {
    guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
    var end = bytes.count
    while end > 0, bytes[end - 1] == UInt8(ascii: "=") { end -= 1 }
    guard end > 0 else { return false }
    for byte in bytes[0..<end] {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
        UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
        continue
      default: return false
      }
    }
    return true
  }

  /// RFC 8628 §6.1's advice for user codes: a small set of characters that
  /// survives being read aloud and typed on a phone, letters and digits
  /// (e.g. base-20 `BCDFGHJKLMNPQRSTVWXZ`), with dashes for readability.
  /// So here: 1...`maxLength` of `A-Z a-z 0-9 -`, with at least one letter or
  /// digit. Nothing else a server sends (`$`, backticks, `;`, `|`, quotes,
  /// spaces) reaches the state file, the hook or the pairing UI's display.
  public static func isUserCode(_ value: String, maxLength: Int) -> Bool {
    let bytes = value.utf8
    guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
    var alphanumerics = 0
    for byte in bytes {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"):
        alphanumerics += 1
      case UInt8(ascii: "-"):
        continue
      default:
        return false
      }
    }
    return alphanumerics > 0
  }

  /// RFC 3986 §2: the characters a URI may hold (unreserved, reserved and
  /// `%` of a percent-encoding). Not allowed, so refused in a URI shown to
  /// the owner: space, `"`, `<`, `>`, `\`, `^`, a backtick, `{`, `|`, `}`.
  public static func isURICharacter(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"):
      return true
    default:
      return Array("-._~:/?#[]@!$&'()*+,;=%".utf8).contains(byte)
    }
  }
}
