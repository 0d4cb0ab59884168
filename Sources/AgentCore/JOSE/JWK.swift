/// An EC P-256 public key as a JSON Web Key (RFC 7517 / RFC 7518 §6.2).
public struct PublicJWK: Equatable {
  public let x: [UInt8]
  public let y: [UInt8]

  public init(_ key: P256PublicKey) {
    x = key.x
    y = key.y
  }

  /// `{"crv":"P-256","kty":"EC","x":"…","y":"…"}`: the required members in
  /// lexicographic order with no whitespace, which is also the RFC 7638
  /// thumbprint input, so one text serves both.
  public var json: String {
    var writer = JSONWriter()
    writeObject(into: &writer)
    return writer.text
  }

  public func writeObject(into writer: inout JSONWriter) {
    writer.beginObject()
    writer.member("crv", "P-256")
    writer.member("kty", "EC")
    writer.member("x", Base64URL.encode(x))
    writer.member("y", Base64URL.encode(y))
    writer.endObject()
  }

  /// RFC 7638 JWK thumbprint: base64url(SHA-256(canonical JSON)).
  public func thumbprint() throws(CryptoError) -> String {
    Base64URL.encode(try SHA256.hash(Array(json.utf8)))
  }
}
