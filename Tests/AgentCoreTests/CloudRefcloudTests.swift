import AgentCore
import Foundation
import Testing

/// The agent's protocol steps against the reference cloud (Authlib, joserfc)
/// over real TLS with libcurl: the independent reading of the RFCs.
@Suite struct CloudRefcloudTests {
  typealias Client<Clock: WallClock> = CloudClient<CurlTransport, SystemRandom, Clock>

  static func client<Clock: WallClock>(
    _ cloud: CloudRefcloud, deviceID: String, clock: Clock
  ) throws -> Client<Clock> {
    let identity = try P256PrivateKey.generate()
    try cloud.register(deviceID: deviceID, identity: identity)
    return Client(
      transport: CurlTransport(policy: HTTPPolicy(caFile: cloud.caFile)), random: SystemRandom(),
      clock: ClockCorrection(clock: clock), issuer: cloud.issuer, deviceID: deviceID,
      identityKey: identity, sessionKey: try P256PrivateKey.generate())
  }

  /// The poll interval is 1 s; polling sooner is `slow_down`.
  static func waitInterval() { Thread.sleep(forTimeInterval: 1.1) }

  /// Device grant through to tokens: request a code, one pending poll, the
  /// owner approves with TOTP, the next poll returns DPoP-bound tokens.
  static func activate<Clock: WallClock>(
    _ client: inout Client<Clock>, _ cloud: CloudRefcloud
  ) throws -> TokenResponse {
    try client.discover()
    let grant = try client.requestDeviceCode()
    #expect(grant.interval == 1)
    waitInterval()
    #expect(try client.pollToken(deviceCode: grant.deviceCode) == .pending)
    try cloud.approve(userCode: grant.userCode)
    waitInterval()
    guard case .tokens(let tokens) = try client.pollToken(deviceCode: grant.deviceCode) else {
      throw CloudRefcloud.Failure(description: "no tokens after approval")
    }
    return tokens
  }

  static func reportBody(_ deviceID: String) -> [UInt8] {
    Array(
      #"""
      {"schema":1,"device_id":"\#(deviceID)","firmware_version":"1.2.3","last_activation":"2026-11-28T09:41Z",\#
      "agent_version":"0.1.0"}
      """#.utf8)
  }

  @Test func fullLifecycleWithMassLogout() throws {
    let cloud = try CloudRefcloud()
    let deviceID = "cam-e2e-0001"
    var client = try Self.client(cloud, deviceID: deviceID, clock: SystemWallClock())
    let tokens = try Self.activate(&client, cloud)
    #expect(client.tokenEndpointNonce != nil)

    // The cloud bound the session to this device's DPoP key.
    let jkt = try PublicJWK(client.sessionKey.publicKey()).thumbprint()
    #expect(try cloud.deviceState(deviceID)["current_jkt"] as? String == jkt)

    let body = Self.reportBody(deviceID)
    #expect(try client.report(accessToken: tokens.accessToken, body: body) == .accepted)
    #expect(client.resourceServerNonce != nil)
    let lastReport = try cloud.deviceState(deviceID)["last_report"] as? [String: Any]
    #expect(
      lastReport?["schema_problems"] as? [Any] == nil || (lastReport?["schema_problems"] as? [Any])!.isEmpty)

    // Rotation: a new refresh token, bound to the same key.
    guard case .tokens(let rotated) = try client.refresh(refreshToken: tokens.refreshToken!) else {
      Issue.record("refresh did not rotate")
      return
    }
    let newRefresh = try #require(rotated.refreshToken)
    #expect(!newRefresh.equals(tokens.refreshToken!))
    #expect(try client.report(accessToken: rotated.accessToken, body: body) == .accepted)

    // Mass logout: the refresh is invalid_grant, the API invalid_token.
    try cloud.revokeAll()
    guard case .revoked(let refused) = try client.refresh(refreshToken: newRefresh) else {
      Issue.record("refresh after revoke-all was not refused")
      return
    }
    #expect(refused.code == .invalidGrant)
    let reported = try client.report(accessToken: rotated.accessToken, body: body)
    guard case .tokenRejected(let rejection) = reported else {
      Issue.record("report after revoke-all: \(reported)")
      return
    }
    #expect(rejection.code == .invalidToken)

    // Unpairing still revokes cleanly (RFC 7009: 200 for a dead token).
    try client.revoke(refreshToken: newRefresh)
  }

  /// Re-activation after a mass logout with a new session key: the new
  /// family is bound to the new key.
  @Test func reactivationWithANewSessionKey() throws {
    let cloud = try CloudRefcloud()
    let deviceID = "cam-e2e-0002"
    var client = try Self.client(cloud, deviceID: deviceID, clock: SystemWallClock())
    _ = try Self.activate(&client, cloud)
    try cloud.revokeAll()
    client.sessionKey = try P256PrivateKey.generate()
    let tokens = try Self.activate(&client, cloud)
    let jkt = try PublicJWK(client.sessionKey.publicKey()).thumbprint()
    #expect(try cloud.deviceState(deviceID)["current_jkt"] as? String == jkt)
    #expect(try client.report(accessToken: tokens.accessToken, body: Self.reportBody(deviceID)) == .accepted)
    try client.revoke(refreshToken: tokens.refreshToken!)
    guard case .revoked = try client.refresh(refreshToken: tokens.refreshToken!) else {
      Issue.record("refresh after RFC 7009 revocation was not refused")
      return
    }
  }

  /// A camera whose clock reads 0 (1970) activates: discovery's `Date`
  /// corrects the assertion and proof timestamps.
  @Test func activationFromA1970Clock() throws {
    let cloud = try CloudRefcloud()
    let deviceID = "cam-e2e-1970"
    var client = try Self.client(cloud, deviceID: deviceID, clock: FixedWallClock(0))
    let tokens = try Self.activate(&client, cloud)
    #expect(client.clock.hasLearned)
    #expect(abs(client.clock.now() - Int64(Date().timeIntervalSince1970)) < 5)
    #expect(try client.report(accessToken: tokens.accessToken, body: Self.reportBody(deviceID)) == .accepted)
  }

  /// Faults a load balancer or an attacker might produce, through real libcurl.
  @Test func faultsThroughTheRealTransport() throws {
    let cloud = try CloudRefcloud()
    var client = try Self.client(cloud, deviceID: "cam-e2e-fault", clock: SystemWallClock())
    let path = "/.well-known/oauth-authorization-server"

    try cloud.fault(#"{"path":"\#(path)","status":429,"retry_after":7}"#)
    #expect(throws: CloudError.unavailable(status: 429, retryAfterSeconds: 7)) { try client.discover() }

    try cloud.fault(#"{"path":"\#(path)","status":503}"#)
    #expect(throws: CloudError.unavailable(status: 503, retryAfterSeconds: nil)) { try client.discover() }

    try cloud.fault(#"{"path":"\#(path)","big_body_bytes":10485760}"#)
    #expect(throws: CloudError.transport(.responseTooLarge(limit: 64 * 1024))) { try client.discover() }

    try cloud.fault(#"{"path":"\#(path)","redirect":"https://other.invalid/x"}"#)
    #expect(throws: CloudError.transport(.redirectRefused(status: 302, location: "https://other.invalid/x")))
    {
      try client.discover()
    }

    try cloud.fault(#"{"path":"\#(path)","body":"not json{","status":200}"#)
    #expect {
      try client.discover()
    } throws: { error in
      guard case .malformedResponse(200, .json) = error as? CloudError else { return false }
      return true
    }
    #expect(client.metadata == nil)

    // With the faults used up, the same client discovers normally; a
    // slow_down from the grant is an outcome, not an error.
    try client.discover()
    let grant = try client.requestDeviceCode()
    try cloud.fault(#"{"path":"/oauth/token","slow_down":true}"#)
    Self.waitInterval()
    #expect(try client.pollToken(deviceCode: grant.deviceCode) == .slowDown)
  }
}
