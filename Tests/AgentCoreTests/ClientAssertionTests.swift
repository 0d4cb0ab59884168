import AgentCore
import Testing

@Suite struct ClientAssertionTests {
  @Test func assertionCarriesRFC7523Claims() throws {
    let key = try RFC7515Key.privateKey()
    var random = ConstantRandom(byte: 0x5a)
    let assertion = ClientAssertion(
      clientID: "cam-0042", audience: "https://as.example.com", issuedAt: 1_795_000_000)
    let compact = try assertion.signed(with: key, random: &random)
    let decoded = try TestJWS.verify(compact, key: try key.publicKey())

    #expect(decoded.header.members.map(\.key) == ["alg", "typ", "kid"])
    #expect(try decoded.header.requiredString("alg") == "ES256")
    #expect(try decoded.header.requiredString("typ") == "JWT")
    // RFC 7638 thumbprint, as computed by joserfc for this key.
    #expect(try decoded.header.requiredString("kid") == "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U")

    #expect(decoded.claims.members.map(\.key) == ["iss", "sub", "aud", "jti", "iat", "exp"])
    #expect(try decoded.claims.requiredString("iss") == "cam-0042")
    #expect(try decoded.claims.requiredString("sub") == "cam-0042")
    #expect(try decoded.claims.requiredString("aud") == "https://as.example.com")
    #expect(try decoded.claims.requiredString("jti") == Base64URL.encode([UInt8](repeating: 0x5a, count: 16)))
    #expect(try decoded.claims.requiredInt("iat") == 1_795_000_000)
    #expect(try decoded.claims.requiredInt("exp") == 1_795_000_060)
  }

  @Test func typeIsOptionalAndLifetimeConfigurable() throws {
    var random = SystemRandom()
    let key = try P256PrivateKey.generate()
    let assertion = ClientAssertion(
      clientID: "cam", audience: "https://as.example.com/oauth/token", issuedAt: 100, lifetime: 300,
      includesType: false)
    let decoded = try TestJWS.verify(
      try assertion.signed(with: key, random: &random), key: try key.publicKey())
    #expect(decoded.header.members.map(\.key) == ["alg", "kid"])
    #expect(try decoded.header.requiredString("kid") == (try PublicJWK(try key.publicKey()).thumbprint()))
    #expect(try decoded.claims.requiredInt("exp") == 400)
    #expect(ClientAssertion.defaultLifetime == 60)
    #expect(ClientAssertion.assertionType == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
  }

  /// A client id with JSON metacharacters cannot change the claim set.
  @Test func clientIDIsEscaped() throws {
    var random = SystemRandom()
    let key = try P256PrivateKey.generate()
    let hostile = "cam\",\"aud\":\"https://evil.example\",\"x\":\"\n"
    let assertion = ClientAssertion(clientID: hostile, audience: "https://as.example.com", issuedAt: 1)
    let decoded = try TestJWS.verify(
      try assertion.signed(with: key, random: &random), key: try key.publicKey())
    #expect(try decoded.claims.requiredString("iss") == hostile)
    #expect(try decoded.claims.requiredString("aud") == "https://as.example.com")
    #expect(decoded.claims.count == 6)
  }

  @Test func jtiDiffersBetweenAssertions() throws {
    var random = SystemRandom()
    let key = try P256PrivateKey.generate()
    let assertion = ClientAssertion(clientID: "cam", audience: "https://as.example.com", issuedAt: 1)
    let first = try TestJWS.decode(try assertion.signed(with: key, random: &random)).claims.requiredString(
      "jti")
    let second = try TestJWS.decode(try assertion.signed(with: key, random: &random)).claims.requiredString(
      "jti")
    #expect(first != second)
    #expect(Base64URL.decode(first)?.count == 16)
  }
}
