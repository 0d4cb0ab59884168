import AgentCore
import Testing

@Suite struct OAuthHeaderTests {
  private typealias Challenge = WWWAuthenticate.Challenge

  private func challenges(_ value: String) throws(OAuthMessageError) -> [Challenge] {
    try WWWAuthenticate.parse(value)
  }

  private func dpopError(_ values: String...) -> OAuthError? {
    WWWAuthenticate.dpopError(in: values.map { HTTPHeader("WWW-Authenticate", $0) })
  }

  // MARK: - WWW-Authenticate

  /// RFC 9449 §7.1's challenges.
  @Test func rfc9449Challenges() throws {
    let plain = try challenges(#"DPoP algs="ES256 PS256""#)
    #expect(plain.count == 1)
    #expect(plain[0].scheme == "DPoP")
    #expect(plain[0].parameter("algs") == "ES256 PS256")
    #expect(dpopError(#"DPoP algs="ES256 PS256""#) == nil)

    let invalid = #"DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256""#
    #expect(try challenges(invalid)[0].parameters.map(\.name) == ["error", "error_description", "algs"])
    #expect(
      dpopError(invalid) == OAuthError(code: .invalidToken, errorDescription: "Invalid DPoP key binding"))
  }

  /// RFC 9449 §9: the resource server's nonce challenge.
  @Test func rfc9449NonceChallenge() {
    let value =
      #"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#
    #expect(dpopError(value)?.code == .useDPoPNonce)
  }

  /// RFC 6750 §3's Bearer challenge parses but is not a DPoP error.
  @Test func rfc6750BearerChallenge() throws {
    let value =
      #"Bearer realm="example", error="invalid_token", error_description="The access token expired""#
    let parsed = try challenges(value)
    #expect(parsed.count == 1)
    #expect(parsed[0].parameter("realm") == "example")
    #expect(parsed[0].parameter("error") == "invalid_token")
    #expect(dpopError(value) == nil)
  }

  /// RFC 9110 §11.6.1's example: two challenges in one value, an escaped quote.
  @Test func rfc9110TwoChallenges() throws {
    let parsed = try challenges(
      #"Basic realm="simple", Newauth realm="apps", type=1, title="Login to \"apps\"""#)
    #expect(parsed.map(\.scheme) == ["Basic", "Newauth"])
    #expect(parsed[0].parameters == [Challenge.Parameter(name: "realm", value: "simple")])
    #expect(parsed[1].parameter("realm") == "apps")
    #expect(parsed[1].parameter("type") == "1")
    #expect(parsed[1].parameter("title") == #"Login to "apps""#)
  }

  @Test func challengeListVariants() throws {
    let mixed = try challenges(#"Bearer realm="api", DPoP error="invalid_token", algs="ES256""#)
    #expect(mixed.map(\.scheme) == ["Bearer", "DPoP"])
    #expect(
      dpopError(#"Bearer realm="api", DPoP error="invalid_token", algs="ES256""#)?.code == .invalidToken)

    let token68 = try challenges("Basic dXNlcjpwYXNz==, DPoP error=invalid_token")
    #expect(token68[0].token68 == "dXNlcjpwYXNz==")
    #expect(token68[0].parameters.isEmpty)
    #expect(token68[1].parameter("error") == "invalid_token")

    let schemeOnly = try challenges("Negotiate, DPoP")
    #expect(schemeOnly.map(\.scheme) == ["Negotiate", "DPoP"])
    #expect(schemeOnly[1].parameters.isEmpty)

    let spaced = try challenges(#" ,, DPoP   error = "use_dpop_nonce" ,, algs="ES256" , "#)
    #expect(spaced.count == 1)
    #expect(spaced[0].parameter("error") == "use_dpop_nonce")
    #expect(spaced[0].parameter("algs") == "ES256")

    #expect(try challenges("").isEmpty)
  }

  @Test func schemesAndParameterNamesAreCaseInsensitive() {
    #expect(dpopError(#"dpop ERROR="invalid_token""#)?.code == .invalidToken)
    #expect(dpopError(#"DPOP Error=use_dpop_nonce"#)?.code == .useDPoPNonce)
  }

  @Test func brokenFieldsDoNotHideAGoodDPoPChallenge() {
    #expect(dpopError(#"Bearer realm="unterminated"#, #"DPoP error="invalid_token""#)?.code == .invalidToken)
    let headers = [
      HTTPHeader("Content-Type", "application/json"), HTTPHeader("www-authenticate", #"DPoP error="x""#),
    ]
    #expect(WWWAuthenticate.dpopError(in: headers)?.code == .unknown("x"))
    #expect(WWWAuthenticate.dpopError(in: []) == nil)
    #expect(dpopError(#"DPoP error="""#) == nil)
  }

  @Test func hostileDescriptionIsSanitized() {
    let long = String(repeating: "x", count: 300)
    let error = dpopError(#"DPoP error="invalid_token", error_description="a\"b \#u{e9}\#(long)""#)
    #expect(error?.code == .invalidToken)
    #expect(error?.errorDescription == "a\"b ?" + String(repeating: "x", count: 192) + "...")
    // Control characters are outside the quoted-string grammar: the field is refused.
    #expect(dpopError(#"DPoP error="invalid_token", error_description="a"# + "\u{1b}[31m\"") == nil)
    #expect(dpopError(#"DPoP error="invalid_token", error_description="a"# + "\u{7f}\"") == nil)
  }

  @Test(
    arguments: [
      (#"DPoP error="unterminated"#, "unterminated quoted-string at byte 24"),
      ("DPoP a=b, error=", "expected a parameter value at byte 16"),
      ("DPoP =x", "expected a parameter name at byte 5"),
      (#""DPoP""#, "expected an auth-scheme at byte 0"),
      (#"DPoP error="a", error="b""#, "parameter 'error' repeated at byte 25"),
      (#"DPoP error="a" x"#, "expected ',' at byte 15"),
      ("DPoP error=\"a\u{1}\"", "control character in quoted-string at byte 14"),
      ("DPoP error=\"a\\\u{1}\"", "bad quoted-pair at byte 14"),
      ("DPoP error=a b", "expected ',' at byte 13"),
      ("DPoP\u{0}", "expected a space after the scheme at byte 4"),
      (#"DPoP error="a", ="b""#, "expected a parameter name at byte 16"),
    ])
  func malformedChallenges(value: String, reason: String) {
    #expect(throws: OAuthMessageError.malformedHeader("WWW-Authenticate", reason: reason)) {
      _ = try WWWAuthenticate.parse(value)
    }
  }

  @Test func challengeLimits() throws {
    #expect(throws: OAuthMessageError.malformedHeader("WWW-Authenticate", reason: "longer than 8192 bytes")) {
      _ = try WWWAuthenticate.parse("DPoP realm=\"" + String(repeating: "a", count: 9000) + "\"")
    }
    #expect(try challenges(Array(repeating: "A", count: 16).joined(separator: ", ")).count == 16)
    #expect(throws: OAuthMessageError.self) {
      _ = try WWWAuthenticate.parse(Array(repeating: "A", count: 17).joined(separator: ", "))
    }
    let parameters = (0..<33).map { "p\($0)=v" }
    #expect(try challenges("DPoP " + parameters[0..<32].joined(separator: ", "))[0].parameters.count == 32)
    #expect(throws: OAuthMessageError.self) {
      _ = try WWWAuthenticate.parse("DPoP " + parameters.joined(separator: ", "))
    }
    var generator = SeededGenerator(state: 99)
    let seed = Array(
      #"Bearer realm="api", DPoP error="invalid_token", error_description="x\"y", algs=ES256"#.utf8)
    let alphabet = Array(#" ,="\a=Z"#.utf8) + [0x00, 0x09, 0x7f, 0xc3]
    for _ in 0..<10_000 {
      var bytes = seed
      for _ in 0...generator.below(3) {
        bytes[generator.below(bytes.count)] = alphabet[generator.below(alphabet.count)]
      }
      _ = dpopError(String(decoding: bytes, as: UTF8.self))
    }
  }

  // MARK: - Retry-After

  @Test(
    arguments: [
      ("120", Int64(120)), ("0", 0), (" 5 ", 5), ("007", 7), ("3600", 600),
      ("99999999999999999999999999999999", 600), ("600", 600), ("599", 599),
    ])
  func retryAfterSeconds(value: String, seconds: Int64) {
    #expect(RetryAfter.delaySeconds(value, serverDate: nil, maximum: 600) == seconds)
  }

  @Test(arguments: [
    "", " ", "-1", "+5", "1.5", "5s", "abc", "0x10", "1 2", String(repeating: "1", count: 65),
  ])
  func retryAfterRefused(value: String) {
    #expect(RetryAfter.delaySeconds(value, serverDate: 0, maximum: 600) == nil)
  }

  @Test func retryAfterDateIsMeasuredFromTheServerClock() {
    let serverNow = HTTPDate.parse("Sun, 29 Nov 2026 10:20:11 GMT")!
    let later = "Sun, 29 Nov 2026 10:21:11 GMT"
    #expect(RetryAfter.delaySeconds(later, serverDate: serverNow, maximum: 600) == 60)
    #expect(RetryAfter.delaySeconds(later, serverDate: serverNow, maximum: 30) == 30)
    #expect(
      RetryAfter.delaySeconds("Sun, 29 Nov 2026 10:00:00 GMT", serverDate: serverNow, maximum: 600) == 0)
    // No server Date: the device clock (maybe 1970) is never used instead.
    #expect(RetryAfter.delaySeconds(later, serverDate: nil, maximum: 600) == nil)
    #expect(
      RetryAfter.delaySeconds("Sunday, 29-Nov-26 10:21:11 GMT", serverDate: serverNow, maximum: 600) == nil)
  }

  @Test func retryAfterExtremeBoundsDoNotTrap() {
    #expect(
      RetryAfter.delaySeconds("99999999999999999999999", serverDate: nil, maximum: Int64.max) == Int64.max)
    #expect(RetryAfter.delaySeconds("9223372036854775807", serverDate: nil, maximum: Int64.max) == Int64.max)
    #expect(RetryAfter.delaySeconds("5", serverDate: nil, maximum: -3) == 0)
    #expect(
      RetryAfter.delaySeconds("Fri, 31 Dec 9999 23:59:59 GMT", serverDate: Int64.min, maximum: Int64.max)
        == Int64.max)
    #expect(
      RetryAfter.delaySeconds("Thu, 01 Jan 1970 00:00:00 GMT", serverDate: Int64.max, maximum: 600) == 0)
  }

  // MARK: - Form bodies

  /// RFC 8628 §3.4's token request body, byte for byte.
  @Test func rfc8628TokenRequestBody() {
    var form = FormEncoding()
    form.append("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
    form.append("device_code", "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS")
    form.append("client_id", "1406020730")
    #expect(
      String(decoding: form.bytes, as: UTF8.self)
        == "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
        + "&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=1406020730")
    #expect(FormEncoding.contentType == "application/x-www-form-urlencoded")
  }

  @Test func everythingOutsideUnreservedIsEncoded() {
    var form = FormEncoding()
    form.append("redirect_uri", "https://client.example.com/cb")
    form.append("v", "a b+c&d=e%f~g.h_i-j/k?l#m")
    form.append("u", "\u{e9}\u{1F600}")
    form.append("empty", "")
    form.append("k y", "\r\n\u{0}")
    #expect(
      String(decoding: form.bytes, as: UTF8.self)
        == "redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb"
        + "&v=a%20b%2Bc%26d%3De%25f~g.h_i-j%2Fk%3Fl%23m&u=%C3%A9%F0%9F%98%80&empty=&k%20y=%0D%0A%00")
  }

  @Test func secretValuesAreEncodedToo() {
    var form = FormEncoding()
    form.append("grant_type", "refresh_token")
    form.append("refresh_token", secret: SecretBytes(Array("Q..Zkm29/+=".utf8)))
    #expect(
      String(decoding: form.bytes, as: UTF8.self)
        == "grant_type=refresh_token&refresh_token=Q..Zkm29%2F%2B%3D")
    #expect(FormEncoding().bytes.isEmpty)
  }

  // MARK: - Log sanitizing

  @Test func logSafeText() {
    #expect(LogSafeText.sanitize("plain text", limit: 100) == "plain text")
    #expect(LogSafeText.sanitize("a\r\nb\u{1b}[0m\u{7f}", limit: 100) == "a??b?[0m?")
    #expect(LogSafeText.sanitize("\u{e9}\u{1F600}x", limit: 100) == "??x")
    // The limit includes the ellipsis (issue 17: lines of 1,027 characters).
    #expect(LogSafeText.sanitize("abcdefg", limit: 6) == "abc...")
    #expect(LogSafeText.sanitize("abcdef", limit: 6) == "abcdef")
    #expect(LogSafeText.sanitize("abcd", limit: 3) == "...")
    #expect(LogSafeText.sanitize("abc", limit: 3) == "abc")
    #expect(LogSafeText.sanitize("", limit: 0) == "")
    #expect(LogSafeText.sanitize("ab", limit: 1) == "a")
  }
}
