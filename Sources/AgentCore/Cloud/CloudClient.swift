/// The device side of the protocol contract, one method per protocol step:
/// RFC 8414 discovery, RFC 8628 device grant, RFC 6749 §6 refresh, RFC 7009
/// revocation and the DPoP-authorized status report at the maker's API (a
/// protected resource, RFC 9728 metadata where it publishes it), with
/// RFC 7523 client assertions and RFC 9449 proofs made here. Nothing beyond
/// the RFCs is asked of either server.
///
/// Each step sends its request (plus at most one retry, for a fresh DPoP
/// nonce or a clock learned from that very answer) and returns an outcome;
/// it never sleeps and never decides what happens next. That is the session
/// machine's and storm control's job, which keeps this usable by the daemon,
/// the tests and the fleet simulation alike.
///
/// Transport, randomness and the local clock are generic parameters (no
/// existentials: the same code compiles in Embedded Swift).
public struct CloudClient<Transport: HTTPTransport, Random: RandomSource, Clock: WallClock> {
  public var transport: Transport
  public var random: Random
  public var clock: ClockCorrection<Clock>
  /// The configured issuer; the metadata must name exactly this one.
  public let issuer: String
  /// The report API's base URL (`api_base`, default the issuer's origin):
  /// `POST {apiBase}/v1/devices/{device_id}/report`, and the RFC 9728
  /// resource identifier its metadata must name.
  public let apiBase: String
  /// The device id, which is the OAuth `client_id`.
  public let deviceID: String
  /// Signs client assertions; made at the factory, registered with the cloud.
  public var identityKey: P256PrivateKey
  /// Signs DPoP proofs; a new one at each activation (replace it before
  /// `requestDeviceCode()` of a re-activation).
  public var sessionKey: P256PrivateKey
  /// From `discover()`, or restored by the caller.
  public var metadata: ServerMetadata?
  /// From `discover()`: the report API's RFC 9728 metadata, nil when the
  /// API does not publish it (404).
  public private(set) var resourceMetadata: ProtectedResourceMetadata?
  /// Development only: accepts `http://` endpoints in the metadata.
  public var allowPlainHTTP: Bool
  /// Longest `Retry-After` read from a response; storm control bounds it again.
  public var maxRetryAfterSeconds: Int64 = 86_400
  /// The last `DPoP-Nonce` of the token endpoint (the authorization server).
  public private(set) var tokenEndpointNonce: String?
  /// The last `DPoP-Nonce` of the report API (the resource server).
  public private(set) var resourceServerNonce: String?

  public init(
    transport: Transport, random: Random, clock: ClockCorrection<Clock>, issuer: String, deviceID: String,
    identityKey: P256PrivateKey, sessionKey: P256PrivateKey, allowPlainHTTP: Bool = false,
    apiBase: String? = nil
  ) {
    self.transport = transport
    self.random = random
    self.clock = clock
    self.issuer = issuer
    self.apiBase = apiBase ?? WellKnownURL.origin(issuer) ?? issuer
    self.deviceID = deviceID
    self.identityKey = identityKey
    self.sessionKey = sessionKey
    self.allowPlainHTTP = allowPlainHTTP
  }

  // MARK: - Steps

  /// RFC 8414: fetches and checks the metadata (the `issuer` member must be
  /// the configured issuer, byte for byte), and keeps it in `metadata`; then
  /// RFC 9728: the report API's metadata, where published, must name the
  /// API base and list the issuer (`resourceMetadata`). A document that
  /// fails a check fails discovery, before any credential is sent.
  @discardableResult
  public mutating func discover() throws(CloudError) -> ServerMetadata {
    let parsed = try discoverAuthorizationServer()
    resourceMetadata = try discoverResource()
    metadata = parsed
    return parsed
  }

  private mutating func discoverAuthorizationServer() throws(CloudError) -> ServerMetadata {
    let request = HTTPRequest(
      method: .get, url: ServerMetadata.metadataURL(issuer: issuer),
      headers: [HTTPHeader("Accept", "application/json")])
    let response = try exchange(request).response
    guard response.status == 200 else { throw failure(response) }
    let parsed: ServerMetadata
    do throws(OAuthMessageError) {
      parsed = try ServerMetadata.parse(response.body, expectedIssuer: issuer, allowPlainHTTP: allowPlainHTTP)
    } catch {
      throw .malformedResponse(status: response.status, error)
    }
    return parsed
  }

  /// `GET {origin}/.well-known/oauth-protected-resource{path}`: 404 means
  /// the API publishes no metadata, and the configured base is used as is.
  private mutating func discoverResource() throws(CloudError) -> ProtectedResourceMetadata? {
    let request = HTTPRequest(
      method: .get, url: ProtectedResourceMetadata.metadataURL(resource: apiBase),
      headers: [HTTPHeader("Accept", "application/json")])
    let response = try exchange(request).response
    if response.status == 404 { return nil }
    guard response.status == 200 else { throw failure(response) }
    do throws(OAuthMessageError) {
      return try ProtectedResourceMetadata.parse(response.body, expectedResource: apiBase, issuer: issuer)
    } catch {
      throw .malformedResponse(status: response.status, error)
    }
  }

  /// RFC 8628 §3.1: asks for a device code and the user code the owner
  /// enters on the phone. Client-authenticated; no DPoP proof (RFC 9449
  /// binds tokens at the token endpoint, which is where the proof goes).
  public mutating func requestDeviceCode() throws(CloudError) -> DeviceAuthorization {
    let endpoint = try requireMetadata().deviceAuthorizationEndpoint
    let response = try clientAuthenticatedPost(endpoint, withProof: false) { _ in }
    guard response.status == 200 else { throw failure(response) }
    do throws(OAuthMessageError) {
      return try DeviceAuthorization.parse(response.body, allowPlainHTTP: allowPlainHTTP)
    } catch {
      throw .malformedResponse(status: response.status, error)
    }
  }

  /// RFC 8628 §3.4: one poll with the device code. The expected answers
  /// (pending, slow down, denied, expired) are outcomes; anything else throws.
  public mutating func pollToken(deviceCode: String) throws(CloudError) -> DevicePollOutcome {
    let endpoint = try requireMetadata().tokenEndpoint
    let response = try clientAuthenticatedPost(endpoint, withProof: true) { form in
      form.append("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
      form.append("device_code", deviceCode)
    }
    if response.status == 200 { return .tokens(try tokens(response)) }
    let error = failure(response)
    if case .rejected(_, let oauth) = error {
      switch oauth.code {
      case .authorizationPending: return .pending
      case .slowDown: return .slowDown
      case .accessDenied: return .denied
      case .expiredToken: return .expired
      default: break
      }
    }
    throw error
  }

  /// RFC 6749 §6: exchanges the refresh token for new tokens (the server
  /// rotates it). `invalid_grant` is the forced re-authentication signal.
  public mutating func refresh(refreshToken: SecretBytes) throws(CloudError) -> RefreshOutcome {
    let endpoint = try requireMetadata().tokenEndpoint
    let response = try clientAuthenticatedPost(endpoint, withProof: true) { form in
      form.append("grant_type", "refresh_token")
      form.append("refresh_token", secret: refreshToken)
    }
    if response.status == 200 { return .tokens(try tokens(response)) }
    let error = failure(response)
    if case .rejected(_, let oauth) = error, oauth.code == .invalidGrant { return .revoked(oauth) }
    throw error
  }

  /// `POST {api}/v1/devices/{device_id}/report` with `Authorization:
  /// DPoP <token>` and a proof carrying `ath`. A 401 `use_dpop_nonce` is
  /// retried once with the resource server's new nonce.
  public mutating func report(accessToken: SecretBytes, body: [UInt8]) throws(CloudError) -> ReportOutcome {
    _ = try requireMetadata()
    let url = reportURL
    // The header value must be a String (HTTPHeader): built once from one
    // exactly sized buffer, and both zeroed when the report is done.
    var value: [UInt8] = []
    value.reserveCapacity(5 + accessToken.count)
    value.append(contentsOf: Array("DPoP ".utf8))
    accessToken.withUnsafeBytes { raw in value.append(contentsOf: raw) }
    let authorization = String(decoding: value, as: UTF8.self)
    SecretBytes.cleanse(value)
    defer { SecretBytes.cleanse(authorization) }
    var retried = false
    while true {
      let proof = try makeProof(url: url, nonce: resourceServerNonce, accessToken: accessToken)
      let request = HTTPRequest(
        method: .post, url: url,
        headers: [
          HTTPHeader("Content-Type", "application/json"), HTTPHeader("Accept", "application/json"),
          HTTPHeader("Authorization", authorization), HTTPHeader("DPoP", proof),
        ],
        body: body)
      let (response, clockMoved) = try exchange(request)
      let nonceArrived = learnNonce(response, into: &resourceServerNonce)
      if (200...299).contains(response.status) { return .accepted }
      let error = failure(response)
      guard case .rejected(_, let oauth) = error else { throw error }
      if !retried, shouldRetry(oauth.code, nonceArrived: nonceArrived, clockMoved: clockMoved) {
        retried = true
        continue
      }
      if oauth.code == .invalidToken { return .tokenRejected(oauth) }
      throw error
    }
  }

  /// RFC 7009: revokes the refresh token (and, at servers like the
  /// reference cloud, its whole token family). 200 also covers a token the
  /// server no longer knows, which is what unpairing wants.
  public mutating func revoke(refreshToken: SecretBytes) throws(CloudError) {
    guard let endpoint = try requireMetadata().revocationEndpoint else {
      throw .endpointMissing("revocation_endpoint")
    }
    let response = try clientAuthenticatedPost(endpoint, withProof: false) { form in
      form.append("token", secret: refreshToken)
      form.append("token_type_hint", "refresh_token")
    }
    guard response.status == 200 else { throw failure(response) }
  }

  // MARK: - Requests

  private func requireMetadata() throws(CloudError) -> ServerMetadata {
    guard let metadata else { throw .notDiscovered }
    return metadata
  }

  /// The report URL (SPEC): the API base without a trailing `/`, then
  /// `/v1/devices/`, the percent-encoded device id, `/report`.
  public var reportURL: String {
    var bytes = Array(apiBase.utf8)
    if bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
    bytes.append(contentsOf: Array("/v1/devices/".utf8))
    FormEncoding.percentEncode(Array(deviceID.utf8), into: &bytes)
    bytes.append(contentsOf: Array("/report".utf8))
    return String(decoding: bytes, as: UTF8.self)
  }

  /// A form POST with RFC 7523 client authentication, and a DPoP proof at
  /// the token endpoint. Retried once when the answer supplies what the
  /// first attempt lacked: a `DPoP-Nonce` after `use_dpop_nonce`, or a
  /// corrected clock after a refusal of the assertion or proof timestamps.
  /// A fresh assertion and proof are made for the retry (their `jti`s are
  /// single use).
  private mutating func clientAuthenticatedPost(
    _ url: String, withProof: Bool, fields: (inout FormEncoding) -> Void
  ) throws(CloudError) -> HTTPResponse {
    let audience = try requireMetadata().issuer
    var retried = false
    while true {
      var form = FormEncoding()
      // The body holds the refresh token (or device code) and the assertion:
      // zeroed once this attempt is over, sent or not.
      defer { form.wipe() }
      fields(&form)
      form.append("client_id", deviceID)
      form.append("client_assertion_type", ClientAssertion.assertionType)
      form.append("client_assertion", try makeAssertion(audience: audience))
      var headers = [
        HTTPHeader("Content-Type", FormEncoding.contentType), HTTPHeader("Accept", "application/json"),
      ]
      if withProof {
        headers.append(
          HTTPHeader("DPoP", try makeProof(url: url, nonce: tokenEndpointNonce, accessToken: nil)))
      }
      let (response, clockMoved) = try exchange(
        HTTPRequest(method: .post, url: url, headers: headers, body: form.bytes))
      let nonceArrived = withProof && learnNonce(response, into: &tokenEndpointNonce)
      guard !retried, response.status == 400 || response.status == 401,
        let oauth = Self.oauthError(response),
        shouldRetry(oauth.code, nonceArrived: nonceArrived, clockMoved: clockMoved)
      else { return response }
      retried = true
    }
  }

  private func shouldRetry(_ code: OAuthError.Code, nonceArrived: Bool, clockMoved: Bool) -> Bool {
    switch code {
    case .useDPoPNonce: return nonceArrived
    case .invalidClient, .invalidDPoPProof: return clockMoved
    default: return false
    }
  }

  /// Sends one request, its server certificate judged at the agent's time,
  /// and learns the server's clock from its `Date` (bounded by that
  /// certificate: `ClockCorrection`).
  private mutating func exchange(
    _ request: HTTPRequest
  ) throws(CloudError) -> (response: HTTPResponse, clockMoved: Bool) {
    var request = request
    request.certificateCheckTime = clock.certificateCheckTime
    let response: HTTPResponse
    do throws(HTTPError) {
      response = try transport.send(request)
    } catch {
      throw .transport(error)
    }
    let clockMoved = clock.observe(dateHeader: response.header("Date"), validity: response.peerValidity)
    return (response, clockMoved)
  }

  /// Keeps an acceptable `DPoP-Nonce`; returns whether the response had one.
  private func learnNonce(_ response: HTTPResponse, into nonce: inout String?) -> Bool {
    guard let value = response.header("DPoP-Nonce"), DPoPProof.isAcceptableNonce(value) else { return false }
    nonce = value
    return true
  }

  private mutating func makeAssertion(audience: String) throws(CloudError) -> String {
    let assertion = ClientAssertion(clientID: deviceID, audience: audience, issuedAt: clock.now())
    do throws(CryptoError) {
      return try assertion.signed(with: identityKey, random: &random)
    } catch {
      throw .crypto(error)
    }
  }

  private mutating func makeProof(
    url: String, nonce: String?, accessToken: SecretBytes?
  ) throws(CloudError) -> String {
    let proof = DPoPProof(
      method: .post, url: url, issuedAt: clock.now(), nonce: nonce, accessToken: accessToken)
    do throws(CryptoError) {
      return try proof.signed(with: sessionKey, random: &random)
    } catch {
      throw .crypto(error)
    }
  }

  /// The tokens of a 200 answer. The body is zeroed afterwards, parsed or
  /// not: it held them in plaintext (issue 13 item 9), and nothing reads it
  /// again.
  private func tokens(_ response: HTTPResponse) throws(CloudError) -> TokenResponse {
    defer { SecretBytes.cleanse(response.body) }
    do throws(OAuthMessageError) {
      return try TokenResponse.parse(response.body)
    } catch {
      throw .malformedResponse(status: response.status, error)
    }
  }

  // MARK: - Classifying answers

  /// What a response that is not the step's success means. 429 and 5xx are
  /// "come back later" whatever the body says (a load balancer's page, or
  /// an OAuth `temporarily_unavailable`).
  private func failure(_ response: HTTPResponse) -> CloudError {
    let status = response.status
    if status == 429 || (500...599).contains(status) {
      var retryAfter: Int64? = nil
      if let value = response.header("Retry-After") {
        let serverDate = response.header("Date").flatMap { HTTPDate.parse($0) }
        retryAfter = RetryAfter.delaySeconds(value, serverDate: serverDate, maximum: maxRetryAfterSeconds)
      }
      return .unavailable(status: status, retryAfterSeconds: retryAfter)
    }
    if let oauth = Self.oauthError(response) { return .rejected(status: status, oauth) }
    return .unexpectedStatus(status)
  }

  /// The OAuth error of a refusal: a 401 or 403's `WWW-Authenticate: DPoP`
  /// challenge first (RFC 6750 §3.1 puts `invalid_token` and
  /// `insufficient_scope` there), else an RFC 6749 §5.2 body.
  private static func oauthError(_ response: HTTPResponse) -> OAuthError? {
    if response.status == 401 || response.status == 403,
      let challenge = WWWAuthenticate.dpopError(in: response.headers)
    {
      return challenge
    }
    do throws(OAuthMessageError) {
      return try OAuthError.parse(response.body)
    } catch {
      return nil
    }
  }
}
