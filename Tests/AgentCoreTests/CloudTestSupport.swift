import AgentCore

/// What a scripted peer received and will answer, shared by reference so a
/// test can read it after the client (which holds the transport by value) ran.
final class CloudWire {
  var requests: [HTTPRequest] = []
  var answers: [Result<HTTPResponse, HTTPError>] = []

  func answer(_ status: Int, _ body: String, headers: [HTTPHeader] = []) {
    answers.append(
      .success(
        HTTPResponse(
          status: status, headers: headers, body: Array(body.utf8), peerValidity: CloudFixtures.certificate)))
  }

  func fail(_ error: HTTPError) { answers.append(.failure(error)) }
}

/// An in-memory `HTTPTransport` that answers from a script, in order.
struct CloudScriptedTransport: HTTPTransport {
  let wire: CloudWire

  mutating func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
    // The client zeroes a form body in place once it is sent (it held a
    // token): the wire keeps its own copy, in new storage.
    var recorded = request
    recorded.body = request.body.map { $0 }
    wire.requests.append(recorded)
    guard !wire.answers.isEmpty else { throw .connect("script exhausted") }
    switch wire.answers.removeFirst() {
    case .success(let response): return response
    case .failure(let error): throw error
    }
  }
}

/// A deterministic random source whose bytes differ from call to call, so
/// every `jti` is distinct.
struct CloudCountingRandom: RandomSource {
  var counter: UInt8 = 0

  mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError) {
    counter &+= 1
    for index in 0..<buffer.count { buffer[index] = counter &+ UInt8(truncatingIfNeeded: index) }
  }
}

enum CloudFixtures {
  static let issuer = "https://cloud.example.test"
  static let deviceID = "cam-0001"
  /// Sun, 29 Nov 2026 10:00:00 GMT
  static let serverTime: Int64 = 1_795_946_400
  static let serverDate = "Sun, 29 Nov 2026 10:00:00 GMT"
  /// 2026-01-01: the build time the scripted clients' floors start from.
  static let buildTime: Int64 = 1_767_225_600
  /// The scripted server's certificate: issued a day before `serverTime`, a year to run.
  static let certificate = PeerValidity(notBefore: serverTime - 86_400, notAfter: serverTime + 365 * 86_400)

  static var metadata: ServerMetadata {
    ServerMetadata(
      issuer: issuer, tokenEndpoint: issuer + "/oauth/token",
      deviceAuthorizationEndpoint: issuer + "/oauth/device_authorization",
      revocationEndpoint: issuer + "/oauth/revoke")
  }

  static let metadataBody = """
    {"issuer":"\(issuer)","token_endpoint":"\(issuer)/oauth/token",\
    "device_authorization_endpoint":"\(issuer)/oauth/device_authorization",\
    "revocation_endpoint":"\(issuer)/oauth/revoke",\
    "dpop_signing_alg_values_supported":["ES256"],"token_endpoint_auth_methods_supported":["private_key_jwt"]}
    """

  static let tokenBody = """
    {"access_token":"at-1","token_type":"DPoP","expires_in":300,"refresh_token":"rt-1"}
    """

  typealias Client = CloudClient<CloudScriptedTransport, CloudCountingRandom, FixedWallClock>

  /// A client whose metadata is already known, with its clock set to the server's time.
  static func client(
    _ wire: CloudWire, localTime: Int64 = serverTime, discovered: Bool = true
  ) throws -> Client {
    var client = Client(
      transport: CloudScriptedTransport(wire: wire), random: CloudCountingRandom(),
      clock: ClockCorrection(
        clock: FixedWallClock(localTime), floor: TimeFloor(buildTime: buildTime, stored: nil)),
      issuer: issuer, deviceID: deviceID,
      identityKey: try P256PrivateKey.generate(), sessionKey: try P256PrivateKey.generate())
    if discovered { client.metadata = metadata }
    return client
  }

  static func header(_ request: HTTPRequest, _ name: String) -> String? {
    for header in request.headers where ASCII.equalsIgnoringCase(header.name, name) { return header.value }
    return nil
  }

  /// The form fields of a request body (values percent-decoded).
  static func form(_ request: HTTPRequest) -> [String: String] {
    var fields: [String: String] = [:]
    for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      fields[String(parts[0])] = parts.count > 1 ? percentDecode(String(parts[1])) : ""
    }
    return fields
  }

  private static func percentDecode(_ text: String) -> String {
    var out: [UInt8] = []
    var bytes = Array(text.utf8)[...]
    while let byte = bytes.popFirst() {
      if byte == UInt8(ascii: "%"), bytes.count >= 2,
        let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16)
      {
        out.append(value)
        bytes = bytes.dropFirst(2)
      } else {
        out.append(byte)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
