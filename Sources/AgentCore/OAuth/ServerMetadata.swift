/// The authorization server's RFC 8414 metadata: where the agent sends its
/// device authorization, token and revocation requests. Only members the
/// RFCs register are read; the report API's address comes from the
/// configuration and RFC 9728 (`ProtectedResourceMetadata`), never from here.
public struct ServerMetadata: Equatable {
  /// RFC 8414 §3: fetched from the issuer with this path inserted.
  public static let wellKnownPath = "/.well-known/oauth-authorization-server"

  public let issuer: String
  public let tokenEndpoint: String
  public let deviceAuthorizationEndpoint: String
  /// Optional in RFC 8414; without it, unpairing can only wipe the vault.
  public let revocationEndpoint: String?

  public init(
    issuer: String, tokenEndpoint: String, deviceAuthorizationEndpoint: String, revocationEndpoint: String?
  ) {
    self.issuer = issuer
    self.tokenEndpoint = tokenEndpoint
    self.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint
    self.revocationEndpoint = revocationEndpoint
  }

  /// The metadata URL for an issuer (RFC 8414 §3.1).
  public static func metadataURL(issuer: String) -> String {
    WellKnownURL.make(identifier: issuer, wellKnownPath: wellKnownPath)
  }

  /// Parses and checks a metadata response body (RFC 8414 §3.3 and what
  /// this agent needs from the server).
  ///
  /// - `expectedIssuer`: the configured issuer. RFC 8414 §3.3 requires the
  ///   `issuer` member to be identical (byte for byte, no normalization);
  ///   otherwise the document is refused, so a substituted document cannot
  ///   redirect the device's credentials.
  /// - Every endpoint must be an https URL (`allowPlainHTTP` is the
  ///   development flag of the HTTP policy).
  /// - Where the server lists what it supports, the list must include what
  ///   the agent uses, so that a mismatch is reported at discovery instead of
  ///   as a puzzling token error later: `private_key_jwt` at the token and
  ///   revocation endpoints, ES256 for those assertions and for DPoP
  ///   (RFC 9449 §5.1), and the device code and refresh grants. A list that
  ///   is absent is not held against the server (each is OPTIONAL).
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
    for (name, list, wanted) in [
      ("dpop_signing_alg_values_supported", fields.dpopAlgorithms, "ES256"),
      ("token_endpoint_auth_methods_supported", fields.authMethods, "private_key_jwt"),
      ("token_endpoint_auth_signing_alg_values_supported", fields.authAlgorithms, "ES256"),
      ("revocation_endpoint_auth_methods_supported", fields.revocationAuthMethods, "private_key_jwt"),
      ("grant_types_supported", fields.grantTypes, "urn:ietf:params:oauth:grant-type:device_code"),
      ("grant_types_supported", fields.grantTypes, "refresh_token"),
    ] {
      if let list, !contains(list, wanted) { throw .invalidValue(name, reason: "does not include \(wanted)") }
    }
    return ServerMetadata(
      issuer: fields.issuer, tokenEndpoint: fields.tokenEndpoint,
      deviceAuthorizationEndpoint: fields.deviceAuthorizationEndpoint,
      revocationEndpoint: fields.revocationEndpoint)
  }

  /// The members as read, before the checks (JSON errors only, kept apart so
  /// `parse` has one error type per `do`).
  private struct Fields {
    var issuer: String
    var tokenEndpoint: String
    var deviceAuthorizationEndpoint: String
    var revocationEndpoint: String?
    var dpopAlgorithms: [String]?
    var authMethods: [String]?
    var authAlgorithms: [String]?
    var revocationAuthMethods: [String]?
    var grantTypes: [String]?
  }

  private static func readFields(_ body: [UInt8], limits: JSONReader.Limits) throws(JSONError) -> Fields {
    let object = try JSONReader.parseObject(body, limits: limits)
    return Fields(
      issuer: try object.requiredString("issuer"),
      tokenEndpoint: try object.requiredString("token_endpoint"),
      deviceAuthorizationEndpoint: try object.requiredString("device_authorization_endpoint"),
      revocationEndpoint: try object.optionalString("revocation_endpoint"),
      dpopAlgorithms: try object.optionalStringArray("dpop_signing_alg_values_supported"),
      authMethods: try object.optionalStringArray("token_endpoint_auth_methods_supported"),
      authAlgorithms: try object.optionalStringArray("token_endpoint_auth_signing_alg_values_supported"),
      revocationAuthMethods: try object.optionalStringArray("revocation_endpoint_auth_methods_supported"),
      grantTypes: try object.optionalStringArray("grant_types_supported"))
  }

  static func contains(_ list: [String], _ wanted: String) -> Bool {
    for item in list where item.utf8.elementsEqual(wanted.utf8) { return true }
    return false
  }
}
