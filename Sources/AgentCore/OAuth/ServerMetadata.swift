/// The authorization server's RFC 8414 metadata: where the agent sends its
/// device authorization, token, revocation and report requests.
public struct ServerMetadata: Equatable {
  /// RFC 8414 §3: fetched from the issuer with this path inserted.
  public static let wellKnownPath = "/.well-known/oauth-authorization-server"

  public let issuer: String
  public let tokenEndpoint: String
  public let deviceAuthorizationEndpoint: String
  /// Optional in RFC 8414; without it, unpairing can only wipe the vault.
  public let revocationEndpoint: String?
  /// The maker's extension: base URL of the status report API.
  public let cameraReportEndpoint: String?

  public init(
    issuer: String, tokenEndpoint: String, deviceAuthorizationEndpoint: String,
    revocationEndpoint: String?, cameraReportEndpoint: String?
  ) {
    self.issuer = issuer
    self.tokenEndpoint = tokenEndpoint
    self.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint
    self.revocationEndpoint = revocationEndpoint
    self.cameraReportEndpoint = cameraReportEndpoint
  }

  /// The metadata URL for an issuer (RFC 8414 §3.1): the well-known segment
  /// goes between the host and any path component of the issuer.
  public static func metadataURL(issuer: String) -> String {
    let bytes = Array(issuer.utf8)
    guard let schemeEnd = findSchemeEnd(bytes) else { return issuer + wellKnownPath }
    var pathStart = schemeEnd
    while pathStart < bytes.count, bytes[pathStart] != UInt8(ascii: "/") { pathStart += 1 }
    var pathEnd = bytes.count
    // A trailing slash adds no path segment ("https://a/" and "https://a" share one URL).
    if pathEnd > pathStart, bytes[pathEnd - 1] == UInt8(ascii: "/") { pathEnd -= 1 }
    let origin = String(decoding: bytes[0..<pathStart], as: UTF8.self)
    let path = pathEnd > pathStart ? String(decoding: bytes[pathStart..<pathEnd], as: UTF8.self) : ""
    return origin + wellKnownPath + path
  }

  /// Parses and checks a metadata response body.
  ///
  /// - `expectedIssuer`: the configured issuer. RFC 8414 §3.3 requires the
  ///   `issuer` member to be identical (byte for byte, no normalization);
  ///   otherwise the document is refused, so a substituted document cannot
  ///   redirect the device's credentials.
  /// - Every endpoint must be an https URL (`allowPlainHTTP` is the
  ///   development flag of the HTTP policy).
  /// - Where the server lists its DPoP algorithms or token endpoint
  ///   authentication methods, they must include what the agent uses
  ///   (ES256, `private_key_jwt`), so a mismatch is reported at discovery
  ///   instead of as a puzzling token error later.
  public static func parse(
    _ body: [UInt8], expectedIssuer: String, allowPlainHTTP: Bool = false,
    limits: JSONReader.Limits = JSONReader.Limits()
  ) throws(OAuthMessageError) -> ServerMetadata {
    let fields: Fields
    do throws(JSONError) {
      fields = try readFields(body, limits: limits)
    } catch {
      throw .json(error)
    }
    guard fields.issuer.utf8.elementsEqual(expectedIssuer.utf8) else {
      throw .issuerMismatch(expected: expectedIssuer, actual: LogSafeText.sanitize(fields.issuer, limit: 200))
    }
    try EndpointURL.validate(
      fields.issuer, field: "issuer", allowPlainHTTP: allowPlainHTTP, allowQuery: false)
    try EndpointURL.validate(fields.tokenEndpoint, field: "token_endpoint", allowPlainHTTP: allowPlainHTTP)
    try EndpointURL.validate(
      fields.deviceAuthorizationEndpoint, field: "device_authorization_endpoint",
      allowPlainHTTP: allowPlainHTTP)
    if let revocation = fields.revocationEndpoint {
      try EndpointURL.validate(revocation, field: "revocation_endpoint", allowPlainHTTP: allowPlainHTTP)
    }
    if let report = fields.cameraReportEndpoint {
      try EndpointURL.validate(report, field: "camera_report_endpoint", allowPlainHTTP: allowPlainHTTP)
    }
    if let algorithms = fields.dpopAlgorithms, !contains(algorithms, "ES256") {
      throw .invalidValue("dpop_signing_alg_values_supported", reason: "does not include ES256")
    }
    if let methods = fields.authMethods, !contains(methods, "private_key_jwt") {
      throw .invalidValue("token_endpoint_auth_methods_supported", reason: "does not include private_key_jwt")
    }
    return ServerMetadata(
      issuer: fields.issuer, tokenEndpoint: fields.tokenEndpoint,
      deviceAuthorizationEndpoint: fields.deviceAuthorizationEndpoint,
      revocationEndpoint: fields.revocationEndpoint, cameraReportEndpoint: fields.cameraReportEndpoint)
  }

  /// The members as read, before the checks (JSON errors only, kept apart so
  /// `parse` has one error type per `do`).
  private struct Fields {
    var issuer: String
    var tokenEndpoint: String
    var deviceAuthorizationEndpoint: String
    var revocationEndpoint: String?
    var cameraReportEndpoint: String?
    var dpopAlgorithms: [String]?
    var authMethods: [String]?
  }

  private static func readFields(_ body: [UInt8], limits: JSONReader.Limits) throws(JSONError) -> Fields {
    let object = try JSONReader.parseObject(body, limits: limits)
    return Fields(
      issuer: try object.requiredString("issuer"),
      tokenEndpoint: try object.requiredString("token_endpoint"),
      deviceAuthorizationEndpoint: try object.requiredString("device_authorization_endpoint"),
      revocationEndpoint: try object.optionalString("revocation_endpoint"),
      cameraReportEndpoint: try object.optionalString("camera_report_endpoint"),
      dpopAlgorithms: try object.optionalStringArray("dpop_signing_alg_values_supported"),
      authMethods: try object.optionalStringArray("token_endpoint_auth_methods_supported"))
  }

  private static func contains(_ list: [String], _ wanted: String) -> Bool {
    for item in list where item.utf8.elementsEqual(wanted.utf8) { return true }
    return false
  }

  private static func findSchemeEnd(_ bytes: [UInt8]) -> Int? {
    var index = 0
    while index + 2 < bytes.count {
      if bytes[index] == UInt8(ascii: ":"), bytes[index + 1] == UInt8(ascii: "/"),
        bytes[index + 2] == UInt8(ascii: "/")
      {
        return index + 3
      }
      index += 1
    }
    return nil
  }
}
