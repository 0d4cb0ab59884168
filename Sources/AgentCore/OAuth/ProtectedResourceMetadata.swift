/// The report API's RFC 9728 protected resource metadata, where the API
/// publishes it. The agent's `{api}` comes from the configuration
/// (`api_base`, default the issuer's origin); this document, when present,
/// is the resource's own statement that it is that resource and which
/// authorization servers' tokens it takes, checked before an access token
/// is sent there.
public struct ProtectedResourceMetadata: Equatable {
  /// RFC 9728 §3: fetched from the resource identifier with this path inserted.
  public static let wellKnownPath = "/.well-known/oauth-protected-resource"

  public let resource: String
  public let authorizationServers: [String]
  /// RFC 9728 §2: the resource only takes DPoP-bound tokens (the agent's
  /// tokens always are, so either value works; kept for `status`/logs).
  public let dpopBoundAccessTokensRequired: Bool

  public init(resource: String, authorizationServers: [String], dpopBoundAccessTokensRequired: Bool) {
    self.resource = resource
    self.authorizationServers = authorizationServers
    self.dpopBoundAccessTokensRequired = dpopBoundAccessTokensRequired
  }

  public static func metadataURL(resource: String) -> String {
    WellKnownURL.make(identifier: resource, wellKnownPath: wellKnownPath)
  }

  /// Parses and checks a metadata document fetched for `expectedResource`:
  ///
  /// - RFC 9728 §3.3: `resource` must be identical to the identifier the
  ///   URL was made from, or the document is refused (it may describe, or
  ///   be substituted for, another resource);
  /// - `authorization_servers` must list `issuer`, byte for byte: a
  ///   resource that names other servers would not accept this issuer's
  ///   tokens, and one that names none gives no assurance that it should
  ///   receive them (the agent then sends it nothing);
  /// - where `dpop_signing_alg_values_supported` is listed, it must include
  ///   ES256; `dpop_bound_access_tokens_required` must be a boolean.
  public static func parse(
    _ body: [UInt8], expectedResource: String, issuer: String,
    limits: JSONReader.Limits = JSONReader.Limits()
  ) throws(OAuthMessageError) -> ProtectedResourceMetadata {
    let fields: Fields
    do throws(JSONError) {
      fields = try readFields(body, limits: limits)
    } catch {
      throw .json(error)
    }
    guard fields.resource.utf8.elementsEqual(expectedResource.utf8) else {
      throw .invalidValue(
        "resource",
        reason:
          "'\(LogSafeText.sanitize(fields.resource, limit: 200))' is not the configured api_base '\(expectedResource)'"
      )
    }
    guard let servers = fields.authorizationServers, ServerMetadata.contains(servers, issuer) else {
      throw .invalidValue("authorization_servers", reason: "does not list the configured issuer '\(issuer)'")
    }
    if let algorithms = fields.dpopAlgorithms, !ServerMetadata.contains(algorithms, "ES256") {
      throw .invalidValue("dpop_signing_alg_values_supported", reason: "does not include ES256")
    }
    return ProtectedResourceMetadata(
      resource: fields.resource, authorizationServers: servers,
      dpopBoundAccessTokensRequired: fields.dpopBound ?? false)
  }

  private struct Fields {
    var resource: String
    var authorizationServers: [String]?
    var dpopAlgorithms: [String]?
    var dpopBound: Bool?
  }

  private static func readFields(_ body: [UInt8], limits: JSONReader.Limits) throws(JSONError) -> Fields {
    let object = try JSONReader.parseObject(body, limits: limits)
    var dpopBound: Bool? = nil
    let boundKey = "dpop_bound_access_tokens_required"
    if let value = object[boundKey], !value.isNull {
      guard let bool = value.bool else { throw .wrongType(boundKey, expected: .boolean) }
      dpopBound = bool
    }
    return Fields(
      resource: try object.requiredString("resource"),
      authorizationServers: try object.optionalStringArray("authorization_servers"),
      dpopAlgorithms: try object.optionalStringArray("dpop_signing_alg_values_supported"),
      dpopBound: dpopBound)
  }
}
