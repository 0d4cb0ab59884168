import AgentCore
import AgentTestSupport
import Testing

/// The report API as a standard protected resource (RFC 9728), its base
/// from the configuration, and the session bound to its issuer (issue 12).
@Suite struct ProtectedResourceTests {
  typealias F = CloudFixtures
  static let issuer = "https://cloud.example.test"

  func prm(
    _ resource: String = issuer, servers: String = #"["https://cloud.example.test"]"#, extra: String = ""
  )
    -> [UInt8]
  {
    Array(#"{"resource":"\#(resource)","authorization_servers":\#(servers)\#(extra)}"#.utf8)
  }

  func prmError(_ body: [UInt8], resource: String = issuer) -> OAuthMessageError? {
    do throws(OAuthMessageError) {
      _ = try ProtectedResourceMetadata.parse(body, expectedResource: resource, issuer: Self.issuer)
      return nil
    } catch {
      return error
    }
  }

  @Test func wellKnownURLs() {
    #expect(
      ProtectedResourceMetadata.metadataURL(resource: "https://api.example")
        == "https://api.example/.well-known/oauth-protected-resource")
    #expect(
      ProtectedResourceMetadata.metadataURL(resource: "https://api.example:8443/cams/")
        == "https://api.example:8443/.well-known/oauth-protected-resource/cams")
    #expect(
      ServerMetadata.metadataURL(issuer: "https://a.example/tenant")
        == "https://a.example/.well-known/oauth-authorization-server/tenant")
    #expect(WellKnownURL.origin("https://a.example:1/x/y") == "https://a.example:1")
    #expect(WellKnownURL.origin("https://a.example") == "https://a.example")
    #expect(WellKnownURL.origin("a.example/x") == nil)
  }

  @Test func parsesTheRFC9728Members() throws {
    let members =
      #","dpop_bound_access_tokens_required":true,"dpop_signing_alg_values_supported":["RS256","ES256"],"bearer_methods_supported":["header"]"#
    let parsed = try ProtectedResourceMetadata.parse(
      prm(extra: members),
      expectedResource: Self.issuer, issuer: Self.issuer)
    #expect(parsed.resource == Self.issuer)
    #expect(parsed.authorizationServers == [Self.issuer])
    #expect(parsed.dpopBoundAccessTokensRequired)
  }

  /// RFC 9728 §3.3: the resource named must be identical to the configured one.
  @Test(arguments: [
    "https://cloud.example.test/", "https://Cloud.example.test", "https://cloud.example.test:443",
    "https://evil.example", "https://cloud.example.test/v1", "",
  ])
  func resourceMustBeIdentical(resource: String) {
    guard case .invalidValue("resource", _)? = prmError(prm(resource)) else {
      Issue.record("\(resource) accepted")
      return
    }
  }

  @Test func issuerMustBeListedAndES256Allowed() {
    #expect(
      prmError(prm(servers: #"["https://other.example"]"#))
        == .invalidValue(
          "authorization_servers", reason: "does not list the configured issuer '\(Self.issuer)'"))
    #expect(
      prmError(Array(#"{"resource":"\#(Self.issuer)"}"#.utf8))
        == .invalidValue(
          "authorization_servers", reason: "does not list the configured issuer '\(Self.issuer)'"))
    #expect(prmError(prm(servers: #"["https://cloud.example.test/"]"#)) != nil)
    #expect(
      prmError(prm(extra: #","dpop_signing_alg_values_supported":["RS256"]"#))
        == .invalidValue("dpop_signing_alg_values_supported", reason: "does not include ES256"))
    #expect(prmError(prm(extra: #","dpop_bound_access_tokens_required":"yes""#)) != nil)
    #expect(prmError(Array("not json".utf8)) != nil)
    #expect(prmError(prm(servers: #"["a", "https://cloud.example.test"]"#)) == nil)
  }

  /// Over random one-byte edits of the resource: accepted only when identical.
  @Test func randomResourceEditsAreRefused() {
    var generator = SystemRandomNumberGenerator()
    let base = Array(Self.issuer.utf8)
    for _ in 0..<1000 {
      var edited = base
      let index = Int.random(in: 0..<edited.count, using: &generator)
      edited[index] = UInt8.random(in: 0x21...0x7e, using: &generator)
      if edited[index] == UInt8(ascii: "\"") || edited[index] == UInt8(ascii: "\\") { continue }
      let text = String(decoding: edited, as: UTF8.self)
      #expect((prmError(prm(text)) == nil) == (edited == base), "\(text)")
    }
  }

  func client(_ wire: CloudWire, apiBase: String? = nil, issuer: String = issuer) throws -> F.Client {
    F.Client(
      transport: CloudScriptedTransport(wire: wire), random: CloudCountingRandom(),
      clock: ClockCorrection(clock: FixedWallClock(F.serverTime)), issuer: issuer, deviceID: F.deviceID,
      identityKey: try P256PrivateKey.generate(), sessionKey: try P256PrivateKey.generate(), apiBase: apiBase)
  }

  @Test func discoveryReadsTheResourceMetadata() throws {
    let wire = CloudWire()
    wire.answer(200, F.metadataBody)
    wire.answer(
      200, String(decoding: prm(extra: #","dpop_bound_access_tokens_required":true"#), as: UTF8.self))
    var client = try client(wire)
    try client.discover()
    #expect(
      wire.requests.map(\.url) == [
        Self.issuer + "/.well-known/oauth-authorization-server",
        Self.issuer + "/.well-known/oauth-protected-resource",
      ])
    #expect(client.resourceMetadata?.dpopBoundAccessTokensRequired == true)
    #expect(client.metadata == F.metadata)
  }

  /// A resource that names another authorization server gets no token: the
  /// discovery fails before any credential is sent.
  @Test func aResourceOfAnotherIssuerFailsDiscovery() throws {
    let wire = CloudWire()
    wire.answer(200, F.metadataBody)
    wire.answer(200, String(decoding: prm(servers: #"["https://other.example"]"#), as: UTF8.self))
    var client = try client(wire)
    #expect {
      try client.discover()
    } throws: { error in
      guard case .malformedResponse(200, .invalidValue("authorization_servers", _)) = error as? CloudError
      else {
        return false
      }
      return true
    }
    #expect(client.metadata == nil)
    #expect(throws: CloudError.notDiscovered) { try client.report(accessToken: SecretBytes([1]), body: []) }
    #expect(wire.requests.count == 2)

    let busy = CloudWire()
    busy.answer(200, F.metadataBody)
    busy.answer(503, "")
    var busyClient = try self.client(busy)
    #expect(throws: CloudError.unavailable(status: 503, retryAfterSeconds: nil)) { try busyClient.discover() }
  }

  @Test func reportGoesToTheConfiguredAPIBase() throws {
    for (apiBase, issuer, expected) in [
      (nil, Self.issuer, Self.issuer + "/v1/devices/cam-0001/report"),
      (nil, Self.issuer + "/tenant/7", Self.issuer + "/v1/devices/cam-0001/report"),
      ("https://api.example", Self.issuer, "https://api.example/v1/devices/cam-0001/report"),
      ("https://api.example/cams/", Self.issuer, "https://api.example/cams/v1/devices/cam-0001/report"),
    ] as [(String?, String, String)] {
      let wire = CloudWire()
      wire.answer(200, #"{"status":"accepted"}"#)
      var client = try client(wire, apiBase: apiBase, issuer: issuer)
      client.metadata = F.metadata
      #expect(client.reportURL == expected)
      #expect(try client.report(accessToken: SecretBytes(Array("at".utf8)), body: []) == .accepted)
      #expect(wire.requests.first?.url == expected)
    }
  }

  // MARK: - Configuration

  func config(_ text: String) throws(ConfigError) -> AgentConfig {
    try AgentConfig(file: try ConfigFile(path: "agent.conf", text: Array(text.utf8)))
  }

  @Test func apiBaseDefaultsToTheIssuersOrigin() throws {
    #expect(
      try config("server = https://id.example:8443/tenant").effectiveAPIBase == "https://id.example:8443")
    let explicit = try config("server = https://id.example\napi_base = https://api.example/cams")
    #expect(explicit.effectiveAPIBase == "https://api.example/cams")
    let plain = try config(
      "api_base = http://127.0.0.1:1\nserver = http://127.0.0.1:2\nallow_insecure_http = yes")
    #expect(plain.effectiveAPIBase == "http://127.0.0.1:1")
  }

  @Test(arguments: [
    "api_base = http://api.example", "api_base = ftp://api.example", "api_base = api.example",
    "api_base = https://api.example/?x=1", "api_base = https://api.example/#x",
    "api_base = https://u@api.example",
    "api_base = https://", "server = https://id.example/?tenant=1", "server = https://u@id.example",
  ])
  func unusableAPIBaseIsAConfigurationError(line: String) {
    #expect(throws: ConfigError.self, "\(line)") { _ = try config("server = https://id.example\n" + line) }
  }

  // MARK: - Session bound to its issuer

  func session(issuer: String?, api: String?, tokens: Bool = true) -> VaultContents {
    var contents = VaultContents(deviceID: "cam-0001")
    contents.identityKey = SecretBytes(Array("id".utf8))
    if tokens {
      contents.refreshToken = SecretBytes(Array("rt".utf8))
      contents.accessToken = SecretBytes(Array("at".utf8))
      contents.accessTokenExpiry = 1_800_000_000
    }
    contents.sessionIssuer = issuer
    contents.sessionAPIBase = api
    return contents
  }

  @Test func bindingVerdicts() throws {
    let a = try config("server = https://a.example")
    let b = try config("server = https://b.example")
    let aOtherAPI = try config("server = https://a.example\napi_base = https://api.a.example")
    let recorded = session(issuer: "https://a.example", api: "https://a.example")
    #expect(SessionBinding.check(recorded, config: a) == .matches)
    #expect(
      SessionBinding.check(recorded, config: b)
        == .issuerChanged(recorded: "https://a.example", configured: "https://b.example"))
    #expect(
      SessionBinding.check(recorded, config: aOtherAPI)
        == .apiBaseChanged(recorded: "https://a.example", configured: "https://api.a.example"))
    #expect(SessionBinding.check(session(issuer: nil, api: nil), config: b) == .unrecorded)
    #expect(
      SessionBinding.check(session(issuer: "https://a.example", api: nil, tokens: false), config: b)
        == .matches)
    // A trailing slash is another issuer (RFC 8414 §3.3 compares byte for byte).
    let slash = try config("server = https://a.example/")
    #expect(SessionBinding.check(recorded, config: slash) != .matches)

    #expect(SessionBinding.reloadRefusal(recorded, config: a) == nil)
    #expect(SessionBinding.reloadRefusal(recorded, config: b)?.contains("camera-agent reauth") == true)
    #expect(SessionBinding.reloadRefusal(recorded, config: aOtherAPI) != nil)

    // Repairs before the daemon starts: a legacy record is stamped, a new
    // API base expires the access token, another issuer is left alone.
    let stamped = try #require(SessionBinding.repaired(session(issuer: nil, api: nil), config: a))
    #expect(stamped.sessionIssuer == "https://a.example" && stamped.sessionAPIBase == "https://a.example")
    let expired = try #require(SessionBinding.repaired(recorded, config: aOtherAPI))
    #expect(expired.accessTokenExpiry == 0 && expired.sessionAPIBase == "https://api.a.example")
    #expect(SessionBinding.repaired(recorded, config: b) == nil)
    #expect(SessionBinding.repaired(recorded, config: a) == nil)
  }

  /// Property over random issuers: after `record` with a configuration, the
  /// check matches that configuration and refuses every other issuer; a
  /// record without tokens carries no binding.
  @Test func recordThenCheckOverRandomIssuers() throws {
    var generator = SystemRandomNumberGenerator()
    let hosts = ["a.example", "b.example", "A.example", "a.example:8443", "a.example/t", "a.example/"]
    for _ in 0..<300 {
      let first = try config("server = https://" + hosts.randomElement(using: &generator)!)
      let second = try config("server = https://" + hosts.randomElement(using: &generator)!)
      var contents = session(issuer: nil, api: nil, tokens: Bool.random(using: &generator))
      SessionBinding.record(&contents, config: first)
      let hasTokens = contents.refreshToken != nil
      #expect((contents.sessionIssuer != nil) == hasTokens)
      #expect(SessionBinding.check(contents, config: first) == .matches)
      let verdict = SessionBinding.check(contents, config: second)
      if !hasTokens || first.server == second.server {
        #expect(
          verdict == .matches
            || verdict
              == .apiBaseChanged(recorded: first.effectiveAPIBase, configured: second.effectiveAPIBase)
        )
      } else {
        #expect(verdict == .issuerChanged(recorded: first.server, configured: second.server))
      }
    }
  }

  @Test func theVaultKeepsTheBindingAcrossCommits() throws {
    var vault = Vault(
      store: MemorySlotStore(), hardwareKey: SecretBytes(Array("board key for the binding tests!".utf8)))
    var random = SeededRandom(seed: 12)
    try vault.commit(session(issuer: "https://a.example", api: "https://api.a.example/x"), random: &random)
    var reopened = Vault(
      store: vault.store, hardwareKey: SecretBytes(Array("board key for the binding tests!".utf8)))
    let opened = try #require(try reopened.open())
    #expect(opened.sessionIssuer == "https://a.example")
    #expect(opened.sessionAPIBase == "https://api.a.example/x")
    try vault.commit(session(issuer: nil, api: nil, tokens: false), random: &random)
    var again = Vault(
      store: vault.store, hardwareKey: SecretBytes(Array("board key for the binding tests!".utf8)))
    let cleared = try #require(try again.open())
    #expect(cleared.sessionIssuer == nil && cleared.sessionAPIBase == nil)
  }
}
