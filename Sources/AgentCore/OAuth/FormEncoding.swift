/// Builds an `application/x-www-form-urlencoded` request body (RFC 6749
/// Appendix B), the format of every token, device authorization and
/// revocation request.
///
/// Everything outside the RFC 3986 §2.3 unreserved set is percent-encoded,
/// space included (as `%20`, which every form decoder reads as a space): a
/// value such as a JWT or a refresh token with `+`, `&` or `=` in it then
/// reaches the server unchanged.
public struct FormEncoding {
  public static let contentType = "application/x-www-form-urlencoded"

  public private(set) var bytes: [UInt8] = []

  public init() {}

  public mutating func append(_ name: String, _ value: String) {
    separator()
    Self.percentEncode(Array(name.utf8), into: &bytes)
    bytes.append(UInt8(ascii: "="))
    Self.percentEncode(Array(value.utf8), into: &bytes)
  }

  /// A secret value (refresh token, revoked token), encoded without a plain
  /// `String` copy of it being made.
  public mutating func append(_ name: String, secret: SecretBytes) {
    separator()
    Self.percentEncode(Array(name.utf8), into: &bytes)
    bytes.append(UInt8(ascii: "="))
    secret.withUnsafeBytes { raw in Self.percentEncode(raw, into: &bytes) }
  }

  private mutating func separator() {
    if !bytes.isEmpty { bytes.append(UInt8(ascii: "&")) }
  }

  private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

  static func percentEncode<C: Collection>(_ input: C, into out: inout [UInt8]) where C.Element == UInt8 {
    for byte in input {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
        UInt8(ascii: "~"):
        out.append(byte)
      default:
        out.append(UInt8(ascii: "%"))
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0x0f)])
      }
    }
  }
}
