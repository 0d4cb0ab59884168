import AgentCore
import Testing

/// A compact JWS ES256 verifier for tests only: the agent never verifies a
/// JWS. It uses the agent's own JSON reader and P-256 verification, so the
/// RFC examples below check those as well.
enum TestJWS {
  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  struct Decoded {
    let header: JSONObject
    let claims: JSONObject
    let headerBytes: [UInt8]
    let payloadBytes: [UInt8]
    let signature: [UInt8]
    let signingInput: [UInt8]
  }

  static func decode(_ compact: String) throws -> Decoded {
    let parts = compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 3 else { throw Failure(description: "\(parts.count) parts, not 3") }
    guard let header = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
      let signature = Base64URL.decode(parts[2])
    else { throw Failure(description: "a part is not base64url") }
    return Decoded(
      header: try JSONReader.parseObject(header), claims: try JSONReader.parseObject(payload),
      headerBytes: header, payloadBytes: payload, signature: signature,
      signingInput: Array((parts[0] + "." + parts[1]).utf8))
  }

  /// Decodes and checks `alg` and the signature with `key`.
  static func verify(_ compact: String, key: P256PublicKey) throws -> Decoded {
    let decoded = try decode(compact)
    guard try decoded.header.requiredString("alg") == "ES256" else {
      throw Failure(description: "alg is not ES256")
    }
    try key.verifyES256(signature: decoded.signature, message: decoded.signingInput)
    return decoded
  }

  /// Verifies with the key in the header's `jwk` (a DPoP proof), returning that key too.
  static func verifyWithEmbeddedKey(_ compact: String) throws -> (Decoded, P256PublicKey) {
    let decoded = try decode(compact)
    let jwk = try decoded.header.requiredObject("jwk")
    guard try jwk.requiredString("kty") == "EC", try jwk.requiredString("crv") == "P-256" else {
      throw Failure(description: "jwk is not an EC P-256 key")
    }
    guard jwk["d"] == nil else { throw Failure(description: "jwk carries a private key") }
    guard let x = Base64URL.decode(try jwk.requiredString("x")),
      let y = Base64URL.decode(try jwk.requiredString("y"))
    else { throw Failure(description: "jwk coordinates are not base64url") }
    let key = try P256PublicKey(x: x, y: y)
    return (try verify(compact, key: key), key)
  }
}

/// RFC 7515 Appendix A.3's P-256 key as RFC 5915 DER (d, then the public point).
enum RFC7515Key {
  static let der = Hex.decode(
    "307702010104208e9b109e719098bf980487df1f5d77e9cb29606ebed2263b5f57c213df84f4b2a00a06082a8648ce3d0301"
      + "07a144034200047fcdce2770f6c45d4183cbee6fdb4b7b580733357be9ef13bacf6e3c7bd15445c7f144cd1bbd9b7e872cdf"
      + "edb9eeb9f4b3695d6ea90b24ad8a4623288588e5ad")!
  static let x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
  static let y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"

  static func privateKey() throws -> P256PrivateKey { try P256PrivateKey.fromDER(SecretBytes(der)) }
}

@Suite struct JWSTests {
  /// RFC 7515 Appendix A.3.1: the example ES256 JWS verifies with the example key.
  @Test func rfc7515AppendixA3Verifies() throws {
    let compact =
      "eyJhbGciOiJFUzI1NiJ9"
      + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
      + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    let key = try P256PublicKey(x: Base64URL.decode(RFC7515Key.x)!, y: Base64URL.decode(RFC7515Key.y)!)
    let decoded = try TestJWS.verify(compact, key: key)
    // The payload has CR LF whitespace between members (RFC 8259 allows it).
    #expect(try decoded.claims.requiredString("iss") == "joe")
    #expect(try decoded.claims.requiredInt("exp") == 1_300_819_380)
    #expect(try decoded.claims.requiredBool("http://example.com/is_root"))
    // The DER fixture is the same key.
    let privateKey = try RFC7515Key.privateKey()
    #expect(Base64URL.encode(try privateKey.publicKey().x) == RFC7515Key.x)
    #expect(Base64URL.encode(try privateKey.publicKey().y) == RFC7515Key.y)
  }

  @Test func signedJWSHasThePartsAsBuilt() throws {
    let key = try RFC7515Key.privateKey()
    var header = JSONWriter()
    header.beginObject()
    header.member("alg", "ES256")
    header.endObject()
    var payload = JSONWriter()
    payload.beginObject()
    payload.member("note", "quote \" backslash \\ newline \n é")
    payload.member("n", Int64(-7))
    payload.endObject()
    let compact = try JWS.signES256(header: header.bytes, payload: payload.bytes, key: key)
    let decoded = try TestJWS.verify(compact, key: try key.publicKey())
    #expect(decoded.headerBytes == header.bytes)
    #expect(decoded.payloadBytes == payload.bytes)
    #expect(decoded.signature.count == 64)
    #expect(try decoded.claims.requiredString("note") == "quote \" backslash \\ newline \n é")
    #expect(try decoded.claims.requiredInt("n") == -7)
    // Compact serialization: exactly two dots, no padding, URL-safe alphabet.
    #expect(compact.utf8.filter { $0 == UInt8(ascii: ".") }.count == 2)
    #expect(!compact.utf8.contains(UInt8(ascii: "=")))
    #expect(!compact.utf8.contains(UInt8(ascii: "+")))
    #expect(!compact.utf8.contains(UInt8(ascii: "/")))
  }

  @Test func tamperedPartsFailVerification() throws {
    let key = try RFC7515Key.privateKey()
    let compact = try JWS.signES256(
      header: Array(#"{"alg":"ES256"}"#.utf8), payload: Array(#"{"a":1}"#.utf8), key: key)
    let parts = compact.split(separator: ".").map(String.init)
    let otherPayload = Base64URL.encode(Array(#"{"a":2}"#.utf8))
    #expect(throws: CryptoError.invalidSignature) {
      _ = try TestJWS.verify(parts[0] + "." + otherPayload + "." + parts[2], key: try key.publicKey())
    }
    let otherKey = try P256PrivateKey.generate()
    #expect(throws: CryptoError.invalidSignature) {
      _ = try TestJWS.verify(compact, key: try otherKey.publicKey())
    }
  }

  /// ECDSA is randomized: two signatures of the same input differ, both verify.
  @Test func signaturesAreRandomized() throws {
    let key = try RFC7515Key.privateKey()
    let header = Array(#"{"alg":"ES256"}"#.utf8)
    let payload = Array(#"{}"#.utf8)
    let first = try JWS.signES256(header: header, payload: payload, key: key)
    let second = try JWS.signES256(header: header, payload: payload, key: key)
    #expect(first != second)
    _ = try TestJWS.verify(first, key: try key.publicKey())
    _ = try TestJWS.verify(second, key: try key.publicKey())
  }

  /// RFC 7638 has only an RSA example; this EC value was computed by
  /// joserfc (`ECKey.thumbprint()`) for the RFC 7515 A.3 key.
  @Test func thumbprintOfRFC7515KeyMatchesJoserfc() throws {
    let jwk = PublicJWK(try RFC7515Key.privateKey().publicKey())
    #expect(try jwk.thumbprint() == "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U")
  }
}
