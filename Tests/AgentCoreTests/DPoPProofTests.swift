import AgentCore
import Testing

/// Fills every buffer with one byte, so a `jti` is predictable.
struct ConstantRandom: RandomSource {
  var byte: UInt8

  mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError) {
    for index in 0..<buffer.count { buffer[index] = byte }
  }
}

/// A randomness source that has failed (an OpenSSL DRBG error).
struct FailingRandom: RandomSource {
  mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError) {
    throw .openssl("RAND_bytes")
  }
}

@Suite struct DPoPProofTests {
  /// RFC 9449 §4.1's example proof verifies, and its key's thumbprint is the
  /// `jkt` of RFC 9449 §6.1, an EC thumbprint vector RFC 7638 lacks.
  @Test func rfc9449ExampleProofAndThumbprint() throws {
    let proof =
      "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0"
      + "RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6"
      + "IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbG"
      + "UuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7"
      + "NVY-FNyJK70nfbV37xRZT3Lg"
    let (decoded, key) = try TestJWS.verifyWithEmbeddedKey(proof)
    #expect(try decoded.header.requiredString("typ") == "dpop+jwt")
    #expect(try decoded.claims.requiredString("jti") == "-BwC3ESc6acc2lTc")
    #expect(try decoded.claims.requiredString("htm") == "POST")
    #expect(try decoded.claims.requiredString("htu") == "https://server.example.com/token")
    #expect(try decoded.claims.requiredInt("iat") == 1_562_262_616)
    #expect(try PublicJWK(key).thumbprint() == "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
  }

  /// RFC 9449 §7.1's access token and the `ath` of its §4.3 example proof.
  @Test func rfc9449AccessTokenHash() throws {
    let token = SecretBytes(Array("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU".utf8))
    #expect(try DPoPProof.accessTokenHash(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo")
  }

  @Test func proofCarriesExactlyTheRFC9449HeaderAndClaims() throws {
    let key = try RFC7515Key.privateKey()
    var random = ConstantRandom(byte: 0xab)
    let token = SecretBytes(Array("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU".utf8))
    let proof = DPoPProof(
      method: .post, url: "https://api.example.com/v1/devices/cam-1/report?x=1#frag", issuedAt: 1_795_000_000,
      nonce: "eyJ7S_zG.eyJH0-Z.HX4w-7v", accessToken: token)
    let compact = try proof.signed(with: key, random: &random)
    let (decoded, embedded) = try TestJWS.verifyWithEmbeddedKey(compact)

    #expect(decoded.header.members.map(\.key) == ["typ", "alg", "jwk"])
    #expect(try decoded.header.requiredString("typ") == "dpop+jwt")
    #expect(try decoded.header.requiredString("alg") == "ES256")
    #expect(try decoded.header.requiredObject("jwk").members.map(\.key) == ["crv", "kty", "x", "y"])
    #expect(Base64URL.encode(embedded.x) == RFC7515Key.x)
    #expect(Base64URL.encode(embedded.y) == RFC7515Key.y)

    #expect(decoded.claims.members.map(\.key) == ["jti", "htm", "htu", "iat", "nonce", "ath"])
    #expect(try decoded.claims.requiredString("jti") == Base64URL.encode([UInt8](repeating: 0xab, count: 16)))
    #expect(try decoded.claims.requiredString("htm") == "POST")
    #expect(try decoded.claims.requiredString("htu") == "https://api.example.com/v1/devices/cam-1/report")
    #expect(try decoded.claims.requiredInt("iat") == 1_795_000_000)
    #expect(try decoded.claims.requiredString("nonce") == "eyJ7S_zG.eyJH0-Z.HX4w-7v")
    #expect(try decoded.claims.requiredString("ath") == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo")
  }

  @Test func tokenRequestProofHasNoNonceOrAth() throws {
    var random = SystemRandom()
    let proof = DPoPProof(method: .get, url: "https://as.example.com/token", issuedAt: 0)
    let compact = try proof.signed(with: try P256PrivateKey.generate(), random: &random)
    let (decoded, _) = try TestJWS.verifyWithEmbeddedKey(compact)
    #expect(decoded.claims.members.map(\.key) == ["jti", "htm", "htu", "iat"])
    #expect(try decoded.claims.requiredString("htm") == "GET")
    // A camera that has not synced yet dates its proof as given: 1970.
    #expect(try decoded.claims.requiredInt("iat") == 0)
  }

  @Test(
    arguments: [
      ("https://as.example.com/token", "https://as.example.com/token"),
      ("https://as.example.com/token?grant=x", "https://as.example.com/token"),
      ("https://as.example.com/token#frag", "https://as.example.com/token"),
      ("https://as.example.com/p?q=1#f?g", "https://as.example.com/p"),
      ("https://as.example.com/p#f?q", "https://as.example.com/p"),
      ("https://as.example.com/?", "https://as.example.com/"),
      ("https://as.example.com:8443/a/b/", "https://as.example.com:8443/a/b/"),
      ("", ""),
    ])
  func htuDropsQueryAndFragment(url: String, htu: String) {
    #expect(DPoPProof.targetURI(url) == htu)
  }

  @Test func jtiIsFreshAndLongEnough() throws {
    var random = SystemRandom()
    let key = try P256PrivateKey.generate()
    var seen = Set<String>()
    for _ in 0..<200 {
      let compact = try DPoPProof(method: .post, url: "https://a.example/t", issuedAt: 1).signed(
        with: key, random: &random)
      let jti = try TestJWS.decode(compact).claims.requiredString("jti")
      #expect(Base64URL.decode(jti)?.count == 16)  // 128 bits >= RFC 9449's 96
      seen.insert(jti)
    }
    #expect(seen.count == 200)
  }

  @Test func randomnessFailureIsReported() throws {
    var random = FailingRandom()
    #expect(throws: CryptoError.openssl("RAND_bytes")) {
      _ = try DPoPProof(method: .post, url: "https://a.example/t", issuedAt: 1).signed(
        with: try RFC7515Key.privateKey(), random: &random)
    }
  }

  @Test func nonceAcceptance() {
    #expect(DPoPProof.isAcceptableNonce("eyJ7S_zG.eyJH0-Z.HX4w-7v"))
    #expect(DPoPProof.isAcceptableNonce("!#$%&'()*+,-./:;<=>?@[]^_`{|}~"))
    #expect(!DPoPProof.isAcceptableNonce(""))
    #expect(!DPoPProof.isAcceptableNonce("has space"))
    #expect(!DPoPProof.isAcceptableNonce("quote\""))
    #expect(!DPoPProof.isAcceptableNonce("back\\slash"))
    #expect(!DPoPProof.isAcceptableNonce("line\r\nbreak"))
    #expect(!DPoPProof.isAcceptableNonce("n\u{e9}"))
    #expect(DPoPProof.isAcceptableNonce(String(repeating: "a", count: 1024)))
    #expect(!DPoPProof.isAcceptableNonce(String(repeating: "a", count: 1025)))
  }
}
