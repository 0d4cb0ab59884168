import AgentCore

/// The swarm's cloud: every answer drawn at random from the whole answer
/// space a device can meet (RFC 6749/8628/9449/7009 errors, every status
/// class, `Retry-After` absent/0/negative/huge/an HTTP date/garbage,
/// `expires_in` 1 s to 30 days, `interval` 0 to huge, nonce churn, skewed
/// and broken `Date`s, timeouts, resets, truncated and garbled bodies,
/// redirects), with weights that vary per seed so some servers are mostly
/// kind and some mostly hostile. It records every request for the
/// invariants, and can ask the harness for a power cut.
public struct SwarmCloud: HTTPTransport {
  public let server: SwarmServer

  public init(server: SwarmServer) { self.server = server }

  public mutating func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
    try server.answer(request)
  }
}

/// The simulated server behind every `SwarmCloud` of one seed (a class: the
/// driver rebuilds its client on restarts, the server and its records stay).
public final class SwarmServer {
  public static let issuer = "https://cloud.swarm.test"

  /// One request as the cloud saw it, and what it answered.
  public struct Record: Equatable {
    public var at: Int64
    public var endpoint: Endpoint
    public var status: Int
    /// The OAuth error code answered, if any.
    public var error: String?
    /// The `Retry-After` sent, in whole seconds, when it was a plain number.
    public var retryAfterSeconds: Int64?
    /// The `interval` of a device authorization answer, in seconds.
    public var interval: Int64?
  }

  public enum Endpoint: Equatable {
    case metadata, resourceMetadata, deviceAuthorization, tokenPoll, refresh, report, revocation, other
  }

  public let clock: SimClock
  public private(set) var records: [Record] = []
  /// Set at random; the harness cuts power at the driver's next check.
  public var cutRequested = false
  private var random: CoreRandom
  private let hostility: Int64
  private let cutPerMille: Int64
  private var nonce = "n0"

  /// Power cuts asked for so far.
  public private(set) var cutsRequested = 0

  public init(seed: UInt64, clock: SimClock, powerCuts: Bool) {
    random = CoreRandom(seed: seed ^ 0x5157_4152_4D00_0000)
    self.clock = clock
    hostility = 5 + random.upTo(85)
    cutPerMille = powerCuts ? 2 + random.upTo(30) : 0
  }

  func answer(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
    let endpoint = Self.endpoint(of: request)
    if random.upTo(999) < cutPerMille {
      cutRequested = true
      cutsRequested += 1
    }
    var record = Record(at: clock.time, endpoint: endpoint, status: 0)
    defer { records.append(record) }
    // No answer at all.
    if chance(hostility / 6) {
      switch random.upTo(5) {
      case 0:
        clock.time += 30_000
        throw .timedOut
      case 1: throw .connect("connection refused")
      case 2: throw .tls("handshake failure")
      case 3: throw .responseTooLarge(limit: 65_536)
      case 4: throw .redirectRefused(status: 302, location: "https://elsewhere.test/")
      default: throw .transport(code: 56, message: "connection reset")
      }
    }
    var headers = [HTTPHeader("Content-Type", "application/json")]
    if let date = drawDate() { headers.append(HTTPHeader("Date", date)) }
    if chance(20) {
      nonce = "n\(random.upTo(1 << 40))"
    }
    if endpoint == .tokenPoll || endpoint == .refresh || endpoint == .report {
      headers.append(HTTPHeader("DPoP-Nonce", nonce))
    }
    // Overload and server errors, with every shape of Retry-After.
    if chance(hostility / 4) {
      let status = [429, 500, 502, 503, 504, 429, 503][Int(random.upTo(6))]
      record.status = status
      if let (value, seconds) = drawRetryAfter() {
        headers.append(HTTPHeader("Retry-After", value))
        record.retryAfterSeconds = seconds
      }
      return HTTPResponse(
        status: status, headers: headers, body: Array(#"{"error":"temporarily_unavailable"}"#.utf8))
    }
    // Garbage in a 200.
    if chance(hostility / 10) {
      record.status = 200
      let garbage = [#"{"access_token":"#, "<html>busy</html>", "", #"{"issuer":1}"#, "\u{0}\u{1b}[2J"]
      return HTTPResponse(status: 200, headers: headers, body: Array(garbage[Int(random.upTo(4))].utf8))
    }
    // A refusal with an OAuth error.
    if chance(hostility / 3) {
      return refusal(endpoint, headers: headers, record: &record)
    }
    return success(endpoint, headers: headers, record: &record)
  }

  // MARK: - Answers

  private func refusal(_ endpoint: Endpoint, headers: [HTTPHeader], record: inout Record) -> HTTPResponse {
    let codes: [String]
    switch endpoint {
    case .tokenPoll:
      codes = [
        "authorization_pending", "authorization_pending", "authorization_pending", "slow_down",
        "access_denied",
        "expired_token", "invalid_client", "invalid_grant", "use_dpop_nonce", "invalid_dpop_proof",
        "invalid_request", "unauthorized_client", "server_error", "made_up_code",
      ]
    case .refresh:
      codes = [
        "invalid_grant", "invalid_client", "slow_down", "use_dpop_nonce", "invalid_dpop_proof",
        "invalid_request",
        "unauthorized_client", "temporarily_unavailable", "invalid_scope", "made_up_code",
      ]
    case .deviceAuthorization:
      codes = [
        "slow_down", "invalid_client", "unauthorized_client", "invalid_request", "server_error",
        "made_up_code",
      ]
    case .report:
      codes = [
        "invalid_token", "invalid_token", "use_dpop_nonce", "insufficient_scope", "invalid_dpop_proof",
      ]
    case .metadata, .resourceMetadata, .revocation, .other:
      codes = ["invalid_request", "server_error"]
    }
    let code = codes[Int(random.upTo(Int64(codes.count - 1)))]
    record.error = code
    var headers = headers
    if endpoint == .report {
      record.status = 401
      headers.append(HTTPHeader("WWW-Authenticate", "DPoP error=\"\(code)\", algs=\"ES256\""))
      return HTTPResponse(status: 401, headers: headers, body: [])
    }
    record.status = code == "invalid_client" ? 401 : 400
    return HTTPResponse(
      status: record.status, headers: headers, body: Array("{\"error\":\"\(code)\",\"extra\":[1,2]}".utf8))
  }

  private func success(_ endpoint: Endpoint, headers: [HTTPHeader], record: inout Record) -> HTTPResponse {
    record.status = 200
    let issuer = Self.issuer
    switch endpoint {
    case .metadata:
      return HTTPResponse(
        status: 200, headers: headers,
        body: Array(
          """
          {"issuer":"\(issuer)","token_endpoint":"\(issuer)/oauth/token",\
          "device_authorization_endpoint":"\(issuer)/oauth/device_authorization",\
          "revocation_endpoint":"\(issuer)/oauth/revoke",\
          "camera_report_endpoint":"\(issuer)/v1/devices/",\
          "token_endpoint_auth_methods_supported":["private_key_jwt"],\
          "dpop_signing_alg_values_supported":["ES256"]}
          """.utf8))
    case .deviceAuthorization:
      let intervals: [Int64] = [0, 1, 2, 5, 5, 5, 10, 60, 600, 3_600, 1_000_000]
      let lifetimes: [Int64] = [1, 5, 60, 600, 900, 1_800, 86_400, 2_592_000]
      let interval = intervals[Int(random.upTo(Int64(intervals.count - 1)))]
      let lifetime = lifetimes[Int(random.upTo(Int64(lifetimes.count - 1)))]
      record.interval = interval
      return HTTPResponse(
        status: 200, headers: headers,
        body: Array(
          """
          {"device_code":"dc\(random.upTo(1 << 40))","user_code":"WDJB-\(random.upTo(8_999) + 1_000)",\
          "verification_uri":"\(issuer)/device","expires_in":\(lifetime),"interval":\(interval)}
          """.utf8))
    case .tokenPoll, .refresh:
      let lifetimes: [Int64] = [1, 2, 20, 30, 45, 60, 300, 3_600, 86_400, 2_592_000]
      let lifetime = lifetimes[Int(random.upTo(Int64(lifetimes.count - 1)))]
      let expires = chance(10) ? "" : ",\"expires_in\":\(lifetime)"
      let refresh = chance(10) ? "" : ",\"refresh_token\":\"rt\(random.upTo(1 << 50))\""
      return HTTPResponse(
        status: 200, headers: headers,
        body: Array(
          "{\"access_token\":\"at\(random.upTo(1 << 50))\",\"token_type\":\"DPoP\"\(expires)\(refresh)}".utf8)
      )
    case .resourceMetadata:
      // RFC 9728: published by some APIs, absent (404) at others.
      if chance(50) {
        record.status = 404
        return HTTPResponse(status: 404, headers: headers, body: Array(#"{"error":"not_found"}"#.utf8))
      }
      return HTTPResponse(
        status: 200, headers: headers,
        body: Array(
          """
          {"resource":"\(issuer)","authorization_servers":["\(issuer)"],\
          "dpop_bound_access_tokens_required":true,"dpop_signing_alg_values_supported":["ES256"]}
          """.utf8))
    case .report:
      record.status = chance(50) ? 204 : 200
      return HTTPResponse(status: record.status, headers: headers, body: [])
    case .revocation, .other:
      return HTTPResponse(status: 200, headers: headers, body: [])
    }
  }

  private func drawRetryAfter() -> (String, Int64?)? {
    switch random.upTo(8) {
    case 0: return nil
    case 1: return ("0", 0)
    case 2: return ("-5", nil)
    case 3:
      let seconds = random.upTo(120)
      return ("\(seconds)", seconds)
    case 4: return ("99999999999999999999", nil)
    case 5: return ("Fri, 31 Dec 1999 23:59:59 GMT", nil)
    case 6: return ("Wed, 21 Oct 2099 07:28:00 GMT", nil)
    case 7:
      let seconds = 600 + random.upTo(3_000)
      return ("\(seconds)", seconds)
    default: return ("soon", nil)
    }
  }

  private func drawDate() -> String? {
    switch random.upTo(9) {
    case 0: return nil
    case 1: return "Fri, 31 Dec 9999 23:59:59 GMT"
    case 2: return "Tue, 01 Jan 1980 00:00:00 GMT"
    case 3: return "yesterday"
    default: return HTTPDate.format(clock.seconds() + random.upTo(10) - 5) ?? "garbled"
    }
  }

  private func chance(_ percent: Int64) -> Bool { random.upTo(99) < percent }

  static func endpoint(of request: HTTPRequest) -> Endpoint {
    let url = request.url
    if url.hasSuffix("/.well-known/oauth-authorization-server") { return .metadata }
    if url.hasSuffix("/.well-known/oauth-protected-resource") { return .resourceMetadata }
    if url.hasSuffix("/oauth/device_authorization") { return .deviceAuthorization }
    if url.hasSuffix("/oauth/revoke") { return .revocation }
    if url.hasSuffix("/oauth/token") {
      return request.body.containsSubsequence(Array("grant_type=refresh_token".utf8)) ? .refresh : .tokenPoll
    }
    if url.hasSuffix("/report") { return .report }
    return .other
  }
}
