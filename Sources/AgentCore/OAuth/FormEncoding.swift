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

  /// The body so far. It may hold a refresh token: it grows through
  /// `SecretBytes.append` (no stale partial copy is left by a reallocation),
  /// and the sender zeroes it with `wipe()` once the request is sent.
  public private(set) var bytes: [UInt8] = []

  public init() {}

  public mutating func append(_ name: String, _ value: String) {
    appendField(Array(name.utf8), Array(value.utf8))
  }

  /// A secret value (refresh token, revoked token), encoded without a plain
  /// `String` copy of it being made; the one temporary encoding is zeroed.
  public mutating func append(_ name: String, secret: SecretBytes) {
    secret.withUnsafeBytes { raw in appendField(Array(name.utf8), raw) }
  }

  /// Zeroes the body in place (every request value sharing it included).
  public mutating func wipe() {
    SecretBytes.cleanse(bytes)
    bytes = []
  }

  private mutating func appendField<V: Collection>(_ name: [UInt8], _ value: V) where V.Element == UInt8 {
    // One allocation large enough for the field's worst case: it never grows.
    var field: [UInt8] = []
    field.reserveCapacity(2 + 3 * (name.count + value.count))
    if !bytes.isEmpty { field.append(UInt8(ascii: "&")) }
    Self.percentEncode(name, into: &field)
    field.append(UInt8(ascii: "="))
    Self.percentEncode(value, into: &field)
    SecretBytes.append(field, to: &bytes)
    SecretBytes.cleanse(field)
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
