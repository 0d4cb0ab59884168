/// An RFC 7523 §2.2 client assertion (`private_key_jwt`, as OpenID Connect
/// Core §9 names it): the device authenticates to the token, device
/// authorization and revocation endpoints by signing a short-lived JWT with
/// the identity key made at the factory. `client_id` is the device id.
public struct ClientAssertion {
  /// The `client_assertion_type` form value that goes with the assertion.
  public static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
  /// Short, so a captured assertion is soon useless; servers also reject
  /// replays of its `jti`.
  public static let defaultLifetime: Int64 = 60
  public static let jtiBytes = 16

  public var clientID: String
  /// The authorization server's issuer identifier. RFC 7523 §3 also allows
  /// the token endpoint URL; the issuer is the one value that is right for
  /// every endpoint the assertion goes to (token, device authorization,
  /// revocation), and the one the reference cloud and RFC 7523's update
  /// (draft-ietf-oauth-rfc7523bis) prefer.
  public var audience: String
  /// Seconds since the epoch from the caller's corrected clock.
  public var issuedAt: Int64
  public var lifetime: Int64
  /// Adds `typ: "JWT"` to the header; optional per RFC 7519 §5.1, kept for
  /// servers that insist.
  public var includesType: Bool
  /// A `jti` chosen by the verifier (the factory's single-use challenge
  /// nonce, `camera-agent attest`); nil draws a fresh random one.
  public var jti: String?

  public init(
    clientID: String, audience: String, issuedAt: Int64, lifetime: Int64 = ClientAssertion.defaultLifetime,
    includesType: Bool = true, jti: String? = nil
  ) {
    self.clientID = clientID
    self.audience = audience
    self.issuedAt = issuedAt
    self.lifetime = lifetime
    self.includesType = includesType
    self.jti = jti
  }

  /// The compact JWS for the `client_assertion` form field. `kid` is the RFC
  /// 7638 thumbprint of the identity key, the same value the factory script
  /// registers, so a server holding several keys for a device can pick one.
  public func signed<R: RandomSource>(with key: P256PrivateKey, random: inout R) throws(CryptoError) -> String
  {
    let thumbprint = try PublicJWK(try key.publicKey()).thumbprint()
    var header = JSONWriter()
    header.beginObject()
    header.member("alg", "ES256")
    if includesType { header.member("typ", "JWT") }
    header.member("kid", thumbprint)
    header.endObject()

    var claims = JSONWriter()
    claims.beginObject()
    claims.member("iss", clientID)
    claims.member("sub", clientID)
    claims.member("aud", audience)
    if let jti {
      claims.member("jti", jti)
    } else {
      claims.member("jti", Base64URL.encode(try random.bytes(Self.jtiBytes)))
    }
    claims.member("iat", issuedAt)
    claims.member("exp", issuedAt &+ lifetime)
    claims.endObject()
    return try JWS.signES256(header: header.bytes, payload: claims.bytes, key: key)
  }
}
