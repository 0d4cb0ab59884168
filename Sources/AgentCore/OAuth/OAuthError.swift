/// An error response from the authorization server (RFC 6749 §5.2 body, or
/// the `error` of an RFC 6750 / RFC 9449 `WWW-Authenticate` challenge).
/// The code drives the agent's decisions; the description is kept only for
/// logs, sanitized and capped, since the server (or whoever answers in its
/// place) chooses its text.
public struct OAuthError: Error, Equatable, CustomStringConvertible {
  public static let maxDescriptionLength = 200
  public static let maxUnknownCodeLength = 64

  /// The error codes the agent acts on, from the RFCs it implements.
  public enum Code: Equatable, Sendable, CustomStringConvertible {
    // RFC 6749 §5.2
    case invalidRequest
    case invalidClient
    case invalidGrant
    case unauthorizedClient
    case unsupportedGrantType
    case invalidScope
    // RFC 6749 §4.1.2.1, also seen on token endpoints
    case serverError
    case temporarilyUnavailable
    // RFC 8628 §3.5
    case authorizationPending
    case slowDown
    case accessDenied
    case expiredToken
    // RFC 9449 §8 and §12.2
    case useDPoPNonce
    case invalidDPoPProof
    // RFC 6750 §3.1
    case invalidToken
    case insufficientScope
    // RFC 7009 §2.2.1
    case unsupportedTokenType
    /// Anything else, sanitized and capped.
    case unknown(String)

    public init(_ text: String) {
      switch Word(text) {
      case "invalid_request": self = .invalidRequest
      case "invalid_client": self = .invalidClient
      case "invalid_grant": self = .invalidGrant
      case "unauthorized_client": self = .unauthorizedClient
      case "unsupported_grant_type": self = .unsupportedGrantType
      case "invalid_scope": self = .invalidScope
      case "server_error": self = .serverError
      case "temporarily_unavailable": self = .temporarilyUnavailable
      case "authorization_pending": self = .authorizationPending
      case "slow_down": self = .slowDown
      case "access_denied": self = .accessDenied
      case "expired_token": self = .expiredToken
      case "use_dpop_nonce": self = .useDPoPNonce
      case "invalid_dpop_proof": self = .invalidDPoPProof
      case "invalid_token": self = .invalidToken
      case "insufficient_scope": self = .insufficientScope
      case "unsupported_token_type": self = .unsupportedTokenType
      default: self = .unknown(LogSafeText.sanitize(text, limit: OAuthError.maxUnknownCodeLength))
      }
    }

    /// The code as the RFCs spell it.
    public var description: String {
      switch self {
      case .invalidRequest: return "invalid_request"
      case .invalidClient: return "invalid_client"
      case .invalidGrant: return "invalid_grant"
      case .unauthorizedClient: return "unauthorized_client"
      case .unsupportedGrantType: return "unsupported_grant_type"
      case .invalidScope: return "invalid_scope"
      case .serverError: return "server_error"
      case .temporarilyUnavailable: return "temporarily_unavailable"
      case .authorizationPending: return "authorization_pending"
      case .slowDown: return "slow_down"
      case .accessDenied: return "access_denied"
      case .expiredToken: return "expired_token"
      case .useDPoPNonce: return "use_dpop_nonce"
      case .invalidDPoPProof: return "invalid_dpop_proof"
      case .invalidToken: return "invalid_token"
      case .insufficientScope: return "insufficient_scope"
      case .unsupportedTokenType: return "unsupported_token_type"
      case .unknown(let text): return text
      }
    }
  }

  public let code: Code
  /// `error_description`, sanitized for logs and capped at `maxDescriptionLength`.
  public let errorDescription: String?

  public init(code: Code, errorDescription: String? = nil) {
    self.code = code
    self.errorDescription = errorDescription.map {
      LogSafeText.sanitize($0, limit: Self.maxDescriptionLength)
    }
  }

  public var description: String {
    guard let errorDescription else { return code.description }
    return "\(code.description): \(errorDescription)"
  }

  /// Parses an error response body (JSON with `error` and optionally
  /// `error_description`; other members, and a description that is not a
  /// string, are ignored). A body that is not
  /// such a document throws, and the caller treats the response by its status.
  public static func parse(
    _ body: [UInt8], limits: JSONReader.Limits = JSONReader.Limits()
  ) throws(OAuthMessageError) -> OAuthError {
    let code: String
    let errorDescription: String?
    do throws(JSONError) {
      let object = try JSONReader.parseObject(body, limits: limits)
      code = try object.requiredString("error")
      // A mistyped description must not hide the code the agent acts on.
      errorDescription = object["error_description"]?.string
    } catch {
      throw .json(error)
    }
    guard !code.isEmpty else { throw .invalidValue("error", reason: "empty") }
    return OAuthError(code: Code(code), errorDescription: errorDescription)
  }
}
