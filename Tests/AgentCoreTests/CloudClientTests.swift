import AgentCore
import Testing

@Suite struct CloudClientTests {
  typealias F = CloudFixtures

  @Test func discoveryChecksTheIssuer() throws {
    let wire = CloudWire()
    wire.answer(200, F.metadataBody, headers: [HTTPHeader("Date", F.serverDate)])
    wire.answer(404, #"{"error":"not_found"}"#)
    var client = try F.client(wire, discovered: false)
    let discovered = try client.discover()
    #expect(discovered == F.metadata)
    #expect(wire.requests[0].url == F.issuer + "/.well-known/oauth-authorization-server")
    #expect(wire.requests[0].method == .get)
    // RFC 9728: the report API publishes no metadata (404): the configured base is used.
    #expect(wire.requests[1].url == F.issuer + "/.well-known/oauth-protected-resource")
    #expect(wire.requests.count == 2)
    #expect(client.resourceMetadata == nil)

    let other = CloudWire()
    other.answer(
      200, F.metadataBody.replacingOccurrences(of: "\"issuer\":\"https://", with: "\"issuer\":\"https://x."))
    var substituted = try F.client(other, discovered: false)
    #expect {
      try substituted.discover()
    } throws: { error in
      guard case .malformedResponse(200, .issuerMismatch) = error as? CloudError else { return false }
      return true
    }
    #expect(substituted.metadata == nil)
  }

  @Test func stepsNeedMetadata() throws {
    var client = try F.client(CloudWire(), discovered: false)
    #expect(throws: CloudError.notDiscovered) { try client.requestDeviceCode() }
  }

  @Test func deviceCodeRequestIsClientAuthenticated() throws {
    let wire = CloudWire()
    wire.answer(
      200,
      """
      {"device_code":"dc-1","user_code":"BCDF-GHJK","verification_uri":"https://cloud.example.test/device",\
      "expires_in":600,"interval":5}
      """)
    var client = try F.client(wire)
    let grant = try client.requestDeviceCode()
    #expect(grant.userCode == "BCDF-GHJK")
    let request = wire.requests[0]
    #expect(request.url == F.issuer + "/oauth/device_authorization")
    #expect(F.header(request, "Content-Type") == "application/x-www-form-urlencoded")
    #expect(F.header(request, "DPoP") == nil)
    let form = F.form(request)
    #expect(form["client_id"] == F.deviceID)
    #expect(form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    let assertion = try TestJWS.verify(form["client_assertion"]!, key: client.identityKey.publicKey())
    #expect(try assertion.claims.requiredString("iss") == F.deviceID)
    #expect(try assertion.claims.requiredString("sub") == F.deviceID)
    #expect(try assertion.claims.requiredString("aud") == F.issuer)
    #expect(try assertion.claims.requiredInt("iat") == F.serverTime)
  }

  /// RFC 9449 §8: a `use_dpop_nonce` answer is retried once, with the nonce
  /// it carried and a fresh assertion and proof.
  @Test func tokenPollFollowsANonceChallengeOnce() throws {
    let wire = CloudWire()
    wire.answer(400, #"{"error":"use_dpop_nonce"}"#, headers: [HTTPHeader("DPoP-Nonce", "n-1")])
    wire.answer(200, F.tokenBody, headers: [HTTPHeader("DPoP-Nonce", "n-2")])
    var client = try F.client(wire)
    guard case .tokens(let tokens) = try client.pollToken(deviceCode: "dc-1") else {
      Issue.record("expected tokens")
      return
    }
    #expect(tokens.accessToken.revealCopy() == Array("at-1".utf8))
    #expect(client.tokenEndpointNonce == "n-2")
    #expect(wire.requests.count == 2)
    let session = try client.sessionKey.publicKey()
    let first = try TestJWS.verify(F.header(wire.requests[0], "DPoP")!, key: session)
    let second = try TestJWS.verify(F.header(wire.requests[1], "DPoP")!, key: session)
    #expect(first.claims["nonce"] == nil)
    #expect(try second.claims.requiredString("nonce") == "n-1")
    #expect(try second.claims.requiredString("htm") == "POST")
    #expect(try second.claims.requiredString("htu") == F.issuer + "/oauth/token")
    #expect(second.claims["ath"] == nil)
    #expect(try first.claims.requiredString("jti") != second.claims.requiredString("jti"))
    let forms = wire.requests.map(F.form)
    #expect(forms[0]["client_assertion"] != forms[1]["client_assertion"])
    #expect(forms[1]["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code")
    #expect(forms[1]["device_code"] == "dc-1")
  }

  @Test func aSecondNonceChallengeIsNotFollowed() throws {
    let wire = CloudWire()
    for nonce in ["n-1", "n-2", "n-3"] {
      wire.answer(400, #"{"error":"use_dpop_nonce"}"#, headers: [HTTPHeader("DPoP-Nonce", nonce)])
    }
    var client = try F.client(wire)
    #expect(throws: CloudError.rejected(status: 400, OAuthError(code: .useDPoPNonce))) {
      try client.pollToken(deviceCode: "dc-1")
    }
    #expect(wire.requests.count == 2)
  }

  @Test func devicePollOutcomes() throws {
    let cases: [(String, DevicePollOutcome)] = [
      ("authorization_pending", .pending), ("slow_down", .slowDown), ("access_denied", .denied),
      ("expired_token", .expired),
    ]
    for (code, expected) in cases {
      let wire = CloudWire()
      wire.answer(400, #"{"error":"\#(code)"}"#)
      var client = try F.client(wire)
      let outcome = try client.pollToken(deviceCode: "dc-1")
      #expect(outcome == expected, "\(code)")
    }
  }

  @Test func tooManyRequestsCarriesRetryAfter() throws {
    let wire = CloudWire()
    wire.answer(429, #"{"error":"rate_limited"}"#, headers: [HTTPHeader("Retry-After", "7")])
    var client = try F.client(wire)
    do {
      _ = try client.pollToken(deviceCode: "dc-1")
      Issue.record("expected a throw")
    } catch {
      #expect(error == .unavailable(status: 429, retryAfterSeconds: 7))
      #expect(StepOutcome.classify(error) == .unavailable(.tooManyRequests(retryAfterMs: 7_000)))
    }
  }

  @Test func serviceUnavailableIsAServerError() throws {
    let wire = CloudWire()
    wire.answer(503, #"{"error":"temporarily_unavailable"}"#)
    var client = try F.client(wire)
    do {
      _ = try client.refresh(refreshToken: SecretBytes(Array("rt-1".utf8)))
      Issue.record("expected a throw")
    } catch {
      #expect(StepOutcome.classify(error) == .unavailable(.server(status: 503, retryAfterMs: nil)))
    }
  }

  @Test func malformedTokenBodyIsRefused() throws {
    let wire = CloudWire()
    wire.answer(200, "not json{")
    var client = try F.client(wire)
    do {
      _ = try client.pollToken(deviceCode: "dc-1")
      Issue.record("expected a throw")
    } catch {
      guard case .malformedResponse(200, .json) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(StepOutcome.classify(error) == .unavailable(.network))
    }
  }

  @Test func bearerTokenIsRefused() throws {
    let wire = CloudWire()
    wire.answer(200, #"{"access_token":"at-1","token_type":"Bearer"}"#)
    var client = try F.client(wire)
    #expect {
      try client.pollToken(deviceCode: "dc-1")
    } throws: { error in
      guard case .malformedResponse(200, .invalidValue("token_type", _)) = error as? CloudError else {
        return false
      }
      return true
    }
  }

  @Test func transportFailuresAreNetworkErrors() throws {
    let failures: [HTTPError] = [
      .responseTooLarge(limit: 65_536), .redirectRefused(status: 302, location: "https://other.invalid/x"),
      .timedOut,
    ]
    for failure in failures {
      let wire = CloudWire()
      wire.fail(failure)
      var client = try F.client(wire)
      do {
        _ = try client.pollToken(deviceCode: "dc-1")
        Issue.record("expected a throw")
      } catch {
        #expect(error == .transport(failure))
        #expect(StepOutcome.classify(error) == .unavailable(.network))
      }
    }
  }

  @Test func refreshRotatesOrReportsRevocation() throws {
    let wire = CloudWire()
    wire.answer(200, F.tokenBody)
    wire.answer(400, #"{"error":"invalid_grant","error_description":"revoked"}"#)
    var client = try F.client(wire)
    guard case .tokens(let tokens) = try client.refresh(refreshToken: SecretBytes(Array("rt+0&=".utf8)))
    else {
      Issue.record("expected tokens")
      return
    }
    #expect(tokens.refreshToken?.revealCopy() == Array("rt-1".utf8))
    let form = F.form(wire.requests[0])
    #expect(form["grant_type"] == "refresh_token")
    #expect(form["refresh_token"] == "rt+0&=")
    #expect(F.header(wire.requests[0], "DPoP") != nil)
    guard case .revoked(let error) = try client.refresh(refreshToken: SecretBytes(Array("rt-1".utf8))) else {
      Issue.record("expected revoked")
      return
    }
    #expect(error.code == .invalidGrant)
  }

  @Test func reportFollowsTheResourceServerNonce() throws {
    let wire = CloudWire()
    wire.answer(
      401, #"{"error":"use_dpop_nonce"}"#,
      headers: [
        HTTPHeader("WWW-Authenticate", #"DPoP error="use_dpop_nonce", algs="ES256""#),
        HTTPHeader("DPoP-Nonce", "r-1"),
      ])
    wire.answer(200, #"{"status":"accepted"}"#)
    var client = try F.client(wire)
    let token = SecretBytes(Array("at-1".utf8))
    let body = Array(#"{"schema":1}"#.utf8)
    let outcome = try client.report(accessToken: token, body: body)
    #expect(outcome == .accepted)
    #expect(client.resourceServerNonce == "r-1")
    #expect(client.tokenEndpointNonce == nil)
    #expect(wire.requests.count == 2)
    let request = wire.requests[1]
    #expect(request.url == F.issuer + "/v1/devices/cam-0001/report")
    #expect(request.body == body)
    #expect(F.header(request, "Authorization") == "DPoP at-1")
    #expect(F.header(request, "Content-Type") == "application/json")
    let proof = try TestJWS.verify(F.header(request, "DPoP")!, key: client.sessionKey.publicKey())
    #expect(try proof.claims.requiredString("nonce") == "r-1")
    #expect(try proof.claims.requiredString("ath") == DPoPProof.accessTokenHash(token))
    #expect(try proof.claims.requiredString("htu") == request.url)
  }

  @Test func reportWithARevokedTokenIsTokenRejected() throws {
    let wire = CloudWire()
    wire.answer(401, "", headers: [HTTPHeader("WWW-Authenticate", #"DPoP error="invalid_token""#)])
    var client = try F.client(wire)
    let outcome = try client.report(accessToken: SecretBytes(Array("at-1".utf8)), body: [])
    #expect(outcome == .tokenRejected(OAuthError(code: .invalidToken)))
    #expect(wire.requests.count == 1)
  }

  @Test func reportRefusedForAnotherDevice() throws {
    let wire = CloudWire()
    wire.answer(403, "", headers: [HTTPHeader("WWW-Authenticate", #"DPoP error="insufficient_scope""#)])
    var client = try F.client(wire)
    #expect(throws: CloudError.rejected(status: 403, OAuthError(code: .insufficientScope))) {
      try client.report(accessToken: SecretBytes(Array("at-1".utf8)), body: [])
    }
  }

  @Test func revocationSendsTheRefreshToken() throws {
    let wire = CloudWire()
    wire.answer(200, "")
    var client = try F.client(wire)
    try client.revoke(refreshToken: SecretBytes(Array("rt-1".utf8)))
    let form = F.form(wire.requests[0])
    #expect(wire.requests[0].url == F.issuer + "/oauth/revoke")
    #expect(form["token"] == "rt-1")
    #expect(form["token_type_hint"] == "refresh_token")
    #expect(form["client_assertion"] != nil)
  }

  /// A camera at 1970 learns the time from discovery's `Date` and signs
  /// with it; a refusal that arrives with a corrected clock is retried once.
  @Test func unsyncedClockLearnsFromDate() throws {
    let wire = CloudWire()
    wire.answer(200, F.metadataBody, headers: [HTTPHeader("Date", F.serverDate)])
    wire.answer(404, "")
    wire.answer(400, #"{"error":"authorization_pending"}"#)
    var client = try F.client(wire, localTime: 0, discovered: false)
    try client.discover()
    #expect(client.clock.now() == F.serverTime)
    let pending = try client.pollToken(deviceCode: "dc-1")
    #expect(pending == .pending)
    let proof = try TestJWS.decode(F.header(wire.requests[2], "DPoP")!)
    #expect(try proof.claims.requiredInt("iat") == F.serverTime)

    let cold = CloudWire()
    cold.answer(401, #"{"error":"invalid_client"}"#, headers: [HTTPHeader("Date", F.serverDate)])
    cold.answer(400, #"{"error":"authorization_pending"}"#, headers: [HTTPHeader("Date", F.serverDate)])
    var coldClient = try F.client(cold, localTime: 0)
    let coldOutcome = try coldClient.pollToken(deviceCode: "dc-1")
    #expect(coldOutcome == .pending)
    let first = try TestJWS.decode(F.form(cold.requests[0])["client_assertion"]!)
    let second = try TestJWS.decode(F.form(cold.requests[1])["client_assertion"]!)
    // Before any Date: the time floor, never the board's 1970.
    #expect(try first.claims.requiredInt("iat") == F.buildTime)
    #expect(try second.claims.requiredInt("iat") == F.serverTime)
  }

  @Test func aRefusedClientIsClassifiedForTheIdentityBackoff() throws {
    let wire = CloudWire()
    wire.answer(401, #"{"error":"invalid_client"}"#, headers: [HTTPHeader("Date", F.serverDate)])
    var client = try F.client(wire)
    do {
      _ = try client.requestDeviceCode()
      Issue.record("expected a throw")
    } catch {
      // Kept, and retried only under the identity's long backoff: never a hot retry.
      #expect(StepOutcome.classify(error) == .clientRefused)
    }
    #expect(wire.requests.count == 1)
  }
}

extension DevicePollOutcome: Equatable {
  public static func == (a: DevicePollOutcome, b: DevicePollOutcome) -> Bool {
    switch (a, b) {
    case (.pending, .pending), (.slowDown, .slowDown), (.denied, .denied), (.expired, .expired): return true
    case (.tokens(let x), .tokens(let y)): return x.accessToken.equals(y.accessToken)
    default: return false
    }
  }
}
