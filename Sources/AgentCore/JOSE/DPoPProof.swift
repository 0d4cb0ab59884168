/// An RFC 9449 DPoP proof: a JWT signed with the session key that shows the
/// sender of a token or API request holds the key the tokens are bound to.
/// A fresh proof is made for every request (a new `jti` each time; servers
/// keep a replay cache).
public struct DPoPProof {
  /// Random bytes in `jti`: 128 bits, above RFC 9449 §4.2's 96, so proofs
  /// from a fleet of millions never collide in a server's replay cache.
  public static let jtiBytes = 16

  public var method: HTTPMethod
  /// The request URL; the `htu` claim is this without query and fragment.
  public var url: String
  /// Seconds since the epoch from the caller's corrected clock (a camera that
  /// booted at 1970 uses the server's `Date`), never read here from the system.
  public var issuedAt: Int64
  /// The latest `DPoP-Nonce` the server sent, if any.
  public var nonce: String?
  /// The access token the request carries; adds the `ath` claim. Absent for
  /// token endpoint requests.
  public var accessToken: SecretBytes?

  public init(
    method: HTTPMethod, url: String, issuedAt: Int64, nonce: String? = nil, accessToken: SecretBytes? = nil
  ) {
    self.method = method
    self.url = url
    self.issuedAt = issuedAt
    self.nonce = nonce
    self.accessToken = accessToken
  }

  /// The compact JWS for the `DPoP` request header.
  public func signed<R: RandomSource>(with key: P256PrivateKey, random: inout R) throws(CryptoError) -> String
  {
    let publicKey = PublicJWK(try key.publicKey())
    var header = JSONWriter()
    header.beginObject()
    header.member("typ", "dpop+jwt")
    header.member("alg", "ES256")
    header.key("jwk")
    publicKey.writeObject(into: &header)
    header.endObject()

    var claims = JSONWriter()
    claims.beginObject()
    claims.member("jti", Base64URL.encode(try random.bytes(Self.jtiBytes)))
    claims.member("htm", method.token)
    claims.member("htu", Self.targetURI(url))
    claims.member("iat", issuedAt)
    if let nonce { claims.member("nonce", nonce) }
    if let accessToken { claims.member("ath", try Self.accessTokenHash(accessToken)) }
    claims.endObject()
    return try JWS.signES256(header: header.bytes, payload: claims.bytes, key: key)
  }

  /// RFC 9449 §4.2 `htu`: "the HTTP target URI, without query and fragment parts".
  public static func targetURI(_ url: String) -> String {
    let bytes = Array(url.utf8)
    var end = 0
    while end < bytes.count, bytes[end] != UInt8(ascii: "?"), bytes[end] != UInt8(ascii: "#") { end += 1 }
    return end == bytes.count ? url : String(decoding: bytes[0..<end], as: UTF8.self)
  }

  /// RFC 9449 §4.2 `ath`: base64url(SHA-256(ASCII(access token))).
  public static func accessTokenHash(_ accessToken: SecretBytes) throws(CryptoError) -> String {
    // revealCopy shares the secret's storage (copy-on-write), so hashing
    // leaves no second plaintext copy behind.
    Base64URL.encode(try SHA256.hash(accessToken.revealCopy()))
  }

  /// Whether a `DPoP-Nonce` value may be echoed: RFC 9449 §8.1 `1*NQCHAR`,
  /// bounded so a hostile server cannot make every proof huge.
  public static func isAcceptableNonce(_ nonce: String) -> Bool {
    let bytes = nonce.utf8
    guard !bytes.isEmpty, bytes.count <= 1024 else { return false }
    for byte in bytes {
      // NQCHAR = %x21 / %x23-5B / %x5D-7E
      guard byte >= 0x21, byte <= 0x7e, byte != 0x22, byte != 0x5c else { return false }
    }
    return true
  }
}
