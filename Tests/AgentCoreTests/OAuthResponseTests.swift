import AgentCore
import Testing

@Suite struct OAuthResponseTests {
  private func deviceError(_ text: String, allowPlainHTTP: Bool = false) -> OAuthMessageError? {
    do throws(OAuthMessageError) {
      _ = try DeviceAuthorization.parse(Array(text.utf8), allowPlainHTTP: allowPlainHTTP)
      return nil
    } catch {
      return error
    }
  }

  private func tokenError(_ text: String) -> OAuthMessageError? {
    do throws(OAuthMessageError) {
      _ = try TokenResponse.parse(Array(text.utf8))
      return nil
    } catch {
      return error
    }
  }

  // MARK: - RFC 8628 device authorization response

  /// RFC 8628 §3.2's example response.
  @Test func rfc8628Example() throws {
    let text = """
      {
        "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
        "user_code": "WDJB-MJHT",
        "verification_uri": "https://example.com/device",
        "verification_uri_complete":
            "https://example.com/device?user_code=WDJB-MJHT",
        "expires_in": 1800,
        "interval": 5
      }
      """
    let grant = try DeviceAuthorization.parse(Array(text.utf8))
    #expect(grant.deviceCode == "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS")
    #expect(grant.userCode == "WDJB-MJHT")
    #expect(grant.verificationURI == "https://example.com/device")
    #expect(grant.verificationURIComplete == "https://example.com/device?user_code=WDJB-MJHT")
    #expect(grant.expiresIn == 1800)
    #expect(grant.interval == 5)
  }

  private func grant(
    deviceCode: String = "\"dc\"", userCode: String = "\"WDJB-MJHT\"",
    uri: String = "\"https://example.com/device\"", expiresIn: String = "600", extra: String = ""
  ) -> String {
    #"{"device_code":\#(deviceCode),"user_code":\#(userCode),"verification_uri":\#(uri),"expires_in":\#(expiresIn)\#(extra)}"#
  }

  @Test func intervalDefaultsAndBounds() throws {
    #expect(try DeviceAuthorization.parse(Array(grant().utf8)).interval == 5)
    #expect(try DeviceAuthorization.parse(Array(grant(extra: #","interval":null"#).utf8)).interval == 5)
    #expect(try DeviceAuthorization.parse(Array(grant(extra: #","interval":0"#).utf8)).interval == 1)
    #expect(try DeviceAuthorization.parse(Array(grant(extra: #","interval":13"#).utf8)).interval == 13)
    #expect(try DeviceAuthorization.parse(Array(grant(extra: #","interval":86400"#).utf8)).interval == 600)
    #expect(deviceError(grant(extra: #","interval":-1"#)) == .invalidValue("interval", reason: "negative"))
    #expect(
      deviceError(grant(extra: #","interval":"5""#)) == .json(.wrongType("interval", expected: .integer)))
    #expect(
      deviceError(grant(extra: #","interval":2.5"#)) == .json(.wrongType("interval", expected: .integer)))
  }

  @Test(
    arguments: [
      (#"{}"#, OAuthMessageError.json(.missing("device_code"))),
      (#"{"device_code":"dc"}"#, .json(.missing("user_code"))),
      (#"{"device_code":"dc","user_code":"U"}"#, .json(.missing("verification_uri"))),
      (
        #"{"device_code":"dc","user_code":"U","verification_uri":"https://e/d"}"#,
        .json(.missing("expires_in"))
      ),
      (
        #"{"device_code":7,"user_code":"U","verification_uri":"https://e/d","expires_in":5}"#,
        .json(.wrongType("device_code", expected: .string))
      ),
      (
        #"{"device_code":"dc","user_code":"U","verification_uri":"https://e/d","expires_in":"600"}"#,
        .json(.wrongType("expires_in", expected: .integer))
      ),
    ])
  func deviceResponseFields(text: String, expected: OAuthMessageError) {
    #expect(deviceError(text) == expected)
  }

  @Test func deviceResponseValues() {
    let notPrintable = "empty, longer than 32 bytes, or not A-Z a-z 0-9 - (RFC 8628 §6.1)"
    #expect(deviceError(grant(userCode: #""""#)) == .invalidValue("user_code", reason: notPrintable))
    #expect(deviceError(grant(userCode: #""AB\nCD""#)) == .invalidValue("user_code", reason: notPrintable))
    #expect(deviceError(grant(userCode: #""AB\u00c9""#)) == .invalidValue("user_code", reason: notPrintable))
    #expect(
      deviceError(grant(userCode: "\"" + String(repeating: "A", count: 33) + "\""))
        == .invalidValue("user_code", reason: notPrintable))
    #expect(
      deviceError(grant(deviceCode: #""a\u0000b""#))
        == .invalidValue("device_code", reason: "empty, too long, or not printable ASCII"))
    #expect(
      deviceError(grant(uri: #""http://example.com/device""#))
        == .invalidValue("verification_uri", reason: "not an https URL"))
    #expect(deviceError(grant(uri: #""http://example.com/device""#), allowPlainHTTP: true) == nil)
    #expect(
      deviceError(grant(extra: #","verification_uri_complete":"javascript:alert(1)""#))
        == .invalidValue("verification_uri_complete", reason: "not an https URL"))
    #expect(
      deviceError(grant(expiresIn: "0")) == .invalidValue("expires_in", reason: "must be 1...86400 seconds"))
    #expect(
      deviceError(grant(expiresIn: "-5")) == .invalidValue("expires_in", reason: "must be 1...86400 seconds"))
    #expect(
      deviceError(grant(expiresIn: "99999999999999999999"))
        == .json(.wrongType("expires_in", expected: .integer)))
  }

  // MARK: - RFC 6749 §5.1 token response

  /// RFC 9449 §5's example token response.
  @Test func rfc9449TokenResponse() throws {
    let text = """
      {
        "access_token": "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU",
        "token_type": "DPoP",
        "expires_in": 2677,
        "refresh_token": "Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g"
      }
      """
    let response = try TokenResponse.parse(Array(text.utf8))
    #expect(response.accessToken.revealCopy() == Array("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU".utf8))
    #expect(response.expiresIn == 2677)
    #expect(
      response.refreshToken?.revealCopy() == Array("Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g".utf8))
  }

  /// RFC 6749 §5.1's example: a token type other than DPoP is refused.
  @Test func rfc6749ExampleTokenTypeIsRefused() {
    let text = """
      {
        "access_token":"2YotnFZFEjr1zCsicMWpAA",
        "token_type":"example",
        "expires_in":3600,
        "refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA",
        "example_parameter":"example_value"
      }
      """
    #expect(tokenError(text) == .invalidValue("token_type", reason: "'example' is not DPoP"))
  }

  private func token(
    access: String = "\"at\"", type: String = "\"DPoP\"", extra: String = ""
  ) -> String {
    #"{"access_token":\#(access),"token_type":\#(type)\#(extra)}"#
  }

  @Test func tokenTypeIsCaseInsensitiveButMustBeDPoP() throws {
    for type in ["DPoP", "dpop", "DPOP", "dPoP"] {
      #expect(tokenError(token(type: "\"\(type)\"")) == nil, "\(type)")
    }
    #expect(
      tokenError(token(type: #""Bearer""#)) == .invalidValue("token_type", reason: "'Bearer' is not DPoP"))
    #expect(
      tokenError(token(type: #""DPoP ""#)) == .invalidValue("token_type", reason: "'DPoP ' is not DPoP"))
    #expect(tokenError(token(type: "1")) == .json(.wrongType("token_type", expected: .string)))
    #expect(tokenError(#"{"access_token":"at"}"#) == .json(.missing("token_type")))
  }

  @Test func optionalMembers() throws {
    let minimal = try TokenResponse.parse(Array(token().utf8))
    #expect(minimal.expiresIn == nil)
    #expect(minimal.refreshToken == nil)
    let nulls = try TokenResponse.parse(Array(token(extra: #","expires_in":null,"refresh_token":null"#).utf8))
    #expect(nulls.expiresIn == nil)
    #expect(nulls.refreshToken == nil)
  }

  @Test func tokenValues() throws {
    let notToken68 = OAuthMessageError.invalidValue(
      "access_token", reason: "empty, too long, or not token68 syntax")
    #expect(tokenError(token(access: #""""#)) == notToken68)
    #expect(tokenError(token(access: #""a b""#)) == notToken68)
    #expect(tokenError(token(access: #""a\r\nX-Injected: 1""#)) == notToken68)
    #expect(tokenError(token(access: #""a=b""#)) == notToken68)
    #expect(tokenError(token(access: #""===""#)) == notToken68)
    #expect(tokenError(token(access: #""\u00e9""#)) == notToken68)
    #expect(tokenError(token(access: "\"" + String(repeating: "a", count: 4097) + "\"")) == notToken68)
    #expect(tokenError(token(access: "\"" + String(repeating: "a", count: 4096) + "\"")) == nil)
    #expect(tokenError(token(access: #""abc/+.~_-==""#)) == nil)
    let badRefresh = OAuthMessageError.invalidValue(
      "refresh_token", reason: "empty, too long, or not printable ASCII")
    #expect(tokenError(token(extra: #","refresh_token":"""#)) == badRefresh)
    #expect(tokenError(token(extra: #","refresh_token":"r\n""#)) == badRefresh)
    #expect(tokenError(token(extra: #","refresh_token":"r t!""#)) == nil)
    let expiry = OAuthMessageError.invalidValue("expires_in", reason: "must be 1...2592000 seconds")
    #expect(tokenError(token(extra: #","expires_in":0"#)) == expiry)
    #expect(tokenError(token(extra: #","expires_in":-1"#)) == expiry)
    #expect(tokenError(token(extra: #","expires_in":2592001"#)) == expiry)
    #expect(
      tokenError(token(extra: #","expires_in":"3600""#))
        == .json(.wrongType("expires_in", expected: .integer)))
    #expect(try TokenResponse.parse(Array(token(extra: #","expires_in":3600.0"#).utf8)).expiresIn == 3600)
  }

  @Test func hostileTokenBodies() {
    let tenMB = [UInt8](repeating: UInt8(ascii: "a"), count: 10 * 1024 * 1024)
    let tooLarge = OAuthMessageError.json(.tooLarge(size: 10 * 1024 * 1024, limit: 64 * 1024))
    #expect(throws: tooLarge) { _ = try TokenResponse.parse(tenMB) }
    #expect(throws: tooLarge) { _ = try DeviceAuthorization.parse(tenMB) }
    #expect(throws: tooLarge) { _ = try OAuthError.parse(tenMB) }
    let nested = Array((String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8)
    #expect(throws: OAuthMessageError.json(.tooDeep(offset: 16, limit: 16))) {
      _ = try TokenResponse.parse(nested)
    }
  }

  // MARK: - RFC 6749 §5.2 error response

  /// RFC 6749 §5.2's example, and RFC 9449 §8's nonce error.
  @Test func rfc6749AndRFC9449ErrorExamples() throws {
    let invalidRequest = try OAuthError.parse(Array(#"{"error":"invalid_request"}"#.utf8))
    #expect(invalidRequest == OAuthError(code: .invalidRequest))
    #expect(invalidRequest.description == "invalid_request")
    let nonce = try OAuthError.parse(
      Array(
        #"{"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce in DPoP proof"}"#
          .utf8))
    #expect(nonce.code == .useDPoPNonce)
    #expect(nonce.errorDescription == "Authorization server requires nonce in DPoP proof")
    #expect(nonce.description == "use_dpop_nonce: Authorization server requires nonce in DPoP proof")
  }

  @Test(
    arguments: [
      ("invalid_request", OAuthError.Code.invalidRequest), ("invalid_client", .invalidClient),
      ("invalid_grant", .invalidGrant), ("unauthorized_client", .unauthorizedClient),
      ("unsupported_grant_type", .unsupportedGrantType), ("invalid_scope", .invalidScope),
      ("server_error", .serverError), ("temporarily_unavailable", .temporarilyUnavailable),
      ("authorization_pending", .authorizationPending), ("slow_down", .slowDown),
      ("access_denied", .accessDenied), ("expired_token", .expiredToken), ("use_dpop_nonce", .useDPoPNonce),
      ("invalid_dpop_proof", .invalidDPoPProof), ("invalid_token", .invalidToken),
      ("insufficient_scope", .insufficientScope), ("unsupported_token_type", .unsupportedTokenType),
    ])
  func everyKnownCodeRoundTrips(text: String, code: OAuthError.Code) throws {
    #expect(OAuthError.Code(text) == code)
    #expect(code.description == text)
    #expect(try OAuthError.parse(Array(#"{"error":"\#(text)"}"#.utf8)).code == code)
  }

  @Test func unknownCodesAndDescriptionsAreSanitized() throws {
    #expect(OAuthError.Code("Invalid_Grant") == .unknown("Invalid_Grant"))
    #expect(OAuthError.Code("new_error") == .unknown("new_error"))
    let hostile = try OAuthError.parse(
      Array(#"{"error":"x\r\nFAKE: log line\u001b[2J","error_description":"line1\nline2\u0007 \u00e9"}"#.utf8)
    )
    #expect(hostile.code == .unknown("x??FAKE: log line?[2J"))
    #expect(hostile.errorDescription == "line1?line2? ?")
    let long = try OAuthError.parse(
      Array(
        (#"{"error":""# + String(repeating: "e", count: 100) + #"","error_description":""#
          + String(repeating: "d", count: 5000) + #""}"#).utf8))
    #expect(long.code == .unknown(String(repeating: "e", count: 61) + "..."))
    #expect(long.errorDescription == String(repeating: "d", count: 197) + "...")
  }

  @Test func errorBodiesTheAgentCannotUse() throws {
    #expect(throws: OAuthMessageError.json(.missing("error"))) { _ = try OAuthError.parse(Array("{}".utf8)) }
    #expect(throws: OAuthMessageError.json(.wrongType("error", expected: .string))) {
      _ = try OAuthError.parse(Array(#"{"error":400}"#.utf8))
    }
    #expect(throws: OAuthMessageError.invalidValue("error", reason: "empty")) {
      _ = try OAuthError.parse(Array(#"{"error":""}"#.utf8))
    }
    #expect(throws: OAuthMessageError.json(.syntax(offset: 0, expected: "a value"))) {
      _ = try OAuthError.parse(Array("<html>502 Bad Gateway</html>".utf8))
    }
    // A mistyped description does not hide the code.
    let error = try OAuthError.parse(Array(#"{"error":"invalid_grant","error_description":{"x":1}}"#.utf8))
    #expect(error == OAuthError(code: .invalidGrant))
  }
}
